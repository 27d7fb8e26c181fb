/* Running a model: the workspace, the forward passes (inference and training) and backward, layer by layer over
 * the fast kernels of nn/fast.h (threaded, fused), which the tests hold to the reference kernels of
 * include/doodle/layers.h.
 *
 * Memory: every layer writes its own output buffer, except those that need none: ReLU layers work in place on
 * their input (no layer's backward needs its own output, so overwriting it is safe) and flatten is a view of
 * its input. Backward ping-pongs between two gradient buffers as large as the largest activation. All of it is
 * allocated once, when the workspace is made.
 *
 * Fusion: a BatchNorm followed by an [activation] relu applies the ReLU in its own pass (the activation layer
 * then does nothing), and conv and dense layers apply their bias and activation while the output is in cache.
 * Inference folds a BatchNorm into the conv before it; training's backward takes a tiling max-pool, the ReLU and
 * the BatchNorm under it in one pass. Threads: the workspace's pool (dd_workspace_set_threads). Between layers,
 * training's backward tells a hook how far its gradients are final (nn/backward_hook.h: data-parallel training sums
 * them while backward goes on). */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "doodle/layers.h"
#include "doodle/model.h"
#include "nn/backward_hook.h"
#include "nn/fast.h"
#include "util/alloc.h"
#include "util/thread_pool.h"

typedef struct layer_ws {
    float *out;            /* [max_batch * out count]; aliases the input for in-place layers */
    int owns_out;
    int fused_relu;        /* batchnorm: the next layer's ReLU is applied here */
    int fused_away;        /* activation: done by the layer before; batchnorm: folded into the conv before */
    float *folded;         /* conv followed by batchnorm, inference: weights [weight count] then bias [filters] with
                            * the batchnorm folded in, rebuilt from the parameters at each pass */
    float *mean, *inv_std; /* batchnorm, training */
    int32_t *argmax;       /* maxpool */
    float *mask;           /* dropout, training */
} layer_ws;

struct dd_workspace {
    int max_batch;
    bool training;
    int n_layers;
    layer_ws *layers;
    dd_pool *pool;          /* NULL: one thread */
    dd_fast_scratch fast;   /* per-thread scratch of the fast kernels */
    size_t col_size, dweight_size, dbias_size; /* what one thread needs of each */
    float *scratch;         /* thread 0's im2col buffer, for the reference kernels (explanations) */
    float *probs;           /* [max_batch * classes] */
    float *grad[2];         /* [max_batch * largest activation], training */
    const float *input;
    dd_grads_final_fn grads_final; /* training's backward tells it after each layer (nn/backward_hook.h) */
    void *grads_final_ctx;
};

static size_t out_count(const dd_layer_spec *l) { return dd_shape_count(l->out); }

/* Flatten is a view and activations work in place; the first layer cannot write into the caller's input. */
static int in_place(const dd_model_spec *s, int i) {
    return i > 0 && (s->layers[i].kind == DD_LAYER_FLATTEN || s->layers[i].kind == DD_LAYER_ACTIVATION);
}

static dd_conv2d_dims conv_dims(const dd_layer_spec *l, int batch) {
    dd_conv2d_dims d;
    dd_conv2d_dims_init(&d, batch, l->in.c, l->in.h, l->in.w, l->u.conv.filters, l->u.conv.kernel_h,
                        l->u.conv.kernel_w, l->u.conv.stride, l->u.conv.same_padding);
    return d;
}

static void free_scratch(dd_workspace *ws) {
    free(ws->fast.col);
    free(ws->fast.dweight);
    free(ws->fast.dbias);
    ws->fast = (dd_fast_scratch){0};
    ws->scratch = NULL;
}

/* Per-thread scratch for the pool's thread count. */
static int alloc_scratch(dd_workspace *ws, dd_error *err) {
    size_t threads = (size_t)dd_pool_threads(ws->pool);
    free_scratch(ws);
    ws->fast.col_stride = ws->col_size;
    ws->fast.dweight_stride = ws->dweight_size;
    ws->fast.dbias_stride = ws->dbias_size;
    if (ws->col_size && !(ws->fast.col = dd_malloc(threads, ws->col_size * sizeof(float), err))) return -1;
    if (ws->training && threads > 1 && ws->dweight_size &&
        !(ws->fast.dweight = dd_malloc(threads - 1, ws->dweight_size * sizeof(float), err)))
        return -1;
    if (ws->dbias_size && !(ws->fast.dbias = dd_malloc(threads, ws->dbias_size * sizeof(double), err))) return -1;
    ws->scratch = ws->fast.col;
    return 0;
}

