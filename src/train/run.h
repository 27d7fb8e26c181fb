/* One training run's state, shared by the loop (train.c) and its data-parallel side (train_sync.c). */
#ifndef DOODLE_TRAIN_RUN_H
#define DOODLE_TRAIN_RUN_H

#include "doodle/dataset.h"
#include "doodle/loader.h"
#include "doodle/model.h"
#include "doodle/train.h"
#include "train/checkpoint.h"
#include "train/history.h"

typedef struct run {
    const dd_train_opts *o;
    dd_dataset *ds;
    dd_model *m;
    dd_optimizer opt; /* zeroed until initialised: freeing it is safe either way */
    train_progress p;
    dd_loader *train, *val, *test; /* val and test may be NULL */
    dd_workspace *ws, *eval_ws;
    struct grad_sync *sync; /* owns the gradient block and sums it over the ranks (grad_sync.h) */
    float *grads;           /* [n_params]: the sync's gradients */
    float *x;
    int32_t *labels;
    uint8_t *decay;
    float *targets; /* [batch, classes]: soft targets (--label-smoothing, --mixup), NULL without */
    history hist;
    int rank, ranks;
    uint64_t pass_steps;  /* steps of one pass over the training split */
    uint64_t epoch_steps; /* steps of an epoch: a pass, or --steps-per-epoch */
    uint64_t total_steps; /* of the run: epochs x epoch_steps, or --max-steps if fewer */
    int epochs;           /* ceil(total_steps / epoch_steps) */
    double total_epochs;  /* total_steps / epoch_steps: what the learning-rate schedule spans */
    float lr;             /* of the last step */
    double train_seconds;
    char model_path[4200], checkpoint_path[4200], history_path[4200], test_path[4200];
} run;

/* After a step every rank took: -1 on every rank when rc failed on any. The failing rank keeps its message; the
 * others get an empty one (the failing rank says what went wrong). One process: rc. */
int train_agree_failure(run *r, int rc, dd_error *err);
/* A failure on this rank alone while the others may be inside a collective: with several ranks the message is
 * printed and the whole job ended (exit 1); with one, -1. */
int train_fail_local(run *r, dd_error *err);
/* Several ranks: checks that every rank runs the same data set, model and options (rank 0's hashes), then gives
 * every rank rank 0's parameters, running statistics, optimizer state and progress. */
int train_sync_start(run *r, dd_error *err);
/* Several ranks, at the end of an epoch: -1 on every rank (the differing ones say so) when a rank's weights are not
 * rank 0's bits, which the all-reduce must give (a hash of the parameters against rank 0's). */
int train_check_same_weights(run *r, int epoch, dd_error *err);
/* The BatchNorm running statistics averaged over the ranks (each saw only its shares). */
void train_average_state(run *r);
/* --resume: rank 0 loads the run's checkpoint and sends its bytes to the other ranks, which load the same (the
 * run folder may be on rank 0's machine alone). Every rank calls it; a failure anywhere fails it everywhere. */
int train_load_checkpoint(run *r, dd_train_opts *o, dd_error *err);

#endif
