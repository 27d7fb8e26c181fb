/* [batchnorm]: Keras' BatchNormalization (per channel; the batch's statistics in training, the running ones in
 * inference), with an [activation] relu after it applied in its own pass; training's backward takes a tiling
 * max-pool after that ReLU in the same pass too. */
#include <math.h>

#include "nn/op.h"

static const char *const keys[] = {"momentum", "epsilon", "name", NULL};

static int parse(const nn_cfg *cfg, const nn_cfg_section *s, dd_layer_spec *l, int classes, dd_error *err) {
    (void)classes;
    return nn_cfg_float(cfg, s, "momentum", 0.99, 0, 0, 1, 0, &l->u.bn.momentum, err) ||
                   nn_cfg_float(cfg, s, "epsilon", 0.001, 0, 1, 1, 0, &l->u.bn.epsilon, err)
               ? -1
               : 0;
}

static int shape(dd_layer_spec *l, const nn_cfg *cfg, int i, nn_counts *n, dd_error *err) {
    (void)cfg, (void)i, (void)err;
    l->out = l->in;
    n->weights = n->biases = n->stats = (size_t)l->in.c; /* gamma, beta; running mean and variance */
    return 0;
}

static void init(const dd_layer_spec *l, float *params, float *state, dd_rng *rng) {
    (void)rng;
    for (size_t k = 0; k < l->weight.count; k++) params[l->weight.offset + k] = 1; /* gamma */
    for (size_t k = 0; k < l->running_var.count; k++) state[l->running_var.offset + k] = 1;
}

static int tensors(const dd_layer_spec *l, nn_tensor *t) {
    t[0] = (nn_tensor){"weight", 0, l->weight, 1, {l->in.c}};
    t[1] = (nn_tensor){"bias", 0, l->bias, 1, {l->in.c}};
    t[2] = (nn_tensor){"running_mean", 1, l->running_mean, 1, {l->in.c}};
    t[3] = (nn_tensor){"running_var", 1, l->running_var, 1, {l->in.c}};
    return 4;
}

static void needs(const dd_layer_spec *l, int max_batch, bool training, nn_needs *n) {
    (void)max_batch;
    if (training) n->stats = 2 * (size_t)l->in.c; /* the batch's mean and 1/std, for backward */
}

static int spatial(const dd_layer_spec *l) { return l->in.rank == 3 ? l->in.h * l->in.w : 1; }

/* The batch's statistics in training (rng set), the running ones in inference. */
static void forward(const nn_step *st, const nn_pass *p, const float *in) {
    const dd_layer_spec *l = st->l;
    const float *P = p->params;
    if (p->rng)
        nn_fast_batchnorm_forward_train(p->pool, st->out, st->w->mean, st->w->inv_std, in, P + l->weight.offset,
                                        P + l->bias.offset, p->state + l->running_mean.offset,
                                        p->state + l->running_var.offset, p->batch, l->in.c, spatial(l),
                                        l->u.bn.momentum, l->u.bn.epsilon, st->relu);
    else
        nn_fast_batchnorm_forward_infer(p->pool, st->out, in, P + l->weight.offset, P + l->bias.offset,
                                        p->state + l->running_mean.offset, p->state + l->running_var.offset, p->batch,
                                        l->in.c, spatial(l), l->u.bn.epsilon, st->relu);
}

/* Training's BatchNorm -> ReLU -> 2x2 max-pool: the pool taken from each plane as it is written. Inference on a
 * training workspace (explanations): the two passes, as forward and the pool's own. */
