/* A network ready to run: its spec (include/doodle/model_spec.h), one parameter block, one state block
 * (BatchNorm running statistics), the class names and the rendering settings it was trained with.
 *
 * Running a model needs a dd_workspace (activations, gradients and scratch for a batch size). A model is shared
 * read-only by any number of threads for inference, each with its own workspace; training changes the state block
 * (running statistics) and so owns the model.
 *
 * Files: safetensors (include/doodle/safetensors.h). Tensors are named after the layers: "<layer>.weight",
 * "<layer>.bias", "<layer>.running_mean", "<layer>.running_var" (conv weight [out, in, kh, kw], dense weight
 * [out, in], as PyTorch lays them out). __metadata__ holds "format" = "doodle-model", "format_version" = "1", the
 * cfg text ("cfg"), the class names ("classes", a JSON array), the input size ("input", HxWxC) and the
 * rendering settings ("render", JSON), the BatchNorm layers' epsilon and momentum ("batchnorm", JSON; absent in
 * older files, which use the cfg's) and the model's name ("name": the built-in's or the cfg's, shown by summary and
 * serve's page; absent in older files, which are "model"), so one file is a whole model. */
#ifndef DOODLE_MODEL_H
#define DOODLE_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "doodle/error.h"
#include "doodle/model_spec.h"
#include "doodle/render.h"
#include "doodle/rng.h"
#include "doodle/safetensors.h"

#ifdef __cplusplus
extern "C" {
#endif

#define DD_MODEL_FORMAT_VERSION 1

typedef struct dd_model {
    dd_model_spec *spec;
    float *params;                         /* [spec->n_params] */
    float *state;                          /* [spec->n_state] */
    char (*class_names)[DD_SPEC_NAME_MAX]; /* [spec->classes]; "class 0", … until set from a dataset */
    dd_render_opts render;                 /* how strokes are rendered for this model (size = the input size) */
} dd_model;

/* Takes ownership of spec. Initialises as Keras does: Glorot-uniform weights from seed, zero biases, BatchNorm
 * gamma 1 and beta 0, running mean 0 and variance 1. */
dd_model *dd_model_new(dd_model_spec *spec, uint64_t seed, dd_error *err);
void dd_model_free(dd_model *m);
/* Sets class i's name (at most DD_SPEC_NAME_MAX - 1 bytes). */
int dd_model_set_class_name(dd_model *m, int i, const char *name, dd_error *err);

/* Adds the model's tensors and metadata to a safetensors writer (a checkpoint adds its own next to them); the
 * tensors point into m, which must outlive the write. */
int dd_model_add_to(const dd_model *m, dd_st_writer *w, dd_error *err);
/* Writes the model as one .safetensors file, atomically. */
int dd_model_save(const dd_model *m, const char *path, dd_error *err);
/* Reads a model from an open safetensors file / from a path. Every tensor must be there with its shape. */
dd_model *dd_model_from(const dd_st_file *f, const char *path, dd_error *err);
dd_model *dd_model_load(const char *path, dd_error *err);

typedef struct dd_workspace dd_workspace;

/* Buffers for batches of up to max_batch; training adds what backward needs. Everything a pass needs is allocated
 * here, none of it during a pass. A new workspace runs on the calling thread alone.
 *
 * BLAS: doodle calls OpenBLAS single-threaded (openblas_set_num_threads(1), done here) from its own threads, so a
 * program that also wants threaded BLAS elsewhere must set the count back around its own calls. */
dd_workspace *dd_workspace_new(const dd_model *m, int max_batch, bool training, dd_error *err);
void dd_workspace_free(dd_workspace *ws);
/* Runs the passes on `threads` threads (this one and threads - 1 workers owned by the workspace, asleep between
 * passes). Work is split statically, so the same thread count gives the same bits, run after run. */
int dd_workspace_set_threads(dd_workspace *ws, int threads, dd_error *err);
int dd_workspace_threads(const dd_workspace *ws);

/* Inference: x [batch, C, H, W] (pixels 0..1) -> logits [batch, classes], owned by the workspace. BatchNorm uses
 * the running statistics, dropout is the identity. */
const float *dd_model_infer(const dd_model *m, dd_workspace *ws, const float *x, int batch);

/* Training forward: BatchNorm uses (and updates the running statistics with) the batch's statistics, dropout
 * draws its masks from rng. Returns the logits. */
const float *dd_model_forward_train(dd_model *m, dd_workspace *ws, const float *x, int batch, dd_rng *rng);
/* After dd_model_forward_train: softmax cross-entropy against labels [batch]; gradients of the mean loss are
 * ADDED to grads [n_params] (zero it first). Returns the mean loss; probs [batch, classes] stay in the workspace
 * (dd_workspace_probs). */
float dd_model_backward(const dd_model *m, dd_workspace *ws, const int32_t *labels, int batch, float *grads);
/* The same against soft targets [batch, classes], each row summing to 1 (label smoothing, mixup). */
float dd_model_backward_soft(const dd_model *m, dd_workspace *ws, const float *targets, int batch, float *grads);
const float *dd_workspace_probs(const dd_workspace *ws);

/* For explanations, after dd_model_infer on a workspace made with training = true: back-propagates dlogits
 * [batch, classes] (e.g. one-hot on a class for saliency) through the inference function (BatchNorm with its
 * running statistics, dropout as the identity) and writes to dx the gradient with respect to the output of layer
 * stop_after ([batch, count of its out shape], the activation Grad-CAM wants), or with respect to the input image
 * ([batch, C, H, W]) when stop_after is -1. Parameters get no gradients. Returns -1 for a bad batch or layer or a
 * workspace without gradient buffers. */
int dd_model_backward_infer(const dd_model *m, dd_workspace *ws, const float *dlogits, int batch, int stop_after,
                            float *dx);
/* Output of layer i (after its own activation) from the last forward pass: [batch, count of its out shape].
 * A workspace made for inference only (training = false) folds each BatchNorm into the conv before it and keeps
 * no output of that conv: NULL for such a conv layer (the BatchNorm's output is there); where a 2x2 max-pool is
 * fused into a 3x3 conv, it keeps no output of the conv, BatchNorm and ReLU before the pool either (NULL). A
 * training workspace keeps every layer's output. */
const float *dd_workspace_layer_output(const dd_workspace *ws, int i);

/* Which parameters weight decay applies to (conv and dense weights, not biases or BatchNorm): [n_params], 0/1. */
uint8_t *dd_model_decay_mask(const dd_model *m, dd_error *err);

#ifdef __cplusplus
}
#endif
#endif
