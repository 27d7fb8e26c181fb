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

/* The common 2x2 window, stride 2, unrolled; the same rule (first maximum in row-major order wins a tie). */
static void pool2x2(float *restrict o, int32_t *restrict a, const float *restrict x, int in_w, int out_h, int out_w) {
    for (int oy = 0; oy < out_h; oy++) {
        const float *r0 = x + (size_t)(2 * oy) * in_w, *r1 = r0 + in_w;
        int32_t base = 2 * oy * in_w;
        for (int ox = 0; ox < out_w; ox++) {
            float v = r0[2 * ox];
            int32_t best = base + 2 * ox;
            if (r0[2 * ox + 1] > v) v = r0[2 * ox + 1], best = base + 2 * ox + 1;
            if (r1[2 * ox] > v) v = r1[2 * ox], best = base + in_w + 2 * ox;
            if (r1[2 * ox + 1] > v) v = r1[2 * ox + 1], best = base + in_w + 2 * ox + 1;
            o[oy * out_w + ox] = v;
            a[oy * out_w + ox] = best;
        }
    }
}

static void pool_forward_part(void *ctx, int t, int threads) {
    const pool_job *j = ctx;
    const size_t in_hw = (size_t)j->in_h * j->in_w, out_hw = (size_t)j->out_h * j->out_w;
    size_t lo, hi;
    util_share((size_t)j->planes, t, threads, &lo, &hi);
    for (size_t plane = lo; plane < hi; plane++) {
        const float *x = j->in + plane * in_hw;
        float *o = j->out + plane * out_hw;
        int32_t *a = j->argmax_out + plane * out_hw;
        if (j->size == 2 && j->stride == 2) {
            pool2x2(o, a, x, j->in_w, j->out_h, j->out_w);
            continue;
        }
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

void nn_fast_maxpool_forward(util_pool *pool, float *out, int32_t *argmax, const float *in, int batch, int channels,
                             int in_h, int in_w, int pool_size, int stride) {
    pool_job j = {.out = out,
                  .argmax_out = argmax,
                  .in = in,
                  .planes = batch * channels,
                  .in_h = in_h,
                  .in_w = in_w,
                  .out_h = dd_maxpool_out_size(in_h, pool_size, stride),
                  .out_w = dd_maxpool_out_size(in_w, pool_size, stride),
                  .size = pool_size,
                  .stride = stride};
    util_pool_run(pool, pool_forward_part, &j);
}

/* Windows that tile the input (stride = size): each band of rows is cleared and its maxima written while it is in
 * cache, instead of a clearing pass over the whole input gradient first. Overlapping windows add up, after a
 * clearing pass. */
static void pool_backward_part(void *ctx, int t, int threads) {
    const pool_job *j = ctx;
    const size_t in_hw = (size_t)j->in_h * j->in_w, out_hw = (size_t)j->out_h * j->out_w;
    const int tiles = j->stride == j->size, k = j->size;
    size_t lo, hi;
    util_share((size_t)j->planes, t, threads, &lo, &hi);
    for (size_t plane = lo; plane < hi; plane++) {
        float *din = j->din + plane * in_hw;
        const float *g = j->dout + plane * out_hw;
        const int32_t *a = j->argmax + plane * out_hw;
        if (!tiles) {
            memset(din, 0, sizeof *din * in_hw);
            for (size_t p = 0; p < out_hw; p++) din[a[p]] += g[p];
            continue;
        }
        const int used_w = j->out_w * k;
        for (int oy = 0; oy < j->out_h; oy++) {
            for (int i = 0; i < k; i++) {
                float *row = din + (size_t)(oy * k + i) * j->in_w;
                memset(row, 0, sizeof *row * (size_t)used_w);
                memset(row + used_w, 0, sizeof *row * (size_t)(j->in_w - used_w));
            }
            for (int ox = 0; ox < j->out_w; ox++) din[a[oy * j->out_w + ox]] = g[oy * j->out_w + ox];
        }
        size_t done = (size_t)j->out_h * k * j->in_w;
        memset(din + done, 0, sizeof *din * (in_hw - done));
    }
}

void nn_fast_maxpool_backward(util_pool *pool, float *din, const float *dout, const int32_t *argmax, int batch,
                              int channels, int in_h, int in_w, int pool_size, int stride) {
    pool_job j = {.din = din,
                  .argmax = argmax,
                  .dout = dout,
                  .planes = batch * channels,
                  .in_h = in_h,
                  .in_w = in_w,
                  .out_h = dd_maxpool_out_size(in_h, pool_size, stride),
                  .out_w = dd_maxpool_out_size(in_w, pool_size, stride),
                  .size = pool_size,
                  .stride = stride};
    util_pool_run(pool, pool_backward_part, &j);
}

typedef struct relu_job {
    float *out;
    const float *in, *dout, *fwd_out;
    size_t n;
} relu_job;

static void relu_forward_part(void *ctx, int t, int threads) {
    const relu_job *j = ctx;
    size_t lo, hi;
    util_share(j->n, t, threads, &lo, &hi);
    dd_relu_forward(j->out + lo, j->in + lo, hi - lo);
}

void nn_fast_relu_forward(util_pool *pool, float *out, const float *in, size_t n) {
    relu_job j = {.out = out, .in = in, .n = n};
    util_pool_run(pool, relu_forward_part, &j);
}

static void relu_backward_part(void *ctx, int t, int threads) {
    const relu_job *j = ctx;
    size_t lo, hi;
    util_share(j->n, t, threads, &lo, &hi);
    dd_relu_backward(j->out + lo, j->dout + lo, j->fwd_out + lo, hi - lo);
}

void nn_fast_relu_backward(util_pool *pool, float *din, const float *dout, const float *out, size_t n) {
    relu_job j = {.out = din, .dout = dout, .fwd_out = out, .n = n};
    util_pool_run(pool, relu_backward_part, &j);
}
