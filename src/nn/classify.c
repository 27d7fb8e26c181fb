/* The embedding API (include/doodle/classify.h): one model (owned, or shared read-only by dd_classifier_share),
 * one workspace for a batch of one, one renderer. */
#include "doodle/classify.h"

#include <cairo.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doodle/model.h"
#include "doodle/model_spec.h"
#include "doodle/render.h"
#include "doodle/simplify.h"
#include "nn/jpeg_read.h"
#include "nn/picture_input.h"
#include "doodle/alloc.h"

struct dd_classifier {
    dd_model *model;
    bool owns_model; /* false for a share (dd_classifier_share): the model is another classifier's */
    dd_workspace *ws;
    dd_renderer *renderer;
    dd_drawing simplified; /* buffer for raw drawings */
    uint8_t *image;        /* [h * w] the rendered drawing */
    float *input;          /* [h * w] image / 255 */
    int *top_index;        /* [classes] */
    float *top_p;          /* [classes] */
    const float *logits;   /* [classes] of the last answer, in the workspace */
};

/* A classifier's own workspace, renderer and buffers for model m. */
static dd_classifier *classifier_new(dd_model *m, bool owns_model, dd_error *err) {
    dd_classifier *c = dd_calloc(1, sizeof *c, err);
    if (!c) {
        if (owns_model) dd_model_free(m);
        return NULL;
    }
    c->model = m;
    c->owns_model = owns_model;
    dd_drawing_init(&c->simplified);
    size_t pixels = (size_t)m->render.height * m->render.width, classes = (size_t)m->spec->classes;
    if (!(c->ws = dd_workspace_new(m, 1, false, err)) || !(c->renderer = dd_renderer_new(&m->render, err)) ||
        !(c->image = dd_malloc(pixels, 1, err)) || !(c->input = dd_malloc(pixels, sizeof *c->input, err)) ||
        !(c->top_index = dd_malloc(classes, sizeof *c->top_index, err)) ||
        !(c->top_p = dd_malloc(classes, sizeof *c->top_p, err))) {
        dd_classifier_close(c);
        return NULL;
    }
    return c;
}

dd_classifier *dd_classifier_open(const char *model_path, dd_error *err) {
    dd_model *m = dd_model_load(model_path, err);
    if (!m) return NULL;
    if (m->spec->input.c != 1) {
        dd_fail(err, DD_ERR_UNSUPPORTED, "%s: the model takes %d input channels; drawings have 1", model_path,
                m->spec->input.c);
        dd_model_free(m);
        return NULL;
    }
    return classifier_new(m, true, err);
}

dd_classifier *dd_classifier_share(const dd_classifier *c, dd_error *err) {
    return classifier_new(c->model, false, err); /* inference only reads the model */
}

void dd_classifier_close(dd_classifier *c) {
    if (!c) return;
    dd_workspace_free(c->ws);
    dd_renderer_free(c->renderer);
    if (c->owns_model) dd_model_free(c->model);
    dd_drawing_free(&c->simplified);
    free(c->image);
    free(c->input);
    free(c->top_index);
    free(c->top_p);
    free(c);
}

const dd_model *dd_classifier_model(const dd_classifier *c) { return c->model; }

int dd_classifier_set_threads(dd_classifier *c, int threads, dd_error *err) {
    return dd_workspace_set_threads(c->ws, threads, err);
}

int dd_classifier_class_count(const dd_classifier *c) { return c->model->spec->classes; }

const char *dd_classifier_class_name(const dd_classifier *c, int i) {
    return i >= 0 && i < c->model->spec->classes ? c->model->class_names[i] : NULL;
}

void dd_classifier_input_size(const dd_classifier *c, uint32_t *height, uint32_t *width) {
    *height = c->model->render.height;
    *width = c->model->render.width;
}

const uint8_t *dd_classifier_input_image(const dd_classifier *c) { return c->image; }

