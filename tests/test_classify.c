/* The embedding API (doodle/classify.h) against the model runtime: dd_classify_bitmap is softmax(dd_model_infer)
 * of pixels / 255, ranked; dd_classify_strokes is dd_classify_bitmap of dd_render with the model's settings (raw
 * drawings simplified first); dd_classify_png of a picture of the input size, dark on white, is the bitmap. */
#include <cairo.h>
#include <math.h>
#include <stdio.h> /* before jpeglib.h, which uses FILE */
#include <stdlib.h>
#include <string.h>
#include <jpeglib.h>
#include <zlib.h>

#include "doodle/classify.h"
#include "doodle/model.h"
#include "doodle/quickdraw.h"
#include "doodle/render.h"
#include "doodle/simplify.h"
#include "testutil.h"

/* What the pictures of test_png_pens may differ by, in grey levels per pixel (of 255), set from what was measured
 * with margin (the print gives the figures; measured: 7.2 and 11.4 between the pens, 9.7 and 12.5 to the strokes).
 * Scaled as a whole (the rule before), the same pictures differ by 28.5 between the pens and 27.8 to the strokes. */
#define PEN_MEAN_MAX 10
#define PEN_WORST_MAX 16
#define STROKES_MEAN_MAX 13
#define STROKES_WORST_MAX 17
#define JPEG_WORST_MAX 6 /* measured: 3.6 */

static int same_predictions(const dd_prediction *a, const dd_prediction *b, int n) {
    for (int i = 0; i < n; i++)
        if (a[i].index != b[i].index || a[i].probability != b[i].probability || strcmp(a[i].name, b[i].name)) return 0;
    return 1;
}

/* A sample bitmap through dd_classify_bitmap and through dd_model_infer by hand. */
static void test_bitmap(const char *model_path) {
    dd_error err;
    dd_classifier *c = dd_classifier_open(model_path, &err);
    CHECK(c, "%s", err.msg);
    if (!c) return;
    dd_model *m = dd_model_load(model_path, &err);
    dd_workspace *ws = m ? dd_workspace_new(m, 1, false, &err) : NULL;
    CHECK(ws, "%s", err.msg);
    CHECK(dd_classifier_class_count(c) == 5 && !strcmp(dd_classifier_class_name(c, 3), "fish"));
    CHECK(dd_classifier_class_name(c, 5) == NULL && dd_classifier_class_name(c, -1) == NULL);
    uint32_t h, w;
    dd_classifier_input_size(c, &h, &w);
    CHECK(h == 28 && w == 28);

    char path[4200];
    snprintf(path, sizeof path, "%s/bitmaps/cat.npy.gz", test_sample_dir());
    dd_bitmaps b = {0};
    CHECK(dd_npy_read(path, &b, &err) == 0, "%s", err.msg);
    float x[28 * 28];
    for (uint64_t i = 0; i < 20 && i < b.count && ws; i++) {
        const uint8_t *px = dd_bitmap_at(&b, i);
        for (int p = 0; p < 28 * 28; p++) x[p] = px[p] / 255.0f;
        const float *logits = dd_model_infer(m, ws, x, 1);
        int best = 0;
        for (int k = 1; k < 5; k++)
            if (logits[k] > logits[best]) best = k;
        dd_prediction top[5];
        CHECK(dd_classify_bitmap(c, px, 28, 28, top, 5, &err) == 5, "%s", err.msg);
        CHECK(top[0].index == best && !strcmp(top[0].name, test_sample_classes[best]), "row %llu: %d vs %d",
              (unsigned long long)i, top[0].index, best);
        /* probabilities: softmax of the logits, best first, summing to 1 */
        double sum = 0, z = 0;
        for (int k = 0; k < 5; k++) z += exp((double)logits[k] - logits[best]);
        for (int k = 0; k < 5; k++) {
            sum += top[k].probability;
            CHECK(k == 0 || top[k].probability <= top[k - 1].probability);
            double want = exp((double)logits[top[k].index] - logits[best]) / z;
            CHECK(fabs(top[k].probability - want) < 1e-6, "%g vs %g", top[k].probability, want);
        }
        CHECK(fabs(sum - 1) < 1e-5);
        /* fewer than all, more than all */
        dd_prediction three[3], many[9];
        CHECK(dd_classify_bitmap(c, px, 28, 28, three, 3, &err) == 3 && same_predictions(three, top, 3));
        CHECK(dd_classify_bitmap(c, px, 28, 28, many, 9, &err) == 5 && same_predictions(many, top, 5));
    }
    dd_prediction top[1];
    CHECK(dd_classify_bitmap(c, b.pixels, 28, 27, top, 1, &err) == -1 && strstr(err.msg, "28x27"), "%s", err.msg);
    CHECK(dd_classify_bitmap(c, b.pixels, 28, 28, top, 0, &err) == -1 && err.code == DD_ERR_USAGE);
    dd_bitmaps_free(&b);
    dd_workspace_free(ws);
    dd_model_free(m);
    dd_classifier_close(c);
}