static void forward_pool2(const nn_step *st, const nn_pass *p, const float *in) {
    const dd_layer_spec *l = st->l;
    const float *P = p->params;
    nn_layer_ws *pw = &st->w[2];
    if (!p->rng) { /* into the BatchNorm's own buffer: st->out is the pool's */
        nn_fast_batchnorm_forward_infer(p->pool, st->w->out, in, P + l->weight.offset, P + l->bias.offset,
                                        p->state + l->running_mean.offset, p->state + l->running_var.offset, p->batch,
                                        l->in.c, spatial(l), l->u.bn.epsilon, true);
        nn_fast_maxpool_forward(p->pool, pw->out, pw->argmax, st->w->out, p->batch, l->in.c, l->in.h, l->in.w, 2, 2);
        return;
    }
    nn_fast_batchnorm_relu_pool2_train(p->pool, st->w->out, pw->out, pw->argmax, st->w->mean, st->w->inv_std, in,
                                       P + l->weight.offset, P + l->bias.offset, p->state + l->running_mean.offset,
                                       p->state + l->running_var.offset, p->batch, l->in.c, l->in.h, l->in.w,
                                       l->u.bn.momentum, l->u.bn.epsilon);
}

/* din may be NULL (a first BatchNorm still owes its parameters' gradients). */
static int backward(const nn_step *st, const nn_pass *p, const float *in, float *g, float *din) {
    const dd_layer_spec *l = st->l;
    nn_fast_batchnorm_backward(p->pool, din, p->grads + l->weight.offset, p->grads + l->bias.offset, g, st->w->out, in,
                               p->params + l->weight.offset, st->w->mean, st->w->inv_std, p->batch, l->in.c, spatial(l),
                               st->relu);
    return 1;
}

/* BatchNorm -> ReLU -> max-pool (stride = size) in one pass, from the pool's output gradient. */
static int backward_bn_relu_pool(const nn_step *st, const nn_pass *p, const float *in, float *g, float *din) {
    const dd_layer_spec *bn = st->l, *pool = &st->l[2];
    const nn_layer_ws *pw = &st->w[2];
    nn_fast_bn_relu_pool_backward(p->pool, din, p->grads + bn->weight.offset, p->grads + bn->bias.offset, g, pw->out,
                                  pw->argmax, in, p->params + bn->weight.offset, st->w->mean, st->w->inv_std, p->batch,
                                  pool->in.c, pool->in.h, pool->in.w, pool->u.pool.size);
    return 1;
}

/* The running statistics make BatchNorm the fixed map x * k + c per channel, k = gamma / sqrt(var + eps). */
static int backward_input(const nn_step *st, const nn_pass *p, const float *in, float *g, float *din) {
    (void)in;
    const dd_layer_spec *l = st->l;
    int channels = l->in.c, S = spatial(l);
    const float *var = p->state + l->running_var.offset, *gamma = p->params + l->weight.offset;
    for (int b = 0; b < p->batch; b++)
        for (int c = 0; c < channels; c++) {
            float k = gamma[c] * (float)(1.0 / sqrt((double)var[c] + l->u.bn.epsilon));
            size_t at = ((size_t)b * channels + c) * S;
            for (int q = 0; q < S; q++) din[at + q] = g[at + q] * k;
        }
    return 1;
}

static int fuse(const dd_model_spec *s, int i, nn_mode mode, nn_step *st) {
    nn_fuse_alone(st, forward, backward);
    if (!nn_is_relu_layer(s, i + 1)) return 1;
    st->relu = true;
    const dd_layer_spec *pool = i + 2 < s->n_layers ? &s->layers[i + 2] : NULL;
    if (mode == NN_BACKWARD && pool && pool->kind == DD_LAYER_MAXPOOL && pool->u.pool.stride == pool->u.pool.size) {
        st->backward = backward_bn_relu_pool;
        return 3;
    }
    if (mode == NN_FORWARD_TRAIN && pool && pool->kind == DD_LAYER_MAXPOOL && pool->u.pool.size == 2 &&
        pool->u.pool.stride == 2 && s->layers[i].in.rank == 3) {
        st->forward = forward_pool2;
        st->keeps_first = true; /* the BatchNorm's output (the ReLU's, in place) */
        return 3;
    }
    return 2;
}

const nn_op_kind nn_op_batchnorm = {
    .kind = DD_LAYER_BATCHNORM,
    .section = "batchnorm",
    .keras = "BatchNormalization",
    .base = "batch_normalization",
    .keys = keys,
    .parse = parse,
    .shape = shape,
    .init = init,
    .tensors = tensors,
    .needs = needs,
    .fuse = fuse,
    .backward_input = backward_input,
};
