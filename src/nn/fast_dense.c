/* Dense fast path: the output units (forward, weight gradient) and the input units (input gradient) are split
 * across the threads, so every value is one thread's single-threaded sgemm and no sums are shared. */
#include <cblas.h>

#include "nn/fast.h"

typedef struct dense_job {
    float *out, *din, *dweight, *dbias;
    const float *in, *dout, *weight, *bias;
    int batch, n_in, n_out;
    bool relu, gemv;
} dense_job;

/* Below this many images inference multiplies each by the weights (sgemv): sgemm would first copy (pack) the whole
 * weight matrix, which for one drawing costs more than the product (mnist28's 3136x128: 60% of a drawing). */
#define GEMV_BELOW 4
/* Below this many multiply-adds inference runs a dense layer on the calling thread alone: waking the others costs
 * more (seed's last two layers, 64x32 and 32x5, for one drawing). */
#define ALONE_BELOW 32768.0

static void dense_forward_part(void *ctx, int t, int threads) {
    const dense_job *j = ctx;
    size_t lo, hi;
    util_share((size_t)j->n_out, t, threads, &lo, &hi);
    int n = (int)(hi - lo);
    if (n == 0) return;
    /* out[:, lo..hi) = in [B, n_in] x W[lo..hi)^T */
    if (j->gemv)
        for (int b = 0; b < j->batch; b++)
            cblas_sgemv(CblasRowMajor, CblasNoTrans, n, j->n_in, 1.0f, j->weight + lo * j->n_in, j->n_in,
                        j->in + (size_t)b * j->n_in, 1, 0.0f, j->out + (size_t)b * j->n_out + lo, 1);
    else
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, j->batch, n, j->n_in, 1.0f, j->in, j->n_in,
                    j->weight + lo * j->n_in, j->n_in, 0.0f, j->out + lo, j->n_out);
    for (int b = 0; b < j->batch; b++) {
        float *r = j->out + (size_t)b * j->n_out + lo;
        for (int o = 0; o < n; o++) {
            float v = r[o] + (j->bias ? j->bias[lo + o] : 0.0f);
            r[o] = j->relu && !(v > 0.0f) ? 0.0f : v;
        }
    }
}

void nn_fast_dense_forward(util_pool *pool, float *out, const float *in, const float *weight, const float *bias,
                           int batch, int n_in, int n_out, bool relu) {
    dense_job j = {.out = out,
                   .in = in,
                   .weight = weight,
                   .bias = bias,
                   .batch = batch,
                   .n_in = n_in,
                   .n_out = n_out,
                   .relu = relu};
    util_pool_run(pool, dense_forward_part, &j);
}

void nn_fast_dense_forward_infer(util_pool *pool, float *out, const float *in, const float *weight, const float *bias,
                                 int batch, int n_in, int n_out, bool relu) {
    dense_job j = {.out = out,
                   .in = in,
                   .weight = weight,
                   .bias = bias,
                   .batch = batch,
                   .n_in = n_in,
                   .n_out = n_out,
                   .relu = relu,
                   .gemv = batch < GEMV_BELOW};
    if (batch >= GEMV_BELOW && (double)batch * n_in * n_out >= ALONE_BELOW && nn_fast_dense_dot_applies(batch, n_in))
        nn_fast_dense_dot_forward(pool, out, in, weight, bias, batch, n_in, n_out, relu);
    else if ((double)batch * n_in * n_out < ALONE_BELOW)
        dense_forward_part(&j, 0, 1);
    else
        util_pool_run(pool, dense_forward_part, &j);
}

static void dense_backward_part(void *ctx, int t, int threads) {
    const dense_job *j = ctx;
    size_t lo, hi;
    util_share((size_t)j->n_out, t, threads, &lo, &hi);
    if (hi > lo && j->dweight) /* dW[lo..hi) += dout[:, lo..hi)^T x in */
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)(hi - lo), j->n_in, j->batch, 1.0f, j->dout + lo,
                    j->n_out, j->in, j->n_in, 1.0f, j->dweight + lo * j->n_in, j->n_in);
    if (j->dbias)
        for (size_t o = lo; o < hi; o++) {
            double s = 0.0;
            for (int b = 0; b < j->batch; b++) s += j->dout[(size_t)b * j->n_out + o];
            j->dbias[o] += (float)s;
        }
    if (!j->din) return;
    util_share((size_t)j->n_in, t, threads, &lo, &hi);
    if (hi > lo) /* din[:, lo..hi) = dout [B, n_out] x W[:, lo..hi) */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, j->batch, (int)(hi - lo), j->n_out, 1.0f, j->dout,
                    j->n_out, j->weight + lo, j->n_in, 0.0f, j->din + lo, j->n_in);
}

void nn_fast_dense_backward(util_pool *pool, float *din, float *dweight, float *dbias, const float *dout,
                            const float *in, const float *weight, int batch, int n_in, int n_out) {
    dense_job j = {.din = din,
                   .dweight = dweight,
                   .dbias = dbias,
                   .dout = dout,
                   .in = in,
                   .weight = weight,
                   .batch = batch,
                   .n_in = n_in,
                   .n_out = n_out};
    util_pool_run(pool, dense_backward_part, &j);
}
