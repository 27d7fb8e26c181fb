/* Conv2D fast path: im2col + single-threaded sgemm per image on every thread of the pool (images split across the
 * threads; when there are fewer images than threads, an image's output pixels are), with bias and ReLU applied
 * while the output is still in cache. The weight gradient of threads 1.. is summed in private buffers and added
 * to thread 0's in thread order. */
#include <cblas.h>
#include <string.h>

#include "nn/fast.h"

typedef struct conv_job {
    const nn_fast_scratch *s;
    const dd_conv2d_dims *d;
    const nn_fast_pool_after *after; /* backward from a max-pool's gradient (NULL: from the conv's own) */
    const float *din_cache;          /* the input gradient by the Winograd kernel (NULL: GEMM and col2im) */
    bool wino_dweight;               /* the weight gradient by Winograd's transforms (else im2col + GEMM) */
    nn_fast_isa isa;
    float *out, *din, *dweight, *dbias;
    const float *in, *dout, *weight, *bias;
    float *pooled;   /* forward: each image's maps 2x2-pooled here while in cache (NULL: not) */
    int32_t *argmax; /* and the pool's winners */
    bool relu;
} conv_job;

static int min_int(int a, int b) { return a < b ? a : b; }
static int clamp_int(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

size_t nn_fast_conv2d_col_size(const dd_conv2d_dims *d) {
    size_t col = (size_t)d->in_c * d->kernel_h * d->kernel_w * (size_t)d->out_h * d->out_w;
    size_t direct = nn_fast_conv3x3_applies(d) ? nn_fast_conv3x3_scratch_size(d) : 0;
    size_t wino = nn_fast_winograd_applies(d) ? nn_fast_winograd_scratch_size(d) : 0;
    if (direct > col) col = direct;
    return wino > col ? wino : col;
}

static size_t round16(size_t n) { return (n + 15) / 16 * 16; } /* floats to a 64-byte boundary */

/* Backward's scratch: the im2col columns or the Winograd input gradient's work (one after the other, never at
 * once), then one image's output gradient, then the Winograd weight gradient's work (kept from image to image). */
static size_t image_grad_offset(const dd_conv2d_dims *d) {
    size_t col = nn_fast_conv2d_col_size(d);
    size_t wino = nn_fast_winograd_din_applies(d) ? nn_fast_winograd_din_scratch_size(d) : 0;
    return round16(wino > col ? wino : col);
}

static size_t dweight_work_offset(const dd_conv2d_dims *d) {
    return image_grad_offset(d) + round16((size_t)d->out_c * d->out_h * d->out_w);
}

size_t nn_fast_conv2d_train_col_size(const dd_conv2d_dims *d) {
    return dweight_work_offset(d) + (nn_fast_winograd_applies(d) ? nn_fast_winograd_dweight_scratch_size(d) : 0);
}

/* Image b's conv output gradient into g [C, out_h * out_w]: the pool's gradient at each window's winner where the
 * ReLU passed it (the winner, which is the pool's output, is positive), zero everywhere else. */
static void unpool_image(float *g, const nn_fast_pool_after *a, const float *dout, const dd_conv2d_dims *d, int b) {
    const size_t P = (size_t)d->out_h * d->out_w, Q = (size_t)a->out_h * a->out_w;
    memset(g, 0, sizeof *g * P * (size_t)d->out_c);
    for (int c = 0; c < d->out_c; c++) {
        size_t plane = (size_t)b * d->out_c + c;
        const float *y = a->out + plane * Q, *gy = dout + plane * Q;
        const int32_t *w = a->argmax + plane * Q;
        float *gc = g + (size_t)c * P;
        for (size_t q = 0; q < Q; q++)
            if (y[q] > 0.0f) gc[w[q]] = gy[q];
    }
}

/* Columns [p0, p1) of one image's im2col matrix (layers.h's layout) into col [K, p1 - p0]. With stride 1 a row
 * of output pixels reads a contiguous run of input pixels, copied as one block between its zero borders. */
static void im2col_range(float *col, const float *img, const dd_conv2d_dims *d, int p0, int p1) {
    const int n = p1 - p0, ow = d->out_w, st = d->stride;
    for (int c = 0; c < d->in_c; c++) {
        const float *plane = img + (size_t)c * d->in_h * d->in_w;
        for (int i = 0; i < d->kernel_h; i++)
            for (int j = 0; j < d->kernel_w; j++) {
                float *dst = col + (size_t)((c * d->kernel_h + i) * d->kernel_w + j) * n - p0;
                for (int p = p0; p < p1;) {
                    int oy = p / ow, ox0 = p % ow, ox1 = min_int(ow, ox0 + (p1 - p));
                    int iy = oy * st - d->pad_top + i;
                    float *o = dst + p - ox0; /* o[ox] is output pixel (oy, ox) */
                    if (iy < 0 || iy >= d->in_h) {
                        memset(o + ox0, 0, sizeof *o * (size_t)(ox1 - ox0));
                    } else if (st == 1) {
                        const float *src = plane + (size_t)iy * d->in_w - d->pad_left + j; /* src[ox] */
                        int lo = clamp_int(d->pad_left - j, ox0, ox1),
                            hi = clamp_int(d->in_w + d->pad_left - j, lo, ox1);
                        memset(o + ox0, 0, sizeof *o * (size_t)(lo - ox0));
                        memcpy(o + lo, src + lo, sizeof *o * (size_t)(hi - lo));
                        memset(o + hi, 0, sizeof *o * (size_t)(ox1 - hi));
                    } else {
                        const float *row = plane + (size_t)iy * d->in_w;
                        for (int ox = ox0; ox < ox1; ox++) {
                            int ix = ox * st - d->pad_left + j;
                            o[ox] = ix >= 0 && ix < d->in_w ? row[ix] : 0.0f;
                        }
                    }
                    p += ox1 - ox0;
                }
            }
    }
}

/* The adjoint of im2col for a whole image: img = 0, then every column entry added to the pixel it came from. */
static void col2im(float *img, const float *col, const dd_conv2d_dims *d) {
    const int ow = d->out_w, st = d->stride;
    const size_t P = (size_t)d->out_h * ow;
    memset(img, 0, sizeof *img * (size_t)d->in_c * d->in_h * d->in_w);
    for (int c = 0; c < d->in_c; c++) {
        float *plane = img + (size_t)c * d->in_h * d->in_w;
        for (int i = 0; i < d->kernel_h; i++)
            for (int j = 0; j < d->kernel_w; j++) {
                const float *src = col + (size_t)((c * d->kernel_h + i) * d->kernel_w + j) * P;
                for (int oy = 0; oy < d->out_h; oy++, src += ow) {
                    int iy = oy * st - d->pad_top + i;
                    if (iy < 0 || iy >= d->in_h) continue;
                    float *row = plane + (size_t)iy * d->in_w;
                    if (st == 1) {
                        float *dst = row - d->pad_left + j; /* dst[ox] */
                        int lo = clamp_int(d->pad_left - j, 0, ow), hi = clamp_int(d->in_w + d->pad_left - j, lo, ow);
                        for (int ox = lo; ox < hi; ox++) dst[ox] += src[ox];
                    } else {
                        for (int ox = 0; ox < ow; ox++) {
                            int ix = ox * st - d->pad_left + j;
                            if (ix >= 0 && ix < d->in_w) row[ix] += src[ox];
                        }
                    }
                }
            }
    }
}

static void conv_forward_part(void *ctx, int t, int threads) {
    const conv_job *j = ctx;
    const dd_conv2d_dims *d = j->d;
    const int P = d->out_h * d->out_w, K = d->in_c * d->kernel_h * d->kernel_w;
    const size_t in_size = (size_t)d->in_c * d->in_h * d->in_w, out_size = (size_t)d->out_c * P;
    const int splits = d->batch >= threads ? 1 : (threads + d->batch - 1) / d->batch;
    float *col = j->s->col + (size_t)t * j->s->col_stride;
    size_t lo, hi;
    util_share((size_t)d->batch * splits, t, threads, &lo, &hi);
    for (size_t u = lo; u < hi; u++) {
        int b = (int)(u / splits), part = (int)(u % splits);
        int p0 = (int)((long)P * part / splits), p1 = (int)((long)P * (part + 1) / splits), n = p1 - p0;
        if (n == 0) continue;
        im2col_range(col, j->in + b * in_size, d, p0, p1);
        float *o = j->out + b * out_size + p0;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, d->out_c, n, K, 1.0f, j->weight, K, col, n, 0.0f, o, P);
        for (int oc = 0; oc < d->out_c; oc++) {
            float *r = o + (size_t)oc * P, bias = j->bias ? j->bias[oc] : 0.0f;
            if (j->relu)
                for (int p = 0; p < n; p++) r[p] = r[p] + bias > 0.0f ? r[p] + bias : 0.0f;
            else if (j->bias)
                for (int p = 0; p < n; p++) r[p] += bias;
        }
        if (j->pooled && n == P) {
            size_t q = (size_t)d->out_c * (size_t)(d->out_h / 2) * (size_t)(d->out_w / 2);
            nn_fast_maxpool2x2_image(j->pooled + b * q, j->argmax + b * q, o, d->out_c, d->out_h, d->out_w);
        }
    }
}

