/* Colour picture grids with a title, row headers and labels (include/doodle/picture.h), written as PNG to a file
 * or to memory (for pages that inline their pictures). */
#include <cairo.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doodle/picture.h"
#include "doodle/alloc.h"
#include "doodle/files.h"
#include "viz/canvas.h"
#include "viz/png_file.h"

#define SIDE_MAX 32767
#define GAP 4
#define TITLE_HEIGHT 24
#define FONT_SIZE 11.0
#define TITLE_FONT_SIZE 14.0

struct dd_picture {
    dd_picture_opts o;
    int cell_w, cell_h, grid_x, grid_y, width, height;
    cairo_surface_t *surface;
    cairo_t *cr;
};

/* Draws text left-aligned at (x, baseline y), shortened with "..." to fit max_w. */
static void draw_text(cairo_t *cr, const char *text, double x, double y, double max_w) {
    char buf[256];
    snprintf(buf, sizeof buf, "%s", text);
    size_t n = strlen(buf);
    cairo_text_extents_t ext;
    cairo_text_extents(cr, buf, &ext);
    while (ext.x_advance > max_w && n > 0) {
        do n--; /* whole UTF-8 characters only */
        while (n > 0 && ((unsigned char)buf[n] & 0xC0) == 0x80);
        snprintf(buf + n, sizeof buf - n, "...");
        cairo_text_extents(cr, buf, &ext);
        if (n == 0) break;
    }
    cairo_move_to(cr, x, y);
    cairo_show_text(cr, buf);
}

dd_picture *dd_picture_new(const dd_picture_opts *o, dd_error *err) {
    if (o->rows < 1 || o->cols < 1 || o->tile_height < 1 || o->tile_width < 1 || o->scale < 1 || o->scale > 64 ||
        o->label_height < 0 || o->header_width < 0 || o->rows > SIDE_MAX || o->cols > SIDE_MAX ||
        o->tile_height > SIDE_MAX || o->tile_width > SIDE_MAX || o->label_height > 256 || o->header_width > 4096) {
        dd_fail(err, DD_ERR_RANGE, "picture: rows, columns, tile size and scale (1..64) out of range");
        return NULL;
    }
    long long cell_w = (long long)o->tile_width * o->scale + 2,
              cell_h = (long long)o->tile_height * o->scale + 2 + o->label_height;
    long long grid_x = GAP + o->header_width + (o->header_width ? GAP : 0),
              grid_y = GAP + (o->title ? TITLE_HEIGHT : 0);
    long long width = grid_x + (long long)o->cols * (cell_w + GAP),
              height = grid_y + (long long)o->rows * (cell_h + GAP);
    if (o->title) { /* room for the title: about 8.5 pixels a character in bold 14 */
        long long need = 2 * GAP + (long long)(8.5 * (double)strlen(o->title));
        if (width < need) width = need;
    }
    if (width > SIDE_MAX || height > SIDE_MAX) {
        dd_fail(err, DD_ERR_RANGE,
                "picture: %d x %d tiles of %dx%d at scale %d make a %lldx%lld picture, more than %d a side", o->rows,
                o->cols, o->tile_height, o->tile_width, o->scale, height, width, SIDE_MAX);
        return NULL;
    }
    dd_picture *p = dd_calloc(1, sizeof *p, err);
    if (!p) return NULL;
    p->o = *o;
    p->o.title = NULL; /* drawn now; the caller's string need not outlive this call */
    p->cell_w = (int)cell_w;
    p->cell_h = (int)cell_h;
    p->grid_x = (int)grid_x;
    p->grid_y = (int)grid_y;
    p->width = (int)width;
    p->height = (int)height;
    if (viz_canvas_new(p->width, p->height, "the picture", &p->surface, &p->cr, err)) {
        dd_picture_free(p);
        return NULL;
    }
    cairo_t *cr = p->cr;
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    if (o->title) {
        cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
        cairo_set_font_size(cr, TITLE_FONT_SIZE);
        cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
        draw_text(cr, o->title, GAP, GAP + TITLE_FONT_SIZE + 2, p->width - 2 * GAP);
        cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    }
    cairo_set_font_size(cr, FONT_SIZE);
    cairo_set_source_rgb(cr, 0.8, 0.8, 0.8); /* frames */
    cairo_set_line_width(cr, 1);
    for (int r = 0; r < o->rows; r++)
        for (int c = 0; c < o->cols; c++)
            cairo_rectangle(cr, p->grid_x + c * (p->cell_w + GAP) + 0.5, p->grid_y + r * (p->cell_h + GAP) + 0.5,
                            p->cell_w - 1 - 0, o->tile_height * o->scale + 1);
    cairo_stroke(cr);
    return p;
}

