#include <string.h>

#include "doodle/layers.h"

int dd_maxpool_out_size(int in, int pool, int stride) {
    if (in <= 0 || pool <= 0 || stride <= 0 || pool > in) return 0;
    return (in - pool) / stride + 1; /* rows and columns past the last whole window are dropped */
}

void dd_maxpool_forward(float *out, int32_t *argmax, const float *in, int batch, int channels, int in_h, int in_w,
                        int pool, int stride) {
    int out_h = dd_maxpool_out_size(in_h, pool, stride), out_w = dd_maxpool_out_size(in_w, pool, stride);
    for (size_t plane = 0; plane < (size_t)batch * channels; plane++) {
        const float *x = in + plane * in_h * in_w;
        float *o = out + plane * out_h * out_w;
        int32_t *a = argmax + plane * out_h * out_w;
        for (int oy = 0; oy < out_h; oy++) {
            for (int ox = 0; ox < out_w; ox++) {
                int y0 = oy * stride, x0 = ox * stride;
                int32_t best = y0 * in_w + x0;
                for (int i = 0; i < pool; i++)
                    for (int j = 0; j < pool; j++) {
                        int32_t idx = (y0 + i) * in_w + x0 + j;
                        if (x[idx] > x[best]) best = idx; /* strict: the first maximum wins a tie */
                    }
                o[oy * out_w + ox] = x[best];
                a[oy * out_w + ox] = best;
            }
        }
    }
}

void dd_maxpool_backward(float *din, const float *dout, const int32_t *argmax, int batch, int channels, int in_h,
                         int in_w, int out_h, int out_w) {
    size_t in_hw = (size_t)in_h * in_w, out_hw = (size_t)out_h * out_w;
    memset(din, 0, sizeof *din * (size_t)batch * channels * in_hw);
    for (size_t plane = 0; plane < (size_t)batch * channels; plane++)
        for (size_t p = 0; p < out_hw; p++) /* += : overlapping windows (stride < pool) can share a maximum */
            din[plane * in_hw + argmax[plane * out_hw + p]] += dout[plane * out_hw + p];
}
