/* Explaining a trained model: what its layers see (activations), which pixels a decision rests on (saliency,
 * occlusion, Grad-CAM), and pictures of them for people to look at (drawn with doodle/picture.h).
 *
 *     dd_explainer *e = dd_explainer_new(model, &err);
 *     float heat[28 * 28];
 *     dd_explain_saliency(e, x, cls, heat, &err);          (x: one image, [C * H * W], pixels 0..1)
 *     dd_explain_gradcam(e, x, cls, -1, heat, &err);       (-1: the default layer, the last conv block)
 *     dd_explain_occlusion(e, x, cls, 0, 0, heat, &err);   (0, 0: default patch and stride)
 *     uint8_t rgb[28 * 28 * 3];
 *     dd_tile_heat(ink, 28, 28, heat, rgb);                (the heat map laid over the drawing)
 *     dd_explainer_free(e);
 *
 * Every map is [H * W] at the model's input size, scaled to 0..1 (its maximum is 1 unless it is all zero), so maps
 * of different drawings and methods are drawn on one scale:
 *   saliency   |d score / d pixel|, the score being the class's logit (Simonyan et al. 2014);
 *   occlusion  max(0, p(class | drawing) - p(class | drawing with a patch blanked)), averaged over the patches
 *              that cover a pixel (Zeiler & Fergus 2014); the occluded drawings go through the model in batches;
 *   Grad-CAM   ReLU(sum over channels of (spatial mean of d score / d map) * map) at a conv layer, upsampled
 *              bilinearly to the input (Selvaraju et al. 2017).
 * An explainer holds workspaces for one model; use one per thread. */
#ifndef DOODLE_EXPLAIN_H
#define DOODLE_EXPLAIN_H

#include <stddef.h>
#include <stdint.h>

#include "doodle/dataset.h"
#include "doodle/error.h"
#include "doodle/model.h"
#include "doodle/picture.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- drawings as the model sees them ---- */

/* Images made from .dset records exactly as training and dd_eval_run make them: stroke records rendered at the
 * model's rendering settings, bitmap records as stored. */
typedef struct dd_image_set {
    size_t n;
    int height, width; /* the model's input size */
    uint8_t *pixels;   /* [n * height * width], 0 = background, 255 = ink */
    uint64_t *record;  /* [n] record number in the dataset */
    int *label;        /* [n] the record's class as the model's class index */
} dd_image_set;

/* Loads the given records (any order; NULL with n = 0 gives an empty set). Fails with a clear message when the
 * model and the data do not fit (classes by name, input size; include/doodle/metrics.h) or a record is bad. */
int dd_image_set_load(const dd_model *m, const dd_dataset *ds, const uint64_t *records, size_t n, dd_image_set *out,
                      dd_error *err);
void dd_image_set_free(dd_image_set *s);
/* Image i as the model's input, pixels / 255, into x [height * width]. */
void dd_image_set_input(const dd_image_set *s, size_t i, float *x);

/* The first per_class records of each class in split (-1: all), class by class in the model's class order;
 * *records is allocated (free it). */
int dd_explain_records_per_class(const dd_model *m, const dd_dataset *ds, int split, int per_class, uint64_t **records,
                                 size_t *n, dd_error *err);

/* Softmax probabilities of every image: probs [s->n * classes], batches of 64 through dd_model_infer. */
int dd_explain_probabilities(const dd_model *m, const dd_image_set *s, float *probs, dd_error *err);

/* ---- layers ---- */

/* A layer given by index (0-based, as `doodle summary` lists them) or by name. Fails (DD_ERR_USAGE) with a message
 * that gives the valid range and every layer's name. */
int dd_explain_find_layer(const dd_model *m, const char *text, int *layer, dd_error *err);
/* The default Grad-CAM layer: the last conv2d, or the batchnorm/activation right after it (the rectified map);
 * -1 when the model has no conv layer. */
int dd_explain_gradcam_layer(const dd_model *m);

/* The layers worth showing by default: every rectified feature map (an activation layer with ReLU, or a conv with
 * ReLU). layers gets at most max of them; returns how many. */
int dd_explain_default_layers(const dd_model *m, int *layers, int max);

/* ---- attributions and activations of one image ---- */

typedef struct dd_explainer dd_explainer;

dd_explainer *dd_explainer_new(const dd_model *m, dd_error *err);
void dd_explainer_free(dd_explainer *e);

