/* doodle report: one self-contained HTML page about a training run (include/doodle/explain.h). Each section is made
 * by the same library code as the explain verbs; the pictures land in RUNDIR/explain/ and are inlined as data:
 * URIs, so the page opens anywhere without a network or the run folder. */
#define _XOPEN_SOURCE 700 /* open_memstream, realpath */
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
#include "doodle/files.h"
#include "doodle/labels.h"
#include "doodle/metrics.h"
#include "doodle/model_spec.h"
#include "explain/explain_util.h"
#include "explain/report_internal.h"
#include "doodle/alloc.h"
#include "viz/report_html.h"

#define GALLERY_COLS 10
#define MAX_ACTIVATION_CLASSES 20
#define TOP_UNITS 16
#define TOP_DRAWINGS 8
#define TOP_UNIT_SET 2000
#define SUSPECT_ROWS 15
#define MAX_SALIENCY_DRAWINGS 60
#define MANY_ACTIVATION_CLASSES 2 /* a large run: feature maps of the most confused classes only */
#define MANY_SALIENCY_CLASSES 20
#define MANY_DATA_ROWS 10    /* a large run: the classes with the fewest and the most drawings */
#define MANY_MONTAGE 40      /* a large run: drawings per cluster montage */
#define MANY_MAX_HEIGHT 2000 /* a large run: taller pictures are cut (the whole ones stay in explain/) */
#define MANY_TSNE 800        /* a large run: drawings on the t-SNE map */

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
        return dd_fail(err, DD_ERR_USAGE,
                       "%s: %s: the run folder does not say which dataset it was trained on; give "
                       "--data D.dset",
                       path, strerror(errno));
    int ok = fgets(r->data_path, sizeof r->data_path, f) != NULL;
    fclose(f);
    r->data_path[strcspn(r->data_path, "\r\n")] = '\0';
    if (!ok || !r->data_path[0]) return dd_fail(err, DD_ERR_MALFORMED, "%s: empty; give --data D.dset", path);
    return 0;
}

void report_section(FILE *f, const char *id, const char *title) {
    fprintf(f, "<section id=\"%s\"><h2>", id);
    html_text(f, title);
    fputs("</h2>\n", f);
}

int report_figure(report *r, const char *sub, const char *name, const char *caption, int max_height, dd_error *err) {
    char path[8400];
    snprintf(path, sizeof path, "%s%s%s/%s", r->dir, sub[0] ? "/" : "", sub, name);
    int cut = 0;
    fputs("<figure>", r->f);
    if (html_png_file_cut(r->f, path, caption, r->many ? max_height : 0, &cut, err)) return -1;
    fputs("<figcaption>", r->f);
    html_text(r->f, caption);
    if (cut) {
        fprintf(r->f, " (the first %d pixels; the whole picture: <a href=\"", cut);
        html_text(r->f, r->link);
        fprintf(r->f, "%s%s/", sub[0] ? "/" : "", sub);
        html_text(r->f, name);
        fprintf(r->f, "\">explain%s%s/", sub[0] ? "/" : "", sub);
        html_text(r->f, name);
        fputs("</a>)", r->f);
    }
    fputs("</figcaption></figure>\n", r->f);
    return 0;
}

static int picture_figure(report *r, dd_picture *p, const char *name, const char *caption, dd_error *err) {
    char path[8400];
    if (!p || dd_path_join(path, sizeof path, r->dir, name, err) || dd_picture_write_png(p, path, err)) return -1;
    return report_figure(r, "", name, caption, 0, err);
}

static const char *STYLE =
    "body{font-family:sans-serif;margin:0 auto;max-width:1280px;padding:0 24px 48px;color:#222;line-height:1.45}"
    "h1{margin-top:24px}h2{border-bottom:2px solid #ddd;padding-bottom:4px;margin-top:40px}"
    "nav a{margin-right:14px}table{border-collapse:collapse;margin:8px 0}"
    "td,th{border:1px solid #ddd;padding:3px 8px;text-align:right}th{background:#f5f5f5}"
    "td:first-child,th:first-child{text-align:left}figure{margin:12px 0}figcaption{color:#555;font-size:90%}"
    "img{max-width:100%;height:auto;image-rendering:pixelated}pre{background:#f8f8f8;padding:12px;overflow-x:auto}"
    "table.confusion td{min-width:28px;text-align:center}table.part td{min-width:22px;padding:2px 3px}"
    "table.part th{font-size:90%;padding:2px 4px}.wide{overflow-x:auto}"
    "table.pairs td:nth-child(2),table.pairs "
    "th:nth-child(2){text-align:left}th.rot{height:110px;vertical-align:bottom;padding:2px}"
    "th.rot div{writing-mode:vertical-rl;transform:rotate(180deg);white-space:nowrap}"
    ".note{color:#666}.plots{display:flex;flex-wrap:wrap;gap:24px}details{margin:8px 0}summary{cursor:pointer}"
    "table.sortable thead th{cursor:pointer}table.sortable th[aria-sort=ascending]::after{content:\" \\25B2\"}"
    "table.sortable th[aria-sort=descending]::after{content:\" \\25BC\"}"
    "table.settings td{text-align:left}";

