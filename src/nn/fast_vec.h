/* The vector words the 3x3 kernels' bodies (fast_conv3x3_band.h, fast_winograd_gemm.h) are written in, for one
 * instruction set. Define NN_VEC_AVX512, NN_VEC_AVX2 or NN_VEC_GENERIC, include this file, define TARGET and the
 * body's function names, then include the body, which #undefs them all. Register blocking: OCB output channels by
 * NV vectors of LANES pixels (or tiles). No include guard: it is included once per instruction set. */
#if defined(NN_VEC_AVX512)
#include <immintrin.h>
#define VEC __m512
#define LANES 16
#define OCB 8
#define NV 3
#define V_ZERO() _mm512_setzero_ps()
#define V_LOAD(p) _mm512_loadu_ps(p)
#define V_STORE(p, v) _mm512_storeu_ps(p, v)
#define V_SET1(x) _mm512_set1_ps(x)
#define V_FMA(a, b, c) _mm512_fmadd_ps(a, b, c)
#define V_ADD(a, b) _mm512_add_ps(a, b)
#define V_MAX(a, b) _mm512_max_ps(a, b)
#undef NN_VEC_AVX512
#elif defined(NN_VEC_AVX2)
#include <immintrin.h>
#define VEC __m256
#define LANES 8
#define OCB 4
#define NV 3
#define V_ZERO() _mm256_setzero_ps()
#define V_LOAD(p) _mm256_loadu_ps(p)
#define V_STORE(p, v) _mm256_storeu_ps(p, v)
#define V_SET1(x) _mm256_set1_ps(x)
#define V_FMA(a, b, c) _mm256_fmadd_ps(a, b, c)
#define V_ADD(a, b) _mm256_add_ps(a, b)
#define V_MAX(a, b) _mm256_max_ps(a, b)
#undef NN_VEC_AVX2
#elif defined(NN_VEC_GENERIC)
/* GCC's vector extensions, lowered to whatever the target has */
#ifndef NN_VEC_V4_DEFINED
#define NN_VEC_V4_DEFINED
typedef float nn_v4 __attribute__((vector_size(16)));
static inline nn_v4 nn_v4_load(const float *p) {
    nn_v4 v;
    memcpy(&v, p, sizeof v);
    return v;
}
static inline void nn_v4_store(float *p, nn_v4 v) { memcpy(p, &v, sizeof v); }
static inline nn_v4 nn_v4_max(nn_v4 a, nn_v4 b) {
    for (int i = 0; i < 4; i++) a[i] = a[i] > b[i] ? a[i] : b[i];
    return a;
}
#endif
#define VEC nn_v4
#define LANES 4
#define OCB 4
#define NV 2
#define V_ZERO() ((nn_v4){0, 0, 0, 0})
#define V_LOAD(p) nn_v4_load(p)
#define V_STORE(p, v) nn_v4_store(p, v)
#define V_SET1(x) ((nn_v4){0, 0, 0, 0} + (x))
#define V_FMA(a, b, c) ((a) * (b) + (c))
#define V_ADD(a, b) ((a) + (b))
#define V_MAX(a, b) nn_v4_max(a, b)
#undef NN_VEC_GENERIC
#endif
