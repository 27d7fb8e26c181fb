/* Exact, fast parsing of one JSON number (internal to the readers).
 *
 * The result is bit for bit what strtod returns for the same text (round to nearest, ties to even), so
 * coordinates read from ndjson are exactly the doubles Google's tools saw. Numbers of up to 19 digits with small
 * exponents take an inline fast path; the rest go through data_json_number_slow (strtod on a NUL-terminated copy).
 * Like strtod, this assumes the "C" LC_NUMERIC locale.
 *
 * Why the fast path is exact. The text is read as  value = ±m · 10^e  with m the (at most 19) digits, so
 * m < 10^19 < 2^64.
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
 * Everything else (more than 19 digits, larger exponents) goes to strtod. tests/test_ndjson.c compares every
 * number of every raw and simplified file with strtod, bit for bit, plus edge cases and random numbers. */
#ifndef DOODLE_DATA_JSON_NUMBER_H
#define DOODLE_DATA_JSON_NUMBER_H

#include <float.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

typedef enum data_json_number_status {
    DATA_JSON_NUMBER_OK = 0,
    DATA_JSON_NUMBER_BAD,  /* the text at p is not a JSON number */
    DATA_JSON_NUMBER_NOMEM /* a very long number needed a copy that could not be allocated */
} data_json_number_status;

/* Any JSON number, by the exact but slower route (strtod). Same contract as data_json_number. */
data_json_number_status data_json_number_slow(const char *p, const char *end, double *out, const char **next);

#if (defined(__x86_64__) || defined(__i386__)) && LDBL_MANT_DIG == 64
#define DATA_JSON_X87_PATH 1
#else
#define DATA_JSON_X87_PATH 0
#endif
/* With FLT_EVAL_METHOD != 0 (x87 without SSE2) double arithmetic is itself evaluated in extended precision and
 * rounded twice, so Clinger's argument does not hold there. */
#if defined(FLT_EVAL_METHOD) && FLT_EVAL_METHOD == 0
#define DATA_JSON_CLINGER_PATH 1
#else
#define DATA_JSON_CLINGER_PATH 0
#endif

extern const double data_json_pow10[23];
#if DATA_JSON_X87_PATH
extern const long double data_json_pow10_long[28];
#endif

static inline bool data_json_is_digit(char c) { return (unsigned)(c - '0') < 10; }

/* True when the 8 bytes at p are all ASCII digits. */
static inline bool data_json_eight_digits(uint64_t v) {
    return (((v & 0xF0F0F0F0F0F0F0F0u) | (((v + 0x0606060606060606u) & 0xF0F0F0F0F0F0F0F0u) >> 4)) ==
            0x3333333333333333u);
}

/* The value of 8 ASCII digits loaded little-endian (first digit in the low byte): pairs, then quads, then all. */
static inline uint32_t data_json_eight_value(uint64_t v) {
    v -= 0x3030303030303030u;
    v = (v * 10) + (v >> 8); /* each even byte: two-digit value */
    v = (((v & 0x000000FF000000FFu) * (100 + (UINT64_C(1000000) << 32))) +
         (((v >> 16) & 0x000000FF000000FFu) * (1 + (UINT64_C(10000) << 32)))) >>
        32;
    return (uint32_t)v;
}

/* Parses the JSON number starting at p (p < end; the text need not be NUL-terminated). On success stores the
 * value in *out and the first byte after the number in *next. Strict JSON grammar: -?(0|[1-9][0-9]*)(.[0-9]+)?
 * ([eE][+-]?[0-9]+)?; what follows the number is for the caller to check. Out-of-range values become ±inf or ±0
 * exactly as strtod makes them. */
static inline data_json_number_status data_json_number(const char *p, const char *end, double *out, const char **next) {
    /* Small non-negative integers (all simplified coordinates, raw times): up to 3 digits, no fraction or exponent. */
    if (end - p >= 4) {
        unsigned c0 = (unsigned)(p[0] - '0'), c1 = (unsigned)(p[1] - '0'), c2 = (unsigned)(p[2] - '0');
        if (c0 < 10) {
            unsigned v = c0, n = 1;
            if (c1 < 10 && c0) {
                v = v * 10 + c1, n = 2;
                if (c2 < 10) v = v * 10 + c2, n = 3;
            }
            char after = p[n];
            if ((unsigned)(after - '0') >= 10 && after != '.' && (after | 0x20) != 'e') {
                *out = (double)v;
                *next = p + n;
                return DATA_JSON_NUMBER_OK;
            }
        }
    }
    const char *begin = p;
    bool negative = p < end && *p == '-';
    p += negative;
    if (p >= end || !data_json_is_digit(*p)) return DATA_JSON_NUMBER_BAD;
    uint64_t m = 0; /* wraps for more than 19 digits: then the slow path takes over */
    int digits;
    if (*p == '0') {
        p++;
        digits = 0;
    } else {
        const char *s = p;
        do m = m * 10 + (uint64_t)(*p++ - '0');
        while (p < end && data_json_is_digit(*p));
        digits = (int)(p - s);
    }
    int exp10 = 0;
    if (p < end && *p == '.') {
        p++;
        const char *s = p;
        uint64_t eight;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        while (end - p >= 8 && (memcpy(&eight, p, 8), data_json_eight_digits(eight))) {
            m = m * 100000000u + data_json_eight_value(eight);
            p += 8;
        }
#else
        (void)eight;
#endif
        while (p < end && data_json_is_digit(*p)) m = m * 10 + (uint64_t)(*p++ - '0');
        if (p == s) return DATA_JSON_NUMBER_BAD;
        digits += (int)(p - s);
        exp10 = -(int)(p - s);
    }
    if (p < end && (*p | 0x20) == 'e') return data_json_number_slow(begin, end, out, next);
    if (digits > 19) return data_json_number_slow(begin, end, out, next);
    *next = p;
#if DATA_JSON_CLINGER_PATH
    if (m <= (UINT64_C(1) << 53) && exp10 >= -22) {
        double v = (double)m;
        if (exp10) v /= data_json_pow10[-exp10];
        *out = negative ? -v : v;
        return DATA_JSON_NUMBER_OK;
    }
#endif
#if DATA_JSON_X87_PATH
    if (exp10 >= -27) {
        long double r = (long double)m / data_json_pow10_long[-exp10];
        uint64_t significand; /* x87 format: the low 8 bytes hold the significand with its explicit integer bit */
        memcpy(&significand, &r, sizeof significand);
        if ((significand & 0x7FF) != 0x400) {
            double v = (double)r;
            *out = negative ? -v : v;
            return DATA_JSON_NUMBER_OK;
        }
    }
#endif
    return data_json_number_slow(begin, end, out, next);
}

#endif
