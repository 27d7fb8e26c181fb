/* The recipe's pieces against overfitting (src/train/recipe.c, src/nn/softmax_xent.c): label smoothing's loss and
 * gradient against a hand computation and a finite difference, soft targets through a whole network's backward
 * against the plain loss, mixup's blend, Beta draws, and the weights' EMA against its recurrence. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "doodle/layers.h"
#include "doodle/model.h"
#include "doodle/model_spec.h"
#include "train/recipe.h"
#include "testutil.h"

#define B 3
#define K 4

static const float logits0[B * K] = {1.0f, -0.5f, 2.0f, 0.1f, 0.0f, 0.0f, 0.0f, 0.0f, -3.0f, 4.0f, 0.5f, 1.5f};
static const int32_t labels0[B] = {2, 1, 0};

static void test_smoothed_targets(void) {
    float t[B * K];
    recipe_smoothed_targets(t, labels0, B, K, 0.2f);
    for (int b = 0; b < B; b++) {
        double sum = 0;
        for (int k = 0; k < K; k++) {
            sum += t[b * K + k];
            CHECK(fabsf(t[b * K + k] - (k == labels0[b] ? 0.85f : 0.05f)) < 1e-7f, "row %d class %d: %g", b, k,
                  t[b * K + k]);
        }
        CHECK(fabs(sum - 1) < 1e-6, "row %d sums to %g", b, sum);
    }
    recipe_smoothed_targets(t, labels0, B, K, 0);
    for (int b = 0; b < B; b++)
        for (int k = 0; k < K; k++) CHECK(t[b * K + k] == (k == labels0[b] ? 1.0f : 0.0f), "e = 0 is one-hot");
}

/* The smoothed loss by hand: (1 - e) * CE(label) + e * mean over classes of -log p_k. */
static double hand_loss(const float *z, const int32_t *labels, double e) {
    double total = 0;
    for (int b = 0; b < B; b++) {
        double lse = 0;
        for (int k = 0; k < K; k++) lse += exp(z[b * K + k]);
        lse = log(lse);
        double mean_nll = 0;
        for (int k = 0; k < K; k++) mean_nll += (lse - z[b * K + k]) / K;
        total += (1 - e) * (lse - z[b * K + labels[b]]) + e * mean_nll;
    }
    return total / B;
}

static void test_soft_loss_and_gradient(void) {
    float t[B * K], probs[B * K], d[B * K];
    recipe_smoothed_targets(t, labels0, B, K, 0.1f);
    float loss = dd_softmax_xent_soft_forward(probs, logits0, t, B, K);
    CHECK(fabs(loss - hand_loss(logits0, labels0, 0.1)) < 1e-6, "loss %g vs hand %g", loss,
          hand_loss(logits0, labels0, 0.1));
    dd_softmax_xent_soft_backward(d, probs, t, B, K);
    for (int i = 0; i < B * K; i++) { /* central differences of the hand loss */
        float zp[B * K], zm[B * K];
        memcpy(zp, logits0, sizeof zp);
        memcpy(zm, logits0, sizeof zm);
        zp[i] += 1e-3f;
        zm[i] -= 1e-3f;
        double fd = (hand_loss(zp, labels0, 0.1) - hand_loss(zm, labels0, 0.1)) / 2e-3;
        CHECK(fabs(d[i] - fd) < 1e-4, "dlogit %d: %g vs finite difference %g", i, d[i], fd);
    }
    /* one-hot targets give the plain loss and gradient */
    float p2[B * K], d2[B * K];
    recipe_smoothed_targets(t, labels0, B, K, 0);
    float soft = dd_softmax_xent_soft_forward(probs, logits0, t, B, K);
    float hard = dd_softmax_xent_forward(p2, logits0, labels0, B, K);
    CHECK(fabsf(soft - hard) < 1e-6f, "one-hot soft loss %g vs %g", soft, hard);
    dd_softmax_xent_soft_backward(d, probs, t, B, K);
    dd_softmax_xent_backward(d2, p2, labels0, B, K);
    for (int i = 0; i < B * K; i++) CHECK(fabsf(d[i] - d2[i]) < 1e-7f, "one-hot dlogit %d %g vs %g", i, d[i], d2[i]);
}

