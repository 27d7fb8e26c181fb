/* "Misclassified as X" (include/doodle/explain.h): the study's "Misclassified as airplane", "Cats as airplanes",
 * "Trees as airplanes" — every test drawing predicted as X that is not an X, grouped by its true class. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doodle/explain.h"
#include "explain/explain_util.h"
#include "explain/grouped_picture.h"
#include "doodle/alloc.h"
#include "doodle/files.h"

#define DEFAULT_MAX_PER_GROUP 240

void dd_misclassified_report_free(dd_misclassified_report *r) {
    if (!r) return;
    free(r->confusion);
    free(r->picture);
    memset(r, 0, sizeof *r);
}

typedef struct miss {
    size_t image;
    int true_class;
    float p; /* probability of the predicted class */
} miss;

/* Groups by true class in order of group size (largest first, then class order), then most confident first. */
static const uint64_t *sort_counts;
static int by_group(const void *a, const void *b) {
    const miss *x = a, *y = b;
    if (x->true_class != y->true_class) {
        uint64_t cx = sort_counts[x->true_class], cy = sort_counts[y->true_class];
        if (cx != cy) return cx > cy ? -1 : 1;
        return x->true_class < y->true_class ? -1 : 1;
    }
    if (x->p != y->p) return x->p > y->p ? -1 : 1;
    return x->image < y->image ? -1 : x->image > y->image;
}

typedef struct as_ctx {
    const dd_model *m;
    int x;
} as_ctx;

static void as_header(size_t group, size_t count, void *ctx, char *buf, size_t size) {
    const as_ctx *c = ctx;
    snprintf(buf, size, "%s as %s (%zu)", c->m->class_names[group], c->m->class_names[c->x], count);
}

/* The picture of the drawings misclassified as class x: misses[n] sorted by by_group. */
static int picture_of(const dd_model *m, const dd_image_set *s, int x, const miss *misses, size_t n, int max_per_group,
                      const char *path, dd_error *err) {
    explain_group_item *items = dd_malloc(n, sizeof *items, err);
    if (!items) return -1;
    for (size_t i = 0; i < n; i++) {
        items[i] =
            (explain_group_item){.image = misses[i].image, .group = (size_t)misses[i].true_class, .key = misses[i].p};
        snprintf(items[i].label, sizeof items[i].label, "p %.2f", misses[i].p);
    }
    char title[256], title_cut[300];
    snprintf(title, sizeof title, "Misclassified as %s: %zu test drawing%s of other classes", m->class_names[x], n,
             n == 1 ? "" : "s");
    snprintf(title_cut, sizeof title_cut, "%s (the largest groups)", title);
    as_ctx ctx = {m, x};
    explain_grouped_opts o = {.max_per_group = max_per_group,
                              .max_groups = m->spec->classes,
                              .header_width = 190,
                              .title = title,
                              .title_if_cut = title_cut,
                              .header = as_header,
                              .ctx = &ctx};
    int drawn = explain_grouped_picture(s, items, n, &o, path, err);
    free(items);
    return drawn < 0 ? -1 : 0;
}

static int write_csv(const dd_model *m, const uint64_t *confusion, const char *path, dd_error *err) {
    int classes = m->spec->classes;
    dd_atomic_file a;
    if (dd_atomic_open(&a, path, err)) return -1;
    fputs("predicted,true,count\n", a.f);
    for (int x = 0; x < classes; x++)
        for (int t = 0; t < classes; t++) {
            uint64_t c = confusion[(size_t)t * classes + x];
            if (t == x || c == 0) continue;
            fprintf(a.f, "%s,%s,%llu\n", m->class_names[x], m->class_names[t], (unsigned long long)c);
        }
    return dd_atomic_commit(&a, err);
}

int dd_explain_misclassified(const dd_model *m, const dd_dataset *ds, int as_class, int max_per_group,
                             const char *out_dir, dd_misclassified_report *r, dd_error *err) {
    memset(r, 0, sizeof *r);
    int classes = m->spec->classes;
    if (as_class >= classes) return dd_fail(err, DD_ERR_USAGE, "class %d is out of range", as_class);
    if (max_per_group <= 0) max_per_group = DEFAULT_MAX_PER_GROUP;
    uint64_t *records = NULL;
    size_t n_records = 0;
    dd_image_set s = {0};
    float *probs = NULL;
    miss *misses = NULL;
    int rc = -1;
    if (dd_dataset_split_records(ds, DD_SPLIT_TEST, &records, &n_records, err) ||
        dd_image_set_load(m, ds, records, n_records, &s, err))
        goto done;
    if (!(r->confusion = dd_calloc((size_t)classes * classes, sizeof *r->confusion, err)) ||
        !(r->picture = dd_calloc((size_t)classes, sizeof *r->picture, err)) ||
        !(probs = dd_malloc(s.n ? s.n : 1, (size_t)classes * sizeof *probs, err)) ||
        !(misses = dd_malloc(s.n ? s.n : 1, sizeof *misses, err)))
        goto done;
    r->classes = classes;
    r->n_test = s.n;
    if (dd_explain_probabilities(m, &s, probs, err)) goto done;
    for (size_t i = 0; i < s.n; i++) {
        const float *p = probs + i * classes;
        int best = 0;
        for (int c = 1; c < classes; c++)
            if (p[c] > p[best]) best = c;
        r->confusion[(size_t)s.label[i] * classes + best]++;
        if (best != s.label[i]) r->n_wrong++;
    }
    if (explain_make_dir(out_dir, err)) goto done;
    char path[4096], name[128];
    for (int x = 0; x < classes; x++) {
        if (as_class >= 0 && x != as_class) continue;
        size_t n = 0;
        for (size_t i = 0; i < s.n; i++) {
            const float *p = probs + i * classes;
            int best = 0;
            for (int c = 1; c < classes; c++)
                if (p[c] > p[best]) best = c;
            if (best == x && s.label[i] != x) misses[n++] = (miss){.image = i, .true_class = s.label[i], .p = p[x]};
        }
        if (n == 0) continue;
        uint64_t *counts = dd_calloc((size_t)classes, sizeof *counts, err);
        if (!counts) goto done;
        for (size_t i = 0; i < n; i++) counts[misses[i].true_class]++;
        sort_counts = counts;
        qsort(misses, n, sizeof *misses, by_group);
        sort_counts = NULL;
        free(counts);
        dd_explain_file_name("misclassified-as-", m->class_names[x], ".png", name, sizeof name);
        if (explain_path(path, sizeof path, out_dir, name, err) ||
            picture_of(m, &s, x, misses, n, max_per_group, path, err))
            goto done;
        snprintf(r->picture[x], sizeof r->picture[x], "%s", name);
    }
    if (explain_path(path, sizeof path, out_dir, "misclassified-as.csv", err) || write_csv(m, r->confusion, path, err))
        goto done;
    rc = 0;
done:
    if (rc) dd_misclassified_report_free(r);
    free(records);
    free(probs);
    free(misses);
    dd_image_set_free(&s);
    return rc;
}