void nn_fast_conv2d_forward(util_pool *pool, const nn_fast_scratch *s, float *out, const float *in, const float *weight,
                            const float *bias, const dd_conv2d_dims *d, bool relu) {
    conv_job j = {.s = s, .d = d, .out = out, .in = in, .weight = weight, .bias = bias, .relu = relu};
    util_pool_run(pool, conv_forward_part, &j);
}

void nn_fast_conv2d_forward_pool2(util_pool *pool, const nn_fast_scratch *s, float *out, float *pooled, int32_t *argmax,
                                  const float *in, const float *weight, const float *bias, const dd_conv2d_dims *d,
                                  bool relu) {
    const bool per_image = d->batch >= util_pool_threads(pool); /* else an image's pixels are split */
    if (nn_fast_winograd_applies(d)) {
        nn_fast_winograd_forward_train(pool, s, out, per_image ? pooled : NULL, argmax, in, weight, bias, d, relu,
                                       nn_fast_isa_best());
    } else if (nn_fast_conv3x3_applies(d)) {
        nn_fast_conv3x3_forward_train(pool, s, out, per_image ? pooled : NULL, argmax, in, weight, bias, d, relu,
                                      nn_fast_isa_best());
    } else {
        conv_job j = {.s = s, .d = d, .out = out, .in = in, .weight = weight, .bias = bias, .relu = relu};
        if (per_image) j.pooled = pooled, j.argmax = argmax;
        util_pool_run(pool, conv_forward_part, &j);
    }
    if (!per_image) nn_fast_maxpool_forward(pool, pooled, argmax, out, d->batch, d->out_c, d->out_h, d->out_w, 2, 2);
}

