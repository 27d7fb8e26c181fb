/* Training a model on a .dset: the loop behind `doodle train`.
 *
 * The training split loses a validation split (val_frac of every class, seeded by the set's split seed: see
 * dd_dataset_val_mask), on which every epoch is evaluated and the best epoch chosen; the test split is evaluated
 * once, at the end, with the chosen weights, so the figure reported for it was not used to choose anything.
 *
 * Per epoch: the train split in a seeded order (rendered and augmented by the loader's prefetch thread), one
 * optimizer step per batch, then the validation split evaluated. An "epoch" is a whole pass, or steps_per_epoch
 * steps of the endless sequence of passes (for sets so big that a pass takes hours). The run folder gets
 * history.csv (epoch,train_loss,train_acc,val_loss,val_acc,val_top3,lr,seconds), model.safetensors (the weights
 * with the best validation accuracy so far; the last epoch's without a validation split), checkpoint.safetensors
 * (the last epoch: weights, optimizer moments, steps, RNG state and the options) and test.json (the test split's
 * figures for model.safetensors), all written atomically. --resume continues from the checkpoint bit for bit: the
 * same seed and thread count give the same bits whether a run was interrupted or not. A NaN or infinite loss or
 * gradient stops the run with a message naming the epoch and step; the last checkpoint stays as it was.
 *
 * Under MPI (`mpirun -np N doodle train`, doodle/dist.h) every rank runs dd_train with the same options: each
 * takes its contiguous share of every global batch of `batch` drawings, the gradients are summed by one all-reduce
 * per step, and rank 0 alone writes the run folder. */
#ifndef DOODLE_TRAIN_H
#define DOODLE_TRAIN_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "doodle/error.h"
#include "doodle/optim.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Data-parallel: the least a gradient bucket holds before its all-reduce starts (dd_train_opts.allreduce_bucket_kb).
 * Small beside DDP's 25 MB: doodle28's and seed's whole blocks are about 1 MB, so that their dense layer's gradient
 * (60-80% of it) is on its way while the convolutions' backward, most of the step's work, still runs. */
#define DD_ALLREDUCE_BUCKET_KB 256

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
    float aug_rotation;  /* largest rotation in degrees (strokes; bitmaps with warp_bitmaps) */
    float aug_scale_min; /* scale drawn in [aug_scale_min, 1] */
    float aug_shift;     /* largest shift as a fraction of the box */
    bool warp_bitmaps;   /* bitmap sets turned and scaled too, by a bilinear warp (else shifted only) */
    /* how a fresh model draws stroke drawings (its dd_render_opts, kept in model.safetensors and used by every verb
     * after): Google's 16 and 16 by default; augmentation's line-width jitter spans 0.75..1.25 of line_width */
    double line_width, padding;
    float label_smoothing; /* targets (1 - e) on the label and e / classes everywhere; 0 = plain one-hot */
    float mixup;           /* mixup's alpha: each batch blended with itself reversed, lambda ~ Beta(a, a); 0 = off */
    float ema;             /* decay of an exponential moving average of the weights, which validation, test and
                            * model.safetensors then use; 0 = off */
    uint64_t seed;
    int threads;
    int patience;             /* stop after this many epochs without a better validation accuracy; 0 = never */
    double val_frac;          /* share of every class's training drawings kept for validation, [0, 0.9]; 0 = none;
                               * -1: the one the set was made with (doodle prep --val-frac), else 0.1 */
    uint64_t steps_per_epoch; /* optimizer steps between evaluations and checkpoints; 0 = a whole pass */
    uint64_t max_steps;       /* stop after this many steps in all (the schedule spans them); 0 = epochs decide */
    bool resume;
    /* pause after this many epochs of the planned `epochs` (the schedule still spans all of them), leaving the
     * checkpoint for --resume: the same bits as a run straight through (doodle tune's successive halving); 0 = run
     * to the end. Not stored in the checkpoint. */
    int stop_after;
    /* when not NULL and set (e.g. by a SIGINT handler), training stops after the step in progress and writes a
     * checkpoint there, inside the epoch; --resume goes on from it with the same bits */
    volatile sig_atomic_t *interrupt;
    /* data-parallel runs (several ranks; not kept in the checkpoint, every rank must be given the same): */
    bool allreduce_overlap;       /* sum gradient buckets while backward goes on (default); false: one all-reduce
                                   * after backward */
    bool allreduce_bf16;          /* send the gradients as bfloat16 (half the bytes, ~3 digits); default float32 */
    uint32_t allreduce_bucket_kb; /* the least a bucket holds before it is sent (DD_ALLREDUCE_BUCKET_KB) */
    bool progress;                /* a live progress bar (a terminal); else one line per epoch */
    FILE *log;                    /* where progress goes (stdout) */
} dd_train_opts;

/* The recipe `doodle train` uses when no flag says otherwise. */
dd_train_opts dd_train_defaults(void);

/* Checks every option against the rules of `doodle train`, the one place they are written: the command line and
 * the options a checkpoint stores (read back by --resume) both go through them. The message names the option by
 * its flag, e.g. "--lr -1 is out of range: it must be in (0, 10]" (DD_ERR_USAGE). dd_train checks its options too. */
int dd_train_opts_check(const dd_train_opts *o, dd_error *err);

typedef struct dd_train_result {
    int epochs_run;
    int best_epoch;         /* the epoch model.safetensors holds */
    bool has_val, has_test; /* the set had (or was given) a validation / a test split */
    double best_val_acc, best_val_loss;
    double test_acc, test_loss, test_top3; /* of best_epoch's weights; NaN without a test split */
    uint64_t test_count;
    bool stopped_early;
    bool paused; /* stop_after reached before the planned epochs: no test evaluation, --resume goes on */
    /* interrupted (opts->interrupt): a checkpoint was written after step stopped_step of epoch_steps in epoch
     * stopped_epoch; nothing was evaluated */
    bool interrupted;
    int stopped_epoch;
    uint64_t stopped_step, epoch_steps;
    /* data-parallel runs: ranks, and the all-reduce's share of the training time */
    int ranks;
    double allreduce_seconds, train_seconds;
    uint64_t allreduce_bytes, steps;
    size_t allreduce_buckets; /* all-reduces a step */
} dd_train_result;

/* With opts->resume, a run folder without a checkpoint (a run stopped before its first epoch ended) is an error
 * that says so: there is nothing to resume, start again without resume. */
int dd_train(const dd_train_opts *opts, dd_train_result *result, dd_error *err);

/* doodle eval's evaluation (include/doodle/metrics.h's dd_eval_run) with test-time augmentation: with tta, every
 * drawing is scored by the mean of the probabilities of 5 views (as it is, and moved by one pixel each way), at 5
 * times the cost. split may also be DD_EVAL_SPLIT_VAL: the validation split doodle train carves out of the
 * training split (the set's --val-frac, else 0.1, with its split seed), on which TTA can be judged without the
 * test split. */
#define DD_EVAL_SPLIT_VAL (-2)
struct dd_model;
struct dd_dataset;
struct dd_eval_result;
int dd_eval_run_tta(const struct dd_model *m, const struct dd_dataset *ds, int split, int batch, bool tta,
                    struct dd_eval_result *out, dd_error *err);

#ifdef __cplusplus
}
#endif
#endif
