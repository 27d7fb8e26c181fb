/* One path from a record to the model's input (dd_record_image): the training loader, explain's image sets and
 * doodle eval see the same floats for the same records, on stroke and bitmap sets of the bundled sample (real
 * Quick, Draw! drawings), with a model whose render settings are not Google's defaults (so a verb that rebuilt
 * them from the input size alone would differ). The loader's batches are fed to the model by hand and must give
 * dd_eval_run's confusion matrix and loss. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "doodle/explain.h"
#include "doodle/loader.h"
#include "doodle/metrics.h"
#include "doodle/prep.h"
#include "doodle/train.h"
#include "testutil.h"

#define BATCH 7

static dd_dataset *prep(const char *input, double test_frac, const char *name) {
    char in[4200], out[4200];
    snprintf(in, sizeof in, "%s/%s", test_sample_dir(), input);
    snprintf(out, sizeof out, "%s/%s", test_tmp_dir("test_input_path"), name);
    const char *inputs[] = {in};
    dd_prep_opts o = {.inputs = inputs, .n_inputs = 1, .test_frac = test_frac, .per_class = 200, .seed = 5};
    dd_prep_report rep;
    dd_error err;
    int rc = dd_prep_run(&o, out, &rep, &err);
    CHECK(rc == 0, "%s: %s", input, err.msg);
    if (rc) return NULL;
    dd_prep_report_free(&rep);
    dd_dataset *ds = dd_dataset_open(out, &err);
    CHECK(ds, "%s: %s", out, err.msg);
    return ds;
}

static dd_model *model_for(const dd_dataset *ds, double line_width, double padding) {
    dd_error err;
    dd_spec_overrides ov = {.classes = (int)dd_dataset_class_count(ds)};
    dd_model_spec *spec = dd_model_spec_builtin("mnist28", &ov, &err);
    dd_model *m = spec ? dd_model_new(spec, 9, &err) : NULL;
    CHECK(m, "%s", err.msg);
    if (!m) return NULL;
    for (uint32_t i = 0; i < dd_dataset_class_count(ds); i++)
        CHECK(dd_model_set_class_name(m, (int)i, dd_dataset_class_name(ds, i), &err) == 0, "%s", err.msg);
    m->render.line_width = line_width;
    m->render.padding = padding;
    return m;
}

static void check_set(const dd_dataset *ds, double line_width, double padding) {
    dd_error err;
    dd_model *m = model_for(ds, line_width, padding);
    if (!m) return;
    size_t pixels = (size_t)m->render.height * m->render.width;
    int classes = m->spec->classes;

    /* the loader as training's evaluation uses it: the test split in file order, no augmentation */
    dd_loader_opts lo = dd_loader_opts_default(BATCH, 1, 1);
    lo.render = m->render;
    lo.split = DD_LOADER_TEST;
    lo.shuffle = false;
    dd_loader *l = dd_loader_new(ds, &lo, &err);
    CHECK(l, "%s", err.msg);
    if (!l) {
        dd_model_free(m);
        return;
    }
    uint64_t n = dd_loader_record_count(l);
    float *xl = malloc(n * pixels * sizeof *xl), *xs = malloc(pixels * sizeof *xs);
    uint64_t *rec = malloc(n * sizeof *rec);
    int32_t *labels = malloc(n * sizeof *labels);
    dd_workspace *ws = dd_workspace_new(m, BATCH, false, &err);
    dd_metrics want;
    CHECK(xl && xs && rec && labels && ws && dd_metrics_init(&want, classes, 3, &err) == 0);
    CHECK(dd_loader_begin_epoch(l, 0, &err) == 0, "%s", err.msg);
    uint64_t got = 0;
    for (int b; (b = dd_loader_next(l, xl + got * pixels, labels + got, rec + got, &err)) > 0; got += (uint64_t)b) {
        const float *logits = dd_model_infer(m, ws, xl + got * pixels, b);
        for (int k = 0; k < b; k++) dd_metrics_add(&want, labels[got + k], logits + (size_t)k * classes, NULL);
    }
    CHECK(got == n && n > 0, "%llu of %llu records", (unsigned long long)got, (unsigned long long)n);

    /* explain's image set of the same records */
    dd_image_set s;
    CHECK(dd_image_set_load(m, ds, rec, n, &s, &err) == 0, "%s", err.msg);
    size_t same = 0;
    for (uint64_t i = 0; i < s.n; i++) {
        dd_image_set_input(&s, i, xs);
        same += !memcmp(xs, xl + i * pixels, pixels * sizeof *xs) && s.label[i] == labels[i];
    }
    CHECK(same == n, "%zu of %llu images the same (line width %g)", same, (unsigned long long)n, line_width);

    /* doodle eval on the test split: the same records, so the same confusion matrix and loss */
    dd_eval_result r;
    CHECK(dd_eval_run(m, ds, DD_SPLIT_TEST, BATCH, &r, &err) == 0, "%s", err.msg);
    CHECK(r.metrics.total == want.total &&
              !memcmp(r.metrics.confusion, want.confusion, (size_t)classes * classes * sizeof *want.confusion),
          "eval's confusion matrix differs from the loader's (line width %g)", line_width);
    CHECK(fabs(dd_metrics_loss(&r.metrics) - dd_metrics_loss(&want)) < 1e-6, "loss %.9f vs %.9f",
          dd_metrics_loss(&r.metrics), dd_metrics_loss(&want));

    dd_eval_result_free(&r);
    dd_image_set_free(&s);
    dd_metrics_free(&want);
    dd_workspace_free(ws);
    dd_loader_free(l);
    free(xl);
    free(xs);
    free(rec);
    free(labels);
    dd_model_free(m);
}

