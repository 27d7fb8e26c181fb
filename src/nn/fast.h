/* The fast paths of the layers: the same functions as include/doodle/layers.h (the plain reference, which the
 * tests hold these to), split across a thread pool and with the passes that follow a layer fused into it.
 *
 * Work is split statically (util/thread_pool.h), and every value is computed by one thread in a fixed order, so the
 * same thread count gives the same bits. Sums over the batch that several threads share (parameter gradients) are
 * made in per-thread buffers and added in thread order. BLAS is called single-threaded from these threads. */
#ifndef DOODLE_NN_FAST_H
#define DOODLE_NN_FAST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "doodle/layers.h"
#include "util/thread_pool.h"

/* Per-thread scratch: thread t uses the slice at t * stride of col and dbias, and thread t >= 1 the slice at
 * (t - 1) * stride of dweight (thread 0 adds straight into the gradient block). */
typedef struct nn_fast_scratch {
    float *col; /* im2col columns: floats per thread = col_stride */
    size_t col_stride;
    float *dweight; /* parameter-gradient partial sums of threads 1..: floats per thread = dweight_stride */
    size_t dweight_stride;
    double *dbias; /* conv bias-gradient partial sums: doubles per thread = dbias_stride */
    size_t dbias_stride;
} nn_fast_scratch;

/* Floats of scratch one thread needs for a conv layer in inference and training's forward: one image's im2col
 * columns, or the direct 3x3 kernel's, or the Winograd kernel's. */
size_t nn_fast_conv2d_col_size(const dd_conv2d_dims *d);

/* dd_conv2d_forward, then + bias and ReLU when relu is set. */
void nn_fast_conv2d_forward(util_pool *pool, const nn_fast_scratch *s, float *out, const float *in, const float *weight,
                            const float *bias, const dd_conv2d_dims *d, bool relu);
/* Inference: nn_fast_conv2d_forward, by the Winograd kernel or the direct 3x3 one (nn_fast_winograd_forward,
 * nn_fast_conv3x3_forward) when they apply (their sums in another order than the GEMM's). pool2 (only where the
 * direct kernel applies, maps at least 2x2): out is the 2x2, stride 2 max-pool of the result. cache: the Winograd
 * kernel's (NULL: none kept). Training runs the Winograd kernel too where it applies (nn_fast_winograd_forward_train,
 * and for backward nn_fast_winograd_din_* and nn_fast_winograd_dweight_*), the rest by im2col + GEMM. */
void nn_fast_conv2d_forward_infer(util_pool *pool, const nn_fast_scratch *s, float *cache, float *out, const float *in,
                                  const float *weight, const float *bias, const dd_conv2d_dims *d, bool relu,
                                  bool pool2);

/* Training's conv (its ReLU) -> a 2x2, stride 2 max-pool: nn_fast_conv2d_forward (by the Winograd kernel where it
 * applies) into out, and each image's maps pooled into pooled and argmax (as nn_fast_maxpool_forward) while they
 * are in cache, instead of in a pass over the batch's. */
void nn_fast_conv2d_forward_pool2(util_pool *pool, const nn_fast_scratch *s, float *out, float *pooled, int32_t *argmax,
                                  const float *in, const float *weight, const float *bias, const dd_conv2d_dims *d,
                                  bool relu);

/* The instruction sets of the hand-vectorised kernels, chosen at run time (the best this CPU has). */
typedef enum nn_fast_isa { NN_FAST_GENERIC, NN_FAST_AVX2, NN_FAST_AVX512 } nn_fast_isa;
nn_fast_isa nn_fast_isa_best(void);
const char *nn_fast_isa_name(nn_fast_isa isa);

/* Direct 3x3, stride 1, "same" convolution (src/nn/fast_conv3x3.c) for layers where nn_fast_conv3x3_applies, then
 * (pool2) a 2x2, stride 2 max-pool (floor rule) of its maps before they leave the cache; the per-thread scratch is
 * s->col, nn_fast_conv3x3_scratch_size floats each (nn_fast_conv2d_col_size counts them). */