const float *dd_classifier_logits(const dd_classifier *c) { return c->logits; }

int dd_top_k(const float *logits, int classes, int k, int *index, float *probability) {
    float max = logits[0];
    for (int i = 1; i < classes; i++)
        if (logits[i] > max) max = logits[i];
    double sum = 0.0; /* softmax in double with the maximum subtracted */
    for (int i = 0; i < classes; i++) sum += exp((double)logits[i] - max);
    if (k > classes) k = classes;
    /* k passes of selection (k is small); exp is increasing, so the largest logits are the most probable classes,
     * and strict > leaves ties to the lower index, as argmax does */
    for (int j = 0; j < k; j++) {
        int best = -1;
        for (int i = 0; i < classes; i++) {
            int taken = 0;
            for (int t = 0; t < j && !taken; t++) taken = index[t] == i;
            if (!taken && (best < 0 || logits[i] > logits[best])) best = i;
        }
        index[j] = best;
        probability[j] = (float)(exp((double)logits[best] - max) / sum);
    }
    return k;
}

/* Runs the model on c->input and writes the top k. */
static int run(dd_classifier *c, dd_prediction *top, int k, dd_error *err) {
    const float *logits = dd_model_infer(c->model, c->ws, c->input, 1);
    if (!logits) return dd_fail(err, DD_ERR_USAGE, "inference failed");
    /* finite weights can still overflow float (a file may hold 1e38): no answer rather than NaN probabilities */
    for (int i = 0; i < c->model->spec->classes; i++)
        if (!isfinite(logits[i]))
            return dd_fail(err, DD_ERR_RANGE,
                           "the model's output for class %d is %s: its weights are too large (a broken model file)", i,
                           isnan(logits[i]) ? "NaN" : "infinite");
    c->logits = logits;
    k = dd_top_k(logits, c->model->spec->classes, k, c->top_index, c->top_p);
    for (int j = 0; j < k; j++)
        top[j] = (dd_prediction){
            .index = c->top_index[j], .name = c->model->class_names[c->top_index[j]], .probability = c->top_p[j]};
    return k;
}

int dd_classify_bitmap(dd_classifier *c, const uint8_t *pixels, uint32_t height, uint32_t width, dd_prediction *top,
                       int k, dd_error *err) {
    const dd_render_opts *in = &c->model->render; /* the model's input size */
    if (k < 1) return dd_fail(err, DD_ERR_USAGE, "k = %d: ask for at least 1 class", k);
    if (height != in->height || width != in->width)
        return dd_fail(err, DD_ERR_USAGE, "a %ux%u image for a model that takes %ux%u", height, width, in->height,
                       in->width);
    size_t n = (size_t)height * width;
    if (pixels != c->image) memcpy(c->image, pixels, n); /* kept for dd_classifier_input_image */
    for (size_t i = 0; i < n; i++) c->input[i] = (float)pixels[i] / 255.0f;
    return run(c, top, k, err);
}

int dd_classifier_render(dd_classifier *c, const dd_drawing *d, dd_error *err) {
    if (dd_drawing_validate(d, err)) return -1;
    const dd_drawing *use = dd_simplified_view(d, &c->simplified, err);
    return !use || dd_render(c->renderer, use, c->image, err) ? -1 : 0;
}

int dd_classify_strokes(dd_classifier *c, const dd_drawing *d, dd_prediction *top, int k, dd_error *err) {
    if (k < 1) return dd_fail(err, DD_ERR_USAGE, "k = %d: ask for at least 1 class", k);
    if (dd_classifier_render(c, d, err)) return -1;
    return dd_classify_bitmap(c, c->image, c->model->render.height, c->model->render.width, top, k, err);
}

/* ---- PNG pictures (the rule is in classify.h) ---- */

/* A picture of exactly the input size (a Quick, Draw! bitmap saved as PNG, what --save-input wrote): its ink
 * pixel for pixel. */
