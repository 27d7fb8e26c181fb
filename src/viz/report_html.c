/* HTML pieces of the report (see report_html.h). Everything is inline: no file, script or font is fetched. */
#include "viz/report_html.h"

#include <cairo.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "doodle/alloc.h"
#include "util/base64.h"
#include "viz/png_file.h"

void html_text(FILE *f, const char *text) {
    for (const char *c = text; *c; c++) {
        switch (*c) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(*c, f);
        }
    }
}

/* in pieces through a buffer on the stack: a picture may be megabytes */
static void base64(FILE *f, const unsigned char *p, size_t n) {
    enum { CHUNK = 3 * 1024 };
    char text[CHUNK / 3 * 4 + 1];
    for (size_t i = 0; i < n; i += CHUNK) {
        util_base64_encode(p + i, n - i < CHUNK ? n - i : CHUNK, text);
        fputs(text, f);
    }
}

void html_png(FILE *f, const unsigned char *png, size_t size, const char *alt) {
    fputs("<img alt=\"", f);
    html_text(f, alt);
    fputs("\" src=\"data:image/png;base64,", f);
    base64(f, png, size);
    fputs("\">", f);
}

int html_png_file(FILE *f, const char *path, const char *alt, dd_error *err) {
    FILE *in = fopen(path, "rb");
    if (!in) return dd_fail(err, DD_ERR_IO, "%s: %s", path, strerror(errno));
    unsigned char *buf = NULL;
    size_t size = 0, cap = 0;
    for (;;) {
        if (size == cap) {
            cap = cap ? 2 * cap : 1 << 16;
            unsigned char *b = dd_realloc(buf, cap, 1, err);
            if (!b) {
                free(buf);
                fclose(in);
                return -1;
            }
            buf = b;
        }
        size_t got = fread(buf + size, 1, cap - size, in);
        size += got;
        if (got == 0) break;
    }
    int bad = ferror(in);
    fclose(in);
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (bad || size < 8 || memcmp(buf, sig, 8)) {
        free(buf);
        return dd_fail(err, DD_ERR_MALFORMED, "%s: cannot read it as a PNG", path);
    }
    html_png(f, buf, size, alt);
    free(buf);
    return 0;
}

int report_read_history(const char *path, report_epoch **rows, size_t *n, bool *chose_on_test, dd_error *err) {
    *rows = NULL;
    *n = 0;
    *chose_on_test = false;
    FILE *f = fopen(path, "r");
    if (!f) return errno == ENOENT ? 0 : dd_fail(err, DD_ERR_IO, "%s: %s", path, strerror(errno));
    char line[512];
    size_t cap = 0, lineno = 0;
    int rc = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        if (lineno == 1) {
            *chose_on_test = !strncmp(line, "epoch,train_loss,train_acc,test_loss,test_acc,seconds", 53);
            if (!*chose_on_test &&
                strncmp(line, "epoch,train_loss,train_acc,val_loss,val_acc,val_top3,lr,seconds", 63)) {
                rc = dd_fail(err, DD_ERR_MALFORMED, "%s:1: not a history.csv header", path);
                break;
            }
            continue;
        }
        if (line[0] == '\n' || line[0] == '\0') continue;
        report_epoch e = {.val_top3 = NAN, .lr = NAN};
        int end = -1, got; /* strict: nothing after the numbers but the line's end */
        if (*chose_on_test)
            got = sscanf(line, "%d,%lf,%lf,%lf,%lf,%lf%n", &e.epoch, &e.train_loss, &e.train_acc, &e.val_loss,
                         &e.val_acc, &e.seconds, &end) == 6;
        else
            got = sscanf(line, "%d,%lf,%lf,%lf,%lf,%lf,%lf,%lf%n", &e.epoch, &e.train_loss, &e.train_acc, &e.val_loss,
                         &e.val_acc, &e.val_top3, &e.lr, &e.seconds, &end) == 8;
        if (!got || end < 0 || strspn(line + end, "\r\n") != strlen(line + end)) {
            rc = dd_fail(err, DD_ERR_MALFORMED, "%s:%zu: expected the epoch and %d numbers", path, lineno,
                         *chose_on_test ? 5 : 7);
            break;
        }
        if (*n == cap) {
            cap = cap ? 2 * cap : 32;
            report_epoch *r = dd_realloc(*rows, cap, sizeof *r, err);
            if (!r) {
                rc = -1;
                break;
            }
            *rows = r;
        }
        (*rows)[(*n)++] = e;
    }
    fclose(f);
    if (rc) {
        free(*rows);
        *rows = NULL;
        *n = 0;
    }
    return rc;
}

