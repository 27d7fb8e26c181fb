/* A row-major matrix kept as its non-zero entries (CSR), and its two products PCA needs, split over threads.
 * Drawings are mostly background (about 10% ink at 66 x 100), so X W and X^T Y cost a tenth of the dense GEMMs.
 * Internal. */
#ifndef DOODLE_NUMERICS_SPARSE_H
#define DOODLE_NUMERICS_SPARSE_H

#include <stddef.h>
#include <stdint.h>

#include "doodle/error.h"

typedef struct numerics_csr {
    size_t n, d;
    size_t *row;   /* [n + 1] start of each row in col / val */
    uint32_t *col; /* [nnz] */
    float *val;    /* [nnz] */
} numerics_csr;

/* The non-zeros of X [n, d], bands of rows counted and then copied on every core; fails (DD_ERR_RANGE) past
 * d = 2^32. */
int numerics_csr_from_dense(const float *X, size_t n, size_t d, numerics_csr *out, dd_error *err);
void numerics_csr_free(numerics_csr *a);
/* out [n, l] = A W, W [d, l]. */
int numerics_csr_mul(const numerics_csr *a, const float *w, int l, float *out, dd_error *err);
/* out [d, l] = A^T Y, Y [n, l]. */
int numerics_csr_mul_t(const numerics_csr *a, const float *y, int l, float *out, dd_error *err);

#endif
