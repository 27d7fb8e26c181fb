/* [globalavgpool] (Keras' GlobalAveragePooling2D), the layer added through the op table (src/nn/op_globalavgpool.c):
 * its reference kernels against sums in double and central differences; a network using it through the model API
 * (conv -> BatchNorm -> ReLU -> global average pooling -> dense) against central differences for every parameter
 * tensor and, through the inference function, for the input (explanations); the same network against PyTorch
 * (nn.AdaptiveAvgPool2d(1) + flatten; tests/data/make_torch_gap_reference.py) on two real drawings at 1 and 3
 * threads; its cfg section, errors and Keras summary row; models/examples/doodle28_gap.cfg parses. */
#define _POSIX_C_SOURCE 200809L /* open_memstream */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "doodle/layers.h"
#include "doodle/model.h"
#include "gradcheck.h"
#include "testutil.h"

#ifndef DOODLE_TEST_DATA
#define DOODLE_TEST_DATA "tests/data"
#endif

static dd_rng rng;

static void fill_uniform(float *x, size_t n, float lo, float hi) {
    for (size_t i = 0; i < n; i++) x[i] = lo + (hi - lo) * (float)dd_rng_uniform(&rng);
}

/* ---- the reference kernels ---- */

enum { KB = 3, KC = 4, KS = 5 * 7 };
typedef struct kernel_case {
    float in[KB * KC * KS], out[KB * KC], r[KB * KC], din[KB * KC * KS];
} kernel_case;

static double kernel_loss(void *ctx) { /* sum(out * r) */
    kernel_case *k = ctx;
    dd_globalavgpool_forward(k->out, k->in, KB, KC, KS);
    double sum = 0;
    for (int i = 0; i < KB * KC; i++) sum += (double)k->out[i] * k->r[i];
    return sum;
}

static void test_kernels(void) {
    kernel_case *k = calloc(1, sizeof *k);
    if (!k) exit(1);
    fill_uniform(k->in, KB * KC * KS, -2, 3);
    fill_uniform(k->r, KB * KC, -1, 1);
    dd_globalavgpool_forward(k->out, k->in, KB, KC, KS);
    double worst = 0;
    for (int p = 0; p < KB * KC; p++) {
        double sum = 0;
        for (int q = 0; q < KS; q++) sum += k->in[p * KS + q];
        worst = fmax(worst, fabs(k->out[p] - sum / KS));
    }
    CHECK(worst < 1e-6, "forward is not the channel mean: off by %g", worst);
    dd_globalavgpool_backward(k->din, k->r, KB, KC, KS);
    int off = 0;
    for (int p = 0; p < KB * KC; p++)
        for (int q = 0; q < KS; q++) off += k->din[p * KS + q] != k->r[p] / (float)KS;
    CHECK(off == 0, "backward: %d of %d input gradients are not their channel's gradient / %d", off, KB * KC * KS, KS);
    gc_result r =
        gc_check("globalavgpool din", kernel_loss, NULL, k, k->in, k->din, KB * KC * KS, 1e-2, 1e-3, 60, &rng);
    CHECK(r.failed == 0 && r.checked == 60, "kernel gradient: %zu of %zu off (max error %.3g)", r.failed, r.checked,
          r.max_err);
    free(k);
}

/* ---- a network using it, through the model API ---- */

static const char net_cfg[] = "[net]\ninput = 6x5x2\nclasses = 3\n"
                              "[conv2d]\nfilters = 4\nkernel = 3\npadding = same\n"
                              "[batchnorm]\n[activation]\ntype = relu\n"
                              "[globalavgpool]\n"
                              "[dense]\nunits = classes\n";
enum { NB = 3, NIN = 6 * 5 * 2, NRELU = 6 * 5 * 4, NK = 3 };
#define NET_EPS 2e-3 /* small: 360 ReLUs after a BatchNorm, and a step across any one of them is skipped */

typedef struct net_case {
    dd_model *m;
    dd_workspace *ws;
    float x[NB * NIN], r[NB * NK];
    int32_t labels[NB];
    unsigned char pattern[NB * NRELU];
    int infer; /* 1: the loss is sum(logits * r) of the inference function */
} net_case;

static const float *run(net_case *n) {
    dd_rng drop;
    dd_rng_seed(&drop, 1);
    return n->infer ? dd_model_infer(n->m, n->ws, n->x, NB) : dd_model_forward_train(n->m, n->ws, n->x, NB, &drop);
}

