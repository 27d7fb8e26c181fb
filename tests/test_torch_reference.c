/* The study's networks against PyTorch (../shared/peers/models.py) on the same weights and inputs: logits in
 * training and inference mode, the loss, every parameter gradient that was dumped, and the BatchNorm running
 * statistics after one training step. The reference files and the weight formula come from
 * tests/data/make_torch_reference.py, which writes into a folder it is given (the committed ones are in tests/data;
 * DOODLE_TORCH_REFERENCE_DIR checks against freshly made ones instead). Tolerance: 1e-4 relative to the largest
 * magnitude of each tensor. That a model file doodle wrote gives doodle's logits in PyTorch is tests/cli/to_torch.sh
 * (scripts/to_torch.py, run at test time: nothing is written into tests/data). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "doodle/model.h"
#include "testutil.h"

#ifndef DOODLE_TEST_DATA
#define DOODLE_TEST_DATA "tests/data"
#endif

/* value[i] = offset + scale * sin(0.37 i + 1.3 k), |sin| when absolute: the script's formula */
static void formula(float *dst, size_t n, int k, double scale, double offset, int absolute) {
    for (size_t i = 0; i < n; i++) {
        double s = sin(0.37 * (double)i + 1.3 * k);
        dst[i] = (float)(offset + scale * (absolute ? fabs(s) : s));
    }
}

static void fill(dd_model *m) {
    int k = 0;
    for (int i = 0; i < m->spec->n_layers; i++) {
        dd_layer_spec *l = &m->spec->layers[i];
        float *P = m->params, *S = m->state;
        if (l->kind == DD_LAYER_CONV2D || l->kind == DD_LAYER_DENSE) {
            size_t fan_in =
                l->weight.count / (size_t)(l->kind == DD_LAYER_CONV2D ? l->u.conv.filters : l->u.dense.units);
            formula(P + l->weight.offset, l->weight.count, k, 1 / sqrt((double)fan_in), 0, 0);
            formula(P + l->bias.offset, l->bias.count, k + 1, 0.1, 0, 0);
            k += 2;
        } else if (l->kind == DD_LAYER_BATCHNORM) {
            formula(P + l->weight.offset, l->weight.count, k, 0.1, 1, 0);
            formula(P + l->bias.offset, l->bias.count, k + 1, 0.1, 0, 0);
            formula(S + l->running_mean.offset, l->running_mean.count, k + 2, 0.05, 0, 0);
            formula(S + l->running_var.offset, l->running_var.count, k + 3, 0.5, 1, 1);
            k += 4;
        } else if (l->kind == DD_LAYER_DROPOUT) {
            l->u.dropout_rate = 0; /* as in the reference: deterministic */
        }
    }
}

static float max_abs(const float *x, size_t n) {
    float m = 0;
    for (size_t i = 0; i < n; i++) m = fmaxf(m, fabsf(x[i]));
    return m;
}

/* Compares got[n] with the reference tensor `name`; returns the worst error relative to the tensor's scale. */
static double compare(const dd_st_file *ref, const char *model, const char *name, const float *got, size_t n) {
    const dd_st_tensor *t = dd_st_find(ref, name);
    CHECK(t && t->dtype == DD_ST_F32 && t->nbytes == n * sizeof(float), "%s: reference tensor %s missing or wrong size",
          model, name);
    if (!t || t->nbytes != n * sizeof(float)) return INFINITY;
    float *want = malloc(t->nbytes);
    memcpy(want, t->data, t->nbytes);
    double scale = fmax(max_abs(want, n), 1e-6), worst = 0;
    for (size_t i = 0; i < n; i++) worst = fmax(worst, fabs((double)got[i] - want[i]) / scale);
    free(want);
    CHECK(worst <= 1e-4, "%s: %s differs from PyTorch by %.3g (relative to its largest value)", model, name, worst);
    return worst;
}