void dd_picture_free(dd_picture *p) {
    if (!p) return;
    if (p->cr) cairo_destroy(p->cr);
    if (p->surface) cairo_surface_destroy(p->surface);
    free(p);
}

int dd_picture_put(dd_picture *p, int row, int col, const uint8_t *rgb, const char *label, dd_error *err) {
    const dd_picture_opts *o = &p->o;
    if (row < 0 || row >= o->rows || col < 0 || col >= o->cols)
        return dd_fail(err, DD_ERR_RANGE, "picture: cell (%d, %d) outside %d x %d", row, col, o->rows, o->cols);
    int x0 = p->grid_x + col * (p->cell_w + GAP) + 1, y0 = p->grid_y + row * (p->cell_h + GAP) + 1;
    cairo_surface_flush(p->surface);
    unsigned char *data = cairo_image_surface_get_data(p->surface);
    int stride = cairo_image_surface_get_stride(p->surface);
    for (int y = 0; y < o->tile_height * o->scale; y++) {
        uint32_t *line = (uint32_t *)(void *)(data + (size_t)(y0 + y) * stride) + x0;
        const uint8_t *src = rgb + (size_t)(y / o->scale) * o->tile_width * 3;
        for (int x = 0; x < o->tile_width * o->scale; x++) {
            const uint8_t *px = src + (x / o->scale) * 3;
            line[x] = (uint32_t)px[0] << 16 | (uint32_t)px[1] << 8 | px[2];
        }
    }
    cairo_surface_mark_dirty(p->surface);
    if (label && o->label_height > 0) {
        cairo_set_source_rgb(p->cr, 0.13, 0.13, 0.13);
        draw_text(p->cr, label, x0, y0 + o->tile_height * o->scale + 1 + FONT_SIZE, p->cell_w - 2);
    }
    return 0;
}

int dd_picture_row_header(dd_picture *p, int row, const char *text, dd_error *err) {
    const dd_picture_opts *o = &p->o;
    if (row < 0 || row >= o->rows) return dd_fail(err, DD_ERR_RANGE, "picture: row %d outside %d", row, o->rows);
    if (o->header_width <= 0) return dd_fail(err, DD_ERR_USAGE, "picture: no header column");
    cairo_set_source_rgb(p->cr, 0.13, 0.13, 0.13);
    double y = p->grid_y + row * (p->cell_h + GAP) + (o->tile_height * o->scale) / 2.0 + FONT_SIZE / 2;
    draw_text(p->cr, text, GAP, y, o->header_width);
    return 0;
}

int dd_picture_png_bytes(dd_picture *p, unsigned char **data, size_t *size, dd_error *err) {
    cairo_surface_flush(p->surface);
    cairo_status_t s = cairo_status(p->cr);
    if (s == CAIRO_STATUS_SUCCESS) s = viz_png_bytes(p->surface, data, size);
    return s == CAIRO_STATUS_SUCCESS ? 0 : viz_cairo_error(s, "cannot encode the PNG", err);
}

int dd_picture_write_png(dd_picture *p, const char *path, dd_error *err) {
    unsigned char *data = NULL;
    size_t size = 0;
    if (dd_picture_png_bytes(p, &data, &size, err)) return dd_error_prefix(err, "%s", path);
    dd_atomic_file a;
    if (dd_atomic_open(&a, path, err)) {
        free(data);
        return -1;
    }
    int ok = fwrite(data, 1, size, a.f) == size, errnum = errno;
    free(data);
    return ok ? dd_atomic_commit(&a, err) : dd_atomic_fail(&a, errnum, err);
}
