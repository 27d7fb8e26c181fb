/* MaxPool2D and ReLU fast paths: image planes (pooling) or ranges of values (ReLU) split across the threads. */
#include <string.h>

#include "nn/fast.h"

typedef struct pool_job {
    float *out, *din;
    int32_t *argmax_out;
    const int32_t *argmax;
    const float *in, *dout;
    int planes, in_h, in_w, out_h, out_w, size, stride;
} pool_job;

/* One output of the common 2x2 window, stride 2: the first maximum in row-major order wins a tie, a NaN never wins
 * (as in the reference). */
static inline void pool2x2_one(float *o, int32_t *a, const float *r0, const float *r1, int in_w, int32_t at) {
    float v = r0[0];
    int32_t k = 0;
    if (r0[1] > v) v = r0[1], k = 1;
    if (r1[0] > v) v = r1[0], k = in_w;
    if (r1[1] > v) v = r1[1], k = in_w + 1;
    *o = v;
    *a = at + k;
}

/* The vector versions compare whole rows of windows at once: which of four values is largest is a coin toss to the
 * branch predictor, and the scalar branches took 15% of an mnist28 training step (GCC keeps them as branches). */
#if defined(__AVX512F__)
#include <immintrin.h>
#define POOL_LANES 16
#define POOL_MASKED /* a row's last outputs too */
/* Outputs [ox, ox + n) of a row, n <= 16 (a row's last, or a narrow map's whole row: masked, no lane read or written
 * past them): even and odd columns apart, then the same strict comparisons as selects. */
static inline void pool2x2_vec(float *o, int32_t *a, const float *r0, const float *r1, int in_w, int32_t at, int n) {
    const __mmask16 lo = (__mmask16)(n >= 8 ? 0xffff : (1u << (2 * n)) - 1),
                    hi = (__mmask16)(n <= 8 ? 0 : (1u << (2 * n - 16)) - 1), out = (__mmask16)((1u << n) - 1);
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
    __m512 x00 = _mm512_maskz_loadu_ps(lo, r0), x01 = _mm512_maskz_loadu_ps(hi, r0 + 16);
    __m512 x10 = _mm512_maskz_loadu_ps(lo, r1), x11 = _mm512_maskz_loadu_ps(hi, r1 + 16);
    __m512 v = _mm512_permutex2var_ps(x00, even, x01), b = _mm512_permutex2var_ps(x00, odd, x01);
    __m512 c = _mm512_permutex2var_ps(x10, even, x11), d = _mm512_permutex2var_ps(x10, odd, x11);
    const __m512i base =
        _mm512_add_epi32(_mm512_set1_epi32(at),
                         _mm512_slli_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), 1));
    __mmask16 m = _mm512_cmp_ps_mask(b, v, _CMP_GT_OQ);
    v = _mm512_mask_mov_ps(v, m, b);
    __m512i k = _mm512_mask_add_epi32(base, m, base, _mm512_set1_epi32(1));
    m = _mm512_cmp_ps_mask(c, v, _CMP_GT_OQ);
    v = _mm512_mask_mov_ps(v, m, c);
    k = _mm512_mask_add_epi32(k, m, base, _mm512_set1_epi32(in_w));
    m = _mm512_cmp_ps_mask(d, v, _CMP_GT_OQ);
    v = _mm512_mask_mov_ps(v, m, d);
    k = _mm512_mask_add_epi32(k, m, base, _mm512_set1_epi32(in_w + 1));
    _mm512_mask_storeu_ps(o, out, v);
    _mm512_mask_storeu_epi32(a, out, k);
}
#elif defined(__AVX2__)
#include <immintrin.h>
#define POOL_LANES 8
static inline __m256 pool_even(__m256 lo, __m256 hi) {
    return _mm256_castpd_ps(
        _mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(lo, hi, _MM_SHUFFLE(2, 0, 2, 0))), 0xd8));
}
static inline __m256 pool_odd(__m256 lo, __m256 hi) {
    return _mm256_castpd_ps(
        _mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(lo, hi, _MM_SHUFFLE(3, 1, 3, 1))), 0xd8));
}
static inline void pool2x2_vec(float *o, int32_t *a, const float *r0, const float *r1, int in_w, int32_t at, int n) {
    (void)n; /* always 8 */
    __m256 x00 = _mm256_loadu_ps(r0), x01 = _mm256_loadu_ps(r0 + 8);
    __m256 x10 = _mm256_loadu_ps(r1), x11 = _mm256_loadu_ps(r1 + 8);
    __m256 v = pool_even(x00, x01), b = pool_odd(x00, x01), c = pool_even(x10, x11), d = pool_odd(x10, x11);
    __m256i base = _mm256_add_epi32(_mm256_set1_epi32(at), _mm256_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14)), k = base;
    __m256 m = _mm256_cmp_ps(b, v, _CMP_GT_OQ);
    v = _mm256_blendv_ps(v, b, m);
    k = _mm256_blendv_epi8(k, _mm256_add_epi32(base, _mm256_set1_epi32(1)), _mm256_castps_si256(m));
    m = _mm256_cmp_ps(c, v, _CMP_GT_OQ);
    v = _mm256_blendv_ps(v, c, m);
    k = _mm256_blendv_epi8(k, _mm256_add_epi32(base, _mm256_set1_epi32(in_w)), _mm256_castps_si256(m));
    m = _mm256_cmp_ps(d, v, _CMP_GT_OQ);
    v = _mm256_blendv_ps(v, d, m);
    k = _mm256_blendv_epi8(k, _mm256_add_epi32(base, _mm256_set1_epi32(in_w + 1)), _mm256_castps_si256(m));
    _mm256_storeu_ps(o, v);
    _mm256_storeu_si256((__m256i *)a, k);
}
#endif

