/* The CNN layers of doodle/layers.h, one at a time: exact forward values on hand-computed cases, Keras' size and
 * padding rules, the forward pass against a direct (non-im2col) reference, finite-difference gradient checks of the
 * input and every parameter (gradcheck.h) on small odd shapes, the accumulate/overwrite contract of backward, and a
 * check that the gradient checker itself flags wrong gradients. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "doodle/layers.h"
#include "gradcheck.h"
#include "testutil.h"

#define EPS 1e-2 /* finite-difference step */
#define TOL 1e-2 /* largest relative error accepted (gradcheck.h) */
#define MAX_COORDS 200

static dd_rng rng;

static float *fvec(size_t n) {
    float *p = calloc(n ? n : 1, sizeof *p);
    if (!p) abort();
    return p;
}

static void fill_uniform(float *x, size_t n, float lo, float hi) {
    for (size_t i = 0; i < n; i++) x[i] = lo + (hi - lo) * (float)dd_rng_uniform(&rng);
}

static double dot(const float *a, const float *b, size_t n) {
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += (double)a[i] * b[i];
    return s;
}

static int near(double a, double b, double tol) { return fabs(a - b) <= tol * fmax(1.0, fabs(b)); }

/* Runs gc_check and records a test failure for any coordinate above the tolerance. */
static double grad_ok(const char *what, gc_loss_fn loss, gc_valid_fn valid, void *ctx, float *p, const float *g,
                      size_t n) {
    gc_result r = gc_check(what, loss, valid, ctx, p, g, n, EPS, TOL, MAX_COORDS, &rng);
    CHECK(r.failed == 0, "%s: %zu of %zu coordinates off (max error %.3g)", what, r.failed, r.checked, r.max_err);
    CHECK(r.checked > 0, "%s: nothing checked", what);
    return r.max_err;
}

/* Largest error seen per layer, printed at the end. */
static double worst_conv, worst_dense, worst_bn, worst_relu, worst_pool, worst_drop, worst_xent;

/* ------------------------------------------------------------------------------------------------------------ */
/* Conv2D                                                                                                        */

static void check_dims(int in_h, int in_w, int k_h, int k_w, int stride, int same, int out_h, int out_w, int pad_top,
                       int pad_left) {
    dd_conv2d_dims d;
    int rc = dd_conv2d_dims_init(&d, 2, 3, in_h, in_w, 5, k_h, k_w, stride, same);
    CHECK(rc == 0, "%dx%d k%dx%d s%d same=%d", in_h, in_w, k_h, k_w, stride, same);
    CHECK(d.out_h == out_h && d.out_w == out_w, "%dx%d k%dx%d s%d same=%d: out %dx%d, want %dx%d", in_h, in_w, k_h, k_w,
          stride, same, d.out_h, d.out_w, out_h, out_w);
    CHECK(d.pad_top == pad_top && d.pad_left == pad_left, "%dx%d k%dx%d s%d same=%d: pad %d,%d, want %d,%d", in_h, in_w,
          k_h, k_w, stride, same, d.pad_top, d.pad_left, pad_top, pad_left);
    CHECK(d.batch == 2 && d.in_c == 3 && d.out_c == 5 && d.in_h == in_h && d.in_w == in_w && d.kernel_h == k_h &&
              d.kernel_w == k_w && d.stride == stride,
          "fields copied");
    CHECK(dd_conv2d_scratch_size(&d) == (size_t)3 * k_h * k_w * out_h * out_w, "scratch size %zu",
          dd_conv2d_scratch_size(&d));
}

static void test_conv_dims(void) {
    check_dims(66, 100, 3, 3, 1, 1, 66, 100, 1, 1); /* the study's first layer */
    check_dims(66, 100, 6, 6, 1, 0, 61, 95, 0, 0);
    /* "same" with an even kernel: total padding odd, the extra pixel at the bottom/right */
    check_dims(6, 5, 4, 4, 1, 1, 6, 5, 1, 1); /* total 3 = 1 top + 2 bottom */
    check_dims(7, 7, 4, 2, 2, 1, 4, 4, 1, 0); /* h: total 3*2+4-7 = 3 -> 1; w: total 3*2+2-7 = 1 -> 0 */
    check_dims(6, 6, 3, 3, 2, 1, 3, 3, 0, 0); /* total 1 -> all of it bottom/right */
    check_dims(5, 5, 3, 3, 2, 1, 3, 3, 1, 1); /* total 2 */
    check_dims(6, 6, 1, 1, 2, 1, 3, 3, 0, 0); /* total -1 clamps to 0 */
    check_dims(2, 3, 5, 5, 1, 1, 2, 3, 2, 2); /* kernel larger than the input is fine with "same" */
    /* "valid" with stride: the rows/columns past the last whole window are dropped */
    check_dims(9, 8, 5, 3, 2, 0, 3, 3, 0, 0);
    check_dims(4, 4, 4, 4, 3, 0, 1, 1, 0, 0);

    dd_conv2d_dims d;
    CHECK(dd_conv2d_dims_init(&d, 1, 1, 4, 4, 1, 5, 3, 1, 0) == -1, "valid kernel taller than the input");
    CHECK(dd_conv2d_dims_init(&d, 1, 1, 4, 4, 1, 3, 5, 1, 0) == -1, "valid kernel wider than the input");
    CHECK(dd_conv2d_dims_init(&d, 1, 1, 4, 4, 1, 3, 3, 0, 1) == -1, "stride 0");
    CHECK(dd_conv2d_dims_init(&d, 0, 1, 4, 4, 1, 3, 3, 1, 1) == -1, "batch 0");
    CHECK(dd_conv2d_dims_init(&d, 1, 0, 4, 4, 1, 3, 3, 1, 1) == -1, "in_c 0");
    CHECK(dd_conv2d_dims_init(&d, 1, 1, 0, 4, 1, 3, 3, 1, 1) == -1, "in_h 0");
    CHECK(dd_conv2d_dims_init(&d, 1, 1, 4, -1, 1, 3, 3, 1, 1) == -1, "in_w < 0");
    CHECK(dd_conv2d_dims_init(&d, 1, 1, 4, 4, 0, 3, 3, 1, 1) == -1, "out_c 0");
    CHECK(dd_conv2d_dims_init(&d, 1, 1, 4, 4, 1, 0, 3, 1, 1) == -1, "kernel 0");
}

