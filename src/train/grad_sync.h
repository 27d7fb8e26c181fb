/* The gradient block summed over the ranks once a step, in buckets started during backward (as PyTorch DDP does):
 * the layers run last to first and the block is laid out first to last, so after each layer a suffix of it is
 * final (nn/backward_hook.h); each bucket that is complete is weighted by this rank's share of the global batch and
 * goes into a non-blocking all-reduce at once, MPI's progress is driven between layers, and all of them are waited
 * for before the optimizer step. The block's two extra slots (the step's loss sum and a stop flag) ride the last
 * bucket, which starts after backward. Options: no overlap (one blocking all-reduce after backward, as before) and
 * bfloat16 gradients (half the bytes, about 3 significant digits). One rank: nothing is sent, nothing weighted.
 * Every rank makes the same buckets from the model alone, so the ranks' collectives always match. */
#ifndef DOODLE_TRAIN_GRAD_SYNC_H
#define DOODLE_TRAIN_GRAD_SYNC_H

#include <stdbool.h>
#include <stddef.h>

#include "doodle/error.h"
#include "doodle/model.h"

typedef struct grad_sync grad_sync;

/* bucket_bytes: the least a bucket holds (of float32 gradients) before it is sent; a layer larger than that is sent
 * in pieces of about that size. */
grad_sync *grad_sync_new(const dd_model_spec *spec, int ranks, bool overlap, bool bf16, size_t bucket_bytes,
                         dd_error *err);
void grad_sync_free(grad_sync *g);
/* [n_params]: where backward adds the gradients */
float *grad_sync_grads(grad_sync *g);
/* Installs the hook on a training workspace (with several ranks and the overlap on; else nothing). */
void grad_sync_attach(grad_sync *g, dd_workspace *ws);
/* Before backward: the block zeroed; weight = this rank's share of the global batch (got / global). */
void grad_sync_begin(grad_sync *g, float weight);
/* After backward (or instead of it, on a rank with no drawings this step): the rest sent, everything waited for.
 * In: this rank's loss sum and stop flag; out: the sums over the ranks. The gradients are then the same on every
 * rank. */
void grad_sync_finish(grad_sync *g, float *loss_sum, float *stop);
/* The time this rank spent in it (not hidden behind backward), the bytes it handed to MPI, and the bucket count. */
double grad_sync_seconds(const grad_sync *g);
unsigned long long grad_sync_bytes(const grad_sync *g);
size_t grad_sync_buckets(const grad_sync *g);

#endif
