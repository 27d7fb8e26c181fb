/* Augmentation on the bundled simplified drawings: identity, stroke lengths under rotation, the 0..255 box and the
 * top-left alignment after re-fit, line width without moving the drawing, and the shift that never loses ink. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "doodle/augment.h"
#include "doodle/quickdraw.h"
#include "doodle/render.h"
#include "testutil.h"

#define MAX_DRAWINGS 200

static dd_drawing drawings[MAX_DRAWINGS];
static int n_drawings;

static void load_sample(void) {
    static const char *classes[] = {"airplane", "apple", "cat", "fish", "star"};
    for (int c = 0; c < 5; c++) {
        char path[4200];
        snprintf(path, sizeof path, "%s/strokes/simplified/%s.ndjson.gz", test_sample_dir(), classes[c]);
        dd_error err;
        dd_stroke_reader *r = dd_stroke_reader_open(path, &err);
        CHECK(r, "%s", err.msg);
        if (!r) continue;
        while (n_drawings < MAX_DRAWINGS) {
            dd_drawing *d = &drawings[n_drawings];
            dd_drawing_init(d);
            dd_next nx = dd_stroke_reader_next(r, d, &err);
            if (nx == DD_NEXT_OK && dd_drawing_is_simplified(d)) {
                n_drawings++;
                continue;
            }
            dd_drawing_free(d);
            if (nx == DD_NEXT_END || nx == DD_NEXT_FATAL) break;
        }
        dd_stroke_reader_close(r);
    }
    CHECK(n_drawings >= 100, "only %d sample drawings", n_drawings);
}

static double stroke_length(const dd_drawing *d, uint32_t s) {
    double len = 0;
    for (uint32_t i = dd_stroke_begin(d, s) + 1; i < d->stroke_end[s]; i++)
        len += hypot(d->x[i] - d->x[i - 1], d->y[i] - d->y[i - 1]);
    return len;
}

static void test_identity(void) {
    dd_drawing out;
    dd_drawing_init(&out);
    dd_augment_params id = {.rotation_deg = 0, .scale = 1};
    dd_error err;
    int same = 1;
    for (int k = 0; k < n_drawings; k++) {
        const dd_drawing *d = &drawings[k];
        CHECK(dd_augment_apply(d, &id, &out, &err) == 0, "%s", err.msg);
        same &= out.n_strokes == d->n_strokes && out.n_points == d->n_points && out.key_id == d->key_id &&
                !strcmp(out.word, d->word);
        for (uint32_t s = 0; same && s < d->n_strokes; s++) same &= out.stroke_end[s] == d->stroke_end[s];
        for (uint32_t i = 0; same && i < d->n_points; i++) same &= out.x[i] == d->x[i] && out.y[i] == d->y[i];
    }
    CHECK(same, "rotation 0, scale 1 changed a drawing");
    /* in place */
    dd_drawing_copy(&out, &drawings[0], &err);
    CHECK(dd_augment_apply(&out, &id, &out, &err) == 0);
    for (uint32_t i = 0; i < out.n_points; i++) CHECK(out.x[i] == drawings[0].x[i] && out.y[i] == drawings[0].y[i]);
    /* also a drawing away from the corner, with non-integer points */
    for (uint32_t i = 0; i < out.n_points; i++) out.x[i] = out.x[i] * 0.5 + 40.25, out.y[i] = out.y[i] * 0.5 + 3;
    CHECK(dd_augment_apply(&out, &id, &out, &err) == 0);
    for (uint32_t i = 0; i < out.n_points; i++)
        CHECK(out.x[i] == drawings[0].x[i] * 0.5 + 40.25 && out.y[i] == drawings[0].y[i] * 0.5 + 3);
    /* scaled up there, it runs past 255 on the right: moved back to end at 255, the top stays */
    dd_augment_params grow = {.rotation_deg = 0, .scale = 1.9};
    CHECK(dd_augment_apply(&out, &grow, &out, &err) == 0);
    dd_bounds gb = dd_drawing_bounds(&out);
    CHECK(gb.max_x == 255 && gb.min_y == 3, "bounds %g..%g x %g..%g", gb.min_x, gb.max_x, gb.min_y, gb.max_y);
    dd_drawing_free(&out);
}

