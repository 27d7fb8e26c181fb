/* Searching for a better training recipe: what `doodle tune` does, a seeded random search with successive halving
 * over `doodle train` runs.
 *
 * N trials are drawn from a search space (trial t from a stream of the seed and t alone). Each is a normal run
 * folder, DIR/trial-NNN, trained by a child `doodle train` (one at a time, with `threads` threads; its output in
 * DIR/trial-NNN.log), planned for its full epochs E so that the learning-rate schedule is the one of a run
 * straight through. With K = floor(log2 N) halvings, rung k trains its trials to ceil(E / 2^(K - k)) epochs, ranks
 * them by their best validation accuracy so far and keeps the better half for the next rung, which goes on from
 * their checkpoints (the same bits as an uninterrupted run); the last rung trains the survivors to E. Trials are
 * chosen on validation accuracy only. The state is the run folders themselves: the same search run again after an
 * interruption or a kill goes on where it stopped, and finished work is never redone. DIR gets tune.txt (what the
 * search is: another search in the same folder is refused), trials.csv and summary.html.
 *
 * A space is text, one parameter a line, `#` starting a comment:
 *     NAME uniform LO HI        a number drawn uniformly in [LO, HI]
 *     NAME log-uniform LO HI    a number whose logarithm is uniform (0 < LO <= HI): learning rates, decays
 *     NAME int LO HI            a whole number in LO..HI
 *     NAME choice A B C ...     one of the words (a network: doodle28, mnist28 or a .cfg path; 0 0.999 ...)
 * NAME is a `doodle train` option without its dashes (lr, weight-decay, batch, epochs, model, warmup,
 * aug-rotation, aug-scale-min, aug-shift, label-smoothing, mixup, ema, momentum, opt, schedule; '_' may stand for
 * '-'); each trial passes `--NAME VALUE`. */
#ifndef DOODLE_TUNE_H
#define DOODLE_TUNE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "doodle/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The default space: a few decades of learning rate and weight decay around the default recipe, batch, epochs,
 * augmentation, label smoothing, EMA and two networks. */
extern const char dd_tune_default_space[];

typedef struct dd_tune_opts {
    const char *data_path;  /* the .dset */
    const char *dir;        /* the search's folder (created if needed) */
    int trials;             /* trials drawn from the space, 1..999 */
    double budget_seconds;  /* training time in all (the trials' epochs summed); when spent, no trial goes on */
    const char *space_path; /* the search space's file; NULL: dd_tune_default_space */
    uint64_t seed;          /* the trials drawn and every trial's training seed */
    int threads;            /* each trial's threads, 1..256 (part of the bits) */
    /* the doodle program that trains the trials (`DOODLE train ...`); NULL: this process's own program, which
     * must be doodle */
    const char *doodle_path;
    FILE *log; /* a line as each trial starts, stops or fails ("trial-001: epochs 2..4 of 8"); NULL: none */
} dd_tune_opts;

typedef struct dd_tune_result {
    bool interrupted;  /* by dd_tune_interrupt: the same search run again goes on */
    bool budget_spent; /* the search stopped there */
    int best_trial;    /* the best finished trial by validation accuracy; -1: no trial finished its epochs */
    double best_val_acc;
    int best_epoch, best_epochs; /* the epoch of its best validation accuracy, of its planned epochs */
    char best_command[8192];     /* the `doodle train` command (with -o RUNDIR) that trains it again, bit for bit */
} dd_tune_result;

/* Runs (or goes on with) the search, then writes DIR/trials.csv and DIR/summary.html, also when interrupted.
 * 0 (r filled), or -1 with err set: DD_ERR_USAGE for options out of range and for a folder that holds another
 * search; a space that does not parse names its file and line. A trial that fails (a diverging learning rate, say)
 * is marked DIR/trial-NNN.failed, ranked last and not tried again. One search runs at a time in a process. */
int dd_tune_run(const dd_tune_opts *o, dd_tune_result *r, dd_error *err);

/* Stops the search in progress, from a signal handler (it is async-signal-safe) or another thread: the trial that
 * is training gets SIGINT (it writes its checkpoint where it is), and dd_tune_run returns with r->interrupted. Ctrl-C
 * in a terminal reaches the trial too (one process group); a signal sent to the searching process alone should be
 * passed on so. A call before dd_tune_run starts stops it before its first trial. */
void dd_tune_interrupt(void);

#ifdef __cplusplus
}
#endif
#endif
