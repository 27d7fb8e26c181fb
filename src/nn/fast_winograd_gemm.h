/* The products of the Winograd 3x3 convolution (src/nn/fast_winograd.c), written once and included once per
 * instruction set. Before including: the vector words of nn/fast_vec.h (NV counts vectors of tiles per block here),
 * TARGET (function attributes or nothing), BLOCK_FN and GEMM_FN (the two functions' names).
 *
 * For each of the 16 points of the transformed 4x4 tile: m [K][ms] = u [K][C] x v [C][vs], over the first nv
 * vectors of tiles (vs, ms: floats per row). Every output is one sum over the input channels in order, whatever nv: a
 * tile's bits do not depend on the block it falls in. */

/* One point's product for a constant nv (inlined into GEMM_FN once per value, so the accumulators stay in
 * registers). */
TARGET static inline __attribute__((always_inline)) void BLOCK_FN(float *restrict m, const float *restrict v,
                                                                  const float *restrict u, int C, int K, int vs, int ms,
                                                                  const int nv) {
    int k = 0;
    for (; k + OCB <= K; k += OCB) {
        VEC acc[OCB][NV];
#pragma GCC unroll 16
        for (int r = 0; r < OCB; r++)
#pragma GCC unroll 8
            for (int n = 0; n < nv; n++) acc[r][n] = V_ZERO();
        const float *uk = u + (size_t)k * C;
        for (int c = 0; c < C; c++) {
            VEC x[NV];
#pragma GCC unroll 8
            for (int n = 0; n < nv; n++) x[n] = V_LOAD(v + (size_t)c * vs + n * LANES);
#pragma GCC unroll 16
            for (int r = 0; r < OCB; r++) {
                VEC w = V_SET1(uk[(size_t)r * C + c]);
#pragma GCC unroll 8
                for (int n = 0; n < nv; n++) acc[r][n] = V_FMA(x[n], w, acc[r][n]);
            }
        }
#pragma GCC unroll 16
        for (int r = 0; r < OCB; r++)
#pragma GCC unroll 8
            for (int n = 0; n < nv; n++) V_STORE(m + (size_t)(k + r) * ms + n * LANES, acc[r][n]);
    }
    for (; k < K; k++) { /* rows past the last whole block, one at a time */
        VEC acc[NV];
#pragma GCC unroll 8
        for (int n = 0; n < nv; n++) acc[n] = V_ZERO();
        const float *uk = u + (size_t)k * C;
        for (int c = 0; c < C; c++) {
            VEC w = V_SET1(uk[c]);
#pragma GCC unroll 8
            for (int n = 0; n < nv; n++) acc[n] = V_FMA(V_LOAD(v + (size_t)c * vs + n * LANES), w, acc[n]);
        }
#pragma GCC unroll 8
        for (int n = 0; n < nv; n++) V_STORE(m + (size_t)k * ms + n * LANES, acc[n]);
    }
}

/* m [16][K][ms] = u [16][K][C] x v [16][C][vs], nv (1..NV) vectors of tiles; m's and v's planes skew floats apart
 * past their rows. */
TARGET static void GEMM_FN(float *restrict m, const float *restrict v, const float *restrict u, int C, int K, int vs,
                           int ms, int skew, int nv) {
    for (int xi = 0; xi < 16; xi++) {
        float *mx = m + (size_t)xi * ((size_t)K * ms + skew);
        const float *vx = v + (size_t)xi * ((size_t)C * vs + skew), *ux = u + (size_t)xi * K * C;
        if (nv >= NV) BLOCK_FN(mx, vx, ux, C, K, vs, ms, NV);
#if NV > 2
        else if (nv == 2)
            BLOCK_FN(mx, vx, ux, C, K, vs, ms, 2);
#endif
        else
            BLOCK_FN(mx, vx, ux, C, K, vs, ms, 1);
    }
}

#undef VEC
#undef LANES
#undef OCB
#undef NV
#undef V_ZERO
#undef V_LOAD
#undef V_STORE
#undef V_SET1
#undef V_FMA
#undef V_ADD
#undef V_MAX
#undef TARGET
#undef BLOCK_FN
#undef GEMM_FN
