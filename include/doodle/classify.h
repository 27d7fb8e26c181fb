/* The embedding API: load a trained model, classify drawings, free.
 *
 *   dd_error err;
 *   dd_classifier *c = dd_classifier_open("run/model.safetensors", &err);
 *   dd_prediction top[3];
 *   int n = dd_classify_strokes(c, &drawing, top, 3, &err);   // top[0 .. n) best first
 *   printf("%s %.3f\n", top[0].name, top[0].probability);
 *   dd_classifier_close(c);
 *
 * A drawing is seen exactly as training saw it: raw strokes are simplified with Google's recipe first (the
 * dd_simplified_view rule: drawings already simplified are used as they are), then rendered with dd_render at
 * the model's input size and rendering settings; pixels (0 = background, 255 = ink) are scaled to 0..1.
 *
 * Threads: a classifier holds the model, one workspace, one renderer and scratch buffers, and each call uses
 * them, so ONE classifier must not be used by two threads at once. Classifiers opened from files share nothing
 * with each other; dd_classifier_share makes one per thread on a single copy of the model (doodle serve does). Names
 * returned (dd_prediction.name, dd_classifier_class_name) live as long as the classifier. */
#ifndef DOODLE_CLASSIFY_H
#define DOODLE_CLASSIFY_H

#include <stdint.h>

#include "doodle/drawing.h"
#include "doodle/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dd_classifier dd_classifier;

typedef struct dd_prediction {
    int index;         /* the model's class index */
    const char *name;  /* its name, owned by the classifier */
    float probability; /* softmax probability, 0..1 */
} dd_prediction;

/* Loads a model written by `doodle train` (a .safetensors file). The model must take one input channel. */
dd_classifier *dd_classifier_open(const char *model_path, dd_error *err);
/* Another classifier on c's model, which it reads but does not copy: its own workspace, renderer and buffers, so
 * that each thread classifies with its own share of one model. Close every share before c. */
dd_classifier *dd_classifier_share(const dd_classifier *c, dd_error *err);
void dd_classifier_close(dd_classifier *c);
/* The model (read-only): its spec, class names and render settings. */
struct dd_model;
const struct dd_model *dd_classifier_model(const dd_classifier *c);

/* Splits each classification across `threads` threads owned by the classifier (default 1): lower latency for
 * one drawing at a time. To classify many drawings in parallel, open one classifier per thread instead. */
int dd_classifier_set_threads(dd_classifier *c, int threads, dd_error *err);

int dd_classifier_class_count(const dd_classifier *c);
/* NULL when i is out of range. */
const char *dd_classifier_class_name(const dd_classifier *c, int i);
/* The model's input size: what dd_classify_bitmap wants. */
void dd_classifier_input_size(const dd_classifier *c, uint32_t *height, uint32_t *width);

/* Classifies one drawing (raw or simplified strokes) and writes the k most probable classes, best first, to
 * top[0 .. min(k, classes)). Returns how many were written, or -1 (err set) for k < 1, a drawing that cannot be
 * simplified or rendered, or out of memory. */
int dd_classify_strokes(dd_classifier *c, const dd_drawing *d, dd_prediction *top, int k, dd_error *err);

/* dd_classify_strokes' first half, for callers that tell a bad drawing from a failing model (doodle serve answers
 * 4xx for one, 5xx for the other): checks, simplifies and renders d into the input image
 * (dd_classifier_input_image). dd_classify_bitmap(c, dd_classifier_input_image(c), height, width, ...) is the
 * second half. */
int dd_classifier_render(dd_classifier *c, const dd_drawing *d, dd_error *err);

/* The same for an 8-bit image, row-major, 0 = background, 255 = ink (like Quick, Draw!'s bitmaps; invert dark
 * ink on white first). height x width must be the model's input size. */
int dd_classify_bitmap(dd_classifier *c, const uint8_t *pixels, uint32_t height, uint32_t width, dd_prediction *top,
                       int k, dd_error *err);

/* The same for a PNG or JPEG picture of a drawing (told apart by their first bytes), any size, grey or colour, dark on
 * light or light on dark, with or without transparency, any pen. The picture is redrawn as training drawings are
 * rendered from strokes, so that the pen's width and the picture's margins do not matter (src/nn/picture_input.c says
 * how and why):
 *   1. transparent parts are laid on paper that contrasts with the drawing (white under dark ink, black under light
 *      ink); the picture is turned to grey (0.299 R + 0.587 G + 0.114 B); the paper's grey is the median (paper
 *      is most of a picture) and ink is how far a pixel is from it, so either way round gives the same ink;
 *   2. the picture is cropped to its ink (Otsu's threshold; ink fainter than 24 of 255 is paper);
 *   3. the ink is thinned to its centre lines, which are scaled so that their longer side spans the model's
 *      drawing box (as Google scales strokes to 0..255), centred, and drawn with the model's line width and
 *      padding exactly as dd_render draws strokes.
 * A picture of exactly the model's input size is taken as already rendered (a Quick, Draw! bitmap, or what
 * dd_classifier_input_image gave): step 1 only, pixel for pixel. A picture with no ink is refused (DD_ERR_EMPTY).
 * Stray specks far from the drawing widen the crop: erase them first. */
int dd_classify_png(dd_classifier *c, const char *png_path, dd_prediction *top, int k, dd_error *err);

/* The image (input height x width, 0 = background, 255 = ink) the model saw in the last successful
 * dd_classify_* call: what `doodle predict --save-input` writes. Valid until the next call or close. */
const uint8_t *dd_classifier_input_image(const dd_classifier *c);
/* The model's outputs before softmax ([class count]) in the last successful dd_classify_* call (NULL before any):
 * what `doodle predict --json --logits` prints. Valid until the next call or close. */
const float *dd_classifier_logits(const dd_classifier *c);

/* The rule every answer above follows, for callers that run the model themselves (doodle serve): the k most
 * probable classes of logits [classes], best first (softmax in double with the maximum subtracted; ties to the
 * lower index). Writes index[0 .. n) and probability[0 .. n); returns n = min(k, classes). */
int dd_top_k(const float *logits, int classes, int k, int *index, float *probability);

#ifdef __cplusplus
}
#endif
#endif