void nn_fast_conv2d_forward_infer(util_pool *pool, const nn_fast_scratch *s, float *cache, float *out, const float *in,
                                  const float *weight, const float *bias, const dd_conv2d_dims *d, bool relu,
                                  bool pool2) {
    if (nn_fast_winograd_applies(d))
        nn_fast_winograd_forward(pool, s, cache, out, in, weight, bias, d, relu, pool2, nn_fast_isa_best());
    else if (nn_fast_conv3x3_applies(d))
        nn_fast_conv3x3_forward(pool, s, out, in, weight, bias, d, relu, pool2, nn_fast_isa_best());
    else
        nn_fast_conv2d_forward(pool, s, out, in, weight, bias, d, relu);
}

static void conv_backward_part(void *ctx, int t, int threads) {
    const conv_job *j = ctx;
    const dd_conv2d_dims *d = j->d;
    const int P = d->out_h * d->out_w, K = d->in_c * d->kernel_h * d->kernel_w;
    const size_t in_size = (size_t)d->in_c * d->in_h * d->in_w, out_size = (size_t)d->out_c * P;
    float *col = j->s->col + (size_t)t * j->s->col_stride;
    /* thread 0 adds straight into the gradient block; the others start their own sums from zero */
    float *dw = t == 0 ? j->dweight : j->s->dweight + (size_t)(t - 1) * j->s->dweight_stride;
    double *db = j->s->dbias + (size_t)t * j->s->dbias_stride;
    memset(db, 0, sizeof *db * (size_t)d->out_c);
    size_t lo, hi;
    util_share((size_t)d->batch, t, threads, &lo, &hi);
    nn_fast_wino_dw wdw = {0};
    const bool wino_dw = j->dweight && j->wino_dweight && lo < hi;
    if (wino_dw) nn_fast_winograd_dweight_begin(&wdw, col + dweight_work_offset(d), d);
    for (size_t b = lo; b < hi; b++) {
        const float *g = j->dout + b * out_size;
        if (j->after) {
            float *own = j->s->col + (size_t)t * j->s->col_stride + image_grad_offset(d);
            unpool_image(own, j->after, j->dout, d, (int)b);
            g = own;
        }
        if (wino_dw) {
            nn_fast_winograd_dweight_add(&wdw, j->in + b * in_size, g, d);
        } else if (j->dweight) {
            im2col_range(col, j->in + b * in_size, d, 0, P);
            float beta = t == 0 || b > lo ? 1.0f : 0.0f;
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, d->out_c, K, P, 1.0f, g, P, col, P, beta, dw, K);
        }
        for (int oc = 0; oc < d->out_c; oc++) {
            const float *r = g + (size_t)oc * P;
            float acc[8] = {0};
            int p = 0;
            for (; p + 8 <= P; p += 8)
                for (int k = 0; k < 8; k++) acc[k] += r[p + k];
            double sum = 0.0;
            for (int k = 0; k < 8; k++) sum += acc[k];
            for (; p < P; p++) sum += r[p];
            db[oc] += sum;
        }
        if (!j->din) continue;
        if (j->din_cache) {
            nn_fast_winograd_din_image(col, j->din_cache, j->din + b * in_size, g, d, j->isa);
            continue;
        }
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, P, d->out_c, 1.0f, j->weight, K, g, P, 0.0f, col, P);
        col2im(j->din + b * in_size, col, d);
    }
    if (wino_dw) nn_fast_winograd_dweight_end(&wdw, dw, t == 0, d); /* thread 0's straight into the block */
}

