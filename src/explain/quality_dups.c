/* Exact and near duplicates for the data-quality check, in memory that grows by a few tens of bytes a drawing:
 *   exact  drawings sorted by their pixel hash; only those sharing a hash with another are re-rendered and compared
 *          pixel by pixel (a 64-bit collision splits a run into its distinct pictures, ordered by their bytes);
 *   near   one representative per distinct picture; pairs of average hashes within Hamming distance 3 share one of
 *          four 16-bit bands, so each band is sorted and pairs are looked for inside its buckets. Only drawings that
 *          have such a partner are re-rendered for their 14x14 downsample (2 bytes a cell), the final test (L1 distance within the
 *          tolerance of the larger ink). A bucket larger than BUCKET_CAP + 1 compares each drawing only with the
 *          BUCKET_CAP after it in hash order, so that the search stays near-linear whatever the data. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "explain/quality_internal.h"
#include "util/alloc.h"

#define SMALL 14 /* side of the downsample the near-duplicate check compares */
#define NEAR_HAMMING 3
#define BUCKET_CAP 1024

void quality_dups_free(quality_dups *d) {
    free(d->exact_group);
    free(d->near_group);
    memset(d, 0, sizeof *d);
}

/* ---- exact ---- */

static const uint64_t *g_hash; /* qsort has no context argument */
static const uint32_t *g_rank;

static int by_hash_rank_index(const void *a, const void *b) {
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    if (g_hash[x] != g_hash[y]) return g_hash[x] < g_hash[y] ? -1 : 1;
    if (g_rank && g_rank[x] != g_rank[y]) return g_rank[x] < g_rank[y] ? -1 : 1;
    return x < y ? -1 : x > y;
}

/* The drawings of runs of equal hashes, streamed in hash order: rank[i] = the place of drawing i's pixels among
 * the distinct pictures of its run, in byte order (0 unless two different pictures share a hash). */
typedef struct exact_ctx {
    const size_t *cand; /* drawings in runs of two or more, run after run */
    const uint64_t *hash;
    uint32_t *rank;
    size_t pixels, run_start;
    uint8_t *patterns; /* the distinct pictures of the current run */
    size_t n_patterns, cap_patterns;
} exact_ctx;

static const uint8_t *g_patterns;
static size_t g_pixels;
static int by_pattern(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return memcmp(g_patterns + x * g_pixels, g_patterns + y * g_pixels, g_pixels);
}

static int end_run(exact_ctx *c, size_t end, dd_error *err) {
    if (c->n_patterns > 1) { /* a hash collision: rank the pictures by their bytes, as a sort by pixels would */
        uint32_t *ids = dd_malloc(c->n_patterns, 2 * sizeof *ids, err);
        if (!ids) return -1;
        uint32_t *place = ids + c->n_patterns;
        for (size_t p = 0; p < c->n_patterns; p++) ids[p] = (uint32_t)p;
        g_patterns = c->patterns;
        g_pixels = c->pixels;
        qsort(ids, c->n_patterns, sizeof *ids, by_pattern);
        for (size_t p = 0; p < c->n_patterns; p++) place[ids[p]] = (uint32_t)p;
        for (size_t j = c->run_start; j < end; j++) c->rank[c->cand[j]] = place[c->rank[c->cand[j]]];
        free(ids);
    }
    c->run_start = end;
    c->n_patterns = 0;
    return 0;
}

static int exact_chunk(void *ctx, const dd_image_set *chunk, size_t first, dd_error *err) {
    exact_ctx *c = ctx;
    for (size_t k = 0; k < chunk->n; k++) {
        size_t j = first + k, i = c->cand[j];
        if (j > c->run_start && c->hash[i] != c->hash[c->cand[j - 1]] && end_run(c, j, err)) return -1;
        const uint8_t *img = chunk->pixels + k * c->pixels;
        size_t p = 0;
        while (p < c->n_patterns && memcmp(c->patterns + p * c->pixels, img, c->pixels)) p++;
        if (p == c->n_patterns) {
            if (c->n_patterns == c->cap_patterns) {
                size_t cap = c->cap_patterns ? 2 * c->cap_patterns : 4;
                uint8_t *grown = dd_realloc(c->patterns, cap, c->pixels, err);
                if (!grown) return -1;
                c->patterns = grown;
                c->cap_patterns = cap;
            }
            memcpy(c->patterns + p * c->pixels, img, c->pixels);
            c->n_patterns++;
        }
        c->rank[i] = (uint32_t)p;
    }
    return 0;
}

