/* include/doodle/explain.h on a small random network and hand-made drawings: drawings load as stored, saliency is
 * the normalised |gradient| of the chosen class, occlusion agrees with blanking a patch by hand and running the
 * model, Grad-CAM follows its formula at an unpooled conv layer, layers are found by index and name with clear
 * errors, and the picture grid encodes a PNG of the documented size. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "doodle/explain.h"
#include "doodle/montage.h"
#include "testutil.h"

enum { H = 28, W = 28, PIXELS = H * W, CLASSES = 3, PER_CLASS = 4 };

static const char *NAMES[CLASSES] = {"box", "cross", "ring"};

/* A box, a cross or a ring, moved by k pixels so the drawings of a class differ. */
static void draw(int cls, int k, uint8_t *img) {
    memset(img, 0, PIXELS);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            int on = 0, dy = y - 14 - k % 3, dx = x - 13 - k / 2;
            if (cls == 0) on = (abs(dy) == 8 && abs(dx) <= 8) || (abs(dx) == 8 && abs(dy) <= 8);
            if (cls == 1) on = abs(dy - dx) <= 1 || abs(dy + dx) <= 1;
            if (cls == 2) on = fabs(sqrt((double)(dy * dy + dx * dx)) - 8) < 1.2;
            if (on) img[y * W + x] = 255;
        }
}

static dd_dataset *make_dataset(const char *path) {
    dd_error err;
    dd_dataset_writer *w = dd_dataset_writer_open(path, DD_DSET_BITMAPS, H, W, &err);
    CHECK(w != NULL, "%s", err.msg);
    uint8_t img[PIXELS];
    dd_class_stats stats[CLASSES + 1];
    memset(stats, 0, sizeof stats);
    for (int c = 0; c < CLASSES; c++)
        for (int k = 0; k < PER_CLASS; k++) {
            draw(c, k, img);
            dd_split split = k == 0 ? DD_SPLIT_TEST : DD_SPLIT_TRAIN;
            CHECK(dd_dataset_writer_add_bitmap(w, (uint32_t)c, split, (uint64_t)k, img, &err) == 0, "%s", err.msg);
            stats[c].read++;
            stats[c].kept++;
            if (split == DD_SPLIT_TEST)
                stats[c].test++;
            else
                stats[c].train++;
        }
    dd_dset_params params = {.seed = 1, .test_frac = 0.25};
    CHECK(dd_dataset_writer_finish(w, CLASSES, NAMES, stats, &params, &err) == 0, "%s", err.msg);
    dd_dataset *ds = dd_dataset_open(path, &err);
    CHECK(ds != NULL, "%s", err.msg);
    return ds;
}

static dd_model *make_model(void) {
    dd_error err;
    dd_spec_overrides ov = {.classes = CLASSES};
    dd_model_spec *spec = dd_model_spec_builtin("mnist28", &ov, &err);
    CHECK(spec != NULL, "%s", err.msg);
    dd_model *m = dd_model_new(spec, 7, &err);
    CHECK(m != NULL, "%s", err.msg);
    for (int c = 0; c < CLASSES; c++) dd_model_set_class_name(m, c, NAMES[c], &err);
    return m;
}

static void softmax(const float *z, int n, double *p) {
    double max = z[0], sum = 0;
    for (int i = 1; i < n; i++) max = fmax(max, z[i]);
    for (int i = 0; i < n; i++) sum += p[i] = exp(z[i] - max);
    for (int i = 0; i < n; i++) p[i] /= sum;
}

