/* The renderer: reproduces Google's official 28x28 bitmaps from the simplified strokes, and behaves at other sizes
 * and options. */
#include <cairo.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doodle/quickdraw.h"
#include "doodle/render.h"
#include "testutil.h"

static const char *const classes[] = {"apple", "bicycle", "cat", "diamond", "eye", "fish"};
#define N_CLASSES (sizeof classes / sizeof classes[0])
#define N_OFFICIAL 25 /* rows 0-24 of the bitmaps are lines 1-25 of the strokes */

/* Reads the first n drawings of path into ds (initialised here); returns how many were read. */
static size_t read_drawings(const char *path, dd_drawing *ds, size_t n) {
    dd_error err = {0};
    for (size_t i = 0; i < n; i++) dd_drawing_init(&ds[i]);
    dd_stroke_reader *r = dd_stroke_reader_open(path, &err);
    CHECK(r != NULL, "%s", err.msg);
    if (!r) return 0;
    size_t k = 0;
    while (k < n) {
        dd_next nx = dd_stroke_reader_next(r, &ds[k], &err);
        if (nx == DD_NEXT_OK) {
            k++;
            continue;
        }
        CHECK(nx == DD_NEXT_END, "%s", err.msg);
        break;
    }
    dd_stroke_reader_close(r);
    return k;
}

static uint64_t ink_sum(const uint8_t *img, size_t n) {
    uint64_t s = 0;
    for (size_t i = 0; i < n; i++) s += img[i];
    return s;
}

/* Bounding box of pixels >= threshold; returns 0 when there are none. */
static int ink_box(const uint8_t *img, uint32_t h, uint32_t w, uint8_t threshold, uint32_t box[4]) {
    uint32_t y0 = h, y1 = 0, x0 = w, x1 = 0;
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++)
            if (img[y * w + x] >= threshold) {
                if (y < y0) y0 = y;
                if (y > y1) y1 = y;
                if (x < x0) x0 = x;
                if (x > x1) x1 = x;
            }
    box[0] = y0, box[1] = x0, box[2] = y1, box[3] = x1;
    return y0 <= y1;
}

/* The 150 official bitmaps: every pixel within 1 grey level. */
static void test_official(void) {
    const char *data = test_shared_data();
    dd_error err = {0};
    dd_render_opts o = dd_render_opts_default(28, 28);
    dd_renderer *r = dd_renderer_new(&o, &err);
    CHECK(r != NULL, "%s", err.msg);
    if (!r) return;
    uint64_t pixel_hist[256] = {0};   /* |difference| over all pixels */
    unsigned drawing_hist[256] = {0}; /* max |difference| per drawing */
    unsigned compared = 0, worst = 0;
    for (size_t c = 0; c < N_CLASSES; c++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/strokes_simplified/lamnguyen5464_Sketch-dataset/%s.ndjson.gz", data,
                 classes[c]);
        dd_drawing ds[N_OFFICIAL];
        size_t n = read_drawings(path, ds, N_OFFICIAL);
        CHECK(n == N_OFFICIAL, "%s: %zu drawings", path, n);
        snprintf(path, sizeof path, "%s/bitmaps_28x28/sukumr_Doodle-Classifier/%s.npy.gz", data, classes[c]);
        dd_bitmaps official = {0};
        int rc = dd_npy_read(path, &official, &err);
        CHECK(rc == 0, "%s", err.msg);
        if (rc == 0) {
            CHECK(official.height == 28 && official.width == 28 && official.count >= N_OFFICIAL);
            for (size_t i = 0; i < n && i < official.count; i++) {
                uint8_t img[28 * 28];
                CHECK(dd_render(r, &ds[i], img, &err) == 0, "%s", err.msg);
                const uint8_t *want = dd_bitmap_at(&official, i);
                unsigned m = 0;
                for (int p = 0; p < 28 * 28; p++) {
                    unsigned d = (unsigned)abs(img[p] - want[p]);
                    pixel_hist[d]++;
                    if (d > m) m = d;
                }
                CHECK(m <= 1, "%s drawing %zu: max difference %u grey levels", classes[c], i + 1, m);
                drawing_hist[m]++;
                if (m > worst) worst = m;
                compared++;
            }
            dd_bitmaps_free(&official);
        }
        for (size_t i = 0; i < N_OFFICIAL; i++) dd_drawing_free(&ds[i]);
    }
    CHECK(compared == N_CLASSES * N_OFFICIAL, "compared %u", compared);
    printf("official 28x28 bitmaps: %u compared, max |difference| %u grey levels\n", compared, worst);
    printf("  drawings by max |difference|:");
    for (unsigned d = 0; d <= worst; d++) printf(" %u:%u", d, drawing_hist[d]);
    printf("\n  pixels by |difference|:");
    for (unsigned d = 0; d <= worst; d++) printf(" %u:%llu", d, (unsigned long long)pixel_hist[d]);
    printf("\n");
    dd_renderer_free(r);
}