/* Sorts order[n] by (hash, picture, index), numbers the exact groups and lists one representative per distinct
 * picture (its lowest drawing) in that order. */
static int exact_groups(const dd_model *m, const dd_dataset *ds, const uint64_t *records, size_t n,
                        const uint64_t *hash, size_t *order, quality_dups *d, size_t *reps, size_t *n_reps,
                        dd_error *err) {
    g_hash = hash;
    g_rank = NULL;
    qsort(order, n, sizeof *order, by_hash_rank_index);
    size_t n_cand = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && hash[order[j]] == hash[order[i]]) j++;
        if (j - i > 1) n_cand += j - i;
        i = j;
    }
    exact_ctx c = {.hash = hash, .pixels = (size_t)m->spec->input.h * (size_t)m->spec->input.w};
    size_t *cand = dd_malloc(n_cand ? n_cand : 1, sizeof *cand, err);
    int rc = -1;
    if (!cand || !(c.rank = dd_calloc(n ? n : 1, sizeof *c.rank, err))) goto done;
    n_cand = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && hash[order[j]] == hash[order[i]]) j++;
        if (j - i > 1)
            for (size_t k = i; k < j; k++) cand[n_cand++] = order[k];
        i = j;
    }
    c.cand = cand;
    if (quality_stream(m, ds, records, cand, n_cand, exact_chunk, &c, err) || end_run(&c, n_cand, err)) goto done;
    g_hash = hash;
    g_rank = c.rank;
    qsort(order, n, sizeof *order, by_hash_rank_index);
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && hash[order[j]] == hash[order[i]] && c.rank[order[j]] == c.rank[order[i]]) j++;
        if (j - i > 1) {
            for (size_t k = i; k < j; k++) d->exact_group[order[k]] = d->n_exact;
            d->n_exact++;
        }
        reps[(*n_reps)++] = order[i];
        i = j;
    }
    rc = 0;
done:
    free(cand);
    free(c.rank);
    free(c.patterns);
    return rc;
}

/* ---- near ---- */

typedef struct band_entry {
    uint64_t key; /* the average hash rotated so that the band is the top 16 bits */
    uint32_t rep;
} band_entry;

static int by_key(const void *a, const void *b) {
    const band_entry *x = a, *y = b;
    if (x->key != y->key) return x->key < y->key ? -1 : 1;
    return x->rep < y->rep ? -1 : x->rep > y->rep;
}

typedef void (*pair_fn)(void *ctx, size_t a, size_t b);

/* Calls fn for pairs of representatives whose hashes are within NEAR_HAMMING bits (every such pair when no bucket
 * exceeds the cap; a pair may come more than once). Returns the number of buckets over the cap. */
static size_t near_pairs(const uint64_t *ahash, size_t n_reps, band_entry *e, pair_fn fn, void *ctx) {
    size_t capped = 0;
    for (int b = 0; b < 4; b++) {
        int left = 48 - 16 * b;
        for (size_t r = 0; r < n_reps; r++) {
            uint64_t h = ahash[r];
            e[r] = (band_entry){left ? h << left | h >> (64 - left) : h, (uint32_t)r};
        }
        qsort(e, n_reps, sizeof *e, by_key);
        for (size_t i = 0; i < n_reps;) {
            size_t j = i + 1;
            while (j < n_reps && e[j].key >> 48 == e[i].key >> 48) j++;
            if (j - i > BUCKET_CAP + 1) capped++;
            for (size_t x = i; x < j; x++) {
                size_t end = j - x > BUCKET_CAP + 1 ? x + BUCKET_CAP + 1 : j;
                for (size_t y = x + 1; y < end; y++)
                    if (__builtin_popcountll(e[x].key ^ e[y].key) <= NEAR_HAMMING) fn(ctx, e[x].rep, e[y].rep);
            }
            i = j;
        }
    }
    return capped;
}