/* dweight += the partial sums of threads 1.. (those that had images), each element by one thread, in thread order. */
static void conv_reduce_part(void *ctx, int t, int threads) {
    const conv_job *j = ctx;
    const dd_conv2d_dims *d = j->d;
    const size_t n = (size_t)d->out_c * d->in_c * d->kernel_h * d->kernel_w;
    size_t lo, hi;
    util_share(n, t, threads, &lo, &hi);
    for (int u = 1; u < threads; u++) {
        size_t blo, bhi;
        util_share((size_t)d->batch, u, threads, &blo, &bhi);
        if (blo == bhi) continue;
        const float *part = j->s->dweight + (size_t)(u - 1) * j->s->dweight_stride;
        for (size_t i = lo; i < hi; i++) j->dweight[i] += part[i];
    }
}

static void conv_backward(util_pool *pool, const nn_fast_scratch *s, float *din, float *dweight, float *dbias,
                          const float *dout, const nn_fast_pool_after *after, const float *in, const float *weight,
                          const dd_conv2d_dims *d, float *din_cache) {
    conv_job j = {.s = s,
                  .d = d,
                  .after = after,
                  .din = din,
                  .dweight = dweight,
                  .dbias = dbias,
                  .dout = dout,
                  .in = in,
                  .weight = weight,
                  .isa = nn_fast_isa_best(),
                  .wino_dweight = nn_fast_winograd_applies(d)};
    if (din && din_cache && nn_fast_winograd_din_applies(d)) {
        nn_fast_winograd_din_prepare(pool, din_cache, weight, d);
        j.din_cache = din_cache;
    }
    util_pool_run(pool, conv_backward_part, &j);
    int threads = util_pool_threads(pool);
    if (threads > 1 && dweight) util_pool_run(pool, conv_reduce_part, &j);
    if (!dbias) return;
    for (int oc = 0; oc < d->out_c; oc++) {
        double sum = 0.0;
        for (int t = 0; t < threads; t++) sum += s->dbias[(size_t)t * s->dbias_stride + oc];
        dbias[oc] += (float)sum;
    }
}

void nn_fast_conv2d_backward(util_pool *pool, const nn_fast_scratch *s, float *din, float *dweight, float *dbias,
                             const float *dout, const float *in, const float *weight, const dd_conv2d_dims *d,
                             float *din_cache) {
    conv_backward(pool, s, din, dweight, dbias, dout, NULL, in, weight, d, din_cache);
}

void nn_fast_conv2d_backward_pooled(util_pool *pool, const nn_fast_scratch *s, float *din, float *dweight, float *dbias,
                                    const float *dout, const nn_fast_pool_after *after, const float *in,
                                    const float *weight, const dd_conv2d_dims *d, float *din_cache) {
    conv_backward(pool, s, din, dweight, dbias, dout, after, in, weight, d, din_cache);
}
