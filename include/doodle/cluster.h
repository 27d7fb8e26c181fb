/* Clustering drawings, as the study did with its misclassified test images: pixels -> drop the all-zero columns ->
 * PCA -> K-Means and DBSCAN -> silhouettes, montages and composition tables.
 *
 * The numeric core works on a row-major float matrix X [n, d] (one drawing per row, pixels 0..1) and follows
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
 *
 * dd_explain_clusters runs the whole pipeline on drawings of a .dset chosen through a model and writes pictures and
 * tables into a directory (see dd_cluster_report for what). */
#ifndef DOODLE_CLUSTER_H
#define DOODLE_CLUSTER_H

#include <stddef.h>
#include <stdint.h>

#include "doodle/dataset.h"
#include "doodle/error.h"
#include "doodle/explain.h"
#include "doodle/model.h"
#include "doodle/rng.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- numeric core ---- */

/* Keeps the columns of X [n, d] that are non-zero in at least one row, moving them left in place: afterwards X is
 * [n, returned count], row-major. kept [d] receives the original indices of the kept columns. */
size_t dd_drop_zero_columns(float *X, size_t n, size_t d, uint32_t *kept);

typedef struct dd_pca {
    size_t d;                  /* input columns */
    int components;            /* rows of `axes` */
    double *mean;              /* [d] */
    float *axes;               /* [components, d], unit length, sign fixed as sklearn (largest |loading| > 0) */
    double *variance;          /* [components] explained variance, decreasing */
    double *variance_ratio;    /* [components] of the total variance */
    double total_variance;     /* sum of the column variances (ddof 1) */
    int randomized;            /* 1 when the randomized solver was used */
} dd_pca;

/* Fits X [n, d] (n >= 2). components > 0: that many (at most min(n, d)); components == 0: the fewest whose
 * ratios sum to at least variance_threshold (0 < threshold <= 1). rng seeds the randomized solver. */
int dd_pca_fit(const float *X, size_t n, size_t d, int components, double variance_threshold, dd_rng *rng,
               dd_pca *out, dd_error *err);
/* scores [n, components] = (X - mean) axes^T. */
int dd_pca_transform(const dd_pca *p, const float *X, size_t n, float *scores, dd_error *err);
void dd_pca_free(dd_pca *p);

typedef struct dd_kmeans_result {
    int k;
    float *centers;    /* [k, d] */
    int32_t *labels;   /* [n] 0..k-1 */
    double inertia;
    int iterations;    /* of the best restart */
} dd_kmeans_result;

/* K-Means of X [n, d] into k clusters (1 <= k <= n): `restarts` k-means++ seedings from rng (>= 1), each refined
 * by Lloyd iterations until the centres move less than tol (sklearn's: 1e-4 times the mean column variance) or
 * max_iter; keeps the lowest inertia. */
int dd_kmeans(const float *X, size_t n, size_t d, int k, int restarts, int max_iter, dd_rng *rng,
              dd_kmeans_result *out, dd_error *err);
void dd_kmeans_free(dd_kmeans_result *r);

/* Distance of every point of X [n, d] to its k-th nearest point, the point itself counted as the first
 * (k >= 1; k = 1 gives zeros): kdist [n]. */
int dd_kth_neighbor_distances(const float *X, size_t n, size_t d, int k, float *kdist, dd_error *err);
/* The knee of the sorted k-distances (see above): returns eps; *quantile (may be NULL) gets its position / n. */
double dd_knee_eps(const float *kdist, size_t n, double *quantile, dd_error *err);

/* DBSCAN of X [n, d]: labels [n] (-1 noise, else 0..clusters-1). Returns the number of clusters, -1 on error. */
int dd_dbscan(const float *X, size_t n, size_t d, double eps, int min_samples, int32_t *labels, dd_error *err);

/* Silhouettes of a labelling (labels [n] in -1..k-1): per_point [n] (may be NULL; NaN for noise), per_cluster [k]
 * (may be NULL; mean over its points, NaN for an empty one or when there is one cluster only) and the mean over all non-noise points (NaN when
 * fewer than 2 clusters). */
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
 * init="pca") (src/explain/tsne.c). Memory n x n floats, time O(n^2) per iteration: a few thousand points. */
