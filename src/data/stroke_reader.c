/* dd_stroke_reader: drawings one at a time from ndjson, .bin or .csv files, gzip-compressed or not.
 *
 * ndjson is split into lines with memchr over a growing buffer (a raw drawing can be 100 KB+; a line longer than
 * DD_LINE_MAX is skipped as a bad record). Blank lines and a UTF-8 byte order mark are skipped; a file may end
 * without a final newline; an empty file has no drawings. A file whose name says neither ndjson, .bin nor .csv is
 * read as ndjson. CSV is split the same way, except that a line end inside quotes does not end a record (RFC 4180:
 * an even number of quotes before it), and its first record is the header (src/data/csv_parse.c). */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "data/bin_record.h"
#include "data/csv.h"
#include "data/gz_input.h"
#include "doodle/quickdraw.h"
#include "doodle/alloc.h"

#define DD_LINE_MAX ((size_t)64 << 20)

struct dd_stroke_reader {
    data_gz_input in;
    char *path;
    dd_format format;
    uint64_t position; /* lines (ndjson) or records (.bin) read so far */
    uint64_t record;   /* line or record number of the record last returned */
    bool failed;       /* a fatal error happened: every later call repeats it */
    dd_error fatal;
    bool have_header; /* .csv: the header has been read into csv */
    data_csv csv;
};

dd_stroke_reader *dd_stroke_reader_open(const char *path, dd_error *err) {
    dd_format format = dd_format_from_path(path);
    if (format == DD_FORMAT_NPY) {
        dd_fail(err, DD_ERR_USAGE, "%s: is a bitmap file (.npy), not strokes", path);
        return NULL;
    }
    dd_stroke_reader *r = dd_calloc(1, sizeof *r, err);
    if (!r) return NULL;
    r->format = format == DD_FORMAT_BIN || format == DD_FORMAT_CSV ? format : DD_FORMAT_NDJSON;
    data_csv_init(&r->csv);
    r->path = dd_strdup(path, err);
    if (!r->path || data_gz_open(&r->in, path, err)) {
        free(r->path);
        free(r);
        return NULL;
    }
    return r;
}

void dd_stroke_reader_close(dd_stroke_reader *r) {
    if (!r) return;
    data_gz_close(&r->in);
    data_csv_free(&r->csv);
    free(r->path);
    free(r);
}

uint64_t dd_stroke_reader_record(const dd_stroke_reader *r) { return r->record; }

int dd_stroke_reader_locate(const dd_stroke_reader *r, dd_error *err) {
    if (r->format == DD_FORMAT_BIN)
        return dd_error_prefix(err, "%s: record %llu", r->path, (unsigned long long)r->record);
    return dd_error_prefix(err, "%s:%llu", r->path, (unsigned long long)r->record);
}

static dd_next fatal(dd_stroke_reader *r, const dd_error *err) {
    r->failed = true;
    r->fatal = *err;
    return DD_NEXT_FATAL;
}

static bool blank(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r') return false;
    return true;
}

/* Reports the line just skipped (r->position + 1) as too long. */
static dd_next long_line(dd_stroke_reader *r, dd_error *err) {
    r->record = ++r->position;
    dd_fail(err, DD_ERR_RANGE, "%s:%llu: line is longer than %zu MiB; skipped", r->path, (unsigned long long)r->record,
            DD_LINE_MAX >> 20);
    return DD_NEXT_BAD;
}

/* Skips the rest of an over-long line (its first DD_LINE_MAX bytes are buffered). */
static dd_next skip_long_line(dd_stroke_reader *r, dd_error *err) {
    data_gz_input *in = &r->in;
    for (;;) {
        char *s = in->buf + in->start, *nl = memchr(s, '\n', data_gz_avail(in));
        if (nl) {
            data_gz_consume(in, (size_t)(nl - s) + 1);
            break;
        }
        data_gz_consume(in, data_gz_avail(in));
        int64_t got = data_gz_fill(in, 1, err);
        if (got < 0) {
            dd_error_prefix(err, "%s:%llu", r->path, (unsigned long long)(r->position + 1));
            return fatal(r, err);
        }
        if (got == 0) break;
    }
    data_gz_shrink(in);
    return long_line(r, err);
}

static dd_next next_ndjson(dd_stroke_reader *r, dd_drawing *d, dd_error *err) {
    data_gz_input *in = &r->in;
    for (;;) {
        size_t scanned = 0, len, used;
        for (;;) {
            const char *s = in->buf + in->start;
            size_t avail = data_gz_avail(in);
            const char *nl = memchr(s + scanned, '\n', avail - scanned);
            if (nl) {
                len = (size_t)(nl - s);
                used = len + 1;
                break;
            }
            if (in->eof) {
                if (avail == 0) return DD_NEXT_END;
                len = used = avail;
                break;
            }
            if (avail > DD_LINE_MAX) return skip_long_line(r, err);
            scanned = avail;
            if (data_gz_fill(in, avail + 1, err) < 0) {
                dd_error_prefix(err, "%s:%llu", r->path, (unsigned long long)(r->position + 1));
                return fatal(r, err);
            }
        }
        const char *line = in->buf + in->start;
        if (len > DD_LINE_MAX) { /* found whole in one read: skip it all the same */
            data_gz_consume(in, used);
            data_gz_shrink(in);
            return long_line(r, err);
        }
        r->position++;
        if (r->position == 1 && len >= 3 && memcmp(line, "\xEF\xBB\xBF", 3) == 0) { /* UTF-8 byte order mark */
            line += 3;
            len -= 3;
        }
        if (blank(line, len)) {
            data_gz_consume(in, used);
            continue;
        }
        r->record = r->position;
        int rc = dd_ndjson_parse(line, len, d, err);
        data_gz_consume(in, used);
        if (used > ((size_t)8 << 20)) data_gz_shrink(in);
        if (rc) {
            dd_error_prefix(err, "%s:%llu", r->path, (unsigned long long)r->record);
            return DD_NEXT_BAD;
        }
        return DD_NEXT_OK;
    }
}

