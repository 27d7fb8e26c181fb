/* Softmax and cross-entropy over rows of logits. The row maximum is subtracted before exp so that large logits do
 * not overflow, and the loss is taken as log-sum-exp minus the label's logit rather than -log(prob), which would
 * give infinity once a probability underflows to 0. */
#include <assert.h>
#include <math.h>

#include "doodle/layers.h"

/* probs[row] = softmax(logits[row]); returns log(sum(exp(logit - max))) + max, the row's log-sum-exp. */
static double softmax_row(float *probs, const float *logits, int classes) {
    float max = logits[0];
    for (int k = 1; k < classes; k++)
        if (logits[k] > max) max = logits[k];
    double sum = 0.0;
    for (int k = 0; k < classes; k++) sum += exp((double)logits[k] - max);
    // cppcheck-suppress invalidFunctionArg ; sum >= 1: the largest logit's term is exp(0)
    double lse = log(sum) + max;
    for (int k = 0; k < classes; k++) probs[k] = (float)exp((double)logits[k] - lse);
    return lse;
}

float dd_softmax_xent_forward(float *probs, const float *logits, const int32_t *labels, int batch, int classes) {
    double loss = 0.0;
    for (int b = 0; b < batch; b++) {
        assert(labels[b] >= 0 && labels[b] < classes);
        double target = logits[(size_t)b * classes + labels[b]]; /* read first: probs may be logits */
        loss += softmax_row(probs + (size_t)b * classes, logits + (size_t)b * classes, classes) - target;
    }
    return batch > 0 ? (float)(loss / batch) : 0.0f;
}

void dd_softmax_xent_backward(float *dlogits, const float *probs, const int32_t *labels, int batch, int classes) {
    float inv_b = 1.0f / (float)batch;
    for (int b = 0; b < batch; b++)
        for (int k = 0; k < classes; k++) {
            size_t i = (size_t)b * classes + k;
            dlogits[i] = (probs[i] - (k == labels[b] ? 1.0f : 0.0f)) * inv_b;
        }
}

void dd_softmax_forward(float *probs, const float *logits, int batch, int classes) {
    for (int b = 0; b < batch; b++) softmax_row(probs + (size_t)b * classes, logits + (size_t)b * classes, classes);
}

float dd_softmax_xent_soft_forward(float *probs, const float *logits, const float *targets, int batch, int classes) {
    double loss = 0.0;
    for (int b = 0; b < batch; b++) {
        const float *z = logits + (size_t)b * classes, *t = targets + (size_t)b * classes;
        double dot = 0.0, mass = 0.0; /* read first: probs may be logits */
        for (int k = 0; k < classes; k++) {
            dot += (double)t[k] * z[k];
            mass += t[k];
        }
        /* -sum_k t_k log p_k = sum_k t_k (lse - z_k) */
        loss += mass * softmax_row(probs + (size_t)b * classes, z, classes) - dot;
    }
    return batch > 0 ? (float)(loss / batch) : 0.0f;
}

void dd_softmax_xent_soft_backward(float *dlogits, const float *probs, const float *targets, int batch, int classes) {
    float inv_b = 1.0f / (float)batch;
    for (size_t i = 0; i < (size_t)batch * classes; i++) dlogits[i] = (probs[i] - targets[i]) * inv_b;
}
