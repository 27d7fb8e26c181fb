/* The training data loader: one prefetch thread fills a ring of batch buffers; the caller copies them out.
 *
 * Protocol (all under mu): the worker renders batch `filled` into ring[filled % n_ring] when an epoch is active,
 * filled < n_batches and filled < taken + n_ring (so it never writes the slot the caller is reading); it renders
 * outside the lock with busy set, then publishes by filled++. The caller waits for filled > taken, copies
 * ring[taken % n_ring] outside the lock, then taken++. begin_epoch and free bump `generation` (also read by the
 * worker between records, so a batch in progress is abandoned quickly) and wait until the worker is not busy;
 * a batch finished under an old generation is dropped. The order and the worker's renderers are only touched by
 * the worker while busy and by begin_epoch while it is not, so they need no lock of their own.
 *
 * Failures of pthread_mutex_lock/unlock, pthread_cond_wait/signal/broadcast and pthread_join can only come from a
 * bug (an invalid or uninitialised object); they abort with a message rather than limp on. */
#define _POSIX_C_SOURCE 200809L
#include "doodle/loader.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doodle/render.h"
#include "doodle/rng.h"
#include "doodle/alloc.h"

#define BATCH_MAX 65536u
#define PREFETCH_MAX 8u

/* Domain tags, so that the order and the augmentation draw from unrelated streams of the same seed. */
#define TAG_ORDER 0x6f72646572ULL /* "order" */
#define TAG_AUGMENT 0x6175676dULL /* "augm" */

typedef struct batch_buf {
    float *x;
    int32_t *labels;
    uint64_t *index;
    uint32_t count;
    bool failed;
    dd_error err;
} batch_buf;

struct dd_loader {
    const dd_dataset *ds;
    dd_loader_opts o;
    bool strokes;
    size_t pixels;   /* height * width */
    uint32_t *sel;   /* the split's records in file order */
    uint32_t *order; /* this epoch's order */
    uint64_t n_sel, n_batches;
    int max_shift; /* pixels, 0 without augmentation */

    /* the worker's own */
    dd_renderer **renderers; /* strokes: 1 without augmentation, one per line width level with it */
    uint32_t n_renderers;
    dd_drawing drawing, augmented;
    uint8_t *image, *shifted;

    batch_buf *ring;
    uint32_t n_ring;

    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t work_cv;  /* the worker waits here for room or an epoch */
    pthread_cond_t ready_cv; /* the caller waits here for a batch or for the worker to stop being busy */
    bool mu_ok, work_cv_ok, ready_cv_ok, thread_ok;

    /* under mu */
    bool quit, active, busy;
    uint64_t epoch, filled, taken;
    _Atomic uint64_t generation; /* written under mu; the worker also reads it between records */

    /* the caller's own */
    bool begun, failed;
    dd_error err;
};

static void must(int rc, const char *what) {
    if (rc) {
        fprintf(stderr, "doodle: loader: %s failed: %s\n", what, strerror(rc));
        abort();
    }
}

static void lock(dd_loader *l) { must(pthread_mutex_lock(&l->mu), "pthread_mutex_lock"); }
static void unlock(dd_loader *l) { must(pthread_mutex_unlock(&l->mu), "pthread_mutex_unlock"); }

/* splitmix64's finaliser, and a keyed combination of two words. */
static uint64_t mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}
static uint64_t combine(uint64_t h, uint64_t v) { return mix64(h ^ mix64(v + 0x9e3779b97f4a7c15ULL)); }

dd_loader_opts dd_loader_opts_default(uint32_t batch_size, uint32_t height, uint32_t width) {
    dd_loader_opts o = {.batch_size = batch_size,
                        .render = dd_render_opts_default(height, width),
                        .split = DD_LOADER_TRAIN,
                        .shuffle = true,
                        .seed = 0,
                        .augment = false,
                        .aug = dd_augment_opts_default(),
                        .drop_last = false,
                        .prefetch = 2};
    return o;
}

uint64_t dd_loader_record_count(const dd_loader *l) { return l->n_sel; }
uint64_t dd_loader_batch_count(const dd_loader *l) { return l->n_batches; }

static const char *split_name(dd_loader_split s) {
    return s == DD_LOADER_TRAIN ? "train" : s == DD_LOADER_TEST ? "test" : s == DD_LOADER_VAL ? "validation" : "whole";
}

