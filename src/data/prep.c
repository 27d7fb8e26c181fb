/* doodle prep: Quick, Draw! files -> .dset (see include/doodle/prep.h). Streams every file once, one drawing at a
 * time; what stays in memory per kept drawing is its label (the writer keeps its offset), so the whole 345-class
 * set can be prepared on a small machine. */
#include "doodle/prep.h"

#include <stdlib.h>
#include <string.h>

#include "doodle/quickdraw.h"
#include "doodle/render.h"
#include "doodle/rng.h"
#include "doodle/simplify.h"
#include "util/alloc.h"
#include "util/file_list.h"
#include "util/u64_set.h"

#define MAX_LOGGED_PER_FILE 10 /* bad records reported one by one per file; the rest are only counted */

typedef struct prep {
    const dd_prep_opts *o;
    const char *out_path;
    dd_prep_report *rep;
    bool fixed_classes; /* --classes given: no class is added while reading */
    dd_dataset_writer *w;
    dd_u64_set seen_keys;
    uint32_t *labels; /* [n_records] label of each kept record */
    uint64_t cap_labels;
    uint32_t last_label; /* cache: files hold one class, so the last match is almost always the next */
    dd_drawing drawing, simplified;
    uint32_t bitmap_h, bitmap_w; /* size of every bitmap in a bitmap set */
    uint64_t logged; /* bad records reported for the current file */
    uint64_t unlogged;
} prep;

static int find_class(const dd_prep_report *r, const char *name) {
    for (uint32_t c = 0; c < r->n_classes; c++)
        if (!strcmp(r->class_names[c], name)) return (int)c;
    return -1;
}

static int add_class(dd_prep_report *r, const char *name, dd_error *err) {
    if (r->n_classes >= DD_MAX_CLASSES) return dd_fail(err, DD_ERR_RANGE, "more than %d classes", DD_MAX_CLASSES);
    if (strlen(name) == 0 || strlen(name) >= DD_WORD_MAX)
        return dd_fail(err, DD_ERR_RANGE, "class name '%s' must have 1..%d bytes", name, DD_WORD_MAX - 1);
    uint32_t n = r->n_classes + 1;
    char(*names)[DD_WORD_MAX] = dd_realloc(r->class_names, n, sizeof *names, err);
    if (!names) return -1;
    r->class_names = names;
    /* stats keeps its extra last row (records of no class) after the class rows */
    dd_class_stats *stats = dd_realloc(r->stats, n + 1, sizeof *stats, err);
    if (!stats) return -1;
    r->stats = stats;
    r->stats[n] = r->stats[n - 1];
    memset(&r->stats[n - 1], 0, sizeof *r->stats);
    snprintf(r->class_names[n - 1], DD_WORD_MAX, "%s", name);
    r->n_classes = n;
    return (int)(n - 1);
}

/* Label of a class name: -1 when it is not selected (--classes), -2 on error. */
static int label_of(prep *p, const char *name, dd_error *err) {
    dd_prep_report *r = p->rep;
    if (p->last_label < r->n_classes && !strcmp(r->class_names[p->last_label], name)) return (int)p->last_label;
    int c = find_class(r, name);
    if (c < 0 && !p->fixed_classes && (c = add_class(r, name, err)) < 0) return -2;
    if (c >= 0) p->last_label = (uint32_t)c;
    return c;
}

static dd_skip_reason reason_of(dd_status code) {
    switch (code) {
    case DD_ERR_EMPTY: return DD_SKIP_EMPTY;
    case DD_ERR_MISMATCH: return DD_SKIP_MISMATCH;
    case DD_ERR_RANGE: return DD_SKIP_RANGE;
    case DD_ERR_TRUNCATED:
    case DD_ERR_IO: return DD_SKIP_TRUNCATED;
    default: return DD_SKIP_MALFORMED;
    }
}

/* Counts a skipped bad record against `label` (or the no-class row) and reports it; fails under --strict.
 * The caller has counted it as read. */
static int bad_record(prep *p, int label, const dd_error *rec_err, dd_error *err) {
    dd_class_stats *s = &p->rep->stats[label >= 0 ? (uint32_t)label : p->rep->n_classes];
    s->skipped[reason_of(rec_err->code)]++;
    if (p->o->strict) return dd_fail(err, rec_err->code, "%s (--strict: stopping)", rec_err->msg);
    if (p->o->log) {
        if (p->logged < MAX_LOGGED_PER_FILE) fprintf(p->o->log, "skipped: %s\n", rec_err->msg);
        else p->unlogged++;
    }
    p->logged++;
    return 0;
}

