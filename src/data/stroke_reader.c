/* dd_stroke_reader: drawings one at a time from ndjson or .bin files, gzip-compressed or not.
 *
 * ndjson is split into lines with memchr over a growing buffer (a raw drawing can be 100 KB+; a line longer than
 * DD_LINE_MAX is skipped as a bad record). Blank lines and a UTF-8 byte order mark are skipped; a file may end
 * without a final newline; an empty file has no drawings. A file whose name says neither ndjson nor .bin is read as ndjson. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "data/bin_record.h"
#include "data/gz_input.h"
#include "doodle/quickdraw.h"
#include "util/alloc.h"

#define DD_LINE_MAX ((size_t)64 << 20)

struct dd_stroke_reader {
    dd_gz_input in;
    char *path;
    dd_format format;
    uint64_t position; /* lines (ndjson) or records (.bin) read so far */
    uint64_t record;   /* line or record number of the record last returned */
    bool failed;       /* a fatal error happened: every later call repeats it */
    dd_error fatal;
};

dd_stroke_reader *dd_stroke_reader_open(const char *path, dd_error *err) {
    dd_format format = dd_format_from_path(path);
    if (format == DD_FORMAT_NPY) {
        dd_fail(err, DD_ERR_USAGE, "%s: is a bitmap file (.npy), not strokes", path);
        return NULL;
    }
    dd_stroke_reader *r = dd_calloc(1, sizeof *r, err);
    if (!r) return NULL;
    r->format = format == DD_FORMAT_BIN ? DD_FORMAT_BIN : DD_FORMAT_NDJSON;
    r->path = dd_strdup(path, err);
    if (!r->path || dd_gz_open(&r->in, path, err)) {
        free(r->path);
        free(r);
        return NULL;
    }
    return r;
}

void dd_stroke_reader_close(dd_stroke_reader *r) {
    if (!r) return;
    dd_gz_close(&r->in);
    free(r->path);
    free(r);
}

uint64_t dd_stroke_reader_record(const dd_stroke_reader *r) { return r->record; }

int dd_stroke_reader_locate(const dd_stroke_reader *r, dd_error *err) {
    if (r->format == DD_FORMAT_BIN) return dd_error_prefix(err, "%s: record %llu", r->path, (unsigned long long)r->record);
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
    dd_gz_input *in = &r->in;
    for (;;) {
        char *s = in->buf + in->start, *nl = memchr(s, '\n', dd_gz_avail(in));
        if (nl) {
            dd_gz_consume(in, (size_t)(nl - s) + 1);
            break;
        }
        dd_gz_consume(in, dd_gz_avail(in));
        int64_t got = dd_gz_fill(in, 1, err);
        if (got < 0) {
            dd_error_prefix(err, "%s:%llu", r->path, (unsigned long long)(r->position + 1));
            return fatal(r, err);
        }
        if (got == 0) break;
    }
    dd_gz_shrink(in);
    return long_line(r, err);
}

static dd_next next_ndjson(dd_stroke_reader *r, dd_drawing *d, dd_error *err) {
    dd_gz_input *in = &r->in;
    for (;;) {
        size_t scanned = 0, len, used;
        for (;;) {
            const char *s = in->buf + in->start;
            size_t avail = dd_gz_avail(in);
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
            if (dd_gz_fill(in, avail + 1, err) < 0) {
                dd_error_prefix(err, "%s:%llu", r->path, (unsigned long long)(r->position + 1));
                return fatal(r, err);
            }
        }
        const char *line = in->buf + in->start;
        if (len > DD_LINE_MAX) { /* found whole in one read: skip it all the same */
            dd_gz_consume(in, used);
            dd_gz_shrink(in);
            return long_line(r, err);
        }
        r->position++;
        if (r->position == 1 && len >= 3 && memcmp(line, "\xEF\xBB\xBF", 3) == 0) { /* UTF-8 byte order mark */
            line += 3;
            len -= 3;
        }
        if (blank(line, len)) {
            dd_gz_consume(in, used);
            continue;
        }
        r->record = r->position;
        int rc = dd_ndjson_parse(line, len, d, err);
        dd_gz_consume(in, used);
        if (used > ((size_t)8 << 20)) dd_gz_shrink(in);
        if (rc) {
            dd_error_prefix(err, "%s:%llu", r->path, (unsigned long long)r->record);
            return DD_NEXT_BAD;
        }
        return DD_NEXT_OK;
    }
}

static dd_next next_bin(dd_stroke_reader *r, dd_drawing *d, dd_error *err) {
    dd_next rc = dd_bin_read_record(&r->in, d, err);
    if (rc == DD_NEXT_END) return rc;
    r->record = ++r->position;
    if (rc == DD_NEXT_OK) return rc;
    dd_error_prefix(err, "%s: record %llu", r->path, (unsigned long long)r->record);
    return rc == DD_NEXT_FATAL ? fatal(r, err) : rc;
}

dd_next dd_stroke_reader_next(dd_stroke_reader *r, dd_drawing *d, dd_error *err) {
    if (r->failed) {
        if (err) *err = r->fatal;
        return DD_NEXT_FATAL;
    }
    dd_error local; /* the helpers always get an error to fill, even when the caller passes none */
    dd_error *e = err ? err : &local;
    return r->format == DD_FORMAT_BIN ? next_bin(r, d, e) : next_ndjson(r, d, e);
}
