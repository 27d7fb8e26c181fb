/* Buffered reading of a file that may be gzip-compressed (internal to the readers).
 *
 * zlib reads plain files transparently, so every reader goes through here. The buffer holds the unread bytes
 * buf[start, end); dd_gz_fill grows it on demand. A .gz file that stops before its end (zlib: "unexpected end of
 * file") is reported as DD_ERR_TRUNCATED, corrupt compressed data as DD_ERR_MALFORMED, read errors as DD_ERR_IO.
 * Messages carry no file name: callers prefix it with their position. */
#ifndef DOODLE_DATA_GZ_INPUT_H
#define DOODLE_DATA_GZ_INPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zlib.h>

#include "doodle/error.h"

typedef struct dd_gz_input {
    gzFile gz;
    char *buf;
    size_t cap, start, end; /* unread bytes are buf[start, end) */
    bool eof;               /* the whole file has been read into buf */
    uint64_t consumed;      /* bytes before buf[start] (decompressed) */
} dd_gz_input;

/* Opens path; the message names the file (it is the only step without a position to prefix). */
int dd_gz_open(dd_gz_input *in, const char *path, dd_error *err);
void dd_gz_close(dd_gz_input *in);

/* Reads until at least `want` unread bytes are buffered or the file ends. Returns the number of unread bytes
 * (less than want only at the end of the file), or -1 with err set. */
int64_t dd_gz_fill(dd_gz_input *in, size_t want, dd_error *err);

/* Reads up to n bytes into dst (buffered bytes first, then straight from zlib). Returns the number read (less than
 * n only at the end of the file) or -1 with err set. */
int64_t dd_gz_read(dd_gz_input *in, void *dst, size_t n, dd_error *err);

/* Gives back memory after an unusually long record: shrinks the buffer when it is large and nearly empty. */
void dd_gz_shrink(dd_gz_input *in);

static inline size_t dd_gz_avail(const dd_gz_input *in) { return in->end - in->start; }
static inline void dd_gz_consume(dd_gz_input *in, size_t n) {
    in->start += n;
    in->consumed += n;
}

#endif
