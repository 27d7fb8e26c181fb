/* The clustering core against scikit-learn on a real matrix: 300 Quick, Draw! bitmaps (tests/data/
 * cluster_matrix.npy.gz) and sklearn's results on them (tests/data/cluster_sklearn.json, written by
 * tests/data/make_sklearn_reference.py): the kept columns, PCA explained-variance ratios within 1e-3, K-Means
 * inertia within 1% of sklearn's best of 10 restarts, the k-distance knee, DBSCAN labels (adjusted Rand index
 * >= 0.99) and silhouettes. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "doodle/cluster.h"
#include "doodle/quickdraw.h"
#include "testutil.h"

/* Adjusted Rand index of two labellings (any integers, -1 included as a label of its own, as sklearn does). */
static double adjusted_rand(const int32_t *a, const int32_t *b, size_t n) {
    int32_t amin = a[0], amax = a[0], bmin = b[0], bmax = b[0];
    for (size_t i = 0; i < n; i++) {
        if (a[i] < amin) amin = a[i];
        if (a[i] > amax) amax = a[i];
        if (b[i] < bmin) bmin = b[i];
        if (b[i] > bmax) bmax = b[i];
    }
    size_t ra = (size_t)(amax - amin + 1), rb = (size_t)(bmax - bmin + 1);
    double *t = calloc(ra * rb, sizeof *t), *sa = calloc(ra, sizeof *sa), *sb = calloc(rb, sizeof *sb);
    if (!t || !sa || !sb) abort();
    for (size_t i = 0; i < n; i++) t[(size_t)(a[i] - amin) * rb + (size_t)(b[i] - bmin)] += 1;
    double sum_ij = 0, sum_a = 0, sum_b = 0;
    for (size_t x = 0; x < ra; x++)
        for (size_t y = 0; y < rb; y++) {
            double v = t[x * rb + y];
            sum_ij += v * (v - 1) / 2;
            sa[x] += v;
            sb[y] += v;
        }
    for (size_t x = 0; x < ra; x++) sum_a += sa[x] * (sa[x] - 1) / 2;
    for (size_t y = 0; y < rb; y++) sum_b += sb[y] * (sb[y] - 1) / 2;
    free(t);
    free(sa);
    free(sb);
    double pairs = (double)n * (double)(n - 1) / 2, expected = sum_a * sum_b / pairs, top = (sum_a + sum_b) / 2;
    if (top == expected) return 1.0;
    return (sum_ij - expected) / (top - expected);
}

static int32_t *json_labels(const cJSON *arr, size_t n) {
    int32_t *l = malloc(n * sizeof *l);
    if (!l) abort();
    CHECK(cJSON_GetArraySize(arr) == (int)n, "label count %d", cJSON_GetArraySize(arr));
    for (size_t i = 0; i < n; i++) {
        const cJSON *v = cJSON_GetArrayItem(arr, (int)i);
        l[i] = v ? (int32_t)v->valuedouble : -2;
    }
    return l;
}

static double num(const cJSON *o, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsNumber(v)) {
        fprintf(stderr, "reference: no number '%s'\n", key);
        exit(1);
    }
    return v->valuedouble;
}

static void check_dbscan(const float *Z, size_t n, int comps, const cJSON *ref, const char *what) {
    double eps = num(ref, "eps");
    int ms = (int)num(ref, "min_samples");
    int32_t *want = json_labels(cJSON_GetObjectItemCaseSensitive(ref, "labels"), n);
    int32_t *got = malloc(n * sizeof *got);
    dd_error err;
    int clusters = dd_dbscan(Z, n, (size_t)comps, eps, ms, got, &err);
    CHECK(clusters >= 0, "%s: %s", what, err.msg);
    int want_clusters = 0, got_noise = 0, want_noise = 0;
    for (size_t i = 0; i < n; i++) {
        if (want[i] + 1 > want_clusters) want_clusters = want[i] + 1;
        got_noise += got[i] < 0;
        want_noise += want[i] < 0;
    }
    double ari = adjusted_rand(got, want, n);
    printf("DBSCAN %s eps %.4f min_samples %d: %d clusters, %d noise (sklearn %d, %d), ARI %.5f\n", what, eps, ms,
           clusters, got_noise, want_clusters, want_noise, ari);
    CHECK(clusters == want_clusters, "%s: %d clusters, sklearn %d", what, clusters, want_clusters);
    CHECK(ari >= 0.99, "%s: adjusted Rand index %.4f", what, ari);
    free(want);
    free(got);
}

