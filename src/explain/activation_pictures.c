/* Pictures of what layers see (include/doodle/explain.h): the feature maps of one drawing after chosen layers, and
 * per unit of a layer the drawings that excite it most. */
#include <float.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doodle/cluster.h"
#include "doodle/explain.h"
#include "explain/explain_util.h"
#include "doodle/alloc.h"

#define MAP_COLS 16

/* Channel c of a layer output of shape sh (or, for a flat layer, all its units as a square of cells) resampled
 * (nearest) onto dst [H * W]. */
static void map_to_tile(const float *out, dd_shape sh, int c, int H, int W, float *dst) {
    if (sh.rank == 3) {
        const float *src = out + (size_t)c * sh.h * sh.w;
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) dst[y * W + x] = src[(size_t)(y * sh.h / H) * sh.w + (size_t)(x * sh.w / W)];
        return;
    }
    int side = 1;
    while (side * side < sh.c) side++;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            int cy = y * side / H, cx = x * side / W, u = cy * side + cx;
            dst[y * W + x] = u < sh.c ? out[u] : 0;
        }
}

static int predicted_class(const float *probs, int classes) {
    int best = 0;
    for (int c = 1; c < classes; c++)
        if (probs[c] > probs[best]) best = c;
    return best;
}

dd_picture *dd_explain_activation_picture(dd_explainer *e, const dd_model *m, const dd_image_set *s, size_t i,
                                          const int *layers, int n_layers, dd_error *err) {
    const dd_model_spec *spec = m->spec;
    int H = s->height, W = s->width, rows = 1;
    if (i >= s->n) {
        dd_fail(err, DD_ERR_USAGE, "drawing %zu of %zu", i, s->n);
        return NULL;
    }
    if (n_layers < 1) {
        dd_fail(err, DD_ERR_USAGE, "no layer to show");
        return NULL;
    }
    for (int k = 0; k < n_layers; k++) {
        if (layers[k] < 0 || layers[k] >= spec->n_layers) {
            dd_fail(err, DD_ERR_USAGE, "layer %d is out of range (0 to %d)", layers[k], spec->n_layers - 1);
            return NULL;
        }
        dd_shape sh = spec->layers[layers[k]].out;
        int tiles = sh.rank == 3 ? sh.c : 1;
        rows += (tiles + MAP_COLS - 1) / MAP_COLS;
    }
    size_t pixels = (size_t)H * W;
    float *x = dd_malloc(pixels, sizeof *x, err), *tile = dd_malloc(pixels, sizeof *tile, err);
    uint8_t *rgb = dd_malloc(pixels, 3, err);
    dd_picture *p = NULL;
    int ok = 0;
    if (!x || !tile || !rgb) goto done;
    dd_image_set_input(s, i, x);
    dd_shape sh;
    if (!dd_explain_activations(e, x, 0, &sh, err)) goto done; /* for the probabilities */
    const float *probs = dd_explainer_probs(e);
    int pred = predicted_class(probs, spec->classes);
    char title[256];
    snprintf(title, sizeof title, "Feature maps of record %llu (%s), predicted %s (p %.2f)",
             (unsigned long long)s->record[i], m->class_names[s->label[i]], m->class_names[pred], probs[pred]);
    dd_picture_opts o = {.rows = rows,
                         .cols = MAP_COLS,
                         .tile_height = H,
                         .tile_width = W,
                         .scale = explain_tile_scale(H, W),
                         .label_height = 14,
                         .header_width = 200,
                         .title = title};
    if (!(p = dd_picture_new(&o, err))) goto done;
    dd_tile_ink(s->pixels + i * pixels, H, W, rgb);
    if (dd_picture_row_header(p, 0, "the drawing", err) ||
        dd_picture_put(p, 0, 0, rgb, m->class_names[s->label[i]], err))
        goto done;
    int row = 1;
    for (int k = 0; k < n_layers; k++) {
        const float *out = dd_explain_activations(e, x, layers[k], &sh, err);
        if (!out) goto done;
        size_t count = dd_shape_count(sh);
        float lo = 0, hi = -FLT_MAX;
        for (size_t j = 0; j < count; j++) {
            if (out[j] < lo) lo = out[j];
            if (out[j] > hi) hi = out[j];
        }
        char header[200], shape[64];
        if (sh.rank == 3)
            snprintf(shape, sizeof shape, "%dx%dx%d", sh.h, sh.w, sh.c);
        else
            snprintf(shape, sizeof shape, "%d units", sh.c);
        snprintf(header, sizeof header, "layer %d %s (%s)", layers[k], spec->layers[layers[k]].name, shape);
        if (dd_picture_row_header(p, row, header, err)) goto done;
        int tiles = sh.rank == 3 ? sh.c : 1;
        for (int c = 0; c < tiles; c++) {
            char label[32];
            if (sh.rank == 3)
                snprintf(label, sizeof label, "ch %d", c);
            else
                snprintf(label, sizeof label, "max %.2g", (double)hi);
            map_to_tile(out, sh, c, H, W, tile);
            dd_tile_values(tile, H, W, lo, hi, rgb);
            if (dd_picture_put(p, row + c / MAP_COLS, c % MAP_COLS, rgb, label, err)) goto done;
        }
        row += (tiles + MAP_COLS - 1) / MAP_COLS;
    }
    ok = 1;
done:
    if (!ok) {
        dd_picture_free(p);
        p = NULL;
    }
    free(x);
    free(tile);
    free(rgb);
    return p;
}