static int ensure_writer(prep *p, dd_dset_kind kind, uint32_t h, uint32_t w, dd_error *err) {
    if (p->w) return 0;
    p->rep->kind = kind;
    p->w = dd_dataset_writer_open(p->out_path, kind, h, w, err);
    return p->w ? 0 : -1;
}

static int push_label(prep *p, uint32_t label, dd_error *err) {
    if (p->rep->n_records == p->cap_labels) {
        uint64_t cap = p->cap_labels ? 2 * p->cap_labels : 4096;
        uint32_t *l = dd_realloc(p->labels, cap, sizeof *l, err);
        if (!l) return -1;
        p->labels = l;
        p->cap_labels = cap;
    }
    p->labels[p->rep->n_records++] = label;
    p->rep->stats[label].kept++;
    return 0;
}

static bool class_full(const prep *p, uint32_t label) {
    return p->o->per_class && p->rep->stats[label].kept >= p->o->per_class;
}

/* One stroke drawing that parsed (the record last returned by r): filter, de-duplicate, simplify, store. */
static int take_drawing(prep *p, uint32_t label, const dd_stroke_reader *r, dd_error *err) {
    dd_drawing *d = &p->drawing;
    dd_class_stats *s = &p->rep->stats[label];
    s->read++;
    if (p->o->recognized_only && d->recognized == 0) {
        s->skipped[DD_SKIP_NOT_RECOGNIZED]++;
        return 0;
    }
    if (class_full(p, label)) {
        s->skipped[DD_SKIP_OVER_LIMIT]++;
        return 0;
    }
    /* key_id 0: the file gave none (e.g. a user's own drawings), nothing to compare */
    if (d->key_id && dd_u64_set_contains(&p->seen_keys, d->key_id)) {
        s->skipped[DD_SKIP_DUPLICATE]++;
        return 0;
    }
    dd_error rec_err;
    const dd_drawing *keep = dd_simplified_view(d, &p->simplified, &rec_err);
    if (!keep) { /* e.g. a stroke too long to resample: a bad record, unless memory ran out */
        if (rec_err.code == DD_ERR_NOMEM) {
            *err = rec_err;
            return -1;
        }
        dd_stroke_reader_locate(r, &rec_err);
        return bad_record(p, (int)label, &rec_err, err);
    }
    for (uint32_t k = 0; k < keep->n_strokes; k++)
        if (keep->stroke_end[k] - dd_stroke_begin(keep, k) > DD_RENDER_MAX_STROKE_POINTS) { /* could not be drawn */
            s->skipped[DD_SKIP_TOO_LARGE]++;
            return 0;
        }
    if (ensure_writer(p, DD_DSET_STROKES, 0, 0, err)) return -1;
    if (dd_dataset_writer_add_strokes(p->w, label, DD_SPLIT_TRAIN, keep, &rec_err)) {
        if (rec_err.code != DD_ERR_RANGE) {
            *err = rec_err;
            return -1;
        }
        s->skipped[DD_SKIP_TOO_LARGE]++;
        return 0;
    }
    /* a key counts as seen once its drawing is stored: a later good copy may replace a bad one */
    if (d->key_id && dd_u64_set_add(&p->seen_keys, d->key_id, err) < 0) return -1;
    return push_label(p, label, err);
}

