/* data_csv_header / data_csv_parse: one RFC 4180 record of a Kaggle Quick, Draw! CSV -> dd_drawing.
 *
 * Fields are split in one pass that checks the quoting (a quoted field ends at a '"' not followed by another; "" is
 * one quote; a quote inside an unquoted field is an error), remembering only the known columns. Then the known
 * fields are decoded: the drawing through the ndjson parser (dd_ndjson_parse_drawing, straight from the record
 * when it has no "" in it, as in Kaggle's files), the rest as Kaggle writes them: recognized True/False, key_id a
 * bare integer, countrycode two letters or empty. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/csv.h"
#include "doodle/quickdraw.h"
#include "doodle/alloc.h"

static const char *const column_names[DATA_CSV_N_KNOWN] = {"drawing",   "word",       "countrycode",
                                                           "timestamp", "recognized", "key_id"};

typedef struct field {
    const char *p; /* the text between the quotes, or the unquoted text */
    size_t len;
    size_t column; /* 0-based offset of p in the record */
    bool escaped;  /* holds "" pairs that stand for one quote */
} field;

void data_csv_init(data_csv *c) {
    memset(c, 0, sizeof *c);
    for (int i = 0; i < DATA_CSV_N_KNOWN; i++) c->at[i] = -1;
}

void data_csv_free(data_csv *c) {
    free(c->scratch);
    data_csv_init(c);
}

size_t data_csv_count_quotes(const char *s, size_t n) {
    size_t count = 0;
    const char *end = s + n, *q;
    while (s < end && (q = memchr(s, '"', (size_t)(end - s)))) {
        count++;
        s = q + 1;
    }
    return count;
}

/* "field 3 (word)" or "field 3" */
static const char *field_name(const data_csv *c, uint32_t index, char buf[48]) {
    for (int k = 0; c && k < DATA_CSV_N_KNOWN; k++)
        if (c->at[k] == (int32_t)index) {
            snprintf(buf, 48, "field %u (%s)", index + 1, column_names[k]);
            return buf;
        }
    snprintf(buf, 48, "field %u", index + 1);
    return buf;
}

/* Splits off the field starting at *pos. Returns 1 when a ',' follows it, 0 when it ends the record, -1 on bad
 * quoting. c (NULL for the header) only names the field in messages. */
static int next_field(const data_csv *c, const char *text, size_t len, size_t *pos, uint32_t index, field *f,
                      dd_error *err) {
    char name[48];
    size_t i = *pos;
    f->escaped = false;
    if (i < len && text[i] == '"') {
        size_t open = i++;
        for (;;) {
            const char *q = i < len ? memchr(text + i, '"', len - i) : NULL;
            if (!q)
                return dd_fail(err, DD_ERR_MALFORMED, "%s: column %zu: quoted field never closed",
                               field_name(c, index, name), open + 1);
            i = (size_t)(q - text);
            if (i + 1 < len && text[i + 1] == '"') { /* "" */
                f->escaped = true;
                i += 2;
                continue;
            }
            break;
        }
        f->p = text + open + 1;
        f->len = i - open - 1;
        f->column = open + 1;
        i++; /* the closing quote */
        if (i < len && text[i] != ',')
            return dd_fail(err, DD_ERR_MALFORMED, "%s: column %zu: text after the closing quote",
                           field_name(c, index, name), i + 1);
    } else {
        const char *comma = i < len ? memchr(text + i, ',', len - i) : NULL;
        size_t stop = comma ? (size_t)(comma - text) : len;
        const char *q = memchr(text + i, '"', stop - i);
        if (q)
            return dd_fail(err, DD_ERR_MALFORMED, "%s: column %zu: '\"' inside an unquoted field",
                           field_name(c, index, name), (size_t)(q - text) + 1);
        f->p = text + i;
        f->len = stop - i;
        f->column = i;
        i = stop;
    }
    if (i < len) { /* text[i] == ',' */
        *pos = i + 1;
        return 1;
    }
    *pos = i;
    return 0;
}

/* The field's value with "" turned into " (out holds at least f->len bytes). Returns its length. */
static size_t unescape(const field *f, char *out) {
    if (!f->escaped) {
        memcpy(out, f->p, f->len);
        return f->len;
    }
    size_t n = 0;
    for (size_t i = 0; i < f->len; i++) {
        out[n++] = f->p[i];
        if (f->p[i] == '"') i++; /* the second quote of a pair */
    }
    return n;
}

/* A short text field into out[cap] (NUL-terminated); fails when it does not fit or holds a NUL byte. */
static int text_field(const field *f, const char *name, char *out, size_t cap, dd_error *err) {
    if (f->len >= cap && (!f->escaped || f->len >= 2 * cap))
        return dd_fail(err, DD_ERR_RANGE, "%s: longer than %zu bytes", name, cap - 1);
    char buf[2 * 64];
    size_t n = unescape(f, buf); /* f->len < 2 * cap <= sizeof buf */
    if (n >= cap) return dd_fail(err, DD_ERR_RANGE, "%s: longer than %zu bytes", name, cap - 1);
    if (memchr(buf, '\0', n)) return dd_fail(err, DD_ERR_MALFORMED, "%s: holds a NUL byte", name);
    memcpy(out, buf, n);
    out[n] = '\0';
    return 0;
}

