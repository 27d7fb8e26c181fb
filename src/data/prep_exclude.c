/* prep --exclude FILE: the drawings to leave out, read from CSV files with a key_id column (explain quality's
 * contradicted.csv, explain clusters' labels.csv) or JSON (a labels.json's "mislabelled" list, or a plain array of
 * key_ids). An entry names a key_id and, when the file says it, the drawing's class; an entry with a class matches
 * only that class's drawing (in .npy sets the key_id is a row number, the same in every class).
 *
 * Memory stays small: the entries (24 bytes each) sorted by key_id, and a u64_set of the key_ids that turns away
 * nearly every record without a search. */
#define _POSIX_C_SOURCE 200809L /* getline */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data/prep_internal.h"
#include "doodle/labels.h"
#include "doodle/alloc.h"
#include "util/csv_line.h"
#include "util/u64_set.h"

#define EXCLUDE_MAX_ENTRIES 50000000u
#define EXCLUDE_MAX_LINE ((size_t)1 << 20)
#define EXCLUDE_MAX_JSON ((size_t)256 << 20)
#define JSON_EXACT_MAX 9007199254740992.0 /* 2^53 */

typedef struct entry {
    uint64_t key_id;
    uint32_t cls;  /* 1 + index into names; 0: any class */
    uint32_t seen; /* a record it names reached the set */
} entry;

struct prep_exclude {
    entry *e;
    size_t n, cap;
    char (*names)[DD_WORD_MAX];
    uint32_t n_names;
    util_u64_set keys;
    char classless[4200]; /* "FILE:LINE" of the first entry without a class, "" when none */
};

static int add_entry(prep_exclude *x, uint64_t key, const char *cls, const char *where, dd_error *err) {
    if (x->n >= EXCLUDE_MAX_ENTRIES)
        return dd_fail(err, DD_ERR_RANGE, "%s: more than %u drawings listed to exclude", where, EXCLUDE_MAX_ENTRIES);
    uint32_t c = 0;
    if (cls && *cls) {
        if (strlen(cls) >= DD_WORD_MAX)
            return dd_fail(err, DD_ERR_RANGE, "%s: class name of %zu bytes (at most %d)", where, strlen(cls),
                           DD_WORD_MAX - 1);
        for (uint32_t k = 0; k < x->n_names && !c; k++)
            if (!strcmp(x->names[k], cls)) c = k + 1;
        if (!c) {
            char(*g)[DD_WORD_MAX] = dd_realloc(x->names, x->n_names + 1, sizeof *g, err);
            if (!g) return -1;
            x->names = g;
            snprintf(x->names[x->n_names], DD_WORD_MAX, "%s", cls);
            c = ++x->n_names;
        }
    } else if (!x->classless[0]) {
        snprintf(x->classless, sizeof x->classless, "%s", where);
    }
    if (x->n == x->cap) {
        size_t cap = x->cap ? 2 * x->cap : 256;
        entry *g = dd_realloc(x->e, cap, sizeof *g, err);
        if (!g) return -1;
        x->e = g;
        x->cap = cap;
    }
    x->e[x->n++] = (entry){key, c, 0};
    return util_u64_set_add(&x->keys, key, err) < 0 ? -1 : 0;
}

/* ---- CSV: a header naming key_id (and a class column: true, label, class or word), RFC 4180 quoting ---- */

static void chomp(char *s, ssize_t *len) {
    while (*len > 0 && (s[*len - 1] == '\n' || s[*len - 1] == '\r')) s[--*len] = '\0';
}

