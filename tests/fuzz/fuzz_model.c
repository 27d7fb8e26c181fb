/* Fuzz target: the input as a model file (.safetensors), as `--model` takes it: dd_model_load, then
 * dd_classifier_open on the same file. A failure must have a status and a message starting with the file name;
 * a model that loads takes one grey channel, holds no more floats than the file has room for, has distinct
 * non-empty class names and sane render settings, and the classifier opened on it classifies a blank bitmap and
 * a small drawing (when the network is cheap enough to run in a fuzz iteration).
 *
 * The memory bound is lowered to 256 MB (run with -malloc_limit_mb=512): a cfg that asks for more must be refused
 * before anything of that size is allocated. */
#define _POSIX_C_SOURCE 200809L
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "doodle/classify.h"
#include "doodle/model.h"
#include "doodle/quickdraw.h"
#include "fuzz.h"

#define FUZZ_MEMORY_LIMIT ((uint64_t)256 * 1000 * 1000)
#define FUZZ_MAX_FLOPS 2e7 /* run networks up to this cost per image (a few ms) */

static void check_top(const dd_prediction *top, int n, int k, int classes) {
    FUZZ_CHECK(n == (k < classes ? k : classes), "%d answers for k %d and %d classes", n, k, classes);
    for (int j = 0; j < n; j++) {
        FUZZ_CHECK(top[j].index >= 0 && top[j].index < classes && top[j].name && top[j].name[0], "answer %d", j);
        FUZZ_CHECK(top[j].probability >= 0 && top[j].probability <= 1.0001f, "p %g", top[j].probability);
        FUZZ_CHECK(j == 0 || top[j].probability <= top[j - 1].probability, "answers not best first");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    dd_set_memory_limit(FUZZ_MEMORY_LIMIT);
    const char *path = fuzz_temp_path(".safetensors");
    fuzz_write_file(path, data, size);
    dd_error err = {0};
    dd_model *m = dd_model_load(path, &err);
    double flops = 0;
    if (!m) {
        fuzz_check_error("dd_model_load", err.code, err.msg, path);
    } else {
        const dd_model_spec *s = m->spec;
        FUZZ_CHECK(s->input.c == 1 && s->classes >= 1, "input %dx%dx%d, %d classes", s->input.h, s->input.w, s->input.c,
                   s->classes);
        /* every float came from the file */
        FUZZ_CHECK((s->n_params + s->n_state) * sizeof(float) <= size, "%zu floats from a %zu-byte file",
                   s->n_params + s->n_state, size);
        FUZZ_CHECK(dd_model_spec_memory(s, 1, false) <= FUZZ_MEMORY_LIMIT, "a network over the memory bound loaded");
        for (size_t i = 0; i < s->n_params; i++) FUZZ_CHECK(isfinite(m->params[i]), "parameter %zu", i);
        for (size_t i = 0; i < s->n_state; i++) FUZZ_CHECK(isfinite(m->state[i]), "state %zu", i);
        for (int i = 0; i < s->classes; i++) {
            size_t len = strnlen(m->class_names[i], DD_SPEC_NAME_MAX);
            FUZZ_CHECK(len > 0 && len < DD_SPEC_NAME_MAX, "class name %d", i);
            for (int j = 0; j < i && s->classes <= 64; j++)
                FUZZ_CHECK(strcmp(m->class_names[i], m->class_names[j]), "class '%s' twice", m->class_names[i]);
        }
        FUZZ_CHECK(m->render.height == (uint32_t)s->input.h && m->render.width == (uint32_t)s->input.w,
                   "render size %ux%u", m->render.height, m->render.width);
        FUZZ_CHECK(m->render.line_width > 0 && m->render.line_width <= 1024 && m->render.padding >= 0 &&
                       m->render.padding <= 4096,
                   "render line width %g, padding %g", m->render.line_width, m->render.padding);
        /* the render settings are the file's, never silently replaced */
        dd_st_file *f = dd_st_open(path, &err);
        FUZZ_CHECK(f, "the model loads, the file does not open: %s", err.msg);
        cJSON *r = dd_st_metadata(f, "render") ? cJSON_Parse(dd_st_metadata(f, "render")) : NULL;
        const cJSON *lw = cJSON_GetObjectItemCaseSensitive(r, "line_width"),
                    *pad = cJSON_GetObjectItemCaseSensitive(r, "padding");
        FUZZ_CHECK(!lw || lw->valuedouble == m->render.line_width, "line width %g stored, %g used", lw->valuedouble,
                   m->render.line_width);
        FUZZ_CHECK(!pad || pad->valuedouble == m->render.padding, "padding %g stored, %g used", pad->valuedouble,
                   m->render.padding);
        cJSON_Delete(r);
        dd_st_close(f);
        flops = dd_model_flops(s, false);
        dd_model_free(m);
    }

    dd_error err2 = {0};
    dd_classifier *c = dd_classifier_open(path, &err2);
    if (!c) {
        fuzz_check_error("dd_classifier_open", err2.code, err2.msg, path);
        FUZZ_CHECK(!m, "the model loads but the classifier refuses it: %s", err2.msg);
        return 0;
    }
    FUZZ_CHECK(m, "the classifier opens what dd_model_load refused: %s", err.msg);
    if (flops <= FUZZ_MAX_FLOPS) {
        uint32_t h, w;
        dd_classifier_input_size(c, &h, &w);
        int classes = dd_classifier_class_count(c);
        uint8_t *blank = calloc((size_t)h * w, 1);
        FUZZ_CHECK(blank, "out of memory");
        dd_prediction top[4];
        int n = dd_classify_bitmap(c, blank, h, w, top, 4, &err);
        free(blank);
        /* finite weights may still overflow: then an error, never NaN probabilities */
        int overflow = n < 0 && err.code == DD_ERR_RANGE && strstr(err.msg, "weights are too large");
        FUZZ_CHECK(n >= 0 || overflow, "a blank bitmap: %s", err.msg);
        if (n >= 0) check_top(top, n, 4, classes);
        /* a small drawing: the model's render settings at work */
        static const char line[] = "{\"drawing\":[[[10,120,240,30],[20,200,15,250]],[[0,255],[128,128]]]}";
        dd_drawing d;
        dd_drawing_init(&d);
        FUZZ_CHECK(dd_ndjson_parse(line, sizeof line - 1, &d, &err) == 0, "%s", err.msg);
        n = dd_classify_strokes(c, &d, top, 2, &err);
        dd_drawing_free(&d);
        overflow = n < 0 && err.code == DD_ERR_RANGE && strstr(err.msg, "weights are too large");
        FUZZ_CHECK(n >= 0 || overflow, "a drawing: %s", err.msg);
        if (n >= 0) check_top(top, n, 2, classes);
    }
    dd_classifier_close(c);
    return 0;
}