/* Drawings (raw and simplified) through dd_classify_strokes and through dd_render + dd_classify_bitmap. */
static void test_strokes(const char *model_path, const char *kind) {
    dd_error err;
    dd_classifier *c = dd_classifier_open(model_path, &err);
    dd_classifier *c2 = dd_classifier_open(model_path, &err); /* the same on 2 threads */
    dd_model *m = dd_model_load(model_path, &err);
    CHECK(c && c2 && m && dd_classifier_set_threads(c2, 2, &err) == 0, "%s", err.msg);
    if (!c || !c2 || !m) {
        dd_classifier_close(c);
        dd_classifier_close(c2);
        dd_model_free(m);
        return;
    }
    dd_renderer *r = dd_renderer_new(&m->render, &err);
    uint32_t h = m->render.height, w = m->render.width;
    uint8_t *img = malloc((size_t)h * w);
    char path[4200];
    snprintf(path, sizeof path, "%s/strokes/%s/fish.ndjson.gz", test_sample_dir(), kind);
    dd_stroke_reader *rd = dd_stroke_reader_open(path, &err);
    CHECK(rd && r && img, "%s", err.msg);
    dd_drawing d, s;
    dd_drawing_init(&d);
    dd_drawing_init(&s);
    int n_drawings = 0;
    while (rd && r && img && dd_stroke_reader_next(rd, &d, &err) == DD_NEXT_OK) {
        const dd_drawing *use = dd_simplified_view(&d, &s, &err);
        CHECK(use != NULL, "%s", err.msg);
        if (!use) continue;
        CHECK(strcmp(kind, "raw") || use == &s); /* raw drawings do get simplified */
        CHECK(dd_render(r, use, img, &err) == 0, "%s", err.msg);
        dd_prediction a[3], b[3];
        CHECK(dd_classify_strokes(c, &d, a, 3, &err) == 3, "%s", err.msg);
        CHECK(dd_classify_bitmap(c, img, h, w, b, 3, &err) == 3, "%s", err.msg);
        CHECK(same_predictions(a, b, 3), "%s line %llu", path, (unsigned long long)dd_stroke_reader_record(rd));
        /* 2 threads split the image's pixels, so sums run in another order: the same answer, not the same bits */
        CHECK(dd_classify_strokes(c2, &d, b, 3, &err) == 3, "%s", err.msg);
        CHECK(a[0].index == b[0].index && fabsf(a[0].probability - b[0].probability) < 1e-5f &&
                  fabsf(a[2].probability - b[2].probability) < 1e-5f,
              "2 threads: %s line %llu: %s %.7f vs %s %.7f", path, (unsigned long long)dd_stroke_reader_record(rd),
              a[0].name, a[0].probability, b[0].name, b[0].probability);
        n_drawings++;
    }
    CHECK(n_drawings > 20, "%d drawings", n_drawings);
    dd_prediction top[1];
    dd_drawing_clear(&d);
    CHECK(dd_classify_strokes(c, &d, top, 1, &err) == -1, "an empty drawing");
    dd_drawing_free(&d);
    dd_drawing_free(&s);
    dd_stroke_reader_close(rd);
    free(img);
    dd_renderer_free(r);
    dd_classifier_close(c2);
    dd_model_free(m);
    dd_classifier_close(c);
}

