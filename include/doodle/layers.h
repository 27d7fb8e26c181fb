/* The CNN layers as plain forward/backward function pairs over float arrays (llm.c style).
 *
 * Layout: activations are NCHW (batch, channels, height, width), row-major, as in PyTorch, so weights load into
 * the PyTorch peers unchanged: conv weight [out_c, in_c, kh, kw], dense weight [out, in]. Every backward
 * function ACCUMULATES (+=) into parameter gradients (dweight, dbias, dgamma, dbeta) so one zeroed gradient block
 * serves a whole step, and OVERWRITES din (the gradient for the layer's input). din may be NULL when the input
 * needs no gradient (the first layer); dweight and dbias may be NULL when only din is wanted (explanations). Shapes are
 * in the comment of each function. */
#ifndef DOODLE_LAYERS_H
#define DOODLE_LAYERS_H

#include <stddef.h>
#include <stdint.h>

#include "doodle/rng.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Conv2D (im2col + sgemm) ---- */

typedef struct dd_conv2d_dims {
    int batch;
    int in_c, in_h, in_w;
    int out_c, out_h, out_w;
    int kernel_h, kernel_w;
    int stride;
    int pad_top, pad_left; /* zero padding; bottom/right padding follows from the output size */
} dd_conv2d_dims;

/* Keras' padding rules: "valid" (no padding, out = floor((in - k) / s) + 1) or "same" (out = ceil(in / s), the
 * total padding split with the extra pixel at the bottom/right). Fills the output size and the padding. Returns -1
 * when the kernel does not fit ("valid" with k > in) or a size is not positive. */
int dd_conv2d_dims_init(dd_conv2d_dims *d, int batch, int in_c, int in_h, int in_w, int out_c, int kernel_h,
                        int kernel_w, int stride, int same_padding);
/* Floats of scratch (im2col buffer) the forward and backward passes need. */
size_t dd_conv2d_scratch_size(const dd_conv2d_dims *d);

/* in [B, in_c, in_h, in_w], weight [out_c, in_c, kh, kw], bias [out_c] (may be NULL) -> out [B, out_c, out_h, out_w] */
void dd_conv2d_forward(float *out, const float *in, const float *weight, const float *bias, const dd_conv2d_dims *d,
                       float *scratch);
/* dout [B, out_c, out_h, out_w] -> din [B, in_c, in_h, in_w] (may be NULL), dweight += , dbias += (may be NULL) */
void dd_conv2d_backward(float *din, float *dweight, float *dbias, const float *dout, const float *in,
                        const float *weight, const dd_conv2d_dims *d, float *scratch);

/* ---- Dense (fully connected) ---- */

/* in [B, n_in], weight [n_out, n_in], bias [n_out] (may be NULL) -> out [B, n_out] */
void dd_dense_forward(float *out, const float *in, const float *weight, const float *bias, int batch, int n_in,
                      int n_out);
/* dout [B, n_out] -> din [B, n_in] (may be NULL), dweight += [n_out, n_in], dbias += [n_out] (may be NULL) */
void dd_dense_backward(float *din, float *dweight, float *dbias, const float *dout, const float *in,
                       const float *weight, int batch, int n_in, int n_out);

/* ---- BatchNormalization (per channel over batch and space; Keras defaults momentum 0.99, epsilon 0.001) ---- */

/* Training: in [B, C, S] (S = H*W, 1 after a dense layer) -> out, using the batch's mean and (biased) variance;
 * saves mean [C] and inv_std [C] = 1/sqrt(var + eps) for backward, and updates the running statistics as Keras and
 * PyTorch do: running = momentum * running + (1 - momentum) * batch, with the unbiased variance for running_var. */
void dd_batchnorm_forward_train(float *out, float *mean, float *inv_std, const float *in, const float *gamma,
                                const float *beta, float *running_mean, float *running_var, int batch, int channels,
                                int spatial, float momentum, float eps);
