/* Augmentation: rotation and scale on strokes with a re-fit into 0..255, line width through the render options,
 * shift on the rendered image. The reasons for each choice are in include/doodle/augment.h. */
#include "doodle/augment.h"

#include <math.h>
#include <string.h>

#define DD_PI 3.14159265358979323846
#define DD_BOX 255.0 /* the simplified drawings' coordinates: 0..255 */

dd_augment_opts dd_augment_opts_default(void) {
    dd_augment_opts o = {.rotation_deg = 10,
                         .scale_min = 0.9,
                         .scale_max = 1.0,
                         .shift = 0.05,
                         .line_width_min = 12,
                         .line_width_max = 20};
    return o;
}

int dd_augment_opts_check(const dd_augment_opts *o, dd_error *err) {
    if (!(o->rotation_deg >= 0 && o->rotation_deg <= 180))
        return dd_fail(err, DD_ERR_RANGE, "augmentation: rotation %g degrees is out of range (0..180)",
                       o->rotation_deg);
    if (!(o->scale_min > 0 && o->scale_min <= o->scale_max && o->scale_max <= 10))
        return dd_fail(err, DD_ERR_RANGE, "augmentation: scale range %g..%g is out of range (0 < min <= max <= 10)",
                       o->scale_min, o->scale_max);
    if (!(o->shift >= 0 && o->shift <= 0.5))
        return dd_fail(err, DD_ERR_RANGE, "augmentation: shift %g is out of range (0..0.5 of the box)", o->shift);
    if (!(o->line_width_min > 0 && o->line_width_min <= o->line_width_max && o->line_width_max <= 1024))
        return dd_fail(err, DD_ERR_RANGE,
                       "augmentation: line width range %g..%g is out of range (0 < min <= max <= 1024)",
                       o->line_width_min, o->line_width_max);
    if (o->line_width_max - o->line_width_min > (DD_AUGMENT_LINE_WIDTH_LEVELS_MAX - 1) * DD_AUGMENT_LINE_WIDTH_STEP)
        return dd_fail(err, DD_ERR_RANGE, "augmentation: line width range %g..%g is wider than %g units",
                       o->line_width_min, o->line_width_max,
                       (DD_AUGMENT_LINE_WIDTH_LEVELS_MAX - 1) * DD_AUGMENT_LINE_WIDTH_STEP);
    return 0;
}

uint32_t dd_augment_line_width_levels(const dd_augment_opts *o) {
    double span = o->line_width_max - o->line_width_min;
    if (!(span > 0)) return 1;
    return (uint32_t)floor(span / DD_AUGMENT_LINE_WIDTH_STEP + 1e-9) + 1;
}

double dd_augment_line_width(const dd_augment_opts *o, uint32_t level) {
    return o->line_width_min + level * DD_AUGMENT_LINE_WIDTH_STEP;
}

dd_augment_params dd_augment_draw(const dd_augment_opts *o, int max_shift, dd_rng *rng) {
    if (max_shift < 0) max_shift = 0;
    dd_augment_params p;
    p.rotation_deg = o->rotation_deg * (2 * dd_rng_uniform(rng) - 1);
    p.scale = o->scale_min + (o->scale_max - o->scale_min) * dd_rng_uniform(rng);
    p.line_width = dd_augment_line_width(o, (uint32_t)dd_rng_below(rng, dd_augment_line_width_levels(o)));
    uint64_t n = 2 * (uint64_t)max_shift + 1;
    p.shift_x = (int)dd_rng_below(rng, n) - max_shift;
    p.shift_y = (int)dd_rng_below(rng, n) - max_shift;
    return p;
}

static double clamp_box(double v) { return v < 0 ? 0 : v > DD_BOX ? DD_BOX : v; }

int dd_augment_apply(const dd_drawing *in, const dd_augment_params *p, dd_drawing *out, dd_error *err) {
    if (!isfinite(p->rotation_deg) || !(p->scale > 0 && p->scale <= 1e6))
        return dd_fail(err, DD_ERR_USAGE, "augmentation: rotation %g / scale %g is not usable", p->rotation_deg,
                       p->scale);
    if (dd_drawing_validate(in, err)) return -1;
    if (out != in && dd_drawing_copy(out, in, err)) return -1;

    /* rotate and scale about the centre of the bounding box */
    dd_bounds b = dd_drawing_bounds(out);
    double cx = (b.min_x + b.max_x) / 2, cy = (b.min_y + b.max_y) / 2;
    double a = p->rotation_deg * (DD_PI / 180);
    double c = cos(a) * p->scale, s = sin(a) * p->scale;
    double min_x = INFINITY, min_y = INFINITY, max_x = -INFINITY, max_y = -INFINITY;
    for (uint32_t i = 0; i < out->n_points; i++) {
        double dx = out->x[i] - cx, dy = out->y[i] - cy;
        double x = c * dx - s * dy, y = s * dx + c * dy;
        out->x[i] = x;
        out->y[i] = y;
        if (x < min_x) min_x = x;
        if (x > max_x) max_x = x;
        if (y < min_y) min_y = y;
        if (y > max_y) max_y = y;
    }

    /* re-fit: the box starts where it did (b.min, within 0..255 for a valid input); scaled down only when larger
     * than 255, moved back only when it then ends past 255 */
    double extent = fmax(max_x - min_x, max_y - min_y);
    double f = extent > DD_BOX ? DD_BOX / extent : 1.0;
    double start_x = fmax(0, fmin(b.min_x, DD_BOX - (max_x - min_x) * f));
    double start_y = fmax(0, fmin(b.min_y, DD_BOX - (max_y - min_y) * f));
    for (uint32_t i = 0; i < out->n_points; i++) {
        /* the clamp only absorbs rounding (a last bit past 255) */
        out->x[i] = clamp_box((out->x[i] - min_x) * f + start_x);
        out->y[i] = clamp_box((out->y[i] - min_y) * f + start_y);
    }
    return 0;
}

