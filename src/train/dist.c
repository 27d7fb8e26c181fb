/* MPI wrappers for data-parallel training (see dist.h). */
#include "train/dist.h"

#include <stdlib.h>

#include "train/bf16.h"
#include "doodle/alloc.h"

#ifdef DOODLE_MPI
#include <mpi.h>
#endif

bool dist_launched(void) { return getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMI_SIZE") || getenv("PMIX_RANK"); }

#ifdef DOODLE_MPI

static bool started; /* MPI_Init_thread was called by dd_dist_init */
static MPI_Op bf16_sum = MPI_OP_NULL;

/* The user operation of dist_sum_bf16: inout = bf16(float(in) + float(inout)). */
static void bf16_add(void *in, void *inout, int *len, MPI_Datatype *type) {
    (void)type;
    const uint16_t *a = in;
    uint16_t *b = inout;
    for (int i = 0; i < *len; i++) b[i] = bf16_from_float(bf16_to_float(a[i]) + bf16_to_float(b[i]));
}

int dd_dist_init(int *argc, char ***argv, dd_error *err) {
    if (!dist_launched()) return 0;
    int provided = 0;
    if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
        return dd_fail(err, DD_ERR_IO, "MPI_Init_thread failed");
    started = true;
    if (MPI_Op_create(bf16_add, 1, &bf16_sum) != MPI_SUCCESS) return dd_fail(err, DD_ERR_IO, "MPI_Op_create failed");
    return 0;
}

void dd_dist_finalize(void) {
    if (started && bf16_sum != MPI_OP_NULL) MPI_Op_free(&bf16_sum);
    if (started) MPI_Finalize();
    started = false;
}

void dd_dist_abort(int code) {
    if (started) MPI_Abort(MPI_COMM_WORLD, code);
    exit(code);
}

int dd_dist_rank(void) {
    int r = 0;
    if (started) MPI_Comm_rank(MPI_COMM_WORLD, &r);
    return r;
}

int dd_dist_size(void) {
    int n = 1;
    if (started) MPI_Comm_size(MPI_COMM_WORLD, &n);
    return n;
}

/* MPI counts are ints: big buffers go in pieces of at most 1 Gi elements. */
#define PIECE (1u << 30)

void dist_bcast(void *buf, size_t bytes) {
    if (!started || dd_dist_size() == 1) return;
    for (size_t off = 0; off < bytes; off += PIECE) {
        size_t n = bytes - off < PIECE ? bytes - off : PIECE;
        MPI_Bcast((char *)buf + off, (int)n, MPI_BYTE, 0, MPI_COMM_WORLD);
    }
}

static void sum(void *buf, size_t n, size_t size, MPI_Datatype type) {
    if (!started || dd_dist_size() == 1) return;
    for (size_t off = 0; off < n; off += PIECE) {
        size_t k = n - off < PIECE ? n - off : PIECE;
        MPI_Allreduce(MPI_IN_PLACE, (char *)buf + off * size, (int)k, type, MPI_SUM, MPI_COMM_WORLD);
    }
}

void dist_sum_floats(float *buf, size_t n) { sum(buf, n, sizeof *buf, MPI_FLOAT); }
void dist_sum_doubles(double *buf, size_t n) { sum(buf, n, sizeof *buf, MPI_DOUBLE); }
void dist_sum_u64(uint64_t *buf, size_t n) { sum(buf, n, sizeof *buf, MPI_UINT64_T); }

bool dist_any(bool flag) {
    if (!started || dd_dist_size() == 1) return flag;
    int v = flag, any = 0;
    MPI_Allreduce(&v, &any, 1, MPI_INT, MPI_LOR, MPI_COMM_WORLD);
    return any != 0;
}

void dist_barrier(void) {
    if (started && dd_dist_size() > 1) MPI_Barrier(MPI_COMM_WORLD);
}

void dist_sum_bf16(uint16_t *buf, size_t n) {
    if (!started || dd_dist_size() == 1) return;
    for (size_t off = 0; off < n; off += PIECE) {
        size_t k = n - off < PIECE ? n - off : PIECE;
        MPI_Allreduce(MPI_IN_PLACE, buf + off, (int)k, MPI_UINT16_T, bf16_sum, MPI_COMM_WORLD);
    }
}

struct dist_pending {
    size_t n, max;
    MPI_Request *req;
};

dist_pending *dist_pending_new(size_t max, dd_error *err) {
    dist_pending *p = dd_calloc(1, sizeof *p, err);
    if (p && !(p->req = dd_calloc(max ? max : 1, sizeof *p->req, err))) {
        free(p);
        return NULL;
    }
    if (p) p->max = max;
    return p;
}

void dist_pending_free(dist_pending *p) {
    if (!p) return;
    free(p->req);
    free(p);
}

/* More sums in flight than the room made for them is a bug of the caller's plan: end the job, never hang. */
static MPI_Request *next_request(dist_pending *p) {
    if (p->n == p->max) dd_dist_abort(70);
    return &p->req[p->n++];
}

void dist_isum_floats(dist_pending *p, float *buf, size_t n) {
    if (!started || dd_dist_size() == 1 || n == 0) return;
    MPI_Iallreduce(MPI_IN_PLACE, buf, (int)n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD, next_request(p));
}

void dist_isum_bf16(dist_pending *p, uint16_t *buf, size_t n) {
    if (!started || dd_dist_size() == 1 || n == 0) return;
    MPI_Iallreduce(MPI_IN_PLACE, buf, (int)n, MPI_UINT16_T, bf16_sum, MPI_COMM_WORLD, next_request(p));
}

void dist_progress(dist_pending *p) {
    int done = 0;
    if (p->n) MPI_Testall((int)p->n, p->req, &done, MPI_STATUSES_IGNORE);
}

void dist_wait_all(dist_pending *p) {
    if (p->n) MPI_Waitall((int)p->n, p->req, MPI_STATUSES_IGNORE);
    p->n = 0;
}

#else /* built without MPI: one rank */

int dd_dist_init(int *argc, char ***argv, dd_error *err) {
    (void)argc, (void)argv;
    const char *size = getenv("OMPI_COMM_WORLD_SIZE") ? getenv("OMPI_COMM_WORLD_SIZE") : getenv("PMI_SIZE");
    if (size && atoi(size) > 1) /* N copies that each train alone would be N times the work for one result */
        return dd_fail(err, DD_ERR_UNSUPPORTED,
                       "started by an MPI launcher with %s ranks, but this doodle was built without MPI (install "
                       "libopenmpi-dev, then rebuild)",
                       size);
    return 0;
}
void dd_dist_finalize(void) {}
void dd_dist_abort(int code) { exit(code); }
int dd_dist_rank(void) { return 0; }
int dd_dist_size(void) { return 1; }
void dist_bcast(void *buf, size_t bytes) { (void)buf, (void)bytes; }
void dist_sum_floats(float *buf, size_t n) { (void)buf, (void)n; }
void dist_sum_doubles(double *buf, size_t n) { (void)buf, (void)n; }
void dist_sum_u64(uint64_t *buf, size_t n) { (void)buf, (void)n; }
bool dist_any(bool flag) { return flag; }
void dist_barrier(void) {}
void dist_sum_bf16(uint16_t *buf, size_t n) { (void)buf, (void)n; }

struct dist_pending {
    int unused;
};
dist_pending *dist_pending_new(size_t max, dd_error *err) {
    (void)max;
    return dd_calloc(1, sizeof(dist_pending), err);
}
void dist_pending_free(dist_pending *p) { free(p); }
void dist_isum_floats(dist_pending *p, float *buf, size_t n) { (void)p, (void)buf, (void)n; }
void dist_isum_bf16(dist_pending *p, uint16_t *buf, size_t n) { (void)p, (void)buf, (void)n; }
void dist_progress(dist_pending *p) { (void)p; }
void dist_wait_all(dist_pending *p) { (void)p; }

#endif