static void pool2x2(float *restrict o, int32_t *restrict a, const float *restrict x, int in_w, int out_h, int out_w) {
    for (int oy = 0; oy < out_h; oy++) {
        const float *r0 = x + (size_t)(2 * oy) * in_w, *r1 = r0 + in_w;
        const int32_t base = 2 * oy * in_w;
        float *orow = o + (size_t)oy * out_w;
        int32_t *arow = a + (size_t)oy * out_w;
        int ox = 0;
#ifdef POOL_LANES
        /* reads columns [2 ox, 2 ox + 2 POOL_LANES), inside the row as 2 out_w <= in_w */
        for (; ox + POOL_LANES <= out_w; ox += POOL_LANES)
            pool2x2_vec(orow + ox, arow + ox, r0 + 2 * ox, r1 + 2 * ox, in_w, base + 2 * ox, POOL_LANES);
#ifdef POOL_MASKED
        if (ox < out_w) pool2x2_vec(orow + ox, arow + ox, r0 + 2 * ox, r1 + 2 * ox, in_w, base + 2 * ox, out_w - ox);
        continue;
#endif
#endif
        for (; ox < out_w; ox++) pool2x2_one(orow + ox, arow + ox, r0 + 2 * ox, r1 + 2 * ox, in_w, base + 2 * ox);
    }
}

void nn_fast_maxpool2x2_image(float *out, int32_t *argmax, const float *in, int planes, int in_h, int in_w) {
    const int out_h = in_h / 2, out_w = in_w / 2;
    const size_t in_hw = (size_t)in_h * in_w, out_hw = (size_t)out_h * out_w;
    for (int c = 0; c < planes; c++) pool2x2(out + c * out_hw, argmax + c * out_hw, in + c * in_hw, in_w, out_h, out_w);
}

static void pool_forward_part(void *ctx, int t, int threads) {
    const pool_job *j = ctx;
    const size_t in_hw = (size_t)j->in_h * j->in_w, out_hw = (size_t)j->out_h * j->out_w;
    size_t lo, hi;
    util_share((size_t)j->planes, t, threads, &lo, &hi);
    for (size_t plane = lo; plane < hi; plane++) {
        const float *x = j->in + plane * in_hw;
        float *o = j->out + plane * out_hw;
        int32_t *a = j->argmax_out + plane * out_hw;
        if (j->size == 2 && j->stride == 2) {
            pool2x2(o, a, x, j->in_w, j->out_h, j->out_w);
            continue;
        }
        for (int oy = 0; oy < j->out_h; oy++)
            for (int ox = 0; ox < j->out_w; ox++) {
                int32_t best = oy * j->stride * j->in_w + ox * j->stride;
                float v = x[best];
                for (int i = 0; i < j->size; i++) {
                    const float *row = x + (size_t)(oy * j->stride + i) * j->in_w + ox * j->stride;
                    for (int k = 0; k < j->size; k++)
                        if (row[k] > v) { /* strict: the first maximum wins a tie, as in the reference */
                            v = row[k];
                            best = (int32_t)(row + k - x);
                        }
                }
                o[oy * j->out_w + ox] = v;
                a[oy * j->out_w + ox] = best;
            }
    }
}

