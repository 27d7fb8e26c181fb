/* The one way a cairo picture becomes a PNG file: written atomically (write, then rename), a failed write naming
 * the file and the system's reason (cairo itself only says "write error"). */
#ifndef DOODLE_VIZ_PNG_FILE_H
#define DOODLE_VIZ_PNG_FILE_H

#include <cairo.h>

#include "doodle/error.h"

/* Flushes surface and writes it to path; 0, or -1 with err set (nothing is left at path on failure). */
int viz_write_png(cairo_surface_t *surface, const char *path, dd_error *err);

#endif