typedef struct near_ctx {
    const size_t *reps;
    uint8_t *needed;        /* [n_reps]: has a partner within the Hamming distance */
    uint32_t *slot;         /* [n_reps]: where its downsample is */
    void *small;            /* [n_needed][SMALL * SMALL] sums of pixels: uint16_t, or uint32_t when wide */
    bool wide;              /* a cell's sum can pass 65535 (inputs larger than about 224 x 224) */
    uint64_t *ink;          /* [n_needed] */
    size_t *parent;         /* [n_reps] union-find */
    const size_t *which;    /* the needed representatives' drawings, in slot order */
    int h, w;
    double tolerance;
} near_ctx;

static void mark_pair(void *ctx, size_t a, size_t b) {
    near_ctx *c = ctx;
    c->needed[a] = c->needed[b] = 1;
}

static int small_chunk(void *ctx, const dd_image_set *chunk, size_t first, dd_error *err) {
    (void)err;
    near_ctx *c = ctx;
    const int h = c->h, w = c->w;
    for (size_t k = 0; k < chunk->n; k++) {
        const uint8_t *img = chunk->pixels + k * (size_t)h * (size_t)w;
        uint32_t small[SMALL * SMALL] = {0};
        uint64_t sum = 0;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                uint8_t v = img[(size_t)y * w + x];
                small[(y * SMALL / h) * SMALL + x * SMALL / w] += v;
                sum += v;
            }
        size_t at = (first + k) * SMALL * SMALL;
        for (int q = 0; q < SMALL * SMALL; q++)
            if (c->wide) ((uint32_t *)c->small)[at + q] = small[q];
            else ((uint16_t *)c->small)[at + q] = (uint16_t)small[q];
        c->ink[first + k] = sum;
    }
    return 0;
}

static size_t find(size_t *parent, size_t i) {
    while (parent[i] != i) i = parent[i] = parent[parent[i]];
    return i;
}

static void join_if_near(void *ctx, size_t a, size_t b) {
    near_ctx *c = ctx;
    if (find(c->parent, a) == find(c->parent, b)) return;
    const uint32_t sa = c->slot[a], sb = c->slot[b];
    uint64_t diff = 0, larger = c->ink[sa] > c->ink[sb] ? c->ink[sa] : c->ink[sb];
    if (c->wide) {
        const uint32_t *pa = (const uint32_t *)c->small + (size_t)sa * SMALL * SMALL,
                       *pb = (const uint32_t *)c->small + (size_t)sb * SMALL * SMALL;
        for (int q = 0; q < SMALL * SMALL; q++) diff += pa[q] > pb[q] ? pa[q] - pb[q] : pb[q] - pa[q];
    } else {
        const uint16_t *pa = (const uint16_t *)c->small + (size_t)sa * SMALL * SMALL,
                       *pb = (const uint16_t *)c->small + (size_t)sb * SMALL * SMALL;
        for (int q = 0; q < SMALL * SMALL; q++) diff += pa[q] > pb[q] ? (uint32_t)(pa[q] - pb[q]) : (uint32_t)(pb[q] - pa[q]);
    }
    if (larger > 0 && (double)diff <= c->tolerance * (double)larger) c->parent[find(c->parent, a)] = find(c->parent, b);
}