static void test_image_set(const dd_model *m, const dd_dataset *ds) {
    dd_error err;
    uint64_t *records;
    size_t n;
    CHECK(dd_dataset_split_records(ds, DD_SPLIT_TEST, &records, &n, &err) == 0 && n == CLASSES, "%zu test records", n);
    dd_image_set s;
    CHECK(dd_image_set_load(m, ds, records, n, &s, &err) == 0, "%s", err.msg);
    for (size_t i = 0; i < s.n; i++) {
        CHECK(!memcmp(s.pixels + i * PIXELS, dd_dataset_bitmap(ds, records[i]), PIXELS), "image %zu differs", i);
        CHECK(s.label[i] == (int)i && s.record[i] == records[i]);
    }
    float x[PIXELS];
    dd_image_set_input(&s, 1, x);
    CHECK(fabsf(x[14 * W + 13] - 1.0f) < 1e-6f && x[13] == 0.0f, "input scaling: %g %g", x[14 * W + 13], x[13]);
    uint64_t bad = 999;
    dd_image_set t;
    CHECK(dd_image_set_load(m, ds, &bad, 1, &t, &err) != 0 && strstr(err.msg, "999 is not in the data"), "%s", err.msg);
    size_t per;
    uint64_t *two;
    CHECK(dd_explain_records_per_class(m, ds, DD_SPLIT_TRAIN, 2, &two, &per, &err) == 0 && per == 2 * CLASSES);
    for (size_t i = 0; i < per; i++) {
        dd_record_info info;
        dd_dataset_record_info(ds, two[i], &info);
        CHECK((int)info.label == (int)(i / 2) && info.split == DD_SPLIT_TRAIN, "record %zu", i);
    }
    free(two);
    float probs[CLASSES * CLASSES];
    CHECK(dd_explain_probabilities(m, &s, probs, &err) == 0, "%s", err.msg);
    for (size_t i = 0; i < s.n; i++) {
        double sum = 0;
        for (int c = 0; c < CLASSES; c++) sum += probs[i * CLASSES + c];
        CHECK(fabs(sum - 1) < 1e-5, "probabilities of %zu sum to %g", i, sum);
    }
    dd_image_set_free(&s);
    free(records);
}

static void test_saliency(const dd_model *m, dd_explainer *e, const float *x) {
    dd_error err;
    float map[PIXELS], grad[PIXELS], dlogits[CLASSES] = {0};
    dd_workspace *ws = dd_workspace_new(m, 1, true, &err);
    for (int cls = 0; cls < CLASSES; cls++) {
        CHECK(dd_explain_saliency(e, x, cls, map, &err) == 0, "%s", err.msg);
        dd_model_infer(m, ws, x, 1);
        memset(dlogits, 0, sizeof dlogits);
        dlogits[cls] = 1;
        CHECK(dd_model_backward_infer(m, ws, dlogits, 1, -1, grad) == 0);
        float max = 0;
        for (int p = 0; p < PIXELS; p++) max = fmaxf(max, fabsf(grad[p]));
        CHECK(max > 0, "zero gradient");
        int worst = 0;
        for (int p = 0; p < PIXELS; p++)
            if (fabsf(map[p] - fabsf(grad[p]) / max) > 1e-5f) worst++;
        CHECK(worst == 0, "class %d: %d pixels differ from |gradient| / max", cls, worst);
    }
    CHECK(dd_explain_saliency(e, x, CLASSES, map, &err) != 0 && strstr(err.msg, "out of range"), "%s", err.msg);
    dd_workspace_free(ws);
}

