/* dd_explain_quality streams the split and searches duplicates through hash bands: its tables must be what the
 * plain in-memory check finds. On every simplified drawing of ../shared (344 classes, more than two 4,096-drawing
 * chunks) with exact copies and shifted copies planted, a seeded untrained model: the contradicted and
 * not-recognized rows, and the exact and near duplicate groups, against every image in memory, every probability,
 * a sort by pixels and an all-pairs comparison of average hashes and 14x14 downsamples. Then the near search's
 * memory budget: forced down to a few hundred downsamples, or one drawing's neighbours, at a time (many segments,
 * drawings rendered again), it must find the very same groups and write the same tables, also with a bucket cap of
 * 2 that makes most buckets over-full and cuts them between segments. */
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "doodle/explain.h"
#include "doodle/prep.h"
#include "explain/quality_internal.h"
#include "testutil.h"

#define SMALL 14

static char g_set[4096], g_planted[4096], g_out[4096], g_out_tiny[4096];

/* ../shared's simplified drawings, then a copy of it with every 97th drawing repeated under a new key_id and
 * every 89th repeated moved by two units. */
static dd_dataset *planted_set(void) {
    dd_error err;
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/strokes_simplified", test_shared_data());
    const char *inputs[] = {dir};
    dd_prep_opts o = {.inputs = inputs, .n_inputs = 1, .test_frac = 0.2, .seed = 3, .threads = 2};
    dd_prep_report rep;
    CHECK(dd_prep_run(&o, g_set, &rep, &err) == 0, "%s", err.msg);
    dd_prep_report_free(&rep);
    dd_dataset *src = dd_dataset_open(g_set, &err);
    CHECK(src != NULL, "%s", err.msg);
    if (!src) return NULL;
    uint32_t n_classes = dd_dataset_class_count(src);
    dd_class_stats *stats = calloc(n_classes + 1, sizeof *stats);
    const char **names = calloc(n_classes, sizeof *names);
    dd_dataset_writer *w = dd_dataset_writer_open(g_planted, DD_DSET_STROKES, 0, 0, &err);
    CHECK(w && stats && names, "%s", err.msg);
    dd_drawing d;
    dd_drawing_init(&d);
    uint64_t extra_key = 9000000000000000000ull;
    for (uint64_t i = 0; i < dd_dataset_count(src); i++) {
        dd_record_info info;
        CHECK(dd_dataset_record_info(src, i, &info) == 0 && dd_dataset_strokes(src, i, &d, &err) == 0, "record %llu",
              (unsigned long long)i);
        for (int copy = 0; copy < 3; copy++) {
            if (copy == 1 && i % 97 != 0) continue;
            if (copy == 2 && i % 89 != 5) continue;
            if (copy) d.key_id = extra_key++;
            if (copy == 2)
                for (uint32_t p = 0; p < d.n_points; p++) d.x[p] = fmin(255, d.x[p] + 2);
            CHECK(dd_dataset_writer_add_strokes(w, info.label, info.split, &d, &err) == 0, "%s", err.msg);
            stats[info.label].read++;
            stats[info.label].kept++;
            if (info.split == DD_SPLIT_TEST)
                stats[info.label].test++;
            else
                stats[info.label].train++;
        }
    }
    for (uint32_t c = 0; c < n_classes; c++) names[c] = dd_dataset_class_name(src, c);
    dd_dset_params params = {.seed = 3, .test_frac = 0.2};
    CHECK(dd_dataset_writer_finish(w, n_classes, names, stats, &params, &err) == 0, "%s", err.msg);
    dd_drawing_free(&d);
    free(stats);
    free(names);
    dd_dataset_close(src);
    dd_dataset *ds = dd_dataset_open(g_planted, &err);
    CHECK(ds != NULL, "%s", err.msg);
    return ds;
}

static dd_model *untrained_model(const dd_dataset *ds) {
    dd_error err;
    dd_spec_overrides ov = {.classes = (int)dd_dataset_class_count(ds)};
    dd_model_spec *spec = dd_model_spec_builtin("mnist28", &ov, &err);
    CHECK(spec != NULL, "%s", err.msg);
    dd_model *m = dd_model_new(spec, 11, &err);
    CHECK(m != NULL, "%s", err.msg);
    for (int c = 0; m && c < ov.classes; c++)
        dd_model_set_class_name(m, c, dd_dataset_class_name(ds, (uint32_t)c), &err);
    return m;
}

