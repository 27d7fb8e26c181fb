#define _POSIX_C_SOURCE 200809L /* open_memstream */
#include "serve/api_json.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "doodle/serve.h"
#include "serve/png_encode.h"

char *serve_json_finish(cJSON *o, bool ok, dd_error *err) {
    char *text = ok && o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    if (!text) dd_fail(err, DD_ERR_NOMEM, "out of memory building a JSON answer");
    return text;
}

int serve_json_add_png(cJSON *o, const char *key, const unsigned char *pixels, int height, int width, int channels,
                       dd_error *err) {
    unsigned char *png;
    size_t size;
    if (serve_png_encode(pixels, height, width, channels, &png, &size, err)) return -1;
    char *uri = serve_png_data_uri(png, size, err);
    free(png);
    if (!uri) return -1;
    int ok = cJSON_AddStringToObject(o, key, uri) != NULL;
    free(uri);
    return ok ? 0 : dd_fail(err, DD_ERR_NOMEM, "out of memory");
}

bool serve_json_add_top(cJSON *o, const dd_prediction *top, int n) {
    cJSON *arr = cJSON_AddArrayToObject(o, "top");
    bool ok = arr != NULL;
    for (int i = 0; ok && i < n; i++) {
        cJSON *g = cJSON_CreateObject();
        ok = g && cJSON_AddItemToArray(arr, g);
        if (!ok) {
            cJSON_Delete(g);
            break;
        }
        ok = cJSON_AddStringToObject(g, "class", top[i].name) && cJSON_AddNumberToObject(g, "index", top[i].index) &&
             cJSON_AddNumberToObject(g, "p", round((double)top[i].probability * 1e6) / 1e6);
    }
    return ok;
}

char *dd_prediction_json(const dd_prediction *top, int n, const dd_prediction_source *where, dd_error *err) {
    const dd_prediction_source none = {0}, *w = where ? where : &none;
    cJSON *o = cJSON_CreateObject();
    bool ok = o != NULL;
    if (ok && w->file) ok = cJSON_AddStringToObject(o, "file", w->file) != NULL;
    if (ok && w->place) ok = cJSON_AddNumberToObject(o, w->place, (double)w->number) != NULL;
    if (ok && w->word && w->word[0]) ok = cJSON_AddStringToObject(o, "word", w->word) != NULL;
    if (ok && w->key_id) {
        char key[24];
        snprintf(key, sizeof key, "%llu", (unsigned long long)w->key_id);
        ok = cJSON_AddStringToObject(o, "key_id", key) != NULL;
    }
    ok = ok && serve_json_add_top(o, top, n);
    if (ok && w->logits) {
        cJSON *l = cJSON_AddArrayToObject(o, "logits");
        ok = l != NULL;
        for (int i = 0; ok && i < w->classes; i++) ok = cJSON_AddItemToArray(l, cJSON_CreateNumber(w->logits[i]));
    }
    return serve_json_finish(o, ok, err);
}

char *serve_json_predict(const dd_model *m, const serve_ctx *c, const serve_guess *top, int n, dd_error *err) {
    dd_prediction named[SERVE_MAX_TOP];
    if (n > SERVE_MAX_TOP) n = SERVE_MAX_TOP;
    for (int i = 0; i < n; i++)
        named[i] =
            (dd_prediction){.index = top[i].index, .name = m->class_names[top[i].index], .probability = top[i].p};
    cJSON *o = cJSON_CreateObject(), *in = NULL;
    bool ok = o && serve_json_add_top(o, named, n);
    int h = (int)m->render.height, w = (int)m->render.width;
    if (ok && serve_json_add_png(o, "input_png", serve_ctx_image(c), h, w, 1, err)) {
        cJSON_Delete(o);
        return NULL;
    }
    uint32_t strokes, points;
    serve_ctx_counts(c, &strokes, &points);
    ok = ok && (in = cJSON_AddObjectToObject(o, "input")) && cJSON_AddNumberToObject(in, "height", h) &&
         cJSON_AddNumberToObject(in, "width", w) && cJSON_AddNumberToObject(o, "strokes", strokes) &&
         cJSON_AddNumberToObject(o, "points", points);
    return serve_json_finish(o, ok, err);
}

/* doodle summary's table as text; NULL when out of memory. */
static char *summary_text(const dd_model_spec *spec) {
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);
    if (!f) return NULL;
    dd_model_spec_summary(spec, f);
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

char *serve_json_model(const dd_model *m, bool has_report, bool has_mistakes, dd_error *err) {
    const dd_model_spec *s = m->spec;
    cJSON *o = cJSON_CreateObject(), *classes = NULL, *in = NULL, *render = NULL, *layers = NULL, *limits = NULL;
    bool ok = o && cJSON_AddStringToObject(o, "name", s->name) && (classes = cJSON_AddArrayToObject(o, "classes"));
    for (int i = 0; ok && i < s->classes; i++) {
        cJSON *name = cJSON_CreateString(m->class_names[i]);
        ok = name && cJSON_AddItemToArray(classes, name);
        if (!ok) cJSON_Delete(name);
    }
    ok = ok && (in = cJSON_AddObjectToObject(o, "input")) && cJSON_AddNumberToObject(in, "height", s->input.h) &&
         cJSON_AddNumberToObject(in, "width", s->input.w) && cJSON_AddNumberToObject(in, "channels", s->input.c) &&
         (render = cJSON_AddObjectToObject(o, "render")) &&
         cJSON_AddNumberToObject(render, "line_width", m->render.line_width) &&
         cJSON_AddNumberToObject(render, "padding", m->render.padding) &&
         cJSON_AddNumberToObject(o, "params", (double)(s->n_params + s->n_state)) &&
         (layers = cJSON_AddArrayToObject(o, "layers"));
    for (int i = 0; ok && i < s->n_layers; i++) {
        const dd_layer_spec *l = &s->layers[i];
        char shape[64];
        dd_shape_keras(l->out, shape, sizeof shape);
        cJSON *j = cJSON_CreateObject();
        ok = j && cJSON_AddItemToArray(layers, j);
        if (!ok) {
            cJSON_Delete(j);
            break;
        }
        ok = cJSON_AddStringToObject(j, "name", l->name) &&
             cJSON_AddStringToObject(j, "type", dd_layer_keras_class(l->kind)) &&
             cJSON_AddStringToObject(j, "shape", shape);
    }
    char *summary = ok ? summary_text(s) : NULL;
    ok = ok && summary && cJSON_AddStringToObject(o, "summary", summary) &&
         cJSON_AddBoolToObject(o, "report", has_report) && cJSON_AddBoolToObject(o, "mistakes", has_mistakes) &&
         (limits = cJSON_AddObjectToObject(o, "limits")) &&
         cJSON_AddNumberToObject(limits, "body_bytes", SERVE_MAX_BODY) &&
         cJSON_AddNumberToObject(limits, "strokes", SERVE_MAX_STROKES) &&
         cJSON_AddNumberToObject(limits, "points", SERVE_MAX_POINTS);
    free(summary);
    return serve_json_finish(o, ok, err);
}

char *serve_json_error(int status, const char *msg, dd_error *err) {
    cJSON *o = cJSON_CreateObject();
    bool ok = o && cJSON_AddStringToObject(o, "error", msg) && cJSON_AddNumberToObject(o, "status", status);
    return serve_json_finish(o, ok, err);
}
