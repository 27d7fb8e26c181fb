/* NumPy .npy bitmaps: dd_npy_read (plain or .gz) and dd_npy_write (atomic; gzip-compressed when the name ends in .gz).
 *
 * Format: magic "\x93NUMPY", version major/minor, header length (u16 in v1, u32 in v2/v3), then a Python dict
 * literal such as {'descr': '|u1', 'fortran_order': False, 'shape': (4000, 784), } padded with spaces to a
 * multiple of 64 bytes and ended by '\n', then the row-major data. We read uint8 only. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "data/gz_input.h"
#include "data/prep_internal.h"
#include "doodle/quickdraw.h"
#include "doodle/alloc.h"
#include "doodle/files.h"

#define NPY_MAGIC "\x93NUMPY"
#define NPY_MAX_HEADER (1u << 20)
#define NPY_MAX_DIMS 8

typedef struct npy_header {
    char descr[32];
    bool have_descr, have_order, have_shape, fortran_order;
    int ndim;
    uint64_t shape[NPY_MAX_DIMS];
} npy_header;

/* ---- the header dict: {'key': value, ...} with string, True/False and tuple-of-integer values ---- */

typedef struct dict_parser {
    const char *p, *end;
} dict_parser;

static void dict_ws(dict_parser *dp) {
    while (dp->p < dp->end && (*dp->p == ' ' || *dp->p == '\t' || *dp->p == '\n' || *dp->p == '\r')) dp->p++;
}

static bool dict_take(dict_parser *dp, char c) {
    dict_ws(dp);
    if (dp->p < dp->end && *dp->p == c) {
        dp->p++;
        return true;
    }
    return false;
}

static int dict_string(dict_parser *dp, char *out, size_t cap) {
    dict_ws(dp);
    if (dp->p >= dp->end || (*dp->p != '\'' && *dp->p != '"')) return -1;
    char quote = *dp->p++;
    size_t n = 0;
    while (dp->p < dp->end && *dp->p != quote) {
        if (n + 1 < cap) out[n++] = *dp->p;
        dp->p++;
    }
    if (dp->p >= dp->end) return -1;
    dp->p++;
    out[n] = '\0';
    return 0;
}

static int dict_word(dict_parser *dp, const char *word) {
    dict_ws(dp);
    size_t n = strlen(word);
    if ((size_t)(dp->end - dp->p) < n || memcmp(dp->p, word, n) != 0) return -1;
    dp->p += n;
    return 0;
}

static int dict_tuple(dict_parser *dp, npy_header *h) {
    if (!dict_take(dp, '(')) return -1;
    h->ndim = 0;
    for (;;) {
        if (dict_take(dp, ')')) return 0;
        dict_ws(dp);
        if (dp->p >= dp->end || (unsigned)(*dp->p - '0') >= 10 || h->ndim == NPY_MAX_DIMS) return -1;
        uint64_t v = 0;
        while (dp->p < dp->end && (unsigned)(*dp->p - '0') < 10) {
            if (v > (UINT64_MAX - 9) / 10) return -1;
            v = v * 10 + (uint64_t)(*dp->p++ - '0');
        }
        if (dp->p < dp->end && *dp->p == 'L') dp->p++; /* Python 2 long */
        h->shape[h->ndim++] = v;
        if (dict_take(dp, ')')) return 0;
        if (!dict_take(dp, ',')) return -1;
    }
}

