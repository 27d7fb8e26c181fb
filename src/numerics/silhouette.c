/* Silhouettes (Rousseeuw 1987) as scikit-learn computes them: for point i in cluster A, a = mean distance to the
 * other points of A, b = the lowest mean distance to the points of another cluster, s = (b - a) / max(a, b), and
 * s = 0 for a point alone in its cluster (and, unlike sklearn, which refuses, NaN means for a single cluster). Noise
 * (-1) is left out on both sides. Several labellings of the same points are scored in one pass over the distances
 * (choosing k costs one pass, not one per k). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "doodle/numerics.h"
#include "numerics/linalg.h"
#include "numerics/silhouette.h"
#include "doodle/alloc.h"

typedef struct sil_ctx {
    int width;           /* sum of the k */
    const float *onehot; /* [n, width]: 1 at (j, offset of labelling l + label of j), noise rows 0 */
    float *part;         /* [threads, rows of a tile, width] */
    double *sums;        /* [n, width] summed distances from point i to each cluster of each labelling */
} sil_ctx;

/* Distances, then their sums per cluster for every labelling at once: one GEMM with the one-hot label matrix. */
static int sil_visit(void *vctx, int thread, size_t i0, size_t bi, size_t j0, size_t bj, float *tile) {
    sil_ctx *c = vctx;
    for (size_t t = 0; t < bi * bj; t++) tile[t] = sqrtf(tile[t]);
    float *part = c->part + (size_t)thread * NUMERICS_TILE_ROWS * (size_t)c->width;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)bi, c->width, (int)bj, 1.0f, tile, (int)bj,
                c->onehot + j0 * (size_t)c->width, c->width, 0.0f, part, c->width);
    double *sums = c->sums + i0 * (size_t)c->width;
    for (size_t t = 0; t < bi * (size_t)c->width; t++) sums[t] += part[t];
    return 0;
}

int numerics_silhouette_many(const float *X, size_t n, size_t d, const int32_t *const *labels, const int *ks, int L,
                             float *const *per_point, double *const *per_cluster, double *means, dd_error *err) {
    return numerics_silhouette_sampled(X, n, d, labels, ks, L, NULL, 0, per_point, per_cluster, means, err);
}

int numerics_silhouette_sampled(const float *X, size_t n, size_t d, const int32_t *const *labels, const int *ks, int L,
                                const size_t *ref, size_t n_ref, float *const *per_point, double *const *per_cluster,
                                double *means, dd_error *err) {
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
    /* The reference points: all of them, or the rows ref lists (gathered into R). */
    const size_t nr = ref ? n_ref : n;
    sil_ctx c = {.width = width};
    const size_t w1 = (size_t)(width ? width : 1);
    c.sums = dd_calloc(n * w1, sizeof *c.sums, err);
    float *onehot = dd_calloc((nr ? nr : 1) * w1, sizeof *onehot, err);
    float *R = ref ? dd_malloc((nr ? nr : 1) * d, sizeof *R, err) : NULL;
    uint8_t *in_ref = dd_calloc(n ? n : 1, 1, err);
    c.part = dd_malloc((size_t)numerics_pairwise_threads() * NUMERICS_TILE_ROWS * w1, sizeof *c.part, err);
    int *size = dd_malloc(w1, sizeof *size, err);
    int *members = dd_calloc(w1, sizeof *members, err);
    int rc = -1;
    if (!c.sums || !onehot || (ref && !R) || !in_ref || !c.part || !size || !members) goto done;
    for (int l = 0; l < L; l++)
        for (size_t i = 0; i < n; i++)
            if (labels[l][i] >= 0) members[offset[l] + labels[l][i]]++;
    for (size_t r = 0; r < nr; r++) {
        size_t i = ref ? ref[r] : r;
        in_ref[i] = 1;
        if (R) memcpy(R + r * d, X + i * d, d * sizeof *R);
        for (int l = 0; l < L; l++)
            if (labels[l][i] >= 0) onehot[r * (size_t)width + (size_t)(offset[l] + labels[l][i])] = 1.0f;
    }
    c.onehot = onehot;
    if (width > 0 && nr > 0 && numerics_pairwise_tiles(X, n, R ? R : X, nr, d, 1, sil_visit, &c, err)) goto done;
    /* cluster sizes among the reference points */
    memset(size, 0, (size_t)width * sizeof *size);
    for (int l = 0; l < L; l++)
        for (size_t r = 0; r < nr; r++) {
            size_t i = ref ? ref[r] : r;
            if (labels[l][i] >= 0) size[offset[l] + labels[l][i]]++;
        }
    for (int l = 0; l < L; l++) {
        const int k = ks[l];
        const int *sz = size + offset[l], *all = members + offset[l];
        int nonempty = 0;
        for (int q = 0; q < k; q++) nonempty += all[q] > 0;
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
            const int others = sz[own] - in_ref[i]; /* the reference points of its cluster, itself left out */
            if (others > 0 && nonempty > 1) {
                double a = s[own] / others, b = INFINITY;
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
            for (int q = 0; q < k; q++)
                per_cluster[l][q] = all[q] > 0 && nonempty > 1 ? per_cluster[l][q] / all[q] : NAN;
        if (means) means[l] = nonempty > 1 && counted > 0 ? total / (double)counted : NAN;
    }
    rc = 0;
done:
    free(offset);
    free(c.sums);
    free(onehot);
    free(R);
    free(in_ref);
    free(members);
    free(c.part);
    free(size);
    return rc;
}

int dd_silhouette(const float *X, size_t n, size_t d, const int32_t *labels, int k, float *per_point,
                  double *per_cluster, double *mean, dd_error *err) {
    if (k < 0) return dd_fail(err, DD_ERR_USAGE, "a negative number of clusters");
    double m = NAN;
    int rc = numerics_silhouette_many(X, n, d, &labels, &k, 1, &per_point, &per_cluster, &m, err);
    if (mean) *mean = m;
    return rc;
}
