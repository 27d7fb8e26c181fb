/* The numeric half of `doodle explain clusters` on a pixel matrix: drop the all-zero columns, PCA, K-Means (k given
 * or chosen by the best mean silhouette over a range), DBSCAN (eps given or from the k-distance knee), and the
 * silhouettes of every labelling in one pass over the distances. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "doodle/cluster.h"
#include "doodle/clock.h"
#include "numerics/dbscan.h"
#include "numerics/silhouette.h"
#include "doodle/alloc.h"

#define SILHOUETTE_REFERENCES 5000

static int cmp_index(const void *a, const void *b) {
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return (x > y) - (x < y);
}

dd_cluster_opts dd_cluster_opts_default(void) {
    dd_cluster_opts o = {
        .set = DD_CLUSTER_MISCLASSIFIED,
        .components = 0,
        .variance_threshold = 0.9,
        .k = 0,
        .k_min = 2,
        .k_max = 8,
        .restarts = 10,
        .max_iter = 300,
        .eps = 0,
        .min_samples = 5,
        .seed = 1,
        .montage_max = 100,
        .max_drawings = 20000,
        .space = DD_SPACE_PIXELS,
        .layer = -1,
        .standardize = 0,
        .tsne_max = 3000,
        .perplexity = 30,
        .top_units = 5,
    };
    return o;
}

static void free_infos(dd_cluster_info *c, int count) {
    if (!c) return;
    for (int i = 0; i < count; i++) free(c[i].pairs);
    free(c);
}

void dd_cluster_report_free(dd_cluster_report *r) {
    if (!r) return;
    free(r->variance_ratio);
    free(r->k_silhouettes);
    free_infos(r->kmeans, r->k);
    free_infos(r->dbscan, r->dbscan_clusters + 1);
    free(r->index);
    free(r->true_class);
    free(r->predicted);
    free(r->kmeans_label);
    free(r->dbscan_label);
    free(r->pc1);
    free(r->pc2);
    free(r->kmeans_point_silhouette);
    free(r->dbscan_point_silhouette);
    free(r->scores);
    free(r->tsne1);
    free(r->tsne2);
    if (r->units)
        for (int c = 0; c < r->k; c++) {
            free(r->units[c].unit);
            free(r->units[c].score);
            free(r->units[c].mean_cluster);
            free(r->units[c].mean_correct);
        }
    free(r->units);
    memset(r, 0, sizeof *r);
}

/* Every column of X [n, d] divided by its standard deviation (the kept columns vary: none is all zero, but a
 * constant one is left as it is). Activations of different units live on different scales; this weighs them
 * alike. */
static void standardize_columns(float *X, size_t n, size_t d) {
    for (size_t j = 0; j < d; j++) {
        double s = 0, ss = 0;
        for (size_t i = 0; i < n; i++) s += X[i * d + j];
        double mean = s / (double)n;
        for (size_t i = 0; i < n; i++) ss += (X[i * d + j] - mean) * (X[i * d + j] - mean);
        double sd = sqrt(ss / (double)(n > 1 ? n - 1 : 1));
        if (sd > 0)
            for (size_t i = 0; i < n; i++) X[i * d + j] = (float)(X[i * d + j] / sd);
    }
}

