/* [activation]: relu or linear, in place on its input (no layer's backward needs its own output, so overwriting it
 * is safe). A ReLU after a BatchNorm is done by the BatchNorm's step (src/nn/op_batchnorm.c). */
#include <string.h>

#include "nn/op.h"

static const char *const keys[] = {"type", "name", NULL};

static int parse(const nn_cfg *cfg, const nn_cfg_section *s, dd_layer_spec *l, int classes, dd_error *err) {
    (void)classes;
    return nn_cfg_activation(cfg, s, "type", 1, &l->u.activation, err);
}

static void forward(const nn_step *st, const nn_pass *p, const float *in) {
    size_t n = (size_t)p->batch * dd_shape_count(st->l->out);
    if (st->l->u.activation == DD_ACT_RELU)
        nn_fast_relu_forward(p->pool, st->out, in, n);
    else if (st->out != in)
        memcpy(st->out, in, n * sizeof *in); /* only when it is the first layer */
}

/* The gradient stays where it is. */
static int backward(const nn_step *st, const nn_pass *p, const float *in, float *g, float *din) {
    (void)in, (void)din;
    if (st->l->u.activation == DD_ACT_RELU)
        nn_fast_relu_backward(p->pool, g, g, st->w->out, (size_t)p->batch * dd_shape_count(st->l->out));
    return 0;
}

static int backward_input(const nn_step *st, const nn_pass *p, const float *in, float *g, float *din) {
    (void)in, (void)din;
    if (st->l->u.activation == DD_ACT_RELU)
        dd_relu_backward(g, g, st->w->out, (size_t)p->batch * dd_shape_count(st->l->out));
    return 0;
}

static int fuse(const dd_model_spec *s, int i, nn_mode mode, nn_step *st) {
    (void)s, (void)i, (void)mode;
    return nn_fuse_alone(st, forward, backward);
}

const nn_op_kind nn_op_activation = {
    .kind = DD_LAYER_ACTIVATION,
    .section = "activation",
    .keras = "Activation",
    .base = "activation",
    .keys = keys,
    .in_place = true,
    .parse = parse,
    .fuse = fuse,
    .backward_input = backward_input,
};
