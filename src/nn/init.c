#include <math.h>

#include "doodle/layers.h"

void dd_glorot_uniform(float *w, size_t n, int fan_in, int fan_out, dd_rng *rng) {
    double limit = sqrt(6.0 / ((double)fan_in + fan_out));
    for (size_t i = 0; i < n; i++) w[i] = (float)((2.0 * dd_rng_uniform(rng) - 1.0) * limit);
}
