/* MaxPool2D and ReLU fast paths: image planes (pooling) or ranges of values (ReLU) split across the threads. */
#include <string.h>

#include "nn/fast.h"

typedef struct pool_job {
    float *out, *din;
    int32_t *argmax_out;
    const int32_t *argmax;
    const float *in, *dout;
    int planes, in_h, in_w, out_h, out_w, size, stride;
} pool_job;

static void forward_part(void *ctx, int t, int threads) {
    const pool_job *j = ctx;
    const size_t in_hw = (size_t)j->in_h * j->in_w, out_hw = (size_t)j->out_h * j->out_w;
    size_t lo, hi;
    dd_split((size_t)j->planes, t, threads, &lo, &hi);
    for (size_t plane = lo; plane < hi; plane++) {
        const float *x = j->in + plane * in_hw;
        float *o = j->out + plane * out_hw;
        int32_t *a = j->argmax_out + plane * out_hw;
        for (int oy = 0; oy < j->out_h; oy++)
            for (int ox = 0; ox < j->out_w; ox++) {
                int32_t best = oy * j->stride * j->in_w + ox * j->stride;
                float v = x[best];
                for (int i = 0; i < j->size; i++) {
                    const float *row = x + (size_t)(oy * j->stride + i) * j->in_w + ox * j->stride;
                    for (int k = 0; k < j->size; k++)
                        if (row[k] > v) { /* strict: the first maximum wins a tie, as in the reference */
                            v = row[k];
                            best = (int32_t)(row + k - x);
                        }
                }
                o[oy * j->out_w + ox] = v;
                a[oy * j->out_w + ox] = best;
            }
    }
}

void dd_fast_maxpool_forward(dd_pool *pool, float *out, int32_t *argmax, const float *in, int batch, int channels,
                             int in_h, int in_w, int pool_size, int stride) {
    pool_job j = {.out = out, .argmax_out = argmax, .in = in, .planes = batch * channels, .in_h = in_h, .in_w = in_w,
                  .out_h = dd_maxpool_out_size(in_h, pool_size, stride),
                  .out_w = dd_maxpool_out_size(in_w, pool_size, stride), .size = pool_size, .stride = stride};
    dd_pool_run(pool, forward_part, &j);
}

static void backward_part(void *ctx, int t, int threads) {
    const pool_job *j = ctx;
    const size_t in_hw = (size_t)j->in_h * j->in_w, out_hw = (size_t)j->out_h * j->out_w;
    size_t lo, hi;
    dd_split((size_t)j->planes, t, threads, &lo, &hi);
    memset(j->din + lo * in_hw, 0, sizeof *j->din * (hi - lo) * in_hw);
    for (size_t plane = lo; plane < hi; plane++)
        for (size_t p = 0; p < out_hw; p++)
            j->din[plane * in_hw + j->argmax[plane * out_hw + p]] += j->dout[plane * out_hw + p];
}

void dd_fast_maxpool_backward(dd_pool *pool, float *din, const float *dout, const int32_t *argmax, int batch,
                              int channels, int in_h, int in_w, int out_h, int out_w) {
    pool_job j = {.din = din, .argmax = argmax, .dout = dout, .planes = batch * channels, .in_h = in_h,
                  .in_w = in_w, .out_h = out_h, .out_w = out_w};
    dd_pool_run(pool, backward_part, &j);
}

typedef struct relu_job {
    float *out;
    const float *in, *dout, *fwd_out;
    size_t n;
} relu_job;

static void relu_forward_part(void *ctx, int t, int threads) {
    const relu_job *j = ctx;
    size_t lo, hi;
    dd_split(j->n, t, threads, &lo, &hi);
    dd_relu_forward(j->out + lo, j->in + lo, hi - lo);
}

void dd_fast_relu_forward(dd_pool *pool, float *out, const float *in, size_t n) {
    relu_job j = {.out = out, .in = in, .n = n};
    dd_pool_run(pool, relu_forward_part, &j);
}

static void relu_backward_part(void *ctx, int t, int threads) {
    const relu_job *j = ctx;
    size_t lo, hi;
    dd_split(j->n, t, threads, &lo, &hi);
    dd_relu_backward(j->out + lo, j->dout + lo, j->fwd_out + lo, hi - lo);
}

void dd_fast_relu_backward(dd_pool *pool, float *din, const float *dout, const float *out, size_t n) {
    relu_job j = {.out = din, .dout = dout, .fwd_out = out, .n = n};
    dd_pool_run(pool, relu_backward_part, &j);
}
