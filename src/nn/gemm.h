/* The one place doodle calls BLAS: a row-major single-precision GEMM over contiguous matrices, used by the conv and
 * dense layers. Internal to the library. */
#ifndef DOODLE_NN_GEMM_H
#define DOODLE_NN_GEMM_H

#include <stdbool.h>

/* C[m, n] = alpha * op(A) * op(B) + beta * C, all row-major and contiguous: op(A) is [m, k] (A is stored [k, m]
 * when trans_a), op(B) is [k, n] (B is stored [n, k] when trans_b). beta = 0 ignores what C held before. */
void nn_gemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float *a, const float *b, float beta,
             float *c);

#endif
