/* Conv2D as im2col + one GEMM per image. The column matrix of an image is [in_c*kh*kw, out_h*out_w]: row
 * (c, i, j) holds, for every output pixel, the input pixel under kernel tap (i, j) of channel c (0 in the padding),
 * so the convolution is weight [out_c, in_c*kh*kw] times that matrix. */
#include <string.h>

#include "doodle/layers.h"
#include "nn/gemm.h"

/* One axis of Keras' padding rule. */
static int axis_init(int in, int k, int stride, int same, int *out, int *pad_before) {
    if (same) {
        *out = (in - 1) / stride + 1; /* ceil(in / stride) */
        long long total = (long long)(*out - 1) * stride + k - in;
        if (total < 0) total = 0;
        *pad_before = (int)(total / 2); /* Keras (TensorFlow) puts the odd pixel after: bottom/right */
    } else {
        if (k > in) return -1;
        *out = (in - k) / stride + 1;
        *pad_before = 0;
    }
    return 0;
}

int dd_conv2d_dims_init(dd_conv2d_dims *d, int batch, int in_c, int in_h, int in_w, int out_c, int kernel_h,
                        int kernel_w, int stride, int same_padding) {
    memset(d, 0, sizeof *d);
    if (batch <= 0 || in_c <= 0 || in_h <= 0 || in_w <= 0 || out_c <= 0 || kernel_h <= 0 || kernel_w <= 0 ||
        stride <= 0)
        return -1;
    int out_h, out_w, pad_top, pad_left;
    if (axis_init(in_h, kernel_h, stride, same_padding, &out_h, &pad_top) ||
        axis_init(in_w, kernel_w, stride, same_padding, &out_w, &pad_left))
        return -1;
    *d = (dd_conv2d_dims){.batch = batch,
                          .in_c = in_c,
                          .in_h = in_h,
                          .in_w = in_w,
                          .out_c = out_c,
                          .out_h = out_h,
                          .out_w = out_w,
                          .kernel_h = kernel_h,
                          .kernel_w = kernel_w,
                          .stride = stride,
                          .pad_top = pad_top,
                          .pad_left = pad_left};
    return 0;
}

size_t dd_conv2d_scratch_size(const dd_conv2d_dims *d) {
    return (size_t)d->in_c * d->kernel_h * d->kernel_w * (size_t)d->out_h * d->out_w;
}

static void im2col(float *col, const float *img, const dd_conv2d_dims *d) {
    size_t out_hw = (size_t)d->out_h * d->out_w;
    for (int c = 0; c < d->in_c; c++) {
        const float *plane = img + (size_t)c * d->in_h * d->in_w;
        for (int i = 0; i < d->kernel_h; i++) {
            for (int j = 0; j < d->kernel_w; j++) {
                float *row = col + ((size_t)(c * d->kernel_h + i) * d->kernel_w + j) * out_hw;
                for (int oy = 0; oy < d->out_h; oy++) {
                    int iy = oy * d->stride - d->pad_top + i;
                    float *dst = row + (size_t)oy * d->out_w;
                    for (int ox = 0; ox < d->out_w; ox++) {
                        int ix = ox * d->stride - d->pad_left + j;
                        int inside = iy >= 0 && iy < d->in_h && ix >= 0 && ix < d->in_w;
                        dst[ox] = inside ? plane[(size_t)iy * d->in_w + ix] : 0.0f;
                    }
                }
            }
        }
    }
}

/* The adjoint of im2col: every column entry is added back to the input pixel it was copied from. */
static void col2im(float *img, const float *col, const dd_conv2d_dims *d) {
    size_t out_hw = (size_t)d->out_h * d->out_w;
    memset(img, 0, sizeof *img * (size_t)d->in_c * d->in_h * d->in_w);
    for (int c = 0; c < d->in_c; c++) {
        float *plane = img + (size_t)c * d->in_h * d->in_w;
        for (int i = 0; i < d->kernel_h; i++) {
            for (int j = 0; j < d->kernel_w; j++) {
                const float *row = col + ((size_t)(c * d->kernel_h + i) * d->kernel_w + j) * out_hw;
                for (int oy = 0; oy < d->out_h; oy++) {
                    int iy = oy * d->stride - d->pad_top + i;
                    if (iy < 0 || iy >= d->in_h) continue;
                    const float *src = row + (size_t)oy * d->out_w;
                    for (int ox = 0; ox < d->out_w; ox++) {
                        int ix = ox * d->stride - d->pad_left + j;
                        if (ix >= 0 && ix < d->in_w) plane[(size_t)iy * d->in_w + ix] += src[ox];
                    }
                }
            }
        }
    }
}

void dd_conv2d_forward(float *out, const float *in, const float *weight, const float *bias, const dd_conv2d_dims *d,
                       float *scratch) {
    int k = d->in_c * d->kernel_h * d->kernel_w, out_hw = d->out_h * d->out_w;
    size_t in_size = (size_t)d->in_c * d->in_h * d->in_w, out_size = (size_t)d->out_c * out_hw;
    for (int b = 0; b < d->batch; b++) {
        float *o = out + (size_t)b * out_size;
        im2col(scratch, in + (size_t)b * in_size, d);
        nn_gemm(false, false, d->out_c, out_hw, k, 1.0f, weight, scratch, 0.0f, o);
        if (!bias) continue;
        for (int oc = 0; oc < d->out_c; oc++)
            for (int p = 0; p < out_hw; p++) o[(size_t)oc * out_hw + p] += bias[oc];
    }
}

void dd_conv2d_backward(float *din, float *dweight, float *dbias, const float *dout, const float *in,
                        const float *weight, const dd_conv2d_dims *d, float *scratch) {
    int k = d->in_c * d->kernel_h * d->kernel_w, out_hw = d->out_h * d->out_w;
    size_t in_size = (size_t)d->in_c * d->in_h * d->in_w, out_size = (size_t)d->out_c * out_hw;
    for (int b = 0; b < d->batch; b++) {
        const float *g = dout + (size_t)b * out_size;
        if (dweight) { /* dweight += dout [out_c, P] x col^T [P, K] */
            im2col(scratch, in + (size_t)b * in_size, d);
            nn_gemm(false, true, d->out_c, k, out_hw, 1.0f, g, scratch, 1.0f, dweight);
        }
        if (dbias) {
            for (int oc = 0; oc < d->out_c; oc++) {
                double s = 0.0;
                for (int p = 0; p < out_hw; p++) s += g[(size_t)oc * out_hw + p];
                dbias[oc] += (float)s;
            }
        }
        if (din) { /* dcol = W^T [K, out_c] x dout [out_c, P], reusing the scratch the columns are done with */
            nn_gemm(true, false, k, out_hw, d->out_c, 1.0f, weight, g, 0.0f, scratch);
            col2im(din + (size_t)b * in_size, scratch, d);
        }
    }
}
