/* The optimizers' element-wise updates, in a file of their own so that they are compiled for this machine's vectors
 * (-march=native) and without errno for sqrtf (CMakeLists.txt: v >= 0 here, so it never sets it), which is what lets
 * GCC vectorise them: in scalar code lenet's 9.4 M parameters took a fifth of a one-thread training step in Adam.
 * No contraction into FMA (ISO C17), and sqrt and division are correctly rounded in vectors as in scalars: the same
 * bits as the loops they replace. */
#include <math.h>

#include "nn/fast.h"

/* Weight decay as p -= wd * p where mask (NULL: everywhere) says so; written as a select so that it vectorises. */
static inline float decayed(float p, float wd, const uint8_t *mask, size_t i) {
    return !mask || mask[i] ? p - wd * p : p;
}

void nn_fast_adam_update(float *restrict p, float *restrict m, float *restrict v, const float *restrict g,
                         const uint8_t *restrict mask, size_t n, const nn_fast_adam *a) {
    const float b1 = a->beta1, b2 = a->beta2, eps = a->epsilon, lr_t = a->lr_t, wd = a->decay;
    for (size_t i = 0; i < n; i++) {
        float mi = m[i] = b1 * m[i] + (1 - b1) * g[i];
        float vi = v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
        float pi = wd != 0 ? decayed(p[i], wd, mask, i) : p[i];
        p[i] = pi - lr_t * mi / (sqrtf(vi) + eps);
    }
}

void nn_fast_sgd_update(float *restrict p, float *restrict m, const float *restrict g, const uint8_t *restrict mask,
                        size_t n, float mu, float lr, float wd, bool nesterov) {
    for (size_t i = 0; i < n; i++) {
        float vi = m[i] = mu * m[i] + g[i];
        float pi = wd != 0 ? decayed(p[i], wd, mask, i) : p[i];
        p[i] = pi - lr * (nesterov ? g[i] + mu * vi : vi);
    }
}