/* Writes pixels (h x w, ink bright) as a PNG picture: dark ink on white, as people draw, in colour with alpha
 * (ARGB32, opaque) or as a transparent picture (black ink whose alpha is the ink). */
static void write_png(const char *path, const uint8_t *px, int h, int w, int transparent) {
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, w, h);
    unsigned char *data = cairo_image_surface_get_data(s);
    int stride = cairo_image_surface_get_stride(s);
    cairo_surface_flush(s);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint32_t v = px[y * w + x], g = 255 - v;
            uint32_t pix = transparent ? v << 24 : 0xff000000u | g << 16 | g << 8 | g; /* premultiplied black: 0 */
            memcpy(data + (size_t)y * stride + (size_t)x * 4, &pix, 4);
        }
    cairo_surface_mark_dirty(s);
    CHECK(cairo_surface_write_to_png(s, path) == CAIRO_STATUS_SUCCESS);
    cairo_surface_destroy(s);
}

static void test_png(const char *model_path, const char *tmp) {
    dd_error err;
    dd_classifier *c = dd_classifier_open(model_path, &err);
    CHECK(c, "%s", err.msg);
    if (!c) return;
    char path[4200], png[4200];
    snprintf(path, sizeof path, "%s/bitmaps/star.npy.gz", test_sample_dir());
    dd_bitmaps b = {0};
    CHECK(dd_npy_read(path, &b, &err) == 0, "%s", err.msg);
    for (uint64_t i = 0; i < 5 && i < b.count; i++) {
        const uint8_t *px = dd_bitmap_at(&b, i);
        dd_prediction want[5], got[5];
        CHECK(dd_classify_bitmap(c, px, 28, 28, want, 5, &err) == 5);
        for (int transparent = 0; transparent < 2; transparent++) {
            snprintf(png, sizeof png, "%s/star%llu-%d.png", tmp, (unsigned long long)i, transparent);
            write_png(png, px, 28, 28, transparent);
            CHECK(dd_classify_png(c, png, got, 5, &err) == 5, "%s", err.msg);
            CHECK(same_predictions(want, got, 5), "%s", png);
        }
        /* twice the size, each pixel doubled: scaled down again to about the same picture */
        uint8_t big[56 * 56];
        for (int y = 0; y < 56; y++)
            for (int x = 0; x < 56; x++) big[y * 56 + x] = px[(y / 2) * 28 + x / 2];
        snprintf(png, sizeof png, "%s/star%llu-big.png", tmp, (unsigned long long)i);
        write_png(png, big, 56, 56, 0);
        CHECK(dd_classify_png(c, png, got, 5, &err) == 5, "%s", err.msg);
        for (int k = 0; k < 5; k++) CHECK(got[k].probability >= 0 && got[k].probability <= 1);
    }
    dd_prediction top[1];
    snprintf(png, sizeof png, "%s/missing.png", tmp);
    CHECK(dd_classify_png(c, png, top, 1, &err) == -1 && strstr(err.msg, "missing.png"), "%s", err.msg);
    snprintf(png, sizeof png, "%s/not.png", tmp);
    test_write_file(png, "not a png", 9);
    CHECK(dd_classify_png(c, png, top, 1, &err) == -1 && strstr(err.msg, "not.png"), "%s", err.msg);
    dd_bitmaps_free(&b);
    dd_classifier_close(c);
}

