/* Model cfg text and specs: the built-in networks' shapes and Keras parameter counts, the parameter block's
 * layout, every kind of bad cfg named by its line, spacing and comments, overrides, files, the summary table. */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "doodle/model_spec.h"
#include "testutil.h"

static dd_model_spec *parse(const char *text, const dd_spec_overrides *ov, dd_error *err) {
    return dd_model_spec_parse(text, strlen(text), "models/x.cfg", "x", ov, err);
}

typedef struct want_layer {
    const char *name;
    dd_layer_kind kind;
    int rank, c, h, w; /* output shape */
    size_t params;     /* Keras' Param # (trainable + non-trainable) */
} want_layer;

static void check_layers(const char *model, const dd_model_spec *s, const want_layer *want, int n) {
    CHECK(s->n_layers == n, "%s: %d layers, want %d", model, s->n_layers, n);
    for (int i = 0; i < n && i < s->n_layers; i++) {
        const dd_layer_spec *l = &s->layers[i];
        const want_layer *w = &want[i];
        CHECK(!strcmp(l->name, w->name), "%s layer %d: name %s, want %s", model, i, l->name, w->name);
        CHECK(l->kind == w->kind, "%s %s: kind %d, want %d", model, w->name, (int)l->kind, (int)w->kind);
        CHECK(l->out.rank == w->rank && l->out.c == w->c && l->out.h == w->h && l->out.w == w->w,
              "%s %s: out rank %d (%d,%d,%d), want rank %d (%d,%d,%d)", model, w->name, l->out.rank, l->out.c, l->out.h,
              l->out.w, w->rank, w->c, w->h, w->w);
        CHECK(l->n_trainable + l->n_non_trainable == w->params, "%s %s: %zu params, want %zu", model, w->name,
              l->n_trainable + l->n_non_trainable, w->params);
        if (i > 0)
            CHECK(!memcmp(&l->in, &s->layers[i - 1].out, sizeof l->in), "%s %s: in != previous out", model, w->name);
    }
}

typedef struct span {
    size_t offset, count;
} span;

