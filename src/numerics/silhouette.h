/* Silhouettes of several labellings of the same points in one pass over their distances. Internal. */
#ifndef DOODLE_NUMERICS_SILHOUETTE_H
#define DOODLE_NUMERICS_SILHOUETTE_H

#include <stddef.h>
#include <stdint.h>

#include "doodle/error.h"

/* Labelling l (labels[l] [n] in -1..ks[l]-1) gets per_point[l] [n], per_cluster[l] [ks[l]] (either array of
 * pointers, or any entry, may be NULL) and means[l] (may be NULL), as dd_silhouette defines them. */
int numerics_silhouette_many(const float *X, size_t n, size_t d, const int32_t *const *labels, const int *ks, int L,
                             float *const *per_point, double *const *per_cluster, double *means, dd_error *err);

/* The same with distances to the reference rows ref [n_ref] only (NULL: all rows), for large sets: each point's
 * mean distance to a cluster is estimated from that cluster's reference points. With every row as a reference the
 * result is numerics_silhouette_many's. */
int numerics_silhouette_sampled(const float *X, size_t n, size_t d, const int32_t *const *labels, const int *ks, int L,
                                const size_t *ref, size_t n_ref, float *const *per_point, double *const *per_cluster,
                                double *means, dd_error *err);

#endif
