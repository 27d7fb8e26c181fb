/* .dset writer and reader: round trip of stroke and bitmap sets, and every corruption the reader must reject. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data/dset_layout.h"
#include "doodle/dataset.h"
#include "testutil.h"
#include "util/le.h"

static void make_drawing(dd_drawing *d, uint64_t key, int variant) {
    dd_drawing_clear(d);
    d->key_id = key;
    d->recognized = (int8_t)(variant % 2);
    memcpy(d->countrycode, "DE", 3);
    snprintf(d->timestamp, sizeof d->timestamp, "2017-03-%02d 23:25:10.07453 UTC", 1 + variant % 28);
    int strokes = 1 + variant % 4;
    for (int s = 0; s < strokes; s++) {
        for (int i = 0; i <= s + variant % 3; i++)
            dd_drawing_add_point(d, (double)((i * 37 + s * 11 + variant) % 256), (double)((i * 91 + s) % 256), 0, NULL);
        dd_drawing_end_stroke(d);
    }
}

static int same_strokes(const dd_drawing *a, const dd_drawing *b) {
    if (a->n_strokes != b->n_strokes || a->n_points != b->n_points) return 0;
    for (uint32_t s = 0; s < a->n_strokes; s++)
        if (a->stroke_end[s] != b->stroke_end[s]) return 0;
    for (uint32_t i = 0; i < a->n_points; i++)
        if (a->x[i] != b->x[i] || a->y[i] != b->y[i]) return 0;
    return 1;
}

static const char *const class_names[] = {"cat", "The Eiffel Tower", "smiley face"};

static void write_stroke_set(const char *path, int n) {
    dd_error err;
    dd_dataset_writer *w = dd_dataset_writer_open(path, DD_DSET_STROKES, 0, 0, &err);
    CHECK(w, "%s", err.msg);
    if (!w) exit(1);
    dd_drawing d;
    dd_drawing_init(&d);
    dd_class_stats stats[4] = {0};
    for (int i = 0; i < n; i++) {
        make_drawing(&d, 1000 + (uint64_t)i, i);
        CHECK(dd_dataset_writer_add_strokes(w, (uint32_t)(i % 3), DD_SPLIT_TRAIN, &d, &err) == 0, "%s", err.msg);
        stats[i % 3].read++;
        stats[i % 3].kept++;
    }
    for (int i = 0; i < n; i += 5) CHECK(dd_dataset_writer_set_split(w, (uint64_t)i, DD_SPLIT_TEST, &err) == 0);
    stats[3].read = 2;
    stats[3].skipped[DD_SKIP_MALFORMED] = 2;
    dd_dset_params params = {.seed = 42, .test_frac = 0.2, .per_class = 7, .recognized_only = true};
    CHECK(dd_dataset_writer_finish(w, 3, class_names, stats, &params, &err) == 0, "%s", err.msg);
    dd_drawing_free(&d);
}

static void test_stroke_round_trip(const char *dir) {
    char path[4200];
    snprintf(path, sizeof path, "%s/strokes.dset", dir);
    write_stroke_set(path, 50);
    dd_error err;
    dd_dataset *ds = dd_dataset_open(path, &err);
    CHECK(ds, "%s", err.msg);
    if (!ds) return;
    CHECK(dd_dataset_kind(ds) == DD_DSET_STROKES);
    CHECK(dd_dataset_count(ds) == 50);
    CHECK(dd_dataset_class_count(ds) == 3);
    CHECK(!strcmp(dd_dataset_class_name(ds, 1), "The Eiffel Tower"));
    CHECK(dd_dataset_class_index(ds, "smiley face") == 2);
    CHECK(dd_dataset_class_index(ds, "dog") == -1);
    dd_dset_params p = dd_dataset_params(ds);
    CHECK(p.seed == 42 && p.test_frac == 0.2 && p.per_class == 7 && p.recognized_only);
    dd_class_stats s;
    CHECK(dd_dataset_class_stats(ds, 0, &s) == 0 && s.read == 17 && s.kept == 17);
    CHECK(dd_dataset_class_stats(ds, 3, &s) == 0 && s.skipped[DD_SKIP_MALFORMED] == 2);
    dd_drawing want, got;
    dd_drawing_init(&want);
    dd_drawing_init(&got);
    for (int i = 0; i < 50; i++) {
        make_drawing(&want, 1000 + (uint64_t)i, i);
        CHECK(dd_dataset_strokes(ds, (uint64_t)i, &got, &err) == 0, "%s", err.msg);
        CHECK(same_strokes(&want, &got), "record %d strokes differ", i);
        CHECK(got.key_id == want.key_id && got.recognized == want.recognized);
        CHECK(!strcmp(got.countrycode, "DE") && !strcmp(got.word, class_names[i % 3]));
        char ts[DD_TIMESTAMP_MAX];
        snprintf(ts, sizeof ts, "2017-03-%02d 23:25:10 UTC", 1 + i % 28);
        CHECK(!strcmp(got.timestamp, ts), "timestamp '%s' vs '%s'", got.timestamp, ts);
        dd_record_info info;
        CHECK(dd_dataset_record_info(ds, (uint64_t)i, &info) == 0);
        CHECK(info.label == (uint32_t)(i % 3) && info.split == (i % 5 == 0 ? DD_SPLIT_TEST : DD_SPLIT_TRAIN));
    }
    CHECK(dd_dataset_strokes(ds, 50, &got, &err) != 0);
    CHECK(dd_dataset_bitmap(ds, 0) == NULL);
    dd_drawing_free(&want);
    dd_drawing_free(&got);
    dd_dataset_close(ds);
}

static void test_bitmap_round_trip(const char *dir) {
    char path[4200];
    snprintf(path, sizeof path, "%s/bitmaps.dset", dir);
    dd_error err;
    dd_dataset_writer *w = dd_dataset_writer_open(path, DD_DSET_BITMAPS, 3, 5, &err);
    CHECK(w, "%s", err.msg);
    if (!w) return;
    uint8_t px[15];
    for (int i = 0; i < 10; i++) {
        for (int k = 0; k < 15; k++) px[k] = (uint8_t)(i * 15 + k);
        CHECK(dd_dataset_writer_add_bitmap(w, (uint32_t)(i % 2), DD_SPLIT_TRAIN, (uint64_t)i, px, &err) == 0);
    }
    dd_drawing d;
    dd_drawing_init(&d);
    make_drawing(&d, 1, 1);
    CHECK(dd_dataset_writer_add_strokes(w, 0, DD_SPLIT_TRAIN, &d, &err) != 0, "strokes accepted in a bitmap set");
    dd_drawing_free(&d);
    CHECK(dd_dataset_writer_set_split(w, 9, DD_SPLIT_TEST, &err) == 0);
    CHECK(dd_dataset_writer_set_split(w, 10, DD_SPLIT_TEST, &err) != 0);
    dd_class_stats stats[3] = {{.read = 5, .kept = 5}, {.read = 5, .kept = 5}, {0}};
    CHECK(dd_dataset_writer_finish(w, 2, class_names, stats, NULL, &err) == 0, "%s", err.msg);
    dd_dataset *ds = dd_dataset_open(path, &err);
    CHECK(ds, "%s", err.msg);
    if (!ds) return;
    uint32_t h, wd;
    dd_dataset_bitmap_size(ds, &h, &wd);
    CHECK(dd_dataset_kind(ds) == DD_DSET_BITMAPS && h == 3 && wd == 5 && dd_dataset_count(ds) == 10);
    for (int i = 0; i < 10; i++) {
        const uint8_t *b = dd_dataset_bitmap(ds, (uint64_t)i);
        CHECK(b && b[0] == i * 15 && b[14] == i * 15 + 14, "bitmap %d", i);
        dd_record_info info;
        CHECK(dd_dataset_record_info(ds, (uint64_t)i, &info) == 0 && info.key_id == (uint64_t)i);
        CHECK(info.split == (i == 9 ? DD_SPLIT_TEST : DD_SPLIT_TRAIN));
    }
    dd_dataset_close(ds);
}

/* Writes a damaged copy of good[n] and checks that opening it fails with a message naming the file. */
static void expect_rejected(const char *dir, const char *what, const uint8_t *bytes, size_t n, const char *needle) {
    char path[4200];
    snprintf(path, sizeof path, "%s/bad-%s.dset", dir, what);
    test_write_file(path, bytes, n);
    dd_error err = {0};
    dd_dataset *ds = dd_dataset_open(path, &err);
    CHECK(ds == NULL, "%s: a damaged file was accepted", what);
    dd_dataset_close(ds);
    CHECK(strstr(err.msg, path) != NULL, "%s: message does not name the file: %s", what, err.msg);
    CHECK(strstr(err.msg, needle) != NULL, "%s: message '%s' does not say '%s'", what, err.msg, needle);
}