static int read_stroke_file(prep *p, const char *path, dd_error *err) {
    char file_class[DD_WORD_MAX];
    if (dd_class_from_path(path, file_class, err)) return -1;
    dd_stroke_reader *r = dd_stroke_reader_open(path, err);
    if (!r) return -1;
    int file_label = p->fixed_classes ? find_class(p->rep, file_class) : -1;
    bool single_class = true; /* every drawing so far was of file_label */
    bool first = true;
    int rc = 0;
    for (;;) {
        dd_error rec_err;
        dd_next next = dd_stroke_reader_next(r, &p->drawing, &rec_err);
        if (next == DD_NEXT_END) break;
        if (next == DD_NEXT_BAD || next == DD_NEXT_FATAL) {
            p->rep->stats[file_label >= 0 ? (uint32_t)file_label : p->rep->n_classes].read++;
            if ((rc = bad_record(p, file_label, &rec_err, err))) break;
            if (next == DD_NEXT_FATAL) break;
            continue;
        }
        const char *word = p->drawing.word[0] ? p->drawing.word : file_class;
        int label = label_of(p, word, err);
        if (label == -2) {
            rc = -1;
            break;
        }
        if (label < 0) { /* a class not asked for */
            if (first && file_label < 0) break; /* a whole file of another class: skip it */
            single_class = false;
            first = false;
            continue;
        }
        if (first && file_label < 0) file_label = label;
        if (label != file_label) single_class = false;
        first = false;
        if ((rc = take_drawing(p, (uint32_t)label, r, err))) break;
        /* Quick, Draw! files hold one class: once it is full, the rest of a (100k-drawing) file is not read */
        if (single_class && class_full(p, (uint32_t)label)) break;
    }
    dd_stroke_reader_close(r);
    return rc;
}

static int read_npy_file(prep *p, const char *path, dd_error *err) {
    char name[DD_WORD_MAX];
    if (dd_class_from_path(path, name, err)) return -1;
    int label = label_of(p, name, err);
    if (label == -2) return -1;
    if (label < 0) return 0; /* not among --classes */
    if (class_full(p, (uint32_t)label)) return 0;
    dd_bitmaps b;
    if (dd_npy_read(path, &b, err)) return -1;
    int rc = 0;
    if (p->w && (b.height != p->bitmap_h || b.width != p->bitmap_w)) { /* one size per set: the first file's */
        rc = dd_fail(err, DD_ERR_UNSUPPORTED, "%s: bitmaps are %ux%u but earlier files' are %ux%u", path, b.height,
                     b.width, p->bitmap_h, p->bitmap_w);
        goto done;
    }
    p->bitmap_h = b.height;
    p->bitmap_w = b.width;
    if ((rc = ensure_writer(p, DD_DSET_BITMAPS, b.height, b.width, err))) goto done;
    dd_class_stats *s = &p->rep->stats[label];
    for (uint64_t i = 0; i < b.count; i++) {
        if (class_full(p, (uint32_t)label)) break;
        s->read++;
        dd_error add_err;
        if (dd_dataset_writer_add_bitmap(p->w, (uint32_t)label, DD_SPLIT_TRAIN, i, dd_bitmap_at(&b, i), &add_err)) {
            *err = add_err;
            rc = -1;
            goto done;
        }
        if ((rc = push_label(p, (uint32_t)label, err))) goto done;
    }
done:
    dd_bitmaps_free(&b);
    return rc;
}

/* Shuffles each class's records with the seed and puts the first round(test_frac * n) in the test split.
 * Records are bucketed by class first (counting sort), so this is linear in the number of records. */
static int split(prep *p, dd_error *err) {
    dd_prep_report *r = p->rep;
    uint64_t *start = dd_calloc((size_t)r->n_classes + 1, sizeof *start, err);
    uint64_t *members = start ? dd_malloc(r->n_records, sizeof *members, err) : NULL;
    if (!members) {
        free(start);
        return -1;
    }
    for (uint64_t i = 0; i < r->n_records; i++) start[p->labels[i] + 1]++;
    for (uint32_t c = 0; c < r->n_classes; c++) start[c + 1] += start[c];
    for (uint64_t i = 0; i < r->n_records; i++) members[start[p->labels[i]]++] = i;
    /* start[c] is now the end of class c's bucket, i.e. the start of class c + 1's */
    dd_rng rng;
    dd_rng_seed(&rng, p->o->seed);
    int rc = 0;
    for (uint32_t c = 0; c < r->n_classes && rc == 0; c++) {
        uint64_t *m = members + (c ? start[c - 1] : 0), n = start[c] - (c ? start[c - 1] : 0);
        for (uint64_t i = n; i > 1; i--) { /* Fisher-Yates */
            uint64_t j = dd_rng_below(&rng, i);
            uint64_t t = m[i - 1];
            m[i - 1] = m[j];
            m[j] = t;
        }
        uint64_t n_test = (uint64_t)(p->o->test_frac * (double)n + 0.5);
        if (n_test > n) n_test = n;
        for (uint64_t i = 0; i < n_test && rc == 0; i++) rc = dd_dataset_writer_set_split(p->w, m[i], DD_SPLIT_TEST, err);
        r->stats[c].test = n_test;
        r->stats[c].train = n - n_test;
    }
    free(members);
    free(start);
    return rc;
}