int main(void) {
    char path[1024];
    size_t len;
    snprintf(path, sizeof path, "%s/cluster_sklearn.json", DOODLE_TEST_DATA);
    char *text = test_read_file(path, &len);
    CHECK(text != NULL, "cannot read %s", path);
    if (!text) return test_finish("test_cluster_sklearn");
    cJSON *ref = cJSON_Parse(text);
    free(text);
    CHECK(ref != NULL, "%s is not JSON", path);
    if (!ref) return test_finish("test_cluster_sklearn");

    dd_error err;
    dd_bitmaps bm;
    snprintf(path, sizeof path, "%s/cluster_matrix.npy.gz", DOODLE_TEST_DATA);
    if (dd_npy_read(path, &bm, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    const size_t n = (size_t)bm.count, d0 = (size_t)bm.height * bm.width;
    CHECK(n == (size_t)num(ref, "n") && d0 == (size_t)num(ref, "d"), "matrix %zu x %zu", n, d0);
    float *X = malloc(n * d0 * sizeof *X);
    uint32_t *kept = malloc(d0 * sizeof *kept);
    for (size_t i = 0; i < n * d0; i++) X[i] = (float)bm.pixels[i] / 255.0f;
    dd_bitmaps_free(&bm);

    size_t d = dd_drop_zero_columns(X, n, d0, kept);
    CHECK(d == (size_t)num(ref, "kept"), "kept %zu columns, sklearn %g", d, num(ref, "kept"));

    /* PCA: 10 components, then the count for 90% of the variance. */
    dd_rng rng;
    dd_rng_seed(&rng, 1);
    dd_pca pca;
    const cJSON *ratios = cJSON_GetObjectItemCaseSensitive(ref, "pca_ratios");
    const int comps = cJSON_GetArraySize(ratios);
    CHECK(dd_pca_fit(X, n, d, comps, 0, &rng, &pca, &err) == 0, "%s", err.msg);
    double worst = 0;
    for (int c = 0; c < comps; c++) {
        double diff = fabs(pca.variance_ratio[c] - cJSON_GetArrayItem(ratios, c)->valuedouble);
        if (diff > worst) worst = diff;
    }
    printf("PCA: %d components, ratio[0] %.6f, largest difference from sklearn %.2e\n", comps, pca.variance_ratio[0],
           worst);
    CHECK(worst <= 1e-3, "explained-variance ratios differ from sklearn's by %g", worst);
    float *Z = malloc(n * (size_t)comps * sizeof *Z);
    CHECK(dd_pca_transform(&pca, X, n, Z, &err) == 0, "%s", err.msg);
    dd_pca p90;
    CHECK(dd_pca_fit(X, n, d, 0, 0.9, &rng, &p90, &err) == 0, "%s", err.msg);
    double sum90 = 0;
    for (int c = 0; c < p90.components; c++) sum90 += p90.variance_ratio[c];
    CHECK(p90.components == (int)num(ref, "pca90_components"), "90%%: %d components, sklearn %g", p90.components,
          num(ref, "pca90_components"));
    CHECK(fabs(sum90 - num(ref, "pca90_sum")) <= 1e-3, "90%%: sum %.5f, sklearn %.5f", sum90, num(ref, "pca90_sum"));
    dd_pca_free(&p90);

    /* K-Means on the scores, k = 3..6, 10 restarts. */
    const cJSON *inertia = cJSON_GetObjectItemCaseSensitive(ref, "kmeans_inertia");
    for (int k = 3; k <= 6; k++) {
        char key[12]; /* any int */
        snprintf(key, sizeof key, "%d", k);
        double want = num(inertia, key);
        dd_kmeans_result km;
        CHECK(dd_kmeans(Z, n, (size_t)comps, k, 10, 300, &rng, &km, &err) == 0, "%s", err.msg);
        printf("K-Means k=%d: inertia %.3f, sklearn %.3f (%+.3f%%), %d iterations\n", k, km.inertia, want,
               100 * (km.inertia - want) / want, km.iterations);
        CHECK(fabs(km.inertia - want) <= 0.01 * want, "k=%d: inertia %.3f, sklearn's best of 10 %.3f", k, km.inertia,
              want);
        dd_kmeans_free(&km);
    }

    /* The k-distance knee, then DBSCAN at sklearn's eps and at a fixed one. */
    float *kd = malloc(n * sizeof *kd);
    CHECK(dd_kth_neighbor_distances(Z, n, (size_t)comps, 5, kd, &err) == 0, "%s", err.msg);
    double q, eps = dd_knee_eps(kd, n, &q, &err);
    printf("knee eps %.5f at %.3f (sklearn %.5f at %.3f)\n", eps, q, num(ref, "knee_eps"), num(ref, "knee_quantile"));
    CHECK(fabs(eps - num(ref, "knee_eps")) <= 1e-3 * num(ref, "knee_eps"), "knee eps %g", eps);
    CHECK(fabs(q - num(ref, "knee_quantile")) <= 0.01, "knee quantile %g", q);
    check_dbscan(Z, n, comps, cJSON_GetObjectItemCaseSensitive(ref, "dbscan"), "at the knee");
    check_dbscan(Z, n, comps, cJSON_GetObjectItemCaseSensitive(ref, "dbscan_fixed"), "fixed eps");

    /* Silhouettes of sklearn's own K-Means labelling (k = 4), point by point. */
    int32_t *lab = json_labels(cJSON_GetObjectItemCaseSensitive(ref, "kmeans4_labels"), n);
    const cJSON *sil = cJSON_GetObjectItemCaseSensitive(ref, "kmeans4_silhouette");
    float *s = malloc(n * sizeof *s);
    double per[4], mean, want_mean = 0, sworst = 0;
    CHECK(dd_silhouette(Z, n, (size_t)comps, lab, 4, s, per, &mean, &err) == 0, "%s", err.msg);
    for (size_t i = 0; i < n; i++) {
        double w = cJSON_GetArrayItem(sil, (int)i)->valuedouble, diff = fabs(s[i] - w);
        want_mean += w / (double)n;
        if (diff > sworst) sworst = diff;
    }
    printf("silhouette k=4: mean %.5f (sklearn %.5f), largest difference per point %.2e\n", mean, want_mean, sworst);
    CHECK(sworst <= 1e-3, "silhouettes differ by %g", sworst);
    CHECK(fabs(mean - want_mean) <= 1e-4, "mean silhouette %g, sklearn %g", mean, want_mean);
    double per_mean = 0;
    int sizes[4] = {0};
    for (size_t i = 0; i < n; i++) sizes[lab[i]]++;
    for (int c = 0; c < 4; c++) per_mean += per[c] * sizes[c] / (double)n;
    CHECK(fabs(per_mean - mean) <= 1e-9, "per-cluster silhouettes do not average to the mean");
    /* Noise is left out: the fixed-eps DBSCAN labelling against sklearn's silhouette of its non-noise points. */
    const cJSON *dbm = cJSON_GetObjectItemCaseSensitive(ref, "dbscan_silhouette_mean");
    if (cJSON_IsNumber(dbm)) {
        int32_t *dl =
            json_labels(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(ref, "dbscan"), "labels"), n);
        int k = 0;
        for (size_t i = 0; i < n; i++)
            if (dl[i] + 1 > k) k = dl[i] + 1;
        CHECK(dd_silhouette(Z, n, (size_t)comps, dl, k, NULL, NULL, &mean, &err) == 0, "%s", err.msg);
        CHECK(fabs(mean - dbm->valuedouble) <= 1e-4, "DBSCAN silhouette %g, sklearn %g", mean, dbm->valuedouble);
        free(dl);
    }

    free(lab);
    free(s);
    free(kd);
    free(Z);
    free(X);
    free(kept);
    dd_pca_free(&pca);
    cJSON_Delete(ref);
    return test_finish("test_cluster_sklearn");
}
