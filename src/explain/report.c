/* doodle report: one self-contained HTML page about a training run (include/doodle/explain.h). Each section is made
 * by the same library code as the explain verbs; the pictures land in RUNDIR/explain/ and are inlined as data:
 * URIs, so the page opens anywhere without a network or the run folder. */
#define _POSIX_C_SOURCE 200809L /* open_memstream, realpath */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "doodle/cluster.h"
#include "doodle/explain.h"
#include "doodle/metrics.h"
#include "explain/explain_util.h"
#include "explain/report_html.h"
#include "util/alloc.h"
#include "util/atomic_file.h"

#define GALLERY_COLS 10
#define MAX_ACTIVATION_CLASSES 20
#define TOP_UNITS 16
#define TOP_DRAWINGS 8
#define TOP_UNIT_SET 2000
#define SUSPECT_ROWS 15
#define MAX_SALIENCY_DRAWINGS 60
#define MAX_GALLERY_CLASSES 200
#define MAX_TABLE_CLASSES 40 /* more: the confusion matrix as a picture */

typedef struct report {
    const dd_report_opts *o;
    char data_path[PATH_MAX];
    char dir[4096]; /* RUNDIR/explain */
    dd_model *m;
    dd_dataset *ds;
    const char **names;
    FILE *f; /* the HTML being written */
} report;

static void say(const report *r, const char *what) {
    if (r->o->log) {
        fprintf(r->o->log, "report: %s\n", what);
        fflush(r->o->log);
    }
}

/* Which dataset: --data, else the path RUNDIR/dataset.txt holds. */
static int find_data(report *r, dd_error *err) {
    if (r->o->data_path) {
        snprintf(r->data_path, sizeof r->data_path, "%s", r->o->data_path);
        return 0;
    }
    char path[4200];
    snprintf(path, sizeof path, "%s/dataset.txt", r->o->run_dir);
    FILE *f = fopen(path, "r");
    if (!f)
        return dd_fail(err, DD_ERR_USAGE, "%s: %s: the run folder does not say which dataset it was trained on; give "
                       "--data D.dset", path, strerror(errno));
    int ok = fgets(r->data_path, sizeof r->data_path, f) != NULL;
    fclose(f);
    r->data_path[strcspn(r->data_path, "\r\n")] = '\0';
    if (!ok || !r->data_path[0]) return dd_fail(err, DD_ERR_MALFORMED, "%s: empty; give --data D.dset", path);
    return 0;
}

static void section(FILE *f, const char *id, const char *title) {
    fprintf(f, "<section id=\"%s\"><h2>", id);
    html_text(f, title);
    fputs("</h2>\n", f);
}

/* Inlines DIR/name with a caption; a missing picture is an error (every picture the report names was just made). */
static int figure(report *r, const char *sub, const char *name, const char *caption, dd_error *err) {
    char path[8400];
    snprintf(path, sizeof path, "%s%s%s/%s", r->dir, sub[0] ? "/" : "", sub, name);
    fputs("<figure>", r->f);
    if (html_png_file(r->f, path, caption, err)) return -1;
    fputs("<figcaption>", r->f);
    html_text(r->f, caption);
    fputs("</figcaption></figure>\n", r->f);
    return 0;
}

static int picture_figure(report *r, dd_picture *p, const char *name, const char *caption, dd_error *err) {
    char path[8400];
    snprintf(path, sizeof path, "%s/%s", r->dir, name);
    if (!p || dd_picture_write_png(p, path, err)) return -1;
    return figure(r, "", name, caption, err);
}