/* The record numbers (third field for duplicates.csv, first otherwise) and groups of a CSV the check wrote. */
static size_t read_rows(const char *name, const char *kind, uint64_t *record, size_t *group, size_t max) {
    char path[4200], line[1024];
    snprintf(path, sizeof path, "%s/%s", g_out, name);
    FILE *f = fopen(path, "r");
    CHECK(f != NULL, "%s", path);
    if (!f) return 0;
    size_t n = 0;
    CHECK(fgets(line, sizeof line, f) != NULL, "%s is empty", path);
    while (fgets(line, sizeof line, f) && n < max) {
        char k[16];
        unsigned long long rec;
        size_t g = 0;
        if (kind) {
            CHECK(sscanf(line, "%15[^,],%zu,%llu,", k, &g, &rec) == 3, "%s: %s", path, line);
            if (strcmp(k, kind)) continue;
        } else {
            CHECK(sscanf(line, "%llu,", &rec) == 1, "%s: %s", path, line);
        }
        record[n] = rec;
        if (group) group[n] = g;
        n++;
    }
    fclose(f);
    return n;
}

static int by_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* The rows of a listing are exactly want[n_want] (any order). */
static void check_listed(const char *name, uint64_t *want, size_t n_want, size_t n) {
    uint64_t *got = malloc((n + 1) * sizeof *got);
    size_t n_got = read_rows(name, NULL, got, NULL, n + 1);
    qsort(got, n_got, sizeof *got, by_u64);
    qsort(want, n_want, sizeof *want, by_u64);
    CHECK(n_got == n_want && !memcmp(got, want, n_got * sizeof *got), "%s: %zu rows, the in-memory check %zu", name,
          n_got, n_want);
    free(got);
}

static size_t find(size_t *parent, size_t i) {
    while (parent[i] != i) i = parent[i] = parent[parent[i]];
    return i;
}

static const uint8_t *g_pixels;
static int by_pixels(const void *a, const void *b) {
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    int c = memcmp(g_pixels + x * 784, g_pixels + y * 784, 784);
    return c ? c : (x > y) - (x < y);
}

/* The groups in the CSV (record -> group) partition the drawings as ref_root (index -> root, SIZE_MAX: none)
 * does. Returns the number of groups. */
static size_t check_partition(const char *kind, const dd_image_set *s, const size_t *ref_root, size_t ref_members) {
    uint64_t *rec = malloc((s->n + 1) * sizeof *rec);
    size_t *grp = malloc((s->n + 1) * sizeof *grp), *got = malloc(s->n * sizeof *got);
    size_t n = read_rows("duplicates.csv", kind, rec, grp, s->n + 1), groups = 0;
    CHECK(n == ref_members, "%s duplicates: %zu drawings, the in-memory check %zu", kind, n, ref_members);
    for (size_t i = 0; i < s->n; i++) got[i] = SIZE_MAX;
    for (size_t j = 0; j < n; j++) {
        size_t i = 0;
        while (i < s->n && s->record[i] != rec[j]) i++;
        CHECK(i < s->n, "record %llu", (unsigned long long)rec[j]);
        if (i < s->n) got[i] = grp[j];
        if (grp[j] > groups) groups = grp[j];
    }
    int bad = 0;
    for (size_t a = 0; a < s->n && !bad; a++)
        for (size_t b = a + 1; b < s->n && (got[a] != SIZE_MAX || ref_root[a] != SIZE_MAX); b++) {
            bool same_got = got[a] != SIZE_MAX && got[a] == got[b];
            bool same_ref = ref_root[a] != SIZE_MAX && ref_root[a] == ref_root[b];
            if (same_got != same_ref) bad = 1;
        }
    CHECK(!bad, "%s duplicate groups differ from the in-memory check", kind);
    free(rec);
    free(grp);
    free(got);
    return groups;
}