int data_csv_header(data_csv *c, const char *text, size_t len, dd_error *err) {
    data_csv_init(c);
    size_t pos = 0;
    uint32_t index = 0;
    for (int more = 1; more; index++) {
        if (index == DATA_CSV_MAX_COLUMNS)
            return dd_fail(err, DD_ERR_RANGE, "header: more than %d columns", DATA_CSV_MAX_COLUMNS);
        field f = {0};
        if ((more = next_field(NULL, text, len, &pos, index, &f, err)) < 0) return dd_error_prefix(err, "header");
        char name[32];
        if (f.len >= 2 * sizeof name) continue; /* longer than any known name */
        char buf[2 * sizeof name];
        size_t n = unescape(&f, buf);
        if (n >= sizeof name) continue;
        memcpy(name, buf, n);
        name[n] = '\0';
        for (int k = 0; k < DATA_CSV_N_KNOWN; k++) {
            if (strcmp(name, column_names[k]) != 0) continue;
            if (c->at[k] >= 0)
                return dd_fail(err, DD_ERR_MALFORMED, "header: column \"%s\" is named twice (fields %d and %u)", name,
                               c->at[k] + 1, index + 1);
            c->at[k] = (int32_t)index;
        }
    }
    c->n_columns = index;
    if (c->at[DATA_CSV_DRAWING] < 0)
        return dd_fail(err, DD_ERR_MALFORMED,
                       "header: no \"drawing\" column (is this a Quick, Draw! CSV with a header line?)");
    return 0;
}

static int parse_drawing(data_csv *c, const field *f, dd_drawing *d, dd_error *err) {
    if (!f->escaped) return dd_ndjson_parse_drawing(f->p, f->len, f->column, d, err);
    if (f->len > c->scratch_cap) {
        char *s = dd_realloc(c->scratch, f->len, 1, err);
        if (!s) return -1;
        c->scratch = s;
        c->scratch_cap = f->len;
    }
    size_t n = unescape(f, c->scratch);
    return dd_ndjson_parse_drawing(c->scratch, n, f->column, d, err); /* columns past the first "" are approximate */
}

static int parse_recognized(const field *f, int8_t *out, dd_error *err) {
    static const char *const yes[] = {"True", "true", "TRUE"}, *const no[] = {"False", "false", "FALSE"};
    if (f->len == 0) {
        *out = -1;
        return 0;
    }
    for (int i = 0; i < 3; i++) {
        if (f->len == strlen(yes[i]) && memcmp(f->p, yes[i], f->len) == 0) return *out = 1, 0;
        if (f->len == strlen(no[i]) && memcmp(f->p, no[i], f->len) == 0) return *out = 0, 0;
    }
    return dd_fail(err, DD_ERR_MALFORMED, "recognized: \"%.*s\" is not True or False", f->len > 20 ? 20 : (int)f->len,
                   f->p);
}

static int parse_key_id(const field *f, uint64_t *out, dd_error *err) {
    uint64_t v = 0;
    for (size_t i = 0; i < f->len; i++) {
        unsigned digit = (unsigned)(f->p[i] - '0');
        if (digit > 9)
            return dd_fail(err, DD_ERR_MALFORMED, "key_id: \"%.*s\" is not a whole number",
                           f->len > 24 ? 24 : (int)f->len, f->p);
        if (v > (UINT64_MAX - digit) / 10) return dd_fail(err, DD_ERR_RANGE, "key_id: does not fit in 64 bits");
        v = v * 10 + digit;
    }
    *out = v; /* empty: 0, unknown */
    return 0;
}

static int parse_countrycode(const field *f, char out[3], dd_error *err) {
    if (text_field(f, "countrycode", out, 3, err)) return -1;
    if (out[0] && !(out[1] && (unsigned)((out[0] | 0x20) - 'a') < 26 && (unsigned)((out[1] | 0x20) - 'a') < 26))
        return dd_fail(err, DD_ERR_MALFORMED, "countrycode: \"%s\" is not two letters", out);
    return 0;
}

int data_csv_parse(data_csv *c, const char *text, size_t len, dd_drawing *d, dd_error *err) {
    dd_drawing_clear(d);
    field known[DATA_CSV_N_KNOWN];
    memset(known, 0, sizeof known);
    size_t pos = 0;
    uint32_t index = 0;
    for (int more = 1; more; index++) {
        field f = {0};
        if ((more = next_field(c, text, len, &pos, index, &f, err)) < 0) return -1;
        for (int k = 0; k < DATA_CSV_N_KNOWN; k++)
            if (c->at[k] == (int32_t)index) known[k] = f;
    }
    if (index != c->n_columns)
        return dd_fail(err, DD_ERR_MALFORMED, "%u field%s but the header has %u", index, index == 1 ? "" : "s",
                       c->n_columns);
    if (parse_drawing(c, &known[DATA_CSV_DRAWING], d, err)) return -1;
    if (c->at[DATA_CSV_WORD] >= 0 && text_field(&known[DATA_CSV_WORD], "word", d->word, sizeof d->word, err)) return -1;
    if (c->at[DATA_CSV_COUNTRYCODE] >= 0 && parse_countrycode(&known[DATA_CSV_COUNTRYCODE], d->countrycode, err))
        return -1;
    if (c->at[DATA_CSV_TIMESTAMP] >= 0 &&
        text_field(&known[DATA_CSV_TIMESTAMP], "timestamp", d->timestamp, sizeof d->timestamp, err))
        return -1;
    if (c->at[DATA_CSV_RECOGNIZED] >= 0 && parse_recognized(&known[DATA_CSV_RECOGNIZED], &d->recognized, err))
        return -1;
    if (c->at[DATA_CSV_KEY_ID] >= 0 && parse_key_id(&known[DATA_CSV_KEY_ID], &d->key_id, err)) return -1;
    if (dd_drawing_validate(d, err)) {
        if (err && strncmp(err->msg, "drawing", 7) != 0) dd_error_prefix(err, "drawing");
        return -1;
    }
    return 0;
}