/* A "nice" tick step for a range: 1, 2 or 5 times a power of ten, about 5 ticks. */
static double tick_step(double range) {
    if (!(range > 0)) return 1;
    double raw = range / 5, p = pow(10, floor(log10(raw))), m = raw / p;
    return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
}

/* The y axis of a plot from its data's range: accuracy (which = 1) a little beyond the data within 0..1, loss and
 * learning rate from 0 to a little above; rounded out to whole ticks. Returns the tick step. */
static double axis_range(int which, double *lo, double *hi) {
    if (which == 1) {
        *hi = fmin(1, *hi + 0.02);
        *lo = fmax(0, *lo - 0.02);
    } else {
        *lo = 0;
        *hi = *hi * 1.08;
    }
    if (!(*hi > *lo)) *hi = *lo + 1;
    double step = tick_step(*hi - *lo);
    *lo = floor(*lo / step) * step;
    *hi = ceil(*hi / step) * step;
    return step;
}

/* Series s (0 train, 1 the second) of a plot at epoch row e; nan where there is none. */
static double series(const report_epoch *e, int which, int s) {
    if (which == 2) return s ? NAN : e->lr;
    if (which == 1) return s ? e->val_acc : e->train_acc;
    return s ? e->val_loss : e->train_loss;
}

/* The frame every plot shares: 520 x 300 points, margins for the labels, epochs across, values up. */
typedef struct plot_frame {
    double lo, hi, step; /* the y axis (axis_range) */
    int first, last;     /* the epochs */
} plot_frame;
enum { PLOT_W = 520, PLOT_H = 300, PLOT_L = 60, PLOT_R = 20, PLOT_T = 34, PLOT_B = 46 };

static double plot_x(const plot_frame *p, double epoch) {
    double span = p->last > p->first ? p->last - p->first : 1;
    return PLOT_L + (epoch - p->first) / span * (PLOT_W - PLOT_L - PLOT_R);
}

static double plot_y(const plot_frame *p, double v) {
    return PLOT_H - PLOT_B - (v - p->lo) / (p->hi - p->lo) * (PLOT_H - PLOT_T - PLOT_B);
}

/* Opens the SVG and draws its title, grid, y labels, epoch ticks and axes; ylabel (may be NULL) beside the axis. */
static void svg_frame(FILE *f, const plot_frame *p, int which, const char *title, const char *ylabel) {
    fprintf(f,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
            "role=\"img\" font-family=\"sans-serif\" font-size=\"12\">\n",
            PLOT_W, PLOT_H, PLOT_W, PLOT_H);
    fprintf(f, "<text x=\"%d\" y=\"20\" font-size=\"15\" font-weight=\"bold\">%s</text>\n", PLOT_L, title);
    for (double v = p->lo; v <= p->hi + p->step / 2; v += p->step) { /* grid and y labels */
        fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#ddd\"/>", PLOT_L, plot_y(p, v),
                PLOT_W - PLOT_R, plot_y(p, v));
        fprintf(f, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%g</text>\n", PLOT_L - 6, plot_y(p, v) + 4,
                which == 1   ? round(v * 1000) / 10
                : which == 2 ? v
                             : round(v * 1e4) / 1e4);
    }
    int estep = (int)ceil((p->last - p->first + 1) / 12.0);
    if (estep < 1) estep = 1;
    for (int e = p->first; e <= p->last; e += estep)
        fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%d</text>", plot_x(p, e), PLOT_H - PLOT_B + 16, e);
    fprintf(f, "\n<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">epoch</text>\n", (PLOT_L + PLOT_W - PLOT_R) / 2,
            PLOT_H - 10);
    if (ylabel)
        fprintf(f, "<text x=\"14\" y=\"%d\" text-anchor=\"middle\" transform=\"rotate(-90 14 %d)\">%s</text>\n",
                (PLOT_T + PLOT_H - PLOT_B) / 2, (PLOT_T + PLOT_H - PLOT_B) / 2, ylabel);
    fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#444\"/>", PLOT_L, PLOT_H - PLOT_B,
            PLOT_W - PLOT_R, PLOT_H - PLOT_B);
    fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#444\"/>\n", PLOT_L, PLOT_T, PLOT_L,
            PLOT_H - PLOT_B);
}

