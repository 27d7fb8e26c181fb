/* The fast kernels (src/nn/fast.h: threaded, fused) against the plain reference kernels of include/doodle/layers.h,
 * on 1, 2 and 3 threads, batches smaller and larger than the thread count, odd sizes, strides, padding, pools that
 * tile and that overlap: every output and gradient within 1e-4 of the reference (relative to the tensor's largest
 * value). And the same thread count gives the same bits twice. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "doodle/layers.h"
#include "nn/fast.h"
#include "testutil.h"

#define TOL 1e-4

static dd_rng rng;

static float *random_floats(size_t n, float lo, float hi) {
    float *x = malloc(sizeof *x * (n ? n : 1));
    if (!x) abort();
    for (size_t i = 0; i < n; i++) x[i] = lo + (hi - lo) * (float)dd_rng_uniform(&rng);
    return x;
}

static float *copy(const float *x, size_t n) {
    float *y = malloc(sizeof *y * (n ? n : 1));
    if (!y) abort();
    memcpy(y, x, sizeof *y * n);
    return y;
}

/* max |a - b| / max |b| */
static double rel_diff(const float *a, const float *b, size_t n) {
    double d = 0.0, scale = 1e-30;
    for (size_t i = 0; i < n; i++) {
        d = fmax(d, fabs((double)a[i] - b[i]));
        scale = fmax(scale, fabs((double)b[i]));
    }
    return d / scale;
}

#define SAME(what, a, b, n, fmt, ...)                                                                                  \
    do {                                                                                                               \
        double e_ = rel_diff(a, b, n);                                                                                 \
        CHECK(e_ <= TOL, "%s differs from the reference by %.3g: " fmt, what, e_, __VA_ARGS__);                        \
    } while (0)

static nn_fast_scratch scratch_for(const dd_conv2d_dims *d, int threads) {
    nn_fast_scratch s = {0};
    s.col_stride = nn_fast_conv2d_train_col_size(d); /* the most a conv kernel needs */
    s.dweight_stride = (size_t)d->out_c * d->in_c * d->kernel_h * d->kernel_w;
    s.dbias_stride = (size_t)d->out_c;
    s.col = random_floats(s.col_stride * threads, -9, 9); /* garbage: the kernels must not rely on zeroed scratch */
    s.dweight = random_floats(s.dweight_stride * threads, -9, 9);
    s.dbias = malloc(sizeof *s.dbias * s.dbias_stride * threads);
    if (!s.dbias) abort();
    return s;
}

static void free_scratch(nn_fast_scratch *s) {
    free(s->col);
    free(s->dweight);
    free(s->dbias);
}

/* wino: backward's input gradient by the Winograd kernel (a 3x3 "same" conv with enough channels). */
static void check_conv(util_pool *pool, int batch, int in_c, int h, int w, int out_c, int k, int stride, int same,
                       bool relu, bool wino) {
    int threads = util_pool_threads(pool);
    dd_conv2d_dims d;
    CHECK(dd_conv2d_dims_init(&d, batch, in_c, h, w, out_c, k, k, stride, same) == 0, "dims");
    size_t n_in = (size_t)batch * in_c * h * w, n_out = (size_t)batch * out_c * d.out_h * d.out_w,
           n_w = (size_t)out_c * in_c * k * k;
    float *x = random_floats(n_in, -1, 1), *wt = random_floats(n_w, -0.5f, 0.5f),
          *b = random_floats(out_c, -0.2f, 0.2f);
    float *ref = random_floats(n_out, 0, 1), *fast = random_floats(n_out, 0, 1);
    float *ref_scratch = random_floats(dd_conv2d_scratch_size(&d), 0, 1);
    nn_fast_scratch s = scratch_for(&d, threads);
    dd_conv2d_forward(ref, x, wt, b, &d, ref_scratch);
    if (relu) dd_relu_forward(ref, ref, n_out);
    nn_fast_conv2d_forward(pool, &s, fast, x, wt, b, &d, relu);
    SAME("conv forward", fast, ref, n_out, "batch %d, %dx%dx%d, k %d, stride %d, same %d, %d threads", batch, in_c, h,
         w, k, stride, same, threads);

    float *dout = random_floats(n_out, -1, 1), *din_ref = random_floats(n_in, 0, 1), *din = random_floats(n_in, 0, 1);
    float *dw_ref = random_floats(n_w, -1, 1), *dw = copy(dw_ref, n_w); /* gradients accumulate onto what is there */
    float *db_ref = random_floats(out_c, -1, 1), *db = copy(db_ref, out_c);
    dd_conv2d_backward(din_ref, dw_ref, db_ref, dout, x, wt, &d, ref_scratch);
    CHECK(nn_fast_winograd_din_applies(&d) == wino, "the Winograd input gradient applies: %d", wino);
    float *cache = wino ? random_floats(nn_fast_winograd_din_cache_size(&d), -9, 9) : NULL;
    nn_fast_conv2d_backward(pool, &s, din, dw, db, dout, x, wt, &d, cache);
    SAME("conv din", din, din_ref, n_in, "batch %d, k %d, stride %d, %d threads", batch, k, stride, threads);
    SAME("conv dweight", dw, dw_ref, n_w, "batch %d, k %d, stride %d, %d threads", batch, k, stride, threads);
    SAME("conv dbias", db, db_ref, out_c, "batch %d, %d threads", batch, threads);

    /* the same bits again */
    float *dw2 = copy(dw, n_w);
    float *again = copy(dw2, n_w);
    float *din2 = copy(din, n_in);
    nn_fast_conv2d_backward(pool, &s, din, again, NULL, dout, x, wt, &d, cache);
    nn_fast_conv2d_backward(pool, &s, din2, dw2, NULL, dout, x, wt, &d, cache);
    CHECK(!memcmp(again, dw2, sizeof *dw2 * n_w) && !memcmp(din, din2, sizeof *din * n_in),
          "conv backward twice gives the same bits");
    free(again), free(dw2), free(din2), free(cache);
    free(x), free(wt), free(b), free(ref), free(fast), free(ref_scratch), free(dout), free(din_ref), free(din);
    free(dw_ref), free(dw), free(db_ref), free(db);
    free_scratch(&s);
}

