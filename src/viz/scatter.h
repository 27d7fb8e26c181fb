/* A 2-D scatter plot coloured by cluster (`doodle explain clusters`' PCA plots). Internal. */
#ifndef DOODLE_VIZ_SCATTER_H
#define DOODLE_VIZ_SCATTER_H

#include <stddef.h>
#include <stdint.h>

#include "doodle/error.h"

/* Points (x[i], y[i]) coloured by labels [n] (0..k-1; -1 = noise, grey crosses) with axes, ticks, axis labels, a
 * title and a legend naming each cluster and its size; written as a PNG (atomically). */
int viz_scatter_png(const char *path, const float *x, const float *y, const int32_t *labels, size_t n, int k,
                    const char *title, const char *xlabel, const char *ylabel, dd_error *err);

#endif
