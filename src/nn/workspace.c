/* Making a workspace: the spec compiled into plans of steps (each layer kind's fuse function decides which layers
 * its step takes: src/nn/op.h), and every buffer of the passes in one arena, laid out once.
 *
 * Memory: every layer writes its own output buffer, except those that need none: in-place layers (activations,
 * flatten) use their input's, and a conv folded into the BatchNorm after it (inference) has none. Backward
 * ping-pongs between two gradient buffers as large as the largest activation. The arena is one allocation; the
 * per-thread scratch of the fast kernels is apart, as it follows the thread count. */
#define _DEFAULT_SOURCE /* madvise, MADV_HUGEPAGE */
#include <stdint.h>
#include <sys/mman.h>
#include <stdlib.h>
#include <string.h>

#include "nn/workspace.h"
#include "doodle/alloc.h"
#include "util/blas_threads.h"

#define ARENA_ALIGN 64 /* a cache line, and the widest vector */

typedef struct arena {
    char *base; /* NULL: only counting */
    size_t used;
    bool overflow;
} arena;

/* count elements of size bytes at the next aligned offset; NULL for none (and while counting). */
static void *take(arena *a, size_t count, size_t size) {
    if (!count) return NULL;
    size_t at = (a->used + ARENA_ALIGN - 1) / ARENA_ALIGN * ARENA_ALIGN, bytes;
    if (at < a->used || __builtin_mul_overflow(count, size, &bytes) || __builtin_add_overflow(at, bytes, &a->used)) {
        a->overflow = true;
        return NULL;
    }
    return a->base ? a->base + at : NULL;
}

/* The arena in 2 MB pages where the kernel allows it on request (transparent huge pages in "madvise" mode, as on
 * Debian): the first steps touch all of it, one fault per page (seed's 480 MB: 123,000 faults with 4 KB pages, 6,700
 * with these), and a step walks it with fewer TLB misses. Advice only: nothing fails without it. */
static void advise_huge_pages(void *p, size_t bytes) {
#ifdef MADV_HUGEPAGE
    const uintptr_t huge = (uintptr_t)2 << 20;
    uintptr_t lo = ((uintptr_t)p + huge - 1) & ~(huge - 1), hi = ((uintptr_t)p + bytes) & ~(huge - 1);
    if (hi > lo) (void)madvise((void *)lo, hi - lo, MADV_HUGEPAGE);
#else
    (void)p, (void)bytes;
#endif
}

static int compile(nn_plan *plan, const dd_model_spec *s, nn_mode mode, nn_layer_ws *layers, dd_error *err) {
    if (!(plan->steps = dd_calloc((size_t)s->n_layers, sizeof *plan->steps, err))) return -1;
    for (int i = 0; i < s->n_layers;) {
        nn_step *st = &plan->steps[plan->n++];
        int k = nn_op_of(s->layers[i].kind)->fuse(s, i, mode, st);
        st->first = i;
        st->count = k;
        st->l = &s->layers[i];
        st->w = &layers[i];
        i += k;
    }
    return 0;
}

/* The cache of a conv step's Winograd weights, in floats (0 when the kernel does not run it): inference keeps the
 * forward's transform from one pass to the next, training's backward the turned weights' for the input gradient. */
static size_t wino_cache_of(const dd_layer_spec *l, bool backward) {
    if (l->kind != DD_LAYER_CONV2D) return 0;
    dd_conv2d_dims d;
    if (dd_conv2d_dims_init(&d, 1, l->in.c, l->in.h, l->in.w, l->u.conv.filters, l->u.conv.kernel_h, l->u.conv.kernel_w,
                            l->u.conv.stride, l->u.conv.same_padding))
        return 0;
    if (backward) return nn_fast_winograd_din_applies(&d) ? nn_fast_winograd_din_cache_size(&d) : 0;
    return nn_fast_winograd_applies(&d) ? nn_fast_winograd_cache_size(&d) : 0;
}

/* A training workspace's forward keeps no Winograd cache (its weights change at every step). */
static void place_steps(nn_plan *plan, nn_layer_ws *layers, bool training, bool backward, arena *a) {
    for (int k = 0; k < plan->n; k++) {
        nn_step *st = &plan->steps[k];
        st->out = layers[st->first + st->count - 1].out;
        if (st->fold) st->folded = take(a, st->l->weight.count + (size_t)st->l->out.c, sizeof(float));
        size_t wino = training && !backward ? 0 : wino_cache_of(st->l, backward);
        st->wino = take(a, wino, sizeof(float));
        if (st->wino && !backward) st->wino[wino - 1] = 0.0f; /* its last float: nothing kept yet */
    }
}