/* The model's name: the cfg's [net] name, else the built-in network whose cfg text the model file holds, else
 * NULL (a model file stores its cfg but not the name it was trained under). */
static const char *model_name(const dd_model *m) {
    if (strcmp(m->spec->name, "model") != 0) return m->spec->name;
    const char *text = m->spec->cfg_text;
    for (size_t i = 0; text && dd_model_builtin_name(i); i++) {
        size_t len = 0;
        const char *cfg = dd_model_builtin_cfg(dd_model_builtin_name(i), &len);
        if (cfg && strlen(text) == len && memcmp(cfg, text, len) == 0) return dd_model_builtin_name(i);
    }
    return NULL;
}

const char *report_model_name(const dd_model *m) { return model_name(m); }

const char *report_style(void) { return STYLE; }

static void head(report *r) {
    FILE *f = r->f;
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
          "<link rel=\"icon\" href=\"data:,\"><title>doodle report: ",
          f);
    html_text(f, r->o->run_dir);
    fprintf(f, "</title><style>%s</style></head><body>\n<h1>doodle report</h1>\n<p>Run <code>", STYLE);
    html_text(f, r->o->run_dir);
    const char *name = model_name(r->m);
    if (name && name != r->m->spec->name) /* the model summary names it too */
        snprintf(r->m->spec->name, sizeof r->m->spec->name, "%s", name);
    if (name) {
        fputs("</code>: model <code>", f);
        html_text(f, name);
        fputs("</code>", f);
    } else {
        fputs("</code>: a model from a cfg of its own (the model file does not name it)", f);
    }
    fprintf(f, ", %d classes, on <code>", r->m->spec->classes);
    html_text(f, r->data_path);
    char when[64];
    time_t now = time(NULL);
    struct tm tm;
    strftime(when, sizeof when, "%Y-%m-%d %H:%M UTC", gmtime_r(&now, &tm));
    fprintf(f, "</code>; written %s.</p>\n", when);
    fputs("<nav><a href=\"#settings\">Settings</a><a href=\"#data\">Data</a><a href=\"#model\">Model</a><a "
          "href=\"#training\">Training</a>"
          "<a href=\"#evaluation\">Evaluation</a><a href=\"#misclassified\">Misclassified</a>"
          "<a href=\"#clusters\">Clusters</a><a href=\"#activations\">Activations</a>"
          "<a href=\"#saliency\">Saliency</a><a href=\"#suspect\">Suspect data</a></nav>\n",
          f);
}

static void class_row(FILE *f, const char *name, const dd_class_stats *st, int bold) {
    const char *c = bold ? "th" : "td";
    fprintf(f, "<tr><%s>", c);
    html_text(f, name);
    fprintf(f, "</%s><%s>%llu</%s><%s>%llu</%s><%s>%llu</%s><%s>%llu</%s></tr>\n", c, c, (unsigned long long)st->read,
            c, c, (unsigned long long)st->kept, c, c, (unsigned long long)st->train, c, c, (unsigned long long)st->test,
            c);
}

/* The dataset classes order[n], sortable, with the total of every class under them. */
static void class_table(FILE *f, const dd_dataset *ds, const dd_class_stats *st, const uint32_t *order, size_t n,
                        int with_total) {
    fputs("<table class=\"sortable classes\"><thead><tr><th>class</th><th>read</th><th>kept</th><th>train</th>"
          "<th>test</th></tr></thead><tbody>\n",
          f);
    for (size_t i = 0; i < n; i++) class_row(f, dd_dataset_class_name(ds, order[i]), &st[order[i]], 0);
    fputs("</tbody>", f);
    if (with_total) {
        dd_class_stats total = {0};
        for (uint32_t c = 0; c < dd_dataset_class_count(ds); c++) {
            total.read += st[c].read;
            total.kept += st[c].kept;
            total.train += st[c].train;
            total.test += st[c].test;
        }
        fputs("<tfoot>", f);
        class_row(f, "total", &total, 1);
        fputs("</tfoot>", f);
    }
    fputs("</table>\n", f);
}

static const dd_class_stats *sort_stats; /* for by_kept: qsort has no context argument */
static int by_kept(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    if (sort_stats[x].kept != sort_stats[y].kept) return sort_stats[x].kept < sort_stats[y].kept ? -1 : 1;
    return (x > y) - (x < y);
}

