/* dd_simplify: Google's own simplified files as the reference (every raw drawing of the shared data whose key_id
 * is also in the simplified set must come out identical point for point, at least 99.9% of them), plus
 * properties on constructed drawings. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "doodle/quickdraw.h"
#include "doodle/simplify.h"
#include "testutil.h"

/* ---- constructed drawings ---- */

static void build(dd_drawing *d, const double *xy, const int *stroke_sizes, int n_strokes) {
    dd_error err;
    dd_drawing_clear(d);
    for (int s = 0, k = 0; s < n_strokes; s++) {
        for (int i = 0; i < stroke_sizes[s]; i++, k++)
            CHECK(dd_drawing_add_point(d, xy[2 * k], xy[2 * k + 1], 0, &err) == 0, "%s", err.msg);
        dd_drawing_end_stroke(d);
    }
}

/* Every coordinate an integer in 0..255; returns the largest x and y. */
static void check_simplified(const dd_drawing *d, double *max_x, double *max_y) {
    *max_x = *max_y = 0;
    CHECK(dd_drawing_is_simplified(d));
    for (uint32_t i = 0; i < d->n_points; i++) {
        CHECK(!signbit(d->x[i]) && !signbit(d->y[i]), "negative zero at point %u", i);
        if (d->x[i] > *max_x) *max_x = d->x[i];
        if (d->y[i] > *max_y) *max_y = d->y[i];
    }
}

static void test_constructed(void) {
    dd_drawing raw, out;
    dd_drawing_init(&raw);
    dd_drawing_init(&out);
    dd_error err;
    double mx, my;

    /* a single point: as in Google's files, a one-point stroke becomes two equal points; extent 0 -> (0, 0) */
    build(&raw, (const double[]){414.5, 12.25}, (const int[]){1}, 1);
    CHECK(dd_simplify(&raw, &out, &err) == 0, "%s", err.msg);
    CHECK(out.n_strokes == 1 && out.n_points == 2 && out.x[0] == 0 && out.y[0] == 0 && out.x[1] == 0 && out.y[1] == 0,
          "%u points", out.n_points);

    /* zero extent with several strokes and points: every point (0, 0), nothing dropped */
    build(&raw, (const double[]){7, 7, 7, 7, 7, 7, 7, 7}, (const int[]){3, 1}, 2);
    CHECK(dd_simplify(&raw, &out, &err) == 0, "%s", err.msg);
    CHECK(out.n_strokes == 2 && out.n_points == 4 && out.stroke_end[0] == 2, "%u strokes %u points", out.n_strokes,
          out.n_points);
    check_simplified(&out, &mx, &my);
    CHECK(mx == 0 && my == 0);

    /* a straight line with many points: RDP keeps its two ends, scaled to the corner and to 255 */
    double line[2 * 11];
    for (int i = 0; i <= 10; i++) line[2 * i] = 100 + 3.7 * i, line[2 * i + 1] = 50 + 1.3 * i;
    build(&raw, line, (const int[]){11}, 1);
    CHECK(dd_simplify(&raw, &out, &err) == 0, "%s", err.msg);
    CHECK(out.n_strokes == 1 && out.n_points == 2, "%u points", out.n_points);
    CHECK(out.x[0] == 0 && out.y[0] == 0 && out.x[1] == 255 && out.y[1] == nearbyint(13.0 * 255 / 37),
          "(%g,%g)-(%g,%g)", out.x[0], out.y[0], out.x[1], out.y[1]);

    /* the longer side is y: y spans 0..255, x keeps the aspect ratio; a corner survives RDP */
    build(&raw, (const double[]){10, 1000, 10, 1400, 110, 1400}, (const int[]){3}, 1);
    CHECK(dd_simplify(&raw, &out, &err) == 0, "%s", err.msg);
    check_simplified(&out, &mx, &my);
    CHECK(my == 255 && mx == nearbyint(100.0 * 255 / 400), "max (%g,%g)", mx, my);
    CHECK(out.n_points == 3 && out.x[1] == 0 && out.y[1] == 255, "%u points", out.n_points);

    /* a wiggly two-stroke drawing: integers 0..255, 0 and 255 reached on the longer (x) axis (its extremes are
     * stroke ends, which RDP always keeps), y within RDP's tolerance of 0; metadata copied, times dropped */
    dd_drawing_clear(&raw);
    raw.has_times = true;
    raw.key_id = 5201136883597312u;
    strcpy(raw.word, "cat");
    strcpy(raw.countrycode, "VE");
    strcpy(raw.timestamp, "2017-03-02 23:25:10.07453 UTC");
    raw.recognized = 1;
    for (int s = 0; s < 2; s++) {
        for (int i = 0; i < 200; i++)
            CHECK(dd_drawing_add_point(&raw, -50.5 + 3 * i + s, 20 * sin(i * 0.1 + s) + 7.25, 16.0 * i, &err) == 0);
        dd_drawing_end_stroke(&raw);
    }
    CHECK(dd_simplify(&raw, &out, &err) == 0, "%s", err.msg);
    check_simplified(&out, &mx, &my);
    CHECK(mx == 255 && my < 255, "max (%g,%g)", mx, my);
    double min_x = 255, min_y = 255;
    for (uint32_t i = 0; i < out.n_points; i++) min_x = fmin(min_x, out.x[i]), min_y = fmin(min_y, out.y[i]);
    CHECK(min_x == 0 && min_y <= 2, "min (%g,%g)", min_x, min_y);
    CHECK(out.n_strokes == 2 && out.n_points > 8 && out.n_points < 200, "%u points", out.n_points);
    CHECK(!out.has_times);
    CHECK(out.key_id == raw.key_id && strcmp(out.word, "cat") == 0 && strcmp(out.countrycode, "VE") == 0 &&
          strcmp(out.timestamp, raw.timestamp) == 0 && out.recognized == 1);

    /* invalid input fails and says why */
    dd_drawing_clear(&raw);
    CHECK(dd_simplify(&raw, &out, &err) == -1 && err.code == DD_ERR_EMPTY, "%s", err.msg);
    build(&raw, (const double[]){NAN, 1}, (const int[]){1}, 1);
    CHECK(dd_simplify(&raw, &out, &err) == -1 && err.code == DD_ERR_RANGE, "%s", err.msg);
    CHECK(dd_simplify(&out, &out, &err) == -1 && err.code == DD_ERR_USAGE);

    /* a stroke zig-zagging across the box tens of thousands of times is refused, not resampled into gigabytes */
    dd_drawing_clear(&raw);
    for (int i = 0; i < 20000; i++) CHECK(dd_drawing_add_point(&raw, i % 2 * 1000.0, i % 2 * 1000.0, 0, &err) == 0);
    dd_drawing_end_stroke(&raw);
    CHECK(dd_simplify(&raw, &out, &err) == -1 && err.code == DD_ERR_RANGE && strstr(err.msg, "stroke 1"), "%s",
          err.msg);

    /* a zig-zag whose every corner RDP keeps, one split at a time, each split scanning the rest of the stroke:
     * quadratic (14 s for a 100 KB line, hours for 1 MB); refused once RDP's budget runs out */
    dd_drawing_clear(&raw);
    CHECK(dd_drawing_add_point(&raw, 0, 0, 0, &err) == 0);
    dd_drawing_end_stroke(&raw);
    for (int i = 0; i < 2000; i++) /* whole-pixel y: NOLINTNEXTLINE(bugprone-integer-division) */
        CHECK(dd_drawing_add_point(&raw, i % 2 * 255.0, i * 255 / 2000, 0, &err) == 0);
    dd_drawing_end_stroke(&raw);
    dd_error_clear(&err);
    CHECK(dd_simplify(&raw, &out, &err) == -1 && err.code == DD_ERR_RANGE && strstr(err.msg, "stroke 2: too complex"),
          "%s", err.msg);
    CHECK(out.n_strokes == 0 && out.n_points == 0);

    dd_drawing_free(&raw);
    dd_drawing_free(&out);
}

