/* PCA as scikit-learn defines it: centre the columns, keep the directions of largest variance. Small problems are
 * solved exactly in double precision (the covariance d x d, or the Gram matrix n x n when there are fewer rows than
 * columns, through LAPACK dsyevr); large ones with the randomized range finder (Halko, Martinsson and Tropp 2011,
 * as sklearn's "randomized" solver: oversampling 10, 7 or 4 power iterations with QR re-orthonormalisation), which
 * touches X only through a few single-precision products and never centres it in memory: centring is folded into
 * the products. Drawings are mostly background, so a sparse X is multiplied through its non-zeros (sparse.c). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "doodle/numerics.h"
#include "numerics/linalg.h"
#include "numerics/sparse.h"
#include "doodle/alloc.h"
#include "doodle/cpus.h"
#include "util/thread_pool.h"

/* Above this many multiply-adds for the covariance or Gram product, the randomized solver takes over. */
#define EXACT_WORK_MAX 4e9
#define OVERSAMPLE 10
/* Below this share of non-zeros the randomized solver multiplies by the non-zeros only (src/numerics/sparse.c). */
#define SPARSE_DENSITY_MAX 0.3

void dd_pca_free(dd_pca *p) {
    if (!p) return;
    free(p->mean);
    free(p->axes);
    free(p->variance);
    free(p->variance_ratio);
    memset(p, 0, sizeof *p);
}

/* Fixes each axis's sign so that its largest |loading| is positive: the same data always give the same picture. */
static void fix_signs(float *axes, int k, size_t d) {
    for (int c = 0; c < k; c++) {
        float *v = axes + (size_t)c * d;
        size_t best = 0;
        for (size_t j = 1; j < d; j++)
            if (fabsf(v[j]) > fabsf(v[best])) best = j;
        if (v[best] < 0)
            for (size_t j = 0; j < d; j++) v[j] = -v[j];
    }
}

/* The number of components: `components` when given, else the fewest whose ratios reach the threshold (0 when
 * the `avail` known ones do not). */
static int choose_count(const double *lam, int avail, double total, int components, double threshold) {
    if (components > 0) return components <= avail ? components : 0;
    double sum = 0;
    for (int c = 0; c < avail; c++) {
        sum += lam[c] / total;
        if (sum >= threshold - 1e-12) return c + 1;
    }
    return 0;
}

/* Standard normal numbers (Box-Muller) from rng. */
static void gaussian(float *out, size_t count, dd_rng *rng) {
    for (size_t i = 0; i < count; i += 2) {
        double u1 = dd_rng_uniform(rng), u2 = dd_rng_uniform(rng);
        double r = sqrt(-2.0 * log(1.0 - u1)), t = 6.283185307179586 * u2;
        out[i] = (float)(r * cos(t));
        if (i + 1 < count) out[i + 1] = (float)(r * sin(t));
    }
}

/* Exact: all eigenpairs of Xc^T Xc (d <= n) or Xc Xc^T (n < d); eigenvalues / (n - 1) into var [m], then the axes
 * of the chosen count. */
static int fit_exact(const float *X, size_t n, size_t d, dd_pca *p, int components, double threshold, dd_error *err) {
    const size_t m = n < d ? n : d;
    double *xc = dd_malloc(n * d, sizeof *xc, err);
    double *g = dd_malloc(m * m, sizeof *g, err);
    double *vec = dd_malloc(m * m, sizeof *vec, err);
    double *lam = dd_malloc(m, sizeof *lam, err);
    double *axis = dd_malloc(d, sizeof *axis, err);
    int rc = -1;
    if (!xc || !g || !vec || !lam || !axis) goto done;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < d; j++) xc[i * d + j] = (double)X[i * d + j] - p->mean[j];
    if (d <= n)
        cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)d, (int)n, 1.0, xc, (int)d, 0.0, g, (int)d);
    else
        cblas_dsyrk(CblasRowMajor, CblasUpper, CblasNoTrans, (int)n, (int)d, 1.0, xc, (int)d, 0.0, g, (int)n);
    if (numerics_sym_top_eigen(g, (int)m, (int)m, lam, vec, err)) goto done;
    for (size_t c = 0; c < m; c++) lam[c] = lam[c] > 0 ? lam[c] / (double)(n - 1) : 0.0;
    int k = choose_count(lam, (int)m, p->total_variance, components, threshold);
    if (k < 1) k = (int)m;
    p->components = k;
    if (!(p->axes = dd_malloc((size_t)k * d, sizeof *p->axes, err)) ||
        !(p->variance = dd_malloc((size_t)k, sizeof *p->variance, err)))
        goto done;
    for (int c = 0; c < k; c++) {
        const double *u = vec + (size_t)c * m;
        float *out = p->axes + (size_t)c * d;
        p->variance[c] = lam[c];
        if (d <= n) {
            for (size_t j = 0; j < d; j++) out[j] = (float)u[j];
            continue;
        }
        /* Gram route: the axis is Xc^T u / sqrt(eigenvalue); a zero eigenvalue has no direction. */
        double ev = lam[c] * (double)(n - 1);
        if (ev <= 1e-12 * (lam[0] * (double)(n - 1))) {
            memset(out, 0, d * sizeof *out);
            continue;
        }
        cblas_dgemv(CblasRowMajor, CblasTrans, (int)n, (int)d, 1.0 / sqrt(ev), xc, (int)d, u, 1, 0.0, axis, 1);
        for (size_t j = 0; j < d; j++) out[j] = (float)axis[j];
    }
    rc = 0;
