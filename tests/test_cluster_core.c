/* Edge cases of the clustering core (include/doodle/cluster.h) on small matrices whose answers are known:
 * dropping constant-zero columns in place, PCA on data with a known spectrum (exact and randomized solvers),
 * K-Means and DBSCAN on well-separated blobs, silhouettes by hand, and the refusals: fewer points than k, one
 * row, identical rows, a bad eps, a single cluster. t-SNE on real drawings of the bundled sample: the same seed
 * gives the same map, the KL divergence falls as it runs, and neighbourhoods of well-separated classes are kept
 * (trustworthiness, itself checked on a hand-made case); purity of known labellings. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "doodle/cluster.h"
#include "doodle/quickdraw.h"
#include "numerics/linalg.h"
#include "numerics/silhouette.h"
#include "testutil.h"

/* n points in d dimensions around `blobs` centres 10 units apart on the first axes, uniform noise +-0.5. */
static float *blobs(size_t n, size_t d, int nblobs, dd_rng *rng, int32_t *truth) {
    float *X = calloc(n * d, sizeof *X);
    for (size_t i = 0; i < n; i++) {
        int b = (int)(i % (size_t)nblobs);
        truth[i] = b;
        for (size_t j = 0; j < d; j++) X[i * d + j] = (float)(dd_rng_uniform(rng) - 0.5);
        X[i * d + (size_t)b % d] += 10.0f;
    }
    return X;
}

/* True when the labellings are the same partition (up to renaming). */
static int same_partition(const int32_t *a, const int32_t *b, size_t n) {
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            if ((a[i] == a[j]) != (b[i] == b[j])) return 0;
    return 1;
}

