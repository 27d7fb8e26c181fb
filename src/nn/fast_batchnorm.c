/* BatchNorm fast path: channels split across the threads (a channel's statistics are one thread's), the ReLU that
 * follows fused into the same pass, and sums over an image plane kept in eight float lanes (vectorised) before
 * they are added in double. */
#include <math.h>
#include <string.h>

#include "nn/fast.h"

typedef struct bn_job {
    float *out, *din, *dgamma, *dbeta, *mean, *inv_std, *running_mean, *running_var;
    const float *in, *dout, *fused_out, *gamma, *beta, *const_mean, *const_var, *const_inv_std;
    int batch, channels, spatial;
    float momentum, eps;
    bool relu;
    float *pooled;   /* training: each plane 2x2-pooled here once it is written, while in cache (NULL: not) */
    int32_t *argmax; /* and the pool's winners */
    int h, w;        /* the planes' shape, for the pool */
} bn_job;

/* Eight float lanes (GCC/clang vector extensions): loops the compiler will not vectorise by itself, because they
 * sum floats in an order it may not change, written in that order explicitly. */
typedef float v8f __attribute__((vector_size(32)));
typedef int v8i __attribute__((vector_size(32)));

static inline v8f load8(const float *p) {
    v8f v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline double lanes_sum(v8f v) {
    double s = 0.0;
    for (int k = 0; k < 8; k++) s += v[k];
    return s;
}

static double plane_sum(const float *x, int n) {
    v8f acc = {0};
    int i = 0;
    for (; i + 8 <= n; i += 8) acc += load8(x + i);
    double s = lanes_sum(acc);
    for (; i < n; i++) s += x[i];
    return s;
}

static double plane_sq_dev(const float *x, int n, float mu) {
    v8f acc = {0};
    const v8f vm = {mu, mu, mu, mu, mu, mu, mu, mu};
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        v8f t = load8(x + i) - vm;
        acc += t * t;
    }
    double s = lanes_sum(acc);
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

static void bn_train_part(void *ctx, int t, int threads) {
    const bn_job *j = ctx;
    const int S = j->spatial, C = j->channels;
    const double n = (double)j->batch * S;
    size_t lo, hi;
    util_share((size_t)C, t, threads, &lo, &hi);
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
        const size_t Q = (size_t)(j->h / 2) * (size_t)(j->w / 2);
        for (int b = 0; b < j->batch; b++) {
            size_t at = ((size_t)b * C + c) * S;
            affine(j->out + at, j->in + at, S, k, shift, j->relu);
            if (j->pooled)
                nn_fast_maxpool2x2_image(j->pooled + ((size_t)b * C + c) * Q, j->argmax + ((size_t)b * C + c) * Q,
                                         j->out + at, 1, j->h, j->w);
        }
        double unbiased = n > 1.0 ? sq / (n - 1.0) : var;
        j->running_mean[c] = (float)(j->momentum * (double)j->running_mean[c] + (1.0 - j->momentum) * mu);
        j->running_var[c] = (float)(j->momentum * (double)j->running_var[c] + (1.0 - j->momentum) * unbiased);
    }
}

static bn_job train_job(float *out, float *mean, float *inv_std, const float *in, const float *gamma, const float *beta,
                        float *running_mean, float *running_var, int batch, int channels, int spatial, float momentum,
                        float eps, bool relu) {
    return (bn_job){.out = out,
                    .mean = mean,
                    .inv_std = inv_std,
                    .in = in,
                    .gamma = gamma,
                    .beta = beta,
                    .running_mean = running_mean,
                    .running_var = running_var,
                    .batch = batch,
                    .channels = channels,
                    .spatial = spatial,
                    .momentum = momentum,
                    .eps = eps,
                    .relu = relu};
}

void nn_fast_batchnorm_forward_train(util_pool *pool, float *out, float *mean, float *inv_std, const float *in,
                                     const float *gamma, const float *beta, float *running_mean, float *running_var,
                                     int batch, int channels, int spatial, float momentum, float eps, bool relu) {
    bn_job j = train_job(out, mean, inv_std, in, gamma, beta, running_mean, running_var, batch, channels, spatial,
                         momentum, eps, relu);
    util_pool_run(pool, bn_train_part, &j);
}

void nn_fast_batchnorm_relu_pool2_train(util_pool *pool, float *out, float *pooled, int32_t *argmax, float *mean,
                                        float *inv_std, const float *in, const float *gamma, const float *beta,
                                        float *running_mean, float *running_var, int batch, int channels, int h, int w,
                                        float momentum, float eps) {
    bn_job j = train_job(out, mean, inv_std, in, gamma, beta, running_mean, running_var, batch, channels, h * w,
                         momentum, eps, true);
    j.pooled = pooled, j.argmax = argmax, j.h = h, j.w = w;
    util_pool_run(pool, bn_train_part, &j);
}

