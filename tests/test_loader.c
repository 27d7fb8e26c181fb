/* The training data loader on .dset files made from the bundled sample: every record once per epoch, seeded and
 * timing-independent orders, images equal to dd_render / 255, labels, splits, bitmap sets, augmentation, errors from
 * the prefetch thread, and clean shutdown in the middle of an epoch (ASan/LSan in the sanitizer build). */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "data/dset_layout.h"
#include "doodle/loader.h"
#include "doodle/prep.h"
#include "doodle/render.h"
#include "testutil.h"
#include "util/le.h"

static char stroke_path[4200], bitmap_path[4200], corrupt_path[4200], notest_path[4200];

static void make_sets(void) {
    const char *tmp = test_tmp_dir("loader");
    char raw[4200], simp[4200], bitmaps[4200];
    snprintf(raw, sizeof raw, "%s/strokes/raw", test_sample_dir());
    snprintf(simp, sizeof simp, "%s/strokes/simplified", test_sample_dir());
    snprintf(bitmaps, sizeof bitmaps, "%s/bitmaps", test_sample_dir());
    snprintf(stroke_path, sizeof stroke_path, "%s/strokes.dset", tmp);
    snprintf(bitmap_path, sizeof bitmap_path, "%s/bitmaps.dset", tmp);
    snprintf(notest_path, sizeof notest_path, "%s/notest.dset", tmp);
    snprintf(corrupt_path, sizeof corrupt_path, "%s/corrupt.dset", tmp);
    dd_prep_report rep;
    dd_error err;
    const char *stroke_inputs[] = {raw, simp};
    dd_prep_opts so = {.inputs = stroke_inputs, .n_inputs = 2, .test_frac = 0.25, .seed = 7};
    CHECK(dd_prep_run(&so, stroke_path, &rep, &err) == 0, "%s", err.msg);
    dd_prep_report_free(&rep);
    const char *simp_only[] = {simp};
    dd_prep_opts no = {.inputs = simp_only, .n_inputs = 1, .test_frac = 0, .seed = 1};
    CHECK(dd_prep_run(&no, notest_path, &rep, &err) == 0, "%s", err.msg);
    dd_prep_report_free(&rep);
    const char *bitmap_inputs[] = {bitmaps};
    dd_prep_opts bo = {.inputs = bitmap_inputs, .n_inputs = 1, .per_class = 60, .test_frac = 0.2, .seed = 3};
    CHECK(dd_prep_run(&bo, bitmap_path, &rep, &err) == 0, "%s", err.msg);
    dd_prep_report_free(&rep);
}

static void sleep_us(long us) {
    struct timespec t = {.tv_sec = us / 1000000, .tv_nsec = (us % 1000000) * 1000};
    nanosleep(&t, NULL);
}

/* One epoch's output, in the order returned. */
typedef struct epoch_out {
    uint64_t n, n_batches, short_batches;
    uint64_t *index;
    int32_t *labels;
    float *x;
} epoch_out;

static void epoch_free(epoch_out *e) {
    free(e->index), free(e->labels), free(e->x);
    memset(e, 0, sizeof *e);
}

/* Runs a whole epoch; sleeps `delay` microseconds after each batch (a slow trainer). */
static int run_epoch(dd_loader *l, const dd_loader_opts *o, uint64_t epoch, long delay, epoch_out *out) {
    size_t img = (size_t)o->render.height * o->render.width;
    uint64_t cap = dd_loader_batch_count(l) * o->batch_size;
    memset(out, 0, sizeof *out);
    out->index = malloc(cap * sizeof *out->index);
    out->labels = malloc(cap * sizeof *out->labels);
    out->x = malloc(cap * img * sizeof *out->x);
    dd_error err;
    if (dd_loader_begin_epoch(l, epoch, &err)) {
        CHECK(0, "begin_epoch: %s", err.msg);
        return -1;
    }
    for (;;) {
        if (out->n_batches >= dd_loader_batch_count(l)) {
            int n = dd_loader_next(l, out->x, out->labels, out->index, &err);
            CHECK(n == 0, "more batches than dd_loader_batch_count (%d)", n);
            return n == 0 ? 0 : -1;
        }
        int n = dd_loader_next(l, out->x + out->n * img, out->labels + out->n, out->index + out->n, &err);
        if (n < 0) {
            CHECK(0, "next: %s", err.msg);
            return -1;
        }
        CHECK(n > 0, "epoch ended after %llu of %llu batches", (unsigned long long)out->n_batches,
              (unsigned long long)dd_loader_batch_count(l));
        if (n <= 0) return -1;
        out->n += (uint64_t)n;
        out->n_batches++;
        out->short_batches += (uint32_t)n < o->batch_size;
        if (delay) sleep_us(delay);
    }
}

