/* Optimizers and schedules: Adam against the Keras formula evaluated in double, SGD momentum (plain and Nesterov)
 * against hand-unrolled steps, decoupled weight decay only where the mask says, convergence on a quadratic, and
 * the schedules' shapes. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "doodle/model.h"
#include "doodle/model_spec.h"
#include "doodle/optim.h"
#include "testutil.h"

#define N 5

static void test_adam_matches_keras_formula(void) {
    dd_optimizer o;
    dd_error err;
    CHECK(dd_optimizer_init(&o, DD_OPT_ADAM, N, &err) == 0);
    CHECK(o.beta1 == 0.9f && o.beta2 == 0.999f && o.epsilon == 1e-7f, "Keras defaults");
    float p[N] = {1, -2, 0.5f, 3, 0};
    double rp[N], rm[N] = {0}, rv[N] = {0};
    for (int i = 0; i < N; i++) rp[i] = p[i];
    for (int t = 1; t <= 50; t++) {
        float g[N];
        for (int i = 0; i < N; i++) g[i] = (float)(p[i] - (i - 2) + 0.1 * sin(t + i)); /* a moving target */
        dd_optimizer_step(&o, p, g, NULL, 0.01f);
        double lr_t = 0.01 * sqrt(1 - pow(0.999, t)) / (1 - pow(0.9, t));
        for (int i = 0; i < N; i++) {
            double gd = g[i];
            rm[i] = 0.9 * rm[i] + 0.1 * gd;
            rv[i] = 0.999 * rv[i] + 0.001 * gd * gd;
            rp[i] -= lr_t * rm[i] / (sqrt(rv[i]) + 1e-7);
        }
        /* the reference follows the float trajectory's gradients, so only rounding separates them */
        for (int i = 0; i < N; i++) CHECK(fabs(p[i] - rp[i]) < 1e-5, "step %d p[%d] %g vs %g", t, i, p[i], rp[i]);
    }
    CHECK(o.step == 50);
    dd_optimizer_free(&o);
}

static void test_adam_first_step_and_convergence(void) {
    dd_optimizer o;
    CHECK(dd_optimizer_init(&o, DD_OPT_ADAM, 1, NULL) == 0);
    float p = 10, g = 4;
    dd_optimizer_step(&o, &p, &g, NULL, 0.1f);
    CHECK(fabsf(p - 9.9f) < 1e-5f, "Adam's first step is lr * sign(g): %g", p); /* m/sqrt(v) = 1 after correction */
    for (int t = 0; t < 3000; t++) {
        g = p - 3; /* gradient of (p - 3)^2 / 2 */
        dd_optimizer_step(&o, &p, &g, NULL, 0.01f);
    }
    CHECK(fabsf(p - 3) < 1e-2f, "Adam did not converge: %g", p);
    dd_optimizer_free(&o);
}

static void test_sgd(int nesterov) {
    dd_optimizer o;
    CHECK(dd_optimizer_init(&o, DD_OPT_SGD, 1, NULL) == 0);
    o.momentum = 0.5f;
    o.nesterov = nesterov;
    float p = 1, g1 = 2, g2 = -1, g3 = 4;
    /* v1 = 2; v2 = 0.5*2 - 1 = 0; v3 = 0 + 4 = 4 */
    float want = 1;
    dd_optimizer_step(&o, &p, &g1, NULL, 0.1f);
    want -= 0.1f * (nesterov ? 2 + 0.5f * 2 : 2);
    CHECK(fabsf(p - want) < 1e-6f, "sgd step 1: %g vs %g", p, want);
    dd_optimizer_step(&o, &p, &g2, NULL, 0.1f);
    want -= 0.1f * (nesterov ? -1 + 0.5f * 0 : 0);
    CHECK(fabsf(p - want) < 1e-6f, "sgd step 2: %g vs %g", p, want);
    dd_optimizer_step(&o, &p, &g3, NULL, 0.1f);
    want -= 0.1f * (nesterov ? 4 + 0.5f * 4 : 4);
    CHECK(fabsf(p - want) < 1e-6f, "sgd step 3: %g vs %g", p, want);
    dd_optimizer_free(&o);
}