done:
    free(xc);
    free(g);
    free(vec);
    free(lam);
    free(axis);
    return rc;
}

/* out [n, l] = X w (w [d, l]), through the non-zeros when sp is not NULL. */
static int mul(const float *X, const numerics_csr *sp, size_t n, size_t d, const float *w, int l, float *out,
               dd_error *err) {
    if (sp) return numerics_csr_mul(sp, w, l, out, err);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, l, (int)d, 1.0f, X, (int)d, w, l, 0.0f, out, l);
    return 0;
}

/* out [d, l] = X^T y (y [n, l]). */
static int mul_t(const float *X, const numerics_csr *sp, size_t n, size_t d, const float *y, int l, float *out,
                 dd_error *err) {
    if (sp) return numerics_csr_mul_t(sp, y, l, out, err);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)d, l, (int)n, 1.0f, X, (int)d, y, l, 0.0f, out, l);
    return 0;
}

/* Randomized: l directions (l <= min(n, d)); var [l] and axes [l, d] filled. q power iterations. */
static int fit_randomized(const float *X, const numerics_csr *sp, size_t n, size_t d, const float *mu, int l, int q,
                          dd_rng *rng, double *var, float *axes, dd_error *err) {
    float *omega = dd_malloc(d * (size_t)l, sizeof *omega, err);
    float *y = dd_malloc(n * (size_t)l, sizeof *y, err);
    float *s = dd_malloc((size_t)l, sizeof *s, err);
    float *ones = dd_malloc(n, sizeof *ones, err);
    float *b = dd_malloc((size_t)l * d, sizeof *b, err);
    double *bd = dd_malloc((size_t)l * d, sizeof *bd, err);
    double *g = dd_malloc((size_t)l * (size_t)l, sizeof *g, err);
    double *u = dd_malloc((size_t)l * (size_t)l, sizeof *u, err);
    double *lam = dd_malloc((size_t)l, sizeof *lam, err);
    double *axis = dd_malloc(d, sizeof *axis, err);
    int rc = -1;
    if (!omega || !y || !s || !ones || !b || !bd || !g || !u || !lam || !axis) goto done;
    for (size_t i = 0; i < n; i++) ones[i] = 1.0f;
    gaussian(omega, d * (size_t)l, rng);
    for (int it = 0;; it++) {
        /* y = Xc omega = X omega - 1 (mu^T omega) */
        cblas_sgemv(CblasRowMajor, CblasTrans, (int)d, l, 1.0f, omega, l, mu, 1, 0.0f, s, 1);
        if (mul(X, sp, n, d, omega, l, y, err)) goto done;
        cblas_sger(CblasRowMajor, (int)n, l, -1.0f, ones, 1, s, 1, y, l);
        if (numerics_orthonormalize(y, (int)n, l, err)) goto done;
        if (it == q) break;
        /* omega = Xc^T y = X^T y - mu (1^T y) */
        cblas_sgemv(CblasRowMajor, CblasTrans, (int)n, l, 1.0f, y, l, ones, 1, 0.0f, s, 1);
        if (mul_t(X, sp, n, d, y, l, omega, err)) goto done;
        cblas_sger(CblasRowMajor, (int)d, l, -1.0f, mu, 1, s, 1, omega, l);
        if (numerics_orthonormalize(omega, (int)d, l, err)) goto done;
    }
    /* b = y^T Xc = y^T X - (y^T 1) mu^T, then the eigenpairs of b b^T in double give the singular values and,
     * through b^T u / sigma, the axes. */
    cblas_sgemv(CblasRowMajor, CblasTrans, (int)n, l, 1.0f, y, l, ones, 1, 0.0f, s, 1);
    if (mul_t(X, sp, n, d, y, l, omega, err)) goto done; /* X^T y [d, l], transposed into b [l, d] */
    for (size_t j = 0; j < d; j++)
        for (int c = 0; c < l; c++) b[(size_t)c * d + j] = omega[j * (size_t)l + (size_t)c];
    cblas_sger(CblasRowMajor, l, (int)d, -1.0f, s, 1, mu, 1, b, (int)d);
    for (size_t i = 0; i < (size_t)l * d; i++) bd[i] = b[i];
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasNoTrans, l, (int)d, 1.0, bd, (int)d, 0.0, g, l);
    if (numerics_sym_top_eigen(g, l, l, lam, u, err)) goto done;
    for (int c = 0; c < l; c++) {
        double ev = lam[c] > 0 ? lam[c] : 0.0;
        var[c] = ev / (double)(n - 1);
        float *out = axes + (size_t)c * d;
        if (ev <= 1e-12 * lam[0]) {
            memset(out, 0, d * sizeof *out);
            continue;
        }
        cblas_dgemv(CblasRowMajor, CblasTrans, l, (int)d, 1.0 / sqrt(ev), bd, (int)d, u + (size_t)c * l, 1, 0.0, axis,
                    1);
        for (size_t j = 0; j < d; j++) out[j] = (float)axis[j];
    }
    rc = 0;
