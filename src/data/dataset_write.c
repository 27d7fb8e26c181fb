/* Writing a .dset: records stream to a temporary file as prep reads them; classes, statistics and the index
 * follow at the end, the header is filled in last, and the file is renamed into place. Nothing is kept per record
 * while records are added (so memory does not grow with the set): finish walks the records once, through a
 * 16 MB window read and written back, to write the index and set the splits. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/dset_layout.h"
#include "data/prep_internal.h"
#include "doodle/dataset.h"
#include "doodle/alloc.h"
#include "doodle/files.h"
#include "util/le.h"

#define SPLIT_CHANGED 0x80             /* in changed[]: dd_dataset_writer_set_split gave this record a split */
#define WRITE_BUFFER ((size_t)1 << 20) /* stdio buffer of the file: records are written a hundred bytes at a time */
#define SCAN_WINDOW ((size_t)16 << 20) /* the part of the records read back at a time by finish */

struct dd_dataset_writer {
    dd_atomic_file file;
    dd_dset_kind kind;
    uint32_t height, width;
    uint64_t n_records;
    uint64_t records_size;
    uint8_t *changed; /* [cap_changed] splits set by dd_dataset_writer_set_split (allocated on its first call) */
    uint64_t cap_changed;
    uint8_t *scratch; /* one encoded record */
    size_t cap_scratch;
};

const char *dd_skip_reason_name(dd_skip_reason r) {
    static const char *const names[DD_SKIP_REASON_COUNT] = {
        [DD_SKIP_MALFORMED] = "malformed",         [DD_SKIP_EMPTY] = "empty",
        [DD_SKIP_MISMATCH] = "mismatch",           [DD_SKIP_RANGE] = "range",
        [DD_SKIP_TRUNCATED] = "truncated",         [DD_SKIP_DUPLICATE] = "duplicate",
        [DD_SKIP_NOT_RECOGNIZED] = "unrecognized", [DD_SKIP_OVER_LIMIT] = "over_limit",
        [DD_SKIP_TOO_LARGE] = "too_large",
    };
    return (unsigned)r < DD_SKIP_REASON_COUNT ? names[r] : "unknown";
}

dd_dataset_writer *dd_dataset_writer_open(const char *path, dd_dset_kind kind, uint32_t height, uint32_t width,
                                          dd_error *err) {
    if (kind == DD_DSET_BITMAPS && (height == 0 || width == 0 || height > 4096 || width > 4096)) {
        dd_fail(err, DD_ERR_USAGE, "%s: bitmap size %ux%u is out of range", path, height, width);
        return NULL;
    }
    dd_dataset_writer *w = dd_calloc(1, sizeof *w, err);
    if (!w) return NULL;
    w->kind = kind;
    w->height = kind == DD_DSET_BITMAPS ? height : 0;
    w->width = kind == DD_DSET_BITMAPS ? width : 0;
    if (dd_atomic_open(&w->file, path, err)) {
        free(w);
        return NULL;
    }
    setvbuf(w->file.f, NULL, _IOFBF, WRITE_BUFFER); /* before any write; failing leaves stdio's default */
    uint8_t header[DSET_HEADER_SIZE] = {0};         /* placeholder, rewritten by finish */
    if (fwrite(header, 1, sizeof header, w->file.f) != sizeof header) {
        dd_fail(err, DD_ERR_IO, "%s: write failed: %s", path, strerror(errno));
        dd_dataset_writer_abort(w);
        return NULL;
    }
    return w;
}

static int push_record(dd_dataset_writer *w, const uint8_t *rec, size_t size, dd_error *err) {
    if (fwrite(rec, 1, size, w->file.f) != size)
        return dd_fail(err, DD_ERR_IO, "%s: write failed: %s", w->file.path, strerror(errno));
    w->n_records++;
    w->records_size += size;
    return 0;
}

int data_dataset_writer_add_encoded(dd_dataset_writer *w, const uint8_t *rec, size_t size, dd_error *err) {
    size_t fixed = w->kind == DD_DSET_STROKES ? STROKE_REC_FIXED : BITMAP_REC_FIXED + (size_t)w->height * w->width;
    if (size < fixed || (w->kind == DD_DSET_BITMAPS && size != fixed))
        return dd_fail(err, DD_ERR_USAGE, "a record of %zu bytes does not fit this dataset", size);
    return push_record(w, rec, size, err);
}

