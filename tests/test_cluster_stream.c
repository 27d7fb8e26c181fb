/* dd_explain_clusters on a large split scores it in chunks first (bounded memory) and must choose the same drawings,
 * in the same order, and cluster them the same way as the one pass over the whole split: checked on the bundled
 * sample's real 28x28 bitmaps (a test split of 5 x 200) with a seeded untrained network, whose many mistakes are
 * sampled down, for the misclassified set and for predicted=CLASS, in pixel and embedding space. */
#include <stdlib.h>
#include <string.h>

#include "doodle/cluster.h"
#include "doodle/explain.h"
#include "doodle/prep.h"
#include "testutil.h"

static dd_dataset *make_dataset(const char *path) {
    dd_error err;
    char in[4200];
    snprintf(in, sizeof in, "%s/bitmaps", test_sample_dir());
    const char *inputs[] = {in};
    dd_prep_opts o = {.inputs = inputs, .n_inputs = 1, .test_frac = 0.5, .per_class = 400, .seed = 3};
    dd_prep_report rep;
    int rc = dd_prep_run(&o, path, &rep, &err);
    CHECK(rc == 0, "prep: %s", err.msg);
    if (rc == 0) dd_prep_report_free(&rep);
    dd_dataset *ds = rc ? NULL : dd_dataset_open(path, &err);
    CHECK(rc || ds != NULL, "%s", err.msg);
    return ds;
}

static void same_clusters(const dd_model *m, const dd_dataset *ds, dd_cluster_opts o, const char *dir,
                          const char *what) {
    dd_error err;
    char one[4300], streamed[4300];
    snprintf(one, sizeof one, "%s/one-%s", dir, what);
    snprintf(streamed, sizeof streamed, "%s/streamed-%s", dir, what);
    dd_cluster_report a, b;
    o.stream_above = 0; /* the default: 65,536, above this split */
    int ra = dd_explain_clusters(m, ds, &o, one, &a, &err);
    CHECK(ra == 0, "%s, one pass: %s", what, err.msg);
    o.stream_above = 1;
    int rb = dd_explain_clusters(m, ds, &o, streamed, &b, &err);
    CHECK(rb == 0, "%s, streamed: %s", what, err.msg);
    if (ra || rb) return;
    CHECK(a.n > 20 && a.n == o.max_drawings, "%s: %zu drawings chosen, the sample of %zu expected", what, a.n,
          o.max_drawings);
    CHECK(a.n == b.n, "%s: %zu drawings in one pass, %zu streamed", what, a.n, b.n);
    size_t n = a.n < b.n ? a.n : b.n, differ = 0;
    for (size_t i = 0; i < n; i++)
        differ += a.index[i] != b.index[i] || a.predicted[i] != b.predicted[i] || a.true_class[i] != b.true_class[i] ||
                  a.kmeans_label[i] != b.kmeans_label[i] || a.dbscan_label[i] != b.dbscan_label[i];
    CHECK(differ == 0, "%s: %zu of %zu drawings differ (record, answer or cluster)", what, differ, n);
    CHECK(a.k == b.k, "%s: k %d against %d", what, a.k, b.k);
    dd_cluster_report_free(&a);
    dd_cluster_report_free(&b);
}

int main(void) {
    const char *dir = test_tmp_dir("test_cluster_stream");
    char path[4200];
    snprintf(path, sizeof path, "%s/sample.dset", dir);
    dd_dataset *ds = make_dataset(path);
    dd_error err;
    int classes = ds ? (int)dd_dataset_class_count(ds) : 5;
    dd_spec_overrides ov = {.classes = classes};
    dd_model_spec *spec = dd_model_spec_builtin("mnist28", &ov, &err);
    CHECK(spec != NULL, "%s", err.msg);
    dd_model *m = spec ? dd_model_new(spec, 11, &err) : NULL;
    CHECK(m != NULL, "%s", err.msg);
    if (ds && m) {
        for (int c = 0; c < classes; c++) dd_model_set_class_name(m, c, dd_dataset_class_name(ds, c), &err);
        dd_cluster_opts o = dd_cluster_opts_default();
        o.max_drawings = 300;
        o.k = 4;
        o.restarts = 2;
        o.tsne_max = 0;
        o.top_units = 0;
        o.montage_max = 4;
        same_clusters(m, ds, o, dir, "misclassified-pixels");
        o.space = DD_SPACE_EMBEDDING;
        same_clusters(m, ds, o, dir, "misclassified-embedding");
        char set[80];
        snprintf(set, sizeof set, "predicted=%s", dd_dataset_class_name(ds, 1));
        CHECK(dd_cluster_parse_set(set, &o, &err) == 0, "%s", err.msg);
        o.max_drawings = 100;
        same_clusters(m, ds, o, dir, "predicted");
    }
    dd_model_free(m);
    dd_dataset_close(ds);
    return test_finish("test_cluster_stream");
}
