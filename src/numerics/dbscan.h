/* DBSCAN with the core points already known. Internal. */
#ifndef DOODLE_NUMERICS_DBSCAN_H
#define DOODLE_NUMERICS_DBSCAN_H

#include <stddef.h>
#include <stdint.h>

#include "doodle/error.h"

/* As dd_dbscan, with core [n] given: a point is a core point when at least min_samples points (itself included)
 * lie within eps, i.e. when its distance to its min_samples-th nearest point (itself first) is at most eps, which
 * dd_kth_neighbor_distances has computed when eps comes from the knee. */
int numerics_dbscan_cores(const float *X, size_t n, size_t d, double eps, const uint8_t *core, int32_t *labels,
                          dd_error *err);

#endif