static int check_kinds(const dd_file_list *files, dd_error *err) {
    size_t n_npy = 0;
    for (size_t i = 0; i < files->count; i++) {
        dd_format f = dd_format_from_path(files->paths[i]);
        if (f == DD_FORMAT_UNKNOWN)
            return dd_fail(err, DD_ERR_USAGE, "%s: unknown format (expected .ndjson, .bin or .npy, optionally .gz)",
                           files->paths[i]);
        n_npy += f == DD_FORMAT_NPY;
    }
    if (n_npy && n_npy != files->count)
        return dd_fail(err, DD_ERR_USAGE, "cannot mix .npy bitmaps and stroke files in one dataset");
    return 0;
}

int dd_prep_run(const dd_prep_opts *o, const char *out_path, dd_prep_report *rep, dd_error *err) {
    memset(rep, 0, sizeof *rep);
    prep p = {.o = o, .out_path = out_path, .rep = rep, .fixed_classes = o->classes && o->n_classes};
    dd_u64_set_init(&p.seen_keys);
    dd_drawing_init(&p.drawing);
    dd_drawing_init(&p.simplified);
    dd_file_list files = {0};
    int rc = -1;
    if (!(o->test_frac >= 0 && o->test_frac <= 1)) {
        dd_fail(err, DD_ERR_USAGE, "test fraction %g is not in 0..1", o->test_frac);
        goto done;
    }
    if (!(rep->stats = dd_calloc(1, sizeof *rep->stats, err))) goto done;
    for (size_t i = 0; p.fixed_classes && i < o->n_classes; i++) {
        if (find_class(rep, o->classes[i]) >= 0) {
            dd_fail(err, DD_ERR_USAGE, "class '%s' is listed twice", o->classes[i]);
            goto done;
        }
        if (add_class(rep, o->classes[i], err) < 0) goto done;
    }
    for (size_t i = 0; i < o->n_inputs; i++)
        if (dd_file_list_add(&files, o->inputs[i], err)) goto done;
    if (files.count == 0) {
        dd_fail(err, DD_ERR_USAGE, "no input files");
        goto done;
    }
    if (check_kinds(&files, err)) goto done;
    rep->n_files = files.count;
    for (size_t i = 0; i < files.count; i++) {
        p.logged = p.unlogged = 0;
        const char *path = files.paths[i];
        int r = dd_format_from_path(path) == DD_FORMAT_NPY ? read_npy_file(&p, path, err)
                                                           : read_stroke_file(&p, path, err);
        if (p.unlogged && o->log)
            fprintf(o->log, "skipped: %s: %llu more bad records not shown\n", path, (unsigned long long)p.unlogged);
        if (r) goto done;
    }
    for (uint32_t c = 0; c < rep->n_classes; c++)
        if (rep->stats[c].kept == 0 && p.fixed_classes && rep->stats[c].read == 0) {
            dd_fail(err, DD_ERR_USAGE, "class '%s' was asked for but no input has it", rep->class_names[c]);
            goto done;
        }
    if (rep->n_records == 0) {
        dd_fail(err, DD_ERR_MALFORMED, "no drawings kept: nothing to write");
        goto done;
    }
    if (split(&p, err)) goto done;
    const char **names = dd_malloc(rep->n_classes, sizeof *names, err);
    if (!names) goto done;
    for (uint32_t c = 0; c < rep->n_classes; c++) names[c] = rep->class_names[c];
    dd_dset_params params = {.seed = o->seed, .test_frac = o->test_frac, .per_class = o->per_class,
                             .recognized_only = o->recognized_only};
    rc = dd_dataset_writer_finish(p.w, rep->n_classes, names, rep->stats, &params, err);
    p.w = NULL;
    free(names);
done:
    dd_dataset_writer_abort(p.w);
    dd_file_list_free(&files);
    dd_u64_set_free(&p.seen_keys);
    dd_drawing_free(&p.drawing);
    dd_drawing_free(&p.simplified);
    free(p.labels);
    return rc;
}

void dd_prep_report_free(dd_prep_report *r) {
    free(r->class_names);
    free(r->stats);
    memset(r, 0, sizeof *r);
}
