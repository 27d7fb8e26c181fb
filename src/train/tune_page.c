/* TUNEDIR/summary.html (tune.h): the trials ranked, the best one's settings and command, validation accuracy
 * against training time, and the best trials' curves drawn by the run comparison's plot (report_html.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "viz/report_html.h"
#include "train/tune.h"
#include "doodle/files.h"

#define CURVES_MAX 8

static const char *const colours[CURVES_MAX] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e",
                                                "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"};

static void pct(FILE *f, double v) {
    if (isnan(v))
        fputs("<td>–</td>", f);
    else
        fprintf(f, "<td>%.2f%%</td>", 100 * v);
}

/* Every trial's validation accuracy after each of its epochs against its cumulated training seconds: one
 * polyline a trial (the best ones in their curve colours, the others grey), so stopped trials show where they
 * stopped. */
static void time_plot(FILE *f, report_epoch *const *rows, const size_t *n, int count) {
    const double W = 640, H = 320, L = 56, R = 16, T = 16, B = 40;
    double tmax = 1, lo = 1, hi = 0;
    for (int t = 0; t < count; t++) {
        double sec = 0;
        for (size_t i = 0; i < n[t]; i++) {
            sec += isnan(rows[t][i].seconds) ? 0 : rows[t][i].seconds;
            double v = rows[t][i].val_acc;
            if (isnan(v)) continue;
            lo = fmin(lo, v);
            hi = fmax(hi, v);
        }
        tmax = fmax(tmax, sec);
    }
    if (hi < lo) lo = 0, hi = 1;
    lo = floor(lo * 20) / 20;
    hi = fmin(1, ceil(hi * 20) / 20 + (hi == lo ? 0.05 : 0));
    fprintf(f, "<svg class=\"plot\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" role=\"img\">\n", W, H, W,
            H);
    fprintf(f, "<rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" fill=\"none\" stroke=\"#999\"/>\n", L, T,
            W - L - R, H - T - B);
    for (int k = 0; k <= 4; k++) {
        double v = lo + (hi - lo) * k / 4, y = H - B - (H - T - B) * k / 4;
        fprintf(f, "<text x=\"%.0f\" y=\"%.1f\" font-size=\"11\" text-anchor=\"end\">%.1f%%</text>\n", L - 4, y + 4,
                100 * v);
        double s = tmax * k / 4, x = L + (W - L - R) * k / 4;
        fprintf(f, "<text x=\"%.1f\" y=\"%.0f\" font-size=\"11\" text-anchor=\"middle\">%.0f s</text>\n", x, H - B + 14,
                s);
    }
    fprintf(f,
            "<text x=\"%.0f\" y=\"%.0f\" font-size=\"12\" text-anchor=\"middle\">training time of the trial "
            "(seconds, the sum of its epochs)</text>\n",
            L + (W - L - R) / 2, H - 6);
    for (int t = count - 1; t >= 0; t--) { /* the best last, on top */
        const char *c = t < CURVES_MAX ? colours[t] : "#bbb";
        for (int pass = 0; pass < 2; pass++) { /* the line, then a dot per epoch (a trial of one epoch is a dot) */
            if (pass == 0)
                fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"%s\" points=\"", c,
                        t == 0 ? "2.5" : "1.5");
            double sec = 0;
            for (size_t i = 0; i < n[t]; i++) {
                sec += isnan(rows[t][i].seconds) ? 0 : rows[t][i].seconds;
                if (isnan(rows[t][i].val_acc)) continue;
                double x = L + (W - L - R) * sec / tmax,
                       y = H - B - (H - T - B) * (rows[t][i].val_acc - lo) / (hi - lo);
                if (pass == 0)
                    fprintf(f, "%.1f,%.1f ", x, y);
                else
                    fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>\n", x, y, c);
            }
            if (pass == 0) fputs("\"/>\n", f);
        }
    }
    fputs("</svg>\n", f);
}

