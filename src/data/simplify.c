/* dd_simplify: Google's simplification of raw Quick, Draw! drawings, reproduced bit for bit.
 *
 * The recipe, with every arithmetic detail fixed by comparing against Google's own simplified files (7,851 of the
 * 7,853 drawings present in both shared sets come out identical; in the other two, several points are at exactly
 * the same RDP distance in our arithmetic and Google split at another of them):
 *   1. scale: X = (x - min_x) * 255 / extent, extent = max(x range, y range), min over the whole drawing;
 *   2. resample each stroke in the scaled space: walk its polyline keeping the arc length S travelled so far,
 *      and emit a point at every whole arc length k = 1, 2, … (k <= S at the end of the segment), at
 *      t = (k - S_start) / L, p = p0 * (1 - t) + p1 * t, L = sqrt(dx*dx + dy*dy) (not hypot, which rounds
 *      differently: 68 drawings differ; p0 + t * (p1 - p0) or restarting the spacing at each vertex: 5% and
 *      100% differ). The first and last vertex are always kept, even when
 *      the last coincides with a resampled point or the stroke is a single point (which becomes two);
 *      zero-length segments contribute nothing;
 *   3. Ramer–Douglas–Peucker, epsilon 2.0: distance to the infinite line through the section's end points,
 *      |dx*(ay - py) - dy*(ax - px)| / sqrt(dx*dx + dy*dy) (Euclidean distance to a when the ends coincide); the
 *      first point of maximal distance splits the section when that distance is > epsilon (not >=);
 *   4. round half to even (Python's round()) at the very end; nothing is dropped, not even repeated points.
 * All of it in double precision without fused multiply-add (CMakeLists.txt builds this file with
 * -ffp-contract=off): each rounding step matters, because collinear runs of resampled points make exact ties
 * that only the last bit of the interpolation decides.
 *
 * A drawing of extent 0 (every point the same) has no scale; we map it to (0, 0), which is what any extent gives
 * a single point after alignment. */
#include "doodle/simplify.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "doodle/alloc.h"

/* Resampled points allowed in one stroke (path length 255 * 2^14 in the 0..255 box, thousands of times what any
 * doodle draws): a hostile file must not make us allocate gigabytes or run RDP for hours. */
#define MAX_RESAMPLED ((size_t)1 << 22)
/* Point-to-line distances RDP may compute for one drawing. RDP scans every section it splits, so its cost is
 * quadratic when each split only peels one corner off a long section: a zig-zag across the box with 9,000 corners,
 * a 100 KB line, takes 14 s. 2^27, about 0.2 s, is 300 times what the costliest of the 9,570 raw drawings in
 * ../shared needs. */
#define MAX_RDP_WORK ((uint64_t)1 << 27)

/* One stroke's resampled points plus the RDP bookkeeping, grown as needed and reused across strokes. */
typedef struct scratch {
    double *x, *y;
    uint8_t *keep;
    size_t n, cap;
} scratch;

static int scratch_push(scratch *s, double x, double y, dd_error *err) {
    if (s->n == MAX_RESAMPLED)
        return dd_fail(err, DD_ERR_RANGE, "too long to resample (more than %zu points at 1-unit spacing)",
                       MAX_RESAMPLED);
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 1024;
        double *nx = dd_realloc(s->x, cap, sizeof *nx, err);
        if (!nx) return -1;
        s->x = nx;
        double *ny = dd_realloc(s->y, cap, sizeof *ny, err);
        if (!ny) return -1;
        s->y = ny;
        uint8_t *nk = dd_realloc(s->keep, cap, sizeof *nk, err);
        if (!nk) return -1;
        s->keep = nk;
        s->cap = cap;
    }
    s->x[s->n] = x;
    s->y[s->n] = y;
    s->n++;
    return 0;
}

static void scratch_free(scratch *s) {
    free(s->x);
    free(s->y);
    free(s->keep);
}

/* Step 2 for the points [begin, end) of raw (scaled on the fly, which gives the same doubles as scaling first). */
static int resample(const dd_drawing *raw, uint32_t begin, uint32_t end, double min_x, double min_y, double extent,
                    scratch *s, dd_error *err) {
    s->n = 0;
    double x0 = (raw->x[begin] - min_x) * 255 / extent, y0 = (raw->y[begin] - min_y) * 255 / extent;
    if (scratch_push(s, x0, y0, err)) return -1;
    double travelled = 0, next = 1; /* arc length so far; where the next point goes */
    for (uint32_t i = begin + 1; i < end; i++) {
        double x1 = (raw->x[i] - min_x) * 255 / extent, y1 = (raw->y[i] - min_y) * 255 / extent;
        double dx = x1 - x0, dy = y1 - y0;
        double len = sqrt(dx * dx + dy * dy);
        if (len > 0) {
            double after = travelled + len;
            for (; next <= after; next += 1) {
                double t = (next - travelled) / len;
                if (scratch_push(s, x0 * (1 - t) + x1 * t, y0 * (1 - t) + y1 * t, err)) return -1;
            }
            travelled = after;
        }
        x0 = x1;
        y0 = y1;
    }
    return scratch_push(s, x0, y0, err); /* the last vertex, always */
}

