/* RUNDIR/labels.json (include/doodle/labels.h, docs/labels-format.md): loading with every field checked, saving
 * atomically, the re-clustering rule and the update a person's edits make. */
#define _POSIX_C_SOURCE 200809L /* fileno */
#include "doodle/labels.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "doodle/alloc.h"
#include "doodle/files.h"

#define LABELS_MAX_BYTES ((size_t)64 << 20)
#define FORMAT_NAME "doodle labels"
#define MAX_CLUSTER_ID 1000000
#define JSON_EXACT_MAX 9007199254740992.0 /* 2^53: larger key_ids must be written as strings */

void dd_labels_init(dd_labels *l) { memset(l, 0, sizeof *l); }

static void cluster_free(dd_labels_cluster *c) {
    free(c->name);
    free(c->members);
}

void dd_labels_free(dd_labels *l) {
    for (size_t i = 0; i < l->n_clusters; i++) cluster_free(&l->clusters[i]);
    for (size_t i = 0; i < l->n_marks; i++) free(l->marks[i].note);
    free(l->clusters);
    free(l->marks);
    free(l->source);
    dd_labels_init(l);
}

/* ---- checks ---- */

/* Length of the UTF-8 sequence at s (1..4), 0 when it is not valid (overlong, surrogate, beyond U+10FFFF). */
static int utf8_len(const unsigned char *s) {
    if (s[0] < 0x80) return 1;
    int n = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 ? 2 : 0;
    if (!n || s[0] > 0xf4) return 0;
    for (int i = 1; i < n; i++)
        if ((s[i] & 0xc0) != 0x80) return 0;
    if (n == 3 && ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] >= 0xa0))) return 0;
    if (n == 4 && ((s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] >= 0x90))) return 0;
    return n;
}

int dd_labels_check_text(const char *s, size_t max, const char *field, dd_error *err) {
    size_t n = strlen(s);
    if (n > max) return dd_fail(err, DD_ERR_RANGE, "%s: %zu bytes; at most %zu are taken", field, n, max);
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        int k = utf8_len(p);
        if (!k)
            return dd_fail(err, DD_ERR_MALFORMED, "%s: not valid UTF-8 at byte %zu", field,
                           (size_t)(p - (const unsigned char *)s));
        if (k == 1 && (*p < 0x20 || *p == 0x7f))
            return dd_fail(err, DD_ERR_MALFORMED, "%s: a control character (0x%02x) at byte %zu", field, *p,
                           (size_t)(p - (const unsigned char *)s));
        p += k;
    }
    return 0;
}

int dd_labels_parse_key_id(const char *s, uint64_t *out) {
    size_t n = strlen(s);
    if (n == 0 || n > 20 || strspn(s, "0123456789") != n) return -1;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t d = (uint64_t)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10) return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

static int check_class(const char *s, const char *field, dd_error *err) {
    if (!*s || strlen(s) >= DD_WORD_MAX)
        return dd_fail(err, DD_ERR_RANGE, "%s: a class name of 1..%d bytes, not %zu", field, DD_WORD_MAX - 1,
                       strlen(s));
    return dd_labels_check_text(s, DD_WORD_MAX - 1, field, err);
}