static const char *STYLE =
    "body{font-family:sans-serif;margin:0 auto;max-width:1280px;padding:0 24px 48px;color:#222;line-height:1.45}"
    "h1{margin-top:24px}h2{border-bottom:2px solid #ddd;padding-bottom:4px;margin-top:40px}"
    "nav a{margin-right:14px}table{border-collapse:collapse;margin:8px 0}"
    "td,th{border:1px solid #ddd;padding:3px 8px;text-align:right}th{background:#f5f5f5}"
    "td:first-child,th:first-child{text-align:left}figure{margin:12px 0}figcaption{color:#555;font-size:90%}"
    "img{max-width:100%;height:auto;image-rendering:pixelated}pre{background:#f8f8f8;padding:12px;overflow-x:auto}"
    "table.confusion td{min-width:34px;text-align:center}th.rot{height:110px;vertical-align:bottom;padding:2px}"
    "th.rot div{writing-mode:vertical-rl;transform:rotate(180deg);white-space:nowrap}"
    ".note{color:#666}.plots{display:flex;flex-wrap:wrap;gap:24px}details{margin:8px 0}";

static void head(report *r) {
    FILE *f = r->f;
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
          "<link rel=\"icon\" href=\"data:,\"><title>doodle report: ", f);
    html_text(f, r->o->run_dir);
    fprintf(f, "</title><style>%s</style></head><body>\n<h1>doodle report</h1>\n<p>Run <code>", STYLE);
    html_text(f, r->o->run_dir);
    fputs("</code>: model <code>", f);
    html_text(f, r->m->spec->name);
    fputs("</code> on <code>", f);
    html_text(f, r->data_path);
    char when[64];
    time_t now = time(NULL);
    struct tm tm;
    strftime(when, sizeof when, "%Y-%m-%d %H:%M UTC", gmtime_r(&now, &tm));
    fprintf(f, "</code>; written %s.</p>\n", when);
    fputs("<nav><a href=\"#data\">Data</a><a href=\"#model\">Model</a><a href=\"#training\">Training</a>"
          "<a href=\"#evaluation\">Evaluation</a><a href=\"#misclassified\">Misclassified</a>"
          "<a href=\"#clusters\">Clusters</a><a href=\"#activations\">Activations</a>"
          "<a href=\"#saliency\">Saliency</a><a href=\"#suspect\">Suspect data</a></nav>\n", f);
}

