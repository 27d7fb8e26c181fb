/* BatchNorm fast path: channels split across the threads (a channel's statistics are one thread's), the ReLU that
 * follows fused into the same pass, and sums over an image plane kept in eight float lanes (vectorised) before
 * they are added in double. */
#include <math.h>

#include "nn/fast.h"

typedef struct bn_job {
    float *out, *din, *dgamma, *dbeta, *mean, *inv_std, *running_mean, *running_var;
    const float *in, *dout, *fused_out, *gamma, *beta, *const_mean, *const_var, *const_inv_std;
    int batch, channels, spatial;
    float momentum, eps;
    bool relu;
} bn_job;

static double plane_sum(const float *x, int n) {
    float acc[8] = {0};
    int i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++) acc[k] += x[i + k];
    double s = 0.0;
    for (int k = 0; k < 8; k++) s += acc[k];
    for (; i < n; i++) s += x[i];
    return s;
}

static double plane_sq_dev(const float *x, int n, float mu) {
    float acc[8] = {0};
    int i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++) acc[k] += (x[i + k] - mu) * (x[i + k] - mu);
    double s = 0.0;
    for (int k = 0; k < 8; k++) s += acc[k];
    for (; i < n; i++) s += (double)(x[i] - mu) * (x[i] - mu);
    return s;
}

/* y = x * k + c, then ReLU when asked */
static void affine(float *y, const float *x, int n, float k, float c, bool relu) {
    if (relu)
        for (int i = 0; i < n; i++) {
            float v = x[i] * k + c;
            y[i] = v > 0.0f ? v : 0.0f;
        }
    else
        for (int i = 0; i < n; i++) y[i] = x[i] * k + c;
}

static void train_part(void *ctx, int t, int threads) {
    const bn_job *j = ctx;
    const int S = j->spatial, C = j->channels;
    const double n = (double)j->batch * S;
    size_t lo, hi;
    dd_split((size_t)C, t, threads, &lo, &hi);
    for (size_t c = lo; c < hi; c++) {
        double sum = 0.0;
        for (int b = 0; b < j->batch; b++) sum += plane_sum(j->in + ((size_t)b * C + c) * S, S);
        double mu = sum / n;
        double sq = 0.0;
        for (int b = 0; b < j->batch; b++) sq += plane_sq_dev(j->in + ((size_t)b * C + c) * S, S, (float)mu);
        double var = sq / n;
        j->mean[c] = (float)mu;
        j->inv_std[c] = (float)(1.0 / sqrt(var + j->eps));
        float k = j->gamma[c] * j->inv_std[c], shift = j->beta[c] - j->mean[c] * k;
        for (int b = 0; b < j->batch; b++) {
            size_t at = ((size_t)b * C + c) * S;
            affine(j->out + at, j->in + at, S, k, shift, j->relu);
        }
        double unbiased = n > 1.0 ? sq / (n - 1.0) : var;
        j->running_mean[c] = (float)(j->momentum * (double)j->running_mean[c] + (1.0 - j->momentum) * mu);
        j->running_var[c] = (float)(j->momentum * (double)j->running_var[c] + (1.0 - j->momentum) * unbiased);
    }
}

void dd_fast_batchnorm_forward_train(dd_pool *pool, float *out, float *mean, float *inv_std, const float *in,
                                     const float *gamma, const float *beta, float *running_mean, float *running_var,
                                     int batch, int channels, int spatial, float momentum, float eps, bool relu) {
    bn_job j = {.out = out, .mean = mean, .inv_std = inv_std, .in = in, .gamma = gamma, .beta = beta,
                .running_mean = running_mean, .running_var = running_var, .batch = batch, .channels = channels,
                .spatial = spatial, .momentum = momentum, .eps = eps, .relu = relu};
    dd_pool_run(pool, train_part, &j);
}