void dd_workspace_free(dd_workspace *ws) {
    if (!ws) return;
    for (int i = 0; i < ws->n_layers; i++) {
        layer_ws *w = &ws->layers[i];
        if (w->owns_out) free(w->out);
        free(w->mean);
        free(w->inv_std);
        free(w->argmax);
        free(w->mask);
        free(w->folded);
    }
    dd_pool_free(ws->pool);
    free_scratch(ws);
    free(ws->layers);
    free(ws->probs);
    free(ws->grad[0]);
    free(ws->grad[1]);
    free(ws);
}

dd_workspace *dd_workspace_new(const dd_model *m, int max_batch, bool training, dd_error *err) {
    const dd_model_spec *s = m->spec;
    if (max_batch < 1) {
        dd_fail(err, DD_ERR_USAGE, "batch size %d must be at least 1", max_batch);
        return NULL;
    }
    /* a network that fits for one drawing may not for a batch: refused before anything of that size is made */
    if (dd_model_spec_check_memory(s, max_batch, training, NULL, err)) return NULL;
    openblas_set_num_threads(1); /* doodle's own threads call BLAS; BLAS threads on top would fight them */
    dd_workspace *ws = dd_calloc(1, sizeof *ws, err);
    if (!ws) return NULL;
    ws->max_batch = max_batch;
    ws->training = training;
    ws->n_layers = s->n_layers;
    if (!(ws->layers = dd_calloc((size_t)s->n_layers, sizeof *ws->layers, err))) goto fail;
    size_t largest = dd_shape_count(s->input), B = (size_t)max_batch;
    for (int i = 0; i < s->n_layers; i++) {
        const dd_layer_spec *l = &s->layers[i];
        layer_ws *w = &ws->layers[i];
        size_t n = out_count(l);
        if (n > largest) largest = n;
        /* Inference folds a BatchNorm into the conv before it (y = conv(x; w * k) + (b - mean) * k + beta, with
         * k = gamma / sqrt(var + eps)): one pass over the maps instead of two, and no buffer for the conv's own. */
        int fold = !training && l->kind == DD_LAYER_CONV2D && l->u.conv.activation == DD_ACT_LINEAR &&
                   i + 1 < s->n_layers && s->layers[i + 1].kind == DD_LAYER_BATCHNORM;
        if (fold) {
            if (!(w->folded = dd_malloc(l->weight.count + (size_t)l->u.conv.filters, sizeof *w->folded, err)))
                goto fail;
        } else if (in_place(s, i)) {
            w->out = ws->layers[i - 1].out;
        } else {
            if (!(w->out = dd_malloc(B * n, sizeof *w->out, err))) goto fail;
            w->owns_out = 1;
        }
        if (l->kind == DD_LAYER_BATCHNORM && i > 0 && ws->layers[i - 1].folded) w->fused_away = 1;
        if (l->kind == DD_LAYER_BATCHNORM && i + 1 < s->n_layers && s->layers[i + 1].kind == DD_LAYER_ACTIVATION &&
            s->layers[i + 1].u.activation == DD_ACT_RELU) {
            w->fused_relu = 1;
            ws->layers[i + 1].fused_away = 1;
        }
        if (l->kind == DD_LAYER_MAXPOOL && !(w->argmax = dd_malloc(B * n, sizeof *w->argmax, err))) goto fail;
        if (l->kind == DD_LAYER_CONV2D) {
            dd_conv2d_dims d = conv_dims(l, max_batch);
            size_t col = dd_fast_conv2d_col_size(&d), weights = l->weight.count;
            if (col > ws->col_size) ws->col_size = col;
            if (weights > ws->dweight_size) ws->dweight_size = weights;
            if ((size_t)l->u.conv.filters > ws->dbias_size) ws->dbias_size = (size_t)l->u.conv.filters;
        }
        if (!training) continue;
        if (l->kind == DD_LAYER_BATCHNORM) {
            if (!(w->mean = dd_malloc((size_t)l->in.c, sizeof *w->mean, err))) goto fail;
            if (!(w->inv_std = dd_malloc((size_t)l->in.c, sizeof *w->inv_std, err))) goto fail;
        } else if (l->kind == DD_LAYER_DROPOUT) {
            if (!(w->mask = dd_malloc(B * n, sizeof *w->mask, err))) goto fail;
        }
    }
    if (alloc_scratch(ws, err)) goto fail;
    if (!(ws->probs = dd_malloc(B * (size_t)s->classes, sizeof *ws->probs, err))) goto fail;
    if (training)
        for (int k = 0; k < 2; k++)
            if (!(ws->grad[k] = dd_malloc(B * largest, sizeof *ws->grad[k], err))) goto fail;
    return ws;
fail:
    dd_workspace_free(ws);
    return NULL;
}