/* ---- the worker ---- */

/* Renders record rec into dst (pixels floats). */
static int load_one(dd_loader *l, uint64_t epoch, uint32_t rec, float *dst, int32_t *label, dd_error *err) {
    const dd_loader_opts *o = &l->o;
    dd_record_info info;
    if (dd_dataset_record_info(l->ds, rec, &info))
        return dd_fail(err, DD_ERR_MALFORMED, "record %lu: label or split out of range", (unsigned long)rec);
    *label = (int32_t)info.label;

    dd_augment_params p = {.scale = 1};
    if (o->augment) {
        dd_rng rng;
        dd_rng_seed(&rng, combine(combine(combine(o->seed, TAG_AUGMENT), epoch), rec));
        p = dd_augment_draw(&o->aug, l->max_shift, &rng);
    }

    const uint8_t *src;
    if (l->strokes && o->augment) { /* the strokes are turned, scaled and drawn with a jittered line */
        if (dd_dataset_strokes(l->ds, rec, &l->drawing, err)) return -1;
        if (dd_augment_apply(&l->drawing, &p, &l->augmented, err))
            return dd_error_prefix(err, "record %lu", (unsigned long)rec);
        long level = lround((p.line_width - o->aug.line_width_min) / DD_AUGMENT_LINE_WIDTH_STEP);
        if (level < 0) level = 0;
        if (level >= (long)l->n_renderers) level = (long)l->n_renderers - 1;
        if (dd_render(l->renderers[level], &l->augmented, l->image, err))
            return dd_error_prefix(err, "record %lu", (unsigned long)rec);
        src = l->image;
    } else if (!(src = dd_record_image(l->ds, rec, l->strokes ? l->renderers[0] : NULL, &l->drawing, l->image, err))) {
        return -1;
    }
    if (!l->strokes && o->aug.bitmap_warp &&
        (p.rotation_deg != 0 || p.scale != 1)) { /* a bitmap is turned and scaled as pixels */
        dd_augment_warp(src, o->render.height, o->render.width, p.rotation_deg, p.scale, p.shift_x, p.shift_y,
                        l->shifted);
        src = l->shifted;
    } else if (p.shift_x || p.shift_y) {
        dd_augment_shift(src, o->render.height, o->render.width, p.shift_x, p.shift_y, l->shifted);
        src = l->shifted;
    }
    dd_image_to_input(src, l->pixels, dst);
    return 0;
}

/* Fills buf with batch b. Returns 0, -1 on a failure recorded in buf, or 1 when the generation moved on. */
static int render_batch(dd_loader *l, uint64_t b, uint64_t epoch, uint64_t gen, batch_buf *buf) {
    uint64_t start = b * l->o.batch_size, left = l->n_sel - start;
    uint32_t count = left < l->o.batch_size ? (uint32_t)left : l->o.batch_size;
    if (l->o.shard_count > 1) { /* this loader's share of the global batch */
        uint64_t lo = (uint64_t)count * l->o.shard_index / l->o.shard_count;
        uint64_t hi = (uint64_t)count * (l->o.shard_index + 1) / l->o.shard_count;
        start += lo;
        count = (uint32_t)(hi - lo);
    }
    buf->count = count;
    buf->failed = false;
    for (uint32_t i = 0; i < count; i++) {
        if (atomic_load_explicit(&l->generation, memory_order_relaxed) != gen) return 1;
        uint32_t rec = l->order[start + i];
        buf->index[i] = rec;
        if (load_one(l, epoch, rec, buf->x + i * l->pixels, &buf->labels[i], &buf->err)) {
            buf->failed = true;
            return -1;
        }
    }
    return 0;
}

static void *worker(void *arg) {
    dd_loader *l = arg;
    lock(l);
    for (;;) {
        while (!l->quit && !(l->active && l->filled < l->n_batches && l->filled < l->taken + l->n_ring))
            must(pthread_cond_wait(&l->work_cv, &l->mu), "pthread_cond_wait");
        if (l->quit) break;
        uint64_t b = l->filled, epoch = l->epoch, gen = atomic_load(&l->generation);
        l->busy = true;
        unlock(l);

        int rc = render_batch(l, b, epoch, gen, &l->ring[b % l->n_ring]);

        lock(l);
        l->busy = false;
        if (gen == atomic_load(&l->generation) && rc != 1) {
            l->filled++;
            if (rc) l->active = false; /* nothing more this epoch: the caller stops at the failed batch */
        }
        must(pthread_cond_broadcast(&l->ready_cv), "pthread_cond_broadcast");
    }
    unlock(l);
    return NULL;
}