bool nn_fast_conv3x3_applies(const dd_conv2d_dims *d);
size_t nn_fast_conv3x3_scratch_size(const dd_conv2d_dims *d);
void nn_fast_conv3x3_forward(util_pool *pool, const nn_fast_scratch *s, float *out, const float *in,
                             const float *weight, const float *bias, const dd_conv2d_dims *d, bool relu, bool pool2,
                             nn_fast_isa isa);
/* Training's: nn_fast_conv3x3_forward (no pool2), and when pooled is set each image's maps 2x2-pooled into pooled
 * and argmax while they are in cache, on a batch of at least as many images as threads. */
void nn_fast_conv3x3_forward_train(util_pool *pool, const nn_fast_scratch *s, float *out, float *pooled,
                                   int32_t *argmax, const float *in, const float *weight, const float *bias,
                                   const dd_conv2d_dims *d, bool relu, nn_fast_isa isa);
/* The same convolution by Winograd's F(2x2, 3x3) (src/nn/fast_winograd.c), for layers where
 * nn_fast_winograd_applies (enough input channels); the scratch is s->col, nn_fast_winograd_scratch_size floats per
 * thread (nn_fast_conv2d_col_size counts them). Its sums run in another order than the direct kernel's: within 1e-4
 * of the reference, the same bits on any thread count. cache (nn_fast_winograd_cache_size floats, or NULL: thread
 * 0's scratch) keeps the transformed weights from one pass to the next while the weights stay the same. */
bool nn_fast_winograd_applies(const dd_conv2d_dims *d);
size_t nn_fast_winograd_scratch_size(const dd_conv2d_dims *d);
size_t nn_fast_winograd_cache_size(const dd_conv2d_dims *d);
void nn_fast_winograd_forward(util_pool *pool, const nn_fast_scratch *s, float *cache, float *out, const float *in,
                              const float *weight, const float *bias, const dd_conv2d_dims *d, bool relu, bool pool2,
                              nn_fast_isa isa);
/* Training's: nn_fast_winograd_forward (no cache, no pool2), and when pooled is set each image's maps 2x2-pooled
 * into pooled and argmax while they are in cache, on a batch of at least as many images as threads. */
void nn_fast_winograd_forward_train(util_pool *pool, const nn_fast_scratch *s, float *out, float *pooled,
                                    int32_t *argmax, const float *in, const float *weight, const float *bias,
                                    const dd_conv2d_dims *d, bool relu, nn_fast_isa isa);
/* The input gradient of a 3x3 "same" conv by the Winograd kernel, where nn_fast_winograd_din_applies: the conv of
 * the output gradient with the weights turned half a turn, input and output channels swapped. prepare turns and
 * transforms the weights into cache (nn_fast_winograd_din_cache_size floats); then one image at a time, on any
 * thread, with work (nn_fast_winograd_din_scratch_size floats of its own). */
bool nn_fast_winograd_din_applies(const dd_conv2d_dims *d);
size_t nn_fast_winograd_din_scratch_size(const dd_conv2d_dims *d);
size_t nn_fast_winograd_din_cache_size(const dd_conv2d_dims *d);
void nn_fast_winograd_din_prepare(util_pool *pool, float *cache, const float *weight, const dd_conv2d_dims *d);
void nn_fast_winograd_din_image(float *work, const float *cache, float *din, const float *dout, const dd_conv2d_dims *d,
                                nn_fast_isa isa);

/* The weight gradient of a 3x3 "same" conv by Winograd's transforms, where nn_fast_winograd_applies: image by image
 * on one thread (begin, add each image's input and output gradient, end), with work of its own
 * (nn_fast_winograd_dweight_scratch_size floats, kept between the calls); end sets dweight (add: adds to it). Its
 * sums run in another order than im2col + GEMM's: within 1e-4 of the reference. */