static int same_epoch(const epoch_out *a, const epoch_out *b, size_t img) {
    return a->n == b->n && !memcmp(a->index, b->index, a->n * sizeof *a->index) &&
           !memcmp(a->labels, b->labels, a->n * sizeof *a->labels) && !memcmp(a->x, b->x, a->n * img * sizeof *a->x);
}

/* Every record of the split exactly once, labels as stored, nothing from the other split. */
static void check_visits(const dd_dataset *ds, dd_loader_split split, const epoch_out *e, uint64_t expect) {
    uint64_t n = dd_dataset_count(ds);
    int *seen = calloc(n, sizeof *seen);
    int ok_split = 1, ok_label = 1, ok_range = 1;
    for (uint64_t i = 0; i < e->n; i++) {
        uint64_t r = e->index[i];
        if (r >= n) {
            ok_range = 0;
            continue;
        }
        seen[r]++;
        dd_record_info info;
        dd_dataset_record_info(ds, r, &info);
        ok_split &= split == DD_LOADER_ALL || (int)info.split == (int)split;
        ok_label &= (uint32_t)e->labels[i] == info.label;
    }
    uint64_t once = 0, twice = 0;
    for (uint64_t r = 0; r < n; r++) {
        once += seen[r] == 1;
        twice += seen[r] > 1;
    }
    CHECK(ok_range && ok_split && ok_label, "range %d, split %d, labels %d", ok_range, ok_split, ok_label);
    CHECK(once == expect && twice == 0 && e->n == expect,
          "%llu records once, %llu more than once, %llu returned, "
          "%llu expected",
          (unsigned long long)once, (unsigned long long)twice, (unsigned long long)e->n, (unsigned long long)expect);
    free(seen);
}

static uint64_t split_count(const dd_dataset *ds, dd_loader_split split) {
    uint64_t c = 0;
    for (uint64_t i = 0; i < dd_dataset_count(ds); i++) {
        dd_record_info info;
        dd_dataset_record_info(ds, i, &info);
        c += split == DD_LOADER_ALL || (int)info.split == (int)split;
    }
    return c;
}