static void test_rotation_lengths_and_box(void) {
    dd_drawing out;
    dd_drawing_init(&out);
    dd_rng rng;
    dd_rng_seed(&rng, 42);
    dd_error err;
    int n_shrunk = 0, n_kept = 0;
    for (int k = 0; k < n_drawings; k++) {
        const dd_drawing *d = &drawings[k];
        for (int trial = 0; trial < 8; trial++) {
            /* the usual range, right angles, and far beyond (any angle, scale up to 3) */
            double angle = trial == 0   ? 90
                           : trial == 1 ? -180
                           : trial < 5  ? 20 * dd_rng_uniform(&rng) - 10
                                        : 360 * dd_rng_uniform(&rng) - 180;
            double scale = trial < 5 ? 1 : 0.2 + 2.8 * dd_rng_uniform(&rng);
            dd_augment_params p = {.rotation_deg = angle, .scale = scale};
            CHECK(dd_augment_apply(d, &p, &out, &err) == 0, "%s", err.msg);
            /* every stroke's length is multiplied by the same factor: scale times the re-fit */
            double ratio = -1;
            int uniform = 1;
            for (uint32_t s = 0; s < d->n_strokes; s++) {
                double a = stroke_length(d, s), b = stroke_length(&out, s);
                if (a < 1) continue;
                if (ratio < 0) ratio = b / a;
                uniform &= fabs(b / a - ratio) <= 1e-9 * ratio;
            }
            CHECK(uniform, "drawing %d, rotation %g, scale %g: stroke lengths not scaled alike", k, angle, scale);
            /* inside 0..255, starting where the input started unless that would run past 255 */
            dd_bounds b0 = dd_drawing_bounds(d), b = dd_drawing_bounds(&out);
            CHECK(b.min_x >= 0 && b.min_y >= 0 && b.max_x <= 255 && b.max_y <= 255,
                  "drawing %d, rotation %g: bounds %g..%g x %g..%g", k, angle, b.min_x, b.max_x, b.min_y, b.max_y);
            CHECK(fabs(b.min_x - fmin(b0.min_x, 255 - (b.max_x - b.min_x))) < 1e-9 &&
                      fabs(b.min_y - fmin(b0.min_y, 255 - (b.max_y - b.min_y))) < 1e-9,
                  "drawing %d moved: from %g, %g to %g, %g", k, b0.min_x, b0.min_y, b.min_x, b.min_y);
            if (ratio > 0) {
                CHECK(ratio <= scale * (1 + 1e-12), "stroke lengths grew by %g with scale %g", ratio, scale);
                int refitted = ratio < scale * (1 - 1e-9);
                n_shrunk += refitted;
                n_kept += !refitted;
                /* scaled down only as far as needed: a re-fitted drawing touches the box */
                if (refitted) CHECK(fmax(b.max_x, b.max_y) > 255 - 1e-9, "re-fitted but smaller than the box");
            }
            CHECK(dd_drawing_validate(&out, &err) == 0, "%s", err.msg);
        }
        /* a right angle keeps the extents (swapped), so nothing is re-fitted: lengths are kept exactly */
        dd_augment_params quarter = {.rotation_deg = 90, .scale = 1};
        CHECK(dd_augment_apply(d, &quarter, &out, &err) == 0);
        for (uint32_t s = 0; s < d->n_strokes; s++)
            CHECK(fabs(stroke_length(&out, s) - stroke_length(d, s)) < 1e-9 * (1 + stroke_length(d, s)));
        /* clockwise on screen (y points down): (x, y) -> (max_y - y, x - min_x) + the new box's corner */
        dd_bounds b0 = dd_drawing_bounds(d), b1 = dd_drawing_bounds(&out);
        CHECK(fabs((b1.max_x - b1.min_x) - (b0.max_y - b0.min_y)) < 1e-9);
        for (uint32_t i = 0; i < d->n_points; i++)
            CHECK(fabs(out.x[i] - (b0.max_y - d->y[i] + b1.min_x)) < 1e-9 &&
                      fabs(out.y[i] - (d->x[i] - b0.min_x + b1.min_y)) < 1e-9,
                  "90 degrees: (%g, %g) -> (%g, %g)", d->x[i], d->y[i], out.x[i], out.y[i]);
    }
    CHECK(n_shrunk > 0 && n_kept > 0, "re-fit shrank %d and kept %d", n_shrunk, n_kept);
    /* renderable: dd_render refuses anything outside 0..255 */
    dd_render_opts ro = dd_render_opts_default(28, 28);
    dd_renderer *r = dd_renderer_new(&ro, &err);
    uint8_t img[28 * 28];
    dd_augment_opts ao = dd_augment_opts_default();
    ao.rotation_deg = 180;
    ao.scale_min = 0.5;
    ao.scale_max = 2;
    for (int k = 0; k < n_drawings; k++) {
        dd_augment_params p = dd_augment_draw(&ao, 0, &rng);
        CHECK(dd_augment_apply(&drawings[k], &p, &out, &err) == 0);
        CHECK(dd_render(r, &out, img, &err) == 0, "%s", err.msg);
    }
    dd_renderer_free(r);
    dd_drawing_free(&out);

    dd_augment_params bad = {.rotation_deg = NAN, .scale = 1};
    CHECK(dd_augment_apply(&drawings[0], &bad, &out, &err) != 0);
    bad = (dd_augment_params){.rotation_deg = 0, .scale = 0};
    CHECK(dd_augment_apply(&drawings[0], &bad, &out, &err) != 0);
    dd_drawing empty;
    dd_drawing_init(&empty);
    CHECK(dd_augment_apply(&empty, &(dd_augment_params){.scale = 1}, &out, &err) != 0);
    dd_drawing_free(&out);
}