typedef struct nn_fast_wino_dw {
    float *work;
    int tiles; /* in the chunk not yet summed */
} nn_fast_wino_dw;
size_t nn_fast_winograd_dweight_scratch_size(const dd_conv2d_dims *d);
void nn_fast_winograd_dweight_begin(nn_fast_wino_dw *s, float *work, const dd_conv2d_dims *d);
void nn_fast_winograd_dweight_add(nn_fast_wino_dw *s, const float *in, const float *dout, const dd_conv2d_dims *d);
void nn_fast_winograd_dweight_end(nn_fast_wino_dw *s, float *dweight, bool add, const dd_conv2d_dims *d);

/* Floats of scratch one thread needs for a conv layer in training's backward (nn_fast_conv2d_backward and
 * _pooled): the im2col columns or the Winograd input gradient's work, then one image's output gradient. */
size_t nn_fast_conv2d_train_col_size(const dd_conv2d_dims *d);
/* dd_conv2d_backward (dweight, dbias accumulated; any of din, dweight, dbias may be NULL). din_cache (NULL: none):
 * nn_fast_winograd_din_cache_size floats where nn_fast_winograd_din_applies, and then the input gradient is made by
 * the Winograd kernel instead of a GEMM and col2im (its sums in another order: within 1e-4 of the reference, the
 * same bits on any thread count). */
void nn_fast_conv2d_backward(util_pool *pool, const nn_fast_scratch *s, float *din, float *dweight, float *dbias,
                             const float *dout, const float *in, const float *weight, const dd_conv2d_dims *d,
                             float *din_cache);
/* A max-pool whose windows tile the conv's ReLU output (stride = size), for nn_fast_conv2d_backward_pooled: its
 * output and winners [B, C, out_h, out_w] (argmax: the winner's index in its channel's plane of the conv output). */
typedef struct nn_fast_pool_after {
    const float *out;
    const int32_t *argmax;
    int out_h, out_w;
} nn_fast_pool_after;
/* Backward through conv (with its ReLU) -> that max-pool from the gradient of the pool's output (dout [B, C,
 * out_h, out_w]): each image's conv output gradient (the pool's gradient at each window's winner where the ReLU
 * passed it) is made in the thread's scratch, while it is in cache, and never written for the batch. The same bits
 * as the max-pool's backward, the ReLU's and nn_fast_conv2d_backward one after the other. Its scratch per thread:
 * nn_fast_conv2d_train_col_size floats. */
void nn_fast_conv2d_backward_pooled(util_pool *pool, const nn_fast_scratch *s, float *din, float *dweight, float *dbias,
                                    const float *dout, const nn_fast_pool_after *after, const float *in,
                                    const float *weight, const dd_conv2d_dims *d, float *din_cache);

/* dd_dense_forward, then ReLU when relu is set. */
void nn_fast_dense_forward(util_pool *pool, float *out, const float *in, const float *weight, const float *bias,
                           int batch, int n_in, int n_out, bool relu);
/* Inference: the same, by sgemv per image for a few images (no packing of the weights; the sums in another order,
 * so training keeps nn_fast_dense_forward). */
void nn_fast_dense_forward_infer(util_pool *pool, float *out, const float *in, const float *weight, const float *bias,
                                 int batch, int n_in, int n_out, bool relu);
/* Inference for a batch with AVX-512 (src/nn/fast_dense_dot.c): dot products along the weights' rows, threads over
 * images, any thread count the same bits; nn_fast_dense_forward_infer calls it where it applies. */
bool nn_fast_dense_dot_applies(int batch, int n_in);
void nn_fast_dense_dot_forward(util_pool *pool, float *out, const float *in, const float *weight, const float *bias,
                               int batch, int n_in, int n_out, bool relu);
/* dd_dense_backward (dweight, dbias may be NULL; din may be NULL). */
void nn_fast_dense_backward(util_pool *pool, float *din, float *dweight, float *dbias, const float *dout,
                            const float *in, const float *weight, int batch, int n_in, int n_out);