/* ---- Google's simplified files as the reference ---- */

typedef struct ref {
    uint64_t key_id;
    size_t first_stroke, n_strokes; /* into ends */
    size_t first_point;             /* into xy */
} ref;

typedef struct refs {
    ref *r;
    size_t n, cap;
    uint32_t *ends; /* per stroke: points in it */
    size_t n_ends, cap_ends;
    uint8_t *xy; /* x, y pairs */
    size_t n_xy, cap_xy;
} refs;

static void *grow(void *p, size_t *cap, size_t need, size_t size) {
    if (need <= *cap) return p;
    size_t c = *cap ? *cap : 1024;
    while (c < need) c *= 2;
    p = realloc(p, c * size);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    *cap = c;
    return p;
}

static void refs_add(refs *R, const dd_drawing *d) {
    R->r = grow(R->r, &R->cap, R->n + 1, sizeof *R->r);
    R->ends = grow(R->ends, &R->cap_ends, R->n_ends + d->n_strokes, sizeof *R->ends);
    R->xy = grow(R->xy, &R->cap_xy, R->n_xy + 2 * (size_t)d->n_points, 1);
    R->r[R->n++] = (ref){d->key_id, R->n_ends, d->n_strokes, R->n_xy};
    for (uint32_t s = 0; s < d->n_strokes; s++) R->ends[R->n_ends++] = d->stroke_end[s] - dd_stroke_begin(d, s);
    for (uint32_t i = 0; i < d->n_points; i++) {
        R->xy[R->n_xy++] = (uint8_t)d->x[i];
        R->xy[R->n_xy++] = (uint8_t)d->y[i];
    }
}

static int cmp_ref(const void *a, const void *b) {
    uint64_t x = ((const ref *)a)->key_id, y = ((const ref *)b)->key_id;
    return x < y ? -1 : x > y;
}

static const ref *refs_find(const refs *R, uint64_t key_id) {
    ref key = {.key_id = key_id};
    return bsearch(&key, R->r, R->n, sizeof *R->r, cmp_ref);
}

