/* The record numbers of one split (dd_dataset_split_records in doodle/dataset.h). */
#include <stdlib.h>

#include "doodle/dataset.h"
#include "doodle/alloc.h"

int dd_dataset_split_records(const dd_dataset *ds, int split, uint64_t **records, size_t *n, dd_error *err) {
    uint64_t total = dd_dataset_count(ds);
    *records = NULL;
    *n = 0;
    uint64_t *r = dd_malloc(total ? total : 1, sizeof *r, err);
    if (!r) return -1;
    size_t k = 0;
    for (uint64_t i = 0; i < total; i++) {
        dd_record_info info;
        if (dd_dataset_record_info(ds, i, &info)) {
            free(r);
            return dd_fail(err, DD_ERR_MALFORMED, "record %llu cannot be read", (unsigned long long)i);
        }
        if (split < 0 || (int)info.split == split) r[k++] = i;
    }
    *records = r;
    *n = k;
    return 0;
}