/* A whole file of the check's output directory (NULL when unreadable); *len its size. */
static char *slurp(const char *dir, const char *name, size_t *len) {
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    CHECK(f != NULL, "%s", path);
    if (!f) return NULL;
    char *buf = NULL;
    size_t cap = 0;
    *len = 0;
    for (;;) {
        if (*len == cap) {
            cap = cap ? 2 * cap : 65536;
            char *grown = realloc(buf, cap);
            CHECK(grown != NULL, "out of memory");
            if (!grown) break;
            buf = grown;
        }
        size_t got = fread(buf + *len, 1, cap - *len, f);
        if (!got) break;
        *len += got;
    }
    fclose(f);
    return buf;
}

/* quality_find_duplicates under the given limits; the limits are restored. */
static void search(const dd_model *m, const dd_dataset *ds, const uint64_t *records, size_t n, const uint64_t *ph,
                   const uint64_t *ah, double tolerance, size_t budget, size_t cap, quality_dups *d) {
    dd_error err;
    quality_near_limits was = quality_set_near_limits((quality_near_limits){budget, cap});
    CHECK(quality_find_duplicates(m, ds, records, n, ph, ah, tolerance, d, &err) == 0, "%s", err.msg);
    quality_set_near_limits(was);
}

static void check_same_groups(const quality_dups *a, const quality_dups *b, size_t n, const char *what) {
    CHECK(a->n_exact == b->n_exact && a->n_near == b->n_near, "%s: %zu/%zu groups, unbounded %zu/%zu", what, b->n_exact,
          b->n_near, a->n_exact, a->n_near);
    CHECK(!memcmp(a->exact_group, b->exact_group, n * sizeof *a->exact_group), "%s: exact groups differ", what);
    CHECK(!memcmp(a->near_group, b->near_group, n * sizeof *a->near_group), "%s: near groups differ", what);
    CHECK(a->capped_buckets == b->capped_buckets, "%s: %zu capped buckets, unbounded %zu", what, b->capped_buckets,
          a->capped_buckets);
}

/* A budget of n downsamples (a member costs its 392-byte downsample, ink, drawing number and list entry). */
#define BUDGET(n) ((n) * (size_t)412)

/* The near search under small budgets against an unlimited one: the same groups, numbered alike. With the
 * default cap (buckets of up to 1,025 drawings meet whole) a segment is a run of buckets, cut inside the two
 * over-full ones; with a cap of 2, 1,400 buckets are over-full and a budget of one byte makes every drawing of
 * every band its own segment. */
static void check_budgets(const dd_model *m, const dd_dataset *ds, const dd_image_set *s, double tolerance) {
    uint64_t *ph = malloc(s->n * sizeof *ph), *ah = malloc(s->n * sizeof *ah);
    const size_t pixels = (size_t)s->height * (size_t)s->width;
    for (size_t i = 0; i < s->n; i++) {
        ph[i] = quality_pixel_hash(s->pixels + i * pixels, pixels);
        ah[i] = quality_average_hash(s->pixels + i * pixels, s->height, s->width);
    }
    const struct { size_t cap, budget; } cases[] = {{QUALITY_BUCKET_CAP, BUDGET(300)}, {2, 1}, {2, BUDGET(40)}};
    quality_dups all = {0}, part;
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        if (k == 0 || cases[k].cap != cases[k - 1].cap) {
            quality_dups_free(&all);
            search(m, ds, s->record, s->n, ph, ah, tolerance, SIZE_MAX, cases[k].cap, &all);
            CHECK(all.near_segments >= 1 && all.near_segments <= 4 && all.capped_buckets > 0,
                  "cap %zu, no budget: %zu segments, %zu capped buckets", cases[k].cap, all.near_segments,
                  all.capped_buckets);
        }
        char what[64];
        snprintf(what, sizeof what, "cap %zu, budget %zu bytes", cases[k].cap, cases[k].budget);
        search(m, ds, s->record, s->n, ph, ah, tolerance, cases[k].budget, cases[k].cap, &part);
        check_same_groups(&all, &part, s->n, what);
        CHECK(part.near_segments > all.near_segments, "%s: %zu segments (unbounded %zu): the budget did not bite", what,
              part.near_segments, all.near_segments);
        printf("%s: %zu segments, %zu downsamples rendered (unbounded: %zu, %zu), %zu capped buckets, same groups\n",
               what, part.near_segments, part.near_renders, all.near_segments, all.near_renders, part.capped_buckets);
        quality_dups_free(&part);
    }
    quality_dups_free(&all);
    free(ph);
    free(ah);
}

