/* history.csv: one row per epoch, `epoch,train_loss,train_acc,val_loss,val_acc,val_top3,lr,seconds` (the
 * validation columns are nan without a validation split; lr is the last step's), rewritten atomically after every
 * epoch (a resumed run reads back the rows of the epochs its checkpoint holds). A history of a run from before the
 * validation split (`epoch,train_loss,train_acc,test_loss,test_acc,seconds`, chosen on the test split) is read with
 * its test columns as the validation ones, top-3 and lr unknown (nan). */
#ifndef DOODLE_TRAIN_HISTORY_H
#define DOODLE_TRAIN_HISTORY_H

#include <stddef.h>

#include "doodle/error.h"
#include "viz/report_html.h" /* report_read_history: the one reader of history.csv */

#define HISTORY_HEADER "epoch,train_loss,train_acc,val_loss,val_acc,val_top3,lr,seconds"
#define HISTORY_HEADER_V1 "epoch,train_loss,train_acc,test_loss,test_acc,seconds"

typedef report_epoch history_row;

typedef struct history {
    history_row *rows;
    size_t count, cap;
} history;

int history_add(history *h, const history_row *row, dd_error *err);
int history_save(const history *h, const char *path, dd_error *err);
/* Reads the rows of epochs 1..epochs from path (all of them must be there). */
int history_load(history *h, const char *path, int epochs, dd_error *err);
void history_free(history *h);

#endif
