/* Exact and near duplicates for the data-quality check, in memory that grows by a few tens of bytes a drawing:
 *   exact  drawings sorted by their pixel hash; only those sharing a hash with another are re-rendered and compared
 *          pixel by pixel (a 64-bit collision splits a run into its distinct pictures, ordered by their bytes);
 *   near   one representative per distinct picture; pairs of average hashes within Hamming distance 3 share one of
 *          four 16-bit bands, so each band is sorted and pairs are looked for inside its buckets. A bucket larger
 *          than cap + 1 compares each drawing only with the cap after it in hash order, so that the search stays
 *          near-linear whatever the data. The final test compares 14x14 downsamples (2 bytes a cell: L1 distance
 *          within the tolerance of the larger ink), and those are held only a segment at a time: each band is
 *          walked in runs of buckets whose drawings with a partner not yet in their group have downsamples that
 *          fit the budget; a run is rendered, its pairs joined (union-find), its downsamples dropped. The budget's
 *          cost is re-rendering: a drawing is rendered once in each band where it still has a partner outside its
 *          group (at most 4 times; a bucket larger than the budget is cut between entries, and a drawing near a
 *          cut may be rendered in both segments). The pairs compared, and so the groups, are the same whatever
 *          the budget. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "explain/quality_internal.h"
#include "doodle/alloc.h"

#define SMALL 14 /* side of the downsample the near-duplicate check compares */
#define NEAR_HAMMING 3

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
    exact_ctx c = {.hash = hash, .pixels = (size_t)m->render.height * m->render.width};
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

static quality_near_limits g_limits = {QUALITY_NEAR_BUDGET, QUALITY_BUCKET_CAP};

quality_near_limits quality_set_near_limits(quality_near_limits limits) {
    quality_near_limits was = g_limits;
    g_limits = limits;
    return was;
}

typedef struct band_entry {
    uint64_t key; /* the average hash rotated so that the band is the top 16 bits */
    uint32_t rep;
} band_entry;

static int by_key(const void *a, const void *b) {
    const band_entry *x = a, *y = b;
    if (x->key != y->key) return x->key < y->key ? -1 : 1;
    return x->rep < y->rep ? -1 : x->rep > y->rep;
}

typedef struct near_ctx {
    const size_t *reps;  /* [n_reps] the representatives' drawings */
    const band_entry *e; /* [n_reps] the current band, sorted */
    size_t n_reps, cap;  /* an entry is compared with at most cap entries after it in its bucket */
    size_t *parent;      /* [n_reps] union-find over the representatives */
    uint32_t *mark;      /* [n_reps] == seg: the representative is a member of the current segment */
    uint32_t seg;
    uint32_t *slot;          /* [n_reps] where a member's downsample is */
    uint32_t *members;       /* [n_members] the current segment's representatives */
    size_t n_members, slots; /* slots: the members that the budget holds */
    size_t *which;           /* [n_members] their drawings, in slot order */
    void *small;             /* [n_members][SMALL * SMALL] sums of pixels: uint16_t, or uint32_t when wide */
    uint64_t *ink;           /* [n_members] */
    size_t cap_small;
    bool wide; /* a cell's sum can pass 65535 (inputs larger than about 224 x 224) */
    int h, w;
    double tolerance;
    quality_dups *d;
} near_ctx;

static size_t find(size_t *parent, size_t i) {
    while (parent[i] != i) i = parent[i] = parent[parent[i]];
    return i;
}

typedef void (*pair_fn)(near_ctx *c, size_t a, size_t b);

/* Calls fn for the representatives that band entry x meets: the later entries of its bucket, at most cap after
 * it, whose hash is within NEAR_HAMMING bits (so a pair within the distance shares a band and meets there unless
 * a bucket over cap + 1 entries holds them further apart). The same pairs whatever the segments. */
static void pairs_of(near_ctx *c, size_t x, pair_fn fn) {
    const band_entry *e = c->e;
    for (size_t y = x + 1; y < c->n_reps && y - x <= c->cap && e[y].key >> 48 == e[x].key >> 48; y++)
        if (__builtin_popcountll(e[x].key ^ e[y].key) <= NEAR_HAMMING) fn(c, e[x].rep, e[y].rep);
}

static void add_member(near_ctx *c, size_t r) {
    if (c->mark[r] == c->seg) return;
    c->mark[r] = c->seg;
    c->members[c->n_members++] = (uint32_t)r;
}