static int load_csv(prep_exclude *x, const char *path, FILE *f, dd_error *err) {
    enum { MAX_FIELDS = 256 };
    char *line = NULL, *fields[MAX_FIELDS], where[4200];
    size_t cap = 0;
    ssize_t len;
    int key_col = -1, cls_col = -1, n_cols = 0, rc = -1;
    unsigned long lineno = 0;
    static const char *const class_cols[] = {"true", "label", "class", "word"};
    int cls_rank = 99;
    while ((len = getline(&line, &cap, f)) >= 0) {
        lineno++;
        snprintf(where, sizeof where, "%s:%lu", path, lineno);
        if ((size_t)len > EXCLUDE_MAX_LINE) {
            dd_fail(err, DD_ERR_RANGE, "%s: a line of %zd bytes (at most %zu)", where, len, EXCLUDE_MAX_LINE);
            goto done;
        }
        if (memchr(line, '\0', (size_t)len)) {
            dd_fail(err, DD_ERR_MALFORMED, "%s: a NUL byte: not a CSV text file", where);
            goto done;
        }
        chomp(line, &len);
        char *text = line;
        if (lineno == 1 && !strncmp(text, "\xef\xbb\xbf", 3)) text += 3; /* a byte order mark */
        if (key_col < 0 && lineno > 1) break;
        if (lineno > 1 && !*text) continue; /* a blank line (a file's last) */
        int n = util_csv_line_split(text, fields, MAX_FIELDS);
        if (n < 0) {
            dd_fail(err, DD_ERR_MALFORMED, "%s: bad quoting, or more than %d fields", where, MAX_FIELDS);
            goto done;
        }
        if (lineno == 1) {
            n_cols = n;
            for (int k = 0; k < n; k++) {
                if (!strcmp(fields[k], "key_id")) key_col = k;
                for (int r = 0; r < 4; r++)
                    if (!strcmp(fields[k], class_cols[r]) && r < cls_rank) {
                        cls_rank = r;
                        cls_col = k;
                    }
            }
            if (key_col < 0) {
                dd_fail(err, DD_ERR_MALFORMED, "%s: the header has no key_id column (e.g. index,key_id,split,label,…)",
                        where);
                goto done;
            }
            continue;
        }
        if (n != n_cols) {
            dd_fail(err, DD_ERR_MALFORMED, "%s: %d fields but the header has %d", where, n, n_cols);
            goto done;
        }
        uint64_t key;
        if (dd_labels_parse_key_id(fields[key_col], &key)) {
            dd_fail(err, DD_ERR_MALFORMED, "%s: key_id \"%.40s\" is not a whole number from 0 to 2^64-1", where,
                    fields[key_col]);
            goto done;
        }
        const char *cls = cls_col >= 0 ? fields[cls_col] : NULL;
        if (cls && !*cls) {
            dd_fail(err, DD_ERR_MALFORMED, "%s: column %s is empty", where, class_cols[cls_rank]);
            goto done;
        }
        if (add_entry(x, key, cls, where, err)) goto done;
    }
    if (ferror(f))
        dd_fail(err, DD_ERR_IO, "%s: %s", path, strerror(errno));
    else if (lineno == 0)
        dd_fail(err, DD_ERR_MALFORMED, "%s: empty (a CSV needs a header with key_id)", path);
    else
        rc = 0;
done:
    free(line);
    return rc;
}

/* ---- JSON: a labels.json (its "mislabelled" list), or an array of key_ids or {"key_id", "true"} objects ---- */

static int json_item(prep_exclude *x, const cJSON *it, const char *path, size_t i, dd_error *err) {
    char where[4200];
    snprintf(where, sizeof where, "%s: [%zu]", path, i);
    const cJSON *key = it, *cls = NULL;
    if (cJSON_IsObject(it)) {
        key = cJSON_GetObjectItemCaseSensitive(it, "key_id");
        cls = cJSON_GetObjectItemCaseSensitive(it, "true");
        if (cls && (!cJSON_IsString(cls) || !cls->valuestring[0]))
            return dd_fail(err, DD_ERR_MALFORMED, "%s.true: not a class name", where);
    }
    uint64_t k;
    if (cJSON_IsString(key)) {
        if (dd_labels_parse_key_id(key->valuestring, &k))
            return dd_fail(err, DD_ERR_MALFORMED, "%s: \"%.40s\" is not a key_id", where, key->valuestring);
    } else if (cJSON_IsNumber(key)) {
        double d = key->valuedouble;
        if (!(d >= 0 && d <= JSON_EXACT_MAX) || d != (double)(uint64_t)d)
            return dd_fail(err, DD_ERR_RANGE,
                           "%s: %g is not a whole number from 0 to 2^53 (write larger key_ids as "
                           "strings)",
                           where, d);
        k = (uint64_t)d;
    } else {
        return dd_fail(err, DD_ERR_MALFORMED, "%s: not a key_id (a string of digits or a number)%s", where,
                       cJSON_IsObject(it) ? " in its key_id field" : "");
    }
    return add_entry(x, k, cls ? cls->valuestring : NULL, where, err);
}

