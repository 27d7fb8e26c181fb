/* The state of one doodle report being written (src/explain/report.c) and the pieces shared by its files:
 * report.c (page, data, model, training, pictures), report_eval.c (evaluation tables, confusion, the classes a
 * large run's pictures show). */
#ifndef DOODLE_EXPLAIN_REPORT_INTERNAL_H
#define DOODLE_EXPLAIN_REPORT_INTERNAL_H

#include <stdio.h>

#include "doodle/explain.h"
#include "doodle/metrics.h"

/* Past this many classes the page shows a selection (the classes most involved in confusions) and puts the full
 * tables in collapsed <details>; at most this many, it shows everything. */
#define REPORT_MANY_CLASSES 40
#define REPORT_FOCUS_CLASSES 30 /* classes the pictures of a large run show */
#define REPORT_MATRIX_CLASSES 25 /* rows and columns of a large run's confusion table */

typedef struct report {
    const dd_report_opts *o;
    char data_path[4096];
    char dir[4096];     /* RUNDIR/explain */
    char link[4200];    /* how the page refers to RUNDIR/explain/: relative when the page is in RUNDIR */
    dd_model *m;
    dd_dataset *ds;
    const char **names;
    FILE *f;            /* the HTML being written */
    int has_test;       /* ev holds the test evaluation */
    dd_eval_result ev;
    int many;           /* more than REPORT_MANY_CLASSES classes */
    int *focus;         /* [n_focus] classes in the order the pictures show them */
    int n_focus;
} report;

void report_section(FILE *f, const char *id, const char *title);
/* Inlines DIR[/sub]/name with a caption; in a large run a picture taller than max_height pixels (0: no limit)
 * is cut at a blank row and the caption says where the whole one is. */
int report_figure(report *r, const char *sub, const char *name, const char *caption, int max_height, dd_error *err);

/* Runs the test evaluation into r->ev (r->has_test = 0 when the data has no test split) and chooses r->focus:
 * every class in class order, or in a large run the REPORT_FOCUS_CLASSES classes with the most errors counted
 * both ways (drawings of the class taken for another, drawings of another taken for it). */
int report_evaluate(report *r, dd_error *err);
/* The evaluation section: accuracy, the confusion matrix (a table; in a large run the most confused classes, the
 * whole matrix as explain/confusion.csv), the most confused pairs and the per-class metrics, worst first. */
int report_evaluation_section(report *r, dd_error *err);
/* "Misclassified as X" for the focus classes of a large run: a few groups each, made from r->ev's misses. */
int report_misclassified_focus(report *r, dd_error *err);

/* The script that sorts every table.sortable by the column whose header is clicked (constant text, so a
 * Content-Security-Policy can allow it by its hash). */
extern const char REPORT_SORT_SCRIPT[];

#endif
