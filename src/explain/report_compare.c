/* doodle report RUN_A RUN_B …: runs compared on one self-contained page (include/doodle/explain.h). This file loads
 * the runs, checks that their classes agree, evaluates every model on the same test split and writes the page's
 * head, the settings, the curves and the test figures; report_compare_classes.c and report_compare_drawings.c
 * write the rest. */
#define _XOPEN_SOURCE 700 /* realpath */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "explain/report_compare.h"
#include "doodle/alloc.h"
#include "doodle/files.h"

static const char *const COLOURS[DD_COMPARE_MAX_RUNS] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728",
                                                         "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"};

static const char *EXTRA_STYLE =
    "tr.diff th,tr.diff td{background:#fff3c4}.swatch{display:inline-block;width:14px;height:14px;"
    "vertical-align:middle;margin-right:6px;border-radius:2px}td.up{color:#1a7f37}td.down{color:#c62828}"
    "table.settings th,table.cmp th,table.runs td{text-align:left}";

static void say(const compare *c, const char *what) {
    if (c->o->log) {
        fprintf(c->o->log, "report: %s\n", what);
        fflush(c->o->log);
    }
}

uint64_t compare_support(const compare *c, int cls) {
    uint64_t s = 0;
    for (int p = 0; p < c->k; p++) s += c->run[0].confusion[(size_t)cls * c->k + p];
    return s;
}

uint64_t compare_correct(const compare *c, int r, int cls) { return c->run[r].confusion[(size_t)cls * c->k + cls]; }

/* Names of the classes of a that b lacks, "x, y, z and 4 more", into buf. */
static void missing(const dd_model *a, const dd_model *b, char *buf, size_t size) {
    int shown = 0, more = 0;
    size_t at = 0;
    buf[0] = '\0';
    for (int i = 0; i < a->spec->classes; i++) {
        int found = 0;
        for (int j = 0; j < b->spec->classes && !found; j++) found = strcmp(a->class_names[i], b->class_names[j]) == 0;
        if (found) continue;
        if (shown < 5 && at < size) {
            int w = snprintf(buf + at, size - at, "%s%s", shown ? ", " : "", a->class_names[i]);
            at += w > 0 ? (size_t)w : 0;
            shown++;
        } else {
            more++;
        }
    }
    if (more && at < size) snprintf(buf + at, size - at, " and %d more", more);
    if (!shown) snprintf(buf, size, "none");
}

/* Run r's classes mapped onto the first run's by name; refused (naming both runs) unless they are the same set. */
static int match_classes(compare *c, int r, dd_error *err) {
    const dd_model *a = c->run[0].m, *b = c->run[r].m;
    int k = a->spec->classes;
    if (!(c->run[r].to_base = dd_malloc((size_t)b->spec->classes, sizeof *c->run[r].to_base, err))) return -1;
    int bad = b->spec->classes != k;
    for (int i = 0; i < b->spec->classes && !bad; i++) {
        c->run[r].to_base[i] = -1;
        for (int j = 0; j < k; j++)
            if (strcmp(b->class_names[i], a->class_names[j]) == 0) c->run[r].to_base[i] = j;
        bad = c->run[r].to_base[i] < 0;
    }
    if (!bad) return 0;
    char only_a[400], only_b[400];
    missing(a, b, only_a, sizeof only_a);
    missing(b, a, only_b, sizeof only_b);
    return dd_fail(err, DD_ERR_UNSUPPORTED,
                   "%s (%d classes) and %s (%d classes) were trained on different class lists "
                   "(only in %s: %s; only in %s: %s): their results per class cannot be compared",
                   c->run[0].dir, k, c->run[r].dir, b->spec->classes, c->run[0].dir, only_a, c->run[r].dir, only_b);
}

static int load_run(compare *c, int r, dd_error *err) {
    compare_run *run = &c->run[r];
    char path[4200];
    run->dir = c->o->run_dirs[r];
    run->label[0] = (char)('A' + r);
    run->colour = COLOURS[r];
    snprintf(path, sizeof path, "%s/model.safetensors", run->dir);
    if (!(run->m = dd_model_load(path, err))) return -1;
    if (report_settings_read(run->dir, run->m, c->o->version, &run->settings, err)) return -1;
    snprintf(path, sizeof path, "%s/history.csv", run->dir);
    if (report_read_history(path, &run->history, &run->n_history, &run->chose_on_test, err)) return -1;
    run->has_test_json = report_read_test_json(run->dir, &run->test_acc, &run->test_top3, &run->test_epoch);
    return 0;
}

