/* Picture grids written as PNG (see include/doodle/montage.h for the layout). */
#include "doodle/montage.h"

#include <cairo.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doodle/alloc.h"
#include "viz/canvas.h"
#include "viz/png_file.h"

#define SIDE_MAX 32767u /* cairo's image surfaces */
#define FRAME 1u        /* grey line around each tile */
#define TEXT_MAX 256    /* labels and headers are cut to this many bytes before measuring */

#define RGB_BACKGROUND 0xFFFFFFu
#define RGB_FRAME 0xC8C8C8u
#define RGB_TEXT 0x202020u

struct dd_montage {
    dd_montage_opts o;
    uint32_t cell_w, cell_h;  /* output pixels of one cell: framed tile + label strip */
    uint32_t grid_x;          /* x of the first cell column */
    uint32_t height, width;   /* whole picture */
    cairo_surface_t *surface; /* RGB24 */
    cairo_t *cr;
};

dd_montage_opts dd_montage_opts_default(uint32_t rows, uint32_t cols, uint32_t tile_height, uint32_t tile_width) {
    dd_montage_opts o = {.rows = rows,
                         .cols = cols,
                         .tile_height = tile_height,
                         .tile_width = tile_width,
                         .scale = 1,
                         .label_height = 0,
                         .header_width = 0,
                         .gap = 2};
    return o;
}

static void set_rgb(cairo_t *cr, uint32_t rgb) {
    cairo_set_source_rgb(cr, ((rgb >> 16) & 0xFF) / 255.0, ((rgb >> 8) & 0xFF) / 255.0, (rgb & 0xFF) / 255.0);
}

dd_montage *dd_montage_new(const dd_montage_opts *opts, dd_error *err) {
    const dd_montage_opts *o = opts;
    if (o->rows < 1 || o->cols < 1 || o->tile_height < 1 || o->tile_width < 1) {
        dd_fail(err, DD_ERR_RANGE, "montage: rows, columns and tile sizes must be at least 1");
        return NULL;
    }
    if (o->scale < 1 || o->scale > 64) {
        dd_fail(err, DD_ERR_RANGE, "montage: scale %u is out of range (1..64)", o->scale);
        return NULL;
    }
    if (o->rows > SIDE_MAX || o->cols > SIDE_MAX || o->tile_height > SIDE_MAX || o->tile_width > SIDE_MAX ||
        o->label_height > SIDE_MAX || o->header_width > SIDE_MAX || o->gap > 1024) {
        dd_fail(err, DD_ERR_RANGE, "montage: sizes out of range");
        return NULL;
    }
    /* 64-bit arithmetic: every factor is below 2^16, so nothing overflows before the checks. */
    uint64_t cell_w = (uint64_t)o->tile_width * o->scale + 2 * FRAME;
    uint64_t cell_h = (uint64_t)o->tile_height * o->scale + 2 * FRAME + o->label_height;
    uint64_t grid_x = (uint64_t)o->gap + o->header_width + (o->header_width ? o->gap : 0);
    uint64_t width = grid_x + (uint64_t)o->cols * (cell_w + o->gap);
    uint64_t height = o->gap + (uint64_t)o->rows * (cell_h + o->gap);
    if (width > SIDE_MAX || height > SIDE_MAX) {
        dd_fail(err, DD_ERR_RANGE,
                "montage: %u x %u tiles of %ux%u at scale %u make a %llux%llu picture, more than %u a side", o->rows,
                o->cols, o->tile_height, o->tile_width, o->scale, (unsigned long long)height, (unsigned long long)width,
                SIDE_MAX);
        return NULL;
    }

    dd_montage *m = dd_calloc(1, sizeof *m, err);
    if (!m) return NULL;
    m->o = *o;
    m->cell_w = (uint32_t)cell_w;
    m->cell_h = (uint32_t)cell_h;
    m->grid_x = (uint32_t)grid_x;
    m->width = (uint32_t)width;
    m->height = (uint32_t)height;
    if (viz_canvas_new((int)m->width, (int)m->height, "the montage picture", &m->surface, &m->cr, err)) {
        dd_montage_free(m);
        return NULL;
    }
    cairo_t *cr = m->cr;
    set_rgb(cr, RGB_BACKGROUND);
    cairo_paint(cr);
    /* Frames: one rectangle outline per cell, drawn on pixel boundaries so they stay one pixel wide. */
    set_rgb(cr, RGB_FRAME);
    cairo_set_line_width(cr, FRAME);
    for (uint32_t r = 0; r < o->rows; r++)
        for (uint32_t c = 0; c < o->cols; c++) {
            double x = m->grid_x + (double)c * (m->cell_w + o->gap), y = o->gap + (double)r * (m->cell_h + o->gap);
            cairo_rectangle(cr, x + FRAME / 2.0, y + FRAME / 2.0, m->cell_w - FRAME,
                            m->cell_h - o->label_height - FRAME);
        }
    cairo_stroke(cr);
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    cairo_status_t s = cairo_status(cr);
    if (s != CAIRO_STATUS_SUCCESS) {
        viz_cairo_error(s, "cannot draw the montage", err);
        dd_montage_free(m);
        return NULL;
    }
    return m;
}

void dd_montage_free(dd_montage *m) {
    if (!m) return;
    if (m->cr) cairo_destroy(m->cr);
    if (m->surface) cairo_surface_destroy(m->surface);
    free(m);
}

void dd_montage_size(const dd_montage *m, uint32_t *height, uint32_t *width) {
    *height = m->height;
    *width = m->width;
}