/* An opaque ARGB32 surface as a JPEG of quality 90 (what a phone or a paint program saves). */
static void write_jpeg(cairo_surface_t *s, const char *path) {
    int w = cairo_image_surface_get_width(s), h = cairo_image_surface_get_height(s);
    int stride = cairo_image_surface_get_stride(s);
    cairo_surface_flush(s);
    const unsigned char *data = cairo_image_surface_get_data(s);
    FILE *f = fopen(path, "wb");
    CHECK(f, "%s", path);
    if (!f) return;
    struct jpeg_compress_struct cinfo;
    struct jpeg_error_mgr jerr;
    cinfo.err = jpeg_std_error(&jerr);
    jpeg_create_compress(&cinfo);
    jpeg_stdio_dest(&cinfo, f);
    cinfo.image_width = (JDIMENSION)w;
    cinfo.image_height = (JDIMENSION)h;
    cinfo.input_components = 3;
    cinfo.in_color_space = JCS_RGB;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, 90, TRUE);
    jpeg_start_compress(&cinfo, TRUE);
    unsigned char *row = malloc((size_t)w * 3);
    while (row && cinfo.next_scanline < cinfo.image_height) {
        for (int x = 0; x < w; x++) {
            uint32_t px;
            memcpy(&px, data + (size_t)cinfo.next_scanline * stride + (size_t)x * 4, 4);
            row[3 * x] = (unsigned char)(px >> 16), row[3 * x + 1] = (unsigned char)(px >> 8),
                    row[3 * x + 2] = (unsigned char)px;
        }
        JSAMPROW rows[1] = {row};
        jpeg_write_scanlines(&cinfo, rows, 1);
    }
    free(row);
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    CHECK(fclose(f) == 0, "%s", path);
}

/* A drawing (simplified strokes) drawn as someone draws it in a paint program: on a w x h canvas, its 0..255 box
 * mapped to 230 pixels at (40, 25) (not centred, wide margins), with a round pen of `pen` pixels. mode 0: black on
 * white; 1: white on black; 2: black on a transparent canvas; 3: white on a transparent canvas. */
static void draw_picture(const dd_drawing *d, const char *path, int w, int h, double pen, int mode) {
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, w, h);
    cairo_t *cr = cairo_create(s);
    if (mode < 2) {
        cairo_set_source_rgb(cr, mode == 0, mode == 0, mode == 0);
        cairo_paint(cr);
    }
    double ink = mode == 1 || mode == 3;
    cairo_set_source_rgb(cr, ink, ink, ink);
    cairo_set_line_width(cr, pen);
    cairo_set_line_cap(cr, CAIRO_LINE_CAP_ROUND);
    cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
    for (uint32_t k = 0; k < d->n_strokes; k++) {
        uint32_t b = dd_stroke_begin(d, k), e = d->stroke_end[k];
        for (uint32_t i = b; i < e; i++)
            (i == b ? cairo_move_to : cairo_line_to)(cr, 40 + d->x[i] * 230 / 255, 25 + d->y[i] * 230 / 255);
        if (e == b + 1) cairo_line_to(cr, 40 + d->x[b] * 230 / 255, 25 + d->y[b] * 230 / 255);
        cairo_stroke(cr);
    }
    size_t n = strlen(path);
    if (n > 4 && !strcmp(path + n - 4, ".jpg"))
        write_jpeg(s, path);
    else
        CHECK(cairo_status(cr) == CAIRO_STATUS_SUCCESS && cairo_surface_write_to_png(s, path) == CAIRO_STATUS_SUCCESS,
              "%s", path);
    cairo_destroy(cr);
    cairo_surface_destroy(s);
}

static double mean_abs_diff(const uint8_t *a, const uint8_t *b, size_t n) {
    double sum = 0;
    for (size_t i = 0; i < n; i++) sum += abs((int)a[i] - (int)b[i]);
    return sum / (double)n;
}

/* Pictures of real drawings (the sample's cats and stars) drawn at 300x300 with a 6 px and a 16 px pen, dark on
 * light, light on dark and on transparent canvases: the model sees nearly the image dd_render makes of the strokes
 * (the issue: a 6 px pen used to arrive as a hairline), the same image whichever way round the picture is, and
 * the 6 px and 16 px pictures nearly the same image. */
