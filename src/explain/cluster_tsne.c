/* The t-SNE map drawn with the drawings themselves as the points: each a small thumbnail (dark ink on white) in a
 * frame of its cluster's colour, so a person sees at once what lies together and which cluster it is; a legend
 * names the clusters and the most frequent (true -> predicted) pair of each. Drawn with cairo. */
#include <cairo.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "explain/cluster_files.h"
#include "doodle/alloc.h"
#include "viz/png_file.h"

#define SIDE 1100 /* the map's square */
#define MARGIN 30
#define LEGEND 300
#define TITLE 40
#define THUMB 26 /* a drawing's side on the map, frame included */

static const uint32_t palette[10] = {0x1f77b4, 0xff7f0e, 0x2ca02c, 0xd62728, 0x9467bd,
                                     0x8c564b, 0xe377c2, 0x7f7f7f, 0xbcbd22, 0x17becf};

static void set_rgb(cairo_t *cr, uint32_t rgb) {
    cairo_set_source_rgb(cr, ((rgb >> 16) & 0xFF) / 255.0, ((rgb >> 8) & 0xFF) / 255.0, (rgb & 0xFF) / 255.0);
}

/* Drawing i as a THUMB x THUMB tile: a frame in colour, the drawing inside scaled to fit. */
static int put_thumb(cairo_t *cr, const uint8_t *ink, int h, int w, double cx, double cy, uint32_t colour,
                     cairo_surface_t *tile, dd_error *err) {
    unsigned char *data = cairo_image_surface_get_data(tile);
    int stride = cairo_image_surface_get_stride(tile);
    for (int y = 0; y < h; y++) {
        uint32_t *row = (uint32_t *)(void *)(data + (size_t)y * (size_t)stride);
        for (int x = 0; x < w; x++) {
            uint32_t v = 255u - ink[(size_t)y * w + x] * 215u / 255u; /* ink to a dark grey, as dd_tile_ink */
            row[x] = 0xFF000000u | v << 16 | v << 8 | v;
        }
    }
    cairo_surface_mark_dirty(tile);
    double x0 = cx - THUMB / 2.0, y0 = cy - THUMB / 2.0, inner = THUMB - 4;
    set_rgb(cr, colour);
    cairo_rectangle(cr, x0, y0, THUMB, THUMB);
    cairo_fill(cr);
    cairo_save(cr);
    double s = inner / (double)(h > w ? h : w);
    cairo_translate(cr, x0 + 2 + (inner - w * s) / 2, y0 + 2 + (inner - h * s) / 2);
    cairo_scale(cr, s, s);
    cairo_set_source_surface(cr, tile, 0, 0);
    cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_GOOD);
    cairo_paint(cr);
    cairo_restore(cr);
    (void)err;
    return 0;
}

int explain_tsne_png(const char *path, const dd_model *m, const dd_cluster_report *r, const uint8_t *pixels, int h,
                     int w, const char *title, dd_error *err) {
    double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
    for (size_t i = 0; i < r->n; i++) {
        if (isnan(r->tsne1[i])) continue;
        x0 = fmin(x0, r->tsne1[i]), x1 = fmax(x1, r->tsne1[i]);
        y0 = fmin(y0, r->tsne2[i]), y1 = fmax(y1, r->tsne2[i]);
    }
    if (!(x1 > x0)) x0 -= 1, x1 += 1;
    if (!(y1 > y0)) y0 -= 1, y1 += 1;
    double span = fmax(x1 - x0, y1 - y0), inner = SIDE - 2 * MARGIN - THUMB;
    double ox = MARGIN + THUMB / 2.0 + (inner - (x1 - x0) / span * inner) / 2;
    double oy = TITLE + MARGIN + THUMB / 2.0 + (inner - (y1 - y0) / span * inner) / 2;
    const int width = SIDE + LEGEND, height = SIDE + TITLE;
    cairo_surface_t *surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, width, height);
    cairo_surface_t *tile = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h);
    cairo_t *cr = cairo_create(surface);
    int rc = -1;
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    if (cairo_surface_status(tile) != CAIRO_STATUS_SUCCESS) {
        dd_fail(err, DD_ERR_NOMEM, "%s: cannot make a tile", path);
        goto done;
    }
    /* the drawings, in set order (later ones on top) */
    for (size_t i = 0; i < r->n; i++) {
        if (isnan(r->tsne1[i])) continue;
        double cx = ox + (r->tsne1[i] - x0) / span * inner, cy = oy + (y1 - r->tsne2[i]) / span * inner;
        if (put_thumb(cr, pixels + i * (size_t)h * w, h, w, cx, cy, palette[r->kmeans_label[i] % 10], tile, err))
            goto done;
    }
    /* title and legend */
    set_rgb(cr, 0x111111);
    cairo_set_font_size(cr, 16);
    cairo_move_to(cr, MARGIN, 26);
    cairo_show_text(cr, title);
    cairo_set_font_size(cr, 12);
    double ly = TITLE + MARGIN + 8;
    for (int c = 0; c < r->k; c++) {
        if (ly > height - 40) break;
        set_rgb(cr, palette[c % 10]);
        cairo_rectangle(cr, SIDE + 4, ly - 10, 14, 14);
        cairo_fill(cr);
        set_rgb(cr, 0x222222);
        char buf[200];
        snprintf(buf, sizeof buf, "cluster %d (%d)%s", c, r->kmeans[c].size, c >= 10 ? " (colour repeats)" : "");
        cairo_move_to(cr, SIDE + 24, ly + 1);
        cairo_show_text(cr, buf);
        ly += 16;
        for (int p = 0; p < r->kmeans[c].n_pairs && p < 2; p++) {
            const dd_cluster_pair *q = &r->kmeans[c].pairs[p];
            snprintf(buf, sizeof buf, "%d %s \xe2\x86\x92 %s", q->count, m->class_names[q->true_class],
                     m->class_names[q->predicted]);
            set_rgb(cr, 0x555555);
            cairo_move_to(cr, SIDE + 34, ly + 1);
            cairo_show_text(cr, buf);
            ly += 15;
        }
        ly += 8;
    }
    cairo_status_t st = cairo_status(cr);
    if (st != CAIRO_STATUS_SUCCESS) {
        dd_fail(err, DD_ERR_IO, "%s: cannot draw the map: %s", path, cairo_status_to_string(st));
        goto done;
    }
    rc = viz_write_png(surface, path, err);
done:
    cairo_destroy(cr);
    cairo_surface_destroy(tile);
    cairo_surface_destroy(surface);
    return rc;
}