static void test_drop_columns(void) {
    /* 3 x 5 with columns 1 and 4 all zero */
    float X[15] = {1, 0, 2, 3, 0, 4, 0, 5, 6, 0, 7, 0, 8, 9, 0};
    uint32_t kept[5];
    size_t d = dd_drop_zero_columns(X, 3, 5, kept);
    CHECK(d == 3 && kept[0] == 0 && kept[1] == 2 && kept[2] == 3, "kept %zu", d);
    const float want[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    CHECK(!memcmp(X, want, sizeof want), "columns not moved left in place");
    float Z[4] = {0, 0, 0, 0};
    CHECK(dd_drop_zero_columns(Z, 2, 2, kept) == 0, "blank rows keep a column");
}

static void test_pca_spectrum(dd_rng *rng) {
    /* Columns scaled 4, 2, 1 plus a constant column: ratios 16/21, 4/21, 1/21 and a zero-variance direction. */
    const size_t n = 4000, d = 4;
    float *X = malloc(n * d * sizeof *X);
    for (size_t i = 0; i < n; i++) {
        double g[3];
        for (int c = 0; c < 3; c++) g[c] = dd_rng_uniform(rng) < 0.5 ? -1 : 1; /* +-1: variance exactly 1 */
        X[i * d + 0] = (float)(4 * g[0]);
        X[i * d + 1] = (float)(2 * g[1]);
        X[i * d + 2] = (float)(1 * g[2]);
        X[i * d + 3] = 7.0f;
    }
    dd_pca p;
    dd_error err;
    CHECK(dd_pca_fit(X, n, d, 3, 0, rng, &p, &err) == 0, "%s", err.msg);
    double total = 0;
    for (int c = 0; c < 3; c++) total += p.variance_ratio[c];
    CHECK(fabs(total - 1) < 1e-9 && fabs(p.variance_ratio[0] - 16.0 / 21) < 0.02 &&
              fabs(p.variance_ratio[2] - 1.0 / 21) < 0.01,
          "ratios %g %g %g", p.variance_ratio[0], p.variance_ratio[1], p.variance_ratio[2]);
    CHECK(fabsf(fabsf(p.axes[0]) - 1) < 1e-3 && p.axes[0] > 0, "the first axis is not +x: %g", p.axes[0]);
    dd_pca_free(&p);
    CHECK(dd_pca_fit(X, n, d, 0, 0.95, rng, &p, &err) == 0 && p.components == 2, "95%%: %d components", p.components);
    dd_pca_free(&p); /* 16/21 + 4/21 = 0.952 */
    CHECK(dd_pca_fit(X, n, d, 0, 0.96, rng, &p, &err) == 0 && p.components == 3, "96%%: %d components", p.components);
    dd_pca_free(&p);
    CHECK(dd_pca_fit(X, n, d, 5, 0, rng, &p, &err) == -1 && err.code == DD_ERR_USAGE, "5 components of 4 columns");
    for (size_t i = 0; i < n * d; i++) X[i] = 3.0f;
    CHECK(dd_pca_fit(X, n, d, 2, 0, rng, &p, &err) == -1 && strstr(err.msg, "no variance"), "identical rows: %s",
          err.msg);
    CHECK(dd_pca_fit(X, 1, d, 1, 0, rng, &p, &err) == -1 && strstr(err.msg, "at least 2 rows"), "one row: %s", err.msg);
    free(X);
}

static void test_pca_randomized(dd_rng *rng) {
    /* Large enough for the randomized solver: 3000 x 1500 of 6 blobs. Its variance sits in the 5 directions between
     * the blob centres; the solver must find them as the exact spectrum says: each of the 5 holds the same share. */
    const size_t n = 3000, d = 1500;
    int32_t *truth = malloc(n * sizeof *truth);
    float *X = blobs(n, d, 6, rng, truth);
    dd_pca p;
    dd_error err;
    CHECK(dd_pca_fit(X, n, d, 8, 0, rng, &p, &err) == 0, "%s", err.msg);
    CHECK(p.randomized == 1, "a 3000 x 1500 matrix did not take the randomized solver");
    /* Between-blob variance per direction: 100 * (1/6)(5/6) * 6/5 = 100/6 * ... computed directly instead. */
    double between = 0, noise = (double)d / 12.0;
    for (size_t j = 0; j < 6; j++) between += 100.0 * (1.0 / 6) * (5.0 / 6); /* per-axis indicator variance */
    double want5 = between / (between + noise);
    double got5 = 0;
    for (int c = 0; c < 5; c++) got5 += p.variance_ratio[c];
    CHECK(fabs(got5 - want5) < 0.01, "5 blob directions hold %.4f of the variance, expected %.4f", got5, want5);
    CHECK(p.variance_ratio[5] < 0.05 * p.variance_ratio[4], "a sixth strong direction: %g", p.variance_ratio[5]);
    dd_pca_free(&p);
    free(X);
    free(truth);
}

/* Mostly-zero rows like drawings (5000 x 1000, 6 bands of 100 columns, ink in 40% of a band's pixels): the
 * randomized solver, multiplying through the non-zeros, against the exact eigenvalues of the covariance. */
static void test_pca_sparse(dd_rng *rng) {
    const size_t n = 5000, d = 1000;
    const int comps = 10;
    float *X = calloc(n * d, sizeof *X);
    double *xc = malloc(n * d * sizeof *xc), *cov = malloc(d * d * sizeof *cov), *mean = calloc(d, sizeof *mean);
    double *lam = malloc(d * sizeof *lam), *vec = malloc((size_t)comps * d * sizeof *vec);
    for (size_t i = 0; i < n; i++) {
        size_t band = (i % 6) * 100;
        for (size_t j = 0; j < 100 && band + j < d; j++)
            if (dd_rng_uniform(rng) < 0.4) X[i * d + band + j] = (float)(0.5 + 0.5 * dd_rng_uniform(rng));
    }
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < d; j++) mean[j] += X[i * d + j] / (double)n;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < d; j++) xc[i * d + j] = X[i * d + j] - mean[j];
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)d, (int)n, 1.0, xc, (int)d, 0.0, cov, (int)d);
    double total = 0;
    for (size_t j = 0; j < d; j++) total += cov[j * d + j];
    dd_error err;
    CHECK(numerics_sym_top_eigen(cov, (int)d, comps, lam, vec, &err) == 0, "%s", err.msg);
    dd_pca p;
    CHECK(dd_pca_fit(X, n, d, comps, 0, rng, &p, &err) == 0, "%s", err.msg);
    CHECK(p.randomized == 1, "5000 x 1000 did not take the randomized solver");
    double worst = 0;
    for (int c = 0; c < comps; c++) worst = fmax(worst, fabs(p.variance_ratio[c] - lam[c] / total));
    CHECK(worst < 1e-3, "randomized ratios differ from the exact ones by %g (first %g, exact %g)", worst,
          p.variance_ratio[0], lam[0] / total);
    /* the scores' variance along each axis is that axis's explained variance: closely for the 5 directions between
     * the bands, within 1% in the flat noise spectrum after them, where a randomized solver's Ritz values fall a
     * little short (sklearn's do too) */
    float *Z = malloc(n * (size_t)comps * sizeof *Z);
    CHECK(dd_pca_transform(&p, X, n, Z, &err) == 0, "%s", err.msg);
    for (int c = 0; c < comps; c++) {
        double s2 = 0;
        for (size_t i = 0; i < n; i++)
            s2 += (double)Z[i * (size_t)comps + (size_t)c] * Z[i * (size_t)comps + (size_t)c];
        CHECK(fabs(s2 / (double)(n - 1) / p.variance[c] - 1) < (c < 5 ? 1e-3 : 1e-2),
              "axis %d: scores' variance %g, explained %g", c, s2 / (double)(n - 1), p.variance[c]);
    }
    dd_pca_free(&p);
    free(Z);
    free(X);
    free(xc);
    free(cov);
    free(mean);
    free(lam);
    free(vec);
}

