/* Pieces of self-contained HTML pages (the report of src/explain/report.c, doodle tune's summary page):
 * escaping, inline PNG pictures as data: URIs, inline SVG plots of the training history, the confusion heat map. */
#ifndef DOODLE_VIZ_REPORT_HTML_H
#define DOODLE_VIZ_REPORT_HTML_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>

#include "doodle/error.h"

/* text with &, <, >, " escaped. */
void html_text(FILE *f, const char *text);
/* <img> with the PNG bytes inline (base64). */
void html_png(FILE *f, const unsigned char *png, size_t size, const char *alt);
/* <img> of a PNG file, inline; fails when the file cannot be read or is not a PNG. */
int html_png_file(FILE *f, const char *path, const char *alt, dd_error *err);

/* Like html_png_file, but a picture taller than max_height pixels (> 0) is cut at the last blank row above it:
 * *cut gets the height kept, or 0 when the picture is whole. */
int html_png_file_cut(FILE *f, const char *path, const char *alt, int max_height, int *cut, dd_error *err);

/* One row of history.csv. */
typedef struct report_epoch {
    int epoch;
    double train_loss, train_acc, val_loss, val_acc, val_top3, lr, seconds; /* nan: not there */
} report_epoch;
/* Reads RUNDIR/history.csv, the one reader of it (the report, doodle tune's page and a resumed run's
 * train/history.c): *rows (free it), *n (0 for a header only). A missing file gives *n = 0 and no error; a
 * malformed one (anything but the numbers on a row) is an error naming the file and line. *chose_on_test: the history
 * of a run from before the validation split, whose second series is the test split's (it chose its best epoch on it).
 */
int report_read_history(const char *path, report_epoch **rows, size_t *n, bool *chose_on_test, dd_error *err);
/* An SVG line plot over the epochs: which = 0 loss, 1 accuracy (train and the second series, named second),
 * 2 the learning rate. */
void svg_history_plot(FILE *f, const report_epoch *rows, size_t n, int which, const char *second);

/* The curves of several runs overlaid: which = 0 loss, 1 accuracy (each run's validation series solid, train
 * dashed), 2 the learning rate; run i drawn in colour[i] and named label[i] in the legend. */
void svg_runs_plot(FILE *f, const report_epoch *const *rows, const size_t *n, int runs, const char *const *label,
                   const char *const *colour, int which);

/* The confusion matrix [classes * classes] as an HTML table shaded by the row share of each cell (row = true
 * class): every class (which NULL), or the classes which[n] in that order plus a column "other classes" for the
 * rest of each row (and zeros left blank, to be read at a glance). */
void html_confusion(FILE *f, const uint64_t *confusion, int classes, const char *const *names, const int *which, int n);

#endif
