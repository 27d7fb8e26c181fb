/* doodle tune's pieces behind doodle/tune.h (which says what a search and a space are): the space and its trials
 * (src/train/tune_space.c), the summary page (src/train/tune_page.c); the search itself is
 * src/train/tune_search.c. Trial values are written with 4 significant digits, so that the command a trial prints
 * is the trial. */
#ifndef DOODLE_TRAIN_TUNE_H
#define DOODLE_TRAIN_TUNE_H

#include <stdint.h>

#include "doodle/error.h"

#define TUNE_PARAMS_MAX 24
#define TUNE_VALUE_MAX 256

typedef enum tune_kind { TUNE_UNIFORM, TUNE_LOG_UNIFORM, TUNE_INT, TUNE_CHOICE } tune_kind;

typedef struct tune_param {
    char name[32]; /* the train option, dashes as `doodle train` spells it */
    tune_kind kind;
    double lo, hi;
    char **choices;
    int n_choices;
} tune_param;

typedef struct tune_space {
    tune_param p[TUNE_PARAMS_MAX];
    int n;
} tune_space;

/* Parses text (from `where`, for messages: "FILE line N: ..."). */
int tune_space_parse(const char *text, const char *where, tune_space *s, dd_error *err);
void tune_space_free(tune_space *s);

/* Trial t's values, one per parameter in the space's order, from a stream of (seed, t) alone: the same seed gives
 * the same trials, whatever was run before. */
void tune_sample(const tune_space *s, uint64_t seed, int trial, char values[][TUNE_VALUE_MAX]);

/* One trial's outcome, for trials.csv and the page. */
typedef struct tune_result {
    int trial;
    const char *status;      /* "finished", "stopped" (by the halving), "failed", "not run" (the budget) */
    int epochs, epochs_done; /* planned, and done */
    int best_epoch;          /* by validation accuracy, 0: none */
    double val_acc;          /* the best epoch's; NaN: no epoch */
    double test_acc;         /* test.json's (finished trials); NaN otherwise */
    double seconds;          /* training time, the history's sum */
    char values[TUNE_PARAMS_MAX][TUNE_VALUE_MAX];
} tune_result;

/* TUNEDIR/summary.html: the trials ranked by validation accuracy, the best one's settings and command, the
 * validation accuracy of every trial against its training time, and the best trials' curves (the run comparison's
 * plots). results are ranked already (best first). */
int tune_write_page(const char *dir, const tune_space *s, const tune_result *results, int n, const char *command,
                    dd_error *err);

#endif
