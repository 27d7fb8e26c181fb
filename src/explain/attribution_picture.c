/* The picture of node contributions (include/doodle/explain.h): per drawing, saliency, occlusion and Grad-CAM side
 * by side, each laid over the drawing on the same 0..1 heat scale. */
#include <stdio.h>
#include <stdlib.h>

#include "doodle/explain.h"
#include "explain/explain_util.h"
#include "doodle/alloc.h"

dd_picture *dd_explain_attribution_picture(dd_explainer *e, const dd_model *m, const dd_image_set *s,
                                           const size_t *which, size_t n, int cls, int gradcam_layer, dd_error *err) {
    const dd_model_spec *spec = m->spec;
    if (n == 0) {
        dd_fail(err, DD_ERR_EMPTY, "no drawings to explain");
        return NULL;
    }
    if (cls >= spec->classes) {
        dd_fail(err, DD_ERR_USAGE, "class %d is out of range (the model has %d)", cls, spec->classes);
        return NULL;
    }
    if (gradcam_layer < 0) gradcam_layer = dd_explain_gradcam_layer(m);
    int H = s->height, W = s->width;
    size_t pixels = (size_t)H * W;
    float *x = dd_malloc(pixels, sizeof *x, err), *heat = dd_malloc(pixels, sizeof *heat, err);
    uint8_t *rgb = dd_malloc(pixels, 3, err);
    dd_picture *p = NULL;
    int ok = 0;
    if (!x || !heat || !rgb) goto done;
    char title[256];
    if (gradcam_layer >= 0)
        snprintf(title, sizeof title,
                 "Which pixels the decision rests on (%s): saliency, occlusion, Grad-CAM at layer %d %s",
                 cls >= 0 ? m->class_names[cls] : "predicted class", gradcam_layer, spec->layers[gradcam_layer].name);
    else
        snprintf(title, sizeof title, "Which pixels the decision rests on (%s): saliency, occlusion",
                 cls >= 0 ? m->class_names[cls] : "predicted class");
    int cols = gradcam_layer >= 0 ? 4 : 3;
    dd_picture_opts o = {.rows = (int)n,
                         .cols = cols,
                         .tile_height = H,
                         .tile_width = W,
                         .scale = 2 * explain_tile_scale(H, W) > 64 ? 64 : 2 * explain_tile_scale(H, W),
                         .label_height = 14,
                         .header_width = 200,
                         .title = title};
    if (!(p = dd_picture_new(&o, err))) goto done;
    for (size_t r = 0; r < n; r++) {
        size_t i = which[r];
        if (i >= s->n) {
            dd_fail(err, DD_ERR_USAGE, "drawing %zu of %zu", i, s->n);
            goto done;
        }
        const uint8_t *ink = s->pixels + i * pixels;
        dd_image_set_input(s, i, x);
        if (dd_explain_saliency(e, x, cls >= 0 ? cls : 0, heat, err)) goto done;
        const float *probs = dd_explainer_probs(e);
        int pred = 0;
        for (int c = 1; c < spec->classes; c++)
            if (probs[c] > probs[pred]) pred = c;
        int target = cls >= 0 ? cls : pred;
        char header[200], label[64];
        snprintf(header, sizeof header, "#%llu %s -> %s %.2f", (unsigned long long)s->record[i],
                 m->class_names[s->label[i]], m->class_names[pred], probs[pred]);
        if (dd_picture_row_header(p, (int)r, header, err)) goto done;
        dd_tile_ink(ink, H, W, rgb);
        if (dd_picture_put(p, (int)r, 0, rgb, "drawing", err)) goto done;
        if (target != 0 && dd_explain_saliency(e, x, target, heat, err)) goto done;
        dd_tile_heat(ink, H, W, heat, rgb);
        snprintf(label, sizeof label, "saliency: %s", m->class_names[target]);
        if (dd_picture_put(p, (int)r, 1, rgb, label, err)) goto done;
        if (dd_explain_occlusion(e, x, target, 0, 0, heat, err)) goto done;
        dd_tile_heat(ink, H, W, heat, rgb);
        if (dd_picture_put(p, (int)r, 2, rgb, "occlusion", err)) goto done;
        if (gradcam_layer >= 0) {
            if (dd_explain_gradcam(e, x, target, gradcam_layer, heat, err)) goto done;
            dd_tile_heat(ink, H, W, heat, rgb);
            if (dd_picture_put(p, (int)r, 3, rgb, "Grad-CAM", err)) goto done;
        }
    }
    ok = 1;
done:
    if (!ok) {
        dd_picture_free(p);
        p = NULL;
    }
    free(x);
    free(heat);
    free(rgb);
    return p;
}