static void test_png_pens(const char *model_path, const char *tmp) {
    dd_error err;
    dd_classifier *c = dd_classifier_open(model_path, &err);
    dd_model *m = dd_model_load(model_path, &err);
    dd_renderer *r = m ? dd_renderer_new(&m->render, &err) : NULL;
    CHECK(c && m && r, "%s", err.msg);
    if (!c || !m || !r) goto done;
    enum { N = 28 * 28 };
    static const char *const files[] = {"cat", "star"};
    double worst_pens = 0, worst_strokes = 0, sum_strokes = 0, sum_pens = 0, worst_jpeg = 0;
    int pictures = 0;
    for (int f = 0; f < 2; f++) {
        char path[4200], png[4200];
        snprintf(path, sizeof path, "%s/strokes/simplified/%s.ndjson.gz", test_sample_dir(), files[f]);
        dd_stroke_reader *rd = dd_stroke_reader_open(path, &err);
        CHECK(rd, "%s", err.msg);
        dd_drawing d;
        dd_drawing_init(&d);
        for (int i = 0; rd && i < 12 && dd_stroke_reader_next(rd, &d, &err) == DD_NEXT_OK; i++) {
            uint8_t strokes[N], seen[6][N];
            CHECK(dd_render(r, &d, strokes, &err) == 0, "%s", err.msg);
            static const double pen[6] = {6, 16, 6, 6, 6, 6};
            dd_prediction top[5];
            for (int v = 0; v < 6; v++) {
                snprintf(png, sizeof png, "%s/%s%d-%d.%s", tmp, files[f], i, v, v == 5 ? "jpg" : "png");
                draw_picture(&d, png, 300, 300, pen[v], v < 2 ? 0 : v == 5 ? 0 : v - 1);
                CHECK(dd_classify_png(c, png, top, 5, &err) == 5, "%s", err.msg);
                memcpy(seen[v], dd_classifier_input_image(c), N);
            }
            /* the same pen whichever way round: exactly the same image */
            for (int v = 3; v < 5; v++)
                CHECK(!memcmp(seen[v], seen[2], N), "%s %d: variant %d differs", files[f], i, v);
            /* a JPEG of the 6 px picture: its artefacts move a few pixels of the centre lines at most */
            double jpeg = mean_abs_diff(seen[5], seen[0], N);
            worst_jpeg = fmax(worst_jpeg, jpeg);
            double pens = mean_abs_diff(seen[0], seen[1], N);
            double to_strokes = fmax(mean_abs_diff(seen[0], strokes, N), mean_abs_diff(seen[1], strokes, N));
            worst_pens = fmax(worst_pens, pens);
            worst_strokes = fmax(worst_strokes, to_strokes);
            sum_pens += pens;
            sum_strokes += to_strokes;
            pictures++;
        }
        dd_drawing_free(&d);
        dd_stroke_reader_close(rd);
    }
    CHECK(pictures == 24, "%d drawings", pictures);
    printf("pictures of %d drawings, 6 vs 16 px pen: mean |difference| %.2f grey levels (worst %.2f); picture vs "
           "strokes %.2f (worst %.2f)\n",
           pictures, sum_pens / pictures, worst_pens, sum_strokes / pictures, worst_strokes);
    printf("the 6 px pictures as JPEG (quality 90): within %.2f grey levels of the PNG\n", worst_jpeg);
    CHECK(worst_jpeg < JPEG_WORST_MAX, "a JPEG is seen unlike its PNG: %.2f", worst_jpeg);
    CHECK(sum_pens / pictures < PEN_MEAN_MAX && worst_pens < PEN_WORST_MAX,
          "the pen's width changes what the model sees");
    CHECK(sum_strokes / pictures < STROKES_MEAN_MAX && worst_strokes < STROKES_WORST_MAX,
          "pictures are seen unlike their strokes");
    /* a blank picture is refused, naming it */
    char png[4200];
    dd_drawing empty;
    dd_drawing_init(&empty);
    snprintf(png, sizeof png, "%s/blank.png", tmp);
    draw_picture(&empty, png, 300, 200, 6, 0);
    dd_prediction top[1];
    CHECK(dd_classify_png(c, png, top, 1, &err) == -1 && err.code == DD_ERR_EMPTY && strstr(err.msg, "blank.png") &&
              strstr(err.msg, "no drawing"),
          "a blank picture: %s", err.msg);
    dd_drawing_free(&empty);
    /* a JPEG cut short is refused, naming it */
    snprintf(png, sizeof png, "%s/cat0-5.jpg", tmp);
    size_t n;
    char *bytes = test_read_file(png, &n);
    CHECK(bytes && n > 600, "%s", png);
    if (bytes && n > 600) {
        snprintf(png, sizeof png, "%s/cut.jpg", tmp);
        test_write_file(png, bytes, 600);
        CHECK(dd_classify_png(c, png, top, 1, &err) == -1 && strstr(err.msg, "cut.jpg"), "a cut JPEG: %s", err.msg);
        test_write_file(png, bytes, n - 200); /* cut inside the picture's data: an error, not grey ink */
        CHECK(dd_classify_png(c, png, top, 1, &err) == -1 && strstr(err.msg, "cut.jpg") && strstr(err.msg, "Premature"),
              "a JPEG cut in its data: %s", err.msg);
    }
    free(bytes);
done:
    dd_renderer_free(r);
    dd_model_free(m);
    dd_classifier_close(c);
}

