/* Training a model on a .dset: the loop behind `doodle train`.
 *
 * Per epoch: the train split in a seeded order (rendered and augmented by the loader's prefetch thread), one
 * optimizer step per batch, then the test split evaluated. The run folder gets history.csv
 * (epoch,train_loss,train_acc,test_loss,test_acc,seconds), model.safetensors (the weights with the best test
 * accuracy so far) and checkpoint.safetensors (the last epoch: weights, optimizer moments, epoch, RNG state and
 * the options), all written atomically. --resume continues from the checkpoint bit for bit: the same seed and
 * thread count give the same bits whether a run was interrupted or not. A NaN or infinite loss or gradient stops
 * the run with a message naming the epoch and step; the last checkpoint stays as it was. */
#ifndef DOODLE_TRAIN_H
#define DOODLE_TRAIN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "doodle/error.h"
#include "doodle/optim.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dd_train_opts {
    const char *data_path; /* .dset */
    const char *model;     /* built-in name or .cfg path */
    const char *run_dir;
    int epochs, batch;
    dd_opt_kind optimizer;
    float lr, weight_decay, momentum;
    dd_schedule_kind schedule;
    float warmup_epochs, min_lr;
    bool augment;
    uint64_t seed;
    int threads;
    int patience; /* stop after this many epochs without a better test accuracy; 0 = never */
    bool resume;
    bool progress; /* a live progress bar (a terminal); else one line per epoch */
    FILE *log;     /* where progress goes (stdout) */
} dd_train_opts;

/* The recipe `doodle train` uses when no flag says otherwise. */
dd_train_opts dd_train_defaults(void);

/* Checks every option against the rules of `doodle train`, the one place they are written: the command line and
 * the options a checkpoint stores (read back by --resume) both go through them. The message names the option by
 * its flag, e.g. "--lr -1 is out of range: it must be in (0, 10]" (DD_ERR_USAGE). dd_train checks its options too. */
int dd_train_opts_check(const dd_train_opts *o, dd_error *err);

typedef struct dd_train_result {
    int epochs_run;
    int best_epoch;
    float best_test_acc, best_test_loss;
    bool stopped_early;
} dd_train_result;

/* With opts->resume, a run folder without a checkpoint (a run stopped before its first epoch ended) is an error
 * that says so: there is nothing to resume, start again without resume. */
int dd_train(const dd_train_opts *opts, dd_train_result *result, dd_error *err);

#ifdef __cplusplus
}
#endif
#endif