/* 1 when d is exactly the reference drawing. */
static int same(const refs *R, const ref *r, const dd_drawing *d) {
    if (d->n_strokes != r->n_strokes) return 0;
    const uint8_t *xy = R->xy + r->first_point;
    for (uint32_t s = 0; s < d->n_strokes; s++)
        if (d->stroke_end[s] - dd_stroke_begin(d, s) != R->ends[r->first_stroke + s]) return 0;
    for (uint32_t i = 0; i < d->n_points; i++)
        if (d->x[i] != xy[2 * i] || d->y[i] != xy[2 * i + 1]) return 0;
    return 1;
}

static void read_files(const char *dir, void (*each)(void *ctx, const dd_drawing *d), void *ctx) {
    dd_file_list files = {0};
    dd_error err;
    CHECK(dd_file_list_add(&files, dir, &err) == 0, "%s", err.msg);
    dd_drawing d;
    dd_drawing_init(&d);
    for (size_t f = 0; f < files.count; f++) {
        dd_stroke_reader *rd = dd_stroke_reader_open(files.paths[f], &err);
        CHECK(rd != NULL, "%s", err.msg);
        if (!rd) continue;
        dd_next nx;
        while ((nx = dd_stroke_reader_next(rd, &d, &err)) != DD_NEXT_END) {
            CHECK(nx == DD_NEXT_OK, "%s", err.msg);
            if (nx == DD_NEXT_FATAL) break;
            if (nx == DD_NEXT_OK) each(ctx, &d);
        }
        dd_stroke_reader_close(rd);
    }
    dd_drawing_free(&d);
    dd_file_list_free(&files);
}

static void add_ref(void *ctx, const dd_drawing *d) {
    CHECK(dd_drawing_is_simplified(d), "key_id %llu is not simplified", (unsigned long long)d->key_id);
    refs_add(ctx, d);
}

typedef struct compare {
    const refs *R;
    dd_drawing out;
    uint64_t raw, pairs, identical, same_strokes_and_counts, shown;
} compare;

static void compare_one(void *ctx, const dd_drawing *d) {
    compare *c = ctx;
    c->raw++;
    const ref *r = refs_find(c->R, d->key_id);
    if (!r) return;
    c->pairs++;
    dd_error err;
    CHECK(dd_simplify(d, &c->out, &err) == 0, "key_id %llu: %s", (unsigned long long)d->key_id, err.msg);
    CHECK(c->out.key_id == d->key_id && strcmp(c->out.word, d->word) == 0);
    if (same(c->R, r, &c->out)) {
        c->identical++;
        return;
    }
    int counts = c->out.n_strokes == r->n_strokes;
    for (uint32_t s = 0; counts && s < c->out.n_strokes; s++)
        counts = c->out.stroke_end[s] - dd_stroke_begin(&c->out, s) == c->R->ends[r->first_stroke + s];
    c->same_strokes_and_counts += counts;
    if (c->shown++ < 10)
        fprintf(stderr, "differs from Google's: %s key_id %llu (%s)\n", d->word, (unsigned long long)d->key_id,
                counts ? "same point counts, some point elsewhere" : "different point counts");
}

static void test_google(void) {
    const char *shared = test_shared_data();
    char simplified_dir[4096], raw_dir[4096];
    snprintf(simplified_dir, sizeof simplified_dir, "%s/strokes_simplified/lamnguyen5464_Sketch-dataset", shared);
    snprintf(raw_dir, sizeof raw_dir, "%s/strokes_raw/borismus_exupery", shared);

    refs R = {0};
    read_files(simplified_dir, add_ref, &R);
    CHECK(R.n >= 8000, "%zu simplified drawings", R.n);
    qsort(R.r, R.n, sizeof *R.r, cmp_ref);
    for (size_t i = 1; i < R.n; i++) CHECK(R.r[i].key_id != R.r[i - 1].key_id, "key_id repeats");

    compare c = {.R = &R};
    dd_drawing_init(&c.out);
    read_files(raw_dir, compare_one, &c);
    double fraction = c.pairs ? (double)c.identical / (double)c.pairs : 0;
    printf("simplify: %llu of %llu drawings in both sets identical to Google's (%.4f%%; %llu of the rest with the "
           "same point counts) from %llu raw drawings\n",
           (unsigned long long)c.identical, (unsigned long long)c.pairs, 100 * fraction,
           (unsigned long long)c.same_strokes_and_counts, (unsigned long long)c.raw);
    CHECK(c.raw >= 9000, "%llu raw drawings", (unsigned long long)c.raw);
    CHECK(c.pairs >= 7500, "only %llu key_ids in both sets", (unsigned long long)c.pairs);
    CHECK(fraction >= 0.999, "%.5f identical", fraction);

    dd_drawing_free(&c.out);
    free(R.r);
    free(R.ends);
    free(R.xy);
}

int main(void) {
    test_constructed();
    test_google();
    return test_finish("test_simplify");
}