static int cmp_span(const void *a, const void *b) {
    const span *x = a, *y = b;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/* The non-empty slots tile [0, total) exactly: sorted by offset, each starts where the previous ended. */
static void check_tiling(const char *model, const char *block, span *spans, int n, size_t total) {
    qsort(spans, (size_t)n, sizeof *spans, cmp_span);
    size_t at = 0;
    for (int i = 0; i < n; i++) {
        CHECK(spans[i].offset == at, "%s %s block: a tensor at %zu, expected %zu (gap or overlap)", model, block,
              spans[i].offset, at);
        at = spans[i].offset + spans[i].count;
    }
    CHECK(at == total, "%s %s block: tensors end at %zu, block has %zu", model, block, at, total);
}

static void check_layout(const char *model, const dd_model_spec *s) {
    span *p = calloc(2 * (size_t)s->n_layers + 1, sizeof *p), *q = calloc(2 * (size_t)s->n_layers + 1, sizeof *q);
    if (!p || !q) exit(1);
    int np = 0, nq = 0;
    size_t trainable = 0, fixed = 0;
    for (int i = 0; i < s->n_layers; i++) {
        const dd_layer_spec *l = &s->layers[i];
        if (l->weight.count) p[np++] = (span){l->weight.offset, l->weight.count};
        if (l->bias.count) p[np++] = (span){l->bias.offset, l->bias.count};
        if (l->running_mean.count) q[nq++] = (span){l->running_mean.offset, l->running_mean.count};
        if (l->running_var.count) q[nq++] = (span){l->running_var.offset, l->running_var.count};
        CHECK(l->weight.count + l->bias.count == l->n_trainable, "%s %s: slots != trainable count", model, l->name);
        CHECK(l->running_mean.count + l->running_var.count == l->n_non_trainable, "%s %s: slots != state count", model,
              l->name);
        if (l->kind == DD_LAYER_CONV2D) {
            const dd_conv2d_spec *c = &l->u.conv;
            CHECK(l->weight.count == (size_t)c->filters * l->in.c * c->kernel_h * c->kernel_w, "%s %s: conv weight",
                  model, l->name);
            CHECK(l->bias.offset == l->weight.offset + l->weight.count, "%s %s: bias not after weight", model, l->name);
        }
        if (l->kind == DD_LAYER_DENSE)
            CHECK(l->weight.count == (size_t)l->u.dense.units * l->in.c, "%s %s: dense weight", model, l->name);
        if (l->kind == DD_LAYER_BATCHNORM)
            CHECK(l->weight.count == (size_t)l->in.c && l->bias.count == (size_t)l->in.c &&
                      l->running_var.offset == l->running_mean.offset + l->running_mean.count,
                  "%s %s: batchnorm slots", model, l->name);
        trainable += l->n_trainable;
        fixed += l->n_non_trainable;
    }
    CHECK(trainable == s->n_params && fixed == s->n_state, "%s: layer counts do not add up to the blocks", model);
    check_tiling(model, "parameter", p, np, s->n_params);
    check_tiling(model, "state", q, nq, s->n_state);
    free(p);
    free(q);
}

static void test_builtins(void) {
    dd_error err;
    static const char *const names[] = {"doodle28", "lenet", "mnist28", "seed"};
    for (size_t i = 0; i < 4; i++)
        CHECK(dd_model_builtin_name(i) && !strcmp(dd_model_builtin_name(i), names[i]), "built-in %zu is %s, not %s", i,
              dd_model_builtin_name(i) ? dd_model_builtin_name(i) : "(none)", names[i]);
    CHECK(!dd_model_builtin_name(4), "more than 4 built-in networks");
    dd_model_spec *d28 = dd_model_spec_builtin("doodle28", &(dd_spec_overrides){.classes = 13}, &err);
    CHECK(d28 && d28->n_params + d28->n_state == 242829 && d28->n_state == 448, "doodle28 with 13 classes");
    dd_model_spec_free(d28);

    dd_model_spec *s = dd_model_spec_builtin("seed", NULL, &err);
    CHECK(s, "seed: %s", err.msg);
    if (s) {
        static const want_layer want[] = {
            {"conv2d", DD_LAYER_CONV2D, 3, 64, 66, 100, 640},
            {"batch_normalization", DD_LAYER_BATCHNORM, 3, 64, 66, 100, 256},
            {"activation", DD_LAYER_ACTIVATION, 3, 64, 66, 100, 0},
            {"max_pooling2d", DD_LAYER_MAXPOOL, 3, 64, 33, 50, 0},
            {"conv2d_1", DD_LAYER_CONV2D, 3, 64, 33, 50, 36928},
            {"batch_normalization_1", DD_LAYER_BATCHNORM, 3, 64, 33, 50, 256},
            {"activation_1", DD_LAYER_ACTIVATION, 3, 64, 33, 50, 0},
            {"max_pooling2d_1", DD_LAYER_MAXPOOL, 3, 64, 16, 25, 0},
            {"conv2d_2", DD_LAYER_CONV2D, 3, 32, 16, 25, 18464},
            {"batch_normalization_2", DD_LAYER_BATCHNORM, 3, 32, 16, 25, 128},
            {"activation_2", DD_LAYER_ACTIVATION, 3, 32, 16, 25, 0},
            {"max_pooling2d_2", DD_LAYER_MAXPOOL, 3, 32, 8, 12, 0},
            {"flatten", DD_LAYER_FLATTEN, 1, 3072, 1, 1, 0},
            {"dense", DD_LAYER_DENSE, 1, 64, 1, 1, 196672},
            {"dropout", DD_LAYER_DROPOUT, 1, 64, 1, 1, 0},
            {"dense_1", DD_LAYER_DENSE, 1, 32, 1, 1, 2080},
            {"dropout_1", DD_LAYER_DROPOUT, 1, 32, 1, 1, 0},
            {"dense_2", DD_LAYER_DENSE, 1, 5, 1, 1, 165},
        };
        check_layers("seed", s, want, (int)(sizeof want / sizeof want[0]));
        CHECK(s->n_params + s->n_state == 255589, "seed total %zu", s->n_params + s->n_state);
        CHECK(s->n_params == 255269, "seed trainable %zu", s->n_params);
        CHECK(s->n_state == 320, "seed non-trainable %zu", s->n_state);
        CHECK(s->classes == 5 && s->input.rank == 3 && s->input.c == 1 && s->input.h == 66 && s->input.w == 100,
              "seed input/classes");
        CHECK(!strcmp(s->name, "seed"), "seed name %s", s->name);
        const dd_layer_spec *c = &s->layers[0], *bn = &s->layers[1], *d = &s->layers[17];
        CHECK(c->u.conv.same_padding && c->u.conv.kernel_h == 3 && c->u.conv.kernel_w == 3 && c->u.conv.stride == 1 &&
                  c->u.conv.bias && c->u.conv.activation == DD_ACT_LINEAR && c->u.conv.pad_top == 1 &&
                  c->u.conv.pad_left == 1,
              "seed conv2d hyper-parameters");
        CHECK(bn->u.bn.momentum == 0.99f && bn->u.bn.epsilon == 0.001f, "seed batchnorm defaults");
        CHECK(s->layers[2].u.activation == DD_ACT_RELU, "seed activation type");
        CHECK(s->layers[3].u.pool.size == 2 && s->layers[3].u.pool.stride == 2, "seed pool");
        CHECK(s->layers[14].u.dropout_rate == 0.5f, "seed dropout rate");
        CHECK(d->u.dense.units_from_classes && d->u.dense.activation == DD_ACT_LINEAR, "seed last dense");
        CHECK(s->layers[13].u.dense.activation == DD_ACT_RELU && !s->layers[13].u.dense.units_from_classes,
              "seed first dense");
        /* the layout: layer by layer, weight then bias */
        CHECK(c->weight.offset == 0 && c->weight.count == 576 && c->bias.offset == 576 && c->bias.count == 64,
              "seed conv2d slots");
        CHECK(bn->weight.offset == 640 && bn->bias.offset == 704 && bn->running_mean.offset == 0 &&
                  bn->running_var.offset == 64 && s->layers[5].running_mean.offset == 128,
              "seed batchnorm slots");
        CHECK(d->bias.offset + d->bias.count == s->n_params, "seed: last bias ends the block");
        CHECK(s->cfg_text && strstr(s->cfg_text, "[net]"), "seed keeps its cfg text");
        check_layout("seed", s);
        dd_model_spec_free(s);
    }

    s = dd_model_spec_builtin("lenet", NULL, &err);
    CHECK(s, "lenet: %s", err.msg);
    if (s) {
        static const want_layer want[] = {
            {"conv2d", DD_LAYER_CONV2D, 3, 6, 61, 95, 222},      {"max_pooling2d", DD_LAYER_MAXPOOL, 3, 6, 15, 23, 0},
            {"conv2d_1", DD_LAYER_CONV2D, 3, 16, 10, 18, 3472},  {"max_pooling2d_1", DD_LAYER_MAXPOOL, 3, 16, 2, 4, 0},
            {"flatten", DD_LAYER_FLATTEN, 1, 128, 1, 1, 0},      {"dense", DD_LAYER_DENSE, 1, 3000, 1, 1, 387000},
            {"dense_1", DD_LAYER_DENSE, 1, 3000, 1, 1, 9003000}, {"dense_2", DD_LAYER_DENSE, 1, 5, 1, 1, 15005},
        };
        check_layers("lenet", s, want, (int)(sizeof want / sizeof want[0]));
        CHECK(s->n_params == 9408699 && s->n_state == 0, "lenet %zu + %zu", s->n_params, s->n_state);
        CHECK(s->layers[0].u.conv.activation == DD_ACT_RELU && !s->layers[0].u.conv.same_padding &&
                  s->layers[0].u.conv.pad_top == 0,
              "lenet conv2d");
        check_layout("lenet", s);
        dd_model_spec_free(s);
    }

    s = dd_model_spec_builtin("mnist28", NULL, &err);
    CHECK(s, "mnist28: %s", err.msg);
    if (s) {
        static const want_layer want[] = {
            {"conv2d", DD_LAYER_CONV2D, 3, 32, 28, 28, 320},     {"max_pooling2d", DD_LAYER_MAXPOOL, 3, 32, 14, 14, 0},
            {"conv2d_1", DD_LAYER_CONV2D, 3, 64, 14, 14, 18496}, {"max_pooling2d_1", DD_LAYER_MAXPOOL, 3, 64, 7, 7, 0},
            {"flatten", DD_LAYER_FLATTEN, 1, 3136, 1, 1, 0},     {"dense", DD_LAYER_DENSE, 1, 128, 1, 1, 401536},
            {"dense_1", DD_LAYER_DENSE, 1, 10, 1, 1, 1290},
        };
        check_layers("mnist28", s, want, (int)(sizeof want / sizeof want[0]));
        CHECK(s->n_params + s->n_state == 421642, "mnist28 total %zu", s->n_params + s->n_state);
        check_layout("mnist28", s);
        dd_model_spec_free(s);
    }

    s = dd_model_spec_builtin("resnet", NULL, &err);
    CHECK(!s && err.code == DD_ERR_USAGE && strstr(err.msg, "resnet") && strstr(err.msg, "seed"),
          "unknown built-in: %s", s ? "accepted" : err.msg);
    dd_model_spec_free(s);
    CHECK(!dd_model_builtin_cfg("resnet", NULL), "cfg text of an unknown built-in");
}

static void test_overrides(void) {
    dd_error err;
    dd_spec_overrides ov = {10, 0, 0};
    dd_model_spec *s = dd_model_spec_builtin("seed", &ov, &err);
    CHECK(s && s->classes == 10 && s->layers[17].out.c == 10 && s->layers[17].n_trainable == 330 &&
              s->n_params == 255269 + 165,
          "seed with 10 classes: %s", s ? "wrong counts" : err.msg);
    dd_model_spec_free(s);

    ov = (dd_spec_overrides){0, 28, 28};
    s = dd_model_spec_builtin("seed", &ov, &err);
    CHECK(s && s->layers[12].out.c == 3 * 3 * 32 && s->layers[13].n_trainable == 288 * 64 + 64, "seed at 28x28: %s",
          s ? "wrong shapes" : err.msg);
    dd_model_spec_free(s);

    /* lenet does not fit 20x20: its second convolution gets a 3x3 input */
    ov = (dd_spec_overrides){0, 20, 20};
    s = dd_model_spec_builtin("lenet", &ov, &err);
    CHECK(!s && strstr(err.msg, "models/lenet.cfg:") &&
              strstr(err.msg, "[conv2d] kernel 6x6 is larger than its input 3x3"),
          "lenet at 20x20: %s", s ? "accepted" : err.msg);
    dd_model_spec_free(s);
    /* nor does seed 4x4: its third pool gets a 1x1 input */
    ov = (dd_spec_overrides){0, 4, 4};
    s = dd_model_spec_builtin("seed", &ov, &err);
    CHECK(!s && strstr(err.msg, "models/seed.cfg:") && strstr(err.msg, "[maxpool] size 2 is larger than its input 1x1"),
          "seed at 4x4: %s", s ? "accepted" : err.msg);
    dd_model_spec_free(s);

    /* a literal output size does not follow --classes */
    ov = (dd_spec_overrides){7, 0, 0};
    s = parse("[net]\ninput = 4x4x1\nclasses = 3\n[flatten]\n[dense]\nunits = 3\n", &ov, &err);
    CHECK(!s && strstr(err.msg, "models/x.cfg:6: ") && strstr(err.msg, "3 outputs") && strstr(err.msg, "7 classes"),
          "literal units with --classes: %s", s ? "accepted" : err.msg);
    dd_model_spec_free(s);
    /* classes may come from the caller alone */
    s = parse("[net]\ninput = 4x4x1\n[flatten]\n[dense]\nunits = classes\n", &ov, &err);
    CHECK(s && s->classes == 7 && s->layers[1].out.c == 7, "classes from the caller only: %s", s ? "" : err.msg);
    dd_model_spec_free(s);
    ov = (dd_spec_overrides){-1, 0, 0};
    s = dd_model_spec_builtin("seed", &ov, &err);
    CHECK(!s && err.code == DD_ERR_USAGE, "negative classes override");
    dd_model_spec_free(s);
}

/* text must fail with "models/x.cfg:<line>: …<what>…". */
static void expect_error(const char *text, int line, const char *what) {
    dd_error err;
    dd_model_spec *s = parse(text, NULL, &err);
    char prefix[64];
    snprintf(prefix, sizeof prefix, "models/x.cfg:%d: ", line);
    CHECK(!s, "accepted (want an error on line %d: %s):\n%s", line, what, text);
    if (s) {
        dd_model_spec_free(s);
        return;
    }
    CHECK(!strncmp(err.msg, prefix, strlen(prefix)) && strstr(err.msg, what), "got \"%s\", want \"%s…%s\"", err.msg,
          prefix, what);
}

#define NET "[net]\ninput = 8x8x1\nclasses = 2\n" /* lines 1-3 */
#define TAIL "[flatten]\n[dense]\nunits = classes\n"

static void test_bad_cfgs(void) {
    {
        static const char nul[] = "[net]\ninput = 8x8x1\nclas\0ses = 2\n";
        dd_error err;
        dd_model_spec *s = dd_model_spec_parse(nul, sizeof nul - 1, "models/x.cfg", "x", NULL, &err);
        CHECK(!s && strstr(err.msg, "models/x.cfg:3: a NUL byte"), "NUL byte: %s", s ? "accepted" : err.msg);
        dd_model_spec_free(s);
    }
    /* the text itself */
    expect_error("", 1, "no [net] section");
    expect_error("# only a comment\n\n", 1, "no [net] section");
    expect_error("input = 8x8x1\n[net]\n", 1, "comes before any section");
    expect_error(NET "[conv2d\nfilters = 2\n", 4, "does not end with ']'");
    expect_error(NET "[]\n", 4, "bad section name");
    expect_error(NET "[conv2d]\nfilters 2\n", 5, "expected '[section]' or 'key = value'");
    expect_error(NET "[conv2d]\n = 2\n", 5, "bad key name");
    expect_error(NET "[flatten]\n[dense]\nunits = 2\nunits = classes\n", 7,
                 "duplicate key 'units' (first given on line 6)");

    /* sections */
    expect_error(NET "[conv3d]\nfilters = 2\n", 4, "unknown section [conv3d]");
    expect_error("[conv2d]\nfilters = 2\nkernel = 3\n" NET, 1, "[conv2d] comes before [net]");
    expect_error("[netz]\n", 1, "unknown section [netz]");
    expect_error(NET TAIL "[net]\n", 7, "a second [net] section (the first is on line 1)");
    expect_error(NET, 1, "[net] is followed by no layers");
    expect_error(NET "\n# nothing\n", 1, "no layers");
    /* keys */
    expect_error(NET "[conv2d]\nfilters = 2\nkernal = 3\n", 6,
                 "[conv2d] unknown key 'kernal' (its keys: filters, kernel");
    expect_error("[net]\ninput = 8x8x1\nclasses = 2\nbatch = 4\n" TAIL, 4, "[net] unknown key 'batch'");
    expect_error(NET "[flatten]\nunits = 2\n", 5, "[flatten] unknown key 'units'");
    /* missing keys: the section's line */
    expect_error(NET "[flatten]\n[dense]\nactivation = relu\n", 5, "[dense] has no units");
    expect_error(NET "[conv2d]\nkernel = 3\n" TAIL, 4, "[conv2d] has no filters");
    expect_error(NET "[conv2d]\nfilters = 3\n" TAIL, 4, "[conv2d] has no kernel");
    expect_error(NET "[maxpool]\n" TAIL, 4, "[maxpool] has no size");
    expect_error(NET "[dropout]\n" TAIL, 4, "[dropout] has no rate");
    expect_error(NET "[activation]\n" TAIL, 4, "[activation] has no type");
    expect_error("[net]\nclasses = 2\n" TAIL, 1, "[net] has no input");
    expect_error("[net]\ninput = 8x8x1\n" TAIL, 1, "[net] has no classes");
    /* bad values: the key's line */
    expect_error("[net]\ninput = 8x8\nclasses = 2\n" TAIL, 2, "is not HxWxC");
    expect_error("[net]\ninput = 8x8x0\nclasses = 2\n" TAIL, 2, "is not HxWxC");
    expect_error("[net]\ninput = 8x8x1\nclasses = 0\n" TAIL, 3, "classes = '0' is not a whole number from 1");
    expect_error(NET "[conv2d]\nfilters = -3\nkernel = 3\n" TAIL, 5, "filters = '-3' is not a whole number");
    expect_error(NET "[conv2d]\nfilters = 2.5\nkernel = 3\n" TAIL, 5, "filters = '2.5'");
    expect_error(NET "[conv2d]\nfilters = 99999999999\nkernel = 3\n" TAIL, 5, "is not a whole number");
    expect_error(NET "[conv2d]\nfilters = 2\nkernel = 3x\n" TAIL, 6, "kernel = '3x' is not K or KHxKW");
    expect_error(NET "[conv2d]\nfilters = 2\nkernel = 3x3x3\n" TAIL, 6, "is not K or KHxKW");
    expect_error(NET "[conv2d]\nfilters = 2\nkernel = 3\nstride = 0\n" TAIL, 7, "stride = '0'");
    expect_error(NET "[conv2d]\nfilters = 2\nkernel = 3\npadding = full\n" TAIL, 7,
                 "padding = 'full' is not same or valid");
    expect_error(NET "[conv2d]\nfilters = 2\nkernel = 3\nactivation = tanh\n" TAIL, 7,
                 "activation = 'tanh' is not relu");
    expect_error(NET "[conv2d]\nfilters = 2\nkernel = 3\nbias = maybe\n" TAIL, 7, "bias = 'maybe' is not 1 or 0");
    expect_error(NET TAIL "activation = softmax\n", 7, "softmax comes with the loss");
    expect_error(NET "[dropout]\nrate = 1\n" TAIL, 5, "rate = '1' is not a number in [0, 1)");
    expect_error(NET "[dropout]\nrate = nan\n" TAIL, 5, "rate = 'nan'");
    expect_error(NET "[dropout]\nrate =\n" TAIL, 5, "rate = ''");
    expect_error(NET "[batchnorm]\nepsilon = 0\n" TAIL, 5, "epsilon = '0' is not a number in (0, 1]");
    expect_error(NET "[batchnorm]\nmomentum = 1.5\n" TAIL, 5, "momentum = '1.5'");
    expect_error(NET "[flatten]\n[dense]\nunits = many\n", 6,
                 "units = 'many' is not a whole number from 1 to 1048576, or classes");
    expect_error(NET "[flatten]\nname = my layer\n[dense]\nunits = classes\n", 5, "name = 'my layer'");
    /* shapes that do not fit */
    expect_error("[net]\ninput = 2x3x1\nclasses = 2\n[maxpool]\nsize = 4\n" TAIL, 5,
                 "[maxpool] size 4 is larger than its input 2x3");
    expect_error(NET "[conv2d]\nfilters = 2\nkernel = 3x9\n" TAIL, 6,
                 "[conv2d] kernel 3x9 is larger than its input 8x8 (padding = valid)");
    expect_error(NET "[conv2d]\nfilters = 2\nkernel = 9\npadding = same\n[dense]\nunits = classes\n", 8,
                 "[dense] needs a flat input, but its input is 8x8x2 (HxWxC)");
    expect_error(NET "[flatten]\n[conv2d]\nfilters = 2\nkernel = 1\n" TAIL, 5, "[conv2d] needs an image input");
    expect_error(NET "[flatten]\n[maxpool]\nsize = 2\n" TAIL, 5, "[maxpool] needs an image input");
    expect_error(NET "[flatten]\n[dense]\nunits = 3\n[dropout]\nrate = 0.1\n", 6,
                 "the network ends with 3 outputs, but there are 2 classes");
    expect_error(NET "[conv2d]\nfilters = 2\nkernel = 3\n", 4, "the network ends with a 6x6x2 image");
    expect_error("[net]\ninput = 100000x100000x1\nclasses = 2\n" TAIL, 2, "too large");
    expect_error("[net]\ninput = 100x100x1\nclasses = 2\n[conv2d]\nfilters = 1000000\nkernel = 1\n" TAIL, 4,
                 "[conv2d] output 100x100x1000000 is too large");
    /* names */
    expect_error(NET "[conv2d]\nfilters = 2\nkernel = 3\n[conv2d]\nname = conv2d\nfilters = 2\nkernel = 3\n" TAIL, 8,
                 "two layers named 'conv2d' (the other is on line 4)");
}

static void same_spec(const char *what, const dd_model_spec *a, const dd_model_spec *b) {
    CHECK(a->n_layers == b->n_layers && a->n_params == b->n_params && a->n_state == b->n_state &&
              a->classes == b->classes && !memcmp(&a->input, &b->input, sizeof a->input),
          "%s: different model", what);
    for (int i = 0; i < a->n_layers && i < b->n_layers; i++) {
        const dd_layer_spec *x = &a->layers[i], *y = &b->layers[i];
        CHECK(x->kind == y->kind && !strcmp(x->name, y->name) && !memcmp(&x->in, &y->in, sizeof x->in) &&
                  !memcmp(&x->out, &y->out, sizeof x->out) && !memcmp(&x->u, &y->u, sizeof x->u) &&
                  !memcmp(&x->weight, &y->weight, sizeof x->weight) && !memcmp(&x->bias, &y->bias, sizeof x->bias) &&
                  !memcmp(&x->running_mean, &y->running_mean, sizeof x->running_mean) &&
                  !memcmp(&x->running_var, &y->running_var, sizeof x->running_var),
              "%s: layer %d (%s) differs", what, i, x->name);
    }
}

static void test_spacing(void) {
    /* seed written with odd spacing, comments, tabs, CRLF, a byte order mark and capitals */
    static const char odd[] =
        "\xEF\xBB\xBF; the seed network, untidily\r\n"
        "  [ NET ]   # input first\r\n"
        "input=66 x 100X1\r\n"
        "\tclasses\t=\t5 ; five\r\n"
        "\r\n"
        "[Conv2D]\nFILTERS = 64\nkernel = 3 x 3\npadding = SAME\n"
        "[batchnorm]\nmomentum = 0.99\nepsilon = 1e-3\n"
        "[activation]\ntype = ReLU\n"
        "[maxpool]\nsize=2#two\nstride = 2\n"
        "#\n;\n"
        "[conv2d]\n  filters   =   64  \nkernel = 3\npadding = same\nstride = 1\nbias = true\nactivation = linear\n"
        "[batchnorm]\n[activation]\ntype = relu\n[maxpool]\nsize = 2\n"
        "[conv2d]\nfilters = 32\nkernel = 3\npadding = same\n[batchnorm]\n[activation]\ntype = relu\n[maxpool]\nsize = "
        "2\n"
        "[flatten]\n[dense]\nunits = 64\nactivation = relu\n[dropout]\nrate = .5\n"
        "[dense]\nunits = 32\nactivation = relu\nbias = 1\n[dropout]\nrate = 0.50\n"
        "[dense]\nunits = Classes\nactivation = linear"; /* no newline at the end */
    dd_error err;
    dd_model_spec *a = dd_model_spec_builtin("seed", NULL, &err);
    dd_model_spec *b = dd_model_spec_parse(odd, sizeof odd - 1, "odd.cfg", "odd", NULL, &err);
    CHECK(a && b, "parse: %s", err.msg);
    if (a && b) same_spec("odd spacing", a, b);
    dd_model_spec_free(a);
    dd_model_spec_free(b);
}

static void test_hyperparameters(void) {
    dd_error err;
    /* stride 2 "same": out = ceil(in / 2), the odd padding pixel at the bottom/right */
    dd_model_spec *s = parse("[net]\ninput = 5x6x3\nclasses = 2\n"
                             "[conv2d]\nfilters = 4\nkernel = 3\nstride = 2\npadding = same\nbias = 0\n"
                             "[conv2d]\nfilters = 2\nkernel = 2x1\nstride = 2\nname = narrow\n"
                             "[batchnorm]\n[flatten]\n[dense]\nunits = 4\nbias = 0\n[batchnorm]\nname = bn-flat\n"
                             "[dense]\nunits = classes\n",
                             NULL, &err);
    CHECK(s, "parse: %s", s ? "" : err.msg);
    if (!s) return;
    const dd_layer_spec *c = &s->layers[0], *n = &s->layers[1];
    CHECK(c->out.h == 3 && c->out.w == 3 && c->u.conv.pad_top == 1 && c->u.conv.pad_left == 0,
          "same stride 2: %dx%d pad %d,%d", c->out.h, c->out.w, c->u.conv.pad_top, c->u.conv.pad_left);
    CHECK(c->n_trainable == 4 * 3 * 3 * 3 && c->bias.count == 0, "conv without bias");
    CHECK(!strcmp(n->name, "narrow") && n->out.h == 1 && n->out.w == 2 && n->n_trainable == 2 * 4 * 2 * 1 + 2,
          "valid 2x1 stride 2: %dx%d", n->out.h, n->out.w);
    CHECK(!strcmp(s->layers[2].name, "batch_normalization") && s->layers[2].n_non_trainable == 4, "bn after conv");
    CHECK(s->layers[4].n_trainable == 4 * 4 && s->layers[4].bias.count == 0, "dense without bias");
    CHECK(!strcmp(s->layers[5].name, "bn-flat") && s->layers[5].out.rank == 1 && s->layers[5].n_trainable == 8 &&
              s->layers[5].n_non_trainable == 8,
          "batchnorm on a flat input");
    CHECK(!strcmp(s->layers[6].name, "dense_1"), "automatic names skip named layers: %s", s->layers[6].name);
    check_layout("hyper", s);
    dd_model_spec_free(s);

    /* Keras' pooling floor rule and a stride other than the size */
    s = parse("[net]\ninput = 61x95x1\nclasses = 2\n[maxpool]\nsize = 4\n[maxpool]\nsize = 3\nstride = 1\n" TAIL, NULL,
              &err);
    CHECK(s && s->layers[0].out.h == 15 && s->layers[0].out.w == 23 && s->layers[1].out.h == 13 &&
              s->layers[1].out.w == 21,
          "pool sizes: %s", s ? "wrong" : err.msg);
    dd_model_spec_free(s);
}

static void test_files(void) {
    const char *dir = test_tmp_dir("test_cfg");
    char path[4200];
    snprintf(path, sizeof path, "%s/tiny.CFG", dir);
    const char *text = "[net]\ninput = 8x8x1\nclasses = 3\n[flatten]\n[dense]\nunits = classes\n";
    test_write_file(path, text, strlen(text));
    dd_error err;
    dd_model_spec *s = dd_model_spec_load(path, NULL, &err);
    CHECK(s && !strcmp(s->name, "tiny") && s->n_params == 64 * 3 + 3 && !strcmp(s->cfg_text, text), "load: %s",
          s ? s->name : err.msg);
    dd_model_spec_free(s);

    snprintf(path, sizeof path, "%s/named.cfg", dir);
    text = "[net]\nname = smallnet\ninput = 8x8x1\nclasses = 3\n[flatten]\n[dense]\nunits = 4\n";
    test_write_file(path, text, strlen(text));
    s = dd_model_spec_load(path, NULL, &err);
    CHECK(!s && strstr(err.msg, path) && strstr(err.msg, "named.cfg:7: "), "file errors name the path: %s",
          s ? "accepted" : err.msg);
    dd_model_spec_free(s);

    snprintf(path, sizeof path, "%s/missing.cfg", dir);
    s = dd_model_spec_load(path, NULL, &err);
    CHECK(!s && err.code == DD_ERR_IO && strstr(err.msg, "missing.cfg"), "missing file: %s", s ? "accepted" : err.msg);
    dd_model_spec_free(s);
    s = dd_model_spec_load(dir, NULL, &err);
    CHECK(!s && err.code == DD_ERR_IO, "a directory: %s", s ? "accepted" : err.msg);
    dd_model_spec_free(s);
}

static char *summary_text(const dd_model_spec *s) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) exit(1);
    dd_model_spec_summary(s, f);
    fclose(f);
    return buf;
}

