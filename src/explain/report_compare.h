/* The state of one comparison page being written (dd_report_compare, src/explain/report_compare.c) and the pieces
 * shared by its files: report_compare.c (loading, checks, settings, curves, test figures),
 * report_compare_classes.c (accuracy per class, the confusion pairs that changed) and report_compare_drawings.c
 * (the drawings one run gets right and the other wrong). Class indices are the first run's throughout. */
#ifndef DOODLE_EXPLAIN_REPORT_COMPARE_H
#define DOODLE_EXPLAIN_REPORT_COMPARE_H

#include <stdbool.h>
#include <stdio.h>

#include "doodle/explain.h"
#include "doodle/metrics.h"
#include "explain/report_internal.h"
#include "viz/report_html.h"

#define COMPARE_TOP_PAIRS 30 /* confusion pairs shown per comparison */

typedef struct compare_run {
    const char *dir;
    char label[2]; /* "A", "B", … */
    const char *colour;
    dd_model *m;
    report_settings settings;
    report_epoch *history; /* history.csv */
    size_t n_history;
    bool chose_on_test; /* an old run whose second series is the test split's */
    bool has_test_json;
    double test_acc, test_top3;
    int test_epoch;
    bool has_ev;
    dd_eval_result ev;   /* on the compared test split, in the run's own class order */
    int *to_base;        /* [k] the run's class -> the first run's class of the same name */
    uint64_t *confusion; /* [k * k] ev's confusion matrix in the first run's class order */
} compare_run;

typedef struct compare {
    const dd_compare_opts *o;
    compare_run *run; /* [n]; run[0] is the baseline */
    int n;
    char data_path[4096]; /* the data set every model is evaluated on */
    dd_dataset *ds;
    const char **names; /* [k] the first run's class names */
    int k;
    bool many; /* more than REPORT_MANY_CLASSES classes: top changes only, the rest collapsed */
    FILE *f;
} compare;

/* Correct test drawings of class c (first run's order) for run r, and the class's test drawings. */
uint64_t compare_correct(const compare *c, int r, int cls);
uint64_t compare_support(const compare *c, int cls);

/* "Accuracy per class": every run's accuracy side by side and each run's change from the first, the largest change
 * first (past 40 classes the REPORT_FOCUS_CLASSES largest, every class in a closed <details>); then for every run
 * after the first, the confusion pairs whose counts changed most. */
int compare_classes_section(compare *c, dd_error *err);
/* For every run after the first: how many test drawings both get right, one and not the other, neither; and
 * pictures of up to 40 drawings each way, grouped by true class, with the wrong run's prediction under each. */
int compare_drawings_section(compare *c, dd_error *err);

#endif