static int check_method(const char *s, const char *field, dd_error *err) {
    size_t n = strlen(s);
    if (n == 0 || n >= DD_LABELS_METHOD_MAX ||
        strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") != n)
        return dd_fail(err, DD_ERR_RANGE, "%s: 1..%d letters, digits, '-' or '_', not \"%.40s\"", field,
                       DD_LABELS_METHOD_MAX - 1, s);
    return 0;
}

/* ---- reading ---- */

static int only_keys(const cJSON *o, const char *const *keys, const char *field, dd_error *err) {
    for (const cJSON *c = o->child; c; c = c->next) {
        bool known = false;
        for (const char *const *k = keys; *k && !known; k++) known = !strcmp(c->string, *k);
        if (!known) return dd_fail(err, DD_ERR_MALFORMED, "%s.%s: not a field of this format", field, c->string);
    }
    return 0;
}

static int key_id_of(const cJSON *v, const char *field, uint64_t *out, dd_error *err) {
    if (cJSON_IsString(v)) {
        if (dd_labels_parse_key_id(v->valuestring, out))
            return dd_fail(err, DD_ERR_MALFORMED, "%s: \"%.40s\" is not a key_id (decimal digits, at most 2^64-1)",
                           field, v->valuestring);
        return 0;
    }
    if (cJSON_IsNumber(v)) {
        double d = v->valuedouble;
        if (!(d >= 0 && d <= JSON_EXACT_MAX) || d != (double)(uint64_t)d)
            return dd_fail(err, DD_ERR_RANGE,
                           "%s: %g is not a whole number from 0 to 2^53 (write larger key_ids as "
                           "strings)",
                           field, d);
        *out = (uint64_t)d;
        return 0;
    }
    return dd_fail(err, DD_ERR_MALFORMED, "%s: missing, or not a string of digits", field);
}

static int drawing_of(const cJSON *o, const char *field, bool class_required, dd_labels_drawing *d, dd_error *err) {
    char f[160];
    if (!cJSON_IsObject(o)) return dd_fail(err, DD_ERR_MALFORMED, "%s: not an object", field);
    snprintf(f, sizeof f, "%s.key_id", field);
    if (key_id_of(cJSON_GetObjectItemCaseSensitive(o, "key_id"), f, &d->key_id, err)) return -1;
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(o, "true");
    snprintf(f, sizeof f, "%s.true", field);
    d->true_class[0] = '\0';
    if (!t && !class_required) return 0;
    if (!cJSON_IsString(t)) return dd_fail(err, DD_ERR_MALFORMED, "%s: missing, or not a class name", f);
    if (check_class(t->valuestring, f, err)) return -1;
    snprintf(d->true_class, sizeof d->true_class, "%s", t->valuestring);
    return 0;
}

static int string_field(const cJSON *o, const char *key, const char *field, size_t max, bool required, char **out,
                        dd_error *err) {
    char f[160];
    snprintf(f, sizeof f, "%s.%s", field, key);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    *out = NULL;
    if (!v && !required) return 0;
    if (!cJSON_IsString(v)) return dd_fail(err, DD_ERR_MALFORMED, "%s: missing, or not a string", f);
    if (dd_labels_check_text(v->valuestring, max, f, err)) return -1;
    if (required && !v->valuestring[0]) return dd_fail(err, DD_ERR_RANGE, "%s: empty", f);
    return (*out = dd_strdup(v->valuestring, err)) ? 0 : -1;
}

static int array_of(const cJSON *root, const char *key, const cJSON **out, int *n, dd_error *err) {
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(root, key);
    *out = a;
    *n = 0;
    if (!a) return 0;
    if (!cJSON_IsArray(a)) return dd_fail(err, DD_ERR_MALFORMED, "%s: not a list", key);
    *n = cJSON_GetArraySize(a);
    if (*n > DD_LABELS_MAX_ITEMS)
        return dd_fail(err, DD_ERR_RANGE, "%s: %d entries; at most %d", key, *n, DD_LABELS_MAX_ITEMS);
    return 0;
}

static int parse_cluster(const cJSON *o, size_t j, dd_labels_cluster *c, dd_error *err) {
    static const char *const keys[] = {"method", "cluster", "name", "members", NULL};
    char field[64], f[160];
    snprintf(field, sizeof field, "clusters[%zu]", j);
    if (!cJSON_IsObject(o)) return dd_fail(err, DD_ERR_MALFORMED, "%s: not an object", field);
    if (only_keys(o, keys, field, err)) return -1;
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, "method");
    snprintf(f, sizeof f, "%s.method", field);
    if (!cJSON_IsString(m)) return dd_fail(err, DD_ERR_MALFORMED, "%s: missing, or not a string", f);
    if (check_method(m->valuestring, f, err)) return -1;
    snprintf(c->method, sizeof c->method, "%s", m->valuestring);
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "cluster");
    if (!cJSON_IsNumber(id) || id->valuedouble < -1 || id->valuedouble > MAX_CLUSTER_ID ||
        id->valuedouble != (double)(int)id->valuedouble)
        return dd_fail(err, DD_ERR_RANGE, "%s.cluster: missing, or not a whole number from -1 (noise) to %d", field,
                       MAX_CLUSTER_ID);
    c->cluster = (int)id->valuedouble;
    if (string_field(o, "name", field, DD_LABELS_NAME_MAX, true, &c->name, err)) return -1;
    const cJSON *mem = cJSON_GetObjectItemCaseSensitive(o, "members");
    if (!mem) return 0;
    snprintf(f, sizeof f, "%s.members", field);
    if (!cJSON_IsArray(mem)) return dd_fail(err, DD_ERR_MALFORMED, "%s: not a list", f);
    int n = cJSON_GetArraySize(mem);
    if (n > DD_LABELS_MAX_ITEMS)
        return dd_fail(err, DD_ERR_RANGE, "%s: %d entries; at most %d", f, n, DD_LABELS_MAX_ITEMS);
    if (n && !(c->members = dd_calloc((size_t)n, sizeof *c->members, err))) return -1;
    size_t k = 0;
    for (const cJSON *d = mem->child; d; d = d->next, k++) {
        snprintf(f, sizeof f, "%s.members[%zu]", field, k);
        if (!cJSON_IsObject(d)) return dd_fail(err, DD_ERR_MALFORMED, "%s: not an object", f);
        static const char *const dkeys[] = {"key_id", "true", NULL};
        if (only_keys(d, dkeys, f, err) || drawing_of(d, f, false, &c->members[k], err)) return -1;
        c->n_members = k + 1;
    }
    return 0;
}

