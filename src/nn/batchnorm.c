/* Batch normalisation per channel over batch and space. Statistics and the backward reductions are summed in double:
 * a channel of a 64-image batch of 66x100 maps is 422,400 values, too many for a float running sum. */
#include <math.h>

#include "doodle/layers.h"

#define AT(b, c, s) (((size_t)(b)*channels + (c)) * spatial + (s))

void dd_batchnorm_forward_train(float *out, float *mean, float *inv_std, const float *in, const float *gamma,
                                const float *beta, float *running_mean, float *running_var, int batch, int channels,
                                int spatial, float momentum, float eps) {
    double n = (double)batch * spatial;
    for (int c = 0; c < channels; c++) {
        double sum = 0.0;
        for (int b = 0; b < batch; b++)
            for (int s = 0; s < spatial; s++) sum += in[AT(b, c, s)];
        double mu = sum / n;
        double sq = 0.0; /* second pass around the mean: no cancellation as in E[x^2] - E[x]^2 */
        for (int b = 0; b < batch; b++)
            for (int s = 0; s < spatial; s++) {
                double t = in[AT(b, c, s)] - mu;
                sq += t * t;
            }
        double var = sq / n;
        double istd = 1.0 / sqrt(var + eps);
        mean[c] = (float)mu;
        inv_std[c] = (float)istd;
        /* backward uses the saved float mean/inv_std, so normalise with exactly those */
        float m = mean[c], is = inv_std[c];
        for (int b = 0; b < batch; b++)
            for (int s = 0; s < spatial; s++) out[AT(b, c, s)] = gamma[c] * ((in[AT(b, c, s)] - m) * is) + beta[c];
        /* one value has no unbiased variance; keep the biased one (0) rather than divide by zero */
        double unbiased = n > 1.0 ? sq / (n - 1.0) : var;
        running_mean[c] = (float)(momentum * (double)running_mean[c] + (1.0 - momentum) * mu);
        running_var[c] = (float)(momentum * (double)running_var[c] + (1.0 - momentum) * unbiased);
    }
}

void dd_batchnorm_forward_infer(float *out, const float *in, const float *gamma, const float *beta,
                                const float *running_mean, const float *running_var, int batch, int channels,
                                int spatial, float eps) {
    for (int c = 0; c < channels; c++) {
        float m = running_mean[c], is = (float)(1.0 / sqrt((double)running_var[c] + eps));
        for (int b = 0; b < batch; b++)
            for (int s = 0; s < spatial; s++) out[AT(b, c, s)] = gamma[c] * ((in[AT(b, c, s)] - m) * is) + beta[c];
    }
}

/* With xhat = (x - mean) * inv_std and g = dout * gamma, the gradient through the batch mean and variance is
 * din = inv_std * (g - mean(g) - xhat * mean(g * xhat)). */
void dd_batchnorm_backward(float *din, float *dgamma, float *dbeta, const float *dout, const float *in,
                           const float *gamma, const float *mean, const float *inv_std, int batch, int channels,
                           int spatial) {
    double n = (double)batch * spatial;
    for (int c = 0; c < channels; c++) {
        double sum_g = 0.0, sum_gx = 0.0; /* sums of dout and dout * xhat */
        for (int b = 0; b < batch; b++)
            for (int s = 0; s < spatial; s++) {
                double xhat = ((double)in[AT(b, c, s)] - mean[c]) * inv_std[c];
                sum_g += dout[AT(b, c, s)];
                sum_gx += dout[AT(b, c, s)] * xhat;
            }
        dgamma[c] += (float)sum_gx;
        dbeta[c] += (float)sum_g;
        if (!din) continue;
        double mg = sum_g / n, mgx = sum_gx / n;
        for (int b = 0; b < batch; b++)
            for (int s = 0; s < spatial; s++) {
                double xhat = ((double)in[AT(b, c, s)] - mean[c]) * inv_std[c];
                din[AT(b, c, s)] = (float)(gamma[c] * inv_std[c] * (dout[AT(b, c, s)] - mg - xhat * mgx));
            }
    }
}
