#include "train/history.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/atomic_file.h"

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
    char line[512];
    int rc = 0, lineno = 0;
    bool v1 = false; /* the header of runs before the validation split */
    while (rc == 0 && fgets(line, sizeof line, f)) {
        lineno++;
        if (lineno == 1) {
            line[strcspn(line, "\r\n")] = '\0';
            v1 = !strcmp(line, HISTORY_HEADER_V1);
            if (!v1 && strcmp(line, HISTORY_HEADER))
                rc = dd_fail(err, DD_ERR_MALFORMED, "%s:1: not the header '%s'", path, HISTORY_HEADER);
            continue;
        }
        history_row r = {.val_top3 = NAN, .lr = NAN};
        int end = -1, got; /* strict: nothing after the numbers but the line's end */
        if (v1)
            got = sscanf(line, "%d,%lf,%lf,%lf,%lf,%lf%n", &r.epoch, &r.train_loss, &r.train_acc, &r.val_loss,
                         &r.val_acc, &r.seconds, &end) == 6;
        else
            got = sscanf(line, "%d,%lf,%lf,%lf,%lf,%lf,%lf,%lf%n", &r.epoch, &r.train_loss, &r.train_acc, &r.val_loss,
                         &r.val_acc, &r.val_top3, &r.lr, &r.seconds, &end) == 8;
        if (!got || end < 0 || strspn(line + end, "\r\n") != strlen(line + end))
            rc = dd_fail(err, DD_ERR_MALFORMED, "%s:%d: not a history row", path, lineno);
        else if (r.epoch != (int)h->count + 1 && r.epoch <= epochs) /* rows after the checkpoint's epochs are dropped */
            rc = dd_fail(err, DD_ERR_MALFORMED, "%s:%d: epoch %d where epoch %zu was expected", path, lineno, r.epoch,
                         h->count + 1);
        else if (r.epoch <= epochs)
            rc = history_add(h, &r, err);
    }
    fclose(f);
    if (rc == 0 && h->count != (size_t)epochs)
        rc = dd_fail(err, DD_ERR_MALFORMED, "%s has %zu rows for the checkpoint's %d epochs", path, h->count, epochs);
    return rc;
}

void history_free(history *h) {
    free(h->rows);
    memset(h, 0, sizeof *h);
}
