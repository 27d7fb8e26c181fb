/* dd_model: parameters, state, initialisation, class names (include/doodle/model.h). Running it is in
 * src/nn/workspace.c and forward.c, files in src/nn/model_io.c. */
#include "doodle/model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doodle/layers.h"
#include "nn/op.h"
#include "doodle/alloc.h"

dd_model *dd_model_new(dd_model_spec *spec, uint64_t seed, dd_error *err) {
    dd_model *m = dd_calloc(1, sizeof *m, err);
    if (!m) {
        dd_model_spec_free(spec);
        return NULL;
    }
    m->spec = spec;
    m->params = dd_calloc(spec->n_params, sizeof *m->params, err);
    m->state = m->params ? dd_calloc(spec->n_state, sizeof *m->state, err) : NULL;
    m->class_names = m->state ? dd_calloc((size_t)spec->classes, sizeof *m->class_names, err) : NULL;
    if (!m->class_names) {
        dd_model_free(m);
        return NULL;
    }
    for (int i = 0; i < spec->classes; i++) snprintf(m->class_names[i], sizeof m->class_names[i], "class %d", i);
    m->render = dd_render_opts_default((uint32_t)spec->input.h, (uint32_t)spec->input.w);

    dd_rng rng;
    dd_rng_seed(&rng, seed);
    for (int i = 0; i < spec->n_layers; i++) {
        const nn_op_kind *op = nn_op_of(spec->layers[i].kind);
        if (op->init) op->init(&spec->layers[i], m->params, m->state, &rng);
    }
    return m;
}

void dd_model_free(dd_model *m) {
    if (!m) return;
    dd_model_spec_free(m->spec);
    free(m->params);
    free(m->state);
    free(m->class_names);
    free(m);
}

int dd_model_set_class_name(dd_model *m, int i, const char *name, dd_error *err) {
    if (i < 0 || i >= m->spec->classes) return dd_fail(err, DD_ERR_USAGE, "class %d out of range", i);
    if (!name[0] || strlen(name) >= sizeof m->class_names[i])
        return dd_fail(err, DD_ERR_RANGE, "class name '%s' must have 1..%zu bytes", name, sizeof m->class_names[i] - 1);
    snprintf(m->class_names[i], sizeof m->class_names[i], "%s", name);
    return 0;
}

uint8_t *dd_model_decay_mask(const dd_model *m, dd_error *err) {
    uint8_t *mask = dd_calloc(m->spec->n_params, 1, err);
    if (!mask) return NULL;
    for (int i = 0; i < m->spec->n_layers; i++) {
        const dd_layer_spec *l = &m->spec->layers[i];
        if (nn_op_of(l->kind)->decay) memset(mask + l->weight.offset, 1, l->weight.count);
    }
    return mask;
}