void svg_history_plot(FILE *f, const report_epoch *rows, size_t n, int which, const char *second) {
    plot_frame p = {.lo = INFINITY, .hi = -INFINITY, .first = rows[0].epoch, .last = rows[n - 1].epoch};
    for (size_t i = 0; i < n; i++)
        for (int s = 0; s < 2; s++) { /* fmin and fmax leave nan out */
            p.lo = fmin(p.lo, series(&rows[i], which, s));
            p.hi = fmax(p.hi, series(&rows[i], which, s));
        }
    if (!isfinite(p.lo) || !isfinite(p.hi)) return; /* nothing to draw (an old history has no learning rate) */
    p.step = axis_range(which, &p.lo, &p.hi);
    svg_frame(f, &p, which,
              which == 2 ? "Learning rate (at each epoch's end)"
              : which    ? "Accuracy per epoch"
                         : "Loss (cross-entropy) per epoch",
              which == 2 ? "learning rate"
              : which    ? "accuracy (%)"
                         : "loss");
    const char *colour[2] = {"#1f77b4", "#ff7f0e"}, *name[2] = {which == 2 ? "learning rate" : "train", second};
    for (int s = 0; s < 2; s++) {
        bool any = false;
        for (size_t i = 0; i < n; i++) any |= !isnan(series(&rows[i], which, s));
        if (!any) continue; /* no validation split, or the learning rate's one series */
        fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"", colour[s]);
        for (size_t i = 0; i < n; i++)
            if (!isnan(series(&rows[i], which, s)))
                fprintf(f, "%.1f,%.1f ", plot_x(&p, rows[i].epoch), plot_y(&p, series(&rows[i], which, s)));
        fputs("\"/>\n", f);
        for (size_t i = 0; i < n; i++) {
            double v = series(&rows[i], which, s);
            if (!isnan(v))
                fprintf(
                    f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"><title>%s, epoch %d: %.4g</title></circle>",
                    plot_x(&p, rows[i].epoch), plot_y(&p, v), colour[s], name[s], rows[i].epoch, v);
        }
        fprintf(f,
                "\n<rect x=\"%d\" y=\"%d\" width=\"14\" height=\"3\" fill=\"%s\"/><text x=\"%d\" y=\"%d\">%s</text>\n",
                PLOT_W - PLOT_R - 70, 14 + 14 * s, colour[s], PLOT_W - PLOT_R - 52, 18 + 14 * s, name[s]);
    }
    fputs("</svg>\n", f);
}

void svg_runs_plot(FILE *f, const report_epoch *const *rows, const size_t *n, int runs, const char *const *label,
                   const char *const *colour, int which) {
    plot_frame p = {.lo = INFINITY, .hi = -INFINITY, .first = INT32_MAX, .last = INT32_MIN};
    for (int k = 0; k < runs; k++)
        for (size_t i = 0; i < n[k]; i++) {
            for (int s = 0; s < 2; s++) {
                p.lo = fmin(p.lo, series(&rows[k][i], which, s));
                p.hi = fmax(p.hi, series(&rows[k][i], which, s));
            }
            p.first = rows[k][i].epoch < p.first ? rows[k][i].epoch : p.first;
            p.last = rows[k][i].epoch > p.last ? rows[k][i].epoch : p.last;
        }
    if (!isfinite(p.lo) || !isfinite(p.hi)) return;
    p.step = axis_range(which, &p.lo, &p.hi);
    svg_frame(f, &p, which,
              which == 2 ? "Learning rate"
              : which    ? "Accuracy (solid: validation, dashed: train)"
                         : "Loss (solid: validation, dashed: train)",
              NULL);
    for (int k = 0; k < runs; k++) {
        /* the learning rate is the first series; else train (dashed) under validation (solid) */
        for (int s = 0; s < (which == 2 ? 1 : 2); s++) {
            bool any = false;
            for (size_t i = 0; i < n[k]; i++) any |= !isnan(series(&rows[k][i], which, s));
            if (!any) continue;
            bool dashed = which != 2 && s == 0;
            fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\"%s points=\"", colour[k],
                    dashed ? " stroke-dasharray=\"5 4\" opacity=\"0.7\"" : "");
            for (size_t i = 0; i < n[k]; i++)
                if (!isnan(series(&rows[k][i], which, s)))
                    fprintf(f, "%.1f,%.1f ", plot_x(&p, rows[k][i].epoch), plot_y(&p, series(&rows[k][i], which, s)));
            fputs("\"/>\n", f);
            for (size_t i = 0; i < n[k]; i++) {
                double v = series(&rows[k][i], which, s);
                if (isnan(v)) continue;
                fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"><title>", plot_x(&p, rows[k][i].epoch),
                        plot_y(&p, v), colour[k]);
                html_text(f, label[k]);
                fprintf(f, " %s, epoch %d: %.4g</title></circle>",
                        which == 2 ? "learning rate"
                        : s        ? "validation"
                                   : "train",
                        rows[k][i].epoch, v);
            }
            fputs("\n", f);
        }
        fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"14\" height=\"3\" fill=\"%s\"/><text x=\"%d\" y=\"%d\">",
                PLOT_W - PLOT_R - 90, PLOT_T + 4 + 14 * k, colour[k], PLOT_W - PLOT_R - 72, PLOT_T + 8 + 14 * k);
        html_text(f, label[k]);
        fputs("</text>\n", f);
    }
    fputs("</svg>\n", f);
}

