/* One band of the direct 3x3 convolution (src/nn/fast_conv3x3.c), written once and included once per instruction
 * set. Before including: the vector words of nn/fast_vec.h (VEC, LANES, OCB output channels per register block, NV
 * vectors of pixels per tile, V_ZERO, V_LOAD, V_STORE, V_SET1, V_FMA, V_ADD, V_MAX), TARGET (a function attribute or
 * nothing) and BAND_FN (the function's name).
 *
 * The input is an image zero-padded by one pixel on every side, each plane pw = w + 2 wide, so the tap (i, j) of
 * output pixel q (in the same padded-width numbering, q = y * pw + x) is at x + q + i * pw + j for every q: the nine
 * taps of every channel are nine fixed offsets, and a tile of consecutive q is one unaligned load per tap. The two
 * columns of every row past the width are computed and thrown away. Every output is one sum in the fixed order
 * channel, then tap: the tiling does not change the bits. */

/* band [oc][tiles * NV * LANES] = relu?(bias + conv) for the tiles of q starting at x (the padded image, moved to the
 * band's first row); w [oc][c][9]. */
TARGET static void BAND_FN(float *restrict band, size_t band_stride, const float *restrict x, const float *restrict w,
                           const float *restrict bias, int channels, int out_c, int pw, size_t plane, int tiles,
                           bool relu) {
    const size_t K = (size_t)channels * 9;
    for (int tile = 0; tile < tiles; tile++) {
        const size_t q = (size_t)tile * NV * LANES;
        int oc = 0;
        for (; oc + OCB <= out_c; oc += OCB) {
            VEC acc[OCB][NV];
#pragma GCC unroll 16
            for (int r = 0; r < OCB; r++)
#pragma GCC unroll 8
                for (int n = 0; n < NV; n++) acc[r][n] = V_ZERO();
            const float *wc = w + (size_t)oc * K;
            const float *xc = x + q;
            for (int c = 0; c < channels; c++, xc += plane, wc += 9) {
#pragma GCC unroll 3
                for (int t = 0; t < 9; t++) {
                    const float *xp = xc + (t / 3) * pw + t % 3;
                    VEC v[NV];
#pragma GCC unroll 8
                    for (int n = 0; n < NV; n++) v[n] = V_LOAD(xp + n * LANES);
#pragma GCC unroll 16
                    for (int r = 0; r < OCB; r++) {
                        VEC k = V_SET1(wc[(size_t)r * K + t]);
#pragma GCC unroll 8
                        for (int n = 0; n < NV; n++) acc[r][n] = V_FMA(v[n], k, acc[r][n]);
                    }
                }
            }
#pragma GCC unroll 16
            for (int r = 0; r < OCB; r++) {
                VEC b = V_SET1(bias ? bias[oc + r] : 0.0f), zero = V_ZERO();
                float *o = band + (size_t)(oc + r) * band_stride + q;
#pragma GCC unroll 8
                for (int n = 0; n < NV; n++) {
                    VEC y = V_ADD(acc[r][n], b);
                    V_STORE(o + n * LANES, relu ? V_MAX(y, zero) : y);
                }
            }
        }
        for (; oc < out_c; oc++) { /* channels past the last whole block, one at a time */
            VEC acc[NV];
#pragma GCC unroll 8
            for (int n = 0; n < NV; n++) acc[n] = V_ZERO();
            const float *wc = w + (size_t)oc * K;
            const float *xc = x + q;
            for (int c = 0; c < channels; c++, xc += plane, wc += 9)
                for (int t = 0; t < 9; t++) {
                    const float *xp = xc + (t / 3) * pw + t % 3;
                    VEC k = V_SET1(wc[t]);
#pragma GCC unroll 8
                    for (int n = 0; n < NV; n++) acc[n] = V_FMA(V_LOAD(xp + n * LANES), k, acc[n]);
                }
            VEC b = V_SET1(bias ? bias[oc] : 0.0f), zero = V_ZERO();
            float *o = band + (size_t)oc * band_stride + q;
#pragma GCC unroll 8
            for (int n = 0; n < NV; n++) {
                VEC y = V_ADD(acc[n], b);
                V_STORE(o + n * LANES, relu ? V_MAX(y, zero) : y);
            }
        }
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
#undef BAND_FN
