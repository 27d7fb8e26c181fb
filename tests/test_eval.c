/* dd_eval_run on the bundled sample with an untrained model (accuracy near chance, so only structural facts are
 * checked: the confusion matrix counts every test record once, in the row of its class; accuracy is its trace over
 * the total; top-3 >= accuracy; one misclassified entry per wrong prediction), the pixels fed as training feeds
 * them, classes matched by name whatever their order, and clear errors for models that do not fit the data.
 *
 * `test_eval --fixture DIR` only writes the files the command-line test (tests/cli/eval_predict.sh) uses:
 * bitmaps.dset, strokes.dset, empty-test.dset, model.safetensors (mnist28, the 5 sample classes), model3 (3
 * classes), seed.safetensors (66x100 input) and reordered.safetensors (model.safetensors with its classes in
 * reverse order, outputs permuted to match: the same classifier). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "doodle/metrics.h"
#include "doodle/prep.h"
#include "doodle/render.h"
#include "testutil.h"

static char fixture_dir[4096];

static const char *fx(const char *name) {
    static char buf[16][4200];
    static int next;
    char *p = buf[next++ % 16];
    snprintf(p, sizeof buf[0], "%s/%s", fixture_dir, name);
    return p;
}

static void die(const char *what, const dd_error *err) {
    fprintf(stderr, "%s: %s\n", what, err->msg);
    exit(1);
}

static void prep(const char *input, double test_frac, uint64_t per_class, const char *out) {
    char in[4200];
    snprintf(in, sizeof in, "%s/%s", test_sample_dir(), input);
    const char *inputs[] = {in};
    dd_prep_opts o = {.inputs = inputs, .n_inputs = 1, .test_frac = test_frac, .per_class = per_class, .seed = 3};
    dd_prep_report rep;
    dd_error err;
    if (dd_prep_run(&o, out, &rep, &err)) die(out, &err);
    dd_prep_report_free(&rep);
}

/* A built-in network with `classes` outputs named after the dataset's first classes (or "class i"). */
static dd_model *new_model(const char *builtin, int classes, uint64_t seed, const dd_dataset *names) {
    dd_error err;
    dd_spec_overrides ov = {.classes = classes};
    dd_model_spec *spec = dd_model_spec_builtin(builtin, &ov, &err);
    if (!spec) die(builtin, &err);
    dd_model *m = dd_model_new(spec, seed, &err);
    if (!m) die(builtin, &err);
    for (int i = 0; names && i < classes; i++)
        if (dd_model_set_class_name(m, i, dd_dataset_class_name(names, (uint32_t)i), &err)) die("class name", &err);
    return m;
}

/* The same classifier with its classes in reverse order: the last dense layer's rows and biases reversed. */
static void reverse_classes(dd_model *m) {
    const dd_layer_spec *l = &m->spec->layers[m->spec->n_layers - 1];
    int n = m->spec->classes;
    size_t in = l->weight.count / (size_t)n;
    float *w = m->params + l->weight.offset, *b = m->params + l->bias.offset;
    for (int i = 0; i < n / 2; i++) {
        int j = n - 1 - i;
        for (size_t k = 0; k < in; k++) {
            float t = w[(size_t)i * in + k];
            w[(size_t)i * in + k] = w[(size_t)j * in + k];
            w[(size_t)j * in + k] = t;
        }
        float t = b[i];
        b[i] = b[j];
        b[j] = t;
        char name[DD_SPEC_NAME_MAX];
        memcpy(name, m->class_names[i], sizeof name);
        memcpy(m->class_names[i], m->class_names[j], sizeof name);
        memcpy(m->class_names[j], name, sizeof name);
    }
}

static void save(const dd_model *m, const char *path) {
    dd_error err;
    if (dd_model_save(m, path, &err)) die(path, &err);
}

