#include "doodle/layers.h"

void dd_dropout_forward(float *out, float *mask, const float *in, size_t n, float rate, dd_rng *rng) {
    /* rate >= 1 would scale by infinity: drop everything instead. One draw per unit whatever the rate, so the
     * generator advances the same way for every rate. */
    float keep = rate < 1.0f ? 1.0f / (1.0f - rate) : 0.0f;
    for (size_t i = 0; i < n; i++) {
        mask[i] = dd_rng_uniform(rng) < (double)rate ? 0.0f : keep;
        out[i] = in[i] * mask[i];
    }
}

void dd_dropout_backward(float *din, const float *dout, const float *mask, size_t n) {
    for (size_t i = 0; i < n; i++) din[i] = dout[i] * mask[i];
}
