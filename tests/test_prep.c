/* prep on real Quick, Draw! files: de-duplication across raw and simplified files, the per-class split, limits,
 * --recognized-only, bad records counted by reason, --strict, bitmaps from .npy. Expected counts are computed
 * independently of doodle's parser, by scanning the decompressed text for "key_id" and "recognized". */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "doodle/prep.h"
#include "testutil.h"

typedef struct key_stats {
    uint64_t keys[4096];
    size_t n_lines, n_unique, n_unrecognized_unique;
} key_stats;

/* Scans a .ndjson.gz line by line for "key_id":"…" and "recognized":false, adding unseen keys. */
static void scan_keys(const char *path, key_stats *ks) {
    gzFile g = gzopen(path, "rb");
    if (!g) {
        fprintf(stderr, "cannot open %s\n", path);
        exit(1);
    }
    static char line[1 << 22];
    while (gzgets(g, line, sizeof line)) {
        const char *k = strstr(line, "\"key_id\":\"");
        if (!k) continue;
        ks->n_lines++;
        uint64_t key = strtoull(k + 10, NULL, 10);
        int seen = 0;
        for (size_t i = 0; i < ks->n_unique; i++) seen |= ks->keys[i] == key;
        if (!seen && ks->n_unique < 4096) {
            ks->keys[ks->n_unique++] = key;
            ks->n_unrecognized_unique += strstr(line, "\"recognized\":false") != NULL;
        }
    }
    gzclose(g);
}

/* dir/name in a buffer that lives to the end of the test (the test makes a few dozen paths). */
static const char *path_in(const char *dir, const char *name) {
    static char buf[64][4200];
    static int next;
    if (next == 64) {
        fprintf(stderr, "path_in: out of buffers\n");
        exit(1);
    }
    char *p = buf[next++];
    snprintf(p, sizeof buf[0], "%s/%s", dir, name);
    return p;
}

static int prep(const dd_prep_opts *o, const char *out, dd_prep_report *rep) {
    dd_error err;
    int rc = dd_prep_run(o, out, rep, &err);
    if (rc) fprintf(stderr, "(prep failed: %s)\n", err.msg);
    return rc;
}