/* The direct 3x3 kernel of inference, alone and with the 2x2 max-pool it can take, on every instruction set this CPU
 * has, against the reference; and the same bits on any thread count (tiles and splits do not change the order of a
 * sum). */
static void check_conv3x3(util_pool *pool, int batch, int in_c, int h, int w, int out_c, bool relu, bool bias) {
    int threads = util_pool_threads(pool);
    dd_conv2d_dims d;
    CHECK(dd_conv2d_dims_init(&d, batch, in_c, h, w, out_c, 3, 3, 1, 1) == 0, "dims");
    CHECK(nn_fast_conv3x3_applies(&d), "the direct kernel applies to %dx%d", h, w);
    CHECK(nn_fast_conv2d_col_size(&d) >= nn_fast_conv3x3_scratch_size(&d), "scratch for the direct kernel");
    int ph = h / 2, pw = w / 2;
    size_t n_in = (size_t)batch * in_c * h * w, n_out = (size_t)batch * out_c * h * w, n_w = (size_t)out_c * in_c * 9;
    size_t n_pooled = (size_t)batch * out_c * ph * pw;
    float *x = random_floats(n_in, -1, 1), *wt = random_floats(n_w, -0.5f, 0.5f),
          *b = random_floats(out_c, -0.2f, 0.2f);
    float *ref = random_floats(n_out, 0, 1), *ref_scratch = random_floats(dd_conv2d_scratch_size(&d), 0, 1);
    float *ref_pooled = random_floats(n_pooled ? n_pooled : 1, 0, 1);
    int32_t *argmax = malloc(sizeof *argmax * (n_pooled ? n_pooled : 1));
    if (!argmax) abort();
    dd_conv2d_forward(ref, x, wt, bias ? b : NULL, &d, ref_scratch);
    if (relu) dd_relu_forward(ref, ref, n_out);
    if (n_pooled) dd_maxpool_forward(ref_pooled, argmax, ref, batch, out_c, h, w, 2, 2);
    util_pool *one = util_pool_new(1, NULL);
    const int passes = n_pooled > 0 ? 2 : 1; /* without, then with the fused pool */
    for (int pooled = 0; pooled < passes; pooled++)
        for (int isa = NN_FAST_GENERIC; isa <= (int)nn_fast_isa_best(); isa++) {
            const char *name = nn_fast_isa_name((nn_fast_isa)isa);
            size_t n = pooled ? n_pooled : n_out;
            nn_fast_scratch s = scratch_for(&d, threads), s1 = scratch_for(&d, 1);
            float *fast = random_floats(n, 0, 1), *single = random_floats(n, 0, 1);
            nn_fast_conv3x3_forward(pool, &s, fast, x, wt, bias ? b : NULL, &d, relu, pooled, (nn_fast_isa)isa);
            SAME("direct 3x3 conv", fast, pooled ? ref_pooled : ref, n,
                 "%s, pool %d, batch %d, %dx%dx%d -> %d, relu %d, %d threads", name, pooled, batch, in_c, h, w, out_c,
                 relu, threads);
            nn_fast_conv3x3_forward(one, &s1, single, x, wt, bias ? b : NULL, &d, relu, pooled, (nn_fast_isa)isa);
            CHECK(!memcmp(fast, single, sizeof *fast * n),
                  "direct 3x3 conv: %s, pool %d, %d threads give 1 thread's "
                  "bits",
                  name, pooled, threads);
            free(fast), free(single);
            free_scratch(&s), free_scratch(&s1);
        }
    float *infer = random_floats(n_out, 0, 1); /* what inference calls: the best kernel */
    nn_fast_scratch s = scratch_for(&d, threads);
    nn_fast_conv2d_forward_infer(pool, &s, NULL, infer, x, wt, bias ? b : NULL, &d, relu, false);
    SAME("conv forward (inference)", infer, ref, n_out, "batch %d, %d threads", batch, threads);
    free_scratch(&s);
    util_pool_free(one);
    free(x), free(wt), free(b), free(ref), free(ref_scratch), free(ref_pooled), free(argmax), free(infer);
}

