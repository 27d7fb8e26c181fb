/* Fuzz target: a whole Kaggle CSV file (x.csv) through dd_stroke_reader.
 *
 * Every record is read until END or FATAL. Checked: every drawing returned is valid; every BAD or FATAL error has
 * a status and a message starting with the file name; FATAL repeats; the line number never goes back and never
 * passes the file's line count (unless the input is gzip data, which zlib inflates whatever the file's name). Then the
 * drawings returned (the first 64) are written again as CSV, every field quoted with "" escapes and the columns in
 * another order, and must read back the same: strokes and times bit for bit, word, countrycode, timestamp, recognized
 * and key_id. */
#define _GNU_SOURCE /* memrchr */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doodle/quickdraw.h"
#include "fuzz.h"

#define KEEP 64

/* One field, quoted, its quotes doubled. */
static void quoted(FILE *f, const char *s, size_t n) {
    fputc('"', f);
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"') fputc('"', f);
        fputc(s[i], f);
    }
    fputc('"', f);
}

/* d as a record of "recognized,drawing,timestamp,key_id,countrycode,word"; the drawing is dd_ndjson_write's. */
static void write_row(FILE *f, const dd_drawing *d) {
    char *line = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&line, &len);
    FUZZ_CHECK(m != NULL, "open_memstream");
    dd_error err;
    FUZZ_CHECK(dd_ndjson_write(m, d, &err) == 0, "dd_ndjson_write: %s", err.msg);
    fclose(m);
    const char *key = "\"drawing\":", *p = NULL; /* the last key written; text fields are escaped, so it is the key */
    for (const char *q = line; (q = strstr(q, key)); q++) p = q;
    FUZZ_CHECK(p != NULL, "no drawing in %s", line);
    p += strlen(key);
    const char *end = memrchr(p, '}', len - (size_t)(p - line));
    FUZZ_CHECK(end != NULL, "no '}' in %s", line);
    quoted(f,
           d->recognized == 1   ? "True"
           : d->recognized == 0 ? "False"
                                : "",
           d->recognized < 0 ? 0
           : d->recognized   ? 4
                             : 5);
    fputc(',', f);
    quoted(f, p, (size_t)(end - p));
    fputc(',', f);
    quoted(f, d->timestamp, strlen(d->timestamp));
    char id[24];
    snprintf(id, sizeof id, "%llu", (unsigned long long)d->key_id);
    fputc(',', f);
    quoted(f, id, strlen(id));
    fputc(',', f);
    quoted(f, d->countrycode, strlen(d->countrycode));
    fputc(',', f);
    quoted(f, d->word, strlen(d->word));
    fputs("\r\n", f);
    free(line);
}

static bool same(const dd_drawing *a, const dd_drawing *b) {
    if (a->n_strokes != b->n_strokes || a->n_points != b->n_points || a->has_times != b->has_times) return false;
    if (memcmp(a->stroke_end, b->stroke_end, a->n_strokes * sizeof *a->stroke_end) ||
        memcmp(a->x, b->x, a->n_points * sizeof *a->x) || memcmp(a->y, b->y, a->n_points * sizeof *a->y) ||
        (a->has_times && memcmp(a->t, b->t, a->n_points * sizeof *a->t)))
        return false;
    return a->key_id == b->key_id && a->recognized == b->recognized && strcmp(a->word, b->word) == 0 &&
           strcmp(a->countrycode, b->countrycode) == 0 && strcmp(a->timestamp, b->timestamp) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_temp_path(".csv");
    fuzz_write_file(path, data, size);
    /* zlib reads gzip data whatever the name: then the lines are those of the inflated bytes, not counted here */
    bool gz = size >= 2 && data[0] == 0x1f && data[1] == 0x8b;
    uint64_t lines = gz ? UINT64_MAX : 1;
    for (size_t i = 0; !gz && i < size; i++) lines += data[i] == '\n';

    dd_error err;
    dd_stroke_reader *r = dd_stroke_reader_open(path, &err);
    FUZZ_CHECK(r != NULL, "dd_stroke_reader_open: %s", err.msg);
    dd_drawing d, kept[KEEP];
    dd_drawing_init(&d);
    int n_kept = 0;
    uint64_t last = 0;
    for (size_t calls = 0;; calls++) {
        /* each call takes a line at least; gzip data inflates to less than 2^26 lines at the fuzzer's sizes */
        FUZZ_CHECK(calls <= (gz ? (size_t)1 << 26 : size + 1), "the reader does not come to an end");
        dd_error_clear(&err);
        dd_next rc = dd_stroke_reader_next(r, &d, &err);
        if (rc == DD_NEXT_END) break;
        uint64_t record = dd_stroke_reader_record(r);
        FUZZ_CHECK(record >= last && record <= lines, "line %llu after %llu (%llu lines)", (unsigned long long)record,
                   (unsigned long long)last, (unsigned long long)lines);
        last = record;
        if (rc == DD_NEXT_OK) {
            FUZZ_CHECK(dd_drawing_validate(&d, &err) == 0, "line %llu: returned an invalid drawing: %s",
                       (unsigned long long)record, err.msg);
            if (n_kept < KEEP) {
                dd_drawing_init(&kept[n_kept]);
                FUZZ_CHECK(dd_drawing_copy(&kept[n_kept], &d, &err) == 0, "dd_drawing_copy: %s", err.msg);
                n_kept++;
            }
            continue;
        }
        FUZZ_CHECK(rc == DD_NEXT_BAD || rc == DD_NEXT_FATAL, "dd_next %d", (int)rc);
        fuzz_check_error(rc == DD_NEXT_BAD ? "bad record" : "fatal error", err.code, err.msg, path);
        if (rc == DD_NEXT_FATAL) {
            dd_error again;
            FUZZ_CHECK(dd_stroke_reader_next(r, &d, &again) == DD_NEXT_FATAL && again.code == err.code,
                       "a fatal error does not repeat");
            break;
        }
    }
    dd_stroke_reader_close(r);

    if (n_kept) { /* write them again, read them back */
        char *text = NULL;
        size_t len = 0;
        FILE *m = open_memstream(&text, &len);
        FUZZ_CHECK(m != NULL, "open_memstream");
        fputs("recognized,drawing,timestamp,key_id,countrycode,word\r\n", m);
        for (int i = 0; i < n_kept; i++) write_row(m, &kept[i]);
        fclose(m);
        const char *again = fuzz_temp_path(".again.csv");
        fuzz_write_file(again, text, len);
        free(text);
        r = dd_stroke_reader_open(again, &err);
        FUZZ_CHECK(r != NULL, "dd_stroke_reader_open: %s", err.msg);
        for (int i = 0; i < n_kept; i++) {
            dd_next rc = dd_stroke_reader_next(r, &d, &err);
            FUZZ_CHECK(rc == DD_NEXT_OK, "drawing %d written again does not read back: %s", i, err.msg);
            FUZZ_CHECK(same(&d, &kept[i]), "drawing %d written again reads back different", i);
        }
        FUZZ_CHECK(dd_stroke_reader_next(r, &d, &err) == DD_NEXT_END, "more drawings read back than written");
        dd_stroke_reader_close(r);
    }
    for (int i = 0; i < n_kept; i++) dd_drawing_free(&kept[i]);
    dd_drawing_free(&d);
    return 0;
}