/* x: one image [C * H * W], 0..1; cls: a model class; map: [H * W], 0..1. */
int dd_explain_saliency(dd_explainer *e, const float *x, int cls, float *map, dd_error *err);
/* layer -1: dd_explain_gradcam_layer. The layer must have a spatial (C, H, W) output. */
int dd_explain_gradcam(dd_explainer *e, const float *x, int cls, int layer, float *map, dd_error *err);
/* patch, stride in input pixels (0: a quarter of the smaller side, and half the patch); the patch is set to 0
 * (background). */
int dd_explain_occlusion(dd_explainer *e, const float *x, int cls, int patch, int stride, float *map, dd_error *err);

/* Layer `layer`'s output for one image (after its activation), as inference computes it: the returned pointer
 * (count of the layer's output shape floats, NCHW) stays valid until the explainer's next call; *shape gets the
 * layer's output shape. NULL on failure. */
const float *dd_explain_activations(dd_explainer *e, const float *x, int layer, dd_shape *shape, dd_error *err);
/* The class probabilities of the image the explainer ran last ([classes], valid until its next call). */
const float *dd_explainer_probs(const dd_explainer *e);

/* ---- pictures and tables of a model on a dataset, written into a directory ----
 * Each function creates out_dir when missing and writes its files atomically. A set with nothing to show (no
 * misclassified drawing, no duplicate, …) writes its CSV with the header only and no picture. File names use the
 * class names with every character other than a letter, digit, '-' or '_' replaced by '-'. */

/* A file name made from a class name, as above, into buf. */
void dd_explain_file_name(const char *prefix, const char *name, const char *suffix, char *buf, size_t size);

/* "Misclassified as X": for every predicted class X (or only as_class >= 0), one picture of all test drawings
 * predicted as X that are of another class, grouped by their true class ("cat as airplane (12)"), with the
 * probability of X under each, most confident first; at most max_per_group drawings per group (0: 240).
 * Writes misclassified-as-<X>.png and misclassified-as.csv (predicted,true,count). */
typedef struct dd_misclassified_report {
    int classes;
    size_t n_test, n_wrong;
    uint64_t *confusion;  /* [classes * classes], row = true class, column = predicted, all test drawings */
    char (*picture)[128]; /* [classes] file name of the picture of "misclassified as" the class, "" when none */
} dd_misclassified_report;
int dd_explain_misclassified(const dd_model *m, const dd_dataset *ds, int as_class, int max_per_group,
                             const char *out_dir, dd_misclassified_report *r, dd_error *err);
void dd_misclassified_report_free(dd_misclassified_report *r);

/* Feature maps of image i of s after each of layers[n_layers] as one picture: a row group per layer headed
 * "<index> <name> (HxWxC)", every channel a tile at the input size, one colour scale per layer (0 to the layer's
 * largest value for this drawing); a flat layer shows its units as a square of cells. */
dd_picture *dd_explain_activation_picture(dd_explainer *e, const dd_model *m, const dd_image_set *s, size_t i,
                                          const int *layers, int n_layers, dd_error *err);

/* Per unit (channel or dense unit) of layer, the top drawings of s by the unit's mean activation: one picture,
 * a row per unit (units 0..max_units-1; 0: all), top drawings with the unit's map laid over them as heat.
 * Also writes nothing; the caller saves the picture. */
dd_picture *dd_explain_top_units_picture(dd_explainer *e, const dd_model *m, const dd_image_set *s, int layer, int top,
                                         int max_units, dd_error *err);

/* Saliency, occlusion and Grad-CAM of the images `which[n]` of s for their predicted class (or for class cls >= 0)
 * as one picture: a row per drawing, columns drawing / saliency / occlusion / Grad-CAM. */
dd_picture *dd_explain_attribution_picture(dd_explainer *e, const dd_model *m, const dd_image_set *s,
                                           const size_t *which, size_t n, int cls, int gradcam_layer, dd_error *err);

