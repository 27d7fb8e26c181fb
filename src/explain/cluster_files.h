/* What `doodle explain clusters` writes. Internal. */
#ifndef DOODLE_EXPLAIN_CLUSTER_FILES_H
#define DOODLE_EXPLAIN_CLUSTER_FILES_H

#include <stdint.h>

#include "doodle/cluster.h"

/* Fills the pairs (true -> predicted counts, most frequent first) of every K-Means and DBSCAN cluster of r. */
int explain_cluster_compose(dd_cluster_report *r, int classes, dd_error *err);
/* An empty set: out_dir/summary.json with n = 0 and nothing else. */
int explain_cluster_write_empty(const char *out_dir, const dd_cluster_opts *o, dd_cluster_report *r, dd_error *err);
/* Everything else, for the drawings pixels [r->n, h, w] in r's order; sets the clusters' montage names. */
int explain_cluster_write(const dd_model *m, const dd_dataset *ds, const dd_cluster_opts *o, const uint8_t *pixels,
                          int h, int w, const char *out_dir, dd_cluster_report *r, dd_error *err);

/* The drawings pixels [r->n, h, w] placed at their t-SNE coordinates (r->tsne1/2; NaN: left out), framed in the
 * colour of their K-Means cluster, with a legend; written as a PNG (atomically). */
int explain_tsne_png(const char *path, const dd_model *m, const dd_cluster_report *r, const uint8_t *pixels, int h,
                     int w, const char *title, dd_error *err);
/* dd_cluster_units of every K-Means cluster of r (r->layer set, r->kmeans_label filled) from the activations E
 * [all->n, units] of the whole set, pred [all->n] and the set's rows pick [r->n]; writes units.csv and
 * units-kmeans-<c>.png into out_dir. Uses all->pixels, so call it before they are reordered. */
int explain_cluster_units_write(const dd_model *m, const dd_image_set *all, const float *E, const int *pred,
                                const size_t *pick, int top, const char *out_dir, dd_cluster_report *r, dd_error *err);

#endif
