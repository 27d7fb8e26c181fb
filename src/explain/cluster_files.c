/* The files of `doodle explain clusters`: labels.csv, composition.csv, a montage per cluster (most typical drawing
 * first, by silhouette), the scatter plots, the t-SNE map, points.csv when asked and summary.json, which
 * `doodle report` reads. Columns and fields are only ever added at the end: other tools read these files. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doodle/montage.h"
#include "explain/cluster_files.h"
#include "viz/scatter.h"
#include "explain/explain_util.h"
#include "doodle/alloc.h"
#include "doodle/files.h"

#define MONTAGE_COLS 10

static int cmp_pair(const void *a, const void *b) {
    const dd_cluster_pair *x = a, *y = b;
    if (x->count != y->count) return y->count - x->count;
    if (x->true_class != y->true_class) return x->true_class - y->true_class;
    return x->predicted - y->predicted;
}

static int cmp_code(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Pairs of the members of cluster `want` of labels (-1: noise). */
static int compose_one(const dd_cluster_report *r, const int32_t *labels, int32_t want, int classes,
                       dd_cluster_info *info, int64_t *codes, dd_error *err) {
    size_t m = 0;
    for (size_t i = 0; i < r->n; i++)
        if (labels[i] == want) codes[m++] = (int64_t)r->true_class[i] * classes + r->predicted[i];
    qsort(codes, m, sizeof *codes, cmp_code);
    int distinct = 0;
    for (size_t i = 0; i < m; i++) distinct += i == 0 || codes[i] != codes[i - 1];
    info->pairs = dd_malloc(distinct ? (size_t)distinct : 1, sizeof *info->pairs, err);
    if (!info->pairs) return -1;
    info->n_pairs = 0;
    for (size_t i = 0; i < m; i++) {
        if (i == 0 || codes[i] != codes[i - 1])
            info->pairs[info->n_pairs++] = (dd_cluster_pair){(int)(codes[i] / classes), (int)(codes[i] % classes), 0};
        info->pairs[info->n_pairs - 1].count++;
    }
    qsort(info->pairs, (size_t)info->n_pairs, sizeof *info->pairs, cmp_pair);
    return 0;
}

int explain_cluster_compose(dd_cluster_report *r, int classes, dd_error *err) {
    int64_t *codes = dd_malloc(r->n, sizeof *codes, err);
    if (!codes) return -1;
    int rc = 0;
    for (int c = 0; c < r->k && !rc; c++) rc = compose_one(r, r->kmeans_label, c, classes, &r->kmeans[c], codes, err);
    for (int c = 0; c <= r->dbscan_clusters && !rc; c++)
        rc = compose_one(r, r->dbscan_label, c == r->dbscan_clusters ? -1 : c, classes, &r->dbscan[c], codes, err);
    free(codes);
    return rc;
}

static const char *set_name(const dd_cluster_opts *o, char *buf, size_t size) {
    switch (o->set) {
    case DD_CLUSTER_MISCLASSIFIED: return "misclassified";
    case DD_CLUSTER_VAL_MISCLASSIFIED: return "val-misclassified";
    case DD_CLUSTER_TEST: return "test";
    case DD_CLUSTER_TRAIN: return "train";
    case DD_CLUSTER_CLASS: snprintf(buf, size, "class=%s", o->set_class); return buf;
    case DD_CLUSTER_PREDICTED: snprintf(buf, size, "predicted=%s", o->set_class); return buf;
    }
    return "?";
}

/* JSON text written atomically to dir/name. Frees root. */
static int write_json(const char *dir, const char *name, cJSON *root, dd_error *err) {
    char path[4096];
    char *text = root ? cJSON_Print(root) : NULL;
    cJSON_Delete(root);
    if (!text) return dd_fail(err, DD_ERR_NOMEM, "cannot make %s", name);
    int rc = -1;
    dd_atomic_file a;
    if (!explain_path(path, sizeof path, dir, name, err) && !dd_atomic_open(&a, path, err)) {
        fputs(text, a.f);
        fputc('\n', a.f);
        rc = dd_atomic_commit(&a, err);
    }
    free(text);
    return rc;
}

