/* Exact JSON number parsing: a fast path that is provably correctly rounded, and strtod for everything else.
 *
 * The text is read as  value = ±m · 10^e  with m the first (up to) 19 significant digits, so m < 10^19 < 2^64.
 *
 * Path 1 (Clinger): m ≤ 2^53 and |e| ≤ 22. Both m and 10^|e| are exact doubles (5^22 < 2^53), so one IEEE
 * multiplication or division gives the correctly rounded result. Covers every simplified coordinate (integers).
 *
 * Path 2 (x87 extended precision, where long double has a 64-bit significand): any m < 2^64 and |e| ≤ 27.
 * Raw Quick, Draw! coordinates are float32 values printed exactly, e.g. 414.48199462890625 (17 digits, m > 2^53),
 * which path 1 cannot take. Here m is exact in long double (64 bits), and so is 10^k for k ≤ 27 (10^k = 2^k · 5^k
 * and 5^27 < 2^63). One long double division (or multiplication) therefore yields r = the exact value rounded
 * correctly to 64 bits. We then round r to double (53 bits). Rounding twice is wrong only in one case: every
 * double rounding boundary (the midpoint between two adjacent doubles) is itself representable with 64 bits, and
 * rounding to nearest never crosses a representable number, so the exact value and r lie on the same side of
 * every midpoint — unless r lands exactly on one. A 64-bit significand is on a double midpoint exactly when its
 * low 11 bits are 100 0000 0000 (0x400). In that case (about 1 in 2048 inputs) we cannot tell on which side the
 * exact value was and use strtod. Near a power of two r may round up to the next binade; the double rounding of
 * r is then that power of two, which is also the correct rounding of the exact value (it is within half a 64-bit
 * ulp of it). Results stay far from the subnormal and overflow ranges (1e-27 ≤ |value| < 2^64 · 10^27).
 * This requires the x87 unit to run in its default extended precision and round-to-nearest mode (the Linux and
 * BSD default); on other targets path 2 is compiled out and strtod takes those numbers.
 *
 * Everything else (more than 19 significant digits, larger exponents, zero handled separately) goes to strtod.
 * tests/test_ndjson.c compares every number of every raw file with strtod, bit for bit. */
#include "data/json_number.h"

#include <float.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if (defined(__x86_64__) || defined(__i386__)) && LDBL_MANT_DIG == 64
#define DD_HAVE_X87_PATH 1
#else
#define DD_HAVE_X87_PATH 0
#endif

/* With FLT_EVAL_METHOD != 0 (x87 without SSE2) double arithmetic is itself evaluated in extended precision and
 * rounded twice, so Clinger's argument does not hold. */
#if defined(FLT_EVAL_METHOD) && FLT_EVAL_METHOD == 0
#define DD_HAVE_CLINGER_PATH 1
#else
#define DD_HAVE_CLINGER_PATH 0
#endif

static const double pow10_double[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                        1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

#if DD_HAVE_X87_PATH
static const long double pow10_long[28] = {
    1e0L,  1e1L,  1e2L,  1e3L,  1e4L,  1e5L,  1e6L,  1e7L,  1e8L,  1e9L,  1e10L, 1e11L, 1e12L, 1e13L,
    1e14L, 1e15L, 1e16L, 1e17L, 1e18L, 1e19L, 1e20L, 1e21L, 1e22L, 1e23L, 1e24L, 1e25L, 1e26L, 1e27L};

/* True when the 64-bit significand of r sits exactly halfway between two doubles. */
static bool on_double_midpoint(long double r) {
    uint64_t significand; /* x87 format: the low 8 bytes hold the significand with its explicit integer bit */
    memcpy(&significand, &r, sizeof significand);
    return (significand & 0x7FF) == 0x400;
}
#endif

static dd_json_number_status slow_strtod(const char *begin, const char *end, double *out) {
    char small[128];
    size_t n = (size_t)(end - begin);
    char *buf = n < sizeof small ? small : malloc(n + 1);
    if (!buf) return DD_JSON_NUMBER_NOMEM;
    memcpy(buf, begin, n);
    buf[n] = '\0';
    *out = strtod(buf, NULL); /* the grammar was checked already; ERANGE gives ±HUGE_VAL or ±0 as wanted */
    if (buf != small) free(buf);
    return DD_JSON_NUMBER_OK;
}

static inline bool is_digit(char c) { return (unsigned)(c - '0') < 10; }

dd_json_number_status dd_json_number(const char *p, const char *end, double *out, const char **next) {
    const char *begin = p;
    bool negative = false;
    if (p < end && *p == '-') {
        negative = true;
        p++;
    }
    if (p >= end || !is_digit(*p)) return DD_JSON_NUMBER_BAD;

    uint64_t m = 0;
    int digits = 0;       /* significant digits held in m */
    int64_t exp10 = 0;    /* value = m * 10^exp10 (before the explicit exponent) */
    bool inexact = false; /* significant digits beyond the 19 held in m */
    if (*p == '0') {
        p++;
    } else {
        do {
            if (digits < 19) {
                m = m * 10 + (uint64_t)(*p - '0');
                digits++;
            } else {
                exp10++;
                if (*p != '0') inexact = true;
            }
            p++;
        } while (p < end && is_digit(*p));
    }
    if (p < end && *p == '.') {
        p++;
        if (p >= end || !is_digit(*p)) return DD_JSON_NUMBER_BAD;
        do {
            if (digits < 19) {
                m = m * 10 + (uint64_t)(*p - '0');
                if (m) digits++; /* leading zeros of 0.000123 are not significant */
                exp10--;
            } else if (*p != '0') {
                inexact = true;
            }
            p++;
        } while (p < end && is_digit(*p));
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        bool exp_negative = false;
        if (p < end && (*p == '+' || *p == '-')) exp_negative = *p++ == '-';
        if (p >= end || !is_digit(*p)) return DD_JSON_NUMBER_BAD;
        int64_t e = 0;
        do {
            if (e < 100000000) e = e * 10 + (*p - '0'); /* saturate: anything this large is inf or 0 */
            p++;
        } while (p < end && is_digit(*p));
        exp10 += exp_negative ? -e : e;
    }
    *next = p;

    if (m == 0 && !inexact) {
        *out = negative ? -0.0 : 0.0;
        return DD_JSON_NUMBER_OK;
    }
    if (!inexact) {
#if DD_HAVE_CLINGER_PATH
        if (m <= (UINT64_C(1) << 53) && exp10 >= -22 && exp10 <= 22) {
            double v = (double)m;
            v = exp10 < 0 ? v / pow10_double[-exp10] : v * pow10_double[exp10];
            *out = negative ? -v : v;
            return DD_JSON_NUMBER_OK;
        }
#else
        (void)pow10_double;
#endif
#if DD_HAVE_X87_PATH
        if (exp10 >= -27 && exp10 <= 27) {
            long double r = (long double)m;
            r = exp10 < 0 ? r / pow10_long[-exp10] : r * pow10_long[exp10];
            if (!on_double_midpoint(r)) {
                double v = (double)r;
                *out = negative ? -v : v;
                return DD_JSON_NUMBER_OK;
            }
        }
#endif
    }
    return slow_strtod(begin, p, out);
}