static void test_draw(void) {
    dd_augment_opts o = dd_augment_opts_default();
    dd_error err;
    CHECK(dd_augment_opts_check(&o, &err) == 0, "%s", err.msg);
    CHECK(o.rotation_deg == 10 && o.scale_min == 0.9 && o.scale_max == 1 && o.line_width_min == 12 &&
          o.line_width_max == 20 && o.shift == 0.05);
    CHECK(dd_augment_line_width_levels(&o) == 17);
    dd_rng a, b;
    dd_rng_seed(&a, 5);
    dd_rng_seed(&b, 5);
    int seen_width[17] = {0}, seen_shift[5] = {0};
    for (int i = 0; i < 5000; i++) {
        dd_augment_params p = dd_augment_draw(&o, 2, &a), q = dd_augment_draw(&o, 2, &b);
        CHECK(!memcmp(&p, &q, sizeof p), "same generator state, different draws");
        CHECK(fabs(p.rotation_deg) <= 10 && p.scale >= 0.9 && p.scale <= 1);
        CHECK(p.line_width >= 12 && p.line_width <= 20 && abs(p.shift_x) <= 2 && abs(p.shift_y) <= 2);
        int level = (int)((p.line_width - 12) / DD_AUGMENT_LINE_WIDTH_STEP);
        if (level >= 0 && level < 17) seen_width[level]++;
        seen_shift[p.shift_x + 2]++;
    }
    for (int k = 0; k < 17; k++) CHECK(seen_width[k] > 0, "line width level %d never drawn", k);
    for (int k = 0; k < 5; k++) CHECK(seen_shift[k] > 0, "shift %d never drawn", k - 2);

    dd_augment_opts bad = o;
    bad.scale_min = 0;
    CHECK(dd_augment_opts_check(&bad, &err) != 0 && strstr(err.msg, "scale"));
    bad = o;
    bad.line_width_max = 100;
    CHECK(dd_augment_opts_check(&bad, &err) != 0 && strstr(err.msg, "line width"));
    bad = o;
    bad.rotation_deg = NAN;
    CHECK(dd_augment_opts_check(&bad, &err) != 0);
    bad = o;
    bad.shift = 0.9;
    CHECK(dd_augment_opts_check(&bad, &err) != 0);
}

