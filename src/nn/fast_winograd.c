/* The 3x3, stride 1, "same" convolution by Winograd's F(2x2, 3x3), at inference and in training (forward; and at the
 * end of this file backward: the input gradient as the same kind of conv, the weight gradient by the transforms'
 * adjoints): each 2x2 block of outputs ("tile") comes from a 4x4 block of the input, both transformed, so that the 9
 * multiply-adds per output pixel and input channel become 16 per tile of 4 pixels (2.25x fewer). Per block of tiles:
 * the input transform V = B' d B of every channel, 16 products m = u v (one per point of the 4x4 tile, over the input
 * channels: fast_winograd_gemm.h, in registers), and the output transform Y = A' m A with the bias, the ReLU and a
 * fused 2x2 max-pool (one tile is one pool window) while the block is in cache. The weights' transform u = G g G' is
 * split across the threads and kept in the workspace's cache with the weights it was made from; a pass makes it again
 * only when they differ.
 *
 * The input's rows are copied once into a zero-bordered buffer with the even and odd columns apart, so that a run of
 * tiles along a row reads plain vectors (tile x's columns 2x .. 2x + 3 are even x, odd x, even x + 1, odd x + 1).
 * The transforms are additions and subtractions only, the products sum over the channels in order: every output is
 * computed the same way whatever the tiles' grouping, so any thread count gives the same bits. */
#include <assert.h>
#include <cblas.h>
#include <string.h>

#include "nn/fast.h"

/* As the direct kernel's bands (fast_conv3x3.c): the sanitizers' per-load checks of the products' vector loads cost
 * more than the rest; each block's extent is asserted once instead. */
#define GEMM_UNCHECKED __attribute__((no_sanitize("address", "undefined")))

#define TB 48        /* tiles per block (the widest kernel's NV * LANES); a block's buffers stay in L2 */
#define VS (TB + 16) /* floats per row of the input transform's V: room for its last vector's spare lanes */
/* V's and m's 16 planes (one per point of the tile) a cache line apart from a multiple of 4 KB: the transforms read
 * or write all 16 at once, and 16 streams in one L1 set missed (a quarter of mnist28's time) */
#define PLANE_SKEW 16

#if defined(__x86_64__) || defined(__i386__)
#define NN_VEC_AVX512
#include "nn/fast_vec.h"
#define TARGET __attribute__((target("avx512f"))) GEMM_UNCHECKED
#define BLOCK_FN block_avx512
#define GEMM_FN gemm_avx512
#include "nn/fast_winograd_gemm.h"

#define NN_VEC_AVX2
#include "nn/fast_vec.h"
#define TARGET __attribute__((target("avx2,fma"))) GEMM_UNCHECKED
#define BLOCK_FN block_avx2
#define GEMM_FN gemm_avx2
#include "nn/fast_winograd_gemm.h"
#endif

#define NN_VEC_GENERIC
#include "nn/fast_vec.h"
#define TARGET
#define BLOCK_FN block_generic
#define GEMM_FN gemm_generic
#include "nn/fast_winograd_gemm.h"

typedef void (*gemm_fn)(float *restrict m, const float *restrict v, const float *restrict u, int C, int K, int vs,
                        int ms, int skew, int nv);

/* The products' function for isa and its tiles per vector. */
static gemm_fn gemm_of(nn_fast_isa isa, int *lanes, int *nv) {
#if defined(__x86_64__) || defined(__i386__)
    if (isa == NN_FAST_AVX512) return *lanes = 16, *nv = 3, gemm_avx512;
    if (isa == NN_FAST_AVX2) return *lanes = 8, *nv = 3, gemm_avx2;
#endif
    (void)isa;
    return *lanes = 4, *nv = 2, gemm_generic;
}

/* ---- the layer ---- */

bool nn_fast_winograd_applies(const dd_conv2d_dims *d) {
    /* with few input channels the transforms cost more than the products save (a first layer: the direct kernel) */
    return nn_fast_conv3x3_applies(d) && d->in_c >= 8 && d->out_c >= 4;
}

/* Tile rows and columns: a fused pool drops a last odd row or column, as the pool's floor rule does. */
static int tiles_of(int n, bool pool2) { return pool2 ? n / 2 : (n + 1) / 2; }

/* Pad slots: a block of tiles may span this many whole images, each padded in its own slot. */
static int slots_of(const dd_conv2d_dims *d) {
    int tiles = tiles_of(d->in_h, true) * tiles_of(d->in_w, true); /* the fewest per image: pooled */
    return 1 + (TB - 1 + (tiles > 0 ? tiles : 1) - 1) / (tiles > 0 ? tiles : 1);
}

