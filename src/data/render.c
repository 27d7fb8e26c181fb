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
 * Speed (bench_render, one core, the 8,600 simplified drawings of ../shared, 44.5 points each): dd_render about
 * 19,500 drawings/s at 28x28 and 11,200 at 66x100; dd_render_batch about 21,100 (+8%) and 11,800 (+4-6%).
 * perf (with cairo linked statically for its symbols): cairo's anti-aliasing scan converter takes 80% of the time
 * at 28x28 and 84% at 66x100 (it samples 15 sub-rows per pixel row and, at this scale, almost every row holds
 * polygon vertices, so the work is per edge per sub-row), its stroker about 10%, compositing the spans 2-3%,
 * building paths under 2%, our own code about 1%. Measured and rejected because they break the exact match:
 * tolerance 0.15-0.3 (no faster, up to 25 grey levels off), one path for all strokes (+4%, up to 120 off),
 * CAIRO_ANTIALIAS_FAST (1.8x faster, up to 146 off; NONE 3.2x, 255 off), drawing 4x larger and box-filtering down
 * (slower, up to 98 off). Same bytes and no faster: CAIRO_ANTIALIAS_GRAY/SUBPIXEL/GOOD/BEST (the same converter),
 * the even-odd fill rule (cairo fills strokes non-zero anyway), a clip around the surface. So no rearrangement of
 * cairo calls can come near 50,000/s with these bytes: even if everything outside the scan converter were free,
 * 28x28 would reach about 24,000/s. More needs our own exact implementation of cairo 1.16's stroker and scan
 * converter (the converter is integer arithmetic; the stroker's floating point would have to be matched
 * operation for operation), or rendering once and caching the images.
 *
 * Batching (dd_render_batch): up to 32 drawings are tiles of one A8 surface as wide as an image, stacked in a
 * column, each tile the image's height plus 2 blank rows. Pass k strokes stroke k of every drawing that has one as
 * one path and one cairo_stroke, so strokes still meet each other with OVER as in dd_render, and pieces of one
 * pass lie in different tiles. It gives dd_render's bytes because cairo scan-converts pixel row by pixel row and
 * every pixel row holds edges of one drawing only: the ink stays inside the image (checked when the renderer is
 * made: at least 1/32 pixel from every edge; 1.5 pixels for the recipe at 28x28), and each tile's polygon is the
 * single drawing's moved down by a whole number of pixels. The points are passed in device space, computed as
 * cairo computes them from the drawing's matrix and then moved by the tile's offset, which changes cairo's
 * 24.8 fixed-point coordinate by exactly 256 per pixel unless the value lies within 2^-39 of a rounding tie
 * (tests/test_render.c compares every drawing of ../shared at 28x28 and 66x100 with dd_render: none differs).
 * It is faster only by the fixed cost of a cairo_stroke call (context, stroker, polygon and converter setup,
 * compositing), shared by the tiles: 4-8%, as the rest is per edge. Measured alternatives: tiles side by side in
 * a row differ for 7,177 of the 8,600 drawings (up to 17 grey levels) and are no faster (17,800-19,400/s),
 * because cairo's converter decides per pixel row, for the whole path, between sampling sub-rows and computing
 * coverage analytically, and another drawing's vertices in the row change that decision; 4 to 128 tiles per
 * column are within 4% of each other; clearing and copying the tiles cost about 1%; setting the matrix per
 * drawing instead of passing device coordinates gives the same bytes and speed. */
#include "doodle/render.h"

#include <cairo.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"

#define DD_RENDER_SIDE_MAX 16384u /* cairo's image surfaces are limited to 32767 pixels a side */
#define DD_RENDER_BOX 256.0       /* the simplified drawings' box */

#define DD_RENDER_BATCH_TILES 32              /* tiles per batch surface (4 to 128 measured within 4%) */
#define DD_RENDER_BATCH_BYTES (4u << 20)      /* but at most this many bytes, for large images */
#define DD_RENDER_BATCH_GUTTER 2              /* blank rows below each tile */
#define DD_RENDER_BATCH_MIN_MARGIN (1.0 / 32) /* device pixels of blank border the ink must keep to batch */