static int parse_header(const char *text, size_t len, npy_header *h, dd_error *err) {
    dict_parser dp = {text, text + len};
    memset(h, 0, sizeof *h);
    if (!dict_take(&dp, '{')) return dd_fail(err, DD_ERR_MALFORMED, "header is not a Python dict");
    while (!dict_take(&dp, '}')) {
        char key[32];
        if (dict_string(&dp, key, sizeof key) || !dict_take(&dp, ':'))
            return dd_fail(err, DD_ERR_MALFORMED, "header: cannot read a key at byte %td", dp.p - text);
        if (strcmp(key, "descr") == 0) {
            if (dict_string(&dp, h->descr, sizeof h->descr))
                return dd_fail(err, DD_ERR_UNSUPPORTED,
                               "header: 'descr' is not a simple dtype string (structured arrays are not read)");
            h->have_descr = true;
        } else if (strcmp(key, "fortran_order") == 0) {
            if (dict_word(&dp, "True") == 0)
                h->fortran_order = true;
            else if (dict_word(&dp, "False") == 0)
                h->fortran_order = false;
            else
                return dd_fail(err, DD_ERR_MALFORMED, "header: 'fortran_order' is neither True nor False");
            h->have_order = true;
        } else if (strcmp(key, "shape") == 0) {
            if (dict_tuple(&dp, h)) return dd_fail(err, DD_ERR_MALFORMED, "header: 'shape' is not a tuple of sizes");
            h->have_shape = true;
        } else {
            return dd_fail(err, DD_ERR_MALFORMED, "header: unknown key '%s'", key);
        }
        if (!dict_take(&dp, ',')) {
            if (dict_take(&dp, '}')) break;
            return dd_fail(err, DD_ERR_MALFORMED, "header: expected ',' or '}' at byte %td", dp.p - text);
        }
    }
    if (!h->have_descr || !h->have_order || !h->have_shape)
        return dd_fail(err, DD_ERR_MALFORMED, "header lacks '%s'",
                       !h->have_descr   ? "descr"
                       : !h->have_order ? "fortran_order"
                                        : "shape");
    return 0;
}

static void format_shape(const npy_header *h, char *buf, size_t size) {
    size_t n = (size_t)snprintf(buf, size, "(");
    for (int i = 0; i < h->ndim && n < size; i++)
        n += (size_t)snprintf(buf + n, size - n, "%s%" PRIu64, i ? ", " : "", h->shape[i]);
    if (n < size) snprintf(buf + n, size - n, h->ndim == 1 ? ",)" : ")");
}

/* (N,784) and (N,1,784) -> 28x28; (N,H,W) and (N,1,H,W) as they are. */
static int image_size(const npy_header *h, uint32_t *height, uint32_t *width, dd_error *err) {
    const uint64_t *s = h->shape;
    uint64_t hh = 0, ww = 0;
    if ((h->ndim == 2 && s[1] == 784) || (h->ndim == 3 && s[1] == 1 && s[2] == 784)) {
        hh = ww = 28;
    } else if (h->ndim == 3) {
        hh = s[1];
        ww = s[2];
    } else if (h->ndim == 4 && s[1] == 1) {
        hh = s[2];
        ww = s[3];
    } else {
        char shape[128];
        format_shape(h, shape, sizeof shape);
        return dd_fail(err, DD_ERR_UNSUPPORTED,
                       "shape %s is not a stack of images: expected (N, 784), (N, 1, 784) or (N, H, W)", shape);
    }
    if (hh == 0 || ww == 0 || hh > 65536 || ww > 65536) {
        char shape[128];
        format_shape(h, shape, sizeof shape);
        return dd_fail(err, DD_ERR_UNSUPPORTED, "shape %s: images of %" PRIu64 "x%" PRIu64 " are not supported", shape,
                       hh, ww);
    }
    *height = (uint32_t)hh;
    *width = (uint32_t)ww;
    return 0;
}