static void make_fixture(void) {
    prep("bitmaps", 0.2, 200, fx("bitmaps.dset"));
    prep("strokes/simplified", 0.4, 0, fx("strokes.dset"));
    prep("strokes/simplified", 0.0, 0, fx("empty-test.dset"));
    dd_error err;
    dd_dataset *ds = dd_dataset_open(fx("bitmaps.dset"), &err);
    if (!ds) die("bitmaps.dset", &err);
    dd_model *m = new_model("mnist28", 5, 1, ds);
    save(m, fx("model.safetensors"));
    reverse_classes(m);
    save(m, fx("reordered.safetensors"));
    dd_model_free(m);
    m = new_model("mnist28", 3, 2, ds);
    save(m, fx("model3.safetensors"));
    dd_model_free(m);
    m = new_model("seed", 5, 3, ds);
    save(m, fx("seed.safetensors"));
    dd_model_free(m);
    dd_dataset_close(ds);
}

static dd_model *load(const char *name) {
    dd_error err;
    dd_model *m = dd_model_load(fx(name), &err);
    if (!m) die(name, &err);
    return m;
}

static dd_dataset *open_set(const char *name) {
    dd_error err;
    dd_dataset *ds = dd_dataset_open(fx(name), &err);
    if (!ds) die(name, &err);
    return ds;
}

/* The structural facts of a result for m on split of ds. */
static void check_structure(const dd_model *m, const dd_dataset *ds, int split, const dd_eval_result *r) {
    const dd_metrics *mt = &r->metrics;
    int n = m->spec->classes;
    uint64_t *want = calloc((size_t)n, sizeof *want), want_total = 0;
    for (uint64_t i = 0; i < dd_dataset_count(ds); i++) {
        dd_record_info info;
        CHECK(dd_dataset_record_info(ds, i, &info) == 0);
        if (split >= 0 && (int)info.split != split) continue;
        const char *name = dd_dataset_class_name(ds, info.label);
        for (int c = 0; c < n; c++)
            if (!strcmp(m->class_names[c], name)) want[c]++;
        want_total++;
    }
    CHECK(mt->total == want_total && want_total > 0, "total %llu, want %llu", (unsigned long long)mt->total,
          (unsigned long long)want_total);
    uint64_t sum = 0, trace = 0;
    for (int t = 0; t < n; t++) {
        uint64_t row = 0;
        for (int c = 0; c < n; c++) row += mt->confusion[(size_t)t * n + c];
        CHECK(row == want[t], "class %s: row sum %llu, %llu records", m->class_names[t], (unsigned long long)row,
              (unsigned long long)want[t]);
        sum += row;
        trace += mt->confusion[(size_t)t * n + t];
    }
    CHECK(sum == want_total && trace == mt->correct);
    CHECK(fabs(dd_metrics_accuracy(mt) - (double)trace / (double)sum) < 1e-15);
    CHECK(dd_metrics_topk(mt) >= dd_metrics_accuracy(mt) && mt->top_k == 3);
    CHECK(isfinite(dd_metrics_loss(mt)) && dd_metrics_loss(mt) > 0);
    CHECK(r->n_misses == mt->total - mt->correct, "%zu misses, %llu wrong", r->n_misses,
          (unsigned long long)(mt->total - mt->correct));
    for (size_t i = 0; i < r->n_misses; i++) {
        const dd_eval_miss *x = &r->misses[i];
        dd_record_info info;
        CHECK(dd_dataset_record_info(ds, x->index, &info) == 0);
        CHECK(split < 0 || (int)info.split == split);
        CHECK(info.key_id == x->key_id);
        CHECK(!strcmp(m->class_names[x->true_class], dd_dataset_class_name(ds, info.label)));
        CHECK(x->true_class != x->predicted && x->confidence > 0 && x->confidence <= 1);
        CHECK(i == 0 || r->misses[i - 1].index < x->index);
    }
    free(want);
}

static void test_sample(void) {
    dd_error err;
    dd_model *m = load("model.safetensors");
    dd_dataset *bitmaps = open_set("bitmaps.dset"), *strokes = open_set("strokes.dset");
    dd_eval_result r;
    const int splits[] = {DD_SPLIT_TEST, DD_SPLIT_TRAIN, -1};
    for (int s = 0; s < 3; s++) {
        CHECK(dd_eval_run(m, bitmaps, splits[s], 64, &r, &err) == 0, "%s", err.msg);
        check_structure(m, bitmaps, splits[s], &r);
        if (s == 0) /* an untrained model: near chance (1 in 5) */
            printf("bitmaps, test split: accuracy %.4f, loss %.4f, top-3 %.4f over %llu records\n",
                   dd_metrics_accuracy(&r.metrics), dd_metrics_loss(&r.metrics), dd_metrics_topk(&r.metrics),
                   (unsigned long long)r.metrics.total);
        dd_eval_result_free(&r);
        CHECK(dd_eval_run(m, strokes, splits[s], 7, &r, &err) == 0, "%s", err.msg);
        check_structure(m, strokes, splits[s], &r);
        dd_eval_result_free(&r);
    }
    dd_eval_result_free(&r); /* twice is harmless */
    dd_dataset_close(bitmaps);
    dd_dataset_close(strokes);
    dd_model_free(m);
}

