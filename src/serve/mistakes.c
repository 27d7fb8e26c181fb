/* The Mistakes view's data and RUNDIR/labels.json's one writer (mistakes.h). */
#define _POSIX_C_SOURCE 200809L /* getline, strdup */
#include "serve/mistakes.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "doodle/dataset.h"
#include "doodle/explain.h"
#include "doodle/files.h"
#include "doodle/labels.h"
#include "serve/api_json.h"
#include "serve/png_encode.h"
#include "doodle/alloc.h"
#include "util/csv_line.h"

#define N_METHODS 2
static const char *const METHODS[N_METHODS] = {"kmeans", "dbscan"};

typedef struct method_view {
    int32_t *cluster; /* [n] */
    int k;            /* clusters 0..k-1 */
    bool present;     /* labels.csv has the column */
} method_view;

struct serve_mistakes {
    const dd_model *m;
    char *run_dir, *dir, *labels_path;
    bool writable;
    char read_only_reason[300];
    char missing[700]; /* why there is nothing to show ("" when there is) */
    size_t n;
    uint64_t *record, *key_id;
    int *true_class, *predicted;
    const char **true_name; /* the model's names of true_class, for the labels view */
    char **png;             /* data: URIs of the drawings as the model saw them */
    method_view method[N_METHODS];
    pthread_mutex_t lock; /* one save at a time */
};

static int class_index(const dd_model *m, const char *name) {
    for (int c = 0; c < m->spec->classes; c++)
        if (!strcmp(m->class_names[c], name)) return c;
    return -1;
}

