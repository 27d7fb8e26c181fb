/* A cairo surface to PNG: a file written atomically, or bytes in memory (png_file.h). */
#include "viz/png_file.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doodle/files.h"

/* cairo's PNG writer calls this; errno of a failed write is kept (cairo only says "write error") */
typedef struct png_sink {
    FILE *f;
    int errnum;
} png_sink;

static cairo_status_t write_to_file(void *closure, const unsigned char *data, unsigned int length) {
    png_sink *s = closure;
    if (fwrite(data, 1, length, s->f) == length) return CAIRO_STATUS_SUCCESS;
    if (!s->errnum) s->errnum = errno;
    return CAIRO_STATUS_WRITE_ERROR;
}

int viz_write_png(cairo_surface_t *surface, const char *path, dd_error *err) {
    cairo_surface_flush(surface);
    cairo_status_t s = cairo_surface_status(surface);
    if (s != CAIRO_STATUS_SUCCESS)
        return dd_fail(err, s == CAIRO_STATUS_NO_MEMORY ? DD_ERR_NOMEM : DD_ERR_IO, "%s: cannot draw the picture: %s",
                       path, cairo_status_to_string(s));
    dd_atomic_file a;
    if (dd_atomic_open(&a, path, err)) return -1;
    png_sink sink = {a.f, 0};
    s = cairo_surface_write_to_png_stream(surface, write_to_file, &sink);
    if (s == CAIRO_STATUS_WRITE_ERROR) return dd_atomic_fail(&a, sink.errnum, err);
    if (s != CAIRO_STATUS_SUCCESS) {
        dd_atomic_abort(&a);
        return dd_fail(err, s == CAIRO_STATUS_NO_MEMORY ? DD_ERR_NOMEM : DD_ERR_IO, "%s: cannot encode the PNG: %s",
                       path, cairo_status_to_string(s));
    }
    return dd_atomic_commit(&a, err);
}

/* cairo's PNG writer calls this to grow the buffer (realloc: the caller owns and frees the bytes) */
typedef struct png_buffer {
    unsigned char *data;
    size_t size, cap;
    int failed;
} png_buffer;

static cairo_status_t append(void *closure, const unsigned char *data, unsigned int length) {
    png_buffer *b = closure;
    if (b->size + length > b->cap) {
        size_t cap = b->cap ? b->cap : 65536;
        while (cap < b->size + length) cap *= 2;
        unsigned char *d = realloc(b->data, cap);
        if (!d) {
            b->failed = 1;
            return CAIRO_STATUS_NO_MEMORY;
        }
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->size, data, length);
    b->size += length;
    return CAIRO_STATUS_SUCCESS;
}

cairo_status_t viz_png_bytes(cairo_surface_t *surface, unsigned char **data, size_t *size) {
    png_buffer b = {0};
    cairo_status_t s = cairo_surface_status(surface);
    if (s == CAIRO_STATUS_SUCCESS) s = cairo_surface_write_to_png_stream(surface, append, &b);
    if (s == CAIRO_STATUS_SUCCESS && b.failed) s = CAIRO_STATUS_NO_MEMORY;
    if (s != CAIRO_STATUS_SUCCESS) {
        free(b.data);
        return s;
    }
    *data = b.data;
    *size = b.size;
    return CAIRO_STATUS_SUCCESS;
}
