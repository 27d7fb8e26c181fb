/* Saliency, occlusion, Grad-CAM and activations of one image (include/doodle/explain.h). The gradients come from
 * dd_model_backward_infer, so they are gradients of exactly the function dd_model_infer computes. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "doodle/explain.h"
#include "explain/explain_util.h"
#include "doodle/alloc.h"

#define OCCLUSION_BATCH 32

struct dd_explainer {
    const dd_model *m;
    dd_workspace *grad_ws; /* batch 1, with gradient buffers */
    dd_workspace *occ_ws;  /* batch OCCLUSION_BATCH, inference only */
    float *grad;           /* [largest of the input and every layer output] */
    float *dlogits;        /* [classes] */
    float *probs;          /* [classes] of the last image run */
    float *occluded;       /* [OCCLUSION_BATCH * input count] */
    float *cam;            /* [largest layer plane] Grad-CAM before upsampling */
};

static size_t input_count(const dd_model *m) { return dd_shape_count(m->spec->input); }

dd_explainer *dd_explainer_new(const dd_model *m, dd_error *err) {
    dd_explainer *e = dd_calloc(1, sizeof *e, err);
    if (!e) return NULL;
    e->m = m;
    const dd_model_spec *s = m->spec;
    size_t largest = input_count(m), plane = 1;
    for (int i = 0; i < s->n_layers; i++) {
        size_t c = dd_shape_count(s->layers[i].out);
        if (c > largest) largest = c;
        size_t p = (size_t)s->layers[i].out.h * (size_t)s->layers[i].out.w;
        if (p > plane) plane = p;
    }
    if (!(e->grad_ws = dd_workspace_new(m, 1, true, err)) ||
        !(e->occ_ws = dd_workspace_new(m, OCCLUSION_BATCH, false, err)) ||
        !(e->grad = dd_malloc(largest, sizeof *e->grad, err)) ||
        !(e->dlogits = dd_calloc((size_t)s->classes, sizeof *e->dlogits, err)) ||
        !(e->probs = dd_calloc((size_t)s->classes, sizeof *e->probs, err)) ||
        !(e->occluded = dd_malloc((size_t)OCCLUSION_BATCH * input_count(m), sizeof *e->occluded, err)) ||
        !(e->cam = dd_malloc(plane, sizeof *e->cam, err))) {
        dd_explainer_free(e);
        return NULL;
    }
    return e;
}

void dd_explainer_free(dd_explainer *e) {
    if (!e) return;
    dd_workspace_free(e->grad_ws);
    dd_workspace_free(e->occ_ws);
    free(e->grad);
    free(e->dlogits);
    free(e->probs);
    free(e->occluded);
    free(e->cam);
    free(e);
}

const float *dd_explainer_probs(const dd_explainer *e) { return e->probs; }

static void softmax(const float *z, int n, float *p) {
    float max = z[0];
    for (int c = 1; c < n; c++)
        if (z[c] > max) max = z[c];
    double sum = 0;
    for (int c = 0; c < n; c++) sum += exp((double)(z[c] - max));
    for (int c = 0; c < n; c++) p[c] = (float)(exp((double)(z[c] - max)) / sum);
}

/* Scales map [n] so that its maximum is 1 (an all-zero map stays zero). */
static void normalise(float *map, size_t n) {
    float max = 0;
    for (size_t i = 0; i < n; i++)
        if (map[i] > max) max = map[i];
    if (max > 0)
        for (size_t i = 0; i < n; i++) map[i] /= max;
}

/* Forward pass of one image on the gradient workspace; fills e->probs. */
static int run(dd_explainer *e, const float *x, dd_error *err) {
    const float *logits = dd_model_infer(e->m, e->grad_ws, x, 1);
    if (!logits) return dd_fail(err, DD_ERR_USAGE, "inference failed");
    softmax(logits, e->m->spec->classes, e->probs);
    return 0;
}

static int check_class(const dd_explainer *e, int cls, dd_error *err) {
    int n = e->m->spec->classes;
    if (cls < 0 || cls >= n) return dd_fail(err, DD_ERR_USAGE, "class %d is out of range (the model has %d)", cls, n);
    return 0;
}

/* Gradient of class cls's logit with respect to the output of layer stop_after (-1: the input) into e->grad. */
static int class_gradient(dd_explainer *e, const float *x, int cls, int stop_after, dd_error *err) {
    if (check_class(e, cls, err) || run(e, x, err)) return -1;
    memset(e->dlogits, 0, (size_t)e->m->spec->classes * sizeof *e->dlogits);
    e->dlogits[cls] = 1.0f;
    if (dd_model_backward_infer(e->m, e->grad_ws, e->dlogits, 1, stop_after, e->grad))
        return dd_fail(err, DD_ERR_USAGE, "the gradient to layer %d cannot be taken", stop_after);
    return 0;
}

int dd_explain_saliency(dd_explainer *e, const float *x, int cls, float *map, dd_error *err) {
    if (class_gradient(e, x, cls, -1, err)) return -1;
    const dd_shape in = e->m->spec->input;
    size_t plane = (size_t)in.h * (size_t)in.w;
    for (size_t p = 0; p < plane; p++) map[p] = 0;
    for (int c = 0; c < in.c; c++) /* the largest |gradient| over channels */
        for (size_t p = 0; p < plane; p++) {
            float g = fabsf(e->grad[(size_t)c * plane + p]);
            if (g > map[p]) map[p] = g;
        }
    normalise(map, plane);
    return 0;
}