static int parse_mark(const cJSON *o, size_t j, dd_labels_mark *m, dd_error *err) {
    static const char *const keys[] = {"key_id", "true", "note", NULL};
    char field[64];
    snprintf(field, sizeof field, "mislabelled[%zu]", j);
    if (!cJSON_IsObject(o)) return dd_fail(err, DD_ERR_MALFORMED, "%s: not an object", field);
    if (only_keys(o, keys, field, err) || drawing_of(o, field, true, &m->drawing, err)) return -1;
    return string_field(o, "note", field, DD_LABELS_NOTE_MAX, false, &m->note, err);
}

static int cmp_drawing(const dd_labels_drawing *a, const dd_labels_drawing *b) {
    if (a->key_id != b->key_id) return a->key_id < b->key_id ? -1 : 1;
    return strcmp(a->true_class, b->true_class);
}

static const dd_labels_mark *sort_base;
static int cmp_mark_index(const void *x, const void *y) {
    size_t a = *(const size_t *)x, b = *(const size_t *)y;
    int c = cmp_drawing(&sort_base[a].drawing, &sort_base[b].drawing);
    return c ? c : (a > b) - (a < b);
}

/* Two marks of one drawing are refused: which note would count? */
static int check_marks_distinct(const dd_labels *l, dd_error *err) {
    if (l->n_marks < 2) return 0;
    size_t *order = dd_malloc(l->n_marks, sizeof *order, err);
    if (!order) return -1;
    for (size_t i = 0; i < l->n_marks; i++) order[i] = i;
    sort_base = l->marks;
    qsort(order, l->n_marks, sizeof *order, cmp_mark_index);
    int rc = 0;
    for (size_t i = 1; i < l->n_marks && !rc; i++)
        if (!cmp_drawing(&l->marks[order[i]].drawing, &l->marks[order[i - 1]].drawing))
            rc = dd_fail(err, DD_ERR_MALFORMED, "mislabelled[%zu]: the same drawing as mislabelled[%zu]", order[i],
                         order[i - 1]);
    free(order);
    return rc;
}

static void line_col(const char *text, const char *at, int *line, int *col) {
    *line = 1;
    *col = 1;
    for (const char *p = text; p < at; p++) {
        if (*p == '\n') {
            (*line)++;
            *col = 1;
        } else {
            (*col)++;
        }
    }
}

