/* The network as a plan of ops. Every layer kind is one record, nn_op_kind, in its own file (src/nn/op_<kind>.c):
 * its cfg section and keys, its shapes and parameters, its tensors in a model file, what it needs in a workspace,
 * and its passes (forward, backward, backward to the input for explanations), with how it fuses with the layers
 * after it. A workspace compiles the spec into plans (src/nn/plan.c): lists of steps, each one op over one or more
 * layers, so that the passes in src/nn/forward.c are plain loops over the steps. docs/architecture.md says how to add
 * a kind. */
#ifndef DOODLE_NN_OP_H
#define DOODLE_NN_OP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "doodle/model.h"
#include "nn/cfg.h"
#include "nn/fast.h"

/* One tensor of a layer in a model file: its name suffix ("<layer>.<suffix>"), block, slot and shape. */
typedef struct nn_tensor {
    const char *suffix;
    int in_state; /* 0: parameter block, 1: state block */
    dd_slot slot;
    int ndim;
    int64_t shape[4];
} nn_tensor;

/* Sizes a layer's parameters and state take (floats), filled by an op's shape function. */
typedef struct nn_counts {
    size_t weights, biases, stats;
} nn_counts;

/* What a layer needs in a workspace besides its output (counts of elements). */
typedef struct nn_needs {
    size_t argmax_per_image; /* int32 per image (the max-pool's winners) */
    size_t mask_per_image;   /* floats per image (dropout's mask; training) */
    size_t stats;            /* floats of batch statistics for backward (BatchNorm's mean and 1/std; training) */
    size_t col;              /* floats of im2col scratch per thread for a batch (conv) */
    size_t weight_grads;     /* floats of parameter-gradient partial sums per thread (conv) */
    size_t bias_grads;       /* doubles of bias-gradient partial sums per thread (conv) */
} nn_needs;

/* A layer's buffers in a workspace, all in the workspace's arena. */
typedef struct nn_layer_ws {
    float *out;            /* [max_batch * out count]; the input's buffer for in-place layers; NULL when folded away */
    float *mean, *inv_std; /* BatchNorm, training */
    int32_t *argmax;       /* max-pool */
    float *mask;           /* dropout, training */
} nn_layer_ws;

/* What a step is run with. */
typedef struct nn_pass {
    util_pool *pool;             /* the workspace's threads (NULL: one) */
    const nn_fast_scratch *fast; /* their scratch */
    float *scratch;              /* thread 0's im2col buffer, for the reference kernels (backward to the input) */
    int batch;
    const float *params;
    float *state; /* training's forward updates the running statistics; the other passes only read it */
    dd_rng *rng;  /* training's forward (dropout's masks); NULL: inference */
    float *grads; /* training's backward: parameter gradients are added here */
} nn_pass;

typedef struct nn_step nn_step;
/* Forward: from in to the step's output (st->out). */
typedef void (*nn_forward_fn)(const nn_step *st, const nn_pass *p, const float *in);
/* Backward: g is the gradient of the step's output (it may be overwritten, e.g. by a ReLU's backward in place); the
 * gradient of the step's input goes to din (NULL for the first layer: only parameter gradients are wanted). Returns
 * 1 when the gradient is now in din, 0 when it stayed in g (the step did not move it). */
typedef int (*nn_backward_fn)(const nn_step *st, const nn_pass *p, const float *in, float *g, float *din);

/* One op of a plan over layers [first, first + count): l and w point at the first one's spec and buffers (the
 * others follow them), out is the last one's output. */
struct nn_step {
    nn_forward_fn forward;
    nn_backward_fn backward;
    int first, count;
    bool relu;        /* a ReLU ([activation] relu) after the op, applied in its own pass */
    bool fold;        /* the step needs `folded`: its conv takes the BatchNorm after it into its weights */
    bool pool;        /* a 2x2, stride 2 max-pool after the op, applied before its maps leave the cache (inference) */
    bool keeps_first; /* its first layer keeps an output buffer too (training's conv -> pool: explanations read it) */
    const dd_layer_spec *l;
    nn_layer_ws *w;
    float *out;
    float *folded; /* conv with a BatchNorm folded in (inference): weights then bias */
    float *wino;   /* conv by the Winograd kernel (inference): its transformed weights, kept between passes */
};