int tune_write_page(const char *dir, const tune_space *s, const tune_result *res, int n, const char *command,
                    dd_error *err) {
    char path[4200];
    report_epoch **rows = calloc((size_t)(n ? n : 1), sizeof *rows);
    size_t *counts = calloc((size_t)(n ? n : 1), sizeof *counts);
    if (!rows || !counts) {
        free(rows);
        free(counts);
        return dd_fail(err, DD_ERR_NOMEM, "out of memory");
    }
    int rc = 0;
    for (int t = 0; t < n && rc == 0; t++) {
        bool old;
        snprintf(path, sizeof path, "%s/trial-%03d/history.csv", dir, res[t].trial);
        rc = report_read_history(path, &rows[t], &counts[t], &old, err);
    }
    dd_atomic_file a;
    snprintf(path, sizeof path, "%s/summary.html", dir);
    if (rc == 0) rc = dd_atomic_open(&a, path, err);
    if (rc == 0) {
        FILE *f = a.f;
        fputs("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>doodle tune: ", f);
        html_text(f, dir);
        fputs("</title>\n<style>body{font:14px/1.4 system-ui,sans-serif;margin:24px;max-width:1200px}"
              "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}"
              "th{background:#f3f3f3}tr.best td{font-weight:bold;background:#eef6ff}code,pre{background:#f6f6f6;"
              "padding:6px;display:block;white-space:pre-wrap}.swatch{display:inline-block;width:10px;height:10px;"
              "margin-right:4px}</style></head><body>\n<h1>doodle tune: ",
              f);
        html_text(f, dir);
        fprintf(f,
                "</h1>\n<p>%d trials, ranked by their best validation accuracy (the test split is not used to "
                "choose; a finished trial's test accuracy is shown for reference). Successive halving stopped the "
                "worse half of the trials at each rung.</p>\n",
                n);
        if (n > 0 && !isnan(res[0].val_acc)) {
            fprintf(f, "<h2>The best trial: trial-%03d</h2>\n<p>validation accuracy %.2f%% (epoch %d of %d)",
                    res[0].trial, 100 * res[0].val_acc, res[0].best_epoch, res[0].epochs);
            if (!isnan(res[0].test_acc)) fprintf(f, ", test accuracy %.2f%%", 100 * res[0].test_acc);
            fputs(". To train it again, bit for bit:</p>\n<pre>", f);
            html_text(f, command);
            fputs("</pre>\n", f);
        }
        fputs("<h2>Trials</h2>\n<table><thead><tr><th>rank</th><th>trial</th><th>status</th><th>epochs</th>"
              "<th>best epoch</th><th>validation</th><th>test</th><th>seconds</th>",
              f);
        for (int i = 0; i < s->n; i++) {
            if (!strcmp(s->p[i].name, "epochs")) continue; /* a column already */
            fputs("<th>", f);
            html_text(f, s->p[i].name);
            fputs("</th>", f);
        }
        fputs("</tr></thead><tbody>\n", f);
        for (int t = 0; t < n; t++) {
            fprintf(f, "<tr%s><td>", t == 0 ? " class=\"best\"" : "");
            if (t < CURVES_MAX) fprintf(f, "<span class=\"swatch\" style=\"background:%s\"></span>", colours[t]);
            fprintf(f, "%d</td><td>trial-%03d</td><td>%s</td><td>%d / %d</td><td>%d</td>", t + 1, res[t].trial,
                    res[t].status, res[t].epochs_done, res[t].epochs, res[t].best_epoch);
            pct(f, res[t].val_acc);
            pct(f, res[t].test_acc);
            fprintf(f, "<td>%.0f</td>", res[t].seconds);
            for (int i = 0; i < s->n; i++) {
                if (!strcmp(s->p[i].name, "epochs")) continue;
                fputs("<td>", f);
                html_text(f, res[t].values[i]);
                fputs("</td>", f);
            }
            fputs("</tr>\n", f);
        }
        fputs("</tbody></table>\n<h2>Validation accuracy against training time</h2>\n", f);
        time_plot(f, rows, counts, n);
        int shown = n < CURVES_MAX ? n : CURVES_MAX;
        if (shown > 0) {
            char labels[CURVES_MAX][16];
            const char *label[CURVES_MAX];
            const report_epoch *const *cr = (const report_epoch *const *)rows;
            for (int t = 0; t < shown; t++) {
                snprintf(labels[t], sizeof labels[t], "trial-%03d", res[t].trial);
                label[t] = labels[t];
            }
            fprintf(f, "<h2>The best %d trials' curves</h2>\n<div>", shown);
            for (int which = 0; which < 2; which++) svg_runs_plot(f, cr, counts, shown, label, colours, which);
            fputs("</div>\n", f);
        }
        fputs("</body></html>\n", f);
        rc = dd_atomic_commit(&a, err);
    }
    for (int t = 0; t < n; t++) free(rows[t]);
    free(rows);
    free(counts);
    return rc;
}
