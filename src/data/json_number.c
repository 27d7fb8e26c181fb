/* The general (slow) route of JSON number parsing; the fast path and the proof of its exactness are in
 * json_number.h. Numbers with exponents still try the two exact fast paths here; anything they cannot settle, and
 * numbers with more than 19 significant digits, go to strtod on a NUL-terminated copy. */
#include "data/json_number.h"

#include <float.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

const double data_json_pow10[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

#if DATA_JSON_X87_PATH
const long double data_json_pow10_long[28] = {1e0L,  1e1L,  1e2L,  1e3L,  1e4L,  1e5L,  1e6L,  1e7L,  1e8L,  1e9L,
                                              1e10L, 1e11L, 1e12L, 1e13L, 1e14L, 1e15L, 1e16L, 1e17L, 1e18L, 1e19L,
                                              1e20L, 1e21L, 1e22L, 1e23L, 1e24L, 1e25L, 1e26L, 1e27L};

/* True when the 64-bit significand of r sits exactly halfway between two doubles. */
static bool on_double_midpoint(long double r) {
    uint64_t significand; /* x87 format: the low 8 bytes hold the significand with its explicit integer bit */
    memcpy(&significand, &r, sizeof significand);
    return (significand & 0x7FF) == 0x400;
}
#endif

static data_json_number_status slow_strtod(const char *begin, const char *end, double *out) {
    char small[128];
    size_t n = (size_t)(end - begin);
    char *buf = n < sizeof small ? small : malloc(n + 1);
    if (!buf) return DATA_JSON_NUMBER_NOMEM;
    memcpy(buf, begin, n);
    buf[n] = '\0';
    *out = strtod(buf, NULL); /* the grammar was checked already; ERANGE gives ±HUGE_VAL or ±0 as wanted */
    if (buf != small) free(buf);
    return DATA_JSON_NUMBER_OK;
}

data_json_number_status data_json_number_slow(const char *p, const char *end, double *out, const char **next) {
    const char *begin = p;
    bool negative = false;
    if (p < end && *p == '-') {
        negative = true;
        p++;
    }
    if (p >= end || !data_json_is_digit(*p)) return DATA_JSON_NUMBER_BAD;

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
        } while (p < end && data_json_is_digit(*p));
    }
    if (p < end && *p == '.') {
        p++;
        if (p >= end || !data_json_is_digit(*p)) return DATA_JSON_NUMBER_BAD;
        do {
            if (digits < 19) {
                m = m * 10 + (uint64_t)(*p - '0');
                if (m) digits++; /* leading zeros of 0.000123 are not significant */
                exp10--;
            } else if (*p != '0') {
                inexact = true;
            }
            p++;
        } while (p < end && data_json_is_digit(*p));
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        bool exp_negative = false;
        if (p < end && (*p == '+' || *p == '-')) exp_negative = *p++ == '-';
        if (p >= end || !data_json_is_digit(*p)) return DATA_JSON_NUMBER_BAD;
        int64_t e = 0;
        do {
            if (e < 100000000) e = e * 10 + (*p - '0'); /* saturate: anything this large is inf or 0 */
            p++;
        } while (p < end && data_json_is_digit(*p));
        exp10 += exp_negative ? -e : e;
    }
    *next = p;

    if (m == 0 && !inexact) {
        *out = negative ? -0.0 : 0.0;
        return DATA_JSON_NUMBER_OK;
    }
    if (!inexact) {
#if DATA_JSON_CLINGER_PATH
        if (m <= (UINT64_C(1) << 53) && exp10 >= -22 && exp10 <= 22) {
            double v = (double)m;
            v = exp10 < 0 ? v / data_json_pow10[-exp10] : v * data_json_pow10[exp10];
            *out = negative ? -v : v;
            return DATA_JSON_NUMBER_OK;
        }
#endif
#if DATA_JSON_X87_PATH
        if (exp10 >= -27 && exp10 <= 27) {
            long double r = (long double)m;
            r = exp10 < 0 ? r / data_json_pow10_long[-exp10] : r * data_json_pow10_long[exp10];
            if (!on_double_midpoint(r)) {
                double v = (double)r;
                *out = negative ? -v : v;
                return DATA_JSON_NUMBER_OK;
            }
        }
#endif
    }
    return slow_strtod(begin, p, out);
}
