/* [conv2d]: Keras' Conv2D over the im2col + sgemm kernels, with its bias and ReLU applied in the same pass; an
 * inference workspace folds a BatchNorm after it into its weights. */
#define _POSIX_C_SOURCE 200809L /* strcasecmp */
#include <limits.h>
#include <math.h>
#include <strings.h>

#include "nn/op.h"

static const char *const keys[] = {"filters", "kernel", "stride", "padding", "activation", "bias", "name", NULL};

static int parse(const nn_cfg *cfg, const nn_cfg_section *s, dd_layer_spec *l, int classes, dd_error *err) {
    (void)classes;
    dd_conv2d_spec *c = &l->u.conv;
    if (!nn_cfg_find(cfg, s, "filters"))
        return nn_cfg_missing(cfg, s, "filters", "filters = N, the output channels", err);
    const nn_cfg_entry *k = nn_cfg_find(cfg, s, "kernel");
    if (!k) return nn_cfg_missing(cfg, s, "kernel", "kernel = K or KHxKW", err);
    int dims[2], n = nn_cfg_dims(k->value, 2, dims);
    if (n < 1)
        return nn_cfg_fail(cfg, k->line, err, DD_ERR_MALFORMED,
                           "[conv2d] kernel = '%.40s' is not K or KHxKW (each 1 to %d)", k->value, DD_SPEC_INT_MAX);
    c->kernel_h = dims[0];
    c->kernel_w = n == 2 ? dims[1] : dims[0];
    const nn_cfg_entry *p = nn_cfg_find(cfg, s, "padding");
    c->same_padding = 0;
    if (p) {
        if (!strcasecmp(p->value, "same"))
            c->same_padding = 1;
        else if (strcasecmp(p->value, "valid"))
            return nn_cfg_fail(cfg, p->line, err, DD_ERR_MALFORMED, "[conv2d] padding = '%.40s' is not same or valid",
                               p->value);
    }
    return nn_cfg_int(cfg, s, "filters", 0, 1, &c->filters, err) ||
                   nn_cfg_int(cfg, s, "stride", 1, 1, &c->stride, err) ||
                   nn_cfg_activation(cfg, s, "activation", 0, &c->activation, err) ||
                   nn_cfg_bool(cfg, s, "bias", 1, &c->bias, err)
               ? -1
               : 0;
}

static int shape(dd_layer_spec *l, const nn_cfg *cfg, int i, nn_counts *n, dd_error *err) {
    dd_conv2d_spec *c = &l->u.conv;
    dd_shape cur = l->in;
    if (!c->same_padding && (c->kernel_h > cur.h || c->kernel_w > cur.w))
        return nn_cfg_fail(cfg, nn_cfg_key_line(cfg, i, "kernel"), err, DD_ERR_RANGE,
                           "[conv2d] kernel %dx%d is larger than its input %dx%d (padding = valid)", c->kernel_h,
                           c->kernel_w, cur.h, cur.w);
    dd_conv2d_dims dims; /* Keras' padding rules, as the layer computes them */
    if (dd_conv2d_dims_init(&dims, 1, cur.c, cur.h, cur.w, c->filters, c->kernel_h, c->kernel_w, c->stride,
                            c->same_padding))
        return nn_cfg_fail(cfg, l->line, err, DD_ERR_RANGE, "[conv2d] does not fit its input %dx%dx%d", cur.h, cur.w,
                           cur.c);
    l->out = (dd_shape){3, c->filters, dims.out_h, dims.out_w};
    c->pad_top = dims.pad_top;
    c->pad_left = dims.pad_left;
    /* Glorot's fans are ints: receptive field times input channels, and times filters */
    size_t field = (size_t)c->kernel_h * (size_t)c->kernel_w;
    if (field * (size_t)cur.c > INT_MAX || field * (size_t)c->filters > INT_MAX)
        return nn_cfg_fail(cfg, nn_cfg_key_line(cfg, i, "kernel"), err, DD_ERR_RANGE,
                           "[conv2d] kernel %dx%d over %d input channels with %d filters is too large (more than %d "
                           "weights per filter or per input channel)",
                           c->kernel_h, c->kernel_w, cur.c, c->filters, INT_MAX);
    int ok = !__builtin_mul_overflow((size_t)c->filters, (size_t)cur.c, &n->weights) &&
             !__builtin_mul_overflow(n->weights, (size_t)c->kernel_h, &n->weights) &&
             !__builtin_mul_overflow(n->weights, (size_t)c->kernel_w, &n->weights);
    if (!ok) return nn_cfg_fail(cfg, l->line, err, DD_ERR_RANGE, "[conv2d] makes too many parameters");
    n->biases = c->bias ? (size_t)c->filters : 0;
    return 0;
}