int dd_workspace_set_threads(dd_workspace *ws, int threads, dd_error *err) {
    if (threads == dd_pool_threads(ws->pool)) return 0;
    dd_pool *pool = NULL;
    if (threads != 1 && !(pool = dd_pool_new(threads, err))) return -1;
    dd_pool_free(ws->pool);
    ws->pool = pool;
    return alloc_scratch(ws, err);
}

int dd_workspace_threads(const dd_workspace *ws) { return dd_pool_threads(ws->pool); }

/* Conv weights and bias with the following BatchNorm's inference map folded in: out [weights, then filters]. */
static void fold_batchnorm(float *out, const dd_layer_spec *conv, const dd_layer_spec *bn, const float *P,
                           const float *state) {
    const int filters = conv->u.conv.filters;
    const size_t per_filter = conv->weight.count / (size_t)filters;
    const float *w = P + conv->weight.offset, *bias = conv->bias.count ? P + conv->bias.offset : NULL;
    const float *gamma = P + bn->weight.offset, *beta = P + bn->bias.offset;
    const float *mean = state + bn->running_mean.offset, *var = state + bn->running_var.offset;
    for (int f = 0; f < filters; f++) {
        float k = gamma[f] * (float)(1.0 / sqrt((double)var[f] + bn->u.bn.epsilon));
        for (size_t j = 0; j < per_filter; j++) out[(size_t)f * per_filter + j] = w[(size_t)f * per_filter + j] * k;
        out[conv->weight.count + (size_t)f] = ((bias ? bias[f] : 0.0f) - mean[f]) * k + beta[f];
    }
}