/* Stroke records are rendered with the model's settings at its input size, bitmaps fed as stored, both /255:
 * one record at a time by hand gives the same confusion matrix and loss as dd_eval_run in batches. */
static void test_same_pixels(const char *set, const char *model_name) {
    dd_error err;
    dd_model *m = load(model_name);
    dd_dataset *ds = open_set(set);
    size_t pixels = (size_t)m->spec->input.h * m->spec->input.w;
    dd_workspace *ws = dd_workspace_new(m, 1, false, &err);
    dd_renderer *rd = dd_renderer_new(&m->render, &err);
    uint8_t *img = malloc(pixels);
    float *x = malloc(pixels * sizeof *x);
    dd_drawing d;
    dd_drawing_init(&d);
    dd_metrics want;
    CHECK(ws && rd && img && x && dd_metrics_init(&want, m->spec->classes, 3, &err) == 0);
    CHECK(m->render.height == (uint32_t)m->spec->input.h && m->render.width == (uint32_t)m->spec->input.w);
    for (uint64_t i = 0; i < dd_dataset_count(ds); i++) {
        dd_record_info info;
        dd_dataset_record_info(ds, i, &info);
        if (info.split != DD_SPLIT_TEST) continue;
        const uint8_t *src = img;
        if (dd_dataset_kind(ds) == DD_DSET_STROKES) {
            CHECK(dd_dataset_strokes(ds, i, &d, &err) == 0 && dd_render(rd, &d, img, &err) == 0, "%s", err.msg);
        } else {
            src = dd_dataset_bitmap(ds, i);
        }
        for (size_t p = 0; p < pixels; p++) x[p] = src[p] / 255.0f;
        const float *logits = dd_model_infer(m, ws, x, 1);
        int label = -1;
        for (int c = 0; c < m->spec->classes; c++)
            if (!strcmp(m->class_names[c], dd_dataset_class_name(ds, info.label))) label = c;
        dd_metrics_add(&want, label, logits, NULL);
    }
    dd_eval_result r;
    CHECK(dd_eval_run(m, ds, DD_SPLIT_TEST, 16, &r, &err) == 0, "%s", err.msg);
    int n = m->spec->classes;
    CHECK(!memcmp(want.confusion, r.metrics.confusion, (size_t)n * n * sizeof *want.confusion), "%s with %s", set,
          model_name);
    CHECK(fabs(dd_metrics_loss(&want) - dd_metrics_loss(&r.metrics)) < 1e-5, "loss %.8f vs %.8f",
          dd_metrics_loss(&want), dd_metrics_loss(&r.metrics));
    CHECK(want.topk_correct == r.metrics.topk_correct);
    dd_eval_result_free(&r);
    dd_metrics_free(&want);
    dd_drawing_free(&d);
    free(img);
    free(x);
    dd_renderer_free(rd);
    dd_workspace_free(ws);
    dd_dataset_close(ds);
    dd_model_free(m);
}

/* A model listing the classes in another order is evaluated by name: the reordered copy of the model is the same
 * classifier, so its confusion matrix is the original's with rows and columns reversed. */