static void bn_infer_part(void *ctx, int t, int threads) {
    const bn_job *j = ctx;
    const int S = j->spatial, C = j->channels;
    /* with one image and one channel per thread at most, split the planes too: a batch of 1 still uses every core */
    size_t lo, hi;
    util_share((size_t)C * j->batch, t, threads, &lo, &hi);
    for (size_t bc = lo; bc < hi; bc++) {
        size_t c = bc % (size_t)C;
        float k = j->gamma[c] * (float)(1.0 / sqrt((double)j->const_var[c] + j->eps));
        affine(j->out + bc * S, j->in + bc * S, S, k, j->beta[c] - j->const_mean[c] * k, j->relu);
    }
}

void nn_fast_batchnorm_forward_infer(util_pool *pool, float *out, const float *in, const float *gamma,
                                     const float *beta, const float *running_mean, const float *running_var, int batch,
                                     int channels, int spatial, float eps, bool relu) {
    bn_job j = {.out = out,
                .in = in,
                .gamma = gamma,
                .beta = beta,
                .const_mean = running_mean,
                .const_var = running_var,
                .batch = batch,
                .channels = channels,
                .spatial = spatial,
                .eps = eps,
                .relu = relu};
    util_pool_run(pool, bn_infer_part, &j);
}

/* Sums of g and g * xhat over one plane, g = dout masked by the fused ReLU's output when relu is set. */
static inline void plane_grad_sums(const float *restrict x, const float *restrict g, const float *restrict y, int n,
                                   float m, float is, bool relu, double *sum_g, double *sum_gx) {
    v8f ag = {0}, agx = {0};
    const v8f vm = {m, m, m, m, m, m, m, m}, vis = {is, is, is, is, is, is, is, is}, zero = {0};
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        v8f gi = load8(g + i);
        if (relu) gi = (v8f)((v8i)gi & (load8(y + i) > zero));
        ag += gi;
        agx += gi * ((load8(x + i) - vm) * vis);
    }
    double sg = lanes_sum(ag), sgx = lanes_sum(agx);
    for (; i < n; i++) {
        // cppcheck-suppress nullPointer ; y is given whenever relu is
        float gi = relu ? (y[i] > 0.0f ? g[i] : 0.0f) : g[i];
        sg += gi;
        sgx += gi * ((x[i] - m) * is);
    }
    *sum_g += sg;
    *sum_gx += sgx;
}

static inline void plane_din(float *restrict dx, const float *restrict x, const float *restrict g,
                             const float *restrict y, int n, float m, float is, float k, float mg, float mgx,
                             bool relu) {
    for (int i = 0; i < n; i++) {
        // cppcheck-suppress nullPointer ; y is given whenever relu is
        float gi = relu ? (y[i] > 0.0f ? g[i] : 0.0f) : g[i];
        dx[i] = k * (gi - mg - (x[i] - m) * is * mgx);
    }
}

/* din = inv_std * gamma * (g - mean(g) - xhat * mean(g * xhat)), g = dout (masked by the fused ReLU) */
static void bn_backward_part(void *ctx, int t, int threads) {
    const bn_job *j = ctx;
    const int S = j->spatial, C = j->channels;
    const double n = (double)j->batch * S;
    const bool relu = j->relu;
    size_t lo, hi;
    util_share((size_t)C, t, threads, &lo, &hi);
    for (size_t c = lo; c < hi; c++) {
        const float m = j->const_mean[c], is = j->const_inv_std[c];
        double sum_g = 0.0, sum_gx = 0.0;
        for (int b = 0; b < j->batch; b++) {
            size_t at = ((size_t)b * C + c) * S;
            if (relu)
                plane_grad_sums(j->in + at, j->dout + at, j->fused_out + at, S, m, is, true, &sum_g, &sum_gx);
            else
                plane_grad_sums(j->in + at, j->dout + at, NULL, S, m, is, false, &sum_g, &sum_gx);
        }
        j->dgamma[c] += (float)sum_gx;
        j->dbeta[c] += (float)sum_g;
        if (!j->din) continue;
        const float mg = (float)(sum_g / n), mgx = (float)(sum_gx / n), k = j->gamma[c] * is;
        for (int b = 0; b < j->batch; b++) {
            size_t at = ((size_t)b * C + c) * S;
            if (relu)
                plane_din(j->din + at, j->in + at, j->dout + at, j->fused_out + at, S, m, is, k, mg, mgx, true);
            else
                plane_din(j->din + at, j->in + at, j->dout + at, NULL, S, m, is, k, mg, mgx, false);
        }
    }
}

void nn_fast_batchnorm_backward(util_pool *pool, float *din, float *dgamma, float *dbeta, const float *dout,
                                const float *out, const float *in, const float *gamma, const float *mean,
                                const float *inv_std, int batch, int channels, int spatial, bool relu) {
    bn_job j = {.din = din,
                .dgamma = dgamma,
                .dbeta = dbeta,
                .dout = dout,
                .fused_out = out,
                .in = in,
                .gamma = gamma,
                .const_mean = mean,
                .const_inv_std = inv_std,
                .batch = batch,
                .channels = channels,
                .spatial = spatial,
                .relu = relu};
    util_pool_run(pool, bn_backward_part, &j);
}