/* Floats of the transformed weights, u [16][out_c][in_c] (in thread 0's scratch). */
static size_t u_size(const dd_conv2d_dims *d) { return (size_t)16 * d->out_c * d->in_c; }
/* The padded image: (2 * tile rows + 2) rows of (2 * tile columns + 2) columns per channel, at the most. */
#define PAD_SLACK 48 /* the input transform's last vectors read past the last row, pad_rows' write past it */
static size_t pad_size(const dd_conv2d_dims *d) {
    return (size_t)d->in_c * (2 * (size_t)tiles_of(d->in_h, false) + 2) * (2 * (size_t)tiles_of(d->in_w, false) + 2) +
           PAD_SLACK;
}

size_t nn_fast_winograd_scratch_size(const dd_conv2d_dims *d) {
    /* m's last rows are read a vector past their end by an image's part of a block that starts mid-vector */
    return u_size(d) + (size_t)slots_of(d) * pad_size(d) +
           (size_t)16 * (VS * (size_t)d->in_c + TB * (size_t)d->out_c + 2 * PLANE_SKEW) + 16;
}

/* The transforms run on 16 tiles at a time (GCC's vector extensions: AVX-512 here, lowered elsewhere); a run's last
 * vector is stored in part. */
typedef float wv16 __attribute__((vector_size(64)));
#define WV 16
#define WV_LOAD(v, p) memcpy(&(v), (p), sizeof(wv16))
#define WV_STORE(p, v) memcpy((p), &(v), sizeof(wv16))
typedef int32_t wi16 __attribute__((vector_size(64)));
#define WV_MAX(a, b) ((wv16)(((wi16)(a) & ((a) > (b))) | ((wi16)(b) & ~((a) > (b)))))

#if defined(__clang__)
#define WV_SHUFFLE2(a, b, ...) __builtin_shufflevector(a, b, __VA_ARGS__)
#else
#define WV_SHUFFLE2(a, b, ...) __builtin_shuffle(a, b, (wi16){__VA_ARGS__})
#endif

/* Rows [r0, r1) of the padded planes (row r is input row r - 1), each row's even columns then its odd ones: even
 * column x is input column 2x - 1, odd column x input column 2x (zero outside the image). 32 input columns at a time
 * while they are inside the image; a vector's lanes past the row land on columns set after (the zeros, the odd
 * half, the next row) or in the planes' slack. */