/* A large run: the spread of the class sizes, the classes with the fewest and the most drawings, and every class
 * in a closed <details>. */
static void class_summary(FILE *f, const dd_dataset *ds, const dd_class_stats *st, uint32_t *order, uint32_t k) {
    sort_stats = st;
    qsort(order, k, sizeof *order, by_kept);
    sort_stats = NULL;
    fprintf(f, "<p>Drawings kept per class: fewest %llu (", (unsigned long long)st[order[0]].kept);
    html_text(f, dd_dataset_class_name(ds, order[0]));
    fprintf(f, "), median %llu, most %llu (", (unsigned long long)st[order[k / 2]].kept,
            (unsigned long long)st[order[k - 1]].kept);
    html_text(f, dd_dataset_class_name(ds, order[k - 1]));
    fputs(").</p>\n<div class=\"plots\"><div><b>The fewest drawings</b>\n", f);
    class_table(f, ds, st, order, MANY_DATA_ROWS, 0);
    fputs("</div><div><b>The most drawings</b>\n", f);
    for (uint32_t i = 0; i < MANY_DATA_ROWS; i++) { /* most first */
        uint32_t t = order[i];
        order[i] = order[k - 1 - i];
        order[k - 1 - i] = t;
    }
    class_table(f, ds, st, order, MANY_DATA_ROWS, 0);
    for (uint32_t c = 0; c < k; c++) order[c] = c;
    fprintf(f, "</div></div>\n<details><summary>All %u classes (click a column's heading to sort)</summary>\n", k);
    class_table(f, ds, st, order, k, 1);
    fputs("</details>\n", f);
}

static int class_counts(report *r, dd_error *err) {
    const dd_dataset *ds = r->ds;
    uint32_t k = dd_dataset_class_count(ds);
    dd_class_stats *st = dd_calloc(k ? k : 1, sizeof *st, err);
    uint32_t *order = st ? dd_malloc(k ? k : 1, sizeof *order, err) : NULL;
    if (!order) {
        free(st);
        return -1;
    }
    for (uint32_t c = 0; c < k; c++) {
        order[c] = c;
        if (dd_dataset_class_stats(ds, c, &st[c])) memset(&st[c], 0, sizeof st[c]);
    }
    if (r->many && k > 2 * MANY_DATA_ROWS)
        class_summary(r->f, ds, st, order, k);
    else
        class_table(r->f, ds, st, order, k, 1);
    free(order);
    free(st);
    return 0;
}

/* The shown classes' names, "a, b and c", and how many are not shown. */
static void focus_note(const report *r, int shown) {
    FILE *f = r->f;
    if (r->has_test)
        fprintf(f,
                "<p class=\"note\">Shown for the %d classes most involved in confusions (the most errors, counted "
                "both ways, first), of %d: ",
                shown, r->m->spec->classes);
    else
        fprintf(f, "<p class=\"note\">Shown for the first %d classes of %d: ", shown, r->m->spec->classes);
    for (int i = 0; i < shown; i++) {
        fputs(i == 0 ? "" : i + 1 == shown ? " and " : ", ", f);
        html_text(f, r->names[r->focus[i]]);
    }
    fprintf(f, ". The other %d classes are not shown.</p>\n", r->m->spec->classes - shown);
}

