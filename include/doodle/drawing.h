/* The two in-memory drawing types: strokes (one drawing) and bitmaps (a stack of equal-sized 8-bit images). */
#ifndef DOODLE_DRAWING_H
#define DOODLE_DRAWING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "doodle/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define DD_WORD_MAX 64      /* longest class name + 1 ("The Great Wall of China" is 23) */
#define DD_TIMESTAMP_MAX 40 /* "2017-03-02 23:25:10.07453 UTC" + room */

/* One Quick, Draw! drawing as strokes. Raw drawings have float pixel coordinates and times (t != NULL);
 * simplified ones have integer coordinates 0..255 and no times. Stroke s holds the points
 * [s == 0 ? 0 : stroke_end[s-1], stroke_end[s]). The arrays are owned and grow as needed, so one dd_drawing
 * can be reused for a whole file without allocating per drawing. */
typedef struct dd_drawing {
    uint64_t key_id;
    char word[DD_WORD_MAX];           /* class name as written in the file; "" when unknown */
    char countrycode[3];              /* two letters; "" when unknown */
    int8_t recognized;                /* 1, 0, or -1 when the file does not say */
    char timestamp[DD_TIMESTAMP_MAX]; /* as written in ndjson, "" when unknown */
    uint32_t n_strokes;
    uint32_t n_points;
    uint32_t *stroke_end;             /* [n_strokes] one past the last point of each stroke */
    double *x, *y;                    /* [n_points] */
    double *t;                        /* [n_points] milliseconds, or NULL when the drawing has no times */
    uint32_t cap_strokes, cap_points; /* allocated sizes, private to drawing.c */
    bool has_times;                   /* t holds valid times (t may be allocated while has_times is false) */
} dd_drawing;

void dd_drawing_init(dd_drawing *d);
void dd_drawing_free(dd_drawing *d);
/* Forgets strokes and metadata but keeps the buffers for reuse. */
void dd_drawing_clear(dd_drawing *d);
/* Makes room for n_strokes strokes and n_points points in total (keeps the content). */
int dd_drawing_reserve(dd_drawing *d, uint32_t n_strokes, uint32_t n_points, bool with_times, dd_error *err);
/* Appends one point to the current stroke (call dd_drawing_end_stroke after a stroke's last point). */
int dd_drawing_add_point(dd_drawing *d, double x, double y, double t, dd_error *err);
void dd_drawing_end_stroke(dd_drawing *d);
int dd_drawing_copy(dd_drawing *dst, const dd_drawing *src, dd_error *err);

static inline uint32_t dd_stroke_begin(const dd_drawing *d, uint32_t s) { return s ? d->stroke_end[s - 1] : 0; }

typedef struct dd_bounds {
    double min_x, min_y, max_x, max_y;
} dd_bounds;
dd_bounds dd_drawing_bounds(const dd_drawing *d);

/* Checks what every consumer relies on: at least one stroke, no empty stroke, finite coordinates within
 * |v| <= DD_COORD_LIMIT. The message starts with what is wrong (callers prefix file and line). */
#define DD_COORD_LIMIT 1e7
int dd_drawing_validate(const dd_drawing *d, dd_error *err);

/* True when every coordinate is an integer in 0..255 (a simplified drawing, as in Google's simplified files and
 * the .bin format). */
bool dd_drawing_is_simplified(const dd_drawing *d);

/* Timestamps: Quick, Draw! ndjson writes "2017-03-02 23:25:10.07453 UTC", .bin holds Unix seconds. */
int dd_timestamp_parse(const char *text, int64_t *unix_seconds);
void dd_timestamp_format(int64_t unix_seconds, char out[DD_TIMESTAMP_MAX]);

/* A stack of n equal-sized 8-bit images, row-major, 0 = background, 255 = ink. */
typedef struct dd_bitmaps {
    uint64_t count;
    uint32_t height, width;
    uint8_t *pixels; /* [count * height * width] */
} dd_bitmaps;

static inline uint8_t *dd_bitmap_at(const dd_bitmaps *b, uint64_t i) {
    return b->pixels + i * (uint64_t)b->height * b->width;
}
int dd_bitmaps_alloc(dd_bitmaps *b, uint64_t count, uint32_t height, uint32_t width, dd_error *err);
void dd_bitmaps_free(dd_bitmaps *b);

#ifdef __cplusplus
}
#endif
#endif
