/* Buffered, optionally gzip-compressed input shared by the stroke and bitmap readers: whole files inflated by
 * libdeflate when they are small enough, zlib's stream otherwise. */
#define _POSIX_C_SOURCE 200809L
#include "data/gz_input.h"

#include <errno.h>
#include <fcntl.h>
#include <libdeflate.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "doodle/alloc.h"

#define DD_GZ_CHUNK (256u * 1024u)         /* bytes asked from zlib per read */
#define DD_GZ_WHOLE_CAP ((size_t)64 << 20) /* inflated plus compressed bytes of a file read whole */
#define GZIP_MIN_SIZE 18                   /* a gzip header (10 bytes) and trailer (8) */

static atomic_size_t whole_cap = DD_GZ_WHOLE_CAP;
static _Thread_local data_gz_buffers *thread_buffers;

size_t data_gz_set_whole_cap(size_t bytes) { return atomic_exchange(&whole_cap, bytes); }

data_gz_buffers *data_gz_use_buffers(data_gz_buffers *b) {
    data_gz_buffers *old = thread_buffers;
    thread_buffers = b;
    return old;
}

void data_gz_buffers_free(data_gz_buffers *b) {
    libdeflate_free_decompressor(b->inflater);
    free(b->packed);
    free(b->plain);
    memset(b, 0, sizeof *b);
}

/* At least need bytes at *p (the old contents need not be kept), exactly: realloc moves a large block by remapping
 * its pages (glibc's mremap), without copying them or faulting in again those already used, so growing a little at
 * a time costs nothing but the new pages, and no memory is held beyond the largest file. */
static int reserve(char **p, size_t *cap, size_t need, dd_error *err) {
    if (*cap >= need) return 0;
    char *q = dd_realloc(*p, need, 1, err);
    if (!q) return -1;
    *p = q;
    *cap = need;
    return 0;
}

/* Reads the file's n bytes into dst (with pread: fd stays at offset 0 for zlib) and checks that nothing follows.
 * False when it holds another number of bytes (it changed since fstat) or cannot be read. */
static bool read_exactly(int fd, char *dst, size_t n) {
    size_t done = 0;
    for (;;) {
        char extra;
        ssize_t got = done < n ? pread(fd, dst + done, n - done, (off_t)done) : pread(fd, &extra, 1, (off_t)n);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) return got == 0 && done == n;
        if (done == n) return false;
        done += (size_t)got;
    }
}

/* The whole-file path: true when the file is in in->buf. False when zlib must stream it from the start: too
 * large, not what it seemed, or a failure (a read error, corrupt data, out of memory) that zlib will meet again
 * and report as it always has, or avoid with its smaller buffers. */
static bool open_whole(data_gz_input *in, int fd, const struct stat *st) {
    size_t cap = atomic_load(&whole_cap);
    if (!S_ISREG(st->st_mode) || st->st_size < GZIP_MIN_SIZE || (uint64_t)st->st_size > cap) return false;
    size_t size = (size_t)st->st_size;
    unsigned char head[2], tail[4];
    if (pread(fd, head, 2, 0) != 2 || pread(fd, tail, 4, (off_t)size - 4) != 4) return false;
    bool gzip = head[0] == 0x1f && head[1] == 0x8b;
    if (head[0] == 0x1f && !gzip) return false; /* as zlib reads it, whatever it is */
    /* ISIZE: the inflated size mod 2^32 (libdeflate checks it, and the CRC, against the data) */
    size_t plain = gzip ? (size_t)tail[0] | (size_t)tail[1] << 8 | (size_t)tail[2] << 16 | (size_t)tail[3] << 24 : size;
    if (plain == 0 || (gzip && plain > cap - size)) return false;

    data_gz_buffers *b = thread_buffers && !thread_buffers->lent ? thread_buffers : NULL;
    bool own = !b;
    dd_error ignored;
    if (own && !(b = dd_calloc(1, sizeof *b, &ignored))) return false;
    bool ok = (!gzip || b->inflater || (b->inflater = libdeflate_alloc_decompressor())) &&
              !reserve(&b->plain, &b->plain_cap, plain, &ignored) &&
              (!gzip || !reserve(&b->packed, &b->packed_cap, size, &ignored)) &&
              read_exactly(fd, gzip ? b->packed : b->plain, size);
    if (ok && gzip) {
        size_t in_used = 0, out_len = 0;
        enum libdeflate_result r =
            libdeflate_gzip_decompress_ex(b->inflater, b->packed, size, b->plain, plain, &in_used, &out_len);
        /* also a lying ISIZE, several members, or bytes after the member */
        ok = r == LIBDEFLATE_SUCCESS && in_used == size && out_len == plain;
    }
    if (!ok) {
        if (own) {
            data_gz_buffers_free(b);
            free(b);
        }
        return false;
    }
    b->lent = true;
    in->whole = b;
    in->own_whole = own;
    in->buf = b->plain;
    in->cap = b->plain_cap;
    in->end = plain;
    in->eof = true;
    return true;
}

int data_gz_open(data_gz_input *in, const char *path, dd_error *err) {
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
    if (open_whole(in, fd, &st)) {
        close(fd);
        return 0;
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

void data_gz_close(data_gz_input *in) {
    if (in->gz) gzclose(in->gz);
    if (in->whole) { /* buf is the buffers' */
        in->whole->lent = false;
        if (in->own_whole) {
            data_gz_buffers_free(in->whole);
            free(in->whole);
        }
    } else {
        free(in->buf);
    }
    memset(in, 0, sizeof *in);
}

/* After gzread returned 0 or -1: was it a clean end of file? */
static int check_gz_state(data_gz_input *in, dd_error *err) {
    int errnum = Z_OK;
    const char *msg = gzerror(in->gz, &errnum);
    /* zlib names a gzdopen'ed file "<fd:N>": a descriptor number that depends on what else is open (prep's
     * threads), while callers name the file themselves */
    if (!strncmp(msg, "<fd:", 4) && strstr(msg, ">: ")) msg = strstr(msg, ">: ") + 3;
    switch (errnum) {
    case Z_OK:
    case Z_STREAM_END: return 0;
    case Z_BUF_ERROR: /* zlib's "unexpected end of file": the compressed stream stops early */
        return dd_fail(err, DD_ERR_TRUNCATED, "the gzip data ends before its end marker (truncated file?): %s", msg);
    case Z_ERRNO: return dd_fail(err, DD_ERR_IO, "read error: %s", strerror(errno));
    case Z_MEM_ERROR: return dd_fail(err, DD_ERR_NOMEM, "out of memory while decompressing");
    default: return dd_fail(err, DD_ERR_MALFORMED, "corrupt gzip data: %s", msg);
    }
}

int64_t data_gz_fill(data_gz_input *in, size_t want, dd_error *err) {
    while (data_gz_avail(in) < want && !in->eof) {
        if (in->start > 0 && in->cap - in->end < DD_GZ_CHUNK) { /* move the unread bytes to the front */
            memmove(in->buf, in->buf + in->start, data_gz_avail(in));
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
    return (int64_t)data_gz_avail(in);
}

int64_t data_gz_read(data_gz_input *in, void *dst, size_t n, dd_error *err) {
    size_t done = data_gz_avail(in) < n ? data_gz_avail(in) : n;
    memcpy(dst, in->buf + in->start, done);
    data_gz_consume(in, done);
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

void data_gz_shrink(data_gz_input *in) {
    size_t avail = data_gz_avail(in), small = 2 * DD_GZ_CHUNK;
    if (in->whole) return; /* the whole file is in memory anyway, in buffers that are not the input's */
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
