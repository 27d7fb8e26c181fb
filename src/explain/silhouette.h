/* Silhouettes of several labellings of the same points in one pass over their distances. Internal. */
#ifndef DOODLE_EXPLAIN_SILHOUETTE_H
#define DOODLE_EXPLAIN_SILHOUETTE_H

#include <stddef.h>
#include <stdint.h>

#include "doodle/error.h"

/* Labelling l (labels[l] [n] in -1..ks[l]-1) gets per_point[l] [n], per_cluster[l] [ks[l]] (either array of
 * pointers, or any entry, may be NULL) and means[l] (may be NULL), as dd_silhouette defines them. */
int dd_silhouette_many(const float *X, size_t n, size_t d, const int32_t *const *labels, const int *ks, int L,
                       float *const *per_point, double *const *per_cluster, double *means, dd_error *err);

#endif