/* The forward pass shared by inference (rng == NULL) and training. */
static const float *forward(dd_model *m, const dd_model *cm, dd_workspace *ws, const float *x, int batch, dd_rng *rng) {
    const dd_model_spec *s = cm->spec;
    const int training = rng != NULL;
    dd_pool *pool = ws->pool;
    ws->input = x;
    const float *in = x;
    for (int i = 0; i < s->n_layers; i++) {
        const dd_layer_spec *l = &s->layers[i];
        layer_ws *w = &ws->layers[i];
        size_t n = (size_t)batch * out_count(l);
        const float *P = cm->params;
        switch (l->kind) {
        case DD_LAYER_CONV2D: {
            dd_conv2d_dims d = conv_dims(l, batch);
            if (w->folded) { /* writes the BatchNorm's output (and its ReLU's) directly */
                const dd_layer_spec *bn = &s->layers[i + 1];
                layer_ws *bw = &ws->layers[i + 1];
                fold_batchnorm(w->folded, l, bn, P, cm->state);
                dd_fast_conv2d_forward(pool, &ws->fast, bw->out, in, w->folded, w->folded + l->weight.count, &d,
                                       bw->fused_relu);
                in = bw->out;
                continue;
            }
            dd_fast_conv2d_forward(pool, &ws->fast, w->out, in, P + l->weight.offset,
                                   l->bias.count ? P + l->bias.offset : NULL, &d, l->u.conv.activation == DD_ACT_RELU);
            break;
        }
        case DD_LAYER_DENSE:
            dd_fast_dense_forward(pool, w->out, in, P + l->weight.offset, l->bias.count ? P + l->bias.offset : NULL,
                                  batch, (int)dd_shape_count(l->in), l->u.dense.units,
                                  l->u.dense.activation == DD_ACT_RELU);
            break;
        case DD_LAYER_BATCHNORM: {
            if (w->fused_away) break;
            int channels = l->in.c, spatial = l->in.rank == 3 ? l->in.h * l->in.w : 1;
            if (training)
                dd_fast_batchnorm_forward_train(pool, w->out, w->mean, w->inv_std, in, P + l->weight.offset,
                                                P + l->bias.offset, m->state + l->running_mean.offset,
                                                m->state + l->running_var.offset, batch, channels, spatial,
                                                l->u.bn.momentum, l->u.bn.epsilon, w->fused_relu);
            else
                dd_fast_batchnorm_forward_infer(pool, w->out, in, P + l->weight.offset, P + l->bias.offset,
                                                cm->state + l->running_mean.offset, cm->state + l->running_var.offset,
                                                batch, channels, spatial, l->u.bn.epsilon, w->fused_relu);
            break;
        }
        case DD_LAYER_ACTIVATION:
            if (w->fused_away) break;
            if (l->u.activation == DD_ACT_RELU) dd_fast_relu_forward(pool, w->out, in, n);
            else if (w->out != in) memcpy(w->out, in, n * sizeof *in); /* only when it is the first layer */
            break;
        case DD_LAYER_MAXPOOL:
            dd_fast_maxpool_forward(pool, w->out, w->argmax, in, batch, l->in.c, l->in.h, l->in.w, l->u.pool.size,
                                    l->u.pool.stride);
            break;
        case DD_LAYER_FLATTEN:
            if (w->out != in) memcpy(w->out, in, n * sizeof *in);
            break;
        case DD_LAYER_DROPOUT:
            if (training) dd_dropout_forward(w->out, w->mask, in, n, l->u.dropout_rate, rng);
            else memcpy(w->out, in, n * sizeof *in);
            break;
        default: break;
        }
        in = w->out;
    }
    return in;
}

const float *dd_model_infer(const dd_model *m, dd_workspace *ws, const float *x, int batch) {
    if (batch < 1 || batch > ws->max_batch) return NULL;
    return forward(NULL, m, ws, x, batch, NULL);
}

const float *dd_model_forward_train(dd_model *m, dd_workspace *ws, const float *x, int batch, dd_rng *rng) {
    if (!ws->training || batch < 1 || batch > ws->max_batch || !rng) return NULL;
    return forward(m, m, ws, x, batch, rng);
}

/* Layer i is a tiling max-pool over a BatchNorm whose ReLU is fused into it: backward can take all three at once. */
static int bn_relu_pool(const dd_model_spec *s, const dd_workspace *ws, int i) {
    const dd_layer_spec *l = &s->layers[i];
    return l->kind == DD_LAYER_MAXPOOL && l->u.pool.stride == l->u.pool.size && i >= 2 &&
           ws->layers[i - 1].fused_away && s->layers[i - 2].kind == DD_LAYER_BATCHNORM && ws->layers[i - 2].fused_relu;
}

void dd_workspace_set_grads_final(dd_workspace *ws, dd_grads_final_fn fn, void *ctx) {
    ws->grads_final = fn;
    ws->grads_final_ctx = ctx;
}

/* Where layer l's parameters start in the block (its gradients are final once it is done), or `cur` if it has
 * none: the block is laid out layer by layer, first to last. */
static size_t params_from(const dd_layer_spec *l, size_t cur) {
    if (l->weight.count && l->weight.offset < cur) cur = l->weight.offset;
    if (l->bias.count && l->bias.offset < cur) cur = l->bias.offset;
    return cur;
}