static void test_summary(void) {
    dd_error err;
    dd_model_spec *s = dd_model_spec_builtin("seed", NULL, &err);
    if (!s) return;
    char *text = summary_text(s);
    /* Keras 2.x's lines, trailing spaces included (65 columns) */
    static const char *const lines[] = {
        "Model: \"seed\"\n"
        "_________________________________________________________________\n"
        " Layer (type)                Output Shape              Param #   \n"
        "=================================================================\n"
        " conv2d (Conv2D)             (None, 66, 100, 64)       640       \n"
        "                                                                 \n"
        " batch_normalization (BatchN  (None, 66, 100, 64)      256       \n"
        " ormalization)                                                   \n"
        "                                                                 \n",
        " max_pooling2d (MaxPooling2D  (None, 33, 50, 64)       0         \n"
        " )                                                               \n",
        " flatten (Flatten)           (None, 3072)              0         \n",
        " dense_2 (Dense)             (None, 5)                 165       \n"
        "                                                                 \n"
        "=================================================================\n"
        "Total params: 255,589\n"
        "Trainable params: 255,269\n"
        "Non-trainable params: 320\n"
        "_________________________________________________________________\n",
    };
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++)
        CHECK(strstr(text, lines[i]), "summary lacks\n%s\nin\n%s", lines[i], text);
    CHECK(!strncmp(text, lines[0], strlen(lines[0])), "summary does not start as Keras'");
    size_t n = strlen(text);
    CHECK(n > strlen(lines[3]) && !strcmp(text + n - strlen(lines[3]), lines[3]), "summary does not end as Keras'");
    free(text);
    dd_model_spec_free(s);

    s = dd_model_spec_builtin("lenet", NULL, &err);
    if (!s) return;
    text = summary_text(s);
    CHECK(strstr(text, " dense_1 (Dense)             (None, 3000)              9003000   \n") &&
              strstr(text, "Total params: 9,408,699\nTrainable params: 9,408,699\nNon-trainable params: 0\n"),
          "lenet summary:\n%s", text);
    free(text);
    dd_model_spec_free(s);

    /* a long name wraps in its cell; a long model name stays whole */
    s = parse("[net]\nname = a_model_with_a_long_name\ninput = 4x4x1\nclasses = 2\n"
              "[flatten]\nname = a_flatten_layer_with_a_name_longer_than_the_column\n[dense]\nunits = classes\n",
              NULL, &err);
    CHECK(s, "long names: %s", s ? "" : err.msg);
    if (!s) return;
    text = summary_text(s);
    CHECK(strstr(text, "Model: \"a_model_with_a_long_name\"\n") &&
              strstr(text, " a_flatten_layer_with_a_name  (None, 16)               0         \n"
                           " _longer_than_the_column (Fl                                     \n"
                           " atten)                                                          \n"),
          "long names:\n%s", text);
    free(text);
    dd_model_spec_free(s);
}

