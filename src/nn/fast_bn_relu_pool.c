/* The backward pass of BatchNorm -> ReLU -> MaxPool fused (nn/fast.h): in seed and doodle28 these three follow
 * every conv, on the largest maps of the network, and done one by one they stream those maps five times (pool
 * gradient written, then read twice with the input and the ReLU's output by BatchNorm). Here the BatchNorm sums
 * come from the pool's windows alone (a quarter of the values for 2x2) and the input gradient is written in one
 * pass, channels split across the threads. */
#include <string.h>

#include "nn/fast.h"

typedef struct fused_job {
    float *din, *dgamma, *dbeta;
    const float *dout, *pool_out, *x, *gamma, *mean, *inv_std;
    const int32_t *argmax;
    int batch, channels, in_h, in_w, out_h, out_w;
} fused_job;

static void fused_part(void *ctx, int t, int threads) {
    const fused_job *j = ctx;
    const size_t in_hw = (size_t)j->in_h * j->in_w, out_hw = (size_t)j->out_h * j->out_w;
    const double n = (double)j->batch * (double)in_hw;
    size_t lo, hi;
    util_share((size_t)j->channels, t, threads, &lo, &hi);
    for (size_t c = lo; c < hi; c++) {
        const float m = j->mean[c], is = j->inv_std[c];
        /* g is dout at each window's maximum where the ReLU passed it (pool output > 0), 0 everywhere else */
        double sum_g = 0.0, sum_gx = 0.0;
        for (int b = 0; b < j->batch; b++) {
            size_t plane = (size_t)b * j->channels + c;
            const float *g = j->dout + plane * out_hw, *y = j->pool_out + plane * out_hw, *x = j->x + plane * in_hw;
            const int32_t *a = j->argmax + plane * out_hw;
            double sg = 0.0, sgx = 0.0;
            for (size_t p = 0; p < out_hw; p++)
                if (y[p] > 0.0f) {
                    sg += g[p];
                    sgx += g[p] * ((x[a[p]] - m) * is);
                }
            sum_g += sg;
            sum_gx += sgx;
        }
        j->dgamma[c] += (float)sum_gx;
        j->dbeta[c] += (float)sum_g;
        if (!j->din) continue;
        /* din = k * (g - mean(g) - xhat * mean(g * xhat)), k = gamma * inv_std: the part every value has, then g */
        const float k = j->gamma[c] * is, mg = (float)(sum_g / n), mgx = (float)(sum_gx / n);
        const float scale = -k * is * mgx, shift = -k * mg + k * is * mgx * m; /* k * (-mg - (x - m) * is * mgx) */
        for (int b = 0; b < j->batch; b++) {
            size_t plane = (size_t)b * j->channels + c;
            const float *x = j->x + plane * in_hw, *g = j->dout + plane * out_hw, *y = j->pool_out + plane * out_hw;
            const int32_t *a = j->argmax + plane * out_hw;
            float *restrict d = j->din + plane * in_hw;
            for (size_t e = 0; e < in_hw; e++) d[e] = x[e] * scale + shift;
            for (size_t p = 0; p < out_hw; p++)
                if (y[p] > 0.0f) d[a[p]] += k * g[p];
        }
    }
}

void nn_fast_bn_relu_pool_backward(util_pool *pool, float *din, float *dgamma, float *dbeta, const float *dout,
                                   const float *pool_out, const int32_t *argmax, const float *x, const float *gamma,
                                   const float *mean, const float *inv_std, int batch, int channels, int in_h, int in_w,
                                   int pool_size) {
    fused_job j = {.din = din,
                   .dgamma = dgamma,
                   .dbeta = dbeta,
                   .dout = dout,
                   .pool_out = pool_out,
                   .x = x,
                   .gamma = gamma,
                   .mean = mean,
                   .inv_std = inv_std,
                   .argmax = argmax,
                   .batch = batch,
                   .channels = channels,
                   .in_h = in_h,
                   .in_w = in_w,
                   .out_h = dd_maxpool_out_size(in_h, pool_size, pool_size),
                   .out_w = dd_maxpool_out_size(in_w, pool_size, pool_size)};
    util_pool_run(pool, fused_part, &j);
}
