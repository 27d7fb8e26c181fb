/* The numerics of clustering, which need no model: PCA, K-Means, DBSCAN with its eps from the k-distance knee,
 * silhouettes and the t-SNE map (module numerics: src/numerics/, below explain, using util only).
 *
 * Works on a row-major float matrix X [n, d] (one drawing per row, pixels 0..1) and follows
 * scikit-learn's definitions, so its results can be checked against sklearn's (tests/test_cluster_sklearn.c):
 *   - PCA: mean-centred; explained variance = eigenvalue / (n - 1), ratio = that / total variance. Exact (LAPACK
 *     dsyevr on the covariance or, when n < d, on the Gram matrix, in double precision) for small matrices;
 *     randomized (Halko et al., power iterations, as sklearn's "randomized" solver) for large ones.
 *   - K-Means: greedy k-means++ seeding (2 + log k candidates per centre), Lloyd iterations, several restarts, the
 *     lowest inertia (sum of squared distances to the nearest centre) wins.
 *   - DBSCAN: Euclidean eps, min_samples counting the point itself; cluster numbers in order of their first core
 *     point, a border point joins the lowest-numbered cluster among its core neighbours (sklearn's result), -1 noise.
 *   - eps from the k-distance knee: sorted distances to the k-th nearest point (the point itself counted first),
 *     the knee is where the normalised curve lies farthest below the chord from first to last (as
 *     ../shared/peers/sk_cluster.py's knee_eps).
 *   - silhouette: (b - a) / max(a, b) per point, 0 for a point alone in its cluster; noise (-1) left out.
 *
 * Speed: randomized PCA multiplies a mostly-zero X through its non-zeros; K-Means restarts, the pairwise-distance
 * passes (tiles of single-threaded GEMM, never an n x n matrix) and the sparse products run on up to 8 threads.
 * Labels never depend on the thread count; PCA's last bits may (sums of per-thread parts).
 */
#ifndef DOODLE_NUMERICS_H
#define DOODLE_NUMERICS_H

#include <stddef.h>
#include <stdint.h>

#include "doodle/error.h"
#include "doodle/rng.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- PCA, K-Means, DBSCAN, silhouettes ---- */

/* Keeps the columns of X [n, d] that are non-zero in at least one row, moving them left in place: afterwards X is
 * [n, returned count], row-major. kept [d] receives the original indices of the kept columns. */
size_t dd_drop_zero_columns(float *X, size_t n, size_t d, uint32_t *kept);

typedef struct dd_pca {
    size_t d;               /* input columns */
    int components;         /* rows of `axes` */
    double *mean;           /* [d] */
    float *axes;            /* [components, d], unit length, sign fixed as sklearn (largest |loading| > 0) */
    double *variance;       /* [components] explained variance, decreasing */
    double *variance_ratio; /* [components] of the total variance */
    double total_variance;  /* sum of the column variances (ddof 1) */
    int randomized;         /* 1 when the randomized solver was used */
} dd_pca;

/* Fits X [n, d] (n >= 2). components > 0: that many (at most min(n, d)); components == 0: the fewest whose
 * ratios sum to at least variance_threshold (0 < threshold <= 1). rng seeds the randomized solver. */
int dd_pca_fit(const float *X, size_t n, size_t d, int components, double variance_threshold, dd_rng *rng, dd_pca *out,
               dd_error *err);
/* scores [n, components] = (X - mean) axes^T. */
int dd_pca_transform(const dd_pca *p, const float *X, size_t n, float *scores, dd_error *err);
void dd_pca_free(dd_pca *p);

typedef struct dd_kmeans_result {
    int k;
    float *centers;  /* [k, d] */
    int32_t *labels; /* [n] 0..k-1 */
    double inertia;
    int iterations; /* of the best restart */
} dd_kmeans_result;

/* K-Means of X [n, d] into k clusters (1 <= k <= n): `restarts` k-means++ seedings from rng (>= 1), each refined
 * by Lloyd iterations until the centres move less than tol (sklearn's: 1e-4 times the mean column variance) or
 * max_iter; keeps the lowest inertia. */
int dd_kmeans(const float *X, size_t n, size_t d, int k, int restarts, int max_iter, dd_rng *rng, dd_kmeans_result *out,
              dd_error *err);
void dd_kmeans_free(dd_kmeans_result *r);

/* Distance of every point of X [n, d] to its k-th nearest point, the point itself counted as the first
 * (k >= 1; k = 1 gives zeros): kdist [n]. */
int dd_kth_neighbor_distances(const float *X, size_t n, size_t d, int k, float *kdist, dd_error *err);
/* The knee of the sorted k-distances (see above): returns eps; *quantile (may be NULL) gets its position / n. */
double dd_knee_eps(const float *kdist, size_t n, double *quantile, dd_error *err);

/* DBSCAN of X [n, d]: labels [n] (-1 noise, else 0..clusters-1). Returns the number of clusters, -1 on error. */
int dd_dbscan(const float *X, size_t n, size_t d, double eps, int min_samples, int32_t *labels, dd_error *err);

/* Silhouettes of a labelling (labels [n] in -1..k-1): per_point [n] (may be NULL; NaN for noise), per_cluster [k]
 * (may be NULL; mean over its points, NaN for an empty one or when there is one cluster only) and the mean over all
 * non-noise points (NaN when fewer than 2 clusters). */
int dd_silhouette(const float *X, size_t n, size_t d, const int32_t *labels, int k, float *per_point,
                  double *per_cluster, double *mean, dd_error *err);

/* ---- a 2-D map: t-SNE ---- */

typedef struct dd_tsne_opts {
    double perplexity;         /* 30 */
    int max_iter;              /* 1000, the exaggeration iterations included */
    double early_exaggeration; /* 12 */
    int exaggeration_iter;     /* 250 */
    double learning_rate;      /* 0 = sklearn's "auto": max(n / early_exaggeration / 4, 50) */
    uint64_t seed;             /* seeds the PCA initialisation's solver (and the noise of a 1-column input) */
    int threads;               /* 0 = one below 256 points, else up to 8 (the online CPUs) */
} dd_tsne_opts;
dd_tsne_opts dd_tsne_opts_default(void);

typedef struct dd_tsne_result {
    double kl;             /* KL(P || Q) at the end, as sklearn's kl_divergence_ */
    double kl_exaggerated; /* at the end of early exaggeration, of the true P (not exaggerated) */
    int iterations;
} dd_tsne_result;

/* Exact t-SNE of X [n, d] (2 <= n, perplexity < n) into Y [n, 2], as scikit-learn's TSNE(method="exact",
 * init="pca") (src/numerics/tsne.c). Memory n x n floats, time O(n^2) per iteration: a few thousand points. */
int dd_tsne(const float *X, size_t n, size_t d, const dd_tsne_opts *o, float *Y, dd_tsne_result *res, dd_error *err);
/* sklearn.manifold.trustworthiness of the map Y [n, dy] of X [n, d] with k neighbours (1 <= k < n / 2): 1 when
 * every map neighbour is a neighbour in X, lower as intruders come from farther. NaN (and err) on failure. */
double dd_trustworthiness(const float *X, size_t n, size_t d, const float *Y, size_t dy, int k, dd_error *err);

#ifdef __cplusplus
}
#endif
#endif