int dd_tsne(const float *X, size_t n, size_t d, const dd_tsne_opts *o, float *Y, dd_tsne_result *res, dd_error *err);
/* sklearn.manifold.trustworthiness of the map Y [n, dy] of X [n, d] with k neighbours (1 <= k < n / 2): 1 when
 * every map neighbour is a neighbour in X, lower as intruders come from farther. NaN (and err) on failure. */
double dd_trustworthiness(const float *X, size_t n, size_t d, const float *Y, size_t dy, int k, dd_error *err);

/* ---- the whole pipeline on drawings ---- */

typedef enum dd_cluster_set {
    DD_CLUSTER_MISCLASSIFIED = 0, /* test drawings the model gets wrong */
    DD_CLUSTER_TEST,              /* all test drawings */
    DD_CLUSTER_TRAIN,             /* all training drawings */
    DD_CLUSTER_CLASS,             /* test drawings whose true class is `set_class` */
    DD_CLUSTER_PREDICTED,         /* test drawings the model predicts as `set_class` */
    DD_CLUSTER_VAL_MISCLASSIFIED  /* validation drawings the model gets wrong (the split doodle train carves out of
                                   * the training split: the set's val_frac, else 0.1, seeded by its split seed) */
} dd_cluster_set;

typedef enum dd_cluster_space {
    DD_SPACE_PIXELS = 0, /* the drawings' pixels at the model's input, as the study clustered them */
    DD_SPACE_EMBEDDING   /* the activations of one layer of the model (by default the input of its last dense) */
} dd_cluster_space;

typedef struct dd_cluster_opts {
    dd_cluster_set set;
    dd_cluster_space space;
    int layer;                 /* embedding (and the units of dd_cluster_units): -1 = dd_cluster_default_layer */
    int standardize;           /* 1: every column scaled to unit variance before PCA */
    char set_class[64];
    int components;            /* 0 = by variance_threshold */
    double variance_threshold; /* used when components == 0 */
    int k;                     /* 0 = chosen by silhouette in k_min..k_max */
    int k_min, k_max;
    int restarts, max_iter;
    double eps;                /* 0 = from the k-distance knee */
    int min_samples;
    uint64_t seed;
    int montage_max;           /* drawings shown per cluster montage */
    size_t max_drawings;       /* a larger set is sampled down to this many (seeded); 0 = no limit */
    size_t stream_above;       /* a split larger than this, for a set chosen by the model's answers (misclassified,
                                  predicted=), is scored in chunks first, so that memory is bounded by max_drawings,
                                  not by the split; --top-units then ranks units among the chosen drawings only.
                                  0 = 65,536 */
    size_t tsne_max;           /* t-SNE map of at most this many drawings (a seeded sample); 0 = no map */
    double perplexity;         /* of the t-SNE map (lowered for fewer than 3 x perplexity + 1 drawings) */
    int top_units;             /* units listed per cluster (dd_cluster_units); 0 = none */
    int save_points;           /* 1: also write points.csv, the PCA scores clustered (one drawing a line) */
} dd_cluster_opts;

/* Misclassified set in pixel space (not standardised), 90% of the variance, k by silhouette in 2..8, 10 restarts of
 * at most 300 iterations, eps from the knee, min_samples 5, seed 1, 100 drawings per montage, at most 20,000
 * drawings, a t-SNE map of at most 3,000 (perplexity 30), 5 units per cluster. */
dd_cluster_opts dd_cluster_opts_default(void);

/* Parses "misclassified", "val-misclassified", "test", "train", "class=NAME" or "predicted=NAME" into o. */
int dd_cluster_parse_set(const char *text, dd_cluster_opts *o, dd_error *err);

typedef struct dd_cluster_pair {
    int true_class, predicted; /* the model's class indices */
    int count;
} dd_cluster_pair;

typedef struct dd_cluster_info {
    int size;
    double silhouette;         /* NaN for DBSCAN's noise */
    dd_cluster_pair *pairs;    /* composition, most frequent first */
    int n_pairs;
    char montage[64];          /* file name inside the output directory */
} dd_cluster_info;

