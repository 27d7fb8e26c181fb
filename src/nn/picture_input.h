/* A picture of a drawing (a PNG someone drew in a paint program, on a tablet, in a browser) turned into the image
 * a model was trained on: what Google's renderer (src/data/render.c) would have drawn from the drawing's strokes.
 * src/nn/picture_input.c explains the steps and why; include/doodle/classify.h states the rule for users. */
#ifndef DOODLE_NN_PICTURE_INPUT_H
#define DOODLE_NN_PICTURE_INPUT_H

#include <cairo.h>
#include <stdint.h>

#include "doodle/error.h"
#include "doodle/render.h"

/* A picture's ink: an A8 surface the picture's size, 0 = paper, 255 = the most ink; which way round the picture was
 * (dark on light or light on dark, with or without transparency) already undone. NULL (err set) on failure. */
cairo_surface_t *nn_picture_ink(cairo_surface_t *picture, const char *path, dd_error *err);

/* The ink redrawn as the renderer draws strokes with opts (size, line width, padding): cropped to the ink, its
 * centre line found, scaled so that the centre line's longer side spans the 255 drawing units, centred, and drawn
 * with a round line of opts->line_width units. out holds opts->height * opts->width bytes. Fails (DD_ERR_EMPTY)
 * when the picture holds no ink. path names the picture in messages. */
int nn_picture_redraw(cairo_surface_t *ink, const dd_render_opts *opts, uint8_t *out, const char *path, dd_error *err);

/* Otsu's threshold of a 256-bin histogram: the grey level t that best splits it into <= t and > t. Exposed for
 * the tests. */
int nn_otsu_threshold(const uint64_t hist[256]);

/* Zhang and Suen's thinning of a binary image (0 / 1, w x h, row-major) in place, down to lines one pixel wide.
 * The outermost rows and columns must be 0. Exposed for the tests. Returns the pixels left. */
uint64_t nn_thin(uint8_t *px, int w, int h);

#endif