done:
    free(omega);
    free(y);
    free(s);
    free(ones);
    free(b);
    free(bd);
    free(g);
    free(u);
    free(lam);
    free(axis);
    return rc;
}

/* The randomized route for `components`, or, for a threshold, with a rank doubled until the threshold is met. */
static int fit_large(const float *X, size_t n, size_t d, size_t nnz, dd_pca *p, int components, double threshold,
                     dd_rng *rng, dd_error *err) {
    const size_t m = n < d ? n : d;
    float *mu = dd_malloc(d, sizeof *mu, err);
    if (!mu) return -1;
    for (size_t j = 0; j < d; j++) mu[j] = (float)p->mean[j];
    numerics_csr csr, *sp = NULL;
    if ((double)nnz < SPARSE_DENSITY_MAX * (double)n * (double)d) {
        if (numerics_csr_from_dense(X, n, d, &csr, err)) {
            free(mu);
            return -1;
        }
        sp = &csr;
    }
    int rank = components > 0 ? components : 32, rc = -1;
    for (;;) {
        int l = rank + OVERSAMPLE;
        if ((size_t)l > m) l = (int)m;
        int q = (double)rank < 0.1 * (double)m ? 7 : 4;
        double *var = dd_malloc((size_t)l, sizeof *var, err);
        float *axes = dd_malloc((size_t)l * d, sizeof *axes, err);
        if (!var || !axes || fit_randomized(X, sp, n, d, mu, l, q, rng, var, axes, err)) {
            free(var);
            free(axes);
            break;
        }
        int avail = rank < l ? rank : l;
        int k = choose_count(var, avail, p->total_variance, components, threshold);
        if (k > 0 || (size_t)l == m) {
            if (k < 1) k = l;
            p->components = k;
            p->variance = var;
            p->axes = axes; /* [l, d]; only the first k rows are used */
            rc = 0;
            break;
        }
        free(var);
        free(axes);
        rank *= 2;
    }
    free(mu);
    if (sp) numerics_csr_free(sp);
    return rc;
}

/* One band of rows: column sums and non-zeros (pass 0) or squared deviations from mean (pass 1), into its own
 * acc [d] slice. */
typedef struct moments_job {
    const float *X;
    size_t n, d;
    const double *mean;
    double *acc; /* [threads, d] */
    size_t *nnz; /* [threads] */
    int pass;
} moments_job;

static void moments_part(void *ctx, int t, int threads) {
    const moments_job *j = ctx;
    size_t lo, hi, z = 0;
    util_share(j->n, t, threads, &lo, &hi);
    double *a = j->acc + (size_t)t * j->d;
    memset(a, 0, j->d * sizeof *a);
    for (size_t i = lo; i < hi; i++) {
        const float *row = j->X + i * j->d;
        if (j->pass == 0)
            for (size_t c = 0; c < j->d; c++) {
                a[c] += row[c];
                z += row[c] != 0.0f;
            }
        else
            for (size_t c = 0; c < j->d; c++) {
                double v = row[c] - j->mean[c];
                a[c] += v * v;
            }
    }
    if (j->pass == 0) j->nnz[t] = z;
}

