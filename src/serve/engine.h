/* What the server computes, on the embedding API (include/doodle/classify.h): one classifier owns the model, which
 * every request reads and none copies, and a pool of per-request contexts, each a dd_classifier_share of it (its
 * own workspace, renderer and image) with the request's drawing, one per request in flight, reused from request
 * to request.
 *
 * A request body is a Quick, Draw! drawing object, {"drawing": [[[x…],[y…],[t…]], …]} (times optional; other
 * keys are ignored), read by the same parser as ndjson files; raw strokes are simplified with Google's recipe and
 * rendered at the model's input size and settings, exactly as training saw its drawings. */
#ifndef DOODLE_SERVE_ENGINE_H
#define DOODLE_SERVE_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "doodle/error.h"
#include "doodle/model.h"

/* Limits on one drawing (a body is at most SERVE_MAX_BODY bytes). Ink is the strokes' length once the drawing
 * is scaled into Google's 0..255 box, which is about how many points simplification resamples: a long zig-zag
 * would otherwise cost seconds and megabytes. The largest of the bundled and shared drawings stay far below. */
#define SERVE_MAX_BODY (256u * 1024u)
#define SERVE_MAX_STROKES 1000u
#define SERVE_MAX_POINTS 20000u
#define SERVE_MAX_INK 200000.0
#define SERVE_MAX_TOP 100

typedef struct serve_engine serve_engine;
typedef struct serve_ctx serve_ctx;

/* Loads the model (a .safetensors written by doodle train; one input channel). */
serve_engine *serve_engine_open(const char *model_path, dd_error *err);
void serve_engine_close(serve_engine *e);
const dd_model *serve_engine_model(const serve_engine *e);

/* A free context, or a new one; NULL (err set) when out of memory. Give it back when the request is done. */
serve_ctx *serve_ctx_take(serve_engine *e, dd_error *err);
void serve_ctx_give(serve_engine *e, serve_ctx *c);

typedef struct serve_guess {
    int index;
    float p; /* softmax probability */
} serve_guess;

/* Parses, checks, simplifies and renders the drawing in body into c's image, runs the model and writes the k best
 * classes to top (k <= SERVE_MAX_TOP, at most the model's classes). Returns the HTTP status: 200, 400 (malformed
 * JSON, a wrong shape or value: err says what and where), 413 (over a limit), 500 (out of memory). */
int serve_predict(serve_engine *e, serve_ctx *c, const char *body, size_t len, int k, serve_guess *top, int *n_top,
                  dd_error *err);

/* After a successful serve_predict: the image the model saw ([height * width], 0 = background, 255 = ink), its
 * input (image / 255) and the drawing's counts. */
const uint8_t *serve_ctx_image(const serve_ctx *c);
const float *serve_ctx_input(const serve_ctx *c);
void serve_ctx_counts(const serve_ctx *c, uint32_t *strokes, uint32_t *points);

/* The context's explainer (include/doodle/explain.h), made on first use; NULL (err set) when out of memory. */
struct dd_explainer;
struct dd_explainer *serve_ctx_explainer(serve_engine *e, serve_ctx *c, dd_error *err);

/* Softmax of logits [n] in double with the maximum subtracted, and the k most probable classes, best first, ties
 * to the lower index: dd_top_k of the embedding API (doodle/classify.h), so the page and `doodle predict` agree.
 * Returns min(k, n). */
int serve_top_k(const float *logits, int n, int k, serve_guess *top);

#endif
