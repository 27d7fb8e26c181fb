/* Google's .bin stroke format: reading one record (for the stroke reader) and dd_bin_write.
 *
 * Record (little-endian): key_id u64, countrycode 2 bytes, recognized i8, timestamp u32 (Unix seconds),
 * n_strokes u16, then per stroke n_points u16, x u8[n_points], y u8[n_points]. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "data/bin_record.h"
#include "doodle/quickdraw.h"

#define BIN_HEADER 17 /* 8 + 2 + 1 + 4 + 2 */

static uint16_t get_u16(const unsigned char *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t get_u32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t get_u64(const unsigned char *p) { return (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32; }
static void put_u16(unsigned char *p, uint16_t v) {
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
}
static void put_u32(unsigned char *p, uint32_t v) {
    put_u16(p, (uint16_t)v);
    put_u16(p + 2, (uint16_t)(v >> 16));
}
static void put_u64(unsigned char *p, uint64_t v) {
    put_u32(p, (uint32_t)v);
    put_u32(p + 4, (uint32_t)(v >> 32));
}

static bool is_letter(unsigned char c) { return (unsigned)((c | 0x20) - 'a') < 26; }

/* Buffers `need` bytes of the current record; fails with TRUNCATED if the file ends first. */
static int need_bytes(data_gz_input *in, size_t need, const char *part, dd_error *err) {
    int64_t got = data_gz_fill(in, need, err);
    if (got < 0) return -1;
    if ((size_t)got < need)
        return dd_fail(err, DD_ERR_TRUNCATED, "the file ends inside the record (%s: %lld of %zu bytes)", part,
                       (long long)got, need);
    return 0;
}

dd_next data_bin_read_record(data_gz_input *in, dd_drawing *d, dd_error *err) {
    int64_t got = data_gz_fill(in, BIN_HEADER, err);
    if (got < 0) return DD_NEXT_FATAL;
    if (got == 0) return DD_NEXT_END;
    if (need_bytes(in, BIN_HEADER, "header", err)) return DD_NEXT_FATAL;

    /* Find the record's length first (the buffer may move while it fills), then decode it in place. */
    const unsigned char *h = (const unsigned char *)in->buf + in->start;
    uint32_t n_strokes = get_u16(h + 15);
    size_t size = BIN_HEADER;
    uint64_t n_points = 0;
    for (uint32_t s = 0; s < n_strokes; s++) {
        char part[48];
        snprintf(part, sizeof part, "stroke %u", s + 1);
        if (need_bytes(in, size + 2, part, err)) return DD_NEXT_FATAL;
        uint16_t n = get_u16((const unsigned char *)in->buf + in->start + size);
        size += 2 + 2 * (size_t)n;
        n_points += n;
        if (need_bytes(in, size, part, err)) return DD_NEXT_FATAL;
    }

    const unsigned char *rec = (const unsigned char *)in->buf + in->start;
    dd_drawing_clear(d);
    if (dd_drawing_reserve(d, n_strokes, (uint32_t)n_points, false, err)) {
        data_gz_consume(in, size);
        return DD_NEXT_BAD;
    }
    d->key_id = get_u64(rec);
    if (is_letter(rec[8]) && is_letter(rec[9])) {
        d->countrycode[0] = (char)rec[8];
        d->countrycode[1] = (char)rec[9];
        d->countrycode[2] = '\0';
    }
    d->recognized = rec[10] ? 1 : 0;
    dd_timestamp_format(get_u32(rec + 11), d->timestamp);
    const unsigned char *p = rec + BIN_HEADER;
    for (uint32_t s = 0; s < n_strokes; s++) {
        uint16_t n = get_u16(p);
        const unsigned char *x = p + 2, *y = x + n;
        for (uint16_t i = 0; i < n; i++) {
            d->x[d->n_points + i] = x[i];
            d->y[d->n_points + i] = y[i];
        }
        d->n_points += n;
        d->stroke_end[d->n_strokes++] = d->n_points;
        p = y + n;
    }
    data_gz_consume(in, size);
    if (dd_drawing_validate(d, err)) return DD_NEXT_BAD;
    return DD_NEXT_OK;
}

int dd_bin_write(FILE *f, const dd_drawing *d, dd_error *err) {
    if (!dd_drawing_is_simplified(d))
        return dd_fail(err, DD_ERR_RANGE,
                       "the .bin format holds only simplified drawings (integer coordinates 0..255)");
    if (d->n_strokes > UINT16_MAX)
        return dd_fail(err, DD_ERR_RANGE, "%u strokes; the .bin format holds at most %u", d->n_strokes, UINT16_MAX);
    int64_t seconds = 0;
    if (d->timestamp[0] && dd_timestamp_parse(d->timestamp, &seconds))
        return dd_fail(err, DD_ERR_MALFORMED, "timestamp \"%s\" is not a date", d->timestamp);
    if (seconds < 0 || seconds > UINT32_MAX)
        return dd_fail(err, DD_ERR_RANGE, "timestamp \"%s\" does not fit the .bin format", d->timestamp);

    for (uint32_t s = 0; s < d->n_strokes; s++) { /* check everything before writing anything */
        uint32_t n = d->stroke_end[s] - dd_stroke_begin(d, s);
        if (n > UINT16_MAX)
            return dd_fail(err, DD_ERR_RANGE, "stroke %u has %u points; the .bin format holds at most %u", s + 1, n,
                           UINT16_MAX);
    }

    unsigned char buf[4096];
    put_u64(buf, d->key_id);
    buf[8] = (unsigned char)d->countrycode[0];
    buf[9] = d->countrycode[0] ? (unsigned char)d->countrycode[1] : 0;
    buf[10] = d->recognized == 1;
    put_u32(buf + 11, (uint32_t)seconds);
    put_u16(buf + 15, (uint16_t)d->n_strokes);
    if (fwrite(buf, 1, BIN_HEADER, f) != BIN_HEADER) return dd_fail(err, DD_ERR_IO, "write failed");

    for (uint32_t s = 0; s < d->n_strokes; s++) {
        uint32_t begin = dd_stroke_begin(d, s), n = d->stroke_end[s] - begin;
        put_u16(buf, (uint16_t)n);
        if (fwrite(buf, 1, 2, f) != 2) return dd_fail(err, DD_ERR_IO, "write failed");
        for (int axis = 0; axis < 2; axis++) {
            const double *v = (axis == 0 ? d->x : d->y) + begin;
            for (uint32_t i = 0; i < n;) {
                size_t k = 0;
                while (i < n && k < sizeof buf) buf[k++] = (unsigned char)v[i++];
                if (fwrite(buf, 1, k, f) != k) return dd_fail(err, DD_ERR_IO, "write failed");
            }
        }
    }
    return 0;
}