/* A pair already in one group needs no downsample: joining it would change nothing. */
static void mark_pair(near_ctx *c, size_t a, size_t b) {
    if (find(c->parent, a) == find(c->parent, b)) return;
    add_member(c, a);
    add_member(c, b);
}

static void drop_members_from(near_ctx *c, size_t first) {
    for (size_t k = first; k < c->n_members; k++) c->mark[c->members[k]] = 0;
    c->n_members = first;
}

static void join_if_near(near_ctx *c, size_t a, size_t b) {
    if (find(c->parent, a) == find(c->parent, b)) return; /* so a and b were marked: both have a downsample */
    const uint32_t sa = c->slot[a], sb = c->slot[b];
    uint64_t diff = 0, larger = c->ink[sa] > c->ink[sb] ? c->ink[sa] : c->ink[sb];
    if (c->wide) {
        const uint32_t *pa = (const uint32_t *)c->small + (size_t)sa * SMALL * SMALL,
                       *pb = (const uint32_t *)c->small + (size_t)sb * SMALL * SMALL;
        for (int q = 0; q < SMALL * SMALL; q++) diff += pa[q] > pb[q] ? pa[q] - pb[q] : pb[q] - pa[q];
    } else {
        const uint16_t *pa = (const uint16_t *)c->small + (size_t)sa * SMALL * SMALL,
                       *pb = (const uint16_t *)c->small + (size_t)sb * SMALL * SMALL;
        for (int q = 0; q < SMALL * SMALL; q++)
            diff += pa[q] > pb[q] ? (uint32_t)(pa[q] - pb[q]) : (uint32_t)(pb[q] - pa[q]);
    }
    if (larger > 0 && (double)diff <= c->tolerance * (double)larger) c->parent[find(c->parent, a)] = find(c->parent, b);
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
            if (c->wide)
                ((uint32_t *)c->small)[at + q] = small[q];
            else
                ((uint16_t *)c->small)[at + q] = (uint16_t)small[q];
        c->ink[first + k] = sum;
    }
    return 0;
}

static const size_t *g_rep_drawing;
static int by_drawing(const void *a, const void *b) {
    size_t x = g_rep_drawing[*(const uint32_t *)a], y = g_rep_drawing[*(const uint32_t *)b];
    return (x > y) - (x < y);
}

/* The segment of band entries [lo, hi): renders its members (in record order, for the mapping's sake), joins the
 * near pairs among them, and starts an empty segment. */
static int end_segment(near_ctx *c, const dd_model *m, const dd_dataset *ds, const uint64_t *records, size_t lo,
                       size_t hi, dd_error *err) {
    if (!c->n_members) return 0;
    if (c->n_members > c->cap_small) {
        size_t cell = c->wide ? 4 : 2;
        void *small = dd_realloc(c->small, c->n_members, SMALL * SMALL * cell, err);
        if (small) c->small = small;
        uint64_t *ink = small ? dd_realloc(c->ink, c->n_members, sizeof *ink, err) : NULL;
        if (ink) c->ink = ink;
        size_t *which = ink ? dd_realloc(c->which, c->n_members, sizeof *which, err) : NULL;
        if (!which) return -1;
        c->which = which;
        c->cap_small = c->n_members;
    }
    g_rep_drawing = c->reps;
    qsort(c->members, c->n_members, sizeof *c->members, by_drawing);
    for (size_t k = 0; k < c->n_members; k++) {
        c->slot[c->members[k]] = (uint32_t)k;
        c->which[k] = c->reps[c->members[k]];
    }
    if (quality_stream(m, ds, records, c->which, c->n_members, small_chunk, c, err)) return -1;
    for (size_t x = lo; x < hi; x++) pairs_of(c, x, join_if_near);
    c->d->near_segments++;
    c->d->near_renders += c->n_members;
    c->n_members = 0;
    if (++c->seg == 0) { /* wrapped: forget every mark */
        memset(c->mark, 0, c->n_reps * sizeof *c->mark);
        c->seg = 1;
    }
    return 0;
}

/* One band: its sorted buckets are taken in runs whose members fit the budget; a bucket that alone does not fit
 * is cut between its entries (an entry with its cap followers always goes whole). */
