/* Adam (Keras' form) and SGD with momentum over one parameter block; learning-rate schedules. */
#include "doodle/optim.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "doodle/alloc.h"
#include "nn/fast.h"
#include "nn/workspace.h"

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

/* One update over parameters [lo, hi) of the block, by whichever thread has them. */
typedef struct step_job {
    dd_optimizer *o;
    float *p;
    const float *g;
    const uint8_t *mask;
    float lr;
    nn_fast_adam adam;
} step_job;

static void update_range(const step_job *j, size_t lo, size_t hi) {
    const dd_optimizer *o = j->o;
    const uint8_t *mask = j->mask ? j->mask + lo : NULL;
    if (o->kind == DD_OPT_ADAM)
        nn_fast_adam_update(j->p + lo, o->m + lo, o->v + lo, j->g + lo, mask, hi - lo, &j->adam);
    else
        nn_fast_sgd_update(j->p + lo, o->m + lo, j->g + lo, mask, hi - lo, o->momentum, j->lr, j->lr * o->weight_decay,
                           o->nesterov);
}

static void update_part(void *ctx, int t, int threads) {
    const step_job *j = ctx;
    size_t lo, hi;
    util_share(j->o->n, t, threads, &lo, &hi);
    update_range(j, lo, hi);
}

/* pool NULL: the calling thread alone. Element by element, so any split gives the same bits. */
static void step(dd_optimizer *o, util_pool *pool, float *p, const float *g, const uint8_t *mask, float lr) {
    o->step++;
    step_job j = {.o = o, .p = p, .g = g, .mask = mask, .lr = lr};
    if (o->kind == DD_OPT_ADAM) {
        /* bias corrections folded into the step size, as Keras does */
        double t = (double)o->step;
        float lr_t = (float)(lr * sqrt(1 - pow(o->beta2, t)) / (1 - pow(o->beta1, t)));
        j.adam = (nn_fast_adam){
            .beta1 = o->beta1, .beta2 = o->beta2, .epsilon = o->epsilon, .lr_t = lr_t, .decay = lr * o->weight_decay};
    }
    if (pool)
        util_pool_run(pool, update_part, &j);
    else
        update_range(&j, 0, o->n);
}

void dd_optimizer_step(dd_optimizer *o, float *params, const float *grads, const uint8_t *decay_mask, float lr) {
    step(o, NULL, params, grads, decay_mask, lr);
}

void dd_optimizer_step_ws(dd_optimizer *o, dd_workspace *ws, float *params, const float *grads,
                          const uint8_t *decay_mask, float lr) {
    step(o, ws->pool, params, grads, decay_mask, lr);
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
