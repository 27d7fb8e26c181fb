/* A workspace's insides, shared by its making (src/nn/workspace.c: the plans and the arena) and its passes
 * (src/nn/forward.c). */
#ifndef DOODLE_NN_WORKSPACE_H
#define DOODLE_NN_WORKSPACE_H

#include "nn/backward_hook.h"
#include "nn/op.h"

/* A list of steps, run first to last (forward) or last to first (backward). */
typedef struct nn_plan {
    nn_step *steps;
    int n;
} nn_plan;

struct dd_workspace {
    int max_batch;
    bool training;
    int n_layers;
    nn_layer_ws *layers;
    nn_plan forward;      /* for this workspace's kind: an inference workspace folds BatchNorms into convs */
    nn_plan backward;     /* training only */
    void *arena;          /* the one block every buffer below lives in (64-byte aligned offsets) */
    util_pool *pool;      /* NULL: one thread */
    nn_fast_scratch fast; /* per-thread scratch of the fast kernels (reallocated with the thread count) */
    size_t col_size, dweight_size, dbias_size; /* what one thread needs of each */
    float *scratch;                            /* thread 0's im2col buffer, for the reference kernels (explanations) */
    float *probs;                              /* [max_batch * classes] */
    float *grad[2];                            /* [max_batch * largest activation], training */
    const float *input;
    nn_grads_final_fn grads_final; /* training's backward tells it after each step (nn/backward_hook.h) */
    void *grads_final_ctx;
};

#endif