static int data_section(report *r, dd_error *err) {
    FILE *f = r->f;
    const dd_dataset *ds = r->ds;
    report_section(f, "data", "The data");
    uint32_t h, w;
    dd_dataset_bitmap_size(ds, &h, &w);
    dd_dset_params p = dd_dataset_params(ds);
    fprintf(f, "<p>%llu %s", (unsigned long long)dd_dataset_count(ds),
            dd_dataset_kind(ds) == DD_DSET_STROKES ? "drawings as strokes" : "bitmaps");
    if (dd_dataset_kind(ds) == DD_DSET_BITMAPS) fprintf(f, " of %ux%u", h, w);
    fprintf(f, " in %u classes, split with seed %llu and test fraction %g; the model sees them at %ux%u.</p>\n",
            dd_dataset_class_count(ds), (unsigned long long)p.seed, p.test_frac, r->m->render.height,
            r->m->render.width);
    if (class_counts(r, err)) return -1;

    /* the class gallery: the first training drawings of the shown classes, as the model sees them */
    uint64_t *records = NULL;
    size_t n = 0;
    dd_image_set s = {0};
    dd_picture *pic = NULL;
    int rc = -1, classes = r->m->spec->classes;
    int *row_of = NULL;
    uint8_t *rgb = NULL;
    if (dd_explain_records_per_class(r->m, ds, -1, GALLERY_COLS, &records, &n, err) ||
        dd_image_set_load(r->m, ds, records, n, &s, err))
        goto done;
    if (n == 0) {
        fputs("<p class=\"note\">The data has no drawings.</p>\n", f);
        rc = 0;
        goto done;
    }
    if (!(row_of = dd_malloc((size_t)classes, sizeof *row_of, err))) goto done;
    for (int c = 0; c < classes; c++) row_of[c] = -1;
    for (int i = 0; i < r->n_focus; i++) row_of[r->focus[i]] = i;
    dd_picture_opts o = {.rows = r->n_focus,
                         .cols = GALLERY_COLS,
                         .tile_height = s.height,
                         .tile_width = s.width,
                         .scale = explain_tile_scale(s.height, s.width),
                         .header_width = 130,
                         .title = r->many ? "The classes most involved in confusions: the first drawings of each, as "
                                            "the model sees them"
                                          : "The classes: the first drawings of each class, as the model sees them"};
    size_t pixels = (size_t)s.height * s.width;
    if (!(rgb = dd_malloc(pixels, 3, err)) || !(pic = dd_picture_new(&o, err))) goto done;
    int col = 0, last = -1;
    for (size_t i = 0; i < s.n; i++) {
        int row = row_of[s.label[i]];
        if (row < 0) continue;
        if (s.label[i] != last) {
            col = 0;
            last = s.label[i];
            if (dd_picture_row_header(pic, row, r->names[last], err)) goto done;
        }
        dd_tile_ink(s.pixels + i * pixels, s.height, s.width, rgb);
        if (col < GALLERY_COLS && dd_picture_put(pic, row, col++, rgb, NULL, err)) goto done;
    }
    if (r->many) focus_note(r, r->n_focus);
    rc = picture_figure(r, pic, "classes.png", "The classes", err);
done:
    dd_picture_free(pic);
    dd_image_set_free(&s);
    free(records);
    free(row_of);
    free(rgb);
    if (rc == 0) fputs("</section>\n", f);
    return rc;
}