int dd_labels_parse(const char *text, size_t len, const char *name, dd_labels *l, dd_error *err) {
    dd_labels_init(l);
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, false);
    int rc = -1;
    if (!root) {
        int line, col;
        line_col(text, end && end >= text && end <= text + len ? end : text, &line, &col);
        return dd_fail(err, DD_ERR_MALFORMED, "%s:%d:%d: not valid JSON", name, line, col);
    }
    static const char *const keys[] = {"format", "version", "source", "clusters", "mislabelled", NULL};
    const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(root, "format");
    const cJSON *ver = cJSON_GetObjectItemCaseSensitive(root, "version");
    const cJSON *clusters, *marks;
    int n_clusters, n_marks;
    if (!cJSON_IsObject(root)) {
        dd_fail(err, DD_ERR_MALFORMED, "not an object with \"format\": \"%s\"", FORMAT_NAME);
    } else if (!cJSON_IsString(fmt) || strcmp(fmt->valuestring, FORMAT_NAME)) {
        dd_fail(err, DD_ERR_MALFORMED, "format: missing, or not \"%s\"", FORMAT_NAME);
    } else if (!cJSON_IsNumber(ver) || ver->valuedouble != DD_LABELS_VERSION) {
        dd_fail(err, DD_ERR_UNSUPPORTED, "version: missing, or not %d (this doodle reads version %d)",
                DD_LABELS_VERSION, DD_LABELS_VERSION);
    } else if (!only_keys(root, keys, "(top)", err) &&
               !string_field(root, "source", "(top)", 4096, false, &l->source, err) &&
               !array_of(root, "clusters", &clusters, &n_clusters, err) &&
               !array_of(root, "mislabelled", &marks, &n_marks, err)) {
        rc = 0;
        if (n_clusters && !(l->clusters = dd_calloc((size_t)n_clusters, sizeof *l->clusters, err))) rc = -1;
        size_t j = 0;
        for (const cJSON *c = clusters ? clusters->child : NULL; c && !rc; c = c->next, j++) {
            rc = parse_cluster(c, j, &l->clusters[j], err);
            l->n_clusters = j + 1; /* freed with l whatever happened */
        }
        if (!rc && n_marks && !(l->marks = dd_calloc((size_t)n_marks, sizeof *l->marks, err))) rc = -1;
        j = 0;
        for (const cJSON *m = marks ? marks->child : NULL; m && !rc; m = m->next, j++) {
            rc = parse_mark(m, j, &l->marks[j], err);
            l->n_marks = j + 1;
        }
        if (!rc) rc = check_marks_distinct(l, err);
    }
    cJSON_Delete(root);
    if (rc) {
        dd_error_prefix(err, "%s", name);
        dd_labels_free(l);
    }
    return rc;
}

int dd_labels_load(const char *path, dd_labels *l, dd_error *err) {
    dd_labels_init(l);
    FILE *f = fopen(path, "rb");
    if (!f) return dd_fail(err, DD_ERR_IO, "%s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > LABELS_MAX_BYTES) {
        fclose(f);
        return dd_fail(err, DD_ERR_RANGE, "%s: not a regular file of at most %zu bytes", path, LABELS_MAX_BYTES);
    }
    size_t size = (size_t)st.st_size;
    char *text = dd_malloc(size + 1, 1, err);
    if (!text) {
        fclose(f);
        return -1;
    }
    size_t got = fread(text, 1, size, f);
    bool bad = ferror(f) || got != size;
    fclose(f);
    int rc = bad ? dd_fail(err, DD_ERR_IO, "%s: cannot read it", path) : dd_labels_parse(text, size, path, l, err);
    free(text);
    return rc;
}

/* ---- writing: one line per cluster and per mark, so that the file reads and diffs well ---- */

static void put_drawing(cJSON *o, const dd_labels_drawing *d) {
    char key[24];
    snprintf(key, sizeof key, "%llu", (unsigned long long)d->key_id);
    cJSON_AddStringToObject(o, "key_id", key);
    if (d->true_class[0]) cJSON_AddStringToObject(o, "true", d->true_class);
}

typedef struct text_buf {
    char *s;
    size_t len, cap;
    bool failed;
} text_buf;