static int scratch_reserve(dd_dataset_writer *w, size_t size, dd_error *err) {
    if (size <= w->cap_scratch) return 0;
    uint8_t *p = dd_realloc(w->scratch, size, 1, err);
    if (!p) return -1;
    w->scratch = p;
    w->cap_scratch = size;
    return 0;
}

static void put_fixed(uint8_t *p, uint32_t label, dd_split split, int8_t recognized, const char *country,
                      uint32_t timestamp, uint64_t key_id) {
    util_put16(p + REC_OFF_LABEL, (uint16_t)label);
    p[REC_OFF_SPLIT] = (uint8_t)split;
    p[REC_OFF_RECOGNIZED] = (uint8_t)recognized;
    p[REC_OFF_COUNTRY] = country && country[0] ? (uint8_t)country[0] : 0;
    p[REC_OFF_COUNTRY + 1] = country && country[0] ? (uint8_t)country[1] : 0;
    util_put32(p + REC_OFF_TIMESTAMP, timestamp);
    util_put64(p + REC_OFF_KEY_ID, key_id);
}

int data_dset_stroke_record_size(const dd_drawing *d, bool known_simplified, size_t *size_out, dd_error *err) {
    if (d->n_strokes == 0 || d->n_strokes > UINT16_MAX)
        return dd_fail(err, DD_ERR_RANGE, "%u strokes (a record holds 1..65535)", d->n_strokes);
    if (!known_simplified && !dd_drawing_is_simplified(d))
        return dd_fail(err, DD_ERR_RANGE, "coordinates are not integers in 0..255 (simplify first)");
    size_t size = STROKE_REC_FIXED;
    for (uint32_t s = 0; s < d->n_strokes; s++) {
        uint32_t n = d->stroke_end[s] - dd_stroke_begin(d, s);
        if (n == 0 || n > UINT16_MAX)
            return dd_fail(err, DD_ERR_RANGE, "stroke %u has %u points (a record holds 1..65535)", s + 1, n);
        size += 2 + 2 * (size_t)n;
    }
    *size_out = size;
    return 0;
}

static bool digits(const char *s, int n, int *v) {
    *v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return false;
        *v = *v * 10 + (s[i] - '0');
    }
    return true;
}

/* dd_timestamp_parse without sscanf and timegm for the one layout Google writes ("2017-03-02 23:25:10..."): the same
 * checks and the same seconds (timegm adds days and seconds past the end of a month linearly, as this does);
 * anything else goes to dd_timestamp_parse. A tenth of prep's time on one core went to sscanf. */
static int timestamp_parse(const char *t, int64_t *out) {
    int y, mo, d, h, mi, s;
    if (!(digits(t, 4, &y) && t[4] == '-' && digits(t + 5, 2, &mo) && t[7] == '-' && digits(t + 8, 2, &d) &&
          t[10] == ' ' && digits(t + 11, 2, &h) && t[13] == ':' && digits(t + 14, 2, &mi) && t[16] == ':' &&
          digits(t + 17, 2, &s) && (t[19] < '0' || t[19] > '9')))
        return dd_timestamp_parse(t, out);
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return -1;
    /* days from 1970-01-01 to y-mo-01 (Howard Hinnant's days_from_civil), then the rest linearly */
    int64_t yy = mo <= 2 ? y - 1 : y, era = yy / 400; /* y >= 0: no negative eras */
    int64_t yoe = yy - era * 400, doy = (153 * (mo > 2 ? mo - 3 : mo + 9) + 2) / 5,
            doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    int64_t days = era * 146097 + doe - 719468 + (d - 1);
    *out = days * 86400 + h * 3600 + mi * 60 + s;
    return 0;
}

void data_dset_put_strokes(uint8_t *out, uint32_t label, dd_split split, const dd_drawing *d) {
    int64_t ts = 0;
    uint32_t ts32 = 0;
    if (d->timestamp[0] && timestamp_parse(d->timestamp, &ts) == 0 && ts > 0 && ts <= UINT32_MAX) ts32 = (uint32_t)ts;
    put_fixed(out, label, split, d->recognized, d->countrycode, ts32, d->key_id);
    util_put16(out + REC_OFF_N_STROKES, (uint16_t)d->n_strokes);
    uint8_t *p = out + STROKE_REC_FIXED;
    for (uint32_t s = 0; s < d->n_strokes; s++) {
        uint32_t b = dd_stroke_begin(d, s), e = d->stroke_end[s];
        util_put16(p, (uint16_t)(e - b));
        p += 2;
        for (uint32_t i = b; i < e; i++) *p++ = (uint8_t)d->x[i];
        for (uint32_t i = b; i < e; i++) *p++ = (uint8_t)d->y[i];
    }
}

