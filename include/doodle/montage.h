/* Picture grids: 8-bit images (0 = background, 255 = ink, as rendered or as in .npy files) laid out in rows and
 * columns and written as one PNG for people to look at: ink dark on white, each tile optionally scaled up
 * (nearest neighbour, so pixels stay crisp), with an optional text label under each tile and an optional header
 * at the left of each row (e.g. a class name).
 *
 *     dd_montage_opts o = dd_montage_opts_default(n_classes, 8, 28, 28);
 *     o.scale = 3; o.label_height = 14; o.header_width = 120;
 *     dd_montage *m = dd_montage_new(&o, &err);
 *     dd_montage_row_header(m, row, "cat", &err);
 *     dd_montage_put(m, row, col, pixels, "cat 0.93", &err);   (pixels: tile_height * tile_width bytes)
 *     dd_montage_write_png(m, "gallery.png", &err);             (written atomically)
 *     dd_montage_free(m);
 *
 * Cells never filled stay blank (white). Layout, in output pixels, on white: a margin of `gap` around everything
 * and between cells; the header column (header_width wide) left of the first column, followed by another gap;
 * a cell is the scaled tile inside a 1-pixel grey frame, with its label strip (label_height) under the frame:
 *     cell_w = tile_width * scale + 2,   cell_h = tile_height * scale + 2 + label_height
 *     first_x = gap + (header_width ? header_width + gap : 0)
 *     image pixel (0, 0) of cell (row, col) is at x = first_x + col * (cell_w + gap) + 1,
 *                                              y = gap + row * (cell_h + gap) + 1
 *     picture: width = first_x + cols * (cell_w + gap), height = gap + rows * (cell_h + gap)
 * Ink v (0..255) becomes grey 255 - v. */
#ifndef DOODLE_MONTAGE_H
#define DOODLE_MONTAGE_H

#include <stdint.h>

#include "doodle/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dd_montage_opts {
    uint32_t rows, cols;
    uint32_t tile_height, tile_width; /* size of the images given to dd_montage_put, in their own pixels */
    uint32_t scale;                   /* each image pixel becomes scale x scale output pixels (1..64) */
    uint32_t label_height;            /* output pixels under each tile for its label; 0 = no labels */
    uint32_t header_width;            /* output pixels left of each row for its header; 0 = no headers */
    uint32_t gap;                     /* output pixels between cells and around the grid */
} dd_montage_opts;

/* rows x cols tiles of tile_height x tile_width, scale 1, no labels, no headers, gap 2. */
dd_montage_opts dd_montage_opts_default(uint32_t rows, uint32_t cols, uint32_t tile_height, uint32_t tile_width);

typedef struct dd_montage dd_montage;

/* Fails (DD_ERR_RANGE) when the picture would be larger than 32767 pixels on a side. */
dd_montage *dd_montage_new(const dd_montage_opts *opts, dd_error *err);
void dd_montage_free(dd_montage *m);

/* Size of the whole picture in output pixels. */
void dd_montage_size(const dd_montage *m, uint32_t *height, uint32_t *width);

/* Draws pixels (tile_height * tile_width bytes, row-major, 0 = background, 255 = ink) into cell (row, col),
 * replacing what was there, with label (UTF-8, may be NULL; shortened with "…" when too wide; ignored when
 * label_height is 0) under it. */
int dd_montage_put(dd_montage *m, uint32_t row, uint32_t col, const uint8_t *pixels, const char *label, dd_error *err);
/* Like dd_montage_put with the label drawn in colour rgb (0xRRGGBB), e.g. red for a wrong prediction. */
int dd_montage_put_rgb(dd_montage *m, uint32_t row, uint32_t col, const uint8_t *pixels, const char *label,
                       uint32_t rgb, dd_error *err);
/* Writes text at the left of row (vertically centred on its tiles, shortened when too wide). Needs header_width. */
int dd_montage_row_header(dd_montage *m, uint32_t row, const char *text, dd_error *err);

/* Writes the picture as a PNG via a temporary file renamed into place. */
int dd_montage_write_png(dd_montage *m, const char *path, dd_error *err);

#ifdef __cplusplus
}
#endif
#endif