static dd_next next_bin(dd_stroke_reader *r, dd_drawing *d, dd_error *err) {
    dd_next rc = data_bin_read_record(&r->in, d, err);
    if (rc == DD_NEXT_END) return rc;
    r->record = ++r->position;
    if (rc == DD_NEXT_OK) return rc;
    dd_error_prefix(err, "%s: record %llu", r->path, (unsigned long long)r->record);
    return rc == DD_NEXT_FATAL ? fatal(r, err) : rc;
}

/* ---- CSV ---- */

/* Finds the end of the next CSV record: its length without the line end (*len) and with it (*used), and the line
 * ends inside its quotes (*inner). Returns 1, 0 at the end of the file, or a DD_NEXT_* error code. */
static int find_csv_record(dd_stroke_reader *r, size_t *len, size_t *used, uint64_t *inner, dd_error *err) {
    data_gz_input *in = &r->in;
    size_t scanned = 0;
    bool odd = false; /* an odd number of quotes in buf[start, start + scanned) */
    *inner = 0;
    for (;;) {
        const char *s = in->buf + in->start;
        size_t avail = data_gz_avail(in);
        while (scanned < avail) {
            const char *nl = memchr(s + scanned, '\n', avail - scanned);
            size_t stop = nl ? (size_t)(nl - s) : avail;
            odd ^= data_csv_count_quotes(s + scanned, stop - scanned) & 1;
            if (!nl) {
                scanned = avail;
                break;
            }
            if (!odd) {
                *len = stop;
                *used = stop + 1;
                return 1;
            }
            ++*inner;
            scanned = stop + 1;
        }
        if (in->eof) {
            if (avail == 0) return 0;
            *len = *used = avail; /* no final newline, or a quote never closed: the parser says which */
            return 1;
        }
        if (avail > DD_LINE_MAX) { /* skip the rest of the record, counting its lines */
            r->record = r->position + 1;
            for (;;) {
                data_gz_consume(in, avail);
                int64_t got = data_gz_fill(in, 1, err);
                if (got < 0) {
                    dd_error_prefix(err, "%s:%llu", r->path, (unsigned long long)r->record);
                    return fatal(r, err);
                }
                s = in->buf + in->start;
                avail = (size_t)got;
                const char *nl = NULL;
                for (size_t i = 0; i < avail && !nl; i++) {
                    if (s[i] == '"')
                        odd = !odd;
                    else if (s[i] == '\n' && odd)
                        ++*inner;
                    else if (s[i] == '\n')
                        nl = s + i;
                }
                if (nl || got == 0) {
                    if (nl) data_gz_consume(in, (size_t)(nl - s) + 1);
                    break;
                }
            }
            data_gz_shrink(in);
            r->position += 1 + *inner;
            dd_fail(err, DD_ERR_RANGE, "%s:%llu: record is longer than %zu MiB; skipped", r->path,
                    (unsigned long long)r->record, DD_LINE_MAX >> 20);
            return DD_NEXT_BAD;
        }
        if (data_gz_fill(in, avail + 1, err) < 0) {
            dd_error_prefix(err, "%s:%llu", r->path, (unsigned long long)(r->position + 1));
            return fatal(r, err);
        }
    }
}

static dd_next next_csv(dd_stroke_reader *r, dd_drawing *d, dd_error *err) {
    data_gz_input *in = &r->in;
    for (;;) {
        size_t len, used;
        uint64_t inner;
        int found = find_csv_record(r, &len, &used, &inner, err);
        if (found <= 0) return found == 0 ? DD_NEXT_END : (dd_next)found;
        const char *text = in->buf + in->start;
        uint64_t line = ++r->position;
        r->position += inner;
        if (line == 1 && len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) { /* UTF-8 byte order mark */
            text += 3;
            len -= 3;
        }
        if (len && text[len - 1] == '\r') len--; /* CRLF */
        if (blank(text, len)) {
            data_gz_consume(in, used);
            continue;
        }
        r->record = line;
        int rc = r->have_header ? data_csv_parse(&r->csv, text, len, d, err) : data_csv_header(&r->csv, text, len, err);
        data_gz_consume(in, used);
        if (used > ((size_t)8 << 20)) data_gz_shrink(in);
        if (rc) {
            dd_error_prefix(err, "%s:%llu", r->path, (unsigned long long)line);
            if (!r->have_header) return fatal(r, err); /* no record can be read without the header */
            return DD_NEXT_BAD;
        }
        if (!r->have_header) {
            r->have_header = true;
            continue;
        }
        return DD_NEXT_OK;
    }
}

dd_next dd_stroke_reader_next(dd_stroke_reader *r, dd_drawing *d, dd_error *err) {
    if (r->failed) {
        if (err) *err = r->fatal;
        return DD_NEXT_FATAL;
    }
    dd_error local = {0}; /* the helpers always get an error to fill, even when the caller passes none */
    dd_error *e = err ? err : &local;
    if (r->format == DD_FORMAT_CSV) return next_csv(r, d, e);
    return r->format == DD_FORMAT_BIN ? next_bin(r, d, e) : next_ndjson(r, d, e);
}