static void test_open_errors(const char *tmp) {
    dd_error err;
    char path[4200];
    snprintf(path, sizeof path, "%s/nothing.safetensors", tmp);
    CHECK(dd_classifier_open(path, &err) == NULL && strstr(err.msg, "nothing.safetensors"), "%s", err.msg);
    snprintf(path, sizeof path, "%s/garbage.safetensors", tmp);
    test_write_file(path, "\x10\0\0\0\0\0\0\0{\"a\":1}        ", 24);
    CHECK(dd_classifier_open(path, &err) == NULL, "garbage opened");
}

/* A fresh 5-class mnist28 to spoil and save (NULL, checked, when it cannot be made). */
static dd_model *new_mnist28(dd_error *err) {
    dd_spec_overrides ov = {.classes = 5};
    dd_model_spec *spec = dd_model_spec_builtin("mnist28", &ov, err);
    dd_model *m = spec ? dd_model_new(spec, 3, err) : NULL;
    CHECK(m, "%s", err->msg);
    return m;
}

/* A model whose weights went NaN in training (or were damaged) is refused when opened, not answered with nan. */
static void test_open_not_finite(const char *tmp) {
    dd_error err;
    char path[4200];
    snprintf(path, sizeof path, "%s/nan.safetensors", tmp);
    dd_model *m = new_mnist28(&err);
    if (!m) return;
    const dd_layer_spec *dense = &m->spec->layers[m->spec->n_layers - 1];
    m->params[dense->bias.offset + 4] = NAN;
    CHECK(dd_model_save(m, path, &err) == 0, "%s", err.msg);
    dd_model_free(m);
    dd_classifier *c = dd_classifier_open(path, &err);
    CHECK(!c && err.code == DD_ERR_RANGE && strstr(err.msg, path) &&
              strstr(err.msg, "tensor dense_1.bias holds NaN at index 4"),
          "a NaN model opened: %s", c ? "(no error)" : err.msg);
    dd_classifier_close(c);
}

/* What fuzzing found (tests/fuzz/README.md), as unit tests: a PNG whose header declares a huge picture and one
 * whose chunk runs past the end of the file are refused before libpng allocates for them; a model whose finite
 * weights overflow gives an error, not NaN probabilities. */