static double line_distance(double px, double py, double ax, double ay, double dx, double dy, double len) {
    if (len == 0) return sqrt((px - ax) * (px - ax) + (py - ay) * (py - ay));
    return fabs(dx * (ay - py) - dy * (ax - px)) / len;
}

/* Step 3 on s, marking s->keep. The order in which sections are processed does not change the result (each
 * section's split depends only on its own end points), so instead of a stack we go left to right: split the
 * current section until it needs no split, then move on to the section that starts at its end. Every section
 * scanned is paid for from *budget; returns -1 when that runs out. */
static int rdp(scratch *s, uint64_t *budget) {
    size_t n = s->n;
    memset(s->keep, 0, n);
    s->keep[0] = s->keep[n - 1] = 1;
    size_t a = 0, b = n - 1;
    while (a < n - 1) {
        if (b - a > *budget) return -1;
        *budget -= b - a;
        double ax = s->x[a], ay = s->y[a], dx = s->x[b] - ax, dy = s->y[b] - ay;
        double len = sqrt(dx * dx + dy * dy);
        double best = -1;
        size_t split = 0;
        for (size_t i = a + 1; i < b; i++) {
            double d = line_distance(s->x[i], s->y[i], ax, ay, dx, dy, len);
            if (d > best) { /* the first of equal maxima */
                best = d;
                split = i;
            }
        }
        if (split && best > DD_SIMPLIFY_EPSILON) {
            s->keep[split] = 1;
            b = split;
        } else {
            a = b;
            for (b = a + 1; b < n && !s->keep[b]; b++) {}
        }
    }
    return 0;
}

/* nearbyint in the default rounding mode is round half to even; + 0.0 turns a -0.0 into 0. */
static double round_even(double v) { return nearbyint(v) + 0.0; }

int dd_simplify(const dd_drawing *raw, dd_drawing *out, dd_error *err) {
    if (raw == out) return dd_fail(err, DD_ERR_USAGE, "dd_simplify: out must not be the input drawing");
    if (dd_drawing_validate(raw, err)) return -1;
    dd_bounds b = dd_drawing_bounds(raw);
    double extent = fmax(b.max_x - b.min_x, b.max_y - b.min_y);
    if (extent == 0) extent = 1; /* every point is (min_x, min_y): all become (0, 0) */

    dd_drawing_clear(out);
    out->key_id = raw->key_id;
    memcpy(out->word, raw->word, sizeof out->word);
    memcpy(out->countrycode, raw->countrycode, sizeof out->countrycode);
    out->recognized = raw->recognized;
    memcpy(out->timestamp, raw->timestamp, sizeof out->timestamp);
    out->has_times = false;

    scratch s = {0};
    uint64_t budget = MAX_RDP_WORK;
    int rc = 0;
    for (uint32_t st = 0; st < raw->n_strokes && rc == 0; st++) {
        rc = resample(raw, dd_stroke_begin(raw, st), raw->stroke_end[st], b.min_x, b.min_y, extent, &s, err);
        if (rc) {
            if (err && err->code == DD_ERR_RANGE) dd_error_prefix(err, "stroke %u", st + 1);
            break;
        }
        if (rdp(&s, &budget)) {
            rc = dd_fail(err, DD_ERR_RANGE,
                         "stroke %u: too complex to simplify (Ramer-Douglas-Peucker would need more "
                         "than %llu point-to-line distances)",
                         st + 1, (unsigned long long)MAX_RDP_WORK);
            break;
        }
        for (size_t i = 0; i < s.n && rc == 0; i++)
            if (s.keep[i]) rc = dd_drawing_add_point(out, round_even(s.x[i]), round_even(s.y[i]), 0, err);
        if (rc == 0) dd_drawing_end_stroke(out);
    }
    scratch_free(&s);
    if (rc) dd_drawing_clear(out);
    return rc;
}

const dd_drawing *dd_simplified_view(const dd_drawing *d, dd_drawing *buffer, dd_error *err) {
    if (!d->has_times && dd_drawing_is_simplified(d)) return d;
    return dd_simplify(d, buffer, err) ? NULL : buffer;
}