/* ---- the caller's side ---- */

/* Stops the worker's current batch, if any; on return the worker waits for a new epoch or quit. */
static void stop_epoch(dd_loader *l, bool quit) {
    lock(l);
    atomic_fetch_add(&l->generation, 1);
    l->active = false;
    if (quit) {
        l->quit = true;
        must(pthread_cond_broadcast(&l->work_cv), "pthread_cond_broadcast");
    } else {
        while (l->busy) must(pthread_cond_wait(&l->ready_cv, &l->mu), "pthread_cond_wait");
    }
    unlock(l);
}

int dd_loader_begin_epoch(dd_loader *l, uint64_t epoch, dd_error *err) {
    return dd_loader_begin_epoch_at(l, epoch, 0, err);
}

int dd_loader_begin_epoch_at(dd_loader *l, uint64_t epoch, uint64_t first_batch, dd_error *err) {
    if (first_batch > l->n_batches)
        return dd_fail(err, DD_ERR_USAGE, "loader: batch %llu of an epoch of %llu", (unsigned long long)first_batch,
                       (unsigned long long)l->n_batches);
    stop_epoch(l, false);

    /* the worker is idle and cannot start before `active`: the order is ours */
    memcpy(l->order, l->sel, l->n_sel * sizeof *l->order);
    if (l->o.shuffle && l->n_sel > 1) {
        dd_rng rng;
        dd_rng_seed(&rng, combine(combine(l->o.seed, TAG_ORDER), epoch));
        for (uint64_t i = l->n_sel - 1; i > 0; i--) {
            uint64_t j = dd_rng_below(&rng, i + 1);
            uint32_t t = l->order[i];
            l->order[i] = l->order[j];
            l->order[j] = t;
        }
    }

    lock(l);
    l->epoch = epoch;
    l->filled = l->taken = first_batch; /* the order is whole: batch b is the same wherever the epoch starts */
    l->active = true;
    must(pthread_cond_signal(&l->work_cv), "pthread_cond_signal");
    unlock(l);
    l->begun = true;
    l->failed = false;
    return 0;
}

int dd_loader_next(dd_loader *l, float *x, int32_t *labels, uint64_t *record_index, dd_error *err) {
    if (!l->begun) return dd_fail(err, DD_ERR_USAGE, "loader: dd_loader_next before dd_loader_begin_epoch");
    if (l->failed) {
        if (err) *err = l->err;
        return -1;
    }
    lock(l);
    uint64_t b = l->taken;
    if (b >= l->n_batches) {
        unlock(l);
        return 0;
    }
    while (l->filled <= b) must(pthread_cond_wait(&l->ready_cv, &l->mu), "pthread_cond_wait");
    unlock(l);

    /* the worker does not touch this slot until taken moves past it */
    batch_buf *buf = &l->ring[b % l->n_ring];
    if (buf->failed) {
        l->failed = true;
        l->err = buf->err;
        if (err) *err = l->err;
        return -1;
    }
    memcpy(x, buf->x, buf->count * l->pixels * sizeof *x);
    memcpy(labels, buf->labels, buf->count * sizeof *labels);
    if (record_index) memcpy(record_index, buf->index, buf->count * sizeof *record_index);
    int count = (int)buf->count;

    lock(l);
    l->taken++;
    must(pthread_cond_signal(&l->work_cv), "pthread_cond_signal");
    unlock(l);
    return count;
}

/* ---- setup ---- */