/* The loss against labels, or against soft targets when labels is NULL. */
static float backward(const dd_model *m, dd_workspace *ws, const int32_t *labels, const float *targets, int batch,
                      float *grads) {
    const dd_model_spec *s = m->spec;
    dd_pool *pool = ws->pool;
    const float *logits = ws->layers[s->n_layers - 1].out;
    float *g = ws->grad[0], *other = ws->grad[1];
    float loss;
    if (labels) {
        loss = dd_softmax_xent_forward(ws->probs, logits, labels, batch, s->classes);
        dd_softmax_xent_backward(g, ws->probs, labels, batch, s->classes);
    } else {
        loss = dd_softmax_xent_soft_forward(ws->probs, logits, targets, batch, s->classes);
        dd_softmax_xent_soft_backward(g, ws->probs, targets, batch, s->classes);
    }
    const float *P = m->params;
    size_t final_from = s->n_params; /* grads [final_from, n_params) are final */
    for (int i = s->n_layers - 1; i >= 0; i--) {
        if (ws->grads_final && i < s->n_layers - 1) ws->grads_final(ws->grads_final_ctx, final_from);
        const dd_layer_spec *l = &s->layers[i];
        const layer_ws *w = &ws->layers[i];
        const float *in = i ? ws->layers[i - 1].out : ws->input;
        float *din = i ? other : NULL; /* the input image needs no gradient… */
        final_from = params_from(l, final_from);
        size_t n = (size_t)batch * out_count(l), n_in = (size_t)batch * dd_shape_count(l->in);
        int swap = 1;
        switch (l->kind) {
        case DD_LAYER_CONV2D: {
            if (l->u.conv.activation == DD_ACT_RELU) dd_fast_relu_backward(pool, g, g, w->out, n);
            dd_conv2d_dims d = conv_dims(l, batch);
            dd_fast_conv2d_backward(pool, &ws->fast, din, grads + l->weight.offset,
                                    l->bias.count ? grads + l->bias.offset : NULL, g, in, P + l->weight.offset, &d);
            break;
        }
        case DD_LAYER_DENSE:
            if (l->u.dense.activation == DD_ACT_RELU) dd_fast_relu_backward(pool, g, g, w->out, n);
            dd_fast_dense_backward(pool, din, grads + l->weight.offset, l->bias.count ? grads + l->bias.offset : NULL,
                                   g, in, P + l->weight.offset, batch, (int)dd_shape_count(l->in), l->u.dense.units);
            break;
        case DD_LAYER_BATCHNORM: /* …but a first BatchNorm still owes its parameters' gradients */
            dd_fast_batchnorm_backward(pool, din, grads + l->weight.offset, grads + l->bias.offset, g, w->out, in,
                                       P + l->weight.offset, w->mean, w->inv_std, batch, l->in.c,
                                       l->in.rank == 3 ? l->in.h * l->in.w : 1, w->fused_relu);
            break;
        case DD_LAYER_ACTIVATION:
            if (!w->fused_away && l->u.activation == DD_ACT_RELU) dd_fast_relu_backward(pool, g, g, w->out, n);
            swap = 0; /* the gradient stays where it is */
            break;
        case DD_LAYER_MAXPOOL:
            if (bn_relu_pool(s, ws, i)) { /* through the ReLU and the BatchNorm below in one pass */
                const int bi = i - 2;
                const dd_layer_spec *bn = &s->layers[bi];
                const layer_ws *bw = &ws->layers[bi];
                float *dbn = bi ? other : NULL;
                dd_fast_bn_relu_pool_backward(pool, dbn, grads + bn->weight.offset, grads + bn->bias.offset, g, w->out,
                                              w->argmax, bi ? ws->layers[bi - 1].out : ws->input,
                                              P + bn->weight.offset, bw->mean, bw->inv_std, batch, l->in.c, l->in.h,
                                              l->in.w, l->u.pool.size);
                if (dbn) {
                    other = g;
                    g = dbn;
                }
                i = bi; /* the ReLU and the BatchNorm are done */
                final_from = params_from(bn, final_from);
                continue;
            }
            if (din)
                dd_fast_maxpool_backward(pool, din, g, w->argmax, batch, l->in.c, l->in.h, l->in.w, l->u.pool.size,
                                         l->u.pool.stride);
            break;
        case DD_LAYER_FLATTEN: swap = 0; break;
        case DD_LAYER_DROPOUT:
            if (din) dd_dropout_backward(din, g, w->mask, n_in);
            break;
        default: break;
        }
        if (swap && din) {
            other = g;
            g = din;
        }
    }
    if (ws->grads_final) ws->grads_final(ws->grads_final_ctx, final_from);
    return loss;
}

