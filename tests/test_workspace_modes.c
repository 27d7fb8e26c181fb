/* The inference function run on a training workspace (as the explanations run it: dd_model_infer on a workspace made
 * with training = true, whose plan fuses differently) against the same function on an inference workspace: the
 * built-in networks' logits within 1e-4 (relative to the largest), on batches of 1 and 3, 1 and 2 threads, after a
 * training step has left its numbers in every buffer of the training workspace. */
#include <math.h>
#include <stdlib.h>

#include "doodle/model.h"
#include "doodle/model_spec.h"
#include "doodle/rng.h"
#include "testutil.h"

static void check(const char *name, int threads) {
    dd_error err;
    dd_model_spec *spec = dd_model_spec_builtin(name, NULL, &err);
    dd_model *m = spec ? dd_model_new(spec, 11, &err) : NULL;
    CHECK(m, "%s: a model", name);
    if (!m) return;
    enum { B = 3 };
    dd_workspace *train = dd_workspace_new(m, B, true, &err), *infer = dd_workspace_new(m, B, false, &err);
    CHECK(train && infer && dd_workspace_set_threads(train, threads, &err) == 0 &&
              dd_workspace_set_threads(infer, threads, &err) == 0,
          "%s: workspaces of %d threads", name, threads);
    size_t n_in = (size_t)dd_shape_count(m->spec->input), classes = (size_t)m->spec->classes;
    float *x = malloc(sizeof *x * n_in * B), *grads = calloc(m->spec->n_params, sizeof *grads);
    if (!x || !grads || !train || !infer) abort();
    dd_rng rng;
    dd_rng_seed(&rng, 5);
    for (size_t i = 0; i < n_in * B; i++) x[i] = (float)dd_rng_uniform(&rng);
    int32_t labels[B] = {0, 1, 2};
    dd_model_forward_train(m, train, x, B, &rng); /* the training workspace's buffers: a step's numbers */
    dd_model_backward(m, train, labels, B, grads);
    for (int batch = 1; batch <= B; batch += 2) {
        const float *a = dd_model_infer(m, train, x, batch), *b = dd_model_infer(m, infer, x, batch);
        double worst = 0, scale = 1e-6;
        for (size_t i = 0; i < classes * (size_t)batch; i++) scale = fmax(scale, fabs(b[i]));
        for (size_t i = 0; i < classes * (size_t)batch; i++) worst = fmax(worst, fabs(a[i] - b[i]) / scale);
        CHECK(worst <= 1e-4, "%s, batch %d, %d threads: logits on a training workspace differ by %.3g", name, batch,
              threads, worst);
    }
    free(x), free(grads);
    dd_workspace_free(train), dd_workspace_free(infer);
    dd_model_free(m);
}

int main(void) {
    const char *names[] = {"mnist28", "doodle28", "seed", "lenet"};
    for (int k = 0; k < 4; k++)
        for (int threads = 1; threads <= 2; threads++) check(names[k], threads);
    return test_finish("test_workspace_modes");
}