static void test_order(const dd_dataset *ds) {
    dd_error err;
    uint64_t n_train = split_count(ds, DD_LOADER_TRAIN), n_test = split_count(ds, DD_LOADER_TEST);
    CHECK(n_train > 50 && n_test > 10, "train %llu, test %llu", (unsigned long long)n_train,
          (unsigned long long)n_test);
    dd_loader_opts o = dd_loader_opts_default(16, 28, 28);
    o.seed = 11;
    if (n_train % 16 == 0) o.batch_size = 15; /* keep a short last batch */
    size_t img = 28 * 28;
    dd_loader *l = dd_loader_new(ds, &o, &err);
    CHECK(l, "%s", err.msg);
    if (!l) return;
    CHECK(dd_loader_record_count(l) == n_train);
    CHECK(dd_loader_batch_count(l) == (n_train + o.batch_size - 1) / o.batch_size);
    epoch_out e[3];
    for (int k = 0; k < 3; k++) {
        CHECK(run_epoch(l, &o, (uint64_t)k, 0, &e[k]) == 0);
        check_visits(ds, DD_LOADER_TRAIN, &e[k], n_train);
        CHECK(e[k].n_batches == dd_loader_batch_count(l) && e[k].short_batches == 1);
    }
    CHECK(memcmp(e[0].index, e[1].index, n_train * sizeof *e[0].index) != 0, "epochs 0 and 1 in the same order");
    CHECK(memcmp(e[1].index, e[2].index, n_train * sizeof *e[0].index) != 0, "epochs 1 and 2 in the same order");

    /* the same seed, another loader with one batch ahead and a slow consumer: identical, epoch by epoch; starting
     * at epoch 2 (a resume) gives epoch 2; an abandoned epoch restarted gives the same epoch */
    dd_loader_opts slow_o = o;
    slow_o.prefetch = 1;
    dd_loader *slow = dd_loader_new(ds, &slow_o, &err);
    CHECK(slow, "%s", err.msg);
    if (slow) {
        epoch_out r;
        CHECK(run_epoch(slow, &slow_o, 2, 0, &r) == 0);
        CHECK(same_epoch(&r, &e[2], img), "resuming at epoch 2 gave another epoch 2");
        epoch_free(&r);
        float *x = malloc(o.batch_size * img * sizeof *x);
        int32_t lab[64];
        CHECK(dd_loader_begin_epoch(slow, 0, &err) == 0);
        CHECK(dd_loader_next(slow, x, lab, NULL, &err) == (int)o.batch_size);
        free(x);
        for (int k = 0; k < 2; k++) {
            CHECK(run_epoch(slow, &slow_o, (uint64_t)k, 3000, &r) == 0);
            CHECK(same_epoch(&r, &e[k], img), "epoch %d differs with a slow consumer", k);
            epoch_free(&r);
        }
        dd_loader_free(slow);
    }
    /* another seed, another order */
    dd_loader_opts other_o = o;
    other_o.seed = 12;
    dd_loader *other = dd_loader_new(ds, &other_o, &err);
    CHECK(other, "%s", err.msg);
    if (other) {
        epoch_out r;
        CHECK(run_epoch(other, &other_o, 0, 0, &r) == 0);
        check_visits(ds, DD_LOADER_TRAIN, &r, n_train);
        CHECK(memcmp(r.index, e[0].index, n_train * sizeof *r.index) != 0, "seeds 11 and 12 gave the same order");
        epoch_free(&r);
        dd_loader_free(other);
    }
    for (int k = 0; k < 3; k++) epoch_free(&e[k]);
    dd_loader_free(l);

    /* drop_last: whole batches only; the test split and the whole set */
    o.drop_last = true;
    l = dd_loader_new(ds, &o, &err);
    CHECK(l, "%s", err.msg);
    if (l) {
        epoch_out r;
        CHECK(dd_loader_batch_count(l) == n_train / o.batch_size);
        CHECK(run_epoch(l, &o, 0, 0, &r) == 0);
        CHECK(r.n == dd_loader_batch_count(l) * o.batch_size && r.short_batches == 0);
        epoch_free(&r);
        dd_loader_free(l);
    }
    o.drop_last = false;
    for (int s = DD_LOADER_TEST; s <= DD_LOADER_ALL; s++) {
        o.split = (dd_loader_split)s;
        l = dd_loader_new(ds, &o, &err);
        CHECK(l, "%s", err.msg);
        if (!l) continue;
        epoch_out r;
        CHECK(run_epoch(l, &o, 0, 0, &r) == 0);
        check_visits(ds, o.split, &r, s == DD_LOADER_TEST ? n_test : n_train + n_test);
        epoch_free(&r);
        dd_loader_free(l);
    }
}

/* Without augmentation, images are dd_render of the records / 255, in file order without shuffle. */
static void test_pixels(const dd_dataset *ds, uint32_t h, uint32_t w) {
    dd_error err;
    dd_loader_opts o = dd_loader_opts_default(8, h, w);
    o.shuffle = false;
    dd_loader *l = dd_loader_new(ds, &o, &err);
    CHECK(l, "%s", err.msg);
    if (!l) return;
    epoch_out e;
    CHECK(run_epoch(l, &o, 3, 0, &e) == 0);
    dd_render_opts ro = dd_render_opts_default(h, w);
    dd_renderer *r = dd_renderer_new(&ro, &err);
    uint8_t *img = malloc((size_t)h * w);
    dd_drawing d;
    dd_drawing_init(&d);
    int in_order = 1, equal = 1;
    for (uint64_t i = 0; i < e.n; i++) {
        in_order &= i == 0 || e.index[i] > e.index[i - 1];
        CHECK(dd_dataset_strokes(ds, e.index[i], &d, &err) == 0 && dd_render(r, &d, img, &err) == 0, "%s", err.msg);
        const float *x = e.x + i * (size_t)h * w;
        for (size_t k = 0; k < (size_t)h * w; k++) equal &= x[k] == (float)img[k] / 255.0f;
    }
    CHECK(in_order, "shuffle off: not in file order");
    CHECK(equal, "%ux%u: images differ from dd_render / 255", h, w);
    dd_drawing_free(&d);
    free(img);
    dd_renderer_free(r);
    epoch_free(&e);
    dd_loader_free(l);
}