static int check_opts(const dd_dataset *ds, const dd_loader_opts *o, dd_error *err) {
    if (o->batch_size < 1 || o->batch_size > BATCH_MAX)
        return dd_fail(err, DD_ERR_USAGE, "loader: batch size %u is out of range (1..%u)", o->batch_size, BATCH_MAX);
    if (o->shard_count > 1 && o->shard_index >= o->shard_count)
        return dd_fail(err, DD_ERR_USAGE, "loader: shard %u of %u does not exist", o->shard_index, o->shard_count);
    if (o->prefetch < 1 || o->prefetch > PREFETCH_MAX)
        return dd_fail(err, DD_ERR_USAGE, "loader: prefetch %u is out of range (1..%u)", o->prefetch, PREFETCH_MAX);
    if (o->split != DD_LOADER_TRAIN && o->split != DD_LOADER_TEST && o->split != DD_LOADER_ALL &&
        o->split != DD_LOADER_VAL)
        return dd_fail(err, DD_ERR_USAGE, "loader: unknown split %d", (int)o->split);
    if (!(o->val_frac >= 0 && o->val_frac < 1))
        return dd_fail(err, DD_ERR_USAGE, "loader: validation fraction %g is out of range (0 to less than 1)",
                       o->val_frac);
    if (o->split == DD_LOADER_VAL && o->val_frac == 0)
        return dd_fail(err, DD_ERR_USAGE, "loader: a validation split needs a validation fraction above 0");
    if (dd_render_opts_check(&o->render, err)) return dd_error_prefix(err, "loader");
    if (o->augment && dd_augment_opts_check(&o->aug, err)) return -1;
    if (dd_dataset_kind(ds) == DD_DSET_BITMAPS) {
        uint32_t h, w;
        dd_dataset_bitmap_size(ds, &h, &w);
        if (h != o->render.height || w != o->render.width)
            return dd_fail(err, DD_ERR_UNSUPPORTED,
                           "the dataset holds %ux%u bitmaps but the model's input is %ux%u: bitmap sets are used "
                           "as stored (make a stroke set with doodle prep to render at any size)",
                           h, w, o->render.height, o->render.width);
    }
    if (dd_dataset_count(ds) > UINT32_MAX)
        return dd_fail(err, DD_ERR_UNSUPPORTED, "loader: more than %lu records are not supported",
                       (unsigned long)UINT32_MAX);
    return 0;
}

static int select_records(dd_loader *l, dd_error *err) {
    uint64_t n = dd_dataset_count(l->ds);
    l->sel = dd_malloc(n ? n : 1, sizeof *l->sel, err);
    if (!l->sel) return -1;
    uint8_t *own = NULL; /* the mask, when the caller gave none */
    if (l->o.val_frac > 0 && !l->o.val_mask &&
        dd_dataset_val_mask(l->ds, l->o.val_frac, l->o.val_seed, &own, NULL, err))
        return -1;
    const uint8_t *val = l->o.val_frac > 0 ? (l->o.val_mask ? l->o.val_mask : own) : NULL;
    for (uint64_t i = 0; i < n; i++) {
        dd_record_info info;
        if (dd_dataset_record_info(l->ds, i, &info)) {
            free(own);
            return dd_fail(err, DD_ERR_MALFORMED, "record %llu: label or split out of range", (unsigned long long)i);
        }
        bool is_val = dd_val_mask_has(val, i), take;
        switch (l->o.split) {
        case DD_LOADER_ALL: take = true; break;
        case DD_LOADER_VAL: take = is_val; break;
        case DD_LOADER_TRAIN: take = info.split == DD_SPLIT_TRAIN && !is_val; break;
        default: take = info.split == DD_SPLIT_TEST; break;
        }
        if (take) l->sel[l->n_sel++] = (uint32_t)i;
    }
    free(own);
    l->o.val_mask = NULL; /* the caller's: not kept */
    if (l->n_sel == 0)
        return dd_fail(err, DD_ERR_EMPTY, "the dataset has no records in the %s split", split_name(l->o.split));
    l->n_batches = l->o.drop_last ? l->n_sel / l->o.batch_size : (l->n_sel + l->o.batch_size - 1) / l->o.batch_size;
    if (l->n_batches == 0)
        return dd_fail(err, DD_ERR_EMPTY, "the %s split has %llu records, fewer than one batch of %u (drop_last)",
                       split_name(l->o.split), (unsigned long long)l->n_sel, l->o.batch_size);
    l->order = dd_malloc(l->n_sel, sizeof *l->order, err);
    return l->order ? 0 : -1;
}