/* The Winograd kernel of inference (layers with enough input channels), alone and with the fused 2x2 max-pool, on
 * every instruction set this CPU has, against the reference; any thread count gives the same bits (a tile's sums do
 * not depend on the block it falls in). */
static void check_winograd(util_pool *pool, int batch, int in_c, int h, int w, int out_c, bool relu, bool bias) {
    int threads = util_pool_threads(pool);
    dd_conv2d_dims d;
    CHECK(dd_conv2d_dims_init(&d, batch, in_c, h, w, out_c, 3, 3, 1, 1) == 0, "dims");
    CHECK(nn_fast_winograd_applies(&d), "Winograd applies to %dx%dx%d -> %d", in_c, h, w, out_c);
    CHECK(nn_fast_conv2d_col_size(&d) >= nn_fast_winograd_scratch_size(&d), "scratch for the Winograd kernel");
    size_t n_in = (size_t)batch * in_c * h * w, n_out = (size_t)batch * out_c * h * w, n_w = (size_t)out_c * in_c * 9;
    size_t n_pooled = (size_t)batch * out_c * (h / 2) * (w / 2);
    float *x = random_floats(n_in, -1, 1), *wt = random_floats(n_w, -0.5f, 0.5f),
          *b = random_floats(out_c, -0.2f, 0.2f);
    float *ref = random_floats(n_out, 0, 1), *ref_scratch = random_floats(dd_conv2d_scratch_size(&d), 0, 1);
    float *ref_pooled = random_floats(n_pooled ? n_pooled : 1, 0, 1);
    int32_t *argmax = malloc(sizeof *argmax * (n_pooled ? n_pooled : 1));
    if (!argmax) abort();
    dd_conv2d_forward(ref, x, wt, bias ? b : NULL, &d, ref_scratch);
    if (relu) dd_relu_forward(ref, ref, n_out);
    if (n_pooled) dd_maxpool_forward(ref_pooled, argmax, ref, batch, out_c, h, w, 2, 2);
    util_pool *one = util_pool_new(1, NULL);
    for (int pooled = 0; pooled < (n_pooled ? 2 : 1); pooled++)
        for (int isa = NN_FAST_GENERIC; isa <= (int)nn_fast_isa_best(); isa++) {
            const char *name = nn_fast_isa_name((nn_fast_isa)isa);
            size_t n = pooled ? n_pooled : n_out;
            nn_fast_scratch s = scratch_for(&d, threads), s1 = scratch_for(&d, 1);
            float *fast = random_floats(n, 0, 1), *single = random_floats(n, 0, 1);
            nn_fast_winograd_forward(pool, &s, NULL, fast, x, wt, bias ? b : NULL, &d, relu, pooled, (nn_fast_isa)isa);
            SAME("Winograd 3x3 conv", fast, pooled ? ref_pooled : ref, n,
                 "%s, pool %d, batch %d, %dx%dx%d -> %d, relu %d, %d threads", name, pooled, batch, in_c, h, w, out_c,
                 relu, threads);
            nn_fast_winograd_forward(one, &s1, NULL, single, x, wt, bias ? b : NULL, &d, relu, pooled,
                                     (nn_fast_isa)isa);
            CHECK(!memcmp(fast, single, sizeof *fast * n),
                  "Winograd 3x3 conv: %s, pool %d, %d threads give 1 thread's bits", name, pooled, threads);
            free(fast), free(single);
            free_scratch(&s), free_scratch(&s1);
        }
    /* the weights' cache: filled by a first pass, used by the next, made again when the weights change */
    float *cache = random_floats(nn_fast_winograd_cache_size(&d), -9, 9);
    cache[nn_fast_winograd_cache_size(&d) - 1] = 0.0f; /* as a workspace leaves it: nothing kept */
    float *plain = random_floats(n_out, 0, 1), *cached = random_floats(n_out, 0, 1);
    nn_fast_scratch s = scratch_for(&d, threads);
    for (int pass = 0; pass < 3; pass++) {
        if (pass == 2) wt[n_w / 2] += 0.25f; /* as training changes them */
        nn_fast_winograd_forward(pool, &s, NULL, plain, x, wt, b, &d, relu, false, nn_fast_isa_best());
        nn_fast_winograd_forward(pool, &s, cache, cached, x, wt, b, &d, relu, false, nn_fast_isa_best());
        CHECK(!memcmp(plain, cached, sizeof *plain * n_out), "Winograd with its weights cached, pass %d", pass);
    }
    free_scratch(&s);
    free(cache), free(plain), free(cached);
    util_pool_free(one);
    free(x), free(wt), free(b), free(ref), free(ref_scratch), free(ref_pooled), free(argmax);
}