static void copy_ink(dd_classifier *c, cairo_surface_t *ink) {
    int h = (int)c->model->render.height, w = (int)c->model->render.width;
    const unsigned char *p = cairo_image_surface_get_data(ink);
    int stride = cairo_image_surface_get_stride(ink);
    for (int y = 0; y < h; y++) memcpy(c->image + (size_t)y * w, p + (size_t)y * stride, (size_t)w);
}

/* The most pixels a picture may have: 8192 x 8192 (a phone photo has 12 M); cairo's own limit is 32767 a side. */
#define PNG_MAX_PIXELS ((uint64_t)1 << 26)
/* Bytes per pixel while a picture is read: cairo's decoded ARGB, a converted copy when cairo decodes to another
 * format, and the grey ink (the ink's crop is then resampled to a fixed size, src/nn/picture_input.c). */
#define PNG_BYTES_PER_PIXEL 9
/* The largest file read: a worst-case (uncompressed) 8192 x 8192 RGBA picture is 270 MB. */
#define PNG_MAX_FILE ((uint64_t)300 << 20)

static uint32_t be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* A PNG file in memory, handed to cairo by png_read. */
typedef struct png_bytes {
    uint8_t *data;
    size_t size, at;
} png_bytes;

static cairo_status_t png_read(void *closure, unsigned char *out, unsigned int len) {
    png_bytes *b = closure;
    if (len > b->size - b->at) return CAIRO_STATUS_READ_ERROR;
    memcpy(out, b->data + b->at, len);
    b->at += len;
    return CAIRO_STATUS_SUCCESS;
}

/* Whether a picture of w x h may be read (PNG and JPEG alike). */
static int check_size(const char *path, uint32_t w, uint32_t h, dd_error *err) {
    if (w == 0 || h == 0) return dd_fail(err, DD_ERR_MALFORMED, "%s: a %ux%u picture", path, w, h);
    uint64_t pixels = (uint64_t)w * h, bytes = pixels * PNG_BYTES_PER_PIXEL;
    if (w > 32767 || h > 32767 || pixels > PNG_MAX_PIXELS || bytes > dd_memory_limit())
        return dd_fail(err, DD_ERR_RANGE,
                       "%s: a %ux%u picture is too large: it needs %.1f MB to read (at most %llu pixels, 32767 a side, "
                       "and within the memory limit of %.1f MB; DOODLE_MAX_MEMORY_MB raises the limit)",
                       path, w, h, (double)bytes / 1e6, (unsigned long long)PNG_MAX_PIXELS,
                       (double)dd_memory_limit() / 1e6);
    return 0;
}

/* The whole file, at most PNG_MAX_FILE bytes. */
static int read_picture_file(const char *path, png_bytes *b, dd_error *err) {
    memset(b, 0, sizeof *b);
    FILE *f = fopen(path, "rb");
    if (!f) return dd_fail(err, DD_ERR_IO, "%s: %s", path, strerror(errno));
    long size = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    if (size < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return dd_fail(err, DD_ERR_IO, "%s: cannot read: %s", path, strerror(errno));
    }
    if ((uint64_t)size > PNG_MAX_FILE || (uint64_t)size > dd_memory_limit()) {
        fclose(f);
        return dd_fail(err, DD_ERR_RANGE, "%s: a picture file of %.1f MB is too large (at most %.1f MB)", path,
                       (double)size / 1e6, (double)PNG_MAX_FILE / 1e6);
    }
    if (!(b->data = dd_malloc((size_t)size ? (size_t)size : 1, 1, err))) {
        fclose(f);
        return -1;
    }
    size_t n = fread(b->data, 1, (size_t)size, f);
    fclose(f);
    if (n != (size_t)size) return dd_fail(err, DD_ERR_IO, "%s: cannot read", path);
    b->size = n;
    return 0;
}

