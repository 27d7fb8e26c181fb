/* Bucketed, overlapped all-reduce of the gradient block (see grad_sync.h). */
#define _POSIX_C_SOURCE 200809L
#include "train/grad_sync.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "doodle/clock.h"
#include "nn/backward_hook.h"
#include "train/bf16.h"
#include "train/dist.h"
#include "doodle/alloc.h"

typedef struct bucket {
    size_t lo, hi; /* gradients [lo, hi) */
} bucket;

struct grad_sync {
    float *block;   /* [2 + n]: loss sum, stop flag, then the gradients */
    uint16_t *half; /* [n]: the bf16 copy that travels, with bf16 */
    size_t n;
    int ranks;
    bool overlap, bf16;
    bucket *buckets; /* in the order they are sent (from the block's end); the last one starts at 0 */
    size_t n_buckets, next;
    float weight;
    dist_pending *pending;
    double seconds;
    unsigned long long bytes;
};

/* Where layer l's parameters start, or `cur` if it has none (the same rule as backward's hook). */
static size_t params_from(const dd_layer_spec *l, size_t cur) {
    if (l->weight.count && l->weight.offset < cur) cur = l->weight.offset;
    if (l->bias.count && l->bias.offset < cur) cur = l->bias.offset;
    return cur;
}

/* [lo, hi) as pieces of about `most` floats, appended to the plan (NULL plan: only counted). */
static size_t add_pieces(bucket *plan, size_t at, size_t lo, size_t hi, size_t most) {
    size_t k = (hi - lo + most - 1) / most, start = hi;
    for (size_t j = 1; j <= k; j++) {
        size_t end = start;
        start = j == k ? lo : hi - (hi - lo) * j / k;
        if (plan) plan[at] = (bucket){start, end};
        at++;
    }
    return at;
}

/* Walks the layers last to first, closing a bucket at the first layer boundary where it holds `least` floats;
 * what is left (the first layers) is the last bucket. Without overlap: one bucket. Returns the count. */
static size_t plan_buckets(const dd_model_spec *s, bool overlap, size_t least, bucket *plan) {
    size_t at = 0, hi = s->n_params, from = s->n_params;
    for (int i = s->n_layers - 1; i >= 0 && overlap; i--) {
        from = params_from(&s->layers[i], from);
        if (from > 0 && hi - from >= least) {
            at = add_pieces(plan, at, from, hi, least);
            hi = from;
        }
    }
    if (hi > 0)
        at = add_pieces(plan, at, 0, hi, overlap ? least : (size_t)1 << 29);
    else if (plan)
        plan[at] = (bucket){0, 0}, at++;
    else
        at++;
    return at;
}

grad_sync *grad_sync_new(const dd_model_spec *spec, int ranks, bool overlap, bool bf16, size_t bucket_bytes,
                         dd_error *err) {
    grad_sync *g = dd_calloc(1, sizeof *g, err);
    if (!g) return NULL;
    g->n = spec->n_params;
    g->ranks = ranks;
    g->overlap = overlap && ranks > 1;
    g->bf16 = bf16 && ranks > 1;
    size_t least = bucket_bytes / sizeof(float) ? bucket_bytes / sizeof(float) : 1;
    g->n_buckets = plan_buckets(spec, g->overlap, least, NULL);
    if (!(g->block = dd_malloc(g->n + 2, sizeof *g->block, err)) ||
        !(g->buckets = dd_malloc(g->n_buckets, sizeof *g->buckets, err)) ||
        (g->bf16 && !(g->half = dd_malloc(g->n ? g->n : 1, sizeof *g->half, err))) ||
        !(g->pending = dist_pending_new(g->n_buckets + 1, err))) {
        grad_sync_free(g);
        return NULL;
    }
    plan_buckets(spec, g->overlap, least, g->buckets);
    return g;
}

void grad_sync_free(grad_sync *g) {
    if (!g) return;
    free(g->block);
    free(g->half);
    free(g->buckets);
    dist_pending_free(g->pending);
    free(g);
}

float *grad_sync_grads(grad_sync *g) { return g->block + 2; }

/* Bucket k weighted and on its way (float32 in place; bf16 through the copy). */
static void send(grad_sync *g, size_t k) {
    const bucket *b = &g->buckets[k];
    float *grads = g->block + 2, w = g->weight;
    if (g->bf16) {
        for (size_t i = b->lo; i < b->hi; i++) g->half[i] = bf16_from_float(grads[i] * w);
        dist_isum_bf16(g->pending, g->half + b->lo, b->hi - b->lo);
        g->bytes += (b->hi - b->lo) * sizeof *g->half;
    } else {
        for (size_t i = b->lo; i < b->hi; i++) grads[i] *= w;
        dist_isum_floats(g->pending, grads + b->lo, b->hi - b->lo);
        g->bytes += (b->hi - b->lo) * sizeof *grads;
    }
}

/* The hook: every bucket that is complete now goes (never the last one: the extras ride it), then progress. */
static void on_final(void *ctx, size_t final_from) {
    grad_sync *g = ctx;
    double t = dd_now_seconds();
    while (g->next + 1 < g->n_buckets && g->buckets[g->next].lo >= final_from) send(g, g->next++);
    dist_progress(g->pending);
    g->seconds += dd_now_seconds() - t;
}

void grad_sync_attach(grad_sync *g, dd_workspace *ws) {
    if (g->overlap) nn_workspace_set_grads_final(ws, on_final, g);
}

void grad_sync_begin(grad_sync *g, float weight) {
    memset(g->block, 0, (g->n + 2) * sizeof *g->block);
    g->weight = weight;
    g->next = 0;
}

void grad_sync_finish(grad_sync *g, float *loss_sum, float *stop) {
    g->block[0] = *loss_sum;
    g->block[1] = *stop;
    if (g->ranks == 1) return;
    double t = dd_now_seconds();
    while (g->next + 1 < g->n_buckets) send(g, g->next++); /* all of them, on a rank whose backward did not run */
    const bucket *last = &g->buckets[g->n_buckets - 1];
    float *grads = g->block + 2;
    if (g->bf16) { /* the extras as floats: bf16 would round the loss shown to 3 digits */
        send(g, g->next);
        dist_isum_floats(g->pending, g->block, 2);
        g->bytes += 2 * sizeof *g->block;
        dist_wait_all(g->pending);
        for (size_t i = 0; i < g->n; i++) grads[i] = bf16_to_float(g->half[i]);
    } else {
        for (size_t i = last->lo; i < last->hi; i++) grads[i] *= g->weight;
        size_t count = 2 + last->hi; /* the extras, then the first gradients: contiguous */
        if (g->overlap)
            dist_isum_floats(g->pending, g->block, count);
        else
            dist_sum_floats(g->block, count); /* one blocking all-reduce of everything, as without overlap */
        dist_wait_all(g->pending);
        g->bytes += count * sizeof *g->block;
    }
    g->next = g->n_buckets;
    *loss_sum = g->block[0];
    *stop = g->block[1];
    g->seconds += dd_now_seconds() - t;
}

double grad_sync_seconds(const grad_sync *g) { return g->seconds; }
unsigned long long grad_sync_bytes(const grad_sync *g) { return g->bytes; }
size_t grad_sync_buckets(const grad_sync *g) { return g->n_buckets; }
