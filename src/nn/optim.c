/* Adam (Keras' form) and SGD with momentum over one parameter block; learning-rate schedules. */
#include "doodle/optim.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "doodle/alloc.h"
#include "nn/fast.h"

#define PI 3.14159265358979323846

int dd_optimizer_init(dd_optimizer *o, dd_opt_kind kind, size_t n, dd_error *err) {
    memset(o, 0, sizeof *o);
    o->kind = kind;
    o->beta1 = 0.9f;
    o->beta2 = 0.999f;
    o->epsilon = 1e-7f;
    o->momentum = 0.9f;
    o->n = n;
    if (!(o->m = dd_calloc(n, sizeof *o->m, err))) return -1;
    if (kind == DD_OPT_ADAM && !(o->v = dd_calloc(n, sizeof *o->v, err))) {
        free(o->m);
        o->m = NULL;
        return -1;
    }
    return 0;
}

void dd_optimizer_free(dd_optimizer *o) {
    free(o->m);
    free(o->v);
    o->m = o->v = NULL;
}

static void adam_step(dd_optimizer *o, float *p, const float *g, const uint8_t *mask, float lr) {
    o->step++;
    /* bias corrections folded into the step size, as Keras does */
    double t = (double)o->step;
    float lr_t = (float)(lr * sqrt(1 - pow(o->beta2, t)) / (1 - pow(o->beta1, t)));
    nn_fast_adam a = {
        .beta1 = o->beta1, .beta2 = o->beta2, .epsilon = o->epsilon, .lr_t = lr_t, .decay = lr * o->weight_decay};
    nn_fast_adam_update(p, o->m, o->v, g, mask, o->n, &a);
}

static void sgd_step(dd_optimizer *o, float *p, const float *g, const uint8_t *mask, float lr) {
    o->step++;
    nn_fast_sgd_update(p, o->m, g, mask, o->n, o->momentum, lr, lr * o->weight_decay, o->nesterov);
}

void dd_optimizer_step(dd_optimizer *o, float *params, const float *grads, const uint8_t *decay_mask, float lr) {
    if (o->kind == DD_OPT_ADAM)
        adam_step(o, params, grads, decay_mask, lr);
    else
        sgd_step(o, params, grads, decay_mask, lr);
}

int dd_opt_kind_parse(const char *name) {
    if (!strcmp(name, "adam")) return DD_OPT_ADAM;
    if (!strcmp(name, "sgd")) return DD_OPT_SGD;
    return -1;
}

float dd_schedule_lr(const dd_schedule *s, double progress) {
    if (s->warmup_epochs > 0 && progress < s->warmup_epochs) return (float)(s->base_lr * progress / s->warmup_epochs);
    double after = progress - s->warmup_epochs;
    switch (s->kind) {
    case DD_SCHEDULE_STEP:
        return s->step_epochs > 0 ? (float)(s->base_lr * pow(s->gamma, floor(after / s->step_epochs))) : s->base_lr;
    case DD_SCHEDULE_COSINE: {
        double span = s->total_epochs - s->warmup_epochs;
        double f = span > 0 ? fmin(after / span, 1.0) : 1.0;
        return (float)(s->min_lr + (s->base_lr - s->min_lr) * 0.5 * (1 + cos(PI * f)));
    }
    default: return s->base_lr;
    }
}

int dd_schedule_kind_parse(const char *name) {
    if (!strcmp(name, "constant")) return DD_SCHEDULE_CONSTANT;
    if (!strcmp(name, "step")) return DD_SCHEDULE_STEP;
    if (!strcmp(name, "cosine")) return DD_SCHEDULE_COSINE;
    return -1;
}
