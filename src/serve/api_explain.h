/* POST /api/explain: the drawing's guesses, and why the model made its top guess. */
#ifndef DOODLE_SERVE_API_EXPLAIN_H
#define DOODLE_SERVE_API_EXPLAIN_H

#include <stddef.h>

#include "doodle/error.h"
#include "serve/engine.h"

/* The most layers whose activations are shown. */
#define SERVE_EXPLAIN_MAX_LAYERS 8

/* Runs body's drawing through serve_predict, then explains the top class:
 *   {"top": [...] (as /api/predict), "input_png", "class": top class,
 *    "saliency_png": |d logit / d pixel| as a heat map over the drawing (RGB),
 *    "gradcam_png": Grad-CAM at the last conv block, the same way (absent for a model without conv layers),
 *    "activations": [{"layer", "type", "channels", "height", "width", "max", "png"}]: the feature maps after each
 *       rectified conv block, one tile per channel in a grid (dark blue 0 … yellow the layer's maximum)}
 * *status is the HTTP status (as serve_predict); the text is allocated, NULL unless *status is 200. */
char *serve_explain_json(serve_engine *e, serve_ctx *c, const char *body, size_t len, int *status, dd_error *err);

#endif
