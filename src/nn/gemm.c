#include "nn/gemm.h"

#include <cblas.h>
#include <stddef.h>

void nn_gemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float *a, const float *b, float beta,
             float *c) {
    if (m <= 0 || n <= 0) return;
    if (k <= 0) { /* BLAS rejects a zero leading dimension; the product is empty, so only the beta scaling is left */
        for (size_t i = 0; i < (size_t)m * (size_t)n; i++) c[i] = beta == 0.0f ? 0.0f : beta * c[i];
        return;
    }
    int lda = trans_a ? m : k, ldb = trans_b ? k : n;
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, m, n, k, alpha,
                a, lda, b, ldb, beta, c, n);
}
