/* Model files: one .safetensors holds the weights (named after the layers), the BatchNorm running statistics
 * and, in __metadata__, the cfg text, class names, input size and rendering settings (include/doodle/model.h). */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doodle/model.h"
#include "util/alloc.h"

#define MAX_TENSOR_NAME (DD_SPEC_NAME_MAX + 16)

/* One tensor of a layer: its name suffix, block, slot and shape. */
typedef struct tensor_ref {
    const char *suffix;
    int in_state; /* 0: parameter block, 1: state block */
    dd_slot slot;
    int ndim;
    int64_t shape[4];
} tensor_ref;

/* The tensors of layer l (at most 4), in file order. */
static int layer_tensors(const dd_layer_spec *l, tensor_ref *t) {
    int n = 0;
    switch (l->kind) {
    case DD_LAYER_CONV2D:
        t[n++] = (tensor_ref){"weight", 0, l->weight, 4,
                              {l->u.conv.filters, l->in.c, l->u.conv.kernel_h, l->u.conv.kernel_w}};
        if (l->bias.count) t[n++] = (tensor_ref){"bias", 0, l->bias, 1, {l->u.conv.filters}};
        break;
    case DD_LAYER_DENSE:
        t[n++] = (tensor_ref){"weight", 0, l->weight, 2, {l->u.dense.units, (int64_t)dd_shape_count(l->in)}};
        if (l->bias.count) t[n++] = (tensor_ref){"bias", 0, l->bias, 1, {l->u.dense.units}};
        break;
    case DD_LAYER_BATCHNORM:
        t[n++] = (tensor_ref){"weight", 0, l->weight, 1, {l->in.c}};
        t[n++] = (tensor_ref){"bias", 0, l->bias, 1, {l->in.c}};
        t[n++] = (tensor_ref){"running_mean", 1, l->running_mean, 1, {l->in.c}};
        t[n++] = (tensor_ref){"running_var", 1, l->running_var, 1, {l->in.c}};
        break;
    default: break;
    }
    return n;
}

/* The metadata strings that are JSON: class names and rendering settings. */
static char *classes_json(const dd_model *m) {
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; a && i < m->spec->classes; i++)
        if (!cJSON_AddItemToArray(a, cJSON_CreateString(m->class_names[i]))) {
            cJSON_Delete(a);
            return NULL;
        }
    char *s = a ? cJSON_PrintUnformatted(a) : NULL;
    cJSON_Delete(a);
    return s;
}

static char *render_json(const dd_model *m) {
    cJSON *o = cJSON_CreateObject();
    char *s = NULL;
    if (o && cJSON_AddNumberToObject(o, "line_width", m->render.line_width) &&
        cJSON_AddNumberToObject(o, "padding", m->render.padding))
        s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

int dd_model_add_to(const dd_model *m, dd_st_writer *w, dd_error *err) {
    const dd_model_spec *s = m->spec;
    for (int i = 0; i < s->n_layers; i++) {
        tensor_ref t[4];
        int n = layer_tensors(&s->layers[i], t);
        for (int k = 0; k < n; k++) {
            char name[MAX_TENSOR_NAME];
            snprintf(name, sizeof name, "%s.%s", s->layers[i].name, t[k].suffix);
            const float *block = t[k].in_state ? m->state : m->params;
            if (dd_st_writer_add(w, name, DD_ST_F32, t[k].ndim, t[k].shape, block + t[k].slot.offset, err)) return -1;
        }
    }
    char input[64], version[16];
    snprintf(input, sizeof input, "%dx%dx%d", s->input.h, s->input.w, s->input.c);
    snprintf(version, sizeof version, "%d", DD_MODEL_FORMAT_VERSION);
    char *classes = classes_json(m), *render = render_json(m);
    int rc = -1;
    if (!classes || !render) dd_fail(err, DD_ERR_NOMEM, "out of memory");
    else if (!dd_st_writer_metadata(w, "format", "doodle-model", err) &&
             !dd_st_writer_metadata(w, "format_version", version, err) &&
             !dd_st_writer_metadata(w, "cfg", s->cfg_text, err) && !dd_st_writer_metadata(w, "classes", classes, err) &&
             !dd_st_writer_metadata(w, "input", input, err) && !dd_st_writer_metadata(w, "render", render, err))
        rc = 0;
    free(classes);
    free(render);
    return rc;
}

int dd_model_save(const dd_model *m, const char *path, dd_error *err) {
    dd_st_writer *w = dd_st_writer_new(err);
    if (!w) return -1;
    int rc = dd_model_add_to(m, w, err) ? -1 : dd_st_write(w, path, err);
    dd_st_writer_free(w);
    return rc;
}

static int bad_model(dd_error *err, const char *path, const char *what, const char *detail) {
    return dd_fail(err, DD_ERR_MALFORMED, "%s: not a doodle model: %s%s", path, what, detail ? detail : "");
}

static int read_classes(dd_model *m, const char *text, const char *path, dd_error *err) {
    cJSON *a = text ? cJSON_Parse(text) : NULL;
    int rc = 0;
    if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) != m->spec->classes) {
        rc = bad_model(err, path, "the class names do not match the cfg's class count", NULL);
    } else {
        int i = 0;
        const cJSON *v;
        cJSON_ArrayForEach(v, a) {
            if (!cJSON_IsString(v) || dd_model_set_class_name(m, i++, v->valuestring, err)) {
                rc = bad_model(err, path, "a class name is not a short string", NULL);
                break;
            }
        }
    }
    cJSON_Delete(a);
    return rc;
}

