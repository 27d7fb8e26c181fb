/* The all-reduce alone: MPI_Allreduce(MPI_IN_PLACE, MPI_FLOAT, MPI_SUM) of a block of BYTES, as doodle train does
 * once a step with its gradient block, timed many times over. Every repetition starts after a barrier, so a rank
 * that arrives late (the load imbalance that train's own figure includes) is not counted, and its time is the
 * slowest rank's (the step waits for it). Rank 0 prints, per size: bytes, repetitions, the best and the median
 * milliseconds, and the bandwidth the median implies (bytes / time).
 * With --dtype bf16, as doodle train --allreduce-dtype bf16 does it: the floats rounded to bfloat16 (half the
 * bytes), summed by a user operation in float, and widened back, the conversions timed with the all-reduce; BYTES
 * are still the float32 block's.
 * Usage: mpirun -np N bench_allreduce [--seconds S] [--min-reps R] [--warmup W] [--dtype float32|bf16] BYTES...
 *   (BYTES may end in k or m: 1024 or 1048576 times; every size is rounded up to whole floats) */
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../src/train/bf16.h" /* the rounding doodle train uses */

static void bf16_add(void *in, void *inout, int *len, MPI_Datatype *type) {
    (void)type;
    const uint16_t *a = in;
    uint16_t *b = inout;
    for (int i = 0; i < *len; i++) b[i] = bf16_from_float(bf16_to_float(a[i]) + bf16_to_float(b[i]));
}

static MPI_Op bf16_sum;

/* One all-reduce of the block, in the chosen type (half: NULL for float32, else an n-element scratch). */
static void allreduce(float *buf, uint16_t *half, size_t n) {
    if (!half) {
        MPI_Allreduce(MPI_IN_PLACE, buf, (int)n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
        return;
    }
    for (size_t i = 0; i < n; i++) half[i] = bf16_from_float(buf[i]);
    MPI_Allreduce(MPI_IN_PLACE, half, (int)n, MPI_UINT16_T, bf16_sum, MPI_COMM_WORLD);
    for (size_t i = 0; i < n; i++) buf[i] = bf16_to_float(half[i]);
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static size_t parse_bytes(const char *s) {
    char *end = NULL;
    double v = strtod(s, &end);
    if (end == s || v < 0) return 0;
    if (*end == 'k' || *end == 'K')
        v *= 1024, end++;
    else if (*end == 'm' || *end == 'M')
        v *= 1024 * 1024, end++;
    return *end ? 0 : (size_t)v;
}

static void usage(void) {
    fprintf(stderr, "usage: mpirun -np N bench_allreduce [--seconds S] [--min-reps R] [--warmup W] [--dtype "
                    "float32|bf16] BYTES...\n");
}

enum { MAX_REPS = 10000 };

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int rank = 0, ranks = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &ranks);
    double seconds = 2;
    int min_reps = 5, warmup = 2;
    int first = 1, bf16 = 0;
    MPI_Op_create(bf16_add, 1, &bf16_sum);
    for (; first < argc && strncmp(argv[first], "--", 2) == 0; first += 2) {
        if (first + 1 >= argc) {
            if (rank == 0) usage();
            MPI_Abort(MPI_COMM_WORLD, 2);
        }
        if (strcmp(argv[first], "--seconds") == 0)
            seconds = atof(argv[first + 1]);
        else if (strcmp(argv[first], "--min-reps") == 0)
            min_reps = atoi(argv[first + 1]);
        else if (strcmp(argv[first], "--warmup") == 0)
            warmup = atoi(argv[first + 1]);
        else if (strcmp(argv[first], "--dtype") == 0 && !strcmp(argv[first + 1], "float32"))
            bf16 = 0;
        else if (strcmp(argv[first], "--dtype") == 0 && !strcmp(argv[first + 1], "bf16"))
            bf16 = 1;
        else {
            if (rank == 0) usage();
            MPI_Abort(MPI_COMM_WORLD, 2);
        }
    }
    if (first >= argc || min_reps < 1 || min_reps > MAX_REPS || warmup < 0 || !(seconds >= 0)) {
        if (rank == 0) usage();
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    static double times[MAX_REPS];
    if (rank == 0)
        printf("# ranks %d, %s\n# bytes reps best_ms median_ms median_MB_per_s\n", ranks, bf16 ? "bf16" : "float32");
    for (int a = first; a < argc; a++) {
        size_t bytes = parse_bytes(argv[a]);
        if (bytes == 0) {
            if (rank == 0) fprintf(stderr, "bench_allreduce: '%s' is not a size in bytes\n", argv[a]);
            MPI_Abort(MPI_COMM_WORLD, 2);
        }
        size_t n = (bytes + sizeof(float) - 1) / sizeof(float);
        if (n > (size_t)1 << 30) { /* one call, as dist.c makes for blocks of up to 1 Gi floats */
            if (rank == 0) fprintf(stderr, "bench_allreduce: %s is more than 4 GiB\n", argv[a]);
            MPI_Abort(MPI_COMM_WORLD, 2);
        }
        /* zeros stay zeros under summation: no overflow and no subnormals to slow the reduction down */
        float *buf = calloc(n, sizeof *buf);
        uint16_t *half = bf16 ? calloc(n, sizeof *half) : NULL;
        if (!buf || (bf16 && !half)) {
            fprintf(stderr, "bench_allreduce: out of memory for %zu bytes\n", n * sizeof *buf);
            MPI_Abort(MPI_COMM_WORLD, 1);
        }
        for (int w = 0; w < warmup; w++) allreduce(buf, half, n);
        int reps = 0;
        double start = MPI_Wtime();
        for (;;) {
            MPI_Barrier(MPI_COMM_WORLD);
            double t0 = MPI_Wtime();
            allreduce(buf, half, n);
            double dt = MPI_Wtime() - t0, slowest = 0;
            MPI_Reduce(&dt, &slowest, 1, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);
            times[reps++] = slowest;
            /* rank 0's clock decides when to stop, so every rank makes the same number of calls */
            int more = reps < MAX_REPS && (reps < min_reps || MPI_Wtime() - start < seconds);
            MPI_Bcast(&more, 1, MPI_INT, 0, MPI_COMM_WORLD);
            if (!more) break;
        }
        free(buf);
        free(half);
        if (rank == 0) {
            qsort(times, (size_t)reps, sizeof *times, cmp_double);
            double median = reps % 2 ? times[reps / 2] : (times[reps / 2 - 1] + times[reps / 2]) / 2;
            printf("%zu %d %.4f %.4f %.1f\n", n * sizeof(float), reps, 1e3 * times[0], 1e3 * median,
                   1e-6 * (double)(n * sizeof(float)) / median);
            fflush(stdout);
        }
    }
    MPI_Op_free(&bf16_sum);
    MPI_Finalize();
    return 0;
}
