/* Reading a .dset through a read-only memory mapping. Everything the header claims is checked on open (magic,
 * version, section bounds, every index offset), and every record is bounds-checked when decoded, so a truncated
 * or corrupt file gives an error instead of an out-of-bounds read. */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>
#include <stdio.h>

#include "data/dset_layout.h"
#include "doodle/dataset.h"
#include "doodle/alloc.h"
#include "util/le.h"
#include "util/mapped_file.h"

struct dd_dataset {
    char *path;
    const uint8_t *map;
    size_t map_size;
    dd_dset_kind kind;
    uint32_t n_classes, height, width, n_reasons;
    uint64_t n_records;
    const uint8_t *records; /* section start */
    uint64_t records_size;
    const uint8_t *stats; /* (n_classes + 1) rows */
    const uint8_t *index; /* n_records u64 */
    const char **class_names;
    dd_dset_params params;
};

static int bad(dd_error *err, const char *path, const char *what) {
    return dd_fail(err, DD_ERR_MALFORMED, "%s: not a valid .dset: %s", path, what);
}

/* True when [offset, offset + size) lies inside a file of file_size bytes. */
static int in_file(uint64_t offset, uint64_t size, uint64_t file_size) {
    return offset <= file_size && size <= file_size - offset;
}

static int check_and_index(dd_dataset *ds, dd_error *err) {
    const uint8_t *h = ds->map;
    const char *path = ds->path;
    uint64_t file_size = ds->map_size;
    if (file_size < DSET_HEADER_SIZE) return bad(err, path, "shorter than its 128-byte header");
    if (memcmp(h, DSET_MAGIC, 8) != 0) return bad(err, path, "wrong magic (expected \"DOODSET\")");
    uint32_t version = util_le32(h + DSET_OFF_VERSION);
    if (version != DD_DSET_VERSION)
        return dd_fail(err, DD_ERR_UNSUPPORTED, "%s: .dset version %u is not supported (this doodle reads version %d)",
                       path, version, DD_DSET_VERSION);
    if (util_le64(h + DSET_OFF_FILE_SIZE) != file_size)
        return dd_fail(err, DD_ERR_TRUNCATED, "%s: file is %llu bytes but its header says %llu (truncated or appended)",
                       path, (unsigned long long)file_size, (unsigned long long)util_le64(h + DSET_OFF_FILE_SIZE));
    uint32_t kind = util_le32(h + DSET_OFF_KIND);
    if (kind > DD_DSET_BITMAPS) return bad(err, path, "unknown kind");
    ds->kind = (dd_dset_kind)kind;
    ds->n_classes = util_le32(h + DSET_OFF_N_CLASSES);
    ds->height = util_le32(h + DSET_OFF_BITMAP_H);
    ds->width = util_le32(h + DSET_OFF_BITMAP_W);
    ds->n_reasons = util_le32(h + DSET_OFF_N_REASONS);
    ds->n_records = util_le64(h + DSET_OFF_N_RECORDS);
    if (ds->n_classes == 0 || ds->n_classes > DD_MAX_CLASSES) return bad(err, path, "class count out of range");
    if (ds->n_reasons > 1024) return bad(err, path, "skip-reason count out of range");
    if (ds->kind == DD_DSET_BITMAPS ? (ds->height == 0 || ds->width == 0 || ds->height > 4096 || ds->width > 4096)
                                    : (ds->height || ds->width))
        return bad(err, path, "bitmap size does not fit the kind");

    uint64_t rec_off = util_le64(h + DSET_OFF_RECORDS), rec_size = util_le64(h + DSET_OFF_RECORDS_SIZE);
    uint64_t cls_off = util_le64(h + DSET_OFF_CLASSES), cls_size = util_le64(h + DSET_OFF_CLASSES_SIZE);
    uint64_t stats_off = util_le64(h + DSET_OFF_STATS), idx_off = util_le64(h + DSET_OFF_INDEX);
    uint64_t row = 8 * (uint64_t)(DSET_STATS_FIXED + ds->n_reasons);
    if (!in_file(rec_off, rec_size, file_size) || rec_off < DSET_HEADER_SIZE)
        return bad(err, path, "records section out of range");
    if (!in_file(cls_off, cls_size, file_size)) return bad(err, path, "class names out of range");
    if (!in_file(stats_off, row * (ds->n_classes + 1), file_size)) return bad(err, path, "statistics out of range");
    if (ds->n_records > file_size / 8 || !in_file(idx_off, 8 * ds->n_records, file_size))
        return bad(err, path, "index out of range");
    ds->records = ds->map + rec_off;
    ds->records_size = rec_size;
    ds->stats = ds->map + stats_off;
    ds->index = ds->map + idx_off;

    /* class names: n_classes NUL-terminated strings filling the section */
    ds->class_names = dd_calloc(ds->n_classes, sizeof *ds->class_names, err);
    if (!ds->class_names) return -1;
    const char *p = (const char *)ds->map + cls_off, *end = p + cls_size;
    for (uint32_t c = 0; c < ds->n_classes; c++) {
        const char *nul = memchr(p, '\0', (size_t)(end - p));
        if (!nul || nul == p || nul - p >= DD_WORD_MAX) return bad(err, path, "class names are cut short or empty");
        ds->class_names[c] = p;
        p = nul + 1;
    }
    if (p != end) return bad(err, path, "class names section has trailing bytes");

    /* every record must start inside the records section, in increasing order, with room for its fixed part */
    uint64_t fixed =
        ds->kind == DD_DSET_STROKES ? STROKE_REC_FIXED : BITMAP_REC_FIXED + (uint64_t)ds->height * ds->width;
    uint64_t prev_end = 0;
    for (uint64_t i = 0; i < ds->n_records; i++) {
        uint64_t off = util_le64(ds->index + 8 * i);
        if (off < prev_end || !in_file(off, fixed, rec_size))
            return dd_fail(err, DD_ERR_MALFORMED, "%s: not a valid .dset: index entry %llu points outside the records",
                           path, (unsigned long long)i);
        prev_end = off + fixed;
    }

    ds->params.seed = util_le64(h + DSET_OFF_SEED);
    ds->params.test_frac = util_le_f64(h + DSET_OFF_TEST_FRAC);
    ds->params.per_class = util_le64(h + DSET_OFF_PER_CLASS);
    ds->params.recognized_only = util_le32(h + DSET_OFF_FLAGS) & 1;
    uint32_t val_ppm = util_le32(h + DSET_OFF_VAL_PPM);
    if (val_ppm > 900000) return bad(err, path, "validation fraction out of range (at most 0.9)");
    ds->params.val_frac = val_ppm / 1e6;
    return 0;
}

