/* bfloat16 rounding (train/bf16.h), which --allreduce-dtype bf16 sends the gradients in: round to nearest with ties
 * to even, against the exact rounding of the float's value computed in double; NaN and Inf kept, overflow to Inf. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "testutil.h"
#include "train/bf16.h"

static float from_bits(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* The nearest bf16 by search over the two neighbours (ties to the even one), in double: the reference. */
static uint16_t nearest(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    uint16_t lo = (uint16_t)(u >> 16), hi = (uint16_t)(lo + 1);
    double dlo = fabs((double)f - (double)bf16_to_float(lo)), dhi = fabs((double)bf16_to_float(hi) - (double)f);
    if (dlo < dhi) return lo;
    if (dhi < dlo) return hi;
    return (lo & 1) ? hi : lo;
}

int main(void) {
    CHECK(bf16_from_float(1.0f) == 0x3f80);
    CHECK(bf16_from_float(-2.0f) == 0xc000);
    CHECK(bf16_from_float(from_bits(0x3f808000u)) == 0x3f80); /* 1 + 2^-8: a tie, to the even 1 */
    CHECK(bf16_from_float(from_bits(0x3f818000u)) == 0x3f82); /* 1 + 3 * 2^-8: a tie, up to the even one */
    CHECK(bf16_from_float(from_bits(0x3f808001u)) == 0x3f81); /* just above the tie */
    CHECK(bf16_from_float(INFINITY) == 0x7f80 && bf16_from_float(-INFINITY) == 0xff80);
    CHECK(isnan(bf16_to_float(bf16_from_float(NAN))));
    CHECK(isnan(bf16_to_float(bf16_from_float(from_bits(0x7f800001u))))); /* a NaN whose payload is all low bits */
    CHECK(isinf(bf16_to_float(bf16_from_float(FLT_MAX))));                /* rounds past the largest bf16 */
    CHECK(bf16_to_float(bf16_from_float(1e-40f)) != 0);                   /* subnormals stay */
    /* every 4099th bit pattern of the finite floats against the reference; round trips are exact */
    long bad = 0;
    for (uint64_t u = 0; u < 0xffffffffull; u += 4099) {
        float f = from_bits((uint32_t)u);
        if (!isfinite(f) || fabsf(f) >= from_bits(0x7f7f8000u)) continue; /* the reference's hi would be Inf/NaN */
        uint16_t got = bf16_from_float(f);
        bad += got != nearest(f) || bf16_from_float(bf16_to_float(got)) != got;
    }
    CHECK(bad == 0);
    return test_finish("bf16");
}