/* Through a network: one-hot soft targets give dd_model_backward's gradients; smoothed ones other gradients. */
static void test_model_backward_soft(void) {
    dd_error err;
    dd_model_spec *spec = dd_model_spec_builtin("mnist28", &(dd_spec_overrides){.classes = K}, &err);
    CHECK(spec != NULL, "%s", err.msg);
    if (!spec) return;
    dd_model *m = dd_model_new(spec, 7, &err);
    dd_workspace *ws = m ? dd_workspace_new(m, B, true, &err) : NULL;
    CHECK(ws != NULL, "%s", err.msg);
    if (!ws) {
        dd_model_free(m);
        return;
    }
    size_t n = spec->n_params, px = 28 * 28;
    float *x = malloc(B * px * sizeof *x), *g1 = calloc(n, sizeof *g1), *g2 = calloc(n, sizeof *g2);
    float *g3 = calloc(n, sizeof *g3), t[B * K];
    for (size_t i = 0; i < B * px; i++) x[i] = (float)((i * 37 % 101) / 100.0);
    dd_rng rng;
    dd_rng_seed(&rng, 1);
    dd_model_forward_train(m, ws, x, B, &rng);
    float l1 = dd_model_backward(m, ws, labels0, B, g1);
    recipe_smoothed_targets(t, labels0, B, K, 0);
    float l2 = dd_model_backward_soft(m, ws, t, B, g2);
    recipe_smoothed_targets(t, labels0, B, K, 0.3f);
    float l3 = dd_model_backward_soft(m, ws, t, B, g3);
    CHECK(fabsf(l1 - l2) < 1e-6f, "one-hot soft loss %g vs %g", l2, l1);
    double diff12 = 0, diff13 = 0;
    for (size_t i = 0; i < n; i++) {
        diff12 = fmax(diff12, fabs(g1[i] - g2[i]));
        diff13 = fmax(diff13, fabs(g1[i] - g3[i]));
    }
    CHECK(diff12 < 1e-6, "one-hot soft gradients differ by %g", diff12);
    CHECK(diff13 > 1e-5 && l3 != l1, "smoothing changed nothing (%g, loss %g)", diff13, l3);
    free(x);
    free(g1);
    free(g2);
    free(g3);
    dd_workspace_free(ws);
    dd_model_free(m);
}

static void test_mixup(void) {
    enum { P = 5, N = 3 };
    float x[N * P], t[N * K], x0[N * P], t0[N * K];
    for (int i = 0; i < N * P; i++) x[i] = (float)i;
    int32_t labels[N] = {0, 3, 1};
    recipe_smoothed_targets(t, labels, N, K, 0);
    memcpy(x0, x, sizeof x);
    memcpy(t0, t, sizeof t);
    recipe_mixup(x, P, t, N, K, 0.7f);
    for (int i = 0; i < P; i++) {
        CHECK(fabsf(x[i] - (0.7f * x0[i] + 0.3f * x0[2 * P + i])) < 1e-5f, "first drawing blended with the last");
        CHECK(fabsf(x[2 * P + i] - (0.7f * x0[2 * P + i] + 0.3f * x0[i])) < 1e-5f, "last blended with the first");
        CHECK(x[P + i] == x0[P + i], "the middle of an odd batch is its own partner");
    }
    CHECK(fabsf(t[0] - 0.7f) < 1e-6f && fabsf(t[1] - 0.3f) < 1e-6f, "targets blended: %g %g", t[0], t[1]);
    CHECK(fabsf(t[2 * K + 1] - 0.7f) < 1e-6f && fabsf(t[2 * K + 0] - 0.3f) < 1e-6f, "the partner's targets");
    CHECK(t[K + 3] == 1.0f, "the middle's targets as they were");
}

static void test_beta(void) {
    dd_rng rng;
    dd_rng_seed(&rng, 42);
    for (int a = 0; a < 3; a++) {
        double alpha = a == 0 ? 0.2 : a == 1 ? 1.0 : 4.0, sum = 0, sq = 0;
        const int n = 20000;
        for (int i = 0; i < n; i++) {
            double v = recipe_beta(&rng, alpha);
            CHECK(v >= 0 && v <= 1, "Beta draw %g outside [0, 1]", v);
            sum += v;
            sq += v * v;
        }
        double mean = sum / n, var = sq / n - mean * mean, want = 1 / (4 * (2 * alpha + 1)); /* Beta(a, a) */
        CHECK(fabs(mean - 0.5) < 0.01, "Beta(%g) mean %g", alpha, mean);
        CHECK(fabs(var - want) < 0.1 * want, "Beta(%g) variance %g, want %g", alpha, var, want);
    }
}

static void test_ema(void) {
    CHECK(fabsf(recipe_ema_decay(0.999f, 1) - 2.0f / 11) < 1e-7f, "first step's decay");
    CHECK(recipe_ema_decay(0.999f, 100000) == 0.999f, "the decay once warmed up");
    float ema[2] = {1, -1}, p[2] = {3, 5};
    recipe_ema_update(ema, p, 2, 0.75f);
    CHECK(fabsf(ema[0] - 1.5f) < 1e-7f && fabsf(ema[1] - 0.5f) < 1e-7f, "ema %g %g", ema[0], ema[1]);
    /* many steps at a fixed point converge to it; the recurrence against double */
    float e = 0;
    double ref = 0;
    for (uint64_t s = 1; s <= 3000; s++) {
        float d = recipe_ema_decay(0.99f, s), target = 2.0f;
        recipe_ema_update(&e, &target, 1, d);
        ref = d * ref + (1 - (double)d) * 2.0;
    }
    CHECK(fabs(e - ref) < 1e-5 && fabs(e - 2) < 1e-4, "ema %g, double %g", e, ref);
    float a[3] = {1, 2, 3}, b[3] = {4, 5, 6};
    recipe_swap(a, b, 3);
    CHECK(a[0] == 4 && a[2] == 6 && b[0] == 1 && b[2] == 3, "swap");
}

int main(void) {
    test_smoothed_targets();
    test_soft_loss_and_gradient();
    test_model_backward_soft();
    test_mixup();
    test_beta();
    test_ema();
    return test_finish("test_recipe");
}