static void check_dense(util_pool *pool, int batch, int n_in, int n_out, bool relu) {
    float *x = random_floats((size_t)batch * n_in, -1, 1), *w = random_floats((size_t)n_out * n_in, -0.3f, 0.3f),
          *b = random_floats(n_out, -0.2f, 0.2f);
    size_t no = (size_t)batch * n_out, ni = (size_t)batch * n_in, nw = (size_t)n_out * n_in;
    float *ref = random_floats(no, 0, 1), *fast = random_floats(no, 0, 1);
    dd_dense_forward(ref, x, w, b, batch, n_in, n_out);
    if (relu) dd_relu_forward(ref, ref, no);
    nn_fast_dense_forward(pool, fast, x, w, b, batch, n_in, n_out, relu);
    SAME("dense forward", fast, ref, no, "batch %d, %d -> %d, %d threads", batch, n_in, n_out, util_pool_threads(pool));
    nn_fast_dense_forward_infer(pool, fast, x, w, b, batch, n_in, n_out, relu); /* sgemv for a few images */
    SAME("dense forward (inference)", fast, ref, no, "batch %d, %d -> %d, %d threads", batch, n_in, n_out,
         util_pool_threads(pool));
    if (nn_fast_dense_dot_applies(batch, n_in)) { /* AVX-512 dot products for a batch: any thread count, same bits */
        float *single = random_floats(no, 0, 1);
        nn_fast_dense_dot_forward(pool, fast, x, w, b, batch, n_in, n_out, relu);
        SAME("dense forward (dot products)", fast, ref, no, "batch %d, %d -> %d, %d threads", batch, n_in, n_out,
             util_pool_threads(pool));
        nn_fast_dense_dot_forward(NULL, single, x, w, b, batch, n_in, n_out, relu);
        CHECK(!memcmp(fast, single, sizeof *fast * no), "dense dot products: %d threads give 1 thread's bits",
              util_pool_threads(pool));
        free(single);
    }
    float *dout = random_floats(no, -1, 1), *din_ref = random_floats(ni, 0, 1), *din = random_floats(ni, 0, 1);
    float *dw_ref = random_floats(nw, -1, 1), *dw = copy(dw_ref, nw), *db_ref = random_floats(n_out, -1, 1),
          *db = copy(db_ref, n_out);
    dd_dense_backward(din_ref, dw_ref, db_ref, dout, x, w, batch, n_in, n_out);
    nn_fast_dense_backward(pool, din, dw, db, dout, x, w, batch, n_in, n_out);
    SAME("dense din", din, din_ref, ni, "batch %d, %d threads", batch, util_pool_threads(pool));
    SAME("dense dweight", dw, dw_ref, nw, "batch %d, %d threads", batch, util_pool_threads(pool));
    SAME("dense dbias", db, db_ref, n_out, "batch %d, %d threads", batch, util_pool_threads(pool));
    free(x), free(w), free(b), free(ref), free(fast), free(dout), free(din_ref), free(din), free(dw_ref), free(dw);
    free(db_ref), free(db);
}

