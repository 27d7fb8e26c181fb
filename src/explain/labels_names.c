/* The names RUNDIR/labels.json gives the clusters of an explain clusters run (doodle/labels.h): what
 * `doodle explain clusters` prints and the report shows beside each cluster. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "doodle/cluster.h"
#include "doodle/dataset.h"
#include "doodle/labels.h"
#include "doodle/model.h"
#include "doodle/alloc.h"

void dd_labels_path_beside(const char *model_path, char *out, size_t size) {
    const char *slash = strrchr(model_path, '/');
    if (!slash)
        snprintf(out, size, "labels.json");
    else
        snprintf(out, size, "%.*s/labels.json", (int)(slash - model_path), model_path);
}

void dd_cluster_names_free(dd_cluster_names *n) {
    for (int c = 0; n->kmeans && c < n->k; c++) free(n->kmeans[c]);
    for (int c = 0; n->dbscan && c < n->dbscan_clusters; c++) free(n->dbscan[c]);
    free(n->kmeans);
    free(n->dbscan);
    memset(n, 0, sizeof *n);
}

/* names[c] copied for c < k (NULL stays NULL). */
static char **copy_names(const char **names, int k, dd_error *err) {
    char **out = dd_calloc(k > 0 ? (size_t)k : 1, sizeof *out, err);
    for (int c = 0; out && c < k; c++)
        if (names[c] && !(out[c] = dd_strdup(names[c], err))) {
            for (int j = 0; j < c; j++) free(out[j]);
            free(out);
            return NULL;
        }
    return out;
}

static int name_method(const dd_labels *l, const char *method, dd_labels_view *v, char ***out, dd_error *err) {
    const char **names = dd_calloc(v->k > 0 ? (size_t)v->k : 1, sizeof *names, err);
    int rc = -1;
    if (names && !dd_labels_name_clusters(l, method, v, NULL, names, err) && (*out = copy_names(names, v->k, err)))
        rc = 0;
    free(names);
    return rc;
}

int dd_cluster_names_load(const char *labels_path, const dd_model *m, const dd_dataset *ds, const dd_cluster_report *r,
                          dd_cluster_names *out, dd_error *err) {
    memset(out, 0, sizeof *out);
    if (access(labels_path, F_OK) != 0 && errno == ENOENT) return 0;
    dd_labels l;
    if (dd_labels_load(labels_path, &l, err)) return -1;
    uint64_t *keys = dd_malloc(r->n ? r->n : 1, sizeof *keys, err);
    const char **classes = dd_malloc(r->n ? r->n : 1, sizeof *classes, err);
    int rc = -1;
    if (keys && classes) {
        for (size_t i = 0; i < r->n; i++) {
            dd_record_info info;
            keys[i] = dd_dataset_record_info(ds, r->index[i], &info) == 0 ? info.key_id : 0;
            classes[i] = m->class_names[r->true_class[i]];
        }
        dd_labels_view v = {.n = r->n, .key_id = keys, .true_class = classes, .cluster = r->kmeans_label, .k = r->k};
        dd_labels_view d = {
            .n = r->n, .key_id = keys, .true_class = classes, .cluster = r->dbscan_label, .k = r->dbscan_clusters};
        out->k = r->k;
        out->dbscan_clusters = r->dbscan_clusters;
        if (!name_method(&l, "kmeans", &v, &out->kmeans, err) && !name_method(&l, "dbscan", &d, &out->dbscan, err))
            rc = 0;
    }
    free(keys);
    free(classes);
    dd_labels_free(&l);
    return rc;
}