static void put(text_buf *b, const char *s) {
    size_t n = strlen(s);
    if (b->failed) return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1) cap *= 2;
        char *g = realloc(b->s, cap);
        if (!g) {
            b->failed = true;
            return;
        }
        b->s = g;
        b->cap = cap;
    }
    memcpy(b->s + b->len, s, n + 1);
    b->len += n;
}

/* Prints o on one line into b and deletes it. */
static void put_json(text_buf *b, cJSON *o) {
    char *s = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    if (!s)
        b->failed = true;
    else
        put(b, s);
    free(s);
}

char *dd_labels_to_json(const dd_labels *l, dd_error *err) {
    text_buf b = {0};
    char line[128];
    snprintf(line, sizeof line, "{\n  \"format\": \"%s\",\n  \"version\": %d,\n", FORMAT_NAME, DD_LABELS_VERSION);
    put(&b, line);
    if (l->source) {
        put(&b, "  \"source\": ");
        put_json(&b, cJSON_CreateString(l->source));
        put(&b, ",\n");
    }
    put(&b, "  \"clusters\": [");
    for (size_t i = 0; i < l->n_clusters; i++) {
        const dd_labels_cluster *c = &l->clusters[i];
        cJSON *o = cJSON_CreateObject();
        if (o) {
            cJSON_AddStringToObject(o, "method", c->method);
            cJSON_AddNumberToObject(o, "cluster", c->cluster);
            cJSON_AddStringToObject(o, "name", c->name);
            cJSON *m = cJSON_AddArrayToObject(o, "members");
            for (size_t k = 0; m && k < c->n_members; k++) {
                cJSON *d = cJSON_CreateObject();
                if (d) put_drawing(d, &c->members[k]);
                if (!d || !cJSON_AddItemToArray(m, d)) b.failed = true;
            }
        }
        put(&b, i ? ",\n    " : "\n    ");
        put_json(&b, o);
    }
    put(&b, l->n_clusters ? "\n  ],\n  \"mislabelled\": [" : "],\n  \"mislabelled\": [");
    for (size_t i = 0; i < l->n_marks; i++) {
        cJSON *o = cJSON_CreateObject();
        if (o) {
            put_drawing(o, &l->marks[i].drawing);
            if (l->marks[i].note) cJSON_AddStringToObject(o, "note", l->marks[i].note);
        }
        put(&b, i ? ",\n    " : "\n    ");
        put_json(&b, o);
    }
    put(&b, l->n_marks ? "\n  ]\n}\n" : "]\n}\n");
    if (b.failed) {
        free(b.s);
        dd_fail(err, DD_ERR_NOMEM, "out of memory writing the labels");
        return NULL;
    }
    return b.s;
}

int dd_labels_save(const char *path, const dd_labels *l, dd_error *err) {
    char *text = dd_labels_to_json(l, err);
    if (!text) return -1;
    dd_atomic_file a;
    int rc = -1;
    if (!dd_atomic_open(&a, path, err)) {
        fputs(text, a.f);
        rc = dd_atomic_commit(&a, err);
    }
    free(text);
    return rc;
}

/* ---- the re-clustering rule ---- */

/* v's drawings in order of (key_id, class), to find a member's cluster. */
typedef struct view_index {
    const dd_labels_view *v;
    size_t *order;
} view_index;

static const dd_labels_view *cmp_view;
static int cmp_view_at(size_t a, size_t b) {
    const dd_labels_view *v = cmp_view;
    if (v->key_id[a] != v->key_id[b]) return v->key_id[a] < v->key_id[b] ? -1 : 1;
    int c = v->true_class ? strcmp(v->true_class[a], v->true_class[b]) : 0;
    return c ? c : (a > b) - (a < b);
}
static int cmp_view_index(const void *x, const void *y) { return cmp_view_at(*(const size_t *)x, *(const size_t *)y); }

static int view_index_make(view_index *x, const dd_labels_view *v, dd_error *err) {
    x->v = v;
    if (!(x->order = dd_malloc(v->n ? v->n : 1, sizeof *x->order, err))) return -1;
    for (size_t i = 0; i < v->n; i++) x->order[i] = i;
    cmp_view = v;
    qsort(x->order, v->n, sizeof *x->order, cmp_view_index);
    return 0;
}

