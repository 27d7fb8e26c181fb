/* The machine's single-precision matrix-product peak as OpenBLAS reaches it: a 2048^3 cblas_sgemm on T threads for
 * a few seconds. bench/speed.sh measures it in the same run as the networks, to say what share of the machine
 * they use.  Usage: bench_sgemm THREADS [SECONDS]   Prints one JSON line. */
#define _POSIX_C_SOURCE 200809L
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int main(int argc, char **argv) {
    int threads = argc > 1 ? atoi(argv[1]) : 1;
    double seconds = argc > 2 ? atof(argv[2]) : 3.0;
    if (threads < 1 || threads > 256 || !(seconds >= 0.0)) {
        fprintf(stderr, "usage: bench_sgemm THREADS [SECONDS]\n");
        return 2;
    }
    const int n = 2048;
    float *a = malloc(sizeof *a * n * n), *b = malloc(sizeof *b * n * n), *c = malloc(sizeof *c * n * n);
    if (!a || !b || !c) {
        fprintf(stderr, "bench_sgemm: out of memory\n");
        return 1;
    }
    for (long i = 0; i < (long)n * n; i++) a[i] = (float)(i % 7) * 0.1f, b[i] = (float)(i % 5) * 0.1f;
    openblas_set_num_threads(threads);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n); /* warm-up */
    int reps = 0;
    double t0 = now(), dt;
    do {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
        reps++;
    } while ((dt = now() - t0) < seconds);
    printf("{\"threads\": %d, \"n\": %d, \"reps\": %d, \"gflop_per_s\": %.1f}\n", threads, n, reps,
           2.0 * n * n * (double)n * reps / dt * 1e-9);
    free(a), free(b), free(c);
    return 0;
}
