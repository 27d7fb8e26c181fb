/* Data quality (include/doodle/explain.h): labels the model confidently contradicts, drawings Google did not
 * recognise, exact and near duplicates — as CSV tables and pictures. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doodle/explain.h"
#include "doodle/metrics.h"
#include "explain/explain_util.h"
#include "explain/grouped_picture.h"
#include "util/alloc.h"
#include "util/atomic_file.h"

#define MAX_ROWS_PER_GROUP 2
#define NEAR_HAMMING 3
#define SMALL 14 /* side of the downsample the near-duplicate check compares */

dd_quality_opts dd_quality_opts_default(void) {
    return (dd_quality_opts){.split = -1, .threshold = 0.9, .near_tolerance = 0.12, .max_shown = 24};
}

typedef explain_group_item item; /* key: order inside the group, largest first */

static int by_group_then_key(const void *a, const void *b) {
    const item *x = a, *y = b;
    if (x->group != y->group) return x->group < y->group ? -1 : 1;
    if (x->key != y->key) return x->key > y->key ? -1 : 1;
    return x->image < y->image ? -1 : x->image > y->image;
}

/* The picture of items[n] (sorted by group): at most max_per_group drawings a group and max_groups groups. */
static int grouped_picture(const dd_image_set *s, const item *items, size_t n, int max_per_group, int max_groups,
                           const char *title, void (*header)(size_t group, size_t count, void *ctx, char *buf, size_t size),
                           void *ctx, const char *path, dd_error *err) {
    explain_grouped_opts o = {.max_per_group = max_per_group, .max_groups = max_groups, .extra_scale = 1,
                              .header_width = 170, .title = title, .header = header, .ctx = ctx};
    return explain_grouped_picture(s, items, n, &o, path, err) < 0 ? -1 : 0;
}

typedef struct class_ctx {
    const dd_model *m;
    const char *what;
} class_ctx;

static void class_header(size_t group, size_t count, void *ctx, char *buf, size_t size) {
    const class_ctx *c = ctx;
    snprintf(buf, size, "%s %s (%zu)", c->what, c->m->class_names[group], count);
}

static void dup_header(size_t group, size_t count, void *ctx, char *buf, size_t size) {
    snprintf(buf, size, "%s group %zu (%zu)", (const char *)ctx, group + 1, count);
}

/* ---- duplicates ---- */

static uint64_t fnv1a(const uint8_t *p, size_t n) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

typedef struct dup_sort {
    const dd_image_set *s;
    const uint64_t *hash;
} dup_sort;
static dup_sort g_sort; /* qsort has no context argument */

static int by_pixels(const void *a, const void *b) {
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    if (g_sort.hash[x] != g_sort.hash[y]) return g_sort.hash[x] < g_sort.hash[y] ? -1 : 1;
    size_t pixels = (size_t)g_sort.s->height * g_sort.s->width;
    int c = memcmp(g_sort.s->pixels + x * pixels, g_sort.s->pixels + y * pixels, pixels);
    if (c) return c;
    return x < y ? -1 : x > y;
}

static size_t find(size_t *parent, size_t i) {
    while (parent[i] != i) i = parent[i] = parent[parent[i]];
    return i;
}

/* 8x8 average hash and the SMALL x SMALL downsample (sums) of one image; returns the downsample's ink sum. */
static uint64_t small_and_hash(const uint8_t *img, int h, int w, uint32_t *small, uint64_t *ink) {
    double cell[64] = {0};
    memset(small, 0, SMALL * SMALL * sizeof *small);
    uint64_t sum = 0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint8_t v = img[(size_t)y * w + x];
            cell[(y * 8 / h) * 8 + x * 8 / w] += v;
            small[(y * SMALL / h) * SMALL + x * SMALL / w] += v;
            sum += v;
        }
    double mean = 0;
    for (int i = 0; i < 64; i++) mean += cell[i] / 64;
    uint64_t hash = 0;
    for (int i = 0; i < 64; i++)
        if (cell[i] > mean) hash |= 1ull << i;
    *ink = sum;
    return hash;
}

typedef struct band_entry {
    uint16_t band;
    uint32_t rep;
} band_entry;
static int by_band(const void *a, const void *b) {
    const band_entry *x = a, *y = b;
    if (x->band != y->band) return x->band < y->band ? -1 : 1;
    return x->rep < y->rep ? -1 : x->rep > y->rep;
}

/* Groups: group[i] = group number of image i or SIZE_MAX; exact groups first (0..), near groups after. */
typedef struct dup_result {
    size_t *exact_group; /* [n] or SIZE_MAX */
    size_t *near_group;  /* [n] or SIZE_MAX: representatives only */
    size_t n_exact, n_near;
} dup_result;

