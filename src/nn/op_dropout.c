/* [dropout]: inverted dropout in training (masks drawn from the pass's rng), the identity in inference. */
#include <string.h>

#include "nn/op.h"

static const char *const keys[] = {"rate", "name", NULL};

static int parse(const nn_cfg *cfg, const nn_cfg_section *s, dd_layer_spec *l, int classes, dd_error *err) {
    (void)classes;
    if (!nn_cfg_find(cfg, s, "rate"))
        return nn_cfg_missing(cfg, s, "rate", "rate = R, the fraction dropped, 0 <= R < 1", err);
    return nn_cfg_float(cfg, s, "rate", 0, 0, 0, 1, 1, &l->u.dropout_rate, err);
}

static void needs(const dd_layer_spec *l, int max_batch, bool training, nn_needs *n) {
    (void)max_batch;
    if (training) n->mask_per_image = dd_shape_count(l->out);
}

static void forward(const nn_step *st, const nn_pass *p, const float *in) {
    size_t n = (size_t)p->batch * dd_shape_count(st->l->out);
    if (p->rng)
        dd_dropout_forward(st->out, st->w->mask, in, n, st->l->u.dropout_rate, p->rng);
    else
        memcpy(st->out, in, n * sizeof *in);
}

static int backward(const nn_step *st, const nn_pass *p, const float *in, float *g, float *din) {
    (void)in;
    if (din) dd_dropout_backward(din, g, st->w->mask, (size_t)p->batch * dd_shape_count(st->l->in));
    return 1;
}

/* The identity at inference: the gradient stays where it is. */
static int backward_input(const nn_step *st, const nn_pass *p, const float *in, float *g, float *din) {
    (void)st, (void)p, (void)in, (void)g, (void)din;
    return 0;
}

static int fuse(const dd_model_spec *s, int i, nn_mode mode, nn_step *st) {
    (void)s, (void)i, (void)mode;
    return nn_fuse_alone(st, forward, backward);
}

const nn_op_kind nn_op_dropout = {
    .kind = DD_LAYER_DROPOUT,
    .section = "dropout",
    .keras = "Dropout",
    .base = "dropout",
    .keys = keys,
    .parse = parse,
    .needs = needs,
    .fuse = fuse,
    .backward_input = backward_input,
};
