/* The validation split carved out of the training split (dd_dataset_val_mask, DD_LOADER_VAL) on the bundled
 * sample's bitmaps: an exact share of every class, never a test record, reproducible for a seed and different for
 * another, uniform over the training records, and the loader's train and validation splits disjoint and together
 * the training split. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "doodle/loader.h"
#include "doodle/prep.h"
#include "testutil.h"

static dd_dataset *make_set(void) {
    const char *tmp = test_tmp_dir("val_split");
    char bitmaps[4200], path[4200];
    snprintf(bitmaps, sizeof bitmaps, "%s/bitmaps", test_sample_dir());
    snprintf(path, sizeof path, "%s/bitmaps.dset", tmp);
    const char *inputs[] = {bitmaps};
    dd_prep_opts o = {.inputs = inputs, .n_inputs = 1, .per_class = 200, .test_frac = 0.2, .seed = 3};
    dd_prep_report rep;
    dd_error err;
    CHECK(dd_prep_run(&o, path, &rep, &err) == 0, "%s", err.msg);
    dd_prep_report_free(&rep);
    dd_dataset *ds = dd_dataset_open(path, &err);
    CHECK(ds, "%s", err.msg);
    return ds;
}

static void test_shares(const dd_dataset *ds) {
    uint64_t n = dd_dataset_count(ds);
    uint32_t classes = dd_dataset_class_count(ds);
    uint8_t *a, *b, *c;
    uint64_t n_val;
    dd_error err;
    CHECK(dd_dataset_val_mask(ds, 0.15, 11, &a, &n_val, &err) == 0, "%s", err.msg);
    CHECK(dd_dataset_val_mask(ds, 0.15, 11, &b, NULL, &err) == 0, "%s", err.msg);
    CHECK(dd_dataset_val_mask(ds, 0.15, 12, &c, NULL, &err) == 0, "%s", err.msg);
    CHECK(memcmp(a, b, n / 8 + 1) == 0, "the same seed gives another validation split");
    CHECK(memcmp(a, c, n / 8 + 1) != 0, "another seed gives the same validation split");
    uint64_t total = 0;
    for (uint32_t k = 0; k < classes; k++) {
        uint64_t train = 0, val = 0, test_in_val = 0;
        for (uint64_t i = 0; i < n; i++) {
            dd_record_info info;
            dd_dataset_record_info(ds, i, &info);
            if (info.label != k) continue;
            train += info.split == DD_SPLIT_TRAIN;
            val += dd_val_mask_has(a, i);
            test_in_val += info.split == DD_SPLIT_TEST && dd_val_mask_has(a, i);
        }
        CHECK(val == (uint64_t)llround(0.15 * (double)train), "class %u: %llu validation records of %llu, not 15%%", k,
              (unsigned long long)val, (unsigned long long)train);
        CHECK(test_in_val == 0, "class %u: %llu test records in the validation split", k,
              (unsigned long long)test_in_val);
        total += val;
    }
    CHECK(total == n_val, "n_val %llu, counted %llu", (unsigned long long)n_val, (unsigned long long)total);
    free(a), free(b), free(c);
    CHECK(dd_dataset_val_mask(ds, 1.0, 1, &a, NULL, &err) == -1 && strstr(err.msg, "out of range"), "frac 1: %s",
          err.msg);
}

/* Over many seeds every training record is chosen about as often as every other: the largest deviation from
 * the expected count stays within 6 standard deviations (by chance beyond it: < 1e-8 a record). */
static void test_uniform(const dd_dataset *ds) {
    const int seeds = 1500;
    const double frac = 0.25;
    uint64_t n = dd_dataset_count(ds);
    uint32_t *hits = calloc(n, sizeof *hits);
    uint64_t *class_train = calloc(dd_dataset_class_count(ds), sizeof *class_train);
    dd_error err;
    for (uint64_t i = 0; i < n; i++) {
        dd_record_info info;
        dd_dataset_record_info(ds, i, &info);
        class_train[info.label] += info.split == DD_SPLIT_TRAIN;
    }
    for (int s = 0; s < seeds; s++) {
        uint8_t *m;
        if (dd_dataset_val_mask(ds, frac, (uint64_t)s, &m, NULL, &err)) break;
        for (uint64_t i = 0; i < n; i++) hits[i] += dd_val_mask_has(m, i);
        free(m);
    }
    double worst = 0;
    for (uint64_t i = 0; i < n; i++) {
        dd_record_info info;
        dd_dataset_record_info(ds, i, &info);
        if (info.split != DD_SPLIT_TRAIN) continue;
        double p = llround(frac * (double)class_train[info.label]) / (double)class_train[info.label];
        double z = fabs(hits[i] - seeds * p) / sqrt(seeds * p * (1 - p));
        if (z > worst) worst = z;
    }
    CHECK(worst < 6, "a record's selection frequency is %.1f standard deviations from the expected", worst);
    free(hits);
    free(class_train);
}

static uint64_t count_split(const dd_dataset *ds, dd_loader_split split, double frac, uint8_t *seen, int mark) {
    dd_loader_opts o = dd_loader_opts_default(32, 28, 28);
    o.split = split;
    o.val_frac = frac;
    o.val_seed = 11;
    dd_error err;
    dd_loader *l = dd_loader_new(ds, &o, &err);
    CHECK(l, "%s", err.msg);
    if (!l) return 0;
    float *x = malloc(32 * 28 * 28 * sizeof *x);
    int32_t labels[32];
    uint64_t index[32], total = 0;
    int got;
    dd_loader_begin_epoch(l, 0, &err);
    while ((got = dd_loader_next(l, x, labels, index, &err)) > 0)
        for (int k = 0; k < got; k++, total++) {
            CHECK(seen[index[k]] == 0, "record %llu in two splits", (unsigned long long)index[k]);
            seen[index[k]] = (uint8_t)mark;
        }
    free(x);
    dd_loader_free(l);
    return total;
}

static void test_loader_splits(const dd_dataset *ds) {
    uint64_t n = dd_dataset_count(ds);
    uint8_t *seen = calloc(n, 1);
    uint64_t train = count_split(ds, DD_LOADER_TRAIN, 0.15, seen, 1);
    uint64_t val = count_split(ds, DD_LOADER_VAL, 0.15, seen, 2);
    uint8_t *whole = calloc(n, 1);
    uint64_t all_train = count_split(ds, DD_LOADER_TRAIN, 0, whole, 1);
    CHECK(train + val == all_train && val > 0, "train %llu + validation %llu != training split %llu",
          (unsigned long long)train, (unsigned long long)val, (unsigned long long)all_train);
    uint8_t *m;
    dd_error err;
    if (dd_dataset_val_mask(ds, 0.15, 11, &m, NULL, &err) == 0) {
        for (uint64_t i = 0; i < n; i++)
            if ((seen[i] == 2) != dd_val_mask_has(m, i)) {
                CHECK(0, "record %llu: the loader's validation split is not the mask's", (unsigned long long)i);
                break;
            }
        free(m);
    }
    dd_loader_opts o = dd_loader_opts_default(32, 28, 28);
    o.split = DD_LOADER_VAL;
    CHECK(!dd_loader_new(ds, &o, &err) && strstr(err.msg, "validation"), "a validation loader without a fraction");
    free(seen);
    free(whole);
}

int main(void) {
    dd_dataset *ds = make_set();
    if (ds) {
        test_shares(ds);
        test_uniform(ds);
        test_loader_splits(ds);
        dd_dataset_close(ds);
    }
    return test_finish("test_val_split");
}