static void check_model(const char *name, int threads) {
    char path[512];
    const char *dir = getenv("DOODLE_TORCH_REFERENCE_DIR");
    snprintf(path, sizeof path, "%s/torch_%s.safetensors", dir && *dir ? dir : DOODLE_TEST_DATA, name);
    dd_error err;
    dd_st_file *ref = dd_st_open(path, &err);
    CHECK(ref, "%s", err.msg);
    dd_model_spec *spec = dd_model_spec_builtin(name, &(dd_spec_overrides){.classes = 5}, &err);
    CHECK(spec, "%s", err.msg);
    if (!ref || !spec) {
        dd_st_close(ref);
        dd_model_spec_free(spec);
        return;
    }
    dd_model *m = dd_model_new(spec, 1, &err);
    if (!m) return;
    fill(m);
    dd_workspace *ws = dd_workspace_new(m, 2, true, &err);
    CHECK(ws && dd_workspace_set_threads(ws, threads, &err) == 0, "%s", err.msg);
    float *grads = calloc(m->spec->n_params, sizeof *grads);
    const dd_st_tensor *input = dd_st_find(ref, "input");
    CHECK(input && input->nbytes == 2 * 66 * 100 * sizeof(float));
    if (!ws || !grads || !input) goto done;
    float *x = malloc(input->nbytes);
    memcpy(x, input->data, input->nbytes);
    int32_t labels[2] = {3, 1};
    dd_rng rng;
    dd_rng_seed(&rng, 1);
    const float *logits = dd_model_forward_train(m, ws, x, 2, &rng);
    CHECK(logits != NULL);
    double worst = compare(ref, name, "logits_train", logits, 10);
    float loss = dd_model_backward(m, ws, labels, 2, grads);
    const dd_st_tensor *ref_loss = dd_st_find(ref, "loss");
    float want_loss;
    memcpy(&want_loss, ref_loss->data, 4);
    CHECK(fabsf(loss - want_loss) <= 1e-4f * fmaxf(1, fabsf(want_loss)), "%s: loss %.7g vs PyTorch %.7g", name, loss,
          want_loss);
    int n_grads = 0;
    for (int i = 0; i < m->spec->n_layers; i++) {
        const dd_layer_spec *l = &m->spec->layers[i];
        const char *suffix[2] = {"weight", "bias"};
        const dd_slot slot[2] = {l->weight, l->bias};
        for (int k = 0; k < 2; k++) {
            char tname[128];
            snprintf(tname, sizeof tname, "%s.%s.grad", l->name, suffix[k]);
            if (!slot[k].count || !dd_st_find(ref, tname)) continue;
            if (k == 1 && i + 1 < m->spec->n_layers && m->spec->layers[i + 1].kind == DD_LAYER_BATCHNORM) {
                /* BatchNorm subtracts the mean, so a bias in front of it has no effect: its true gradient is 0 and
                 * both sides hold only rounding noise, which is what is checked */
                const dd_st_tensor *t = dd_st_find(ref, tname);
                float *want = malloc(t->nbytes);
                memcpy(want, t->data, t->nbytes);
                float g = max_abs(grads + slot[k].offset, slot[k].count), w = max_abs(want, slot[k].count);
                CHECK(g < 1e-5f && w < 1e-5f, "%s: %s should vanish: doodle %g, PyTorch %g", name, tname, g, w);
                free(want);
                n_grads++;
                continue;
            }
            worst = fmax(worst, compare(ref, name, tname, grads + slot[k].offset, slot[k].count));
            n_grads++;
        }
        if (l->kind == DD_LAYER_BATCHNORM) {
            char tname[128];
            snprintf(tname, sizeof tname, "%s.running_mean", l->name);
            worst = fmax(worst, compare(ref, name, tname, m->state + l->running_mean.offset, l->running_mean.count));
            snprintf(tname, sizeof tname, "%s.running_var", l->name);
            worst = fmax(worst, compare(ref, name, tname, m->state + l->running_var.offset, l->running_var.count));
        }
    }
    CHECK(n_grads >= (strcmp(name, "seed") ? 8 : 18), "%s: only %d gradients compared", name, n_grads);
    dd_workspace *infer = dd_workspace_new(m, 2, false, &err);
    if (infer && dd_workspace_set_threads(infer, threads, &err) == 0) {
        worst = fmax(worst, compare(ref, name, "logits_eval", dd_model_infer(m, infer, x, 2), 10));
        dd_workspace_free(infer);
    }
    printf("%s, %d thread%s: %d gradients, logits, loss and running statistics within %.2g of PyTorch\n", name, threads,
           threads == 1 ? "" : "s", n_grads, worst);
    free(x);
done:
    free(grads);
    dd_workspace_free(ws);
    dd_model_free(m);
    dd_st_close(ref);
}

int main(void) {
    /* 3 threads for a batch of 2: images split across threads, and one image's pixels too */
    for (int threads = 1; threads <= 3; threads += 2) {
        check_model("seed", threads);
        check_model("lenet", threads);
    }
    return test_finish("test_torch_reference");
}