static cJSON *number_or_null(double v) { return isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull(); }

int explain_cluster_write_empty(const char *out_dir, const dd_cluster_opts *o, dd_cluster_report *r, dd_error *err) {
    if (explain_make_dir(out_dir, err)) return -1;
    char buf[96];
    cJSON *root = cJSON_CreateObject();
    if (root) {
        cJSON_AddStringToObject(root, "set", set_name(o, buf, sizeof buf));
        cJSON_AddNumberToObject(root, "n", 0);
        cJSON_AddNumberToObject(root, "pixels", (double)r->pixels);
        cJSON_AddStringToObject(root, "message", "the set is empty: nothing to cluster");
    }
    return write_json(out_dir, "summary.json", root, err);
}

static int write_labels_csv(const dd_dataset *ds, const dd_model *m, const char *dir, const dd_cluster_report *r,
                            dd_error *err) {
    char path[4096];
    dd_atomic_file a;
    if (explain_path(path, sizeof path, dir, "labels.csv", err) || dd_atomic_open(&a, path, err)) return -1;
    fprintf(a.f, "index,key_id,true,predicted,kmeans,dbscan,pc1,pc2,tsne1,tsne2\n");
    for (size_t i = 0; i < r->n; i++) {
        dd_record_info info;
        unsigned long long key =
            dd_dataset_record_info(ds, r->index[i], &info) == 0 ? (unsigned long long)info.key_id : 0;
        fprintf(a.f, "%llu,%llu,%s,%s,%d,%d,%.6g,%.6g,", (unsigned long long)r->index[i], key,
                m->class_names[r->true_class[i]], m->class_names[r->predicted[i]], (int)r->kmeans_label[i],
                (int)r->dbscan_label[i], r->pc1[i], r->pc2[i]);
        if (r->tsne_n && !isnan(r->tsne1[i]))
            fprintf(a.f, "%.6g,%.6g\n", r->tsne1[i], r->tsne2[i]);
        else
            fputs(",\n", a.f); /* not on the map */
    }
    return dd_atomic_commit(&a, err);
}

/* The PCA scores clustered, one drawing a line in labels.csv's order (for other tools, e.g. bench/tsne_check.py). */
static int write_points_csv(const char *dir, const dd_cluster_report *r, dd_error *err) {
    char path[4096];
    dd_atomic_file a;
    if (explain_path(path, sizeof path, dir, "points.csv", err) || dd_atomic_open(&a, path, err)) return -1;
    for (int c = 0; c < r->components; c++) fprintf(a.f, "%spc%d", c ? "," : "", c + 1);
    fputc('\n', a.f);
    for (size_t i = 0; i < r->n; i++)
        for (int c = 0; c < r->components; c++)
            fprintf(a.f, "%.7g%c", r->scores[i * (size_t)r->components + (size_t)c],
                    c + 1 < r->components ? ',' : '\n');
    return dd_atomic_commit(&a, err);
}

static int write_composition_csv(const dd_model *m, const char *dir, const dd_cluster_report *r, dd_error *err) {
    char path[4096];
    dd_atomic_file a;
    if (explain_path(path, sizeof path, dir, "composition.csv", err) || dd_atomic_open(&a, path, err)) return -1;
    fprintf(a.f, "method,cluster,true,predicted,count\n");
    for (int pass = 0; pass < 2; pass++) {
        const dd_cluster_info *info = pass ? r->dbscan : r->kmeans;
        int count = pass ? r->dbscan_clusters + 1 : r->k;
        for (int c = 0; c < count; c++)
            for (int p = 0; p < info[c].n_pairs; p++) {
                const dd_cluster_pair *q = &info[c].pairs[p];
                if (pass && c == r->dbscan_clusters)
                    fprintf(a.f, "dbscan,noise,");
                else
                    fprintf(a.f, "%s,%d,", pass ? "dbscan" : "kmeans", c);
                fprintf(a.f, "%s,%s,%d\n", m->class_names[q->true_class], m->class_names[q->predicted], q->count);
            }
    }
    return dd_atomic_commit(&a, err);
}

