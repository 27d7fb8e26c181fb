/* RUNDIR/labels.json: what a person said about a run's mistakes (docs/labels-format.md). Names of clusters of
 * misclassified drawings, kept with the drawings each cluster held, so that a name survives a re-clustering that
 * numbers the clusters differently; and drawings marked mislabelled (their key_id and true class), which
 * `doodle prep --exclude` can leave out of a set.
 *
 * A drawing is named by its key_id and its true class: in a set made from .npy bitmaps the key_id is the row
 * number in its class's file, so the key_id alone is not unique there. */
#ifndef DOODLE_LABELS_H
#define DOODLE_LABELS_H

#include <stddef.h>
#include <stdint.h>

#include "doodle/drawing.h"
#include "doodle/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define DD_LABELS_VERSION 1
#define DD_LABELS_NAME_MAX 200      /* bytes of a cluster's name (UTF-8) */
#define DD_LABELS_NOTE_MAX 500      /* bytes of a note on a mislabelled drawing */
#define DD_LABELS_METHOD_MAX 32     /* "kmeans", "dbscan": letters, digits, '-', '_' */
#define DD_LABELS_MAX_ITEMS 1000000 /* clusters, members of one cluster, or marks a file may hold */

typedef struct dd_labels_drawing {
    uint64_t key_id;
    char true_class[DD_WORD_MAX]; /* "" when not known (then the key_id alone names it) */
} dd_labels_drawing;

typedef struct dd_labels_cluster {
    char method[DD_LABELS_METHOD_MAX];
    int cluster;                /* its id in the clustering it was named in; -1: DBSCAN's noise */
    char *name;                 /* 1..DD_LABELS_NAME_MAX bytes */
    dd_labels_drawing *members; /* the drawings it held when it was named */
    size_t n_members;
} dd_labels_cluster;

typedef struct dd_labels_mark {
    dd_labels_drawing drawing; /* true_class is required here */
    char *note;                /* NULL: none */
} dd_labels_mark;

typedef struct dd_labels {
    char *source; /* the clusters folder the names were given on (for people; NULL: not said) */
    dd_labels_cluster *clusters;
    size_t n_clusters;
    dd_labels_mark *marks; /* "mislabelled" */
    size_t n_marks;
} dd_labels;

/* One clustering of drawings, as `doodle explain clusters` writes it in labels.csv. */
typedef struct dd_labels_view {
    size_t n;
    const uint64_t *key_id;
    const char *const *true_class; /* NULL: key_ids alone */
    const int32_t *cluster;        /* drawing i's cluster, 0..k-1, or -1 (noise: no cluster) */
    int k;
} dd_labels_view;

void dd_labels_init(dd_labels *l);
void dd_labels_free(dd_labels *l);

/* Reads and checks a labels file (at most 64 MiB). Errors name the file and the field ("mislabelled[3].key_id:
 * …"), or the line and column of a JSON syntax error. A missing file is DD_ERR_IO. */
int dd_labels_load(const char *path, dd_labels *l, dd_error *err);
/* The same from text; `name` prefixes messages. */
int dd_labels_parse(const char *text, size_t len, const char *name, dd_labels *l, dd_error *err);
/* The JSON text (allocated; free it), or NULL with err set. */
char *dd_labels_to_json(const dd_labels *l, dd_error *err);
/* Writes path atomically (a temporary file beside it, renamed over it). */
int dd_labels_save(const char *path, const dd_labels *l, dd_error *err);

/* The re-clustering rule. A named cluster follows the cluster of `v` that holds the most of its members (ties: the
 * lowest id); one whose members are none of v's drawings follows nothing, and one saved without members follows
 * the cluster with its own id. When several names follow one cluster, it shows the one with the most members in it
 * (ties: the one saved first). follows[j] gets, for l->clusters[j], the cluster it follows (-1: none, or another
 * method); names[c] (c < v->k) the name shown for cluster c, or NULL. Either output may be NULL. */
int dd_labels_name_clusters(const dd_labels *l, const char *method, const dd_labels_view *v, int *follows,
                            const char **names, dd_error *err);
/* Convenience for one cluster: the name shown for cluster `cluster` of a clustering given as every drawing's key_id
 * and cluster (true_class may be NULL); NULL when it has none (or on allocation failure). */
const char *dd_labels_cluster_name(const dd_labels *l, const char *method, int cluster, size_t n,
                                   const uint64_t *key_ids, const char *const *true_class, const int32_t *clusters,
                                   int k);

/* Saves what a person said about clustering v into l: names[c] (NULL: not said, "" removes the name) replaces the
 * names following cluster c and keeps c's members from v; the marks of v's drawings are replaced by `marks` (which
 * must be among v's drawings); every other name and mark is kept. */
int dd_labels_update(dd_labels *l, const char *method, const dd_labels_view *v, const char *const *names,
                     const dd_labels_drawing *marks, const char *const *notes, size_t n_marks, dd_error *err);

/* Checks a name or note: 1..max bytes (a note may be empty), valid UTF-8, no control characters. */
int dd_labels_check_text(const char *s, size_t max, const char *field, dd_error *err);
/* Parses a key_id written as decimal digits (1..20, at most UINT64_MAX). */
int dd_labels_parse_key_id(const char *s, uint64_t *out);

#ifdef __cplusplus
}
#endif
#endif
