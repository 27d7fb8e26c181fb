/* Shared by the data-quality check (quality.c) and its duplicate search (quality_dups.c): drawings streamed in
 * bounded chunks, and the per-drawing hashes. Nothing here keeps a whole split's pixels or probabilities. */
#ifndef DOODLE_EXPLAIN_QUALITY_INTERNAL_H
#define DOODLE_EXPLAIN_QUALITY_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "doodle/error.h"
#include "doodle/explain.h"

/* Drawings rendered at a time: 4,096 x 28 x 28 is 3.2 MB of pixels (and 5.6 MB of probabilities at 345 classes). */
#define QUALITY_CHUNK 4096

/* Called with the images of records[which[first + k]] (or records[first + k] when which is NULL), k < chunk->n. */
typedef int (*quality_chunk_fn)(void *ctx, const dd_image_set *chunk, size_t first, dd_error *err);

/* Renders the listed drawings QUALITY_CHUNK at a time (as dd_image_set_load does) and hands each chunk to fn. */
int quality_stream(const dd_model *m, const dd_dataset *ds, const uint64_t *records, const size_t *which, size_t n,
                   quality_chunk_fn fn, void *ctx, dd_error *err);

/* FNV-1a of an image's pixels: equal pixels give equal hashes (exact duplicates are then checked pixel by pixel). */
uint64_t quality_pixel_hash(const uint8_t *img, size_t pixels);
/* 8x8 average hash: bit i set when cell i holds more ink than the mean cell. */
uint64_t quality_average_hash(const uint8_t *img, int h, int w);

/* Duplicate groups: exact_group[i] / near_group[i] = group number of drawing i, or SIZE_MAX; near groups mark
 * one representative of each set of identical pixels. */
typedef struct quality_dups {
    size_t *exact_group, *near_group; /* [n] */
    size_t n_exact, n_near;
    size_t capped_buckets; /* hash buckets too large for all pairs: only neighbours in hash order compared */
    size_t near_segments, near_renders; /* runs of band buckets taken at once; downsamples rendered in them */
} quality_dups;

/* The near search's limits: the memory its downsamples may take at once (a segment holds at least one drawing's
 * bucket neighbours, so about 0.4 MB more at most), and how many neighbours in hash order a drawing of an
 * over-full band bucket is compared with. The groups found depend on the cap, never on the budget. */
#define QUALITY_NEAR_BUDGET ((size_t)64 << 20)
#define QUALITY_BUCKET_CAP 1024
typedef struct quality_near_limits {
    size_t budget_bytes, bucket_cap;
} quality_near_limits;
/* For tests (process-wide, not thread-safe): sets the limits of later searches, returns the previous ones. */
quality_near_limits quality_set_near_limits(quality_near_limits limits);

/* Finds exact and near duplicates among the n drawings records[0..n) whose pixel and average hashes are given
 * (both arrays are reordered or freed by the caller afterwards; they are not changed). Re-renders only the
 * drawings that share a hash with another one. */
int quality_find_duplicates(const dd_model *m, const dd_dataset *ds, const uint64_t *records, size_t n,
                            const uint64_t *pixel_hash, const uint64_t *ahash, double tolerance, quality_dups *d,
                            dd_error *err);
void quality_dups_free(quality_dups *d);

#endif
