/* doodle's exact t-SNE on a matrix from a CSV file (one point a line, numbers separated by commas, an optional
 * header line that does not start with a digit or a sign): prints the final KL divergence, the trustworthiness
 * (5 neighbours), iterations and time, and writes the map as CSV (y1,y2) when given a second path.
 * bench/tsne_check.sh runs scikit-learn's TSNE on the same matrix next to it.
 * Usage: bench_tsne MATRIX.csv [MAP.csv] [perplexity] */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "doodle/cluster.h"

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Reads the CSV into *X [*n, *d]; returns 0 on success. */
static int read_csv(const char *path, float **X, size_t *n, size_t *d) {
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    size_t cap = 0, used = 0, rows = 0, cols = 0;
    float *v = NULL;
    char *line = NULL;
    size_t len = 0;
    while (getline(&line, &len, f) > 0) {
        if (!isdigit((unsigned char)line[0]) && line[0] != '-' && line[0] != '+' && line[0] != '.') continue;
        size_t here = 0;
        for (char *p = line, *end; *p && *p != '\n'; p = *end == ',' ? end + 1 : end) {
            double x = strtod(p, &end);
            if (end == p) break;
            if (used == cap) {
                cap = cap ? 2 * cap : 4096;
                float *nv = realloc(v, cap * sizeof *nv);
                if (!nv) goto fail;
                v = nv;
            }
            v[used++] = (float)x;
            here++;
        }
        if (rows == 0) cols = here;
        if (here != cols) goto fail;
        rows++;
    }
    free(line);
    fclose(f);
    *X = v, *n = rows, *d = cols;
    return rows ? 0 : -1;
fail:
    free(line);
    free(v);
    fclose(f);
    return -1;
}

int main(int argc, char **argv) {
    if (argc < 2 || argc > 4) {
        fprintf(stderr, "usage: bench_tsne MATRIX.csv [MAP.csv] [perplexity]\n");
        return 2;
    }
    float *X;
    size_t n, d;
    if (read_csv(argv[1], &X, &n, &d)) {
        fprintf(stderr, "bench_tsne: cannot read a matrix from %s\n", argv[1]);
        return 1;
    }
    dd_tsne_opts o = dd_tsne_opts_default();
    if (argc > 3) o.perplexity = atof(argv[3]);
    float *Y = malloc(2 * n * sizeof *Y);
    dd_tsne_result res;
    dd_error err;
    double t0 = now();
    if (!Y || dd_tsne(X, n, d, &o, Y, &res, &err)) {
        fprintf(stderr, "bench_tsne: %s\n", Y ? err.msg : "out of memory");
        return 1;
    }
    double seconds = now() - t0;
    double trust = dd_trustworthiness(X, n, d, Y, 2, 5, &err);
    printf("doodle n=%zu d=%zu perplexity=%g: KL %.4f (after exaggeration %.4f), trustworthiness(5) %.4f, "
           "%d iterations, %.2f s\n",
           n, d, o.perplexity, res.kl, res.kl_exaggerated, trust, res.iterations, seconds);
    if (argc > 2) {
        FILE *f = fopen(argv[2], "w");
        if (!f) return 1;
        for (size_t i = 0; i < n; i++) fprintf(f, "%.9g,%.9g\n", Y[2 * i], Y[2 * i + 1]);
        if (fclose(f)) return 1;
    }
    free(X);
    free(Y);
    return 0;
}
