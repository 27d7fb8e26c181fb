/* The model's own space for clustering: the activations of one layer (by default the input of the last dense
 * layer, where the classes are meant to be separable), and purity, the measure of how well clusters follow the
 * (true, predicted) pairs of the mistakes. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "doodle/cluster.h"
#include "doodle/alloc.h"
#include "doodle/cpus.h"

#define EMBED_BATCH 64

int dd_cluster_default_layer(const dd_model *m) {
    const dd_model_spec *s = m->spec;
    int last = -1;
    for (int i = 0; i < s->n_layers; i++)
        if (s->layers[i].kind == DD_LAYER_DENSE) last = i;
    int l = last - 1;
    while (l >= 0 && s->layers[l].kind == DD_LAYER_DROPOUT) l--; /* the same values at inference */
    return l;
}

int dd_cluster_embeddings(const dd_model *m, const dd_image_set *s, int layer, float *out, dd_error *err) {
    const dd_model_spec *spec = m->spec;
    if (layer < 0 || layer >= spec->n_layers)
        return dd_fail(err, DD_ERR_USAGE, "layer %d is out of range (0 to %d)", layer, spec->n_layers - 1);
    if (s->n == 0) return 0;
    dd_shape sh = spec->layers[layer].out;
    const size_t units = (size_t)sh.c, plane = sh.rank == 3 ? (size_t)sh.h * sh.w : 1;
    const size_t pixels = (size_t)s->height * s->width;
    int batch = s->n < EMBED_BATCH ? (int)s->n : EMBED_BATCH;
    /* An inference workspace keeps only the outputs its fused steps write (not a conv's whose BatchNorm it folds in,
     * nor those before a max-pool it fuses): a training one keeps all. */
    dd_workspace *ws = dd_workspace_new(m, batch, false, err);
    if (ws && !dd_workspace_layer_output(ws, layer)) dd_workspace_free(ws), ws = dd_workspace_new(m, batch, true, err);
    float *x = ws ? dd_malloc((size_t)batch * pixels, sizeof *x, err) : NULL;
    int rc = -1;
    if (!x || dd_workspace_set_threads(ws, dd_cpu_count(8), err)) goto done;
    for (size_t i = 0; i < s->n; i += (size_t)batch) {
        int b = s->n - i < (size_t)batch ? (int)(s->n - i) : batch;
        for (int k = 0; k < b; k++) dd_image_set_input(s, i + (size_t)k, x + (size_t)k * pixels);
        if (!dd_model_infer(m, ws, x, b)) {
            dd_fail(err, DD_ERR_USAGE, "inference failed (batch %d)", b);
            goto done;
        }
        const float *o = dd_workspace_layer_output(ws, layer);
        if (!o) {
            dd_fail(err, DD_ERR_USAGE, "layer %d (%s) keeps no output", layer, spec->layers[layer].name);
            goto done;
        }
        for (int k = 0; k < b; k++)
            for (size_t u = 0; u < units; u++) {
                const float *v = o + ((size_t)k * units + u) * plane;
                double sum = 0;
                for (size_t q = 0; q < plane; q++) sum += v[q];
                out[(i + (size_t)k) * units + u] = (float)(sum / (double)plane);
            }
    }
    rc = 0;
done:
    free(x);
    dd_workspace_free(ws);
    return rc;
}

static int cmp_code(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Sum over clusters of the count of their most frequent code; scratch [n]. */
static size_t majority_total(const int32_t *labels, const int64_t *codes, size_t n, int k, int64_t *scratch) {
    size_t total = 0;
    for (int c = 0; c < k; c++) {
        size_t m = 0;
        for (size_t i = 0; i < n; i++)
            if (labels[i] == c) scratch[m++] = codes[i];
        qsort(scratch, m, sizeof *scratch, cmp_code);
        size_t best = 0, run = 0;
        for (size_t i = 0; i < m; i++) {
            run = i > 0 && scratch[i] == scratch[i - 1] ? run + 1 : 1;
            if (run > best) best = run;
        }
        total += best;
    }
    return total;
}

double dd_cluster_purity(const int32_t *labels, const int64_t *codes, size_t n, int k, int rounds, uint64_t seed,
                         double *random, dd_error *err) {
    if (random) *random = NAN;
    size_t labelled = 0;
    for (size_t i = 0; i < n; i++) labelled += labels[i] >= 0;
    if (labelled == 0 || k < 1) return NAN;
    int64_t *scratch = dd_malloc(n, sizeof *scratch, err);
    int32_t *shuffled = dd_malloc(n, sizeof *shuffled, err);
    double purity = NAN;
    if (scratch && shuffled) {
        purity = (double)majority_total(labels, codes, n, k, scratch) / (double)labelled;
        if (random && rounds > 0) {
            dd_rng rng;
            dd_rng_seed(&rng, seed ^ 0x9e3779b97f4a7c15ULL);
            memcpy(shuffled, labels, n * sizeof *shuffled);
            double sum = 0;
            for (int r = 0; r < rounds; r++) {
                for (size_t i = n - 1; i > 0; i--) { /* Fisher-Yates: the same sizes, members drawn at random */
                    size_t j = (size_t)dd_rng_below(&rng, i + 1);
                    int32_t t = shuffled[i];
                    shuffled[i] = shuffled[j];
                    shuffled[j] = t;
                }
                sum += (double)majority_total(shuffled, codes, n, k, scratch) / (double)labelled;
            }
            *random = sum / rounds;
        }
    }
    free(scratch);
    free(shuffled);
    return purity;
}