static void test_kinds(void) {
    static const char *const sections[] = {"conv2d",  "batchnorm", "activation", "maxpool",
                                           "flatten", "dense",     "dropout",    "globalavgpool"};
    static const char *const keras[] = {
        "Conv2D",  "BatchNormalization",    "Activation", "MaxPooling2D", "Flatten", "Dense",
        "Dropout", "GlobalAveragePooling2D"};
    for (int k = 0; k < DD_LAYER_KIND_COUNT; k++)
        CHECK(!strcmp(dd_layer_kind_name((dd_layer_kind)k), sections[k]) &&
                  !strcmp(dd_layer_keras_class((dd_layer_kind)k), keras[k]),
              "kind %d names", k);
    char buf[64];
    dd_shape_keras((dd_shape){3, 64, 66, 100}, buf, sizeof buf);
    CHECK(!strcmp(buf, "(None, 66, 100, 64)"), "%s", buf);
    dd_shape_keras((dd_shape){1, 3072, 1, 1}, buf, sizeof buf);
    CHECK(!strcmp(buf, "(None, 3072)"), "%s", buf);
}

/* Networks too large for the memory bound are refused at parse time, with the size, the largest layer and the
 * limit named, before anything their size is allocated; the built-in networks stay well under the default at the
 * batch sizes doodle uses. */
