/* A picture of a drawing -> the image the model was trained on (the rule for users is in include/doodle/classify.h).
 *
 * Training images are strokes drawn by src/data/render.c: the drawing's centre lines scaled so that their longer
 * side spans 255 units, centred in a 256 box, drawn with a round line 16 units wide (1.5 pixels at 28x28) whatever
 * the pen was. A picture someone drew has its own size, margins and pen: scaled as a whole, a 6 px pen on a 300 px
 * canvas arrives as a 0.6 px hairline and a 16 px one as 1.5 px, and the model sees two different drawings. So
 * the picture is reduced to what the strokes were, and redrawn as the renderer draws strokes:
 *   1. ink: laid on paper that contrasts with what is drawn (transparent parts), turned to grey, the paper's grey
 *      (the median: paper is most of a drawing) subtracted, so dark-on-light and light-on-dark give the same ink;
 *   2. cropped to the ink (Otsu's threshold) and resampled so that its longer side is WORK_SIDE pixels: the steps
 *      after cost the same for a 100 px and a 4000 px picture, and lines of any pen are several pixels wide;
 *   3. binarised again (Otsu) and thinned to one-pixel centre lines (Zhang and Suen);
 *   4. the centre lines drawn, as cairo strokes with the renderer's settings (round caps and joins, line width,
 *      anti-aliasing), scaled so their longer side is 255 units and centred as the renderer centres strokes.
 * Why thinning and redrawing rather than measuring the pen (ink area / centre-line length) and growing or
 * shrinking the ink by the difference: the width then comes out exactly the renderer's, with its anti-aliased
 * edges, also where one picture mixes pens or a line was gone over twice; and the centre lines give the same
 * bounding box the renderer centres on (the ink's box is half a pen wider on every side). Measured on 525 real
 * drawings of 21 classes drawn at 300 px (bench/predict_png.sh): top-1 88.6% from the strokes; from the pictures
 * 89.1% with a 6 px pen and 87.2% with a 16 px one (scaled as a whole, as before: 16.8% and 88.2%). */
#include "nn/picture_input.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "doodle/alloc.h"

#define WORK_SIDE 512   /* the ink's longer side while it is thinned, pixels */
#define WORK_MARGIN 4   /* empty pixels around it: thinning needs an empty border, resampling spreads a pixel */
#define MIN_CONTRAST 24 /* ink fainter than this (of 255) is paper: JPEG-like noise, scanner dust */
#define BOX 256.0       /* the renderer's drawing box, units */

static int cairo_failed(cairo_status_t st, const char *path, const char *what, dd_error *err) {
    return dd_fail(err, st == CAIRO_STATUS_NO_MEMORY ? DD_ERR_NOMEM : DD_ERR_IO, "%s: %s: %s", path, what,
                   cairo_status_to_string(st));
}

static inline uint32_t luma(uint32_t px) { /* 0x??RRGGBB, native order */
    uint32_t r = px >> 16 & 0xff, g = px >> 8 & 0xff, b = px & 0xff;
    return (299 * r + 587 * g + 114 * b + 500) / 1000;
}

/* A picture as ARGB32 or RGB24 (cairo's PNG reader gives one of the two; anything else is converted). */
static cairo_surface_t *as_rgb(cairo_surface_t *picture) {
    cairo_format_t f = cairo_image_surface_get_format(picture);
    if (f == CAIRO_FORMAT_ARGB32 || f == CAIRO_FORMAT_RGB24) return cairo_surface_reference(picture);
    int w = cairo_image_surface_get_width(picture), h = cairo_image_surface_get_height(picture);
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, w, h);
    cairo_t *cr = cairo_create(s);
    cairo_set_source_surface(cr, picture, 0, 0);
    cairo_paint(cr);
    cairo_destroy(cr);
    return s;
}