float dd_model_backward(const dd_model *m, dd_workspace *ws, const int32_t *labels, int batch, float *grads) {
    return backward(m, ws, labels, NULL, batch, grads);
}

float dd_model_backward_soft(const dd_model *m, dd_workspace *ws, const float *targets, int batch, float *grads) {
    return backward(m, ws, NULL, targets, batch, grads);
}

/* Backward through the inference pass, for explanations (saliency, Grad-CAM): BatchNorm is the fixed affine map of
 * its running statistics, dropout the identity, so the result is the gradient of the very function
 * dd_model_infer computed. */
int dd_model_backward_infer(const dd_model *m, dd_workspace *ws, const float *dlogits, int batch, int stop_after,
                            float *dx) {
    const dd_model_spec *s = m->spec;
    if (!ws->training || batch < 1 || batch > ws->max_batch || stop_after < -1 || stop_after >= s->n_layers - 1)
        return -1;
    float *g = ws->grad[0], *other = ws->grad[1];
    memcpy(g, dlogits, (size_t)batch * s->classes * sizeof *g);
    const float *P = m->params;
    for (int i = s->n_layers - 1; i > stop_after; i--) {
        const dd_layer_spec *l = &s->layers[i];
        const layer_ws *w = &ws->layers[i];
        const float *in = i ? ws->layers[i - 1].out : ws->input;
        float *din = other;
        size_t n = (size_t)batch * out_count(l);
        int swap = 1;
        switch (l->kind) {
        case DD_LAYER_CONV2D: {
            if (l->u.conv.activation == DD_ACT_RELU) dd_relu_backward(g, g, w->out, n);
            dd_conv2d_dims d = conv_dims(l, batch);
            dd_conv2d_backward(din, NULL, NULL, g, in, P + l->weight.offset, &d, ws->scratch);
            break;
        }
        case DD_LAYER_DENSE:
            if (l->u.dense.activation == DD_ACT_RELU) dd_relu_backward(g, g, w->out, n);
            dd_dense_backward(din, NULL, NULL, g, in, P + l->weight.offset, batch, (int)dd_shape_count(l->in),
                              l->u.dense.units);
            break;
        case DD_LAYER_BATCHNORM: {
            int channels = l->in.c, spatial = l->in.rank == 3 ? l->in.h * l->in.w : 1;
            const float *var = m->state + l->running_var.offset, *gamma = P + l->weight.offset;
            for (int b = 0; b < batch; b++)
                for (int c = 0; c < channels; c++) {
                    float k = gamma[c] * (float)(1.0 / sqrt((double)var[c] + l->u.bn.epsilon));
                    size_t at = ((size_t)b * channels + c) * spatial;
                    for (int p = 0; p < spatial; p++) din[at + p] = g[at + p] * k;
                }
            break;
        }
        case DD_LAYER_ACTIVATION:
            if (l->u.activation == DD_ACT_RELU) dd_relu_backward(g, g, w->out, n);
            swap = 0;
            break;
        case DD_LAYER_MAXPOOL:
            dd_maxpool_backward(din, g, w->argmax, batch, l->in.c, l->in.h, l->in.w, l->out.h, l->out.w);
            break;
        case DD_LAYER_FLATTEN:
        case DD_LAYER_DROPOUT: swap = 0; break;
        default: break;
        }
        if (swap) {
            other = g;
            g = din;
        }
    }
    size_t n_out = (size_t)batch * (stop_after >= 0 ? out_count(&s->layers[stop_after]) : dd_shape_count(s->input));
    memcpy(dx, g, n_out * sizeof *dx);
    return 0;
}

const float *dd_workspace_probs(const dd_workspace *ws) { return ws->probs; }

const float *dd_workspace_layer_output(const dd_workspace *ws, int i) {
    return i >= 0 && i < ws->n_layers ? ws->layers[i].out : NULL;
}
