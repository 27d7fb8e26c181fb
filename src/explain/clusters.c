/* `doodle explain clusters` as one call: choose the drawings (misclassified test drawings by default), render them
 * as the model sees them (dd_image_set_load: the same pixels evaluation scores), predict them, take their pixels
 * or a layer's activations (cluster_embedding.c), cluster them (dd_cluster_matrix), measure purity, find the units
 * that set each cluster apart (cluster_units.c) and write the montages, tables, plots and summary.json
 * (cluster_files.c). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "doodle/cluster.h"
#include "doodle/clock.h"
#include "doodle/explain.h"
#include "explain/cluster_files.h"
#include "explain/quality_internal.h"
#include "doodle/alloc.h"

/* Above this many drawings (unless dd_cluster_opts.stream_above says otherwise) a set chosen by the model's answers
 * is scored in chunks first, keeping only the chosen drawings' record numbers, so that memory stays bounded by
 * --max-drawings rather than by the split (a million 28x28 drawings of 345 classes would hold 2 GB of pixels and
 * probabilities). Smaller splits take the one pass, whose --top-units ranks units among all the split's drawings. */
#define CLUSTER_STREAM_ABOVE 65536

int dd_cluster_parse_set(const char *text, dd_cluster_opts *o, dd_error *err) {
    static const struct {
        const char *name;
        dd_cluster_set set;
    } plain[] = {{"misclassified", DD_CLUSTER_MISCLASSIFIED},
                 {"val-misclassified", DD_CLUSTER_VAL_MISCLASSIFIED},
                 {"test", DD_CLUSTER_TEST},
                 {"train", DD_CLUSTER_TRAIN}};
    for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++)
        if (!strcmp(text, plain[i].name)) {
            o->set = plain[i].set;
            o->set_class[0] = '\0';
            return 0;
        }
    const char *eq = strchr(text, '=');
    if (eq && eq[1]) {
        size_t len = (size_t)(eq - text);
        if ((len == 5 && !strncmp(text, "class", 5)) || (len == 9 && !strncmp(text, "predicted", 9))) {
            if (strlen(eq + 1) >= sizeof o->set_class)
                return dd_fail(err, DD_ERR_USAGE, "the class name in '%s' is too long", text);
            o->set = len == 5 ? DD_CLUSTER_CLASS : DD_CLUSTER_PREDICTED;
            strcpy(o->set_class, eq + 1);
            return 0;
        }
    }
    return dd_fail(err, DD_ERR_USAGE,
                   "'%s' is not a set: use misclassified, val-misclassified, test, train, class=NAME or "
                   "predicted=NAME",
                   text);
}

/* The model's class called name, or a message listing them. */
static int model_class(const dd_model *m, const char *name, dd_error *err) {
    for (int c = 0; c < m->spec->classes; c++)
        if (!strcmp(m->class_names[c], name)) return c;
    char list[400];
    size_t used = 0;
    list[0] = '\0';
    for (int c = 0; c < m->spec->classes && used < 300; c++) {
        int w = snprintf(list + used, sizeof list - used, "%s%s", c ? ", " : "", m->class_names[c]);
        if (w < 0) break;
        used += (size_t)w;
    }
    return dd_fail(err, DD_ERR_USAGE, "'%s' is not one of the model's classes (%s%s)", name, list,
                   used >= 300 ? ", ..." : "");
}

static int cmp_size(const void *a, const void *b) {
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return (x > y) - (x < y);
}

/* Keeps a seeded random max of the n entries of idx, in increasing order. */
static size_t sample_down(size_t *idx, size_t n, size_t max, uint64_t seed) {
    if (max == 0 || n <= max) return n;
    dd_rng rng;
    dd_rng_seed(&rng, seed ^ 0x5eed5a3b1e0fULL);
    for (size_t i = 0; i < max; i++) { /* partial Fisher-Yates */
        size_t j = i + (size_t)dd_rng_below(&rng, n - i);
        size_t t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
    }
    qsort(idx, max, sizeof *idx, cmp_size);
    return max;
}

