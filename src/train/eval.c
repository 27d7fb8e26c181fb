/* Evaluating a model on one split of a .dset: classes matched by name, records rendered (or taken as stored) as
 * training sees them, fed in batches, metrics and the misclassified records collected (include/doodle/metrics.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "doodle/metrics.h"
#include "doodle/augment.h"
#include "doodle/loader.h"
#include "doodle/render.h"
#include "doodle/train.h"
#include "doodle/alloc.h"
#include "doodle/cpus.h"

/* "a, b, c" (cut short with "..." past about 200 bytes) into buf. */
static void list_names(char *buf, size_t size, int n, const char *(*name)(const void *, int), const void *obj) {
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < n && used + 1 < size; i++) {
        if (used > 200) {
            snprintf(buf + used, size - used, ", ...");
            return;
        }
        int w = snprintf(buf + used, size - used, "%s%s", i ? ", " : "", name(obj, i));
        if (w < 0) return;
        used += (size_t)w;
    }
}

static const char *model_name(const void *m, int i) { return ((const dd_model *)m)->class_names[i]; }
static const char *dset_name(const void *ds, int i) { return dd_dataset_class_name(ds, (uint32_t)i); }

int dd_eval_class_map(const dd_model *m, const dd_dataset *ds, int *map, dd_error *err) {
    int n_model = m->spec->classes;
    uint32_t n_data = dd_dataset_class_count(ds);
    char a[300], b[300];
    if ((uint32_t)n_model != n_data) {
        list_names(a, sizeof a, n_model, model_name, m);
        list_names(b, sizeof b, (int)n_data, dset_name, ds);
        return dd_fail(err, DD_ERR_UNSUPPORTED,
                       "the model has %d class%s (%s) but the data has %u (%s): evaluate a model on data with its "
                       "classes",
                       n_model, n_model == 1 ? "" : "es", a, n_data, b);
    }
    for (uint32_t l = 0; l < n_data; l++) {
        const char *name = dd_dataset_class_name(ds, l);
        map[l] = -1;
        for (int k = 0; k < n_model; k++)
            if (!strcmp(m->class_names[k], name)) {
                map[l] = k;
                break;
            }
        if (map[l] < 0) {
            list_names(a, sizeof a, n_model, model_name, m);
            return dd_fail(err, DD_ERR_UNSUPPORTED, "the data's class '%s' is not one of the model's classes (%s)",
                           name, a);
        }
        for (uint32_t e = 0; e < l; e++)
            if (map[e] == map[l]) return dd_fail(err, DD_ERR_UNSUPPORTED, "the data names class '%s' twice", name);
    }
    return 0;
}

int dd_eval_check_input(const dd_model *m, const dd_dataset *ds, dd_error *err) {
    if (m->spec->input.c != 1)
        return dd_fail(err, DD_ERR_UNSUPPORTED, "the model takes %d input channels; drawings have 1", m->spec->input.c);
    const dd_render_opts *in = &m->render; /* the model's input size */
    if (dd_dataset_kind(ds) == DD_DSET_BITMAPS) {
        uint32_t h, w;
        dd_dataset_bitmap_size(ds, &h, &w);
        if (h != in->height || w != in->width)
            return dd_fail(err, DD_ERR_UNSUPPORTED,
                           "the data holds %ux%u bitmaps but the model takes %ux%u input (bitmaps are used as "
                           "stored; use a model made for %ux%u, or a stroke dataset, which renders at any size)",
                           h, w, in->height, in->width, h, w);
    }
    return 0;
}

void dd_eval_result_free(dd_eval_result *r) {
    if (!r) return;
    dd_metrics_free(&r->metrics);
    free(r->misses);
    memset(r, 0, sizeof *r);
}