static void expect_too_big(const char *what, const char *text, const char *const *words) {
    dd_error err = {0};
    dd_model_spec *s = parse(text, NULL, &err);
    CHECK(!s && err.code == DD_ERR_RANGE, "%s: %s", what, s ? "accepted" : err.msg);
    dd_model_spec_free(s);
    for (; *words; words++) CHECK(strstr(err.msg, *words), "%s: message does not say '%s': %s", what, *words, err.msg);
}

static void test_memory_bound(void) {
    static const char wide[] = "[net]\ninput = 2048x1024x1\nclasses = 2\n[conv2d]\nfilters = 1000\nkernel = 3\n"
                               "padding = same\nactivation = relu\n[maxpool]\nsize = 64\n" TAIL;
    expect_too_big("2048x1024 x 1000 filters", wide,
                   (const char *const[]){"models/x.cfg: network needs 8.5 GB for a batch of 1", "8.4 GB of activations",
                                         "conv2d on line 4, 2048x1024x1000", "limit of 8.0 GB", "DOODLE_MAX_MEMORY_MB",
                                         NULL});
    /* 1,048,576 units over a 1024x1024 input: 4.4 TB of weights, counted without overflow */
    expect_too_big("huge dense", "[net]\ninput = 1024x1024x1\nclasses = 2\n[flatten]\n[dense]\nunits = 1048576\n" TAIL,
                   (const char *const[]){"network needs 4398.", "GB of parameters", "limit of 8.0 GB", NULL});
    /* a kernel of 2^40 weights with same padding: Glorot's int fans would overflow */
    expect_error(NET "[conv2d]\nfilters = 1\nkernel = 1048576\npadding = same\n" TAIL, 6,
                 "[conv2d] kernel 1048576x1048576 over 1 input channels with 1 filters is too large");

    dd_error err;
    dd_set_memory_limit((uint64_t)9 * 1000 * 1000 * 1000);
    dd_model_spec *s = parse(wide, NULL, &err);
    CHECK(s && dd_model_spec_memory(s, 1, false) > (uint64_t)8400000000 &&
              dd_model_spec_check_memory(s, 2, false, NULL, &err) &&
              strstr(err.msg, "for a batch of 2 (16.8 GB of activations"),
          "raised limit: %s", err.msg);
    dd_model_spec_free(s);
    dd_set_memory_limit(0);
    CHECK(dd_memory_limit() == DD_MEMORY_LIMIT_DEFAULT);

    for (size_t i = 0; dd_model_builtin_name(i); i++) {
        s = dd_model_spec_builtin(dd_model_builtin_name(i), NULL, &err);
        CHECK(s, "%s: %s", dd_model_builtin_name(i), err.msg);
        if (!s) continue;
        uint64_t train = dd_model_spec_memory(s, 512, true), infer = dd_model_spec_memory(s, 256, false);
        printf("%s: %.2f GB training at batch 512, %.2f GB inference at batch 256\n", s->name, train / 1e9,
               infer / 1e9);
        CHECK(train < DD_MEMORY_LIMIT_DEFAULT / 10 * 6 && infer < DD_MEMORY_LIMIT_DEFAULT / 8,
              "%s needs %.2f GB, %.2f GB", s->name, train / 1e9, infer / 1e9);
        CHECK(dd_model_spec_memory(s, 65536, true) > train, "saturated too early");
        dd_model_spec_free(s);
    }
}

int main(void) {
    test_builtins();
    test_overrides();
    test_bad_cfgs();
    test_spacing();
    test_hyperparameters();
    test_files();
    test_summary();
    test_kinds();
    test_memory_bound();
    return test_finish("test_cfg");
}
