/* Pictures in colour: tiles (a drawing, a heat map over it, a feature map) as RGB, and grids of them with a title,
 * row headers and labels, written as PNG (like doodle/montage.h, which lays out 8-bit drawings). Module viz: no
 * model needed; the explain verbs draw their pictures with these.
 *
 *     uint8_t rgb[28 * 28 * 3];
 *     dd_tile_heat(ink, 28, 28, heat, rgb);                (heat: [28 * 28], 0..1)
 *     dd_picture_opts o = {.rows = 1, .cols = 4, .tile_height = 28, .tile_width = 28, .scale = 2};
 *     dd_picture *p = dd_picture_new(&o, &err);
 *     dd_picture_put(p, 0, 0, rgb, "cat 0.93", &err);
 *     dd_picture_write_png(p, "heat.png", &err);          (written atomically)
 *     dd_picture_free(p);
 */
#ifndef DOODLE_PICTURE_H
#define DOODLE_PICTURE_H

#include <stddef.h>
#include <stdint.h>

#include "doodle/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- tiles for pictures: RGB, 3 bytes a pixel, row-major ---- */

/* The drawing as it is shown everywhere: dark ink on white. */
void dd_tile_ink(const uint8_t *ink, int h, int w, uint8_t *rgb);
/* A heat map (0..1) laid over the drawing: the drawing in grey, the heat in a transparent-to-red-to-yellow scale. */
void dd_tile_heat(const uint8_t *ink, int h, int w, const float *heat, uint8_t *rgb);
/* Values (e.g. a feature map) in a perceptual colour scale from lo (dark blue) to hi (yellow); lo == hi gives
 * one colour. */
void dd_tile_values(const float *v, int h, int w, float lo, float hi, uint8_t *rgb);

/* ---- a picture grid of RGB tiles (like doodle/montage.h, in colour, with a title) ---- */

typedef struct dd_picture dd_picture;

typedef struct dd_picture_opts {
    int rows, cols;
    int tile_height, tile_width; /* tile size in its own pixels */
    int scale;                   /* output pixels per tile pixel (1..64) */
    int label_height;            /* output pixels under each tile for a label; 0 = none */
    int header_width;            /* output pixels left of each row for its header; 0 = none */
    const char *title;           /* a line above the grid; NULL = none */
} dd_picture_opts;

/* Fails (DD_ERR_RANGE) past 32767 pixels a side. */
dd_picture *dd_picture_new(const dd_picture_opts *o, dd_error *err);
void dd_picture_free(dd_picture *p);
/* rgb: tile_height * tile_width * 3 bytes; label may be NULL. */
int dd_picture_put(dd_picture *p, int row, int col, const uint8_t *rgb, const char *label, dd_error *err);
int dd_picture_row_header(dd_picture *p, int row, const char *text, dd_error *err);
/* Writes the picture as PNG, atomically. */
int dd_picture_write_png(dd_picture *p, const char *path, dd_error *err);
/* The PNG in memory: *data (free it) and *size. */
int dd_picture_png_bytes(dd_picture *p, unsigned char **data, size_t *size, dd_error *err);

#ifdef __cplusplus
}
#endif
#endif