int dd_pca_fit(const float *X, size_t n, size_t d, int components, double variance_threshold, dd_rng *rng, dd_pca *out,
               dd_error *err) {
    memset(out, 0, sizeof *out);
    if (n < 2 || d < 1)
        return dd_fail(err, DD_ERR_USAGE, "PCA needs at least 2 rows and 1 column (got %zu x %zu)", n, d);
    const size_t m = n < d ? n : d;
    if (components < 0 || (size_t)components > m)
        return dd_fail(err, DD_ERR_USAGE, "%d components asked of a %zu x %zu matrix: at most %zu", components, n, d,
                       m);
    if (components == 0 && !(variance_threshold > 0 && variance_threshold <= 1))
        return dd_fail(err, DD_ERR_USAGE, "the explained-variance threshold %g is not in (0, 1]", variance_threshold);
    out->d = d;
    /* Column means and variances row by row, in double (the matrix is row-major and may be large), bands of rows
     * on every core, each band's sums added in band order. */
    int threads = n < 1024 ? 1 : dd_cpu_count(8);
    double *acc = dd_calloc(d * (size_t)threads, sizeof *acc, err);
    size_t counts[8] = {0};
    util_pool *pool = threads > 1 ? util_pool_new(threads, err) : NULL;
    if (!acc || (threads > 1 && !pool) || !(out->mean = dd_calloc(d, sizeof *out->mean, err))) {
        free(acc);
        util_pool_free(pool);
        return -1;
    }
    moments_job mj = {.X = X, .n = n, .d = d, .mean = out->mean, .acc = acc, .nnz = counts};
    util_pool_run(pool, moments_part, &mj); /* sums */
    size_t nnz = 0;                         /* for the choice of products in the randomized solver */
    for (int t = 0; t < threads; t++) {
        nnz += counts[t];
        for (size_t j = 0; j < d; j++) out->mean[j] += acc[(size_t)t * d + j];
    }
    for (size_t j = 0; j < d; j++) out->mean[j] /= (double)n;
    mj.pass = 1;
    util_pool_run(pool, moments_part, &mj); /* squared deviations */
    util_pool_free(pool);
    for (int t = 1; t < threads; t++)
        for (size_t j = 0; j < d; j++) acc[j] += acc[(size_t)t * d + j];
    double total = 0;
    for (size_t j = 0; j < d; j++) total += acc[j] / (double)(n - 1);
    free(acc);
    out->total_variance = total;
    if (!(total > 0)) {
        dd_pca_free(out);
        return dd_fail(err, DD_ERR_RANGE, "all %zu rows are the same: there is no variance to analyse", n);
    }
    double work = (double)m * (double)m * (double)(n > d ? n : d);
    int exact = work <= EXACT_WORK_MAX || (components > 0 && (double)components > 0.8 * (double)m);
    out->randomized = !exact;
    int rc = exact ? fit_exact(X, n, d, out, components, variance_threshold, err)
                   : fit_large(X, n, d, nnz, out, components, variance_threshold, rng, err);
    if (rc == 0 && !(out->variance_ratio = dd_malloc((size_t)out->components, sizeof *out->variance_ratio, err)))
        rc = -1;
    if (rc) {
        dd_pca_free(out);
        return -1;
    }
    for (int c = 0; c < out->components; c++) out->variance_ratio[c] = out->variance[c] / total;
    fix_signs(out->axes, out->components, d);
    return 0;
}

int dd_pca_transform(const dd_pca *p, const float *X, size_t n, float *scores, dd_error *err) {
    const int k = p->components;
    const size_t d = p->d;
    float *shift = dd_malloc((size_t)k, sizeof *shift, err);
    if (!shift) return -1;
    for (int c = 0; c < k; c++) {
        double s = 0;
        for (size_t j = 0; j < d; j++) s += p->mean[j] * p->axes[(size_t)c * d + j];
        shift[c] = (float)s;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, k, (int)d, 1.0f, X, (int)d, p->axes, (int)d, 0.0f,
                scores, k);
    for (size_t i = 0; i < n; i++)
        for (int c = 0; c < k; c++) scores[i * (size_t)k + c] -= shift[c];
    free(shift);
    return 0;
}
