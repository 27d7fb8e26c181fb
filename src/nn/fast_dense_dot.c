/* A dense layer at inference for a batch, with AVX-512: out[b][n] = bias[n] + sum_i in[b][i] w[n][i], as dot
 * products along the rows both matrices already have (no transposed or packed copy of the weights). 8 images x 3
 * units are summed in 24 registers, 16 inputs at a time, over chunks of the inputs whose weights stay in L2; each
 * chunk's sums are added to the output in chunk order. Threads take images: every output is one thread's sum in a
 * fixed order, so any thread count gives the same bits. OpenBLAS' sgemm here ran its AVX2 kernels
 * (OPENBLAS_CORETYPE=Haswell on this project's machine) and packed the weights on every call. */
#include <stdint.h>

#include "nn/fast.h"

#define CHUNK 1024 /* inputs per chunk: 128 units' weights are 512 KB (512 measured no faster) */
#define RB 8       /* images per register block (4 x 6 and 12 x 2 measured slower: the weights' loads from L2) */
#define SB 3       /* units per register block */

#if defined(__AVX512F__)
#include <immintrin.h>

/* The sanitizers' per-load checks would dominate this loop; the extent is the rows' own, asserted by the caller's
 * sizes. */
__attribute__((no_sanitize("address", "undefined"))) static void block(float *out, const float *in, const float *w,
                                                                       int n_in, int n_out, int b0, int nb, int n0,
                                                                       int ns, int i0, int i1) {
    const float *x[RB], *wr[SB];
    for (int r = 0; r < RB; r++) x[r] = in + (size_t)(b0 + (r < nb ? r : nb - 1)) * n_in; /* spare rows: repeats */
    for (int s = 0; s < SB; s++) wr[s] = w + (size_t)(n0 + (s < ns ? s : ns - 1)) * n_in;
    __m512 acc[RB][SB];
#pragma GCC unroll 8
    for (int r = 0; r < RB; r++)
#pragma GCC unroll 8
        for (int s = 0; s < SB; s++) acc[r][s] = _mm512_setzero_ps();
    int i = i0;
    for (; i + 16 <= i1; i += 16) {
        __m512 xv[RB];
#pragma GCC unroll 8
        for (int r = 0; r < RB; r++) xv[r] = _mm512_loadu_ps(x[r] + i);
#pragma GCC unroll 8
        for (int s = 0; s < SB; s++) {
            __m512 wv = _mm512_loadu_ps(wr[s] + i);
#pragma GCC unroll 8
            for (int r = 0; r < RB; r++) acc[r][s] = _mm512_fmadd_ps(xv[r], wv, acc[r][s]);
        }
    }
    if (i < i1) { /* the chunk's last inputs, masked */
        __mmask16 m = (__mmask16)((1u << (i1 - i)) - 1);
        __m512 xv[RB];
#pragma GCC unroll 8
        for (int r = 0; r < RB; r++) xv[r] = _mm512_maskz_loadu_ps(m, x[r] + i);
#pragma GCC unroll 8
        for (int s = 0; s < SB; s++) {
            __m512 wv = _mm512_maskz_loadu_ps(m, wr[s] + i);
#pragma GCC unroll 8
            for (int r = 0; r < RB; r++) acc[r][s] = _mm512_fmadd_ps(xv[r], wv, acc[r][s]);
        }
    }
    for (int r = 0; r < nb; r++)
        for (int s = 0; s < ns; s++) out[(size_t)(b0 + r) * n_out + n0 + s] += _mm512_reduce_add_ps(acc[r][s]);
}
#endif

typedef struct dot_job {
    float *out;
    const float *in, *weight, *bias;
    int batch, n_in, n_out;
    bool relu;
} dot_job;

static void dot_part(void *ctx, int t, int threads) {
    const dot_job *j = ctx;
    size_t lo, hi;
    util_share((size_t)j->batch, t, threads, &lo, &hi);
    for (size_t b = lo; b < hi; b++)
        for (int n = 0; n < j->n_out; n++) j->out[b * j->n_out + n] = j->bias ? j->bias[n] : 0.0f;
#if defined(__AVX512F__)
    for (int i0 = 0; i0 < j->n_in; i0 += CHUNK) {
        int i1 = j->n_in - i0 < CHUNK ? j->n_in : i0 + CHUNK;
        for (int b0 = (int)lo; b0 < (int)hi; b0 += RB)
            for (int n0 = 0; n0 < j->n_out; n0 += SB)
                block(j->out, j->in, j->weight, j->n_in, j->n_out, b0, (int)hi - b0 < RB ? (int)hi - b0 : RB, n0,
                      j->n_out - n0 < SB ? j->n_out - n0 : SB, i0, i1);
    }
#endif
    if (j->relu)
        for (size_t k = lo * j->n_out; k < hi * j->n_out; k++) j->out[k] = j->out[k] > 0.0f ? j->out[k] : 0.0f;
}

bool nn_fast_dense_dot_applies(int batch, int n_in) {
#if defined(__AVX512F__)
    return batch >= RB && n_in >= 16 && nn_fast_isa_best() == NN_FAST_AVX512;
#else
    (void)batch, (void)n_in;
    return false;
#endif
}

void nn_fast_dense_dot_forward(util_pool *pool, float *out, const float *in, const float *weight, const float *bias,
                               int batch, int n_in, int n_out, bool relu) {
    dot_job j = {.out = out,
                 .in = in,
                 .weight = weight,
                 .bias = bias,
                 .batch = batch,
                 .n_in = n_in,
                 .n_out = n_out,
                 .relu = relu};
    util_pool_run(pool, dot_part, &j);
}