/* Gives every buffer its place in the arena (or counts the bytes when a->base is NULL). */
static void lay_out(dd_workspace *ws, const dd_model_spec *s, arena *a) {
    size_t B = (size_t)ws->max_batch, largest = dd_shape_count(s->input);
    ws->col_size = ws->dweight_size = ws->dbias_size = 0;
    for (int i = 0; i < s->n_layers; i++) {
        const dd_layer_spec *l = &s->layers[i];
        const nn_op_kind *op = nn_op_of(l->kind);
        nn_layer_ws *w = &ws->layers[i];
        size_t n = dd_shape_count(l->out);
        if (n > largest) largest = n;
        if (i > 0 && op->in_place)
            w->out = ws->layers[i - 1].out;
        else
            w->out = nn_layer_keeps_output(s, i, ws->training) ? take(a, B * n, sizeof *w->out) : NULL;
        nn_needs need = {0};
        if (op->needs) op->needs(l, ws->max_batch, ws->training, &need);
        w->argmax = take(a, B * need.argmax_per_image, sizeof *w->argmax);
        w->mask = take(a, B * need.mask_per_image, sizeof *w->mask);
        w->mean = take(a, need.stats, sizeof *w->mean);
        w->inv_std = w->mean ? w->mean + need.stats / 2 : NULL;
        if (need.col > ws->col_size) ws->col_size = need.col;
        if (need.weight_grads > ws->dweight_size) ws->dweight_size = need.weight_grads;
        if (need.bias_grads > ws->dbias_size) ws->dbias_size = need.bias_grads;
    }
    place_steps(&ws->forward, ws->layers, ws->training, false, a);
    place_steps(&ws->backward, ws->layers, true, true, a);
    ws->probs = take(a, B * (size_t)s->classes, sizeof *ws->probs);
    for (int k = 0; k < 2; k++) ws->grad[k] = ws->training ? take(a, B * largest, sizeof *ws->grad[k]) : NULL;
}

static void free_scratch(dd_workspace *ws) {
    free(ws->fast.col);
    free(ws->fast.dweight);
    free(ws->fast.dbias);
    ws->fast = (nn_fast_scratch){0};
    ws->scratch = NULL;
}

/* Per-thread scratch for the pool's thread count. */
static int alloc_scratch(dd_workspace *ws, dd_error *err) {
    size_t threads = (size_t)util_pool_threads(ws->pool);
    free_scratch(ws);
    ws->fast.col_stride = ws->col_size;
    ws->fast.dweight_stride = ws->dweight_size;
    ws->fast.dbias_stride = ws->dbias_size;
    if (ws->col_size && !(ws->fast.col = dd_malloc(threads, ws->col_size * sizeof(float), err))) return -1;
    if (ws->training && threads > 1 && ws->dweight_size &&
        !(ws->fast.dweight = dd_malloc(threads - 1, ws->dweight_size * sizeof(float), err)))
        return -1;
    if (ws->dbias_size && !(ws->fast.dbias = dd_malloc(threads, ws->dbias_size * sizeof(double), err))) return -1;
    ws->scratch = ws->fast.col;
    return 0;
}

void dd_workspace_free(dd_workspace *ws) {
    if (!ws) return;
    util_pool_free(ws->pool);
    free_scratch(ws);
    free(ws->arena);
    free(ws->forward.steps);
    free(ws->backward.steps);
    free(ws->layers);
    free(ws);
}

dd_workspace *dd_workspace_new(const dd_model *m, int max_batch, bool training, dd_error *err) {
    const dd_model_spec *s = m->spec;
    if (max_batch < 1) {
        dd_fail(err, DD_ERR_USAGE, "batch size %d must be at least 1", max_batch);
        return NULL;
    }
    /* a network that fits for one drawing may not for a batch: refused before anything of that size is made */
    if (dd_model_spec_check_memory(s, max_batch, training, NULL, err)) return NULL;
    util_blas_single_threaded();
    dd_workspace *ws = dd_calloc(1, sizeof *ws, err);
    if (!ws) return NULL;
    ws->max_batch = max_batch;
    ws->training = training;
    ws->n_layers = s->n_layers;
    if (!(ws->layers = dd_calloc((size_t)s->n_layers, sizeof *ws->layers, err)) ||
        compile(&ws->forward, s, training ? NN_FORWARD_TRAIN : NN_FORWARD_INFER, ws->layers, err) ||
        (training && compile(&ws->backward, s, NN_BACKWARD, ws->layers, err)))
        goto fail;
    arena a = {0};
    lay_out(ws, s, &a);
    if (a.overflow) {
        dd_fail(err, DD_ERR_NOMEM, "a workspace for a batch of %d is too large to address", max_batch);
        goto fail;
    }
    if (!(ws->arena = dd_malloc(a.used + ARENA_ALIGN, 1, err))) goto fail;
    advise_huge_pages(ws->arena, a.used + ARENA_ALIGN);
    a = (arena){.base = (char *)(((uintptr_t)ws->arena + ARENA_ALIGN - 1) / ARENA_ALIGN * ARENA_ALIGN)};
    lay_out(ws, s, &a);
    if (alloc_scratch(ws, err)) goto fail;
    return ws;
fail:
    dd_workspace_free(ws);
    return NULL;
}

int dd_workspace_set_threads(dd_workspace *ws, int threads, dd_error *err) {
    if (threads == util_pool_threads(ws->pool)) return 0;
    util_pool *pool = NULL;
    if (threads != 1 && !(pool = util_pool_new(threads, err))) return -1;
    util_pool_free(ws->pool);
    ws->pool = pool;
    return alloc_scratch(ws, err);
}

int dd_workspace_threads(const dd_workspace *ws) { return util_pool_threads(ws->pool); }

void nn_workspace_set_grads_final(dd_workspace *ws, nn_grads_final_fn fn, void *ctx) {
    ws->grads_final = fn;
    ws->grads_final_ctx = ctx;
}

const float *dd_workspace_probs(const dd_workspace *ws) { return ws->probs; }

const float *dd_workspace_layer_output(const dd_workspace *ws, int i) {
    return i >= 0 && i < ws->n_layers ? ws->layers[i].out : NULL;
}