void data_dset_put_bitmap(uint8_t *out, uint32_t label, dd_split split, uint64_t key_id, const uint8_t *pixels,
                          size_t n_pixels) {
    put_fixed(out, label, split, -1, NULL, 0, key_id);
    memcpy(out + BITMAP_REC_FIXED, pixels, n_pixels);
}

int dd_dataset_writer_add_strokes(dd_dataset_writer *w, uint32_t label, dd_split split, const dd_drawing *d,
                                  dd_error *err) {
    if (w->kind != DD_DSET_STROKES) return dd_fail(err, DD_ERR_USAGE, "strokes added to a bitmap dataset");
    if (label > DD_MAX_CLASSES - 1) return dd_fail(err, DD_ERR_RANGE, "label %u out of range", label);
    size_t size;
    if (data_dset_stroke_record_size(d, false, &size, err) || scratch_reserve(w, size, err)) return -1;
    data_dset_put_strokes(w->scratch, label, split, d);
    return push_record(w, w->scratch, size, err);
}

int dd_dataset_writer_add_bitmap(dd_dataset_writer *w, uint32_t label, dd_split split, uint64_t key_id,
                                 const uint8_t *pixels, dd_error *err) {
    if (w->kind != DD_DSET_BITMAPS) return dd_fail(err, DD_ERR_USAGE, "bitmap added to a stroke dataset");
    if (label > DD_MAX_CLASSES - 1) return dd_fail(err, DD_ERR_RANGE, "label %u out of range", label);
    size_t size = BITMAP_REC_FIXED + (size_t)w->height * w->width;
    if (scratch_reserve(w, size, err)) return -1;
    data_dset_put_bitmap(w->scratch, label, split, key_id, pixels, (size_t)w->height * w->width);
    return push_record(w, w->scratch, size, err);
}

int dd_dataset_writer_set_split(dd_dataset_writer *w, uint64_t i, dd_split split, dd_error *err) {
    if (i >= w->n_records) return dd_fail(err, DD_ERR_USAGE, "record %llu does not exist", (unsigned long long)i);
    if (i >= w->cap_changed) {
        uint8_t *c = dd_realloc(w->changed, w->n_records, 1, err);
        if (!c) return -1;
        memset(c + w->cap_changed, 0, w->n_records - w->cap_changed);
        w->changed = c;
        w->cap_changed = w->n_records;
    }
    w->changed[i] = (uint8_t)split | SPLIT_CHANGED;
    return 0;
}

static int write_all(dd_dataset_writer *w, const void *p, size_t n, dd_error *err) {
    if (n && fwrite(p, 1, n, w->file.f) != n)
        return dd_fail(err, DD_ERR_IO, "%s: write failed: %s", w->file.path, strerror(errno));
    return 0;
}

static int pwrite_all(dd_dataset_writer *w, const void *p, size_t n, uint64_t offset, dd_error *err) {
    if (pwrite(fileno(w->file.f), p, n, (off_t)offset) != (ssize_t)n)
        return dd_fail(err, DD_ERR_IO, "%s: write failed: %s", w->file.path, strerror(errno));
    return 0;
}

/* A forward-only window over the records section, read from the file (written and flushed) and written back
 * when a split in it changed. pread/pwrite rather than a mapping: on a VM every first touch of a mapped page is a
 * fault costing microseconds, which at 10 M drawings (1.35 GB of records) was seconds of prep's serial end. */
typedef struct scan {
    int fd;
    uint64_t end; /* file offset where the records section ends */
    uint8_t *buf; /* [SCAN_WINDOW] */
    uint64_t buf_off, buf_len;
    bool dirty;
} scan;

static int scan_flush(scan *sc, const char *path, dd_error *err) {
    if (!sc->dirty) return 0;
    sc->dirty = false;
    if (pwrite(sc->fd, sc->buf, (size_t)sc->buf_len, (off_t)sc->buf_off) != (ssize_t)sc->buf_len)
        return dd_fail(err, DD_ERR_IO, "%s: write failed: %s", path, strerror(errno));
    return 0;
}

