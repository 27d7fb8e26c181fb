/* Rendering strokes to 8-bit images with cairo, following Google's recipe for the official 28x28 bitmaps.
 *
 * The recipe (it reproduces the official bitmaps exactly, see tests/test_render.c): an A8 image surface, cairo's
 * default anti-aliasing and default tolerance (0.1 device pixels), round caps and joins, line width 16 in drawing
 * units; the user space is scaled by side / (256 + 2 * padding + line_width) and translated by
 * padding + line_width / 2, and each drawing is shifted by (256 - max) / 2 on each axis (max over all its points).
 * Every stroke is its own path, started by move_to and line_to on its first point (so that a stroke of one point
 * is a zero-length segment, which cairo draws as a round dot), and stroked on its own, so where strokes cross the
 * coverage is composited with OVER. The image is drawn directly at its final size, not downscaled.
 *
 * Speed (bench_render, one core, the 8,600 simplified drawings of ../shared, 44.5 points each): about 19,500
 * drawings/s at 28x28 and 11,200 at 66x100. perf (cairo linked statically for its symbols): cairo's anti-aliasing
 * scan converter takes 80% of the time at 28x28 and 84% at 66x100 (15 sub-rows per pixel row and, at this scale,
 * almost every row holds polygon vertices, so the work is per edge per sub-row), its stroker about 10%, our own
 * code about 1%. Measured and rejected because they break the exact match: tolerance 0.15-0.3 (no faster, up to 25
 * grey levels off), one path for all strokes (+4%, up to 120 off), CAIRO_ANTIALIAS_FAST (1.8x faster, up to 146
 * off), drawing 4x larger and box-filtering down (slower, up to 98 off). Measured and left out because the gain
 * does not pay for the code: batching 32 drawings per cairo_stroke as tiles stacked in a column (byte-identical,
 * +4-8%, as the cost is per edge, not per call). More speed with these bytes needs our own implementation of
 * cairo's stroker and scan converter. */
#include "doodle/render.h"

#include <cairo.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doodle/alloc.h"

#define DD_RENDER_SIDE_MAX 16384u /* cairo's image surfaces are limited to 32767 pixels a side */
#define DD_RENDER_BOX 256.0       /* the simplified drawings' box */

struct dd_renderer {
    dd_render_opts opts;
    cairo_surface_t *surface;
    cairo_t *cr;
    unsigned char *data; /* the surface's pixels */
    int stride;
};

dd_render_opts dd_render_opts_default(uint32_t height, uint32_t width) {
    dd_render_opts o = {.height = height, .width = width, .line_width = 16.0, .padding = 16.0};
    return o;
}

int dd_render_opts_check(const dd_render_opts *o, dd_error *err) {
    if (o->height < 1 || o->width < 1 || o->height > DD_RENDER_SIDE_MAX || o->width > DD_RENDER_SIDE_MAX)
        return dd_fail(err, DD_ERR_RANGE, "image size %ux%u is out of range (1..%u on each side)", o->height, o->width,
                       DD_RENDER_SIDE_MAX);
    if (!isfinite(o->line_width) || o->line_width <= 0 || o->line_width > 1024)
        return dd_fail(err, DD_ERR_RANGE, "line width %g is out of range (more than 0, at most 1024)", o->line_width);
    if (!isfinite(o->padding) || o->padding < 0 || o->padding > 4096)
        return dd_fail(err, DD_ERR_RANGE, "padding %g is out of range (0..4096)", o->padding);
    return 0;
}

static int cairo_failed(cairo_status_t s, const char *what, dd_error *err) {
    return dd_fail(err, s == CAIRO_STATUS_NO_MEMORY ? DD_ERR_NOMEM : DD_ERR_IO, "cairo: %s: %s", what,
                   cairo_status_to_string(s));
}

dd_renderer *dd_renderer_new(const dd_render_opts *opts, dd_error *err) {
    if (dd_render_opts_check(opts, err)) return NULL;
    dd_renderer *r = dd_calloc(1, sizeof *r, err);
    if (!r) return NULL;
    r->opts = *opts;
    r->surface = cairo_image_surface_create(CAIRO_FORMAT_A8, (int)opts->width, (int)opts->height);
    cairo_status_t s = cairo_surface_status(r->surface);
    if (s != CAIRO_STATUS_SUCCESS) {
        cairo_failed(s, "cannot create the image surface", err);
        dd_renderer_free(r);
        return NULL;
    }
    r->cr = cairo_create(r->surface);
    s = cairo_status(r->cr);
    if (s != CAIRO_STATUS_SUCCESS) {
        cairo_failed(s, "cannot create a context", err);
        dd_renderer_free(r);
        return NULL;
    }
    cairo_t *cr = r->cr;
    cairo_set_antialias(cr, CAIRO_ANTIALIAS_DEFAULT);
    cairo_set_tolerance(cr, 0.1); /* cairo's default, set explicitly: the exact match depends on it */
    cairo_set_line_cap(cr, CAIRO_LINE_CAP_ROUND);
    cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
    cairo_set_line_width(cr, opts->line_width);
    cairo_set_operator(cr, CAIRO_OPERATOR_OVER);
    cairo_set_source_rgba(cr, 0, 0, 0, 1); /* an A8 surface keeps only alpha: coverage becomes ink */

    /* The square of 256 + 2 * padding + line_width units fits the shorter side and is centred on the longer. */
    double total_padding = 2 * opts->padding + opts->line_width;
    double side = opts->height < opts->width ? opts->height : opts->width;
    double scale = side / (DD_RENDER_BOX + total_padding);
    cairo_translate(cr, (opts->width - side) / 2, (opts->height - side) / 2);
    cairo_scale(cr, scale, scale);
    cairo_translate(cr, total_padding / 2, total_padding / 2);

    s = cairo_status(cr);
    if (s != CAIRO_STATUS_SUCCESS) {
        cairo_failed(s, "cannot set up the context", err);
        dd_renderer_free(r);
        return NULL;
    }
    cairo_surface_flush(r->surface);
    r->data = cairo_image_surface_get_data(r->surface);
    r->stride = cairo_image_surface_get_stride(r->surface);
    if (!r->data) {
        dd_fail(err, DD_ERR_NOMEM, "cairo: the image surface has no pixels");
        dd_renderer_free(r);
        return NULL;
    }
    return r;
}