static int data_section(report *r, dd_error *err) {
    FILE *f = r->f;
    const dd_dataset *ds = r->ds;
    section(f, "data", "The data");
    uint32_t h, w;
    dd_dataset_bitmap_size(ds, &h, &w);
    dd_dset_params p = dd_dataset_params(ds);
    fprintf(f, "<p>%llu %s", (unsigned long long)dd_dataset_count(ds),
            dd_dataset_kind(ds) == DD_DSET_STROKES ? "drawings as strokes" : "bitmaps");
    if (dd_dataset_kind(ds) == DD_DSET_BITMAPS) fprintf(f, " of %ux%u", h, w);
    fprintf(f, " in %u classes, split with seed %llu and test fraction %g; the model sees them at %dx%d.</p>\n",
            dd_dataset_class_count(ds), (unsigned long long)p.seed, p.test_frac, r->m->spec->input.h,
            r->m->spec->input.w);
    fputs("<table><tr><th>class</th><th>read</th><th>kept</th><th>train</th><th>test</th></tr>\n", f);
    dd_class_stats total = {0};
    for (uint32_t c = 0; c < dd_dataset_class_count(ds); c++) {
        dd_class_stats st;
        if (dd_dataset_class_stats(ds, c, &st)) continue;
        fputs("<tr><td>", f);
        html_text(f, dd_dataset_class_name(ds, c));
        fprintf(f, "</td><td>%llu</td><td>%llu</td><td>%llu</td><td>%llu</td></tr>\n", (unsigned long long)st.read,
                (unsigned long long)st.kept, (unsigned long long)st.train, (unsigned long long)st.test);
        total.read += st.read;
        total.kept += st.kept;
        total.train += st.train;
        total.test += st.test;
    }
    fprintf(f, "<tr><th>total</th><th>%llu</th><th>%llu</th><th>%llu</th><th>%llu</th></tr></table>\n",
            (unsigned long long)total.read, (unsigned long long)total.kept, (unsigned long long)total.train,
            (unsigned long long)total.test);

    /* the class gallery: the first training drawings of every class, as the model sees them */
    uint64_t *records = NULL;
    size_t n = 0;
    dd_image_set s = {0};
    dd_picture *pic = NULL;
    int rc = -1, classes = r->m->spec->classes;
    uint8_t *rgb = NULL;
    if (dd_explain_records_per_class(r->m, ds, -1, GALLERY_COLS, &records, &n, err) ||
        dd_image_set_load(r->m, ds, records, n, &s, err))
        goto done;
    if (n == 0) {
        fputs("<p class=\"note\">The data has no drawings.</p>\n", f);
        rc = 0;
        goto done;
    }
    if (classes > MAX_GALLERY_CLASSES) classes = MAX_GALLERY_CLASSES;
    dd_picture_opts o = {.rows = classes, .cols = GALLERY_COLS, .tile_height = s.height, .tile_width = s.width,
                         .scale = explain_tile_scale(s.height, s.width), .header_width = 130,
                         .title = "The classes: the first drawings of each class, as the model sees them"};
    size_t pixels = (size_t)s.height * s.width;
    if (!(rgb = dd_malloc(pixels, 3, err)) || !(pic = dd_picture_new(&o, err))) goto done;
    int col = 0, last = -1;
    for (size_t i = 0; i < s.n; i++) {
        if (s.label[i] >= classes) break;
        if (s.label[i] != last) {
            col = 0;
            last = s.label[i];
            if (dd_picture_row_header(pic, last, r->names[last], err)) goto done;
        }
        dd_tile_ink(s.pixels + i * pixels, s.height, s.width, rgb);
        if (col < GALLERY_COLS && dd_picture_put(pic, last, col++, rgb, NULL, err)) goto done;
    }
    rc = picture_figure(r, pic, "classes.png", "The classes", err);
done:
    dd_picture_free(pic);
    dd_image_set_free(&s);
    free(records);
    free(rgb);
    if (rc == 0) fputs("</section>\n", f);
    return rc;
}

static int model_section(report *r, dd_error *err) {
    section(r->f, "model", "The model");
    char *text = NULL;
    size_t size = 0;
    FILE *mem = open_memstream(&text, &size);
    if (!mem) return dd_fail(err, DD_ERR_NOMEM, "out of memory");
    dd_model_spec_summary(r->m->spec, mem);
    if (fclose(mem) != 0) {
        free(text);
        return dd_fail(err, DD_ERR_NOMEM, "out of memory");
    }
    fputs("<pre>", r->f);
    html_text(r->f, text);
    fputs("</pre>\n</section>\n", r->f);
    free(text);
    return 0;
}

static int training_section(report *r, dd_error *err) {
    FILE *f = r->f;
    section(f, "training", "Training");
    char path[4200];
    snprintf(path, sizeof path, "%s/history.csv", r->o->run_dir);
    report_epoch *rows;
    size_t n;
    if (report_read_history(path, &rows, &n, err)) return -1;
    if (n == 0) {
        fputs("<p class=\"note\">No history.csv in the run folder: no curves.</p></section>\n", f);
        return 0;
    }
    size_t best = 0;
    double seconds = 0;
    for (size_t i = 0; i < n; i++) {
        if (rows[i].test_acc > rows[best].test_acc) best = i;
        seconds += rows[i].seconds;
    }
    fprintf(f, "<p>%zu epoch%s in %.1f s; the best test accuracy, %.2f%%, after epoch %d (its weights are "
               "model.safetensors, evaluated below).</p>\n<div class=\"plots\">\n", n, n == 1 ? "" : "s", seconds,
            100 * rows[best].test_acc, rows[best].epoch);
    svg_history_plot(f, rows, n, 0);
    svg_history_plot(f, rows, n, 1);
    fputs("</div>\n<table><tr><th>epoch</th><th>train loss</th><th>train accuracy</th><th>test loss</th>"
          "<th>test accuracy</th><th>seconds</th></tr>\n", f);
    for (size_t i = 0; i < n; i++)
        fprintf(f, "<tr><td>%d</td><td>%.4f</td><td>%.2f%%</td><td>%.4f</td><td>%.2f%%</td><td>%.1f</td></tr>\n",
                rows[i].epoch, rows[i].train_loss, 100 * rows[i].train_acc, rows[i].test_loss, 100 * rows[i].test_acc,
                rows[i].seconds);
    fputs("</table></section>\n", f);
    free(rows);
    return 0;
}

