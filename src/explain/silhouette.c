/* Silhouettes (Rousseeuw 1987) as scikit-learn computes them: for point i in cluster A, a = mean distance to the
 * other points of A, b = the lowest mean distance to the points of another cluster, s = (b - a) / max(a, b), and
 * s = 0 for a point alone in its cluster. Noise (-1) is left out on both sides. Several labellings of the same
 * points are scored in one pass over the distances (choosing k costs one pass, not one per k). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "doodle/cluster.h"
#include "explain/linalg.h"
#include "explain/silhouette.h"
#include "util/alloc.h"

typedef struct sil_ctx {
    int L;
    const int32_t *const *labels;
    const int *offset; /* labelling l's sums start at column offset[l] of sums */
    int width;         /* sum of the k */
    double *sums;      /* [n, width] summed distances from point i to each cluster */
    float *dist;       /* [bj] one row of distances */
} sil_ctx;

static int sil_visit(void *vctx, size_t i0, size_t bi, size_t j0, size_t bj, const float *tile) {
    sil_ctx *c = vctx;
    for (size_t a = 0; a < bi; a++) {
        const float *row = tile + a * bj;
        for (size_t b = 0; b < bj; b++) c->dist[b] = sqrtf(row[b]);
        double *sums = c->sums + (i0 + a) * (size_t)c->width;
        for (int l = 0; l < c->L; l++) {
            const int32_t *lab = c->labels[l] + j0;
            double *s = sums + c->offset[l];
            /* Noise points' labels are -1: their distances go nowhere. */
            for (size_t b = 0; b < bj; b++)
                if (lab[b] >= 0) s[lab[b]] += c->dist[b];
        }
    }
    return 0;
}

int dd_silhouette_many(const float *X, size_t n, size_t d, const int32_t *const *labels, const int *ks, int L,
                       float *const *per_point, double *const *per_cluster, double *means, dd_error *err) {
    int *offset = dd_malloc((size_t)L, sizeof *offset, err);
    if (!offset) return -1;
    int width = 0;
    for (int l = 0; l < L; l++) {
        offset[l] = width;
        width += ks[l];
        for (size_t i = 0; i < n; i++)
            if (labels[l][i] < -1 || labels[l][i] >= ks[l]) {
                free(offset);
                return dd_fail(err, DD_ERR_USAGE, "label %d of point %zu is not in -1..%d", (int)labels[l][i], i,
                               ks[l] - 1);
            }
    }
    sil_ctx c = {.L = L, .labels = labels, .offset = offset, .width = width};
    c.sums = dd_calloc(n * (size_t)(width ? width : 1), sizeof *c.sums, err);
    c.dist = dd_malloc(n ? n : 1, sizeof *c.dist, err);
    int *size = dd_malloc((size_t)(width ? width : 1), sizeof *size, err);
    int rc = -1;
    if (!c.sums || !c.dist || !size) goto done;
    if (width > 0 && dd_pairwise_tiles(X, n, X, n, d, sil_visit, &c, err)) goto done;
    memset(size, 0, (size_t)width * sizeof *size);
    for (int l = 0; l < L; l++)
        for (size_t i = 0; i < n; i++)
            if (labels[l][i] >= 0) size[offset[l] + labels[l][i]]++;
    for (int l = 0; l < L; l++) {
        const int k = ks[l];
        const int *sz = size + offset[l];
        int nonempty = 0;
        for (int q = 0; q < k; q++) nonempty += sz[q] > 0;
        double total = 0;
        size_t counted = 0;
        if (per_cluster && per_cluster[l])
            for (int q = 0; q < k; q++) per_cluster[l][q] = 0;
        for (size_t i = 0; i < n; i++) {
            int own = labels[l][i];
            if (own < 0) {
                if (per_point && per_point[l]) per_point[l][i] = NAN;
                continue;
            }
            const double *s = c.sums + i * (size_t)width + offset[l];
            double sil = 0;
            if (sz[own] > 1 && nonempty > 1) {
                double a = s[own] / (sz[own] - 1), b = INFINITY;
                for (int q = 0; q < k; q++)
                    if (q != own && sz[q] > 0 && s[q] / sz[q] < b) b = s[q] / sz[q];
                double m = a > b ? a : b;
                sil = m > 0 ? (b - a) / m : 0;
            }
            if (per_point && per_point[l]) per_point[l][i] = (float)sil;
            if (per_cluster && per_cluster[l]) per_cluster[l][own] += sil;
            total += sil;
            counted++;
        }
        if (per_cluster && per_cluster[l])
            for (int q = 0; q < k; q++) per_cluster[l][q] = sz[q] > 0 ? per_cluster[l][q] / sz[q] : NAN;
        if (means) means[l] = nonempty > 1 && counted > 0 ? total / (double)counted : NAN;
    }
    rc = 0;
done:
    free(offset);
    free(c.sums);
    free(c.dist);
    free(size);
    return rc;
}

int dd_silhouette(const float *X, size_t n, size_t d, const int32_t *labels, int k, float *per_point,
                  double *per_cluster, double *mean, dd_error *err) {
    if (k < 0) return dd_fail(err, DD_ERR_USAGE, "a negative number of clusters");
    double m = NAN;
    int rc = dd_silhouette_many(X, n, d, &labels, &k, 1, &per_point, &per_cluster, &m, err);
    if (mean) *mean = m;
    return rc;
}