/* A square outline of the whole 0..255 box, as a simplified drawing. */
static void square_drawing(dd_drawing *d) {
    dd_error err;
    dd_drawing_init(d);
    static const double xs[] = {0, 255, 255, 0, 0}, ys[] = {0, 0, 255, 255, 0};
    for (int i = 0; i < 5; i++) CHECK(dd_drawing_add_point(d, xs[i], ys[i], 0, &err) == 0);
    dd_drawing_end_stroke(d);
}

/* Other sizes: the square of the 28x28 recipe fits the shorter side and is centred on the longer one. */
static void test_sizes(void) {
    dd_error err = {0};
    dd_drawing sq;
    square_drawing(&sq);
    static const uint32_t sizes[][2] = {{66, 100}, {100, 66}, {28, 28}, {64, 64}, {1, 1}, {3, 200}};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        uint32_t h = sizes[k][0], w = sizes[k][1];
        dd_render_opts o = dd_render_opts_default(h, w);
        dd_renderer *r = dd_renderer_new(&o, &err);
        CHECK(r != NULL, "%ux%u: %s", h, w, err.msg);
        if (!r) continue;
        uint8_t *img = calloc((size_t)h * w, 1);
        CHECK(img != NULL);
        if (img && dd_render(r, &sq, img, &err) == 0) {
            uint32_t b[4];
            CHECK(ink_box(img, h, w, 1, b), "%ux%u: no ink", h, w);
            if (h >= 28 && w >= 28) {
                uint32_t bh = b[2] - b[0] + 1, bw = b[3] - b[1] + 1;
                CHECK(bh + 1 >= bw && bw + 1 >= bh, "%ux%u: ink box %ux%u is not square", h, w, bh, bw);
                /* centred: margins on each side equal within a pixel */
                int top = (int)b[0], bottom = (int)(h - 1 - b[2]), left = (int)b[1], right = (int)(w - 1 - b[3]);
                CHECK(abs(top - bottom) <= 1 && abs(left - right) <= 1, "%ux%u: margins t%d b%d l%d r%d", h, w, top,
                      bottom, left, right);
                /* the square spans (256 + 16) / (256 + 48) of the shorter side */
                double side = h < w ? h : w, want = side * 272.0 / 304.0;
                CHECK(bh >= want - 2 && bh <= want + 2, "%ux%u: ink height %u, expected about %.1f", h, w, bh, want);
            }
        } else {
            CHECK(0, "%ux%u: %s", h, w, err.msg);
        }
        free(img);
        dd_renderer_free(r);
    }
    dd_drawing_free(&sq);
}

/* A real drawing at 66x100: ink present, kept inside the centred 66x66 square. */
static void test_real_66x100(const dd_drawing *d) {
    dd_error err = {0};
    dd_render_opts o = dd_render_opts_default(66, 100);
    dd_renderer *r = dd_renderer_new(&o, &err);
    CHECK(r != NULL, "%s", err.msg);
    if (!r) return;
    uint8_t img[66 * 100];
    CHECK(dd_render(r, d, img, &err) == 0, "%s", err.msg);
    uint32_t b[4];
    CHECK(ink_box(img, 66, 100, 1, b), "no ink");
    CHECK(b[1] >= 17 && b[3] <= 82, "ink columns %u..%u leave the centred square 17..82", b[1], b[3]);
    CHECK(ink_sum(img, sizeof img) > 255 * 50, "too little ink");
    dd_renderer_free(r);
}