static void test_fuzz_findings(const char *model_path, const char *tmp) {
    dd_error err;
    dd_classifier *c = dd_classifier_open(model_path, &err);
    CHECK(c, "%s", err.msg);
    if (!c) return;
    char png[4200];
    uint8_t px[28 * 28] = {0};
    snprintf(png, sizeof png, "%s/good.png", tmp);
    write_png(png, px, 28, 28, 0);
    size_t n;
    unsigned char *bytes = (unsigned char *)test_read_file(png, &n);
    CHECK(bytes && n > 33 && !memcmp(bytes + 12, "IHDR", 4), "the PNG written has no IHDR first");
    if (bytes && n > 33) {
        /* 229 x 1,000,000 pixels in the header, its CRC made right so that only the size is wrong */
        const unsigned char size[8] = {0, 0, 0, 229, 0, 0x0f, 0x42, 0x40};
        memcpy(bytes + 16, size, 8);
        uLong crc = crc32(crc32(0L, Z_NULL, 0), bytes + 12, 17);
        bytes[29] = (unsigned char)(crc >> 24), bytes[30] = (unsigned char)(crc >> 16);
        bytes[31] = (unsigned char)(crc >> 8), bytes[32] = (unsigned char)crc;
        snprintf(png, sizeof png, "%s/huge.png", tmp);
        test_write_file(png, bytes, n);
        dd_prediction top[1];
        CHECK(dd_classify_png(c, png, top, 1, &err) == -1 && err.code == DD_ERR_RANGE && strstr(err.msg, "huge.png") &&
                  strstr(err.msg, "229x1000000 picture is too large"),
              "a huge declared picture: %s", err.msg);
        /* the good file cut inside its data: a chunk that runs past the end */
        snprintf(png, sizeof png, "%s/good.png", tmp);
        free(bytes);
        bytes = (unsigned char *)test_read_file(png, &n);
        snprintf(png, sizeof png, "%s/cut.png", tmp);
        test_write_file(png, bytes, n - 20);
        CHECK(dd_classify_png(c, png, top, 1, &err) == -1 && strstr(err.msg, "cut.png") &&
                  strstr(err.msg, "runs past the end of the file"),
              "a cut PNG: %s", err.msg);
    }
    free(bytes);
    dd_classifier_close(c);

    /* finite weights so large that the logits overflow */
    char path[4200];
    snprintf(path, sizeof path, "%s/overflow.safetensors", tmp);
    dd_model *m = new_mnist28(&err);
    if (!m) return;
    const dd_layer_spec *dense = &m->spec->layers[m->spec->n_layers - 1];
    for (size_t i = 0; i < dense->weight.count; i++) m->params[dense->weight.offset + i] = 1e38f;
    CHECK(dd_model_save(m, path, &err) == 0, "%s", err.msg);
    dd_model_free(m);
    c = dd_classifier_open(path, &err);
    CHECK(c, "%s", err.msg);
    if (c) {
        uint8_t ink[28 * 28];
        for (int i = 0; i < 28 * 28; i++) ink[i] = (uint8_t)(i % 7 ? 0 : 255);
        dd_prediction top[5];
        CHECK(dd_classify_bitmap(c, ink, 28, 28, top, 5, &err) == -1 && strstr(err.msg, "weights are too large"),
              "overflowing weights answered: %s", err.msg);
        dd_classifier_close(c);
    }
}

int main(void) {
    const char *tmp = test_tmp_dir("test_classify");
    char mnist[4200], seed[4200];
    snprintf(mnist, sizeof mnist, "%s/mnist28.safetensors", tmp);
    snprintf(seed, sizeof seed, "%s/seed.safetensors", tmp);
    test_make_sample_model("mnist28", 11, mnist);
    test_make_sample_model("seed", 12, seed);
    test_bitmap(mnist);
    test_strokes(mnist, "simplified");
    test_strokes(mnist, "raw");
    test_strokes(seed, "simplified"); /* 66x100: rendered with the model's own size */
    test_png(mnist, tmp);
    test_png_pens(mnist, tmp);
    test_open_errors(tmp);
    test_open_not_finite(tmp);
    test_fuzz_findings(mnist, tmp);
    return test_finish("test_classify");
}
