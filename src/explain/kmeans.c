/* K-Means as scikit-learn runs it (its "lloyd" algorithm): greedy k-means++ seeding, Lloyd iterations until the
 * centres move less than tol, an empty cluster re-seeded with the point farthest from its centre, the best of
 * several restarts by inertia. Distances to the centres come from one GEMM per iteration:
 * |x - c|^2 = |x|^2 - 2 x.c + |c|^2. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "doodle/cluster.h"
#include "explain/linalg.h"
#include "util/alloc.h"

void dd_kmeans_free(dd_kmeans_result *r) {
    if (!r) return;
    free(r->centers);
    free(r->labels);
    memset(r, 0, sizeof *r);
}

typedef struct kmeans_work {
    const float *X;
    size_t n, d;
    int k;
    const float *xsq; /* [n] */
    float *dots;      /* [n, k] */
    float *csq;       /* [k] */
    float *mind;      /* [n] squared distance to the chosen centre */
    double *sums;     /* [k, d] */
    int *counts;      /* [k] */
} kmeans_work;

static float sqdist(const float *a, const float *b, size_t d) {
    float s = 0;
    for (size_t j = 0; j < d; j++) {
        float t = a[j] - b[j];
        s += t * t;
    }
    return s;
}

/* Index of the first point whose cumulative weight passes u (weights [n] summing to total). */
static size_t draw_weighted(const float *w, size_t n, double u) {
    double acc = 0;
    for (size_t i = 0; i < n; i++) {
        acc += w[i];
        if (acc > u) return i;
    }
    size_t last = n - 1;
    while (last > 0 && w[last] <= 0) last--;
    return last;
}

/* Greedy k-means++: each new centre is the best (lowest potential) of 2 + log k candidates drawn with probability
 * proportional to the squared distance to the nearest centre so far. */
static int seed_plus_plus(const kmeans_work *w, float *centers, dd_rng *rng, dd_error *err) {
    const size_t n = w->n, d = w->d;
    const int trials = 2 + (int)log((double)w->k);
    float *closest = dd_malloc(n, sizeof *closest, err);
    float *cand = dd_malloc(n, sizeof *cand, err);
    float *best = dd_malloc(n, sizeof *best, err);
    if (!closest || !cand || !best) {
        free(closest);
        free(cand);
        free(best);
        return -1;
    }
    size_t first = (size_t)dd_rng_below(rng, n);
    memcpy(centers, w->X + first * d, d * sizeof *centers);
    double pot = 0;
    for (size_t i = 0; i < n; i++) pot += closest[i] = sqdist(w->X + i * d, centers, d);
    for (int c = 1; c < w->k; c++) {
        double best_pot = INFINITY;
        size_t best_i = 0;
        for (int t = 0; t < trials; t++) {
            size_t i = pot > 0 ? draw_weighted(closest, n, dd_rng_uniform(rng) * pot) : (size_t)dd_rng_below(rng, n);
            const float *x = w->X + i * d;
            double p = 0;
            for (size_t j = 0; j < n; j++) {
                float dj = sqdist(w->X + j * d, x, d);
                cand[j] = dj < closest[j] ? dj : closest[j];
                p += cand[j];
            }
            if (p < best_pot) {
                best_pot = p;
                best_i = i;
                memcpy(best, cand, n * sizeof *best);
            }
        }
        memcpy(centers + (size_t)c * d, w->X + best_i * d, d * sizeof *centers);
        memcpy(closest, best, n * sizeof *closest);
        pot = best_pot;
    }
    free(closest);
    free(cand);
    free(best);
    return 0;
}

/* Labels every point with its nearest centre; mind gets the squared distances. */
static void assign(const kmeans_work *w, const float *centers, int32_t *labels) {
    const size_t n = w->n, d = w->d;
    const int k = w->k;
    for (int c = 0; c < k; c++) {
        float s = 0;
        for (size_t j = 0; j < d; j++) s += centers[(size_t)c * d + j] * centers[(size_t)c * d + j];
        w->csq[c] = s;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, k, (int)d, 1.0f, w->X, (int)d, centers, (int)d,
                0.0f, w->dots, k);
    for (size_t i = 0; i < n; i++) {
        const float *row = w->dots + i * (size_t)k;
        int best = 0;
        float bd = w->csq[0] - 2 * row[0];
        for (int c = 1; c < k; c++) {
            float v = w->csq[c] - 2 * row[c];
            if (v < bd) {
                bd = v;
                best = c;
            }
        }
        labels[i] = best;
        float m = bd + w->xsq[i];
        w->mind[i] = m > 0 ? m : 0;
    }
}

/* Centres = means of their points; an empty cluster takes the point farthest from its own centre. Returns the
 * summed squared movement of the centres. */
