/* prep on several threads gives the bytes of one thread (real data: raw and simplified strokes of all 345 classes,
 * with key_ids shared across files, --per-class, --classes, bitmaps); --per-class stops reading a full class's file;
 * --sample random is reproducible, seed-dependent and uniform; the compact key_id set holds what it is given. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "doodle/prep.h"
#include "testutil.h"
#include "util/u64_set.h"

static char shared_dirs[4][4200];

static int prep(dd_prep_opts o, int threads, const char *out, dd_prep_report *rep) {
    o.threads = threads;
    dd_error err;
    int rc = dd_prep_run(&o, out, rep, &err);
    if (rc) fprintf(stderr, "(prep failed: %s)\n", err.msg);
    return rc;
}

static int same_file(const char *a, const char *b) {
    size_t na, nb;
    char *x = test_read_file(a, &na), *y = test_read_file(b, &nb);
    int same = x && y && na == nb && !memcmp(x, y, na);
    free(x);
    free(y);
    return same;
}

/* Runs o with 1, 2 and 3 threads and checks that the files and the reports are the same. */
static void check_threads(const char *tmp, const char *name, dd_prep_opts o) {
    char path[3][4300];
    dd_prep_report rep[3];
    for (int t = 0; t < 3; t++) {
        snprintf(path[t], sizeof path[t], "%s/%s-t%d.dset", tmp, name, t + 1);
        CHECK(prep(o, t + 1, path[t], &rep[t]) == 0, "%s with %d threads", name, t + 1);
    }
    for (int t = 1; t < 3; t++) {
        CHECK(same_file(path[0], path[t]), "%s: %d threads wrote other bytes than one", name, t + 1);
        CHECK(rep[t].n_records == rep[0].n_records && rep[t].n_classes == rep[0].n_classes);
        for (uint32_t c = 0; c <= rep[0].n_classes && rep[t].n_classes == rep[0].n_classes; c++)
            CHECK(!memcmp(&rep[t].stats[c], &rep[0].stats[c], sizeof rep[0].stats[c]), "%s: stats of class %u", name,
                  c);
    }
    CHECK(rep[0].n_records > 0, "%s: nothing kept", name);
    for (int t = 0; t < 3; t++) dd_prep_report_free(&rep[t]);
}

static void test_identical(const char *tmp) {
    const char *strokes[] = {shared_dirs[0], shared_dirs[1]}, *strokes_rev[] = {shared_dirs[1], shared_dirs[0]};
    check_threads(tmp, "all", (dd_prep_opts){.inputs = strokes, .n_inputs = 2, .test_frac = 0.2, .seed = 3});
    check_threads(tmp, "rev", (dd_prep_opts){.inputs = strokes_rev, .n_inputs = 2, .test_frac = 0.1, .seed = 1});
    check_threads(
        tmp, "limit",
        (dd_prep_opts){
            .inputs = strokes, .n_inputs = 2, .per_class = 12, .test_frac = 0.25, .seed = 9, .recognized_only = true});
    const char *classes[] = {"zigzag", "cat", "The Great Wall of China"};
    check_threads(tmp, "classes",
                  (dd_prep_opts){.inputs = strokes_rev,
                                 .n_inputs = 2,
                                 .classes = classes,
                                 .n_classes = 3,
                                 .per_class = 20,
                                 .test_frac = 0.5,
                                 .seed = 2});
    check_threads(
        tmp, "random",
        (dd_prep_opts){
            .inputs = strokes, .n_inputs = 2, .per_class = 15, .sample_random = true, .test_frac = 0.2, .seed = 4});
    const char *bitmaps[] = {shared_dirs[2], shared_dirs[3]};
    check_threads(tmp, "bitmaps", (dd_prep_opts){.inputs = bitmaps, .n_inputs = 2, .test_frac = 0.1, .seed = 1});
    check_threads(tmp, "bitmaps-limit",
                  (dd_prep_opts){.inputs = bitmaps, .n_inputs = 2, .per_class = 700, .test_frac = 0.1, .seed = 1});
}

/* Bytes this process has read with read(2) and friends (/proc/self/io rchar). */
static unsigned long long bytes_read(void) {
    FILE *f = fopen("/proc/self/io", "r");
    unsigned long long v = 0;
    char line[128];
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "rchar:", 6)) v = strtoull(line + 6, NULL, 10);
    if (f) fclose(f);
    return v;
}

