/* The JSON bodies of the server's API (documented in docs/serving.md, "The JSON API"). Every function returns an
 * allocated NUL-terminated text (free it) or NULL with err set (out of memory). */
#ifndef DOODLE_SERVE_API_JSON_H
#define DOODLE_SERVE_API_JSON_H

#include <stdbool.h>

#include "doodle/classify.h"
#include "doodle/error.h"
#include "doodle/model.h"
#include "serve/engine.h"

/* {"top": [{"class", "index", "p"}…], "input_png": "data:image/png;base64,…", "input": {"height", "width"},
 *  "strokes", "points"} */
char *serve_json_predict(const dd_model *m, const serve_ctx *c, const serve_guess *top, int n, dd_error *err);

/* {"name", "classes": […], "input": {"height", "width", "channels"}, "render": {"line_width", "padding"},
 *  "params", "layers": [{"name", "type", "shape"}…], "summary": "<doodle summary's table>", "report": bool,
 *  "mistakes": bool (the Mistakes view is there: --run), "limits": {"body_bytes", "strokes", "points"}} */
char *serve_json_model(const dd_model *m, bool has_report, bool has_mistakes, dd_error *err);

/* {"error": msg, "status": status} */
char *serve_json_error(int status, const char *msg, dd_error *err);

/* cJSON helpers shared by the API files: adds a data: URI of a PNG of pixels to o under key. */
struct cJSON;
int serve_json_add_png(struct cJSON *o, const char *key, const unsigned char *pixels, int height, int width,
                       int channels, dd_error *err);
/* The answer's classes, best first, as "top": [{"class", "index", "p"}…] with p rounded to 6 decimals: the one
 * writer of /api/predict and of dd_prediction_json (`doodle predict --json`), so that both answer in one shape.
 * False when out of memory. */
bool serve_json_add_top(struct cJSON *o, const dd_prediction *top, int n);
/* Prints o unformatted and deletes it; NULL (err set) when o is NULL or printing fails. */
char *serve_json_finish(struct cJSON *o, bool ok, dd_error *err);

#endif
