/* Label smoothing, mixup and the weights' EMA (recipe.h). */
#include "train/recipe.h"

#include <math.h>

void recipe_smoothed_targets(float *targets, const int32_t *labels, int batch, int classes, float e) {
    float off = e / (float)classes, on = 1.0f - e + off;
    for (int b = 0; b < batch; b++) {
        float *t = targets + (size_t)b * classes;
        for (int k = 0; k < classes; k++) t[k] = k == labels[b] ? on : off;
    }
}

/* Standard normal (Box-Muller; 1 - u keeps the logarithm's argument in (0, 1]). */
static double normal(dd_rng *rng) {
    double u = 1.0 - dd_rng_uniform(rng), v = dd_rng_uniform(rng);
    return sqrt(-2.0 * log(u)) * cos(2.0 * 3.14159265358979323846 * v);
}

/* Gamma(a, 1): Marsaglia and Tsang for a >= 1; for a < 1, Gamma(a + 1) * U^(1/a). */
static double gamma_draw(dd_rng *rng, double a) {
    if (a < 1) {
        double u = 1.0 - dd_rng_uniform(rng);
        return gamma_draw(rng, a + 1) * pow(u, 1.0 / a);
    }
    double d = a - 1.0 / 3, c = 1.0 / sqrt(9 * d);
    for (;;) {
        double x = normal(rng), v = 1 + c * x;
        if (v <= 0) continue;
        v = v * v * v;
        double u = 1.0 - dd_rng_uniform(rng);
        if (log(u) < 0.5 * x * x + d - d * v + d * log(v)) return d * v;
    }
}

double recipe_beta(dd_rng *rng, double a) {
    double x = gamma_draw(rng, a), y = gamma_draw(rng, a);
    return x + y > 0 ? x / (x + y) : 0.5; /* both underflowed (a tiny a): either end is as likely */
}

void recipe_mixup(float *x, size_t pixels, float *targets, int batch, int classes, float lambda) {
    float mu = 1.0f - lambda;
    for (int b = 0, c = batch - 1; b < c; b++, c--) {
        float *xb = x + (size_t)b * pixels, *xc = x + (size_t)c * pixels;
        for (size_t i = 0; i < pixels; i++) {
            float p = xb[i], q = xc[i];
            xb[i] = lambda * p + mu * q;
            xc[i] = lambda * q + mu * p;
        }
        float *tb = targets + (size_t)b * classes, *tc = targets + (size_t)c * classes;
        for (int k = 0; k < classes; k++) {
            float p = tb[k], q = tc[k];
            tb[k] = lambda * p + mu * q;
            tc[k] = lambda * q + mu * p;
        }
    }
}

float recipe_ema_decay(float decay, uint64_t step) {
    float warm = (float)((1.0 + (double)step) / (10.0 + (double)step));
    return warm < decay ? warm : decay;
}

void recipe_ema_update(float *ema, const float *params, size_t n, float d) {
    float e = 1.0f - d;
    for (size_t i = 0; i < n; i++) ema[i] = d * ema[i] + e * params[i];
}

void recipe_swap(float *a, float *b, size_t n) {
    for (size_t i = 0; i < n; i++) {
        float t = a[i];
        a[i] = b[i];
        b[i] = t;
    }
}