static void metrics_row(FILE *f, const char *name, dd_class_metrics c, int bold) {
    fputs(bold ? "<tr><th>" : "<tr><td>", f);
    html_text(f, name);
    fprintf(f, "%s<td>%.3f</td><td>%.3f</td><td>%.3f</td><td>%llu</td><td>%llu</td></tr>\n", bold ? "</th>" : "</td>",
            c.precision, c.recall, c.f1, (unsigned long long)c.support, (unsigned long long)c.predicted);
}

/* The confusion matrix as one picture, a pixel block per cell shaded by the row share (for many classes). */
static int confusion_picture(report *r, const dd_metrics *mt, dd_error *err) {
    int n = mt->classes, scale = 900 / n > 1 ? 900 / n : 1;
    float *share = dd_malloc((size_t)n * n, sizeof *share, err);
    uint8_t *rgb = share ? dd_malloc((size_t)n * n, 3, err) : NULL;
    int rc = -1;
    if (!rgb) goto done;
    for (int t = 0; t < n; t++) {
        uint64_t row = 0;
        for (int c = 0; c < n; c++) row += mt->confusion[(size_t)t * n + c];
        for (int c = 0; c < n; c++)
            share[(size_t)t * n + c] = row ? (float)mt->confusion[(size_t)t * n + c] / (float)row : 0;
    }
    dd_tile_values(share, n, n, 0, 1, rgb);
    dd_picture_opts o = {.rows = 1, .cols = 1, .tile_height = n, .tile_width = n, .scale = scale > 64 ? 64 : scale,
                         .title = "Confusion matrix: rows true, columns predicted, in class order; colour = share of the row"};
    dd_picture *p = dd_picture_new(&o, err);
    rc = !p || dd_picture_put(p, 0, 0, rgb, NULL, err) ? -1 : picture_figure(r, p, "confusion.png", "Confusion matrix", err);
    dd_picture_free(p);
done:
    free(share);
    free(rgb);
    return rc;
}

static int evaluation_section(report *r, int *has_test, dd_error *err) {
    FILE *f = r->f;
    section(f, "evaluation", "Evaluation on the test split");
    dd_eval_result ev;
    if (dd_eval_run(r->m, r->ds, DD_SPLIT_TEST, 64, &ev, err)) {
        if (err->code != DD_ERR_EMPTY) return -1;
        fputs("<p class=\"note\">The data has no test split: nothing to evaluate.</p></section>\n", f);
        *has_test = 0;
        return 0;
    }
    *has_test = 1;
    const dd_metrics *mt = &ev.metrics;
    fprintf(f, "<p>Accuracy <b>%.2f%%</b> (%llu of %llu), mean cross-entropy %.4f, top-3 accuracy %.2f%%.</p>\n",
            100 * dd_metrics_accuracy(mt), (unsigned long long)mt->correct, (unsigned long long)mt->total,
            dd_metrics_loss(mt), 100 * dd_metrics_topk(mt));
    fputs("<h3>Confusion matrix</h3><p class=\"note\">Rows are the true classes, columns the predictions; the shade is "
          "the share of the row (blue: right, red: wrong).</p>\n", f);
    if (mt->classes <= MAX_TABLE_CLASSES) {
        html_confusion(f, mt->confusion, mt->classes, r->names);
    } else if (confusion_picture(r, mt, err)) { /* too many classes for a readable table */
        dd_eval_result_free(&ev);
        return -1;
    }
    fputs("<h3>Per class</h3><table><tr><th>class</th><th>precision</th><th>recall</th><th>F1</th><th>support</th>"
          "<th>predicted</th></tr>\n", f);
    for (int c = 0; c < mt->classes; c++) metrics_row(f, r->names[c], dd_metrics_class(mt, c), 0);
    metrics_row(f, "macro average", dd_metrics_macro(mt), 1);
    metrics_row(f, "weighted average", dd_metrics_weighted(mt), 1);
    fputs("</table></section>\n", f);
    dd_eval_result_free(&ev);
    return 0;
}