static void test_line_width(const dd_drawing *d) {
    dd_error err = {0};
    static const double widths[] = {2, 4, 8, 16, 24, 32};
    uint64_t prev = 0;
    for (size_t k = 0; k < sizeof widths / sizeof widths[0]; k++) {
        dd_render_opts o = dd_render_opts_default(56, 56);
        o.line_width = widths[k];
        dd_renderer *r = dd_renderer_new(&o, &err);
        CHECK(r != NULL, "%s", err.msg);
        if (!r) return;
        uint8_t img[56 * 56];
        CHECK(dd_render(r, d, img, &err) == 0, "%s", err.msg);
        uint64_t s = ink_sum(img, sizeof img);
        CHECK(s > prev, "line width %g: ink %llu not more than %llu", widths[k], (unsigned long long)s,
              (unsigned long long)prev);
        prev = s;
        dd_renderer_free(r);
    }
    /* more padding: the same drawing gets smaller */
    uint64_t by_pad[2];
    for (int k = 0; k < 2; k++) {
        dd_render_opts o = dd_render_opts_default(56, 56);
        o.padding = k ? 64 : 0;
        dd_renderer *r = dd_renderer_new(&o, &err);
        CHECK(r != NULL, "%s", err.msg);
        if (!r) return;
        uint8_t img[56 * 56];
        CHECK(dd_render(r, d, img, &err) == 0, "%s", err.msg);
        by_pad[k] = ink_sum(img, sizeof img);
        dd_renderer_free(r);
    }
    CHECK(by_pad[1] < by_pad[0], "padding 64 should leave less ink than padding 0");
}

static void test_one_point(void) {
    dd_error err = {0};
    dd_drawing d;
    dd_drawing_init(&d);
    CHECK(dd_drawing_add_point(&d, 128, 128, 0, &err) == 0);
    dd_drawing_end_stroke(&d);
    dd_render_opts o = dd_render_opts_default(28, 28);
    dd_renderer *r = dd_renderer_new(&o, &err);
    CHECK(r != NULL, "%s", err.msg);
    uint8_t img[28 * 28];
    if (r && dd_render(r, &d, img, &err) == 0) {
        /* the dot is 16 units wide (about 1.5 pixels); the recipe shifts the drawing by (256 - max) / 2 = 64,
         * so it sits at 128 + 64 + 24 (half the total padding) units = 19.9 pixels on both axes */
        uint32_t b[4];
        CHECK(ink_box(img, 28, 28, 1, b), "a one-point stroke left no ink");
        CHECK(ink_sum(img, sizeof img) > 255, "dot too faint: %llu", (unsigned long long)ink_sum(img, sizeof img));
        CHECK(b[0] >= 18 && b[2] <= 21 && b[1] >= 18 && b[3] <= 21, "dot at %u..%u x %u..%u", b[0], b[2], b[1], b[3]);
        CHECK(img[19 * 28 + 19] > 100, "dot centre is %u", img[19 * 28 + 19]);
    } else {
        CHECK(0, "%s", err.msg);
    }
    /* a one-point stroke among others adds ink */
    uint64_t before = ink_sum(img, sizeof img);
    CHECK(dd_drawing_add_point(&d, 10, 10, 0, &err) == 0);
    dd_drawing_end_stroke(&d);
    if (r && dd_render(r, &d, img, &err) == 0) CHECK(ink_sum(img, sizeof img) > before);
    dd_renderer_free(r);
    dd_drawing_free(&d);
}

static void test_reuse(const dd_drawing *a, const dd_drawing *b) {
    dd_error err = {0};
    dd_render_opts o = dd_render_opts_default(66, 100);
    dd_renderer *r = dd_renderer_new(&o, &err), *fresh = dd_renderer_new(&o, &err);
    CHECK(r && fresh, "%s", err.msg);
    if (r && fresh) {
        static uint8_t first[66 * 100], other[66 * 100], again[66 * 100], new_one[66 * 100];
        CHECK(dd_render(r, a, first, &err) == 0);
        CHECK(dd_render(r, b, other, &err) == 0);
        CHECK(dd_render(r, a, again, &err) == 0);
        CHECK(dd_render(fresh, a, new_one, &err) == 0);
        CHECK(memcmp(first, again, sizeof first) == 0, "re-rendering the same drawing changed its bytes");
        CHECK(memcmp(first, new_one, sizeof first) == 0, "a fresh renderer gives other bytes");
        CHECK(memcmp(first, other, sizeof first) != 0, "two drawings rendered the same");
    }
    dd_renderer_free(r);
    dd_renderer_free(fresh);
}

