/* Finite-difference gradient checking for the layer tests (header-only: tests/CMakeLists.txt builds one .c per test).
 *
 * The loss is a double computed from the layers' float outputs, e.g. sum(out * R) for a fixed random R. Each checked
 * coordinate p is moved to the floats nearest p + eps and p - eps, and the slope is divided by the distance actually
 * moved, so the rounding of p +- eps to float does not enter the comparison. The error of a coordinate is
 *     |analytic - numeric| / max(|analytic|, |numeric|, floor),  floor = GC_FLOOR * max_j |analytic_j|
 * so a gradient that is tiny next to the others of its tensor is compared on the tensor's scale instead of its own
 * (where float noise in the loss, not the gradient, would dominate). */
#ifndef DOODLE_TEST_GRADCHECK_H
#define DOODLE_TEST_GRADCHECK_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "doodle/rng.h"

#define GC_FLOOR 1e-2

typedef double (*gc_loss_fn)(void *ctx);

typedef struct gc_result {
    double max_err; /* largest error over the checked coordinates */
    size_t checked; /* coordinates compared */
    size_t failed;  /* coordinates with an error above the tolerance */
    size_t skipped; /* coordinates the caller's valid() rejected (a kink crossed) */
} gc_result;

/* Optional: called after each perturbed evaluation; returns 0 when the perturbation crossed a non-differentiable
 * point (a ReLU changing side, a max-pool winner changing), so that coordinate is skipped. */
typedef int (*gc_valid_fn)(void *ctx);

/* Checks g[0..n) = d loss / d p[0..n) at up to max_coords coordinates (all when n <= max_coords, else a random
 * sample without repeats drawn from rng). p is restored bit for bit. Prints one line per tensor. */
static inline gc_result gc_check(const char *what, gc_loss_fn loss, gc_valid_fn valid, void *ctx, float *p,
                                 const float *g, size_t n, double eps, double tol, size_t max_coords, dd_rng *rng) {
    gc_result r = {0};
    double gmax = 0.0;
    for (size_t i = 0; i < n; i++)
        if (fabs(g[i]) > gmax) gmax = fabs(g[i]);
    double floor_ = GC_FLOOR * gmax;
    if (floor_ < 1e-12) floor_ = 1e-12;

    size_t *idx = malloc(sizeof *idx * (n ? n : 1));
    if (!idx) abort();
    for (size_t i = 0; i < n; i++) idx[i] = i;
    size_t m = n;
    if (n > max_coords) { /* partial Fisher-Yates: the first max_coords entries are a random sample */
        for (size_t i = 0; i < max_coords; i++) {
            size_t j = i + (size_t)dd_rng_below(rng, n - i), t = idx[i];
            idx[i] = idx[j];
            idx[j] = t;
        }
        m = max_coords;
    }
    size_t worst = 0;
    for (size_t k = 0; k < m; k++) {
        size_t i = idx[k];
        float saved = p[i];
        float up = (float)(saved + eps), down = (float)(saved - eps);
        p[i] = up;
        double lp = loss(ctx);
        int ok = !valid || valid(ctx);
        p[i] = down;
        double lm = loss(ctx);
        ok = ok && (!valid || valid(ctx));
        p[i] = saved;
        if (!ok) {
            r.skipped++;
            continue;
        }
        double num = (lp - lm) / ((double)up - (double)down);
        double a = g[i];
        double den = fmax(fmax(fabs(a), fabs(num)), floor_);
        double err = fabs(a - num) / den;
        r.checked++;
        if (err > r.max_err) {
            r.max_err = err;
            worst = i;
        }
        if (err > tol) {
            r.failed++;
            if (r.failed <= 5)
                fprintf(stderr, "  %s[%zu]: analytic %.7g numeric %.7g (error %.3g > %.3g)\n", what, i, a, num, err,
                        tol);
        }
    }
    loss(ctx); /* leave the caller's buffers as for the unperturbed parameters */
    free(idx);
    printf("gradcheck %-28s n=%-5zu checked=%-4zu skipped=%-3zu max_rel_err=%.2e (at %zu) %s\n", what, n, r.checked,
           r.skipped, r.max_err, worst, r.failed ? "FAIL" : "ok");
    return r;
}

#endif
