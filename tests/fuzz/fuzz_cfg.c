/* Fuzz target: the input as network cfg text (`doodle summary FILE.cfg`, `doodle train --model FILE.cfg`) through
 * dd_model_spec_parse. A failure must have a status and a message starting with the source name ("fuzz.cfg"); a
 * network over the memory bound must be refused with its size named. A spec that parses has consistent shapes and
 * a parameter layout without gaps or overlaps, prints its summary, and (being within the bound) is built with
 * dd_model_new and a workspace for one image, and run when it is cheap; a training workspace for a batch of 8 is
 * either made or refused with the size named, never allocated past the bound.
 *
 * The bound is lowered to 64 MB: run with -malloc_limit_mb=256 so that an estimate far below what is really
 * allocated shows up as a finding (the default 8 GB bound is what the CLI uses; the rule is the same). */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doodle/model.h"
#include "doodle/model_spec.h"
#include "fuzz.h"

#define FUZZ_MEMORY_LIMIT ((uint64_t)64 * 1000 * 1000)
#define FUZZ_MAX_FLOPS 2e7

static void check_refusal(const char *what, const dd_error *err) {
    /* a network refused for its size names the size ("… needs 8.4 GB …") */
    if (err->code == DD_ERR_RANGE && strstr(err->msg, "network needs"))
        FUZZ_CHECK(strstr(err->msg, " MB") || strstr(err->msg, " GB"), "%s: no size in \"%s\"", what, err->msg);
}

static void check_layout(const dd_model_spec *s) {
    FUZZ_CHECK(s->input.rank == 3 && s->input.c >= 1 && s->input.h >= 1 && s->input.w >= 1 && s->classes >= 1,
               "input %dx%dx%d, %d classes", s->input.h, s->input.w, s->input.c, s->classes);
    FUZZ_CHECK(s->n_layers >= 1 && s->layers, "%d layers", s->n_layers);
    size_t params = 0, state = 0;
    for (int i = 0; i < s->n_layers; i++) {
        const dd_layer_spec *l = &s->layers[i];
        dd_shape in = i ? s->layers[i - 1].out : s->input;
        FUZZ_CHECK(!memcmp(&l->in, &in, sizeof in), "layer %d's input is not the previous output", i);
        FUZZ_CHECK(l->out.c >= 1 && l->out.h >= 1 && l->out.w >= 1 && (l->out.rank == 3 || l->out.rank == 1),
                   "layer %d's output", i);
        FUZZ_CHECK(l->name[0] && strnlen(l->name, DD_SPEC_NAME_MAX) < DD_SPEC_NAME_MAX, "layer %d's name", i);
        /* the parameter block is filled layer by layer, without gaps */
        if (l->weight.count) {
            FUZZ_CHECK(l->weight.offset == params, "layer %d weight at %zu, expected %zu", i, l->weight.offset, params);
            params += l->weight.count;
        }
        if (l->bias.count) {
            FUZZ_CHECK(l->bias.offset == params, "layer %d bias at %zu, expected %zu", i, l->bias.offset, params);
            params += l->bias.count;
        }
        if (l->running_mean.count) {
            FUZZ_CHECK(l->running_mean.offset == state && l->running_var.offset == state + l->running_mean.count,
                       "layer %d state", i);
            state += l->running_mean.count + l->running_var.count;
        }
        FUZZ_CHECK(l->n_trainable == l->weight.count + l->bias.count, "layer %d count", i);
    }
    FUZZ_CHECK(params == s->n_params && state == s->n_state, "%zu/%zu params, %zu/%zu state", params, s->n_params,
               state, s->n_state);
    const dd_layer_spec *last = &s->layers[s->n_layers - 1];
    FUZZ_CHECK(dd_shape_count(last->out) == (size_t)s->classes, "the last layer gives %zu values for %d classes",
               dd_shape_count(last->out), s->classes);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    dd_set_memory_limit(FUZZ_MEMORY_LIMIT);
    dd_error err = {0};
    dd_model_spec *s = dd_model_spec_parse((const char *)data, size, "fuzz.cfg", NULL, NULL, &err);
    if (!s) {
        fuzz_check_error("dd_model_spec_parse", err.code, err.msg, "fuzz.cfg");
        check_refusal("dd_model_spec_parse", &err);
        return 0;
    }
    check_layout(s);
    FUZZ_CHECK(dd_model_spec_memory(s, 1, false) <= FUZZ_MEMORY_LIMIT, "a network over the bound parsed");
    FUZZ_CHECK(s->cfg_text && !memcmp(s->cfg_text, data, size) && s->cfg_text[size] == '\0', "cfg text not kept");
    char *table = NULL;
    size_t table_size = 0;
    FILE *mem = open_memstream(&table, &table_size);
    FUZZ_CHECK(mem, "open_memstream");
    dd_model_spec_summary(s, mem);
    fclose(mem);
    FUZZ_CHECK(table && strstr(table, "Total params"), "summary");
    free(table);
    double flops = dd_model_flops(s, false);
    FUZZ_CHECK(flops >= 0, "flops %g", flops);

    /* the text it keeps parses again to the same network */
    dd_model_spec *again = dd_model_spec_parse(s->cfg_text, size, "fuzz.cfg", NULL, NULL, &err);
    FUZZ_CHECK(again && again->n_params == s->n_params && again->n_layers == s->n_layers, "reparse: %s", err.msg);
    dd_model_spec_free(again);

    /* a training workspace at batch 8: made within the bound, or refused with the size named */
    dd_error werr = {0};
    int train_ok = dd_model_spec_check_memory(s, 8, true, "fuzz.cfg", &werr) == 0;
    if (!train_ok) {
        fuzz_check_error("dd_model_spec_check_memory", werr.code, werr.msg, "fuzz.cfg");
        check_refusal("dd_model_spec_check_memory", &werr);
    }
    dd_model *m = dd_model_new(s, 1, &err); /* takes s */
    FUZZ_CHECK(m, "dd_model_new within the bound: %s", err.msg);
    dd_workspace *ws = dd_workspace_new(m, 1, false, &err);
    FUZZ_CHECK(ws, "an inference workspace within the bound: %s", err.msg);
    if (flops <= FUZZ_MAX_FLOPS) {
        size_t n = (size_t)m->spec->input.c * m->spec->input.h * m->spec->input.w;
        float *x = calloc(n, sizeof *x);
        FUZZ_CHECK(x, "out of memory");
        for (size_t i = 0; i < n; i += 3) x[i] = 1;
        const float *logits = dd_model_infer(m, ws, x, 1);
        FUZZ_CHECK(logits, "inference");
        for (int i = 0; i < m->spec->classes; i++) fuzz_sink += logits[i] > 0;
        free(x);
    }
    dd_workspace_free(ws);
    dd_workspace *tws = dd_workspace_new(m, 8, true, &werr);
    FUZZ_CHECK(!tws == !train_ok, "the training workspace disagrees with the check: %s", werr.msg);
    if (!tws) check_refusal("dd_workspace_new", &werr);
    dd_workspace_free(tws);
    dd_model_free(m);
    return 0;
}