static void check_batchnorm(util_pool *pool, int batch, int channels, int spatial, bool relu) {
    size_t n = (size_t)batch * channels * spatial;
    float *x = random_floats(n, -2, 3), *gamma = random_floats(channels, 0.5f, 1.5f),
          *beta = random_floats(channels, -0.5f, 0.5f);
    float *rm_ref = random_floats(channels, -1, 1), *rv_ref = random_floats(channels, 0.5f, 2);
    float *rm = copy(rm_ref, channels), *rv = copy(rv_ref, channels);
    float *ref = random_floats(n, 0, 1), *fast = random_floats(n, 0, 1);
    float mean_ref[64], istd_ref[64], mean[64], istd[64];
    dd_batchnorm_forward_train(ref, mean_ref, istd_ref, x, gamma, beta, rm_ref, rv_ref, batch, channels, spatial, 0.9f,
                               1e-3f);
    if (relu) dd_relu_forward(ref, ref, n);
    nn_fast_batchnorm_forward_train(pool, fast, mean, istd, x, gamma, beta, rm, rv, batch, channels, spatial, 0.9f,
                                    1e-3f, relu);
    int threads = util_pool_threads(pool);
    SAME("batchnorm train forward", fast, ref, n, "batch %d, %d channels, relu %d, %d threads", batch, channels, relu,
         threads);
    SAME("batchnorm running mean", rm, rm_ref, channels, "%d threads", threads);
    SAME("batchnorm running var", rv, rv_ref, channels, "%d threads", threads);
    SAME("batchnorm batch mean", mean, mean_ref, channels, "%d threads", threads);
    SAME("batchnorm inv_std", istd, istd_ref, channels, "%d threads", threads);

    float *dout = random_floats(n, -1, 1), *g = copy(dout, n);
    if (relu) dd_relu_backward(g, g, ref, n); /* the reference: ReLU's backward, then BatchNorm's */
    float *din_ref = random_floats(n, 0, 1), *din = random_floats(n, 0, 1);
    float *dg_ref = random_floats(channels, -1, 1), *dg = copy(dg_ref, channels),
          *dbe_ref = random_floats(channels, -1, 1), *dbe = copy(dbe_ref, channels);
    dd_batchnorm_backward(din_ref, dg_ref, dbe_ref, g, x, gamma, mean_ref, istd_ref, batch, channels, spatial);
    nn_fast_batchnorm_backward(pool, din, dg, dbe, dout, fast, x, gamma, mean, istd, batch, channels, spatial, relu);
    SAME("batchnorm din", din, din_ref, n, "batch %d, relu %d, %d threads", batch, relu, threads);
    SAME("batchnorm dgamma", dg, dg_ref, channels, "relu %d, %d threads", relu, threads);
    SAME("batchnorm dbeta", dbe, dbe_ref, channels, "relu %d, %d threads", relu, threads);

    dd_batchnorm_forward_infer(ref, x, gamma, beta, rm_ref, rv_ref, batch, channels, spatial, 1e-3f);
    if (relu) dd_relu_forward(ref, ref, n);
    nn_fast_batchnorm_forward_infer(pool, fast, x, gamma, beta, rm_ref, rv_ref, batch, channels, spatial, 1e-3f, relu);
    SAME("batchnorm inference", fast, ref, n, "relu %d, %d threads", relu, threads);
    free(x), free(gamma), free(beta), free(rm_ref), free(rv_ref), free(rm), free(rv), free(ref), free(fast);
    free(dout), free(g), free(din_ref), free(din), free(dg_ref), free(dg), free(dbe_ref), free(dbe);
}

static void check_maxpool(util_pool *pool, int batch, int channels, int h, int w, int size, int stride) {
    int oh = dd_maxpool_out_size(h, size, stride), ow = dd_maxpool_out_size(w, size, stride);
    size_t n_in = (size_t)batch * channels * h * w, n_out = (size_t)batch * channels * oh * ow;
    float *x = random_floats(n_in, -1, 1);
    for (size_t i = 0; i < n_in; i += 7) x[i] = 0.25f; /* ties: the first maximum must win in both */
    for (size_t i = 3; i < n_in; i += 101) x[i] = NAN; /* a NaN never wins (nor loses to a later value) */
    float *ref = random_floats(n_out, 0, 1), *fast = random_floats(n_out, 0, 1);
    int32_t *a_ref = malloc(sizeof *a_ref * n_out), *a = malloc(sizeof *a * n_out);
    if (!a_ref || !a) abort();
    dd_maxpool_forward(ref, a_ref, x, batch, channels, h, w, size, stride);
    nn_fast_maxpool_forward(pool, fast, a, x, batch, channels, h, w, size, stride);
    CHECK(!memcmp(ref, fast, sizeof *ref * n_out) && !memcmp(a, a_ref, sizeof *a * n_out),
          "maxpool forward (values and argmax) equal to the reference: %dx%d pool %d stride %d, %d threads", h, w, size,
          stride, util_pool_threads(pool));
    float *dout = random_floats(n_out, -1, 1), *din_ref = random_floats(n_in, 0, 1), *din = random_floats(n_in, 0, 1);
    dd_maxpool_backward(din_ref, dout, a_ref, batch, channels, h, w, oh, ow);
    nn_fast_maxpool_backward(pool, din, dout, a, batch, channels, h, w, size, stride);
    CHECK(!memcmp(din, din_ref, sizeof *din * n_in), "maxpool backward equal to the reference: %dx%d pool %d stride %d",
          h, w, size, stride);
    free(x), free(ref), free(fast), free(a_ref), free(a), free(dout), free(din_ref), free(din);
}

/* Conv (its ReLU) -> MaxPool backward fused, against the reference's three backward passes in a row, and the same
 * bits as the fast kernels' three. */