static int misclassified_section(report *r, dd_error *err) {
    FILE *f = r->f;
    section(f, "misclassified", "Misclassified as …");
    dd_misclassified_report mr;
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/misclassified", r->dir);
    if (dd_explain_misclassified(r->m, r->ds, -1, 0, dir, &mr, err)) return -1;
    int rc = 0;
    if (mr.n_wrong == 0) {
        fprintf(f, "<p>All %zu test drawings are classified correctly: nothing to show.</p>\n", mr.n_test);
    } else {
        fprintf(f, "<p>%zu of %zu test drawings are misclassified. For every class X, the drawings the model takes "
                   "for an X, grouped by what they really are, the most confident first (under each: the probability "
                   "of X).</p>\n", mr.n_wrong, mr.n_test);
        for (int x = 0; x < mr.classes && rc == 0; x++) {
            if (!mr.picture[x][0]) continue;
            char caption[200];
            snprintf(caption, sizeof caption, "Misclassified as %s", r->names[x]);
            rc = figure(r, "misclassified", mr.picture[x], caption, err);
        }
    }
    dd_misclassified_report_free(&mr);
    if (rc == 0) fputs("</section>\n", f);
    return rc;
}

static int clusters_section(report *r, dd_error *err) {
    FILE *f = r->f;
    section(f, "clusters", "Clusters of the misclassified drawings");
    dd_cluster_opts o = dd_cluster_opts_default();
    dd_cluster_report cr;
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/clusters", r->dir);
    if (dd_explain_clusters(r->m, r->ds, &o, dir, &cr, err)) {
        /* too few drawings to cluster is a finding, not a failure of the report */
        if (err->code != DD_ERR_USAGE && err->code != DD_ERR_EMPTY && err->code != DD_ERR_RANGE) return -1;
        fputs("<p class=\"note\">Not clustered: ", f);
        html_text(f, err->msg);
        fputs("</p></section>\n", f);
        dd_error_clear(err);
        return 0;
    }
    int rc = 0;
    if (cr.n == 0) {
        fputs("<p>No misclassified test drawings: nothing to cluster.</p>\n", f);
    } else {
        fprintf(f, "<p>%zu misclassified drawings, %zu of %zu pixel columns non-zero; PCA keeps %d components "
                   "(%.1f%% of the variance). K-Means: k = %d (mean silhouette %.3f). DBSCAN (eps %.3g%s, min samples "
                   "%d): %d clusters, %d noise points.</p>\n",
                cr.n, cr.kept_columns, cr.pixels, cr.components, 100 * cr.explained_variance, cr.k,
                cr.kmeans_silhouette, cr.eps, cr.eps_from_knee ? " from the k-distance knee" : "", cr.min_samples,
                cr.dbscan_clusters, cr.dbscan_noise);
        fputs("<div class=\"plots\">", f);
        rc = figure(r, "clusters", "scatter-kmeans.png", "First two PCA components, coloured by K-Means cluster", err);
        if (rc == 0 && cr.dbscan_clusters > 0)
            rc = figure(r, "clusters", "scatter-dbscan.png", "First two PCA components, coloured by DBSCAN cluster", err);
        fputs("</div>\n<h3>K-Means clusters</h3>\n", f);
        for (int c = 0; c < cr.k && rc == 0; c++) {
            const dd_cluster_info *ci = &cr.kmeans[c];
            fprintf(f, "<details%s><summary>cluster %d: %d drawings, silhouette %.3f — ", c == 0 ? " open" : "", c,
                    ci->size, ci->silhouette);
            for (int k = 0; k < ci->n_pairs && k < 4; k++) {
                fprintf(f, "%s%d ", k ? ", " : "", ci->pairs[k].count);
                html_text(f, r->names[ci->pairs[k].true_class]);
                fputs(" as ", f);
                html_text(f, r->names[ci->pairs[k].predicted]);
            }
            fputs(ci->n_pairs > 4 ? ", …</summary>\n" : "</summary>\n", f);
            char caption[96];
            snprintf(caption, sizeof caption, "K-Means cluster %d", c);
            if (ci->montage[0]) rc = figure(r, "clusters", ci->montage, caption, err);
            fputs("</details>\n", f);
        }
    }
    dd_cluster_report_free(&cr);
    if (rc == 0) fputs("</section>\n", f);
    return rc;
}