/* The class the model ranks first (the first of equals). */
static int best_class(const float *p, int classes) {
    int best = 0;
    for (int c = 1; c < classes; c++)
        if (p[c] > p[best]) best = c;
    return best;
}

typedef struct chosen {
    const dd_model *m;
    int wrong_only, cls; /* keep the misclassified drawings, or those predicted as cls */
    float *probs;        /* [QUALITY_CHUNK * classes] */
    uint64_t *records;   /* the kept record numbers, in the split's order */
    size_t n, cap;
} chosen;

static int keep_chosen(void *ctx, const dd_image_set *chunk, size_t first, dd_error *err) {
    (void)first;
    chosen *c = ctx;
    const int classes = c->m->spec->classes;
    if (dd_explain_probabilities(c->m, chunk, c->probs, err)) return -1;
    for (size_t i = 0; i < chunk->n; i++) {
        int best = best_class(c->probs + i * (size_t)classes, classes);
        if (c->wrong_only ? best == chunk->label[i] : best != c->cls) continue;
        if (c->n == c->cap) {
            size_t cap = c->cap ? 2 * c->cap : 4096;
            uint64_t *grown = dd_realloc(c->records, cap, sizeof *grown, err);
            if (!grown) return -1;
            c->records = grown, c->cap = cap;
        }
        c->records[c->n++] = chunk->record[i];
    }
    return 0;
}

/* Replaces records with the drawings the set keeps, sampled down to max_drawings as the one-pass path samples
 * them (the same drawings, in the same order). */
static int choose_streamed(const dd_model *m, const dd_dataset *ds, const dd_cluster_opts *o, int wrong_only, int cls,
                           uint64_t **records, size_t *n_rec, dd_error *err) {
    chosen c = {.m = m, .wrong_only = wrong_only, .cls = cls};
    size_t *pos = NULL;
    int rc = -1;
    if (!(c.probs = dd_malloc((size_t)QUALITY_CHUNK * (size_t)m->spec->classes, sizeof *c.probs, err)) ||
        quality_stream(m, ds, *records, NULL, *n_rec, keep_chosen, &c, err) ||
        !(pos = dd_malloc(c.n ? c.n : 1, sizeof *pos, err)))
        goto done;
    for (size_t i = 0; i < c.n; i++) pos[i] = i;
    size_t n = sample_down(pos, c.n, o->max_drawings, o->seed);
    for (size_t i = 0; i < n; i++) (*records)[i] = c.records[pos[i]];
    *n_rec = n;
    rc = 0;
done:
    free(c.probs);
    free(c.records);
    free(pos);
    return rc;
}

/* Keeps the records of the validation split doodle train uses (the set's val_frac, else train's 0.1; the set's
 * split seed). */
static int keep_validation(const dd_dataset *ds, uint64_t *records, size_t *n, dd_error *err) {
    dd_dset_params p = dd_dataset_params(ds);
    uint8_t *mask = NULL;
    if (dd_dataset_val_mask(ds, p.val_frac > 0 ? p.val_frac : 0.1, p.seed, &mask, NULL, err)) return -1;
    size_t k = 0;
    for (size_t i = 0; i < *n; i++)
        if (dd_val_mask_has(mask, records[i])) records[k++] = records[i];
    *n = k;
    free(mask);
    return 0;
}

/* The layer of the embedding and of the units: o->layer, else the default; -1 when there is none, which is an
 * error only for the embedding space. */
static int choose_layer(const dd_model *m, const dd_cluster_opts *o, dd_error *err) {
    if (o->layer >= m->spec->n_layers) {
        dd_fail(err, DD_ERR_USAGE, "layer %d is out of range: the model has layers 0 to %d", o->layer,
                m->spec->n_layers - 1);
        return -2;
    }
    int layer = o->layer >= 0 ? o->layer : dd_cluster_default_layer(m);
    if (layer < 0 && o->space == DD_SPACE_EMBEDDING) {
        dd_fail(err, DD_ERR_USAGE, "the model has no hidden layer before a dense one: give --layer");
        return -2;
    }
    return layer < 0 ? -1 : layer;
}

