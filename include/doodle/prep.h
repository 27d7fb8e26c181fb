/* prep: Quick, Draw! files -> one .dset. Reads every input (ndjson, .gz, .bin, or .npy bitmaps), simplifies raw
 * drawings with Google's recipe, keeps each key_id once, applies --classes / --per-class / --recognized-only,
 * splits each class into train and test with a seeded shuffle, and counts per class what it read, kept and
 * skipped, and why. */
#ifndef DOODLE_PREP_H
#define DOODLE_PREP_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "doodle/dataset.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dd_prep_opts {
    const char *const *inputs; /* files or directories */
    size_t n_inputs;
    const char *const *classes; /* the classes to keep, in label order; NULL: every class found */
    size_t n_classes;
    uint64_t per_class; /* keep at most this many drawings per class (the first ones read); 0 = all */
    bool sample_random; /* with per_class: a seeded uniform sample of per_class drawings of each class (one pass,
                         * reservoir sampling) instead of the first ones; the same seed gives the same sample */
    int threads;        /* files read in parallel by this many threads (0: every core); the output is the same
                         * byte for byte whatever the number */
    double test_frac;   /* 0..1: fraction of each class put in the test split (1: evaluation-only set) */
    /* 0..0.9: share of each class's train split doodle train keeps for validation, stored in the header (the
     * drawings are chosen by dd_dataset_val_mask with the split's seed, so the file itself is the same) */
    double val_frac;
    uint64_t seed;
    bool recognized_only; /* drop drawings Google's game did not recognise (drawings that do not say are kept) */
    bool strict;          /* the first bad record is fatal */
    FILE *log;            /* where bad records are reported (file:line: what); NULL: nowhere */
    FILE *progress;       /* a terminal: one live line (files done, drawings/s, time left) on big inputs; NULL: none */
    /* CSV or JSON files of drawings to leave out (key_ids, with their class when the file says it; see
     * prep_exclude.c). They are taken out after every other choice: the rest of the set, and every drawing's split,
     * is what it would be without them. */
    const char *const *exclude;
    size_t n_exclude;
} dd_prep_opts;

typedef struct dd_prep_report {
    dd_dset_kind kind;
    uint32_t n_classes;
    char (*class_names)[DD_WORD_MAX];
    dd_class_stats *stats; /* n_classes + 1 rows; the last: records no class could be named for */
    uint64_t n_files, n_records;
    /* --exclude: drawings left out, per class (n_classes + 1 entries; NULL without --exclude) and in all; distinct
     * drawings listed, and how many of them were not in the set (never read, or left out for another reason) */
    uint64_t *excluded;
    uint64_t excluded_total, exclude_listed, exclude_unseen;
} dd_prep_report;

/* Writes out_path atomically (nothing is written on failure). The report is filled on success and on failure
 * (with what was counted so far); free it with dd_prep_report_free. */
int dd_prep_run(const dd_prep_opts *opts, const char *out_path, dd_prep_report *report, dd_error *err);
void dd_prep_report_free(dd_prep_report *report);

#ifdef __cplusplus
}
#endif
#endif
