/* Choosing DBSCAN's eps: each point's distance to its k-th nearest point (itself first), sorted; the knee of that
 * curve (the point farthest below the chord from its first to its last value, both axes scaled to 0..1) is where
 * distances start to grow fast, i.e. where dense regions end. The same rule as ../shared/peers/sk_cluster.py. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "doodle/numerics.h"
#include "numerics/linalg.h"
#include "doodle/alloc.h"

typedef struct knn_ctx {
    int k;
    float *best; /* [n, k] the k smallest squared distances of each row, increasing */
} knn_ctx;

static int knn_visit(void *vctx, int thread, size_t i0, size_t bi, size_t j0, size_t bj, float *tile) {
    (void)j0;
    (void)thread;
    knn_ctx *c = vctx;
    const int k = c->k;
    for (size_t a = 0; a < bi; a++) {
        float *best = c->best + (i0 + a) * (size_t)k;
        const float *row = tile + a * bj;
        float worst = best[k - 1];
        for (size_t b = 0; b < bj; b++) {
            float v = row[b];
            if (v >= worst) continue;
            int p = k - 1;
            while (p > 0 && best[p - 1] > v) {
                best[p] = best[p - 1];
                p--;
            }
            best[p] = v;
            worst = best[k - 1];
        }
    }
    return 0;
}

int dd_kth_neighbor_distances(const float *X, size_t n, size_t d, int k, float *kdist, dd_error *err) {
    if (k < 1 || (size_t)k > n) return dd_fail(err, DD_ERR_USAGE, "cannot take the %d-th nearest of %zu points", k, n);
    knn_ctx c = {.k = k, .best = dd_malloc(n * (size_t)k, sizeof(float), err)};
    if (!c.best) return -1;
    for (size_t i = 0; i < n * (size_t)k; i++) c.best[i] = INFINITY;
    int rc = numerics_pairwise_tiles(X, n, X, n, d, 1, knn_visit, &c, err);
    if (rc == 0)
        for (size_t i = 0; i < n; i++) kdist[i] = sqrtf(c.best[i * (size_t)k + (size_t)(k - 1)]);
    free(c.best);
    return rc ? -1 : 0;
}

static int cmp_float(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

double dd_knee_eps(const float *kdist, size_t n, double *quantile, dd_error *err) {
    if (n < 1) return dd_fail(err, DD_ERR_USAGE, "no distances to find a knee in");
    float *s = dd_malloc(n, sizeof *s, err);
    if (!s) return -1;
    memcpy(s, kdist, n * sizeof *s);
    qsort(s, n, sizeof *s, cmp_float);
    const double first = s[0], span = (double)s[n - 1] - first + 1e-12;
    size_t knee = 0;
    double best = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        double x = n > 1 ? (double)i / (double)(n - 1) : 0.0;
        double gap = x - ((double)s[i] - first) / span;
        if (gap > best) {
            best = gap;
            knee = i;
        }
    }
    double eps = s[knee];
    if (quantile) *quantile = (double)knee / (double)n;
    free(s);
    return eps;
}