/* Reads the header: in is left at the first image; *shape gets the shape as Python writes it, for messages. */
static int read_npy_header(data_gz_input *in, uint64_t *count_out, uint32_t *height_out, uint32_t *width_out,
                           char shape[128], dd_error *err) {
    int64_t got = data_gz_fill(in, 12, err);
    if (got < 0) return -1;
    if (got == 0) return dd_fail(err, DD_ERR_MALFORMED, "empty file (no .npy header)");
    const unsigned char *b = (const unsigned char *)in->buf + in->start;
    if (got < 10 || memcmp(b, NPY_MAGIC, 6) != 0)
        return dd_fail(err, DD_ERR_MALFORMED, "not a .npy file (no \\x93NUMPY magic at the start)");
    unsigned major = b[6], minor = b[7];
    size_t prefix, hlen;
    if (major == 1) {
        prefix = 10;
        hlen = (size_t)b[8] | (size_t)b[9] << 8;
    } else if (major == 2 || major == 3) {
        if (got < 12) return dd_fail(err, DD_ERR_TRUNCATED, "the file ends inside the .npy header");
        prefix = 12;
        hlen = (size_t)b[8] | (size_t)b[9] << 8 | (size_t)b[10] << 16 | (size_t)b[11] << 24;
    } else {
        return dd_fail(err, DD_ERR_UNSUPPORTED, ".npy format version %u.%u (only 1.x, 2.x and 3.x are read)", major,
                       minor);
    }
    if (hlen > NPY_MAX_HEADER) return dd_fail(err, DD_ERR_MALFORMED, "header length %zu is implausible", hlen);
    got = data_gz_fill(in, prefix + hlen, err);
    if (got < 0) return -1;
    if ((size_t)got < prefix + hlen) return dd_fail(err, DD_ERR_TRUNCATED, "the file ends inside the .npy header");
    npy_header h;
    if (parse_header(in->buf + in->start + prefix, hlen, &h, err)) return -1;
    data_gz_consume(in, prefix + hlen);

    if (strcmp(h.descr, "|u1") != 0 && strcmp(h.descr, "<u1") != 0)
        return dd_fail(err, DD_ERR_UNSUPPORTED, "dtype '%s': only uint8 ('|u1') bitmaps are read", h.descr);
    if (h.fortran_order) return dd_fail(err, DD_ERR_UNSUPPORTED, "fortran_order True: only C-order arrays are read");
    uint32_t height = 0, width = 0;
    if (image_size(&h, &height, &width, err)) return -1;
    *count_out = h.shape[0];
    *height_out = height;
    *width_out = width;
    format_shape(&h, shape, 128);
    return 0;
}

static int read_npy(data_gz_input *in, dd_bitmaps *out, dd_error *err) {
    char shape[128];
    uint32_t height = 0, width = 0;
    uint64_t count = 0;
    if (read_npy_header(in, &count, &height, &width, shape, err)) return -1;
    uint64_t image = (uint64_t)height * width;
    if (count > SIZE_MAX / image) return dd_fail(err, DD_ERR_RANGE, "%" PRIu64 " images do not fit in memory", count);
    size_t total = (size_t)(count * image);

    /* Grow the pixel buffer as data arrives, so a header that claims more than the file holds is reported as
     * truncated rather than as a failed giant allocation. */
    size_t cap = 0, have = 0;
    uint8_t *pixels = NULL;
    while (have < total) {
        if (have == cap) {
            size_t next =
                cap ? (cap > total / 2 ? total : cap * 2) : (total < ((size_t)16 << 20) ? total : (size_t)16 << 20);
            uint8_t *p = dd_realloc(pixels, next, 1, err);
            if (!p) {
                free(pixels);
                return -1;
            }
            pixels = p;
            cap = next;
        }
        int64_t n = data_gz_read(in, pixels + have, cap - have, err);
        if (n < 0) {
            free(pixels);
            return -1;
        }
        have += (size_t)n;
        if (have < cap) break; /* end of file */
    }
    if (have < total) {
        free(pixels);
        return dd_fail(err, DD_ERR_TRUNCATED,
                       "the data ends after %zu of the %zu bytes that shape %s needs (image %zu)", have, total, shape,
                       have / (size_t)image + 1);
    }
    unsigned char extra;
    int64_t more = data_gz_read(in, &extra, 1, err);
    if (more != 0) {
        free(pixels);
        return more < 0 ? -1 : dd_fail(err, DD_ERR_MALFORMED, "more data than shape %s holds", shape);
    }
    if (!pixels && !(pixels = dd_malloc(0, 1, err))) return -1; /* no images: still a valid block */
    out->pixels = pixels;
    out->count = count;
    out->height = height;
    out->width = width;
    return 0;
}

int dd_npy_read(const char *path, dd_bitmaps *out, dd_error *err) {
    memset(out, 0, sizeof *out);
    data_gz_input in;
    if (data_gz_open(&in, path, err)) return -1;
    int rc = read_npy(&in, out, err);
    data_gz_close(&in);
    if (rc) {
        dd_bitmaps_free(out);
        return dd_error_prefix(err, "%s", path);
    }
    return 0;
}

/* ---- a few images at a time (prep) ---- */

int data_npy_stream_open(data_npy_stream *s, const char *path, dd_error *err) {
    memset(s, 0, sizeof *s);
    if (data_gz_open(&s->in, path, err)) return -1;
    s->path = path;
    if (read_npy_header(&s->in, &s->count, &s->height, &s->width, s->shape, err)) {
        data_gz_close(&s->in);
        s->path = NULL;
        return dd_error_prefix(err, "%s", path);
    }
    return 0;
}

