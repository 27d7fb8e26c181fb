/* The 3x3, stride 1, "same" convolution at inference as a direct kernel: no im2col matrix (nine times the input) and
 * no GEMM packing. An image is copied once into a zero-bordered buffer; every output channel block then sums its
 * nine taps per input channel straight from it, in registers (fast_conv3x3_band.h), a band of rows at a time, and
 * the band is copied into the NCHW output while it is in cache. AVX-512 or AVX2 + FMA kernels are chosen at run time
 * (nn_fast_isa_best), with a portable one for other machines.
 *
 * Threads take whole images; when there are fewer images than threads, an image's rows are split. Every output is
 * one sum in a fixed order whatever the split, so the same instruction set gives the same bits on any thread
 * count. */
#include <assert.h>
#include <string.h>

#include "nn/fast.h"

/* The sanitizers' checks of every unaligned vector load and every register-block index made the sanitizer build's
 * tests spend two thirds of their time in the band kernels (6x slower than without them). The kernels go unchecked;
 * conv3x3_part asserts the extent of each band's reads and writes against the scratch buffer, once per band, and the
 * portable kernel (fast_conv3x3_band.h's same addressing) stays checked load by load. */
#define BAND_UNCHECKED __attribute__((no_sanitize("address", "undefined")))

#define BAND_Q 384  /* padded-width pixels per band: band [out_c][BAND_Q+] stays in L2 */
#define MAX_TILE 64 /* the widest tile of any kernel below (floats) */

/* ---- the kernels, one per instruction set ---- */

#if defined(__x86_64__) || defined(__i386__)
#define NN_VEC_AVX512
#include "nn/fast_vec.h"
#define TARGET __attribute__((target("avx512f"))) BAND_UNCHECKED
#define BAND_FN band_avx512
#define TILE_AVX512 (16 * 3)
#include "nn/fast_conv3x3_band.h"

#define NN_VEC_AVX2
#include "nn/fast_vec.h"
#define TARGET __attribute__((target("avx2,fma"))) BAND_UNCHECKED
#define BAND_FN band_avx2
#define TILE_AVX2 (8 * 3)
#include "nn/fast_conv3x3_band.h"
#endif

#define NN_VEC_GENERIC
#include "nn/fast_vec.h"
#define TARGET
#define BAND_FN band_generic
#define TILE_GENERIC (4 * 2)
#include "nn/fast_conv3x3_band.h"

typedef void (*band_fn)(float *restrict band, size_t band_stride, const float *restrict x, const float *restrict w,
                        const float *restrict bias, int channels, int out_c, int pw, size_t plane, int tiles,
                        bool relu);

nn_fast_isa nn_fast_isa_best(void) {
#if defined(__x86_64__) || defined(__i386__)
    if (__builtin_cpu_supports("avx512f")) return NN_FAST_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return NN_FAST_AVX2;
#endif
    return NN_FAST_GENERIC;
}

const char *nn_fast_isa_name(nn_fast_isa isa) {
    return isa == NN_FAST_AVX512 ? "avx512" : isa == NN_FAST_AVX2 ? "avx2" : "generic";
}

static band_fn band_of(nn_fast_isa isa, int *tile) {
#if defined(__x86_64__) || defined(__i386__)
    if (isa == NN_FAST_AVX512) return *tile = TILE_AVX512, band_avx512;
    if (isa == NN_FAST_AVX2) return *tile = TILE_AVX2, band_avx2;
#endif
    (void)isa;
    return *tile = TILE_GENERIC, band_generic;
}

/* ---- the layer ---- */

bool nn_fast_conv3x3_applies(const dd_conv2d_dims *d) {
    return d->kernel_h == 3 && d->kernel_w == 3 && d->stride == 1 && d->pad_top == 1 && d->pad_left == 1 &&
           d->out_h == d->in_h && d->out_w == d->in_w;
}