int main(void) {
    const char *tmp = test_tmp_dir("test_quality_stream");
    snprintf(g_set, sizeof g_set, "%s/shared.dset", tmp);
    snprintf(g_planted, sizeof g_planted, "%s/planted.dset", tmp);
    snprintf(g_out, sizeof g_out, "%s/quality", tmp);
    snprintf(g_out_tiny, sizeof g_out_tiny, "%s/quality-tiny", tmp);
    dd_dataset *ds = planted_set();
    dd_model *m = ds ? untrained_model(ds) : NULL;
    if (!m) return test_finish("test_quality_stream");
    dd_error err;
    dd_quality_opts o = dd_quality_opts_default();
    o.threshold = 0.0035; /* an untrained model over 344 classes: a few hundred confident contradictions */
    dd_quality_report r;
    CHECK(dd_explain_quality(m, ds, &o, g_out, &r, &err) == 0, "%s", err.msg);

    /* the same in memory: every image, every probability */
    uint64_t *records;
    size_t n;
    CHECK(dd_dataset_split_records(ds, -1, &records, &n, &err) == 0, "%s", err.msg);
    dd_image_set s;
    CHECK(dd_image_set_load(m, ds, records, n, &s, &err) == 0, "%s", err.msg);
    const int classes = m->spec->classes;
    float *probs = malloc(n * (size_t)classes * sizeof *probs);
    CHECK(dd_explain_probabilities(m, &s, probs, &err) == 0, "%s", err.msg);
    CHECK(r.n == n && n > 2 * 4096, "%zu drawings checked of %zu", r.n, n);
    uint64_t *contra = malloc(n * sizeof *contra), *not_rec = malloc(n * sizeof *not_rec);
    size_t n_contra = 0, n_not_rec = 0;
    for (size_t i = 0; i < n; i++) {
        const float *p = probs + i * (size_t)classes;
        int best = 0;
        for (int c = 1; c < classes; c++)
            if (p[c] > p[best]) best = c;
        if (best != s.label[i] && p[best] >= o.threshold) contra[n_contra++] = s.record[i];
        dd_record_info info;
        dd_dataset_record_info(ds, s.record[i], &info);
        if (info.recognized == 0) not_rec[n_not_rec++] = s.record[i];
    }
    CHECK(r.contradicted == n_contra && n_contra > 0 && n_contra < n, "contradicted %zu, in memory %zu", r.contradicted,
          n_contra);
    CHECK(r.not_recognized == n_not_rec && n_not_rec > 0, "not recognized %zu, in memory %zu", r.not_recognized,
          n_not_rec);
    check_listed("contradicted.csv", contra, n_contra, n);
    check_listed("not-recognized.csv", not_rec, n_not_rec, n);

    /* exact: a sort by pixels; near: all pairs of distinct pictures */
    size_t *order = malloc(n * sizeof *order), *exact = malloc(n * sizeof *exact), *near = malloc(n * sizeof *near);
    size_t *reps = malloc(n * sizeof *reps), n_reps = 0, exact_members = 0;
    for (size_t i = 0; i < n; i++) order[i] = i;
    g_pixels = s.pixels;
    qsort(order, n, sizeof *order, by_pixels);
    for (size_t i = 0; i < n; i++) exact[i] = near[i] = SIZE_MAX;
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && !memcmp(s.pixels + order[j] * 784, s.pixels + order[i] * 784, 784)) j++;
        if (j - i > 1)
            for (size_t k = i; k < j; k++) exact[order[k]] = order[i], exact_members++;
        reps[n_reps++] = order[i];
        i = j;
    }
    uint64_t *ahash = malloc(n_reps * sizeof *ahash), *ink = malloc(n_reps * sizeof *ink);
    uint32_t *small = calloc(n_reps * SMALL * SMALL, sizeof *small);
    size_t *parent = malloc(n_reps * sizeof *parent), *size = calloc(n_reps, sizeof *size), near_members = 0;
    for (size_t r2 = 0; r2 < n_reps; r2++) {
        const uint8_t *img = s.pixels + reps[r2] * 784;
        double cell[64] = {0}, mean = 0;
        ink[r2] = 0;
        for (int y = 0; y < 28; y++)
            for (int x = 0; x < 28; x++) {
                cell[(y * 8 / 28) * 8 + x * 8 / 28] += img[y * 28 + x];
                small[r2 * SMALL * SMALL + (y * SMALL / 28) * SMALL + x * SMALL / 28] += img[y * 28 + x];
                ink[r2] += img[y * 28 + x];
            }
        for (int i = 0; i < 64; i++) mean += cell[i] / 64;
        ahash[r2] = 0;
        for (int i = 0; i < 64; i++)
            if (cell[i] > mean) ahash[r2] |= 1ull << i;
        parent[r2] = r2;
    }
    for (size_t a = 0; a < n_reps; a++)
        for (size_t b = a + 1; b < n_reps; b++) {
            if (__builtin_popcountll(ahash[a] ^ ahash[b]) > 3) continue;
            uint64_t diff = 0, larger = ink[a] > ink[b] ? ink[a] : ink[b];
            for (int q = 0; q < SMALL * SMALL; q++) {
                uint32_t x = small[a * SMALL * SMALL + q], y = small[b * SMALL * SMALL + q];
                diff += x > y ? x - y : y - x;
            }
            if (larger > 0 && (double)diff <= o.near_tolerance * (double)larger)
                parent[find(parent, a)] = find(parent, b);
        }
    for (size_t r2 = 0; r2 < n_reps; r2++) size[find(parent, r2)]++;
    for (size_t r2 = 0; r2 < n_reps; r2++)
        if (size[find(parent, r2)] > 1) near[reps[r2]] = find(parent, r2), near_members++;
    size_t exact_groups = check_partition("exact", &s, exact, exact_members);
    size_t near_groups = check_partition("near", &s, near, near_members);
    CHECK(r.exact_groups == exact_groups && exact_groups >= 50, "%zu exact groups", r.exact_groups);
    CHECK(r.near_groups == near_groups && near_groups >= 1, "%zu near groups", r.near_groups);
    printf("%zu drawings: %zu contradicted, %zu not recognized, %zu exact groups (%zu drawings), %zu near groups "
           "(%zu drawings), as in memory\n",
           n, n_contra, n_not_rec, exact_groups, exact_members, near_groups, near_members);

    /* the near search a few drawings at a time: the same groups, the same tables */
    check_budgets(m, ds, &s, o.near_tolerance);
    quality_near_limits was = quality_set_near_limits((quality_near_limits){BUDGET(300), QUALITY_BUCKET_CAP});
    dd_quality_report tiny;
    CHECK(dd_explain_quality(m, ds, &o, g_out_tiny, &tiny, &err) == 0, "%s", err.msg);
    quality_set_near_limits(was);
    CHECK(tiny.near_groups == r.near_groups && tiny.near_drawings == r.near_drawings &&
              tiny.exact_groups == r.exact_groups,
          "tiny budget: %zu near groups, unbounded %zu", tiny.near_groups, r.near_groups);
    const char *tables[] = {"duplicates.csv", "contradicted.csv", "not-recognized.csv"};
    for (int t = 0; t < 3; t++) {
        size_t la = 0, lb = 0;
        char *a = slurp(g_out, tables[t], &la), *b = slurp(g_out_tiny, tables[t], &lb);
        CHECK(a && b && la == lb && la > 0 && !memcmp(a, b, la), "%s differs under a tiny near budget", tables[t]);
        free(a);
        free(b);
    }

    free(order), free(exact), free(near), free(reps), free(ahash), free(ink), free(small), free(parent), free(size);
    free(contra), free(not_rec), free(probs), free(records);
    dd_image_set_free(&s);
    dd_model_free(m);
    dd_dataset_close(ds);
    return test_finish("test_quality_stream");
}