cairo_surface_t *nn_picture_ink(cairo_surface_t *picture, const char *path, dd_error *err) {
    cairo_surface_t *rgb = as_rgb(picture);
    int w = cairo_image_surface_get_width(rgb), h = cairo_image_surface_get_height(rgb);
    cairo_surface_t *ink = cairo_image_surface_create(CAIRO_FORMAT_A8, w, h);
    cairo_status_t st = cairo_surface_status(rgb);
    if (st == CAIRO_STATUS_SUCCESS) st = cairo_surface_status(ink);
    if (st != CAIRO_STATUS_SUCCESS) {
        cairo_failed(st, path, "cannot convert the picture", err);
        cairo_surface_destroy(rgb);
        cairo_surface_destroy(ink);
        return NULL;
    }
    cairo_surface_flush(rgb);
    cairo_surface_flush(ink);
    const unsigned char *src = cairo_image_surface_get_data(rgb);
    unsigned char *dst = cairo_image_surface_get_data(ink);
    int src_stride = cairo_image_surface_get_stride(rgb), dst_stride = cairo_image_surface_get_stride(ink);
    int alpha = cairo_image_surface_get_format(rgb) == CAIRO_FORMAT_ARGB32;

    /* Transparent parts are laid on paper that contrasts with what is drawn: white under dark ink, black under
     * light ink (a white pen on a transparent canvas would vanish on white). Pixels are premultiplied, so the
     * luma of a pixel is its colour's luma times its alpha, and the alpha-weighted mean colour is a ratio. */
    uint64_t sum_alpha = 0, sum_luma = 0;
    for (int y = 0; alpha && y < h; y++)
        for (int x = 0; x < w; x++) {
            uint32_t px;
            memcpy(&px, src + (size_t)y * src_stride + (size_t)x * 4, sizeof px);
            sum_alpha += px >> 24;
            sum_luma += luma(px);
        }
    uint32_t paper = sum_alpha && 2 * sum_luma * 255 < 255 * sum_alpha ? 255 : 0;

    uint64_t hist[256] = {0};
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint32_t px;
            memcpy(&px, src + (size_t)y * src_stride + (size_t)x * 4, sizeof px);
            uint32_t a = alpha ? px >> 24 : 255, g = luma(px) + ((255 - a) * paper + 127) / 255;
            g = g > 255 ? 255 : g;
            dst[(size_t)y * dst_stride + x] = (uint8_t)g;
            hist[g]++;
        }
    /* The paper's grey is the median (paper is most of a drawing); ink is how far a pixel is from it, towards the
     * far end of the scale, stretched to 0..255 so that grey paper gives full ink too. */
    uint64_t half = ((uint64_t)w * (uint64_t)h + 1) / 2, seen = 0;
    int bg = 0;
    while (bg < 255 && (seen += hist[bg]) < half) bg++;
    int dark_ink = bg >= 128, range = dark_ink ? bg : 255 - bg;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            unsigned char *p = dst + (size_t)y * dst_stride + x;
            int d = dark_ink ? bg - *p : *p - bg;
            *p = (unsigned char)(d <= 0 || range == 0 ? 0 : d >= range ? 255 : (d * 255 + range / 2) / range);
        }
    cairo_surface_mark_dirty(ink);
    cairo_surface_destroy(rgb);
    return ink;
}

int nn_otsu_threshold(const uint64_t hist[256]) {
    double total = 0, sum = 0;
    for (int i = 0; i < 256; i++) {
        total += (double)hist[i];
        sum += (double)i * (double)hist[i];
    }
    double w0 = 0, sum0 = 0, best = -1;
    int t = 0;
    for (int i = 0; i < 255; i++) {
        w0 += (double)hist[i];
        sum0 += (double)i * (double)hist[i];
        double w1 = total - w0;
        if (w0 == 0 || w1 == 0) continue;
        double m0 = sum0 / w0, m1 = (sum - sum0) / w1, between = w0 * w1 * (m0 - m1) * (m0 - m1);
        if (between > best) {
            best = between;
            t = i;
        }
    }
    return t;
}

/* The threshold for ink in an A8 image: Otsu's, but never below MIN_CONTRAST. */
static int ink_threshold(const unsigned char *data, int w, int h, int stride) {
    uint64_t hist[256] = {0};
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) hist[data[(size_t)y * stride + x]]++;
    int t = nn_otsu_threshold(hist);
    return t < MIN_CONTRAST ? MIN_CONTRAST : t;
}