static double ink_centre(const float *x, uint32_t h, uint32_t w, int axis, double *total) {
    double m = 0, t = 0;
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t c = 0; c < w; c++) {
            double v = x[(size_t)y * w + c];
            m += v * (axis ? y : c);
            t += v;
        }
    *total = t;
    return t > 0 ? m / t : 0;
}

static void test_augmented_strokes(const dd_dataset *ds, uint32_t h, uint32_t w) {
    dd_error err;
    dd_loader_opts o = dd_loader_opts_default(10, h, w);
    o.shuffle = false;
    size_t img = (size_t)h * w;
    dd_loader *plain = dd_loader_new(ds, &o, &err);
    o.augment = true;
    o.seed = 99;
    dd_loader *aug = dd_loader_new(ds, &o, &err);
    dd_loader_opts slow_o = o;
    slow_o.prefetch = 3;
    dd_loader *aug2 = dd_loader_new(ds, &slow_o, &err);
    CHECK(plain && aug && aug2, "%s", err.msg);
    if (plain && aug && aug2) {
        epoch_out p, a[2], b, c;
        CHECK(run_epoch(plain, &o, 0, 0, &p) == 0);
        CHECK(run_epoch(aug, &o, 0, 0, &a[0]) == 0);
        CHECK(run_epoch(aug, &o, 1, 0, &a[1]) == 0);
        CHECK(run_epoch(aug2, &slow_o, 0, 2000, &b) == 0);
        CHECK(run_epoch(aug2, &slow_o, 1, 0, &c) == 0);
        CHECK(same_epoch(&a[0], &b, img) && same_epoch(&a[1], &c, img), "%ux%u: augmentation not reproducible", h, w);
        CHECK(!memcmp(a[0].index, p.index, p.n * sizeof *p.index), "augmentation changed the order");
        uint64_t changed = 0, changed_between_epochs = 0, in_range = 1, near = 0;
        for (uint64_t i = 0; i < p.n; i++) {
            const float *xp = p.x + i * img, *xa = a[0].x + i * img;
            changed += memcmp(xp, xa, img * sizeof *xp) != 0;
            changed_between_epochs += memcmp(xa, a[1].x + i * img, img * sizeof *xa) != 0;
            for (size_t k = 0; k < img; k++) in_range &= xa[k] >= 0 && xa[k] <= 1;
            /* the same drawing, about the same place and amount of ink */
            double tp, ta, tpy, tay;
            double cxp = ink_centre(xp, h, w, 0, &tp), cxa = ink_centre(xa, h, w, 0, &ta);
            double cyp = ink_centre(xp, h, w, 1, &tpy), cya = ink_centre(xa, h, w, 1, &tay);
            near += fabs(cxp - cxa) < 0.15 * h && fabs(cyp - cya) < 0.15 * h && ta > 0.4 * tp && ta < 2.5 * tp;
        }
        CHECK(in_range, "values outside 0..1");
        CHECK(changed >= p.n * 9 / 10, "%ux%u: augmentation changed only %llu of %llu images", h, w,
              (unsigned long long)changed, (unsigned long long)p.n);
        CHECK(changed_between_epochs >= p.n * 9 / 10, "the same augmentation in epochs 0 and 1");
        CHECK(near == p.n, "%llu of %llu augmented images far from the original", (unsigned long long)near,
              (unsigned long long)p.n);
        epoch_free(&p), epoch_free(&a[0]), epoch_free(&a[1]), epoch_free(&b), epoch_free(&c);
    }
    dd_loader_free(plain);
    dd_loader_free(aug);
    dd_loader_free(aug2);
}