/* Members of cluster want, best silhouette first (ties and noise in set order). */
typedef struct member {
    float key;
    size_t i;
} member;

static int cmp_member(const void *a, const void *b) {
    const member *x = a, *y = b;
    if (x->key != y->key) return x->key < y->key ? 1 : -1;
    return (x->i > y->i) - (x->i < y->i);
}

static int write_montage(const dd_model *m, const dd_cluster_opts *o, const uint8_t *pixels, int h, int w,
                         const char *dir, const dd_cluster_report *r, const int32_t *labels, const float *sil,
                         int32_t want, const char *name, member *members, dd_error *err) {
    size_t cnt = 0, px = (size_t)h * (size_t)w;
    for (size_t i = 0; i < r->n; i++)
        if (labels[i] == want) members[cnt++] = (member){isnan(sil[i]) ? -2.0f : sil[i], i};
    if (cnt == 0) return 0;
    qsort(members, cnt, sizeof *members, cmp_member);
    size_t shown = o->montage_max > 0 && cnt > (size_t)o->montage_max ? (size_t)o->montage_max : cnt;
    uint32_t cols = shown < MONTAGE_COLS ? (uint32_t)shown : MONTAGE_COLS;
    dd_montage_opts mo = dd_montage_opts_default((uint32_t)((shown + cols - 1) / cols), cols, (uint32_t)h, (uint32_t)w);
    /* at least 84 pixels wide, so a label such as "airplane→star" fits under its drawing */
    int scale = explain_tile_scale(h, w), wide = (84 + w - 1) / w;
    mo.scale = (uint32_t)(scale > wide ? scale : wide);
    mo.label_height = 14;
    dd_montage *mt = dd_montage_new(&mo, err);
    if (!mt) return -1;
    char path[4096], label[160];
    for (size_t s = 0; s < shown; s++) {
        size_t i = members[s].i;
        int wrong = r->true_class[i] != r->predicted[i];
        if (wrong)
            snprintf(label, sizeof label, "%s\u2192%s", m->class_names[r->true_class[i]],
                     m->class_names[r->predicted[i]]);
        else
            snprintf(label, sizeof label, "%s", m->class_names[r->true_class[i]]);
        if (dd_montage_put_rgb(mt, (uint32_t)(s / cols), (uint32_t)(s % cols), pixels + i * px, label,
                               wrong ? 0xc62828 : 0x222222, err)) {
            dd_montage_free(mt);
            return -1;
        }
    }
    int rc = explain_path(path, sizeof path, dir, name, err) || dd_montage_write_png(mt, path, err) ? -1 : 0;
    dd_montage_free(mt);
    return rc;
}

static cJSON *clusters_json(const dd_model *m, const dd_cluster_info *info, int count, int noise_last) {
    cJSON *arr = cJSON_CreateArray();
    for (int c = 0; arr && c < count; c++) {
        cJSON *o = cJSON_CreateObject(), *comp = cJSON_CreateArray();
        if (!o || !comp) {
            cJSON_Delete(o);
            cJSON_Delete(comp);
            continue;
        }
        if (noise_last && c == count - 1)
            cJSON_AddStringToObject(o, "cluster", "noise");
        else
            cJSON_AddNumberToObject(o, "cluster", c);
        cJSON_AddNumberToObject(o, "size", info[c].size);
        cJSON_AddItemToObject(o, "silhouette", number_or_null(info[c].silhouette));
        cJSON_AddStringToObject(o, "montage", info[c].montage);
        for (int p = 0; p < info[c].n_pairs; p++) {
            cJSON *q = cJSON_CreateObject();
            if (!q) continue;
            cJSON_AddStringToObject(q, "true", m->class_names[info[c].pairs[p].true_class]);
            cJSON_AddStringToObject(q, "predicted", m->class_names[info[c].pairs[p].predicted]);
            cJSON_AddNumberToObject(q, "count", info[c].pairs[p].count);
            cJSON_AddItemToArray(comp, q);
        }
        cJSON_AddItemToObject(o, "composition", comp);
        cJSON_AddItemToArray(arr, o);
    }
    return arr;
}

