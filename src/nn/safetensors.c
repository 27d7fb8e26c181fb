/* safetensors reading (mmap + checks) and writing (atomic); the JSON header goes through cJSON. */
#define _POSIX_C_SOURCE 200809L
#include "doodle/safetensors.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "doodle/alloc.h"
#include "doodle/files.h"
#include "util/le.h"
#include "util/mapped_file.h"

#define MAX_HEADER_BYTES ((uint64_t)100 << 20) /* the reference implementation's limit */

static const struct {
    const char *name;
    size_t size;
} dtypes[DD_ST_DTYPE_COUNT] = {
    [DD_ST_F32] = {"F32", 4}, [DD_ST_F64] = {"F64", 8}, [DD_ST_I64] = {"I64", 8},
    [DD_ST_I32] = {"I32", 4}, [DD_ST_U8] = {"U8", 1},
};

size_t dd_st_dtype_size(dd_st_dtype t) { return (unsigned)t < DD_ST_DTYPE_COUNT ? dtypes[t].size : 0; }
const char *dd_st_dtype_name(dd_st_dtype t) { return (unsigned)t < DD_ST_DTYPE_COUNT ? dtypes[t].name : "?"; }

/* Bytes of a tensor of this shape, or SIZE_MAX on overflow / a bad dimension. */
static size_t tensor_bytes(dd_st_dtype dtype, int ndim, const int64_t *shape) {
    size_t n = dd_st_dtype_size(dtype);
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0 || (shape[i] && n > SIZE_MAX / (uint64_t)shape[i])) return SIZE_MAX;
        n *= (size_t)shape[i];
    }
    return n;
}

/* ---- writing ---- */

struct dd_st_writer {
    dd_st_tensor *tensors;
    size_t count, cap;
    cJSON *metadata;
};

dd_st_writer *dd_st_writer_new(dd_error *err) {
    dd_st_writer *w = dd_calloc(1, sizeof *w, err);
    if (w && !(w->metadata = cJSON_CreateObject())) {
        free(w);
        dd_fail(err, DD_ERR_NOMEM, "out of memory");
        return NULL;
    }
    return w;
}

void dd_st_writer_free(dd_st_writer *w) {
    if (!w) return;
    for (size_t i = 0; i < w->count; i++) free((char *)w->tensors[i].name);
    free(w->tensors);
    cJSON_Delete(w->metadata);
    free(w);
}

int dd_st_writer_add(dd_st_writer *w, const char *name, dd_st_dtype dtype, int ndim, const int64_t *shape,
                     const void *data, dd_error *err) {
    if ((unsigned)dtype >= DD_ST_DTYPE_COUNT || ndim < 0 || ndim > DD_ST_MAX_DIMS || !name || !*name ||
        !strcmp(name, "__metadata__"))
        return dd_fail(err, DD_ERR_USAGE, "safetensors: bad tensor '%s'", name ? name : "(null)");
    for (size_t i = 0; i < w->count; i++)
        if (!strcmp(w->tensors[i].name, name))
            return dd_fail(err, DD_ERR_USAGE, "safetensors: tensor '%s' added twice", name);
    size_t nbytes = tensor_bytes(dtype, ndim, shape);
    if (nbytes == SIZE_MAX) return dd_fail(err, DD_ERR_RANGE, "safetensors: tensor '%s' has a bad shape", name);
    if (w->count == w->cap) {
        size_t cap = w->cap ? 2 * w->cap : 16;
        dd_st_tensor *t = dd_realloc(w->tensors, cap, sizeof *t, err);
        if (!t) return -1;
        w->tensors = t;
        w->cap = cap;
    }
    dd_st_tensor *t = &w->tensors[w->count];
    memset(t, 0, sizeof *t);
    if (!(t->name = dd_strdup(name, err))) return -1;
    t->dtype = dtype;
    t->ndim = ndim;
    if (ndim) memcpy(t->shape, shape, (size_t)ndim * sizeof *shape);
    t->data = data;
    t->nbytes = nbytes;
    w->count++;
    return 0;
}

int dd_st_writer_metadata(dd_st_writer *w, const char *key, const char *value, dd_error *err) {
    cJSON *s = cJSON_CreateString(value);
    if (!s) return dd_fail(err, DD_ERR_NOMEM, "out of memory");
    if (cJSON_GetObjectItemCaseSensitive(w->metadata, key)) {
        if (!cJSON_ReplaceItemInObjectCaseSensitive(w->metadata, key, s)) {
            cJSON_Delete(s);
            return dd_fail(err, DD_ERR_NOMEM, "out of memory");
        }
    } else if (!cJSON_AddItemToObject(w->metadata, key, s)) {
        cJSON_Delete(s);
        return dd_fail(err, DD_ERR_NOMEM, "out of memory");
    }
    return 0;
}