static void test_bitmaps(void) {
    dd_error err;
    dd_dataset *ds = dd_dataset_open(bitmap_path, &err);
    CHECK(ds, "%s", err.msg);
    if (!ds) return;
    dd_loader_opts o = dd_loader_opts_default(32, 28, 28);
    o.seed = 5;
    dd_loader *l = dd_loader_new(ds, &o, &err);
    CHECK(l, "%s", err.msg);
    if (l) {
        epoch_out e;
        CHECK(run_epoch(l, &o, 0, 0, &e) == 0);
        check_visits(ds, DD_LOADER_TRAIN, &e, split_count(ds, DD_LOADER_TRAIN));
        int equal = 1;
        for (uint64_t i = 0; i < e.n; i++) {
            const uint8_t *b = dd_dataset_bitmap(ds, e.index[i]);
            for (size_t k = 0; k < 784; k++) equal &= e.x[i * 784 + k] == (float)b[k] / 255.0f;
        }
        CHECK(equal, "bitmap images differ from the stored pixels / 255");
        epoch_free(&e);
        dd_loader_free(l);
    }
    /* augmentation on bitmaps: a whole-pixel shift of the stored image, nothing else */
    o.augment = true;
    l = dd_loader_new(ds, &o, &err);
    CHECK(l, "%s", err.msg);
    if (l) {
        epoch_out e;
        CHECK(run_epoch(l, &o, 0, 0, &e) == 0);
        int shifted = 0, unshifted = 0, other = 0;
        for (uint64_t i = 0; i < e.n; i++) {
            const uint8_t *b = dd_dataset_bitmap(ds, e.index[i]);
            int match = -1;
            for (int dy = -1; dy <= 1 && match < 0; dy++)
                for (int dx = -1; dx <= 1 && match < 0; dx++) {
                    int ok = 1;
                    for (int y = 0; y < 28 && ok; y++)
                        for (int x = 0; x < 28 && ok; x++) {
                            int sx = x - dx, sy = y - dy;
                            uint8_t v = sx >= 0 && sx < 28 && sy >= 0 && sy < 28 ? b[sy * 28 + sx] : 0;
                            ok = e.x[i * 784 + (size_t)(y * 28 + x)] == (float)v / 255.0f;
                        }
                    if (ok) match = (dx || dy) ? 1 : 0;
                }
            shifted += match == 1;
            unshifted += match == 0;
            other += match < 0;
        }
        CHECK(other == 0 && shifted > 0 && unshifted > 0, "shifted %d, unshifted %d, neither %d", shifted, unshifted,
              other);
        epoch_free(&e);
        dd_loader_free(l);
    }
    /* the model's input must be the bitmaps' size */
    o = dd_loader_opts_default(32, 66, 100);
    l = dd_loader_new(ds, &o, &err);
    CHECK(!l && strstr(err.msg, "28x28") && strstr(err.msg, "66x100"), "%s", l ? "accepted" : err.msg);
    dd_loader_free(l);
    dd_dataset_close(ds);
}

/* Shards (data-parallel training): 3 loaders' shares of each global batch, concatenated, are the one-loader batch,
 * images and labels included; an empty share returns 0 and the epoch goes on. */
static void test_shards(const dd_dataset *ds) {
    const uint32_t shards = 3, batch = 7;
    const size_t img = 28 * 28;
    dd_error err;
    dd_loader_opts o = dd_loader_opts_default(batch, 28, 28);
    o.seed = 5;
    o.augment = true;
    dd_loader *whole = dd_loader_new(ds, &o, &err), *part[3] = {0};
    CHECK(whole, "%s", err.msg);
    for (uint32_t r = 0; r < shards; r++) {
        dd_loader_opts so = o;
        so.shard_count = shards;
        so.shard_index = r;
        part[r] = dd_loader_new(ds, &so, &err);
        CHECK(part[r], "%s", err.msg);
    }
    if (whole && part[0] && part[1] && part[2]) {
        float *x = malloc(batch * img * sizeof *x), *y = malloc(batch * img * sizeof *y);
        int32_t lab[8], plab[8];
        uint64_t steps = dd_loader_batch_count(whole), bad = 0;
        CHECK(dd_loader_batch_count(part[1]) == steps, "a shard has another number of steps");
        dd_loader_begin_epoch(whole, 1, &err);
        for (uint32_t r = 0; r < shards; r++) dd_loader_begin_epoch(part[r], 1, &err);
        for (uint64_t s = 0; s < steps; s++) {
            int n = dd_loader_next(whole, x, lab, NULL, &err), off = 0;
            for (uint32_t r = 0; r < shards; r++) {
                int m = dd_loader_next(part[r], y + (size_t)off * img, plab + off, NULL, &err);
                CHECK(m >= 0, "%s", err.msg);
                if (m < 0) break;
                off += m;
            }
            bad += off != n || memcmp(x, y, (size_t)n * img * sizeof *x) || memcmp(lab, plab, (size_t)n * sizeof *lab);
        }
        CHECK(bad == 0, "%llu of %llu global batches differ from the shares put together", (unsigned long long)bad,
              (unsigned long long)steps);
        CHECK(dd_loader_next(part[2], y, plab, NULL, &err) == 0, "a shard goes past the last step");
        free(x);
        free(y);
    }
    dd_loader_free(whole);
    for (uint32_t r = 0; r < shards; r++) dd_loader_free(part[r]);
    dd_loader_opts bad_o = dd_loader_opts_default(8, 28, 28);
    bad_o.shard_count = 2;
    bad_o.shard_index = 2;
    CHECK(!dd_loader_new(ds, &bad_o, &err) && strstr(err.msg, "shard 2 of 2"), "shard index out of range accepted");
}

