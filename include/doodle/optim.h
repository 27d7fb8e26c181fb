/* Optimizers over one contiguous parameter block and its gradient block, and learning-rate schedules.
 *
 * Adam follows Keras (defaults lr 0.001, beta1 0.9, beta2 0.999, epsilon 1e-7, with Keras' "epsilon hat" form:
 * p -= lr * sqrt(1 - beta2^t) / (1 - beta1^t) * m / (sqrt(v) + epsilon)). SGD has momentum (optionally
 * Nesterov, PyTorch's form: v = mu * v + g; p -= lr * v, or p -= lr * (g + mu * v)). Weight decay is decoupled
 * (AdamW / SGDW: p -= lr * wd * p) and applies only where decay_mask is non-zero (weights, not biases or
 * BatchNorm), so one call updates the whole block. */
#ifndef DOODLE_OPTIM_H
#define DOODLE_OPTIM_H

#include <stddef.h>
#include <stdint.h>

#include "doodle/error.h"

typedef struct dd_workspace dd_workspace; /* doodle/model.h */

#ifdef __cplusplus
extern "C" {
#endif

typedef enum dd_opt_kind { DD_OPT_ADAM = 0, DD_OPT_SGD = 1 } dd_opt_kind;

typedef struct dd_optimizer {
    dd_opt_kind kind;
    float beta1, beta2, epsilon; /* Adam */
    float momentum;              /* SGD */
    int nesterov;                /* SGD */
    float weight_decay;          /* decoupled, 0 = none */
    uint64_t step;               /* updates done so far (Adam's t) */
    size_t n;
    float *m, *v; /* Adam: first and second moments; SGD: m is the velocity, v unused */
} dd_optimizer;

/* Keras/PyTorch defaults for the kind; n parameters; moments zeroed. */
int dd_optimizer_init(dd_optimizer *o, dd_opt_kind kind, size_t n, dd_error *err);
void dd_optimizer_free(dd_optimizer *o);
/* One update of params[n] from grads[n] at learning rate lr. decay_mask[n] may be NULL (decay everything). */
void dd_optimizer_step(dd_optimizer *o, float *params, const float *grads, const uint8_t *decay_mask, float lr);
/* The same on a workspace's threads (dd_workspace_set_threads), with the same bits: for networks whose parameter
 * block is large (lenet's 9.4 M), where one thread streaming it would leave the others waiting. */
void dd_optimizer_step_ws(dd_optimizer *o, dd_workspace *ws, float *params, const float *grads,
                          const uint8_t *decay_mask, float lr);
/* "adam" / "sgd" -> kind; -1 if unknown. */
int dd_opt_kind_parse(const char *name);

/* Learning rate at a point of training: constant, step decay (times gamma every step_epochs), or cosine to
 * min_lr over total_epochs; all after a linear warm-up of warmup_epochs (fractions allowed). */
typedef enum dd_schedule_kind { DD_SCHEDULE_CONSTANT = 0, DD_SCHEDULE_STEP, DD_SCHEDULE_COSINE } dd_schedule_kind;

typedef struct dd_schedule {
    dd_schedule_kind kind;
    float base_lr, min_lr;
    float gamma;        /* step */
    float step_epochs;  /* step */
    float total_epochs; /* cosine */
    float warmup_epochs;
} dd_schedule;

/* progress = epochs done so far, with the fraction of the current epoch (e.g. 2.5 = halfway through epoch 3). */
float dd_schedule_lr(const dd_schedule *s, double progress);
/* "constant" / "step" / "cosine" -> kind; -1 if unknown. */
int dd_schedule_kind_parse(const char *name);

#ifdef __cplusplus
}
#endif
#endif