static void test_strokes(const char *shared, const char *tmp) {
    const char *raw = path_in(shared, "strokes_raw/borismus_exupery");
    const char *simp = path_in(shared, "strokes_simplified/lamnguyen5464_Sketch-dataset");
    const char *classes[] = {"cat", "tree", "airplane"};
    const char *files[] = {path_in(raw, "cat.ndjson.gz"),      path_in(simp, "cat.ndjson.gz"),
                           path_in(raw, "tree.ndjson.gz"),     path_in(simp, "tree.ndjson.gz"),
                           path_in(raw, "airplane.ndjson.gz"), path_in(simp, "airplane.ndjson.gz")};
    key_stats want[3];
    memset(want, 0, sizeof want);
    for (int c = 0; c < 3; c++) {
        scan_keys(files[2 * c], &want[c]);
        scan_keys(files[2 * c + 1], &want[c]);
        CHECK(want[c].n_unique < want[c].n_lines, "%s: raw and simplified files should share key_ids", classes[c]);
    }
    /* directories as input, classes picked out of all 345 */
    const char *inputs[] = {raw, simp};
    dd_prep_opts o = {
        .inputs = inputs, .n_inputs = 2, .classes = classes, .n_classes = 3, .test_frac = 0.25, .seed = 7};
    const char *out = path_in(tmp, "three.dset");
    dd_prep_report rep;
    CHECK(prep(&o, out, &rep) == 0);
    CHECK(rep.n_classes == 3 && rep.kind == DD_DSET_STROKES);
    uint64_t total = 0;
    for (int c = 0; c < 3; c++) {
        const dd_class_stats *s = &rep.stats[c];
        CHECK(!strcmp(rep.class_names[c], classes[c]), "label %d is %s", c, rep.class_names[c]);
        CHECK(s->read == want[c].n_lines, "%s: read %llu, lines %zu", classes[c], (unsigned long long)s->read,
              want[c].n_lines);
        CHECK(s->kept == want[c].n_unique, "%s: kept %llu, unique key_ids %zu", classes[c], (unsigned long long)s->kept,
              want[c].n_unique);
        CHECK(s->skipped[DD_SKIP_DUPLICATE] == want[c].n_lines - want[c].n_unique);
        CHECK(s->test == (uint64_t)(0.25 * (double)s->kept + 0.5) && s->train + s->test == s->kept);
        total += s->kept;
    }
    CHECK(rep.n_records == total);
    dd_prep_report_free(&rep);

    /* the file holds each key once, in one split only, with the right labels */
    dd_error err;
    dd_dataset *ds = dd_dataset_open(out, &err);
    CHECK(ds, "%s", err.msg);
    if (ds) {
        CHECK(dd_dataset_count(ds) == total);
        uint64_t *keys = calloc(total, sizeof *keys);
        dd_drawing d;
        dd_drawing_init(&d);
        uint64_t test = 0;
        for (uint64_t i = 0; i < total; i++) {
            dd_record_info info;
            CHECK(dd_dataset_record_info(ds, i, &info) == 0);
            keys[i] = info.key_id;
            test += info.split == DD_SPLIT_TEST;
            for (uint64_t j = 0; j < i; j++)
                CHECK(keys[j] != info.key_id, "key %llu twice", (unsigned long long)keys[j]);
            CHECK(dd_dataset_strokes(ds, i, &d, &err) == 0, "%s", err.msg);
            CHECK(!strcmp(d.word, classes[info.label]));
            dd_bounds b = dd_drawing_bounds(&d);
            CHECK(b.min_x >= 0 && b.max_x <= 255 && b.min_y >= 0 && b.max_y <= 255);
        }
        dd_dataset_class_stats(ds, 0, &(dd_class_stats){0});
        CHECK(test > 0 && test < total);
        dd_drawing_free(&d);
        free(keys);
        dd_dataset_close(ds);
    }

    /* same seed -> the same bytes; another seed -> another split */
    const char *again = path_in(tmp, "three-again.dset"), *other = path_in(tmp, "three-seed8.dset");
    CHECK(prep(&o, again, &rep) == 0);
    dd_prep_report_free(&rep);
    o.seed = 8;
    CHECK(prep(&o, other, &rep) == 0);
    dd_prep_report_free(&rep);
    FILE *a = fopen(out, "rb"), *b = fopen(again, "rb"), *c = fopen(other, "rb");
    int same_ab = 1, same_ac = 1;
    for (int ca, cb, cc;;) {
        ca = fgetc(a), cb = fgetc(b), cc = fgetc(c);
        same_ab &= ca == cb;
        same_ac &= ca == cc;
        if (ca == EOF && cb == EOF) break;
        if (ca == EOF) break;
    }
    fclose(a), fclose(b), fclose(c);
    CHECK(same_ab, "same seed gave different files");
    CHECK(!same_ac, "another seed gave the same split");

    /* --per-class, --recognized-only, --test-frac 1, classes in the order first met */
    const char *cat_files[] = {files[0], files[1]};
    dd_prep_opts lim = {.inputs = cat_files, .n_inputs = 2, .per_class = 10, .test_frac = 1, .seed = 1};
    CHECK(prep(&lim, path_in(tmp, "cat10.dset"), &rep) == 0);
    CHECK(rep.n_classes == 1 && !strcmp(rep.class_names[0], "cat"));
    CHECK(rep.stats[0].kept == 10 && rep.stats[0].test == 10 && rep.stats[0].train == 0);
    dd_prep_report_free(&rep);
    dd_prep_opts rec = {.inputs = cat_files, .n_inputs = 2, .recognized_only = true, .test_frac = 0.1};
    CHECK(prep(&rec, path_in(tmp, "cat-recognized.dset"), &rep) == 0);
    CHECK(rep.stats[0].kept == want[0].n_unique - want[0].n_unrecognized_unique, "kept %llu of %zu, %zu unrecognized",
          (unsigned long long)rep.stats[0].kept, want[0].n_unique, want[0].n_unrecognized_unique);
    dd_prep_report_free(&rep);
}

