/* dd_ndjson_write: one drawing as one ndjson line, byte for byte like Google's simplified files:
 *   {"word":"cat","countrycode":"VE","timestamp":"2017-03-02 23:25:10.07453 UTC","recognized":true,
 *    "key_id":"5201136883597312","drawing":[[[130,113,…],[72,40,…]],…]}
 * Fields the drawing does not know (word/countrycode/timestamp "", recognized -1, key_id 0) are left out.
 * Coordinates: integers for simplified drawings; otherwise the shortest of %.15g/%.16g/%.17g that reads back to
 * the same double (integral values print without a fraction, as in Google's raw files). Assumes the "C" locale. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doodle/quickdraw.h"

typedef struct out {
    char buf[8192];
    size_t n;
    FILE *f;
    int failed; /* the errno of the first failed write (a full disk: ENOSPC), or EIO */
} out;

static void put_raw(out *o, const char *s, size_t n) {
    if (!n || o->failed) return;
    errno = 0;
    if (fwrite(s, 1, n, o->f) != n) o->failed = errno ? errno : EIO;
}

static void flush_out(out *o) {
    put_raw(o, o->buf, o->n);
    o->n = 0;
}

static void put(out *o, const char *s, size_t n) {
    if (o->n + n > sizeof o->buf) flush_out(o);
    if (n > sizeof o->buf) {
        put_raw(o, s, n);
        return;
    }
    memcpy(o->buf + o->n, s, n);
    o->n += n;
}

static void put_str(out *o, const char *s) { put(o, s, strlen(s)); }

/* A JSON string literal (UTF-8 passed through, control characters escaped). */
static void put_json_string(out *o, const char *s) {
    put(o, "\"", 1);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        char esc[8];
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            put(o, esc, 2);
        } else if (c < 0x20) {
            const char *short_form = c == '\n'   ? "\\n"
                                     : c == '\t' ? "\\t"
                                     : c == '\r' ? "\\r"
                                     : c == '\b' ? "\\b"
                                     : c == '\f' ? "\\f"
                                                 : NULL;
            if (short_form) {
                put_str(o, short_form);
            } else {
                snprintf(esc, sizeof esc, "\\u%04x", c);
                put_str(o, esc);
            }
        } else {
            put(o, (const char *)&c, 1);
        }
    }
    put(o, "\"", 1);
}

static void put_key(out *o, const char *key, int *first) {
    if (!*first) put(o, ",", 1);
    *first = 0;
    put(o, "\"", 1);
    put_str(o, key);
    put(o, "\":", 2);
}

static void put_uint(out *o, uint64_t v) {
    char tmp[24];
    size_t n = sizeof tmp;
    do {
        tmp[--n] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    put(o, tmp + n, sizeof tmp - n);
}

static void put_double(out *o, double v, int integers) {
    if (integers || (v == floor(v) && fabs(v) < 1e15 && !(v == 0 && signbit(v)))) {
        if (v < 0) put(o, "-", 1);
        put_uint(o, (uint64_t)fabs(v));
        return;
    }
    char tmp[40];
    for (int precision = 15; precision <= 17; precision++) {
        snprintf(tmp, sizeof tmp, "%.*g", precision, v);
        if (precision == 17 || strtod(tmp, NULL) == v) break;
    }
    put_str(o, tmp);
}

static void put_numbers(out *o, const double *v, uint32_t n, int integers) {
    put(o, "[", 1);
    for (uint32_t i = 0; i < n; i++) {
        if (i) put(o, ",", 1);
        put_double(o, v[i], integers);
    }
    put(o, "]", 1);
}

int dd_ndjson_write(FILE *f, const dd_drawing *d, dd_error *err) {
    for (uint32_t i = 0; i < d->n_points; i++)
        if (!isfinite(d->x[i]) || !isfinite(d->y[i]) || (d->has_times && !isfinite(d->t[i])))
            return dd_fail(err, DD_ERR_RANGE, "point %u is not a finite number; JSON cannot hold it", i + 1);
    out buffer = {.n = 0, .f = f, .failed = 0}, *o = &buffer; /* batches the many small pieces */

    int first = 1;
    put(o, "{", 1);
    if (d->word[0]) put_key(o, "word", &first), put_json_string(o, d->word);
    if (d->countrycode[0]) put_key(o, "countrycode", &first), put_json_string(o, d->countrycode);
    if (d->timestamp[0]) put_key(o, "timestamp", &first), put_json_string(o, d->timestamp);
    if (d->recognized >= 0) put_key(o, "recognized", &first), put_str(o, d->recognized ? "true" : "false");
    if (d->key_id) {
        put_key(o, "key_id", &first);
        put(o, "\"", 1);
        put_uint(o, d->key_id);
        put(o, "\"", 1);
    }
    put_key(o, "drawing", &first);
    put(o, "[", 1);
    int integers = dd_drawing_is_simplified(d);
    for (uint32_t s = 0; s < d->n_strokes; s++) {
        uint32_t begin = dd_stroke_begin(d, s), n = d->stroke_end[s] - begin;
        put_str(o, s ? ",[" : "[");
        put_numbers(o, d->x + begin, n, integers);
        put(o, ",", 1);
        put_numbers(o, d->y + begin, n, integers);
        if (d->has_times) {
            put(o, ",", 1);
            put_numbers(o, d->t + begin, n, 0);
        }
        put(o, "]", 1);
    }
    put(o, "]}\n", 3);
    flush_out(o);
    if (o->failed || ferror(f))
        return dd_fail(err, DD_ERR_IO, "write failed: %s", strerror(o->failed ? o->failed : EIO));
    return 0;
}