typedef struct dd_cluster_report {
    size_t n;                  /* drawings clustered; 0 = the set is empty and nothing else was written */
    size_t pixels;             /* per drawing before dropping */
    size_t kept_columns;
    int components;
    double explained_variance; /* sum of the ratios of the kept components */
    double *variance_ratio;    /* [components] */
    int k;                     /* K-Means clusters (chosen or given) */
    int k_tried_min, k_tried_max;
    double *k_silhouettes;     /* [k_tried_max - k_tried_min + 1] mean silhouette of each k tried */
    double kmeans_inertia;
    double kmeans_silhouette;
    dd_cluster_info *kmeans;   /* [k] */
    double eps;
    int eps_from_knee;
    int min_samples;
    int dbscan_clusters;
    int dbscan_noise;
    double dbscan_silhouette;  /* NaN with fewer than 2 clusters */
    dd_cluster_info *dbscan;   /* [dbscan_clusters + 1]: the clusters, then the noise */
    uint64_t *index;           /* [n] dataset record numbers */
    int32_t *true_class, *predicted, *kmeans_label, *dbscan_label; /* [n] */
    float *pc1, *pc2;          /* [n] first two PCA scores (pc2 0 with one component) */
    float *kmeans_point_silhouette, *dbscan_point_silhouette; /* [n] per drawing (NaN for noise) */
    double seconds_pca, seconds_kmeans, seconds_dbscan, seconds_silhouette; /* wall-clock time of each step */
    float *scores;             /* [n, components] the PCA scores clustered */
    /* t-SNE of the PCA scores (tsne_n > 0: drawings mapped; the others have NaN coordinates) */
    size_t tsne_n;
    float *tsne1, *tsne2;      /* [n] */
    dd_tsne_result tsne;
    double tsne_perplexity;    /* used: o->perplexity, lowered to a third of the other points for a small set */
    double tsne_trustworthiness; /* 5 neighbours, in PCA space */
    double seconds_tsne;
    /* set by dd_explain_clusters */
    dd_cluster_space space;
    int layer;                 /* the embedding's layer (or the units' layer), -1 when none */
    char layer_name[64];
    int standardized;
    double seconds_embedding;  /* the model's pass for the activations */
    /* purity in (true, predicted) pairs: share of each cluster's members in its most frequent pair, averaged
     * weighted by size; *_random: the same for random labellings with the same cluster sizes (mean of 200) */
    double kmeans_purity, kmeans_purity_random;
    double dbscan_purity, dbscan_purity_random; /* over the non-noise drawings; NaN without a cluster */
    struct dd_cluster_units *units; /* [k] per K-Means cluster, NULL when not computed */
} dd_cluster_report;

/* Per K-Means cluster, the units of the layer that separate its members most from the correctly classified
 * drawings of the same true class: for member i of true class t and unit u, the residual a_iu - mean_tu (mean_tu
 * over the right drawings of t); a unit's score is Cohen's d, the mean residual over the pooled sd
 * sqrt((mean of sd_t^2 + variance of the residuals) / 2), sd_t floored at 5% of the unit's sd over all drawings. */
typedef struct dd_cluster_units {
    int n;                     /* units listed (<= top_units), highest |score| first */
    int *unit;                 /* [n] unit index in the layer */
    double *score;             /* [n] Cohen's d: > 0 the unit fires more on the cluster than on right drawings */
    double *mean_cluster, *mean_correct; /* [n] mean activation on the members / on the correct drawings */
    int compared;              /* members with correct drawings of their class to compare with */
    char picture[64];          /* units-kmeans-<c>.png: per unit the test drawings that excite it most */
} dd_cluster_units;

/* The numeric part of the pipeline on a matrix X [n, d] of pixels (overwritten: its all-zero columns are dropped
 * in place): fills the fields of report above that do not need a model or a dataset (n, pixels, kept_columns, PCA,
 * K-Means and DBSCAN results with their sizes and silhouettes, pc1/pc2, times); index, true_class, predicted and
 * the clusters' pairs and montage names are left empty. Past 5,000 rows, silhouettes are estimated against a
 * seeded sample of 5,000 reference rows. Used by dd_explain_clusters and bench/bench_cluster.c.
 * Fails with a clear message for fewer than 2 rows, an explicit k larger than n, or blank rows only. */
int dd_cluster_matrix(float *X, size_t n, size_t d, const dd_cluster_opts *o, dd_cluster_report *report,
                      dd_error *err);

/* The layer an embedding takes by default: the one whose output is the input of the model's last dense layer,
 * stepping back over dropout (the identity at inference); -1 when the model has no such layer. */
int dd_cluster_default_layer(const dd_model *m);
/* Activations of layer for every drawing of s: out [s->n, units] (units = the layer's channels; a spatial map is
 * averaged over its positions). */