int64_t data_npy_stream_read(data_npy_stream *s, uint8_t *dst, uint64_t max, dd_error *err) {
    uint64_t image = (uint64_t)s->height * s->width, n = s->count - s->done < max ? s->count - s->done : max;
    if (n == 0) { /* the end: nothing may follow the last image */
        unsigned char extra;
        int64_t more = data_gz_read(&s->in, &extra, 1, err);
        if (more == 0) return 0;
        if (more > 0) dd_fail(err, DD_ERR_MALFORMED, "more data than shape %s holds", s->shape);
        return dd_error_prefix(err, "%s", s->path);
    }
    int64_t got = data_gz_read(&s->in, dst, (size_t)(n * image), err);
    if (got < 0) return dd_error_prefix(err, "%s", s->path);
    if ((uint64_t)got < n * image) {
        uint64_t have = s->done * image + (uint64_t)got;
        dd_fail(err, DD_ERR_TRUNCATED, "the data ends after %llu of the %llu bytes that shape %s needs (image %llu)",
                (unsigned long long)have, (unsigned long long)(s->count * image), s->shape,
                (unsigned long long)(have / image + 1));
        return dd_error_prefix(err, "%s", s->path);
    }
    s->done += n;
    return (int64_t)n;
}

void data_npy_stream_close(data_npy_stream *s) {
    data_gz_close(&s->in);
    memset(s, 0, sizeof *s);
}

/* ---- writing ---- */

static bool ends_with_gz(const char *path) {
    size_t n = strlen(path);
    return n >= 3 && strcmp(path + n - 3, ".gz") == 0;
}

int dd_npy_write(const char *path, const dd_bitmaps *b, dd_error *err) {
    char header[256];
    int n = snprintf(header + 10, sizeof header - 10,
                     "{'descr': '|u1', 'fortran_order': False, 'shape': (%" PRIu64 ", %u, %u), }", b->count, b->height,
                     b->width);
    size_t len = 10 + (size_t)n + 1; /* + '\n' */
    size_t padded = (len + 63) / 64 * 64;
    memset(header + 10 + n, ' ', padded - len);
    header[padded - 1] = '\n';
    memcpy(header, NPY_MAGIC, 6);
    header[6] = 1;
    header[7] = 0;
    header[8] = (char)((padded - 10) & 0xff);
    header[9] = (char)((padded - 10) >> 8);
    size_t body = (size_t)(b->count * b->height * b->width);

    dd_atomic_file a;
    if (dd_atomic_open(&a, path, err)) return -1;
    if (!ends_with_gz(path)) {
        if (fwrite(header, 1, padded, a.f) != padded || (body && fwrite(b->pixels, 1, body, a.f) != body))
            return dd_atomic_fail(&a, errno, err);
        return dd_atomic_commit(&a, err);
    }
    /* .gz: compress through a duplicate of the temporary file's descriptor; the atomic commit then fsyncs it */
    int fd = fflush(a.f) == 0 ? dup(fileno(a.f)) : -1;
    gzFile gz = fd >= 0 ? gzdopen(fd, "wb6") : NULL;
    if (!gz) {
        if (fd >= 0) close(fd);
        dd_atomic_abort(&a);
        return dd_fail(err, DD_ERR_IO, "%s: cannot start compressing", path);
    }
    /* zlib reports a failed write as Z_ERRNO with errno set by it: keep that errno, the reason */
    int errnum = 0;
    bool ok = gzwrite(gz, header, (unsigned)padded) == (int)padded;
    for (size_t done = 0; ok && done < body;) {
        unsigned chunk = body - done > (1u << 30) ? 1u << 30 : (unsigned)(body - done);
        ok = gzwrite(gz, b->pixels + done, chunk) == (int)chunk;
        done += chunk;
    }
    if (!ok) {
        int zerr;
        gzerror(gz, &zerr);
        if (zerr == Z_ERRNO) errnum = errno;
    }
    errno = 0;
    int closed = gzclose(gz);
    if (closed != Z_OK) {
        if (ok && closed == Z_ERRNO) errnum = errno;
        ok = false;
    }
    if (!ok) return dd_atomic_fail(&a, errnum, err);
    return dd_atomic_commit(&a, err);
}