/* Data quality ("is the data good?") over one split (or all) of a dataset:
 *   contradicted   drawings whose label the model contradicts with p(another class) >= threshold;
 *   not recognized drawings Google's game did not recognise (the .dset keeps the flag for ndjson and .bin sources;
 *                  .npy bitmaps carry none, counted as unknown);
 *   exact          groups of drawings with identical pixels at the model's input (identical strokes included);
 *   near           groups of different drawings that look alike: candidates share one of four 16-bit bands of an
 *                  8x8 average hash (so any two hashes within Hamming distance 3 meet, with no all-pairs scan),
 *                  confirmed by a Hamming distance <= 3 and a relative L1 distance of 14x14 downsamples (sum |a - b|
 *                  over the larger ink sum) <= near_tolerance.
 * Writes contradicted.csv, not-recognized.csv, duplicates.csv and the pictures contradicted.png,
 * not-recognized.png, duplicates-exact.png and duplicates-near.png (each only when it has something to show). */
typedef struct dd_quality_opts {
    int split;             /* DD_SPLIT_TRAIN, DD_SPLIT_TEST or -1 for all (default) */
    double threshold;      /* 0.9 */
    double near_tolerance; /* 0.12 (0.2 also pairs circles and squares drawn alike by different people) */
    int max_shown;         /* drawings per group in the pictures (24), groups per duplicate picture (40) */
} dd_quality_opts;
dd_quality_opts dd_quality_opts_default(void);

typedef struct dd_quality_report {
    size_t n; /* drawings checked */
    size_t contradicted;
    size_t not_recognized, recognized_unknown;               /* unknown: the source had no flag */
    size_t exact_groups, exact_drawings, exact_across_split; /* across: groups with train and test members */
    size_t near_groups, near_drawings, near_across_split;
    char contradicted_png[32], not_recognized_png[32], exact_png[32], near_png[32]; /* "" when not written */
} dd_quality_report;
int dd_explain_quality(const dd_model *m, const dd_dataset *ds, const dd_quality_opts *o, const char *out_dir,
                       dd_quality_report *r, dd_error *err);

/* ---- the report ---- */

/* One self-contained HTML file about a training run (every picture inline as a data: URI, one inline script that
 * sorts tables, nothing fetched): the data (class counts, a gallery), the model summary, the training curves from
 * RUNDIR/history.csv, the test evaluation (confusion heat map, the most confused pairs, per-class metrics worst
 * first), "misclassified as" galleries, clusters of the misclassified drawings, activations and saliency, and
 * suspect data. Past 40 classes the pictures and the confusion table show the classes most involved in
 * confusions, the full tables are collapsed and the whole confusion matrix is RUNDIR/explain/confusion.csv. The
 * pictures are also kept in RUNDIR/explain/. */
typedef struct dd_report_opts {
    const char *run_dir;   /* holds model.safetensors and history.csv (doodle train) */
    const char *data_path; /* NULL: the dataset RUNDIR/dataset.txt names (doodle train writes it) */
    const char *out_path;  /* NULL: RUNDIR/report.html */
    int per_class;         /* drawings per class in the saliency picture (0: 2, or 1 past 40 classes) */
    FILE *log;             /* a line per step, or NULL */
    const char *version;   /* doodle's version, for the settings table (NULL: "not given") */
} dd_report_opts;
int dd_report_write(const dd_report_opts *o, dd_error *err);

/* Runs compared on one self-contained page: the settings that differ (highlighted) and those shared, the curves of
 * every run overlaid, test accuracy and top-3 (test.json, and every model on the same test split), accuracy per
 * class side by side sorted by the largest change, the confusion pairs that changed most, and the test drawings
 * one run gets right and the other wrong (a sample of up to 40 each way, grouped by true class). The first run is
 * the baseline: every other run is compared with it. The runs must have the same classes (by name, any order:
 * otherwise DD_ERR_UNSUPPORTED naming both runs); they are all evaluated on the test split of data_path, or of the
 * first run's data set. Past 40 classes the tables show the largest changes and collapse the rest. */
#define DD_COMPARE_MAX_RUNS 8
typedef struct dd_compare_opts {
    const char *const *run_dirs; /* [n_runs], 2..DD_COMPARE_MAX_RUNS run folders (doodle train) */
    int n_runs;
    const char *data_path; /* NULL: the first run's data set (its dataset.txt) */
    const char *out_path;  /* the page (written atomically) */
    const char *version;   /* doodle's version, for the settings (NULL: "not given") */
    FILE *log;             /* a line per step, or NULL */
} dd_compare_opts;
int dd_report_compare(const dd_compare_opts *o, dd_error *err);

#ifdef __cplusplus
}
#endif
#endif