static void check_conv_relu_pool(util_pool *pool, int batch, int in_c, int h, int w, int out_c, int size, bool wino) {
    int threads = util_pool_threads(pool);
    dd_conv2d_dims d;
    CHECK(dd_conv2d_dims_init(&d, batch, in_c, h, w, out_c, 3, 3, 1, 1) == 0, "dims");
    int oh = dd_maxpool_out_size(h, size, size), ow = dd_maxpool_out_size(w, size, size);
    size_t n_in = (size_t)batch * in_c * h * w, n_y = (size_t)batch * out_c * h * w,
           n_out = (size_t)batch * out_c * oh * ow, n_w = (size_t)out_c * in_c * 9;
    float *x = random_floats(n_in, -1, 1), *wt = random_floats(n_w, -0.5f, 0.5f),
          *b = random_floats(out_c, -0.2f, 0.2f);
    float *y = random_floats(n_y, 0, 1), *pooled = random_floats(n_out, 0, 1);
    float *ref_scratch = random_floats(dd_conv2d_scratch_size(&d), 0, 1);
    int32_t *a = malloc(sizeof *a * n_out);
    if (!a) abort();
    dd_conv2d_forward(y, x, wt, b, &d, ref_scratch);
    dd_relu_forward(y, y, n_y);
    dd_maxpool_forward(pooled, a, y, batch, out_c, h, w, size, size);
    float *dout = random_floats(n_out, -1, 1), *g = random_floats(n_y, 0, 1);
    float *din_ref = random_floats(n_in, 0, 1), *din = random_floats(n_in, 0, 1), *din3 = random_floats(n_in, 0, 1);
    float *dw_ref = random_floats(n_w, -1, 1), *dw = copy(dw_ref, n_w), *dw3 = copy(dw_ref, n_w);
    float *db_ref = random_floats(out_c, -1, 1), *db = copy(db_ref, out_c), *db3 = copy(db_ref, out_c);
    dd_maxpool_backward(g, dout, a, batch, out_c, h, w, oh, ow);
    dd_relu_backward(g, g, y, n_y);
    dd_conv2d_backward(din_ref, dw_ref, db_ref, g, x, wt, &d, ref_scratch);
    nn_fast_scratch s = scratch_for(&d, threads), sp = scratch_for(&d, threads);
    nn_fast_pool_after after = {.out = pooled, .argmax = a, .out_h = oh, .out_w = ow};
    float *cache = wino ? random_floats(nn_fast_winograd_din_cache_size(&d), -9, 9) : NULL;
    nn_fast_conv2d_backward_pooled(pool, &sp, din, dw, db, dout, &after, x, wt, &d, cache);
    SAME("conv-relu-pool din", din, din_ref, n_in, "batch %d, %dx%d pool %d, %d threads", batch, h, w, size, threads);
    SAME("conv-relu-pool dweight", dw, dw_ref, n_w, "batch %d, %d threads", batch, threads);
    SAME("conv-relu-pool dbias", db, db_ref, out_c, "batch %d, %d threads", batch, threads);
    nn_fast_maxpool_backward(pool, g, dout, a, batch, out_c, h, w, size, size);
    nn_fast_relu_backward(pool, g, g, y, n_y);
    nn_fast_conv2d_backward(pool, &s, din3, dw3, db3, g, x, wt, &d, cache);
    CHECK(!memcmp(din, din3, sizeof *din * n_in) && !memcmp(dw, dw3, sizeof *dw * n_w) &&
              !memcmp(db, db3, sizeof *db * (size_t)out_c),
          "conv-relu-pool fused: the same bits as its three passes (batch %d, %dx%d, %d threads)", batch, h, w,
          threads);
    if (size == 2) { /* training's forward of the pair: the conv's maps, and their pool taken image by image */
        float *y2 = random_floats(n_y, 0, 1), *p2 = random_floats(n_out, 0, 1), *p3 = random_floats(n_out, 0, 1);
        int32_t *a2 = malloc(sizeof *a2 * n_out), *a3 = malloc(sizeof *a3 * n_out);
        if (!a2 || !a3) abort();
        nn_fast_conv2d_forward_pool2(pool, &s, y2, p2, a2, x, wt, b, &d, true);
        SAME("conv-pool2 forward", y2, y, n_y, "batch %d, %dx%dx%d, %d threads", batch, in_c, h, w, threads);
        nn_fast_maxpool_forward(pool, p3, a3, y2, batch, out_c, h, w, 2, 2);
        CHECK(!memcmp(p2, p3, sizeof *p2 * n_out) && !memcmp(a2, a3, sizeof *a2 * n_out),
              "conv-pool2 forward: its pool the same bits as the max-pool's (batch %d, %dx%d, %d threads)", batch, h, w,
              threads);
        free(y2), free(p2), free(p3), free(a2), free(a3);
    }
    free(x), free(wt), free(b), free(y), free(pooled), free(ref_scratch), free(a), free(dout), free(g);
    free(din_ref), free(din), free(din3), free(dw_ref), free(dw), free(dw3), free(db_ref), free(db), free(db3);
    free(cache), free_scratch(&s), free_scratch(&sp);
}

