#include "viz/canvas.h"

#include <stdio.h>

int viz_cairo_error(cairo_status_t s, const char *what, dd_error *err) {
    return dd_fail(err, s == CAIRO_STATUS_NO_MEMORY ? DD_ERR_NOMEM : DD_ERR_IO, "cairo: %s: %s", what,
                   cairo_status_to_string(s));
}

int viz_canvas_new(int width, int height, const char *what, cairo_surface_t **surface, cairo_t **cr, dd_error *err) {
    *cr = NULL;
    *surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, width, height);
    cairo_status_t s = cairo_surface_status(*surface);
    if (s == CAIRO_STATUS_SUCCESS) {
        *cr = cairo_create(*surface);
        s = cairo_status(*cr);
    }
    if (s == CAIRO_STATUS_SUCCESS) return 0;
    char message[128];
    snprintf(message, sizeof message, "cannot create %s", what);
    viz_cairo_error(s, message, err);
    if (*cr) cairo_destroy(*cr);
    cairo_surface_destroy(*surface);
    *cr = NULL;
    *surface = NULL;
    return -1;
}
