#define _DEFAULT_SOURCE /* timegm */
#include "doodle/drawing.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "doodle/alloc.h"

void dd_drawing_init(dd_drawing *d) {
    memset(d, 0, sizeof *d);
    d->recognized = -1;
}

void dd_drawing_free(dd_drawing *d) {
    free(d->stroke_end);
    free(d->x);
    free(d->y);
    free(d->t);
    dd_drawing_init(d);
}

void dd_drawing_clear(dd_drawing *d) {
    d->key_id = 0;
    d->word[0] = d->countrycode[0] = d->timestamp[0] = '\0';
    d->recognized = -1;
    d->n_strokes = d->n_points = 0;
    d->has_times = false;
}

static uint32_t grown(uint32_t cap, uint32_t need) {
    uint64_t c = cap ? cap : 16;
    while (c < need) c *= 2;
    return c > UINT32_MAX ? UINT32_MAX : (uint32_t)c;
}

int dd_drawing_reserve(dd_drawing *d, uint32_t n_strokes, uint32_t n_points, bool with_times, dd_error *err) {
    if (n_strokes > d->cap_strokes) {
        uint32_t cap = grown(d->cap_strokes, n_strokes);
        uint32_t *p = dd_realloc(d->stroke_end, cap, sizeof *p, err);
        if (!p) return -1;
        d->stroke_end = p;
        d->cap_strokes = cap;
    }
    if (n_points > d->cap_points || (with_times && !d->t)) {
        uint32_t cap = n_points > d->cap_points ? grown(d->cap_points, n_points) : d->cap_points;
        double *x = dd_realloc(d->x, cap, sizeof *x, err);
        if (!x) return -1;
        d->x = x;
        double *y = dd_realloc(d->y, cap, sizeof *y, err);
        if (!y) return -1;
        d->y = y;
        if (d->t || with_times) {
            double *t = dd_realloc(d->t, cap, sizeof *t, err);
            if (!t) return -1;
            d->t = t;
        }
        d->cap_points = cap;
    }
    return 0;
}

int dd_drawing_add_point(dd_drawing *d, double x, double y, double t, dd_error *err) {
    if (d->n_points == UINT32_MAX) return dd_fail(err, DD_ERR_RANGE, "too many points");
    if (dd_drawing_reserve(d, d->n_strokes + 1, d->n_points + 1, d->has_times, err)) return -1;
    d->x[d->n_points] = x;
    d->y[d->n_points] = y;
    if (d->has_times) d->t[d->n_points] = t;
    d->n_points++;
    return 0;
}

void dd_drawing_end_stroke(dd_drawing *d) {
    /* dd_drawing_add_point reserved room for one more stroke */
    d->stroke_end[d->n_strokes++] = d->n_points;
}

int dd_drawing_copy(dd_drawing *dst, const dd_drawing *src, dd_error *err) {
    if (dd_drawing_reserve(dst, src->n_strokes, src->n_points, src->has_times, err)) return -1;
    dst->key_id = src->key_id;
    memcpy(dst->word, src->word, sizeof dst->word);
    memcpy(dst->countrycode, src->countrycode, sizeof dst->countrycode);
    dst->recognized = src->recognized;
    memcpy(dst->timestamp, src->timestamp, sizeof dst->timestamp);
    dst->n_strokes = src->n_strokes;
    dst->n_points = src->n_points;
    dst->has_times = src->has_times;
    if (src->n_strokes) memcpy(dst->stroke_end, src->stroke_end, src->n_strokes * sizeof *src->stroke_end);
    if (src->n_points) {
        memcpy(dst->x, src->x, src->n_points * sizeof *src->x);
        memcpy(dst->y, src->y, src->n_points * sizeof *src->y);
        if (src->has_times) memcpy(dst->t, src->t, src->n_points * sizeof *src->t);
    }
    return 0;
}

dd_bounds dd_drawing_bounds(const dd_drawing *d) {
    dd_bounds b = {0, 0, 0, 0};
    if (!d->n_points) return b;
    b.min_x = b.max_x = d->x[0];
    b.min_y = b.max_y = d->y[0];
    for (uint32_t i = 1; i < d->n_points; i++) {
        if (d->x[i] < b.min_x) b.min_x = d->x[i];
        if (d->x[i] > b.max_x) b.max_x = d->x[i];
        if (d->y[i] < b.min_y) b.min_y = d->y[i];
        if (d->y[i] > b.max_y) b.max_y = d->y[i];
    }
    return b;
}

int dd_drawing_validate(const dd_drawing *d, dd_error *err) {
    if (d->n_strokes == 0) return dd_fail(err, DD_ERR_EMPTY, "drawing has no strokes");
    for (uint32_t s = 0; s < d->n_strokes; s++)
        if (d->stroke_end[s] == dd_stroke_begin(d, s))
            return dd_fail(err, DD_ERR_EMPTY, "stroke %u has no points", s + 1);
    for (uint32_t i = 0; i < d->n_points; i++) {
        double v[3] = {d->x[i], d->y[i], d->has_times ? d->t[i] : 0};
        for (int k = 0; k < 3; k++)
            if (!isfinite(v[k]) || fabs(v[k]) > (k == 2 ? 1e12 : DD_COORD_LIMIT))
                return dd_fail(err, DD_ERR_RANGE, "point %u: %s = %g is %s", i + 1,
                               k == 0   ? "x"
                               : k == 1 ? "y"
                                        : "t",
                               v[k], isfinite(v[k]) ? "out of range" : "not a finite number");
    }
    return 0;
}

bool dd_drawing_is_simplified(const dd_drawing *d) {
    for (uint32_t i = 0; i < d->n_points; i++) {
        double x = d->x[i], y = d->y[i];
        if (!(x >= 0 && x <= 255 && y >= 0 && y <= 255) || x != floor(x) || y != floor(y)) return false;
    }
    return true;
}

int dd_timestamp_parse(const char *text, int64_t *unix_seconds) {
    struct tm tm = {0};
    int n = 0;
    if (sscanf(text, "%4d-%2d-%2d %2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
               &tm.tm_sec, &n) != 6)
        return -1;
    if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 ||
        tm.tm_sec > 60)
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    *unix_seconds = (int64_t)timegm(&tm);
    return 0;
}

void dd_timestamp_format(int64_t unix_seconds, char out[DD_TIMESTAMP_MAX]) {
    time_t t = (time_t)unix_seconds;
    struct tm tm;
    if (!gmtime_r(&t, &tm)) {
        out[0] = '\0';
        return;
    }
    strftime(out, DD_TIMESTAMP_MAX, "%Y-%m-%d %H:%M:%S UTC", &tm);
}

int dd_bitmaps_alloc(dd_bitmaps *b, uint64_t count, uint32_t height, uint32_t width, dd_error *err) {
    memset(b, 0, sizeof *b);
    uint64_t size = (uint64_t)height * width;
    if (size && count > SIZE_MAX / size)
        return dd_fail(err, DD_ERR_RANGE, "%llu images of %ux%u do not fit in memory", (unsigned long long)count,
                       height, width);
    b->pixels = dd_calloc(count * size, 1, err);
    if (!b->pixels) return -1;
    b->count = count;
    b->height = height;
    b->width = width;
    return 0;
}

void dd_bitmaps_free(dd_bitmaps *b) {
    free(b->pixels);
    memset(b, 0, sizeof *b);
}
