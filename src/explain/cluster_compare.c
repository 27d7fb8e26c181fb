/* `doodle explain clusters --compare M2`: a second model's mistakes on the same test drawings, clustered the same
 * way, set against the first model's clusters: which of the first model's clusters the change removed (their
 * drawings now right) and which of the second model's clusters are new (their drawings were right). Drawings are
 * matched by their dataset record number, so the two models may differ in anything but their classes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doodle/cluster.h"
#include "explain/explain_util.h"
#include "doodle/alloc.h"
#include "doodle/files.h"

#define SHOWN 10 /* drawings per cluster in the pictures */

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* changed[i] = 1 when r's drawing i is not among the sorted records other [n_other]. */
static void not_in(const dd_cluster_report *r, const uint64_t *other, size_t n_other, uint8_t *changed) {
    for (size_t i = 0; i < r->n; i++)
        changed[i] = bsearch(&r->index[i], other, n_other, sizeof *other, cmp_u64) == NULL;
}

static uint64_t *sorted_index(const dd_cluster_report *r, dd_error *err) {
    uint64_t *s = dd_malloc(r->n ? r->n : 1, sizeof *s, err);
    if (!s) return NULL;
    memcpy(s, r->index, r->n * sizeof *s);
    qsort(s, r->n, sizeof *s, cmp_u64);
    return s;
}

/* Per K-Means cluster of r, up to SHOWN of its changed drawings in a row headed "<who> cluster c: x of size <what>". */
static int changed_picture(const dd_model *m, const dd_dataset *ds, const dd_cluster_report *r, const uint8_t *changed,
                           const char *who, const char *what, const char *title, const char *path, dd_error *err) {
    int rows = 0;
    for (int c = 0; c < r->k; c++) rows += r->kmeans[c].size > 0;
    uint64_t *rec = dd_malloc((size_t)r->k * SHOWN + 1, sizeof *rec, err);
    size_t *which = dd_malloc((size_t)r->k * SHOWN + 1, sizeof *which, err);
    dd_image_set s = {0};
    dd_picture *p = NULL;
    uint8_t *rgb = NULL;
    int rc = -1;
    if (!rec || !which) goto done;
    size_t n = 0;
    for (int c = 0; c < r->k; c++) {
        int taken = 0;
        for (size_t i = 0; i < r->n && taken < SHOWN; i++)
            if (r->kmeans_label[i] == c && changed[i]) {
                which[n] = i;
                rec[n++] = r->index[i];
                taken++;
            }
    }
    if (dd_image_set_load(m, ds, rec, n, &s, err)) goto done;
    const int H = s.height, W = s.width;
    dd_picture_opts o = {.rows = rows > 0 ? rows : 1,
                         .cols = SHOWN,
                         .tile_height = H,
                         .tile_width = W,
                         .scale = explain_tile_scale(H, W) + 1,
                         .label_height = 14,
                         .header_width = 240,
                         .title = title};
    if (!(p = dd_picture_new(&o, err)) || !(rgb = dd_malloc((size_t)H * W, 3, err))) goto done;
    size_t at = 0;
    int row = 0;
    for (int c = 0; c < r->k; c++) {
        int count = 0;
        for (size_t i = 0; i < r->n; i++) count += r->kmeans_label[i] == c && changed[i];
        char header[96], label[160];
        snprintf(header, sizeof header, "%s cluster %d: %d of %d %s", who, c, count, r->kmeans[c].size, what);
        if (dd_picture_row_header(p, row, header, err)) goto done;
        for (int k = 0; at < n && r->kmeans_label[which[at]] == c; k++, at++) {
            size_t i = which[at];
            dd_tile_ink(s.pixels + at * (size_t)H * W, H, W, rgb);
            snprintf(label, sizeof label, "%s\u2192%s", m->class_names[r->true_class[i]],
                     m->class_names[r->predicted[i]]);
            if (dd_picture_put(p, row, k, rgb, label, err)) goto done;
        }
        row++;
    }
    rc = dd_picture_write_png(p, path, err);
done:
    free(rec);
    free(which);
    free(rgb);
    dd_picture_free(p);
    dd_image_set_free(&s);
    return rc;
}