/* The JSON header: __metadata__ first, then the tensors in the order added, data laid out in that order. */
static char *header_json(const dd_st_writer *w, dd_error *err) {
    cJSON *root = cJSON_CreateObject();
    if (!root) goto nomem;
    if (cJSON_GetArraySize(w->metadata) > 0) {
        cJSON *copy = cJSON_Duplicate(w->metadata, 1);
        if (!copy || !cJSON_AddItemToObject(root, "__metadata__", copy)) {
            cJSON_Delete(copy);
            goto nomem;
        }
    }
    uint64_t offset = 0;
    for (size_t i = 0; i < w->count; i++) {
        const dd_st_tensor *t = &w->tensors[i];
        cJSON *o = cJSON_CreateObject(), *shape = cJSON_CreateArray(), *range = cJSON_CreateArray();
        int ok = o && shape && range && cJSON_AddStringToObject(o, "dtype", dd_st_dtype_name(t->dtype));
        for (int k = 0; ok && k < t->ndim; k++)
            ok = cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)t->shape[k]));
        ok = ok && cJSON_AddItemToObject(o, "shape", shape);
        if (ok) shape = NULL;
        ok = ok && cJSON_AddItemToArray(range, cJSON_CreateNumber((double)offset)) &&
             cJSON_AddItemToArray(range, cJSON_CreateNumber((double)(offset + t->nbytes))) &&
             cJSON_AddItemToObject(o, "data_offsets", range);
        if (ok) range = NULL;
        ok = ok && cJSON_AddItemToObject(root, t->name, o);
        if (!ok) {
            cJSON_Delete(o);
            cJSON_Delete(shape);
            cJSON_Delete(range);
            goto nomem;
        }
        offset += t->nbytes;
    }
    char *text = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!text) dd_fail(err, DD_ERR_NOMEM, "out of memory");
    return text;
nomem:
    cJSON_Delete(root);
    dd_fail(err, DD_ERR_NOMEM, "out of memory");
    return NULL;
}

int dd_st_write(dd_st_writer *w, const char *path, dd_error *err) {
    char *json = header_json(w, err);
    if (!json) return -1;
    size_t n = strlen(json), padded = (n + 7) / 8 * 8; /* tensor data starts 8-byte aligned */
    dd_atomic_file a;
    if (dd_atomic_open(&a, path, err)) {
        free(json);
        return -1;
    }
    uint8_t len[8];
    util_put64(len, padded);
    int ok = fwrite(len, 1, 8, a.f) == 8 && fwrite(json, 1, n, a.f) == n;
    for (size_t i = n; ok && i < padded; i++) ok = fputc(' ', a.f) != EOF;
    free(json);
    for (size_t i = 0; ok && i < w->count; i++) {
        const dd_st_tensor *t = &w->tensors[i];
        ok = !t->nbytes || fwrite(t->data, 1, t->nbytes, a.f) == t->nbytes;
    }
    if (!ok) {
        dd_fail(err, DD_ERR_IO, "%s: write failed: %s", path, strerror(errno));
        dd_atomic_abort(&a);
        return -1;
    }
    return dd_atomic_commit(&a, err);
}

/* ---- reading ---- */

struct dd_st_file {
    char *path;
    const uint8_t *map;
    size_t map_size;
    cJSON *header;
    const cJSON *metadata;
    dd_st_tensor *tensors;
    size_t count;
};

static int bad(dd_error *err, const char *path, const char *what, const char *name) {
    return dd_fail(err, DD_ERR_MALFORMED, "%s: not a valid safetensors file: %s%s%s", path, what, name ? " " : "",
                   name ? name : "");
}

static int parse_dims(const cJSON *arr, int64_t *out, int max, int *n) {
    if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) > max) return -1;
    *n = 0;
    const cJSON *v;
    cJSON_ArrayForEach(v, arr) {
        double d = v->valuedouble;
        if (!cJSON_IsNumber(v) || d < 0 || d != floor(d) || d > 9007199254740992.0) return -1;
        out[(*n)++] = (int64_t)d;
    }
    return 0;
}

static int by_offset(const void *a, const void *b) {
    const dd_st_tensor *x = a, *y = b;
    return x->data < y->data ? -1 : x->data > y->data;
}

