/* The state of one doodle report being written (src/explain/report.c) and the pieces shared by its files:
 * report.c (page, data, model, training, pictures), report_eval.c (evaluation tables, confusion, the classes a
 * large run's pictures show). */
#ifndef DOODLE_EXPLAIN_REPORT_INTERNAL_H
#define DOODLE_EXPLAIN_REPORT_INTERNAL_H

#include <stdbool.h>
#include <stdio.h>

#include "doodle/explain.h"
#include "doodle/metrics.h"

/* Past this many classes the page shows a selection (the classes most involved in confusions) and puts the full
 * tables in collapsed <details>; at most this many, it shows everything. */
#define REPORT_MANY_CLASSES 40
#define REPORT_FOCUS_CLASSES 30  /* classes the pictures of a large run show */
#define REPORT_MATRIX_CLASSES 25 /* rows and columns of a large run's confusion table */

typedef struct report {
    const dd_report_opts *o;
    char data_path[4096];
    char dir[4096];  /* RUNDIR/explain */
    char link[4200]; /* how the page refers to RUNDIR/explain/: relative when the page is in RUNDIR */
    dd_model *m;
    dd_dataset *ds;
    const char **names;
    FILE *f;      /* the HTML being written */
    int has_test; /* ev holds the test evaluation */
    dd_eval_result ev;
    int many;   /* more than REPORT_MANY_CLASSES classes */
    int *focus; /* [n_focus] classes in the order the pictures show them */
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

/* ---- the run's settings (report_settings.c) ---- */

/* Rows of the settings table, the same rows in the same order for every run so that runs line up. */
typedef enum report_setting_key {
    SET_MODEL,
    SET_INPUT,
    SET_OPTIMIZER,
    SET_LR,
    SET_SCHEDULE,
    SET_WARMUP,
    SET_WEIGHT_DECAY,
    SET_BATCH,
    SET_EPOCHS,
    SET_PATIENCE,
    SET_STEPS,
    SET_AUGMENT,
    SET_VAL_FRAC,
    SET_SEED,
    SET_THREADS,
    SET_DATA,
    SET_DATA_HASH,
    SET_VERSION,
    SET_COUNT
} report_setting_key;

typedef struct report_settings {
    char value[SET_COUNT][320]; /* "" when the run does not store it (the row is then left out) */
    char data_path[4096];       /* the data set the run was trained on (RUNDIR/dataset.txt), "" when unknown */
    char data_hash[20];         /* its FNV-1a 64 in hex, "" when it cannot be read */
    char note[400];             /* why some settings are missing, or "" */
} report_settings;

/* The settings' names, as the table heads its rows. */
const char *report_setting_name(report_setting_key k);
/* Reads RUNDIR/checkpoint.safetensors' training options, RUNDIR/dataset.txt (and hashes that file), and the
 * model's name and input. A missing or unreadable checkpoint or data set is not an error: its rows say so. Fails
 * only when out of memory. version: doodle's (NULL: "not given"). */
int report_settings_read(const char *run_dir, const dd_model *m, const char *version, report_settings *s,
                         dd_error *err);
/* The settings as a two-column table (the rows a run does not store left out), with the note under it. */
void report_settings_table(FILE *f, const report_settings *s);

/* The model's name (the cfg's, else the built-in network whose cfg the file holds), or NULL (report.c). */
const char *report_model_name(const dd_model *m);
/* RUNDIR/test.json's accuracy, top-3 and chosen epoch, or false when there is none (report.c). */
bool report_read_test_json(const char *run_dir, double *acc, double *top3, int *epoch);
/* The page's style sheet (report.c), shared with the comparison page. */
const char *report_style(void);

/* The script that sorts every table.sortable by the column whose header is clicked (constant text, so a
 * Content-Security-Policy can allow it by its hash). */
extern const char REPORT_SORT_SCRIPT[];

#endif