static double update(kmeans_work *w, float *centers, int32_t *labels) {
    const size_t n = w->n, d = w->d;
    const int k = w->k;
    memset(w->sums, 0, (size_t)k * d * sizeof *w->sums);
    memset(w->counts, 0, (size_t)k * sizeof *w->counts);
    for (size_t i = 0; i < n; i++) {
        double *s = w->sums + (size_t)labels[i] * d;
        const float *x = w->X + i * d;
        for (size_t j = 0; j < d; j++) s[j] += x[j];
        w->counts[labels[i]]++;
    }
    for (int c = 0; c < k; c++) {
        if (w->counts[c] > 0) continue;
        size_t far = 0;
        for (size_t i = 1; i < n; i++)
            if (w->mind[i] > w->mind[far] && w->counts[labels[i]] > 1) far = i;
        if (w->counts[labels[far]] <= 1) continue;
        const float *x = w->X + far * d;
        double *from = w->sums + (size_t)labels[far] * d, *to = w->sums + (size_t)c * d;
        for (size_t j = 0; j < d; j++) {
            from[j] -= x[j];
            to[j] = x[j];
        }
        w->counts[labels[far]]--;
        w->counts[c] = 1;
        labels[far] = c;
        w->mind[far] = 0;
    }
    double shift = 0;
    for (int c = 0; c < k; c++) {
        if (w->counts[c] == 0) continue;
        float *ctr = centers + (size_t)c * d;
        const double *s = w->sums + (size_t)c * d;
        for (size_t j = 0; j < d; j++) {
            float v = (float)(s[j] / w->counts[c]);
            shift += (double)(v - ctr[j]) * (v - ctr[j]);
            ctr[j] = v;
        }
    }
    return shift;
}

static double inertia(const kmeans_work *w, const float *centers, const int32_t *labels) {
    double s = 0;
    for (size_t i = 0; i < w->n; i++) {
        const float *x = w->X + i * w->d, *c = centers + (size_t)labels[i] * w->d;
        for (size_t j = 0; j < w->d; j++) {
            double t = (double)x[j] - c[j];
            s += t * t;
        }
    }
    return s;
}

int dd_kmeans(const float *X, size_t n, size_t d, int k, int restarts, int max_iter, dd_rng *rng,
              dd_kmeans_result *out, dd_error *err) {
    memset(out, 0, sizeof *out);
    if (n < 1 || d < 1) return dd_fail(err, DD_ERR_USAGE, "K-Means needs at least one point");
    if (k < 1 || (size_t)k > n)
        return dd_fail(err, DD_ERR_USAGE, "K-Means cannot make %d clusters of %zu points", k, n);
    if (restarts < 1 || max_iter < 1)
        return dd_fail(err, DD_ERR_USAGE, "K-Means needs at least one restart and one iteration");
    kmeans_work w = {.X = X, .n = n, .d = d, .k = k};
    float *xsq = dd_malloc(n, sizeof *xsq, err);
    float *centers = dd_malloc((size_t)k * d, sizeof *centers, err);
    int32_t *labels = dd_malloc(n, sizeof *labels, err);
    int32_t *prev = dd_malloc(n, sizeof *prev, err);
    w.dots = dd_malloc(n * (size_t)k, sizeof *w.dots, err);
    w.csq = dd_malloc((size_t)k, sizeof *w.csq, err);
    w.mind = dd_malloc(n, sizeof *w.mind, err);
    w.sums = dd_malloc((size_t)k * d, sizeof *w.sums, err);
    w.counts = dd_malloc((size_t)k, sizeof *w.counts, err);
    out->centers = dd_malloc((size_t)k * d, sizeof *out->centers, err);
    out->labels = dd_malloc(n, sizeof *out->labels, err);
    int rc = -1;
    if (!xsq || !centers || !labels || !prev || !w.dots || !w.csq || !w.mind || !w.sums || !w.counts ||
        !out->centers || !out->labels)
        goto done;
    dd_row_sqnorms(X, n, d, xsq);
    w.xsq = xsq;
    /* sklearn's tolerance: 1e-4 of the mean column variance. */
    double var = 0;
    for (size_t j = 0; j < d; j++) {
        double s = 0, s2 = 0;
        for (size_t i = 0; i < n; i++) {
            s += X[i * d + j];
            s2 += (double)X[i * d + j] * X[i * d + j];
        }
        double mean = s / (double)n;
        var += s2 / (double)n - mean * mean;
    }
    const double tol = 1e-4 * var / (double)d;
    out->k = k;
    out->inertia = INFINITY;
    for (int r = 0; r < restarts; r++) {
        if (seed_plus_plus(&w, centers, rng, err)) goto done;
        int it = 0;
        assign(&w, centers, labels);
        while (it < max_iter) {
            it++;
            double shift = update(&w, centers, labels);
            memcpy(prev, labels, n * sizeof *prev);
            assign(&w, centers, labels);
            if (!memcmp(prev, labels, n * sizeof *prev) || shift <= tol) break;
        }
        double in = inertia(&w, centers, labels);
        if (in < out->inertia) {
            out->inertia = in;
            out->iterations = it;
            memcpy(out->centers, centers, (size_t)k * d * sizeof *centers);
            memcpy(out->labels, labels, n * sizeof *labels);
        }
    }
    rc = 0;
done:
    free(xsq);
    free(centers);
    free(labels);
    free(prev);
    free(w.dots);
    free(w.csq);
    free(w.mind);
    free(w.sums);
    free(w.counts);
    if (rc) dd_kmeans_free(out);
    return rc;
}
