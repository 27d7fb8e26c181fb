#include "serve/engine.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "doodle/classify.h"
#include "doodle/explain.h"
#include "doodle/loader.h"
#include "doodle/quickdraw.h"
#include "doodle/alloc.h"

struct serve_ctx {
    serve_ctx *next;           /* in the engine's free list */
    dd_classifier *classifier; /* a share of the engine's model: its own workspace, renderer and image */
    dd_drawing drawing;        /* the request's drawing as parsed */
    float *input;              /* [h * w] the image / 255, for /api/explain */
    dd_explainer *explainer;   /* made on the first /api/explain this context serves */
};

struct serve_engine {
    dd_classifier *classifier; /* owns the model, which every context shares read-only */
    pthread_mutex_t lock;
    serve_ctx *free_list;
};

serve_engine *serve_engine_open(const char *model_path, dd_error *err) {
    serve_engine *e = dd_calloc(1, sizeof *e, err);
    if (!e) return NULL;
    if (!(e->classifier = dd_classifier_open(model_path, err))) {
        free(e);
        return NULL;
    }
    pthread_mutex_init(&e->lock, NULL);
    return e;
}

static void ctx_free(serve_ctx *c) {
    if (!c) return;
    dd_classifier_close(c->classifier);
    dd_explainer_free(c->explainer);
    dd_drawing_free(&c->drawing);
    free(c->input);
    free(c);
}

void serve_engine_close(serve_engine *e) {
    if (!e) return;
    while (e->free_list) {
        serve_ctx *c = e->free_list;
        e->free_list = c->next;
        ctx_free(c);
    }
    pthread_mutex_destroy(&e->lock);
    dd_classifier_close(e->classifier);
    free(e);
}

const dd_model *serve_engine_model(const serve_engine *e) { return dd_classifier_model(e->classifier); }

serve_ctx *serve_ctx_take(serve_engine *e, dd_error *err) {
    pthread_mutex_lock(&e->lock);
    serve_ctx *c = e->free_list;
    if (c) e->free_list = c->next;
    pthread_mutex_unlock(&e->lock);
    if (c) return c;
    if (!(c = dd_calloc(1, sizeof *c, err))) return NULL;
    dd_drawing_init(&c->drawing);
    const dd_model *m = serve_engine_model(e);
    size_t pixels = (size_t)m->render.height * m->render.width;
    if (!(c->classifier = dd_classifier_share(e->classifier, err)) ||
        !(c->input = dd_malloc(pixels, sizeof *c->input, err))) {
        ctx_free(c);
        return NULL;
    }
    return c;
}

void serve_ctx_give(serve_engine *e, serve_ctx *c) {
    if (!c) return;
    pthread_mutex_lock(&e->lock);
    c->next = e->free_list;
    e->free_list = c;
    pthread_mutex_unlock(&e->lock);
}

dd_explainer *serve_ctx_explainer(serve_engine *e, serve_ctx *c, dd_error *err) {
    if (!c->explainer) c->explainer = dd_explainer_new(serve_engine_model(e), err);
    return c->explainer;
}

const uint8_t *serve_ctx_image(const serve_ctx *c) { return dd_classifier_input_image(c->classifier); }
const float *serve_ctx_input(const serve_ctx *c) { return c->input; }
void serve_ctx_counts(const serve_ctx *c, uint32_t *strokes, uint32_t *points) {
    *strokes = c->drawing.n_strokes;
    *points = c->drawing.n_points;
}

int serve_top_k(const float *logits, int n, int k, serve_guess *top) {
    int index[SERVE_MAX_TOP];
    float p[SERVE_MAX_TOP];
    if (k > SERVE_MAX_TOP) k = SERVE_MAX_TOP;
    k = dd_top_k(logits, n, k, index, p);
    for (int j = 0; j < k; j++) top[j] = (serve_guess){index[j], p[j]};
    return k;
}

/* The strokes' length in Google's 0..255 box (the drawing scaled so that its longer side spans 255). */
static double ink_length(const dd_drawing *d) {
    dd_bounds b = dd_drawing_bounds(d);
    double extent = fmax(b.max_x - b.min_x, b.max_y - b.min_y);
    if (extent <= 0) return 0;
    double sum = 0;
    for (uint32_t s = 0; s < d->n_strokes; s++)
        for (uint32_t i = dd_stroke_begin(d, s) + 1; i < d->stroke_end[s]; i++)
            sum += hypot(d->x[i] - d->x[i - 1], d->y[i] - d->y[i - 1]);
    return sum * 255.0 / extent;
}

int serve_predict(serve_engine *e, serve_ctx *c, const char *body, size_t len, int k, serve_guess *top, int *n_top,
                  dd_error *err) {
    *n_top = 0;
    dd_drawing_clear(&c->drawing);
    if (dd_ndjson_parse(body, len, &c->drawing, err)) return err->code == DD_ERR_NOMEM ? 500 : 400;
    const dd_drawing *d = &c->drawing;
    if (d->n_strokes > SERVE_MAX_STROKES) {
        dd_fail(err, DD_ERR_RANGE, "drawing: %u strokes; at most %u are taken", d->n_strokes, SERVE_MAX_STROKES);
        return 413;
    }
    if (d->n_points > SERVE_MAX_POINTS) {
        dd_fail(err, DD_ERR_RANGE, "drawing: %u points; at most %u are taken", d->n_points, SERVE_MAX_POINTS);
        return 413;
    }
    double ink = ink_length(d);
    if (ink > SERVE_MAX_INK) {
        dd_fail(err, DD_ERR_RANGE, "drawing: %.0f units of ink in the 0..255 box; at most %.0f are taken", ink,
                SERVE_MAX_INK);
        return 413;
    }
    /* the classifier's path, in two halves: a drawing it cannot take is the client's fault, a failing model ours */
    if (dd_classifier_render(c->classifier, d, err)) {
        dd_error_prefix(err, "drawing");
        return err->code == DD_ERR_NOMEM ? 500 : err->code == DD_ERR_RANGE ? 413 : 400;
    }
    const dd_model *m = serve_engine_model(e);
    const uint8_t *image = dd_classifier_input_image(c->classifier);
    dd_prediction best[SERVE_MAX_TOP];
    int n = dd_classify_bitmap(c->classifier, image, m->render.height, m->render.width, best,
                               k < SERVE_MAX_TOP ? k : SERVE_MAX_TOP, err);
    if (n < 0) return 500; /* out of memory, or outputs that are not finite: the model is broken, not the drawing */
    dd_image_to_input(image, (size_t)m->render.height * m->render.width, c->input);
    for (int j = 0; j < n; j++) top[j] = (serve_guess){best[j].index, best[j].probability};
    *n_top = n;
    return 200;
}
