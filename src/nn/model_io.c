/* Model files: one .safetensors holds the weights (named after the layers), the BatchNorm running statistics
 * and, in __metadata__, the cfg text, class names, input size, rendering settings and BatchNorm settings
 * (include/doodle/model.h). */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doodle/model.h"
#include "nn/op.h"
#include "doodle/alloc.h"

#define MAX_TENSOR_NAME (DD_SPEC_NAME_MAX + 16)

/* The tensors of layer l (at most 4), in file order. */
static int layer_tensors(const dd_layer_spec *l, nn_tensor *t) {
    const nn_op_kind *op = nn_op_of(l->kind);
    return op->tensors ? op->tensors(l, t) : 0;
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

/* The BatchNorm layers' epsilon and momentum (Keras' convention), {"layer name": {"epsilon", "momentum"}}, so that
 * other tools (scripts/to_torch.py) need not know the cfg's defaults; NULL (and no error) when there are none. */
static char *batchnorm_json(const dd_model *m, int *failed) {
    cJSON *o = cJSON_CreateObject();
    int any = 0, ok = o != NULL;
    for (int i = 0; ok && i < m->spec->n_layers; i++) {
        const dd_layer_spec *l = &m->spec->layers[i];
        if (l->kind != DD_LAYER_BATCHNORM) continue;
        cJSON *bn = cJSON_AddObjectToObject(o, l->name);
        ok = bn && cJSON_AddNumberToObject(bn, "epsilon", l->u.bn.epsilon) &&
             cJSON_AddNumberToObject(bn, "momentum", l->u.bn.momentum);
        any = 1;
    }
    char *s = ok && any ? cJSON_PrintUnformatted(o) : NULL;
    *failed = !ok || (any && !s);
    cJSON_Delete(o);
    return s;
}

int dd_model_add_to(const dd_model *m, dd_st_writer *w, dd_error *err) {
    const dd_model_spec *s = m->spec;
    for (int i = 0; i < s->n_layers; i++) {
        nn_tensor t[4];
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
    int bn_failed = 0;
    char *classes = classes_json(m), *render = render_json(m), *batchnorm = batchnorm_json(m, &bn_failed);
    int rc = -1;
    if (!classes || !render || bn_failed)
        dd_fail(err, DD_ERR_NOMEM, "out of memory");
    else if (!dd_st_writer_metadata(w, "format", "doodle-model", err) &&
             !dd_st_writer_metadata(w, "format_version", version, err) &&
             !dd_st_writer_metadata(w, "cfg", s->cfg_text, err) && !dd_st_writer_metadata(w, "classes", classes, err) &&
             !dd_st_writer_metadata(w, "input", input, err) && !dd_st_writer_metadata(w, "render", render, err) &&
             !dd_st_writer_metadata(w, "name", s->name, err) &&
             (!batchnorm || !dd_st_writer_metadata(w, "batchnorm", batchnorm, err)))
        rc = 0;
    free(classes);
    free(render);
    free(batchnorm);
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

/* A whole number written as digits only (no sign, spaces or trailer), at most max; -1 otherwise. */
static long strict_number(const char *s, long max) {
    long v = 0;
    if (!s || !*s) return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9') return -1;
        v = v * 10 + (*s - '0');
        if (v > max) return -1;
    }
    return v;
}

static int check_version(const char *version, const char *path, dd_error *err) {
    long v = strict_number(version, 1000000);
    if (v < 0) return bad_model(err, path, "format_version is not a whole number: ", version ? version : "(none)");
    if (v != DD_MODEL_FORMAT_VERSION)
        return dd_fail(err, DD_ERR_UNSUPPORTED, "%s: model format version %ld is not supported (this doodle reads %d)",
                       path, v, DD_MODEL_FORMAT_VERSION);
    return 0;
}

/* "HxWxC": three numbers of digits only, joined by single x's; drawings are grey, so C must be 1. */
static int read_input(const char *input, const char *path, dd_spec_overrides *ov, dd_error *err) {
    if (!input) return bad_model(err, path, "no input size (HxWxC) in the metadata", NULL);
    long dims[3];
    const char *p = input;
    int n = 0;
    while (n < 3) {
        char digits[16];
        size_t len = strcspn(p, "x");
        if (len == 0 || len >= sizeof digits) break;
        memcpy(digits, p, len);
        digits[len] = '\0';
        if ((dims[n] = strict_number(digits, DD_SPEC_INT_MAX)) < 1) break;
        n++;
        p += len;
        if (n < 3) {
            if (*p != 'x') break;
            p++;
        }
    }
    if (n != 3 || *p) return bad_model(err, path, "the metadata's input is not HxWxC: ", input);
    if (dims[2] != 1)
        return dd_fail(err, DD_ERR_UNSUPPORTED,
                       "%s: the metadata's input = %s has %ld channels; doodle models take 1 (grey drawings)", path,
                       input, dims[2]);
    ov->input_h = (int)dims[0];
    ov->input_w = (int)dims[1];
    return 0;
}

static int by_name(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

/* The class names: a JSON array of as many distinct strings of 1..DD_SPEC_NAME_MAX - 1 bytes as the cfg has
 * classes. Sorted copies find a duplicate in n log n (a file may hold many classes). */
static int check_classes(const cJSON *a, int classes, const char *path, dd_error *err) {
    if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) != classes)
        return bad_model(err, path, "the class names do not match the cfg's class count", NULL);
    const char **names = dd_malloc((size_t)classes, sizeof *names, err);
    if (!names) return -1;
    int n = 0, rc = 0;
    const cJSON *v;
    cJSON_ArrayForEach(v, a) {
        if (!cJSON_IsString(v) || !v->valuestring[0] || strlen(v->valuestring) >= DD_SPEC_NAME_MAX) {
            rc = bad_model(err, path, "a class name is not a short string", NULL);
            break;
        }
        names[n++] = v->valuestring;
    }
    if (!rc) qsort(names, (size_t)n, sizeof *names, by_name);
    for (int i = 1; !rc && i < n; i++)
        if (!strcmp(names[i - 1], names[i]))
            rc = dd_fail(err, DD_ERR_MALFORMED, "%s: not a doodle model: class name '%.*s' appears twice", path,
                         DD_SPEC_NAME_MAX, names[i]);
    free(names);
    return rc;
}

/* The rendering settings: absent (files made by other tools) = Google's; present, a JSON object whose keys, when
 * there, are numbers in range. A value out of range is refused rather than replaced: the model would otherwise see
 * drawings rendered unlike its training. */
static int read_render(dd_model *m, const char *text, const char *path, dd_error *err) {
    if (!text) return 0;
    cJSON *o = cJSON_Parse(text);
    const cJSON *lw = cJSON_GetObjectItemCaseSensitive(o, "line_width"),
                *pad = cJSON_GetObjectItemCaseSensitive(o, "padding");
    int ok = cJSON_IsObject(o) && (!lw || (cJSON_IsNumber(lw) && lw->valuedouble > 0 && lw->valuedouble <= 1024)) &&
             (!pad || (cJSON_IsNumber(pad) && pad->valuedouble >= 0 && pad->valuedouble <= 4096));
    if (ok && lw) m->render.line_width = lw->valuedouble;
    if (ok && pad) m->render.padding = pad->valuedouble;
    cJSON_Delete(o);
    if (!ok)
        return dd_fail(err, DD_ERR_MALFORMED,
                       "%s: not a doodle model: the metadata's render is not {\"line_width\": (0, 1024], \"padding\": "
                       "[0, 4096]}: %.80s",
                       path, text);
    return 0;
}

/* The BatchNorm settings: absent (files written before they were stored, or by other tools) = the cfg's, which
 * is what those files always used; present, an object naming batchnorm layers, each with epsilon in (0, 1] and
 * momentum in [0, 1] (the cfg's ranges), which then replace the cfg's. */
static int read_batchnorm(dd_model *m, const char *text, const char *path, dd_error *err) {
    if (!text) return 0;
    cJSON *o = cJSON_Parse(text);
    int ok = cJSON_IsObject(o);
    const cJSON *bn, *entries = ok ? o : NULL;
    const char *bad = NULL;
    cJSON_ArrayForEach(bn, entries) {
        dd_layer_spec *l = NULL;
        for (int i = 0; i < m->spec->n_layers && !l; i++)
            if (!strcmp(m->spec->layers[i].name, bn->string)) l = &m->spec->layers[i];
        const cJSON *eps = cJSON_GetObjectItemCaseSensitive(bn, "epsilon");
        const cJSON *mom = cJSON_GetObjectItemCaseSensitive(bn, "momentum");
        if (!l || l->kind != DD_LAYER_BATCHNORM || !cJSON_IsNumber(eps) || !(eps->valuedouble > 0) ||
            eps->valuedouble > 1 || !cJSON_IsNumber(mom) || !(mom->valuedouble >= 0) || mom->valuedouble > 1) {
            bad = bn->string;
            ok = 0;
            break;
        }
        l->u.bn.epsilon = (float)eps->valuedouble;
        l->u.bn.momentum = (float)mom->valuedouble;
    }
    int rc = 0;
    if (!ok)
        rc = dd_fail(err, DD_ERR_MALFORMED,
                     "%s: not a doodle model: the metadata's batchnorm %s%.64s%s is not {\"<batchnorm layer>\": "
                     "{\"epsilon\": (0, 1], \"momentum\": [0, 1]}}: %.80s",
                     path, bad ? "entry '" : "", bad ? bad : "", bad ? "'" : "", text);
    cJSON_Delete(o);
    return rc;
}

/* The file's tensor for t, checked: present, F32, the cfg's shape (so its byte size too), every value finite.
 * Done for every tensor before the model's blocks are allocated, so a small file cannot ask for a big block. */
static const dd_st_tensor *checked_tensor(const dd_st_file *f, const char *name, const nn_tensor *t, const char *path,
                                          dd_error *err) {
    const dd_st_tensor *st = dd_st_find(f, name);
    int same = st && st->dtype == DD_ST_F32 && st->ndim == t->ndim && st->nbytes == t->slot.count * sizeof(float);
    for (int d = 0; same && d < t->ndim; d++) same = st->shape[d] == t->shape[d];
    if (!same) {
        bad_model(err, path, st ? "wrong dtype or shape for tensor " : "missing tensor ", name);
        return NULL;
    }
    const unsigned char *p = st->data;
    for (size_t i = 0; i < t->slot.count; i++) {
        float v;
        memcpy(&v, p + i * sizeof v, sizeof v); /* the mapping need not be aligned */
        if (!isfinite(v)) {
            dd_fail(err, DD_ERR_RANGE, "%s: tensor %s holds %s at index %zu: the model is broken (diverged training?)",
                    path, name, isnan(v) ? "NaN" : "an infinite value", i);
            return NULL;
        }
        /* a variance: a negative one makes BatchNorm divide by the root of a negative number (NaN) */
        if (v < 0 && !strcmp(t->suffix, "running_var")) {
            dd_fail(err, DD_ERR_RANGE, "%s: tensor %s holds the negative variance %g at index %zu: the model is broken",
                    path, name, (double)v, i);
            return NULL;
        }
    }
    return st;
}

/* Every tensor the spec wants: with m NULL, checks it in the file (stops at the first failure); else copies it
 * into m's blocks. */
static int each_tensor(const dd_model_spec *spec, const dd_st_file *f, const char *path, dd_model *m, dd_error *err) {
    for (int i = 0; i < spec->n_layers; i++) {
        nn_tensor t[4];
        int n = layer_tensors(&spec->layers[i], t);
        for (int k = 0; k < n; k++) {
            char name[MAX_TENSOR_NAME];
            snprintf(name, sizeof name, "%s.%s", spec->layers[i].name, t[k].suffix);
            if (!m) {
                if (!checked_tensor(f, name, &t[k], path, err)) return -1;
                continue;
            }
            float *block = t[k].in_state ? m->state : m->params;
            memcpy(block + t[k].slot.offset, dd_st_find(f, name)->data, t[k].slot.count * sizeof(float));
        }
    }
    return 0;
}

static bool plain_name(const char *name) {
    size_t n = strlen(name);
    if (n == 0 || n >= DD_SPEC_NAME_MAX) return false;
    for (const char *p = name; *p; p++)
        if (*p < 0x20 || *p > 0x7e || strchr("\"\\<>&", *p)) return false;
    return true;
}

/* The spec from the metadata: format, version, input size, class count, name, cfg; nothing of its size allocated. */
static dd_model_spec *spec_of(const dd_st_file *f, const char *path, cJSON **classes, dd_error *err) {
    const char *format = dd_st_metadata(f, "format"), *cfg = dd_st_metadata(f, "cfg");
    if (!format || strcmp(format, "doodle-model") || !cfg) {
        bad_model(err, path, "no doodle metadata (format, cfg)", NULL);
        return NULL;
    }
    dd_spec_overrides ov = {0};
    if (check_version(dd_st_metadata(f, "format_version"), path, err) ||
        read_input(dd_st_metadata(f, "input"), path, &ov, err))
        return NULL;
    /* the cfg as written, with the class count and input size the model was built with */
    const char *names = dd_st_metadata(f, "classes");
    *classes = cJSON_Parse(names ? names : "");
    ov.classes = cJSON_IsArray(*classes) ? cJSON_GetArraySize(*classes) : 0;
    if (ov.classes > DD_SPEC_INT_MAX) { /* a 100 MB header holds millions of names; say so, naming the file */
        dd_fail(err, DD_ERR_MALFORMED, "%s: not a doodle model: %d class names (at most %d)", path, ov.classes,
                DD_SPEC_INT_MAX);
        return NULL;
    }
    /* the model's name (the built-in's or cfg's, shown by summary and serve's page); files without one: "model" */
    const char *name = dd_st_metadata(f, "name");
    if (name && !plain_name(name)) {
        bad_model(err, path, "the metadata's name is not 1 to 63 printable characters without quotes or <>&", NULL);
        return NULL;
    }
    char source[600];
    snprintf(source, sizeof source, "%s (cfg)", path);
    dd_model_spec *spec = dd_model_spec_parse(cfg, strlen(cfg), source, name, &ov, err);
    if (spec && spec->input.c != 1) {
        dd_fail(err, DD_ERR_UNSUPPORTED, "%s: the cfg's [net] input has %d channels; doodle models take 1", source,
                spec->input.c);
        dd_model_spec_free(spec);
        return NULL;
    }
    if (spec && check_classes(*classes, spec->classes, path, err)) {
        dd_model_spec_free(spec);
        return NULL;
    }
    return spec;
}

dd_model *dd_model_from(const dd_st_file *f, const char *path, dd_error *err) {
    cJSON *classes = NULL;
    dd_model_spec *spec = spec_of(f, path, &classes, err);
    dd_model *m = NULL;
    if (spec && !each_tensor(spec, f, path, NULL, err)) {
        m = dd_model_new(spec, 0, err); /* takes spec */
        spec = NULL;
    }
    if (m) {
        each_tensor(m->spec, f, path, m, err);
        int i = 0;
        const cJSON *v;
        cJSON_ArrayForEach(v, classes) snprintf(m->class_names[i++], sizeof m->class_names[0], "%s", v->valuestring);
        if (read_render(m, dd_st_metadata(f, "render"), path, err) ||
            read_batchnorm(m, dd_st_metadata(f, "batchnorm"), path, err)) {
            dd_model_free(m);
            m = NULL;
        }
    }
    dd_model_spec_free(spec);
    cJSON_Delete(classes);
    return m;
}

dd_model *dd_model_load(const char *path, dd_error *err) {
    dd_st_file *f = dd_st_open(path, err);
    if (!f) return NULL;
    dd_model *m = dd_model_from(f, path, err);
    dd_st_close(f);
    return m;
}
