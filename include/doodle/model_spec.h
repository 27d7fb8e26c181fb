/* A network's description: the model cfg text, parsed, with every shape and parameter count worked out.
 *
 * The cfg is INI-like text in the spirit of darknet's: a [net] section, then one section per layer in order.
 *
 *   [net]        input = HxWxC (e.g. 66x100x1), classes = N, name = … (optional; the summary's model name)
 *   [conv2d]     filters, kernel = K or KHxKW, stride = 1, padding = same|valid (Keras' rules, default valid),
 *                activation = relu|linear (default linear), bias = 1
 *   [batchnorm]  momentum = 0.99, epsilon = 0.001 (Keras' convention: running = momentum * running + …)
 *   [activation] type = relu|linear
 *   [maxpool]    size, stride = size (no padding; Keras' floor rule)
 *   [flatten]
 *   [dense]      units (a number, or `classes` for [net]'s classes), activation = relu|linear, bias = 1
 *   [dropout]    rate (0 <= rate < 1)
 *   [globalavgpool]  (no keys) each channel's mean over the image: HxWxC -> C flat values
 *
 * Every layer section also takes `name = …` (letters, digits, '_' and '-'); without it a layer gets Keras'
 * name (conv2d, conv2d_1, batch_normalization, activation, max_pooling2d, flatten, dense, dropout,
 * global_average_pooling2d, …). Comments
 * start with '#' or ';' anywhere on a line; blank lines and spaces around names, '=', values and the 'x' of sizes
 * are ignored; section and key names and words (relu, same, …) may be in any case.
 *
 * Shapes are (C, H, W) as the layers see them (NCHW activations, include/doodle/layers.h); after a [flatten], a
 * [globalavgpool] or a [dense] a shape is flat: rank 1, C values, H = W = 1. The summary prints them NHWC as Keras
 * does.
 *
 * Parameters live in ONE contiguous float block so that the optimizer, saving and the MPI all-reduce touch one
 * buffer: layer by layer in cfg order, conv weight [out_c, in_c, kh, kw] then bias [out_c]; batchnorm gamma [C]
 * then beta [C]; dense weight [out, in] then bias [out]; no gaps. The batchnorm running mean [C] and running
 * variance [C] live the same way in one state block (Keras' non-trainable parameters). The spec holds offsets
 * and counts only, never buffers. */
#ifndef DOODLE_MODEL_SPEC_H
#define DOODLE_MODEL_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "doodle/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define DD_SPEC_NAME_MAX 64       /* layer and model names, including the NUL */
#define DD_SPEC_INT_MAX (1 << 20) /* largest integer a cfg may give (sizes, filters, units, classes) */

typedef enum dd_layer_kind {
    DD_LAYER_CONV2D,
    DD_LAYER_BATCHNORM,
    DD_LAYER_ACTIVATION,
    DD_LAYER_MAXPOOL,
    DD_LAYER_FLATTEN,
    DD_LAYER_DENSE,
    DD_LAYER_DROPOUT,
    DD_LAYER_GLOBALAVGPOOL,
    DD_LAYER_KIND_COUNT
} dd_layer_kind;

typedef enum dd_activation { DD_ACT_LINEAR = 0, DD_ACT_RELU } dd_activation;

typedef struct dd_shape {
    int rank; /* 3: (C, H, W); 1: flat, C values (H = W = 1) */
    int c, h, w;
} dd_shape;

/* Where one tensor lives in its block (count 0: the layer has no such tensor). */
typedef struct dd_slot {
    size_t offset, count;
} dd_slot;

typedef struct dd_conv2d_spec {
    int filters, kernel_h, kernel_w, stride;
    int same_padding; /* 1: Keras "same", 0: "valid" */
    int bias;
    dd_activation activation;
    int pad_top, pad_left; /* zero padding before the first row / column ("same"); the rest is at the bottom/right */
} dd_conv2d_spec;

typedef struct dd_dense_spec {
    int units;
    int units_from_classes; /* written `units = classes` */
    int bias;
    dd_activation activation;
} dd_dense_spec;

typedef struct dd_batchnorm_spec {
    float momentum, epsilon;
} dd_batchnorm_spec;

typedef struct dd_maxpool_spec {
    int size, stride;
} dd_maxpool_spec;

typedef struct dd_layer_spec {
    dd_layer_kind kind;
    char name[DD_SPEC_NAME_MAX];
    int line; /* line of the layer's [section] in the cfg text */
    dd_shape in, out;
    union {
        dd_conv2d_spec conv;      /* DD_LAYER_CONV2D */
        dd_dense_spec dense;      /* DD_LAYER_DENSE */
        dd_batchnorm_spec bn;     /* DD_LAYER_BATCHNORM */
        dd_maxpool_spec pool;     /* DD_LAYER_MAXPOOL */
        dd_activation activation; /* DD_LAYER_ACTIVATION */
        float dropout_rate;       /* DD_LAYER_DROPOUT */
    } u;
    size_t n_trainable;     /* floats of this layer in the parameter block */
    size_t n_non_trainable; /* floats of this layer in the state block (batchnorm running statistics) */
    /* In the parameter block: conv/dense weight and bias, batchnorm gamma (weight) and beta (bias). */
    dd_slot weight, bias;
    /* In the state block (batchnorm only). */
    dd_slot running_mean, running_var;
} dd_layer_spec;