static void test_bad_records(const char *shared, const char *tmp) {
    /* three good lines of a real file with bad ones between them */
    gzFile g = gzopen(path_in(shared, "strokes_simplified/lamnguyen5464_Sketch-dataset/cat.ndjson.gz"), "rb");
    static char good[3][1 << 16];
    for (int i = 0; i < 3; i++) CHECK(g && gzgets(g, good[i], sizeof good[i]));
    gzclose(g);
    static char text[1 << 18];
    snprintf(text, sizeof text,
             "%s{\"word\":\"cat\",\"key_id\":\"1\",\"drawing\":[[[1,2],[3]]]}\n"
             "%s{\"word\":\"cat\",\"drawing\":[[[1,2],[3,4]]\n"
             "{\"word\":\"cat\",\"key_id\":\"2\",\"drawing\":[]}\n"
             "%s",
             good[0], good[1], good[2]);
    const char *bad = test_write_file(path_in(tmp, "cat-bad.ndjson"), text, strlen(text));
    const char *inputs[] = {bad};
    dd_prep_opts o = {.inputs = inputs, .n_inputs = 1, .test_frac = 0};
    dd_prep_report rep;
    CHECK(prep(&o, path_in(tmp, "bad.dset"), &rep) == 0);
    CHECK(rep.n_classes == 1 && rep.stats[0].read == 6 && rep.stats[0].kept == 3, "read %llu kept %llu",
          (unsigned long long)rep.stats[0].read, (unsigned long long)rep.stats[0].kept);
    CHECK(rep.stats[0].skipped[DD_SKIP_MISMATCH] == 1 && rep.stats[0].skipped[DD_SKIP_MALFORMED] == 1 &&
          rep.stats[0].skipped[DD_SKIP_EMPTY] == 1);
    dd_prep_report_free(&rep);

    /* --strict: the first bad record fails the run and nothing is written */
    o.strict = true;
    const char *strict_out = path_in(tmp, "strict.dset");
    remove(strict_out);
    dd_error err;
    CHECK(dd_prep_run(&o, strict_out, &rep, &err) != 0);
    CHECK(strstr(err.msg, "cat-bad.ndjson:2") != NULL, "message: %s", err.msg);
    dd_prep_report_free(&rep);
    struct stat st;
    CHECK(stat(strict_out, &st) != 0, "--strict failure left a file");

    /* asking for a class no input has, a missing input, mixing bitmaps and strokes */
    const char *ghost[] = {"unicorn"};
    dd_prep_opts o2 = {.inputs = inputs, .n_inputs = 1, .classes = ghost, .n_classes = 1};
    CHECK(dd_prep_run(&o2, path_in(tmp, "x.dset"), &rep, &err) != 0 && strstr(err.msg, "unicorn"), "%s", err.msg);
    dd_prep_report_free(&rep);
    const char *missing[] = {path_in(tmp, "no-such-file.ndjson")};
    dd_prep_opts o3 = {.inputs = missing, .n_inputs = 1};
    CHECK(dd_prep_run(&o3, path_in(tmp, "x.dset"), &rep, &err) != 0 && strstr(err.msg, "no-such-file.ndjson"));
    dd_prep_report_free(&rep);
    const char *mixed[] = {bad, path_in(test_sample_dir(), "bitmaps/cat.npy.gz")};
    dd_prep_opts o4 = {.inputs = mixed, .n_inputs = 2};
    CHECK(dd_prep_run(&o4, path_in(tmp, "x.dset"), &rep, &err) != 0 && strstr(err.msg, "mix"), "%s", err.msg);
    dd_prep_report_free(&rep);
}

static void test_bitmaps(const char *tmp) {
    const char *inputs[] = {path_in(test_sample_dir(), "bitmaps")};
    dd_prep_opts o = {.inputs = inputs, .n_inputs = 1, .per_class = 300, .test_frac = 0.1, .seed = 3};
    dd_prep_report rep;
    const char *out = path_in(tmp, "bitmaps.dset");
    CHECK(prep(&o, out, &rep) == 0);
    CHECK(rep.kind == DD_DSET_BITMAPS && rep.n_classes == 5 && rep.n_records == 1500);
    for (uint32_t c = 0; c < rep.n_classes; c++)
        CHECK(rep.stats[c].kept == 300 && rep.stats[c].test == 30, "%s", rep.class_names[c]);
    dd_prep_report_free(&rep);
    dd_error err;
    dd_dataset *ds = dd_dataset_open(out, &err);
    CHECK(ds, "%s", err.msg);
    if (!ds) return;
    uint32_t h, w;
    dd_dataset_bitmap_size(ds, &h, &w);
    CHECK(h == 28 && w == 28);
    CHECK(dd_dataset_class_index(ds, "cat") >= 0 && dd_dataset_class_index(ds, "airplane") >= 0);
    /* each bitmap is a real drawing: some ink, mostly background */
    for (uint64_t i = 0; i < dd_dataset_count(ds); i += 97) {
        const uint8_t *b = dd_dataset_bitmap(ds, i);
        int ink = 0;
        for (int k = 0; k < 784; k++) ink += b[k] > 128;
        CHECK(ink > 10 && ink < 600, "bitmap %llu has %d ink pixels", (unsigned long long)i, ink);
    }
    dd_dataset_close(ds);
}

int main(void) {
    const char *shared = test_shared_data();
    const char *tmp = test_tmp_dir("prep");
    test_strokes(shared, tmp);
    test_bad_records(shared, tmp);
    test_bitmaps(tmp);
    return test_finish("test_prep");
}