struct dd_renderer {
    dd_render_opts opts;
    cairo_surface_t *surface;
    cairo_t *cr;
    unsigned char *data; /* the surface's pixels */
    int stride;
    cairo_matrix_t ctm; /* user (drawing units) to device pixels */

    /* dd_render_batch: a column of batch_cap tiles of height + DD_RENDER_BATCH_GUTTER rows, made on first use. */
    int batch_ok; /* the ink cannot leave the image, so tiles cannot touch (else batches use dd_render) */
    uint32_t batch_cap, batch_pitch;
    cairo_surface_t *batch_surface;
    cairo_t *batch_cr;
    unsigned char *batch_data;
    int batch_stride;
    double *batch_off; /* [2 * batch_cap] each tile's shift (x, y) in drawing units */
};

dd_render_opts dd_render_opts_default(uint32_t height, uint32_t width) {
    dd_render_opts o = {.height = height, .width = width, .line_width = 16.0, .padding = 16.0};
    return o;
}

static int check_opts(const dd_render_opts *o, dd_error *err) {
    if (o->height < 1 || o->width < 1 || o->height > DD_RENDER_SIDE_MAX || o->width > DD_RENDER_SIDE_MAX)
        return dd_fail(err, DD_ERR_RANGE, "image size %ux%u is out of range (1..%u on each side)", o->height,
                       o->width, DD_RENDER_SIDE_MAX);
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

/* Makes a context on surface following the recipe (the same for the single and the batch surface). */
static cairo_t *recipe_context(const dd_render_opts *opts, cairo_surface_t *surface, dd_error *err) {
    cairo_t *cr = cairo_create(surface);
    cairo_status_t s = cairo_status(cr);
    if (s != CAIRO_STATUS_SUCCESS) {
        cairo_failed(s, "cannot create a context", err);
        cairo_destroy(cr);
        return NULL;
    }
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
        cairo_destroy(cr);
        return NULL;
    }
    return cr;
}

/* An A8 image surface with its pixels. */
static cairo_surface_t *a8_surface(uint32_t width, uint32_t height, unsigned char **data, int *stride,
                                   dd_error *err) {
    cairo_surface_t *surface = cairo_image_surface_create(CAIRO_FORMAT_A8, (int)width, (int)height);
    cairo_status_t s = cairo_surface_status(surface);
    if (s != CAIRO_STATUS_SUCCESS) {
        cairo_failed(s, "cannot create the image surface", err);
        cairo_surface_destroy(surface);
        return NULL;
    }
    cairo_surface_flush(surface);
    *data = cairo_image_surface_get_data(surface);
    *stride = cairo_image_surface_get_stride(surface);
    if (!*data) {
        dd_fail(err, DD_ERR_NOMEM, "cairo: the image surface has no pixels");
        cairo_surface_destroy(surface);
        return NULL;
    }
    return surface;
}

dd_renderer *dd_renderer_new(const dd_render_opts *opts, dd_error *err) {
    if (check_opts(opts, err)) return NULL;
    dd_renderer *r = dd_calloc(1, sizeof *r, err);
    if (!r) return NULL;
    r->opts = *opts;
    r->surface = a8_surface(opts->width, opts->height, &r->data, &r->stride, err);
    if (!r->surface || !(r->cr = recipe_context(opts, r->surface, err))) {
        dd_renderer_free(r);
        return NULL;
    }
    cairo_get_matrix(r->cr, &r->ctm);

    /* Points are shifted into [(256 - max) / 2, (256 + max) / 2], within 0.5..255.5 as max <= 255; round caps and
     * joins keep the ink within line_width / 2 of them (cairo's pen vertices lie on that circle; rounding to
     * cairo's 1/256-pixel fixed point moves them by less than 1/256 pixel). Batching needs the ink to stay inside
     * the image, so that tiles stacked with a gutter between them never share a pixel row. */
    double half = opts->line_width / 2;
    double top = r->ctm.yy * (0.5 - half) + r->ctm.y0, bottom = r->ctm.yy * (255.5 + half) + r->ctm.y0;
    double left = r->ctm.xx * (0.5 - half) + r->ctm.x0, right = r->ctm.xx * (255.5 + half) + r->ctm.x0;
    r->batch_ok = top >= DD_RENDER_BATCH_MIN_MARGIN && bottom <= opts->height - DD_RENDER_BATCH_MIN_MARGIN &&
                  left >= DD_RENDER_BATCH_MIN_MARGIN && right <= opts->width - DD_RENDER_BATCH_MIN_MARGIN;
    return r;
}