static int find_duplicates(const dd_image_set *s, double tolerance, dup_result *d, dd_error *err) {
    size_t n = s->n, pixels = (size_t)s->height * s->width;
    uint64_t *hash = dd_malloc(n ? n : 1, sizeof *hash, err), *ahash = NULL, *ink = NULL;
    size_t *order = dd_malloc(n ? n : 1, sizeof *order, err), *parent = NULL, *reps = NULL, n_reps = 0;
    uint32_t *small = NULL;
    band_entry *bands = NULL;
    int rc = -1;
    d->exact_group = dd_malloc(n ? n : 1, sizeof *d->exact_group, err);
    d->near_group = dd_malloc(n ? n : 1, sizeof *d->near_group, err);
    if (!hash || !order || !d->exact_group || !d->near_group) goto done;
    for (size_t i = 0; i < n; i++) {
        hash[i] = fnv1a(s->pixels + i * pixels, pixels);
        order[i] = i;
        d->exact_group[i] = d->near_group[i] = SIZE_MAX;
    }
    g_sort = (dup_sort){s, hash};
    qsort(order, n, sizeof *order, by_pixels);
    if (!(reps = dd_malloc(n ? n : 1, sizeof *reps, err))) goto done;
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && hash[order[j]] == hash[order[i]] &&
               !memcmp(s->pixels + order[j] * pixels, s->pixels + order[i] * pixels, pixels))
            j++;
        if (j - i > 1) {
            for (size_t k = i; k < j; k++) d->exact_group[order[k]] = d->n_exact;
            d->n_exact++;
        }
        reps[n_reps++] = order[i]; /* the lowest image of its group: order is stable on the index */
        i = j;
    }
    /* near: between representatives of different pixels */
    if (!(ahash = dd_malloc(n_reps ? n_reps : 1, sizeof *ahash, err)) ||
        !(ink = dd_malloc(n_reps ? n_reps : 1, sizeof *ink, err)) ||
        !(small = dd_malloc(n_reps ? n_reps : 1, SMALL * SMALL * sizeof *small, err)) ||
        !(parent = dd_malloc(n_reps ? n_reps : 1, sizeof *parent, err)) ||
        !(bands = dd_malloc(n_reps ? n_reps : 1, sizeof *bands, err)))
        goto done;
    for (size_t r = 0; r < n_reps; r++) {
        ahash[r] = small_and_hash(s->pixels + reps[r] * pixels, s->height, s->width, small + r * SMALL * SMALL, &ink[r]);
        parent[r] = r;
    }
    for (int b = 0; b < 4; b++) {
        for (size_t r = 0; r < n_reps; r++) bands[r] = (band_entry){(uint16_t)(ahash[r] >> (16 * b)), (uint32_t)r};
        qsort(bands, n_reps, sizeof *bands, by_band);
        for (size_t i = 0; i < n_reps;) {
            size_t j = i + 1;
            while (j < n_reps && bands[j].band == bands[i].band) j++;
            for (size_t x = i; x < j; x++)
                for (size_t y = x + 1; y < j; y++) {
                    size_t a = bands[x].rep, c = bands[y].rep;
                    if (__builtin_popcountll(ahash[a] ^ ahash[c]) > NEAR_HAMMING || find(parent, a) == find(parent, c))
                        continue;
                    uint64_t diff = 0, larger = ink[a] > ink[c] ? ink[a] : ink[c];
                    const uint32_t *pa = small + a * SMALL * SMALL, *pc = small + c * SMALL * SMALL;
                    for (int q = 0; q < SMALL * SMALL; q++) diff += pa[q] > pc[q] ? pa[q] - pc[q] : pc[q] - pa[q];
                    if (larger > 0 && (double)diff <= tolerance * (double)larger) parent[find(parent, a)] = find(parent, c);
                }
            i = j;
        }
    }
    /* number the near groups (sets of more than one representative) in order of their lowest member */
    size_t *root_group = dd_malloc(n_reps ? n_reps : 1, sizeof *root_group, err), *size = NULL;
    if (!root_group || !(size = dd_calloc(n_reps ? n_reps : 1, sizeof *size, err))) {
        free(root_group);
        goto done;
    }
    for (size_t r = 0; r < n_reps; r++) {
        root_group[r] = SIZE_MAX;
        size[find(parent, r)]++;
    }
    for (size_t r = 0; r < n_reps; r++) {
        size_t root = find(parent, r);
        if (size[root] < 2) continue;
        if (root_group[root] == SIZE_MAX) root_group[root] = d->n_near++;
        d->near_group[reps[r]] = root_group[root];
    }
    free(root_group);
    free(size);
    rc = 0;