static long ink(const uint8_t *img, size_t n) {
    long s = 0;
    for (size_t i = 0; i < n; i++) s += img[i];
    return s;
}

static void test_line_width_and_shift(uint32_t h, uint32_t w) {
    dd_error err;
    dd_render_opts base = dd_render_opts_default(h, w);
    dd_augment_opts ao = dd_augment_opts_default();
    int max_shift = dd_augment_max_shift(ao.shift, ao.line_width_max, &base);
    CHECK(max_shift == (h == 28 ? 1 : 2), "%ux%u: largest shift %d", h, w, max_shift);
    CHECK(dd_augment_max_shift(0, ao.line_width_max, &base) == 0);
    CHECK(dd_augment_max_shift(0.5, 48, &base) == 0, "no room for any shift with lines of 48");

    /* the base width through dd_augment_render_opts is the base renderer */
    dd_render_opts same, wide;
    CHECK(dd_augment_render_opts(&base, base.line_width, &same, &err) == 0 && same.padding == base.padding);
    CHECK(dd_augment_render_opts(&base, ao.line_width_max, &wide, &err) == 0);
    CHECK(wide.padding == base.padding - 2 && wide.line_width == 20);
    dd_render_opts too_wide;
    CHECK(dd_augment_render_opts(&base, 50, &too_wide, &err) != 0 && strstr(err.msg, "50"), "%s", err.msg);

    dd_renderer *r0 = dd_renderer_new(&base, &err), *rs = dd_renderer_new(&same, &err);
    dd_renderer *rw = dd_renderer_new(&wide, &err);
    size_t n = (size_t)h * w;
    uint8_t *a = malloc(n), *b = malloc(n), *c = malloc(n);
    dd_drawing out;
    dd_drawing_init(&out);
    long lost = 0, equal = 1;
    for (int k = 0; k < n_drawings; k++) {
        CHECK(dd_render(r0, &drawings[k], a, &err) == 0 && dd_render(rs, &drawings[k], b, &err) == 0);
        equal &= !memcmp(a, b, n);
        /* a wider line: more ink around the same place (the centre of mass does not move) */
        CHECK(dd_render(rw, &drawings[k], c, &err) == 0);
        CHECK(ink(c, n) > ink(a, n));
        double mx[2] = {0, 0}, tot[2] = {0, 0};
        const uint8_t *imgs[2] = {a, c};
        for (int m = 0; m < 2; m++)
            for (size_t i = 0; i < n; i++) mx[m] += (double)imgs[m][i] * (double)(i % w), tot[m] += imgs[m][i];
        CHECK(fabs(mx[0] / tot[0] - mx[1] / tot[1]) < 0.1 * w, "line width moved the drawing");

        /* the widest line, rotated, shifted by the largest shift in every direction: no ink leaves the image */
        for (int turn = -10; turn <= 10; turn += 10) {
            dd_augment_params p = {.rotation_deg = turn, .scale = 1};
            CHECK(dd_augment_apply(&drawings[k], &p, &out, &err) == 0);
            CHECK(dd_render(rw, &out, c, &err) == 0);
            long total = ink(c, n);
            for (int dy = -1; dy <= 1; dy++)
                for (int dx = -1; dx <= 1; dx++) {
                    dd_augment_shift(c, h, w, dx * max_shift, dy * max_shift, b);
                    lost += total - ink(b, n);
                }
        }
    }
    CHECK(equal, "padding compensation changed the image at the base width");
    CHECK(lost == 0, "%ux%u: shifting lost %ld of ink", h, w, lost);

    /* the shift itself */
    for (size_t i = 0; i < n; i++) a[i] = (uint8_t)(i * 7 + 1);
    dd_augment_shift(a, h, w, 0, 0, b);
    CHECK(!memcmp(a, b, n), "shift 0 is the identity");
    dd_augment_shift(a, h, w, 3, -2, b);
    int ok = 1;
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++) {
            int sx = (int)x - 3, sy = (int)y + 2;
            uint8_t want = sx >= 0 && sy < (int)h ? a[(size_t)sy * w + (size_t)sx] : 0;
            ok &= b[(size_t)y * w + x] == want;
        }
    CHECK(ok, "shift by (3, -2)");
    dd_augment_shift(a, h, w, (int)w, 0, b);
    CHECK(ink(b, n) == 0, "a shift by the whole width leaves nothing");
    dd_augment_shift(a, h, w, 0, -(int)h - 5, b);
    CHECK(ink(b, n) == 0);
    free(a), free(b), free(c);
    dd_drawing_free(&out);
    dd_renderer_free(r0), dd_renderer_free(rs), dd_renderer_free(rw);
}