static int model_section(report *r, dd_error *err) {
    report_section(r->f, "model", "The model");
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

/* RUNDIR/test.json's accuracy, top-3 and epoch (written by doodle train), or false. */
static bool read_test_json(const char *run_dir, double *acc, double *top3, int *epoch) {
    char path[4200];
    snprintf(path, sizeof path, "%s/test.json", run_dir);
    FILE *f = fopen(path, "r");
    if (!f) return false;
    char text[512];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    const char *e = strstr(text, "\"epoch\":"), *a = strstr(text, "\"accuracy\":"), *t = strstr(text, "\"top3\":");
    return e && a && t && sscanf(e, "\"epoch\": %d", epoch) == 1 && sscanf(a, "\"accuracy\": %lf", acc) == 1 &&
           sscanf(t, "\"top3\": %lf", top3) == 1;
}

bool report_read_test_json(const char *run_dir, double *acc, double *top3, int *epoch) {
    return read_test_json(run_dir, acc, top3, epoch);
}

/* How the run was trained: the options its checkpoint stores, its data set and the doodle that wrote the page. */
static int settings_section(report *r, dd_error *err) {
    report_settings s;
    if (report_settings_read(r->o->run_dir, r->m, r->o->version, &s, err)) return -1;
    report_section(r->f, "settings", "Settings");
    report_settings_table(r->f, &s);
    fputs("</section>\n", r->f);
    return 0;
}

static int training_section(report *r, dd_error *err) {
    FILE *f = r->f;
    report_section(f, "training", "Training");
    char path[4200];
    snprintf(path, sizeof path, "%s/history.csv", r->o->run_dir);
    report_epoch *rows;
    size_t n;
    bool chose_on_test;
    if (report_read_history(path, &rows, &n, &chose_on_test, err)) return -1;
    if (n == 0) {
        fputs("<p class=\"note\">No history.csv in the run folder: no curves.</p></section>\n", f);
        return 0;
    }
    size_t best = 0;
    double seconds = 0;
    bool has_val = false;
    for (size_t i = 0; i < n; i++) {
        if (rows[i].val_acc > rows[best].val_acc) best = i;
        has_val |= !isnan(rows[i].val_acc);
        seconds += rows[i].seconds;
    }
    const char *second = chose_on_test ? "test" : "validation";
    fprintf(f, "<p>%zu epoch%s in %.1f s. ", n, n == 1 ? "" : "s", seconds);
    if (chose_on_test)
        fprintf(f,
                "This run is from before doodle kept a validation split: it chose epoch %d, with the best test "
                "accuracy (%.2f%%), on the test split itself, so the test figures below flatter it.</p>\n",
                rows[best].epoch, 100 * rows[best].val_acc);
    else if (has_val)
        fprintf(f, "The best validation accuracy, %.2f%%, after epoch %d: its weights are model.safetensors. ",
                100 * rows[best].val_acc, rows[best].epoch);
    else
        fprintf(f, "No validation split: model.safetensors holds the last epoch's weights. ");
    double acc, top3;
    int epoch;
    if (!chose_on_test && read_test_json(r->o->run_dir, &acc, &top3, &epoch))
        fprintf(f, "The test split, used once for those weights: <b>%.2f%%</b> (top-3 %.2f%%).</p>\n", 100 * acc,
                100 * top3);
    else if (!chose_on_test)
        fputs("</p>\n", f);
    fputs("<div class=\"plots\">\n", f);
    svg_history_plot(f, rows, n, 0, second);
    svg_history_plot(f, rows, n, 1, second);
    svg_history_plot(f, rows, n, 2, second);
    fprintf(f,
            "</div>\n<table><tr><th>epoch</th><th>train loss</th><th>train accuracy</th><th>%s loss</th>"
            "<th>%s accuracy</th><th>%s top-3</th><th>learning rate</th><th>seconds</th></tr>\n",
            second, second, second);
    for (size_t i = 0; i < n; i++)
        fprintf(f,
                "<tr><td>%d</td><td>%.4f</td><td>%.2f%%</td><td>%.4f</td><td>%.2f%%</td><td>%.2f%%</td><td>%.3g</td>"
                "<td>%.1f</td></tr>\n",
                rows[i].epoch, rows[i].train_loss, 100 * rows[i].train_acc, rows[i].val_loss, 100 * rows[i].val_acc,
                100 * rows[i].val_top3, rows[i].lr, rows[i].seconds);
    fputs("</table></section>\n", f);
    free(rows);
    return 0;
}

static int misclassified_section(report *r, dd_error *err) {
    FILE *f = r->f;
    report_section(f, "misclassified", "Misclassified as …");
    if (r->many) {
        if (report_misclassified_focus(r, err)) return -1;
        fputs("</section>\n", f);
        return 0;
    }
    dd_misclassified_report mr;
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/misclassified", r->dir);
    if (dd_explain_misclassified(r->m, r->ds, -1, 0, dir, &mr, err)) return -1;
    int rc = 0;
    if (mr.n_wrong == 0) {
        fprintf(f, "<p>All %zu test drawings are classified correctly: nothing to show.</p>\n", mr.n_test);
    } else {
        fprintf(f,
                "<p>%zu of %zu test drawings are misclassified. For every class X, the drawings the model takes "
                "for an X, grouped by what they really are, the most confident first (under each: the probability "
                "of X).</p>\n",
                mr.n_wrong, mr.n_test);
        for (int x = 0; x < mr.classes && rc == 0; x++) {
            if (!mr.picture[x][0]) continue;
            char caption[200];
            snprintf(caption, sizeof caption, "Misclassified as %s", r->names[x]);
            rc = report_figure(r, "misclassified", mr.picture[x], caption, 0, err);
        }
    }
    dd_misclassified_report_free(&mr);
    if (rc == 0) fputs("</section>\n", f);
    return rc;
}

/* One K-Means cluster: its name (labels.json), size, most frequent pairs and units in the summary line; the montage
 * and the units' picture inside. */
static int cluster_details(report *r, const dd_cluster_report *cr, const dd_cluster_names *names, int c,
                           dd_error *err) {
    FILE *f = r->f;
    const dd_cluster_info *ci = &cr->kmeans[c];
    fprintf(f, "<details%s><summary>", c == 0 ? " open" : "");
    if (names->kmeans && names->kmeans[c]) {
        fputs("<strong>&ldquo;", f);
        html_text(f, names->kmeans[c]);
        fputs("&rdquo;</strong> ", f);
    }
    fprintf(f, "cluster %d: %d drawings, silhouette %.3f — ", c, ci->size, ci->silhouette);
    for (int k = 0; k < ci->n_pairs && k < 4; k++) {
        fprintf(f, "%s%d ", k ? ", " : "", ci->pairs[k].count);
        html_text(f, r->names[ci->pairs[k].true_class]);
        fputs(" as ", f);
        html_text(f, r->names[ci->pairs[k].predicted]);
    }
    fputs(ci->n_pairs > 4 ? ", …</summary>\n" : "</summary>\n", f);
    char caption[160];
    snprintf(caption, sizeof caption, "K-Means cluster %d", c);
    int rc = ci->montage[0] ? report_figure(r, "clusters", ci->montage, caption, MANY_MAX_HEIGHT, err) : 0;
    const dd_cluster_units *u = cr->units ? &cr->units[c] : NULL;
    if (rc == 0 && u && u->n > 0) {
        fprintf(f, "<p>Units of layer %d (", cr->layer);
        html_text(f, cr->layer_name);
        fprintf(f, ") that set these %d drawings apart from the right drawings of the same classes (Cohen's d): ",
                u->compared);
        for (int k = 0; k < u->n; k++) fprintf(f, "%sunit %d %+.2f", k ? ", " : "", u->unit[k], u->score[k]);
        fputs(".", f);
        if (r->many) { /* a large run's page stays small: the picture is only linked */
            fputs(" Their most exciting drawings: <a href=\"", f);
            html_text(f, r->link);
            fprintf(f, "/clusters/%s\">explain/clusters/%s</a>", u->picture, u->picture);
        }
        fputs("</p>\n", f);
        snprintf(caption, sizeof caption,
                 "Cluster %d: the drawings of the whole set that excite each of these units most", c);
        if (!r->many) rc = report_figure(r, "clusters", u->picture, caption, 0, err);
    }
    fputs("</details>\n", f);
    return rc;
}

/* The misclassified drawings clustered in the model's own space: the activations of the input of its last dense
 * layer. On the 21-class benchmark's validation mistakes it beat the pixels on both silhouette and purity in
 * (true, predicted) pairs (README, "Clusters of mistakes"); the pixel space stays a verb option. */
static int clusters_section(report *r, dd_error *err) {
    FILE *f = r->f;
    report_section(f, "clusters", "Clusters of the misclassified drawings");
    dd_cluster_opts o = dd_cluster_opts_default();
    o.space = DD_SPACE_EMBEDDING;
    if (dd_cluster_default_layer(r->m) < 0) o.space = DD_SPACE_PIXELS; /* no hidden layer to take */
    if (r->many) {
        o.montage_max = MANY_MONTAGE; /* up to 8 clusters: smaller montages keep the page small */
        o.tsne_max = MANY_TSNE;
    }
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
        if (cr.space == DD_SPACE_EMBEDDING) {
            fprintf(f,
                    "<p>%zu misclassified drawings, placed by what the model computes of them: the %zu units of "
                    "layer %d (",
                    cr.n, cr.pixels, cr.layer);
            html_text(f, cr.layer_name);
            fprintf(f, ", the input of its last dense layer; %zu of them active on these drawings). ", cr.kept_columns);
        } else {
            fprintf(f, "<p>%zu misclassified drawings, %zu of %zu pixel columns non-zero. ", cr.n, cr.kept_columns,
                    cr.pixels);
        }
        fprintf(f,
                "PCA keeps %d components (%.1f%% of the variance). K-Means: k = %d (mean silhouette %.3f). "
                "DBSCAN (eps %.3g%s, min samples %d): %d cluster%s, %d noise points.</p>\n",
                cr.components, 100 * cr.explained_variance, cr.k, cr.kmeans_silhouette, cr.eps,
                cr.eps_from_knee ? " from the k-distance knee" : "", cr.min_samples, cr.dbscan_clusters,
                cr.dbscan_clusters == 1 ? "" : "s", cr.dbscan_noise);
        fprintf(f,
                "<p>Purity in (true, predicted) pairs — the share of each cluster in its most frequent pair, "
                "weighted by size: <b>%.3f</b> for K-Means, against %.3f for random clusters of the same sizes.",
                cr.kmeans_purity, cr.kmeans_purity_random);
        if (cr.space == DD_SPACE_EMBEDDING)
            fputs(" The study's pixel space: <code>doodle explain clusters --space pixels</code>.", f);
        fputs("</p>\n", f);
        if (cr.tsne_n) {
            char caption[240];
            snprintf(caption, sizeof caption,
                     "t-SNE map of %zu of them (perplexity %g, KL %.3f, trustworthiness "
                     "%.3f), each drawing framed in its K-Means cluster's colour",
                     cr.tsne_n, cr.tsne_perplexity, cr.tsne.kl, cr.tsne_trustworthiness);
            rc = report_figure(r, "clusters", "tsne.png", caption, 0, err);
        }
        fputs("<div class=\"plots\">", f);
        if (rc == 0)
            rc = report_figure(r, "clusters", "scatter-kmeans.png",
                               "First two PCA components, coloured by K-Means cluster", 0, err);
        if (rc == 0 && cr.dbscan_clusters > 0)
            rc = report_figure(r, "clusters", "scatter-dbscan.png",
                               "First two PCA components, coloured by DBSCAN cluster", 0, err);
        fputs("</div>\n<h3>K-Means clusters</h3>\n", f);
        char labels_path[4200]; /* names given in doodle serve's Mistakes view follow their drawings (labels.h) */
        dd_cluster_names names = {0};
        snprintf(labels_path, sizeof labels_path, "%s/labels.json", r->o->run_dir);
        if (rc == 0 && dd_cluster_names_load(labels_path, r->m, r->ds, &cr, &names, err)) {
            fputs("<p class=\"note\">Cluster names not shown: ", f);
            html_text(f, err->msg);
            fputs("</p>\n", f);
            dd_error_clear(err);
        }
        for (int c = 0; c < cr.k && rc == 0; c++) rc = cluster_details(r, &cr, &names, c, err);
        dd_cluster_names_free(&names);
    }
    dd_cluster_report_free(&cr);
    if (rc == 0) fputs("</section>\n", f);
    return rc;
}