dd_dataset *dd_dataset_open(const char *path, dd_error *err) {
    dd_dataset *ds = dd_calloc(1, sizeof *ds, err);
    if (!ds) return NULL;
    if (!(ds->path = dd_strdup(path, err))) goto fail;
    util_mapped_file f;
    if (util_map_file(&f, path, err)) goto fail;
    ds->map = f.data;
    ds->map_size = f.size;
    if (check_and_index(ds, err)) goto fail;
    return ds;
fail:
    dd_dataset_close(ds);
    return NULL;
}

void dd_dataset_close(dd_dataset *ds) {
    if (!ds) return;
    util_unmap_file(&(util_mapped_file){ds->map, ds->map_size});
    free(ds->class_names);
    free(ds->path);
    free(ds);
}

dd_dset_kind dd_dataset_kind(const dd_dataset *ds) { return ds->kind; }
uint64_t dd_dataset_count(const dd_dataset *ds) { return ds->n_records; }
uint32_t dd_dataset_class_count(const dd_dataset *ds) { return ds->n_classes; }
dd_dset_params dd_dataset_params(const dd_dataset *ds) { return ds->params; }

const char *dd_dataset_class_name(const dd_dataset *ds, uint32_t label) {
    return label < ds->n_classes ? ds->class_names[label] : NULL;
}

int dd_dataset_class_index(const dd_dataset *ds, const char *name) {
    for (uint32_t c = 0; c < ds->n_classes; c++)
        if (!strcmp(ds->class_names[c], name)) return (int)c;
    return -1;
}

int dd_dataset_class_stats(const dd_dataset *ds, uint32_t label, dd_class_stats *out) {
    memset(out, 0, sizeof *out);
    if (label > ds->n_classes) return -1;
    const uint8_t *r = ds->stats + 8 * (uint64_t)(DSET_STATS_FIXED + ds->n_reasons) * label;
    out->read = util_le64(r);
    out->kept = util_le64(r + 8);
    out->train = util_le64(r + 16);
    out->test = util_le64(r + 24);
    /* a file from a newer writer may know more reasons: read the ones we know */
    uint32_t n = ds->n_reasons < DD_SKIP_REASON_COUNT ? ds->n_reasons : DD_SKIP_REASON_COUNT;
    for (uint32_t k = 0; k < n; k++) out->skipped[k] = util_le64(r + 8 * (DSET_STATS_FIXED + k));
    return 0;
}