uint64_t nn_thin(uint8_t *px, int w, int h) {
    /* Two sub-iterations a pass; a pixel is removed when it has 2..6 ink neighbours, exactly one 0 -> 1 step going
     * round them (so removing it keeps everything connected and does not shorten a line's end), and it lies on a
     * south-east (first) or north-west (second) boundary. Marked pixels (2) still count until the sub-iteration
     * ends, so that each sub-iteration is decided on the same picture. */
    int changed = 1;
    while (changed) {
        changed = 0;
        for (int step = 0; step < 2; step++) {
            for (int y = 1; y < h - 1; y++)
                for (int x = 1; x < w - 1; x++) {
                    uint8_t *p = px + (size_t)y * w + x;
                    if (!*p) continue;
                    /* P2..P9: N, NE, E, SE, S, SW, W, NW */
                    int n[8] = {p[-w] != 0, p[-w + 1] != 0, p[1] != 0,  p[w + 1] != 0,
                                p[w] != 0,  p[w - 1] != 0,  p[-1] != 0, p[-w - 1] != 0};
                    int b = 0, a = 0;
                    for (int i = 0; i < 8; i++) {
                        b += n[i];
                        a += !n[i] && n[(i + 1) % 8];
                    }
                    if (b < 2 || b > 6 || a != 1) continue;
                    int remove = step == 0 ? !(n[0] && n[2] && n[4]) && !(n[2] && n[4] && n[6])
                                           : !(n[0] && n[2] && n[6]) && !(n[0] && n[4] && n[6]);
                    if (remove) {
                        *p = 2;
                        changed = 1;
                    }
                }
            for (size_t i = 0; i < (size_t)w * h; i++)
                if (px[i] == 2) px[i] = 0;
        }
    }
    uint64_t left = 0;
    for (size_t i = 0; i < (size_t)w * h; i++) left += px[i];
    return left;
}

/* Steps 2 and 3: the ink inside its box, resampled to WORK_SIDE, binarised and thinned into skel (allocated,
 * *ww x *wh). */
static int centre_lines(cairo_surface_t *ink, const char *path, uint8_t **skel, int *ww, int *wh, dd_error *err) {
    int sw = cairo_image_surface_get_width(ink), sh = cairo_image_surface_get_height(ink);
    const unsigned char *data = cairo_image_surface_get_data(ink);
    int stride = cairo_image_surface_get_stride(ink);
    int t = ink_threshold(data, sw, sh, stride);
    int x0 = sw, y0 = sh, x1 = -1, y1 = -1;
    for (int y = 0; y < sh; y++)
        for (int x = 0; x < sw; x++)
            if (data[(size_t)y * stride + x] > t) {
                if (x < x0) x0 = x;
                if (x > x1) x1 = x;
                if (y < y0) y0 = y;
                if (y > y1) y1 = y;
            }
    if (x1 < 0)
        return dd_fail(err, DD_ERR_EMPTY,
                       "%s: no drawing in the picture (nothing differs from the paper by %d of 255 "
                       "grey levels or more)",
                       path, MIN_CONTRAST);
    int bw = x1 - x0 + 1, bh = y1 - y0 + 1;
    double g = (double)WORK_SIDE / (bw > bh ? bw : bh);
    *ww = (int)ceil(bw * g) + 2 * WORK_MARGIN;
    *wh = (int)ceil(bh * g) + 2 * WORK_MARGIN;
    cairo_surface_t *work = cairo_image_surface_create(CAIRO_FORMAT_A8, *ww, *wh);
    cairo_t *cr = cairo_create(work);
    cairo_translate(cr, WORK_MARGIN, WORK_MARGIN);
    cairo_scale(cr, g, g);
    cairo_set_source_surface(cr, ink, -x0, -y0);
    cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_GOOD);
    cairo_paint(cr);
    cairo_status_t st = cairo_status(cr);
    cairo_destroy(cr);
    if (st == CAIRO_STATUS_SUCCESS) st = cairo_surface_status(work);
    if (st != CAIRO_STATUS_SUCCESS) {
        cairo_surface_destroy(work);
        return cairo_failed(st, path, "cannot scale the picture", err);
    }
    cairo_surface_flush(work);
    const unsigned char *wd = cairo_image_surface_get_data(work);
    int wstride = cairo_image_surface_get_stride(work);
    int wt = ink_threshold(wd, *ww, *wh, wstride);
    *skel = dd_calloc((size_t)*ww * (size_t)*wh, 1, err);
    if (*skel) {
        for (int y = 1; y < *wh - 1; y++)
            for (int x = 1; x < *ww - 1; x++) (*skel)[(size_t)y * *ww + x] = wd[(size_t)y * wstride + x] > wt;
        nn_thin(*skel, *ww, *wh);
    }
    cairo_surface_destroy(work);
    return *skel ? 0 : -1;
}

