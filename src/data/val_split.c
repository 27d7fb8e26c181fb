/* The validation split (dd_dataset_val_mask in doodle/dataset.h): in every class, an exact share of the training
 * records, chosen by a seeded uniform selection in one pass over the records in file order (Knuth's "selection
 * sampling", Algorithm S: the next record is taken with probability needed / left). No record list is sorted and
 * memory is a bit per record, so it costs the same on 10 million records as on ten. */
#include "doodle/dataset.h"

#include <math.h>
#include <stdlib.h>

#include "doodle/rng.h"
#include "doodle/alloc.h"

#define TAG_VALIDATION 0x76616c6964ULL /* "valid": a stream of its own, apart from the split's and training's */

typedef struct class_draw {
    uint64_t left;   /* training records of the class not yet visited */
    uint64_t needed; /* of which still to take */
    dd_rng rng;
} class_draw;

int dd_dataset_val_mask(const dd_dataset *ds, double frac, uint64_t seed, uint8_t **mask_out, uint64_t *n_val,
                        dd_error *err) {
    *mask_out = NULL;
    if (n_val) *n_val = 0;
    if (!(frac >= 0 && frac < 1))
        return dd_fail(err, DD_ERR_USAGE, "validation fraction %g is out of range (0 to less than 1)", frac);
    uint64_t n = dd_dataset_count(ds);
    uint32_t classes = dd_dataset_class_count(ds);
    uint8_t *mask = dd_calloc(n / 8 + 1, 1, err);
    class_draw *draw = mask ? dd_calloc(classes, sizeof *draw, err) : NULL;
    if (!draw) {
        free(mask);
        return -1;
    }
    dd_record_info info;
    uint64_t i;
    for (i = 0; i < n; i++) {
        if (dd_dataset_record_info(ds, i, &info)) goto bad_record;
        if (info.split == DD_SPLIT_TRAIN) draw[info.label].left++;
    }
    for (uint32_t c = 0; c < classes; c++) {
        draw[c].needed = (uint64_t)llround(frac * (double)draw[c].left);
        dd_rng_seed(&draw[c].rng, seed ^ TAG_VALIDATION ^ ((uint64_t)c * 0x9e3779b97f4a7c15ULL));
    }
    uint64_t taken = 0;
    for (i = 0; i < n; i++) {
        if (dd_dataset_record_info(ds, i, &info)) goto bad_record;
        if (info.split != DD_SPLIT_TRAIN) continue;
        class_draw *d = &draw[info.label];
        if (d->needed && dd_rng_below(&d->rng, d->left) < d->needed) {
            mask[i / 8] |= (uint8_t)(1u << (i % 8));
            d->needed--;
            taken++;
        }
        d->left--;
    }
    free(draw);
    *mask_out = mask;
    if (n_val) *n_val = taken;
    return 0;
bad_record:
    free(draw);
    free(mask);
    return dd_fail(err, DD_ERR_MALFORMED, "record %llu: label or split out of range", (unsigned long long)i);
}