void nn_fast_maxpool_forward(util_pool *pool, float *out, int32_t *argmax, const float *in, int batch, int channels,
                             int in_h, int in_w, int pool_size, int stride) {
    pool_job j = {.out = out,
                  .argmax_out = argmax,
                  .in = in,
                  .planes = batch * channels,
                  .in_h = in_h,
                  .in_w = in_w,
                  .out_h = dd_maxpool_out_size(in_h, pool_size, stride),
                  .out_w = dd_maxpool_out_size(in_w, pool_size, stride),
                  .size = pool_size,
                  .stride = stride};
    util_pool_run(pool, pool_forward_part, &j);
}

/* Windows that tile the input (stride = size): each band of rows is cleared and its maxima written while it is in
 * cache, instead of a clearing pass over the whole input gradient first. Overlapping windows add up, after a
 * clearing pass. */
static void pool_backward_part(void *ctx, int t, int threads) {
    const pool_job *j = ctx;
    const size_t in_hw = (size_t)j->in_h * j->in_w, out_hw = (size_t)j->out_h * j->out_w;
    const int tiles = j->stride == j->size, k = j->size;
    size_t lo, hi;
    util_share((size_t)j->planes, t, threads, &lo, &hi);
    for (size_t plane = lo; plane < hi; plane++) {
        float *din = j->din + plane * in_hw;
        const float *g = j->dout + plane * out_hw;
        const int32_t *a = j->argmax + plane * out_hw;
        if (!tiles) {
            memset(din, 0, sizeof *din * in_hw);
            for (size_t p = 0; p < out_hw; p++) din[a[p]] += g[p];
            continue;
        }
        const int used_w = j->out_w * k;
        for (int oy = 0; oy < j->out_h; oy++) {
            for (int i = 0; i < k; i++) {
                float *row = din + (size_t)(oy * k + i) * j->in_w;
                memset(row, 0, sizeof *row * (size_t)used_w);
                memset(row + used_w, 0, sizeof *row * (size_t)(j->in_w - used_w));
            }
            for (int ox = 0; ox < j->out_w; ox++) din[a[oy * j->out_w + ox]] = g[oy * j->out_w + ox];
        }
        size_t done = (size_t)j->out_h * k * j->in_w;
        memset(din + done, 0, sizeof *din * (in_hw - done));
    }
}

void nn_fast_maxpool_backward(util_pool *pool, float *din, const float *dout, const int32_t *argmax, int batch,
                              int channels, int in_h, int in_w, int pool_size, int stride) {
    pool_job j = {.din = din,
                  .argmax = argmax,
                  .dout = dout,
                  .planes = batch * channels,
                  .in_h = in_h,
                  .in_w = in_w,
                  .out_h = dd_maxpool_out_size(in_h, pool_size, stride),
                  .out_w = dd_maxpool_out_size(in_w, pool_size, stride),
                  .size = pool_size,
                  .stride = stride};
    util_pool_run(pool, pool_backward_part, &j);
}

typedef struct relu_job {
    float *out;
    const float *in, *dout, *fwd_out;
    size_t n;
} relu_job;

static void relu_forward_part(void *ctx, int t, int threads) {
    const relu_job *j = ctx;
    size_t lo, hi;
    util_share(j->n, t, threads, &lo, &hi);
    dd_relu_forward(j->out + lo, j->in + lo, hi - lo);
}

void nn_fast_relu_forward(util_pool *pool, float *out, const float *in, size_t n) {
    relu_job j = {.out = out, .in = in, .n = n};
    util_pool_run(pool, relu_forward_part, &j);
}

static void relu_backward_part(void *ctx, int t, int threads) {
    const relu_job *j = ctx;
    size_t lo, hi;
    util_share(j->n, t, threads, &lo, &hi);
    dd_relu_backward(j->out + lo, j->dout + lo, j->fwd_out + lo, hi - lo);
}

void nn_fast_relu_backward(util_pool *pool, float *din, const float *dout, const float *out, size_t n) {
    relu_job j = {.out = din, .dout = dout, .fwd_out = out, .n = n};
    util_pool_run(pool, relu_backward_part, &j);
}