typedef struct dd_model_spec {
    char name[DD_SPEC_NAME_MAX]; /* built-in name, [net] name, or the cfg file's name without .cfg */
    dd_shape input;              /* rank 3 */
    int classes;
    int n_layers;
    dd_layer_spec *layers;
    size_t n_params; /* floats in the parameter block: Keras' trainable parameters */
    size_t n_state;  /* floats in the state block: Keras' non-trainable parameters */
    char *cfg_text;  /* the cfg text it was made from (NUL-terminated), to store with trained weights */
} dd_model_spec;

/* Changes to what the cfg says, e.g. from the command line; 0 keeps the cfg's value. */
typedef struct dd_spec_overrides {
    int classes;
    int input_h, input_w;
} dd_spec_overrides;

/* Parses cfg text (len bytes, need not be NUL-terminated) and works out shapes, counts and the parameter layout.
 * source names the text in error messages ("models/x.cfg:12: [maxpool] size 4 is larger than its input 2x3");
 * name is the model's name unless [net] gives one (NULL: "model"). overrides may be NULL. Returns NULL and sets
 * err (DD_ERR_MALFORMED for bad text, DD_ERR_RANGE for shapes that do not fit or a network that needs more
 * memory than dd_memory_limit() for inference on one image, DD_ERR_NOMEM) on failure. Nothing the size of the
 * network is allocated here. */
dd_model_spec *dd_model_spec_parse(const char *text, size_t len, const char *source, const char *name,
                                   const dd_spec_overrides *overrides, dd_error *err);
/* Reads a .cfg file; the model is named after the file (without directories and .cfg). */
dd_model_spec *dd_model_spec_load(const char *path, const dd_spec_overrides *overrides, dd_error *err);
/* Floating-point operations for one image: 2 x the multiply-adds of the conv and dense layers in a forward pass (as
 * ../shared/peers/models.py counts them); a training step counts 3x that (forward, input and weight gradients). */
double dd_model_flops(const dd_model_spec *s, bool training);
/* A network built into the binary (models/<name>.cfg at build time): "seed", "lenet", "mnist28". An unknown
 * name is a DD_ERR_USAGE error that lists the built-in names. */
dd_model_spec *dd_model_spec_builtin(const char *name, const dd_spec_overrides *overrides, dd_error *err);
/* What a --model option names: a .cfg file (a name ending in .cfg or holding a '/') or else a built-in network. */
dd_model_spec *dd_model_spec_named(const char *model, const dd_spec_overrides *overrides, dd_error *err);
void dd_model_spec_free(dd_model_spec *spec);

/* ---- memory bound ----
 * A small file can describe a network that needs gigabytes (a 2048x1024 input with 1,000 filters: 8.4 GB of
 * activations per image). Every spec parsed is checked for inference on one image; code that makes buffers for a
 * batch checks that batch with dd_model_spec_check_memory. Sizes in bytes, 1 GB = 10^9 bytes.
 *
 * The default, 8 GB: the largest need of a built-in network at the batch sizes doodle uses is seed's, training
 * at batch 512 (4.5 GB by this estimate, 3.7 GB peak RSS measured); inference at batch 256 needs at most 0.9 GB. */
#define DD_MEMORY_LIMIT_DEFAULT ((uint64_t)8000 * 1000 * 1000)
/* Sets the bound for the whole process (0: back to the default); the CLI sets it from DOODLE_MAX_MEMORY_MB. */
void dd_set_memory_limit(uint64_t bytes);
uint64_t dd_memory_limit(void);
/* Bytes a network needs for a batch, estimated as src/nn/workspace.c allocates: 4 x (parameters and state, one
 * im2col buffer, batch x the activation floats of one image). Training adds gradients and two optimizer moments
 * per parameter, the gradient buffers, dropout masks. Saturates at UINT64_MAX instead of overflowing. */
uint64_t dd_model_spec_memory(const dd_model_spec *s, int batch, bool training);
/* 0 when dd_model_spec_memory is within dd_memory_limit(); else DD_ERR_RANGE with a message that names the size,
 * the largest layer and the limit and how to raise it ("source: " first when source is not NULL). */
int dd_model_spec_check_memory(const dd_model_spec *s, int batch, bool training, const char *source, dd_error *err);

/* The built-in networks: names in alphabetical order, NULL past the end; and a built-in cfg's text (NULL when
 * there is no such network). */
const char *dd_model_builtin_name(size_t i);
const char *dd_model_builtin_cfg(const char *name, size_t *len);

/* The cfg section name ("conv2d") and Keras' class name ("Conv2D") of a kind. */
const char *dd_layer_kind_name(dd_layer_kind kind);
const char *dd_layer_keras_class(dd_layer_kind kind);
/* Number of floats in a shape (C*H*W). */
size_t dd_shape_count(dd_shape s);
/* Keras' rendering of an output shape, channels last: "(None, 66, 100, 64)" or "(None, 3072)". */
void dd_shape_keras(dd_shape s, char *buf, size_t size);

/* Prints the table of Keras 2.x's model.summary(): Layer (type), Output Shape, Param #, then the totals. */
void dd_model_spec_summary(const dd_model_spec *spec, FILE *out);

#ifdef __cplusplus
}
#endif
#endif