int dd_explain_gradcam(dd_explainer *e, const float *x, int cls, int layer, float *map, dd_error *err) {
    const dd_model_spec *s = e->m->spec;
    if (layer < 0) layer = dd_explain_gradcam_layer(e->m);
    if (layer < 0) return dd_fail(err, DD_ERR_USAGE, "the model has no conv layer for Grad-CAM");
    if (layer >= s->n_layers - 1)
        return dd_fail(err, DD_ERR_USAGE, "Grad-CAM wants a layer from 0 to %d, not %d", s->n_layers - 2, layer);
    const dd_shape o = s->layers[layer].out;
    if (o.rank != 3)
        return dd_fail(err, DD_ERR_USAGE, "Grad-CAM wants a layer with feature maps; layer %d (%s) is flat", layer,
                       s->layers[layer].name);
    if (class_gradient(e, x, cls, layer, err)) return -1;
    const float *act = dd_workspace_layer_output(e->grad_ws, layer);
    if (!act) return dd_fail(err, DD_ERR_USAGE, "layer %d keeps no output", layer);
    size_t plane = (size_t)o.h * (size_t)o.w;
    for (size_t p = 0; p < plane; p++) e->cam[p] = 0;
    for (int c = 0; c < o.c; c++) {
        const float *g = e->grad + (size_t)c * plane, *a = act + (size_t)c * plane;
        double weight = 0;
        for (size_t p = 0; p < plane; p++) weight += g[p];
        weight /= (double)plane;
        for (size_t p = 0; p < plane; p++) e->cam[p] += (float)(weight * a[p]);
    }
    for (size_t p = 0; p < plane; p++)
        if (e->cam[p] < 0) e->cam[p] = 0;
    explain_upsample(e->cam, o.h, o.w, map, s->input.h, s->input.w);
    normalise(map, (size_t)s->input.h * (size_t)s->input.w);
    return 0;
}

int dd_explain_occlusion(dd_explainer *e, const float *x, int cls, int patch, int stride, float *map, dd_error *err) {
    const dd_shape in = e->m->spec->input;
    int side = in.h < in.w ? in.h : in.w;
    if (patch <= 0) patch = side / 4 > 1 ? side / 4 : 1;
    if (stride <= 0) stride = patch / 2 > 1 ? patch / 2 : 1;
    if (patch > side)
        return dd_fail(err, DD_ERR_USAGE, "occlusion patch %d is larger than the input (%dx%d)", patch, in.h, in.w);
    if (check_class(e, cls, err) || run(e, x, err)) return -1;
    float base = e->probs[cls];
    size_t plane = (size_t)in.h * (size_t)in.w, count = input_count(e->m);
    /* patch corners: every stride, plus the last position so the bottom and right edges are covered */
    int ny = (in.h - patch) / stride + 1 + ((in.h - patch) % stride != 0);
    int nx = (in.w - patch) / stride + 1 + ((in.w - patch) % stride != 0);
    float *hits = dd_calloc(plane, sizeof *hits, err);
    float *probs = dd_malloc((size_t)e->m->spec->classes, sizeof *probs, err);
    if (!hits || !probs) {
        free(hits);
        free(probs);
        return -1;
    }
    for (size_t p = 0; p < plane; p++) map[p] = 0;
    int total = ny * nx, rc = -1;
    for (int first = 0; first < total; first += OCCLUSION_BATCH) {
        int b = total - first < OCCLUSION_BATCH ? total - first : OCCLUSION_BATCH;
        for (int k = 0; k < b; k++) {
            int iy = (first + k) / nx, ix = (first + k) % nx;
            int y0 = iy * stride < in.h - patch ? iy * stride : in.h - patch;
            int x0 = ix * stride < in.w - patch ? ix * stride : in.w - patch;
            float *dst = e->occluded + (size_t)k * count;
            memcpy(dst, x, count * sizeof *dst);
            for (int c = 0; c < in.c; c++)
                for (int y = y0; y < y0 + patch; y++)
                    memset(dst + (size_t)c * plane + (size_t)y * in.w + x0, 0, (size_t)patch * sizeof *dst);
        }
        const float *logits = dd_model_infer(e->m, e->occ_ws, e->occluded, b);
        if (!logits) {
            dd_fail(err, DD_ERR_USAGE, "inference failed (batch %d)", b);
            goto done;
        }
        for (int k = 0; k < b; k++) {
            int iy = (first + k) / nx, ix = (first + k) % nx;
            int y0 = iy * stride < in.h - patch ? iy * stride : in.h - patch;
            int x0 = ix * stride < in.w - patch ? ix * stride : in.w - patch;
            softmax(logits + (size_t)k * e->m->spec->classes, e->m->spec->classes, probs);
            float drop = base - probs[cls];
            if (drop < 0) drop = 0;
            for (int y = y0; y < y0 + patch; y++)
                for (int xx = x0; xx < x0 + patch; xx++) {
                    map[(size_t)y * in.w + xx] += drop;
                    hits[(size_t)y * in.w + xx] += 1;
                }
        }
    }
    for (size_t p = 0; p < plane; p++)
        if (hits[p] > 0) map[p] /= hits[p];
    normalise(map, plane);
    rc = 0;
done:
    free(hits);
    free(probs);
    return rc;
}

const float *dd_explain_activations(dd_explainer *e, const float *x, int layer, dd_shape *shape, dd_error *err) {
    const dd_model_spec *s = e->m->spec;
    if (layer < 0 || layer >= s->n_layers) {
        dd_fail(err, DD_ERR_USAGE, "layer %d is out of range (0 to %d)", layer, s->n_layers - 1);
        return NULL;
    }
    if (run(e, x, err)) return NULL;
    *shape = s->layers[layer].out;
    const float *out = dd_workspace_layer_output(e->grad_ws, layer);
    if (!out) dd_fail(err, DD_ERR_USAGE, "layer %d keeps no output", layer);
    return out;
}