/* Pointer to the n bytes at file offset off (off only grows from call to call), or NULL with err set. */
static uint8_t *scan_at(scan *sc, uint64_t off, uint64_t n, const char *path, dd_error *err) {
    if (off + n > sc->end || n > SCAN_WINDOW) {
        dd_fail(err, DD_ERR_IO, "%s: a record runs past the records section (internal error)", path);
        return NULL;
    }
    if (sc->buf_len && off >= sc->buf_off && off + n <= sc->buf_off + sc->buf_len) return sc->buf + (off - sc->buf_off);
    if (scan_flush(sc, path, err)) return NULL;
    if (!sc->buf && !(sc->buf = dd_malloc(SCAN_WINDOW, 1, err))) return NULL;
    uint64_t len = sc->end - off < SCAN_WINDOW ? sc->end - off : SCAN_WINDOW;
    for (uint64_t done = 0; done < len;) {
        ssize_t got = pread(sc->fd, sc->buf + done, (size_t)(len - done), (off_t)(off + done));
        if (got <= 0) {
            dd_fail(err, DD_ERR_IO, "%s: cannot read the records back to finish the file: %s", path,
                    got < 0 ? strerror(errno) : "the file is shorter than written");
            return NULL;
        }
        done += (uint64_t)got;
    }
    sc->buf_off = off;
    sc->buf_len = len;
    return sc->buf;
}

/* Walks the records once: appends the index (buffered, after the statistics) and writes each record's split. */
static int index_and_splits(dd_dataset_writer *w, uint64_t records_offset, data_split_fn split_of, void *ctx,
                            dd_error *err) {
    scan sc = {.fd = fileno(w->file.f), .end = records_offset + w->records_size};
    uint64_t off = records_offset, bitmap_size = BITMAP_REC_FIXED + (uint64_t)w->height * w->width;
    int rc = -1;
    for (uint64_t i = 0; i < w->n_records; i++) {
        uint8_t b[8];
        util_put64(b, off - records_offset);
        if (write_all(w, b, 8, err)) goto done;
        uint8_t *rec =
            scan_at(&sc, off, w->kind == DD_DSET_STROKES ? STROKE_REC_FIXED : bitmap_size, w->file.path, err);
        if (!rec) goto done;
        uint8_t split = rec[REC_OFF_SPLIT];
        if (split_of)
            split = (uint8_t)split_of(ctx, util_le16(rec + REC_OFF_LABEL));
        else if (i < w->cap_changed && w->changed[i])
            split = w->changed[i] & ~SPLIT_CHANGED;
        if (rec[REC_OFF_SPLIT] != split) {
            rec[REC_OFF_SPLIT] = split;
            sc.dirty = true;
        }
        if (w->kind == DD_DSET_BITMAPS) {
            off += bitmap_size;
            continue;
        }
        uint32_t n_strokes = util_le16(rec + REC_OFF_N_STROKES);
        off += STROKE_REC_FIXED;
        for (uint32_t k = 0; k < n_strokes; k++) {
            const uint8_t *p = scan_at(&sc, off, 2, w->file.path, err);
            if (!p) goto done;
            off += 2 + 2 * (uint64_t)util_le16(p);
        }
    }
    if (off != sc.end) {
        dd_fail(err, DD_ERR_IO, "%s: the records do not fill their section (internal error)", w->file.path);
        goto done;
    }
    rc = scan_flush(&sc, w->file.path, err);
done:
    free(sc.buf);
    return rc;
}

int dd_dataset_writer_finish(dd_dataset_writer *w, uint32_t n_classes, const char *const *class_names,
                             const dd_class_stats *stats, const dd_dset_params *params, dd_error *err) {
    return data_dataset_writer_finish_splits(w, n_classes, class_names, stats, params, NULL, NULL, err);
}