/* What a plan is for; a kind's fuse function chooses its step's functions and layers for each. The forward plan of a
 * training workspace also runs inference (for explanations), so only an inference workspace's may fold. */
typedef enum nn_mode { NN_FORWARD_INFER, NN_FORWARD_TRAIN, NN_BACKWARD } nn_mode;

typedef struct nn_op_kind {
    dd_layer_kind kind;
    const char *section;     /* cfg section name: "conv2d" */
    const char *keras;       /* Keras' class name: "Conv2D" */
    const char *base;        /* Keras' automatic layer name: "conv2d" (then conv2d_1, …) */
    const char *const *keys; /* its cfg keys, "name" last, NULL-ended (the order of the "its keys" message) */
    bool image_input;        /* needs an image input (HxWxC), not a flat one */
    bool in_place;           /* writes over its input (needs no output buffer) when it is not the first layer */
    bool decay;              /* weight decay applies to its weight */
    /* Reads the section's keys (checked against keys already) into l->u, with their defaults. classes: [net]'s. */
    int (*parse)(const nn_cfg *cfg, const nn_cfg_section *s, dd_layer_spec *l, int classes, dd_error *err);
    /* From l->in (set; rank 3 when image_input): l->out, the layer's hyper-parameters that follow from the shapes,
     * and its parameter counts. Layer i of cfg, for messages. NULL: out = in, no parameters. */
    int (*shape)(dd_layer_spec *l, const nn_cfg *cfg, int i, nn_counts *c, dd_error *err);
    /* Keras' initialisation of its parameters and state (rng in layer order). NULL: zeros. */
    void (*init)(const dd_layer_spec *l, float *params, float *state, dd_rng *rng);
    /* Its tensors in a model file (at most 4), in file order; returns how many. NULL: none. */
    int (*tensors)(const dd_layer_spec *l, nn_tensor *t);
    /* Multiply-adds of a forward pass for one image. NULL: none counted. */
    double (*macs)(const dd_layer_spec *l);
    /* Its workspace needs for a batch of max_batch. NULL: none. */
    void (*needs)(const dd_layer_spec *l, int max_batch, bool training, nn_needs *n);
    /* Fills the step that starts at layer i of s for a plan of the given mode: its functions, st->relu and
     * st->fold; returns how many layers it takes (1: itself alone). */
    int (*fuse)(const dd_model_spec *s, int i, nn_mode mode, nn_step *st);
    /* Backward through the inference function (BatchNorm's running statistics, dropout as the identity) with the
     * reference kernels, for explanations: one layer at a time, the step being that layer alone. Same contract as
     * backward; parameters get no gradients. */
    nn_backward_fn backward_input;
} nn_op_kind;

/* The kinds, in dd_layer_kind order (src/nn/op_table.c). */
const nn_op_kind *nn_op_of(dd_layer_kind kind);
/* The kind whose cfg section is name, or NULL. */
const nn_op_kind *nn_op_find(const char *section);

/* Each kind's record, defined in its own file. */
extern const nn_op_kind nn_op_conv2d, nn_op_batchnorm, nn_op_activation, nn_op_maxpool, nn_op_flatten, nn_op_dense,
    nn_op_dropout, nn_op_globalavgpool;

/* For fuse functions: layer i of s is [activation] relu. */
bool nn_is_relu_layer(const dd_model_spec *s, int i);
/* The default fuse: the layer alone, forward and backward as given. */
int nn_fuse_alone(nn_step *st, nn_forward_fn forward, nn_backward_fn backward);

/* For plans (src/nn/plan.c) and the memory estimate (src/nn/model_spec.c): whether layer i keeps an output buffer of
 * its own in a workspace (not when it works in place or is folded into the layer after it). */
bool nn_layer_keeps_output(const dd_model_spec *s, int i, bool training);

#endif
