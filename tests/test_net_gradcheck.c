/* A whole small network wired by hand over the layer functions, the way the model code will chain them:
 *     conv 3x3 "same" -> BatchNorm (training) -> ReLU -> maxpool 2 -> flatten -> dense -> dropout (fixed mask)
 *     -> dense -> softmax cross-entropy
 * The analytic gradient of the mean loss (backward through every layer) is compared with central differences for a
 * sample of the parameters of every layer and of the input. A step that moves a ReLU input across 0 or changes a
 * max-pool winner is not differentiable there; such coordinates are detected and skipped (and counted). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "doodle/layers.h"
#include "gradcheck.h"
#include "testutil.h"

#define EPS 1e-2
#define TOL 1e-2
#define MAX_COORDS 60

enum {
    B = 3, /* batch */
    IC = 2,
    IH = 9,
    IW = 7, /* input */
    C1 = 4,
    K1 = 3, /* conv: 4 filters 3x3, "same" -> 9x7 */
    POOL = 2,
    PH = 4,
    PW = 3,              /* maxpool 2: 9x7 -> 4x3, the last row and column dropped */
    FLAT = C1 * PH * PW, /* 48 */
    H1 = 10,             /* dense 48 -> 10 */
    K = 5,               /* dense 10 -> 5 classes */
    N_IN = B * IC * IH * IW,
    N_CONV = B * C1 * IH * IW,
    N_POOL = B * FLAT,
};
#define DROP_RATE 0.3f
#define DROP_SEED 77

typedef struct net {
    dd_conv2d_dims d;
    /* parameters */
    float conv_w[C1 * IC * K1 * K1], conv_b[C1], gamma[C1], beta[C1], w1[H1 * FLAT], b1[H1], w2[K * H1], b2[K];
    float running_mean[C1], running_var[C1];
    /* gradients */
    float g_conv_w[C1 * IC * K1 * K1], g_conv_b[C1], g_gamma[C1], g_beta[C1], g_w1[H1 * FLAT], g_b1[H1], g_w2[K * H1],
        g_b2[K], g_in[N_IN];
    /* activations */
    float in[N_IN], conv[N_CONV], bn[N_CONV], relu[N_CONV], pool[N_POOL], h1[B * H1], mask[B * H1], drop[B * H1],
        logits[B * K], probs[B * K];
    float bn_mean[C1], bn_inv_std[C1];
    int32_t argmax[N_POOL], labels[B];
    float *scratch;
    /* the pattern of the unperturbed forward pass: which ReLUs pass and which inputs win the pools */
    unsigned char relu_on0[N_CONV];
    int32_t argmax0[N_POOL];
    float loss_f; /* what dd_softmax_xent_forward returned */
} net;

/* Forward pass; returns the mean cross-entropy recomputed in double from the logits, so the loss differences the
 * check divides by 2 * EPS carry no float rounding of the loss itself. */
static double forward(net *n) {
    dd_conv2d_forward(n->conv, n->in, n->conv_w, n->conv_b, &n->d, n->scratch);
    dd_batchnorm_forward_train(n->bn, n->bn_mean, n->bn_inv_std, n->conv, n->gamma, n->beta, n->running_mean,
                               n->running_var, B, C1, IH * IW, 0.99f, 0.001f);
    dd_relu_forward(n->relu, n->bn, N_CONV);
    dd_maxpool_forward(n->pool, n->argmax, n->relu, B, C1, IH, IW, POOL, POOL);
    dd_dense_forward(n->h1, n->pool, n->w1, n->b1, B, FLAT, H1); /* NCHW pooled maps are already flat per image */
    dd_rng r;
    dd_rng_seed(&r, DROP_SEED); /* the same mask on every pass */
    dd_dropout_forward(n->drop, n->mask, n->h1, B * H1, DROP_RATE, &r);
    dd_dense_forward(n->logits, n->drop, n->w2, n->b2, B, H1, K);
    n->loss_f = dd_softmax_xent_forward(n->probs, n->logits, n->labels, B, K);
    double loss = 0.0;
    for (int b = 0; b < B; b++) {
        const float *z = n->logits + b * K;
        double mx = z[0], s = 0.0;
        for (int k = 1; k < K; k++) mx = fmax(mx, z[k]);
        for (int k = 0; k < K; k++) s += exp(z[k] - mx);
        loss += log(s) + mx - z[n->labels[b]];
    }
    return loss / B;
}

static void backward(net *n) {
    float dlogits[B * K], ddrop[B * H1], dh1[B * H1], dpool[N_POOL], drelu[N_CONV], dbn[N_CONV], dconv[N_CONV];
    dd_softmax_xent_backward(dlogits, n->probs, n->labels, B, K);
    dd_dense_backward(ddrop, n->g_w2, n->g_b2, dlogits, n->drop, n->w2, B, H1, K);
    dd_dropout_backward(dh1, ddrop, n->mask, B * H1);
    dd_dense_backward(dpool, n->g_w1, n->g_b1, dh1, n->pool, n->w1, B, FLAT, H1);
    dd_maxpool_backward(drelu, dpool, n->argmax, B, C1, IH, IW, PH, PW);
    dd_relu_backward(dbn, drelu, n->relu, N_CONV);
    dd_batchnorm_backward(dconv, n->g_gamma, n->g_beta, dbn, n->conv, n->gamma, n->bn_mean, n->bn_inv_std, B, C1,
                          IH * IW);
    dd_conv2d_backward(n->g_in, n->g_conv_w, n->g_conv_b, dconv, n->in, n->conv_w, &n->d, n->scratch);
}

static double loss_fn(void *p) { return forward(p); }

/* The loss sees the ReLUs only through the pool winners, so the pass is on the same smooth piece as the
 * unperturbed one when the winners are the same and each winner's ReLU is on the same side. */