static void infer_part(void *ctx, int t, int threads) {
    const bn_job *j = ctx;
    const int S = j->spatial, C = j->channels;
    /* with one image and one channel per thread at most, split the planes too: a batch of 1 still uses every core */
    size_t lo, hi;
    dd_split((size_t)C * j->batch, t, threads, &lo, &hi);
    for (size_t bc = lo; bc < hi; bc++) {
        size_t c = bc % (size_t)C;
        float k = j->gamma[c] * (float)(1.0 / sqrt((double)j->const_var[c] + j->eps));
        affine(j->out + bc * S, j->in + bc * S, S, k, j->beta[c] - j->const_mean[c] * k, j->relu);
    }
}

void dd_fast_batchnorm_forward_infer(dd_pool *pool, float *out, const float *in, const float *gamma,
                                     const float *beta, const float *running_mean, const float *running_var, int batch,
                                     int channels, int spatial, float eps, bool relu) {
    bn_job j = {.out = out, .in = in, .gamma = gamma, .beta = beta, .const_mean = running_mean,
                .const_var = running_var, .batch = batch, .channels = channels, .spatial = spatial, .eps = eps,
                .relu = relu};
    dd_pool_run(pool, infer_part, &j);
}

/* din = inv_std * gamma * (g - mean(g) - xhat * mean(g * xhat)), g = dout (masked by the fused ReLU) */
static void backward_part(void *ctx, int t, int threads) {
    const bn_job *j = ctx;
    const int S = j->spatial, C = j->channels;
    const double n = (double)j->batch * S;
    size_t lo, hi;
    dd_split((size_t)C, t, threads, &lo, &hi);
    for (size_t c = lo; c < hi; c++) {
        const float m = j->const_mean[c], is = j->const_inv_std[c];
        double sum_g = 0.0, sum_gx = 0.0;
        for (int b = 0; b < j->batch; b++) {
            size_t at = ((size_t)b * C + c) * S;
            const float *x = j->in + at, *g = j->dout + at, *y = j->fused_out + at;
            float ag[8] = {0}, agx[8] = {0};
            int i = 0;
            for (; i + 8 <= S; i += 8)
                for (int k = 0; k < 8; k++) {
                    float gi = j->relu && !(y[i + k] > 0.0f) ? 0.0f : g[i + k];
                    ag[k] += gi;
                    agx[k] += gi * ((x[i + k] - m) * is);
                }
            for (int k = 0; k < 8; k++) sum_g += ag[k], sum_gx += agx[k];
            for (; i < S; i++) {
                float gi = j->relu && !(y[i] > 0.0f) ? 0.0f : g[i];
                sum_g += gi;
                sum_gx += gi * ((x[i] - m) * is);
            }
        }
        j->dgamma[c] += (float)sum_gx;
        j->dbeta[c] += (float)sum_g;
        if (!j->din) continue;
        const float mg = (float)(sum_g / n), mgx = (float)(sum_gx / n), k = j->gamma[c] * is;
        for (int b = 0; b < j->batch; b++) {
            size_t at = ((size_t)b * C + c) * S;
            const float *x = j->in + at, *g = j->dout + at, *y = j->fused_out + at;
            float *dx = j->din + at;
            for (int i = 0; i < S; i++) {
                float gi = j->relu && !(y[i] > 0.0f) ? 0.0f : g[i];
                dx[i] = k * (gi - mg - (x[i] - m) * is * mgx);
            }
        }
    }
}

void dd_fast_batchnorm_backward(dd_pool *pool, float *din, float *dgamma, float *dbeta, const float *dout,
                                const float *out, const float *in, const float *gamma, const float *mean,
                                const float *inv_std, int batch, int channels, int spatial, bool relu) {
    bn_job j = {.din = din, .dgamma = dgamma, .dbeta = dbeta, .dout = dout, .fused_out = out, .in = in,
                .gamma = gamma, .const_mean = mean, .const_inv_std = inv_std, .batch = batch, .channels = channels,
                .spatial = spatial, .relu = relu};
    dd_pool_run(pool, backward_part, &j);
}