static void test_kmeans_dbscan(dd_rng *rng) {
    const size_t n = 300, d = 5;
    int32_t truth[300], got[300];
    float *X = blobs(n, d, 3, rng, truth);
    dd_kmeans_result km;
    dd_error err;
    CHECK(dd_kmeans(X, n, d, 3, 5, 300, rng, &km, &err) == 0, "%s", err.msg);
    CHECK(same_partition(km.labels, truth, n), "K-Means did not find 3 separated blobs");
    /* inertia = the noise: 5 coordinates of variance 1/12 per point */
    CHECK(fabs(km.inertia / (n * d / 12.0) - 1) < 0.15, "inertia %g", km.inertia);
    dd_kmeans_free(&km);
    CHECK(dd_kmeans(X, 2, d, 3, 1, 10, rng, &km, &err) == -1 && strstr(err.msg, "3 clusters of 2 points"), "k > n: %s",
          err.msg);
    CHECK(dd_kmeans(X, 3, d, 3, 1, 10, rng, &km, &err) == 0 && km.inertia < 1e-9, "k = n: inertia %g", km.inertia);
    dd_kmeans_free(&km);

    CHECK(dd_dbscan(X, n, d, 2.0, 5, got, &err) == 3, "DBSCAN clusters");
    CHECK(same_partition(got, truth, n), "DBSCAN did not find the 3 blobs");
    CHECK(got[0] == 0 && got[1] == 1 && got[2] == 2, "clusters not numbered by their first point");
    CHECK(dd_dbscan(X, n, d, 0.01, 5, got, &err) == 0 && got[0] == -1, "a tiny eps leaves noise only");
    CHECK(dd_dbscan(X, n, d, 0, 5, got, &err) == -1 && err.code == DD_ERR_USAGE, "eps 0 accepted");

    float kd[300];
    CHECK(dd_kth_neighbor_distances(X, n, d, 1, kd, &err) == 0 && kd[7] == 0, "the nearest point is the point");
    CHECK(dd_kth_neighbor_distances(X, n, d, 5, kd, &err) == 0, "%s", err.msg);
    double q, eps = dd_knee_eps(kd, n, &q, &err);
    CHECK(eps > 0.2 && eps < 3, "knee eps %g for blobs of radius ~0.6 set 10 apart", eps);
    free(X);
}