done:
    free(hash);
    free(order);
    free(reps);
    free(ahash);
    free(ink);
    free(small);
    free(parent);
    free(bands);
    return rc;
}

/* ---- the whole check ---- */

static const char *split_name(dd_split s) { return s == DD_SPLIT_TEST ? "test" : "train"; }

static int argmax(const float *p, int n) {
    int best = 0;
    for (int c = 1; c < n; c++)
        if (p[c] > p[best]) best = c;
    return best;
}

/* The CSV of listed drawings with the model's answer: index,key_id,split,label,predicted,p_predicted[,p_label]. */
static void write_prediction_rows(FILE *f, const dd_model *m, const dd_image_set *s, const dd_record_info *info,
                                  const float *probs, const item *items, size_t k, bool p_label) {
    const int classes = m->spec->classes;
    fprintf(f, "index,key_id,split,label,predicted,p_predicted%s\n", p_label ? ",p_label" : "");
    for (size_t j = 0; j < k; j++) {
        size_t i = items[j].image;
        const float *p = probs + i * classes;
        int pred = argmax(p, classes);
        fprintf(f, "%llu,%llu,%s,", (unsigned long long)s->record[i], (unsigned long long)info[i].key_id,
                split_name(info[i].split));
        dd_csv_field(f, m->class_names[s->label[i]]);
        fputc(',', f);
        dd_csv_field(f, m->class_names[pred]);
        fprintf(f, ",%.6f", p[pred]);
        if (p_label) fprintf(f, ",%.6f", p[s->label[i]]);
        fputc('\n', f);
    }
}