static int activations_section(report *r, dd_explainer *e, dd_error *err) {
    FILE *f = r->f;
    section(f, "activations", "What the layers see");
    int layers[16];
    int n_layers = dd_explain_default_layers(r->m, layers, 16);
    if (n_layers == 0) {
        fputs("<p class=\"note\">The model has no ReLU feature maps to show.</p></section>\n", f);
        return 0;
    }
    uint64_t *records = NULL;
    size_t n = 0;
    dd_image_set s = {0};
    int rc = -1;
    if (dd_explain_records_per_class(r->m, r->ds, DD_SPLIT_TEST, 1, &records, &n, err) ||
        dd_image_set_load(r->m, r->ds, records, n, &s, err))
        goto done;
    fputs("<p>The feature maps after every ReLU layer for the first test drawing of each class (one colour scale per "
          "layer, from 0 to its largest value for the drawing).</p>\n", f);
    for (size_t i = 0; i < s.n && i < MAX_ACTIVATION_CLASSES; i++) {
        char name[64], caption[160];
        snprintf(name, sizeof name, "activations-%llu.png", (unsigned long long)s.record[i]);
        snprintf(caption, sizeof caption, "Feature maps of a %s (record %llu)", r->names[s.label[i]],
                 (unsigned long long)s.record[i]);
        fprintf(f, "<details%s><summary>", i == 0 ? " open" : "");
        html_text(f, r->names[s.label[i]]);
        fputs("</summary>\n", f);
        dd_picture *p = dd_explain_activation_picture(e, r->m, &s, i, layers, n_layers, err);
        int bad = picture_figure(r, p, name, caption, err);
        dd_picture_free(p);
        fputs("</details>\n", f);
        if (bad) goto done;
    }
    /* the units of the last conv block and the test drawings that excite them */
    int layer = dd_explain_gradcam_layer(r->m);
    if (layer >= 0) {
        free(records);
        records = NULL;
        dd_image_set_free(&s);
        if (dd_dataset_split_records(r->ds, DD_SPLIT_TEST, &records, &n, err)) goto done;
        if (n > TOP_UNIT_SET) n = TOP_UNIT_SET;
        if (dd_image_set_load(r->m, r->ds, records, n, &s, err)) goto done;
        if (s.n > 0) {
            char name[96], caption[200];
            snprintf(name, sizeof name, "top-units-%d.png", layer);
            snprintf(caption, sizeof caption, "The %d test drawings that excite each of the first %d units of layer %d "
                     "(%s) most, the unit's map as heat", TOP_DRAWINGS, TOP_UNITS, layer, r->m->spec->layers[layer].name);
            fputs("<h3>Units and the drawings that excite them</h3>\n", f);
            dd_picture *p = dd_explain_top_units_picture(e, r->m, &s, layer, TOP_DRAWINGS, TOP_UNITS, err);
            int bad = picture_figure(r, p, name, caption, err);
            dd_picture_free(p);
            if (bad) goto done;
        }
    }
    fputs("</section>\n", f);
    rc = 0;
done:
    free(records);
    dd_image_set_free(&s);
    return rc;
}