static int add_miss(dd_eval_result *r, size_t *cap, const dd_eval_miss *miss, dd_error *err) {
    if (r->n_misses == *cap) {
        size_t n = *cap ? 2 * *cap : 256;
        dd_eval_miss *p = dd_realloc(r->misses, n, sizeof *p, err);
        if (!p) return -1;
        r->misses = p;
        *cap = n;
    }
    r->misses[r->n_misses++] = *miss;
    return 0;
}

int dd_eval_run(const dd_model *m, const dd_dataset *ds, int split, int batch, dd_eval_result *out, dd_error *err) {
    return dd_eval_run_tta(m, ds, split, batch, false, out, err);
}

/* Test-time augmentation's views: the drawing as it is, and moved by one pixel each way. */
static const int tta_views[][2] = {{0, 0}, {1, 0}, {-1, 0}, {0, 1}, {0, -1}};
#define TTA_VIEWS (int)(sizeof tta_views / sizeof tta_views[0])

/* logits <- log of the mean of the views' probabilities (accumulated in probs), for dd_metrics_add: their softmax
 * is that mean, their loss its -log. */
static void mean_log_probs(float *logits, const double *probs, size_t n, int views) {
    for (size_t i = 0; i < n; i++) {
        double p = probs[i] / views;
        logits[i] = p > 0 ? (float)log(p) : -1e30f;
    }
}