/* The path itself: a bitmap record is the set's own pixels; a stroke record is dd_render of its drawing. */
static void check_record_image(const dd_dataset *strokes, const dd_dataset *bitmaps) {
    dd_error err;
    dd_render_opts ro = dd_render_opts_default(28, 28);
    ro.line_width = 9;
    dd_renderer *r = dd_renderer_new(&ro, &err);
    uint8_t img[28 * 28], want[28 * 28];
    dd_drawing d, e;
    dd_drawing_init(&d);
    dd_drawing_init(&e);
    CHECK(r && dd_record_image(strokes, 3, r, &d, img, &err) == img, "%s", err.msg);
    CHECK(dd_dataset_strokes(strokes, 3, &e, &err) == 0 && dd_render(r, &e, want, &err) == 0, "%s", err.msg);
    CHECK(!memcmp(img, want, sizeof img));
    CHECK(dd_record_image(bitmaps, 3, NULL, &d, img, &err) == dd_dataset_bitmap(bitmaps, 3));
    CHECK(!dd_record_image(strokes, 3, NULL, &d, img, &err) && strstr(err.msg, "record 3"), "%s", err.msg);
    float x[3];
    const uint8_t px[3] = {0, 128, 255};
    dd_image_to_input(px, 3, x);
    CHECK(x[0] == 0 && x[1] == 128 / 255.0f && x[2] == 1);
    dd_drawing_free(&d);
    dd_drawing_free(&e);
    dd_renderer_free(r);
}

int main(void) {
    dd_dataset *strokes = prep("strokes/simplified", 0.3, "strokes.dset");
    dd_dataset *bitmaps = prep("bitmaps", 0.2, "bitmaps.dset");
    if (strokes && bitmaps) {
        check_set(strokes, 16, 16);
        check_set(strokes, 9, 4); /* not Google's: the model's settings must reach every path */
        check_set(bitmaps, 16, 16);
        check_record_image(strokes, bitmaps);
    }
    dd_dataset_close(strokes);
    dd_dataset_close(bitmaps);
    return test_finish("test_input_path");
}