int dd_augment_render_opts(const dd_render_opts *base, double line_width, dd_render_opts *out, dd_error *err) {
    double padding = base->padding + (base->line_width - line_width) / 2;
    if (!(padding >= 0))
        return dd_fail(err, DD_ERR_RANGE,
                       "augmentation: line width %g does not fit in the frame of line width %g and padding %g "
                       "(at most %g)",
                       line_width, base->line_width, base->padding, base->line_width + 2 * base->padding);
    *out = *base;
    out->line_width = line_width;
    out->padding = padding;
    return 0;
}

int dd_augment_max_shift(double shift, double widest_line, const dd_render_opts *base) {
    double side = base->height < base->width ? base->height : base->width;
    double px_per_unit = side / (256 + 2 * base->padding + base->line_width);
    /* shift as a fraction of the 256-unit box */
    double wanted = shift * 256 * px_per_unit;
    /* room for ink: the renderer draws points at 0.5..255.5 (a drawing of extent <= 255 centred on 128) with lines
     * widest_line / 2 around them, in a frame of -(padding + line_width / 2)..256 + padding + line_width / 2; the
     * 0.1 pixel margin covers rounding */
    double room = (base->padding + base->line_width / 2 - widest_line / 2 - 0.5) * px_per_unit - 0.1;
    double m = floor(fmin(wanted + 1e-9, room));
    return m > 0 ? (int)fmin(m, 1 << 20) : 0;
}

void dd_augment_shift(const uint8_t *src, uint32_t height, uint32_t width, int dx, int dy, uint8_t *dst) {
    memset(dst, 0, (size_t)height * width);
    int64_t h = height, w = width;
    if (dx >= w || -dx >= w || dy >= h || -dy >= h) return;
    int64_t x0 = dx > 0 ? dx : 0, x1 = dx < 0 ? w + dx : w; /* destination columns [x0, x1) */
    int64_t y0 = dy > 0 ? dy : 0, y1 = dy < 0 ? h + dy : h;
    for (int64_t y = y0; y < y1; y++) memcpy(dst + y * w + x0, src + (y - dy) * w + (x0 - dx), (size_t)(x1 - x0));
}

void dd_augment_warp(const uint8_t *src, uint32_t height, uint32_t width, double rotation_deg, double scale, int dx,
                     int dy, uint8_t *dst) {
    if (rotation_deg == 0 && scale == 1) { /* exactly the shift, without resampling */
        dd_augment_shift(src, height, width, dx, dy, dst);
        return;
    }
    /* each output pixel's centre taken back through the shift, the scale and the turn to the source */
    double a = rotation_deg * (DD_PI / 180), c = cos(a) / scale, s = sin(a) / scale;
    double cx = (width - 1) / 2.0, cy = (height - 1) / 2.0;
    int64_t w = width, h = height;
    for (int64_t y = 0; y < h; y++)
        for (int64_t x = 0; x < w; x++) {
            double u = (double)(x - dx) - cx, v = (double)(y - dy) - cy;
            double sx = c * u + s * v + cx, sy = -s * u + c * v + cy;
            double fx = floor(sx), fy = floor(sy), tx = sx - fx, ty = sy - fy;
            int64_t x0 = (int64_t)fx, y0 = (int64_t)fy;
            double acc = 0;
            for (int k = 0; k < 4; k++) {
                int64_t px = x0 + (k & 1), py = y0 + (k >> 1);
                if (px < 0 || py < 0 || px >= w || py >= h) continue;
                double wgt = ((k & 1) ? tx : 1 - tx) * ((k >> 1) ? ty : 1 - ty);
                acc += wgt * src[py * w + px];
            }
            long q = lround(acc);
            dst[y * w + x] = (uint8_t)(q < 0 ? 0 : q > 255 ? 255 : q);
        }
}