static void test_silhouette(void) {
    /* Points 0, 1 and 10, 11 on a line: a = 1, b = 10 (or 9 and 11): s = (b - a) / b. */
    const float X[4] = {0, 1, 10, 11};
    const int32_t lab[4] = {0, 0, 1, 1};
    float s[4];
    double per[2], mean;
    dd_error err;
    CHECK(dd_silhouette(X, 4, 1, lab, 2, s, per, &mean, &err) == 0, "%s", err.msg);
    const double want[4] = {(10.5 - 1) / 10.5, (9.5 - 1) / 9.5, (9.5 - 1) / 9.5, (10.5 - 1) / 10.5};
    for (int i = 0; i < 4; i++) CHECK(fabs(s[i] - want[i]) < 1e-6, "point %d: %g, expected %g", i, s[i], want[i]);
    CHECK(fabs(mean - (want[0] + want[1]) / 2) < 1e-6 && fabs(per[0] - per[1]) < 1e-6, "mean %g", mean);
    const int32_t noisy[4] = {0, -1, 1, 1}; /* noise left out: point 0 is alone in its cluster, s = 0 */
    CHECK(dd_silhouette(X, 4, 1, noisy, 2, s, per, &mean, &err) == 0 && s[0] == 0 && isnan(s[1]), "noise");
    const int32_t one[4] = {0, 0, 0, 0};
    CHECK(dd_silhouette(X, 4, 1, one, 1, s, per, &mean, &err) == 0 && isnan(mean) && isnan(per[0]), "one cluster");
    const int32_t bad[4] = {0, 0, 5, 0};
    CHECK(dd_silhouette(X, 4, 1, bad, 2, s, per, &mean, &err) == -1, "label 5 of 2 clusters accepted");
}

/* Silhouettes against every other reference point equal the exact ones; against a sample of a quarter, close. */
static void test_silhouette_sampled(dd_rng *rng) {
    const size_t n = 2000, d = 4;
    int32_t truth[2000];
    float *X = blobs(n, d, 3, rng, truth);
    for (size_t i = 0; i < n; i++) X[i * d + 3] += (float)(4 * dd_rng_uniform(rng)); /* blobs that touch */
    static size_t ref[2000];
    static float exact[2000], approx[2000];
    const int32_t *labels[1] = {truth};
    int k = 3;
    double mean_exact, mean_all, mean_quarter;
    float *pe[1] = {exact}, *pa[1] = {approx};
    dd_error err;
    CHECK(numerics_silhouette_many(X, n, d, labels, &k, 1, pe, NULL, &mean_exact, &err) == 0, "%s", err.msg);
    for (size_t i = 0; i < n; i++) ref[i] = i;
    CHECK(numerics_silhouette_sampled(X, n, d, labels, &k, 1, ref, n, pa, NULL, &mean_all, &err) == 0, "%s", err.msg);
    double worst = 0;
    for (size_t i = 0; i < n; i++) worst = fmax(worst, fabs(exact[i] - approx[i]));
    /* the same up to rounding: a copied reference row is not exactly at distance 0 from itself */
    CHECK(worst < 1e-3 && fabs(mean_all - mean_exact) < 1e-4, "all references: %g", worst);
    for (size_t i = 0; i < n / 4; i++) ref[i] = 4 * i + 1;
    CHECK(numerics_silhouette_sampled(X, n, d, labels, &k, 1, ref, n / 4, pa, NULL, &mean_quarter, &err) == 0, "%s",
          err.msg);
    CHECK(fabs(mean_quarter - mean_exact) < 0.01, "a quarter of the references: mean %g, exact %g", mean_quarter,
          mean_exact);
    free(X);
}

static void test_pipeline_refusals(dd_rng *rng) {
    const size_t n = 40, d = 6;
    int32_t truth[40];
    float *X = blobs(n, d, 2, rng, truth);
    dd_cluster_opts o = dd_cluster_opts_default();
    dd_cluster_report r;
    dd_error err;
    o.k = 50;
    CHECK(dd_cluster_matrix(X, n, d, &o, &r, &err) == -1 && strstr(err.msg, "fewer than k = 50"), "k > n: %s", err.msg);
    o.k = 0;
    CHECK(dd_cluster_matrix(X, 1, d, &o, &r, &err) == -1 && strstr(err.msg, "1 drawing"), "one drawing: %s", err.msg);
    CHECK(dd_cluster_matrix(X, 2, d, &o, &r, &err) == -1 && strstr(err.msg, "at least 3"), "two drawings: %s", err.msg);
    /* three drawings: the k range shrinks to 2 */
    float three[18];
    memcpy(three, X, sizeof three);
    CHECK(dd_cluster_matrix(three, 3, d, &o, &r, &err) == 0 && r.k == 2 && r.k_tried_max == 2, "three: %s", err.msg);
    dd_cluster_report_free(&r);
    /* the whole pipeline finds the 2 blobs */
    CHECK(dd_cluster_matrix(X, n, d, &o, &r, &err) == 0, "%s", err.msg);
    CHECK(r.k == 2 && same_partition(r.kmeans_label, truth, n), "k %d", r.k);
    CHECK(r.kept_columns == d && r.kmeans[0].size + r.kmeans[1].size == (int)n, "sizes");
    dd_cluster_report_free(&r);
    float blank[24] = {0};
    CHECK(dd_cluster_matrix(blank, 4, 6, &o, &r, &err) == -1 && strstr(err.msg, "blank"), "blank: %s", err.msg);
    free(X);
}