static void test_weight_decay_mask(void) {
    for (int kind = 0; kind < 2; kind++) {
        dd_optimizer o;
        CHECK(dd_optimizer_init(&o, (dd_opt_kind)kind, 2, NULL) == 0);
        o.weight_decay = 0.5f;
        float p[2] = {2, 2}, g[2] = {0, 0};
        uint8_t mask[2] = {1, 0};
        dd_optimizer_step(&o, p, g, mask, 0.1f);
        CHECK(fabsf(p[0] - 2 * (1 - 0.05f)) < 1e-6f && p[1] == 2, "%s: decay %g %g", kind ? "sgd" : "adam", p[0], p[1]);
        dd_optimizer_free(&o);
    }
}

static void test_schedules(void) {
    dd_schedule c = {.kind = DD_SCHEDULE_COSINE, .base_lr = 1, .min_lr = 0.1f, .total_epochs = 10, .warmup_epochs = 2};
    CHECK(fabsf(dd_schedule_lr(&c, 0)) < 1e-7f && fabsf(dd_schedule_lr(&c, 1) - 0.5f) < 1e-6f, "warm-up is linear");
    CHECK(fabsf(dd_schedule_lr(&c, 2) - 1) < 1e-6f, "peak after warm-up");
    CHECK(fabsf(dd_schedule_lr(&c, 6) - 0.55f) < 1e-6f, "cosine midpoint");
    CHECK(fabsf(dd_schedule_lr(&c, 10) - 0.1f) < 1e-6f && fabsf(dd_schedule_lr(&c, 20) - 0.1f) < 1e-6f, "floor");
    for (double e = 2; e < 10; e += 0.25)
        CHECK(dd_schedule_lr(&c, e + 0.25) <= dd_schedule_lr(&c, e), "not decreasing at %g", e);
    dd_schedule s = {.kind = DD_SCHEDULE_STEP, .base_lr = 0.8f, .gamma = 0.5f, .step_epochs = 3};
    CHECK(dd_schedule_lr(&s, 2.9) == 0.8f && dd_schedule_lr(&s, 3) == 0.4f && dd_schedule_lr(&s, 6.5) == 0.2f);
    dd_schedule k = {.kind = DD_SCHEDULE_CONSTANT, .base_lr = 0.3f};
    CHECK(dd_schedule_lr(&k, 0) == 0.3f && dd_schedule_lr(&k, 100) == 0.3f);
    CHECK(dd_schedule_kind_parse("cosine") == DD_SCHEDULE_COSINE && dd_schedule_kind_parse("x") == -1);
    CHECK(dd_opt_kind_parse("sgd") == DD_OPT_SGD && dd_opt_kind_parse("adamw") == -1);
}

/* --weight-decay with Adam is AdamW: against PyTorch's torch.optim.AdamW update written out in double (decay
 * p *= 1 - lr * wd first, then p -= lr / bc1 * m / (sqrt(v / bc2) + eps)); with gradients well above epsilon the
 * Keras epsilon form and PyTorch's differ by rounding alone. Masked entries take the plain Adam step. */
