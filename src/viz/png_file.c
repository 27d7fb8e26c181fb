/* A cairo surface to a PNG file, atomically (png_file.h). */
#include "viz/png_file.h"

#include <errno.h>
#include <stdio.h>

#include "util/atomic_file.h"

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