/* The mean cross-entropy (training) or sum(logits * r) (inference), in double from the float logits. */
static double net_loss(void *ctx) {
    net_case *n = ctx;
    const float *z = run(n);
    double loss = 0;
    for (int b = 0; b < NB; b++) {
        if (n->infer) {
            for (int k = 0; k < NK; k++) loss += (double)z[b * NK + k] * n->r[b * NK + k];
            continue;
        }
        double mx = z[b * NK], s = 0;
        for (int k = 1; k < NK; k++) mx = fmax(mx, z[b * NK + k]);
        for (int k = 0; k < NK; k++) s += exp(z[b * NK + k] - mx);
        loss += log(s) + mx - z[b * NK + n->labels[b]];
    }
    return n->infer ? loss : loss / NB;
}

static void save_pattern(net_case *n) {
    const float *a = dd_workspace_layer_output(n->ws, 2);
    for (int i = 0; i < NB * NRELU; i++) n->pattern[i] = a[i] > 0;
}

static int same_pattern(void *ctx) { /* no ReLU crossed 0 */
    net_case *n = ctx;
    const float *a = dd_workspace_layer_output(n->ws, 2);
    for (int i = 0; i < NB * NRELU; i++)
        if ((a[i] > 0) != n->pattern[i]) return 0;
    return 1;
}

static void check_gc(const char *what, net_case *n, float *p, const float *g, size_t count) {
    gc_result r = gc_check(what, net_loss, same_pattern, n, p, g, count, NET_EPS, 1e-2, 60, &rng);
    size_t tried = r.checked + r.skipped;
    CHECK(r.failed == 0, "%s: %zu coordinates off (max error %.3g)", what, r.failed, r.max_err);
    CHECK(r.checked > 0 && r.checked >= tried * 3 / 4, "%s: %zu of %zu skipped at kinks", what, r.skipped, tried);
}

static void test_net_gradients(void) {
    dd_error err;
    dd_model_spec *spec = dd_model_spec_parse(net_cfg, strlen(net_cfg), "gap.cfg", "gap", NULL, &err);
    CHECK(spec, "%s", err.msg);
    if (!spec) return;
    net_case *n = calloc(1, sizeof *n);
    if (!n) exit(1);
    n->m = dd_model_new(spec, 7, &err);
    n->ws = n->m ? dd_workspace_new(n->m, NB, true, &err) : NULL;
    CHECK(n->ws, "%s", err.msg);
    if (!n->ws) goto done;
    fill_uniform(n->x, NB * NIN, 0, 1);
    fill_uniform(n->r, NB * NK, -1, 1);
    for (int b = 0; b < NB; b++) n->labels[b] = b % NK;
    const dd_model_spec *s = n->m->spec;
    /* biases away from Keras' zeros, so their gradients are exercised; the running statistics away from 0 and 1 */
    for (int i = 0; i < s->n_layers; i++) {
        const dd_layer_spec *l = &s->layers[i];
        fill_uniform(n->m->params + l->bias.offset, l->bias.count, -0.3f, 0.3f);
        fill_uniform(n->m->state + l->running_mean.offset, l->running_mean.count, -0.2f, 0.2f);
        fill_uniform(n->m->state + l->running_var.offset, l->running_var.count, 0.5f, 1.5f);
    }
    /* training: every parameter tensor */
    float *grads = calloc(s->n_params, sizeof *grads);
    run(n);
    save_pattern(n);
    dd_model_backward(n->m, n->ws, n->labels, NB, grads);
    for (int i = 0; i < s->n_layers; i++) {
        const dd_layer_spec *l = &s->layers[i];
        char what[96];
        snprintf(what, sizeof what, "%s.weight", l->name);
        if (l->weight.count)
            check_gc(what, n, n->m->params + l->weight.offset, grads + l->weight.offset, l->weight.count);
        snprintf(what, sizeof what, "%s.bias", l->name);
        if (l->bias.count && l->kind != DD_LAYER_CONV2D) /* a conv bias before BatchNorm has no effect */
            check_gc(what, n, n->m->params + l->bias.offset, grads + l->bias.offset, l->bias.count);
    }
    /* explanations: the input gradient of the inference function, through the pooling's backward-to-input */
    n->infer = 1;
    float dx[NB * NIN];
    run(n);
    save_pattern(n);
    CHECK(dd_model_backward_infer(n->m, n->ws, n->r, NB, -1, dx) == 0);
    check_gc("input (inference)", n, n->x, dx, NB * NIN);
    /* and stopping at the pooling's output: the dense layer's weights times r */
    float dgap[NB * 4];
    CHECK(dd_model_backward_infer(n->m, n->ws, n->r, NB, 3, dgap) == 0);
    const dd_layer_spec *dense = &s->layers[4];
    for (int b = 0; b < NB; b++)
        for (int c = 0; c < 4; c++) {
            double want = 0;
            for (int k = 0; k < NK; k++)
                want += (double)n->r[b * NK + k] * n->m->params[dense->weight.offset + k * 4 + c];
            CHECK(fabs(dgap[b * 4 + c] - want) < 1e-5, "gradient at the pooling's output [%d][%d]: %g, not %g", b, c,
                  dgap[b * 4 + c], want);
        }
    free(grads);
done:
    dd_workspace_free(n->ws);
    dd_model_free(n->m);
    free(n);
}

