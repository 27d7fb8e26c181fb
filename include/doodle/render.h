/* Rendering strokes to 8-bit images with cairo.
 *
 * Defaults follow Google's recipe for the official 28x28 bitmaps: the simplified drawing (coordinates 0..255)
 * is centred inside the 256x256 box with an offset of (256 - max) / 2 on each axis, drawn as a round-capped,
 * round-joined, anti-aliased line of width 16 (in those 256 units) with a padding of 16, so that
 * 256 + 2*16 + 16 units map onto the image; 0 is background, 255 is ink. Other sizes keep the aspect ratio:
 * the square of 256 + 2*padding + line_width units is scaled to fit the image and centred in it. */
#ifndef DOODLE_RENDER_H
#define DOODLE_RENDER_H

#include <stdint.h>

#include "doodle/drawing.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dd_render_opts {
    uint32_t height, width;
    double line_width; /* in drawing units (the 0..255 box); Google: 16 */
    double padding;    /* in drawing units, around the 256 box; Google: 16 */
} dd_render_opts;

/* Google's recipe at height x width. */
dd_render_opts dd_render_opts_default(uint32_t height, uint32_t width);

/* The one check of render options, used by every verb and by dd_renderer_new: a size of 1..16384 on each side, a
 * finite line width in (0, 1024], a finite padding in [0, 4096]. DD_ERR_RANGE naming the field. */
int dd_render_opts_check(const dd_render_opts *o, dd_error *err);

/* Holds a cairo surface and context reused from drawing to drawing; one per thread. */
typedef struct dd_renderer dd_renderer;

dd_renderer *dd_renderer_new(const dd_render_opts *opts, dd_error *err);
void dd_renderer_free(dd_renderer *r);
/* Renders d (a simplified drawing, coordinates 0..255) into out[height * width]. A stroke of more than
 * DD_RENDER_MAX_STROKE_POINTS points is refused (DD_ERR_RANGE): cairo's cost for a stroke grows with the square of
 * its points when its segments pile up in the same rows (8,192 chords across the box take 0.5 s at 28x28, 36,000
 * take 40 s), so a hostile file could stall a verb for hours; the longest stroke of the 18,170 drawings in
 * ../shared has 421. prep leaves such drawings out (too_large), so a dataset only holds drawings it can draw. */
#define DD_RENDER_MAX_STROKE_POINTS 8192u
int dd_render(dd_renderer *r, const dd_drawing *d, uint8_t *out, dd_error *err);

/* Parses "28x28" / "66x100" (height x width) into opts' size. */
int dd_parse_size(const char *text, uint32_t *height, uint32_t *width, dd_error *err);

#ifdef __cplusplus
}
#endif
#endif
