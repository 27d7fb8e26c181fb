/* Google's published simplification of raw Quick, Draw! drawings: align to the top-left corner, scale uniformly
 * so that the longer side spans 0..255, resample every stroke at 1-unit spacing, then Ramer–Douglas–Peucker with
 * epsilon 2.0, rounding to integers at the end. Done in double precision without fused multiply-add, as Google's
 * arithmetic was, it reproduces Google's simplified files point for point (see tests/test_simplify.c). */
#ifndef DOODLE_SIMPLIFY_H
#define DOODLE_SIMPLIFY_H

#include "doodle/drawing.h"

#ifdef __cplusplus
extern "C" {
#endif

#define DD_SIMPLIFY_EPSILON 2.0

/* raw -> out (out must be initialised and distinct from raw). Metadata (word, key_id, …) is copied; out has no
 * times. Fails only on an invalid drawing or out of memory. */
int dd_simplify(const dd_drawing *raw, dd_drawing *out, dd_error *err);

/* A drawing is taken as already simplified when it has no times and every coordinate is a whole number in
 * 0..255, as in Google's simplified ndjson and .bin files; the recipe is not idempotent, so such drawings are
 * used as they are. Returns d itself in that case, else simplifies d into buffer and returns buffer
 * (NULL on failure). Every verb that stores or renders strokes goes through this one rule. */
const dd_drawing *dd_simplified_view(const dd_drawing *d, dd_drawing *buffer, dd_error *err);

#ifdef __cplusplus
}
#endif
#endif