static void test_occlusion(const dd_model *m, dd_explainer *e, const float *x) {
    dd_error err;
    float map[PIXELS], y[PIXELS];
    const int cls = 1, patch = 7, stride = 3;
    CHECK(dd_explain_occlusion(e, x, cls, patch, stride, map, &err) == 0, "%s", err.msg);
    dd_workspace *ws = dd_workspace_new(m, 1, false, &err);
    double p[CLASSES], sum[PIXELS] = {0}, hits[PIXELS] = {0}, max = 0;
    softmax(dd_model_infer(m, ws, x, 1), CLASSES, p);
    double base = p[cls];
    /* every patch position by hand (21 is a multiple of 3: no extra edge position), one drawing at a time */
    for (int y0 = 0; y0 <= H - patch; y0 += stride)
        for (int x0 = 0; x0 <= W - patch; x0 += stride) {
            memcpy(y, x, sizeof y);
            for (int r = y0; r < y0 + patch; r++) memset(y + r * W + x0, 0, patch * sizeof *y);
            softmax(dd_model_infer(m, ws, y, 1), CLASSES, p);
            double drop = fmax(0, base - p[cls]);
            for (int r = y0; r < y0 + patch; r++)
                for (int c = x0; c < x0 + patch; c++) {
                    sum[r * W + c] += drop;
                    hits[r * W + c] += 1;
                }
        }
    for (int q = 0; q < PIXELS; q++) max = fmax(max, sum[q] /= hits[q]);
    CHECK(max > 0, "no patch lowers the class probability: the check would be empty");
    int bad = 0;
    for (int q = 0; q < PIXELS; q++)
        if (fabs(map[q] - sum[q] / max) > 1e-4) bad++;
    CHECK(bad == 0, "%d pixels of the occlusion map differ from blanking by hand", bad);
    dd_workspace_free(ws);
    CHECK(dd_explain_occlusion(e, x, cls, 40, 0, map, &err) != 0 && strstr(err.msg, "larger than the input"), "%s",
          err.msg);
}

static void test_gradcam(const dd_model *m, dd_explainer *e, const float *x) {
    dd_error err;
    float map[PIXELS];
    /* layer 0 of mnist28: a 28x28x32 conv with ReLU, so no upsampling */
    CHECK(dd_explain_gradcam(e, x, 2, 0, map, &err) == 0, "%s", err.msg);
    dd_workspace *ws = dd_workspace_new(m, 1, true, &err);
    dd_model_infer(m, ws, x, 1);
    float dl[CLASSES] = {0, 0, 1}, *g = malloc(32 * PIXELS * sizeof *g);
    CHECK(dd_model_backward_infer(m, ws, dl, 1, 0, g) == 0);
    const float *a = dd_workspace_layer_output(ws, 0);
    double cam[PIXELS] = {0}, max = 0;
    for (int c = 0; c < 32; c++) {
        double alpha = 0;
        for (int p = 0; p < PIXELS; p++) alpha += g[c * PIXELS + p];
        alpha /= PIXELS;
        for (int p = 0; p < PIXELS; p++) cam[p] += alpha * a[c * PIXELS + p];
    }
    for (int p = 0; p < PIXELS; p++) max = fmax(max, cam[p] = fmax(0, cam[p]));
    int bad = 0;
    for (int p = 0; p < PIXELS; p++)
        if (fabs(map[p] - (max > 0 ? cam[p] / max : 0)) > 1e-4) bad++;
    CHECK(bad == 0, "%d Grad-CAM pixels differ from the formula", bad);
    free(g);
    dd_workspace_free(ws);
    CHECK(dd_explain_gradcam_layer(m) == 2, "mnist28's last conv is layer 2, got %d", dd_explain_gradcam_layer(m));
    CHECK(dd_explain_gradcam(e, x, 0, -1, map, &err) == 0, "%s", err.msg); /* 14x14, upsampled */
    CHECK(dd_explain_gradcam(e, x, 0, 5, map, &err) != 0 && strstr(err.msg, "flat"), "%s", err.msg);
}

static void test_layers(const dd_model *m, dd_explainer *e, const float *x) {
    dd_error err;
    int layer = -1;
    CHECK(dd_explain_find_layer(m, "2", &layer, &err) == 0 && layer == 2);
    CHECK(dd_explain_find_layer(m, "conv2d_1", &layer, &err) == 0 && layer == 2);
    CHECK(dd_explain_find_layer(m, "7", &layer, &err) != 0 && strstr(err.msg, "0 to 6") && strstr(err.msg, "6 dense_1"),
          "%s", err.msg);
    CHECK(dd_explain_find_layer(m, "-1", &layer, &err) != 0 && strstr(err.msg, "no layer '-1'"), "%s", err.msg);
    int layers[8];
    CHECK(dd_explain_default_layers(m, layers, 8) == 2 && layers[0] == 0 && layers[1] == 2);
    dd_shape sh;
    const float *out = dd_explain_activations(e, x, 2, &sh, &err);
    CHECK(out && sh.c == 64 && sh.h == 14 && sh.w == 14, "%s", err.msg);
    for (int i = 0; out && i < 64 * 14 * 14; i++) CHECK(out[i] >= 0, "a ReLU output below 0");
    CHECK(!dd_explain_activations(e, x, 7, &sh, &err) && strstr(err.msg, "out of range"), "%s", err.msg);
}

