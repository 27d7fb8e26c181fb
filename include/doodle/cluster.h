/* Clustering drawings, as the study did with its misclassified test images: pixels -> drop the all-zero columns ->
 * PCA -> K-Means and DBSCAN -> silhouettes, montages and composition tables.
 *
 * The numerics (PCA, K-Means, DBSCAN, silhouettes, t-SNE) are in doodle/numerics.h; this header runs them on
 * drawings chosen through a model.
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
#include "doodle/numerics.h"
#include "doodle/rng.h"

#ifdef __cplusplus
extern "C" {
#endif

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
    int layer;       /* embedding (and the units of dd_cluster_units): -1 = dd_cluster_default_layer */
    int standardize; /* 1: every column scaled to unit variance before PCA */
    char set_class[64];
    int components;            /* 0 = by variance_threshold */
    double variance_threshold; /* used when components == 0 */
    int k;                     /* 0 = chosen by silhouette in k_min..k_max */
    int k_min, k_max;
    int restarts, max_iter;
    double eps; /* 0 = from the k-distance knee */
    int min_samples;
    uint64_t seed;
    int montage_max;     /* drawings shown per cluster montage */
    size_t max_drawings; /* a larger set is sampled down to this many (seeded); 0 = no limit */
    size_t stream_above; /* a split larger than this, for a set chosen by the model's answers (misclassified,
                            predicted=), is scored in chunks first, so that memory is bounded by max_drawings,
                            not by the split; --top-units then ranks units among the chosen drawings only.
                            0 = 65,536 */
    size_t tsne_max;     /* t-SNE map of at most this many drawings (a seeded sample); 0 = no map */
    double perplexity;   /* of the t-SNE map (lowered for fewer than 3 x perplexity + 1 drawings) */
    int top_units;       /* units listed per cluster (dd_cluster_units); 0 = none */
    int save_points;     /* 1: also write points.csv, the PCA scores clustered (one drawing a line) */
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
    double silhouette;      /* NaN for DBSCAN's noise */
    dd_cluster_pair *pairs; /* composition, most frequent first */
    int n_pairs;
    char montage[64]; /* file name inside the output directory */
} dd_cluster_info;

typedef struct dd_cluster_report {
    size_t n;      /* drawings clustered; 0 = the set is empty and nothing else was written */
    size_t pixels; /* per drawing before dropping */
    size_t kept_columns;
    int components;
    double explained_variance; /* sum of the ratios of the kept components */
    double *variance_ratio;    /* [components] */
    int k;                     /* K-Means clusters (chosen or given) */
    int k_tried_min, k_tried_max;
    double *k_silhouettes; /* [k_tried_max - k_tried_min + 1] mean silhouette of each k tried */
    double kmeans_inertia;
    double kmeans_silhouette;
    dd_cluster_info *kmeans; /* [k] */
    double eps;
    int eps_from_knee;
    int min_samples;
    int dbscan_clusters;
    int dbscan_noise;
    double dbscan_silhouette; /* NaN with fewer than 2 clusters */
    dd_cluster_info *dbscan;  /* [dbscan_clusters + 1]: the clusters, then the noise */
    uint64_t *index;          /* [n] dataset record numbers */
    int32_t *true_class, *predicted, *kmeans_label, *dbscan_label; /* [n] */
    float *pc1, *pc2;                                         /* [n] first two PCA scores (pc2 0 with one component) */
    float *kmeans_point_silhouette, *dbscan_point_silhouette; /* [n] per drawing (NaN for noise) */
    double seconds_pca, seconds_kmeans, seconds_dbscan, seconds_silhouette; /* wall-clock time of each step */
    float *scores; /* [n, components] the PCA scores clustered */
    /* t-SNE of the PCA scores (tsne_n > 0: drawings mapped; the others have NaN coordinates) */
    size_t tsne_n;
    float *tsne1, *tsne2; /* [n] */
    dd_tsne_result tsne;
    double tsne_perplexity;      /* used: o->perplexity, lowered to a third of the other points for a small set */
    double tsne_trustworthiness; /* 5 neighbours, in PCA space */
    double seconds_tsne;
    /* set by dd_explain_clusters */
    dd_cluster_space space;
    int layer; /* the embedding's layer (or the units' layer), -1 when none */
    char layer_name[64];
    int standardized;
    double seconds_embedding; /* the model's pass for the activations */
    /* purity in (true, predicted) pairs: share of each cluster's members in its most frequent pair, averaged
     * weighted by size; *_random: the same for random labellings with the same cluster sizes (mean of 200) */
    double kmeans_purity, kmeans_purity_random;
    double dbscan_purity, dbscan_purity_random; /* over the non-noise drawings; NaN without a cluster */
    struct dd_cluster_units *units;             /* [k] per K-Means cluster, NULL when not computed */
} dd_cluster_report;

/* Per K-Means cluster, the units of the layer that separate its members most from the correctly classified
 * drawings of the same true class: for member i of true class t and unit u, the residual a_iu - mean_tu (mean_tu
 * over the right drawings of t); a unit's score is Cohen's d, the mean residual over the pooled sd
 * sqrt((mean of sd_t^2 + variance of the residuals) / 2), sd_t floored at 5% of the unit's sd over all drawings. */
typedef struct dd_cluster_units {
    int n;         /* units listed (<= top_units), highest |score| first */
    int *unit;     /* [n] unit index in the layer */
    double *score; /* [n] Cohen's d: > 0 the unit fires more on the cluster than on right drawings */
    double *mean_cluster, *mean_correct; /* [n] mean activation on the members / on the correct drawings */
    int compared;                        /* members with correct drawings of their class to compare with */
    char picture[64];                    /* units-kmeans-<c>.png: per unit the test drawings that excite it most */
} dd_cluster_units;

/* The numeric part of the pipeline on a matrix X [n, d] of pixels (overwritten: its all-zero columns are dropped
 * in place): fills the fields of report above that do not need a model or a dataset (n, pixels, kept_columns, PCA,
 * K-Means and DBSCAN results with their sizes and silhouettes, pc1/pc2, times); index, true_class, predicted and
 * the clusters' pairs and montage names are left empty. Past 5,000 rows, silhouettes are estimated against a
 * seeded sample of 5,000 reference rows. Used by dd_explain_clusters and bench/bench_cluster.c.
 * Fails with a clear message for fewer than 2 rows, an explicit k larger than n, or blank rows only. */
int dd_cluster_matrix(float *X, size_t n, size_t d, const dd_cluster_opts *o, dd_cluster_report *report, dd_error *err);

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
int dd_cluster_names_load(const char *labels_path, const dd_model *m, const dd_dataset *ds, const dd_cluster_report *r,
                          dd_cluster_names *out, dd_error *err);
void dd_cluster_names_free(dd_cluster_names *n);

#ifdef __cplusplus
}
#endif
#endif
