/* The BLAS and LAPACK calls of the numerics module (PCA, K-Means, DBSCAN, silhouettes). LAPACK comes from OpenBLAS,
 * which exports the Fortran symbols; they are declared here (Debian has no LAPACKE header in libopenblas-dev). Internal
 * to the library. */
#ifndef DOODLE_NUMERICS_LINALG_H
#define DOODLE_NUMERICS_LINALG_H

#include <stddef.h>

#include <cblas.h>

#include "doodle/error.h"

/* Fortran LAPACK (column-major; the trailing size_t are gfortran's hidden lengths of the character arguments). */
void dsyevr_(const char *jobz, const char *range, const char *uplo, const int *n, double *a, const int *lda,
             const double *vl, const double *vu, const int *il, const int *iu, const double *abstol, int *m, double *w,
             double *z, const int *ldz, int *isuppz, double *work, const int *lwork, int *iwork, const int *liwork,
             int *info, size_t, size_t, size_t);
void sgeqrf_(const int *m, const int *n, float *a, const int *lda, float *tau, float *work, const int *lwork,
             int *info);
void sorgqr_(const int *m, const int *n, const int *k, float *a, const int *lda, const float *tau, float *work,
             const int *lwork, int *info);

/* Eigen-decomposition of the symmetric matrix a [n, n] (row-major or column-major alike; overwritten): the `top`
 * largest eigenvalues, decreasing, into w [top] and their unit eigenvectors into v [top, n] (one per row). */
int numerics_sym_top_eigen(double *a, int n, int top, double *w, double *v, dd_error *err);

/* Replaces the columns of a [rows, cols] (row-major, rows >= cols) with an orthonormal basis of their span. */
int numerics_orthonormalize(float *a, int rows, int cols, dd_error *err);

/* Squared Euclidean distances between the rows of A [bi, d] and B [bj, d]: out [bi, bj], never negative. sqa and
 * sqb hold the rows' squared norms. */
void numerics_sqdist_tile(const float *A, const float *sqa, size_t bi, const float *B, const float *sqb, size_t bj,
                          size_t d, float *out);

/* Visits all squared distances between the rows of A [na, d] and B [nb, d] tile by tile: visit(ctx, thread, i0,
 * bi, j0, bj, tile) with tile [bi, bj] holding rows i0.. of A against rows j0.. of B. When A and B are the same
 * matrix, the diagonal is exactly 0. The visitor may overwrite the tile. With parallel, bands of rows of A go to
 * numerics_pairwise_threads() threads (thread 0..threads-1 is passed to the visitor, for its own scratch; a row of A is
 * always visited by one thread), each calling BLAS single-threaded. Returns the first non-zero a visitor returned,
 * -1 when out of memory. */
#define NUMERICS_TILE_ROWS 256 /* the most rows of A in one tile */
#define NUMERICS_PAIRWISE_MAX_THREADS 8
typedef int (*numerics_tile_visit)(void *ctx, int thread, size_t i0, size_t bi, size_t j0, size_t bj, float *tile);
int numerics_pairwise_tiles(const float *A, size_t na, const float *B, size_t nb, size_t d, int parallel,
                            numerics_tile_visit visit, void *ctx, dd_error *err);
int numerics_pairwise_threads(void);

/* sq [n] = squared norms of the rows of X [n, d]. */
void numerics_row_sqnorms(const float *X, size_t n, size_t d, float *sq);

#endif
