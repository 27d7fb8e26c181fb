/* Fuzz target: request bodies of `doodle serve`'s POST /api/predict and /api/explain, through the code the
 * server's workers run (src/serve/server.c, work()): serve_predict and serve_json_predict, or serve_explain_json,
 * on an engine opened on a small model (fuzz_tiny_model), with one context reused from request to request as a
 * worker does. The first byte: bit 0 picks /api/explain, the rest (0..127) gives ?top=1 + (byte >> 1) % 100; the
 * rest of the input is the body, cut to SERVE_MAX_BODY as the server does before it queues a request.
 *
 * Checked: the status is 200, 400 or 413 (500 means out of memory, which a fuzz input must not cause), a refusal
 * has a status and a message, an answer is valid JSON with the top classes best first, within the drawing limits
 * (strokes, points), and the context keeps answering: every 64th request also sends a fixed good drawing. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/serve/engine.h"
#include "fuzz.h"

/* src/serve/api_json.h and api_explain.h include "serve/engine.h", which needs src/ on the include path; the fuzz
 * build has it (and checks these prototypes against the headers), the corpus replay of other builds does not. */
#ifdef DOODLE_FUZZ_SRC_HEADERS
#include "serve/api_explain.h"
#include "serve/api_json.h"
#else
char *serve_json_predict(const dd_model *m, const serve_ctx *c, const serve_guess *top, int n, dd_error *err);
char *serve_explain_json(serve_engine *e, serve_ctx *c, const char *body, size_t len, int *status, dd_error *err);
#endif

static serve_engine *engine;
static serve_ctx *ctx;

static void check_answer(const char *text, int k, int classes, int explain) {
    cJSON *o = cJSON_Parse(text);
    FUZZ_CHECK(cJSON_IsObject(o), "not a JSON object: %.200s", text);
    const cJSON *top = cJSON_GetObjectItemCaseSensitive(o, "top");
    if (explain) k = 5; /* /api/explain always answers its top 5 */
    int want = k < classes ? k : classes;
    FUZZ_CHECK(cJSON_IsArray(top) && cJSON_GetArraySize(top) == want, "%d answers for top %d", cJSON_GetArraySize(top),
               k);
    double last = 2;
    const cJSON *t;
    cJSON_ArrayForEach(t, top) {
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(t, "p");
        FUZZ_CHECK(cJSON_IsNumber(p) && p->valuedouble >= 0 && p->valuedouble <= last + 1e-6, "p not best first");
        last = p->valuedouble;
    }
    if (explain)
        FUZZ_CHECK(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(o, "saliency_png")) &&
                       cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(o, "activations")),
                   "explain answer without its pictures");
    cJSON_Delete(o);
}

static void request(int explain, int k, const char *body, size_t len) {
    const dd_model *m = serve_engine_model(engine);
    dd_error err = {0};
    int status;
    char *text = NULL;
    if (explain) {
        text = serve_explain_json(engine, ctx, body, len, &status, &err);
        FUZZ_CHECK((status == 200) == (text != NULL), "status %d with%s a text", status, text ? "" : "out");
    } else {
        serve_guess top[SERVE_MAX_TOP];
        int n = -1;
        status = serve_predict(engine, ctx, body, len, k, top, &n, &err);
        if (status == 200) {
            FUZZ_CHECK(n == (k < m->spec->classes ? k : m->spec->classes), "%d answers for top %d", n, k);
            text = serve_json_predict(m, ctx, top, n, &err);
            FUZZ_CHECK(text, "serve_json_predict: %s", err.msg);
        } else {
            FUZZ_CHECK(n == 0, "a refusal with %d answers", n);
        }
    }
    FUZZ_CHECK(status == 200 || status == 400 || status == 413, "status %d: %s", status, err.msg);
    if (status != 200) {
        fuzz_check_error(explain ? "serve_explain_json" : "serve_predict", err.code, err.msg, "");
        return;
    }
    uint32_t strokes, points;
    serve_ctx_counts(ctx, &strokes, &points);
    FUZZ_CHECK(strokes <= SERVE_MAX_STROKES && points <= SERVE_MAX_POINTS, "%u strokes, %u points answered", strokes,
               points);
    check_answer(text, k, m->spec->classes, explain);
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!engine) {
        dd_error err;
        engine = serve_engine_open(fuzz_tiny_model(), &err);
        FUZZ_CHECK(engine, "serve_engine_open: %s", err.msg);
        ctx = serve_ctx_take(engine, &err);
        FUZZ_CHECK(ctx, "serve_ctx_take: %s", err.msg);
    }
    static unsigned calls;
    if (size < 1) return 0;
    int explain = data[0] & 1, k = 1 + (data[0] >> 1) % SERVE_MAX_TOP;
    size_t len = size - 1 > SERVE_MAX_BODY ? SERVE_MAX_BODY : size - 1;
    /* an exact-size copy: the server's body buffer is not NUL-terminated either */
    char *body = malloc(len ? len : 1);
    FUZZ_CHECK(body, "out of memory");
    if (len) memcpy(body, data + 1, len);
    request(explain, k, body, len);
    free(body);
    if (++calls % 64 == 0) { /* the reused context still answers a good drawing */
        static const char good[] = "{\"drawing\":[[[0,40,80,120],[0,90,10,100]],[[5,5],[0,120]]]}";
        request(explain, 3, good, sizeof good - 1);
    }
    return 0;
}