static int make_renderers(dd_loader *l, dd_error *err) {
    const dd_loader_opts *o = &l->o;
    dd_render_opts base = o->render;
    if (o->augment)
        l->max_shift =
            dd_augment_max_shift(o->aug.shift, l->strokes ? o->aug.line_width_max : o->render.line_width, &base);
    if (!l->strokes) return 0;
    uint32_t n = o->augment ? dd_augment_line_width_levels(&o->aug) : 1;
    l->renderers = dd_calloc(n, sizeof *l->renderers, err);
    if (!l->renderers) return -1;
    l->n_renderers = n;
    for (uint32_t k = 0; k < n; k++) {
        dd_render_opts ro = base;
        if (o->augment && dd_augment_render_opts(&base, dd_augment_line_width(&o->aug, k), &ro, err)) return -1;
        l->renderers[k] = dd_renderer_new(&ro, err);
        if (!l->renderers[k]) return -1;
    }
    return 0;
}

static int make_ring(dd_loader *l, dd_error *err) {
    l->n_ring = l->o.prefetch;
    l->ring = dd_calloc(l->n_ring, sizeof *l->ring, err);
    if (!l->ring) return -1;
    uint32_t b = l->o.batch_size;
    for (uint32_t i = 0; i < l->n_ring; i++) {
        batch_buf *r = &l->ring[i];
        if (!(r->x = dd_malloc((size_t)b * l->pixels, sizeof *r->x, err))) return -1;
        if (!(r->labels = dd_malloc(b, sizeof *r->labels, err))) return -1;
        if (!(r->index = dd_malloc(b, sizeof *r->index, err))) return -1;
    }
    if (!(l->image = dd_malloc(l->pixels, 1, err))) return -1;
    if (!(l->shifted = dd_malloc(l->pixels, 1, err))) return -1;
    return 0;
}

static int start_thread(dd_loader *l, dd_error *err) {
    int rc;
    if ((rc = pthread_mutex_init(&l->mu, NULL)))
        return dd_fail(err, DD_ERR_NOMEM, "loader: pthread_mutex_init: %s", strerror(rc));
    l->mu_ok = true;
    if ((rc = pthread_cond_init(&l->work_cv, NULL)))
        return dd_fail(err, DD_ERR_NOMEM, "loader: pthread_cond_init: %s", strerror(rc));
    l->work_cv_ok = true;
    if ((rc = pthread_cond_init(&l->ready_cv, NULL)))
        return dd_fail(err, DD_ERR_NOMEM, "loader: pthread_cond_init: %s", strerror(rc));
    l->ready_cv_ok = true;
    if ((rc = pthread_create(&l->thread, NULL, worker, l)))
        return dd_fail(err, DD_ERR_NOMEM, "loader: cannot start the prefetch thread: %s", strerror(rc));
    l->thread_ok = true;
    return 0;
}

dd_loader *dd_loader_new(const dd_dataset *ds, const dd_loader_opts *o, dd_error *err) {
    if (check_opts(ds, o, err)) return NULL;
    dd_loader *l = dd_calloc(1, sizeof *l, err);
    if (!l) return NULL;
    l->ds = ds;
    l->o = *o;
    l->strokes = dd_dataset_kind(ds) == DD_DSET_STROKES;
    l->pixels = (size_t)o->render.height * o->render.width;
    atomic_init(&l->generation, 0);
    dd_drawing_init(&l->drawing);
    dd_drawing_init(&l->augmented);
    if (select_records(l, err) || make_renderers(l, err) || make_ring(l, err) || start_thread(l, err)) {
        dd_loader_free(l);
        return NULL;
    }
    return l;
}

void dd_loader_free(dd_loader *l) {
    if (!l) return;
    if (l->thread_ok) {
        stop_epoch(l, true);
        must(pthread_join(l->thread, NULL), "pthread_join");
    }
    if (l->ready_cv_ok) must(pthread_cond_destroy(&l->ready_cv), "pthread_cond_destroy");
    if (l->work_cv_ok) must(pthread_cond_destroy(&l->work_cv), "pthread_cond_destroy");
    if (l->mu_ok) must(pthread_mutex_destroy(&l->mu), "pthread_mutex_destroy");
    if (l->ring)
        for (uint32_t i = 0; i < l->n_ring; i++) {
            free(l->ring[i].x);
            free(l->ring[i].labels);
            free(l->ring[i].index);
        }
    free(l->ring);
    if (l->renderers)
        for (uint32_t k = 0; k < l->n_renderers; k++) dd_renderer_free(l->renderers[k]);
    free(l->renderers);
    dd_drawing_free(&l->drawing);
    dd_drawing_free(&l->augmented);
    free(l->image);
    free(l->shifted);
    free(l->order);
    free(l->sel);
    free(l);
}
