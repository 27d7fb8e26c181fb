/* CSR products for the randomized PCA (src/numerics/pca.c). Each thread takes a band of rows; for A^T Y each also
 * sums into its own [d, l] block, added up at the end, so no two threads write the same memory. */
#include <stdlib.h>
#include <string.h>

#include "numerics/sparse.h"
#include "doodle/alloc.h"
#include "doodle/cpus.h"
#include "util/thread_pool.h"

#define MAX_THREADS 8

void numerics_csr_free(numerics_csr *a) {
    if (!a) return;
    free(a->row);
    free(a->col);
    free(a->val);
    memset(a, 0, sizeof *a);
}

/* Rows [r0, r1) of X: counts (pass 1) or the non-zeros written from out->row[r0] on (pass 2). */
typedef struct csr_band {
    const float *X;
    size_t d, r0, r1, count;
    numerics_csr *out;
    int fill;
} csr_band;

static void csr_band_pass(csr_band *b) {
    size_t k = b->fill ? b->out->row[b->r0] : 0;
    for (size_t i = b->r0; i < b->r1; i++) {
        const float *x = b->X + i * b->d;
        if (!b->fill) {
            size_t c = 0;
            for (size_t j = 0; j < b->d; j++) c += x[j] != 0.0f;
            b->out->row[i + 1] = c; /* turned into offsets between the passes */
            continue;
        }
        for (size_t j = 0; j < b->d; j++)
            if (x[j] != 0.0f) {
                b->out->col[k] = (uint32_t)j;
                b->out->val[k++] = x[j];
            }
    }
}

static int thread_count(size_t n);

static void csr_band_run(void *bands, int t, int threads) {
    (void)threads;
    csr_band_pass((csr_band *)bands + t);
}

/* Both passes over bands of rows, one band per thread. */
static void csr_passes(csr_band *bands, int t, int fill) {
    for (int b = 0; b < t; b++) bands[b].fill = fill;
    util_parallel(t, csr_band_run, bands);
}

int numerics_csr_from_dense(const float *X, size_t n, size_t d, numerics_csr *out, dd_error *err) {
    memset(out, 0, sizeof *out);
    if (d > UINT32_MAX) return dd_fail(err, DD_ERR_RANGE, "%zu columns are too many for a sparse matrix", d);
    out->n = n;
    out->d = d;
    if (!(out->row = dd_malloc(n + 1, sizeof *out->row, err))) return -1;
    int t = thread_count(n);
    csr_band bands[MAX_THREADS];
    for (int b = 0; b < t; b++)
        bands[b] = (csr_band){.X = X, .d = d, .r0 = n * b / t, .r1 = n * (b + 1) / t, .out = out};
    csr_passes(bands, t, 0); /* row[i + 1] = non-zeros of row i */
    out->row[0] = 0;
    for (size_t i = 0; i < n; i++) out->row[i + 1] += out->row[i];
    size_t nnz = out->row[n];
    if (!(out->col = dd_malloc(nnz ? nnz : 1, sizeof *out->col, err)) ||
        !(out->val = dd_malloc(nnz ? nnz : 1, sizeof *out->val, err))) {
        numerics_csr_free(out);
        return -1;
    }
    csr_passes(bands, t, 1);
    return 0;
}

typedef struct job {
    const numerics_csr *a;
    const float *in;
    float *out;
    int l;
    size_t r0, r1;
} job;

static void mul_band(void *jobs, int t, int threads) {
    (void)threads;
    const job *jb = (const job *)jobs + t;
    const numerics_csr *a = jb->a;
    const int l = jb->l;
    for (size_t i = jb->r0; i < jb->r1; i++) {
        float *o = jb->out + i * (size_t)l;
        memset(o, 0, (size_t)l * sizeof *o);
        for (size_t k = a->row[i]; k < a->row[i + 1]; k++) {
            const float v = a->val[k], *w = jb->in + (size_t)a->col[k] * (size_t)l;
            for (int c = 0; c < l; c++) o[c] += v * w[c];
        }
    }
}

static void mul_t_band(void *jobs, int t, int threads) {
    (void)threads;
    const job *jb = (const job *)jobs + t;
    const numerics_csr *a = jb->a;
    const int l = jb->l;
    memset(jb->out, 0, a->d * (size_t)l * sizeof *jb->out);
    for (size_t i = jb->r0; i < jb->r1; i++) {
        const float *y = jb->in + i * (size_t)l;
        for (size_t k = a->row[i]; k < a->row[i + 1]; k++) {
            const float v = a->val[k];
            float *o = jb->out + (size_t)a->col[k] * (size_t)l;
            for (int c = 0; c < l; c++) o[c] += v * y[c];
        }
    }
}

static int thread_count(size_t n) { return n < 1024 ? 1 : dd_cpu_count(MAX_THREADS); }

/* Runs fn on t bands of rows split by non-zeros (not by rows), one per thread. */
static void run_bands(const numerics_csr *a, util_pool_fn fn, job *jobs, int t) {
    size_t nnz = a->row[a->n], r = 0;
    for (int b = 0; b < t; b++) {
        jobs[b].r0 = r;
        size_t target = nnz / (size_t)t * (size_t)(b + 1);
        while (r < a->n && (b == t - 1 || a->row[r] < target)) r++;
        jobs[b].r1 = b == t - 1 ? a->n : r;
    }
    util_parallel(t, fn, jobs);
}

int numerics_csr_mul(const numerics_csr *a, const float *w, int l, float *out, dd_error *err) {
    int t = thread_count(a->n);
    job jobs[MAX_THREADS];
    for (int b = 0; b < t; b++) jobs[b] = (job){.a = a, .in = w, .out = out, .l = l};
    (void)err;
    run_bands(a, mul_band, jobs, t);
    return 0;
}

int numerics_csr_mul_t(const numerics_csr *a, const float *y, int l, float *out, dd_error *err) {
    int t = thread_count(a->n);
    job jobs[MAX_THREADS];
    float *part = t > 1 ? dd_malloc((size_t)(t - 1) * a->d * (size_t)l, sizeof *part, err) : NULL;
    if (t > 1 && !part) return -1;
    for (int b = 0; b < t; b++)
        jobs[b] = (job){.a = a, .in = y, .out = b == 0 ? out : part + (size_t)(b - 1) * a->d * (size_t)l, .l = l};
    run_bands(a, mul_t_band, jobs, t);
    for (int b = 1; b < t; b++) {
        const float *p = jobs[b].out;
        for (size_t i = 0; i < a->d * (size_t)l; i++) out[i] += p[i];
    }
    free(part);
    return 0;
}
