/* A scatter plot a person reads: the first two PCA scores of the drawings, one colour per cluster (Tableau's ten,
 * then repeated with another marker), noise as grey crosses; axes with round-numbered ticks, axis labels, a title
 * and a legend with each cluster's size. Drawn with cairo. */
#include <cairo.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "viz/scatter.h"
#include "doodle/alloc.h"
#include "viz/png_file.h"

#define WIDTH 960
#define HEIGHT 680
#define LEFT 80
#define RIGHT 210 /* room for the legend */
#define TOP 50
#define BOTTOM 70

static const uint32_t palette[10] = {0x1f77b4, 0xff7f0e, 0x2ca02c, 0xd62728, 0x9467bd,
                                     0x8c564b, 0xe377c2, 0x7f7f7f, 0xbcbd22, 0x17becf};

static void set_rgb(cairo_t *cr, uint32_t rgb, double alpha) {
    cairo_set_source_rgba(cr, ((rgb >> 16) & 0xFF) / 255.0, ((rgb >> 8) & 0xFF) / 255.0, (rgb & 0xFF) / 255.0, alpha);
}

/* A round step (1, 2 or 5 times a power of ten) giving about 6 ticks over span. */
static double tick_step(double span) {
    double raw = span / 6, p = pow(10, floor(log10(raw))), f = raw / p;
    return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * p;
}

static void marker(cairo_t *cr, double x, double y, int label) {
    if (label < 0) { /* noise: a small grey cross */
        set_rgb(cr, 0x999999, 0.8);
        cairo_move_to(cr, x - 2.5, y - 2.5);
        cairo_line_to(cr, x + 2.5, y + 2.5);
        cairo_move_to(cr, x - 2.5, y + 2.5);
        cairo_line_to(cr, x + 2.5, y - 2.5);
        cairo_stroke(cr);
        return;
    }
    set_rgb(cr, palette[label % 10], 0.75);
    if ((label / 10) % 2 == 0) {
        cairo_arc(cr, x, y, 3.2, 0, 2 * 3.14159265358979);
    } else {
        cairo_rectangle(cr, x - 3, y - 3, 6, 6);
    }
    cairo_fill(cr);
}

static void text_at(cairo_t *cr, const char *s, double x, double y, double align_x, double align_y) {
    cairo_text_extents_t e;
    cairo_text_extents(cr, s, &e);
    cairo_move_to(cr, x - align_x * e.width - e.x_bearing, y - align_y * e.height - e.y_bearing);
    cairo_show_text(cr, s);
}

int viz_scatter_png(const char *path, const float *x, const float *y, const int32_t *labels, size_t n, int k,
                    const char *title, const char *xlabel, const char *ylabel, dd_error *err) {
    double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        x0 = fmin(x0, x[i]);
        x1 = fmax(x1, x[i]);
        y0 = fmin(y0, y[i]);
        y1 = fmax(y1, y[i]);
    }
    if (!(x1 > x0)) x0 -= 1, x1 += 1;
    if (!(y1 > y0)) y0 -= 1, y1 += 1;
    double padx = 0.04 * (x1 - x0), pady = 0.04 * (y1 - y0);
    x0 -= padx, x1 += padx, y0 -= pady, y1 += pady;
    const double pw = WIDTH - LEFT - RIGHT, ph = HEIGHT - TOP - BOTTOM;