static int saliency_section(report *r, dd_explainer *e, dd_error *err) {
    FILE *f = r->f;
    section(f, "saliency", "Which pixels the decisions rest on");
    int per_class = r->o->per_class > 0 ? r->o->per_class : 2;
    uint64_t *records = NULL;
    size_t n = 0, *which = NULL;
    dd_image_set s = {0};
    int rc = -1;
    if (dd_explain_records_per_class(r->m, r->ds, DD_SPLIT_TEST, per_class, &records, &n, err)) goto done;
    if (n > MAX_SALIENCY_DRAWINGS) n = MAX_SALIENCY_DRAWINGS; /* many classes: the first ones */
    if (dd_image_set_load(r->m, r->ds, records, n, &s, err)) goto done;
    if (s.n == 0) {
        fputs("<p class=\"note\">No test drawings.</p></section>\n", f);
        rc = 0;
        goto done;
    }
    if (!(which = dd_malloc(s.n, sizeof *which, err))) goto done;
    for (size_t i = 0; i < s.n; i++) which[i] = i;
    fputs("<p>For the predicted class: saliency (|gradient of the class score| per pixel), occlusion (the drop in "
          "the class probability when a patch around the pixel is blanked) and Grad-CAM (the last conv block's maps "
          "weighted by their mean gradient), each scaled to its own maximum.</p>\n", f);
    dd_picture *p = dd_explain_attribution_picture(e, r->m, &s, which, s.n, -1, -1, err);
    int bad = picture_figure(r, p, "saliency.png", "Saliency, occlusion and Grad-CAM", err);
    dd_picture_free(p);
    if (bad) goto done;
    fputs("</section>\n", f);
    rc = 0;
done:
    free(records);
    free(which);
    dd_image_set_free(&s);
    return rc;
}

/* The first rows of a CSV the quality check wrote, as a table. */
static void csv_table(FILE *f, const char *path, int max_rows) {
    FILE *in = fopen(path, "r");
    if (!in) return;
    char line[1024];
    int row = 0;
    fputs("<table>", f);
    while (fgets(line, sizeof line, in) && row <= max_rows) {
        line[strcspn(line, "\r\n")] = '\0';
        fputs("<tr>", f);
        for (char *save = NULL, *cell = strtok_r(line, ",", &save); cell; cell = strtok_r(NULL, ",", &save)) {
            fputs(row ? "<td>" : "<th>", f);
            html_text(f, cell);
            fputs(row ? "</td>" : "</th>", f);
        }
        fputs("</tr>\n", f);
        row++;
    }
    fputs("</table>\n", f);
    fclose(in);
}

static int suspect_section(report *r, dd_error *err) {
    FILE *f = r->f;
    section(f, "suspect", "Suspect data");
    dd_quality_opts o = dd_quality_opts_default();
    dd_quality_report q;
    char dir[4200], path[8400];
    snprintf(dir, sizeof dir, "%s/quality", r->dir);
    if (dd_explain_quality(r->m, r->ds, &o, dir, &q, err)) return -1;
    fprintf(f, "<p>%zu drawings (train and test) checked. Labels the model contradicts with p &ge; %.2f: <b>%zu</b>. ",
            q.n, o.threshold, q.contradicted);
    if (q.recognized_unknown == q.n) fputs("Not recognized by Google's game: unknown (the source has no flag). ", f);
    else fprintf(f, "Not recognized by Google's game: <b>%zu</b>. ", q.not_recognized);
    fprintf(f, "Exact duplicates: <b>%zu</b> groups (%zu drawings, %zu groups in both train and test). Near duplicates: "
               "<b>%zu</b> groups (%zu drawings, %zu in both splits).</p>\n", q.exact_groups, q.exact_drawings,
            q.exact_across_split, q.near_groups, q.near_drawings, q.near_across_split);
    int rc = 0;
    if (q.contradicted_png[0]) {
        rc = figure(r, "quality", q.contradicted_png, "Labels the model confidently contradicts", err);
        snprintf(path, sizeof path, "%s/contradicted.csv", dir);
        if (rc == 0) {
            fprintf(f, "<details><summary>The first %d rows of explain/quality/contradicted.csv</summary>\n", SUSPECT_ROWS);
            csv_table(f, path, SUSPECT_ROWS);
            fputs("</details>\n", f);
        }
    }
    if (rc == 0 && q.not_recognized_png[0])
        rc = figure(r, "quality", q.not_recognized_png, "Not recognized by Google's game", err);
    if (rc == 0 && q.exact_png[0]) rc = figure(r, "quality", q.exact_png, "Exact duplicates", err);
    if (rc == 0 && q.near_png[0]) rc = figure(r, "quality", q.near_png, "Near duplicates", err);
    if (rc == 0) fputs("</section>\n", f);
    return rc;
}