static int near_band(near_ctx *c, int band, band_entry *e, const uint64_t *rep_hash, const dd_model *m,
                     const dd_dataset *ds, const uint64_t *records, dd_error *err) {
    const size_t n = c->n_reps;
    const int left = 48 - 16 * band;
    for (size_t r = 0; r < n; r++) {
        uint64_t h = rep_hash[r];
        e[r] = (band_entry){left ? h << left | h >> (64 - left) : h, (uint32_t)r};
    }
    qsort(e, n, sizeof *e, by_key);
    c->e = e;
    size_t lo = 0; /* the current segment's first entry */
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && e[j].key >> 48 == e[i].key >> 48) j++;
        if (j - i > c->cap + 1) c->d->capped_buckets++;
        size_t before = c->n_members, x = i;
        while (x < j && c->n_members <= c->slots) pairs_of(c, x++, mark_pair);
        if (c->n_members > c->slots) { /* the bucket does not fit: finish the run before it, then take it an entry
                                        * at a time, cutting it where the budget is full */
            drop_members_from(c, before);
            if (lo < i && end_segment(c, m, ds, records, lo, i, err)) return -1;
            lo = i;
            for (x = i; x < j; x++) {
                size_t had = c->n_members;
                pairs_of(c, x, mark_pair);
                if (c->n_members > c->slots && lo < x) {
                    drop_members_from(c, had);
                    if (end_segment(c, m, ds, records, lo, x, err)) return -1;
                    lo = x;
                    pairs_of(c, x, mark_pair);
                }
            }
        }
        i = j;
    }
    return end_segment(c, m, ds, records, lo, n, err);
}

/* Near groups between the representatives (sets of more than one), numbered in representative order. */
static int near_groups(const dd_model *m, const dd_dataset *ds, const uint64_t *records, const size_t *reps,
                       size_t n_reps, const uint64_t *ahash, double tolerance, quality_dups *d, dd_error *err) {
    near_ctx c = {.reps = reps,
                  .n_reps = n_reps,
                  .cap = g_limits.bucket_cap,
                  .seg = 1,
                  .h = (int)m->render.height,
                  .w = (int)m->render.width,
                  .tolerance = tolerance,
                  .d = d};
    /* a cell spans at most ceil(h / SMALL) x ceil(w / SMALL) pixels */
    c.wide = (uint64_t)((c.h + SMALL - 1) / SMALL) * (uint64_t)((c.w + SMALL - 1) / SMALL) * 255 > UINT16_MAX;
    /* a member costs its downsample, ink, drawing number and place in the list */
    c.slots = g_limits.budget_bytes /
              (SMALL * SMALL * (c.wide ? 4 : 2) + sizeof *c.ink + sizeof *c.which + sizeof *c.members);
    if (c.slots < 1) c.slots = 1;
    /* an entry brings at most reach members; a segment holds at most slots, or one entry's reach when that is
     * more, and is looked at after each entry is added */
    size_t reach = c.cap < n_reps ? c.cap + 1 : n_reps;
    size_t max_members = (c.slots > reach ? c.slots : reach) + reach;
    if (max_members > n_reps) max_members = n_reps;
    uint64_t *rep_hash = dd_malloc(n_reps ? n_reps : 1, sizeof *rep_hash, err);
    band_entry *e = dd_malloc(n_reps ? n_reps : 1, sizeof *e, err);
    size_t *root_group = NULL, *size = NULL;
    int rc = -1;
    if (!rep_hash || !e || !(c.mark = dd_calloc(n_reps ? n_reps : 1, sizeof *c.mark, err)) ||
        !(c.slot = dd_malloc(n_reps ? n_reps : 1, sizeof *c.slot, err)) ||
        !(c.parent = dd_malloc(n_reps ? n_reps : 1, sizeof *c.parent, err)) ||
        !(c.members = dd_malloc(max_members ? max_members : 1, sizeof *c.members, err)))
        goto done;
    for (size_t r = 0; r < n_reps; r++) {
        rep_hash[r] = ahash[reps[r]];
        c.parent[r] = r;
    }
    for (int band = 0; band < 4; band++)
        if (near_band(&c, band, e, rep_hash, m, ds, records, err)) goto done;
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
    free(root_group);
    free(size);
    free(c.mark);
    free(c.slot);
    free(c.parent);
    free(c.members);
    free(c.which);
    free(c.small);
    free(c.ink);
    return rc;
}

int quality_find_duplicates(const dd_model *m, const dd_dataset *ds, const uint64_t *records, size_t n,
                            const uint64_t *pixel_hash, const uint64_t *ahash, double tolerance, quality_dups *d,
                            dd_error *err) {
    memset(d, 0, sizeof *d);
    if (n > UINT32_MAX)
        return dd_fail(err, DD_ERR_RANGE, "%zu drawings: the duplicate search takes at most %u", n, UINT32_MAX);
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