/* Checks the PNG in b (read_picture_file) before cairo (libpng) sees it, which it cannot do itself: the
 * signature; an IHDR whose size is in bounds (a few hundred bytes can declare a picture of gigabytes, which cairo
 * allocates before it reads a row); every chunk inside the file (libpng allocates a chunk's declared length before
 * reading it: an 83-byte file asked for 1.7 GB); an IEND. Only the chunks cairo uses are kept (IHDR, PLTE, tRNS, IDAT,
 * IEND), so compressed text and profiles (zTXt, iTXt, iCCP: decompression bombs) never reach libpng. */
static int check_png(const char *path, png_bytes *b, dd_error *err) {
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    size_t n = b->size;
    if (n < sizeof sig || memcmp(b->data, sig, sizeof sig))
        return dd_fail(err, DD_ERR_MALFORMED, "%s: not a PNG file (nor a JPEG)", path);
    if (n < 33 || be32(b->data + 8) != 13 || memcmp(b->data + 12, "IHDR", 4))
        return dd_fail(err, DD_ERR_MALFORMED, "%s: not a PNG file: no IHDR header", path);
    if (check_size(path, be32(b->data + 16), be32(b->data + 20), err)) return -1;
    /* the chunks, compacted in place to those kept */
    size_t at = sizeof sig, out = sizeof sig;
    int chunk = 0, end = 0;
    while (!end) {
        chunk++;
        if (n - at < 12 || be32(b->data + at) > n - at - 12)
            return dd_fail(err, DD_ERR_MALFORMED, "%s: chunk %d%s runs past the end of the file (truncated?)", path,
                           chunk, n - at < 12 ? "" : "'s data");
        size_t len = 12 + (size_t)be32(b->data + at);
        const uint8_t *type = b->data + at + 4;
        end = !memcmp(type, "IEND", 4);
        if (end || !memcmp(type, "IHDR", 4) || !memcmp(type, "PLTE", 4) || !memcmp(type, "tRNS", 4) ||
            !memcmp(type, "IDAT", 4)) {
            memmove(b->data + out, b->data + at, len);
            out += len;
        }
        at += len;
    }
    b->size = out;
    return 0;
}

int dd_classify_png(dd_classifier *c, const char *png_path, dd_prediction *top, int k, dd_error *err) {
    if (k < 1) return dd_fail(err, DD_ERR_USAGE, "k = %d: ask for at least 1 class", k);
    png_bytes bytes;
    if (read_picture_file(png_path, &bytes, err)) {
        free(bytes.data);
        return -1;
    }
    cairo_surface_t *png = NULL;
    if (nn_is_jpeg(bytes.data, bytes.size)) {
        png = nn_jpeg_decode(bytes.data, bytes.size, png_path, check_size, err);
        free(bytes.data);
        if (!png) return -1;
    } else {
        if (check_png(png_path, &bytes, err)) {
            free(bytes.data);
            return -1;
        }
        png = cairo_image_surface_create_from_png_stream(png_read, &bytes);
        free(bytes.data);
        cairo_status_t st = cairo_surface_status(png);
        if (st != CAIRO_STATUS_SUCCESS) {
            cairo_surface_destroy(png);
            return dd_fail(err, DD_ERR_MALFORMED, "%s: cannot read the PNG (cairo: %s)", png_path,
                           cairo_status_to_string(st));
        }
    }
    int rc = -1;
    cairo_surface_t *ink = nn_picture_ink(png, png_path, err);
    const dd_render_opts *o = &c->model->render;
    int same_size =
        cairo_image_surface_get_width(png) == (int)o->width && cairo_image_surface_get_height(png) == (int)o->height;
    if (ink && same_size) copy_ink(c, ink);
    if (ink && (same_size || nn_picture_redraw(ink, o, c->image, png_path, err) == 0))
        rc = dd_classify_bitmap(c, c->image, o->height, o->width, top, k, err);
    cairo_surface_destroy(ink);
    cairo_surface_destroy(png);
    return rc;
}
