/* Running a model: the forward passes (inference and training), backward, and backward to the input for
 * explanations. Each is a loop over a plan that the workspace compiled from the spec (src/nn/workspace.c): a step is
 * one layer kind's op (src/nn/op_<kind>.c) over the fast kernels of nn/fast.h (threaded, fused: conv + bias + ReLU,
 * BatchNorm + ReLU, in inference a BatchNorm folded into the conv before it; in training a 2x2 max-pool taken from
 * each image or plane of the conv's or BatchNorm's output as it is written, and backward through BatchNorm + ReLU +
 * a tiling max-pool, or conv + ReLU + a tiling max-pool, in one pass). The tests hold the fast kernels to the reference
 * ones of include/doodle/layers.h. Threads: the workspace's pool (dd_workspace_set_threads). Between steps, training's
 * backward tells a hook how far its gradients are final (nn/backward_hook.h: data-parallel training sums them while
 * backward goes on). */
#include <string.h>

#include "nn/workspace.h"

static nn_pass pass_of(dd_workspace *ws, const float *params, float *state, int batch) {
    return (nn_pass){
        .pool = ws->pool, .fast = &ws->fast, .scratch = ws->scratch, .batch = batch, .params = params, .state = state};
}

/* The input of a step (or layer) whose first layer is i. */
static const float *input_of(const dd_workspace *ws, int i) { return i ? ws->layers[i - 1].out : ws->input; }

/* The forward pass shared by inference (rng == NULL: state is only read) and training. */
static const float *forward(const dd_model *m, float *state, dd_workspace *ws, const float *x, int batch, dd_rng *rng) {
    nn_pass p = pass_of(ws, m->params, state, batch);
    p.rng = rng;
    ws->input = x;
    const float *in = x;
    for (int k = 0; k < ws->forward.n; k++) {
        const nn_step *st = &ws->forward.steps[k];
        st->forward(st, &p, in);
        in = st->out;
    }
    return in;
}

const float *dd_model_infer(const dd_model *m, dd_workspace *ws, const float *x, int batch) {
    if (batch < 1 || batch > ws->max_batch) return NULL;
    return forward(m, (float *)m->state, ws, x, batch, NULL); /* not written without rng */
}

const float *dd_model_forward_train(dd_model *m, dd_workspace *ws, const float *x, int batch, dd_rng *rng) {
    if (!ws->training || batch < 1 || batch > ws->max_batch || !rng) return NULL;
    return forward(m, m->state, ws, x, batch, rng);
}

/* Where a step's parameters start in the block (its gradients are final once it is done), or `cur` if it has none:
 * the block is laid out layer by layer, first to last. */
static size_t params_from(const nn_step *st, size_t cur) {
    for (int j = 0; j < st->count; j++) {
        const dd_layer_spec *l = &st->l[j];
        if (l->weight.count && l->weight.offset < cur) cur = l->weight.offset;
        if (l->bias.count && l->bias.offset < cur) cur = l->bias.offset;
    }
    return cur;
}

/* The loss against labels, or against soft targets when labels is NULL. */
static float backward(const dd_model *m, dd_workspace *ws, const int32_t *labels, const float *targets, int batch,
                      float *grads) {
    const dd_model_spec *s = m->spec;
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
    nn_pass p = pass_of(ws, m->params, m->state, batch);
    p.grads = grads;
    size_t final_from = s->n_params; /* grads [final_from, n_params) are final */
    for (int k = ws->backward.n - 1; k >= 0; k--) {
        const nn_step *st = &ws->backward.steps[k];
        if (ws->grads_final && k < ws->backward.n - 1) ws->grads_final(ws->grads_final_ctx, final_from);
        final_from = params_from(st, final_from);
        float *din = st->first ? other : NULL; /* the input image needs no gradient */
        if (st->backward(st, &p, input_of(ws, st->first), g, din) && din) {
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
 * dd_model_infer computed. Layer by layer (the caller may stop after any), with the reference kernels. */
int dd_model_backward_infer(const dd_model *m, dd_workspace *ws, const float *dlogits, int batch, int stop_after,
                            float *dx) {
    const dd_model_spec *s = m->spec;
    if (!ws->training || batch < 1 || batch > ws->max_batch || stop_after < -1 || stop_after >= s->n_layers - 1)
        return -1;
    float *g = ws->grad[0], *other = ws->grad[1];
    memcpy(g, dlogits, (size_t)batch * s->classes * sizeof *g);
    nn_pass p = pass_of(ws, m->params, m->state, batch);
    for (int i = s->n_layers - 1; i > stop_after; i--) {
        nn_step st = {.first = i, .count = 1, .l = &s->layers[i], .w = &ws->layers[i], .out = ws->layers[i].out};
        if (nn_op_of(st.l->kind)->backward_input(&st, &p, input_of(ws, i), g, other)) {
            float *t = other;
            other = g;
            g = t;
        }
    }
    dd_shape at = stop_after >= 0 ? s->layers[stop_after].out : s->input;
    size_t n_out = (size_t)batch * dd_shape_count(at);
    memcpy(dx, g, n_out * sizeof *dx);
    return 0;
}