int data_dataset_writer_finish_splits(dd_dataset_writer *w, uint32_t n_classes, const char *const *class_names,
                                      const dd_class_stats *stats, const dd_dset_params *params, data_split_fn split_of,
                                      void *ctx, dd_error *err) {
    int rc = -1;
    if (n_classes == 0 || n_classes > DD_MAX_CLASSES) {
        dd_fail(err, DD_ERR_USAGE, "%s: %u classes (a dataset holds 1..%u)", w->file.path, n_classes, DD_MAX_CLASSES);
        goto done;
    }
    uint64_t records_offset = DSET_HEADER_SIZE;
    uint64_t classes_offset = records_offset + w->records_size;
    uint64_t classes_size = 0;
    for (uint32_t c = 0; c < n_classes; c++) {
        size_t n = strlen(class_names[c]);
        if (n == 0 || n >= DD_WORD_MAX) {
            dd_fail(err, DD_ERR_RANGE, "%s: class name '%s' must have 1..%d bytes", w->file.path, class_names[c],
                    DD_WORD_MAX - 1);
            goto done;
        }
        if (write_all(w, class_names[c], n + 1, err)) goto done;
        classes_size += n + 1;
    }
    /* pad so the statistics and the index are 8-byte aligned in the mapping */
    static const uint8_t zeros[8] = {0};
    uint64_t pad = (8 - (classes_offset + classes_size) % 8) % 8;
    if (write_all(w, zeros, pad, err)) goto done;
    uint64_t stats_offset = classes_offset + classes_size + pad;
    uint8_t row[8 * (DSET_STATS_FIXED + DD_SKIP_REASON_COUNT)];
    for (uint32_t c = 0; c <= n_classes; c++) { /* the extra last row: records no class could be named for */
        const dd_class_stats *s = &stats[c];
        uint64_t v[DSET_STATS_FIXED] = {s->read, s->kept, s->train, s->test};
        for (int k = 0; k < DSET_STATS_FIXED; k++) util_put64(row + 8 * k, v[k]);
        for (int k = 0; k < DD_SKIP_REASON_COUNT; k++) util_put64(row + 8 * (DSET_STATS_FIXED + k), s->skipped[k]);
        if (write_all(w, row, sizeof row, err)) goto done;
    }
    uint64_t index_offset = stats_offset + (uint64_t)(n_classes + 1) * sizeof row;
    if (fflush(w->file.f) != 0) { /* the records must be in the file before they are mapped */
        dd_fail(err, DD_ERR_IO, "%s: write failed: %s", w->file.path, strerror(errno));
        goto done;
    }
    if (index_and_splits(w, records_offset, split_of, ctx, err)) goto done;
    uint64_t file_size = index_offset + 8 * w->n_records;
    if (fflush(w->file.f) != 0) {
        dd_fail(err, DD_ERR_IO, "%s: write failed: %s", w->file.path, strerror(errno));
        goto done;
    }
    uint8_t h[DSET_HEADER_SIZE] = {0};
    memcpy(h + DSET_OFF_MAGIC, DSET_MAGIC, 8);
    util_put32(h + DSET_OFF_VERSION, DD_DSET_VERSION);
    util_put32(h + DSET_OFF_KIND, (uint32_t)w->kind);
    util_put32(h + DSET_OFF_N_CLASSES, n_classes);
    util_put32(h + DSET_OFF_BITMAP_H, w->height);
    util_put32(h + DSET_OFF_BITMAP_W, w->width);
    util_put32(h + DSET_OFF_N_REASONS, DD_SKIP_REASON_COUNT);
    util_put64(h + DSET_OFF_N_RECORDS, w->n_records);
    util_put64(h + DSET_OFF_RECORDS, records_offset);
    util_put64(h + DSET_OFF_RECORDS_SIZE, w->records_size);
    util_put64(h + DSET_OFF_CLASSES, classes_offset);
    util_put64(h + DSET_OFF_CLASSES_SIZE, classes_size);
    util_put64(h + DSET_OFF_STATS, stats_offset);
    util_put64(h + DSET_OFF_INDEX, index_offset);
    util_put64(h + DSET_OFF_FILE_SIZE, file_size);
    util_put64(h + DSET_OFF_SEED, params ? params->seed : 0);
    util_put_f64(h + DSET_OFF_TEST_FRAC, params ? params->test_frac : 0);
    util_put64(h + DSET_OFF_PER_CLASS, params ? params->per_class : 0);
    util_put32(h + DSET_OFF_FLAGS, params && params->recognized_only ? 1u : 0u);
    util_put32(h + DSET_OFF_VAL_PPM, params ? (uint32_t)lround(params->val_frac * 1e6) : 0u);
    if (pwrite_all(w, h, sizeof h, 0, err)) goto done;
    rc = dd_atomic_commit(&w->file, err);
done:
    dd_dataset_writer_abort(w);
    return rc;
}

void dd_dataset_writer_abort(dd_dataset_writer *w) {
    if (!w) return;
    dd_atomic_abort(&w->file); /* no-op after a successful commit */
    free(w->changed);
    free(w->scratch);
    free(w);
}