/* per drawings of each of the classes' sample files (pixels 0..1, 784 columns), with their class in truth. */
static float *sample_drawings(const char *const *classes, int n_classes, size_t per, int32_t *truth) {
    float *X = malloc((size_t)n_classes * per * 784 * sizeof *X);
    for (int c = 0; c < n_classes; c++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/bitmaps/%s.npy.gz", test_sample_dir(), classes[c]);
        dd_bitmaps bm;
        dd_error err;
        CHECK(dd_npy_read(path, &bm, &err) == 0, "%s", err.msg);
        if (bm.count < per) return NULL;
        for (size_t i = 0; i < per; i++) {
            size_t row = (size_t)c * per + i;
            truth[row] = c;
            for (size_t q = 0; q < 784; q++) X[row * 784 + q] = bm.pixels[i * 784 + q] / 255.0f;
        }
        dd_bitmaps_free(&bm);
    }
    return X;
}

static void test_trustworthiness(void) {
    /* A map that keeps the order of points on a line is fully trustworthy; one that swaps far neighbours is not. */
    float X[8], Y[8], Z[8];
    for (int i = 0; i < 8; i++) X[i] = (float)i, Y[i] = (float)(2 * i), Z[i] = (float)((i * 5) % 8);
    dd_error err;
    CHECK(fabs(dd_trustworthiness(X, 8, 1, Y, 1, 2, &err) - 1) < 1e-12, "an order-keeping map is not trusted fully");
    double t = dd_trustworthiness(X, 8, 1, Z, 1, 2, &err);
    CHECK(t < 0.8, "a shuffled map scores %.3f", t);
    CHECK(isnan(dd_trustworthiness(X, 8, 1, Y, 1, 4, &err)) && strstr(err.msg, "n / 2"), "k = n / 2 accepted");
}

/* How many points of X [n, d] have a nearest neighbour of their own class. */
static size_t nearest_same_class(const float *X, size_t n, size_t d, const int32_t *truth) {
    size_t same = 0;
    for (size_t i = 0; i < n; i++) {
        size_t best = i == 0 ? 1 : 0;
        double bd = INFINITY;
        for (size_t j = 0; j < n; j++) {
            double s = 0;
            for (size_t k = 0; k < d && j != i; k++) s += (X[i * d + k] - X[j * d + k]) * (X[i * d + k] - X[j * d + k]);
            if (j != i && s < bd) bd = s, best = j;
        }
        same += truth[best] == truth[i];
    }
    return same;
}

