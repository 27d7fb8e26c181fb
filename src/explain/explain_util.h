/* Small helpers shared by the explanation pipelines (src/explain/): output directories, paths, tile scale. */
#ifndef DOODLE_EXPLAIN_UTIL_H
#define DOODLE_EXPLAIN_UTIL_H

#include <stddef.h>

#include "doodle/error.h"

/* Creates dir and its missing parents (like mkdir -p); an existing non-directory is an error. */
int explain_make_dir(const char *dir, dd_error *err);
/* dir/name into buf; fails when it does not fit. */
int explain_path(char *buf, size_t size, const char *dir, const char *name, dd_error *err);
/* Output pixels per input pixel for tiles of an h x w input: about 56 pixels on the longer side, at least 1. */
int explain_tile_scale(int h, int w);

/* Bilinear resampling of src [sh, sw] onto dst [dh, dw], pixel centres aligned (Grad-CAM, unit maps). */
void explain_upsample(const float *src, int sh, int sw, float *dst, int dh, int dw);

#endif
