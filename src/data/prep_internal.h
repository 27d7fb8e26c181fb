/* Internals of doodle prep, shared by prep.c (the one thread that decides and writes, in input order),
 * prep_read.c (inflating, parsing, simplifying and encoding a file into chunks), prep_pipe.c (reader threads and the
 * bounded queues between them and the writer), prep_sample.c (--sample random) and the two readers and the writer
 * it extends (npy.c, dataset_write.c). */
#ifndef DOODLE_DATA_PREP_INTERNAL_H
#define DOODLE_DATA_PREP_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "data/gz_input.h"
#include "doodle/dataset.h"
#include "doodle/prep.h"
#include "doodle/quickdraw.h"

/* ---- the dataset writer, for records encoded elsewhere (dataset_write.c) ---- */

/* Checks d as dd_dataset_writer_add_strokes does (DD_ERR_RANGE: it cannot be a record) and gives its record size;
 * known_simplified: the caller has checked dd_drawing_is_simplified (the longest part of the check). */
int data_dset_stroke_record_size(const dd_drawing *d, bool known_simplified, size_t *size, dd_error *err);
/* Encodes d (checked by data_dset_stroke_record_size) at out. */
void data_dset_put_strokes(uint8_t *out, uint32_t label, dd_split split, const dd_drawing *d);
void data_dset_put_bitmap(uint8_t *out, uint32_t label, dd_split split, uint64_t key_id, const uint8_t *pixels,
                          size_t n_pixels);
/* Appends one record encoded by the functions above (of the writer's kind). */
int data_dataset_writer_add_encoded(dd_dataset_writer *w, const uint8_t *rec, size_t size, dd_error *err);
/* Like dd_dataset_writer_finish, but the split of every record is split_of(ctx, its label), asked in record order.
 * The writer keeps nothing per record while records are added: the index is rebuilt here from the records. */
typedef dd_split (*data_split_fn)(void *ctx, uint32_t label);
int data_dataset_writer_finish_splits(dd_dataset_writer *w, uint32_t n_classes, const char *const *class_names,
                                      const dd_class_stats *stats, const dd_dset_params *params, data_split_fn split_of,
                                      void *ctx, dd_error *err);

/* ---- .npy read a few images at a time (npy.c); messages as dd_npy_read's, prefixed with the path ---- */

typedef struct data_npy_stream {
    data_gz_input in;
    const char *path;
    uint64_t count, done;
    uint32_t height, width;
    char shape[128]; /* as Python writes it, for messages */
} data_npy_stream;

int data_npy_stream_open(data_npy_stream *s, const char *path, dd_error *err);
/* Reads up to max images into dst; returns how many (0 once all are read, after checking that nothing follows the
 * last one), -1 on error (a truncated file is an error, as in dd_npy_read). */
int64_t data_npy_stream_read(data_npy_stream *s, uint8_t *dst, uint64_t max, dd_error *err);
void data_npy_stream_close(data_npy_stream *s);

/* ---- chunks: what a reader made of a run of one file's records, in file order ---- */

typedef enum prep_item_kind {
    PREP_DRAWING,    /* a record, encoded (label 0, split train); payload = the record */
    PREP_NO_PAYLOAD, /* a drawing prep will skip whatever the state (--recognized-only and not recognised) */
    PREP_TOO_LARGE,  /* a drawing that cannot be stored or drawn (skip reason too_large) */
    PREP_BAD_LATE,   /* a drawing that parsed but could not be simplified; payload = message (bad record) */
    PREP_FAIL_LATE,  /* the same, out of memory: fatal if prep gets as far as simplifying it; payload = message */
    PREP_BAD,        /* a bad record from the reader; payload = message */
    PREP_FATAL,      /* the reader cannot go on in this file (counted as a bad record); payload = message */
    PREP_ABORT,      /* the file cannot be read at all (or out of memory): the run fails here; payload = message */
    PREP_NPY_SIZE,   /* the .npy's image size: height and width (u32 each) as payload; before its images */
} prep_item_kind;

typedef struct prep_item {
    uint8_t kind; /* prep_item_kind */
    uint8_t word; /* index into the chunk's words */
    int8_t recognized;
    uint8_t code;  /* dd_status of an error item */
    uint32_t size; /* payload bytes (a message includes its NUL) */
    uint64_t key_id;
} prep_item;

#define PREP_CHUNK_WORDS 8
#define PREP_CHUNK_DATA ((size_t)1 << 20) /* payload bytes after which a chunk is full */