static void init(const dd_layer_spec *l, float *params, float *state, dd_rng *rng) {
    (void)state;
    /* Keras' fans for a kernel: receptive field times input and output channels */
    int field = l->u.conv.kernel_h * l->u.conv.kernel_w;
    dd_glorot_uniform(params + l->weight.offset, l->weight.count, field * l->in.c, field * l->u.conv.filters, rng);
}

static int tensors(const dd_layer_spec *l, nn_tensor *t) {
    int n = 0;
    const dd_conv2d_spec *c = &l->u.conv;
    t[n++] = (nn_tensor){"weight", 0, l->weight, 4, {c->filters, l->in.c, c->kernel_h, c->kernel_w}};
    if (l->bias.count) t[n++] = (nn_tensor){"bias", 0, l->bias, 1, {l->u.conv.filters}};
    return n;
}

static double macs(const dd_layer_spec *l) {
    return (double)dd_shape_count(l->out) * l->in.c * l->u.conv.kernel_h * l->u.conv.kernel_w;
}

static dd_conv2d_dims dims_of(const dd_layer_spec *l, int batch) {
    dd_conv2d_dims d;
    dd_conv2d_dims_init(&d, batch, l->in.c, l->in.h, l->in.w, l->u.conv.filters, l->u.conv.kernel_h, l->u.conv.kernel_w,
                        l->u.conv.stride, l->u.conv.same_padding);
    return d;
}

static void needs(const dd_layer_spec *l, int max_batch, bool training, nn_needs *n) {
    dd_conv2d_dims d = dims_of(l, max_batch);
    n->col = training ? nn_fast_conv2d_train_col_size(&d) : nn_fast_conv2d_col_size(&d);
    n->weight_grads = l->weight.count;
    n->bias_grads = (size_t)l->u.conv.filters;
}

static const float *bias_of(const dd_layer_spec *l, const float *block) {
    return l->bias.count ? block + l->bias.offset : NULL;
}

/* Training's: by the Winograd kernel or the direct 3x3 one where they apply, else im2col + GEMM. */
static void forward(const nn_step *st, const nn_pass *p, const float *in) {
    const dd_layer_spec *l = st->l;
    dd_conv2d_dims d = dims_of(l, p->batch);
    const float *w = p->params + l->weight.offset, *b = bias_of(l, p->params);
    const bool relu = l->u.conv.activation == DD_ACT_RELU;
    if (nn_fast_winograd_applies(&d))
        nn_fast_winograd_forward_train(p->pool, p->fast, st->w->out, NULL, NULL, in, w, b, &d, relu,
                                       nn_fast_isa_best());
    else if (nn_fast_conv3x3_applies(&d))
        nn_fast_conv3x3_forward_train(p->pool, p->fast, st->w->out, NULL, NULL, in, w, b, &d, relu, nn_fast_isa_best());
    else
        nn_fast_conv2d_forward(p->pool, p->fast, st->w->out, in, w, b, &d, relu);
}

