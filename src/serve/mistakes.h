/* doodle serve's Mistakes view: the clusters of a run's misclassified drawings (an `explain clusters` folder: its
 * labels.csv and montages; by default RUNDIR/explain/clusters, which `doodle report` writes), each drawing as the
 * model saw it, and RUNDIR/labels.json (include/doodle/labels.h), which a person's names and marks update.
 *
 *   GET  /api/mistakes                               clusters, drawings, names and marks (JSON)
 *   GET  /api/mistakes/montage?method=M&cluster=C    a cluster's montage (PNG; C may be "noise")
 *   GET  /api/labels                                 RUNDIR/labels.json as it is (an empty one when missing)
 *   POST /api/labels (or PUT)                        {"method", "names": [{"cluster", "name"}…],
 *                                                    "mislabelled": [{"drawing", "note"}…]} -> RUNDIR/labels.json
 *
 * The only file written is RUNDIR/labels.json (atomically), and only when the run folder is writable and the
 * server was not started read-only. Every field of a save is checked: known method, cluster and drawing numbers
 * (so only the clustered drawings' key_ids can be marked), names and notes of bounded length, valid UTF-8, no
 * control characters. Saves are serialised; each one reads the file afresh, so edits made elsewhere are kept. */
#ifndef DOODLE_SERVE_MISTAKES_H
#define DOODLE_SERVE_MISTAKES_H

#include <stdbool.h>
#include <stddef.h>

#include "doodle/error.h"
#include "doodle/model.h"

#define SERVE_MISTAKES_MAX_DRAWINGS 20000
#define SERVE_MONTAGE_MAX_BYTES (64u * 1024u * 1024u)

typedef struct serve_mistakes serve_mistakes;

/* Reads clusters_dir (NULL: RUNDIR/explain/clusters) and renders its drawings from the run's data set
 * (RUNDIR/dataset.txt) for model m. A missing or unusable clustering is not an error: the view then says why
 * (serve_mistakes_json's "missing"). NULL only when out of memory. */
serve_mistakes *serve_mistakes_open(const char *run_dir, const char *clusters_dir, const dd_model *m, bool read_only,
                                    dd_error *err);
void serve_mistakes_close(serve_mistakes *x);

/* Each returns an HTTP status; on 200 *out is allocated (free it), else err says why. */
int serve_mistakes_json(serve_mistakes *x, char **out, dd_error *err);
int serve_mistakes_montage(serve_mistakes *x, const char *method, const char *cluster, unsigned char **out,
                           size_t *size, dd_error *err);
int serve_labels_json(serve_mistakes *x, char **out, dd_error *err);
int serve_labels_save(serve_mistakes *x, const char *body, size_t len, char **out, dd_error *err);

#endif