/* dd_batchnorm_forward_train / _infer, then ReLU when relu is set (a following [activation] relu fused in). */
void nn_fast_batchnorm_forward_train(util_pool *pool, float *out, float *mean, float *inv_std, const float *in,
                                     const float *gamma, const float *beta, float *running_mean, float *running_var,
                                     int batch, int channels, int spatial, float momentum, float eps, bool relu);
/* Training's BatchNorm -> ReLU -> 2x2 max-pool: nn_fast_batchnorm_forward_train (relu) into out [B, C, h, w], and
 * each plane pooled into pooled and argmax (as nn_fast_maxpool_forward) as soon as it is written, in cache. */
void nn_fast_batchnorm_relu_pool2_train(util_pool *pool, float *out, float *pooled, int32_t *argmax, float *mean,
                                        float *inv_std, const float *in, const float *gamma, const float *beta,
                                        float *running_mean, float *running_var, int batch, int channels, int h, int w,
                                        float momentum, float eps);
void nn_fast_batchnorm_forward_infer(util_pool *pool, float *out, const float *in, const float *gamma,
                                     const float *beta, const float *running_mean, const float *running_var, int batch,
                                     int channels, int spatial, float eps, bool relu);
/* dd_batchnorm_backward; with relu, dout is first zeroed where out (the fused ReLU's output) is not positive. din
 * may be NULL. */
void nn_fast_batchnorm_backward(util_pool *pool, float *din, float *dgamma, float *dbeta, const float *dout,
                                const float *out, const float *in, const float *gamma, const float *mean,
                                const float *inv_std, int batch, int channels, int spatial, bool relu);

void nn_fast_maxpool_forward(util_pool *pool, float *out, int32_t *argmax, const float *in, int batch, int channels,
                             int in_h, int in_w, int pool_size, int stride);
/* The 2x2, stride 2 max-pool of one image's planes, on the calling thread. */
void nn_fast_maxpool2x2_image(float *out, int32_t *argmax, const float *in, int planes, int in_h, int in_w);
void nn_fast_maxpool_backward(util_pool *pool, float *din, const float *dout, const int32_t *argmax, int batch,
                              int channels, int in_h, int in_w, int pool_size, int stride);

/* Backward through BatchNorm -> ReLU -> MaxPool (stride = pool size) in one go, from the gradient of the pool's
 * output to that of the BatchNorm's input: the ReLU's and the pool's gradients are never written out. Every pool
 * window passes its gradient to one input (its maximum, when that is positive), so the BatchNorm sums need only
 * the pool's outputs and the inputs at the maxima, and the input gradient is one pass over the maps.
 * dout, pool_out, argmax [B, C, OH, OW]; x (the BatchNorm's input) and din [B, C, H, W]; din may be NULL. */
void nn_fast_bn_relu_pool_backward(util_pool *pool, float *din, float *dgamma, float *dbeta, const float *dout,
                                   const float *pool_out, const int32_t *argmax, const float *x, const float *gamma,
                                   const float *mean, const float *inv_std, int batch, int channels, int in_h, int in_w,
                                   int pool_size);

/* Adam's update (Keras' form, the bias corrections folded into lr_t) and SGD's with momentum, over n parameters:
 * weight decay p -= decay * p first where mask (NULL: everywhere) is set. */
typedef struct nn_fast_adam {
    float beta1, beta2, epsilon, lr_t, decay;
} nn_fast_adam;
void nn_fast_adam_update(float *restrict p, float *restrict m, float *restrict v, const float *restrict g,
                         const uint8_t *restrict mask, size_t n, const nn_fast_adam *a);
void nn_fast_sgd_update(float *restrict p, float *restrict m, const float *restrict g, const uint8_t *restrict mask,
                        size_t n, float mu, float lr, float decay, bool nesterov);

/* ReLU over n values (in place allowed) and its backward. */
void nn_fast_relu_forward(util_pool *pool, float *out, const float *in, size_t n);
void nn_fast_relu_backward(util_pool *pool, float *din, const float *dout, const float *out, size_t n);

#endif
