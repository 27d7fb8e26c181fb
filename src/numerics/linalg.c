/* Small wrappers over LAPACK and BLAS for PCA, K-Means, DBSCAN and silhouettes. */
#include <stdlib.h>
#include <string.h>

#include "numerics/linalg.h"
#include "doodle/alloc.h"
#include "util/blas_threads.h"
#include "doodle/cpus.h"
#include "util/thread_pool.h"

int numerics_sym_top_eigen(double *a, int n, int top, double *w, double *v, dd_error *err) {
    if (top < 1 || top > n)
        return dd_fail(err, DD_ERR_USAGE, "cannot take %d eigenvalues of a %dx%d matrix", top, n, n);
    int il = n - top + 1, iu = n, m = 0, info = 0, lwork = -1, liwork = -1, iwq = 0;
    double vl = 0, vu = 0, abstol = 0, wq = 0;
    double *wall = dd_malloc((size_t)n, sizeof *wall, err);
    double *z = dd_malloc((size_t)n * (size_t)top, sizeof *z, err);
    int *isuppz = dd_malloc(2 * (size_t)top, sizeof *isuppz, err);
    double *work = NULL;
    int *iwork = NULL;
    int rc = -1;
    if (!wall || !z || !isuppz) goto done;
    /* Symmetric: row-major "U" is column-major "L"; either triangle holds the whole matrix. */
    dsyevr_("V", "I", "L", &n, a, &n, &vl, &vu, &il, &iu, &abstol, &m, wall, z, &n, isuppz, &wq, &lwork, &iwq, &liwork,
            &info, 1, 1, 1);
    if (info != 0) {
        dd_fail(err, DD_ERR_RANGE, "LAPACK dsyevr workspace query failed (info %d)", info);
        goto done;
    }
    lwork = (int)wq + 1;
    liwork = iwq + 1;
    if (!(work = dd_malloc((size_t)lwork, sizeof *work, err)) ||
        !(iwork = dd_malloc((size_t)liwork, sizeof *iwork, err)))
        goto done;
    dsyevr_("V", "I", "L", &n, a, &n, &vl, &vu, &il, &iu, &abstol, &m, wall, z, &n, isuppz, work, &lwork, iwork,
            &liwork, &info, 1, 1, 1);
    if (info != 0 || m != top) {
        dd_fail(err, DD_ERR_RANGE, "LAPACK dsyevr failed (info %d, %d of %d eigenvalues)", info, m, top);
        goto done;
    }
    /* LAPACK gives them increasing, each eigenvector a column of z (column-major n x top). */
    for (int c = 0; c < top; c++) {
        int src = top - 1 - c;
        w[c] = wall[src];
        memcpy(v + (size_t)c * n, z + (size_t)src * n, (size_t)n * sizeof *v);
    }
    rc = 0;
done:
    free(wall);
    free(z);
    free(isuppz);
    free(work);
    free(iwork);
    return rc;
}

int numerics_orthonormalize(float *a, int rows, int cols, dd_error *err) {
    /* Row-major [rows, cols] is column-major [cols, rows]: QR of its transpose would be wrong, so go through a
     * column-major copy. */
    float *cm = dd_malloc((size_t)rows * (size_t)cols, sizeof *cm, err);
    float *tau = dd_malloc((size_t)cols, sizeof *tau, err);
    float *work = NULL;
    int rc = -1, info = 0, lwork = -1;
    float wq = 0;
    if (!cm || !tau) goto done;
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++) cm[(size_t)j * rows + i] = a[(size_t)i * cols + j];
    sgeqrf_(&rows, &cols, cm, &rows, tau, &wq, &lwork, &info);
    lwork = (int)wq + 1;
    if (info != 0 || !(work = dd_malloc((size_t)lwork, sizeof *work, err))) {
        if (info) dd_fail(err, DD_ERR_RANGE, "LAPACK sgeqrf workspace query failed (info %d)", info);
        goto done;
    }
    sgeqrf_(&rows, &cols, cm, &rows, tau, work, &lwork, &info);
    if (info == 0) sorgqr_(&rows, &cols, &cols, cm, &rows, tau, work, &lwork, &info);
    if (info != 0) {
        dd_fail(err, DD_ERR_RANGE, "LAPACK QR failed (info %d)", info);
        goto done;
    }
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++) a[(size_t)i * cols + j] = cm[(size_t)j * rows + i];
    rc = 0;
done:
    free(cm);
    free(tau);
    free(work);
    return rc;
}

