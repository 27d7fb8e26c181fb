/* Training-time augmentation of doodles: a small rotation, a uniform scale, a line-width jitter and a shift.
 *
 * Rotation and scale act on the strokes before rendering (dd_augment_apply). The result must stay a drawing that
 * dd_render accepts (every point in 0..255), and dd_render places a drawing by its maximum, at an offset of
 * (256 - max) / 2 on each axis, so that a drawing whose box starts at m is drawn with the centre of its box m / 2
 * right of and below the image's centre (simplified drawings start at 0 or within a unit or two of it).
 * Hence the re-fit after turning and scaling about the centre of the drawing's box:
 *   - the new box starts where the old one did (same minimum on each axis), so dd_render draws the new drawing
 *     about the same centre as the old: rotation and scale act about the centre of the drawing as seen in the
 *     image, and rotation 0 with scale 1 gives the drawing back unchanged. (Translating only when points leave
 *     0..255 would move a turned drawing by half of whatever its minimum became.)
 *   - only if the box is then larger than 255 on either axis is the drawing scaled down, uniformly, to 255; and
 *     only if it then ends past 255 is it moved back, left or up, to end at 255.
 *   Consequence: a drawing is never drawn larger than the 0..255 box. Google's recipe scales every simplified
 *   drawing (so every drawing of a .dset) to fill that box on its longer side, so a scale above 1 is cut back to
 *   1 for them (it still enlarges drawings that are smaller than the box), which is why the default scale range
 *   is 0.9..1; and rotating a drawing that fills the box shrinks it a little (by up to 1 / (cos a + sin a), 0.86
 *   for a square drawing turned by 10 degrees).
 *
 * Shift cannot be done on strokes: as dd_render places every drawing by its box, the centre of the box of a drawing
 * within 0..255 is never drawn left of or above the image's centre. It is a whole-pixel translation of the rendered
 * image (dd_augment_shift), capped so that no ink leaves the image (dd_augment_max_shift). Bitmap sets get the same
 * shift, and with bitmap_warp the rotation and scale as a bilinear warp of the bitmap about its centre
 * (dd_augment_warp).
 *
 * Line width: rendering with line width w uses padding + (line_width - w) / 2 (dd_augment_render_opts), which
 * keeps the scale and position of the drawing and changes only the thickness of its lines. Widths are drawn on a
 * grid of DD_AUGMENT_LINE_WIDTH_STEP units so that one renderer per width can be made in advance.
 *
 * Everything is drawn from a dd_rng passed in, each parameter from its own draw in a fixed order (also when its
 * range is empty), so changing one range leaves the values of the others as they were. */
#ifndef DOODLE_AUGMENT_H
#define DOODLE_AUGMENT_H

#include <stdint.h>

#include "doodle/drawing.h"
#include "doodle/error.h"
#include "doodle/render.h"
#include "doodle/rng.h"

#ifdef __cplusplus
extern "C" {
#endif

#define DD_AUGMENT_LINE_WIDTH_STEP 0.5
#define DD_AUGMENT_LINE_WIDTH_LEVELS_MAX 65 /* line_width_max - line_width_min <= 32 units */

typedef struct dd_augment_opts {
    double rotation_deg;                   /* largest |rotation| in degrees, uniform in [-r, r]; default 10 */
    double scale_min, scale_max;           /* uniform scale, uniform in [min, max]; default 0.9, 1 */
    double shift;                          /* largest shift as a fraction of the 256-unit box; default 0.05 */
    double line_width_min, line_width_max; /* line width in drawing units; default 12, 20 (Google: 16) */
    int bitmap_warp; /* bitmap sets: turned and scaled too (dd_augment_warp); default 0, the shift alone (doodle
                      * train sets it) */
} dd_augment_opts;

/* One drawing's draw. */
typedef struct dd_augment_params {
    double rotation_deg; /* positive turns clockwise on screen (y points down) */
    double scale;
    double line_width;    /* on the DD_AUGMENT_LINE_WIDTH_STEP grid from line_width_min */
    int shift_x, shift_y; /* whole pixels, positive moves right / down */
} dd_augment_params;

dd_augment_opts dd_augment_opts_default(void);
/* Rotation 0..180, scales 0 < min <= max <= 10, shift 0..0.5, widths 0 < min <= max <= 1024 and at most
 * DD_AUGMENT_LINE_WIDTH_LEVELS_MAX levels. */
int dd_augment_opts_check(const dd_augment_opts *o, dd_error *err);

/* Number of line widths on the grid: line_width_min + k * DD_AUGMENT_LINE_WIDTH_STEP <= line_width_max. */
uint32_t dd_augment_line_width_levels(const dd_augment_opts *o);
double dd_augment_line_width(const dd_augment_opts *o, uint32_t level);

/* Draws rotation, scale, line-width level and shift (in -max_shift..max_shift pixels), in that order. */
dd_augment_params dd_augment_draw(const dd_augment_opts *o, int max_shift, dd_rng *rng);

/* out = in rotated by p->rotation_deg and scaled by p->scale about the centre of its bounding box, then re-fitted
 * as described above; line width and shift are not used here. out may be in. Metadata is copied. Rotation 0 and
 * scale 1 give the drawing back unchanged. */
int dd_augment_apply(const dd_drawing *in, const dd_augment_params *p, dd_drawing *out, dd_error *err);

/* The render options for line width w: base with line_width = w and padding = base padding + (base line width - w)
 * / 2, so that the drawing keeps its place and size. Fails when that padding would be negative. */
int dd_augment_render_opts(const dd_render_opts *base, double line_width, dd_render_opts *out, dd_error *err);

/* The largest whole-pixel shift for images rendered with base (Google's geometry) that stays within `shift` of the
 * box and keeps all ink in the image when lines are at most widest_line units wide. 0 when there is no room. */
int dd_augment_max_shift(double shift, double widest_line, const dd_render_opts *base);

/* Bitmap sets have no strokes to turn: dst = src rotated by rotation_deg (clockwise on screen) and scaled by
 * scale about the image's centre, then moved by (dx, dy) pixels, sampled bilinearly (uncovered pixels 0). Rotation
 * 0 and scale 1 give dd_augment_shift's image. dst and src must not overlap. */
void dd_augment_warp(const uint8_t *src, uint32_t height, uint32_t width, double rotation_deg, double scale, int dx,
                     int dy, uint8_t *dst);

/* dst = src moved by (dx, dy) pixels, uncovered pixels 0. dst and src must not overlap. */
void dd_augment_shift(const uint8_t *src, uint32_t height, uint32_t width, int dx, int dy, uint8_t *dst);

#ifdef __cplusplus
}
#endif
#endif
