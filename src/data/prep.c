/* doodle prep: Quick, Draw! files -> .dset (see include/doodle/prep.h). Reader threads inflate, parse, simplify
 * and encode whole files into chunks (prep_read.c, prep_pipe.c); this file is the one thread that takes the chunks
 * in input-file order and decides about every record exactly as a single thread reading the files one after the
 * other would: classes, limits, key_id de-duplication, statistics, the records written. So the output does not
 * depend on the number of threads. What stays in memory per kept drawing is its key_id (u64_set: 7-9 bytes); the
 * labels and offsets are read back from the records when the file is finished. */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include "doodle/prep.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "data/dset_layout.h"
#include "data/prep_internal.h"
#include "doodle/quickdraw.h"
#include "doodle/rng.h"
#include "doodle/alloc.h"
#include "doodle/cpus.h"
#include "util/le.h"
#include "util/u64_set.h"

#define MAX_LOGGED_PER_FILE 10 /* bad records reported one by one per file; the rest are only counted */

#define MAX_CHUNK_ITEMS 2048 /* records a chunk holds at most */
#define MAX_THREADS 64
#define KEY_PREFETCH_AHEAD 8 /* records */

typedef struct drop {
    uint32_t label;
    uint64_t rank;
} drop;

typedef struct prep {
    const dd_prep_opts *o;
    const char *out_path;
    dd_prep_report *rep;
    bool fixed_classes; /* --classes given: no class is added while reading */
    dd_dataset_writer *w;
    prep_sampler *sampler; /* --sample random */
    util_u64_set seen_keys;
    uint32_t last_label;         /* cache: files hold one class, so the last match is almost always the next */
    uint32_t bitmap_h, bitmap_w; /* size of every bitmap in a bitmap set */
    uint64_t logged;             /* bad records reported for the current file */
    /* the live progress line */
    const dd_file_list *files;
    double t0, shown;
    uint64_t bytes_total, bytes_done;
    bool progress_shown;
    uint64_t unlogged;
    /* the current file, as the one-thread reading loop saw it */
    const char *cur_path;
    int file_label;
    bool single_class, first, is_npy;
    char file_class[DD_WORD_MAX];
    /* the split, when finishing: per class, which of its records (in file order) go to test */
    uint8_t **test_bits;
    uint64_t *rank;
    /* --exclude: records are taken out as they reach the writer, after every other choice; each class's records
     * that reached it are counted (their rank in the class, which the split is made over), and the ranks of those
     * taken out kept, so that the split skips them and every other record's split stays as without --exclude */
    prep_exclude *exclude;
    uint64_t *reached;
    uint32_t reached_cap;
    drop *dropped;
    size_t n_dropped, cap_dropped;
    size_t *drop_at, *drop_end; /* per class: its part of dropped (sorted by class, then rank) still ahead */
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
        if (p->logged < MAX_LOGGED_PER_FILE)
            fprintf(p->o->log, "skipped: %s\n", rec_err->msg);
        else
            p->unlogged++;
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

static bool sampling(const prep *p) { return p->o->sample_random && p->o->per_class; }

static bool class_full(const prep *p, uint32_t label) {
    return p->o->per_class && !sampling(p) && p->rep->stats[label].kept >= p->o->per_class;
}

/* A record chosen for the set reaches the writer: stored, or taken out when --exclude lists it. */
static int store_record(void *ctx, const uint8_t *rec, size_t size, dd_error *err) {
    prep *p = ctx;
    if (!p->exclude) return data_dataset_writer_add_encoded(p->w, rec, size, err);
    uint32_t label = util_le16(rec + REC_OFF_LABEL);
    if (label >= p->reached_cap) {
        uint32_t cap = p->rep->n_classes > label ? p->rep->n_classes : label + 1;
        uint64_t *g = dd_realloc(p->reached, cap, sizeof *g, err);
        if (!g) return -1;
        memset(g + p->reached_cap, 0, (cap - p->reached_cap) * sizeof *g);
        p->reached = g;
        p->reached_cap = cap;
    }
    uint64_t rank = p->reached[label]++;
    if (!prep_exclude_hit(p->exclude, p->rep->class_names[label], util_le64(rec + REC_OFF_KEY_ID)))
        return data_dataset_writer_add_encoded(p->w, rec, size, err);
    if (p->n_dropped == p->cap_dropped) {
        size_t cap = p->cap_dropped ? 2 * p->cap_dropped : 64;
        drop *g = dd_realloc(p->dropped, cap, sizeof *g, err);
        if (!g) return -1;
        p->dropped = g;
        p->cap_dropped = cap;
    }
    p->dropped[p->n_dropped++] = (drop){label, rank};
    return 0;
}

/* Stores the record rec (its label set here) of class label, or offers it to the sample. */
static int keep_record(prep *p, uint32_t label, uint8_t *rec, size_t size, dd_error *err) {
    util_put16(rec + REC_OFF_LABEL, (uint16_t)label);
    if (sampling(p)) return prep_sampler_offer(p->sampler, label, rec, size, err);
    if (store_record(p, rec, size, err)) return -1;
    p->rep->n_records++;
    p->rep->stats[label].kept++;
    return 0;
}

/* One stroke drawing that parsed: filter, de-duplicate, store (the reader simplified and encoded it). */
static int take_drawing(prep *p, uint32_t label, const prep_item *it, uint8_t *payload, dd_error *err) {
    dd_class_stats *s = &p->rep->stats[label];
    s->read++;
    if (p->o->recognized_only && it->recognized == 0) {
        s->skipped[DD_SKIP_NOT_RECOGNIZED]++;
        return 0;
    }
    if (class_full(p, label)) {
        s->skipped[DD_SKIP_OVER_LIMIT]++;
        return 0;
    }
    /* key_id 0: the file gave none (e.g. a user's own drawings), nothing to compare */
    if (it->key_id && util_u64_set_contains(&p->seen_keys, it->key_id)) {
        s->skipped[DD_SKIP_DUPLICATE]++;
        return 0;
    }
    if (it->kind == PREP_FAIL_LATE) return dd_fail(err, (dd_status)it->code, "%s", (const char *)payload);
    if (it->kind == PREP_BAD_LATE) {
        dd_error rec_err;
        dd_fail(&rec_err, (dd_status)it->code, "%s", (const char *)payload);
        return bad_record(p, (int)label, &rec_err, err);
    }
    if (it->kind == PREP_TOO_LARGE) {
        s->skipped[DD_SKIP_TOO_LARGE]++;
        return 0;
    }
    if (ensure_writer(p, DD_DSET_STROKES, 0, 0, err)) return -1;
    if (keep_record(p, label, payload, it->size, err)) return -1;
    /* a key counts as seen once its drawing is stored: a later good copy may replace a bad one */
    if (it->key_id && util_u64_set_add(&p->seen_keys, it->key_id, err) < 0) return -1;
    return 0;
}

/* Before the first record of file i. Returns 1 when the whole file is to be skipped, -1 on error. */
static int start_file(prep *p, const char *path, dd_error *err) {
    p->logged = p->unlogged = 0;
    p->single_class = p->first = true;
    p->is_npy = dd_format_from_path(path) == DD_FORMAT_NPY;
    if (dd_class_from_path(path, p->file_class, err)) return -1;
    if (!p->is_npy) {
        p->file_label = p->fixed_classes ? find_class(p->rep, p->file_class) : -1;
        return 0;
    }
    int label = label_of(p, p->file_class, err);
    if (label == -2) return -1;
    p->file_label = label;
    return label < 0 || class_full(p, (uint32_t)label); /* not among --classes, or full: not even opened */
}

/* One record of a .npy file. Returns 1 when the class is full (the rest of the file is not read). */
static int take_bitmap(prep *p, const prep_item *it, uint8_t *payload, dd_error *err) {
    uint32_t label = (uint32_t)p->file_label;
    if (it->kind == PREP_NPY_SIZE) {
        uint32_t h, w;
        memcpy(&h, payload, 4);
        memcpy(&w, payload + 4, 4);
        if (p->w && (h != p->bitmap_h || w != p->bitmap_w)) /* one size per set: the first file's */
            return dd_fail(err, DD_ERR_UNSUPPORTED, "%s: bitmaps are %ux%u but earlier files' are %ux%u", p->cur_path,
                           h, w, p->bitmap_h, p->bitmap_w);
        p->bitmap_h = h;
        p->bitmap_w = w;
        return ensure_writer(p, DD_DSET_BITMAPS, h, w, err);
    }
    if (class_full(p, label)) return 1;
    p->rep->stats[label].read++;
    return keep_record(p, label, payload, it->size, err);
}

/* The items of one chunk of the current file, in order. Returns 1 when the rest of the file is not wanted. */
static int take_chunk(prep *p, const prep_chunk *c, dd_error *err) {
    int word_label[PREP_CHUNK_WORDS];
    for (int k = 0; k < PREP_CHUNK_WORDS; k++) word_label[k] = -3; /* not looked up yet */
    uint8_t *payload = c->data;
    for (uint32_t i = 0; i < c->n_items; payload += c->items[i].size, i++) {
        const prep_item *it = &c->items[i];
        /* the key_id set misses the cache at nearly every lookup: ask for a key's table 16 records ahead, and for
         * its slot 8 ahead */
        if (!p->is_npy) {
            if (i + 2 * KEY_PREFETCH_AHEAD < c->n_items && c->items[i + 2 * KEY_PREFETCH_AHEAD].key_id)
                util_u64_set_prefetch_table(&p->seen_keys, c->items[i + 2 * KEY_PREFETCH_AHEAD].key_id);
            if (i + KEY_PREFETCH_AHEAD < c->n_items && c->items[i + KEY_PREFETCH_AHEAD].key_id)
                util_u64_set_prefetch(&p->seen_keys, c->items[i + KEY_PREFETCH_AHEAD].key_id);
        }
        if (it->kind == PREP_ABORT)
            return dd_fail(err, (dd_status)it->code, "%s", it->size ? (const char *)payload : "out of memory");
        if (p->is_npy) {
            int r = take_bitmap(p, it, payload, err);
            if (r) return r;
            continue;
        }
        if (it->kind == PREP_BAD || it->kind == PREP_FATAL) {
            p->rep->stats[p->file_label >= 0 ? (uint32_t)p->file_label : p->rep->n_classes].read++;
            dd_error rec_err;
            dd_fail(&rec_err, (dd_status)it->code, "%s", (const char *)payload);
            if (bad_record(p, p->file_label, &rec_err, err)) return -1;
            if (it->kind == PREP_FATAL) return 1;
            continue;
        }
        if (word_label[it->word] == -3) word_label[it->word] = label_of(p, c->words[it->word], err);
        int label = word_label[it->word];
        if (label == -2) return -1;
        if (label < 0) {                                 /* a class not asked for */
            if (p->first && p->file_label < 0) return 1; /* a whole file of another class: skip it */
            p->single_class = false;
            p->first = false;
            continue;
        }
        if (p->first && p->file_label < 0) p->file_label = label;
        if (label != p->file_label) p->single_class = false;
        p->first = false;
        if (take_drawing(p, (uint32_t)label, it, payload, err)) return -1;
        /* Quick, Draw! files hold one class: once it is full, the rest of a (100k-drawing) file is not read */
        if (p->single_class && class_full(p, (uint32_t)label)) return 1;
    }
    return 0;
}

static double seconds_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* The live line on a terminal: the time left is judged by the bytes of the files done (compressed or not, the
 * files of one set are alike), shown from the first second on, at most five times a second. */
static void progress_start(prep *p, const dd_file_list *files) {
    p->t0 = p->shown = seconds_now();
    p->bytes_total = p->bytes_done = 0;
    for (size_t i = 0; p->o->progress && i < files->count; i++) {
        struct stat st;
        if (stat(files->paths[i], &st) == 0) p->bytes_total += (uint64_t)st.st_size;
    }
    p->files = files;
}

static void progress_file_done(prep *p, size_t i, size_t n) {
    if (!p->o->progress) return;
    struct stat st;
    if (stat(p->files->paths[i], &st) == 0) p->bytes_done += (uint64_t)st.st_size;
    double t = seconds_now(), elapsed = t - p->t0;
    if (elapsed < 1 || (t - p->shown < 0.2 && i + 1 < n)) return;
    p->shown = t;
    uint64_t read = 0;
    for (uint32_t c = 0; c <= p->rep->n_classes; c++) read += p->rep->stats[c].read;
    double left = p->bytes_done ? elapsed * (double)(p->bytes_total - p->bytes_done) / (double)p->bytes_done : 0;
    fprintf(p->o->progress, "\rprep: %zu/%zu files, %.2f M drawings read, %.0f drawings/s, %.0f s left\033[K", i + 1, n,
            (double)read / 1e6, (double)read / elapsed, left);
    fflush(p->o->progress);
    p->progress_shown = true;
}

static void progress_end(prep *p) {
    if (p->o->progress && p->progress_shown) fputs("\n", p->o->progress);
}

/* Every chunk of file i, in order; the reader is told to stop as soon as the rest is not wanted. */
static int read_file(prep *p, prep_pipe *pipe, size_t i, const char *path, dd_error *err) {
    p->cur_path = path;
    int r = start_file(p, path, err);
    if (r < 0) return -1;
    bool skip = r == 1;
    if (skip) prep_pipe_stop_file(pipe, i);
    for (;;) {
        prep_chunk *c = prep_pipe_next(pipe, i, err);
        if (!c) return -1;
        bool last = c->last;
        if (!skip) {
            r = take_chunk(p, c, err);
            if (r < 0) {
                prep_pipe_release(pipe, c);
                return -1;
            }
            if (r == 1) {
                skip = true;
                prep_pipe_stop_file(pipe, i);
            }
        }
        prep_pipe_release(pipe, c);
        if (last) break;
    }
    if (p->unlogged && p->o->log)
        fprintf(p->o->log, "skipped: %s: %llu more bad records not shown\n", path, (unsigned long long)p->unlogged);
    return 0;
}

/* Shuffles each class's records with the seed and puts the first round(test_frac * n) in the test split, as a
 * bit per record of the class (its rank among the class's records in file order). The shuffle of ranks is the
 * same Fisher-Yates, with the same generator calls, as a shuffle of the records themselves. */
static int split(prep *p, dd_error *err) {
    dd_prep_report *r = p->rep;
    if (!(p->test_bits = dd_calloc(r->n_classes, sizeof *p->test_bits, err))) return -1;
    if (!(p->rank = dd_calloc(r->n_classes, sizeof *p->rank, err))) return -1;
    uint64_t max_n = 0;
    for (uint32_t c = 0; c < r->n_classes; c++)
        if (r->stats[c].kept > max_n) max_n = r->stats[c].kept;
    uint64_t *m = dd_malloc(max_n ? max_n : 1, sizeof *m, err);
    if (!m) return -1;
    dd_rng rng;
    dd_rng_seed(&rng, p->o->seed);
    int rc = 0;
    for (uint32_t c = 0; c < r->n_classes && rc == 0; c++) {
        uint64_t n = r->stats[c].kept;
        for (uint64_t i = 0; i < n; i++) m[i] = i;
        for (uint64_t i = n; i > 1; i--) { /* Fisher-Yates */
            uint64_t j = dd_rng_below(&rng, i);
            uint64_t t = m[i - 1];
            m[i - 1] = m[j];
            m[j] = t;
        }
        uint64_t n_test = (uint64_t)(p->o->test_frac * (double)n + 0.5);
        if (n_test > n) n_test = n;
        if (!(p->test_bits[c] = dd_calloc(n / 8 + 1, 1, err))) rc = -1;
        for (uint64_t i = 0; i < n_test && rc == 0; i++) p->test_bits[c][m[i] / 8] |= (uint8_t)(1u << (m[i] % 8));
        r->stats[c].test = n_test;
        r->stats[c].train = n - n_test;
    }
    free(m);
    return rc;
}

static dd_split split_of(void *ctx, uint32_t label) {
    prep *p = ctx;
    uint64_t k = p->rank[label]++;
    while (p->drop_at && p->drop_at[label] < p->drop_end[label] && p->dropped[p->drop_at[label]].rank == k) {
        p->drop_at[label]++; /* taken out: its place in the split goes unused */
        k = p->rank[label]++;
    }
    return (p->test_bits[label][k / 8] >> (k % 8)) & 1 ? DD_SPLIT_TEST : DD_SPLIT_TRAIN;
}

static int cmp_drop(const void *a, const void *b) {
    const drop *x = a, *y = b;
    if (x->label != y->label) return x->label < y->label ? -1 : 1;
    return (x->rank > y->rank) - (x->rank < y->rank);
}

/* After the split: the records taken out leave the counts (kept, and train or test as the split put them). */
static int apply_exclusion(prep *p, dd_error *err) {
    dd_prep_report *r = p->rep;
    if (!(r->excluded = dd_calloc(r->n_classes + 1, sizeof *r->excluded, err))) return -1;
    r->exclude_listed = prep_exclude_listed(p->exclude);
    r->exclude_unseen = prep_exclude_unseen(p->exclude);
    if (!(p->drop_at = dd_calloc(r->n_classes, sizeof *p->drop_at, err)) ||
        !(p->drop_end = dd_calloc(r->n_classes, sizeof *p->drop_end, err)))
        return -1;
    qsort(p->dropped, p->n_dropped, sizeof *p->dropped, cmp_drop);
    for (size_t i = p->n_dropped; i-- > 0;) p->drop_at[p->dropped[i].label] = i;
    for (size_t i = 0; i < p->n_dropped; i++) {
        const drop *d = &p->dropped[i];
        dd_class_stats *s = &r->stats[d->label];
        p->drop_end[d->label] = i + 1;
        bool test = (p->test_bits[d->label][d->rank / 8] >> (d->rank % 8)) & 1;
        s->kept--;
        if (test)
            s->test--;
        else
            s->train--;
        r->excluded[d->label]++;
        r->excluded_total++;
        r->n_records--;
    }
    if (r->n_records == 0)
        return dd_fail(err, DD_ERR_MALFORMED, "every drawing kept is listed by --exclude: nothing to write");
    return 0;
}

/* --sample random: the sample's counts (the candidates not chosen are over the limit). */
static void count_sample(prep *p) {
    dd_prep_report *r = p->rep;
    for (uint32_t c = 0; c < r->n_classes; c++) {
        uint64_t offered = prep_sampler_offered(p->sampler, c);
        uint64_t kept = offered < p->o->per_class ? offered : p->o->per_class;
        r->stats[c].kept = kept;
        r->stats[c].skipped[DD_SKIP_OVER_LIMIT] += offered - kept;
        r->n_records += kept;
    }
}

/* Records a chunk holds: with --per-class N (first N) about N, so a full class stops its reader early. */
static uint32_t chunk_items(const dd_prep_opts *o) {
    if (!o->per_class || o->sample_random || o->per_class >= MAX_CHUNK_ITEMS) return MAX_CHUNK_ITEMS;
    return o->per_class < 32 ? 32 : (uint32_t)o->per_class;
}

static int check_kinds(const dd_file_list *files, dd_error *err) {
    size_t n_npy = 0;
    for (size_t i = 0; i < files->count; i++) {
        dd_format f = dd_format_from_path(files->paths[i]);
        if (f == DD_FORMAT_UNKNOWN)
            return dd_fail(err, DD_ERR_USAGE,
                           "%s: unknown format (expected .ndjson, .bin, .npy or Kaggle .csv, optionally .gz)",
                           files->paths[i]);
        n_npy += f == DD_FORMAT_NPY;
    }
    if (n_npy && n_npy != files->count)
        return dd_fail(err, DD_ERR_USAGE, "cannot mix .npy bitmaps and stroke files in one dataset");
    return 0;
}

/* Every input file costs about 1.3 MB of read and inflate buffers (zlib's and the reader's), freed when it is
 * closed. glibc gives such blocks back to the kernel (munmap, or trimming the heap's top) and the next file takes
 * them again page by page: 84,000 page faults over 345 small files, 45% of prep's CPU time on this project's VM.
 * Keeping them in the heap costs a few MB of resident memory. */
static void keep_freed_buffers(void) {
#ifdef __GLIBC__
    mallopt(M_MMAP_THRESHOLD, 4 << 20);
    mallopt(M_TRIM_THRESHOLD, 64 << 20);
#endif
}

int dd_prep_run(const dd_prep_opts *o, const char *out_path, dd_prep_report *rep, dd_error *err) {
    memset(rep, 0, sizeof *rep);
    keep_freed_buffers();
    prep p = {.o = o, .out_path = out_path, .rep = rep, .fixed_classes = o->classes && o->n_classes};
    util_u64_set_init(&p.seen_keys);
    dd_file_list files = {0};
    prep_pipe *pipe = NULL;
    int rc = -1;
    if (!(o->test_frac >= 0 && o->test_frac <= 1)) {
        dd_fail(err, DD_ERR_USAGE, "test fraction %g is not in 0..1", o->test_frac);
        goto done;
    }
    if (o->sample_random && !o->per_class) {
        dd_fail(err, DD_ERR_USAGE, "a random sample needs a number per class");
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
    if (o->n_exclude) {
        if (!(p.exclude = prep_exclude_load(o->exclude, o->n_exclude, err))) goto done;
        const char *where = prep_exclude_classless(p.exclude);
        if (where && dd_format_from_path(files.paths[0]) == DD_FORMAT_NPY) {
            dd_fail(err, DD_ERR_USAGE,
                    "--exclude %s: a key_id without its class; in a set of .npy bitmaps the key_id "
                    "is the row number in its class's file, the same in every class, so give the class too (a "
                    "column true, label, class or word)",
                    where);
            goto done;
        }
    }
    rep->n_files = files.count;
    if (sampling(&p) && !(p.sampler = prep_sampler_new(out_path, o->per_class, o->seed, err))) goto done;
    int threads = o->threads ? o->threads : dd_cpu_count(MAX_THREADS);
    if (threads > MAX_THREADS) threads = MAX_THREADS;
    if ((size_t)threads > files.count) threads = (int)files.count;
    prep_read_cfg cfg = {
        .o = o, .paths = (const char *const *)files.paths, .n_files = files.count, .chunk_items = chunk_items(o)};
    /* one thread: the files are read on this thread, between the decisions (no thread is started) */
    if (!(pipe = prep_pipe_start(&cfg, threads > 1 ? threads : 0, err))) goto done;
    progress_start(&p, &files);
    for (size_t i = 0; i < files.count; i++) {
        if (read_file(&p, pipe, i, files.paths[i], err)) goto done;
        progress_file_done(&p, i, files.count);
    }
    progress_end(&p);
    prep_pipe_close(pipe);
    pipe = NULL;
    util_u64_set_free(&p.seen_keys); /* not needed any more: its memory goes before the split's */
    if (p.sampler) count_sample(&p);
    for (uint32_t c = 0; c < rep->n_classes; c++)
        if (rep->stats[c].kept == 0 && p.fixed_classes && rep->stats[c].read == 0) {
            dd_fail(err, DD_ERR_USAGE, "class '%s' was asked for but no input has it", rep->class_names[c]);
            goto done;
        }
    if (rep->n_records == 0) {
        dd_fail(err, DD_ERR_MALFORMED, "no drawings kept: nothing to write");
        goto done;
    }
    if (p.sampler && prep_sampler_write(p.sampler, store_record, &p, err)) goto done;
    prep_sampler_free(p.sampler);
    p.sampler = NULL;
    if (split(&p, err)) goto done;
    if (p.exclude && apply_exclusion(&p, err)) goto done;
    const char **names = dd_malloc(rep->n_classes, sizeof *names, err);
    if (!names) goto done;
    for (uint32_t c = 0; c < rep->n_classes; c++) names[c] = rep->class_names[c];
    dd_dset_params params = {.seed = o->seed,
                             .test_frac = o->test_frac,
                             .per_class = o->per_class,
                             .recognized_only = o->recognized_only,
                             .val_frac = o->val_frac};
    rc = data_dataset_writer_finish_splits(p.w, rep->n_classes, names, rep->stats, &params, split_of, &p, err);
    p.w = NULL;
    free(names);
done:
    prep_pipe_close(pipe); /* joins the readers on every path */
    dd_dataset_writer_abort(p.w);
    prep_sampler_free(p.sampler);
    dd_file_list_free(&files);
    util_u64_set_free(&p.seen_keys);
    for (uint32_t c = 0; p.test_bits && c < rep->n_classes; c++) free(p.test_bits[c]);
    free(p.test_bits);
    free(p.rank);
    prep_exclude_free(p.exclude);
    free(p.reached);
    free(p.dropped);
    free(p.drop_at);
    free(p.drop_end);
    return rc;
}

void dd_prep_report_free(dd_prep_report *r) {
    free(r->excluded);
    free(r->class_names);
    free(r->stats);
    memset(r, 0, sizeof *r);
}