typedef struct prep_chunk {
    struct prep_chunk *next;
    int owner;   /* the reader thread whose credit it is */
    size_t file; /* index into the input files */
    bool last;   /* the file's final chunk (it may hold no items) */
    prep_item *items;
    uint32_t n_items, max_items;
    uint8_t *data;
    size_t n_data, cap_data;
    uint32_t n_words;
    char words[PREP_CHUNK_WORDS][DD_WORD_MAX];
} prep_chunk;

prep_chunk *prep_chunk_new(uint32_t max_items, dd_error *err);
void prep_chunk_free(prep_chunk *c);

/* What a reader needs to know of the run; read-only while readers run. */
typedef struct prep_read_cfg {
    const dd_prep_opts *o;
    const char *const *paths;
    size_t n_files;
    uint32_t chunk_items;
} prep_read_cfg;

/* One reader's state: the open file and its reusable buffers. */
typedef struct prep_source {
    const prep_read_cfg *cfg;
    size_t file;
    bool open, done, npy, pending; /* pending: drawing holds a record not yet put in a chunk */
    bool first, other_class;       /* other_class: --classes does not name the file's class */
    char file_class[DD_WORD_MAX];
    dd_stroke_reader *reader;
    data_npy_stream npy_stream;
    dd_drawing drawing, simplified;
    data_gz_buffers gz_buffers; /* one file's whole compressed and inflated bytes, reused by the next file */
} prep_source;

void prep_source_init(prep_source *s, const prep_read_cfg *cfg);
void prep_source_free(prep_source *s);
/* Starts file i (failures become a PREP_ABORT item of the first chunk). */
void prep_source_start(prep_source *s, size_t file);
/* Fills c (emptied first) with the file's next records; sets c->last (and ends the file) at its end, or when stop
 * becomes true. */
void prep_source_fill(prep_source *s, prep_chunk *c, const atomic_bool *stop);
void prep_source_end(prep_source *s);

/* ---- the pipe: chunks of file 0, 1, … to the writer in order, read by n_threads threads (0: in the caller) ---- */

typedef struct prep_pipe prep_pipe;

prep_pipe *prep_pipe_start(const prep_read_cfg *cfg, int n_threads, dd_error *err);
/* The next chunk of `file` (files are asked for in order, each until its last chunk); NULL on allocation failure
 * (err set). Give it back with prep_pipe_release. */
prep_chunk *prep_pipe_next(prep_pipe *p, size_t file, dd_error *err);
void prep_pipe_release(prep_pipe *p, prep_chunk *c);
/* The writer needs no more of `file`: its reader stops after the chunk it is filling (its chunks still come,
 * the last one marked). */
void prep_pipe_stop_file(prep_pipe *p, size_t file);
/* Stops and joins every thread and frees everything (also on error paths). */
void prep_pipe_close(prep_pipe *p);

/* ---- --sample random: a seeded reservoir per class over a spill file (prep_sample.c) ---- */

typedef struct prep_sampler prep_sampler;

prep_sampler *prep_sampler_new(const char *out_path, uint64_t per_class, uint64_t seed, dd_error *err);
/* Offers one candidate record of class label (label already in the record); it may be kept for now. */
int prep_sampler_offer(prep_sampler *s, uint32_t label, const uint8_t *rec, size_t size, dd_error *err);
/* Candidates offered for label so far. */
uint64_t prep_sampler_offered(const prep_sampler *s, uint32_t label);
/* Hands the chosen records to put (which stores them) in input order. */
typedef int (*prep_put_fn)(void *ctx, const uint8_t *rec, size_t size, dd_error *err);
int prep_sampler_write(prep_sampler *s, prep_put_fn put, void *ctx, dd_error *err);
void prep_sampler_free(prep_sampler *s);

/* ---- --exclude FILE: drawings left out of the set (prep_exclude.c) ---- */

typedef struct prep_exclude prep_exclude;

/* Reads every file: CSV with a key_id column (and a class column true, label, class or word, when there is one),
 * or .json (a labels file's "mislabelled" list, or an array of key_ids or {"key_id", "true"} objects). Errors
 * name the file and the line (CSV) or entry (JSON). */
prep_exclude *prep_exclude_load(const char *const *paths, size_t n_paths, dd_error *err);
/* True when the drawing (its class, its key_id) is listed; it then counts as seen. */
bool prep_exclude_hit(prep_exclude *x, const char *class_name, uint64_t key_id);
/* Distinct drawings listed; those never met by prep_exclude_hit's true answer. */
uint64_t prep_exclude_listed(const prep_exclude *x);
uint64_t prep_exclude_unseen(const prep_exclude *x);
/* "FILE:LINE" of the first entry that gives no class, or NULL. */
const char *prep_exclude_classless(const prep_exclude *x);
void prep_exclude_free(prep_exclude *x);

#endif
