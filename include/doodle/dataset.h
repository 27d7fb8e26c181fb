/* The .dset dataset file: a versioned little-endian binary, memory-mapped for reading.
 * The byte layout is documented in docs/dset-format.md. In short:
 *
 *   header (128 bytes)  magic "DOODSET\0", version, kind (strokes or bitmaps), counts, section offsets, seed…
 *   class names         n_classes NUL-terminated UTF-8 strings
 *   prep statistics     per class: read, kept, train, test and skipped counts by reason (what `doodle info` shows)
 *   records             stroke records (label, split, recognized, country, key_id, timestamp, strokes as u8 x/y
 *                       like Quick, Draw!'s .bin) or fixed-size bitmap records
 *   index               n_records u64 offsets of the records, relative to the records section
 *
 * A reader checks magic, version, section bounds and every index offset on open, so a truncated or corrupt file
 * is rejected with a message instead of being read out of bounds. */
#ifndef DOODLE_DATASET_H
#define DOODLE_DATASET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "doodle/drawing.h"
#include "doodle/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define DD_DSET_VERSION 1
#define DD_MAX_CLASSES 65535

typedef enum dd_dset_kind { DD_DSET_STROKES = 0, DD_DSET_BITMAPS = 1 } dd_dset_kind;
typedef enum dd_split { DD_SPLIT_TRAIN = 0, DD_SPLIT_TEST = 1 } dd_split;

/* Why prep left a record out. Stored in the file: append only, never renumber. */
typedef enum dd_skip_reason {
    DD_SKIP_MALFORMED = 0,  /* the record could not be parsed */
    DD_SKIP_EMPTY,          /* no strokes or an empty stroke */
    DD_SKIP_MISMATCH,       /* x/y/t of different lengths */
    DD_SKIP_RANGE,          /* NaN, infinite or huge coordinates */
    DD_SKIP_TRUNCATED,      /* the file ended inside this record */
    DD_SKIP_DUPLICATE,      /* key_id already kept from an earlier record */
    DD_SKIP_NOT_RECOGNIZED, /* --recognized-only and Google's game did not recognise it */
    DD_SKIP_OVER_LIMIT,     /* --per-class already reached */
    DD_SKIP_TOO_LARGE,      /* more strokes or points than a record can hold */
    DD_SKIP_REASON_COUNT
} dd_skip_reason;

const char *dd_skip_reason_name(dd_skip_reason r);

typedef struct dd_class_stats {
    uint64_t read, kept, train, test;
    uint64_t skipped[DD_SKIP_REASON_COUNT];
} dd_class_stats;

/* How the set was made, stored in the header. */
typedef struct dd_dset_params {
    uint64_t seed;
    double test_frac;
    uint64_t per_class; /* 0 = no limit */
    bool recognized_only;
    double val_frac; /* share of each class's train split kept for validation (doodle train's default), 0: none */
} dd_dset_params;

/* ---- reading ---- */

typedef struct dd_dataset dd_dataset;

dd_dataset *dd_dataset_open(const char *path, dd_error *err);
void dd_dataset_close(dd_dataset *ds);

dd_dset_kind dd_dataset_kind(const dd_dataset *ds);
uint64_t dd_dataset_count(const dd_dataset *ds);
uint32_t dd_dataset_class_count(const dd_dataset *ds);
const char *dd_dataset_class_name(const dd_dataset *ds, uint32_t label);
/* -1 when there is no such class. */
int dd_dataset_class_index(const dd_dataset *ds, const char *name);
/* label == n_classes gives the row of records no class could be named for. */
int dd_dataset_class_stats(const dd_dataset *ds, uint32_t label, dd_class_stats *out);
dd_dset_params dd_dataset_params(const dd_dataset *ds);
/* Bitmap size for DD_DSET_BITMAPS sets (0 x 0 for strokes). */
void dd_dataset_bitmap_size(const dd_dataset *ds, uint32_t *height, uint32_t *width);

typedef struct dd_record_info {
    uint32_t label;
    dd_split split;
    int8_t recognized; /* 1, 0, -1 unknown */
    uint64_t key_id;   /* bitmaps from .npy: the row number in its file */
} dd_record_info;

int dd_dataset_record_info(const dd_dataset *ds, uint64_t i, dd_record_info *info);
/* Record numbers of one split (DD_SPLIT_TRAIN, DD_SPLIT_TEST, or -1 for all), in dataset order; *records is
 * allocated (free it), *n may be 0. */
int dd_dataset_split_records(const dd_dataset *ds, int split, uint64_t **records, size_t *n, dd_error *err);
/* The validation split, carved out of the training split: in every class round(frac x its training records),
 * a seeded uniform choice (the same seed and set give the same choice; another seed another one). *mask gets one
 * bit per record (bit i % 8 of byte i / 8; free() it); *n_val (may be NULL) how many were chosen. The test split
 * is never touched. frac in [0, 1). */
int dd_dataset_val_mask(const dd_dataset *ds, double frac, uint64_t seed, uint8_t **mask, uint64_t *n_val,
                        dd_error *err);
static inline bool dd_val_mask_has(const uint8_t *mask, uint64_t i) { return mask && (mask[i / 8] >> (i % 8)) & 1; }

/* Decodes stroke record i into d (metadata included; word = class name). */
int dd_dataset_strokes(const dd_dataset *ds, uint64_t i, dd_drawing *d, dd_error *err);
/* Pointer to bitmap record i (height x width bytes) inside the mapping, for DD_DSET_BITMAPS sets. */
const uint8_t *dd_dataset_bitmap(const dd_dataset *ds, uint64_t i);

/* ---- writing (used by prep; records in any order, then finish) ---- */

typedef struct dd_dataset_writer dd_dataset_writer;

/* Bitmap sets give height x width; stroke sets 0 x 0. Writes to a temporary file renamed into place by finish. */
dd_dataset_writer *dd_dataset_writer_open(const char *path, dd_dset_kind kind, uint32_t height, uint32_t width,
                                          dd_error *err);
/* d must be simplified (coordinates 0..255) with at most 65535 strokes of at most 65535 points. */
int dd_dataset_writer_add_strokes(dd_dataset_writer *w, uint32_t label, dd_split split, const dd_drawing *d,
                                  dd_error *err);
int dd_dataset_writer_add_bitmap(dd_dataset_writer *w, uint32_t label, dd_split split, uint64_t key_id,
                                 const uint8_t *pixels, dd_error *err);
/* Changes the split of record i (records are numbered in the order they were added). */
int dd_dataset_writer_set_split(dd_dataset_writer *w, uint64_t i, dd_split split, dd_error *err);
/* Writes classes, statistics and index, then renames into place. stats has n_classes + 1 rows: the last counts
 * records that no class could be named for (e.g. an unreadable first line of a file). Frees w either way. */
int dd_dataset_writer_finish(dd_dataset_writer *w, uint32_t n_classes, const char *const *class_names,
                             const dd_class_stats *stats, const dd_dset_params *params, dd_error *err);
/* Drops everything; the target file is left as it was. */
void dd_dataset_writer_abort(dd_dataset_writer *w);

#ifdef __cplusplus
}
#endif
#endif