int nn_picture_redraw(cairo_surface_t *ink, const dd_render_opts *opts, uint8_t *out, const char *path, dd_error *err) {
    uint8_t *skel = NULL;
    int ww = 0, wh = 0;
    if (centre_lines(ink, path, &skel, &ww, &wh, err)) return -1;
    int sx0 = ww, sy0 = wh, sx1 = -1, sy1 = -1;
    for (int y = 0; y < wh; y++)
        for (int x = 0; x < ww; x++)
            if (skel[(size_t)y * ww + x]) {
                if (x < sx0) sx0 = x;
                if (x > sx1) sx1 = x;
                if (y < sy0) sy0 = y;
                if (y > sy1) sy1 = y;
            }
    if (sx1 < 0) { /* thinning keeps at least a pixel of every line; only specks can vanish */
        free(skel);
        return dd_fail(err, DD_ERR_EMPTY, "%s: no drawing in the picture (only specks of ink)", path);
    }
    /* Step 4. The renderer's transform (src/data/render.c): the square of 256 + 2 padding + line width units fits
     * the shorter side, centred; the drawing's box is centred in the 256 box. The centre lines' longer side is
     * 255 units, as Google's simplification scales strokes. */
    cairo_surface_t *surface = cairo_image_surface_create(CAIRO_FORMAT_A8, (int)opts->width, (int)opts->height);
    cairo_t *cr = cairo_create(surface);
    double total_padding = 2 * opts->padding + opts->line_width;
    double side = opts->height < opts->width ? opts->height : opts->width;
    cairo_translate(cr, (opts->width - side) / 2, (opts->height - side) / 2);
    cairo_scale(cr, side / (BOX + total_padding), side / (BOX + total_padding));
    cairo_translate(cr, total_padding / 2 + BOX / 2, total_padding / 2 + BOX / 2);
    int span = sx1 - sx0 > sy1 - sy0 ? sx1 - sx0 : sy1 - sy0;
    double k = 255.0 / (span > 0 ? span : 1), cx = (sx0 + sx1) / 2.0, cy = (sy0 + sy1) / 2.0;
    cairo_set_antialias(cr, CAIRO_ANTIALIAS_DEFAULT);
    cairo_set_tolerance(cr, 0.1);
    cairo_set_line_cap(cr, CAIRO_LINE_CAP_ROUND);
    cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
    cairo_set_line_width(cr, opts->line_width);
    cairo_set_source_rgba(cr, 0, 0, 0, 1);
    /* Every pair of neighbouring centre-line pixels is a segment (each pair once: east, south-west, south,
     * south-east); a pixel with no neighbour is a dot. One path, stroked once, so overlaps do not add up. */
    static const int dx[4] = {1, -1, 0, 1}, dy[4] = {0, 1, 1, 1};
    for (int y = sy0; y <= sy1; y++)
        for (int x = sx0; x <= sx1; x++) {
            const uint8_t *p = skel + (size_t)y * ww + x;
            if (!*p) continue;
            double ux = (x - cx) * k, uy = (y - cy) * k;
            int alone = !(p[-ww - 1] || p[-ww] || p[-ww + 1] || p[-1]);
            for (int i = 0; i < 4; i++)
                if (p[dy[i] * ww + dx[i]]) {
                    cairo_move_to(cr, ux, uy);
                    cairo_line_to(cr, ux + dx[i] * k, uy + dy[i] * k);
                    alone = 0;
                }
            if (alone) {
                cairo_move_to(cr, ux, uy);
                cairo_line_to(cr, ux, uy);
            }
        }
    cairo_stroke(cr);
    cairo_status_t st = cairo_status(cr);
    cairo_destroy(cr);
    free(skel);
    if (st == CAIRO_STATUS_SUCCESS) st = cairo_surface_status(surface);
    if (st != CAIRO_STATUS_SUCCESS) {
        cairo_surface_destroy(surface);
        return cairo_failed(st, path, "cannot draw the picture's lines", err);
    }
    cairo_surface_flush(surface);
    const unsigned char *d = cairo_image_surface_get_data(surface);
    int stride = cairo_image_surface_get_stride(surface);
    for (uint32_t y = 0; y < opts->height; y++)
        memcpy(out + (size_t)y * opts->width, d + (size_t)y * stride, opts->width);
    cairo_surface_destroy(surface);
    return 0;
}