/* The t-SNE map of the PCA scores Z [n, c], of all rows or a seeded sample of o->tsne_max of them. */
static int tsne_map(const float *Z, size_t n, int c, const dd_cluster_opts *o, dd_cluster_report *r, dd_error *err) {
    double t0 = dd_now_seconds();
    size_t m = n < o->tsne_max ? n : o->tsne_max;
    /* A small set gets a lower perplexity (at most a third of the others), as a map of 20 points with 30 effective
     * neighbours each cannot be; below 2, no map. */
    double perplexity = fmin(o->perplexity, (double)(m - 1) / 3);
    if (m < 7 || perplexity < 2) return 0;
    size_t *rows = dd_malloc(n, sizeof *rows, err);
    float *S = dd_malloc(m * (size_t)c, sizeof *S, err), *Y = dd_malloc(2 * m, sizeof *Y, err);
    int rc = -1;
    if (!rows || !S || !Y || !(r->tsne1 = dd_malloc(n, sizeof *r->tsne1, err)) ||
        !(r->tsne2 = dd_malloc(n, sizeof *r->tsne2, err)))
        goto done;
    for (size_t i = 0; i < n; i++) rows[i] = i;
    if (m < n) { /* partial Fisher-Yates, then back in set order */
        dd_rng rng;
        dd_rng_seed(&rng, o->seed ^ 0x75e3a11dULL);
        for (size_t i = 0; i < m; i++) {
            size_t j = i + (size_t)dd_rng_below(&rng, n - i), t = rows[i];
            rows[i] = rows[j];
            rows[j] = t;
        }
        qsort(rows, m, sizeof *rows, cmp_index);
    }
    for (size_t i = 0; i < m; i++) memcpy(S + i * (size_t)c, Z + rows[i] * (size_t)c, (size_t)c * sizeof *S);
    dd_tsne_opts to = dd_tsne_opts_default();
    to.perplexity = perplexity;
    r->tsne_perplexity = perplexity;
    to.seed = o->seed;
    if (dd_tsne(S, m, (size_t)c, &to, Y, &r->tsne, err)) goto done;
    r->tsne_trustworthiness = (double)5 < (double)m / 2 ? dd_trustworthiness(S, m, (size_t)c, Y, 2, 5, err) : NAN;
    for (size_t i = 0; i < n; i++) r->tsne1[i] = r->tsne2[i] = NAN;
    for (size_t i = 0; i < m; i++) {
        r->tsne1[rows[i]] = Y[2 * i];
        r->tsne2[rows[i]] = Y[2 * i + 1];
    }
    r->tsne_n = m;
    r->seconds_tsne = dd_now_seconds() - t0;
    rc = 0;
done:
    free(rows);
    free(S);
    free(Y);
    return rc;
}

/* K-Means for every k of the range (or the one k); the labellings go to labels[k - k_lo]. */
static int kmeans_all(const float *Z, size_t n, int c, const dd_cluster_opts *o, int k_lo, int k_hi, dd_rng *rng,
                      int32_t **labels, double *inertia, dd_error *err) {
    for (int k = k_lo; k <= k_hi; k++) {
        dd_kmeans_result km;
        if (dd_kmeans(Z, n, (size_t)c, k, o->restarts, o->max_iter, rng, &km, err)) return -1;
        labels[k - k_lo] = km.labels;
        inertia[k - k_lo] = km.inertia;
        km.labels = NULL;
        dd_kmeans_free(&km);
    }
    return 0;
}

