/* A hook into training's backward walk (dd_model_backward, dd_model_backward_soft), for data-parallel training:
 * the layers run last to first and the parameter block is laid out first to last, so after each layer a suffix of
 * the gradient block is final and can be summed over the ranks while backward goes on (train/grad_sync.c). The
 * model code stays free of MPI: it only says how far the final part reaches. */
#ifndef DOODLE_NN_BACKWARD_HOOK_H
#define DOODLE_NN_BACKWARD_HOOK_H

#include <stddef.h>

#include "doodle/model.h"

/* Called on the thread that runs backward, between layers (the workspace's worker threads are idle then):
 * grads [final_from, n_params) hold their final values for this pass and backward will not touch them again. The
 * last call, after the first layer, has final_from = 0 (or where the first parameters start). */
typedef void (*nn_grads_final_fn)(void *ctx, size_t final_from);

/* fn NULL: no calls (the default). */
void nn_workspace_set_grads_final(dd_workspace *ws, nn_grads_final_fn fn, void *ctx);

#endif