/* An epoch begun at batch 3 gives the batches an epoch begun at 0 gives from batch 3 on. */
static void test_begin_at(const dd_dataset *ds) {
    const size_t img = 28 * 28;
    dd_error err;
    dd_loader_opts o = dd_loader_opts_default(9, 28, 28);
    o.seed = 21;
    o.augment = true;
    dd_loader *a = dd_loader_new(ds, &o, &err), *b = dd_loader_new(ds, &o, &err);
    CHECK(a && b, "%s", err.msg);
    if (a && b) {
        float *x = malloc(9 * img * sizeof *x), *y = malloc(9 * img * sizeof *y);
        int32_t la[9], lb[9];
        uint64_t steps = dd_loader_batch_count(a), bad = 0;
        CHECK(dd_loader_begin_epoch(a, 4, &err) == 0 && dd_loader_begin_epoch_at(b, 4, 3, &err) == 0, "%s", err.msg);
        for (uint64_t s = 0; s < steps; s++) {
            int n = dd_loader_next(a, x, la, NULL, &err);
            if (s < 3) continue;
            int m = dd_loader_next(b, y, lb, NULL, &err);
            bad += n != m || memcmp(x, y, (size_t)n * img * sizeof *x) || memcmp(la, lb, (size_t)n * sizeof *la);
        }
        CHECK(bad == 0, "%llu batches differ when the epoch begins at batch 3", (unsigned long long)bad);
        CHECK(dd_loader_next(b, y, lb, NULL, &err) == 0, "an epoch begun at 3 goes past its end");
        CHECK(dd_loader_begin_epoch_at(b, 0, steps + 1, &err) == -1, "a first batch past the end accepted");
        free(x);
        free(y);
    }
    dd_loader_free(a);
    dd_loader_free(b);
}