/* A 200,000-drawing file (copies of real cats, each its own key_id) whose class is full after 50: prep must not
 * read it to the end, on one thread or three. */
static void test_stops_reading(const char *shared, const char *tmp) {
    char src[4300], big[4300];
    snprintf(src, sizeof src, "%s/strokes_simplified/lamnguyen5464_Sketch-dataset/cat.ndjson.gz", shared);
    snprintf(big, sizeof big, "%s/cat.ndjson.gz", tmp);
    size_t n;
    gzFile in = gzopen(src, "rb");
    CHECK(in != NULL);
    if (!in) return;
    static char text[1 << 20];
    int len = gzread(in, text, sizeof text - 1);
    gzclose(in);
    CHECK(len > 0);
    if (len <= 0) return;
    text[len] = '\0';
    gzFile out = gzopen(big, "wb1");
    uint64_t key = 1000000;
    for (int copy = 0; copy < 8000; copy++)
        for (char *line = text, *nl; (nl = strchr(line, '\n')); line = nl + 1) {
            char *k = strstr(line, "\"key_id\":\"");
            if (!k || k > nl) continue;
            char *after = strchr(k + 10, '"');
            gzprintf(out, "%.*s%llu%.*s\n", (int)(k + 10 - line), line, (unsigned long long)key++, (int)(nl - after),
                     after);
        }
    gzclose(out);
    char *whole = test_read_file(big, &n);
    free(whole);
    const char *inputs[] = {big};
    for (int threads = 1; threads <= 3; threads += 2) {
        char dset[4400];
        snprintf(dset, sizeof dset, "%s/cat50-t%d.dset", tmp, threads);
        dd_prep_report rep;
        unsigned long long before = bytes_read();
        int rc = prep((dd_prep_opts){.inputs = inputs, .n_inputs = 1, .per_class = 50, .seed = 1}, threads, dset, &rep);
        unsigned long long used = bytes_read() - before;
        CHECK(rc == 0 && rep.n_records == 50 && rep.stats[0].read == 50, "read %llu",
              (unsigned long long)rep.stats[0].read);
        CHECK(used < n / 4, "%d threads: prep read %llu bytes of a %zu-byte file for 50 drawings", threads, used, n);
        if (rc == 0) dd_prep_report_free(&rep);
    }
}

/* Key ids of a dataset's records, in order. */
static size_t dset_keys(const char *path, uint64_t *keys, size_t max) {
    dd_error err;
    dd_dataset *ds = dd_dataset_open(path, &err);
    CHECK(ds, "%s", err.msg);
    if (!ds) return 0;
    size_t n = (size_t)dd_dataset_count(ds);
    for (size_t i = 0; i < n && i < max; i++) {
        dd_record_info info;
        CHECK(dd_dataset_record_info(ds, i, &info) == 0);
        keys[i] = info.key_id;
    }
    dd_dataset_close(ds);
    return n;
}