/* The drawing of v that d names (its class too, when both say one), or -1. */
static long view_find(const view_index *x, const dd_labels_drawing *d) {
    const dd_labels_view *v = x->v;
    size_t lo = 0, hi = v->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v->key_id[x->order[mid]] < d->key_id)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t i = lo; i < v->n && v->key_id[x->order[i]] == d->key_id; i++)
        if (!d->true_class[0] || !v->true_class || !strcmp(v->true_class[x->order[i]], d->true_class))
            return (long)x->order[i];
    return -1;
}

/* follows[j] and score[j] (members in the cluster followed) for every name of `method`. */
static int follow_all(const dd_labels *l, const char *method, const view_index *x, int *follows, size_t *score,
                      dd_error *err) {
    const dd_labels_view *v = x->v;
    size_t *count = dd_calloc(v->k > 0 ? (size_t)v->k : 1, sizeof *count, err);
    if (!count) return -1;
    for (size_t j = 0; j < l->n_clusters; j++) {
        const dd_labels_cluster *c = &l->clusters[j];
        follows[j] = -1;
        score[j] = 0;
        if (strcmp(c->method, method)) continue;
        if (c->n_members == 0) { /* written by hand, without members: its own id */
            if (c->cluster >= 0 && c->cluster < v->k) follows[j] = c->cluster;
            continue;
        }
        memset(count, 0, (size_t)(v->k > 0 ? v->k : 1) * sizeof *count);
        for (size_t m = 0; m < c->n_members; m++) {
            long i = view_find(x, &c->members[m]);
            if (i >= 0 && v->cluster[i] >= 0 && v->cluster[i] < v->k) count[v->cluster[i]]++;
        }
        for (int k = 0; k < v->k; k++)
            if (count[k] > score[j]) {
                score[j] = count[k];
                follows[j] = k;
            }
    }
    free(count);
    return 0;
}

int dd_labels_name_clusters(const dd_labels *l, const char *method, const dd_labels_view *v, int *follows,
                            const char **names, dd_error *err) {
    view_index x = {0};
    int *f = dd_malloc(l->n_clusters ? l->n_clusters : 1, sizeof *f, err);
    size_t *score = dd_malloc(l->n_clusters ? l->n_clusters : 1, sizeof *score, err);
    int rc = -1;
    if (f && score && !view_index_make(&x, v, err) && !follow_all(l, method, &x, f, score, err)) {
        for (int k = 0; names && k < v->k; k++) {
            names[k] = NULL;
            size_t best = 0;
            for (size_t j = 0; j < l->n_clusters; j++)
                if (f[j] == k && (!names[k] || score[j] > best)) {
                    names[k] = l->clusters[j].name;
                    best = score[j];
                }
        }
        if (follows) memcpy(follows, f, l->n_clusters * sizeof *f);
        rc = 0;
    }
    free(x.order);
    free(f);
    free(score);
    return rc;
}

const char *dd_labels_cluster_name(const dd_labels *l, const char *method, int cluster, size_t n,
                                   const uint64_t *key_ids, const char *const *true_class, const int32_t *clusters,
                                   int k) {
    if (!l || cluster < 0 || cluster >= k) return NULL;
    const char **names = calloc((size_t)k, sizeof *names);
    if (!names) return NULL;
    dd_labels_view v = {.n = n, .key_id = key_ids, .true_class = true_class, .cluster = clusters, .k = k};
    dd_error err;
    const char *name = dd_labels_name_clusters(l, method, &v, NULL, names, &err) ? NULL : names[cluster];
    free(names);
    return name;
}

/* ---- a person's edits ---- */

static void set_drawing(dd_labels_drawing *d, const dd_labels_view *v, size_t i) {
    d->key_id = v->key_id[i];
    snprintf(d->true_class, sizeof d->true_class, "%s", v->true_class ? v->true_class[i] : "");
}

