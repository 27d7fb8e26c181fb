/* bfloat16: a float's upper 16 bits (its sign, 8-bit exponent and 7 of its 23 mantissa bits), for gradients sent as
 * half the bytes (--allreduce-dtype bf16). Same range as float, about 3 significant digits. */
#ifndef DOODLE_TRAIN_BF16_H
#define DOODLE_TRAIN_BF16_H

#include <stdint.h>
#include <string.h>

/* Round to nearest, ties to even (as IEEE rounding does); a NaN stays a NaN (quiet), an overflow becomes Inf. */
static inline uint16_t bf16_from_float(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)(u >> 16 | 0x0040u); /* keep a NaN a NaN */
    u += 0x7fffu + (u >> 16 & 1u);
    return (uint16_t)(u >> 16);
}

static inline float bf16_to_float(uint16_t h) {
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

#endif