static void test_corruption(const char *dir) {
    char path[4200];
    snprintf(path, sizeof path, "%s/good.dset", dir);
    write_stroke_set(path, 20);
    size_t n;
    uint8_t *good = (void *)test_read_file(path, &n);
    CHECK(good != NULL);
    if (!good) return;
    uint8_t *b = malloc(n + 16);
    if (!b) return;
#define RESET() memcpy(b, good, n)
    RESET();
    memcpy(b, "NOTADSET", 8);
    expect_rejected(dir, "magic", b, n, "magic");
    RESET();
    util_put32(b + DSET_OFF_VERSION, 99);
    expect_rejected(dir, "version", b, n, "version 99");
    expect_rejected(dir, "truncated", good, n - 9, "truncated");
    expect_rejected(dir, "header-only", good, 100, "header");
    expect_rejected(dir, "empty", good, 0, "header");
    RESET();
    memset(b + n, 0, 16);
    expect_rejected(dir, "appended", b, n + 16, "appended");
    RESET();
    util_put64(b + DSET_OFF_INDEX, n - 8); /* index runs past the end */
    expect_rejected(dir, "index-offset", b, n, "index");
    RESET();
    uint64_t idx = util_le64(good + DSET_OFF_INDEX);
    util_put64(b + idx + 8 * 5, util_le64(good + DSET_OFF_RECORDS_SIZE) + 100); /* record 5 outside the records */
    expect_rejected(dir, "record-offset", b, n, "index entry 5");
    RESET();
    util_put64(b + DSET_OFF_CLASSES_SIZE, n); /* class names past the end */
    expect_rejected(dir, "classes", b, n, "class names");
    RESET();
    util_put32(b + DSET_OFF_N_CLASSES, 0);
    expect_rejected(dir, "no-classes", b, n, "class count");
    RESET();
    util_put32(b + DSET_OFF_KIND, 7);
    expect_rejected(dir, "kind", b, n, "kind");

    /* a stroke record whose stroke lengths run past its end is caught when decoded */
    RESET();
    uint64_t rec0 = DSET_HEADER_SIZE + util_le64(good + idx);
    util_put16(b + rec0 + STROKE_REC_FIXED, 60000);
    snprintf(path, sizeof path, "%s/bad-stroke.dset", dir);
    test_write_file(path, b, n);
    dd_error err;
    dd_dataset *ds = dd_dataset_open(path, &err);
    CHECK(ds, "%s", err.msg);
    if (ds) {
        dd_drawing d;
        dd_drawing_init(&d);
        CHECK(dd_dataset_strokes(ds, 0, &d, &err) != 0 && err.code == DD_ERR_TRUNCATED, "%s", err.msg);
        CHECK(dd_dataset_strokes(ds, 1, &d, &err) == 0, "%s", err.msg);
        dd_drawing_free(&d);
        dd_dataset_close(ds);
    }
    struct stat st;
    CHECK(stat("/nonexistent/x.dset", &st) != 0);
    CHECK(dd_dataset_open("/nonexistent/x.dset", &err) == NULL && err.code == DD_ERR_IO);
    free(b);
    free(good);
}