#define PX(v) (LEFT + ((v)-x0) / (x1 - x0) * pw)
#define PY(v) (TOP + ph - ((v)-y0) / (y1 - y0) * ph)

    cairo_surface_t *surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, WIDTH, HEIGHT);
    cairo_t *cr = cairo_create(surface);
    int *sizes = dd_calloc((size_t)k + 1, sizeof *sizes, err);
    int rc = -1;
    if (!sizes) goto done;
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);

    /* grid and ticks */
    char buf[96];
    cairo_set_font_size(cr, 12);
    cairo_set_line_width(cr, 1);
    double sx = tick_step(x1 - x0), sy = tick_step(y1 - y0);
    for (double t = ceil(x0 / sx) * sx; t <= x1; t += sx) {
        set_rgb(cr, 0xe5e5e5, 1);
        cairo_move_to(cr, floor(PX(t)) + 0.5, TOP);
        cairo_line_to(cr, floor(PX(t)) + 0.5, TOP + ph);
        cairo_stroke(cr);
        set_rgb(cr, 0x333333, 1);
        snprintf(buf, sizeof buf, "%g", fabs(t) < 1e-9 * sx ? 0.0 : t);
        text_at(cr, buf, PX(t), TOP + ph + 8, 0.5, 0);
    }
    for (double t = ceil(y0 / sy) * sy; t <= y1; t += sy) {
        set_rgb(cr, 0xe5e5e5, 1);
        cairo_move_to(cr, LEFT, floor(PY(t)) + 0.5);
        cairo_line_to(cr, LEFT + pw, floor(PY(t)) + 0.5);
        cairo_stroke(cr);
        set_rgb(cr, 0x333333, 1);
        snprintf(buf, sizeof buf, "%g", fabs(t) < 1e-9 * sy ? 0.0 : t);
        text_at(cr, buf, LEFT - 8, PY(t), 1, 0.5);
    }
    set_rgb(cr, 0x333333, 1);
    cairo_rectangle(cr, LEFT + 0.5, TOP + 0.5, pw, ph);
    cairo_stroke(cr);

    /* points: noise first, so clusters are drawn over it */
    cairo_set_line_width(cr, 1.2);
    for (size_t i = 0; i < n; i++)
        if (labels[i] < 0) marker(cr, PX(x[i]), PY(y[i]), -1);
    for (size_t i = 0; i < n; i++) {
        if (labels[i] >= 0) marker(cr, PX(x[i]), PY(y[i]), labels[i]);
        sizes[labels[i] < 0 ? k : labels[i]]++;
    }

    /* title, axis labels, legend */
    set_rgb(cr, 0x111111, 1);
    cairo_set_font_size(cr, 16);
    text_at(cr, title, LEFT + pw / 2, TOP / 2.0, 0.5, 0.5);
    cairo_set_font_size(cr, 13);
    text_at(cr, xlabel, LEFT + pw / 2, HEIGHT - 22, 0.5, 0.5);
    cairo_save(cr);
    cairo_translate(cr, 22, TOP + ph / 2);
    cairo_rotate(cr, -3.14159265358979 / 2);
    text_at(cr, ylabel, 0, 0, 0.5, 0.5);
    cairo_restore(cr);
    double ly = TOP + 10, lx = LEFT + pw + 24;
    cairo_set_font_size(cr, 12);
    for (int c = 0; c <= k; c++) {
        if (c == k && sizes[k] == 0) break;
        if (ly > HEIGHT - 30) {
            set_rgb(cr, 0x333333, 1);
            text_at(cr, "...", lx, ly, 0, 0.5);
            break;
        }
        marker(cr, lx + 4, ly, c == k ? -1 : c);
        set_rgb(cr, 0x222222, 1);
        if (c == k)
            snprintf(buf, sizeof buf, "noise (%d)", sizes[k]);
        else
            snprintf(buf, sizeof buf, "cluster %d (%d)", c, sizes[c]);
        text_at(cr, buf, lx + 14, ly, 0, 0.5);
        ly += 20;
    }
    cairo_status_t st = cairo_status(cr);
    if (st != CAIRO_STATUS_SUCCESS) {
        dd_fail(err, DD_ERR_IO, "%s: cannot draw the plot: %s", path, cairo_status_to_string(st));
        goto done;
    }
    rc = viz_write_png(surface, path, err);
done:
#undef PX
#undef PY
    free(sizes);
    cairo_destroy(cr);
    cairo_surface_destroy(surface);
    return rc;
}