/* Every model on the test split of the chosen data, its confusion matrix in the first run's class order. */
static int evaluate(compare *c, int r, dd_error *err) {
    compare_run *run = &c->run[r];
    int k = c->k;
    if (dd_eval_run(run->m, c->ds, DD_SPLIT_TEST, 64, &run->ev, err)) {
        if (err->code == DD_ERR_EMPTY)
            return dd_fail(err, DD_ERR_EMPTY,
                           "%s has no test split: nothing to compare the runs on (give --data "
                           "with one)",
                           c->data_path);
        dd_error_prefix(err, "%s/model.safetensors on %s", run->dir, c->data_path);
        return -1;
    }
    run->has_ev = true;
    if (!(run->confusion = dd_calloc((size_t)k * (size_t)k, sizeof *run->confusion, err))) return -1;
    for (int t = 0; t < k; t++)
        for (int p = 0; p < k; p++)
            run->confusion[(size_t)run->to_base[t] * k + run->to_base[p]] =
                run->ev.metrics.confusion[(size_t)t * k + p];
    return 0;
}

/* Same file: the same data hash, else the same real path. */
static bool same_data(const report_settings *s, const char *path, const char *hash) {
    if (s->data_hash[0] && hash[0]) return strcmp(s->data_hash, hash) == 0;
    char a[PATH_MAX], b[PATH_MAX];
    return s->data_path[0] && realpath(s->data_path, a) && realpath(path, b) && strcmp(a, b) == 0;
}

static void head(compare *c) {
    FILE *f = c->f;
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
          "<link rel=\"icon\" href=\"data:,\"><title>doodle: runs compared</title>",
          f);
    fprintf(f, "<style>%s%s</style></head><body>\n<h1>doodle: %d runs compared</h1>\n", report_style(), EXTRA_STYLE,
            c->n);
    fputs("<table class=\"cmp runs\"><thead><tr><th>run</th><th>folder</th><th>model</th><th>trained on</th></tr>"
          "</thead><tbody>\n",
          f);
    for (int r = 0; r < c->n; r++) {
        const compare_run *run = &c->run[r];
        fprintf(f, "<tr><td><span class=\"swatch\" style=\"background:%s\"></span><b>%s</b></td><td><code>",
                run->colour, run->label);
        html_text(f, run->dir);
        fputs("</code></td><td>", f);
        const char *name = report_model_name(run->m);
        html_text(f, name ? name : "a cfg of its own");
        fputs("</td><td><code>", f);
        html_text(f, run->settings.data_path[0] ? run->settings.data_path : "not recorded");
        fputs("</code></td></tr>\n", f);
    }
    fputs("</tbody></table>\n<p>", f);
    fprintf(f,
            "%s is the baseline: every other run is compared with it. All %d models are evaluated on the test split "
            "of <code>",
            c->run[0].label, c->n);
    html_text(f, c->data_path);
    fprintf(f, "</code> (%s", c->o->data_path ? "given by --data" : "the first run's data set; --data chooses another");
    /* the hash of the evaluated set, to say which runs were trained on another */
    char hash[20] = "";
    for (int r = 0; r < c->n && !hash[0]; r++)
        if (strcmp(c->run[r].settings.data_path, c->data_path) == 0) memcpy(hash, c->run[r].settings.data_hash, 20);
    int others = 0;
    for (int r = 0; r < c->n; r++) {
        if (same_data(&c->run[r].settings, c->data_path, hash)) continue;
        fprintf(f, "%s %s", others++ ? "," : "; trained on another data set with the same classes:", c->run[r].label);
    }
    char when[64];
    time_t now = time(NULL);
    struct tm tm;
    strftime(when, sizeof when, "%Y-%m-%d %H:%M UTC", gmtime_r(&now, &tm));
    fprintf(f, "), %d classes; written %s.</p>\n", c->k, when);
    fputs(
        "<nav><a href=\"#settings\">Settings</a><a href=\"#curves\">Curves</a><a href=\"#test\">Test</a>"
        "<a href=\"#classes\">Per class</a><a href=\"#pairs\">Confusions</a><a href=\"#drawings\">Drawings</a></nav>\n",
        f);
}

static void run_heads(const compare *c) {
    for (int r = 0; r < c->n; r++)
        fprintf(c->f, "<th><span class=\"swatch\" style=\"background:%s\"></span>%s</th>", c->run[r].colour,
                c->run[r].label);
}