static void test_abort_keeps_old_file(const char *dir) {
    char path[4200];
    snprintf(path, sizeof path, "%s/keep.dset", dir);
    write_stroke_set(path, 10);
    size_t before_n;
    uint8_t *before = (void *)test_read_file(path, &before_n);
    dd_error err;
    dd_dataset_writer *w = dd_dataset_writer_open(path, DD_DSET_STROKES, 0, 0, &err);
    dd_drawing d;
    dd_drawing_init(&d);
    make_drawing(&d, 5, 5);
    dd_dataset_writer_add_strokes(w, 0, DD_SPLIT_TRAIN, &d, &err);
    d.x[0] = 300; /* not simplified: refused, and nothing half-written reaches the target */
    CHECK(dd_dataset_writer_add_strokes(w, 0, DD_SPLIT_TRAIN, &d, &err) != 0);
    dd_dataset_writer_abort(w);
    dd_drawing_free(&d);
    size_t after_n;
    uint8_t *after = (void *)test_read_file(path, &after_n);
    CHECK(before && after && before_n == after_n && !memcmp(before, after, before_n), "old file was changed");
    free(before);
    free(after);
}

int main(void) {
    const char *dir = test_tmp_dir("dataset");
    test_stroke_round_trip(dir);
    test_bitmap_round_trip(dir);
    test_corruption(dir);
    test_abort_keeps_old_file(dir);
    return test_finish("test_dataset");
}
