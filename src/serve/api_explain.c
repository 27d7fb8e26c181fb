#include "serve/api_explain.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "doodle/explain.h"
#include "serve/api_json.h"
#include "doodle/alloc.h"

/* The layers worth showing: spatial outputs after a rectifier (an activation layer, or a conv with its own ReLU);
 * without any, every conv layer. Returns how many were written to layers. */
static int shown_layers(const dd_model_spec *s, int *layers) {
    int n = 0;
    for (int i = 0; i < s->n_layers && n < SERVE_EXPLAIN_MAX_LAYERS; i++) {
        const dd_layer_spec *l = &s->layers[i];
        if (l->out.rank == 3 &&
            (l->kind == DD_LAYER_ACTIVATION || (l->kind == DD_LAYER_CONV2D && l->u.conv.activation == DD_ACT_RELU)))
            layers[n++] = i;
    }
    for (int i = 0; n == 0 && i < s->n_layers; i++)
        if (s->layers[i].kind == DD_LAYER_CONV2D && s->layers[i].out.rank == 3) layers[n++] = i;
    return n;
}

/* One layer's feature maps as a grid of tiles, 1-pixel dark gaps, into o. */
static int add_activations(cJSON *arr, dd_explainer *x, const dd_model_spec *s, int layer, const float *input,
                           dd_error *err) {
    dd_shape sh;
    const float *v = dd_explain_activations(x, input, layer, &sh, err);
    if (!v) return -1;
    int cols = 1;
    while (cols * cols < sh.c) cols++;
    int rows = (sh.c + cols - 1) / cols;
    int gh = rows * (sh.h + 1) - 1, gw = cols * (sh.w + 1) - 1;
    size_t plane = (size_t)sh.h * sh.w;
    float max = 0;
    for (size_t i = 0; i < (size_t)sh.c * plane; i++)
        if (v[i] > max) max = v[i];
    uint8_t *grid = dd_calloc((size_t)gh * gw * 3, 1, err), *tile = dd_malloc(plane * 3, 1, err);
    if (!grid || !tile) {
        free(grid);
        free(tile);
        return -1;
    }
    for (int ch = 0; ch < sh.c; ch++) {
        dd_tile_values(v + ch * plane, sh.h, sh.w, 0.0f, max, tile);
        int top = ch / cols * (sh.h + 1), left = ch % cols * (sh.w + 1);
        for (int y = 0; y < sh.h; y++)
            memcpy(grid + ((size_t)(top + y) * gw + left) * 3, tile + (size_t)y * sh.w * 3, (size_t)sh.w * 3);
    }
    free(tile);
    cJSON *o = cJSON_CreateObject();
    bool ok = o && cJSON_AddItemToArray(arr, o);
    if (!ok) cJSON_Delete(o);
    const dd_layer_spec *l = &s->layers[layer];
    ok = ok && cJSON_AddStringToObject(o, "layer", l->name) &&
         cJSON_AddStringToObject(o, "type", dd_layer_keras_class(l->kind)) &&
         cJSON_AddNumberToObject(o, "channels", sh.c) && cJSON_AddNumberToObject(o, "height", sh.h) &&
         cJSON_AddNumberToObject(o, "width", sh.w) && cJSON_AddNumberToObject(o, "max", max);
    int rc = ok ? serve_json_add_png(o, "png", grid, gh, gw, 3, err) : dd_fail(err, DD_ERR_NOMEM, "out of memory");
    free(grid);
    return rc;
}

/* A heat map laid over the drawing, as a PNG under key. */
static int add_heat(cJSON *o, const char *key, const uint8_t *image, const float *heat, int h, int w, dd_error *err) {
    uint8_t *rgb = dd_malloc((size_t)h * w * 3, 1, err);
    if (!rgb) return -1;
    dd_tile_heat(image, h, w, heat, rgb);
    int rc = serve_json_add_png(o, key, rgb, h, w, 3, err);
    free(rgb);
    return rc;
}

char *serve_explain_json(serve_engine *e, serve_ctx *c, const char *body, size_t len, int *status, dd_error *err) {
    const dd_model *m = serve_engine_model(e);
    serve_guess top[5];
    int n;
    if ((*status = serve_predict(e, c, body, len, 5, top, &n, err)) != 200) return NULL;
    *status = 500;
    dd_explainer *x = serve_ctx_explainer(e, c, err);
    char *text = x ? serve_json_predict(m, c, top, n, err) : NULL;
    cJSON *o = text ? cJSON_Parse(text) : NULL;
    free(text);
    if (!o) {
        if (x) dd_fail(err, DD_ERR_NOMEM, "out of memory");
        return NULL;
    }
    int h = (int)m->render.height, w = (int)m->render.width;
    const float *input = serve_ctx_input(c);
    const uint8_t *image = serve_ctx_image(c);
    float *heat = dd_malloc((size_t)h * w, sizeof *heat, err);
    int layers[SERVE_EXPLAIN_MAX_LAYERS], n_layers = shown_layers(m->spec, layers);
    cJSON *arr = NULL;
    bool ok = heat && cJSON_AddStringToObject(o, "class", m->class_names[top[0].index]) &&
              dd_explain_saliency(x, input, top[0].index, heat, err) == 0 &&
              add_heat(o, "saliency_png", image, heat, h, w, err) == 0;
    if (ok && dd_explain_gradcam_layer(m) >= 0)
        ok = dd_explain_gradcam(x, input, top[0].index, -1, heat, err) == 0 &&
             add_heat(o, "gradcam_png", image, heat, h, w, err) == 0;
    ok = ok && (arr = cJSON_AddArrayToObject(o, "activations"));
    for (int i = 0; ok && i < n_layers; i++) ok = add_activations(arr, x, m->spec, layers[i], input, err) == 0;
    free(heat);
    if (!ok) {
        cJSON_Delete(o);
        if (!err->msg[0]) dd_fail(err, DD_ERR_NOMEM, "out of memory");
        return NULL;
    }
    text = serve_json_finish(o, true, err);
    if (text) *status = 200;
    return text;
}