void dd_dataset_bitmap_size(const dd_dataset *ds, uint32_t *height, uint32_t *width) {
    *height = ds->height;
    *width = ds->width;
}

/* Bytes available to record i: up to the next record's start (or the end of the section). */
static uint64_t record_limit(const dd_dataset *ds, uint64_t i) {
    return i + 1 < ds->n_records ? util_le64(ds->index + 8 * (i + 1)) : ds->records_size;
}

int dd_dataset_record_info(const dd_dataset *ds, uint64_t i, dd_record_info *info) {
    if (i >= ds->n_records) return -1;
    const uint8_t *r = ds->records + util_le64(ds->index + 8 * i);
    info->label = util_le16(r + REC_OFF_LABEL);
    info->split = r[REC_OFF_SPLIT] ? DD_SPLIT_TEST : DD_SPLIT_TRAIN;
    info->recognized = (int8_t)r[REC_OFF_RECOGNIZED];
    info->key_id = util_le64(r + REC_OFF_KEY_ID);
    return info->label < ds->n_classes && r[REC_OFF_SPLIT] <= DD_SPLIT_TEST ? 0 : -1;
}

int dd_dataset_strokes(const dd_dataset *ds, uint64_t i, dd_drawing *d, dd_error *err) {
    if (ds->kind != DD_DSET_STROKES) return dd_fail(err, DD_ERR_USAGE, "%s holds bitmaps, not strokes", ds->path);
    if (i >= ds->n_records)
        return dd_fail(err, DD_ERR_USAGE, "%s: record %llu does not exist", ds->path, (unsigned long long)i);
    uint64_t off = util_le64(ds->index + 8 * i), limit = record_limit(ds, i);
    const uint8_t *r = ds->records + off, *end = ds->records + limit;
    dd_record_info info;
    if (dd_dataset_record_info(ds, i, &info))
        return dd_fail(err, DD_ERR_MALFORMED, "%s: record %llu: label or split out of range", ds->path,
                       (unsigned long long)i);
    dd_drawing_clear(d);
    d->key_id = info.key_id;
    d->recognized = info.recognized;
    snprintf(d->word, sizeof d->word, "%s", ds->class_names[info.label]);
    if (r[REC_OFF_COUNTRY]) {
        d->countrycode[0] = (char)r[REC_OFF_COUNTRY];
        d->countrycode[1] = (char)r[REC_OFF_COUNTRY + 1];
        d->countrycode[2] = '\0';
    }
    uint32_t ts = util_le32(r + REC_OFF_TIMESTAMP);
    if (ts) dd_timestamp_format(ts, d->timestamp);
    uint32_t n_strokes = util_le16(r + REC_OFF_N_STROKES);
    const uint8_t *p = r + STROKE_REC_FIXED;
    for (uint32_t s = 0; s < n_strokes; s++) {
        if (end - p < 2) goto truncated;
        uint32_t n = util_le16(p);
        p += 2;
        if ((uint64_t)(end - p) < 2 * (uint64_t)n) goto truncated;
        if (dd_drawing_reserve(d, d->n_strokes + 1, d->n_points + n, false, err)) return -1;
        for (uint32_t k = 0; k < n; k++) {
            d->x[d->n_points + k] = p[k];
            d->y[d->n_points + k] = p[n + k];
        }
        d->n_points += n;
        d->stroke_end[d->n_strokes++] = d->n_points;
        p += 2 * (size_t)n;
    }
    return dd_drawing_validate(d, err) ? dd_error_prefix(err, "%s: record %llu", ds->path, (unsigned long long)i) : 0;
truncated:
    return dd_fail(err, DD_ERR_TRUNCATED, "%s: record %llu: strokes run past the end of the record", ds->path,
                   (unsigned long long)i);
}

const uint8_t *dd_dataset_bitmap(const dd_dataset *ds, uint64_t i) {
    if (ds->kind != DD_DSET_BITMAPS || i >= ds->n_records) return NULL;
    return ds->records + util_le64(ds->index + 8 * i) + BITMAP_REC_FIXED;
}