void dd_renderer_free(dd_renderer *r) {
    if (!r) return;
    if (r->cr) cairo_destroy(r->cr);
    if (r->surface) cairo_surface_destroy(r->surface);
    if (r->batch_cr) cairo_destroy(r->batch_cr);
    if (r->batch_surface) cairo_surface_destroy(r->batch_surface);
    free(r->batch_off);
    free(r);
}

/* Checks that d is simplified (every point in 0..255) and computes Google's shift (256 - max) / 2 on each axis. */
static int drawing_shift(const dd_drawing *d, double *off_x, double *off_y, dd_error *err) {
    double max_x = 0, max_y = 0;
    for (uint32_t i = 0; i < d->n_points; i++) {
        double x = d->x[i], y = d->y[i];
        if (!(x >= 0 && x <= 255 && y >= 0 && y <= 255))
            return dd_fail(err, DD_ERR_RANGE,
                           "point %u (%g, %g) is outside 0..255: only simplified drawings can be rendered", i + 1,
                           x, y);
        if (x > max_x) max_x = x;
        if (y > max_y) max_y = y;
    }
    *off_x = (DD_RENDER_BOX - max_x) / 2;
    *off_y = (DD_RENDER_BOX - max_y) / 2;
    return 0;
}

int dd_render(dd_renderer *r, const dd_drawing *d, uint8_t *out, dd_error *err) {
    const uint32_t h = r->opts.height, w = r->opts.width;
    cairo_t *cr = r->cr;

    double off_x, off_y;
    if (drawing_shift(d, &off_x, &off_y, err)) return -1;

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

/* Makes the batch surface: a column of tiles, each image's height plus a gutter, as wide as one image. */
static int batch_setup(dd_renderer *r, dd_error *err) {
    const uint32_t h = r->opts.height, w = r->opts.width;
    uint32_t pitch = h + DD_RENDER_BATCH_GUTTER;
    size_t row_bytes = ((size_t)w + 3) & ~(size_t)3; /* an A8 stride */
    size_t cap = DD_RENDER_BATCH_TILES;
    if (cap > 32767 / pitch) cap = 32767 / pitch;
    if (cap > DD_RENDER_BATCH_BYTES / (row_bytes * pitch)) cap = DD_RENDER_BATCH_BYTES / (row_bytes * pitch);
    if (cap < 1) cap = 1; /* h <= DD_RENDER_SIDE_MAX keeps one tile within cairo's limit */
    r->batch_off = dd_malloc(2 * cap, sizeof *r->batch_off, err);
    if (!r->batch_off) return -1;
    r->batch_surface = a8_surface(w, (uint32_t)cap * pitch, &r->batch_data, &r->batch_stride, err);
    if (!r->batch_surface || !(r->batch_cr = recipe_context(&r->opts, r->batch_surface, err))) {
        if (r->batch_surface) cairo_surface_destroy(r->batch_surface);
        r->batch_surface = NULL;
        free(r->batch_off);
        r->batch_off = NULL;
        return -1;
    }
    r->batch_cap = (uint32_t)cap;
    r->batch_pitch = pitch;
    return 0;
}

/* User to device coordinates exactly as cairo_matrix_transform_point computes them for our matrix (xy = yx = 0):
 * the product, then the translation, each rounded (two statements, so that no fused multiply-add is formed). */
static inline void device_point(const cairo_matrix_t *m, double ux, double uy, double *x, double *y) {
    double sx = m->xx * ux, sy = m->yy * uy;
    *x = sx + m->x0;
    *y = sy + m->y0;
}

/* Renders d[0..n) (n <= batch_cap, all checked) into tiles 0..n-1 and copies them to out. */
static int batch_chunk(dd_renderer *r, const dd_drawing *const *d, size_t n, uint8_t *out, dd_error *err) {
    const uint32_t h = r->opts.height, w = r->opts.width, pitch = r->batch_pitch;
    const cairo_matrix_t *m = &r->ctm;
    cairo_t *cr = r->batch_cr;
    double *off = r->batch_off;
    uint32_t passes = 0;
    for (size_t i = 0; i < n; i++) {
        if (drawing_shift(d[i], &off[2 * i], &off[2 * i + 1], err)) return -1; /* checked by the caller */
        if (d[i]->n_strokes > passes) passes = d[i]->n_strokes;
    }

    cairo_surface_flush(r->batch_surface);
    memset(r->batch_data, 0, (size_t)r->batch_stride * pitch * n);
    cairo_surface_mark_dirty(r->batch_surface);

    /* Pass k strokes stroke k of every drawing that has one, as one path. The points go in as device coordinates
     * (identity matrix), computed as cairo would with the drawing's matrix, (xx * x + x0, yy * y + y0) in that
     * order, then moved down by the tile's whole number of pixel rows; the matrix is back for cairo_stroke, which
     * takes the line width and the pen from it. */
    for (uint32_t k = 0; k < passes; k++) {
        int any = 0;
        cairo_identity_matrix(cr);
        for (size_t i = 0; i < n; i++) {
            const dd_drawing *di = d[i];
            if (k >= di->n_strokes) continue;
            uint32_t b = dd_stroke_begin(di, k), e = di->stroke_end[k];
            if (b >= e) continue;
            const double ox = off[2 * i], oy = off[2 * i + 1], tile_y = (double)(i * pitch);
            double x, y;
            device_point(m, di->x[b] + ox, di->y[b] + oy, &x, &y);
            cairo_move_to(cr, x, y + tile_y);
            for (uint32_t p = b; p < e; p++) {
                device_point(m, di->x[p] + ox, di->y[p] + oy, &x, &y);
                cairo_line_to(cr, x, y + tile_y);
            }
            any = 1;
        }
        cairo_set_matrix(cr, m);
        if (any) cairo_stroke(cr);
    }
    cairo_status_t st = cairo_status(cr);
    if (st != CAIRO_STATUS_SUCCESS) return cairo_failed(st, "rendering a batch failed", err);
    cairo_surface_flush(r->batch_surface);

    for (size_t i = 0; i < n; i++) {
        const unsigned char *tile = r->batch_data + (size_t)r->batch_stride * pitch * i;
        uint8_t *img = out + (size_t)h * w * i;
        if ((size_t)r->batch_stride == w)
            memcpy(img, tile, (size_t)w * h);
        else
            for (uint32_t y = 0; y < h; y++) memcpy(img + (size_t)y * w, tile + (size_t)y * r->batch_stride, w);
    }
    return 0;
}

int dd_render_batch(dd_renderer *r, const dd_drawing *const *d, size_t n, uint8_t *out, dd_error *err) {
    if (n == 0) return 0;
    if (!d || !out) return dd_fail(err, DD_ERR_USAGE, "render batch: no drawings or no output buffer");
    const size_t img = (size_t)r->opts.height * r->opts.width;
    for (size_t i = 0; i < n; i++) {
        double ox, oy;
        if (!d[i]) return dd_fail(err, DD_ERR_USAGE, "render batch: drawing at index %zu is NULL", i);
        if (drawing_shift(d[i], &ox, &oy, err)) return dd_error_prefix(err, "render batch: drawing at index %zu", i);
    }
    if (!r->batch_ok) {
        for (size_t i = 0; i < n; i++)
            if (dd_render(r, d[i], out + img * i, err)) return dd_error_prefix(err, "drawing at index %zu", i);
        return 0;
    }
    if (!r->batch_surface && batch_setup(r, err)) return -1;
    for (size_t i = 0; i < n; i += r->batch_cap) {
        size_t m = n - i < r->batch_cap ? n - i : r->batch_cap;
        if (batch_chunk(r, d + i, m, out + img * i, err)) return -1;
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