/* Training's conv (its ReLU) -> 2x2 max-pool: both outputs written, the pool's from each image's maps in cache. */
static void forward_pool2(const nn_step *st, const nn_pass *p, const float *in) {
    const dd_layer_spec *l = st->l;
    dd_conv2d_dims d = dims_of(l, p->batch);
    nn_fast_conv2d_forward_pool2(p->pool, p->fast, st->w->out, st->w[1].out, st->w[1].argmax, in,
                                 p->params + l->weight.offset, bias_of(l, p->params), &d,
                                 l->u.conv.activation == DD_ACT_RELU);
}

/* An inference workspace's: the direct 3x3 kernel or the Winograd one where they apply, with the max-pool after. */
static void forward_infer(const nn_step *st, const nn_pass *p, const float *in) {
    const dd_layer_spec *l = st->l;
    dd_conv2d_dims d = dims_of(l, p->batch);
    nn_fast_conv2d_forward_infer(p->pool, p->fast, st->wino, st->out, in, p->params + l->weight.offset,
                                 bias_of(l, p->params), &d, l->u.conv.activation == DD_ACT_RELU, st->pool);
}

/* Conv weights and bias with the following BatchNorm's inference map folded in: out [weights, then filters]. */
static void fold_batchnorm(float *out, const dd_layer_spec *conv, const dd_layer_spec *bn, const float *P,
                           const float *state) {
    const int filters = conv->u.conv.filters;
    const size_t per_filter = conv->weight.count / (size_t)filters;
    const float *w = P + conv->weight.offset, *bias = bias_of(conv, P);
    const float *gamma = P + bn->weight.offset, *beta = P + bn->bias.offset;
    const float *mean = state + bn->running_mean.offset, *var = state + bn->running_var.offset;
    for (int f = 0; f < filters; f++) {
        float k = gamma[f] * (float)(1.0 / sqrt((double)var[f] + bn->u.bn.epsilon));
        for (size_t j = 0; j < per_filter; j++) out[(size_t)f * per_filter + j] = w[(size_t)f * per_filter + j] * k;
        out[conv->weight.count + (size_t)f] = ((bias ? bias[f] : 0.0f) - mean[f]) * k + beta[f];
    }
}

/* Inference: y = conv(x; w * k) + (b - mean) * k + beta, with k = gamma / sqrt(var + eps), rebuilt from the
 * parameters at each pass; one pass over the maps instead of two, and no buffer for the conv's own output. */
static void forward_folded(const nn_step *st, const nn_pass *p, const float *in) {
    const dd_layer_spec *l = st->l;
    dd_conv2d_dims d = dims_of(l, p->batch);
    fold_batchnorm(st->folded, l, &st->l[1], p->params, p->state);
    nn_fast_conv2d_forward_infer(p->pool, p->fast, st->wino, st->out, in, st->folded, st->folded + l->weight.count, &d,
                                 st->relu, st->pool);
}

static int backward(const nn_step *st, const nn_pass *p, const float *in, float *g, float *din) {
    const dd_layer_spec *l = st->l;
    if (l->u.conv.activation == DD_ACT_RELU)
        nn_fast_relu_backward(p->pool, g, g, st->w->out, (size_t)p->batch * dd_shape_count(l->out));
    dd_conv2d_dims d = dims_of(l, p->batch);
    nn_fast_conv2d_backward(p->pool, p->fast, din, p->grads + l->weight.offset,
                            l->bias.count ? p->grads + l->bias.offset : NULL, g, in, p->params + l->weight.offset, &d,
                            st->wino);
    return 1;
}

/* Conv (its own ReLU) -> a max-pool whose windows tile its output, from the pool's output gradient g. */
static int backward_relu_pool(const nn_step *st, const nn_pass *p, const float *in, float *g, float *din) {
    const dd_layer_spec *l = st->l, *pool = &st->l[1];
    dd_conv2d_dims d = dims_of(l, p->batch);
    nn_fast_pool_after after = {
        .out = st->w[1].out, .argmax = st->w[1].argmax, .out_h = pool->out.h, .out_w = pool->out.w};
    nn_fast_conv2d_backward_pooled(p->pool, p->fast, din, p->grads + l->weight.offset,
                                   l->bias.count ? p->grads + l->bias.offset : NULL, g, &after, in,
                                   p->params + l->weight.offset, &d, st->wino);
    return 1;
}