/* Inference: normalises with the running statistics. */
void dd_batchnorm_forward_infer(float *out, const float *in, const float *gamma, const float *beta,
                                const float *running_mean, const float *running_var, int batch, int channels,
                                int spatial, float eps);
/* dout [B, C, S] -> din, dgamma += [C], dbeta += [C] (training-mode gradient through the batch statistics) */
void dd_batchnorm_backward(float *din, float *dgamma, float *dbeta, const float *dout, const float *in,
                           const float *gamma, const float *mean, const float *inv_std, int batch, int channels,
                           int spatial);

/* ---- ReLU ---- */

/* in [n] -> out [n]; out may equal in */
void dd_relu_forward(float *out, const float *in, size_t n);
/* din = dout where out > 0, else 0; din may equal dout */
void dd_relu_backward(float *din, const float *dout, const float *out, size_t n);

/* ---- MaxPool2D (Keras' floor rule: out = floor((in - pool) / stride) + 1, e.g. 61 -> 15 with pool 4) ---- */

/* Returns the output size along one axis, or 0 when pool > in. */
int dd_maxpool_out_size(int in, int pool, int stride);
/* in [B, C, H, W] -> out [B, C, OH, OW]; argmax [B*C*OH*OW] records the input index (within the image plane) of
 * each maximum (the first one on ties) for backward */
void dd_maxpool_forward(float *out, int32_t *argmax, const float *in, int batch, int channels, int in_h, int in_w,
                        int pool, int stride);
/* dout [B, C, OH, OW] -> din [B, C, H, W] (zeroed, then each gradient routed to its maximum) */
void dd_maxpool_backward(float *din, const float *dout, const int32_t *argmax, int batch, int channels, int in_h,
                         int in_w, int out_h, int out_w);

/* ---- GlobalAveragePooling2D (each channel's mean over the image) ---- */

/* in [B, C, S] (S = H*W) -> out [B, C] */
void dd_globalavgpool_forward(float *out, const float *in, int batch, int channels, int spatial);
/* dout [B, C] -> din [B, C, S] (each input gets its channel's gradient / S) */
void dd_globalavgpool_backward(float *din, const float *dout, int batch, int channels, int spatial);

/* ---- Dropout (inverted: kept units are scaled by 1 / (1 - rate) in training; identity in inference) ---- */

/* in [n] -> out [n]; mask [n] receives 0 or 1/(1-rate) from rng */
void dd_dropout_forward(float *out, float *mask, const float *in, size_t n, float rate, dd_rng *rng);
void dd_dropout_backward(float *din, const float *dout, const float *mask, size_t n);

/* ---- Softmax + cross-entropy ---- */

/* logits [B, K], labels [B] -> probs [B, K]; returns the mean loss over the batch (natural log) */
float dd_softmax_xent_forward(float *probs, const float *logits, const int32_t *labels, int batch, int classes);
/* dlogits = (probs - onehot(labels)) / B */
void dd_softmax_xent_backward(float *dlogits, const float *probs, const int32_t *labels, int batch, int classes);
/* Soft targets [B, K], each row summing to 1 (label smoothing, mixup): the mean of -sum_k t_k log p_k, and
 * dlogits = (probs - targets) / B */
float dd_softmax_xent_soft_forward(float *probs, const float *logits, const float *targets, int batch, int classes);
void dd_softmax_xent_soft_backward(float *dlogits, const float *probs, const float *targets, int batch, int classes);
/* probs [B, K] from logits, no loss (inference) */
void dd_softmax_forward(float *probs, const float *logits, int batch, int classes);

/* ---- Initialisation (Keras defaults) ---- */

/* Glorot (Xavier) uniform: U(-limit, limit), limit = sqrt(6 / (fan_in + fan_out)). */
void dd_glorot_uniform(float *w, size_t n, int fan_in, int fan_out, dd_rng *rng);

#ifdef __cplusplus
}
#endif
#endif