static void read_render(dd_model *m, const char *text) {
    cJSON *o = text ? cJSON_Parse(text) : NULL;
    const cJSON *lw = cJSON_GetObjectItemCaseSensitive(o, "line_width"), *pad = cJSON_GetObjectItemCaseSensitive(o, "padding");
    if (cJSON_IsNumber(lw) && lw->valuedouble > 0 && lw->valuedouble <= 1024) m->render.line_width = lw->valuedouble;
    if (cJSON_IsNumber(pad) && pad->valuedouble >= 0 && pad->valuedouble <= 4096) m->render.padding = pad->valuedouble;
    cJSON_Delete(o);
}

dd_model *dd_model_from(const dd_st_file *f, const char *path, dd_error *err) {
    const char *format = dd_st_metadata(f, "format"), *version = dd_st_metadata(f, "format_version");
    const char *cfg = dd_st_metadata(f, "cfg");
    if (!format || strcmp(format, "doodle-model") || !cfg) {
        bad_model(err, path, "no doodle metadata (format, cfg)", NULL);
        return NULL;
    }
    if (!version || atoi(version) != DD_MODEL_FORMAT_VERSION) {
        dd_fail(err, DD_ERR_UNSUPPORTED, "%s: model format version %s is not supported (this doodle reads %d)", path,
                version ? version : "(none)", DD_MODEL_FORMAT_VERSION);
        return NULL;
    }
    /* the cfg as written, with the class count and input size the model was built with */
    dd_spec_overrides ov = {0};
    cJSON *classes = cJSON_Parse(dd_st_metadata(f, "classes") ? dd_st_metadata(f, "classes") : "");
    ov.classes = cJSON_IsArray(classes) ? cJSON_GetArraySize(classes) : 0;
    cJSON_Delete(classes);
    const char *input = dd_st_metadata(f, "input");
    int c;
    if (!input || sscanf(input, "%dx%dx%d", &ov.input_h, &ov.input_w, &c) != 3) {
        bad_model(err, path, "no input size (HxWxC) in the metadata", NULL);
        return NULL;
    }
    char source[600];
    snprintf(source, sizeof source, "%s (cfg)", path);
    dd_model_spec *spec = dd_model_spec_parse(cfg, strlen(cfg), source, NULL, &ov, err);
    if (!spec) return NULL;
    dd_model *m = dd_model_new(spec, 0, err);
    if (!m) return NULL;
    for (int i = 0; i < spec->n_layers; i++) {
        tensor_ref t[4];
        int n = layer_tensors(&spec->layers[i], t);
        for (int k = 0; k < n; k++) {
            char name[MAX_TENSOR_NAME];
            snprintf(name, sizeof name, "%s.%s", spec->layers[i].name, t[k].suffix);
            const dd_st_tensor *st = dd_st_find(f, name);
            int same = st && st->dtype == DD_ST_F32 && st->ndim == t[k].ndim;
            for (int d = 0; same && d < t[k].ndim; d++) same = st->shape[d] == t[k].shape[d];
            if (!same) {
                bad_model(err, path, st ? "wrong dtype or shape for tensor " : "missing tensor ", name);
                dd_model_free(m);
                return NULL;
            }
            float *block = t[k].in_state ? m->state : m->params;
            memcpy(block + t[k].slot.offset, st->data, st->nbytes); /* the mapping need not be aligned */
        }
    }
    if (read_classes(m, dd_st_metadata(f, "classes"), path, err)) {
        dd_model_free(m);
        return NULL;
    }
    read_render(m, dd_st_metadata(f, "render"));
    return m;
}

dd_model *dd_model_load(const char *path, dd_error *err) {
    dd_st_file *f = dd_st_open(path, err);
    if (!f) return NULL;
    dd_model *m = dd_model_from(f, path, err);
    dd_st_close(f);
    return m;
}