static int same_pattern(void *p) {
    net *n = p;
    if (memcmp(n->argmax, n->argmax0, sizeof n->argmax) != 0) return 0;
    for (int plane = 0; plane < B * C1; plane++)
        for (int o = 0; o < PH * PW; o++) {
            int i = plane * IH * IW + n->argmax[plane * PH * PW + o];
            if ((n->bn[i] > 0.0f) != n->relu_on0[i]) return 0;
        }
    return 1;
}

static dd_rng rng;

static void fill(float *x, size_t count, float lo, float hi) {
    for (size_t i = 0; i < count; i++) x[i] = lo + (hi - lo) * (float)dd_rng_uniform(&rng);
}

static double worst;
static size_t total_checked, total_skipped;

static void check_tensor(net *n, const char *what, float *p, const float *g, size_t count) {
    gc_result r = gc_check(what, loss_fn, same_pattern, n, p, g, count, EPS, TOL, MAX_COORDS, &rng);
    size_t tried = r.checked + r.skipped;
    CHECK(r.failed == 0, "%s: %zu coordinates off (max error %.3g)", what, r.failed, r.max_err);
    CHECK(r.checked >= tried * 3 / 4 && r.checked > 0, "%s: %zu of %zu coordinates skipped at kinks", what, r.skipped,
          tried);
    if (r.max_err > worst) worst = r.max_err;
    total_checked += r.checked, total_skipped += r.skipped;
}

int main(void) {
    dd_rng_seed(&rng, 31337);
    net *n = calloc(1, sizeof *n);
    if (!n) return 1;
    CHECK(dd_conv2d_dims_init(&n->d, B, IC, IH, IW, C1, K1, K1, 1, 1) == 0 && n->d.out_h == IH && n->d.out_w == IW,
          "conv dims");
    CHECK(dd_maxpool_out_size(IH, POOL, POOL) == PH && dd_maxpool_out_size(IW, POOL, POOL) == PW, "pool dims");
    n->scratch = calloc(dd_conv2d_scratch_size(&n->d), sizeof *n->scratch);
    if (!n->scratch) return 1;

    /* Keras-like initialisation; larger biases than Keras' zeros so their gradients are exercised */
    dd_glorot_uniform(n->conv_w, C1 * IC * K1 * K1, IC * K1 * K1, C1 * K1 * K1, &rng);
    dd_glorot_uniform(n->w1, H1 * FLAT, FLAT, H1, &rng);
    dd_glorot_uniform(n->w2, K * H1, H1, K, &rng);
    fill(n->conv_b, C1, -0.5f, 0.5f), fill(n->b1, H1, -0.5f, 0.5f), fill(n->b2, K, -0.5f, 0.5f);
    fill(n->gamma, C1, 0.5f, 1.5f), fill(n->beta, C1, -0.5f, 0.5f);
    fill(n->in, N_IN, 0.0f, 1.0f); /* pixel-like */
    for (int i = 0; i < C1; i++) n->running_var[i] = 1.0f;
    for (int b = 0; b < B; b++) n->labels[b] = (int32_t)dd_rng_below(&rng, K);

    double loss = forward(n);
    CHECK(fabs(loss - n->loss_f) < 1e-6 * fmax(1.0, loss), "double loss %.9g vs dd_softmax_xent_forward %.9g", loss,
          n->loss_f);
    CHECK(loss > 0.5 && loss < 5.0, "a fresh network's loss is about log(%d): %g", K, loss);
    for (int i = 0; i < N_CONV; i++) n->relu_on0[i] = n->bn[i] > 0.0f;
    memcpy(n->argmax0, n->argmax, sizeof n->argmax);
    backward(n);

    check_tensor(n, "input", n->in, n->g_in, N_IN);
    check_tensor(n, "conv.weight", n->conv_w, n->g_conv_w, C1 * IC * K1 * K1);
    check_tensor(n, "bn.gamma", n->gamma, n->g_gamma, C1);
    check_tensor(n, "bn.beta", n->beta, n->g_beta, C1);
    check_tensor(n, "dense1.weight", n->w1, n->g_w1, H1 * FLAT);
    check_tensor(n, "dense1.bias", n->b1, n->g_b1, H1);
    check_tensor(n, "dense2.weight", n->w2, n->g_w2, K * H1);
    check_tensor(n, "dense2.bias", n->b2, n->g_b2, K);

    /* A bias before BatchNorm shifts a whole channel, which the batch mean takes out again: its gradient is 0 both
     * analytically and numerically (up to float noise), so it is checked as such rather than relative to itself. */
    for (int c = 0; c < C1; c++) {
        float saved = n->conv_b[c];
        n->conv_b[c] = saved + (float)EPS;
        double lp = forward(n);
        n->conv_b[c] = saved - (float)EPS;
        double lm = forward(n);
        n->conv_b[c] = saved;
        double num = (lp - lm) / (2 * EPS);
        CHECK(fabs(n->g_conv_b[c]) < 1e-6 && fabs(num) < 1e-4, "conv.bias[%d]: analytic %g numeric %g", c,
              n->g_conv_b[c], num);
    }
    forward(n);

    /* the same mask on every pass, and it drops something */
    int dropped = 0;
    for (int i = 0; i < B * H1; i++) dropped += n->mask[i] == 0.0f;
    CHECK(dropped > 0 && dropped < B * H1, "dropout mask drops %d of %d", dropped, B * H1);

    printf("net gradcheck: eps %g, tolerance %g, %zu coordinates checked, %zu skipped at kinks, max relative error "
           "%.2e\n",
           EPS, TOL, total_checked, total_skipped, worst);
    free(n->scratch);
    free(n);
    return test_finish("test_net_gradcheck");
}
