/* The training data loader: batches of images from a .dset, rendered (and augmented) by one prefetch thread while
 * the caller trains on the previous batch.
 *
 *   dd_loader_opts o = dd_loader_opts_default(64, 28, 28);
 *   o.seed = 1; o.augment = true;
 *   dd_loader *l = dd_loader_new(ds, &o, &err);
 *   for (uint64_t e = 0; e < epochs; e++) {
 *       dd_loader_begin_epoch(l, e, &err);
 *       while ((n = dd_loader_next(l, x, labels, NULL, &err)) > 0) train on n images;
 *       if (n < 0) fail with err;
 *   }
 *   dd_loader_free(l);
 *
 * Images: x is [batch, 1, height, width] floats, pixel / 255 (0 background, 1 ink). Stroke sets are rendered at
 * the model's input size with dd_render (Google's recipe by default); bitmap sets are used as stored and must have
 * exactly the model's input size.
 *
 * Determinism: results never depend on thread timing. An epoch's order is a function of (seed, epoch) only: the
 * records of the split in file order, shuffled (Fisher-Yates) by a generator seeded from (seed, epoch), so the
 * same seed gives the same order on every run, and resuming at an epoch boundary (dd_loader_begin_epoch with the
 * next epoch number) gives what an uninterrupted run would have. The augmentation of a record comes from a
 * generator seeded from (seed, epoch, record index), never from a shared stream.
 *
 * Augmentation (see doodle/augment.h): stroke sets get rotation and scale on the strokes, a line-width jitter and
 * a whole-pixel shift of the image; bitmap sets get the shift only (the other three need strokes).
 *
 * Threads: one prefetch thread per loader renders up to `prefetch` batches ahead into a ring of batch buffers;
 * dd_loader_next copies the oldest one out. An error in the thread (e.g. a corrupt record) is returned by the
 * dd_loader_next that would have returned its batch, and by every later call until the next epoch begins.
 * A loader is used from one thread at a time; the dataset must stay open until dd_loader_free. */
#ifndef DOODLE_LOADER_H
#define DOODLE_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "doodle/augment.h"
#include "doodle/dataset.h"
#include "doodle/error.h"
#include "doodle/render.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum dd_loader_split {
    DD_LOADER_TRAIN = DD_SPLIT_TRAIN,
    DD_LOADER_TEST = DD_SPLIT_TEST,
    DD_LOADER_ALL,
    DD_LOADER_VAL /* the validation records carved out of the train split (val_frac, val_seed) */
} dd_loader_split;

typedef struct dd_loader_opts {
    uint32_t batch_size;   /* 1..65536 */
    dd_render_opts render; /* the model's input (1 channel): its size, line width and padding (the model's render) */
    dd_loader_split split;
    /* > 0: dd_dataset_val_mask(ds, val_frac, val_seed) is the validation split, left out of DD_LOADER_TRAIN and
     * given by DD_LOADER_VAL (which needs it) */
    double val_frac;
    uint64_t val_seed;
    const uint8_t *val_mask; /* when not NULL: that mask, made by the caller (one for all its loaders; read only in
                              * dd_loader_new) */
    bool shuffle;            /* false: the split's records in file order every epoch */
    uint64_t seed;
    bool augment;
    dd_augment_opts aug;
    bool drop_last; /* leave out the last, short batch */
    /* Data-parallel training: with shard_count > 1, batch_size is the global batch and this loader gives only its
     * contiguous share of each one, images [count * shard_index / shard_count, count * (shard_index + 1) /
     * shard_count) of the count the global batch holds, so the shares of all loaders together are the one-loader
     * batch. A share of a short last batch may be empty: dd_loader_next then returns 0 before the epoch ends, so
     * loop dd_loader_batch_count() times. */
    uint32_t shard_count, shard_index;
    uint32_t prefetch; /* batches rendered ahead, 1..8 */
} dd_loader_opts;

/* Train split, shuffled, seed 0, no augmentation (dd_augment_opts_default ready in aug), Google's recipe at
 * height x width (dd_render_opts_default), short last batch kept, 2 batches ahead. */
dd_loader_opts dd_loader_opts_default(uint32_t batch_size, uint32_t height, uint32_t width);

typedef struct dd_loader dd_loader;

/* Checks the options and the dataset against them (bitmap size = input size, a non-empty split) and starts the
 * prefetch thread. */
dd_loader *dd_loader_new(const dd_dataset *ds, const dd_loader_opts *o, dd_error *err);
/* Stops the thread (also in the middle of an epoch) and frees everything. NULL is fine. */
void dd_loader_free(dd_loader *l);

/* Records in the chosen split, and batches per epoch (ceil(records / batch), or floor with drop_last). */
uint64_t dd_loader_record_count(const dd_loader *l);
uint64_t dd_loader_batch_count(const dd_loader *l);

/* Starts epoch `epoch` (any number, in any order), abandoning what is left of the current one. */
int dd_loader_begin_epoch(dd_loader *l, uint64_t epoch, dd_error *err);
/* The same, starting at batch first_batch (0..batch count) of the epoch: its batches are those an epoch begun at 0
 * gives from there on (training that reports every N steps stops and resumes inside a pass). */
int dd_loader_begin_epoch_at(dd_loader *l, uint64_t epoch, uint64_t first_batch, dd_error *err);

/* Fills x [batch_size * height * width], labels [batch_size] and, when not NULL, record_index [batch_size] (the
 * records' numbers in the dataset) with the next batch. Returns the number of images (batch_size, or fewer in the
 * last batch), 0 at the end of the epoch, -1 on error. */
int dd_loader_next(dd_loader *l, float *x, int32_t *labels, uint64_t *record_index, dd_error *err);

/* The one way a record becomes the model's input, shared by the loader (training and its validation), doodle eval
 * and explain's image sets, so that they cannot drift: a stroke set's drawing rendered with r (made from the
 * model's render settings), a bitmap set's bitmap as stored. drawing is scratch for the strokes, img [height *
 * width] receives the rendering. Returns the pixels (img, or the set's own bitmap, valid while ds is open), or NULL
 * with err naming the record. r may be NULL for a bitmap set. */
const uint8_t *dd_record_image(const dd_dataset *ds, uint64_t rec, dd_renderer *r, dd_drawing *drawing, uint8_t *img,
                               dd_error *err);
/* The model's input floats of an image: pixel / 255 (0 background, 1 ink). */
void dd_image_to_input(const uint8_t *pixels, size_t n, float *x);

#ifdef __cplusplus
}
#endif
#endif
