/* Buffered reading of a file that may be gzip-compressed (internal to the readers).
 *
 * Every reader goes through here. A file whose inflated and compressed bytes together fit under a cap (64 MB; a
 * gzip file says its inflated size in its last 4 bytes) is read whole and inflated in one call by libdeflate, about
 * twice as fast as zlib; a plain file under the cap is read whole. Anything else (larger files, several gzip
 * members, a size that lies, corrupt or truncated data) is streamed by zlib from the start, which reads plain files
 * transparently: the bytes out and the errors are the same on both paths.
 *
 * The buffer holds the unread bytes buf[start, end); data_gz_fill grows it on demand. A .gz file that stops before
 * its end (zlib: "unexpected end of file") is reported as DD_ERR_TRUNCATED, corrupt compressed data as
 * DD_ERR_MALFORMED, read errors as DD_ERR_IO. Messages carry no file name: callers prefix it with their position. */
#ifndef DOODLE_DATA_GZ_INPUT_H
#define DOODLE_DATA_GZ_INPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zlib.h>

#include "doodle/error.h"

/* The buffers of the whole-file path, kept from one file to the next by a caller that reads many files in turn
 * (prep's readers): freeing and allocating them for every file would fault their pages in again each time. */
typedef struct data_gz_buffers {
    struct libdeflate_decompressor *inflater;
    char *packed, *plain; /* the file as stored, and inflated */
    size_t packed_cap, plain_cap;
    bool lent; /* an open input uses them */
} data_gz_buffers;

void data_gz_buffers_free(data_gz_buffers *b); /* a zeroed data_gz_buffers is empty and ready */

/* Files opened on this thread from now on borrow b's buffers (each one while no other input has them); NULL:
 * every file has its own. Returns the previous setting. A thread-local setting, because the readers open their
 * input themselves (dd_stroke_reader_open, data_npy_stream_open). */
data_gz_buffers *data_gz_use_buffers(data_gz_buffers *b);

typedef struct data_gz_input {
    gzFile gz; /* the zlib stream; NULL on the whole-file path */
    char *buf;
    size_t cap, start, end; /* unread bytes are buf[start, end) */
    bool eof;               /* the whole file has been read into buf */
    uint64_t consumed;      /* bytes before buf[start] (decompressed) */
    data_gz_buffers *whole; /* the whole-file path: buf is whole->plain or whole->packed */
    bool own_whole;         /* whole was allocated for this file alone */
} data_gz_input;

/* Opens path; the message names the file (it is the only step without a position to prefix). */
int data_gz_open(data_gz_input *in, const char *path, dd_error *err);
void data_gz_close(data_gz_input *in);

/* Reads until at least `want` unread bytes are buffered or the file ends. Returns the number of unread bytes
 * (less than want only at the end of the file), or -1 with err set. */
int64_t data_gz_fill(data_gz_input *in, size_t want, dd_error *err);

/* Reads up to n bytes into dst (buffered bytes first, then straight from zlib). Returns the number read (less than
 * n only at the end of the file) or -1 with err set. */
int64_t data_gz_read(data_gz_input *in, void *dst, size_t n, dd_error *err);

/* Gives back memory after an unusually long record: shrinks the buffer when it is large and nearly empty. */
void data_gz_shrink(data_gz_input *in);

/* Tests only: the cap of the whole-file path in bytes (0: every file streams through zlib). Returns the old one. */
size_t data_gz_set_whole_cap(size_t bytes);

static inline size_t data_gz_avail(const data_gz_input *in) { return in->end - in->start; }
static inline void data_gz_consume(data_gz_input *in, size_t n) {
    in->start += n;
    in->consumed += n;
}

#endif