static int check_header(dd_st_file *f, dd_error *err) {
    const char *path = f->path;
    if (f->map_size < 8) return bad(err, path, "shorter than its 8-byte header length", NULL);
    uint64_t n = util_le64(f->map);
    if (n > MAX_HEADER_BYTES || n > f->map_size - 8) return bad(err, path, "header length runs past the end", NULL);
    f->header = cJSON_ParseWithLength((const char *)f->map + 8, (size_t)n);
    if (!cJSON_IsObject(f->header)) return bad(err, path, "the header is not a JSON object", NULL);
    const uint8_t *data = f->map + 8 + n;
    size_t data_size = f->map_size - 8 - (size_t)n;
    size_t count = (size_t)cJSON_GetArraySize(f->header);
    if (!(f->tensors = dd_calloc(count ? count : 1, sizeof *f->tensors, err))) return -1;
    const cJSON *item;
    cJSON_ArrayForEach(item, f->header) {
        const char *name = item->string;
        if (!strcmp(name, "__metadata__")) {
            if (!cJSON_IsObject(item)) return bad(err, path, "__metadata__ is not an object", NULL);
            const cJSON *v;
            cJSON_ArrayForEach(v, item) if (!cJSON_IsString(v)) return bad(
                err, path, "metadata value is not a string:", v->string);
            f->metadata = item;
            continue;
        }
        dd_st_tensor *t = &f->tensors[f->count];
        t->name = name;
        const cJSON *dtype = cJSON_GetObjectItemCaseSensitive(item, "dtype");
        t->dtype = DD_ST_DTYPE_COUNT;
        for (int k = 0; cJSON_IsString(dtype) && k < DD_ST_DTYPE_COUNT; k++)
            if (!strcmp(dtype->valuestring, dtypes[k].name)) t->dtype = (dd_st_dtype)k;
        if (t->dtype == DD_ST_DTYPE_COUNT) return bad(err, path, "missing or unsupported dtype for tensor", name);
        if (parse_dims(cJSON_GetObjectItemCaseSensitive(item, "shape"), t->shape, DD_ST_MAX_DIMS, &t->ndim))
            return bad(err, path, "bad shape for tensor", name);
        int64_t range[2];
        int n_range;
        if (parse_dims(cJSON_GetObjectItemCaseSensitive(item, "data_offsets"), range, 2, &n_range) || n_range != 2 ||
            range[0] > range[1] || (uint64_t)range[1] > data_size)
            return bad(err, path, "data_offsets out of range for tensor", name);
        t->nbytes = (size_t)(range[1] - range[0]);
        if (tensor_bytes(t->dtype, t->ndim, t->shape) != t->nbytes)
            return bad(err, path, "shape and data_offsets disagree for tensor", name);
        t->data = data + range[0];
        f->count++;
    }
    /* the data section must be covered exactly: no overlaps, no holes (as the format requires) */
    dd_st_tensor *sorted = dd_malloc(f->count ? f->count : 1, sizeof *sorted, err);
    if (!sorted) return -1;
    if (f->count) memcpy(sorted, f->tensors, f->count * sizeof *sorted);
    qsort(sorted, f->count, sizeof *sorted, by_offset);
    const uint8_t *expect = data;
    int ok = 1;
    for (size_t i = 0; ok && i < f->count; i++) {
        ok = (const uint8_t *)sorted[i].data == expect;
        expect += sorted[i].nbytes;
    }
    free(sorted);
    if (!ok || expect != data + data_size)
        return bad(err, path, "tensor data overlaps, leaves holes or does not fill the file (truncated?)", NULL);
    return 0;
}

dd_st_file *dd_st_open(const char *path, dd_error *err) {
    dd_st_file *f = dd_calloc(1, sizeof *f, err);
    if (!f) return NULL;
    if (!(f->path = dd_strdup(path, err))) goto fail;
    util_mapped_file mf;
    if (util_map_file(&mf, path, err)) goto fail;
    f->map = mf.data;
    f->map_size = mf.size;
    if (check_header(f, err)) goto fail;
    return f;
fail:
    dd_st_close(f);
    return NULL;
}

void dd_st_close(dd_st_file *f) {
    if (!f) return;
    util_unmap_file(&(util_mapped_file){f->map, f->map_size});
    cJSON_Delete(f->header);
    free(f->tensors);
    free(f->path);
    free(f);
}

size_t dd_st_count(const dd_st_file *f) { return f->count; }
const dd_st_tensor *dd_st_at(const dd_st_file *f, size_t i) { return i < f->count ? &f->tensors[i] : NULL; }

const dd_st_tensor *dd_st_find(const dd_st_file *f, const char *name) {
    for (size_t i = 0; i < f->count; i++)
        if (!strcmp(f->tensors[i].name, name)) return &f->tensors[i];
    return NULL;
}

const char *dd_st_metadata(const dd_st_file *f, const char *key) {
    const cJSON *v = f->metadata ? cJSON_GetObjectItemCaseSensitive(f->metadata, key) : NULL;
    return cJSON_IsString(v) ? v->valuestring : NULL;
}