static int backward_input(const nn_step *st, const nn_pass *p, const float *in, float *g, float *din) {
    const dd_layer_spec *l = st->l;
    if (l->u.conv.activation == DD_ACT_RELU)
        dd_relu_backward(g, g, st->w->out, (size_t)p->batch * dd_shape_count(l->out));
    dd_conv2d_dims d = dims_of(l, p->batch);
    dd_conv2d_backward(din, NULL, NULL, g, in, p->params + l->weight.offset, &d, p->scratch);
    return 1;
}

/* Layer i is a 2x2, stride 2 max-pool that a direct 3x3 conv's kernel can take (conv: layer c). */
static bool takes_pool(const dd_model_spec *s, int c, int i) {
    if (i >= s->n_layers || s->layers[i].kind != DD_LAYER_MAXPOOL || s->layers[i].u.pool.size != 2 ||
        s->layers[i].u.pool.stride != 2)
        return false;
    dd_conv2d_dims d = dims_of(&s->layers[c], 1);
    return nn_fast_conv3x3_applies(&d);
}

/* Layer i is a conv with its own ReLU, and a max-pool whose windows tile its output follows it. */
static bool relu_then_tiling_pool(const dd_model_spec *s, int i) {
    const dd_layer_spec *pool = i + 1 < s->n_layers ? &s->layers[i + 1] : NULL;
    return s->layers[i].u.conv.activation == DD_ACT_RELU && pool && pool->kind == DD_LAYER_MAXPOOL &&
           pool->u.pool.stride == pool->u.pool.size;
}

/* An inference workspace folds a BatchNorm right after a linear conv (and the ReLU after that) into one step, and
 * a 2x2 max-pool after those (or after a conv with its own ReLU) when the direct 3x3 kernel runs the conv. */
static int fuse(const dd_model_spec *s, int i, nn_mode mode, nn_step *st) {
    if (mode == NN_FORWARD_INFER && s->layers[i].u.conv.activation == DD_ACT_LINEAR && i + 1 < s->n_layers &&
        s->layers[i + 1].kind == DD_LAYER_BATCHNORM) {
        st->fold = true;
        st->forward = forward_folded;
        st->relu = nn_is_relu_layer(s, i + 2);
        int n = st->relu ? 3 : 2;
        st->pool = takes_pool(s, i, i + n);
        return n + st->pool;
    }
    if (mode == NN_FORWARD_INFER) {
        st->pool = takes_pool(s, i, i + 1);
        nn_fuse_alone(st, forward_infer, backward);
        return 1 + st->pool;
    }
    if (mode == NN_FORWARD_TRAIN && relu_then_tiling_pool(s, i) && s->layers[i + 1].u.pool.size == 2) {
        st->keeps_first = true;
        nn_fuse_alone(st, forward_pool2, backward_relu_pool);
        return 2;
    }
    if (mode == NN_BACKWARD && relu_then_tiling_pool(s, i)) {
        nn_fuse_alone(st, forward, backward_relu_pool);
        return 2;
    }
    return nn_fuse_alone(st, forward, backward);
}

const nn_op_kind nn_op_conv2d = {
    .kind = DD_LAYER_CONV2D,
    .section = "conv2d",
    .keras = "Conv2D",
    .base = "conv2d",
    .keys = keys,
    .image_input = true,
    .decay = true,
    .parse = parse,
    .shape = shape,
    .init = init,
    .tensors = tensors,
    .macs = macs,
    .needs = needs,
    .fuse = fuse,
    .backward_input = backward_input,
};
