#include "train/history.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doodle/alloc.h"
#include "doodle/files.h"

int history_add(history *h, const history_row *row, dd_error *err) {
    if (h->count == h->cap) {
        size_t cap = h->cap ? 2 * h->cap : 64;
        history_row *r = dd_realloc(h->rows, cap, sizeof *r, err);
        if (!r) return -1;
        h->rows = r;
        h->cap = cap;
    }
    h->rows[h->count++] = *row;
    return 0;
}

int history_save(const history *h, const char *path, dd_error *err) {
    dd_atomic_file a;
    if (dd_atomic_open(&a, path, err)) return -1;
    fprintf(a.f, "%s\n", HISTORY_HEADER);
    for (size_t i = 0; i < h->count; i++) {
        const history_row *r = &h->rows[i];
        fprintf(a.f, "%d,%.6f,%.6f,%.6f,%.6f,%.6f,%.9g,%.3f\n", r->epoch, r->train_loss, r->train_acc, r->val_loss,
                r->val_acc, r->val_top3, r->lr, r->seconds);
    }
    return dd_atomic_commit(&a, err);
}

int history_load(history *h, const char *path, int epochs, dd_error *err) {
    FILE *f = fopen(path, "r");
    if (!f && errno == ENOENT && epochs == 0) return 0; /* interrupted inside its first epoch: no row yet */
    if (!f) return dd_fail(err, DD_ERR_IO, "%s: cannot read the run's history: %s", path, strerror(errno));
    fclose(f);
    report_epoch *rows;
    size_t n;
    bool v1; /* a run from before the validation split: its test columns read as the validation ones */
    if (report_read_history(path, &rows, &n, &v1, err)) return -1;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n && rows[i].epoch <= epochs; i++) /* rows after the checkpoint's are dropped */
        rc = rows[i].epoch != (int)h->count + 1
                 ? dd_fail(err, DD_ERR_MALFORMED, "%s:%zu: epoch %d where epoch %zu was expected", path, i + 2,
                           rows[i].epoch, h->count + 1) /* row i on line i + 2, as history_save writes */
                 : history_add(h, &rows[i], err);
    free(rows);
    if (rc == 0 && h->count != (size_t)epochs)
        rc = dd_fail(err, DD_ERR_MALFORMED, "%s has %zu rows for the checkpoint's %d epochs", path, h->count, epochs);
    return rc;
}

void history_free(history *h) {
    free(h->rows);
    memset(h, 0, sizeof *h);
}