/* --sample random over one class file of 25 drawings, 5 at a time. */
static void test_sample(const char *shared, const char *tmp) {
    enum { N_FILE = 25, PICK = 5, SEEDS = 400 };
    char src[4300], a[4400], b[4400];
    snprintf(src, sizeof src, "%s/strokes_simplified/lamnguyen5464_Sketch-dataset/cat.ndjson.gz", shared);
    const char *inputs[] = {src};
    dd_prep_opts o = {.inputs = inputs, .n_inputs = 1, .per_class = PICK, .sample_random = true, .test_frac = 0.2};
    dd_prep_report rep;
    /* the file's key_ids in order: first N_FILE kept */
    uint64_t order[N_FILE];
    snprintf(a, sizeof a, "%s/sample-all.dset", tmp);
    dd_prep_opts all = {.inputs = inputs, .n_inputs = 1};
    CHECK(prep(all, 1, a, &rep) == 0 && rep.n_records == N_FILE);
    dd_prep_report_free(&rep);
    CHECK(dset_keys(a, order, N_FILE) == N_FILE);

    unsigned chosen[N_FILE] = {0};
    uint64_t first_set[PICK] = {0};
    int differ = 0;
    for (uint64_t seed = 1; seed <= SEEDS; seed++) {
        o.seed = seed;
        snprintf(a, sizeof a, "%s/sample.dset", tmp);
        CHECK(prep(o, 1, a, &rep) == 0);
        CHECK(rep.n_records == PICK && rep.stats[0].kept == PICK && rep.stats[0].read == N_FILE &&
              rep.stats[0].skipped[DD_SKIP_OVER_LIMIT] == N_FILE - PICK);
        dd_prep_report_free(&rep);
        uint64_t keys[PICK];
        CHECK(dset_keys(a, keys, PICK) == PICK);
        int last_pos = -1;
        for (int i = 0; i < PICK; i++) {
            int pos = -1;
            for (int k = 0; k < N_FILE; k++)
                if (order[k] == keys[i]) pos = k;
            CHECK(pos > last_pos, "seed %llu: the sample is not in file order", (unsigned long long)seed);
            last_pos = pos;
            if (pos >= 0) chosen[pos]++;
        }
        if (seed == 1)
            memcpy(first_set, keys, sizeof keys);
        else
            differ |= memcmp(first_set, keys, sizeof keys) != 0;
        if (seed <= 3) { /* the same seed again, and on 3 threads: the same bytes */
            snprintf(b, sizeof b, "%s/sample-again.dset", tmp);
            CHECK(prep(o, 3, b, &rep) == 0);
            dd_prep_report_free(&rep);
            CHECK(same_file(a, b), "seed %llu: another run gave another sample", (unsigned long long)seed);
        }
    }
    CHECK(differ, "every seed gave the same sample");
    /* Each position is chosen with probability PICK / N_FILE = 0.2 per seed. Hoeffding: the frequency over SEEDS
     * seeds is off by t or more with probability <= 2 exp(-2 SEEDS t^2); over N_FILE positions that is <= 1e-6 when
     * t = sqrt(ln(2 N_FILE / 1e-6) / (2 SEEDS)) = 0.149. */
    double t = sqrt(log(2.0 * N_FILE / 1e-6) / (2.0 * SEEDS));
    for (int k = 0; k < N_FILE; k++) {
        double f = (double)chosen[k] / SEEDS;
        CHECK(fabs(f - (double)PICK / N_FILE) < t, "position %d chosen %.3f of the time (expected 0.2 +- %.3f)", k, f,
              t);
    }
}

static uint64_t next_key(uint64_t *s) { /* splitmix64 */
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void test_u64_set(void) {
    util_u64_set s;
    util_u64_set_init(&s);
    dd_error err;
    enum { N = 1000000 };
    uint64_t seed = 42;
    CHECK(util_u64_set_add(&s, 0, &err) == 1 && util_u64_set_contains(&s, 0));
    for (uint64_t i = 1; i <= N; i++) /* dense small keys, as key_ids that count up */
        CHECK(util_u64_set_add(&s, i * 1000003ULL, &err) == 1);
    for (int i = 0; i < N; i++) CHECK(util_u64_set_add(&s, next_key(&seed), &err) == 1);
    CHECK(s.count == 2 * (uint64_t)N + 1, "count %llu", (unsigned long long)s.count);
    seed = 42;
    for (int i = 0; i < N; i++) {
        uint64_t k = next_key(&seed);
        CHECK(util_u64_set_contains(&s, k) && util_u64_set_add(&s, k, &err) == 0);
    }
    for (uint64_t i = 1; i <= N; i++) CHECK(util_u64_set_contains(&s, i * 1000003ULL));
    int false_hits = 0;
    for (int i = 0; i < N; i++) false_hits += util_u64_set_contains(&s, next_key(&seed));
    CHECK(false_hits == 0, "%d keys never added are in the set", false_hits);
    double per_key = (double)s.bytes / (double)s.count;
    CHECK(per_key < 10, "%.2f bytes a key", per_key);
    printf("u64_set: %.2f bytes a key at %llu keys\n", per_key, (unsigned long long)s.count);
    util_u64_set_free(&s);
}

int main(void) {
    const char *shared = test_shared_data();
    const char *tmp = test_tmp_dir("test_prep_parallel");
    const char *sub[] = {"strokes_raw/borismus_exupery", "strokes_simplified/lamnguyen5464_Sketch-dataset",
                         "bitmaps_28x28/HR-Shekhar_Doodle_Predictor", "bitmaps_28x28/sukumr_Doodle-Classifier"};
    for (int i = 0; i < 4; i++) snprintf(shared_dirs[i], sizeof shared_dirs[i], "%s/%s", shared, sub[i]);
    test_u64_set();
    test_identical(tmp);
    test_stops_reading(shared, tmp);
    test_sample(shared, tmp);
    return test_finish("test_prep_parallel");
}
