/* DBSCAN (Ester et al. 1996) with scikit-learn's result: a point with at least min_samples points (itself
 * included) within eps is a core point; core points within eps of each other share a cluster; a non-core point
 * within eps of a core point is a border point of the lowest-numbered such cluster; the rest is noise (-1).
 * Clusters are numbered in the order of their lowest-index core point, as sklearn's scan finds them.
 *
 * Three passes over the pairwise distances (tiles of one GEMM each, never an n x n matrix): neighbour counts,
 * union-find over core pairs, then the non-core points against the core points. The first is skipped when the
 * caller knows the core points already (from the k-distances that chose eps: numerics_dbscan_cores). */
#include <stdlib.h>
#include <string.h>

#include "doodle/numerics.h"
#include "numerics/dbscan.h"
#include "numerics/linalg.h"
#include "doodle/alloc.h"

typedef struct dbscan_ctx {
    float eps2;
    size_t n;
    int *count;          /* [n] neighbours within eps, self included */
    const uint8_t *core; /* [n] */
    int32_t *parent;     /* [threads, n] a union-find forest over core points per thread, merged into the first */
    const size_t *rows;  /* pass 3: dataset index of each row of A */
    int32_t *labels;
} dbscan_ctx;

static int32_t find(int32_t *parent, int32_t i) {
    while (parent[i] != i) {
        parent[i] = parent[parent[i]];
        i = parent[i];
    }
    return i;
}

static int count_visit(void *vctx, int thread, size_t i0, size_t bi, size_t j0, size_t bj, float *tile) {
    (void)j0;
    (void)thread;
    dbscan_ctx *c = vctx;
    for (size_t a = 0; a < bi; a++) {
        const float *row = tile + a * bj;
        int cnt = 0;
        for (size_t b = 0; b < bj; b++) cnt += row[b] <= c->eps2;
        c->count[i0 + a] += cnt;
    }
    return 0;
}

/* Joins the trees of i and j, the smaller index becoming the root: a root is its cluster's lowest core point. */
static void join(int32_t *parent, int32_t i, int32_t j) {
    int32_t ri = find(parent, i), rj = find(parent, j);
    if (ri < rj)
        parent[rj] = ri;
    else if (rj < ri)
        parent[ri] = rj;
}

static int union_visit(void *vctx, int thread, size_t i0, size_t bi, size_t j0, size_t bj, float *tile) {
    dbscan_ctx *c = vctx;
    int32_t *parent = c->parent + (size_t)thread * c->n;
    if (j0 + bj <= i0) return 0; /* every pair is seen twice: take the half with j > i */
    for (size_t a = 0; a < bi; a++) {
        size_t i = i0 + a;
        if (!c->core[i]) continue;
        const float *row = tile + a * bj;
        size_t b = i + 1 > j0 ? i + 1 - j0 : 0;
        for (; b < bj; b++) {
            if (row[b] > c->eps2 || !c->core[j0 + b]) continue;
            join(parent, (int32_t)i, (int32_t)(j0 + b));
        }
    }
    return 0;
}

static int border_visit(void *vctx, int thread, size_t i0, size_t bi, size_t j0, size_t bj, float *tile) {
    (void)thread;
    dbscan_ctx *c = vctx;
    for (size_t a = 0; a < bi; a++) {
        int32_t *label = &c->labels[c->rows[i0 + a]];
        const float *row = tile + a * bj;
        for (size_t b = 0; b < bj; b++) {
            size_t j = j0 + b;
            if (row[b] > c->eps2 || !c->core[j]) continue;
            if (*label < 0 || c->labels[j] < *label) *label = c->labels[j];
        }
    }
    return 0;
}

/* Clusters from known core flags: union-find over core pairs, then the non-core points against the core points. */
static int cluster_cores(const float *X, size_t n, size_t d, dbscan_ctx *c, const uint8_t *core, int32_t *labels,
                         dd_error *err) {
    c->core = core;
    c->labels = labels;
    const int threads = numerics_pairwise_threads();
    c->n = n;
    c->parent = dd_malloc((size_t)threads * (n ? n : 1), sizeof *c->parent, err);
    size_t *rows = dd_malloc(n ? n : 1, sizeof *rows, err);
    float *border = NULL;
    int rc = -1;
    if (!c->parent || !rows) goto done;
    for (int t = 0; t < threads; t++)
        for (size_t i = 0; i < n; i++) c->parent[(size_t)t * n + i] = (int32_t)i;
    if (numerics_pairwise_tiles(X, n, X, n, d, 1, union_visit, c, err)) goto done;
    /* Connectivity is the union of every thread's edges: join each point to its root in the other forests. */
    for (int t = 1; t < threads; t++)
        for (size_t i = 0; i < n; i++) join(c->parent, (int32_t)i, find(c->parent + (size_t)t * n, (int32_t)i));
    int clusters = 0;
    for (size_t i = 0; i < n; i++) labels[i] = -1;
    for (size_t i = 0; i < n; i++) {
        if (!core[i]) continue;
        int32_t r = find(c->parent, (int32_t)i);
        labels[i] = (size_t)r == i ? clusters++ : labels[r]; /* the root (lowest index) comes first */
    }
    size_t nb = 0;
    for (size_t i = 0; i < n; i++)
        if (!core[i]) rows[nb++] = i;
    if (nb > 0 && clusters > 0) {
        if (!(border = dd_malloc(nb * d, sizeof *border, err))) goto done;
        for (size_t r = 0; r < nb; r++) memcpy(border + r * d, X + rows[r] * d, d * sizeof *border);
        c->rows = rows;
        if (numerics_pairwise_tiles(border, nb, X, n, d, 1, border_visit, c, err)) goto done;
    }
    rc = clusters;
done:
    free(c->parent);
    free(rows);
    free(border);
    return rc;
}

static int check_args(size_t n, double eps, int min_samples, dd_error *err) {
    if (!(eps > 0)) return dd_fail(err, DD_ERR_USAGE, "DBSCAN's eps must be positive (got %g)", eps);
    if (min_samples < 1) return dd_fail(err, DD_ERR_USAGE, "DBSCAN's min_samples must be at least 1");
    if (n > INT32_MAX) return dd_fail(err, DD_ERR_USAGE, "too many points for DBSCAN");
    return 0;
}

int numerics_dbscan_cores(const float *X, size_t n, size_t d, double eps, const uint8_t *core, int32_t *labels,
                          dd_error *err) {
    if (check_args(n, eps, 1, err)) return -1;
    dbscan_ctx c = {.eps2 = (float)(eps * eps)};
    return cluster_cores(X, n, d, &c, core, labels, err);
}

int dd_dbscan(const float *X, size_t n, size_t d, double eps, int min_samples, int32_t *labels, dd_error *err) {
    if (check_args(n, eps, min_samples, err)) return -1;
    dbscan_ctx c = {.eps2 = (float)(eps * eps)};
    uint8_t *core = dd_malloc(n ? n : 1, 1, err);
    c.count = dd_calloc(n ? n : 1, sizeof *c.count, err);
    int rc = -1;
    if (core && c.count && !numerics_pairwise_tiles(X, n, X, n, d, 1, count_visit, &c, err)) {
        for (size_t i = 0; i < n; i++) core[i] = c.count[i] >= min_samples;
        rc = cluster_cores(X, n, d, &c, core, labels, err);
    }
    free(core);
    free(c.count);
    return rc;
}
