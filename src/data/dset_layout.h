/* Byte layout of the .dset file (version 1), shared by the writer and the reader. docs/dset-format.md is the
 * human description of the same layout; keep the two in step. All integers little-endian. */
#ifndef DOODLE_DSET_LAYOUT_H
#define DOODLE_DSET_LAYOUT_H

#define DSET_MAGIC "DOODSET" /* 8 bytes with the NUL */
#define DSET_HEADER_SIZE 128

/* header field offsets */
enum {
    DSET_OFF_MAGIC = 0,         /* char[8] */
    DSET_OFF_VERSION = 8,       /* u32 */
    DSET_OFF_KIND = 12,         /* u32: 0 strokes, 1 bitmaps */
    DSET_OFF_N_CLASSES = 16,    /* u32 */
    DSET_OFF_BITMAP_H = 20,     /* u32, 0 for strokes */
    DSET_OFF_BITMAP_W = 24,     /* u32, 0 for strokes */
    DSET_OFF_N_REASONS = 28,    /* u32: skip reasons per stats row */
    DSET_OFF_N_RECORDS = 32,    /* u64 */
    DSET_OFF_RECORDS = 40,      /* u64 offset of the records section */
    DSET_OFF_RECORDS_SIZE = 48, /* u64 */
    DSET_OFF_CLASSES = 56,      /* u64 offset of the class names */
    DSET_OFF_CLASSES_SIZE = 64, /* u64 */
    DSET_OFF_STATS = 72,        /* u64 offset of the statistics: (n_classes + 1) rows */
    DSET_OFF_INDEX = 80,        /* u64 offset of the index: n_records u64 */
    DSET_OFF_FILE_SIZE = 88,    /* u64 */
    DSET_OFF_SEED = 96,         /* u64 */
    DSET_OFF_TEST_FRAC = 104,   /* f64 */
    DSET_OFF_PER_CLASS = 112,   /* u64, 0 = no limit */
    DSET_OFF_FLAGS = 120,       /* u32: bit 0 recognized-only */
    DSET_OFF_VAL_PPM = 124,     /* u32: validation share of each class's train split, in millionths (0: none);
                                 * zero in files made before it, and readers before it ignore it */
};

/* A stroke record: this fixed part, then per stroke u16 n_points, u8 x[n], u8 y[n]. */
enum {
    REC_OFF_LABEL = 0,      /* u16 */
    REC_OFF_SPLIT = 2,      /* u8: 0 train, 1 test */
    REC_OFF_RECOGNIZED = 3, /* i8: 1, 0, -1 unknown */
    REC_OFF_COUNTRY = 4,    /* char[2], zero when unknown */
    REC_OFF_TIMESTAMP = 6,  /* u32 Unix seconds, 0 unknown */
    REC_OFF_KEY_ID = 10,    /* u64 */
    REC_OFF_N_STROKES = 18, /* u16 (stroke records) */
    STROKE_REC_FIXED = 20,
    BITMAP_REC_FIXED = 18, /* bitmap records: label..key_id, then height*width pixels */
};

/* A stats row: read, kept, train, test, then n_reasons skip counts, all u64. */
#define DSET_STATS_FIXED 4

#endif