int dd_cluster_embeddings(const dd_model *m, const dd_image_set *s, int layer, float *out, dd_error *err);

/* Purity of a labelling (labels [n] in -1..k-1, -1 left out) in (true, predicted) pairs codes [n]: share of each
 * cluster's members in its most frequent code, averaged weighted by size; NaN without a labelled point. *random
 * (may be NULL) gets the mean purity of `rounds` seeded shuffles of the labels (same sizes). */
double dd_cluster_purity(const int32_t *labels, const int64_t *codes, size_t n, int k, int rounds, uint64_t seed,
                         double *random, dd_error *err);

/* Picks the drawings of o->set from ds, renders them at m's input size as training does, predicts them with m and
 * clusters them. Writes into out_dir (created if missing): summary.json always; unless the set is empty also
 * labels.csv (dataset index, key_id, true, predicted, kmeans, dbscan), composition.csv (method, cluster, true,
 * predicted, count), kmeans-<c>.png and dbscan-<c>.png / dbscan-noise.png montages of the drawings,
 * scatter-kmeans.png and scatter-dbscan.png (the first two PCA scores coloured by cluster), tsne.png (the drawings
 * on the t-SNE map, framed in their K-Means cluster's colour), units.csv and units-kmeans-<c>.png (the units that
 * set each cluster apart). Fails with a clear
 * message when the model does not fit the data (input size, classes), a named class is unknown, or an explicit
 * k is larger than the set. Free the report with dd_cluster_report_free. */
int dd_explain_clusters(const dd_model *m, const dd_dataset *ds, const dd_cluster_opts *o, const char *out_dir,
                        dd_cluster_report *report, dd_error *err);
void dd_cluster_report_free(dd_cluster_report *r);

/* A second model on the same drawings (the misclassified set only): its mistakes clustered with the same options
 * into out_dir/compare/ (rb; its own default layer), then per K-Means cluster of the first model (ra) how many of
 * its drawings the second gets right ("removed"), and per cluster of the second how many the first got right
 * ("new"). Drawings are matched by record number. Writes out_dir/compare.csv (model,method,cluster,size,change,
 * changed,share,top_true,top_predicted), compare-removed.png and compare-new.png. The models must have the same
 * classes in the same order. Free rb with dd_cluster_report_free and cmp with dd_cluster_compare_free. */
typedef struct dd_cluster_compare {
    size_t wrong_a, wrong_b; /* mistakes of each model */
    size_t fixed, broken;    /* wrong under the first and right under the second; the other way round */
    int *removed;            /* [ra->k] per cluster of the first model: drawings the second gets right */
    int *added;              /* [rb->k] per cluster of the second model: drawings the first got right */
} dd_cluster_compare;
int dd_explain_clusters_compare(const dd_model *a, const dd_model *b, const dd_dataset *ds, const dd_cluster_opts *o,
                                const char *out_dir, const dd_cluster_report *ra, dd_cluster_report *rb,
                                dd_cluster_compare *cmp, dd_error *err);
void dd_cluster_compare_free(dd_cluster_compare *c);

/* ---- the names of an explain clusters run (for doodle explain clusters and the report;
 * the names themselves are kept in labels.json: doodle/labels.h) ---- */

typedef struct dd_cluster_names {
    char **kmeans; /* [k]: the name shown for K-Means cluster c, or NULL */
    char **dbscan; /* [dbscan_clusters]: the same for DBSCAN (noise has none) */
    int k, dbscan_clusters;
} dd_cluster_names;

/* RUNDIR/labels.json for a model RUNDIR/model.safetensors (the folder of model_path). */
void dd_labels_path_beside(const char *model_path, char *out, size_t size);
/* The names labels_path gives the clusters of r (drawings of ds, classes of m), by the re-clustering rule of
 * doodle/labels.h (dd_labels_name_clusters). A missing file gives no names and returns 0; a bad one returns -1 with
 * err naming the file and the field. Free with dd_cluster_names_free (also after a failure). */
int dd_cluster_names_load(const char *labels_path, const dd_model *m, const dd_dataset *ds,
                          const dd_cluster_report *r, dd_cluster_names *out, dd_error *err);
void dd_cluster_names_free(dd_cluster_names *n);

#ifdef __cplusplus
}
#endif
#endif