/* A 3x3 kernel on a 4x4 image, worked out by hand (cross-correlation, as Keras and PyTorch compute it). */
static void test_conv_hand(void) {
    static const float x[16] = {1, 2, 0, 1, /**/ 3, 1, 2, 2, /**/ 0, 1, 3, 1, /**/ 2, 0, 1, 4};
    static const float w[9] = {1, 0, 2, /**/ 0, 1, 0, /**/ -1, 0, 1};
    const float bias = 0.5f;
    float out[16], scratch[9 * 16];
    dd_conv2d_dims d;

    /* valid: out[0][0] = 1*1 + 2*0 + 1*1 - 1*0 + 1*3 = 5, then + 0.5 */
    CHECK(dd_conv2d_dims_init(&d, 1, 1, 4, 4, 1, 3, 3, 1, 0) == 0 && d.out_h == 2 && d.out_w == 2, "valid dims");
    dd_conv2d_forward(out, x, w, &bias, &d, scratch);
    static const float valid[4] = {5.5f, 6.5f, 7.5f, 12.5f};
    for (int i = 0; i < 4; i++) CHECK(out[i] == valid[i], "valid[%d] = %g, want %g", i, out[i], valid[i]);

    /* same, stride 1: padding 1 all round; the corners see 2 and 3 taps */
    CHECK(dd_conv2d_dims_init(&d, 1, 1, 4, 4, 1, 3, 3, 1, 1) == 0 && d.out_h == 4 && d.out_w == 4, "same dims");
    dd_conv2d_forward(out, x, w, &bias, &d, scratch);
    CHECK(out[0] == 2.5f, "same[0][0] = %g (x00 + x11 + 0.5)", out[0]);
    CHECK(out[15] == 7.5f, "same[3][3] = %g (x22 + x33 + 0.5)", out[15]);
    CHECK(out[5] == 5.5f && out[6] == 6.5f && out[9] == 7.5f && out[10] == 12.5f, "same interior = valid");

    /* same, stride 2: total padding 1, all of it bottom/right, so window (0,0) is the valid one */
    CHECK(dd_conv2d_dims_init(&d, 1, 1, 4, 4, 1, 3, 3, 2, 1) == 0 && d.out_h == 2 && d.pad_top == 0, "s2 dims");
    dd_conv2d_forward(out, x, w, &bias, &d, scratch);
    static const float s2[4] = {5.5f, -0.5f, 6.5f, 7.5f};
    for (int i = 0; i < 4; i++) CHECK(out[i] == s2[i], "same s2[%d] = %g, want %g", i, out[i], s2[i]);

    /* Keras "same" with a 2x2 kernel of ones on 3x3: no top/left padding, one row/column at the bottom/right */
    static const float ones[4] = {1, 1, 1, 1};
    static const float y[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    CHECK(dd_conv2d_dims_init(&d, 1, 1, 3, 3, 1, 2, 2, 1, 1) == 0 && d.out_h == 3 && d.pad_top == 0, "k2 dims");
    dd_conv2d_forward(out, y, ones, NULL, &d, scratch);
    static const float k2[9] = {12, 16, 9, 24, 28, 15, 15, 17, 9};
    for (int i = 0; i < 9; i++) CHECK(out[i] == k2[i], "k2 same[%d] = %g, want %g", i, out[i], k2[i]);

    /* two output channels, two input channels, batch 2: each output channel sums its input channels */
    float x2[2 * 2 * 16], w2[2 * 2 * 9], b2[2] = {1, -1}, o2[2 * 2 * 4], sc2[18 * 4];
    for (int i = 0; i < 64; i++) { /* image 0: (x, 2x); image 1: (2x, 4x) */
        int img = i / 32, ch = i / 16 % 2;
        x2[i] = x[i % 16] * (float)((1 + img) * (1 + ch));
    }
    for (int i = 0; i < 36; i++) w2[i] = i < 27 ? w[i % 9] : 0.0f; /* out 0: (w, w); out 1: (w, 0) */
    CHECK(dd_conv2d_dims_init(&d, 2, 2, 4, 4, 2, 3, 3, 1, 0) == 0, "multi dims");
    dd_conv2d_forward(o2, x2, w2, b2, &d, sc2);
    for (int i = 0; i < 4; i++) {
        float v = valid[i] - 0.5f; /* without the bias */
        /* image 0 holds (x, 2x): channel 0 weights both by w -> 3v; channel 1 only the first by w -> v */
        CHECK(o2[i] == 3 * v + 1 && o2[4 + i] == v - 1, "multi image 0 [%d]: %g %g", i, o2[i], o2[4 + i]);
        CHECK(o2[8 + i] == 6 * v + 1 && o2[12 + i] == 2 * v - 1, "multi image 1 [%d]: %g %g", i, o2[8 + i], o2[12 + i]);
    }
}

/* Direct convolution in double, straight from the definition and the dims' padding. */
static void conv_direct(double *out, const float *in, const float *w, const float *bias, const dd_conv2d_dims *d) {
    for (int b = 0; b < d->batch; b++)
        for (int oc = 0; oc < d->out_c; oc++)
            for (int oy = 0; oy < d->out_h; oy++)
                for (int ox = 0; ox < d->out_w; ox++) {
                    double s = bias ? bias[oc] : 0.0;
                    for (int c = 0; c < d->in_c; c++)
                        for (int i = 0; i < d->kernel_h; i++)
                            for (int j = 0; j < d->kernel_w; j++) {
                                int iy = oy * d->stride - d->pad_top + i, ix = ox * d->stride - d->pad_left + j;
                                if (iy < 0 || iy >= d->in_h || ix < 0 || ix >= d->in_w) continue;
                                s += (double)w[((oc * d->in_c + c) * d->kernel_h + i) * d->kernel_w + j] *
                                     in[((b * d->in_c + c) * d->in_h + iy) * d->in_w + ix];
                            }
                    out[((b * d->out_c + oc) * d->out_h + oy) * d->out_w + ox] = s;
                }
}

typedef struct conv_ctx {
    dd_conv2d_dims d;
    float *in, *w, *b, *out, *scratch, *r;
    size_t n_in, n_w, n_out;
} conv_ctx;

static double conv_loss(void *p) {
    conv_ctx *c = p;
    dd_conv2d_forward(c->out, c->in, c->w, c->b, &c->d, c->scratch);
    return dot(c->out, c->r, c->n_out);
}

typedef struct conv_case {
    int batch, in_c, in_h, in_w, out_c, k_h, k_w, stride, same, bias;
} conv_case;

static void conv_setup(conv_ctx *c, const conv_case *k) {
    CHECK(dd_conv2d_dims_init(&c->d, k->batch, k->in_c, k->in_h, k->in_w, k->out_c, k->k_h, k->k_w, k->stride,
                              k->same) == 0,
          "conv case dims");
    c->n_in = (size_t)k->batch * k->in_c * k->in_h * k->in_w;
    c->n_w = (size_t)k->out_c * k->in_c * k->k_h * k->k_w;
    c->n_out = (size_t)k->batch * k->out_c * c->d.out_h * c->d.out_w;
    c->in = fvec(c->n_in);
    c->w = fvec(c->n_w);
    c->b = k->bias ? fvec((size_t)k->out_c) : NULL;
    c->out = fvec(c->n_out);
    c->r = fvec(c->n_out);
    c->scratch = fvec(dd_conv2d_scratch_size(&c->d));
    fill_uniform(c->in, c->n_in, -1, 1);
    fill_uniform(c->w, c->n_w, -1, 1);
    if (c->b) fill_uniform(c->b, (size_t)k->out_c, -1, 1);
    fill_uniform(c->r, c->n_out, -1, 1);
}

static void conv_free(conv_ctx *c) { free(c->in), free(c->w), free(c->b), free(c->out), free(c->r), free(c->scratch); }

static const conv_case conv_cases[] = {
    {2, 3, 5, 7, 4, 3, 3, 1, 0, 1}, /* odd sizes, valid */
    {2, 2, 6, 5, 3, 4, 4, 1, 1, 1}, /* same with an even kernel: 1 top, 2 bottom */
    {3, 2, 7, 6, 2, 3, 2, 2, 1, 1}, /* same, stride 2, rectangular kernel */
    {2, 2, 7, 7, 3, 4, 4, 2, 1, 0}, /* same, stride 2, even kernel, no bias */
    {1, 1, 9, 8, 2, 5, 3, 2, 0, 1}, /* valid, stride 2, last column unused */
    {2, 3, 4, 4, 5, 1, 1, 1, 0, 1}, /* 1x1 */
};

static void test_conv_reference(void) {
    for (size_t t = 0; t < sizeof conv_cases / sizeof *conv_cases; t++) {
        conv_ctx c;
        conv_setup(&c, &conv_cases[t]);
        double *ref = malloc(sizeof *ref * c.n_out);
        if (!ref) abort();
        conv_loss(&c);
        conv_direct(ref, c.in, c.w, c.b, &c.d);
        double worst = 0.0;
        for (size_t i = 0; i < c.n_out; i++) worst = fmax(worst, fabs(c.out[i] - ref[i]));
        CHECK(worst < 1e-5, "conv case %zu: im2col vs direct differ by %g", t, worst);
        free(ref);
        conv_free(&c);
    }
}

static void test_conv_grad(void) {
    for (size_t t = 0; t < sizeof conv_cases / sizeof *conv_cases; t++) {
        const conv_case *k = &conv_cases[t];
        conv_ctx c;
        conv_setup(&c, k);
        float *din = fvec(c.n_in), *dw = fvec(c.n_w), *db = fvec((size_t)k->out_c);
        conv_loss(&c);
        dd_conv2d_backward(din, dw, k->bias ? db : NULL, c.r, c.in, c.w, &c.d, c.scratch);
        char name[64];
        snprintf(name, sizeof name, "conv%zu.input", t);
        worst_conv = fmax(worst_conv, grad_ok(name, conv_loss, NULL, &c, c.in, din, c.n_in));
        snprintf(name, sizeof name, "conv%zu.weight", t);
        worst_conv = fmax(worst_conv, grad_ok(name, conv_loss, NULL, &c, c.w, dw, c.n_w));
        if (k->bias) {
            snprintf(name, sizeof name, "conv%zu.bias", t);
            worst_conv = fmax(worst_conv, grad_ok(name, conv_loss, NULL, &c, c.b, db, (size_t)k->out_c));
        }
        free(din), free(dw), free(db);
        conv_free(&c);
    }
}

/* ------------------------------------------------------------------------------------------------------------ */
/* Dense                                                                                                         */

static void test_dense_hand(void) {
    static const float x[2 * 3] = {1, 2, 3, /**/ -1, 0, 2};
    static const float w[2 * 3] = {1, 0, -1, /**/ 2, 1, 0.5f};
    static const float b[2] = {0.5f, -1};
    float out[4];
    dd_dense_forward(out, x, w, b, 2, 3, 2);
    static const float want[4] = {-1.5f, 4.5f, -2.5f, -2.0f};
    for (int i = 0; i < 4; i++) CHECK(out[i] == want[i], "dense[%d] = %g, want %g", i, out[i], want[i]);
    dd_dense_forward(out, x, w, NULL, 2, 3, 2);
    CHECK(out[0] == -2.0f && out[3] == -1.0f, "dense without bias");

    /* backward by hand: dout = [[1, 0], [0, 2]] */
    static const float g[4] = {1, 0, 0, 2};
    float din[6], dw[6] = {0}, db[2] = {0};
    dd_dense_backward(din, dw, db, g, x, w, 2, 3, 2);
    static const float want_din[6] = {1, 0, -1, 4, 2, 1};
    static const float want_dw[6] = {1, 2, 3, -2, 0, 4};
    for (int i = 0; i < 6; i++) CHECK(din[i] == want_din[i] && dw[i] == want_dw[i], "dense backward [%d]", i);
    CHECK(db[0] == 1 && db[1] == 2, "dense dbias");
}

typedef struct dense_ctx {
    int batch, n_in, n_out;
    float *in, *w, *b, *out, *r;
} dense_ctx;

static double dense_loss(void *p) {
    dense_ctx *c = p;
    dd_dense_forward(c->out, c->in, c->w, c->b, c->batch, c->n_in, c->n_out);
    return dot(c->out, c->r, (size_t)c->batch * c->n_out);
}

static void test_dense_grad(void) {
    static const int cases[][4] = {{3, 7, 5, 1}, {1, 1, 3, 1}, {4, 9, 2, 0}, {5, 2, 11, 1}};
    for (size_t t = 0; t < sizeof cases / sizeof *cases; t++) {
        dense_ctx c = {.batch = cases[t][0], .n_in = cases[t][1], .n_out = cases[t][2]};
        size_t ni = (size_t)c.batch * c.n_in, nw = (size_t)c.n_out * c.n_in, no = (size_t)c.batch * c.n_out;
        c.in = fvec(ni), c.w = fvec(nw), c.b = cases[t][3] ? fvec((size_t)c.n_out) : NULL, c.out = fvec(no),
        c.r = fvec(no);
        fill_uniform(c.in, ni, -1, 1), fill_uniform(c.w, nw, -1, 1), fill_uniform(c.r, no, -1, 1);
        if (c.b) fill_uniform(c.b, (size_t)c.n_out, -1, 1);
        float *din = fvec(ni), *dw = fvec(nw), *db = fvec((size_t)c.n_out);
        dense_loss(&c);
        dd_dense_backward(din, dw, c.b ? db : NULL, c.r, c.in, c.w, c.batch, c.n_in, c.n_out);
        char name[64];
        snprintf(name, sizeof name, "dense%zu.input", t);
        worst_dense = fmax(worst_dense, grad_ok(name, dense_loss, NULL, &c, c.in, din, ni));
        snprintf(name, sizeof name, "dense%zu.weight", t);
        worst_dense = fmax(worst_dense, grad_ok(name, dense_loss, NULL, &c, c.w, dw, nw));
        if (c.b) {
            snprintf(name, sizeof name, "dense%zu.bias", t);
            worst_dense = fmax(worst_dense, grad_ok(name, dense_loss, NULL, &c, c.b, db, (size_t)c.n_out));
        }
        free(din), free(dw), free(db), free(c.in), free(c.w), free(c.b), free(c.out), free(c.r);
    }
}

/* ------------------------------------------------------------------------------------------------------------ */
/* BatchNormalization                                                                                            */

static void test_bn_values(void) {
    /* batch 2, 2 channels, spatial 2: channel 0 holds 1, 2 | 3, 4; channel 1 holds 10, 10 | 10, 10 */
    static const float x[8] = {1, 2, 10, 10, /**/ 3, 4, 10, 10};
    static const float gamma[2] = {2, 1}, beta[2] = {0.5f, -1};
    float out[8], mean[2], inv_std[2], rm[2] = {0, 5}, rv[2] = {1, 2};
    const float eps = 0.001f;
    dd_batchnorm_forward_train(out, mean, inv_std, x, gamma, beta, rm, rv, 2, 2, 2, 0.99f, eps);
    /* channel 0: mean 2.5, biased var 1.25, unbiased var 5/3 */
    CHECK(mean[0] == 2.5f && mean[1] == 10.0f, "batch means %g %g", mean[0], mean[1]);
    CHECK(near(inv_std[0], 1.0 / sqrt(1.25 + 0.001), 1e-6), "inv_std[0] = %.8g", inv_std[0]);
    CHECK(near(inv_std[1], 1.0 / sqrt(0.001), 1e-6), "inv_std[1] = %.8g", inv_std[1]);
    static const int ch0[4] = {0, 1, 4, 5};
    static const double v0[4] = {1, 2, 3, 4};
    for (int i = 0; i < 4; i++) {
        double want = 2.0 * (v0[i] - 2.5) / sqrt(1.25 + 0.001) + 0.5;
        CHECK(near(out[ch0[i]], want, 1e-6), "train out[%d] = %.8g, want %.8g", ch0[i], out[ch0[i]], want);
    }
    CHECK(out[2] == -1.0f && out[3] == -1.0f && out[6] == -1.0f && out[7] == -1.0f, "constant channel -> beta");
    /* running = 0.99 * running + 0.01 * batch, with the unbiased variance */
    CHECK(near(rm[0], 0.99 * 0 + 0.01 * 2.5, 1e-6), "running_mean[0] = %.8g", rm[0]);
    CHECK(near(rm[1], 0.99 * 5 + 0.01 * 10, 1e-6), "running_mean[1] = %.8g", rm[1]);
    CHECK(near(rv[0], 0.99 * 1 + 0.01 * (5.0 / 3.0), 1e-6), "running_var[0] = %.8g (unbiased 5/3)", rv[0]);
    CHECK(near(rv[1], 0.99 * 2 + 0.0, 1e-6), "running_var[1] = %.8g", rv[1]);

    /* inference: gamma * (x - running_mean) / sqrt(running_var + eps) + beta */
    const float run_m[2] = {1.5f, -2}, run_v[2] = {4, 0.25f};
    dd_batchnorm_forward_infer(out, x, gamma, beta, run_m, run_v, 2, 2, 2, eps);
    for (int b = 0; b < 2; b++)
        for (int c = 0; c < 2; c++)
            for (int s = 0; s < 2; s++) {
                int i = (b * 2 + c) * 2 + s;
                double want = gamma[c] * (x[i] - run_m[c]) / sqrt(run_v[c] + 0.001) + beta[c];
                CHECK(near(out[i], want, 1e-6), "infer out[%d] = %.8g, want %.8g", i, out[i], want);
            }
    CHECK(near(out[0], 2.0 * (1 - 1.5) / sqrt(4.001) + 0.5, 1e-6), "infer by hand");

    /* training output of a larger random batch: per channel mean beta, variance gamma^2 * var / (var + eps) */
    enum { B = 6, C = 3, S = 50 };
    float *in = fvec(B * C * S), *o = fvec(B * C * S), g[C] = {1, 2, 0.5f}, be[C] = {0, 1, -1}, m[C], is[C],
          rmu[C] = {0}, rva[C] = {1, 1, 1};
    fill_uniform(in, B * C * S, -3, 5);
    dd_batchnorm_forward_train(o, m, is, in, g, be, rmu, rva, B, C, S, 0.99f, eps);
    for (int c = 0; c < C; c++) {
        double s = 0, ss = 0, xs = 0, xss = 0;
        for (int b = 0; b < B; b++)
            for (int k = 0; k < S; k++) {
                double v = o[(b * C + c) * S + k], xv = in[(b * C + c) * S + k];
                s += v, ss += v * v, xs += xv, xss += xv * xv;
            }
        double n = B * S, mu = s / n, var = ss / n - mu * mu, xmu = xs / n, xvar = xss / n - xmu * xmu;
        CHECK(fabs(mu - be[c]) < 1e-5, "channel %d mean %g", c, mu);
        CHECK(near(var, g[c] * g[c] * xvar / (xvar + 0.001), 1e-4), "channel %d variance %g", c, var);
        CHECK(near(m[c], xmu, 1e-5), "channel %d saved mean", c);
    }
    free(in), free(o);
}

typedef struct bn_ctx {
    int batch, channels, spatial;
    float *in, *gamma, *beta, *out, *mean, *inv_std, *rm, *rv, *r;
} bn_ctx;

static double bn_loss(void *p) {
    bn_ctx *c = p;
    dd_batchnorm_forward_train(c->out, c->mean, c->inv_std, c->in, c->gamma, c->beta, c->rm, c->rv, c->batch,
                               c->channels, c->spatial, 0.99f, 0.001f);
    return dot(c->out, c->r, (size_t)c->batch * c->channels * c->spatial);
}

static void test_bn_grad(void) {
    static const int cases[][3] = {{3, 2, 5}, {4, 3, 1}, {2, 1, 9}, {5, 4, 6}};
    for (size_t t = 0; t < sizeof cases / sizeof *cases; t++) {
        bn_ctx c = {.batch = cases[t][0], .channels = cases[t][1], .spatial = cases[t][2]};
        size_t n = (size_t)c.batch * c.channels * c.spatial, ch = (size_t)c.channels;
        c.in = fvec(n), c.out = fvec(n), c.r = fvec(n), c.gamma = fvec(ch), c.beta = fvec(ch), c.mean = fvec(ch),
        c.inv_std = fvec(ch), c.rm = fvec(ch), c.rv = fvec(ch);
        fill_uniform(c.in, n, -2, 2), fill_uniform(c.r, n, -1, 1), fill_uniform(c.gamma, ch, 0.5f, 1.5f),
            fill_uniform(c.beta, ch, -1, 1);
        float *din = fvec(n), *dg = fvec(ch), *db = fvec(ch);
        bn_loss(&c);
        dd_batchnorm_backward(din, dg, db, c.r, c.in, c.gamma, c.mean, c.inv_std, c.batch, c.channels, c.spatial);
        char name[64];
        snprintf(name, sizeof name, "bn%zu.input", t);
        worst_bn = fmax(worst_bn, grad_ok(name, bn_loss, NULL, &c, c.in, din, n));
        snprintf(name, sizeof name, "bn%zu.gamma", t);
        worst_bn = fmax(worst_bn, grad_ok(name, bn_loss, NULL, &c, c.gamma, dg, ch));
        snprintf(name, sizeof name, "bn%zu.beta", t);
        worst_bn = fmax(worst_bn, grad_ok(name, bn_loss, NULL, &c, c.beta, db, ch));
        /* the batch statistics make din sum to zero per channel (a shift of a whole channel changes nothing) */
        for (int k = 0; k < c.channels; k++) {
            double s = 0;
            for (int b = 0; b < c.batch; b++)
                for (int q = 0; q < c.spatial; q++) s += din[((size_t)b * c.channels + k) * c.spatial + q];
            CHECK(fabs(s) < 1e-4, "bn%zu channel %d: din sums to %g", t, k, s);
        }
        free(din), free(dg), free(db), free(c.in), free(c.out), free(c.r), free(c.gamma), free(c.beta), free(c.mean),
            free(c.inv_std), free(c.rm), free(c.rv);
    }
}

/* ------------------------------------------------------------------------------------------------------------ */
/* ReLU                                                                                                          */

typedef struct relu_ctx {
    size_t n;
    float *in, *out, *r;
} relu_ctx;

static double relu_loss(void *p) {
    relu_ctx *c = p;
    dd_relu_forward(c->out, c->in, c->n);
    return dot(c->out, c->r, c->n);
}

static void test_relu(void) {
    float x[5] = {-1, 0, 2.5f, -0.0f, 1e-30f}, o[5], g[5] = {1, 2, 3, 4, 5}, d[5];
    dd_relu_forward(o, x, 5);
    CHECK(o[0] == 0 && o[1] == 0 && o[2] == 2.5f && o[3] == 0 && o[4] == 1e-30f, "relu forward");
    dd_relu_backward(d, g, o, 5);
    CHECK(d[0] == 0 && d[1] == 0 && d[2] == 3 && d[3] == 0 && d[4] == 5, "relu backward");
    dd_relu_forward(x, x, 5); /* in place */
    CHECK(memcmp(x, o, sizeof o) == 0, "relu in place");
    dd_relu_backward(g, g, o, 5);
    CHECK(g[0] == 0 && g[2] == 3 && g[4] == 5, "relu backward in place");

    /* gradient check away from the kink: |x| >= 0.05 > EPS */
    relu_ctx c = {37, fvec(37), fvec(37), fvec(37)};
    for (size_t i = 0; i < c.n; i++) {
        float m = 0.05f + (float)dd_rng_uniform(&rng);
        c.in[i] = dd_rng_below(&rng, 2) ? m : -m;
    }
    fill_uniform(c.r, c.n, -1, 1);
    float *din = fvec(c.n);
    relu_loss(&c);
    dd_relu_backward(din, c.r, c.out, c.n);
    worst_relu = grad_ok("relu.input", relu_loss, NULL, &c, c.in, din, c.n);
    free(c.in), free(c.out), free(c.r), free(din);
}

/* ------------------------------------------------------------------------------------------------------------ */
/* MaxPool2D                                                                                                     */

static void test_pool_hand(void) {
    CHECK(dd_maxpool_out_size(61, 4, 4) == 15, "61 -> %d", dd_maxpool_out_size(61, 4, 4));
    CHECK(dd_maxpool_out_size(95, 4, 4) == 23, "95 -> %d", dd_maxpool_out_size(95, 4, 4));
    CHECK(dd_maxpool_out_size(5, 2, 2) == 2 && dd_maxpool_out_size(5, 3, 2) == 2 && dd_maxpool_out_size(4, 4, 4) == 1,
          "small sizes");
    CHECK(dd_maxpool_out_size(3, 4, 4) == 0 && dd_maxpool_out_size(0, 1, 1) == 0, "pool larger than the input");

    /* 5x5 with pool 2: the last row and column are dropped; a tie goes to the first maximum */
    static const float x[25] = {1,      3, 0, 0, 9, /**/ 2, 3, 5, 4, 9, /**/ -1, -2, 7, 7, 9, /**/ -3, -4, 7, 7, 9,
                                /**/ 9, 9, 9, 9, 9};
    float o[4], din[25];
    int32_t arg[4];
    dd_maxpool_forward(o, arg, x, 1, 1, 5, 5, 2, 2);
    CHECK(o[0] == 3 && o[1] == 5 && o[2] == -1 && o[3] == 7, "pool out %g %g %g %g", o[0], o[1], o[2], o[3]);
    CHECK(arg[0] == 1 && arg[1] == 7 && arg[2] == 10 && arg[3] == 12, "argmax %d %d %d %d (tie: first)", arg[0], arg[1],
          arg[2], arg[3]);
    static const float g[4] = {1, 2, 3, 4};
    for (int i = 0; i < 25; i++) din[i] = 99;
    dd_maxpool_backward(din, g, arg, 1, 1, 5, 5, 2, 2);
    for (int i = 0; i < 25; i++) {
        float want = i == 1 ? 1 : i == 7 ? 2 : i == 10 ? 3 : i == 12 ? 4 : 0;
        CHECK(din[i] == want, "pool din[%d] = %g", i, din[i]);
    }
    /* overlapping windows (pool 3, stride 1) that share a maximum add up its gradients */
    static const float y[9] = {0, 0, 0, 0, 5, 0, 0, 0, 0};
    float oy[1];
    int32_t ay[1];
    dd_maxpool_forward(oy, ay, y, 1, 1, 3, 3, 3, 1);
    CHECK(oy[0] == 5 && ay[0] == 4, "3x3 pool");
    static const float y4[16] = {0, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    float o4[4], d4[16];
    int32_t a4[4];
    static const float g4[4] = {1, 10, 100, 1000};
    dd_maxpool_forward(o4, a4, y4, 1, 1, 4, 4, 3, 1);
    dd_maxpool_backward(d4, g4, a4, 1, 1, 4, 4, 2, 2);
    CHECK(a4[0] == 5 && a4[1] == 5 && a4[2] == 5 && a4[3] == 5 && d4[5] == 1111, "shared maximum: d = %g", d4[5]);
}

typedef struct pool_ctx {
    int batch, channels, h, w, pool, stride, oh, ow;
    float *in, *out, *r;
    int32_t *arg, *arg0;
} pool_ctx;

static double pool_loss(void *p) {
    pool_ctx *c = p;
    dd_maxpool_forward(c->out, c->arg, c->in, c->batch, c->channels, c->h, c->w, c->pool, c->stride);
    return dot(c->out, c->r, (size_t)c->batch * c->channels * c->oh * c->ow);
}

static int pool_same_winners(void *p) {
    pool_ctx *c = p;
    return memcmp(c->arg, c->arg0, sizeof *c->arg * (size_t)c->batch * c->channels * c->oh * c->ow) == 0;
}

static void test_pool_grad(void) {
    static const int cases[][6] = {{2, 3, 9, 11, 4, 4}, {1, 2, 7, 6, 2, 2}, {2, 2, 8, 9, 3, 2}, {3, 1, 5, 5, 5, 1}};
    for (size_t t = 0; t < sizeof cases / sizeof *cases; t++) {
        pool_ctx c = {.batch = cases[t][0],
                      .channels = cases[t][1],
                      .h = cases[t][2],
                      .w = cases[t][3],
                      .pool = cases[t][4],
                      .stride = cases[t][5]};
        c.oh = dd_maxpool_out_size(c.h, c.pool, c.stride), c.ow = dd_maxpool_out_size(c.w, c.pool, c.stride);
        size_t n = (size_t)c.batch * c.channels * c.h * c.w, no = (size_t)c.batch * c.channels * c.oh * c.ow;
        c.in = fvec(n), c.out = fvec(no), c.r = fvec(no);
        c.arg = malloc(sizeof *c.arg * no), c.arg0 = malloc(sizeof *c.arg * no);
        if (!c.arg || !c.arg0) abort();
        /* distinct values 0.05 apart in random order: no ties, and a step of EPS never changes a winner */
        for (size_t i = 0; i < n; i++) c.in[i] = 0.05f * ((float)i - (float)n / 2);
        for (size_t i = n - 1; i > 0; i--) {
            size_t j = (size_t)dd_rng_below(&rng, i + 1);
            float tmp = c.in[i];
            c.in[i] = c.in[j], c.in[j] = tmp;
        }
        fill_uniform(c.r, no, -1, 1);
        float *din = fvec(n);
        pool_loss(&c);
        memcpy(c.arg0, c.arg, sizeof *c.arg * no);
        dd_maxpool_backward(din, c.r, c.arg, c.batch, c.channels, c.h, c.w, c.oh, c.ow);
        char name[64];
        snprintf(name, sizeof name, "maxpool%zu.input", t);
        gc_result r = gc_check(name, pool_loss, pool_same_winners, &c, c.in, din, n, EPS, TOL, MAX_COORDS, &rng);
        CHECK(r.failed == 0 && r.skipped == 0 && r.checked > 0, "%s: %zu failed, %zu skipped", name, r.failed,
              r.skipped);
        worst_pool = fmax(worst_pool, r.max_err);
        free(din), free(c.in), free(c.out), free(c.r), free(c.arg), free(c.arg0);
    }
}

/* ------------------------------------------------------------------------------------------------------------ */
/* Dropout                                                                                                       */

typedef struct drop_ctx {
    size_t n;
    float rate;
    float *in, *out, *mask, *r;
} drop_ctx;

static double drop_loss(void *p) {
    drop_ctx *c = p;
    dd_rng r; /* the same seed every time: a fixed mask */
    dd_rng_seed(&r, 1234);
    dd_dropout_forward(c->out, c->mask, c->in, c->n, c->rate, &r);
    return dot(c->out, c->r, c->n);
}

static void test_dropout(void) {
    enum { N = 20000 };
    float *in = fvec(N), *out = fvec(N), *mask = fvec(N), *mask2 = fvec(N);
    fill_uniform(in, N, -1, 1);
    dd_rng r;
    dd_rng_seed(&r, 7);
    dd_dropout_forward(out, mask, in, N, 0.25f, &r);
    size_t dropped = 0, bad = 0;
    for (size_t i = 0; i < N; i++) {
        if (mask[i] == 0.0f)
            dropped++;
        else if (mask[i] != 1.0f / 0.75f)
            bad++;
        if (out[i] != in[i] * mask[i]) bad++;
    }
    CHECK(bad == 0, "%zu mask values other than 0 and 1/(1-rate), or out != in * mask", bad);
    CHECK(fabs((double)dropped / N - 0.25) < 0.015, "dropped fraction %g", (double)dropped / N);
    dd_rng_seed(&r, 7);
    dd_dropout_forward(out, mask2, in, N, 0.25f, &r);
    CHECK(memcmp(mask, mask2, sizeof *mask * N) == 0, "same seed, same mask");
    dd_dropout_forward(out, mask2, in, N, 0.25f, &r);
    CHECK(memcmp(mask, mask2, sizeof *mask * N) != 0, "the generator moves on");
    dd_dropout_forward(out, mask, in, N, 0.0f, &r);
    CHECK(memcmp(out, in, sizeof *in * N) == 0, "rate 0 is the identity");
    dd_dropout_backward(mask2, in, mask, N); /* with the all-ones mask of rate 0 */
    CHECK(memcmp(mask2, in, sizeof *in * N) == 0, "rate 0 backward");
    free(in), free(out), free(mask), free(mask2);

    drop_ctx c = {41, 0.4f, fvec(41), fvec(41), fvec(41), fvec(41)};
    fill_uniform(c.in, c.n, -1, 1), fill_uniform(c.r, c.n, -1, 1);
    float *din = fvec(c.n);
    drop_loss(&c);
    dd_dropout_backward(din, c.r, c.mask, c.n);
    size_t zeros = 0;
    for (size_t i = 0; i < c.n; i++) zeros += din[i] == 0.0f;
    CHECK(zeros > 0 && zeros < c.n, "the fixed mask drops some units and keeps some (%zu of %zu dropped)", zeros, c.n);
    worst_drop = grad_ok("dropout.input", drop_loss, NULL, &c, c.in, din, c.n);
    free(c.in), free(c.out), free(c.mask), free(c.r), free(din);
}

/* ------------------------------------------------------------------------------------------------------------ */
/* Softmax + cross-entropy                                                                                       */

typedef struct xent_ctx {
    int batch, classes;
    float *logits, *probs;
    int32_t *labels;
} xent_ctx;

static double xent_loss(void *p) {
    xent_ctx *c = p;
    return dd_softmax_xent_forward(c->probs, c->logits, c->labels, c->batch, c->classes);
}

static void test_softmax_xent(void) {
    enum { B = 4, K = 7 };
    float logits[B * K], probs[B * K], probs2[B * K], d[B * K];
    int32_t labels[B] = {0, 6, 3, 3};
    fill_uniform(logits, B * K, -4, 4);
    float loss = dd_softmax_xent_forward(probs, logits, labels, B, K);
    double want_loss = 0.0;
    for (int b = 0; b < B; b++) {
        double sum = 0.0;
        for (int k = 0; k < K; k++) sum += exp(logits[b * K + k]);
        double psum = 0.0;
        for (int k = 0; k < K; k++) {
            double pk = exp(logits[b * K + k]) / sum;
            CHECK(fabs(probs[b * K + k] - pk) < 1e-6, "prob[%d][%d] %g vs %g", b, k, probs[b * K + k], pk);
            psum += probs[b * K + k];
        }
        CHECK(fabs(psum - 1.0) < 1e-6, "row %d sums to %.9g", b, psum);
        want_loss += -log(exp(logits[b * K + labels[b]]) / sum);
    }
    want_loss /= B;
    CHECK(near(loss, want_loss, 1e-6), "loss %.8g, closed form %.8g", loss, want_loss);
    dd_softmax_forward(probs2, logits, B, K);
    CHECK(memcmp(probs, probs2, sizeof probs) == 0, "dd_softmax_forward = the probabilities of the loss");
    dd_softmax_xent_backward(d, probs, labels, B, K);
    for (int b = 0; b < B; b++)
        for (int k = 0; k < K; k++) {
            double want = (probs[b * K + k] - (k == labels[b])) / B;
            CHECK(fabs(d[b * K + k] - want) < 1e-7, "dlogits[%d][%d] %g vs %g", b, k, d[b * K + k], want);
        }

    /* huge logits: naive exp overflows, log-sum-exp does not. Row 0, label 0: loss = log(e^0 + e^1 + e^2);
     * row 1, label 0: log 2 */
    float big[6] = {1000, 1001, 1002, 1000, 1000, -1000}, pb[6];
    int32_t lb[2] = {0, 0};
    float lbig = dd_softmax_xent_forward(pb, big, lb, 2, 3);
    double l0 = log(1 + exp(1.0) + exp(2.0)), l1 = log(2.0);
    CHECK(isfinite(lbig) && near(lbig, (l0 + l1) / 2, 1e-6), "loss with huge logits %.8g, want %.8g", lbig,
          (l0 + l1) / 2);
    CHECK(near(pb[2], exp(2.0) / (1 + exp(1.0) + exp(2.0)), 1e-6) && pb[3] == 0.5f && pb[4] == 0.5f && pb[5] == 0.0f,
          "probs with huge logits");
    /* a probability that underflows to 0 still gives a finite loss */
    float far[2] = {0, 200}, pf[2];
    int32_t lf = 0;
    float lfar = dd_softmax_xent_forward(pf, far, &lf, 1, 2);
    CHECK(pf[0] == 0.0f && near(lfar, 200.0, 1e-6), "loss of an underflowed probability %g", lfar);
    /* in place: probs may be the logits */
    float inplace[B * K];
    memcpy(inplace, logits, sizeof logits);
    float lin = dd_softmax_xent_forward(inplace, inplace, labels, B, K);
    CHECK(lin == loss && memcmp(inplace, probs, sizeof probs) == 0, "in place");

    xent_ctx c = {B, K, logits, probs, labels};
    xent_loss(&c);
    dd_softmax_xent_backward(d, probs, labels, B, K);
    worst_xent = grad_ok("softmax_xent.logits", xent_loss, NULL, &c, logits, d, B * K);
}

/* ------------------------------------------------------------------------------------------------------------ */
/* Glorot uniform                                                                                                */

static void test_glorot(void) {
    enum { N = 30000 };
    float *w = fvec(N), *w2 = fvec(N);
    dd_rng r;
    dd_rng_seed(&r, 99);
    dd_glorot_uniform(w, N, 3 * 3 * 16, 3 * 3 * 32, &r);
    double limit = sqrt(6.0 / (144 + 288)), s = 0, ss = 0, lo = 1, hi = -1;
    for (size_t i = 0; i < N; i++) {
        s += w[i], ss += (double)w[i] * w[i];
        lo = fmin(lo, w[i]), hi = fmax(hi, w[i]);
    }
    CHECK(lo >= -limit && hi <= limit, "range [%g, %g], limit %g", lo, hi, limit);
    CHECK(lo < -0.99 * limit && hi > 0.99 * limit, "fills the range [%g, %g]", lo, hi);
    CHECK(fabs(s / N) < 0.02 * limit, "mean %g", s / N);
    CHECK(fabs(ss / N - limit * limit / 3) < 0.03 * limit * limit / 3, "variance %g, want %g", ss / N,
          limit * limit / 3);
    dd_rng_seed(&r, 99);
    dd_glorot_uniform(w2, N, 144, 288, &r);
    CHECK(memcmp(w, w2, sizeof *w * N) == 0, "same seed, same weights");
    free(w), free(w2);
}

/* ------------------------------------------------------------------------------------------------------------ */
/* backward: parameter gradients accumulate, din is overwritten, din may be NULL                                 */

static int all_equal_scaled(const float *a, const float *b, size_t n, float scale) {
    for (size_t i = 0; i < n; i++)
        if (fabsf(a[i] - scale * b[i]) > 1e-5f * fmaxf(1.0f, fabsf(a[i]))) return 0;
    return 1;
}

static void test_accumulate(void) {
    /* conv */
    conv_ctx c;
    conv_setup(&c, &conv_cases[2]);
    size_t oc = (size_t)conv_cases[2].out_c;
    float *din1 = fvec(c.n_in), *din2 = fvec(c.n_in), *dw1 = fvec(c.n_w), *dw2 = fvec(c.n_w), *db1 = fvec(oc),
          *db2 = fvec(oc), *dw3 = fvec(c.n_w), *db3 = fvec(oc);
    dd_conv2d_backward(din1, dw1, db1, c.r, c.in, c.w, &c.d, c.scratch);
    for (size_t i = 0; i < c.n_in; i++) din2[i] = 1e6f; /* garbage that must be overwritten */
    dd_conv2d_backward(din2, dw2, db2, c.r, c.in, c.w, &c.d, c.scratch);
    dd_conv2d_backward(din2, dw2, db2, c.r, c.in, c.w, &c.d, c.scratch);
    CHECK(memcmp(din1, din2, sizeof *din1 * c.n_in) == 0, "conv din overwritten, not accumulated");
    CHECK(all_equal_scaled(dw2, dw1, c.n_w, 2) && all_equal_scaled(db2, db1, oc, 2), "conv: twice -> doubled");
    dd_conv2d_backward(NULL, dw3, db3, c.r, c.in, c.w, &c.d, c.scratch);
    CHECK(memcmp(dw3, dw1, sizeof *dw1 * c.n_w) == 0 && memcmp(db3, db1, sizeof *db1 * oc) == 0, "conv din NULL");
    free(din1), free(din2), free(dw1), free(dw2), free(db1), free(db2), free(dw3), free(db3);
    conv_free(&c);

    /* dense */
    enum { B = 3, NI = 6, NO = 4 };
    float x[B * NI], w[NO * NI], g[B * NO], di1[B * NI], di2[B * NI],
        gw1[NO * NI] = {0}, gw2[NO * NI] = {0}, gw3[NO * NI] = {0}, gb1[NO] = {0}, gb2[NO] = {0}, gb3[NO] = {0};
    fill_uniform(x, B * NI, -1, 1), fill_uniform(w, NO * NI, -1, 1), fill_uniform(g, B * NO, -1, 1);
    for (int i = 0; i < B * NI; i++) di2[i] = 1e6f;
    dd_dense_backward(di1, gw1, gb1, g, x, w, B, NI, NO);
    dd_dense_backward(di2, gw2, gb2, g, x, w, B, NI, NO);
    dd_dense_backward(di2, gw2, gb2, g, x, w, B, NI, NO);
    CHECK(memcmp(di1, di2, sizeof di1) == 0, "dense din overwritten");
    CHECK(all_equal_scaled(gw2, gw1, NO * NI, 2) && all_equal_scaled(gb2, gb1, NO, 2), "dense: twice -> doubled");
    dd_dense_backward(NULL, gw3, gb3, g, x, w, B, NI, NO);
    CHECK(memcmp(gw3, gw1, sizeof gw1) == 0 && memcmp(gb3, gb1, sizeof gb1) == 0, "dense din NULL");

    /* batchnorm */
    enum { BB = 3, C = 2, S = 5, N = BB * C * S };
    float in[N], out[N], dout[N], gam[C] = {1.5f, 0.7f}, bet[C] = {0.1f, -0.2f}, m[C], is[C], rm[C] = {0},
                                  rv[C] = {1, 1}, dn1[N], dn2[N], dg1[C] = {0}, dg2[C] = {0}, dg3[C] = {0},
                                  dbt1[C] = {0}, dbt2[C] = {0}, dbt3[C] = {0};
    fill_uniform(in, N, -2, 2), fill_uniform(dout, N, -1, 1);
    dd_batchnorm_forward_train(out, m, is, in, gam, bet, rm, rv, BB, C, S, 0.99f, 0.001f);
    for (int i = 0; i < N; i++) dn2[i] = 1e6f;
    dd_batchnorm_backward(dn1, dg1, dbt1, dout, in, gam, m, is, BB, C, S);
    dd_batchnorm_backward(dn2, dg2, dbt2, dout, in, gam, m, is, BB, C, S);
    dd_batchnorm_backward(dn2, dg2, dbt2, dout, in, gam, m, is, BB, C, S);
    CHECK(memcmp(dn1, dn2, sizeof dn1) == 0, "bn din overwritten");
    CHECK(all_equal_scaled(dg2, dg1, C, 2) && all_equal_scaled(dbt2, dbt1, C, 2), "bn: twice -> doubled");
    dd_batchnorm_backward(NULL, dg3, dbt3, dout, in, gam, m, is, BB, C, S);
    CHECK(memcmp(dg3, dg1, sizeof dg1) == 0 && memcmp(dbt3, dbt1, sizeof dbt1) == 0, "bn din NULL");
}

/* ------------------------------------------------------------------------------------------------------------ */
/* The checker must catch wrong gradients, or the checks above prove nothing.                                    */

static void test_checker_catches(void) {
    conv_ctx c;
    conv_setup(&c, &conv_cases[1]);
    float *din = fvec(c.n_in), *dw = fvec(c.n_w), *db = fvec((size_t)c.d.out_c), *bad = fvec(c.n_w);
    conv_loss(&c);
    dd_conv2d_backward(din, dw, db, c.r, c.in, c.w, &c.d, c.scratch);
    printf("(the following three checks are meant to fail)\n");

    /* the largest weight gradient 5% too large */
    size_t big = 0;
    for (size_t i = 0; i < c.n_w; i++)
        if (fabsf(dw[i]) > fabsf(dw[big])) big = i;
    memcpy(bad, dw, sizeof *dw * c.n_w);
    bad[big] *= 1.05f;
    gc_result r = gc_check("broken: one weight +5%", conv_loss, NULL, &c, c.w, bad, c.n_w, EPS, TOL, c.n_w, &rng);
    CHECK(r.failed == 1, "a 5%% error in one weight gradient: %zu flagged", r.failed);

    /* the kernel flipped (convolution instead of cross-correlation), a classic slip */
    int kh = c.d.kernel_h, kw = c.d.kernel_w;
    for (size_t f = 0; f < (size_t)c.d.out_c * c.d.in_c; f++)
        for (int i = 0; i < kh; i++)
            for (int j = 0; j < kw; j++) bad[(f * kh + i) * kw + j] = dw[(f * kh + (kh - 1 - i)) * kw + (kw - 1 - j)];
    r = gc_check("broken: flipped kernel", conv_loss, NULL, &c, c.w, bad, c.n_w, EPS, TOL, c.n_w, &rng);
    CHECK(r.failed > c.n_w / 2, "flipped kernel gradient: only %zu of %zu flagged", r.failed, c.n_w);

    /* the input gradient shifted by one pixel */
    float *shifted = fvec(c.n_in);
    memcpy(shifted + 1, din, sizeof *din * (c.n_in - 1));
    r = gc_check("broken: input shifted", conv_loss, NULL, &c, c.in, shifted, c.n_in, EPS, TOL, c.n_in, &rng);
    CHECK(r.failed > c.n_in / 2, "shifted input gradient: only %zu of %zu flagged", r.failed, c.n_in);
    printf("(end of the checks meant to fail)\n");
    free(din), free(dw), free(db), free(bad), free(shifted);
    conv_free(&c);
}

int main(void) {
    dd_rng_seed(&rng, 20240601);
    test_conv_dims();
    test_conv_hand();
    test_conv_reference();
    test_conv_grad();
    test_dense_hand();
    test_dense_grad();
    test_bn_values();
    test_bn_grad();
    test_relu();
    test_pool_hand();
    test_pool_grad();
    test_dropout();
    test_softmax_xent();
    test_glorot();
    test_accumulate();
    test_checker_catches();
    printf("max relative error (eps %g, tolerance %g): conv %.2e, dense %.2e, batchnorm %.2e, relu %.2e, maxpool "
           "%.2e, dropout %.2e, softmax_xent %.2e\n",
           EPS, TOL, worst_conv, worst_dense, worst_bn, worst_relu, worst_pool, worst_drop, worst_xent);
    return test_finish("test_layers");
}
