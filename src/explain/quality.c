/* Data quality (include/doodle/explain.h): labels the model confidently contradicts, drawings Google did not
 * recognise, exact and near duplicates — as CSV tables and pictures. The split is streamed a chunk at a time and
 * each drawing reduced to a row (its label, the model's answer, two probabilities, two hashes: about 40 bytes), so
 * a million drawings of 345 classes fit in bounded memory; pictures re-render only the drawings they show. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doodle/explain.h"
#include "doodle/metrics.h"
#include "explain/explain_util.h"
#include "explain/grouped_picture.h"
#include "explain/quality_internal.h"
#include "doodle/alloc.h"
#include "doodle/files.h"

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

/* The picture of items[n] (sorted by group): at most max_per_group drawings a group and max_groups groups. Only
 * the drawings shown are rendered; items[].image is rewritten to their place in that small set. */
static int grouped_picture(const dd_model *m, const dd_dataset *ds, const uint64_t *records, item *items, size_t n,
                           int max_per_group, int max_groups, const char *title,
                           void (*header)(size_t group, size_t count, void *ctx, char *buf, size_t size), void *ctx,
                           const char *path, dd_error *err) {
    size_t n_shown = 0;
    int groups = 0;
    for (size_t i = 0; i < n && groups < max_groups; groups++) {
        size_t j = i;
        while (j < n && items[j].group == items[i].group) j++;
        n_shown += j - i < (size_t)max_per_group ? j - i : (size_t)max_per_group;
        i = j;
    }
    uint64_t *shown = dd_malloc(n_shown ? n_shown : 1, sizeof *shown, err);
    if (!shown) return -1;
    size_t k = 0;
    groups = 0;
    for (size_t i = 0; i < n && groups < max_groups; groups++) {
        size_t j = i;
        while (j < n && items[j].group == items[i].group) j++;
        for (size_t q = i; q < j && q - i < (size_t)max_per_group; q++) {
            shown[k] = records[items[q].image];
            items[q].image = k++;
        }
        i = j;
    }
    dd_image_set s;
    int rc = dd_image_set_load(m, ds, shown, n_shown, &s, err);
    free(shown);
    if (rc) return -1;
    explain_grouped_opts o = {.max_per_group = max_per_group,
                              .max_groups = max_groups,
                              .extra_scale = 1,
                              .header_width = 170,
                              .title = title,
                              .header = header,
                              .ctx = ctx};
    rc = explain_grouped_picture(&s, items, n, &o, path, err) < 0 ? -1 : 0;
    dd_image_set_free(&s);
    return rc;
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

/* ---- the whole check ---- */

static const char *split_name(dd_split s) { return s == DD_SPLIT_TEST ? "test" : "train"; }

static int argmax(const float *p, int n) {
    int best = 0;
    for (int c = 1; c < n; c++)
        if (p[c] > p[best]) best = c;
    return best;
}

/* What the report needs of each drawing, kept instead of its pixels and probabilities. */
typedef struct drawing_row {
    float p_pred, p_label; /* the model's probability of its answer and of the label */
    int32_t pred, label;   /* the model's answer, the label (model class indices) */
    int8_t recognized;     /* Google's flag: 1, 0, -1 unknown */
} drawing_row;

typedef struct scan_ctx {
    const dd_model *m;
    const dd_dataset *ds;
    const uint64_t *records;
    drawing_row *rows;
    uint64_t *pixel_hash, *ahash;
    float *probs; /* [QUALITY_CHUNK * classes] */
} scan_ctx;

/* One chunk of the split: the model's probabilities and the hashes, reduced to a row a drawing. */
static int scan_chunk(void *ctx, const dd_image_set *chunk, size_t first, dd_error *err) {
    scan_ctx *c = ctx;
    const int classes = c->m->spec->classes;
    const size_t pixels = (size_t)chunk->height * (size_t)chunk->width;
    if (dd_explain_probabilities(c->m, chunk, c->probs, err)) return -1;
    for (size_t k = 0; k < chunk->n; k++) {
        size_t i = first + k;
        const float *p = c->probs + k * (size_t)classes;
        const uint8_t *img = chunk->pixels + k * pixels;
        dd_record_info info;
        if (dd_dataset_record_info(c->ds, c->records[i], &info))
            return dd_fail(err, DD_ERR_MALFORMED, "record %llu cannot be read", (unsigned long long)c->records[i]);
        int pred = argmax(p, classes), label = chunk->label[k];
        c->rows[i] = (drawing_row){
            .p_pred = p[pred], .p_label = p[label], .pred = pred, .label = label, .recognized = info.recognized};
        c->pixel_hash[i] = quality_pixel_hash(img, pixels);
        c->ahash[i] = quality_average_hash(img, chunk->height, chunk->width);
    }
    return 0;
}

/* The CSV of listed drawings with the model's answer: index,key_id,split,label,predicted,p_predicted[,p_label]. */
static int write_prediction_rows(FILE *f, const dd_model *m, const dd_dataset *ds, const uint64_t *records,
                                 const drawing_row *rows, const item *items, size_t k, bool p_label, dd_error *err) {
    fprintf(f, "index,key_id,split,label,predicted,p_predicted%s\n", p_label ? ",p_label" : "");
    for (size_t j = 0; j < k; j++) {
        size_t i = items[j].image;
        const drawing_row *row = &rows[i];
        dd_record_info info;
        if (dd_dataset_record_info(ds, records[i], &info))
            return dd_fail(err, DD_ERR_MALFORMED, "record %llu cannot be read", (unsigned long long)records[i]);
        fprintf(f, "%llu,%llu,%s,", (unsigned long long)records[i], (unsigned long long)info.key_id,
                split_name(info.split));
        dd_csv_field(f, m->class_names[row->label]);
        fputc(',', f);
        dd_csv_field(f, m->class_names[row->pred]);
        fprintf(f, ",%.6f", row->p_pred);
        if (p_label) fprintf(f, ",%.6f", row->p_label);
        fputc('\n', f);
    }
    return 0;
}

/* The listed drawings as items (grouped by label, largest key first): contradicted or not recognized. */
static item *list_items(const dd_model *m, const drawing_row *rows, size_t n, double threshold, bool contradicted,
                        size_t *k, dd_error *err) {
    *k = 0;
    for (int pass = 0; pass < 2; pass++) {
        item *items = NULL;
        if (pass && !(items = dd_malloc(*k ? *k : 1, sizeof *items, err))) return NULL;
        size_t k2 = 0;
        for (size_t i = 0; i < n; i++) {
            const drawing_row *row = &rows[i];
            bool listed = contradicted ? row->pred != row->label && row->p_pred >= threshold : row->recognized == 0;
            if (!listed) continue;
            if (pass) {
                items[k2] =
                    (item){.image = i, .group = (size_t)row->label, .key = contradicted ? row->p_pred : row->p_label};
                snprintf(items[k2].label, sizeof items[k2].label, "%s %.2f", m->class_names[row->pred], row->p_pred);
            }
            k2++;
        }
        if (pass) {
            qsort(items, k2, sizeof *items, by_group_then_key);
            return items;
        }
        *k = k2;
    }
    return NULL;
}

/* contradicted.csv / not-recognized.csv and their pictures. */
static int write_listed(const dd_model *m, const dd_dataset *ds, const uint64_t *records, const drawing_row *rows,
                        size_t n, const dd_quality_opts *o, bool contradicted, const char *out_dir,
                        dd_quality_report *r, dd_error *err) {
    size_t k;
    item *items = list_items(m, rows, n, o->threshold, contradicted, &k, err);
    if (!items) return -1;
    const char *name = contradicted ? "contradicted" : "not-recognized";
    char path[4096], file[32], title[200];
    dd_atomic_file a = {0};
    int rc = -1;
    snprintf(file, sizeof file, "%s.csv", name);
    if (explain_path(path, sizeof path, out_dir, file, err) || dd_atomic_open(&a, path, err) ||
        write_prediction_rows(a.f, m, ds, records, rows, items, k, contradicted, err) || dd_atomic_commit(&a, err))
        goto done;
    if (contradicted)
        r->contradicted = k;
    else
        r->not_recognized = k;
    if (k) {
        if (contradicted)
            snprintf(title, sizeof title,
                     "Labels the model contradicts with p >= %.2f: %zu of %zu drawings (under "
                     "each: the model's class)",
                     o->threshold, k, n);
        else
            snprintf(title, sizeof title,
                     "Not recognized by Google's game: %zu of %zu drawings (under each: the "
                     "model's guess)",
                     k, n);
        class_ctx ctx = {m, "labelled"};
        snprintf(file, sizeof file, "%s.png", name);
        if (explain_path(path, sizeof path, out_dir, file, err) ||
            grouped_picture(m, ds, records, items, k, o->max_shown > 0 ? o->max_shown : 24, m->spec->classes, title,
                            class_header, &ctx, path, err))
            goto done;
        snprintf(contradicted ? r->contradicted_png : r->not_recognized_png, sizeof r->contradicted_png, "%s", file);
    }
    rc = 0;
done:
    dd_atomic_abort(&a);
    free(items);
    return rc;
}

/* duplicates.csv (exact groups, then near groups) and the two pictures. */
static int write_duplicates(const dd_model *m, const dd_dataset *ds, const uint64_t *records, const drawing_row *rows,
                            size_t n, const quality_dups *d, const dd_quality_opts *o, const char *out_dir,
                            dd_quality_report *r, dd_error *err) {
    char path[4096];
    dd_atomic_file a = {0};
    item *items = NULL;
    uint8_t *seen = NULL;
    int rc = -1;
    if (explain_path(path, sizeof path, out_dir, "duplicates.csv", err) || dd_atomic_open(&a, path, err)) goto done;
    fputs("kind,group,index,key_id,split,label\n", a.f);
    for (int kind = 0; kind < 2; kind++) {
        const size_t *group = kind ? d->near_group : d->exact_group;
        size_t n_groups = kind ? d->n_near : d->n_exact, k = 0;
        for (size_t i = 0; i < n; i++) k += group[i] != SIZE_MAX;
        free(items);
        free(seen);
        seen = dd_calloc(n_groups ? n_groups * 2 : 1, 1, err); /* [g*2 + split] */
        if (!seen || !(items = dd_malloc(k ? k : 1, sizeof *items, err))) goto done;
        k = 0;
        for (size_t i = 0; i < n; i++) {
            if (group[i] == SIZE_MAX) continue;
            dd_record_info info;
            if (dd_dataset_record_info(ds, records[i], &info)) {
                dd_fail(err, DD_ERR_MALFORMED, "record %llu cannot be read", (unsigned long long)records[i]);
                goto done;
            }
            seen[group[i] * 2 + (info.split == DD_SPLIT_TEST)] = 1;
            items[k] = (item){.image = i, .group = group[i], .key = 0};
            snprintf(items[k].label, sizeof items[k].label, "%s %s", m->class_names[rows[i].label],
                     split_name(info.split));
            k++;
        }
        size_t across = 0;
        for (size_t g = 0; g < n_groups; g++) across += seen[2 * g] && seen[2 * g + 1];
        qsort(items, k, sizeof *items, by_group_then_key);
        for (size_t j = 0; j < k; j++) {
            size_t i = items[j].image;
            dd_record_info info;
            dd_dataset_record_info(ds, records[i], &info); /* read once already above */
            fprintf(a.f, "%s,%zu,%llu,%llu,%s,", kind ? "near" : "exact", items[j].group + 1,
                    (unsigned long long)records[i], (unsigned long long)info.key_id, split_name(info.split));
            dd_csv_field(a.f, m->class_names[rows[i].label]);
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
            snprintf(title, sizeof title,
                     "%s duplicates: %zu groups, %zu drawings, %zu groups in both train and test%s",
                     kind ? "Near" : "Exact", n_groups, k, across, n_groups > 40 ? " (first 40 groups)" : "");
            const char *name = kind ? "duplicates-near.png" : "duplicates-exact.png";
            if (explain_path(path, sizeof path, out_dir, name, err) ||
                grouped_picture(m, ds, records, items, k, o->max_shown > 0 ? o->max_shown : 24, 40, title, dup_header,
                                kind ? "near" : "exact", path, err))
                goto done;
            snprintf(kind ? r->near_png : r->exact_png, sizeof r->near_png, "%s", name);
        }
    }
    if (dd_atomic_commit(&a, err)) goto done;
    rc = 0;
done:
    dd_atomic_abort(&a);
    free(items);
    free(seen);
    return rc;
}

int dd_explain_quality(const dd_model *m, const dd_dataset *ds, const dd_quality_opts *o, const char *out_dir,
                       dd_quality_report *r, dd_error *err) {
    memset(r, 0, sizeof *r);
    if (!(o->threshold > 0 && o->threshold <= 1))
        return dd_fail(err, DD_ERR_USAGE, "threshold %g is not in (0, 1]", o->threshold);
    uint64_t *records = NULL;
    size_t n = 0;
    scan_ctx c = {.m = m, .ds = ds};
    quality_dups d = {0};
    int rc = -1;
    if (dd_eval_check_input(m, ds, err) || dd_dataset_split_records(ds, o->split, &records, &n, err)) goto done;
    c.records = records;
    if (!(c.rows = dd_malloc(n ? n : 1, sizeof *c.rows, err)) ||
        !(c.pixel_hash = dd_malloc(n ? n : 1, sizeof *c.pixel_hash, err)) ||
        !(c.ahash = dd_malloc(n ? n : 1, sizeof *c.ahash, err)) ||
        !(c.probs = dd_malloc(QUALITY_CHUNK, (size_t)m->spec->classes * sizeof *c.probs, err)))
        goto done;
    if (quality_stream(m, ds, records, NULL, n, scan_chunk, &c, err)) goto done;
    free(c.probs);
    c.probs = NULL;
    r->n = n;
    for (size_t i = 0; i < n; i++) r->recognized_unknown += c.rows[i].recognized < 0;
    if (explain_make_dir(out_dir, err) || write_listed(m, ds, records, c.rows, n, o, true, out_dir, r, err) ||
        write_listed(m, ds, records, c.rows, n, o, false, out_dir, r, err) ||
        quality_find_duplicates(m, ds, records, n, c.pixel_hash, c.ahash, o->near_tolerance, &d, err) ||
        write_duplicates(m, ds, records, c.rows, n, &d, o, out_dir, r, err))
        goto done;
    rc = 0;
done:
    free(records);
    free(c.rows);
    free(c.pixel_hash);
    free(c.ahash);
    free(c.probs);
    quality_dups_free(&d);
    return rc;
}
