/* Drawings of a .dset as the model sees them (include/doodle/explain.h): the same checks, rendering and class
 * mapping as dd_eval_run, so an explanation is about the very pixels evaluation scored. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "doodle/explain.h"
#include "doodle/loader.h"
#include "doodle/metrics.h"
#include "doodle/render.h"
#include "doodle/alloc.h"
#include "doodle/cpus.h"

#define PROB_BATCH 64

void dd_image_set_free(dd_image_set *s) {
    if (!s) return;
    free(s->pixels);
    free(s->record);
    free(s->label);
    memset(s, 0, sizeof *s);
}

void dd_image_set_input(const dd_image_set *s, size_t i, float *x) {
    size_t pixels = (size_t)s->height * (size_t)s->width;
    dd_image_to_input(s->pixels + i * pixels, pixels, x);
}

int dd_image_set_load(const dd_model *m, const dd_dataset *ds, const uint64_t *records, size_t n, dd_image_set *out,
                      dd_error *err) {
    memset(out, 0, sizeof *out);
    if (dd_eval_check_input(m, ds, err)) return -1;
    uint32_t n_data = dd_dataset_class_count(ds);
    int *map = dd_malloc(n_data ? n_data : 1, sizeof *map, err);
    if (!map) return -1;
    if (dd_eval_class_map(m, ds, map, err)) {
        free(map);
        return -1;
    }
    out->height = (int)m->render.height;
    out->width = (int)m->render.width;
    size_t pixels = (size_t)out->height * (size_t)out->width;
    const int strokes = dd_dataset_kind(ds) == DD_DSET_STROKES;
    dd_renderer *r = NULL;
    dd_drawing d;
    dd_drawing_init(&d);
    int rc = -1;
    if (!(out->pixels = dd_malloc(n ? n : 1, pixels, err)) ||
        !(out->record = dd_malloc(n ? n : 1, sizeof *out->record, err)) ||
        !(out->label = dd_malloc(n ? n : 1, sizeof *out->label, err)))
        goto done;
    if (strokes && n && !(r = dd_renderer_new(&m->render, err))) goto done;
    for (size_t k = 0; k < n; k++) {
        uint64_t i = records[k];
        dd_record_info info;
        if (i >= dd_dataset_count(ds) || dd_dataset_record_info(ds, i, &info)) {
            dd_fail(err, DD_ERR_RANGE, "record %llu is not in the data (%llu records)", (unsigned long long)i,
                    (unsigned long long)dd_dataset_count(ds));
            goto done;
        }
        if (info.label >= n_data) {
            dd_fail(err, DD_ERR_MALFORMED, "record %llu has label %u of %u classes", (unsigned long long)i, info.label,
                    n_data);
            goto done;
        }
        uint8_t *dst = out->pixels + k * pixels;
        const uint8_t *src = dd_record_image(ds, i, r, &d, dst, err);
        if (!src) goto done;
        if (src != dst) memcpy(dst, src, pixels);
        out->record[k] = i;
        out->label[k] = map[info.label];
    }
    out->n = n;
    rc = 0;
done:
    if (rc) dd_image_set_free(out);
    dd_drawing_free(&d);
    dd_renderer_free(r);
    free(map);
    return rc;
}

int dd_explain_probabilities(const dd_model *m, const dd_image_set *s, float *probs, dd_error *err) {
    if (s->n == 0) return 0;
    int classes = m->spec->classes;
    size_t pixels = (size_t)s->height * (size_t)s->width;
    int batch = s->n < PROB_BATCH ? (int)s->n : PROB_BATCH;
    dd_workspace *ws = dd_workspace_new(m, batch, false, err);
    float *x = ws ? dd_malloc((size_t)batch * pixels, sizeof *x, err) : NULL;
    int rc = -1;
    /* every core: the quality check runs the model over the whole data set */
    if (!x || dd_workspace_set_threads(ws, dd_cpu_count(8), err)) goto done;
    for (size_t i = 0; i < s->n; i += (size_t)batch) {
        int b = s->n - i < (size_t)batch ? (int)(s->n - i) : batch;
        for (int k = 0; k < b; k++) dd_image_set_input(s, i + (size_t)k, x + (size_t)k * pixels);
        const float *logits = dd_model_infer(m, ws, x, b);
        if (!logits) {
            dd_fail(err, DD_ERR_USAGE, "inference failed (batch %d)", b);
            goto done;
        }
        for (int k = 0; k < b; k++) { /* softmax with the maximum subtracted */
            const float *z = logits + (size_t)k * classes;
            float *p = probs + (i + (size_t)k) * classes;
            float max = z[0];
            for (int c = 1; c < classes; c++)
                if (z[c] > max) max = z[c];
            double sum = 0;
            for (int c = 0; c < classes; c++) sum += exp((double)(z[c] - max));
            for (int c = 0; c < classes; c++) p[c] = (float)(exp((double)(z[c] - max)) / sum);
        }
    }
    rc = 0;
done:
    free(x);
    dd_workspace_free(ws);
    return rc;
}

int dd_explain_records_per_class(const dd_model *m, const dd_dataset *ds, int split, int per_class, uint64_t **records,
                                 size_t *n, dd_error *err) {
    int classes = m->spec->classes;
    uint32_t n_data = dd_dataset_class_count(ds);
    int *map = dd_malloc(n_data ? n_data : 1, sizeof *map, err);
    int *taken = dd_calloc((size_t)classes, sizeof *taken, err);
    uint64_t *out = dd_malloc((size_t)classes * (size_t)(per_class > 0 ? per_class : 0) + 1, sizeof *out, err);
    int rc = -1;
    *records = NULL;
    *n = 0;
    if (!map || !taken || !out || dd_eval_class_map(m, ds, map, err)) goto done;
    size_t k = 0;
    for (int c = 0; c < classes; c++)
        for (uint64_t i = 0; i < dd_dataset_count(ds) && taken[c] < per_class; i++) {
            dd_record_info info;
            if (dd_dataset_record_info(ds, i, &info) || info.label >= n_data) continue;
            if ((split >= 0 && (int)info.split != split) || map[info.label] != c) continue;
            out[k++] = i;
            taken[c]++;
        }
    *records = out;
    *n = k;
    out = NULL;
    rc = 0;
done:
    free(map);
    free(taken);
    free(out);
    return rc;
}