int dd_explain_quality(const dd_model *m, const dd_dataset *ds, const dd_quality_opts *o, const char *out_dir,
                       dd_quality_report *r, dd_error *err) {
    memset(r, 0, sizeof *r);
    if (!(o->threshold > 0 && o->threshold <= 1)) return dd_fail(err, DD_ERR_USAGE, "threshold %g is not in (0, 1]", o->threshold);
    int classes = m->spec->classes;
    uint64_t *records = NULL;
    size_t n = 0;
    dd_image_set s = {0};
    float *probs = NULL;
    item *items = NULL;
    dd_record_info *info = NULL;
    dup_result d = {0};
    dd_atomic_file a = {0};
    int rc = -1;
    char path[4096];
    int max_shown = o->max_shown > 0 ? o->max_shown : 24;
    if (dd_dataset_split_records(ds, o->split, &records, &n, err) || dd_image_set_load(m, ds, records, n, &s, err))
        goto done;
    r->n = s.n;
    if (!(probs = dd_malloc(n ? n : 1, (size_t)classes * sizeof *probs, err)) ||
        !(items = dd_malloc(n ? n : 1, sizeof *items, err)) || !(info = dd_malloc(n ? n : 1, sizeof *info, err)))
        goto done;
    for (size_t i = 0; i < n; i++) dd_dataset_record_info(ds, s.record[i], &info[i]);
    if (dd_explain_probabilities(m, &s, probs, err) || explain_make_dir(out_dir, err)) goto done;

    /* contradicted labels */
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        const float *p = probs + i * classes;
        int pred = argmax(p, classes);
        if (pred == s.label[i] || p[pred] < o->threshold) continue;
        items[k] = (item){.image = i, .group = (size_t)s.label[i], .key = p[pred]};
        snprintf(items[k].label, sizeof items[k].label, "%s %.2f", m->class_names[pred], p[pred]);
        k++;
    }
    r->contradicted = k;
    qsort(items, k, sizeof *items, by_group_then_key);
    if (explain_path(path, sizeof path, out_dir, "contradicted.csv", err) || dd_atomic_open(&a, path, err)) goto done;
    write_prediction_rows(a.f, m, &s, info, probs, items, k, true);
    if (dd_atomic_commit(&a, err)) goto done;
    if (k) {
        char title[200];
        snprintf(title, sizeof title, "Labels the model contradicts with p >= %.2f: %zu of %zu drawings (under each: "
                 "the model's class)", o->threshold, k, n);
        class_ctx ctx = {m, "labelled"};
        if (explain_path(path, sizeof path, out_dir, "contradicted.png", err) ||
            grouped_picture(&s, items, k, max_shown, classes, title, class_header, &ctx, path, err))
            goto done;
        snprintf(r->contradicted_png, sizeof r->contradicted_png, "contradicted.png");
    }

    /* not recognized by Google's game */
    k = 0;
    for (size_t i = 0; i < n; i++) {
        if (info[i].recognized < 0) r->recognized_unknown++;
        if (info[i].recognized != 0) continue;
        const float *p = probs + i * classes;
        int pred = argmax(p, classes);
        items[k] = (item){.image = i, .group = (size_t)s.label[i], .key = p[s.label[i]]};
        snprintf(items[k].label, sizeof items[k].label, "%s %.2f", m->class_names[pred], p[pred]);
        k++;
    }
    r->not_recognized = k;
    qsort(items, k, sizeof *items, by_group_then_key);
    if (explain_path(path, sizeof path, out_dir, "not-recognized.csv", err) || dd_atomic_open(&a, path, err)) goto done;
    write_prediction_rows(a.f, m, &s, info, probs, items, k, false);
    if (dd_atomic_commit(&a, err)) goto done;
    if (k) {
        char title[200];
        snprintf(title, sizeof title, "Not recognized by Google's game: %zu of %zu drawings (under each: the model's "
                 "guess)", k, n);
        class_ctx ctx = {m, "labelled"};
        if (explain_path(path, sizeof path, out_dir, "not-recognized.png", err) ||
            grouped_picture(&s, items, k, max_shown, classes, title, class_header, &ctx, path, err))
            goto done;
        snprintf(r->not_recognized_png, sizeof r->not_recognized_png, "not-recognized.png");
    }

    /* duplicates */
    if (find_duplicates(&s, o->near_tolerance, &d, err)) goto done;
    if (explain_path(path, sizeof path, out_dir, "duplicates.csv", err) || dd_atomic_open(&a, path, err)) goto done;
    fputs("kind,group,index,key_id,split,label\n", a.f);
    for (int kind = 0; kind < 2; kind++) {
        const size_t *group = kind ? d.near_group : d.exact_group;
        size_t n_groups = kind ? d.n_near : d.n_exact;
        uint8_t *seen = dd_calloc(n_groups ? n_groups * 2 : 1, 1, err); /* [g*2 + split] */
        if (!seen) goto done;
        k = 0;
        for (size_t i = 0; i < n; i++) {
            if (group[i] == SIZE_MAX) continue;
            seen[group[i] * 2 + (info[i].split == DD_SPLIT_TEST)] = 1;
            items[k] = (item){.image = i, .group = group[i], .key = 0};
            snprintf(items[k].label, sizeof items[k].label, "%s %s", m->class_names[s.label[i]], split_name(info[i].split));
            k++;
        }
        size_t across = 0;
        for (size_t g = 0; g < n_groups; g++) across += seen[2 * g] && seen[2 * g + 1];
        free(seen);
        qsort(items, k, sizeof *items, by_group_then_key);
        for (size_t j = 0; j < k; j++) {
            size_t i = items[j].image;
            fprintf(a.f, "%s,%zu,%llu,%llu,%s,", kind ? "near" : "exact", items[j].group + 1,
                    (unsigned long long)s.record[i], (unsigned long long)info[i].key_id, split_name(info[i].split));
            dd_csv_field(a.f, m->class_names[s.label[i]]);
            fputc('\n', a.f);
        }
        if (kind) {
            r->near_groups = n_groups;
            r->near_drawings = k;
            r->near_across_split = across;
        } else {
            r->exact_groups = n_groups;
            r->exact_drawings = k;
            r->exact_across_split = across;
        }
        if (k) {
            char title[200];
            snprintf(title, sizeof title, "%s duplicates: %zu groups, %zu drawings, %zu groups in both train and test%s",
                     kind ? "Near" : "Exact", n_groups, k, across, n_groups > 40 ? " (first 40 groups)" : "");
            const char *name = kind ? "duplicates-near.png" : "duplicates-exact.png";
            if (explain_path(path, sizeof path, out_dir, name, err) ||
                grouped_picture(&s, items, k, max_shown, 40, title, dup_header, kind ? "near" : "exact", path, err)) {
                dd_atomic_abort(&a);
                goto done;
            }
            snprintf(kind ? r->near_png : r->exact_png, sizeof r->near_png, "%s", name);
        }
    }
    if (dd_atomic_commit(&a, err)) goto done;
    rc = 0;
done:
    dd_atomic_abort(&a);
    free(records);
    free(probs);
    free(items);
    free(info);
    free(d.exact_group);
    free(d.near_group);
    dd_image_set_free(&s);
    return rc;
}