/* One cell shaded by its share of the row: the diagonal in blue, errors in red, the deeper the larger. */
static void confusion_cell(FILE *f, uint64_t v, uint64_t row, int diagonal, int blank_zero) {
    double share = row ? (double)v / (double)row : 0;
    int r = diagonal ? (int)lround(255 - 200 * share) : 255, g = (int)lround(255 - 200 * share),
        b = diagonal ? 255 : (int)lround(255 - 200 * share);
    fprintf(f, "<td style=\"background:rgb(%d,%d,%d)%s\" title=\"%.1f%% of the row\">", r, g, b,
            share > 0.6 ? ";color:#fff" : "", 100 * share);
    if (v || !blank_zero) fprintf(f, "%llu", (unsigned long long)v);
    fputs("</td>", f);
}

void html_confusion(FILE *f, const uint64_t *confusion, int classes, const char *const *names, const int *which,
                    int n) {
    if (!which) n = classes;
    fprintf(f, "<table class=\"confusion%s\"><tr><th>true \\ predicted</th>", which ? " part" : "");
    for (int j = 0; j < n; j++) {
        fputs("<th class=\"rot\"><div>", f);
        html_text(f, names[which ? which[j] : j]);
        fputs("</div></th>", f);
    }
    fputs(which ? "<th class=\"rot\"><div>other classes</div></th></tr>\n" : "</tr>\n", f);
    for (int i = 0; i < n; i++) {
        int t = which ? which[i] : i;
        uint64_t row = 0, shown = 0;
        for (int c = 0; c < classes; c++) row += confusion[(size_t)t * classes + c];
        fputs("<tr><th>", f);
        html_text(f, names[t]);
        fputs("</th>", f);
        for (int j = 0; j < n; j++) {
            int c = which ? which[j] : j;
            shown += confusion[(size_t)t * classes + c];
            confusion_cell(f, confusion[(size_t)t * classes + c], row, t == c, which != NULL);
        }
        if (which) confusion_cell(f, row - shown, row, 0, 1); /* the rest of the row, so that it adds up */
        fputs("</tr>\n", f);
    }
    fputs("</table>\n", f);
}

/* The last row at or above y (down to y * 2 / 3) whose pixels are all white: a gap between rows of tiles. */
static int blank_row_above(cairo_surface_t *s, int y) {
    const unsigned char *data = cairo_image_surface_get_data(s);
    int stride = cairo_image_surface_get_stride(s), w = cairo_image_surface_get_width(s);
    for (int row = y; row > y * 2 / 3; row--) {
        const uint32_t *px = (const uint32_t *)(const void *)(data + (size_t)row * (size_t)stride);
        int x = 0;
        while (x < w && (px[x] & 0xFFFFFFu) == 0xFFFFFFu) x++;
        if (x == w) return row;
    }
    return y;
}

int html_png_file_cut(FILE *f, const char *path, const char *alt, int max_height, int *cut, dd_error *err) {
    *cut = 0;
    cairo_surface_t *s = max_height > 0 ? cairo_image_surface_create_from_png(path) : NULL;
    if (!s || cairo_surface_status(s) != CAIRO_STATUS_SUCCESS || cairo_image_surface_get_height(s) <= max_height ||
        (cairo_image_surface_get_format(s) != CAIRO_FORMAT_ARGB32 &&
         cairo_image_surface_get_format(s) != CAIRO_FORMAT_RGB24)) {
        if (s) cairo_surface_destroy(s); /* short enough, or not for cairo to read: as it is */
        return html_png_file(f, path, alt, err);
    }
    cairo_surface_flush(s);
    int h = blank_row_above(s, max_height), w = cairo_image_surface_get_width(s);
    cairo_surface_t *top = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h);
    cairo_t *cr = cairo_create(top);
    cairo_set_source_surface(cr, s, 0, 0);
    cairo_paint(cr);
    cairo_destroy(cr);
    unsigned char *data = NULL;
    size_t size = 0;
    cairo_status_t st = viz_png_bytes(top, &data, &size);
    cairo_surface_destroy(top);
    cairo_surface_destroy(s);
    if (st != CAIRO_STATUS_SUCCESS)
        return dd_fail(err, st == CAIRO_STATUS_NO_MEMORY ? DD_ERR_NOMEM : DD_ERR_IO, "%s: cutting the picture: %s",
                       path, cairo_status_to_string(st));
    html_png(f, data, size, alt);
    free(data);
    *cut = h;
    return 0;
}
