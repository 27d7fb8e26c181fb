/* Running a model: the workspace, the forward passes (inference and training) and backward, layer by layer over
 * the kernels of include/doodle/layers.h.
 *
 * Memory: every layer writes its own output buffer, except those that need none: ReLU layers work in place on
 * their input (no layer's backward needs its own output, so overwriting it is safe) and flatten is a view of
 * its input. Backward ping-pongs between two gradient buffers as large as the largest activation. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "doodle/layers.h"
#include "doodle/model.h"
#include "util/alloc.h"

typedef struct layer_ws {
    float *out;            /* [max_batch * out count]; aliases the input for in-place layers */
    int owns_out;
    float *mean, *inv_std; /* batchnorm, training */
    int32_t *argmax;       /* maxpool */
    float *mask;           /* dropout, training */
} layer_ws;

struct dd_workspace {
    int max_batch;
    bool training;
    int n_layers;
    layer_ws *layers;
    float *scratch; /* conv im2col */
    float *probs;   /* [max_batch * classes] */
    float *grad[2]; /* [max_batch * largest activation], training */
    const float *input;
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

void dd_workspace_free(dd_workspace *ws) {
    if (!ws) return;
    for (int i = 0; i < ws->n_layers; i++) {
        layer_ws *w = &ws->layers[i];
        if (w->owns_out) free(w->out);
        free(w->mean);
        free(w->inv_std);
        free(w->argmax);
        free(w->mask);
    }
    free(ws->layers);
    free(ws->scratch);
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
    dd_workspace *ws = dd_calloc(1, sizeof *ws, err);
    if (!ws) return NULL;
    ws->max_batch = max_batch;
    ws->training = training;
    ws->n_layers = s->n_layers;
    if (!(ws->layers = dd_calloc((size_t)s->n_layers, sizeof *ws->layers, err))) goto fail;
    size_t largest = dd_shape_count(s->input), scratch = 0, B = (size_t)max_batch;
    for (int i = 0; i < s->n_layers; i++) {
        const dd_layer_spec *l = &s->layers[i];
        layer_ws *w = &ws->layers[i];
        size_t n = out_count(l);
        if (n > largest) largest = n;
        if (in_place(s, i)) {
            w->out = ws->layers[i - 1].out;
        } else {
            if (!(w->out = dd_malloc(B * n, sizeof *w->out, err))) goto fail;
            w->owns_out = 1;
        }
        if (l->kind == DD_LAYER_MAXPOOL && !(w->argmax = dd_malloc(B * n, sizeof *w->argmax, err))) goto fail;
        if (l->kind == DD_LAYER_CONV2D) {
            dd_conv2d_dims d = conv_dims(l, max_batch);
            size_t need = dd_conv2d_scratch_size(&d);
            if (need > scratch) scratch = need;
        }
        if (!training) continue;
        if (l->kind == DD_LAYER_BATCHNORM) {
            if (!(w->mean = dd_malloc((size_t)l->in.c, sizeof *w->mean, err))) goto fail;
            if (!(w->inv_std = dd_malloc((size_t)l->in.c, sizeof *w->inv_std, err))) goto fail;
        } else if (l->kind == DD_LAYER_DROPOUT) {
            if (!(w->mask = dd_malloc(B * n, sizeof *w->mask, err))) goto fail;
        }
    }
    if (scratch && !(ws->scratch = dd_malloc(scratch, sizeof *ws->scratch, err))) goto fail;
    if (!(ws->probs = dd_malloc(B * (size_t)s->classes, sizeof *ws->probs, err))) goto fail;
    if (training)
        for (int k = 0; k < 2; k++)
            if (!(ws->grad[k] = dd_malloc(B * largest, sizeof *ws->grad[k], err))) goto fail;
    return ws;
fail:
    dd_workspace_free(ws);
    return NULL;
}

static void apply_activation(dd_activation a, float *x, size_t n) {
    if (a == DD_ACT_RELU) dd_relu_forward(x, x, n);
}

/* The forward pass shared by inference (rng == NULL) and training. */
static const float *forward(dd_model *m, const dd_model *cm, dd_workspace *ws, const float *x, int batch, dd_rng *rng) {
    const dd_model_spec *s = cm->spec;
    const int training = rng != NULL;
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
            dd_conv2d_forward(w->out, in, P + l->weight.offset, l->bias.count ? P + l->bias.offset : NULL, &d,
                              ws->scratch);
            apply_activation(l->u.conv.activation, w->out, n);
            break;
        }
        case DD_LAYER_DENSE:
            dd_dense_forward(w->out, in, P + l->weight.offset, l->bias.count ? P + l->bias.offset : NULL, batch,
                             (int)dd_shape_count(l->in), l->u.dense.units);
            apply_activation(l->u.dense.activation, w->out, n);
            break;
        case DD_LAYER_BATCHNORM: {
            int channels = l->in.c, spatial = l->in.rank == 3 ? l->in.h * l->in.w : 1;
            if (training)
                dd_batchnorm_forward_train(w->out, w->mean, w->inv_std, in, P + l->weight.offset, P + l->bias.offset,
                                           m->state + l->running_mean.offset, m->state + l->running_var.offset, batch,
                                           channels, spatial, l->u.bn.momentum, l->u.bn.epsilon);
            else
                dd_batchnorm_forward_infer(w->out, in, P + l->weight.offset, P + l->bias.offset,
                                           cm->state + l->running_mean.offset, cm->state + l->running_var.offset, batch,
                                           channels, spatial, l->u.bn.epsilon);
            break;
        }
        case DD_LAYER_ACTIVATION:
            if (w->out != in) memcpy(w->out, in, n * sizeof *in); /* only when it is the first layer */
            apply_activation(l->u.activation, w->out, n);
            break;
        case DD_LAYER_MAXPOOL:
            dd_maxpool_forward(w->out, w->argmax, in, batch, l->in.c, l->in.h, l->in.w, l->u.pool.size,
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

float dd_model_backward(const dd_model *m, dd_workspace *ws, const int32_t *labels, int batch, float *grads) {
    const dd_model_spec *s = m->spec;
    const float *logits = ws->layers[s->n_layers - 1].out;
    float loss = dd_softmax_xent_forward(ws->probs, logits, labels, batch, s->classes);
    float *g = ws->grad[0], *other = ws->grad[1];
    dd_softmax_xent_backward(g, ws->probs, labels, batch, s->classes);
    const float *P = m->params;
    for (int i = s->n_layers - 1; i >= 0; i--) {
        const dd_layer_spec *l = &s->layers[i];
        const layer_ws *w = &ws->layers[i];
        const float *in = i ? ws->layers[i - 1].out : ws->input;
        float *din = i ? other : NULL; /* the input image needs no gradient… */
        size_t n = (size_t)batch * out_count(l), n_in = (size_t)batch * dd_shape_count(l->in);
        int swap = 1;
        switch (l->kind) {
        case DD_LAYER_CONV2D: {
            if (l->u.conv.activation == DD_ACT_RELU) dd_relu_backward(g, g, w->out, n);
            dd_conv2d_dims d = conv_dims(l, batch);
            dd_conv2d_backward(din, grads + l->weight.offset, l->bias.count ? grads + l->bias.offset : NULL, g, in,
                               P + l->weight.offset, &d, ws->scratch);
            break;
        }
        case DD_LAYER_DENSE:
            if (l->u.dense.activation == DD_ACT_RELU) dd_relu_backward(g, g, w->out, n);
            dd_dense_backward(din, grads + l->weight.offset, l->bias.count ? grads + l->bias.offset : NULL, g, in,
                              P + l->weight.offset, batch, (int)dd_shape_count(l->in), l->u.dense.units);
            break;
        case DD_LAYER_BATCHNORM: /* …but a first BatchNorm still owes its parameters' gradients */
            dd_batchnorm_backward(din ? din : other, grads + l->weight.offset, grads + l->bias.offset, g, in,
                                  P + l->weight.offset, w->mean, w->inv_std, batch, l->in.c,
                                  l->in.rank == 3 ? l->in.h * l->in.w : 1);
            break;
        case DD_LAYER_ACTIVATION:
            if (l->u.activation == DD_ACT_RELU) dd_relu_backward(g, g, w->out, n);
            swap = 0; /* the gradient stays where it is */
            break;
        case DD_LAYER_MAXPOOL:
            if (din)
                dd_maxpool_backward(din, g, w->argmax, batch, l->in.c, l->in.h, l->in.w, l->out.h, l->out.w);
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
    return loss;
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