/* Purity of the K-Means and DBSCAN labellings of r in (true, predicted) pairs. */
static int measure_purity(dd_cluster_report *r, int classes, uint64_t seed, dd_error *err) {
    int64_t *codes = dd_malloc(r->n, sizeof *codes, err);
    if (!codes) return -1;
    for (size_t i = 0; i < r->n; i++) codes[i] = (int64_t)r->true_class[i] * classes + r->predicted[i];
    r->kmeans_purity = dd_cluster_purity(r->kmeans_label, codes, r->n, r->k, 200, seed, &r->kmeans_purity_random, err);
    r->dbscan_purity =
        dd_cluster_purity(r->dbscan_label, codes, r->n, r->dbscan_clusters, 200, seed, &r->dbscan_purity_random, err);
    free(codes);
    return 0;
}

int dd_explain_clusters(const dd_model *m, const dd_dataset *ds, const dd_cluster_opts *o, const char *out_dir,
                        dd_cluster_report *r, dd_error *err) {
    memset(r, 0, sizeof *r);
    int cls = -1;
    if ((o->set == DD_CLUSTER_CLASS || o->set == DD_CLUSTER_PREDICTED) && (cls = model_class(m, o->set_class, err)) < 0)
        return -1;
    uint64_t *records = NULL;
    size_t n_rec = 0, n = 0;
    dd_image_set all;
    memset(&all, 0, sizeof all);
    float *probs = NULL, *X = NULL, *E = NULL;
    size_t *pick = NULL;
    int *pred = NULL, rc = -1;
    const int classes = m->spec->classes;
    int layer = choose_layer(m, o, err);
    if (layer < -1) return -1;
    if (o->space == DD_SPACE_PIXELS && o->top_units <= 0) layer = -1; /* no pass for activations */
    const int wrong_only = o->set == DD_CLUSTER_MISCLASSIFIED || o->set == DD_CLUSTER_VAL_MISCLASSIFIED;
    const int from_train = o->set == DD_CLUSTER_TRAIN || o->set == DD_CLUSTER_VAL_MISCLASSIFIED;
    if (dd_dataset_split_records(ds, from_train ? DD_SPLIT_TRAIN : DD_SPLIT_TEST, &records, &n_rec, err)) return -1;
    if (o->set == DD_CLUSTER_VAL_MISCLASSIFIED && keep_validation(ds, records, &n_rec, err)) goto done;
    /* Sets chosen by their stored label are cut to size before rendering; the others need predictions first. */
    if (o->set == DD_CLUSTER_CLASS) {
        size_t k = 0;
        for (size_t i = 0; i < n_rec; i++) {
            dd_record_info info;
            if (dd_dataset_record_info(ds, records[i], &info) == 0 &&
                !strcmp(dd_dataset_class_name(ds, info.label), o->set_class))
                records[k++] = records[i];
        }
        n_rec = k;
    }
    if (o->set == DD_CLUSTER_TEST || o->set == DD_CLUSTER_TRAIN || o->set == DD_CLUSTER_CLASS) {
        size_t *idx = dd_malloc(n_rec ? n_rec : 1, sizeof *idx, err);
        if (!idx) goto done;
        for (size_t i = 0; i < n_rec; i++) idx[i] = (size_t)records[i];
        n_rec = sample_down(idx, n_rec, o->max_drawings, o->seed);
        for (size_t i = 0; i < n_rec; i++) records[i] = idx[i];
        free(idx);
    }
    if ((wrong_only || o->set == DD_CLUSTER_PREDICTED) &&
        n_rec > (o->stream_above ? o->stream_above : CLUSTER_STREAM_ABOVE) &&
        choose_streamed(m, ds, o, wrong_only, cls, &records, &n_rec, err))
        goto done;
    if (dd_image_set_load(m, ds, records, n_rec, &all, err)) goto done;
    if (!(probs = dd_malloc(all.n ? all.n * (size_t)classes : 1, sizeof *probs, err)) ||
        !(pred = dd_malloc(all.n ? all.n : 1, sizeof *pred, err)) ||
        !(pick = dd_malloc(all.n ? all.n : 1, sizeof *pick, err)) || dd_explain_probabilities(m, &all, probs, err))
        goto done;
    for (size_t i = 0; i < all.n; i++) {
        int best = best_class(probs + i * (size_t)classes, classes);
        pred[i] = best;
        int keep = wrong_only ? best != all.label[i] : o->set == DD_CLUSTER_PREDICTED ? best == cls : 1;
        if (keep) pick[n++] = i;
    }
    if (wrong_only || o->set == DD_CLUSTER_PREDICTED) {
        n = sample_down(pick, n, o->max_drawings, o->seed);
    }
    if (n == 0) {
        r->pixels = (size_t)all.height * (size_t)all.width;
        rc = explain_cluster_write_empty(out_dir, o, r, err);
        goto done;
    }
    const size_t px = (size_t)all.height * (size_t)all.width;
    size_t units = layer >= 0 ? (size_t)m->spec->layers[layer].out.c : 0;
    double t0 = dd_now_seconds();
    if (layer >= 0 &&
        (!(E = dd_malloc(all.n * units, sizeof *E, err)) || dd_cluster_embeddings(m, &all, layer, E, err)))
        goto done;
    double seconds_embedding = dd_now_seconds() - t0;
    if (o->space == DD_SPACE_EMBEDDING) {
        if (!(X = dd_malloc(n * units, sizeof *X, err))) goto done;
        for (size_t i = 0; i < n; i++) memcpy(X + i * units, E + pick[i] * units, units * sizeof *X);
        if (dd_cluster_matrix(X, n, units, o, r, err)) goto done;
    } else {
        if (!(X = dd_malloc(n * px, sizeof *X, err))) goto done;
        for (size_t i = 0; i < n; i++) dd_image_set_input(&all, pick[i], X + i * px);
        if (dd_cluster_matrix(X, n, px, o, r, err)) goto done;
    }
    r->space = o->space;
    r->layer = layer;
    r->standardized = o->standardize;
    r->seconds_embedding = seconds_embedding;
    if (layer >= 0) snprintf(r->layer_name, sizeof r->layer_name, "%s", m->spec->layers[layer].name);
    if (!(r->index = dd_malloc(n, sizeof *r->index, err)) ||
        !(r->true_class = dd_malloc(n, sizeof *r->true_class, err)) ||
        !(r->predicted = dd_malloc(n, sizeof *r->predicted, err)))
        goto done;
    for (size_t i = 0; i < n; i++) {
        r->index[i] = all.record[pick[i]];
        r->true_class[i] = all.label[pick[i]];
        r->predicted[i] = pred[pick[i]];
    }
    if (measure_purity(r, classes, o->seed, err)) goto done;
    if (layer >= 0 && o->top_units > 0 &&
        explain_cluster_units_write(m, &all, E, pred, pick, o->top_units, out_dir, r, err))
        goto done;
    /* The drawings in the order of r, for the montages. */
    for (size_t i = 0; i < n; i++)
        if (pick[i] != i) memcpy(all.pixels + i * px, all.pixels + pick[i] * px, px);
    if (explain_cluster_compose(r, classes, err)) goto done;
    rc = explain_cluster_write(m, ds, o, all.pixels, all.height, all.width, out_dir, r, err);
done:
    if (rc) dd_cluster_report_free(r);
    free(records);
    free(probs);
    free(pred);
    free(pick);
    free(X);
    free(E);
    dd_image_set_free(&all);
    return rc;
}