dd_picture *dd_explain_top_units_picture(dd_explainer *e, const dd_model *m, const dd_image_set *s, int layer, int top,
                                         int max_units, dd_error *err) {
    const dd_model_spec *spec = m->spec;
    if (layer < 0 || layer >= spec->n_layers) {
        dd_fail(err, DD_ERR_USAGE, "layer %d is out of range (0 to %d)", layer, spec->n_layers - 1);
        return NULL;
    }
    if (s->n == 0) {
        dd_fail(err, DD_ERR_EMPTY, "no drawings to rank");
        return NULL;
    }
    dd_shape sh = spec->layers[layer].out;
    int units = sh.c;
    if (max_units <= 0 || max_units > units) max_units = units;
    int fit = 32000 / (s->height * (explain_tile_scale(s->height, s->width) + 1) + 20) - 1; /* 32767 pixels a side */
    if (max_units > fit) max_units = fit;
    if (top < 1) top = 1;
    if ((size_t)top > s->n) top = (int)s->n;
    int H = s->height, W = s->width;
    size_t pixels = (size_t)H * W;
    float *scores = dd_malloc(s->n, (size_t)units * sizeof *scores, err);
    size_t *best = dd_malloc((size_t)top, sizeof *best, err);
    float *x = dd_malloc(pixels, sizeof *x, err), *tile = dd_malloc(pixels, sizeof *tile, err);
    uint8_t *rgb = dd_malloc(pixels, 3, err);
    dd_picture *p = NULL;
    int ok = 0;
    if (!scores || !best || !x || !tile || !rgb || dd_cluster_embeddings(m, s, layer, scores, err)) goto done;
    char title[256];
    snprintf(title, sizeof title,
             "Drawings that excite each unit of layer %d %s most (%s%d units, of %zu drawings; "
             "label: mean activation)",
             layer, spec->layers[layer].name, max_units < units ? "the first " : "", max_units, s->n);
    dd_picture_opts o = {.rows = max_units,
                         .cols = top,
                         .tile_height = H,
                         .tile_width = W,
                         .scale = explain_tile_scale(H, W) + 1,
                         .label_height = 14,
                         .header_width = 70,
                         .title = title};
    if (!(p = dd_picture_new(&o, err))) goto done;
    for (int u = 0; u < max_units; u++) {
        int n_best = 0; /* insertion into the top list, highest first */
        for (size_t i = 0; i < s->n; i++) {
            float v = scores[i * units + u];
            if (n_best == top && v <= scores[best[top - 1] * units + u]) continue;
            int at = n_best < top ? n_best++ : top - 1;
            while (at > 0 && scores[best[at - 1] * units + u] < v) {
                best[at] = best[at - 1];
                at--;
            }
            best[at] = i;
        }
        char header[32];
        snprintf(header, sizeof header, "unit %d", u);
        if (dd_picture_row_header(p, u, header, err)) goto done;
        for (int k = 0; k < n_best; k++) {
            size_t i = best[k];
            const uint8_t *ink = s->pixels + i * pixels;
            if (sh.rank == 3) { /* where in the drawing the unit fires */
                dd_image_set_input(s, i, x);
                dd_shape got;
                const float *out = dd_explain_activations(e, x, layer, &got, err);
                if (!out) goto done;
                explain_upsample(out + (size_t)u * got.h * got.w, got.h, got.w, tile, H, W); /* smooth heat */
                float hi = 0;
                for (size_t q = 0; q < pixels; q++)
                    if (tile[q] > hi) hi = tile[q];
                for (size_t q = 0; q < pixels; q++) tile[q] = hi > 0 && tile[q] > 0 ? tile[q] / hi : 0;
                dd_tile_heat(ink, H, W, tile, rgb);
            } else {
                dd_tile_ink(ink, H, W, rgb);
            }
            char label[48];
            snprintf(label, sizeof label, "%s %.2g", m->class_names[s->label[i]], (double)scores[i * units + u]);
            if (dd_picture_put(p, u, k, rgb, label, err)) goto done;
        }
    }
    ok = 1;
done:
    if (!ok) {
        dd_picture_free(p);
        p = NULL;
    }
    free(scores);
    free(best);
    free(x);
    free(tile);
    free(rgb);
    return p;
}