/* Rows per band: even, so that a band holds whole windows of a fused 2x2 pool. */
static int band_rows(const dd_conv2d_dims *d) {
    int pw = d->in_w + 2, rows = (BAND_Q + pw - 1) / pw;
    rows += rows & 1;
    return rows < d->out_h ? rows : d->out_h;
}

/* Floats of the padded image, with the slack the last tile reads past its end. */
static size_t padded_size(const dd_conv2d_dims *d) {
    return (size_t)d->in_c * (d->in_h + 2) * (d->in_w + 2) + MAX_TILE + 16;
}

static size_t band_stride_of(const dd_conv2d_dims *d, int tile) {
    size_t q = (size_t)band_rows(d) * (d->in_w + 2);
    return (q + (size_t)tile - 1) / (size_t)tile * (size_t)tile;
}

size_t nn_fast_conv3x3_scratch_size(const dd_conv2d_dims *d) {
    return padded_size(d) + (size_t)d->out_c * ((size_t)band_rows(d) * (d->in_w + 2) + MAX_TILE);
}

/* Rows [r0, r1) of the padded planes (row r is input row r - 1) from img; the slack after the last plane zeroed. */
static void pad_rows(float *pad, const float *img, const dd_conv2d_dims *d, int r0, int r1) {
    const int h = d->in_h, w = d->in_w, pw = w + 2;
    const size_t plane = (size_t)(h + 2) * pw;
    for (int c = 0; c < d->in_c; c++)
        for (int r = r0; r < r1; r++) {
            float *dst = pad + c * plane + (size_t)r * pw;
            if (r == 0 || r == h + 1) {
                memset(dst, 0, sizeof *dst * (size_t)pw);
                continue;
            }
            dst[0] = dst[w + 1] = 0.0f;
            memcpy(dst + 1, img + ((size_t)c * h + (size_t)(r - 1)) * w, sizeof *dst * (size_t)w);
        }
    memset(pad + d->in_c * plane, 0, sizeof *pad * (MAX_TILE + 16));
}

typedef struct conv3x3_job {
    const nn_fast_scratch *s;
    const dd_conv2d_dims *d;
    float *out;
    const float *in, *weight, *bias;
    bool relu, pool;
    float *pooled;   /* training: each image's maps 2x2-pooled here once they are done (NULL: not) */
    int32_t *argmax; /* and the pool's winners */
    band_fn band;
    int tile;
} conv3x3_job;

/* Band rows [0, n) (n even) into n / 2 rows of the 2x2 max-pool's output (stride 2, the floor rule: a last odd
 * column is dropped); o [out_c][..][pooled w], at the band's first pooled row. */
static void pool_band(float *restrict o, const float *restrict band, size_t bstride, int out_c, int n, int pw, int oh,
                      int ow) {
    for (int oc = 0; oc < out_c; oc++)
        for (int r = 0; r < n; r += 2) {
            const float *a = band + oc * bstride + (size_t)r * pw, *b = a + pw;
            float *dst = o + ((size_t)oc * oh + (size_t)(r / 2)) * ow;
            for (int x = 0; x < ow; x++) {
                float m0 = a[2 * x] > a[2 * x + 1] ? a[2 * x] : a[2 * x + 1];
                float m1 = b[2 * x] > b[2 * x + 1] ? b[2 * x] : b[2 * x + 1];
                dst[x] = m0 > m1 ? m0 : m1;
            }
        }
}