static int write_summary(const dd_model *m, const dd_cluster_opts *o, const char *dir, const dd_cluster_report *r,
                         int h, int w, dd_error *err) {
    char buf[96];
    cJSON *root = cJSON_CreateObject();
    if (!root) return dd_fail(err, DD_ERR_NOMEM, "cannot make summary.json");
    cJSON_AddStringToObject(root, "set", set_name(o, buf, sizeof buf));
    cJSON_AddNumberToObject(root, "n", (double)r->n);
    snprintf(buf, sizeof buf, "%dx%d", h, w);
    cJSON_AddStringToObject(root, "input", buf);
    cJSON_AddNumberToObject(root, "pixels", (double)r->pixels);
    cJSON_AddNumberToObject(root, "kept_columns", (double)r->kept_columns);
    cJSON_AddStringToObject(root, "space", r->space == DD_SPACE_EMBEDDING ? "embedding" : "pixels");
    if (r->layer >= 0) {
        cJSON *layer = cJSON_AddObjectToObject(root, "layer");
        if (layer) {
            cJSON_AddNumberToObject(layer, "index", r->layer);
            cJSON_AddStringToObject(layer, "name", r->layer_name);
            cJSON_AddNumberToObject(layer, "units", (double)m->spec->layers[r->layer].out.c);
        }
    }
    cJSON_AddBoolToObject(root, "standardized", r->standardized);
    cJSON *pca = cJSON_AddObjectToObject(root, "pca");
    if (pca) {
        cJSON_AddNumberToObject(pca, "components", r->components);
        cJSON_AddNumberToObject(pca, "explained_variance", r->explained_variance);
        cJSON *ratios = cJSON_AddArrayToObject(pca, "variance_ratio");
        for (int c = 0; ratios && c < r->components; c++)
            cJSON_AddItemToArray(ratios, cJSON_CreateNumber(r->variance_ratio[c]));
    }
    cJSON *km = cJSON_AddObjectToObject(root, "kmeans");
    if (km) {
        cJSON_AddNumberToObject(km, "k", r->k);
        cJSON_AddStringToObject(km, "k_chosen_by", o->k > 0 ? "given" : "silhouette");
        cJSON *tried = cJSON_AddArrayToObject(km, "k_tried");
        for (int k = r->k_tried_min; tried && k <= r->k_tried_max; k++) {
            cJSON *t = cJSON_CreateObject();
            if (!t) continue;
            cJSON_AddNumberToObject(t, "k", k);
            cJSON_AddItemToObject(t, "silhouette", number_or_null(r->k_silhouettes[k - r->k_tried_min]));
            cJSON_AddItemToArray(tried, t);
        }
        cJSON_AddNumberToObject(km, "inertia", r->kmeans_inertia);
        cJSON_AddItemToObject(km, "silhouette", number_or_null(r->kmeans_silhouette));
        cJSON_AddItemToObject(km, "clusters", clusters_json(m, r->kmeans, r->k, 0));
        cJSON_AddItemToObject(km, "purity", number_or_null(r->kmeans_purity));
        cJSON_AddItemToObject(km, "purity_random", number_or_null(r->kmeans_purity_random));
    }
    cJSON *db = cJSON_AddObjectToObject(root, "dbscan");
    if (db) {
        cJSON_AddNumberToObject(db, "eps", r->eps);
        cJSON_AddBoolToObject(db, "eps_from_knee", r->eps_from_knee);
        cJSON_AddNumberToObject(db, "min_samples", r->min_samples);
        cJSON_AddNumberToObject(db, "clusters", r->dbscan_clusters);
        cJSON_AddNumberToObject(db, "noise", r->dbscan_noise);
        cJSON_AddItemToObject(db, "silhouette", number_or_null(r->dbscan_silhouette));
        cJSON_AddItemToObject(db, "groups", clusters_json(m, r->dbscan, r->dbscan_clusters + 1, 1));
        cJSON_AddItemToObject(db, "purity", number_or_null(r->dbscan_purity));
        cJSON_AddItemToObject(db, "purity_random", number_or_null(r->dbscan_purity_random));
    }
    if (r->tsne_n) {
        cJSON *ts = cJSON_AddObjectToObject(root, "tsne");
        if (ts) {
            cJSON_AddNumberToObject(ts, "n", (double)r->tsne_n);
            cJSON_AddNumberToObject(ts, "perplexity", r->tsne_perplexity);
            cJSON_AddNumberToObject(ts, "kl_divergence", r->tsne.kl);
            cJSON_AddNumberToObject(ts, "iterations", r->tsne.iterations);
            cJSON_AddItemToObject(ts, "trustworthiness", number_or_null(r->tsne_trustworthiness));
            cJSON_AddStringToObject(ts, "picture", "tsne.png");
        }
    }
    if (r->units) {
        cJSON *us = cJSON_AddArrayToObject(root, "units");
        for (int c = 0; us && c < r->k; c++) {
            const dd_cluster_units *u = &r->units[c];
            cJSON *e = cJSON_CreateObject(), *list = cJSON_CreateArray();
            if (!e || !list) {
                cJSON_Delete(e);
                cJSON_Delete(list);
                continue;
            }
            cJSON_AddStringToObject(e, "method", "kmeans");
            cJSON_AddNumberToObject(e, "cluster", c);
            cJSON_AddNumberToObject(e, "compared", u->compared);
            if (u->picture[0]) cJSON_AddStringToObject(e, "picture", u->picture);
            for (int k = 0; k < u->n; k++) {
                cJSON *q = cJSON_CreateObject();
                if (!q) continue;
                cJSON_AddNumberToObject(q, "unit", u->unit[k]);
                cJSON_AddNumberToObject(q, "score", u->score[k]);
                cJSON_AddNumberToObject(q, "mean_cluster", u->mean_cluster[k]);
                cJSON_AddNumberToObject(q, "mean_correct", u->mean_correct[k]);
                cJSON_AddItemToArray(list, q);
            }
            cJSON_AddItemToObject(e, "units", list);
            cJSON_AddItemToArray(us, e);
        }
    }
    cJSON *files = cJSON_AddObjectToObject(root, "files");
    if (files) {
        cJSON_AddStringToObject(files, "labels", "labels.csv");
        cJSON_AddStringToObject(files, "composition", "composition.csv");
        cJSON_AddStringToObject(files, "scatter_kmeans", "scatter-kmeans.png");
        cJSON_AddStringToObject(files, "scatter_dbscan", "scatter-dbscan.png");
        if (r->tsne_n) cJSON_AddStringToObject(files, "tsne", "tsne.png");
        if (r->units) cJSON_AddStringToObject(files, "units", "units.csv");
        if (o->save_points) cJSON_AddStringToObject(files, "points", "points.csv");
    }
    cJSON *sec = cJSON_AddObjectToObject(root, "seconds");
    if (sec) {
        cJSON_AddNumberToObject(sec, "pca", r->seconds_pca);
        cJSON_AddNumberToObject(sec, "kmeans", r->seconds_kmeans);
        cJSON_AddNumberToObject(sec, "dbscan", r->seconds_dbscan);
        cJSON_AddNumberToObject(sec, "silhouette", r->seconds_silhouette);
        cJSON_AddNumberToObject(sec, "embedding", r->seconds_embedding);
        cJSON_AddNumberToObject(sec, "tsne", r->seconds_tsne);
    }
    return write_json(dir, "summary.json", root, err);
}