int dd_eval_run_tta(const dd_model *m, const dd_dataset *ds, int split, int batch, bool tta, dd_eval_result *out,
                    dd_error *err) {
    memset(out, 0, sizeof *out);
    if (batch < 1) return dd_fail(err, DD_ERR_USAGE, "batch size %d must be at least 1", batch);
    if (dd_eval_check_input(m, ds, err)) return -1;
    uint32_t n_data = dd_dataset_class_count(ds);
    int classes = m->spec->classes;
    size_t pixels = (size_t)m->render.height * m->render.width;
    int *map = dd_malloc(n_data ? n_data : 1, sizeof *map, err);
    if (!map) return -1;
    if (dd_eval_class_map(m, ds, map, err)) {
        free(map);
        return -1;
    }
    const int strokes = dd_dataset_kind(ds) == DD_DSET_STROKES;
    dd_workspace *ws = NULL;
    dd_renderer *r = NULL;
    float *x = NULL;
    uint8_t *img = NULL;
    uint64_t *idx = NULL;
    int *labels = NULL;
    uint8_t *raw = NULL, *val_mask = NULL, *moved = NULL; /* raw: the batch's images (TTA) */
    double *acc = NULL;
    float *mean_logits = NULL;
    const int views = tta ? TTA_VIEWS : 1;
    dd_drawing d;
    dd_drawing_init(&d);
    size_t cap = 0;
    int rc = -1;
    if (dd_metrics_init(&out->metrics, classes, 3, err)) goto done;
    if (!(ws = dd_workspace_new(m, batch, false, err)) || dd_workspace_set_threads(ws, dd_cpu_count(8), err)) goto done;
    if (!(x = dd_malloc((size_t)batch * pixels, sizeof *x, err)) ||
        !(idx = dd_malloc((size_t)batch, sizeof *idx, err)) ||
        !(labels = dd_malloc((size_t)batch, sizeof *labels, err)) || !(img = dd_malloc(pixels, 1, err)))
        goto done;
    if (tta && (!(raw = dd_malloc((size_t)batch * pixels, 1, err)) || !(moved = dd_malloc(pixels, 1, err)) ||
                !(acc = dd_malloc((size_t)batch * classes, sizeof *acc, err)) ||
                !(mean_logits = dd_malloc((size_t)batch * classes, sizeof *mean_logits, err))))
        goto done;
    if (split == DD_EVAL_SPLIT_VAL) { /* as doodle train carves it: the set's share (else 0.1), the set's seed */
        double frac = dd_dataset_params(ds).val_frac > 0 ? dd_dataset_params(ds).val_frac : 0.1;
        if (dd_dataset_val_mask(ds, frac, dd_dataset_params(ds).seed, &val_mask, NULL, err)) goto done;
    }
    if (strokes && !(r = dd_renderer_new(&m->render, err))) goto done;

    uint64_t n = dd_dataset_count(ds);
    for (uint64_t i = 0; i < n;) {
        int b = 0;
        for (; i < n && b < batch; i++) {
            dd_record_info info;
            if (dd_dataset_record_info(ds, i, &info)) {
                dd_fail(err, DD_ERR_MALFORMED, "record %llu cannot be read", (unsigned long long)i);
                goto done;
            }
            if (split == DD_EVAL_SPLIT_VAL ? !dd_val_mask_has(val_mask, i) : split >= 0 && (int)info.split != split)
                continue;
            if (info.label >= n_data) {
                dd_fail(err, DD_ERR_MALFORMED, "record %llu has label %u of %u classes", (unsigned long long)i,
                        info.label, n_data);
                goto done;
            }
            const uint8_t *src = dd_record_image(ds, i, r, &d, img, err);
            if (!src) goto done;
            dd_image_to_input(src, pixels, x + (size_t)b * pixels);
            if (raw) memcpy(raw + (size_t)b * pixels, src, pixels);
            idx[b] = i;
            labels[b] = map[info.label];
            b++;
        }
        if (b == 0) break;
        const float *logits = dd_model_infer(m, ws, x, b);
        if (!logits) {
            dd_fail(err, DD_ERR_USAGE, "inference failed (batch %d)", b);
            goto done;
        }
        if (tta) { /* the mean of the views' probabilities */
            memset(acc, 0, (size_t)b * classes * sizeof *acc);
            for (int v = 0;;) {
                for (int k = 0; k < b; k++) {
                    const float *z = logits + (size_t)k * classes;
                    float mx = z[0];
                    for (int c = 1; c < classes; c++) mx = z[c] > mx ? z[c] : mx;
                    double sum = 0;
                    for (int c = 0; c < classes; c++) sum += exp((double)z[c] - mx);
                    for (int c = 0; c < classes; c++) acc[(size_t)k * classes + c] += exp((double)z[c] - mx) / sum;
                }
                if (++v == views) break;
                for (int k = 0; k < b; k++) {
                    dd_augment_shift(raw + (size_t)k * pixels, m->render.height, m->render.width, tta_views[v][0],
                                     tta_views[v][1], moved);
                    dd_image_to_input(moved, pixels, x + (size_t)k * pixels);
                }
                if (!(logits = dd_model_infer(m, ws, x, b))) {
                    dd_fail(err, DD_ERR_USAGE, "inference failed (batch %d)", b);
                    goto done;
                }
            }
            mean_log_probs(mean_logits, acc, (size_t)b * classes, views);
            logits = mean_logits;
        }
        for (int k = 0; k < b; k++) {
            float conf;
            int pred = dd_metrics_add(&out->metrics, labels[k], logits + (size_t)k * classes, &conf);
            if (pred == labels[k]) continue;
            dd_record_info info;
            dd_dataset_record_info(ds, idx[k], &info);
            dd_eval_miss miss = {
                .index = idx[k], .key_id = info.key_id, .true_class = labels[k], .predicted = pred, .confidence = conf};
            if (add_miss(out, &cap, &miss, err)) goto done;
        }
    }
    if (out->metrics.total == 0) {
        dd_fail(err, DD_ERR_EMPTY, "the data has no records in the %s split",
                split == DD_SPLIT_TRAIN      ? "train"
                : split == DD_SPLIT_TEST     ? "test"
                : split == DD_EVAL_SPLIT_VAL ? "validation"
                                             : "chosen");
        goto done;
    }
    rc = 0;
done:
    if (rc) dd_eval_result_free(out);
    dd_drawing_free(&d);
    dd_renderer_free(r);
    dd_workspace_free(ws);
    free(x);
    free(img);
    free(idx);
    free(labels);
    free(map);
    free(raw);
    free(moved);
    free(acc);
    free(mean_logits);
    free(val_mask);
    return rc;
}