static int load_json(prep_exclude *x, const char *path, FILE *f, dd_error *err) {
    struct stat st;
    if (fstat(fileno(f), &st) || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > EXCLUDE_MAX_JSON)
        return dd_fail(err, DD_ERR_RANGE, "%s: not a regular file of at most %zu bytes", path, EXCLUDE_MAX_JSON);
    size_t size = (size_t)st.st_size;
    char *text = dd_malloc(size + 1, 1, err);
    if (!text) return -1;
    if (fread(text, 1, size, f) != size) {
        free(text);
        return dd_fail(err, DD_ERR_IO, "%s: cannot read it", path);
    }
    text[size] = '\0';
    int rc = -1;
    size_t i = 0;
    const char *p = text + strspn(text, " \t\r\n");
    if (*p == '{') { /* a labels file: checked whole, then its marks */
        dd_labels l;
        if (dd_labels_parse(text, size, path, &l, err) == 0) {
            rc = 0;
            char where[4200];
            for (i = 0; i < l.n_marks && !rc; i++) {
                snprintf(where, sizeof where, "%s: mislabelled[%zu]", path, i);
                rc = add_entry(x, l.marks[i].drawing.key_id, l.marks[i].drawing.true_class, where, err);
            }
            dd_labels_free(&l);
        }
    } else {
        const char *end = NULL;
        cJSON *root = cJSON_ParseWithLengthOpts(text, size, &end, false);
        if (!root || !cJSON_IsArray(root)) {
            int line = 1;
            for (const char *q = text; root == NULL && end && q < end && q < text + size; q++) line += *q == '\n';
            if (!root)
                dd_fail(err, DD_ERR_MALFORMED, "%s:%d: not valid JSON", path, line);
            else
                dd_fail(err, DD_ERR_MALFORMED, "%s: not a list of key_ids, nor an object of doodle labels", path);
        } else {
            rc = 0;
            for (const cJSON *it = root->child; it && !rc; it = it->next, i++) rc = json_item(x, it, path, i, err);
        }
        cJSON_Delete(root);
    }
    free(text);
    return rc;
}

static int cmp_entry(const void *a, const void *b) {
    const entry *x = a, *y = b;
    if (x->key_id != y->key_id) return x->key_id < y->key_id ? -1 : 1;
    return (x->cls > y->cls) - (x->cls < y->cls);
}

static bool is_json(const char *path) {
    size_t n = strlen(path);
    return n >= 5 && !strcmp(path + n - 5, ".json");
}

prep_exclude *prep_exclude_load(const char *const *paths, size_t n_paths, dd_error *err) {
    prep_exclude *x = dd_calloc(1, sizeof *x, err);
    if (!x) return NULL;
    util_u64_set_init(&x->keys);
    for (size_t i = 0; i < n_paths; i++) {
        FILE *f = fopen(paths[i], "rb");
        if (!f) {
            dd_fail(err, DD_ERR_IO, "--exclude %s: %s", paths[i], strerror(errno));
            prep_exclude_free(x);
            return NULL;
        }
        int rc = is_json(paths[i]) ? load_json(x, paths[i], f, err) : load_csv(x, paths[i], f, err);
        fclose(f);
        if (rc) {
            dd_error_prefix(err, "--exclude");
            prep_exclude_free(x);
            return NULL;
        }
    }
    qsort(x->e, x->n, sizeof *x->e, cmp_entry);
    size_t kept = 0; /* the same drawing listed twice (in two files) counts once */
    for (size_t i = 0; i < x->n; i++)
        if (!kept || cmp_entry(&x->e[i], &x->e[kept - 1])) x->e[kept++] = x->e[i];
    x->n = kept;
    return x;
}

bool prep_exclude_hit(prep_exclude *x, const char *class_name, uint64_t key_id) {
    if (!util_u64_set_contains(&x->keys, key_id)) return false;
    size_t lo = 0, hi = x->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (x->e[mid].key_id < key_id)
            lo = mid + 1;
        else
            hi = mid;
    }
    bool hit = false;
    for (size_t i = lo; i < x->n && x->e[i].key_id == key_id; i++)
        if (!x->e[i].cls || !strcmp(x->names[x->e[i].cls - 1], class_name)) {
            x->e[i].seen = 1;
            hit = true;
        }
    return hit;
}

uint64_t prep_exclude_listed(const prep_exclude *x) { return x->n; }

uint64_t prep_exclude_unseen(const prep_exclude *x) {
    uint64_t n = 0;
    for (size_t i = 0; i < x->n; i++) n += !x->e[i].seen;
    return n;
}

const char *prep_exclude_classless(const prep_exclude *x) { return x->classless[0] ? x->classless : NULL; }

void prep_exclude_free(prep_exclude *x) {
    if (!x) return;
    free(x->e);
    free(x->names);
    util_u64_set_free(&x->keys);
    free(x);
}