/* The settings that differ between the runs (highlighted, side by side) and those they share. */
static void settings_section(compare *c) {
    FILE *f = c->f;
    report_section(f, "settings", "Settings");
    bool differs[SET_COUNT], any[SET_COUNT];
    int n_diff = 0, n_same = 0;
    for (int k = 0; k < SET_COUNT; k++) {
        differs[k] = any[k] = false;
        for (int r = 0; r < c->n; r++) {
            any[k] |= c->run[r].settings.value[k][0] != '\0';
            differs[k] |= strcmp(c->run[r].settings.value[k], c->run[0].settings.value[k]) != 0;
        }
        n_diff += any[k] && differs[k];
        n_same += any[k] && !differs[k];
    }
    fprintf(f, "<h3>Settings that differ (%d)</h3>\n", n_diff);
    if (n_diff == 0) {
        fputs("<p>None: the runs were trained the same way.</p>\n", f);
    } else {
        fputs("<table class=\"settings differ\"><thead><tr><th>setting</th>", f);
        run_heads(c);
        fputs("</tr></thead><tbody>\n", f);
        for (int k = 0; k < SET_COUNT; k++) {
            if (!any[k] || !differs[k]) continue;
            fputs("<tr class=\"diff\"><th>", f);
            html_text(f, report_setting_name((report_setting_key)k));
            fputs("</th>", f);
            for (int r = 0; r < c->n; r++) {
                fputs("<td>", f);
                html_text(f, c->run[r].settings.value[k][0] ? c->run[r].settings.value[k] : "not stored");
                fputs("</td>", f);
            }
            fputs("</tr>\n", f);
        }
        fputs("</tbody></table>\n", f);
    }
    fprintf(f, "<h3>Settings shared (%d)</h3>\n<table class=\"settings shared\"><tbody>\n", n_same);
    for (int k = 0; k < SET_COUNT; k++) {
        if (!any[k] || differs[k]) continue;
        fputs("<tr><th>", f);
        html_text(f, report_setting_name((report_setting_key)k));
        fputs("</th><td>", f);
        html_text(f, c->run[0].settings.value[k]);
        fputs("</td></tr>\n", f);
    }
    fputs("</tbody></table>\n", f);
    for (int r = 0; r < c->n; r++)
        if (c->run[r].settings.note[0]) {
            fprintf(f, "<p class=\"note\">%s: ", c->run[r].label);
            html_text(f, c->run[r].settings.note);
            fputs("</p>\n", f);
        }
    fputs("</section>\n", f);
}

static int curves_section(compare *c, dd_error *err) {
    FILE *f = c->f;
    report_section(f, "curves", "Training curves");
    const report_epoch *rows[DD_COMPARE_MAX_RUNS];
    size_t n[DD_COMPARE_MAX_RUNS];
    const char *label[DD_COMPARE_MAX_RUNS], *colour[DD_COMPARE_MAX_RUNS];
    for (int r = 0; r < c->n; r++) {
        rows[r] = c->run[r].history;
        n[r] = c->run[r].n_history;
        label[r] = c->run[r].label;
        colour[r] = c->run[r].colour;
    }
    fputs("<div class=\"plots\">\n", f);
    for (int which = 0; which < 3; which++) svg_runs_plot(f, rows, n, c->n, label, colour, which);
    fputs("</div>\n<table class=\"cmp curves\"><thead><tr><th>run</th><th>epochs</th><th>best validation accuracy"
          "</th><th>at epoch</th><th>last train accuracy</th><th>seconds</th></tr></thead><tbody>\n",
          f);
    for (int r = 0; r < c->n; r++) {
        const compare_run *run = &c->run[r];
        fprintf(f, "<tr><td><span class=\"swatch\" style=\"background:%s\"></span>%s</td>", run->colour, run->label);
        if (run->n_history == 0) {
            fputs("<td colspan=\"5\">no history.csv</td></tr>\n", f);
            continue;
        }
        size_t best = 0;
        double seconds = 0;
        for (size_t i = 0; i < run->n_history; i++) {
            if (run->history[i].val_acc > run->history[best].val_acc) best = i;
            seconds += run->history[i].seconds;
        }
        if (isnan(run->history[best].val_acc))
            fprintf(f, "<td>%zu</td><td>no validation split</td><td></td>", run->n_history);
        else
            fprintf(f, "<td>%zu</td><td>%.2f%%%s</td><td>%d</td>", run->n_history, 100 * run->history[best].val_acc,
                    run->chose_on_test ? " (on test: an old run)" : "", run->history[best].epoch);
        fprintf(f, "<td>%.2f%%</td><td>%.1f</td></tr>\n", 100 * run->history[run->n_history - 1].train_acc, seconds);
    }
    fputs("</tbody></table>\n</section>\n", f);
    (void)err;
    return 0;
}