/* Copies at most TEXT_MAX - 4 bytes of text, cut at a UTF-8 character boundary. */
static void copy_text(char out[TEXT_MAX], const char *text) {
    size_t n = strlen(text);
    if (n > TEXT_MAX - 4) {
        n = TEXT_MAX - 4;
        while (n > 0 && ((unsigned char)text[n] & 0xC0) == 0x80) n--;
    }
    memcpy(out, text, n);
    out[n] = '\0';
}

/* Shortens buf (UTF-8) with a trailing ellipsis until it fits max_width at the current font; returns its width. */
static double fit_text(cairo_t *cr, char buf[TEXT_MAX], double max_width) {
    cairo_text_extents_t ext;
    cairo_text_extents(cr, buf, &ext);
    if (ext.x_advance <= max_width) return ext.x_advance;
    size_t n = strlen(buf);
    while (n > 0) {
        do n--;
        while (n > 0 && ((unsigned char)buf[n] & 0xC0) == 0x80);
        memcpy(buf + n, "\xE2\x80\xA6", 4); /* U+2026 and the terminating NUL */
        cairo_text_extents(cr, buf, &ext);
        if (ext.x_advance <= max_width) return ext.x_advance;
    }
    buf[0] = '\0';
    return 0;
}

/* Draws text within the box (x, y, w, h): horizontally centred (or left-aligned), vertically centred. */
static void draw_text(dd_montage *m, const char *text, double x, double y, double w, double h, double size, int centred,
                      uint32_t rgb) {
    cairo_t *cr = m->cr;
    cairo_save(cr);
    set_rgb(cr, RGB_BACKGROUND);
    cairo_rectangle(cr, x, y, w, h);
    cairo_fill(cr);
    char buf[TEXT_MAX];
    copy_text(buf, text);
    if (buf[0]) {
        cairo_rectangle(cr, x, y, w, h);
        cairo_clip(cr);
        cairo_set_font_size(cr, size);
        double tw = fit_text(cr, buf, w - 2);
        cairo_font_extents_t fe;
        cairo_font_extents(cr, &fe);
        double tx = centred ? x + (w - tw) / 2 : x + 1;
        double ty = y + (h - (fe.ascent + fe.descent)) / 2 + fe.ascent;
        set_rgb(cr, rgb);
        cairo_move_to(cr, tx, ty);
        cairo_show_text(cr, buf);
    }
    cairo_restore(cr);
}

static double clampd(double v, double lo, double hi) { return v < lo ? lo : v > hi ? hi : v; }

int dd_montage_put_rgb(dd_montage *m, uint32_t row, uint32_t col, const uint8_t *pixels, const char *label,
                       uint32_t rgb, dd_error *err) {
    const dd_montage_opts *o = &m->o;
    if (row >= o->rows || col >= o->cols)
        return dd_fail(err, DD_ERR_USAGE, "montage: cell (%u, %u) is outside the %u x %u grid", row, col, o->rows,
                       o->cols);
    uint32_t cell_x = m->grid_x + col * (m->cell_w + o->gap), cell_y = o->gap + row * (m->cell_h + o->gap);
    uint32_t x0 = cell_x + FRAME, y0 = cell_y + FRAME;
    uint32_t s = o->scale, tw = o->tile_width * s, th = o->tile_height * s;

    cairo_surface_flush(m->surface);
    unsigned char *data = cairo_image_surface_get_data(m->surface);
    int stride = cairo_image_surface_get_stride(m->surface);
    if (!data) return dd_fail(err, DD_ERR_NOMEM, "montage: the picture has no pixels");
    for (uint32_t y = 0; y < th; y++) {
        const uint8_t *src = pixels + (size_t)(y / s) * o->tile_width;
        uint32_t *dst = (uint32_t *)(data + (size_t)(y0 + y) * stride) + x0;
        for (uint32_t x = 0; x < tw; x++) {
            uint32_t g = 255u - src[x / s]; /* ink dark on white */
            dst[x] = 0xFF000000u | g << 16 | g << 8 | g;
        }
    }
    cairo_surface_mark_dirty_rectangle(m->surface, (int)x0, (int)y0, (int)tw, (int)th);

    if (o->label_height) {
        double size = clampd(o->label_height * 0.75, 4, 64);
        draw_text(m, label ? label : "", cell_x, cell_y + m->cell_h - o->label_height, m->cell_w, o->label_height, size,
                  1, rgb);
    }
    cairo_status_t st = cairo_status(m->cr);
    if (st != CAIRO_STATUS_SUCCESS) return viz_cairo_error(st, "cannot draw the montage", err);
    return 0;
}

int dd_montage_put(dd_montage *m, uint32_t row, uint32_t col, const uint8_t *pixels, const char *label, dd_error *err) {
    return dd_montage_put_rgb(m, row, col, pixels, label, RGB_TEXT, err);
}

int dd_montage_row_header(dd_montage *m, uint32_t row, const char *text, dd_error *err) {
    const dd_montage_opts *o = &m->o;
    if (row >= o->rows) return dd_fail(err, DD_ERR_USAGE, "montage: row %u is outside the %u rows", row, o->rows);
    if (!o->header_width) return dd_fail(err, DD_ERR_USAGE, "montage: row headers need a header width");
    double tile_h = m->cell_h - o->label_height;
    double size = o->label_height ? clampd(o->label_height * 0.75, 4, 64) : clampd(tile_h * 0.4, 6, 16);
    draw_text(m, text ? text : "", o->gap, o->gap + (double)row * (m->cell_h + o->gap), o->header_width, tile_h, size,
              0, RGB_TEXT);
    cairo_status_t st = cairo_status(m->cr);
    if (st != CAIRO_STATUS_SUCCESS) return viz_cairo_error(st, "cannot draw the montage", err);
    return 0;
}

int dd_montage_write_png(dd_montage *m, const char *path, dd_error *err) {
    return viz_write_png(m->surface, path, err);
}