/* BatchNorm -> ReLU -> MaxPool backward fused, against the three reference backward passes in a row. */
static void check_bn_relu_pool(util_pool *pool, int batch, int channels, int h, int w, int size) {
    int oh = dd_maxpool_out_size(h, size, size), ow = dd_maxpool_out_size(w, size, size),
        threads = util_pool_threads(pool);
    size_t n = (size_t)batch * channels * h * w, n_out = (size_t)batch * channels * oh * ow;
    float *x = random_floats(n, -2, 3), *gamma = random_floats(channels, 0.5f, 1.5f),
          *beta = random_floats(channels, -0.5f, 0.5f), *rm = random_floats(channels, 0, 1),
          *rv = random_floats(channels, 1, 2), *y = random_floats(n, 0, 1), *pooled = random_floats(n_out, 0, 1);
    float mean[64], istd[64];
    int32_t *a = malloc(sizeof *a * n_out);
    if (!a) abort();
    dd_batchnorm_forward_train(y, mean, istd, x, gamma, beta, rm, rv, batch, channels, h * w, 0.9f, 1e-3f);
    dd_relu_forward(y, y, n);
    dd_maxpool_forward(pooled, a, y, batch, channels, h, w, size, size);
    float *dout = random_floats(n_out, -1, 1), *g = random_floats(n, 0, 1), *din_ref = random_floats(n, 0, 1),
          *din = random_floats(n, 0, 1);
    float *dg_ref = random_floats(channels, -1, 1), *dg = copy(dg_ref, channels),
          *db_ref = random_floats(channels, -1, 1), *db = copy(db_ref, channels);
    dd_maxpool_backward(g, dout, a, batch, channels, h, w, oh, ow);
    dd_relu_backward(g, g, y, n);
    dd_batchnorm_backward(din_ref, dg_ref, db_ref, g, x, gamma, mean, istd, batch, channels, h * w);
    nn_fast_bn_relu_pool_backward(pool, din, dg, db, dout, pooled, a, x, gamma, mean, istd, batch, channels, h, w,
                                  size);
    SAME("bn-relu-pool din", din, din_ref, n, "batch %d, %dx%d pool %d, %d threads", batch, h, w, size, threads);
    SAME("bn-relu-pool dgamma", dg, dg_ref, channels, "%d threads", threads);
    SAME("bn-relu-pool dbeta", db, db_ref, channels, "%d threads", threads);
    if (size == 2) { /* training's forward of the three: BatchNorm and ReLU, each plane pooled as it is written */
        float *y2 = random_floats(n, 0, 1), *y3 = random_floats(n, 0, 1), *p2 = random_floats(n_out, 0, 1),
              *p3 = random_floats(n_out, 0, 1), *rm2 = copy(rm, channels), *rv2 = copy(rv, channels),
              *rm3 = copy(rm, channels), *rv3 = copy(rv, channels);
        float m2[64], is2[64], m3[64], is3[64];
        int32_t *a2 = malloc(sizeof *a2 * n_out), *a3 = malloc(sizeof *a3 * n_out);
        if (!a2 || !a3) abort();
        nn_fast_batchnorm_relu_pool2_train(pool, y2, p2, a2, m2, is2, x, gamma, beta, rm2, rv2, batch, channels, h, w,
                                           0.9f, 1e-3f);
        nn_fast_batchnorm_forward_train(pool, y3, m3, is3, x, gamma, beta, rm3, rv3, batch, channels, h * w, 0.9f,
                                        1e-3f, true);
        nn_fast_maxpool_forward(pool, p3, a3, y3, batch, channels, h, w, 2, 2);
        CHECK(
            !memcmp(y2, y3, sizeof *y2 * n) && !memcmp(p2, p3, sizeof *p2 * n_out) &&
                !memcmp(a2, a3, sizeof *a2 * n_out) && !memcmp(rm2, rm3, sizeof *rm2 * (size_t)channels),
            "bn-relu-pool2 forward: the same bits as BatchNorm + ReLU, then the max-pool (batch %d, %dx%d, %d threads)",
            batch, h, w, threads);
        SAME("bn-relu-pool2 forward", y2, y, n, "batch %d, %d threads", batch, threads);
        free(y2), free(y3), free(p2), free(p3), free(rm2), free(rv2), free(rm3), free(rv3), free(a2), free(a3);
    }
    free(x), free(gamma), free(beta), free(rm), free(rv), free(y), free(pooled), free(a), free(dout), free(g);
    free(din_ref), free(din), free(dg_ref), free(dg), free(db_ref), free(db);
}

