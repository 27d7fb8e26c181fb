/* The training tricks against overfitting that act on a batch or on the weights, apart from the loop: soft
 * targets (label smoothing), mixup, and an exponential moving average (EMA) of the weights. */
#ifndef DOODLE_TRAIN_RECIPE_H
#define DOODLE_TRAIN_RECIPE_H

#include <stddef.h>
#include <stdint.h>

#include "doodle/rng.h"

/* targets [batch, classes]: row b is (1 - e) on labels[b] plus e / classes on every class (e = 0: one-hot). */
void recipe_smoothed_targets(float *targets, const int32_t *labels, int batch, int classes, float e);

/* A draw from Beta(a, a), a > 0 (mixup's blending weight), through two Gamma(a) draws (Marsaglia and Tsang). */
double recipe_beta(dd_rng *rng, double a);

/* mixup in place: drawing b and its targets become lambda * b + (1 - lambda) * (batch - 1 - b), the batch blended
 * with itself reversed (the order is already random), so no second batch is loaded. x is [batch, pixels]. */
void recipe_mixup(float *x, size_t pixels, float *targets, int batch, int classes, float lambda);

/* The EMA's decay at optimizer step `step` (1 for the first): min(decay, (1 + step) / (10 + step)), so that the
 * first steps' random weights are forgotten quickly (TensorFlow's ExponentialMovingAverage with num_updates). */
float recipe_ema_decay(float decay, uint64_t step);

/* ema = d * ema + (1 - d) * params over n values. */
void recipe_ema_update(float *ema, const float *params, size_t n, float d);

/* a[i] <-> b[i] over n values (the EMA weights in and out of the model for evaluation). */
void recipe_swap(float *a, float *b, size_t n);

#endif