static void test_reordered(void) {
    dd_error err;
    dd_model *a = load("model.safetensors"), *b = load("reordered.safetensors");
    dd_dataset *ds = open_set("bitmaps.dset");
    int n = a->spec->classes, map[5];
    CHECK(n == 5 && strcmp(a->class_names[0], b->class_names[0]) != 0);
    CHECK(dd_eval_class_map(b, ds, map, &err) == 0);
    for (int l = 0; l < 5; l++) CHECK(map[l] == 4 - l, "map[%d] = %d", l, map[l]);
    dd_eval_result ra, rb;
    CHECK(dd_eval_run(a, ds, -1, 100, &ra, &err) == 0 && dd_eval_run(b, ds, -1, 100, &rb, &err) == 0, "%s", err.msg);
    for (int t = 0; t < n; t++)
        for (int c = 0; c < n; c++)
            CHECK(ra.metrics.confusion[t * n + c] == rb.metrics.confusion[(n - 1 - t) * n + (n - 1 - c)]);
    CHECK(ra.metrics.correct == rb.metrics.correct && ra.metrics.topk_correct == rb.metrics.topk_correct);
    CHECK(fabs(dd_metrics_loss(&ra.metrics) - dd_metrics_loss(&rb.metrics)) < 1e-9);
    CHECK(ra.n_misses == rb.n_misses);
    for (size_t i = 0; i < ra.n_misses && i < rb.n_misses; i++)
        CHECK(ra.misses[i].index == rb.misses[i].index && rb.misses[i].predicted == n - 1 - ra.misses[i].predicted);
    dd_eval_result_free(&ra);
    dd_eval_result_free(&rb);
    dd_dataset_close(ds);
    dd_model_free(a);
    dd_model_free(b);
}

static void test_mismatch(void) {
    dd_error err;
    dd_eval_result r;
    dd_dataset *bitmaps = open_set("bitmaps.dset"), *empty = open_set("empty-test.dset");

    dd_model *m = load("model3.safetensors");
    CHECK(dd_eval_run(m, bitmaps, DD_SPLIT_TEST, 8, &r, &err) == -1 && err.code == DD_ERR_UNSUPPORTED);
    CHECK(strstr(err.msg, "3 classes") && strstr(err.msg, "has 5"), "%s", err.msg);
    CHECK(r.misses == NULL && r.metrics.confusion == NULL);
    dd_model_free(m);

    m = load("model.safetensors");
    CHECK(dd_model_set_class_name(m, 2, "dog", &err) == 0);
    const char *lost = dd_dataset_class_name(bitmaps, 2);
    CHECK(dd_eval_run(m, bitmaps, DD_SPLIT_TEST, 8, &r, &err) == -1 && err.code == DD_ERR_UNSUPPORTED);
    CHECK(strstr(err.msg, lost) && strstr(err.msg, "dog"), "%s", err.msg);
    CHECK(dd_model_set_class_name(m, 2, m->class_names[1], &err) == 0); /* a class named twice */
    CHECK(dd_eval_run(m, bitmaps, DD_SPLIT_TEST, 8, &r, &err) == -1);
    CHECK(dd_model_set_class_name(m, 2, lost, &err) == 0);
    CHECK(dd_eval_run(m, bitmaps, DD_SPLIT_TEST, 0, &r, &err) == -1 && err.code == DD_ERR_USAGE);
    CHECK(dd_eval_run(m, empty, DD_SPLIT_TEST, 8, &r, &err) == -1 && strstr(err.msg, "no records in the test split"),
          "%s", err.msg);
    CHECK(dd_eval_run(m, empty, DD_SPLIT_TRAIN, 8, &r, &err) == 0, "%s", err.msg);
    dd_eval_result_free(&r);
    dd_model_free(m);

    m = load("seed.safetensors");
    CHECK(dd_eval_run(m, bitmaps, DD_SPLIT_TEST, 8, &r, &err) == -1 && err.code == DD_ERR_UNSUPPORTED);
    CHECK(strstr(err.msg, "28x28") && strstr(err.msg, "66x100"), "%s", err.msg);
    dd_model_free(m);
    dd_dataset_close(bitmaps);
    dd_dataset_close(empty);
}

int main(int argc, char **argv) {
    if (argc == 3 && !strcmp(argv[1], "--fixture")) {
        snprintf(fixture_dir, sizeof fixture_dir, "%s", argv[2]);
        make_fixture();
        return 0;
    }
    snprintf(fixture_dir, sizeof fixture_dir, "%s", test_tmp_dir("test_eval"));
    make_fixture();
    test_sample();
    test_same_pixels("strokes.dset", "model.safetensors");
    test_same_pixels("strokes.dset", "seed.safetensors");
    test_same_pixels("bitmaps.dset", "model.safetensors");
    test_reordered();
    test_mismatch();
    return test_finish("test_eval");
}
