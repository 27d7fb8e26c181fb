/* MPI wrappers for data-parallel training (see dist.h). */
#include "train/dist.h"

#include <stdlib.h>

#ifdef DOODLE_MPI
#include <mpi.h>
#endif

bool dist_launched(void) {
    return getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMI_SIZE") || getenv("PMIX_RANK");
}

#ifdef DOODLE_MPI

static bool started; /* MPI_Init_thread was called by dist_init */

int dist_init(int *argc, char ***argv, dd_error *err) {
    if (!dist_launched()) return 0;
    int provided = 0;
    if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
        return dd_fail(err, DD_ERR_IO, "MPI_Init_thread failed");
    started = true;
    return 0;
}

void dist_finalize(void) {
    if (started) MPI_Finalize();
    started = false;
}

void dist_abort(int code) {
    if (started) MPI_Abort(MPI_COMM_WORLD, code);
    exit(code);
}

int dist_rank(void) {
    int r = 0;
    if (started) MPI_Comm_rank(MPI_COMM_WORLD, &r);
    return r;
}

int dist_size(void) {
    int n = 1;
    if (started) MPI_Comm_size(MPI_COMM_WORLD, &n);
    return n;
}

/* MPI counts are ints: big buffers go in pieces of at most 1 Gi elements. */
#define PIECE (1u << 30)

void dist_bcast(void *buf, size_t bytes) {
    if (!started || dist_size() == 1) return;
    for (size_t off = 0; off < bytes; off += PIECE) {
        size_t n = bytes - off < PIECE ? bytes - off : PIECE;
        MPI_Bcast((char *)buf + off, (int)n, MPI_BYTE, 0, MPI_COMM_WORLD);
    }
}

static void sum(void *buf, size_t n, size_t size, MPI_Datatype type) {
    if (!started || dist_size() == 1) return;
    for (size_t off = 0; off < n; off += PIECE) {
        size_t k = n - off < PIECE ? n - off : PIECE;
        MPI_Allreduce(MPI_IN_PLACE, (char *)buf + off * size, (int)k, type, MPI_SUM, MPI_COMM_WORLD);
    }
}

void dist_sum_floats(float *buf, size_t n) { sum(buf, n, sizeof *buf, MPI_FLOAT); }
void dist_sum_doubles(double *buf, size_t n) { sum(buf, n, sizeof *buf, MPI_DOUBLE); }
void dist_sum_u64(uint64_t *buf, size_t n) { sum(buf, n, sizeof *buf, MPI_UINT64_T); }

bool dist_any(bool flag) {
    if (!started || dist_size() == 1) return flag;
    int v = flag, any = 0;
    MPI_Allreduce(&v, &any, 1, MPI_INT, MPI_LOR, MPI_COMM_WORLD);
    return any != 0;
}

void dist_barrier(void) {
    if (started && dist_size() > 1) MPI_Barrier(MPI_COMM_WORLD);
}

#else /* built without MPI: one rank */

int dist_init(int *argc, char ***argv, dd_error *err) {
    (void)argc, (void)argv;
    const char *size = getenv("OMPI_COMM_WORLD_SIZE") ? getenv("OMPI_COMM_WORLD_SIZE") : getenv("PMI_SIZE");
    if (size && atoi(size) > 1) /* N copies that each train alone would be N times the work for one result */
        return dd_fail(err, DD_ERR_UNSUPPORTED,
                       "started by an MPI launcher with %s ranks, but this doodle was built without MPI (install "
                       "libopenmpi-dev, then rebuild)",
                       size);
    return 0;
}
void dist_finalize(void) {}
void dist_abort(int code) { exit(code); }
int dist_rank(void) { return 0; }
int dist_size(void) { return 1; }
void dist_bcast(void *buf, size_t bytes) { (void)buf, (void)bytes; }
void dist_sum_floats(float *buf, size_t n) { (void)buf, (void)n; }
void dist_sum_doubles(double *buf, size_t n) { (void)buf, (void)n; }
void dist_sum_u64(uint64_t *buf, size_t n) { (void)buf, (void)n; }
bool dist_any(bool flag) { return flag; }
void dist_barrier(void) {}

#endif