static void test_adamw_matches_pytorch_formula(void) {
    dd_optimizer o;
    CHECK(dd_optimizer_init(&o, DD_OPT_ADAM, N, NULL) == 0);
    o.weight_decay = 0.05f;
    const uint8_t mask[N] = {1, 1, 0, 1, 0};
    float p[N] = {1, -2, 0.5f, 3, -1};
    double rp[N], rm[N] = {0}, rv[N] = {0};
    const double lr = 0.01, wd = 0.05, b1 = 0.9, b2 = 0.999, eps = 1e-7;
    for (int i = 0; i < N; i++) rp[i] = p[i];
    for (int t = 1; t <= 40; t++) {
        float g[N];
        for (int i = 0; i < N; i++) g[i] = (float)(0.5 + p[i] - i + 0.2 * cos(t * (i + 1)));
        dd_optimizer_step(&o, p, g, mask, (float)lr);
        double bc1 = 1 - pow(b1, t), bc2 = 1 - pow(b2, t);
        for (int i = 0; i < N; i++) {
            if (mask[i]) rp[i] *= 1 - lr * wd;
            rm[i] = b1 * rm[i] + (1 - b1) * g[i];
            rv[i] = b2 * rv[i] + (1 - b2) * (double)g[i] * g[i];
            rp[i] -= lr / bc1 * rm[i] / (sqrt(rv[i] / bc2) + eps);
        }
        for (int i = 0; i < N; i++) CHECK(fabs(p[i] - rp[i]) < 2e-5, "step %d p[%d] %g vs %g", t, i, p[i], rp[i]);
    }
    /* the decay made a difference where it applies: without it, entry 0 ends elsewhere */
    dd_optimizer plain;
    CHECK(dd_optimizer_init(&plain, DD_OPT_ADAM, N, NULL) == 0);
    float q[N] = {1, -2, 0.5f, 3, -1};
    for (int t = 1; t <= 40; t++) {
        float g[N];
        for (int i = 0; i < N; i++) g[i] = (float)(0.5 + q[i] - i + 0.2 * cos(t * (i + 1)));
        dd_optimizer_step(&plain, q, g, mask, (float)lr);
    }
    CHECK(fabsf(q[0] - p[0]) > 1e-4f, "weight decay changed nothing: %g vs %g", q[0], p[0]);
    dd_optimizer_free(&plain);
    dd_optimizer_free(&o);
}

/* dd_optimizer_step_ws on a workspace of 3 threads: the same bits as dd_optimizer_step (Adam; SGD, Nesterov). */
static void test_threads_same_bits(void) {
    dd_error err;
    dd_model_spec *spec = dd_model_spec_builtin("mnist28", NULL, &err);
    dd_model *m = spec ? dd_model_new(spec, 7, &err) : NULL;
    dd_workspace *ws = m ? dd_workspace_new(m, 1, true, &err) : NULL;
    CHECK(ws && dd_workspace_set_threads(ws, 3, &err) == 0, "a workspace of 3 threads");
    if (!ws) return;
    enum { n = 1001 };
    static float p1[n], p2[n], g[n];
    static uint8_t mask[n];
    for (int kind = 0; kind < 2; kind++) {
        dd_optimizer a, b;
        CHECK(dd_optimizer_init(&a, (dd_opt_kind)kind, n, NULL) == 0 &&
              dd_optimizer_init(&b, (dd_opt_kind)kind, n, NULL) == 0);
        a.weight_decay = b.weight_decay = 0.01f;
        a.nesterov = b.nesterov = 1;
        for (int i = 0; i < n; i++) p1[i] = p2[i] = sinf((float)i), mask[i] = (uint8_t)(i % 3 != 0);
        for (int s = 0; s < 3; s++) {
            for (int i = 0; i < n; i++) g[i] = cosf((float)(i * (s + 1)));
            dd_optimizer_step(&a, p1, g, mask, 0.01f);
            dd_optimizer_step_ws(&b, ws, p2, g, mask, 0.01f);
        }
        CHECK(!memcmp(p1, p2, sizeof p1) && !memcmp(a.m, b.m, sizeof p1) &&
                  (kind != DD_OPT_ADAM || !memcmp(a.v, b.v, sizeof p1)),
              "%s: 3 threads give the same bits as one", kind == DD_OPT_ADAM ? "adam" : "sgd");
        dd_optimizer_free(&a), dd_optimizer_free(&b);
    }
    dd_workspace_free(ws);
    dd_model_free(m);
}

int main(void) {
    test_adam_matches_keras_formula();
    test_adamw_matches_pytorch_formula();
    test_adam_first_step_and_convergence();
    test_sgd(0);
    test_sgd(1);
    test_weight_decay_mask();
    test_schedules();
    test_threads_same_bits();
    return test_finish("test_optim");
}