void dd_renderer_free(dd_renderer *r) {
    if (!r) return;
    if (r->cr) cairo_destroy(r->cr);
    if (r->surface) cairo_surface_destroy(r->surface);
    free(r);
}

int dd_render(dd_renderer *r, const dd_drawing *d, uint8_t *out, dd_error *err) {
    const uint32_t h = r->opts.height, w = r->opts.width;
    cairo_t *cr = r->cr;

    double max_x = 0, max_y = 0;
    for (uint32_t i = 0; i < d->n_points; i++) {
        double x = d->x[i], y = d->y[i];
        if (!(x >= 0 && x <= 255 && y >= 0 && y <= 255))
            return dd_fail(err, DD_ERR_RANGE,
                           "point %u (%g, %g) is outside 0..255: only simplified drawings can be rendered", i + 1, x,
                           y);
        if (x > max_x) max_x = x;
        if (y > max_y) max_y = y;
    }
    for (uint32_t s = 0; s < d->n_strokes; s++) {
        uint32_t b = dd_stroke_begin(d, s), e = d->stroke_end[s];
        if (e > b && e - b > DD_RENDER_MAX_STROKE_POINTS)
            return dd_fail(err, DD_ERR_RANGE, "stroke %u has %u points: at most %u are rendered", s + 1, e - b,
                           DD_RENDER_MAX_STROKE_POINTS);
    }
    double off_x = (DD_RENDER_BOX - max_x) / 2, off_y = (DD_RENDER_BOX - max_y) / 2;

    /* Clearing by hand is cheaper than cairo_paint with CAIRO_OPERATOR_CLEAR. */
    cairo_surface_flush(r->surface);
    memset(r->data, 0, (size_t)r->stride * h);
    cairo_surface_mark_dirty(r->surface);

    for (uint32_t s = 0; s < d->n_strokes; s++) {
        uint32_t b = dd_stroke_begin(d, s), e = d->stroke_end[s];
        if (b >= e) continue;
        /* Google's loop: move_to the first point, then line_to every point including the first. */
        cairo_move_to(cr, d->x[b] + off_x, d->y[b] + off_y);
        for (uint32_t i = b; i < e; i++) cairo_line_to(cr, d->x[i] + off_x, d->y[i] + off_y);
        cairo_stroke(cr);
    }
    cairo_status_t st = cairo_status(cr);
    if (st != CAIRO_STATUS_SUCCESS) return cairo_failed(st, "rendering failed", err);
    cairo_surface_flush(r->surface);

    if ((size_t)r->stride == w) {
        memcpy(out, r->data, (size_t)w * h);
    } else {
        for (uint32_t y = 0; y < h; y++) memcpy(out + (size_t)y * w, r->data + (size_t)y * r->stride, w);
    }
    return 0;
}

int dd_parse_size(const char *text, uint32_t *height, uint32_t *width, dd_error *err) {
    unsigned long v[2];
    const char *p = text ? text : "";
    for (int k = 0; k < 2; k++) {
        if (*p < '0' || *p > '9') goto bad;
        char *end;
        v[k] = strtoul(p, &end, 10);
        if (end - p > 6) goto bad; /* also keeps strtoul from overflowing */
        p = end;
        if (k == 0) {
            if (*p != 'x' && *p != 'X') goto bad;
            p++;
        }
    }
    if (*p) goto bad;
    if (v[0] < 1 || v[1] < 1 || v[0] > DD_RENDER_SIDE_MAX || v[1] > DD_RENDER_SIDE_MAX)
        return dd_fail(err, DD_ERR_RANGE, "size '%s' is out of range (1..%u on each side)", text, DD_RENDER_SIDE_MAX);
    *height = (uint32_t)v[0];
    *width = (uint32_t)v[1];
    return 0;
bad:
    return dd_fail(err, DD_ERR_USAGE, "size '%s' is not HEIGHTxWIDTH (e.g. 28x28 or 66x100)", text ? text : "");
}