/* Near groups between the representatives (sets of more than one), numbered in representative order. */
static int near_groups(const dd_model *m, const dd_dataset *ds, const uint64_t *records, const size_t *reps,
                       size_t n_reps, const uint64_t *ahash, double tolerance, quality_dups *d, dd_error *err) {
    near_ctx c = {.reps = reps, .h = m->spec->input.h, .w = m->spec->input.w, .tolerance = tolerance};
    /* a cell spans at most ceil(h / SMALL) x ceil(w / SMALL) pixels */
    c.wide = (uint64_t)((c.h + SMALL - 1) / SMALL) * (uint64_t)((c.w + SMALL - 1) / SMALL) * 255 > UINT16_MAX;
    uint64_t *rep_hash = dd_malloc(n_reps ? n_reps : 1, sizeof *rep_hash, err);
    band_entry *e = dd_malloc(n_reps ? n_reps : 1, sizeof *e, err);
    size_t *which = NULL, *root_group = NULL, *size = NULL;
    int rc = -1;
    if (!rep_hash || !e || !(c.needed = dd_calloc(n_reps ? n_reps : 1, 1, err)) ||
        !(c.slot = dd_malloc(n_reps ? n_reps : 1, sizeof *c.slot, err)) ||
        !(c.parent = dd_malloc(n_reps ? n_reps : 1, sizeof *c.parent, err)))
        goto done;
    for (size_t r = 0; r < n_reps; r++) {
        rep_hash[r] = ahash[reps[r]];
        c.parent[r] = r;
    }
    d->capped_buckets = near_pairs(rep_hash, n_reps, e, mark_pair, &c);
    size_t n_needed = 0;
    for (size_t r = 0; r < n_reps; r++)
        if (c.needed[r]) c.slot[r] = (uint32_t)n_needed++;
    if (!(which = dd_malloc(n_needed ? n_needed : 1, sizeof *which, err)) ||
        !(c.small = dd_malloc(n_needed ? n_needed : 1, SMALL * SMALL * (c.wide ? 4 : 2), err)) ||
        !(c.ink = dd_malloc(n_needed ? n_needed : 1, sizeof *c.ink, err)))
        goto done;
    for (size_t r = 0; r < n_reps; r++)
        if (c.needed[r]) which[c.slot[r]] = reps[r];
    if (quality_stream(m, ds, records, which, n_needed, small_chunk, &c, err)) goto done;
    near_pairs(rep_hash, n_reps, e, join_if_near, &c);
    /* number the near groups in representative order */
    if (!(root_group = dd_malloc(n_reps ? n_reps : 1, sizeof *root_group, err)) ||
        !(size = dd_calloc(n_reps ? n_reps : 1, sizeof *size, err)))
        goto done;
    for (size_t r = 0; r < n_reps; r++) {
        root_group[r] = SIZE_MAX;
        size[find(c.parent, r)]++;
    }
    for (size_t r = 0; r < n_reps; r++) {
        size_t root = find(c.parent, r);
        if (size[root] < 2) continue;
        if (root_group[root] == SIZE_MAX) root_group[root] = d->n_near++;
        d->near_group[reps[r]] = root_group[root];
    }
    rc = 0;
done:
    free(rep_hash);
    free(e);
    free(which);
    free(root_group);
    free(size);
    free(c.needed);
    free(c.slot);
    free(c.parent);
    free(c.small);
    free(c.ink);
    return rc;
}

int quality_find_duplicates(const dd_model *m, const dd_dataset *ds, const uint64_t *records, size_t n,
                            const uint64_t *pixel_hash, const uint64_t *ahash, double tolerance, quality_dups *d,
                            dd_error *err) {
    memset(d, 0, sizeof *d);
    if (n > UINT32_MAX) return dd_fail(err, DD_ERR_RANGE, "%zu drawings: the duplicate search takes at most %u", n, UINT32_MAX);
    size_t *order = dd_malloc(n ? n : 1, sizeof *order, err), *reps = NULL, n_reps = 0;
    int rc = -1;
    d->exact_group = dd_malloc(n ? n : 1, sizeof *d->exact_group, err);
    d->near_group = dd_malloc(n ? n : 1, sizeof *d->near_group, err);
    if (!order || !d->exact_group || !d->near_group || !(reps = dd_malloc(n ? n : 1, sizeof *reps, err))) goto done;
    for (size_t i = 0; i < n; i++) {
        order[i] = i;
        d->exact_group[i] = d->near_group[i] = SIZE_MAX;
    }
    if (exact_groups(m, ds, records, n, pixel_hash, order, d, reps, &n_reps, err)) goto done;
    free(order);
    order = NULL;
    rc = near_groups(m, ds, records, reps, n_reps, ahash, tolerance, d, err);
done:
    free(order);
    free(reps);
    if (rc) quality_dups_free(d);
    return rc;
}
