/* Readers and writers for every Quick, Draw! file format.
 *
 *   ndjson   one JSON object per line: word, countrycode, timestamp, recognized, key_id, drawing. Raw drawings
 *            have strokes [[x…],[y…],[t…]] with float coordinates; simplified ones [[x…],[y…]] in 0..255.
 *   .bin     Google's binary format: key_id u64, countrycode 2 bytes, recognized i8, timestamp u32,
 *            n_strokes u16, then per stroke n_points u16, x u8[n], y u8[n] (all little-endian).
 *   .npy     uint8 bitmaps of shape (N,784), (N,1,784), (N,28,28) or (N,H,W).
 *   .csv     Kaggle's copy (train_simplified/<class>.csv, train_raw/, test_simplified.csv): RFC 4180 CSV whose
 *            header names the columns (any order; unknown ones ignored; only "drawing" required), the drawing a
 *            quoted JSON list of strokes as in ndjson, recognized True/False, key_id a bare integer.
 * Any of them may be gzip-compressed (`.gz`); plain files are read through the same zlib path. */
#ifndef DOODLE_QUICKDRAW_H
#define DOODLE_QUICKDRAW_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "doodle/drawing.h"
#include "doodle/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum dd_format {
    DD_FORMAT_UNKNOWN = 0,
    DD_FORMAT_NDJSON,
    DD_FORMAT_BIN,
    DD_FORMAT_NPY,
    DD_FORMAT_CSV
} dd_format;

/* Format from the file name: *.ndjson, *.json (one drawing per line), *.bin, *.npy, *.csv, each optionally + ".gz". */
dd_format dd_format_from_path(const char *path);

/* Class name from a file name, as Quick, Draw! names its files: directory, extensions and an official
 * "full_numpy_bitmap_" / "full_simplified_" / "full_raw_" prefix removed, '_' turned into ' '
 * ("data/smiley_face.npy.gz" -> "smiley face"). Fails when the name does not fit in DD_WORD_MAX. */
int dd_class_from_path(const char *path, char out[DD_WORD_MAX], dd_error *err);

/* The Quick, Draw! files a verb's arguments name: each argument is a file, or a folder whose files of a known
 * format (any depth; dd_format_from_path) are taken in sorted order, so that runs are reproducible. */
typedef struct dd_file_list {
    char **paths;
    size_t count, cap;
} dd_file_list;

/* Appends path, or the known files under it when it is a folder. A missing path or a folder with no known file is
 * an error naming it. */
int dd_file_list_add(dd_file_list *l, const char *path, dd_error *err);
void dd_file_list_free(dd_file_list *l);

/* ---- strokes: ndjson, .bin and .csv, read one drawing at a time ---- */

typedef struct dd_stroke_reader dd_stroke_reader;

typedef enum dd_next {
    DD_NEXT_FATAL = -2, /* the file cannot be read further (I/O error, truncated .gz or .bin): stop */
    DD_NEXT_BAD = -1,   /* this record is bad (err says why and where); the next call reads the next record */
    DD_NEXT_END = 0,    /* no more drawings */
    DD_NEXT_OK = 1      /* *d holds the next drawing */
} dd_next;

dd_stroke_reader *dd_stroke_reader_open(const char *path, dd_error *err);
/* Reads the next drawing into d (reusing its buffers). Every returned drawing has passed dd_drawing_validate.
 * Error messages start with "path:line:" (ndjson, .csv) or "path: record N:" (.bin). A .csv header that cannot be
 * used (no "drawing" column, a column named twice) is FATAL. */
dd_next dd_stroke_reader_next(dd_stroke_reader *r, dd_drawing *d, dd_error *err);
/* 1-based line (ndjson; .csv: the line the record starts on) or record (.bin) number of the record last returned. */
uint64_t dd_stroke_reader_record(const dd_stroke_reader *r);
/* Prefixes err with where the record last returned is, as the reader's own messages do ("path:line" or
 * "path: record N"), for errors found later (e.g. by simplify or render). Returns -1. */
int dd_stroke_reader_locate(const dd_stroke_reader *r, dd_error *err);
void dd_stroke_reader_close(dd_stroke_reader *r);

/* Parses one ndjson object (no trailing newline needed) into d. Unknown keys are skipped; only "drawing" is
 * required. Messages name the field and what is wrong, without a file prefix. */
int dd_ndjson_parse(const char *text, size_t len, dd_drawing *d, dd_error *err);

/* Parses just a "drawing" value, the JSON list of strokes [[[x…],[y…]], …] (or with [t…]), into d's strokes
 * (metadata untouched, the drawing not validated: callers run dd_drawing_validate once the rest is read).
 * Whitespace may surround it; nothing else. Messages read like dd_ndjson_parse's ("drawing stroke 2 x: column N:
 * …"), with column0 added to every column (where text starts in the caller's line; 0 when it is the line). */
int dd_ndjson_parse_drawing(const char *text, size_t len, size_t column0, dd_drawing *d, dd_error *err);

/* Writes d as one ndjson line with Google's keys and key order (word, countrycode, timestamp, recognized, key_id,
 * drawing). Coordinates are written as integers when the drawing is simplified, otherwise with the shortest
 * text that reads back to the same double; times are written when d has them. */
int dd_ndjson_write(FILE *f, const dd_drawing *d, dd_error *err);

/* Writes d as one .bin record (d must be simplified: coordinates 0..255). */
int dd_bin_write(FILE *f, const dd_drawing *d, dd_error *err);

/* ---- bitmaps: .npy ---- */

/* Reads a whole uint8 .npy (or .npy.gz) of shape (N,784) or (N,1,784) -> N x 28 x 28, or (N,H,W). */
int dd_npy_read(const char *path, dd_bitmaps *out, dd_error *err);
/* Writes bitmaps as a .npy of shape (N,H,W), uint8, via a temporary file renamed into place. */
int dd_npy_write(const char *path, const dd_bitmaps *b, dd_error *err);

#ifdef __cplusplus
}
#endif
#endif
