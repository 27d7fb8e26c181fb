/* What every cairo picture of viz starts with and how its failures are told. Internal. */
#ifndef DOODLE_VIZ_CANVAS_H
#define DOODLE_VIZ_CANVAS_H

#include <cairo.h>

#include "doodle/error.h"

/* A failed cairo status as a doodle error, "cairo: <what>: <cairo's reason>": DD_ERR_NOMEM when cairo ran out of
 * memory, else DD_ERR_IO. Returns -1. */
int viz_cairo_error(cairo_status_t s, const char *what, dd_error *err);

/* An RGB24 surface of width x height and a context on it: 0, or -1 with err set ("cannot create <what>") and
 * nothing left to free. The caller paints the background. */
int viz_canvas_new(int width, int height, const char *what, cairo_surface_t **surface, cairo_t **cr, dd_error *err);

#endif