static void test_section(compare *c) {
    FILE *f = c->f;
    report_section(f, "test", "Test accuracy");
    fputs("<p class=\"note\">test.json: the figures doodle train wrote for the chosen weights, on the test split of "
          "the run's own data set. The compared split: every model on the same test drawings (the tables below).</p>\n"
          "<table class=\"cmp test\"><thead><tr><th>run</th><th>chosen epoch</th><th>test.json accuracy</th>"
          "<th>test.json top-3</th><th>accuracy</th><th>correct</th><th>top-3</th><th>loss</th><th>change from ",
          f);
    fprintf(f, "%s</th></tr></thead><tbody>\n", c->run[0].label);
    double base = dd_metrics_accuracy(&c->run[0].ev.metrics);
    for (int r = 0; r < c->n; r++) {
        const compare_run *run = &c->run[r];
        const dd_metrics *mt = &run->ev.metrics;
        fprintf(f, "<tr data-run=\"%s\"><td><span class=\"swatch\" style=\"background:%s\"></span>%s</td>", run->label,
                run->colour, run->label);
        if (run->has_test_json)
            fprintf(f, "<td>%d</td><td>%.2f%%</td><td>%.2f%%</td>", run->test_epoch, 100 * run->test_acc,
                    100 * run->test_top3);
        else
            fputs("<td colspan=\"3\">no test.json</td>", f);
        double d = 100 * (dd_metrics_accuracy(mt) - base);
        fprintf(f,
                "<td><b>%.2f%%</b></td><td>%llu of %llu</td><td>%.2f%%</td><td>%.4f</td><td class=\"%s\">%s%+.2f</td>"
                "</tr>\n",
                100 * dd_metrics_accuracy(mt), (unsigned long long)mt->correct, (unsigned long long)mt->total,
                100 * dd_metrics_topk(mt), dd_metrics_loss(mt),
                d > 0   ? "up"
                : d < 0 ? "down"
                        : "",
                r ? "" : "baseline ", d);
    }
    fputs("</tbody></table>\n</section>\n", f);
}

static int write_page(compare *c, dd_error *err) {
    head(c);
    settings_section(c);
    if (curves_section(c, err)) return -1;
    test_section(c);
    say(c, "accuracy per class and confusions");
    if (compare_classes_section(c, err)) return -1;
    say(c, "drawings right in one run, wrong in another");
    if (compare_drawings_section(c, err)) return -1;
    fprintf(c->f,
            "<p class=\"note\">Made by doodle %s. Quick, Draw! data by Google, CC BY 4.0.</p>\n"
            "<script>%s</script>\n</body></html>\n",
            c->o->version ? c->o->version : "", REPORT_SORT_SCRIPT);
    return 0;
}

int dd_report_compare(const dd_compare_opts *o, dd_error *err) {
    if (o->n_runs < 2 || o->n_runs > DD_COMPARE_MAX_RUNS || !o->out_path)
        return dd_fail(err, DD_ERR_USAGE, "comparing wants 2 to %d run folders and an output file",
                       DD_COMPARE_MAX_RUNS);
    compare c = {.o = o, .n = o->n_runs};
    dd_atomic_file a = {0};
    int rc = -1;
    if (!(c.run = dd_calloc((size_t)c.n, sizeof *c.run, err))) return -1;
    say(&c, "reading the runs");
    for (int r = 0; r < c.n; r++)
        if (load_run(&c, r, err)) {
            if (!strstr(err->msg, c.run[r].dir)) dd_error_prefix(err, "%s", c.run[r].dir);
            goto done;
        }
    c.k = c.run[0].m->spec->classes;
    c.many = c.k > REPORT_MANY_CLASSES;
    for (int r = 0; r < c.n; r++)
        if (match_classes(&c, r, err)) goto done;
    if (o->data_path)
        snprintf(c.data_path, sizeof c.data_path, "%s", o->data_path);
    else if (c.run[0].settings.data_path[0])
        snprintf(c.data_path, sizeof c.data_path, "%s", c.run[0].settings.data_path);
    else {
        dd_fail(err, DD_ERR_USAGE,
                "%s/dataset.txt: the first run does not say which data set it was trained on; give "
                "--data D.dset",
                c.run[0].dir);
        goto done;
    }
    if (!(c.ds = dd_dataset_open(c.data_path, err))) goto done;
    if (!(c.names = dd_malloc((size_t)c.k, sizeof *c.names, err))) goto done;
    for (int i = 0; i < c.k; i++) c.names[i] = c.run[0].m->class_names[i];
    for (int r = 0; r < c.n; r++) {
        char what[4300];
        snprintf(what, sizeof what, "evaluating %s on the test split", c.run[r].dir);
        say(&c, what);
        if (evaluate(&c, r, err)) goto done;
    }
    if (dd_atomic_open(&a, o->out_path, err)) goto done;
    c.f = a.f;
    if (write_page(&c, err)) goto done;
    rc = dd_atomic_commit(&a, err);
done:
    if (rc) dd_atomic_abort(&a);
    for (int r = 0; r < c.n; r++) {
        compare_run *run = &c.run[r];
        if (run->has_ev) dd_eval_result_free(&run->ev);
        free(run->confusion);
        free(run->to_base);
        free(run->history);
        dd_model_free(run->m);
    }
    free(c.run);
    free(c.names);
    dd_dataset_close(c.ds);
    return rc;
}