int dd_report_write(const dd_report_opts *o, dd_error *err) {
    report r = {.o = o};
    char model_path[4200], out_path[4200];
    snprintf(model_path, sizeof model_path, "%s/model.safetensors", o->run_dir);
    if (o->out_path) snprintf(out_path, sizeof out_path, "%s", o->out_path);
    else snprintf(out_path, sizeof out_path, "%s/report.html", o->run_dir);
    snprintf(r.dir, sizeof r.dir, "%s/explain", o->run_dir);
    dd_atomic_file a = {0};
    dd_explainer *e = NULL;
    int rc = -1, has_test = 0;
    struct stat st;
    if (stat(o->run_dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return dd_fail(err, DD_ERR_IO, "%s: no such run folder (doodle train -o RUNDIR makes one)", o->run_dir);
    if (find_data(&r, err)) return -1;
    if (!(r.m = dd_model_load(model_path, err))) goto done;
    if (!(r.ds = dd_dataset_open(r.data_path, err))) goto done;
    {
        uint32_t n = dd_dataset_class_count(r.ds);
        int *map = dd_malloc(n ? n : 1, sizeof *map, err);
        int bad = !map || dd_eval_check_input(r.m, r.ds, err) || dd_eval_class_map(r.m, r.ds, map, err);
        free(map);
        if (bad) {
            dd_error_prefix(err, "%s does not fit %s", model_path, r.data_path);
            goto done;
        }
    }
    if (!(r.names = dd_malloc((size_t)r.m->spec->classes, sizeof *r.names, err))) goto done;
    for (int c = 0; c < r.m->spec->classes; c++) r.names[c] = r.m->class_names[c];
    if (explain_make_dir(r.dir, err) || !(e = dd_explainer_new(r.m, err)) || dd_atomic_open(&a, out_path, err)) goto done;
    r.f = a.f;
    head(&r);
    say(&r, "data and model");
    if (data_section(&r, err) || model_section(&r, err) || training_section(&r, err)) goto done;
    say(&r, "evaluation");
    if (evaluation_section(&r, &has_test, err)) goto done;
    if (has_test) {
        say(&r, "misclassified drawings");
        if (misclassified_section(&r, err)) goto done;
        say(&r, "clusters");
        if (clusters_section(&r, err)) goto done;
        say(&r, "activations");
        if (activations_section(&r, e, err)) goto done;
        say(&r, "saliency, occlusion, Grad-CAM");
        if (saliency_section(&r, e, err)) goto done;
    }
    say(&r, "suspect data");
    if (suspect_section(&r, err)) goto done;
    fputs("<p class=\"note\">Made by doodle. Quick, Draw! data by Google, CC BY 4.0.</p>\n</body></html>\n", r.f);
    rc = dd_atomic_commit(&a, err);
done:
    if (rc) dd_atomic_abort(&a);
    dd_explainer_free(e);
    free(r.names);
    dd_dataset_close(r.ds);
    dd_model_free(r.m);
    return rc;
}
