/* Dropping the pixel columns no drawing touches (the study kept 525 x 6,600 -> fewer): they carry no variance and
 * only cost time in PCA. */
#include <stdlib.h>
#include <string.h>

#include "doodle/numerics.h"

size_t dd_drop_zero_columns(float *X, size_t n, size_t d, uint32_t *kept) {
    /* Row by row (the matrix is row-major): kept[j] first marks column j as touched, then lists the kept ones. */
    memset(kept, 0, d * sizeof *kept);
    for (size_t i = 0; i < n; i++) {
        const float *row = X + i * d;
        for (size_t j = 0; j < d; j++) kept[j] |= row[j] != 0.0f;
    }
    size_t n_kept = 0;
    for (size_t j = 0; j < d; j++)
        if (kept[j]) kept[n_kept++] = (uint32_t)j;
    if (n_kept == d) return d;
    /* Row i moves to i * n_kept <= i * d, and within a row kept[c] >= c: copying forward never overwrites a value
     * still to be read. */
    for (size_t i = 0; i < n; i++) {
        const float *src = X + i * d;
        float *dst = X + i * n_kept;
        for (size_t c = 0; c < n_kept; c++) dst[c] = src[kept[c]];
    }
    return n_kept;
}