static void test_tsne(void) {
    /* 4 classes of real drawings, 60 each, through PCA(30) as the pipeline feeds t-SNE. */
    static const char *const classes[] = {"apple", "cat", "star", "airplane"};
    const size_t per = 60, n = 4 * per;
    int32_t truth[240];
    float *X = sample_drawings(classes, 4, per, truth);
    CHECK(X != NULL, "the sample has fewer than %zu drawings a class", per);
    if (!X) return;
    dd_rng rng;
    dd_rng_seed(&rng, 3);
    dd_pca p;
    dd_error err;
    CHECK(dd_pca_fit(X, n, 784, 30, 0, &rng, &p, &err) == 0, "%s", err.msg);
    float *Z = malloc(n * 30 * sizeof *Z), *Y1 = malloc(2 * n * sizeof *Y1), *Y2 = malloc(2 * n * sizeof *Y2),
          *Y3 = malloc(2 * n * sizeof *Y3);
    CHECK(dd_pca_transform(&p, X, n, Z, &err) == 0, "%s", err.msg);
    dd_tsne_opts o = dd_tsne_opts_default();
    dd_tsne_result r1, r2, r3;
    CHECK(dd_tsne(Z, n, 30, &o, Y1, &r1, &err) == 0, "%s", err.msg);
    CHECK(dd_tsne(Z, n, 30, &o, Y2, &r2, &err) == 0, "%s", err.msg);
    CHECK(!memcmp(Y1, Y2, 2 * n * sizeof *Y1) && r1.kl == r2.kl, "the same seed gave another map");
    /* The KL divergence of the true P falls from the end of early exaggeration to the end, and a shorter run
     * stops higher. */
    CHECK(r1.kl < r1.kl_exaggerated, "KL %.4f at the end, %.4f after exaggeration", r1.kl, r1.kl_exaggerated);
    o.max_iter = 300;
    CHECK(dd_tsne(Z, n, 30, &o, Y3, &r3, &err) == 0, "%s", err.msg);
    CHECK(r1.kl < r3.kl, "1000 iterations: KL %.4f, 300: %.4f", r1.kl, r3.kl);
    CHECK(r1.kl > 0 && r1.kl < 2, "KL %.4f", r1.kl);
    /* Neighbourhoods kept: real classes that PCA separates stay together (sklearn's exact TSNE scores 0.9+ here). */
    double t = dd_trustworthiness(Z, n, 30, Y1, 2, 5, &err);
    CHECK(t > 0.9, "trustworthiness %.4f", t);
    /* and a drawing's nearest neighbour on the map shares its class about as often as in PCA space */
    size_t same_map = nearest_same_class(Y1, n, 2, truth), same_pca = nearest_same_class(Z, n, 30, truth);
    CHECK(same_map + n / 20 >= same_pca && same_pca > n / 2,
          "nearest neighbours of the same class: %zu on the map, "
          "%zu in PCA space, of %zu",
          same_map, same_pca, n);
    o = dd_tsne_opts_default();
    o.perplexity = (double)n;
    CHECK(dd_tsne(Z, n, 30, &o, Y3, &r3, &err) == -1 && strstr(err.msg, "perplexity"), "perplexity n accepted");
    dd_pca_free(&p);
    free(X);
    free(Z);
    free(Y1);
    free(Y2);
    free(Y3);
}

static void test_purity(void) {
    /* clusters {0,0,1}, {1,1,1}: majorities 2 and 3 of 6 */
    const int32_t labels[6] = {0, 0, 0, 1, 1, 1};
    const int64_t codes[6] = {5, 5, 7, 7, 7, 7};
    dd_error err;
    double random;
    double p = dd_cluster_purity(labels, codes, 6, 2, 50, 1, &random, &err);
    CHECK(fabs(p - 5.0 / 6) < 1e-12, "purity %.4f", p);
    CHECK(random >= 4.0 / 6 - 1e-12 && random <= p, "random purity %.4f", random);
    const int32_t noise[4] = {-1, -1, 0, 0};
    const int64_t mixed[4] = {1, 2, 3, 4};
    CHECK(fabs(dd_cluster_purity(noise, mixed, 4, 1, 0, 1, NULL, &err) - 0.5) < 1e-12, "noise counted");
    const int32_t none[2] = {-1, -1};
    CHECK(isnan(dd_cluster_purity(none, mixed, 2, 0, 0, 1, NULL, &err)), "no labelled point");
}

int main(void) {
    dd_rng rng;
    dd_rng_seed(&rng, 7);
    test_drop_columns();
    test_pca_spectrum(&rng);
    test_pca_randomized(&rng);
    test_pca_sparse(&rng);
    test_kmeans_dbscan(&rng);
    test_silhouette();
    test_silhouette_sampled(&rng);
    test_pipeline_refusals(&rng);
    test_trustworthiness();
    test_tsne();
    test_purity();
    return test_finish("test_cluster_core");
}
