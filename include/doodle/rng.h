/* The one random number generator of doodle: xoshiro256** seeded through splitmix64. It is passed explicitly to
 * whatever needs randomness, so the same seed gives the same bits on every run. */
#ifndef DOODLE_RNG_H
#define DOODLE_RNG_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dd_rng {
    uint64_t s[4];
} dd_rng;

void dd_rng_seed(dd_rng *r, uint64_t seed);
uint64_t dd_rng_next(dd_rng *r);
/* Uniform in [0, n) without modulo bias; n > 0. */
uint64_t dd_rng_below(dd_rng *r, uint64_t n);
/* Uniform in [0, 1) with 53 random bits. */
double dd_rng_uniform(dd_rng *r);

#ifdef __cplusplus
}
#endif
#endif