void numerics_row_sqnorms(const float *X, size_t n, size_t d, float *sq) {
    for (size_t i = 0; i < n; i++) {
        const float *x = X + i * d;
        float s = 0;
        for (size_t j = 0; j < d; j++) s += x[j] * x[j];
        sq[i] = s;
    }
}

void numerics_sqdist_tile(const float *A, const float *sqa, size_t bi, const float *B, const float *sqb, size_t bj,
                          size_t d, float *out) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)bi, (int)bj, (int)d, -2.0f, A, (int)d, B, (int)d, 0.0f,
                out, (int)bj);
    for (size_t a = 0; a < bi; a++) {
        float *row = out + a * bj;
        const float si = sqa[a];
        for (size_t b = 0; b < bj; b++) {
            float v = row[b] + si + sqb[b];
            row[b] = v > 0.0f ? v : 0.0f;
        }
    }
}

/* Tiles of 256 x 4096 distances (4 MB): large enough for GEMM to run at full speed, small enough for the cache. */
#define TILE_ROWS NUMERICS_TILE_ROWS
#define TILE_COLS 4096

int numerics_pairwise_threads(void) { return dd_cpu_count(NUMERICS_PAIRWISE_MAX_THREADS); }

typedef struct tiles_job {
    const float *A, *B, *sqa, *sqb;
    size_t na, nb, d;
    numerics_tile_visit visit;
    void *ctx;
    float *tiles; /* [threads, TILE_ROWS * TILE_COLS] */
    int *rc;      /* [threads] */
} tiles_job;

/* Thread t: row blocks t, t + threads, ... of A against all of B. */
static void tiles_band(void *p, int thread, int threads) {
    const tiles_job *j = p;
    const size_t d = j->d;
    float *tile = j->tiles + (size_t)thread * TILE_ROWS * TILE_COLS;
    int *rc = &j->rc[thread];
    for (size_t i0 = (size_t)thread * TILE_ROWS; i0 < j->na && !*rc; i0 += (size_t)threads * TILE_ROWS) {
        size_t bi = j->na - i0 < TILE_ROWS ? j->na - i0 : TILE_ROWS;
        for (size_t j0 = 0; j0 < j->nb && !*rc; j0 += TILE_COLS) {
            size_t bj = j->nb - j0 < TILE_COLS ? j->nb - j0 : TILE_COLS;
            numerics_sqdist_tile(j->A + i0 * d, j->sqa + i0, bi, j->B + j0 * d, j->sqb + j0, bj, d, tile);
            if (j->A == j->B)
                for (size_t a = 0; a < bi; a++)
                    if (i0 + a >= j0 && i0 + a < j0 + bj) tile[a * bj + (i0 + a - j0)] = 0.0f;
            *rc = j->visit(j->ctx, thread, i0, bi, j0, bj, tile);
        }
    }
}

int numerics_pairwise_tiles(const float *A, size_t na, const float *B, size_t nb, size_t d, int parallel,
                            numerics_tile_visit visit, void *ctx, dd_error *err) {
    int threads = parallel ? numerics_pairwise_threads() : 1;
    size_t blocks = (na + TILE_ROWS - 1) / TILE_ROWS;
    if ((size_t)threads > blocks) threads = blocks ? (int)blocks : 1;
    float *sqa = dd_malloc(na ? na : 1, sizeof *sqa, err);
    float *sqb = dd_malloc(nb ? nb : 1, sizeof *sqb, err);
    float *tiles = dd_malloc((size_t)threads * TILE_ROWS * TILE_COLS, sizeof *tiles, err);
    int rcs[NUMERICS_PAIRWISE_MAX_THREADS] = {0};
    int rc = -1;
    if (!sqa || !sqb || !tiles) goto done;
    numerics_row_sqnorms(A, na, d, sqa);
    numerics_row_sqnorms(B, nb, d, sqb);
    if (threads > 1) util_blas_single_threaded(); /* each thread calls BLAS on its own tiles (as in src/nn) */
    tiles_job job = {.A = A,
                     .B = B,
                     .sqa = sqa,
                     .sqb = sqb,
                     .na = na,
                     .nb = nb,
                     .d = d,
                     .visit = visit,
                     .ctx = ctx,
                     .tiles = tiles,
                     .rc = rcs};
    util_parallel(threads, tiles_band, &job);
    rc = 0;
    for (int t = 0; t < threads && !rc; t++) rc = rcs[t];
done:
    free(sqa);
    free(sqb);
    free(tiles);
    return rc;
}