static int add_cluster(dd_labels *l, const char *method, const dd_labels_view *v, int k, const char *name,
                       dd_error *err) {
    dd_labels_cluster *grown = dd_realloc(l->clusters, l->n_clusters + 1, sizeof *grown, err);
    if (!grown) return -1;
    l->clusters = grown;
    dd_labels_cluster *c = &l->clusters[l->n_clusters];
    memset(c, 0, sizeof *c);
    snprintf(c->method, sizeof c->method, "%s", method);
    c->cluster = k;
    if (!(c->name = dd_strdup(name, err))) return -1;
    size_t n = 0;
    for (size_t i = 0; i < v->n; i++) n += v->cluster[i] == k;
    if (n && !(c->members = dd_malloc(n, sizeof *c->members, err))) {
        free(c->name);
        return -1;
    }
    for (size_t i = 0; i < v->n; i++)
        if (v->cluster[i] == k) set_drawing(&c->members[c->n_members++], v, i);
    l->n_clusters++;
    return 0;
}

int dd_labels_update(dd_labels *l, const char *method, const dd_labels_view *v, const char *const *names,
                     const dd_labels_drawing *marks, const char *const *notes, size_t n_marks, dd_error *err) {
    if (check_method(method, "method", err)) return -1;
    for (int k = 0; names && k < v->k; k++) {
        char field[48];
        snprintf(field, sizeof field, "names[%d]", k);
        if (names[k] && dd_labels_check_text(names[k], DD_LABELS_NAME_MAX, field, err)) return -1;
    }
    view_index x = {0};
    int *follows = dd_malloc(l->n_clusters ? l->n_clusters : 1, sizeof *follows, err);
    int rc = -1;
    if (!follows || view_index_make(&x, v, err)) goto done;
    for (size_t m = 0; m < n_marks; m++) {
        char field[48];
        snprintf(field, sizeof field, "mislabelled[%zu]", m);
        if (!marks[m].true_class[0] || view_find(&x, &marks[m]) < 0) {
            dd_fail(err, DD_ERR_RANGE, "%s: key_id %llu (%s) is not one of the clustered drawings", field,
                    (unsigned long long)marks[m].key_id, marks[m].true_class[0] ? marks[m].true_class : "no class");
            goto done;
        }
        snprintf(field, sizeof field, "mislabelled[%zu].note", m);
        if (notes && notes[m] && dd_labels_check_text(notes[m], DD_LABELS_NOTE_MAX, field, err)) goto done;
        for (size_t p = 0; p < m; p++)
            if (!cmp_drawing(&marks[p], &marks[m])) {
                dd_fail(err, DD_ERR_MALFORMED, "%s: the same drawing as mislabelled[%zu]", field, p);
                goto done;
            }
    }
    if (names && dd_labels_name_clusters(l, method, v, follows, NULL, err)) goto done;
    /* the names said replace those following their clusters */
    size_t kept = 0;
    for (size_t j = 0; j < l->n_clusters; j++) {
        bool replaced = names && follows[j] >= 0 && names[follows[j]];
        if (replaced)
            cluster_free(&l->clusters[j]);
        else
            l->clusters[kept++] = l->clusters[j];
    }
    l->n_clusters = kept;
    for (int k = 0; names && k < v->k; k++)
        if (names[k] && names[k][0] && add_cluster(l, method, v, k, names[k], err)) goto done;
    /* the marks of the clustered drawings are the ones given now */
    kept = 0;
    for (size_t j = 0; j < l->n_marks; j++) {
        if (view_find(&x, &l->marks[j].drawing) >= 0)
            free(l->marks[j].note);
        else
            l->marks[kept++] = l->marks[j];
    }
    l->n_marks = kept;
    if (n_marks) {
        dd_labels_mark *grown = dd_realloc(l->marks, l->n_marks + n_marks, sizeof *grown, err);
        if (!grown) goto done;
        l->marks = grown;
        for (size_t m = 0; m < n_marks; m++) {
            dd_labels_mark *d = &l->marks[l->n_marks];
            d->drawing = marks[m];
            d->note = NULL;
            if (notes && notes[m] && notes[m][0] && !(d->note = dd_strdup(notes[m], err))) goto done;
            l->n_marks++;
        }
    }
    rc = 0;
done:
    free(x.order);
    free(follows);
    return rc;
}
