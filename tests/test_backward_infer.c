/* dd_model_backward_infer: the gradient of one class score of the INFERENCE function (BatchNorm on running
 * statistics, dropout off) with respect to the input image and to a hidden layer's output, checked against
 * central differences of dd_model_infer itself. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "doodle/model.h"
#include "gradcheck.h"
#include "testutil.h"

static const char cfg[] = "[net]\ninput = 10x9x1\nclasses = 4\n"
                          "[conv2d]\nfilters = 3\nkernel = 3\npadding = same\n"
                          "[batchnorm]\n[activation]\ntype = relu\n"
                          "[maxpool]\nsize = 2\n"
                          "[conv2d]\nfilters = 4\nkernel = 3\nactivation = relu\n"
                          "[flatten]\n[dense]\nunits = 8\nactivation = relu\n[dropout]\nrate = 0.5\n"
                          "[dense]\nunits = classes\n";

enum { B = 2, N_IN = 10 * 9, CLASS = 2, IMAGE = 1 };

/* layer 2: relu [3, 10, 9]; layer 3: maxpool -> [3, 5, 4]; layer 4: conv relu [4, 3, 2]; layer 7: dense relu [8] */
enum { N2 = 3 * 10 * 9, N3 = 3 * 5 * 4, N4 = 4 * 3 * 2, N7 = 8, N_PATTERN = B * (N2 + N3 + N4 + N7) };

typedef struct ctx {
    dd_model *m;
    dd_workspace *ws;
    float x[B * N_IN];
    unsigned char pattern0[N_PATTERN];
} ctx;

/* The smooth piece the last pass was on: which ReLUs pass and which pixel wins each pool window. */
static void pattern(const ctx *c, unsigned char *p) {
    const float *relu1 = dd_workspace_layer_output(c->ws, 2), *conv2 = dd_workspace_layer_output(c->ws, 4),
                *dense = dd_workspace_layer_output(c->ws, 7);
    for (int i = 0; i < B * N2; i++) *p++ = relu1[i] > 0.0f;
    for (int plane = 0; plane < B * 3; plane++)
        for (int oy = 0; oy < 5; oy++)
            for (int ox = 0; ox < 4; ox++) {
                const float *x = relu1 + plane * 90;
                int best = 2 * oy * 9 + 2 * ox;
                for (int i = 0; i < 2; i++)
                    for (int j = 0; j < 2; j++)
                        if (x[(2 * oy + i) * 9 + 2 * ox + j] > x[best]) best = (2 * oy + i) * 9 + 2 * ox + j;
                *p++ = (unsigned char)best;
            }
    for (int i = 0; i < B * N4; i++) *p++ = conv2[i] > 0.0f;
    for (int i = 0; i < B * N7; i++) *p++ = dense[i] > 0.0f;
}

static int same_piece(void *p) {
    ctx *c = p;
    unsigned char now[N_PATTERN];
    pattern(c, now);
    return !memcmp(now, c->pattern0, sizeof now);
}

/* the score of CLASS for image IMAGE of the batch */
static double score(void *p) {
    ctx *c = p;
    const float *logits = dd_model_infer(c->m, c->ws, c->x, B);
    return logits[IMAGE * 4 + CLASS];
}

int main(void) {
    dd_error err;
    dd_rng rng;
    dd_rng_seed(&rng, 4242);
    dd_model_spec *spec = dd_model_spec_parse(cfg, sizeof cfg - 1, "test", "t", NULL, &err);
    CHECK(spec != NULL, "cfg: %s", err.msg);
    if (!spec) return test_finish("test_backward_infer");
    ctx c = {0};
    c.m = dd_model_new(spec, 7, &err);
    c.ws = dd_workspace_new(c.m, B, true, &err);
    CHECK(c.m && c.ws, "model: %s", err.msg);
    /* running statistics away from (0, 1), so the BatchNorm map matters */
    for (size_t i = 0; i < spec->n_state; i++) c.m->state[i] = 0.2f + 0.5f * (float)dd_rng_uniform(&rng);
    for (size_t i = 0; i < spec->n_params; i++) c.m->params[i] += 0.05f * (float)(dd_rng_uniform(&rng) - 0.5);
    for (int i = 0; i < B * N_IN; i++) c.x[i] = (float)dd_rng_uniform(&rng);

    float dlogits[B * 4] = {0}, dx[B * N_IN];
    dlogits[IMAGE * 4 + CLASS] = 1.0f;
    score(&c);
    pattern(&c, c.pattern0);
    CHECK(dd_model_backward_infer(c.m, c.ws, dlogits, B, -1, dx) == 0, "backward to the input");
    for (int i = 0; i < N_IN; i++)
        CHECK(dx[i] == 0.0f, "image 0 does not touch image 1's score: dx[%d] = %g", i, dx[i]);
    gc_result r = gc_check("input", score, same_piece, &c, c.x, dx, B * N_IN, 3e-3, 1e-2, B * N_IN, &rng);
    CHECK(r.failed == 0 && r.checked > B * N_IN / 2,
          "input gradient: %zu of %zu off (%zu skipped at kinks), max "
          "error %g",
          r.failed, r.checked, r.skipped, r.max_err);

    /* to the output of the second conv (layer 4), as Grad-CAM wants it: only image 1's maps get a gradient */
    float dh[B * N4];
    score(&c);
    CHECK(dd_model_backward_infer(c.m, c.ws, dlogits, B, 4, dh) == 0, "backward to layer 4");
    int nonzero = 0;
    for (int i = 0; i < N4; i++) CHECK(dh[i] == 0.0f, "image 0's maps get no gradient: dh[%d] = %g", i, dh[i]);
    for (int i = N4; i < B * N4; i++) nonzero += dh[i] != 0.0f;
    CHECK(nonzero > 0, "image 1's maps get a gradient");
    float dx2[B * N_IN];
    score(&c);
    CHECK(dd_model_backward_infer(c.m, c.ws, dlogits, B, -1, dx2) == 0 && !memcmp(dx, dx2, sizeof dx),
          "the same call gives the same bits");

    CHECK(dd_model_backward_infer(c.m, c.ws, dlogits, B, spec->n_layers - 1, dx) == -1, "the last layer is refused");
    CHECK(dd_model_backward_infer(c.m, c.ws, dlogits, B, -2, dx) == -1, "layer -2 is refused");
    CHECK(dd_model_backward_infer(c.m, c.ws, dlogits, B + 1, -1, dx) == -1, "a batch over the workspace is refused");
    dd_workspace *infer_only = dd_workspace_new(c.m, B, false, &err);
    dd_model_infer(c.m, infer_only, c.x, B);
    CHECK(dd_model_backward_infer(c.m, infer_only, dlogits, B, -1, dx) == -1, "an inference workspace is refused");
    dd_workspace_free(infer_only);
    printf("backward_infer: %zu input coordinates, max relative error %.2e\n", r.checked, r.max_err);
    dd_workspace_free(c.ws);
    dd_model_free(c.m);
    return test_finish("test_backward_infer");
}