/* Bitmaps: a warp without turn or scale is the shift; a quarter turn of an odd-sized image moves every pixel to
 * its exact place (clockwise on screen); shrinking keeps the centre and loses no more than the edges. */
static void test_bitmap_warp(void) {
    enum { S = 7 };
    uint8_t src[S * S], a[S * S], b[S * S];
    for (int i = 0; i < S * S; i++) src[i] = (uint8_t)(i * 37 % 251);
    for (int dx = -2; dx <= 2; dx++)
        for (int dy = -1; dy <= 1; dy++) {
            dd_augment_warp(src, S, S, 0, 1, dx, dy, a);
            dd_augment_shift(src, S, S, dx, dy, b);
            CHECK(memcmp(a, b, sizeof a) == 0, "warp (0, 1, %d, %d) differs from the shift", dx, dy);
        }
    dd_augment_warp(src, S, S, 90, 1, 0, 0, a);
    int c = S / 2, wrong = 0;
    for (int y = 0; y < S; y++)
        for (int x = 0; x < S; x++) {
            /* a point right of the centre ends below it: dst(x, y) = src(y - c + c, c - (x - c)) */
            int sx = y, sy = 2 * c - x;
            wrong += a[y * S + x] != src[sy * S + sx];
        }
    CHECK(wrong == 0, "a quarter turn misplaced %d pixels", wrong);
    /* a shift moves the turned image as a whole */
    dd_augment_warp(src, S, S, 90, 1, 1, 0, b);
    for (int y = 0; y < S; y++)
        for (int x = 1; x < S; x++) CHECK(b[y * S + x] == a[y * S + x - 1], "turn then shift at (%d, %d)", x, y);
    uint8_t flat[S * S];
    memset(flat, 200, sizeof flat);
    dd_augment_warp(flat, S, S, 10, 0.9, 0, 0, a);
    CHECK(a[c * S + c] == 200, "the centre of a flat image stays %d", a[c * S + c]);
    int zeros = 0;
    for (int i = 0; i < S * S; i++) zeros += a[i] < 200;
    CHECK(zeros > 0 && zeros < S * S / 2, "shrinking and turning uncovered %d of %d pixels", zeros, S * S);
}

int main(void) {
    load_sample();
    test_bitmap_warp();
    test_identity();
    test_rotation_lengths_and_box();
    test_draw();
    test_line_width_and_shift(28, 28);
    test_line_width_and_shift(66, 100);
    for (int k = 0; k < n_drawings; k++) dd_drawing_free(&drawings[k]);
    return test_finish("test_augment");
}