/* Indices into s (drawings class by class) of at most per_class drawings of each of the first max_classes shown
 * classes, in r->focus order, at most cap in all; *classes gets how many classes have one. */
static size_t pick_shown(const report *r, const dd_image_set *s, int per_class, int max_classes, size_t *idx,
                         size_t cap, int *classes) {
    size_t n = 0;
    *classes = 0;
    for (int i = 0; i < r->n_focus && i < max_classes && n < cap; i++) {
        int taken = 0;
        for (size_t j = 0; j < s->n && taken < per_class && n < cap; j++)
            if (s->label[j] == r->focus[i]) {
                idx[n++] = j;
                taken++;
            }
        *classes += taken > 0;
    }
    return n;
}

static int activations_section(report *r, dd_explainer *e, dd_error *err) {
    FILE *f = r->f;
    report_section(f, "activations", "What the layers see");
    int layers[16];
    int n_layers = dd_explain_default_layers(r->m, layers, 16);
    if (n_layers == 0) {
        fputs("<p class=\"note\">The model has no ReLU feature maps to show.</p></section>\n", f);
        return 0;
    }
    uint64_t *records = NULL;
    size_t n = 0, shown[MAX_ACTIVATION_CLASSES], n_shown;
    dd_image_set s = {0};
    int rc = -1, classes;
    if (dd_explain_records_per_class(r->m, r->ds, DD_SPLIT_TEST, 1, &records, &n, err) ||
        dd_image_set_load(r->m, r->ds, records, n, &s, err))
        goto done;
    n_shown = pick_shown(r, &s, 1, r->many ? MANY_ACTIVATION_CLASSES : MAX_ACTIVATION_CLASSES, shown,
                         MAX_ACTIVATION_CLASSES, &classes);
    fputs("<p>The feature maps after every ReLU layer for the first test drawing of each class (one colour scale per "
          "layer, from 0 to its largest value for the drawing).</p>\n",
          f);
    if (r->many) focus_note(r, classes);
    for (size_t k = 0; k < n_shown; k++) {
        size_t i = shown[k];
        char name[64], caption[160];
        snprintf(name, sizeof name, "activations-%llu.png", (unsigned long long)s.record[i]);
        snprintf(caption, sizeof caption, "Feature maps of a %s (record %llu)", r->names[s.label[i]],
                 (unsigned long long)s.record[i]);
        fprintf(f, "<details%s><summary>", k == 0 ? " open" : "");
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
            snprintf(caption, sizeof caption,
                     "The %d test drawings that excite each of the first %d units of layer %d "
                     "(%s) most, the unit's map as heat",
                     TOP_DRAWINGS, TOP_UNITS, layer, r->m->spec->layers[layer].name);
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
    report_section(f, "saliency", "Which pixels the decisions rest on");
    /* a large run: one drawing of each of the most confused classes, unless --per-class says otherwise */
    int per_class = r->o->per_class > 0 ? r->o->per_class : r->many ? 1 : 2, classes;
    uint64_t *records = NULL;
    size_t n = 0, *which = NULL, n_which;
    dd_image_set s = {0};
    int rc = -1;
    if (dd_explain_records_per_class(r->m, r->ds, DD_SPLIT_TEST, per_class, &records, &n, err)) goto done;
    if (!r->many && n > MAX_SALIENCY_DRAWINGS) n = MAX_SALIENCY_DRAWINGS; /* the first classes */
    if (dd_image_set_load(r->m, r->ds, records, n, &s, err)) goto done;
    if (s.n == 0) {
        fputs("<p class=\"note\">No test drawings.</p></section>\n", f);
        rc = 0;
        goto done;
    }
    if (!(which = dd_malloc(s.n, sizeof *which, err))) goto done;
    n_which = pick_shown(r, &s, per_class, r->many ? MANY_SALIENCY_CLASSES : r->n_focus, which, MAX_SALIENCY_DRAWINGS,
                         &classes);
    if (r->many) focus_note(r, classes);
    fputs("<p>For the predicted class: saliency (|gradient of the class score| per pixel), occlusion (the drop in "
          "the class probability when a patch around the pixel is blanked) and Grad-CAM (the last conv block's maps "
          "weighted by their mean gradient), each scaled to its own maximum.</p>\n",
          f);
    dd_picture *p = dd_explain_attribution_picture(e, r->m, &s, which, n_which, -1, -1, err);
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
    report_section(f, "suspect", "Suspect data");
    dd_quality_opts o = dd_quality_opts_default();
    dd_quality_report q;
    char dir[4200], path[8400];
    snprintf(dir, sizeof dir, "%s/quality", r->dir);
    if (dd_explain_quality(r->m, r->ds, &o, dir, &q, err)) return -1;
    fprintf(f, "<p>%zu drawings (train and test) checked. Labels the model contradicts with p &ge; %.2f: <b>%zu</b>. ",
            q.n, o.threshold, q.contradicted);
    if (q.recognized_unknown == q.n)
        fputs("Not recognized by Google's game: unknown (the source has no flag). ", f);
    else
        fprintf(f, "Not recognized by Google's game: <b>%zu</b>. ", q.not_recognized);
    fprintf(f,
            "Exact duplicates: <b>%zu</b> groups (%zu drawings, %zu groups in both train and test). Near duplicates: "
            "<b>%zu</b> groups (%zu drawings, %zu in both splits).</p>\n",
            q.exact_groups, q.exact_drawings, q.exact_across_split, q.near_groups, q.near_drawings,
            q.near_across_split);
    int rc = 0;
    if (q.contradicted_png[0]) {
        rc = report_figure(r, "quality", q.contradicted_png, "Labels the model confidently contradicts",
                           MANY_MAX_HEIGHT, err);
        snprintf(path, sizeof path, "%s/contradicted.csv", dir);
        if (rc == 0) {
            fprintf(f, "<details><summary>The first %d rows of explain/quality/contradicted.csv</summary>\n",
                    SUSPECT_ROWS);
            csv_table(f, path, SUSPECT_ROWS);
            fputs("</details>\n", f);
        }
    }
    if (rc == 0 && q.not_recognized_png[0])
        rc = report_figure(r, "quality", q.not_recognized_png, "Not recognized by Google's game", MANY_MAX_HEIGHT, err);
    if (rc == 0 && q.exact_png[0])
        rc = report_figure(r, "quality", q.exact_png, "Exact duplicates", MANY_MAX_HEIGHT, err);
    if (rc == 0 && q.near_png[0]) rc = report_figure(r, "quality", q.near_png, "Near duplicates", MANY_MAX_HEIGHT, err);
    if (rc == 0) fputs("</section>\n", f);
    return rc;
}

/* How the page links to RUNDIR/explain/: "explain" when the page is in RUNDIR (the folder can be moved or
 * served as a whole), else the absolute path. */
static void set_link(report *r, const char *out_path) {
    char dir[4200], page_dir[PATH_MAX], run_dir[PATH_MAX], explain[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", out_path);
    char *slash = strrchr(dir, '/');
    if (slash == dir)
        dir[1] = '\0';
    else if (slash)
        *slash = '\0';
    else
        snprintf(dir, sizeof dir, ".");
    if (realpath(dir, page_dir) && realpath(r->o->run_dir, run_dir) && strcmp(page_dir, run_dir) == 0)
        snprintf(r->link, sizeof r->link, "explain");
    else if (realpath(r->dir, explain))
        snprintf(r->link, sizeof r->link, "%s", explain);
    else
        snprintf(r->link, sizeof r->link, "%s", r->dir);
}

int dd_report_write(const dd_report_opts *o, dd_error *err) {
    report r = {.o = o};
    char model_path[4200], out_path[4200];
    snprintf(model_path, sizeof model_path, "%s/model.safetensors", o->run_dir);
    if (o->out_path)
        snprintf(out_path, sizeof out_path, "%s", o->out_path);
    else
        snprintf(out_path, sizeof out_path, "%s/report.html", o->run_dir);
    snprintf(r.dir, sizeof r.dir, "%s/explain", o->run_dir);
    dd_atomic_file a = {0};
    dd_explainer *e = NULL;
    int rc = -1;
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
    if (explain_make_dir(r.dir, err) || !(e = dd_explainer_new(r.m, err))) goto done;
    set_link(&r, out_path);
    say(&r, "evaluation");
    if (report_evaluate(&r, err) || dd_atomic_open(&a, out_path, err)) goto done;
    r.f = a.f;
    head(&r);
    say(&r, "data and model");
    if (settings_section(&r, err) || data_section(&r, err) || model_section(&r, err) || training_section(&r, err) ||
        report_evaluation_section(&r, err))
        goto done;
    if (r.has_test) {
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
    fprintf(r.f,
            "<p class=\"note\">Made by doodle. Quick, Draw! data by Google, CC BY 4.0.</p>\n<script>%s</script>\n"
            "</body></html>\n",
            REPORT_SORT_SCRIPT);
    rc = dd_atomic_commit(&a, err);
done:
    if (rc) dd_atomic_abort(&a);
    dd_explainer_free(e);
    if (r.has_test) dd_eval_result_free(&r.ev);
    free(r.focus);
    free(r.names);
    dd_dataset_close(r.ds);
    dd_model_free(r.m);
    return rc;
}