static int parse_int(const char *s, long long lo, long long hi, long long *out) {
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (!*s || *end || errno || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

static int grow(serve_mistakes *x, size_t *cap, dd_error *err) {
    size_t c = *cap ? 2 * *cap : 256;
    uint64_t *r = dd_realloc(x->record, c, sizeof *r, err);
    if (!r) return -1;
    x->record = r;
    uint64_t *k = dd_realloc(x->key_id, c, sizeof *k, err);
    if (!k) return -1;
    x->key_id = k;
    int *t = dd_realloc(x->true_class, c, sizeof *t, err);
    if (!t) return -1;
    x->true_class = t;
    int *p = dd_realloc(x->predicted, c, sizeof *p, err);
    if (!p) return -1;
    x->predicted = p;
    for (int j = 0; j < N_METHODS; j++) {
        int32_t *cl = dd_realloc(x->method[j].cluster, c, sizeof *cl, err);
        if (!cl) return -1;
        x->method[j].cluster = cl;
    }
    *cap = c;
    return 0;
}

/* labels.csv of `doodle explain clusters`: columns found by name (later columns are ignored). Returns -1 with err
 * (a message for the view) when it cannot be used. */
static int read_clusters(serve_mistakes *x, dd_error *err) {
    char path[4400];
    snprintf(path, sizeof path, "%s/labels.csv", x->dir);
    FILE *f = fopen(path, "r");
    if (!f)
        return dd_fail(err, DD_ERR_IO,
                       "no clusters at %s (%s): make them with doodle explain clusters -o %s, or "
                       "doodle report RUNDIR",
                       path, strerror(errno), x->dir);
    enum { C_INDEX, C_KEY, C_TRUE, C_PRED, C_KMEANS, C_DBSCAN, N_COLS };
    static const char *const names[N_COLS] = {"index", "key_id", "true", "predicted", "kmeans", "dbscan"};
    int at[N_COLS], n_fields = 0, rc = -1;
    char *line = NULL, *fields[64];
    size_t cap_line = 0, cap = 0;
    unsigned long lineno = 0;
    ssize_t len;
    while ((len = getline(&line, &cap_line, f)) >= 0) {
        lineno++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = '\0';
        if (!*line) continue;
        int n = util_csv_line_split(line, fields, 64);
        if (n < 0) {
            dd_fail(err, DD_ERR_MALFORMED, "%s:%lu: bad quoting, or more than 64 fields", path, lineno);
            goto done;
        }
        if (lineno == 1) {
            n_fields = n;
            for (int c = 0; c < N_COLS; c++) {
                at[c] = -1;
                for (int k = 0; k < n; k++)
                    if (!strcmp(fields[k], names[c])) at[c] = k;
                if (c < C_KMEANS && at[c] < 0) {
                    dd_fail(err, DD_ERR_MALFORMED, "%s:1: no %s column", path, names[c]);
                    goto done;
                }
            }
            x->method[0].present = at[C_KMEANS] >= 0;
            x->method[1].present = at[C_DBSCAN] >= 0;
            continue;
        }
        if (n != n_fields) {
            dd_fail(err, DD_ERR_MALFORMED, "%s:%lu: %d fields but the header has %d", path, lineno, n, n_fields);
            goto done;
        }
        if (x->n >= SERVE_MISTAKES_MAX_DRAWINGS) {
            dd_fail(err, DD_ERR_RANGE, "%s: more than %d drawings; the view shows at most that many", path,
                    SERVE_MISTAKES_MAX_DRAWINGS);
            goto done;
        }
        if (x->n == cap && grow(x, &cap, err)) goto done;
        size_t i = x->n;
        long long v;
        if (parse_int(fields[at[C_INDEX]], 0, INT64_MAX, &v)) {
            dd_fail(err, DD_ERR_MALFORMED, "%s:%lu: index '%.30s' is not a record number", path, lineno,
                    fields[at[C_INDEX]]);
            goto done;
        }
        x->record[i] = (uint64_t)v;
        if (dd_labels_parse_key_id(fields[at[C_KEY]], &x->key_id[i])) {
            dd_fail(err, DD_ERR_MALFORMED, "%s:%lu: key_id '%.30s' is not a number", path, lineno, fields[at[C_KEY]]);
            goto done;
        }
        x->true_class[i] = class_index(x->m, fields[at[C_TRUE]]);
        x->predicted[i] = class_index(x->m, fields[at[C_PRED]]);
        if (x->true_class[i] < 0 || x->predicted[i] < 0) {
            dd_fail(err, DD_ERR_MISMATCH,
                    "%s:%lu: class '%.64s' is not one of the model's: the clusters were made "
                    "with another model",
                    path, lineno, fields[at[x->true_class[i] < 0 ? C_TRUE : C_PRED]]);
            goto done;
        }
        for (int j = 0; j < N_METHODS; j++) {
            x->method[j].cluster[i] = -1;
            if (!x->method[j].present) continue;
            if (parse_int(fields[at[C_KMEANS + j]], -1, 100000, &v)) {
                dd_fail(err, DD_ERR_MALFORMED, "%s:%lu: %s '%.30s' is not a cluster number", path, lineno, METHODS[j],
                        fields[at[C_KMEANS + j]]);
                goto done;
            }
            x->method[j].cluster[i] = (int32_t)v;
            if (v + 1 > x->method[j].k) x->method[j].k = (int)v + 1;
        }
        x->n++;
    }
    if (ferror(f))
        dd_fail(err, DD_ERR_IO, "%s: %s", path, strerror(errno));
    else if (lineno == 0)
        dd_fail(err, DD_ERR_MALFORMED, "%s: empty", path);
    else if (x->n == 0)
        dd_fail(err, DD_ERR_EMPTY, "%s: no misclassified drawings: nothing to name", path);
    else
        rc = 0;
done:
    free(line);
    fclose(f);
    return rc;
}

/* The drawings as the model saw them, from the run's data set; their key_ids must be labels.csv's. */
static int render_drawings(serve_mistakes *x, dd_error *err) {
    char path[4400], data[4200];
    snprintf(path, sizeof path, "%s/dataset.txt", x->run_dir);
    FILE *f = fopen(path, "r");
    if (!f)
        return dd_fail(err, DD_ERR_IO, "%s: %s: which data set the run was trained on is not known", path,
                       strerror(errno));
    bool ok = fgets(data, sizeof data, f) != NULL;
    fclose(f);
    data[strcspn(data, "\r\n")] = '\0';
    if (!ok || !data[0]) return dd_fail(err, DD_ERR_MALFORMED, "%s: empty", path);
    dd_dataset *ds = dd_dataset_open(data, err);
    if (!ds) return -1;
    dd_image_set s = {0};
    int rc = -1;
    uint64_t count = dd_dataset_count(ds);
    for (size_t i = 0; i < x->n; i++) {
        dd_record_info info;
        if (x->record[i] >= count || dd_dataset_record_info(ds, x->record[i], &info) || info.key_id != x->key_id[i]) {
            dd_fail(err, DD_ERR_MISMATCH,
                    "%s/labels.csv: drawing %llu (key_id %llu) is not record %llu of %s: the "
                    "clusters were made on another data set",
                    x->dir, (unsigned long long)i, (unsigned long long)x->key_id[i], (unsigned long long)x->record[i],
                    data);
            goto done;
        }
    }
    if (dd_image_set_load(x->m, ds, x->record, x->n, &s, err)) goto done;
    if (!(x->png = dd_calloc(x->n, sizeof *x->png, err))) goto done;
    for (size_t i = 0; i < x->n; i++) {
        unsigned char *png;
        size_t size;
        if (serve_png_encode(s.pixels + i * (size_t)s.height * (size_t)s.width, s.height, s.width, 1, &png, &size, err))
            goto done;
        x->png[i] = serve_png_data_uri(png, size, err);
        free(png);
        if (!x->png[i]) goto done;
    }
    rc = 0;
done:
    dd_image_set_free(&s);
    dd_dataset_close(ds);
    return rc;
}

serve_mistakes *serve_mistakes_open(const char *run_dir, const char *clusters_dir, const dd_model *m, bool read_only,
                                    dd_error *err) {
    serve_mistakes *x = dd_calloc(1, sizeof *x, err);
    if (!x) return NULL;
    x->m = m;
    pthread_mutex_init(&x->lock, NULL);
    size_t n = strlen(run_dir) + 64;
    if (!(x->run_dir = dd_strdup(run_dir, err)) || !(x->labels_path = dd_malloc(n, 1, err))) goto fail;
    snprintf(x->labels_path, n, "%s/labels.json", run_dir);
    if (clusters_dir) {
        if (!(x->dir = dd_strdup(clusters_dir, err))) goto fail;
    } else {
        if (!(x->dir = dd_malloc(n, 1, err))) goto fail;
        snprintf(x->dir, n, "%s/explain/clusters", run_dir);
    }
    if (read_only)
        snprintf(x->read_only_reason, sizeof x->read_only_reason, "doodle serve was started with --read-only");
    else if (access(run_dir, W_OK) != 0)
        snprintf(x->read_only_reason, sizeof x->read_only_reason, "the run folder %.200s is not writable (%s)", run_dir,
                 strerror(errno));
    x->writable = !x->read_only_reason[0];
    dd_error why = {0};
    if (read_clusters(x, &why) == 0 && render_drawings(x, &why) == 0 &&
        (x->true_name = dd_malloc(x->n, sizeof *x->true_name, &why)))
        for (size_t i = 0; i < x->n; i++) x->true_name[i] = m->class_names[x->true_class[i]];
    if (why.msg[0]) {
        if (why.code == DD_ERR_NOMEM) {
            *err = why;
            goto fail;
        }
        snprintf(x->missing, sizeof x->missing, "%s", why.msg);
        fprintf(stderr, "doodle serve: the Mistakes view has nothing to show: %s\n", why.msg);
    }
    return x;
fail:
    serve_mistakes_close(x);
    return NULL;
}

void serve_mistakes_close(serve_mistakes *x) {
    if (!x) return;
    for (size_t i = 0; x->png && i < x->n; i++) free(x->png[i]);
    free(x->png);
    for (int j = 0; j < N_METHODS; j++) free(x->method[j].cluster);
    free(x->record);
    free(x->key_id);
    free(x->true_class);
    free(x->predicted);
    free(x->true_name);
    free(x->run_dir);
    free(x->dir);
    free(x->labels_path);
    pthread_mutex_destroy(&x->lock);
    free(x);
}

static dd_labels_view view_of(const serve_mistakes *x, int j) {
    return (dd_labels_view){.n = x->n,
                            .key_id = x->key_id,
                            .true_class = x->true_name,
                            .cluster = x->method[j].cluster,
                            .k = x->method[j].k};
}

/* RUNDIR/labels.json, or an empty one when there is none. */
static int load_labels(const serve_mistakes *x, dd_labels *l, dd_error *err) {
    if (access(x->labels_path, F_OK) != 0 && errno == ENOENT) {
        dd_labels_init(l);
        return 0;
    }
    return dd_labels_load(x->labels_path, l, err);
}

static void montage_name(char *buf, size_t size, int j, int c) {
    if (c < 0)
        snprintf(buf, size, "%s-noise.png", METHODS[j]);
    else
        snprintf(buf, size, "%s-%d.png", METHODS[j], c);
}

static bool has_montage(const serve_mistakes *x, int j, int c) {
    char name[64], path[4400];
    montage_name(name, sizeof name, j, c);
    struct stat st;
    return dd_path_join(path, sizeof path, x->dir, name, NULL) == 0 && stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* The drawings of a method's cluster c (-1: noise) as a list of drawing numbers. */
static cJSON *members_json(const serve_mistakes *x, int j, int c) {
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; a && i < x->n; i++)
        if (x->method[j].cluster[i] == c) cJSON_AddItemToArray(a, cJSON_CreateNumber((double)i));
    return a;
}

static bool method_json(const serve_mistakes *x, int j, const dd_labels *l, cJSON *methods, dd_error *err) {
    const method_view *mv = &x->method[j];
    if (!mv->present) return true;
    const char **names = dd_calloc(mv->k > 0 ? (size_t)mv->k : 1, sizeof *names, err);
    dd_labels_view v = view_of(x, j);
    if (!names || dd_labels_name_clusters(l, METHODS[j], &v, NULL, names, err)) {
        free(names);
        return false;
    }
    cJSON *o = cJSON_CreateObject(), *clusters = NULL;
    if (!o || !cJSON_AddItemToArray(methods, o)) {
        cJSON_Delete(o);
        free(names);
        dd_fail(err, DD_ERR_NOMEM, "out of memory building the clusters");
        return false;
    }
    bool ok = cJSON_AddStringToObject(o, "method", METHODS[j]) && cJSON_AddNumberToObject(o, "k", mv->k) &&
              (clusters = cJSON_AddArrayToObject(o, "clusters"));
    for (int c = -1; ok && c < mv->k; c++) {
        size_t size = 0;
        for (size_t i = 0; i < x->n; i++) size += mv->cluster[i] == c;
        if (c < 0 && size == 0) continue;
        cJSON *q = cJSON_CreateObject();
        ok = q && cJSON_AddItemToArray(clusters, q) && cJSON_AddNumberToObject(q, "cluster", c) &&
             cJSON_AddBoolToObject(q, "noise", c < 0) && cJSON_AddNumberToObject(q, "size", (double)size) &&
             cJSON_AddBoolToObject(q, "montage", has_montage(x, j, c)) &&
             cJSON_AddItemToObject(q, "name", c >= 0 && names[c] ? cJSON_CreateString(names[c]) : cJSON_CreateNull()) &&
             cJSON_AddItemToObject(q, "members", members_json(x, j, c));
    }
    free(names);
    if (!ok) dd_fail(err, DD_ERR_NOMEM, "out of memory building the clusters");
    return ok;
}

/* Marks of labels.json among the view's drawings: note (or "") per drawing, NULL when not marked. */
static const char **marks_of(const serve_mistakes *x, const dd_labels *l, size_t *others, dd_error *err) {
    const char **mark = dd_calloc(x->n ? x->n : 1, sizeof *mark, err);
    if (!mark) return NULL;
    *others = 0;
    for (size_t j = 0; j < l->n_marks; j++) {
        const dd_labels_drawing *d = &l->marks[j].drawing;
        bool found = false;
        for (size_t i = 0; i < x->n && !found; i++)
            if (x->key_id[i] == d->key_id && !strcmp(x->true_name[i], d->true_class)) {
                mark[i] = l->marks[j].note ? l->marks[j].note : "";
                found = true;
            }
        *others += !found;
    }
    return mark;
}

int serve_mistakes_json(serve_mistakes *x, char **out, dd_error *err) {
    *out = NULL;
    cJSON *o = cJSON_CreateObject();
    bool ok = o && cJSON_AddBoolToObject(o, "writable", x->writable) &&
              cJSON_AddItemToObject(o, "read_only_reason",
                                    x->writable ? cJSON_CreateNull() : cJSON_CreateString(x->read_only_reason)) &&
              cJSON_AddStringToObject(o, "source", x->dir) && cJSON_AddStringToObject(o, "labels", x->labels_path) &&
              cJSON_AddItemToObject(o, "missing", x->missing[0] ? cJSON_CreateString(x->missing) : cJSON_CreateNull());
    if (!ok || x->missing[0]) {
        *out = serve_json_finish(o, ok, err);
        return *out ? 200 : 500;
    }
    dd_labels l;
    dd_error lerr = {0};
    if (load_labels(x, &l, &lerr)) dd_labels_init(&l);
    ok = cJSON_AddItemToObject(o, "labels_error", lerr.msg[0] ? cJSON_CreateString(lerr.msg) : cJSON_CreateNull());
    size_t others = 0;
    const char **mark = ok ? marks_of(x, &l, &others, err) : NULL;
    cJSON *drawings = NULL, *methods = NULL;
    ok = mark && cJSON_AddNumberToObject(o, "other_marks", (double)others) &&
         (drawings = cJSON_AddArrayToObject(o, "drawings"));
    for (size_t i = 0; ok && i < x->n; i++) {
        cJSON *d = cJSON_CreateObject();
        char key[24];
        snprintf(key, sizeof key, "%llu", (unsigned long long)x->key_id[i]);
        ok = d && cJSON_AddItemToArray(drawings, d) && cJSON_AddNumberToObject(d, "index", (double)x->record[i]) &&
             cJSON_AddStringToObject(d, "key_id", key) &&
             cJSON_AddStringToObject(d, "true", x->m->class_names[x->true_class[i]]) &&
             cJSON_AddStringToObject(d, "predicted", x->m->class_names[x->predicted[i]]) &&
             cJSON_AddStringToObject(d, "png", x->png[i]) && cJSON_AddBoolToObject(d, "mislabelled", mark[i] != NULL) &&
             (!mark[i] || cJSON_AddStringToObject(d, "note", mark[i]));
    }
    ok = ok && (methods = cJSON_AddArrayToObject(o, "methods"));
    for (int j = 0; ok && j < N_METHODS; j++) ok = method_json(x, j, &l, methods, err);
    free(mark);
    dd_labels_free(&l);
    if (ok) {
        *out = serve_json_finish(o, true, err);
    } else {
        cJSON_Delete(o);
        if (!err->msg[0]) dd_fail(err, DD_ERR_NOMEM, "out of memory building the clusters");
    }
    return *out ? 200 : 500;
}

int serve_mistakes_montage(serve_mistakes *x, const char *method, const char *cluster, unsigned char **out,
                           size_t *size, dd_error *err) {
    int j = -1;
    for (int k = 0; k < N_METHODS; k++)
        if (method && !strcmp(method, METHODS[k])) j = k;
    long long c;
    if (j < 0 || !x->method[j].present) {
        dd_fail(err, DD_ERR_USAGE, "method: kmeans or dbscan (one the clustering has)");
        return 400;
    }
    if (!cluster || (strcmp(cluster, "noise") && parse_int(cluster, 0, x->method[j].k - 1, &c))) {
        dd_fail(err, DD_ERR_USAGE, "cluster: a number from 0 to %d, or noise", x->method[j].k - 1);
        return 400;
    }
    if (!strcmp(cluster, "noise")) c = -1;
    char name[64], path[4400];
    montage_name(name, sizeof name, j, (int)c);
    if (dd_path_join(path, sizeof path, x->dir, name, err)) return 500;
    FILE *f = fopen(path, "rb");
    if (!f) {
        dd_fail(err, DD_ERR_IO, "no montage %s (%s)", name, strerror(errno));
        return 404;
    }
    struct stat st;
    int status = 500;
    *out = NULL;
    if (fstat(fileno(f), &st) || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > SERVE_MONTAGE_MAX_BYTES) {
        dd_fail(err, DD_ERR_RANGE, "%s is not a regular file of at most %u bytes", name, SERVE_MONTAGE_MAX_BYTES);
    } else if ((*out = dd_malloc((size_t)st.st_size ? (size_t)st.st_size : 1, 1, err))) {
        *size = fread(*out, 1, (size_t)st.st_size, f);
        if (*size == (size_t)st.st_size && !ferror(f))
            status = 200;
        else
            dd_fail(err, DD_ERR_IO, "cannot read %s", name);
    }
    fclose(f);
    if (status != 200) {
        free(*out);
        *out = NULL;
    }
    return status;
}

int serve_labels_json(serve_mistakes *x, char **out, dd_error *err) {
    dd_labels l;
    if (load_labels(x, &l, err)) return 409;
    *out = dd_labels_to_json(&l, err);
    dd_labels_free(&l);
    return *out ? 200 : 500;
}

/* ---- a save ---- */

typedef struct save_request {
    int j;              /* method */
    const char **names; /* [k], NULL: not said */
    dd_labels_drawing *marks;
    const char **notes;
    size_t n_marks;
} save_request;

static int bad(dd_error *err, const char *fmt, const char *field) {
    dd_fail(err, DD_ERR_MALFORMED, fmt, field);
    return 400;
}

static int only_keys(const cJSON *o, const char *const *keys, const char *field, dd_error *err) {
    for (const cJSON *c = o->child; c; c = c->next) {
        bool known = false;
        for (const char *const *k = keys; *k && !known; k++) known = !strcmp(c->string, *k);
        if (!known) {
            dd_fail(err, DD_ERR_MALFORMED, "%s%s: not a field a save takes", field, c->string);
            return 400;
        }
    }
    return 0;
}

/* The body -> r (pointing into root). Returns 0, or the HTTP status of what is wrong. */
static int parse_save(const serve_mistakes *x, const cJSON *root, save_request *r, dd_error *err) {
    static const char *const keys[] = {"method", "names", "mislabelled", NULL};
    if (!cJSON_IsObject(root)) return bad(err, "%snot an object {\"method\", \"names\", \"mislabelled\"}", "");
    int st = only_keys(root, keys, "", err);
    if (st) return st;
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(root, "method");
    r->j = -1;
    for (int k = 0; k < N_METHODS; k++)
        if (cJSON_IsString(m) && !strcmp(m->valuestring, METHODS[k]) && x->method[k].present) r->j = k;
    if (r->j < 0) return bad(err, "%s: kmeans or dbscan (one the clustering has)", "method");
    int k = x->method[r->j].k;
    if (!(r->names = dd_calloc(k > 0 ? (size_t)k : 1, sizeof *r->names, err))) return 500;
    const cJSON *names = cJSON_GetObjectItemCaseSensitive(root, "names");
    if (names && !cJSON_IsArray(names)) return bad(err, "%s: not a list of {\"cluster\", \"name\"}", "names");
    size_t i = 0;
    for (const cJSON *e = names ? names->child : NULL; e; e = e->next, i++) {
        char field[64];
        snprintf(field, sizeof field, "names[%zu]", i);
        static const char *const nkeys[] = {"cluster", "name", NULL};
        if (!cJSON_IsObject(e)) return bad(err, "%s: not an object {\"cluster\", \"name\"}", field);
        char prefix[72];
        snprintf(prefix, sizeof prefix, "%s.", field);
        if ((st = only_keys(e, nkeys, prefix, err))) return st;
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(e, "cluster"),
                    *n = cJSON_GetObjectItemCaseSensitive(e, "name");
        if (!cJSON_IsNumber(c) || c->valuedouble < 0 || c->valuedouble >= k || c->valuedouble != (int)c->valuedouble) {
            dd_fail(err, DD_ERR_RANGE, "%s.cluster: a cluster number from 0 to %d", field, k - 1);
            return 400;
        }
        if (!cJSON_IsString(n)) return bad(err, "%s.name: not a string", field);
        snprintf(prefix, sizeof prefix, "%s.name", field);
        if (dd_labels_check_text(n->valuestring, DD_LABELS_NAME_MAX, prefix, err)) return 400;
        if (r->names[(int)c->valuedouble]) {
            dd_fail(err, DD_ERR_MALFORMED, "%s: cluster %d is named twice", field, (int)c->valuedouble);
            return 400;
        }
        r->names[(int)c->valuedouble] = n->valuestring;
    }
    const cJSON *marks = cJSON_GetObjectItemCaseSensitive(root, "mislabelled");
    if (!marks) return 0;
    if (!cJSON_IsArray(marks)) return bad(err, "%s: not a list of {\"drawing\", \"note\"}", "mislabelled");
    size_t n = (size_t)cJSON_GetArraySize(marks);
    if (n > x->n) {
        dd_fail(err, DD_ERR_RANGE, "mislabelled: %zu drawings, but only %zu are clustered", n, x->n);
        return 400;
    }
    if (n && (!(r->marks = dd_calloc(n, sizeof *r->marks, err)) || !(r->notes = dd_calloc(n, sizeof *r->notes, err))))
        return 500;
    i = 0;
    for (const cJSON *e = marks->child; e; e = e->next, i++) {
        char field[64], prefix[72];
        snprintf(field, sizeof field, "mislabelled[%zu]", i);
        static const char *const mkeys[] = {"drawing", "note", NULL};
        if (!cJSON_IsObject(e)) return bad(err, "%s: not an object {\"drawing\", \"note\"}", field);
        snprintf(prefix, sizeof prefix, "%s.", field);
        if ((st = only_keys(e, mkeys, prefix, err))) return st;
        const cJSON *d = cJSON_GetObjectItemCaseSensitive(e, "drawing"),
                    *note = cJSON_GetObjectItemCaseSensitive(e, "note");
        if (!cJSON_IsNumber(d) || d->valuedouble < 0 || d->valuedouble >= (double)x->n ||
            d->valuedouble != (double)(size_t)d->valuedouble) {
            dd_fail(err, DD_ERR_RANGE, "%s.drawing: a drawing number from 0 to %zu", field, x->n - 1);
            return 400;
        }
        size_t at = (size_t)d->valuedouble;
        r->marks[i].key_id = x->key_id[at];
        snprintf(r->marks[i].true_class, sizeof r->marks[i].true_class, "%s", x->true_name[at]);
        if (note && !cJSON_IsString(note)) return bad(err, "%s.note: not a string", field);
        r->notes[i] = note ? note->valuestring : NULL;
        r->n_marks = i + 1;
    }
    return 0;
}

int serve_labels_save(serve_mistakes *x, const char *body, size_t len, char **out, dd_error *err) {
    *out = NULL;
    if (!x->writable) {
        dd_fail(err, DD_ERR_USAGE, "labels are read-only here: %s", x->read_only_reason);
        return 403;
    }
    if (x->missing[0]) {
        dd_fail(err, DD_ERR_USAGE, "nothing to label: %s", x->missing);
        return 404;
    }
    cJSON *root = cJSON_ParseWithLength(body, len);
    if (!root) {
        dd_fail(err, DD_ERR_MALFORMED, "the body is not JSON");
        return 400;
    }
    save_request r = {0};
    int status = parse_save(x, root, &r, err);
    if (status == 0) {
        pthread_mutex_lock(&x->lock); /* read, change, write: one save at a time */
        dd_labels l;
        dd_labels_view v = view_of(x, r.j);
        if (load_labels(x, &l, err)) {
            dd_error_prefix(err, "the labels file cannot be read, so it is not overwritten (fix or remove it)");
            status = 409;
        } else {
            if (dd_labels_update(&l, METHODS[r.j], &v, r.names, r.marks, r.notes, r.n_marks, err)) {
                status = err->code == DD_ERR_NOMEM ? 500 : 400;
            } else {
                free(l.source);
                l.source = strdup(x->dir); /* for people only: NULL leaves it out */
                if (dd_labels_save(x->labels_path, &l, err)) status = 500;
            }
            if (!status) {
                cJSON *o = cJSON_CreateObject();
                bool ok = o && cJSON_AddStringToObject(o, "saved", x->labels_path) &&
                          cJSON_AddNumberToObject(o, "clusters", (double)l.n_clusters) &&
                          cJSON_AddNumberToObject(o, "mislabelled", (double)l.n_marks);
                status = (*out = serve_json_finish(o, ok, err)) ? 200 : 500;
            }
            dd_labels_free(&l);
        }
        pthread_mutex_unlock(&x->lock);
    }
    free(r.names);
    free(r.marks);
    free(r.notes);
    cJSON_Delete(root);
    return status;
}