static void test_errors(const dd_dataset *ds) {
    dd_error err;
    dd_loader_opts o = dd_loader_opts_default(8, 28, 28);
    dd_loader_opts bad = o;
    bad.batch_size = 0;
    CHECK(!dd_loader_new(ds, &bad, &err) && strstr(err.msg, "batch"), "%s", err.msg);
    bad = o;
    bad.prefetch = 9;
    CHECK(!dd_loader_new(ds, &bad, &err) && strstr(err.msg, "prefetch"), "%s", err.msg);
    bad = o;
    bad.augment = true;
    bad.aug.scale_min = -1;
    CHECK(!dd_loader_new(ds, &bad, &err) && strstr(err.msg, "scale"), "%s", err.msg);
    bad = o;
    bad.augment = true;
    bad.aug.line_width_max = 60; /* wider than the frame allows */
    CHECK(!dd_loader_new(ds, &bad, &err) && strstr(err.msg, "line width"), "%s", err.msg);
    bad = o;
    bad.batch_size = 5000;
    bad.drop_last = true;
    CHECK(!dd_loader_new(ds, &bad, &err) && strstr(err.msg, "fewer than one batch"), "%s", err.msg);
    dd_dataset *notest = dd_dataset_open(notest_path, &err);
    CHECK(notest, "%s", err.msg);
    if (notest) {
        bad = o;
        bad.split = DD_LOADER_TEST;
        CHECK(!dd_loader_new(notest, &bad, &err) && strstr(err.msg, "no records in the test split"), "%s", err.msg);
        dd_dataset_close(notest);
    }
    dd_loader *l = dd_loader_new(ds, &o, &err);
    float x[8 * 784];
    int32_t lab[8];
    CHECK(l && dd_loader_next(l, x, lab, NULL, &err) < 0 && strstr(err.msg, "begin"), "%s", err.msg);
    dd_loader_free(l);

    /* a record that cannot be decoded: its error comes from the thread through dd_loader_next, and stays */
    FILE *f = fopen(stroke_path, "rb");
    static uint8_t buf[1 << 22];
    size_t n = f ? fread(buf, 1, sizeof buf, f) : 0;
    if (f) fclose(f);
    CHECK(n > DSET_HEADER_SIZE && n < sizeof buf);
    uint64_t rec_off = util_le64(buf + DSET_OFF_RECORDS), idx_off = util_le64(buf + DSET_OFF_INDEX);
    uint64_t bad_rec = 0;
    for (uint64_t i = 0; i < dd_dataset_count(ds); i++) {
        dd_record_info info;
        dd_dataset_record_info(ds, i, &info);
        if (info.split == DD_SPLIT_TRAIN) bad_rec = i; /* the last train record */
    }
    util_put16(buf + rec_off + util_le64(buf + idx_off + 8 * bad_rec) + REC_OFF_N_STROKES, 0xffff);
    test_write_file(corrupt_path, buf, n);
    dd_dataset *cds = dd_dataset_open(corrupt_path, &err);
    CHECK(cds, "%s", err.msg);
    if (!cds) return;
    o.shuffle = false; /* the bad record comes in the last batch */
    l = dd_loader_new(cds, &o, &err);
    CHECK(l, "%s", err.msg);
    if (l) {
        for (int round = 0; round < 2; round++) {
            CHECK(dd_loader_begin_epoch(l, (uint64_t)round, &err) == 0);
            int rc;
            uint64_t batches = 0;
            while ((rc = dd_loader_next(l, x, lab, NULL, &err)) > 0) batches++;
            char want[64];
            snprintf(want, sizeof want, "record %llu", (unsigned long long)bad_rec);
            CHECK(rc < 0 && strstr(err.msg, want), "rc %d: %s", rc, err.msg);
            CHECK(batches == dd_loader_batch_count(l) - 1, "error after %llu batches", (unsigned long long)batches);
            CHECK(dd_loader_next(l, x, lab, NULL, &err) < 0 && strstr(err.msg, want), "the error is not kept");
        }
        dd_loader_free(l);
    }
    dd_dataset_close(cds);
}

/* Freeing at any point: before an epoch, right after begin (the thread busy), mid-epoch with a full ring, after
 * the end. Leaks or races show up in the sanitizer build. */
static void test_free_anytime(const dd_dataset *ds) {
    dd_error err;
    dd_loader_opts o = dd_loader_opts_default(4, 66, 100);
    o.augment = true;
    o.prefetch = 3;
    float *x = malloc(4 * 6600 * sizeof *x);
    int32_t lab[4];
    for (int when = 0; when < 5; when++) {
        dd_loader *l = dd_loader_new(ds, &o, &err);
        CHECK(l, "%s", err.msg);
        if (!l) continue;
        if (when >= 1) CHECK(dd_loader_begin_epoch(l, 0, &err) == 0);
        if (when >= 2) CHECK(dd_loader_next(l, x, lab, NULL, &err) == 4);
        if (when == 3) sleep_us(20000); /* the ring fills up and the thread waits */
        if (when == 4) {
            while (dd_loader_next(l, x, lab, NULL, &err) > 0) {}
            CHECK(dd_loader_begin_epoch(l, 1, &err) == 0); /* begin again, then free at once */
        }
        dd_loader_free(l);
    }
    dd_loader_free(NULL);
    free(x);
}

int main(void) {
    make_sets();
    dd_error err;
    dd_dataset *ds = dd_dataset_open(stroke_path, &err);
    CHECK(ds, "%s", err.msg);
    if (!ds) return test_finish("test_loader");
    test_order(ds);
    test_pixels(ds, 28, 28);
    test_pixels(ds, 66, 100);
    test_augmented_strokes(ds, 28, 28);
    test_augmented_strokes(ds, 66, 100);
    test_bitmaps();
    test_shards(ds);
    test_begin_at(ds);
    test_errors(ds);
    test_free_anytime(ds);
    dd_dataset_close(ds);
    return test_finish("test_loader");
}