static void test_errors(void) {
    dd_error err = {0};
    dd_render_opts o = dd_render_opts_default(0, 28);
    CHECK(dd_renderer_new(&o, &err) == NULL && err.code == DD_ERR_RANGE);
    o = dd_render_opts_default(28, 28);
    o.line_width = 0;
    CHECK(dd_renderer_new(&o, &err) == NULL && err.code == DD_ERR_RANGE);
    o = dd_render_opts_default(28, 28);
    o.padding = -1;
    CHECK(dd_renderer_new(&o, &err) == NULL && err.code == DD_ERR_RANGE);

    o = dd_render_opts_default(28, 28);
    dd_renderer *r = dd_renderer_new(&o, &err);
    CHECK(r != NULL, "%s", err.msg);
    dd_drawing d;
    dd_drawing_init(&d);
    uint8_t img[28 * 28];
    memset(img, 7, sizeof img);
    /* no strokes: a blank image */
    CHECK(dd_render(r, &d, img, &err) == 0 && ink_sum(img, sizeof img) == 0);
    /* raw coordinates are refused */
    CHECK(dd_drawing_add_point(&d, 10, 300.5, 0, &err) == 0);
    dd_drawing_end_stroke(&d);
    CHECK(dd_render(r, &d, img, &err) == -1 && err.code == DD_ERR_RANGE, "%s", err.msg);
    /* a stroke of more points than cairo draws in reasonable time is refused (36,000 chords across the box took
     * 40 s); these are cheap (a small circle), so the test is quick either way */
    for (int n = 8192; n <= 8193; n++) {
        dd_drawing_clear(&d);
        CHECK(dd_drawing_add_point(&d, 1, 1, 0, &err) == 0);
        dd_drawing_end_stroke(&d);
        for (int i = 0; i < n; i++)
            CHECK(dd_drawing_add_point(&d, 128 + (i % 4 == 1) - (i % 4 == 3), 128 + (i % 4 == 0) - (i % 4 == 2), 0,
                                       &err) == 0);
        dd_drawing_end_stroke(&d);
        dd_error_clear(&err);
        int rc = dd_render(r, &d, img, &err);
        if (n == 8192)
            CHECK(rc == 0 && ink_sum(img, sizeof img) > 0, "%s", err.msg);
        else
            CHECK(rc == -1 && err.code == DD_ERR_RANGE && strstr(err.msg, "stroke 2 has 8193 points"), "%s", err.msg);
    }
    dd_drawing_free(&d);
    dd_renderer_free(r);

    uint32_t h = 0, w = 0;
    CHECK(dd_parse_size("28x28", &h, &w, &err) == 0 && h == 28 && w == 28);
    CHECK(dd_parse_size("66x100", &h, &w, &err) == 0 && h == 66 && w == 100);
    CHECK(dd_parse_size("1X2", &h, &w, &err) == 0 && h == 1 && w == 2);
    static const char *const bad[] = {"",       "28",   "28x",  "x28",        "28x28x",  "-1x28",
                                      "28x 28", "0x28", "28x0", "99999999x1", "28x28px", "+3x4"};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++)
        CHECK(dd_parse_size(bad[k], &h, &w, &err) == -1, "'%s' was accepted", bad[k]);
    CHECK(dd_parse_size(NULL, &h, &w, &err) == -1);
}

int main(void) {
    test_errors();
    test_sizes();
    test_one_point();
    test_official();

    const char *data = test_shared_data();
    char path[4096];
    snprintf(path, sizeof path, "%s/strokes_simplified/lamnguyen5464_Sketch-dataset/cat.ndjson.gz", data);
    dd_drawing ds[2];
    if (read_drawings(path, ds, 2) == 2) {
        test_real_66x100(&ds[0]);
        test_line_width(&ds[0]);
        test_reuse(&ds[0], &ds[1]);
    }
    for (int i = 0; i < 2; i++) dd_drawing_free(&ds[i]);
    cairo_debug_reset_static_data();
    return test_finish("test_render");
}