static int write_compare_csv(const char *path, const dd_model *a, const dd_model *b, const dd_cluster_report *ra,
                             const dd_cluster_report *rb, const dd_cluster_compare *cmp, dd_error *err) {
    dd_atomic_file f;
    if (dd_atomic_open(&f, path, err)) return -1;
    fprintf(f.f, "model,method,cluster,size,change,changed,share,top_true,top_predicted\n");
    for (int side = 0; side < 2; side++) {
        const dd_cluster_report *r = side ? rb : ra;
        const dd_model *m = side ? b : a;
        for (int c = 0; c < r->k; c++) {
            const dd_cluster_info *ci = &r->kmeans[c];
            int changed = side ? cmp->added[c] : cmp->removed[c];
            fprintf(f.f, "%s,kmeans,%d,%d,%s,%d,%.4f,%s,%s\n", side ? "b" : "a", c, ci->size, side ? "new" : "removed",
                    changed, ci->size ? (double)changed / ci->size : 0.0,
                    ci->n_pairs ? m->class_names[ci->pairs[0].true_class] : "",
                    ci->n_pairs ? m->class_names[ci->pairs[0].predicted] : "");
        }
    }
    return dd_atomic_commit(&f, err);
}

int dd_explain_clusters_compare(const dd_model *a, const dd_model *b, const dd_dataset *ds, const dd_cluster_opts *o,
                                const char *out_dir, const dd_cluster_report *ra, dd_cluster_report *rb,
                                dd_cluster_compare *cmp, dd_error *err) {
    memset(cmp, 0, sizeof *cmp);
    memset(rb, 0, sizeof *rb);
    if (o->set != DD_CLUSTER_MISCLASSIFIED && o->set != DD_CLUSTER_VAL_MISCLASSIFIED)
        return dd_fail(err, DD_ERR_USAGE,
                       "--compare compares mistakes: use it with the misclassified or val-misclassified set");
    if (a->spec->classes != b->spec->classes)
        return dd_fail(err, DD_ERR_USAGE, "the two models have %d and %d classes: compare runs on the same classes",
                       a->spec->classes, b->spec->classes);
    for (int c = 0; c < a->spec->classes; c++)
        if (strcmp(a->class_names[c], b->class_names[c]))
            return dd_fail(err, DD_ERR_USAGE, "class %d is '%s' in the first model and '%s' in the second", c,
                           a->class_names[c], b->class_names[c]);
    char dir[4096], path[4096];
    if (explain_path(dir, sizeof dir, out_dir, "compare", err)) return -1;
    dd_cluster_opts ob = *o;
    ob.layer = -1; /* the second model's own default layer: the two may be built differently */
    if (dd_explain_clusters(b, ds, &ob, dir, rb, err)) return -1;
    uint64_t *sa = sorted_index(ra, err), *sb = sorted_index(rb, err);
    uint8_t *fixed = dd_malloc(ra->n + 1, 1, err), *fresh = dd_malloc(rb->n + 1, 1, err);
    int rc = -1;
    if (!sa || !sb || !fixed || !fresh || !(cmp->removed = dd_calloc((size_t)ra->k + 1, sizeof *cmp->removed, err)) ||
        !(cmp->added = dd_calloc((size_t)rb->k + 1, sizeof *cmp->added, err)))
        goto done;
    not_in(ra, sb, rb->n, fixed);
    not_in(rb, sa, ra->n, fresh);
    cmp->wrong_a = ra->n;
    cmp->wrong_b = rb->n;
    for (size_t i = 0; i < ra->n; i++) {
        cmp->fixed += fixed[i];
        if (ra->k) cmp->removed[ra->kmeans_label[i]] += fixed[i];
    }
    for (size_t i = 0; i < rb->n; i++) {
        cmp->broken += fresh[i];
        if (rb->k) cmp->added[rb->kmeans_label[i]] += fresh[i];
    }
    if (ra->n && explain_path(path, sizeof path, out_dir, "compare-removed.png", err)) goto done;
    if (ra->n && changed_picture(a, ds, ra, fixed, "A", "now right",
                                 "Mistakes of model A that model B gets right, by A's K-Means cluster", path, err))
        goto done;
    if (rb->n && explain_path(path, sizeof path, out_dir, "compare-new.png", err)) goto done;
    if (rb->n && changed_picture(b, ds, rb, fresh, "B", "new",
                                 "Mistakes of model B that model A got right, by B's K-Means cluster", path, err))
        goto done;
    rc = explain_path(path, sizeof path, out_dir, "compare.csv", err) || write_compare_csv(path, a, b, ra, rb, cmp, err)
             ? -1
             : 0;
done:
    free(sa);
    free(sb);
    free(fixed);
    free(fresh);
    if (rc) dd_cluster_compare_free(cmp);
    return rc;
}

void dd_cluster_compare_free(dd_cluster_compare *c) {
    if (!c) return;
    free(c->removed);
    free(c->added);
    memset(c, 0, sizeof *c);
}
