/* The numeric pipeline of `doodle explain clusters` (drop all-zero columns, PCA(50), K-Means k = 5..8 with 10
 * restarts each, k-distance knee, DBSCAN, silhouettes of every labelling) on a uint8 matrix from an .npy file
 * (N,H,W) or (N,784), scaled to 0..1 as the pipeline scales drawings. bench/cluster.sh writes the matrix with
 * ../shared/peers/sk_cluster.py's own recipe and runs scikit-learn next to this. Prints one line per step. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "doodle/cluster.h"
#include "doodle/quickdraw.h"

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: bench_cluster MATRIX.npy\n");
        return 2;
    }
    dd_error err;
    dd_bitmaps bm;
    if (dd_npy_read(argv[1], &bm, &err)) {
        fprintf(stderr, "bench_cluster: %s\n", err.msg);
        return 1;
    }
    size_t n = (size_t)bm.count, d = (size_t)bm.height * bm.width;
    float *X = malloc(n * d * sizeof *X);
    if (!X) return 1;
    for (size_t i = 0; i < n * d; i++) X[i] = (float)bm.pixels[i] / 255.0f;
    dd_bitmaps_free(&bm);
    dd_cluster_opts o = dd_cluster_opts_default();
    o.components = 50;
    o.k_min = 5;
    o.k_max = 8;
    o.restarts = 10;
    o.min_samples = 5;
    o.tsne_max = 0; /* the pipeline sklearn's peer times: no t-SNE map */
    dd_cluster_report r;
    double t0 = now();
    if (dd_cluster_matrix(X, n, d, &o, &r, &err)) {
        fprintf(stderr, "bench_cluster: %s\n", err.msg);
        return 1;
    }
    double total = now() - t0;
    double other = total - r.seconds_pca - r.seconds_kmeans - r.seconds_dbscan - r.seconds_silhouette;
    printf("doodle n=%zu x %zu: kept %zu columns\n", n, d, r.kept_columns);
    printf("doodle drop zero columns : %8.1f ms\n", other * 1e3);
    printf("doodle PCA(%d)           : %8.1f ms  %s, explained variance %.3f\n", r.components, r.seconds_pca * 1e3,
           "solver", r.explained_variance);
    printf("doodle KMeans k=%d..%d x%d : %8.1f ms  chosen k=%d inertia %.4g\n", r.k_tried_min, r.k_tried_max,
           o.restarts, r.seconds_kmeans * 1e3, r.k, r.kmeans_inertia);
    printf("doodle knee + DBSCAN     : %8.1f ms  eps=%.4f clusters=%d noise=%.3f\n", r.seconds_dbscan * 1e3, r.eps,
           r.dbscan_clusters, (double)r.dbscan_noise / (double)n);
    printf("doodle silhouettes (%d labellings): %8.1f ms\n", r.k_tried_max - r.k_tried_min + 2,
           r.seconds_silhouette * 1e3);
    printf("doodle total             : %8.1f ms\n", total * 1e3);
    dd_cluster_report_free(&r);
    free(X);
    return 0;
}
