/* Buffered, optionally gzip-compressed input shared by the stroke and bitmap readers. */
#define _POSIX_C_SOURCE 200809L
#include "data/gz_input.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/alloc.h"

#define DD_GZ_CHUNK (256u * 1024u) /* bytes asked from zlib per read */

int dd_gz_open(dd_gz_input *in, const char *path, dd_error *err) {
    memset(in, 0, sizeof *in);
    int fd = open(path, O_RDONLY);
    if (fd < 0) return dd_fail(err, DD_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return dd_fail(err, DD_ERR_IO, "%s: cannot stat: %s", path, strerror(e));
    }
    if (S_ISDIR(st.st_mode)) {
        close(fd);
        return dd_fail(err, DD_ERR_IO, "%s: is a directory, not a file", path);
    }
    in->gz = gzdopen(fd, "rb");
    if (!in->gz) {
        close(fd);
        return dd_fail(err, DD_ERR_NOMEM, "%s: cannot set up decompression (out of memory)", path);
    }
    gzbuffer(in->gz, DD_GZ_CHUNK); /* larger than zlib's 8 KiB default: fewer, larger reads */
    in->cap = 2 * DD_GZ_CHUNK;
    in->buf = dd_malloc(in->cap, 1, err);
    if (!in->buf) {
        gzclose(in->gz);
        in->gz = NULL;
        return dd_error_prefix(err, "%s", path);
    }
    return 0;
}

void dd_gz_close(dd_gz_input *in) {
    if (in->gz) gzclose(in->gz);
    free(in->buf);
    memset(in, 0, sizeof *in);
}

/* After gzread returned 0 or -1: was it a clean end of file? */
static int check_gz_state(dd_gz_input *in, dd_error *err) {
    int errnum = Z_OK;
    const char *msg = gzerror(in->gz, &errnum);
    /* zlib names a gzdopen'ed file "<fd:N>": a descriptor number that depends on what else is open (prep's
     * threads), while callers name the file themselves */
    if (!strncmp(msg, "<fd:", 4) && strstr(msg, ">: ")) msg = strstr(msg, ">: ") + 3;
    switch (errnum) {
    case Z_OK:
    case Z_STREAM_END:
        return 0;
    case Z_BUF_ERROR: /* zlib's "unexpected end of file": the compressed stream stops early */
        return dd_fail(err, DD_ERR_TRUNCATED, "the gzip data ends before its end marker (truncated file?): %s", msg);
    case Z_ERRNO:
        return dd_fail(err, DD_ERR_IO, "read error: %s", strerror(errno));
    case Z_MEM_ERROR:
        return dd_fail(err, DD_ERR_NOMEM, "out of memory while decompressing");
    default:
        return dd_fail(err, DD_ERR_MALFORMED, "corrupt gzip data: %s", msg);
    }
}

int64_t dd_gz_fill(dd_gz_input *in, size_t want, dd_error *err) {
    while (dd_gz_avail(in) < want && !in->eof) {
        if (in->start > 0 && in->cap - in->end < DD_GZ_CHUNK) { /* move the unread bytes to the front */
            memmove(in->buf, in->buf + in->start, dd_gz_avail(in));
            in->end -= in->start;
            in->start = 0;
        }
        if (in->cap - in->end < DD_GZ_CHUNK || in->cap < want) {
            size_t cap = in->cap;
            while (cap - in->end < DD_GZ_CHUNK || cap < want) {
                if (cap > SIZE_MAX / 2) return dd_fail(err, DD_ERR_NOMEM, "read buffer too large");
                cap *= 2;
            }
            char *buf = dd_realloc(in->buf, cap, 1, err);
            if (!buf) return -1;
            in->buf = buf;
            in->cap = cap;
        }
        size_t room = in->cap - in->end;
        unsigned ask = room > (size_t)INT_MAX ? (unsigned)INT_MAX : (unsigned)room;
        int got = gzread(in->gz, in->buf + in->end, ask);
        if (got < 0) return check_gz_state(in, err) ? -1 : dd_fail(err, DD_ERR_IO, "read error");
        if (got == 0) {
            if (check_gz_state(in, err)) return -1;
            in->eof = true;
            break;
        }
        in->end += (size_t)got;
    }
    return (int64_t)dd_gz_avail(in);
}

int64_t dd_gz_read(dd_gz_input *in, void *dst, size_t n, dd_error *err) {
    size_t done = dd_gz_avail(in) < n ? dd_gz_avail(in) : n;
    memcpy(dst, in->buf + in->start, done);
    dd_gz_consume(in, done);
    while (done < n && !in->eof) {
        size_t want = n - done;
        unsigned ask = want > (size_t)INT_MAX ? (unsigned)INT_MAX : (unsigned)want;
        int got = gzread(in->gz, (char *)dst + done, ask);
        if (got < 0) return check_gz_state(in, err) ? -1 : dd_fail(err, DD_ERR_IO, "read error");
        if (got == 0) {
            if (check_gz_state(in, err)) return -1;
            in->eof = true;
            break;
        }
        done += (size_t)got;
        in->consumed += (uint64_t)got;
    }
    return (int64_t)done;
}

void dd_gz_shrink(dd_gz_input *in) {
    size_t avail = dd_gz_avail(in), small = 2 * DD_GZ_CHUNK;
    if (in->cap <= 4 * small || avail > DD_GZ_CHUNK) return;
    memmove(in->buf, in->buf + in->start, avail);
    in->start = 0;
    in->end = avail;
    char *buf = realloc(in->buf, small); /* shrinking: failure leaves the larger block, which is fine */
    if (buf) {
        in->buf = buf;
        in->cap = small;
    }
}
