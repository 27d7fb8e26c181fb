/* checkpoint.safetensors: what `doodle train --resume` needs to continue bit for bit — the model (weights,
 * running statistics, cfg, classes), the optimizer's moments and step, the epochs done, the dropout RNG, the
 * early-stopping state and the training options. */
#ifndef DOODLE_TRAIN_CHECKPOINT_H
#define DOODLE_TRAIN_CHECKPOINT_H

#include "doodle/model.h"
#include "doodle/optim.h"
#include "doodle/rng.h"
#include "doodle/train.h"

typedef struct train_progress {
    int epochs_done;
    int best_epoch; /* 0: none yet */
    /* the chosen epoch's validation accuracy and loss (stored as best_test_acc/best_test_loss, the names of the
     * runs before the validation split, which chose on the test split) */
    float best_test_acc, best_test_loss;
    uint64_t steps_done; /* optimizer steps of the run so far; STEPS_UNKNOWN from a checkpoint that predates them */
    /* a checkpoint inside an epoch (an interruption): the epoch's training loss sum, correct and seen so far */
    double part_loss;
    uint64_t part_correct, part_seen;
    dd_rng rng; /* dropout masks */
    float *ema; /* [n_params]: the weights' moving average (--ema), owned, NULL without */
} train_progress;

#define STEPS_UNKNOWN UINT64_MAX /* such a checkpoint's epochs were whole passes */

/* dd_train_opts_check (train.c); stored: the options were read from a checkpoint, so the message names them as it
 * stores them ("option 'lr' is -1") and the code is DD_ERR_MALFORMED, not a usage error. */
int train_opts_check(const dd_train_opts *o, bool stored, dd_error *err);

int checkpoint_save(const char *path, const dd_model *m, const dd_optimizer *o, const train_progress *p,
                    const dd_train_opts *opts, dd_error *err);
/* Loads everything back; *m and o are created (o is initialised here). The options saved with the run replace
 * opts' training options, except epochs and max_steps (a resumed run may be given more or fewer) and the I/O settings.
 * Every stored number is parsed strictly and checked as the command line's are; the message names the file and the
 * field. */
int checkpoint_load(const char *path, dd_model **m, dd_optimizer *o, train_progress *p, dd_train_opts *opts,
                    dd_error *err);

#endif