/* ---- against PyTorch ---- */

static const char torch_cfg[] = "[net]\ninput = 28x28x1\nclasses = 5\n"
                                "[conv2d]\nfilters = 8\nkernel = 3\npadding = same\nbias = 0\n"
                                "[batchnorm]\n[activation]\ntype = relu\n[maxpool]\nsize = 2\n"
                                "[conv2d]\nfilters = 16\nkernel = 3\npadding = same\nactivation = relu\n"
                                "[globalavgpool]\n"
                                "[dense]\nunits = classes\n";

/* value[i] = offset + scale * sin(0.37 i + 1.3 k), |sin| when absolute: the script's formula */
static void formula(float *dst, size_t n, int k, double scale, double offset, int absolute) {
    for (size_t i = 0; i < n; i++) {
        double s = sin(0.37 * (double)i + 1.3 * k);
        dst[i] = (float)(offset + scale * (absolute ? fabs(s) : s));
    }
}

static void torch_fill(dd_model *m) {
    int k = 0;
    for (int i = 0; i < m->spec->n_layers; i++) {
        const dd_layer_spec *l = &m->spec->layers[i];
        float *P = m->params, *S = m->state;
        if (l->kind == DD_LAYER_CONV2D || l->kind == DD_LAYER_DENSE) {
            size_t fan_in = l->weight.count / (size_t)l->out.c;
            formula(P + l->weight.offset, l->weight.count, k, 1 / sqrt((double)fan_in), 0, 0);
            formula(P + l->bias.offset, l->bias.count, k + 1, 0.1, 0, 0);
            k += 2;
        } else if (l->kind == DD_LAYER_BATCHNORM) {
            formula(P + l->weight.offset, l->weight.count, k, 0.1, 1, 0);
            formula(P + l->bias.offset, l->bias.count, k + 1, 0.1, 0, 0);
            formula(S + l->running_mean.offset, l->running_mean.count, k + 2, 0.05, 0, 0);
            formula(S + l->running_var.offset, l->running_var.count, k + 3, 0.5, 1, 1);
            k += 4;
        }
    }
}

/* The worst error of got[n] against reference tensor name, relative to the tensor's largest magnitude. */
static double compare(const dd_st_file *ref, const char *name, const float *got, size_t n) {
    const dd_st_tensor *t = dd_st_find(ref, name);
    CHECK(t && t->dtype == DD_ST_F32 && t->nbytes == n * sizeof(float), "reference tensor %s missing or wrong size",
          name);
    if (!t || t->nbytes != n * sizeof(float)) return INFINITY;
    float *want = malloc(t->nbytes);
    memcpy(want, t->data, t->nbytes);
    double scale = 1e-6, worst = 0;
    for (size_t i = 0; i < n; i++) scale = fmax(scale, fabs(want[i]));
    for (size_t i = 0; i < n; i++) worst = fmax(worst, fabs((double)got[i] - want[i]) / scale);
    free(want);
    CHECK(worst <= 1e-4, "%s differs from PyTorch by %.3g (relative to its largest value)", name, worst);
    return worst;
}