int main(void) {
    dd_rng_seed(&rng, 2024);
    dd_error err;
    for (int threads = 1; threads <= 3; threads++) {
        util_pool *pool = util_pool_new(threads, &err);
        CHECK(pool && util_pool_threads(pool) == threads, "pool of %d", threads);
        if (!pool) continue;
        for (int batch = 1; batch <= 5; batch += 2) {
            check_conv(pool, batch, 1, 13, 17, 8, 3, 1, 1, true, false);  /* a first layer: one channel, "same" */
            check_conv(pool, batch, 3, 11, 9, 5, 3, 2, 1, false, false);  /* stride 2, "same", odd sizes */
            check_conv(pool, batch, 4, 12, 10, 6, 5, 1, 0, true, false);  /* "valid", 5x5 */
            check_conv(pool, batch, 2, 9, 14, 3, 4, 3, 0, false, false);  /* stride 3, "valid" */
            check_conv(pool, batch, 32, 14, 14, 64, 3, 1, 1, true, true); /* mnist28's second: Winograd din */
            check_conv(pool, batch, 5, 13, 11, 9, 3, 1, 1, false, true);  /* odd sizes, a remainder of channels */
            check_conv(pool, batch, 3, 9, 40, 16, 3, 1, 1, true, false);  /* too few input channels for it */
            check_conv(pool, batch, 8, 7, 70, 9, 3, 1, 1, true, true); /* rows of more than 16 tiles, an odd last row */
            check_conv3x3(pool, batch, 1, 13, 17, 8, true, true);      /* a first layer, one whole block */
            check_conv3x3(pool, batch, 5, 11, 9, 19, false, true);     /* blocks and a remainder, odd sizes */
            check_conv3x3(pool, batch, 3, 1, 40, 3, true, false);      /* one row, fewer channels than a block */
            check_conv3x3(pool, batch, 2, 29, 3, 16, true, true);      /* narrow: several rows per tile */
            check_conv3x3(pool, batch, 7, 33, 50, 9, true, true);      /* seed's second map size: bands, odd rows */
            check_conv3x3(pool, batch, 4, 16, 25, 8, false, true);     /* seed's third: an odd column pooled away */
            check_winograd(pool, batch, 8, 13, 17, 5, true, true);     /* odd sizes: a last half tile, a remainder */
            check_winograd(pool, batch, 32, 14, 14, 64, true, true);   /* mnist28's second layer */
            check_winograd(pool, batch, 9, 33, 50, 19, false, true);   /* seed's second map size, odd channels */
            check_winograd(pool, batch, 16, 16, 25, 8, true, false);   /* seed's third: an odd column pooled away */
            check_winograd(pool, batch, 11, 1, 40, 5, true, true);     /* one row: no pooled output */
            check_winograd(pool, batch, 8, 7, 70, 6, true, true); /* rows of 16 tiles stored whole, an odd last row */
            check_dense(pool, batch, 37, 11, true);
            check_dense(pool, batch, 5, 2, false);        /* fewer outputs than threads */
            check_dense(pool, batch, 300, 129, true);     /* large enough for inference's threads */
            check_dense(pool, batch + 6, 2100, 13, true); /* chunks, a masked last part, ragged blocks */
            check_batchnorm(pool, batch, 5, 23, true);
            check_batchnorm(pool, batch, 7, 1, false); /* after a dense layer */
            check_maxpool(pool, batch, 3, 13, 17, 2, 2);
            check_maxpool(pool, batch, 2, 61, 95, 4, 4); /* lenet's floor rule: 61 -> 15 */
            check_maxpool(pool, batch, 2, 9, 11, 3, 2);  /* overlapping windows */
            check_maxpool(pool, batch, 2, 7, 69, 2, 2);  /* 2x2 rows of vectors and a remainder, an odd column */
            check_conv_relu_pool(pool, batch, 3, 14, 14, 8, 2, false);
            check_conv_relu_pool(pool, batch, 2, 13, 11, 5, 4, false); /* rows and columns past the last window */
            check_conv_relu_pool(pool, batch, 8, 15, 14, 16, 2, true); /* the input gradient by Winograd */
            check_bn_relu_pool(pool, batch, 4, 12, 10, 2);
            check_bn_relu_pool(pool, batch, 3, 7, 45, 2);  /* odd sizes, rows of more than 16 windows */
            check_bn_relu_pool(pool, batch, 3, 13, 11, 4); /* rows and columns past the last window */
        }
        size_t n = 1001;
        float *x = random_floats(n, -1, 1), *ref = random_floats(n, 0, 1), *fast = copy(x, n);
        dd_relu_forward(ref, x, n);
        nn_fast_relu_forward(pool, fast, fast, n); /* in place */
        CHECK(!memcmp(ref, fast, sizeof *ref * n), "relu forward in place, %d threads", threads);
        float *dout = random_floats(n, -1, 1), *dref = random_floats(n, 0, 1), *dfast = random_floats(n, 0, 1);
        dd_relu_backward(dref, dout, ref, n);
        nn_fast_relu_backward(pool, dfast, dout, ref, n);
        CHECK(!memcmp(dref, dfast, sizeof *dref * n), "relu backward, %d threads", threads);
        free(x), free(ref), free(fast), free(dout), free(dref), free(dfast);
        util_pool_free(pool);
    }
    return test_finish("test_fast_layers");
}