static void conv3x3_part(void *ctx, int t, int threads) {
    const conv3x3_job *j = ctx;
    const dd_conv2d_dims *d = j->d;
    const int h = d->out_h, w = d->out_w, pw = w + 2, rows = band_rows(d) - (j->pool ? band_rows(d) & 1 : 0);
    /* with the pool: only the rows of whole windows are computed, and out holds the pooled maps */
    const int oh = j->pool ? h / 2 : h, ow = j->pool ? w / 2 : w;
    const size_t plane = (size_t)(h + 2) * pw, in_size = (size_t)d->in_c * h * w, out_size = (size_t)d->out_c * oh * ow;
    const size_t bstride = band_stride_of(d, j->tile);
    const int splits = d->batch >= threads ? 1 : (threads + d->batch - 1) / d->batch;
    float *pad = j->s->col + (size_t)t * j->s->col_stride, *band = pad + padded_size(d);
    /* rows of padding past a band that its last tile's spare lanes read, so that they read numbers */
    const int spill = (j->tile + pw - 1) / pw + 1;
    size_t lo, hi;
    util_share((size_t)d->batch * splits, t, threads, &lo, &hi);
    for (size_t u = lo; u < hi; u++) {
        int b = (int)(u / splits), part = (int)(u % splits);
        int y0 = (int)((long)oh * part / splits), y1 = (int)((long)oh * (part + 1) / splits);
        if (j->pool) y0 *= 2, y1 *= 2; /* whole windows */
        if (y0 == y1) continue;
        int pr1 = y1 + 2 + spill;
        pad_rows(pad, j->in + b * in_size, d, y0, pr1 < h + 2 ? pr1 : h + 2);
        float *out = j->out + b * out_size;
        for (int r0 = y0; r0 < y1; r0 += rows) {
            int n = y1 - r0 < rows ? y1 - r0 : rows;
            int tiles = (int)(((size_t)n * pw + (size_t)j->tile - 1) / (size_t)j->tile);
            /* the band reads up to its last tile's last tap of the last channel, and writes whole tiles */
            assert((size_t)r0 * pw + (size_t)(d->in_c - 1) * plane + 2 * (size_t)pw + 2 +
                       (size_t)tiles * (size_t)j->tile <=
                   padded_size(d));
            assert((size_t)tiles * (size_t)j->tile <= bstride);
            j->band(band, bstride, pad + (size_t)r0 * pw, j->weight, j->bias, d->in_c, d->out_c, pw, plane, tiles,
                    j->relu);
            if (j->pool) {
                pool_band(out + (size_t)(r0 / 2) * ow, band, bstride, d->out_c, n, pw, oh, ow);
                continue;
            }
            for (int oc = 0; oc < d->out_c; oc++)
                for (int r = 0; r < n; r++)
                    memcpy(out + ((size_t)oc * h + (size_t)(r0 + r)) * w, band + oc * bstride + (size_t)r * pw,
                           sizeof *out * (size_t)w);
        }
        if (j->pooled && splits == 1) { /* the image is done, and still in L2 */
            size_t q = (size_t)d->out_c * (size_t)(h / 2) * (size_t)(w / 2);
            nn_fast_maxpool2x2_image(j->pooled + (size_t)b * q, j->argmax + (size_t)b * q, out, d->out_c, h, w);
        }
    }
}

void nn_fast_conv3x3_forward(util_pool *pool, const nn_fast_scratch *s, float *out, const float *in,
                             const float *weight, const float *bias, const dd_conv2d_dims *d, bool relu, bool pool2,
                             nn_fast_isa isa) {
    conv3x3_job j = {.s = s, .d = d, .out = out, .in = in, .weight = weight, .bias = bias, .relu = relu, .pool = pool2};
    j.band = band_of(isa, &j.tile);
    util_pool_run(pool, conv3x3_part, &j);
}

void nn_fast_conv3x3_forward_train(util_pool *pool, const nn_fast_scratch *s, float *out, float *pooled,
                                   int32_t *argmax, const float *in, const float *weight, const float *bias,
                                   const dd_conv2d_dims *d, bool relu, nn_fast_isa isa) {
    conv3x3_job j = {.s = s, .d = d, .out = out, .in = in, .weight = weight, .bias = bias, .relu = relu};
    assert(!pooled || d->batch >= util_pool_threads(pool)); /* whole images per thread */
    j.pooled = pooled, j.argmax = argmax;
    j.band = band_of(isa, &j.tile);
    util_pool_run(pool, conv3x3_part, &j);
}