static void test_picture(void) {
    dd_error err;
    dd_picture_opts o = {.rows = 2,
                         .cols = 3,
                         .tile_height = H,
                         .tile_width = W,
                         .scale = 2,
                         .label_height = 14,
                         .header_width = 60,
                         .title = NULL};
    dd_picture *p = dd_picture_new(&o, &err);
    CHECK(p != NULL, "%s", err.msg);
    uint8_t ink[PIXELS], rgb[PIXELS * 3];
    float heat[PIXELS];
    draw(2, 0, ink);
    dd_tile_ink(ink, H, W, rgb);
    CHECK(rgb[0] == 255 && rgb[3 * (6 * W + 13)] == 0, "ink tile: background white, ink black");
    for (int i = 0; i < PIXELS; i++) heat[i] = (float)i / (PIXELS - 1);
    dd_tile_heat(ink, H, W, heat, rgb);
    CHECK(rgb[0] == 255 && rgb[1] == 255 && rgb[2] == 255, "no heat leaves white white");
    CHECK(rgb[3 * (PIXELS - 1)] > rgb[3 * (PIXELS - 1) + 2], "full heat is warm");
    dd_tile_values(heat, H, W, 0, 1, rgb);
    CHECK(rgb[0] == 68 && rgb[1] == 1 && rgb[2] == 84 && rgb[3 * (PIXELS - 1)] == 253, "viridis ends");
    CHECK(dd_picture_put(p, 1, 2, rgb, "a label", &err) == 0 && dd_picture_row_header(p, 1, "row", &err) == 0);
    CHECK(dd_picture_put(p, 2, 0, rgb, NULL, &err) != 0, "a cell outside the grid");
    unsigned char *png;
    size_t size;
    CHECK(dd_picture_png_bytes(p, &png, &size, &err) == 0 && size > 24, "%s", err.msg);
    /* width = 4 + 60 + 4 + 3 * (28 * 2 + 2 + 4), height = 4 + 2 * (28 * 2 + 2 + 14 + 4) */
    unsigned w = (unsigned)png[16] << 24 | png[17] << 16 | png[18] << 8 | png[19];
    unsigned h = (unsigned)png[20] << 24 | png[21] << 16 | png[22] << 8 | png[23];
    CHECK(!memcmp(png + 1, "PNG", 3) && w == 4 + 60 + 4 + 3 * 62 && h == 4 + 2 * 76, "%ux%u", w, h);
    free(png);
    dd_picture_free(p);
    o.scale = 65;
    CHECK(dd_picture_new(&o, &err) == NULL && err.code == DD_ERR_RANGE);
}

int main(void) {
    char path[4200];
    snprintf(path, sizeof path, "%s/shapes.dset", test_tmp_dir("test_explain"));
    dd_dataset *ds = make_dataset(path);
    dd_model *m = make_model();
    dd_error err;
    dd_explainer *e = dd_explainer_new(m, &err);
    CHECK(ds && m && e, "%s", err.msg);
    if (ds && m && e) {
        uint8_t img[PIXELS];
        float x[PIXELS];
        draw(1, 1, img);
        for (int i = 0; i < PIXELS; i++) x[i] = img[i] / 255.0f;
        test_image_set(m, ds);
        test_saliency(m, e, x);
        test_occlusion(m, e, x);
        test_gradcam(m, e, x);
        test_layers(m, e, x);
        test_picture();
    }
    dd_explainer_free(e);
    dd_model_free(m);
    dd_dataset_close(ds);
    return test_finish("test_explain");
}