int explain_cluster_write(const dd_model *m, const dd_dataset *ds, const dd_cluster_opts *o, const uint8_t *pixels,
                          int h, int w, const char *out_dir, dd_cluster_report *r, dd_error *err) {
    if (explain_make_dir(out_dir, err)) return -1;
    member *members = dd_malloc(r->n, sizeof *members, err);
    if (!members) return -1;
    int rc = -1;
    for (int c = 0; c < r->k; c++) {
        snprintf(r->kmeans[c].montage, sizeof r->kmeans[c].montage, "kmeans-%d.png", c);
        if (write_montage(m, o, pixels, h, w, out_dir, r, r->kmeans_label, r->kmeans_point_silhouette, c,
                          r->kmeans[c].montage, members, err))
            goto done;
    }
    for (int c = 0; c <= r->dbscan_clusters; c++) {
        dd_cluster_info *info = &r->dbscan[c];
        if (info->size == 0) continue; /* no noise: no picture */
        if (c == r->dbscan_clusters)
            snprintf(info->montage, sizeof info->montage, "dbscan-noise.png");
        else
            snprintf(info->montage, sizeof info->montage, "dbscan-%d.png", c);
        if (write_montage(m, o, pixels, h, w, out_dir, r, r->dbscan_label, r->dbscan_point_silhouette,
                          c == r->dbscan_clusters ? -1 : c, info->montage, members, err))
            goto done;
    }
    char path[4096], title[160], xl[96], yl[96];
    snprintf(xl, sizeof xl, "PC1 (%.1f%% of the variance)", 100 * r->variance_ratio[0]);
    if (r->components > 1)
        snprintf(yl, sizeof yl, "PC2 (%.1f%% of the variance)", 100 * r->variance_ratio[1]);
    else
        snprintf(yl, sizeof yl, "PC2 (not computed: one component)");
    snprintf(title, sizeof title, "K-Means, k = %d, on %zu drawings (mean silhouette %.3f)", r->k, r->n,
             r->kmeans_silhouette);
    if (explain_path(path, sizeof path, out_dir, "scatter-kmeans.png", err) ||
        viz_scatter_png(path, r->pc1, r->pc2, r->kmeans_label, r->n, r->k, title, xl, yl, err))
        goto done;
    snprintf(title, sizeof title, "DBSCAN, eps = %.3g, min_samples = %d: %d cluster%s, %d noise", r->eps,
             r->min_samples, r->dbscan_clusters, r->dbscan_clusters == 1 ? "" : "s", r->dbscan_noise);
    if (explain_path(path, sizeof path, out_dir, "scatter-dbscan.png", err) ||
        viz_scatter_png(path, r->pc1, r->pc2, r->dbscan_label, r->n, r->dbscan_clusters, title, xl, yl, err))
        goto done;
    if (r->tsne_n) {
        snprintf(title, sizeof title,
                 "t-SNE of %zu drawings (%s space, perplexity %g, KL %.3f), framed by K-Means "
                 "cluster",
                 r->tsne_n, r->space == DD_SPACE_EMBEDDING ? "embedding" : "pixel", r->tsne_perplexity, r->tsne.kl);
        if (explain_path(path, sizeof path, out_dir, "tsne.png", err) ||
            explain_tsne_png(path, m, r, pixels, h, w, title, err))
            goto done;
    }
    if (o->save_points && write_points_csv(out_dir, r, err)) goto done;
    if (write_labels_csv(ds, m, out_dir, r, err) || write_composition_csv(m, out_dir, r, err) ||
        write_summary(m, o, out_dir, r, h, w, err))
        goto done;
    rc = 0;
done:
    free(members);
    return rc;
}