int dd_cluster_matrix(float *X, size_t n, size_t d, const dd_cluster_opts *o, dd_cluster_report *r, dd_error *err) {
    memset(r, 0, sizeof *r);
    r->n = n;
    r->pixels = d;
    if (n < 2)
        return dd_fail(err, DD_ERR_USAGE, "the set has %zu drawing%s: clustering needs at least 2", n,
                       n == 1 ? "" : "s");
    if (o->k > 0 && (size_t)o->k > n)
        return dd_fail(err, DD_ERR_USAGE, "the set has %zu drawings, fewer than k = %d clusters: give a smaller --k", n,
                       o->k);
    if (o->k <= 0 && (o->k_min < 2 || o->k_max < o->k_min))
        return dd_fail(err, DD_ERR_USAGE, "the k range %d..%d is not valid (2 <= min <= max)", o->k_min, o->k_max);
    if (o->k <= 0 && n < 3)
        return dd_fail(err, DD_ERR_USAGE,
                       "the set has %zu drawings: choosing k by silhouette needs at least 3 (or give --k)", n);
    if (o->min_samples < 1) return dd_fail(err, DD_ERR_USAGE, "min_samples must be at least 1");
    uint32_t *kept = dd_malloc(d, sizeof *kept, err);
    if (!kept) return -1;
    r->kept_columns = dd_drop_zero_columns(X, n, d, kept);
    free(kept);
    const size_t dk = r->kept_columns;
    if (dk == 0) return dd_fail(err, DD_ERR_EMPTY, "all %zu drawings are blank: there is nothing to cluster", n);
    if (o->standardize) standardize_columns(X, n, dk);

    dd_rng rng;
    dd_rng_seed(&rng, o->seed);
    dd_pca pca;
    memset(&pca, 0, sizeof pca);
    float *Z = NULL, *kd = NULL;
    int32_t **labels = NULL;
    double *inertia = NULL;
    int n_k = 0, rc = -1;

    /* PCA: at most min(n - 1, kept) components, since centring n rows leaves n - 1 directions. */
    double t0 = dd_now_seconds();
    size_t cap = n - 1 < dk ? n - 1 : dk;
    int comps = o->components > 0 && (size_t)o->components > cap ? (int)cap : o->components;
    if (dd_pca_fit(X, n, dk, comps, o->variance_threshold, &rng, &pca, err)) goto done;
    if ((size_t)pca.components > cap) pca.components = (int)cap;
    const int c = pca.components;
    r->components = c;
    if (!(r->variance_ratio = dd_malloc((size_t)c, sizeof *r->variance_ratio, err))) goto done;
    for (int i = 0; i < c; i++) {
        r->variance_ratio[i] = pca.variance_ratio[i];
        r->explained_variance += pca.variance_ratio[i];
    }
    if (!(Z = dd_malloc(n * (size_t)c, sizeof *Z, err)) || dd_pca_transform(&pca, X, n, Z, err)) goto done;
    if (!(r->pc1 = dd_malloc(n, sizeof *r->pc1, err)) || !(r->pc2 = dd_calloc(n, sizeof *r->pc2, err))) goto done;
    for (size_t i = 0; i < n; i++) {
        r->pc1[i] = Z[i * (size_t)c];
        if (c > 1) r->pc2[i] = Z[i * (size_t)c + 1];
    }
    r->seconds_pca = dd_now_seconds() - t0;

    /* K-Means: the one k, or every k of the range that leaves at least one drawing more than clusters. */
    t0 = dd_now_seconds();
    int k_lo = o->k > 0 ? o->k : o->k_min, k_hi = o->k > 0 ? o->k : o->k_max;
    if (o->k <= 0 && (size_t)k_hi > n - 1) k_hi = (int)(n - 1);
    if (k_lo > k_hi) k_lo = k_hi;
    n_k = k_hi - k_lo + 1;
    r->k_tried_min = k_lo;
    r->k_tried_max = k_hi;
    if (!(labels = dd_calloc((size_t)n_k + 1, sizeof *labels, err)) ||
        !(inertia = dd_malloc((size_t)n_k, sizeof *inertia, err)) ||
        !(r->k_silhouettes = dd_malloc((size_t)n_k + 1, sizeof *r->k_silhouettes, err)))
        goto done;
    if (kmeans_all(Z, n, c, o, k_lo, k_hi, &rng, labels, inertia, err)) goto done;
    r->seconds_kmeans = dd_now_seconds() - t0;

    /* DBSCAN: eps from the knee of the min_samples-distances unless given. */
    t0 = dd_now_seconds();
    r->min_samples = o->min_samples;
    r->eps = o->eps;
    if (!(o->eps > 0)) {
        int kk = (size_t)o->min_samples < n ? o->min_samples : (int)n;
        if (!(kd = dd_malloc(n, sizeof *kd, err)) || dd_kth_neighbor_distances(Z, n, (size_t)c, kk, kd, err)) goto done;
        r->eps = dd_knee_eps(kd, n, NULL, err);
        if (r->eps < 0) goto done;
        r->eps_from_knee = 1;
        if (!(r->eps > 0)) r->eps = 1e-6; /* duplicates only: a radius that keeps identical points together */
    }
    if (!(labels[n_k] = dd_malloc(n, sizeof **labels, err))) goto done;
    int db;
    if (r->eps_from_knee && (size_t)o->min_samples <= n) {
        /* The k-distances already tell the core points: no neighbour-count pass. */
        uint8_t *core = dd_malloc(n, 1, err);
        if (!core) goto done;
        for (size_t i = 0; i < n; i++) core[i] = kd[i] <= r->eps;
        db = numerics_dbscan_cores(Z, n, (size_t)c, r->eps, core, labels[n_k], err);
        free(core);
    } else {
        db = dd_dbscan(Z, n, (size_t)c, r->eps, o->min_samples, labels[n_k], err);
    }
    if (db < 0) goto done;
    r->dbscan_clusters = db;
    r->seconds_dbscan = dd_now_seconds() - t0;

    /* Silhouettes of every K-Means labelling and of DBSCAN's in one pass. */
    t0 = dd_now_seconds();
    int *ks = dd_malloc((size_t)n_k + 1, sizeof *ks, err);
    double **per = dd_calloc((size_t)n_k + 1, sizeof *per, err);
    float **point = dd_calloc((size_t)n_k + 1, sizeof *point, err);
    if (!ks || !per || !point) {
        free(ks);
        free(per);
        free(point);
        goto done;
    }
    for (int i = 0; i < n_k; i++) ks[i] = k_lo + i;
    ks[n_k] = db;
    int bad = 0;
    for (int i = 0; i <= n_k && !bad; i++)
        bad = !(per[i] = dd_malloc((size_t)ks[i] + 1, sizeof **per, err)) ||
              !(point[i] = dd_malloc(n, sizeof **point, err));
    /* Past SILHOUETTE_REFERENCES drawings, distances go to a seeded sample of that many (sklearn's silhouette_score
     * samples for the same reason): n x 5,000 distances instead of n x n. */
    size_t *ref = NULL, n_ref = 0;
    if (!bad && n > SILHOUETTE_REFERENCES) {
        bad = !(ref = dd_malloc(n, sizeof *ref, err));
        if (!bad) {
            for (size_t i = 0; i < n; i++) ref[i] = i;
            dd_rng srng;
            dd_rng_seed(&srng, o->seed ^ 0x51e7u);
            for (size_t i = 0; i < SILHOUETTE_REFERENCES; i++) {
                size_t j = i + (size_t)dd_rng_below(&srng, n - i), t = ref[i];
                ref[i] = ref[j];
                ref[j] = t;
            }
            n_ref = SILHOUETTE_REFERENCES;
        }
    }
    if (!bad)
        bad = numerics_silhouette_sampled(Z, n, (size_t)c, (const int32_t *const *)labels, ks, n_k + 1, ref, n_ref,
                                          point, (double *const *)per, r->k_silhouettes, err);
    free(ref);
    int best = 0;
    if (!bad) {
        for (int i = 1; i < n_k; i++)
            if (r->k_silhouettes[i] > r->k_silhouettes[best] || isnan(r->k_silhouettes[best])) best = i;
        r->k = k_lo + best;
        r->kmeans_inertia = inertia[best];
        r->kmeans_silhouette = r->k_silhouettes[best];
        r->dbscan_silhouette = r->k_silhouettes[n_k];
        r->kmeans = dd_calloc((size_t)r->k, sizeof *r->kmeans, err);
        r->dbscan = dd_calloc((size_t)db + 1, sizeof *r->dbscan, err);
        bad = !r->kmeans || !r->dbscan;
    }
    if (!bad) {
        for (int q = 0; q < r->k; q++) r->kmeans[q].silhouette = per[best][q];
        for (int q = 0; q < db; q++) r->dbscan[q].silhouette = per[n_k][q];
        r->dbscan[db].silhouette = NAN;
        for (size_t i = 0; i < n; i++) {
            r->kmeans[labels[best][i]].size++;
            int32_t l = labels[n_k][i];
            r->dbscan[l < 0 ? db : l].size++;
        }
        r->dbscan_noise = r->dbscan[db].size;
        r->kmeans_label = labels[best];
        r->dbscan_label = labels[n_k];
        labels[best] = labels[n_k] = NULL;
        r->kmeans_point_silhouette = point[best];
        r->dbscan_point_silhouette = point[n_k];
        point[best] = point[n_k] = NULL;
    }
    for (int i = 0; i <= n_k; i++) {
        free(per[i]);
        free(point[i]);
    }
    free(per);
    free(point);
    free(ks);
    if (bad) goto done;
    r->seconds_silhouette = dd_now_seconds() - t0;
    if (o->tsne_max > 0 && tsne_map(Z, n, c, o, r, err)) goto done;
    r->scores = Z;
    Z = NULL;
    rc = 0;
done:
    if (labels)
        for (int i = 0; i <= n_k; i++) free(labels[i]);
    free(labels);
    free(inertia);
    free(Z);
    free(kd);
    dd_pca_free(&pca);
    if (rc) {
        /* Keep what was counted for the message, drop what was allocated. */
        size_t keep_n = r->n, keep_px = r->pixels;
        dd_cluster_report_free(r);
        r->n = keep_n;
        r->pixels = keep_px;
    }
    return rc;
}