static void pad_rows(float *pad, const float *img, const dd_conv2d_dims *d, int pw, size_t plane, int r0, int r1) {
    const int h = d->in_h, w = d->in_w, half = pw / 2;
    const int ne = w / 2 < half - 1 ? w / 2 : half - 1, no = (w + 1) / 2 < half ? (w + 1) / 2 : half;
    const float *end = img + (size_t)d->in_c * h * w;
    for (int c = 0; c < d->in_c; c++)
        for (int r = r0; r < r1; r++) {
            float *e = pad + c * plane + (size_t)r * pw, *o = e + half;
            if (r == 0 || r > h) {
                memset(e, 0, sizeof *e * (size_t)pw);
                continue;
            }
            const float *src = img + ((size_t)c * h + (size_t)(r - 1)) * w;
            int x = 0;
            for (; x < no && end - (src + 2 * x) >= 2 * WV; x += WV) { /* e's spare lanes: o, written next */
                wv16 s0, s1;
                WV_LOAD(s0, src + 2 * x), WV_LOAD(s1, src + 2 * x + WV);
                wv16 odd = WV_SHUFFLE2(s0, s1, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
                WV_STORE(e + x + 1, odd);
            }
            for (int k = 0; k < x; k += WV) {
                wv16 s0, s1;
                WV_LOAD(s0, src + 2 * k), WV_LOAD(s1, src + 2 * k + WV);
                wv16 even = WV_SHUFFLE2(s0, s1, 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
                WV_STORE(o + k, even);
            }
            e[0] = 0.0f;
            for (int k = x + 1; k <= ne; k++) e[k] = src[2 * k - 1];
            for (int k = ne + 1; k < half; k++) e[k] = 0.0f;
            for (int k = x; k < no; k++) o[k] = src[2 * k];
            for (int k = no; k < half; k++) o[k] = 0.0f;
        }
}

/* u [16][K][C] for output channels [k0, k1) from g [K][C][3][3]: G g G', G = [1 0 0; .5 .5 .5; .5 -.5 .5; 0 0 1]. */
static void transform_weights(float *u, const float *g, int C, int K, int k0, int k1) {
    const size_t KC = (size_t)K * C;
    for (int k = k0; k < k1; k++)
        for (int c = 0; c < C; c++) {
            const float *w = g + ((size_t)k * C + c) * 9;
            float t[4][3], r[4][4];
            for (int j = 0; j < 3; j++) {
                t[0][j] = w[j];
                t[1][j] = 0.5f * (w[j] + w[3 + j] + w[6 + j]);
                t[2][j] = 0.5f * (w[j] - w[3 + j] + w[6 + j]);
                t[3][j] = w[6 + j];
            }
            for (int i = 0; i < 4; i++) {
                r[i][0] = t[i][0];
                r[i][1] = 0.5f * (t[i][0] + t[i][1] + t[i][2]);
                r[i][2] = 0.5f * (t[i][0] - t[i][1] + t[i][2]);
                r[i][3] = t[i][2];
            }
            for (int xi = 0; xi < 16; xi++) u[xi * KC + (size_t)k * C + c] = r[xi / 4][xi % 4];
        }
}

/* V [16][C][vs] (tile i of the block at column i) of the tiles [x0, x1) of tile row ty, the block's tiles from i;
 * pad: the padded planes (reads up to WV floats past a row: PAD_SLACK). Whole vectors are written: the last one's
 * spare lanes land on the columns of the block's next run, written after, or past TB. B' = [1 0 -1 0; 0 1 1 0;
 * 0 -1 1 0; 0 1 0 -1], applied to the tile's rows, then to its columns (even x, odd x, even x + 1, odd x + 1). */
static void transform_input(float *restrict v, const float *restrict pad, int C, int pw, size_t plane, int ty, int x0,
                            int x1, int i, int vs) {
    const int half = pw / 2;
    const size_t xs = (size_t)C * vs + PLANE_SKEW; /* from one point of the tile to the next */
    for (int c = 0; c < C; c++) {
        const float *row = pad + c * plane + (size_t)(2 * ty) * pw;
        float *vc = v + (size_t)c * vs + i;
        for (int x = x0; x < x1; x += WV) {
            wv16 e[4], o[4], e1[4], o1[4]; /* rows 0..3 at columns 2x, 2x + 1, 2x + 2, 2x + 3 */
            for (int r = 0; r < 4; r++) {
                const float *er = row + (size_t)r * pw, *orow = er + half;
                WV_LOAD(e[r], er + x), WV_LOAD(o[r], orow + x), WV_LOAD(e1[r], er + x + 1),
                    WV_LOAD(o1[r], orow + x + 1);
            }
            wv16 a[4] = {e[0] - e[2], e[1] + e[2], e[2] - e[1], e[1] - e[3]};
            wv16 b[4] = {o[0] - o[2], o[1] + o[2], o[2] - o[1], o[1] - o[3]};
            wv16 cc[4] = {e1[0] - e1[2], e1[1] + e1[2], e1[2] - e1[1], e1[1] - e1[3]};
            wv16 dd[4] = {o1[0] - o1[2], o1[1] + o1[2], o1[2] - o1[1], o1[1] - o1[3]};
            float *dst = vc + (x - x0);
            for (int j = 0; j < 4; j++) {
                wv16 r0 = a[j] - cc[j], r1 = b[j] + cc[j], r2 = cc[j] - b[j], r3 = b[j] - dd[j];
                WV_STORE(dst + (4 * j + 0) * xs, r0);
                WV_STORE(dst + (4 * j + 1) * xs, r1);
                WV_STORE(dst + (4 * j + 2) * xs, r2);
                WV_STORE(dst + (4 * j + 3) * xs, r3);
            }
        }
    }
}

typedef struct wino_job {
    const nn_fast_scratch *s;
    float *u; /* the transformed weights */
    const dd_conv2d_dims *d;
    float *out;
    const float *in, *weight, *bias;
    bool relu, pool;
    float *pooled;   /* training: each image's maps 2x2-pooled here once they are done (NULL: not) */
    int32_t *argmax; /* and the pool's winners */
    gemm_fn gemm;
    int lanes, nv;
} wino_job;

static void weights_part(void *ctx, int t, int threads) {
    const wino_job *j = ctx;
    size_t lo, hi;
    util_share((size_t)j->d->out_c, t, threads, &lo, &hi);
    transform_weights(j->u, j->weight, j->d->in_c, j->d->out_c, (int)lo, (int)hi);
}

/* The outputs of tiles [i, i + 16) of the block, y[2a + b] = pixel (a, b) of each tile, with the bias and the ReLU
 * (the additions in the scalar order: the same bits as one tile at a time). */
static inline void tile_vectors(wv16 y[4], const float *restrict mk, size_t ks, int i, float bias, bool relu) {
    const wv16 zero = {0}, vb = zero + bias;
    wv16 mm[16], s0[4], s1[4];
    for (int e = 0; e < 16; e++) WV_LOAD(mm[e], mk + e * ks + i);
    for (int b = 0; b < 4; b++) {
        s0[b] = mm[b] + mm[4 + b] + mm[8 + b];
        s1[b] = mm[4 + b] - mm[8 + b] - mm[12 + b];
    }
    y[0] = s0[0] + s0[1] + s0[2] + vb, y[1] = s0[1] - s0[2] - s0[3] + vb;
    y[2] = s1[0] + s1[1] + s1[2] + vb, y[3] = s1[1] - s1[2] - s1[3] + vb;
    if (relu)
        for (int q = 0; q < 4; q++) y[q] = WV_MAX(y[q], zero);
}

/* The block's outputs from m [16][K][TB]: tiles [i0, i0 + n) of the block are tiles first + i0 .. of the image
 * (row-major, tw per row). A' = [1 1 1 0; 0 1 -1 -1]. */
static void transform_output(const wino_job *j, float *out, const float *restrict m, int first, int n, int tw) {
    const dd_conv2d_dims *d = j->d;
    const int K = d->out_c, h = d->out_h, w = d->out_w, th = tiles_of(h, j->pool);
    const size_t ks = (size_t)K * TB + PLANE_SKEW; /* from one point of the tile to the next */
    for (int k = 0; k < K; k++) {
        const float *mk = m + (size_t)k * TB, bias = j->bias ? j->bias[k] : 0.0f;
        if (j->pool) { /* relu(max(y) + bias) = max(relu(y + bias)): the bias after the pool's maximum */
            float *o = out + (size_t)k * th * tw + first;
            const wv16 zero = {0}, vb = zero + bias;
            for (int i = 0; i < n; i += WV) {
                wv16 mm[16], s0[4], s1[4];
                for (int q = 0; q < 16; q++) WV_LOAD(mm[q], mk + q * ks + i);
                for (int b = 0; b < 4; b++) {
                    s0[b] = mm[b] + mm[4 + b] + mm[8 + b];
                    s1[b] = mm[4 + b] - mm[8 + b] - mm[12 + b];
                }
                wv16 y00 = s0[0] + s0[1] + s0[2], y01 = s0[1] - s0[2] - s0[3];
                wv16 y10 = s1[0] + s1[1] + s1[2], y11 = s1[1] - s1[2] - s1[3];
                wv16 y = WV_MAX(WV_MAX(y00, y01), WV_MAX(y10, y11)) + vb;
                if (j->relu) y = WV_MAX(y, zero);
                if (n - i >= WV) {
                    WV_STORE(o + i, y);
                    continue;
                }
#ifdef __AVX512F__ /* a masked store: a loop here became a call to memmove */
                _mm512_mask_storeu_ps(o + i, (__mmask16)((1u << (n - i)) - 1), (__m512)y);
#else
                for (int q = 0; q < n - i; q++) o[i + q] = y[q];
#endif
            }
            continue;
        }
        float *plane = out + (size_t)k * h * w;
        for (int i = 0; i < n;) { /* 16 tiles at a time (m's rows are read a vector past n: never stored) */
            const int ty = (first + i) / tw, tx = (first + i) % tw;
            wv16 y[4];
            tile_vectors(y, mk, ks, i, bias, j->relu);
            if (2 * ty + 1 < h && n - i >= WV && tx + WV <= w / 2) { /* 16 tiles of one row, all inside: 2 rows */
                for (int a = 0; a < 2; a++) {
                    wv16 lo =
                        WV_SHUFFLE2(y[2 * a], y[2 * a + 1], 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
                    wv16 hi = WV_SHUFFLE2(y[2 * a], y[2 * a + 1], 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30,
                                          15, 31);
                    float *row = plane + (size_t)(2 * ty + a) * w + 2 * (size_t)tx;
                    WV_STORE(row, lo);
                    WV_STORE(row + WV, hi);
                }
                i += WV;
                continue;
            }
            float v[4][WV]; /* narrow maps (mnist28's 7 tiles a row) or edges: pixel by pixel, those inside */
            for (int q = 0; q < 4; q++) WV_STORE(v[q], y[q]);
            const int count = n - i < WV ? n - i : WV;
            for (int q = 0; q < count; q++) {
                const int t = first + i + q, qy = t / tw, qx = t % tw;
                for (int a = 0; a < 2 && 2 * qy + a < h; a++)
                    for (int b = 0; b < 2 && 2 * qx + b < w; b++)
                        plane[(size_t)(2 * qy + a) * w + (size_t)(2 * qx + b)] = v[2 * a + b][q];
            }
            i += count;
        }
    }
}

/* The thread's images [b0, b1), whole, as one run of tiles: a block takes the last tiles of an image and the first
 * of the next (mnist28's 49 tiles per image would fill 49 of 64 lanes per image). */
static void wino_images(const wino_job *j, float *pads, size_t b0, size_t b1) {
    const dd_conv2d_dims *d = j->d;
    const int C = d->in_c, K = d->out_c, slots = slots_of(d);
    const int th = tiles_of(d->in_h, j->pool), tw = tiles_of(d->in_w, j->pool), pw = 2 * tw + 2, T = th * tw;
    const size_t plane = (size_t)(2 * th + 2) * pw, in_size = (size_t)C * d->in_h * d->in_w;
    const size_t out_size = (size_t)K * (j->pool ? (size_t)T : (size_t)d->out_h * d->out_w);
    float *v = pads + (size_t)slots * pad_size(d), *m = v + (size_t)16 * (VS * C + PLANE_SKEW);
    const int block = j->lanes * j->nv;
    long padded[TB + 1]; /* the image each slot holds */
    assert(slots <= TB + 1 && plane * C + PAD_SLACK <= pad_size(d) && block <= TB && TB % WV == 0 && VS >= TB + WV);
    if (T == 0) return;
    for (int k = 0; k < slots; k++) padded[k] = -1;
    const long total = (long)(b1 - b0) * T;
    for (long g0 = 0; g0 < total; g0 += block) {
        int n = total - g0 < block ? (int)(total - g0) : block, nv = (n + j->lanes - 1) / j->lanes;
        for (int i = 0; i < n;) { /* runs of one tile row of one image */
            long b = (long)b0 + (g0 + i) / T;
            int tile = (int)((g0 + i) % T), ty = tile / tw, x0 = tile % tw;
            int x1 = x0 + (n - i) < tw ? x0 + (n - i) : tw, slot = (int)((b - (long)b0) % slots);
            float *pad = pads + (size_t)slot * pad_size(d);
            if (padded[slot] != b) {
                pad_rows(pad, j->in + (size_t)b * in_size, d, pw, plane, 0, 2 * th + 2);
                padded[slot] = b;
            }
            transform_input(v, pad, C, pw, plane, ty, x0, x1, i, VS);
            i += x1 - x0;
        }
        j->gemm(m, v, j->u, C, K, VS, TB, PLANE_SKEW, nv); /* the last vector's spare lanes: never stored */
        for (int i = 0; i < n;) {                          /* each image's part of the block */
            long b = (long)b0 + (g0 + i) / T;
            int tile = (int)((g0 + i) % T), count = T - tile < n - i ? T - tile : n - i;
            transform_output(j, j->out + (size_t)b * out_size, m + i, tile, count, tw);
            if (j->pooled && tile + count == T) { /* the image is done, and still in L2 */
                size_t q = (size_t)K * (size_t)(d->out_h / 2) * (size_t)(d->out_w / 2);
                nn_fast_maxpool2x2_image(j->pooled + (size_t)b * q, j->argmax + (size_t)b * q,
                                         j->out + (size_t)b * out_size, K, d->out_h, d->out_w);
            }
            i += count;
        }
    }
}

static void wino_part(void *ctx, int t, int threads) {
    const wino_job *j = ctx;
    const dd_conv2d_dims *d = j->d;
    const int C = d->in_c, K = d->out_c;
    const int th = tiles_of(d->in_h, j->pool), tw = tiles_of(d->in_w, j->pool), pw = 2 * tw + 2;
    const size_t plane = (size_t)(2 * th + 2) * pw, in_size = (size_t)C * d->in_h * d->in_w;
    const size_t out_size = (size_t)K * (j->pool ? (size_t)th * tw : (size_t)d->out_h * d->out_w);
    const float *u = j->u;
    float *pad = j->s->col + (size_t)t * j->s->col_stride + u_size(d);
    float *v = pad + (size_t)slots_of(d) * pad_size(d), *m = v + (size_t)16 * (VS * C + PLANE_SKEW);
    const int splits = d->batch >= threads ? 1 : (threads + d->batch - 1) / d->batch;
    const int block = j->lanes * j->nv;
    assert(plane * C + PAD_SLACK <= pad_size(d) && block <= TB && TB % WV == 0 && VS >= TB + WV);
    size_t lo, hi;
    util_share((size_t)d->batch * splits, t, threads, &lo, &hi);
    if (splits == 1) {
        wino_images(j, pad, lo, hi);
        return;
    }
    for (size_t unit = lo; unit < hi; unit++) { /* fewer images than threads: parts of one image's tile rows */
        int b = (int)(unit / splits), part = (int)(unit % splits);
        int ty0 = (int)((long)th * part / splits), ty1 = (int)((long)th * (part + 1) / splits);
        if (ty0 == ty1) continue;
        pad_rows(pad, j->in + b * in_size, d, pw, plane, 2 * ty0, 2 * ty1 + 2);
        float *out = j->out + b * out_size;
        for (int first = ty0 * tw, end = ty1 * tw; first < end; first += block) {
            int n = end - first < block ? end - first : block, nv = (n + j->lanes - 1) / j->lanes;
            for (int i = 0; i < n;) { /* the block's tiles, a run of one tile row at a time */
                int ty = (first + i) / tw, x0 = (first + i) % tw, x1 = x0 + (n - i) < tw ? x0 + (n - i) : tw;
                transform_input(v, pad, C, pw, plane, ty, x0, x1, i, VS);
                i += x1 - x0;
            }
            j->gemm(m, v, u, C, K, VS, TB, PLANE_SKEW, nv); /* the last vector's spare lanes: numbers, never stored */
            transform_output(j, out, m, first, n, tw);
        }
    }
}

/* The cache: u, then the weights it was made from, then 1 once it holds them. */
size_t nn_fast_winograd_cache_size(const dd_conv2d_dims *d) { return u_size(d) + (size_t)d->out_c * d->in_c * 9 + 1; }

void nn_fast_winograd_forward(util_pool *pool, const nn_fast_scratch *s, float *cache, float *out, const float *in,
                              const float *weight, const float *bias, const dd_conv2d_dims *d, bool relu, bool pool2,
                              nn_fast_isa isa) {
    wino_job j = {.s = s, .d = d, .out = out, .in = in, .weight = weight, .bias = bias, .relu = relu, .pool = pool2};
    j.gemm = gemm_of(isa, &j.lanes, &j.nv);
    j.u = cache ? cache : s->col; /* without a cache, thread 0's scratch */
    const size_t n_w = (size_t)d->out_c * d->in_c * 9;
    float *seen = cache ? cache + u_size(d) : NULL;
    /* a model's weights change only while it trains: comparing them costs a tenth of transforming them again */
    if (!cache || seen[n_w] != 1.0f || memcmp(seen, weight, sizeof *seen * n_w)) {
        util_pool_run(pool, weights_part, &j);
        if (cache) memcpy(seen, weight, sizeof *seen * n_w), seen[n_w] = 1.0f;
    }
    util_pool_run(pool, wino_part, &j);
}

void nn_fast_winograd_forward_train(util_pool *pool, const nn_fast_scratch *s, float *out, float *pooled,
                                    int32_t *argmax, const float *in, const float *weight, const float *bias,
                                    const dd_conv2d_dims *d, bool relu, nn_fast_isa isa) {
    wino_job j = {.s = s, .d = d, .out = out, .in = in, .weight = weight, .bias = bias, .relu = relu};
    j.gemm = gemm_of(isa, &j.lanes, &j.nv);
    j.u = s->col;                                           /* thread 0's scratch: the weights change at every step */
    assert(!pooled || d->batch >= util_pool_threads(pool)); /* whole images per thread */
    j.pooled = pooled, j.argmax = argmax;
    util_pool_run(pool, weights_part, &j);
    util_pool_run(pool, wino_part, &j);
}

/* ---- backward: the input gradient ---- */

/* The input gradient of a 3x3 "same" conv is the same kind of conv of the output gradient, with the weights turned
 * half a turn and their input and output channels swapped: these are its dimensions, for one image. */
static dd_conv2d_dims transposed(const dd_conv2d_dims *d) {
    dd_conv2d_dims t = *d;
    t.batch = 1;
    t.in_c = d->out_c, t.out_c = d->in_c;
    t.in_h = d->out_h, t.in_w = d->out_w, t.out_h = d->in_h, t.out_w = d->in_w;
    return t;
}

bool nn_fast_winograd_din_applies(const dd_conv2d_dims *d) {
    dd_conv2d_dims t = transposed(d);
    return nn_fast_conv3x3_applies(d) && nn_fast_winograd_applies(&t);
}

size_t nn_fast_winograd_din_scratch_size(const dd_conv2d_dims *d) {
    dd_conv2d_dims t = transposed(d);
    return nn_fast_winograd_scratch_size(&t) - u_size(&t);
}

/* The cache: the turned weights' transform u, then the turned weights. */
size_t nn_fast_winograd_din_cache_size(const dd_conv2d_dims *d) {
    dd_conv2d_dims t = transposed(d);
    return u_size(&t) + (size_t)d->out_c * d->in_c * 9;
}

void nn_fast_winograd_din_prepare(util_pool *pool, float *cache, const float *weight, const dd_conv2d_dims *d) {
    dd_conv2d_dims t = transposed(d);
    float *turned = cache + u_size(&t);
    for (int k = 0; k < d->out_c; k++)
        for (int c = 0; c < d->in_c; c++)
            for (int e = 0; e < 9; e++)
                turned[((size_t)c * d->out_c + k) * 9 + (size_t)(8 - e)] = weight[((size_t)k * d->in_c + c) * 9 + e];
    wino_job j = {.d = &t, .weight = turned, .u = cache};
    util_pool_run(pool, weights_part, &j);
}

void nn_fast_winograd_din_image(float *work, const float *cache, float *din, const float *dout, const dd_conv2d_dims *d,
                                nn_fast_isa isa) {
    dd_conv2d_dims t = transposed(d);
    wino_job j = {.d = &t, .out = din, .in = dout, .u = (float *)cache};
    j.gemm = gemm_of(isa, &j.lanes, &j.nv);
    wino_images(&j, work, 0, 1);
}

/* ---- backward: the weight gradient ---- */

/* Y = A' M A gives dM = A dY A' for each tile's 2x2 output gradient, and M[xi] = sum over c of U[xi] V[xi] gives
 * dU[xi] = sum over the tiles of dM[xi] V[xi]' (16 GEMMs over many tiles at once), then U = G w G' gives
 * dw = G' dU G. 2.25x fewer multiply-adds than im2col + GEMM, and no im2col matrix. */

/* Tiles per chunk: the 16 GEMMs sum over this many at once (whole images; at least one). */
static int chunk_tiles(const dd_conv2d_dims *d) {
    int T = tiles_of(d->in_h, false) * tiles_of(d->in_w, false), n = T > 384 ? T : 384 / T * T;
    return (n + WV - 1) / WV * WV;
}

/* The work of one thread: a padded image, V [16][C][vs] and dM [16][K][vs] of a chunk (vs = chunk + 16), dU
 * [16][K][C], two output-gradient rows (grad_row_size each). */
static size_t dw_v_size(const dd_conv2d_dims *d, int vs) { return (size_t)16 * ((size_t)d->in_c * vs + PLANE_SKEW); }
static size_t dw_m_size(const dd_conv2d_dims *d, int vs) { return (size_t)16 * ((size_t)d->out_c * vs + PLANE_SKEW); }

/* Floats of one output-gradient row with zeros after it: whole vectors of tiles (2 columns each). */
static size_t grad_row_size(const dd_conv2d_dims *d) {
    return 2 * (size_t)((tiles_of(d->out_w, false) + WV - 1) / WV * WV);
}

size_t nn_fast_winograd_dweight_scratch_size(const dd_conv2d_dims *d) {
    int vs = chunk_tiles(d) + WV;
    return pad_size(d) + dw_v_size(d, vs) + dw_m_size(d, vs) + u_size(d) + 2 * grad_row_size(d) + 16;
}

/* dM of image g's tiles (row-major, tw per row) into columns [at, at + T) of dm [16][K][vs], 16 tiles at a time:
 * each pair of rows is copied beside zeros (the pixels past the maps' edges) into rows, then split into even and
 * odd columns. Whole vectors are stored: the spare lanes land on the next tile row's columns, written after, or
 * past the image's (vs has room). */
static void transform_grad(float *restrict dm, float *restrict rows, const float *restrict g, const dd_conv2d_dims *d,
                           int vs, int at) {
    const int K = d->out_c, h = d->out_h, w = d->out_w, th = tiles_of(h, false), tw = tiles_of(w, false);
    const size_t ms = (size_t)K * vs + PLANE_SKEW, rs = grad_row_size(d);
    for (int k = 0; k < K; k++) {
        const float *gk = g + (size_t)k * h * w;
        float *dk = dm + (size_t)k * vs + at;
        for (int ty = 0; ty < th; ty++) {
            for (int a = 0; a < 2; a++) {
                float *r = rows + a * rs;
                int have = 2 * ty + a < h ? w : 0;
                if (have) memcpy(r, gk + (size_t)(2 * ty + a) * w, sizeof *r * (size_t)w);
                memset(r + have, 0, sizeof *r * (rs - (size_t)have));
            }
            for (int x = 0; x < tw; x += WV) {
                wv16 p0, p1, q0, q1;
                WV_LOAD(p0, rows + 2 * x), WV_LOAD(p1, rows + 2 * x + WV);
                WV_LOAD(q0, rows + rs + 2 * x), WV_LOAD(q1, rows + rs + 2 * x + WV);
                wv16 y00 = WV_SHUFFLE2(p0, p1, 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
                wv16 y01 = WV_SHUFFLE2(p0, p1, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
                wv16 y10 = WV_SHUFFLE2(q0, q1, 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
                wv16 y11 = WV_SHUFFLE2(q0, q1, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
                const wv16 zero = {0};
                wv16 r[4][2] = {{y00, y01}, {y00 + y10, y01 + y11}, {y00 - y10, y01 - y11}, {zero - y10, zero - y11}};
                float *o = dk + ty * tw + x;
                for (int i = 0; i < 4; i++) {
                    wv16 c1 = r[i][0] + r[i][1], c2 = r[i][0] - r[i][1], c3 = zero - r[i][1];
                    WV_STORE(o + (4 * i + 0) * ms, r[i][0]);
                    WV_STORE(o + (4 * i + 1) * ms, c1);
                    WV_STORE(o + (4 * i + 2) * ms, c2);
                    WV_STORE(o + (4 * i + 3) * ms, c3);
                }
            }
        }
    }
}

/* du [16][K][C] += the chunk's n tiles. */
static void chunk_products(float *du, const float *v, const float *dm, const dd_conv2d_dims *d, int vs, int n) {
    const int C = d->in_c, K = d->out_c;
    for (int xi = 0; xi < 16; xi++)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, K, C, n, 1.0f, dm + xi * ((size_t)K * vs + PLANE_SKEW), vs,
                    v + xi * ((size_t)C * vs + PLANE_SKEW), vs, 1.0f, du + (size_t)xi * K * C, C);
}

/* The work's parts, in that order. */
typedef struct dw_parts {
    float *pad, *v, *dm, *du, *rows;
    int chunk, vs;
} dw_parts;

static dw_parts dw_parts_of(float *work, const dd_conv2d_dims *d) {
    dw_parts p = {.pad = work, .chunk = chunk_tiles(d)};
    p.vs = p.chunk + WV;
    p.v = p.pad + pad_size(d), p.dm = p.v + dw_v_size(d, p.vs), p.du = p.dm + dw_m_size(d, p.vs);
    p.rows = p.du + u_size(d);
    return p;
}

void nn_fast_winograd_dweight_begin(nn_fast_wino_dw *s, float *work, const dd_conv2d_dims *d) {
    s->work = work, s->tiles = 0;
    memset(dw_parts_of(work, d).du, 0, sizeof(float) * u_size(d));
}

void nn_fast_winograd_dweight_add(nn_fast_wino_dw *s, const float *in, const float *dout, const dd_conv2d_dims *d) {
    const int C = d->in_c, th = tiles_of(d->in_h, false), tw = tiles_of(d->in_w, false), T = th * tw, pw = 2 * tw + 2;
    const size_t plane = (size_t)(2 * th + 2) * pw;
    dw_parts p = dw_parts_of(s->work, d);
    assert(plane * C + PAD_SLACK <= pad_size(d) && T <= p.chunk);
    if (s->tiles + T > p.chunk) chunk_products(p.du, p.v, p.dm, d, p.vs, s->tiles), s->tiles = 0;
    pad_rows(p.pad, in, d, pw, plane, 0, 2 * th + 2);
    for (int ty = 0; ty < th; ty++) transform_input(p.v, p.pad, C, pw, plane, ty, 0, tw, s->tiles + ty * tw, p.vs);
    transform_grad(p.dm, p.rows, dout, d, p.vs, s->tiles);
    s->tiles += T;
}

void nn_fast_winograd_dweight_end(nn_fast_wino_dw *s, float *dweight, bool add, const dd_conv2d_dims *d) {
    dw_parts p = dw_parts_of(s->work, d);
    if (s->tiles) chunk_products(p.du, p.v, p.dm, d, p.vs, s->tiles), s->tiles = 0;
    const float *du = p.du;
    const size_t KC = (size_t)d->out_c * d->in_c;
    for (size_t kc = 0; kc < KC; kc++) { /* dw = G' dU G, G = [1 0 0; .5 .5 .5; .5 -.5 .5; 0 0 1] */
        float u[4][4], t[3][4];
        for (int xi = 0; xi < 16; xi++) u[xi / 4][xi % 4] = du[xi * KC + kc];
        for (int j = 0; j < 4; j++) {
            t[0][j] = u[0][j] + 0.5f * (u[1][j] + u[2][j]);
            t[1][j] = 0.5f * (u[1][j] - u[2][j]);
            t[2][j] = 0.5f * (u[1][j] + u[2][j]) + u[3][j];
        }
        float *w = dweight + kc * 9;
        for (int a = 0; a < 3; a++) {
            float g0 = t[a][0] + 0.5f * (t[a][1] + t[a][2]), g1 = 0.5f * (t[a][1] - t[a][2]),
                  g2 = 0.5f * (t[a][1] + t[a][2]) + t[a][3];
            w[3 * a + 0] = add ? w[3 * a + 0] + g0 : g0;
            w[3 * a + 1] = add ? w[3 * a + 1] + g1 : g1;
            w[3 * a + 2] = add ? w[3 * a + 2] + g2 : g2;
        }
    }
}
