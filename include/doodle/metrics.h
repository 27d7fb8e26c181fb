/* Classification metrics, and evaluating a model on a dataset.
 *
 * dd_metrics accumulates predictions one at a time from a model's logits: the confusion matrix (row = true class,
 * column = predicted class), the summed cross-entropy loss and top-k hits. Everything else is derived from it:
 * accuracy (trace / total), per-class precision (diagonal / column sum), recall (diagonal / row sum) and F1 (their
 * harmonic mean), with scikit-learn's conventions: a ratio whose denominator is 0 is 0, F1 is 0 when precision and
 * recall are both 0, the macro average is the plain mean over classes and the weighted average weighs each class
 * by its support (true records).
 *
 * Ties: the predicted class is the first (lowest-index) largest logit; for top-k a class ranks behind every class
 * with a larger logit and behind every lower-index class with an equal one, so top-1 is exactly the accuracy.
 * The loss of one record is log-sum-exp(logits) - logit[label], in double precision, as training computes it.
 *
 * dd_eval_run runs a model over one split of a .dset and fills a dd_eval_result (metrics plus the misclassified
 * records). The model's classes and the dataset's are matched by name, so a dataset that lists the same classes
 * in another order is evaluated correctly; metrics are in the model's class order. The pixels are the ones
 * training sees: stroke records rendered with dd_render at the model's rendering settings (m->render, the input
 * size), bitmap records as stored (their size must be the model's input size), both scaled to 0..1. */
#ifndef DOODLE_METRICS_H
#define DOODLE_METRICS_H

#include <stdint.h>
#include <stdio.h>

#include "doodle/dataset.h"
#include "doodle/error.h"
#include "doodle/model.h"

#ifdef __cplusplus
extern "C" {
#endif

struct cJSON;

/* ---- metrics ---- */

typedef struct dd_metrics {
    int classes;
    int top_k; /* k of the top-k accuracy */
    uint64_t total, correct, topk_correct;
    double loss_sum;     /* sum of the records' cross-entropy losses */
    uint64_t *confusion; /* [classes * classes], row = true class, column = predicted */
} dd_metrics;

/* classes >= 1, top_k >= 1 (a top_k of at least classes makes every record a top-k hit). */
int dd_metrics_init(dd_metrics *m, int classes, int top_k, dd_error *err);
void dd_metrics_free(dd_metrics *m);

/* Adds one record from its logits [classes] and true label (0 <= label < classes). Returns the predicted class;
 * *confidence (if not NULL) gets its softmax probability. */
int dd_metrics_add(dd_metrics *m, int label, const float *logits, float *confidence);

/* 0 when no record was added. */
double dd_metrics_accuracy(const dd_metrics *m);
double dd_metrics_loss(const dd_metrics *m); /* mean */
double dd_metrics_topk(const dd_metrics *m);

typedef struct dd_class_metrics {
    double precision, recall, f1;
    uint64_t support;   /* records of this class: the row sum */
    uint64_t predicted; /* records predicted as this class: the column sum */
} dd_class_metrics;

dd_class_metrics dd_metrics_class(const dd_metrics *m, int c);
/* Means over classes of precision, recall and F1: plain (macro) and weighted by support; support and predicted
 * are the totals. */
dd_class_metrics dd_metrics_macro(const dd_metrics *m);
dd_class_metrics dd_metrics_weighted(const dd_metrics *m);

/* Human-readable tables; names[classes] are the class names. The confusion matrix's columns are headed by the
 * names cut to 10 characters. */
void dd_metrics_print_confusion(const dd_metrics *m, const char *const *names, FILE *out);
void dd_metrics_print_classes(const dd_metrics *m, const char *const *names, FILE *out);

/* confusion.csv, atomically: a header "true/predicted,<name>,…", then one row per true class "<name>,<count>,…". */
int dd_metrics_write_confusion_csv(const dd_metrics *m, const char *const *names, const char *path, dd_error *err);

/* A JSON object (cJSON; free with cJSON_Delete) with the keys records, correct, accuracy, loss, top<k> (top3),
 * classes (names), confusion (array of rows), per_class (array of {class, precision, recall, f1, support,
 * predicted}), macro_avg and weighted_avg ({precision, recall, f1}). NULL when out of memory. */
struct cJSON *dd_metrics_json(const dd_metrics *m, const char *const *names, dd_error *err);

/* Writes text (e.g. a CSV field) quoted as RFC 4180 wants when it holds a comma, quote or line break. */
void dd_csv_field(FILE *f, const char *text);

/* ---- evaluating a model on a dataset ---- */

/* map[dataset label] = the model's class of the same name, for every label. Fails (DD_ERR_UNSUPPORTED) when the
 * class counts differ or a class of one is missing from the other; the message names the classes. */
int dd_eval_class_map(const dd_model *m, const dd_dataset *ds, int *map, dd_error *err);

/* Fails (DD_ERR_UNSUPPORTED) unless the dataset's records can be fed to the model: one input channel, and for a
 * bitmap set a bitmap size equal to the model's input size. */
int dd_eval_check_input(const dd_model *m, const dd_dataset *ds, dd_error *err);

typedef struct dd_eval_miss {
    uint64_t index; /* record number in the dataset */
    uint64_t key_id;
    int true_class; /* model class indices */
    int predicted;
    float confidence; /* softmax probability of the predicted class */
} dd_eval_miss;

typedef struct dd_eval_result {
    dd_metrics metrics;   /* in the model's class order, top-3 */
    dd_eval_miss *misses; /* misclassified records in dataset order */
    size_t n_misses;
} dd_eval_result;

/* Runs m over the records of split (DD_SPLIT_TRAIN, DD_SPLIT_TEST, or -1 for all) in batches of at most batch.
 * Fails when the classes or the input do not fit (see above), the split has no records, or a record cannot be
 * read. On success free out with dd_eval_result_free; on failure there is nothing to free. */
int dd_eval_run(const dd_model *m, const dd_dataset *ds, int split, int batch, dd_eval_result *out, dd_error *err);
void dd_eval_result_free(dd_eval_result *r);

#ifdef __cplusplus
}
#endif
#endif
