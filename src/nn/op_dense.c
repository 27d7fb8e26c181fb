/* [dense]: Keras' Dense over a flat input, with its bias and ReLU applied in the same pass. */
#define _POSIX_C_SOURCE 200809L /* strcasecmp */
#include <strings.h>

#include "nn/op.h"

static const char *const keys[] = {"units", "activation", "bias", "name", NULL};

static int parse(const nn_cfg *cfg, const nn_cfg_section *s, dd_layer_spec *l, int classes, dd_error *err) {
    dd_dense_spec *d = &l->u.dense;
    const nn_cfg_entry *u = nn_cfg_find(cfg, s, "units");
    if (!u) return nn_cfg_missing(cfg, s, "units", "units = N, or units = classes", err);
    if (!strcasecmp(u->value, "classes")) {
        d->units = classes;
        d->units_from_classes = 1;
    } else {
        const char *end;
        if (nn_cfg_uint(u->value, &end, &d->units) || *end || d->units < 1)
            return nn_cfg_fail(cfg, u->line, err, DD_ERR_MALFORMED,
                               "[dense] units = '%.40s' is not a whole number from 1 to %d, or classes", u->value,
                               DD_SPEC_INT_MAX);
    }
    return nn_cfg_activation(cfg, s, "activation", 0, &d->activation, err) ||
                   nn_cfg_bool(cfg, s, "bias", 1, &d->bias, err)
               ? -1
               : 0;
}

static int shape(dd_layer_spec *l, const nn_cfg *cfg, int i, nn_counts *n, dd_error *err) {
    (void)i;
    const dd_dense_spec *d = &l->u.dense;
    dd_shape cur = l->in;
    if (cur.rank != 1)
        return nn_cfg_fail(cfg, l->line, err, DD_ERR_RANGE,
                           "[dense] needs a flat input, but its input is %dx%dx%d (HxWxC): put a [flatten] before it",
                           cur.h, cur.w, cur.c);
    l->out = (dd_shape){1, d->units, 1, 1};
    if (__builtin_mul_overflow((size_t)d->units, (size_t)cur.c, &n->weights))
        return nn_cfg_fail(cfg, l->line, err, DD_ERR_RANGE, "[dense] makes too many parameters");
    n->biases = d->bias ? (size_t)d->units : 0;
    return 0;
}

static void init(const dd_layer_spec *l, float *params, float *state, dd_rng *rng) {
    (void)state;
    dd_glorot_uniform(params + l->weight.offset, l->weight.count, (int)dd_shape_count(l->in), l->u.dense.units, rng);
}

static int tensors(const dd_layer_spec *l, nn_tensor *t) {
    int n = 0;
    t[n++] = (nn_tensor){"weight", 0, l->weight, 2, {l->u.dense.units, (int64_t)dd_shape_count(l->in)}};
    if (l->bias.count) t[n++] = (nn_tensor){"bias", 0, l->bias, 1, {l->u.dense.units}};
    return n;
}

static double macs(const dd_layer_spec *l) { return (double)dd_shape_count(l->in) * l->u.dense.units; }

static void forward(const nn_step *st, const nn_pass *p, const float *in) {
    const dd_layer_spec *l = st->l;
    nn_fast_dense_forward(p->pool, st->out, in, p->params + l->weight.offset,
                          l->bias.count ? p->params + l->bias.offset : NULL, p->batch, (int)dd_shape_count(l->in),
                          l->u.dense.units, l->u.dense.activation == DD_ACT_RELU);
}

/* An inference workspace's: sgemv for a few images. */
static void forward_infer(const nn_step *st, const nn_pass *p, const float *in) {
    const dd_layer_spec *l = st->l;
    nn_fast_dense_forward_infer(p->pool, st->out, in, p->params + l->weight.offset,
                                l->bias.count ? p->params + l->bias.offset : NULL, p->batch, (int)dd_shape_count(l->in),
                                l->u.dense.units, l->u.dense.activation == DD_ACT_RELU);
}

static int backward(const nn_step *st, const nn_pass *p, const float *in, float *g, float *din) {
    const dd_layer_spec *l = st->l;
    if (l->u.dense.activation == DD_ACT_RELU)
        nn_fast_relu_backward(p->pool, g, g, st->w->out, (size_t)p->batch * dd_shape_count(l->out));
    nn_fast_dense_backward(p->pool, din, p->grads + l->weight.offset, l->bias.count ? p->grads + l->bias.offset : NULL,
                           g, in, p->params + l->weight.offset, p->batch, (int)dd_shape_count(l->in), l->u.dense.units);
    return 1;
}

static int backward_input(const nn_step *st, const nn_pass *p, const float *in, float *g, float *din) {
    const dd_layer_spec *l = st->l;
    if (l->u.dense.activation == DD_ACT_RELU)
        dd_relu_backward(g, g, st->w->out, (size_t)p->batch * dd_shape_count(l->out));
    dd_dense_backward(din, NULL, NULL, g, in, p->params + l->weight.offset, p->batch, (int)dd_shape_count(l->in),
                      l->u.dense.units);
    return 1;
}

static int fuse(const dd_model_spec *s, int i, nn_mode mode, nn_step *st) {
    (void)s, (void)i;
    return nn_fuse_alone(st, mode == NN_FORWARD_INFER ? forward_infer : forward, backward);
}

const nn_op_kind nn_op_dense = {
    .kind = DD_LAYER_DENSE,
    .section = "dense",
    .keras = "Dense",
    .base = "dense",
    .keys = keys,
    .decay = true,
    .parse = parse,
    .shape = shape,
    .init = init,
    .tensors = tensors,
    .macs = macs,
    .fuse = fuse,
    .backward_input = backward_input,
};