static void test_torch(int threads) {
    char path[512];
    const char *dir = getenv("DOODLE_TORCH_REFERENCE_DIR");
    snprintf(path, sizeof path, "%s/torch_gap.safetensors", dir && *dir ? dir : DOODLE_TEST_DATA);
    dd_error err;
    dd_st_file *ref = dd_st_open(path, &err);
    CHECK(ref, "%s", err.msg);
    dd_model_spec *spec = dd_model_spec_parse(torch_cfg, strlen(torch_cfg), "torch_gap.cfg", "gap", NULL, &err);
    CHECK(spec, "%s", err.msg);
    dd_model *m = spec ? dd_model_new(spec, 1, &err) : NULL;
    dd_workspace *ws = m ? dd_workspace_new(m, 2, true, &err) : NULL;
    CHECK(ws && dd_workspace_set_threads(ws, threads, &err) == 0, "%s", err.msg);
    const dd_st_tensor *input = ref ? dd_st_find(ref, "input") : NULL;
    CHECK(input && input->nbytes == 2 * 28 * 28 * sizeof(float), "reference input");
    float *grads = m ? calloc(m->spec->n_params, sizeof *grads) : NULL;
    if (!ws || !input || !grads) goto done;
    torch_fill(m);
    float x[2 * 28 * 28];
    memcpy(x, input->data, sizeof x);
    int32_t labels[2] = {3, 1};
    dd_rng r;
    dd_rng_seed(&r, 1);
    double worst = compare(ref, "logits_train", dd_model_forward_train(m, ws, x, 2, &r), 10);
    float loss = dd_model_backward(m, ws, labels, 2, grads), want_loss;
    memcpy(&want_loss, dd_st_find(ref, "loss")->data, 4);
    CHECK(fabsf(loss - want_loss) <= 1e-4f * fmaxf(1, fabsf(want_loss)), "loss %.7g vs PyTorch %.7g", loss, want_loss);
    int compared = 0;
    for (int i = 0; i < m->spec->n_layers; i++) {
        const dd_layer_spec *l = &m->spec->layers[i];
        char name[128];
        const char *suffix[2] = {"weight", "bias"};
        const dd_slot slot[2] = {l->weight, l->bias};
        for (int k = 0; k < 2; k++) {
            if (!slot[k].count) continue;
            snprintf(name, sizeof name, "%s.%s.grad", l->name, suffix[k]);
            worst = fmax(worst, compare(ref, name, grads + slot[k].offset, slot[k].count));
            compared++;
        }
        if (l->kind == DD_LAYER_BATCHNORM) {
            snprintf(name, sizeof name, "%s.running_mean", l->name);
            worst = fmax(worst, compare(ref, name, m->state + l->running_mean.offset, l->running_mean.count));
            snprintf(name, sizeof name, "%s.running_var", l->name);
            worst = fmax(worst, compare(ref, name, m->state + l->running_var.offset, l->running_var.count));
        }
    }
    CHECK(compared == 7, "%d gradients compared, not 7", compared);
    dd_workspace *infer = dd_workspace_new(m, 2, false, &err); /* folds the BatchNorm into the conv */
    CHECK(infer && dd_workspace_set_threads(infer, threads, &err) == 0, "%s", err.msg);
    if (infer) worst = fmax(worst, compare(ref, "logits_eval", dd_model_infer(m, infer, x, 2), 10));
    dd_workspace_free(infer);
    printf("globalavgpool net, %d thread%s: logits, loss, %d gradients and running statistics within %.2g of "
           "PyTorch\n",
           threads, threads == 1 ? "" : "s", compared, worst);
done:
    free(grads);
    dd_workspace_free(ws);
    dd_model_free(m);
    dd_st_close(ref);
}

/* ---- the cfg section, its errors, the summary, the example ---- */

static void test_cfg(void) {
    dd_error err;
    static const char *const bad[][2] = {
        {"[net]\ninput = 8x8x1\nclasses = 2\n[flatten]\n[globalavgpool]\n[dense]\nunits = classes\n",
         "[globalavgpool] needs an image input"},
        {"[net]\ninput = 8x8x1\nclasses = 2\n[globalavgpool]\nsize = 2\n[dense]\nunits = classes\n",
         "[globalavgpool] unknown key 'size' (its keys: name)"},
        {"[net]\ninput = 8x8x1\nclasses = 2\n[global_avgpool]\n", "sections: net, conv2d, batchnorm, activation, "
                                                                  "maxpool, flatten, dense, dropout, globalavgpool"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        dd_model_spec *s = dd_model_spec_parse(bad[i][0], strlen(bad[i][0]), "bad.cfg", NULL, NULL, &err);
        CHECK(!s && strstr(err.msg, bad[i][1]), "bad cfg %zu: %s", i, s ? "accepted" : err.msg);
        dd_model_spec_free(s);
    }
    char path[512];
    snprintf(path, sizeof path, "%s/../../models/examples/doodle28_gap.cfg", DOODLE_TEST_DATA);
    dd_model_spec *s = dd_model_spec_load(path, &(dd_spec_overrides){.classes = 5}, &err);
    CHECK(s, "%s", err.msg);
    if (!s) return;
    int gap = -1;
    for (int i = 0; i < s->n_layers; i++)
        if (s->layers[i].kind == DD_LAYER_GLOBALAVGPOOL) gap = i;
    CHECK(gap > 0 && s->layers[gap].in.rank == 3 && s->layers[gap].out.rank == 1 &&
              s->layers[gap].out.c == s->layers[gap].in.c && s->layers[gap].n_trainable == 0,
          "doodle28_gap: its pooling layer");
    CHECK(s->layers[s->n_layers - 1].out.c == 5, "doodle28_gap: classes override");
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) exit(1);
    dd_model_spec_summary(s, f);
    fclose(f);
    /* Keras 2.x cuts the class name at the column's width and goes on on the next line */
    CHECK(strstr(text, " global_average_pooling2d (G  (None, 128)              0         \n"
                       " lobalAveragePooling2D)                                          \n"),
          "summary:\n%s", text);
    free(text);
    dd_model_spec_free(s);
}

int main(void) {
    dd_rng_seed(&rng, 4242);
    test_kernels();
    test_net_gradients();
    for (int threads = 1; threads <= 3; threads += 2) test_torch(threads);
    test_cfg();
    return test_finish("test_globalavgpool");
}
