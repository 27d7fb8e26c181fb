/* The one way a cairo picture becomes PNG: a file written atomically (write, then rename), a failed write naming
 * the file and the system's reason (cairo itself only says "write error"). */
#ifndef DOODLE_VIZ_PNG_FILE_H
#define DOODLE_VIZ_PNG_FILE_H

#include <cairo.h>
#include <stddef.h>

#include "doodle/error.h"

/* Flushes surface and writes it to path; 0, or -1 with err set (nothing is left at path on failure). */
int viz_write_png(cairo_surface_t *surface, const char *path, dd_error *err);
/* The surface encoded as PNG in memory: *data (free it) and *size; or why it failed (nothing to free then). */
cairo_status_t viz_png_bytes(cairo_surface_t *surface, unsigned char **data, size_t *size);

#endif
