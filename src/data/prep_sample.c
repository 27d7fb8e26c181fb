/* --sample random: a seeded uniform sample of N drawings per class in one pass (reservoir sampling, Vitter's
 * algorithm R). A record that enters a reservoir is appended to a spill file beside the output (about
 * N * (1 + ln(read / N)) records a class ever enter); the reservoir keeps its number there. At the end the chosen
 * records are copied to the dataset in input order. Each class has its own generator, seeded from the seed and the
 * label, so the choice does not depend on how classes interleave in the input. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/prep_internal.h"
#include "doodle/rng.h"
#include "doodle/alloc.h"

typedef struct reservoir {
    uint64_t offered;
    uint64_t *spilled; /* [min(offered, per_class)] spill record numbers */
    uint64_t cap;
    dd_rng rng;
} reservoir;

struct prep_sampler {
    FILE *spill;
    uint64_t n_spilled;
    uint64_t per_class, seed;
    reservoir *classes;
    uint32_t n_classes;
    uint8_t *buf; /* one record read back */
    size_t cap_buf;
};

prep_sampler *prep_sampler_new(const char *out_path, uint64_t per_class, uint64_t seed, dd_error *err) {
    prep_sampler *s = dd_calloc(1, sizeof *s, err);
    if (!s) return NULL;
    s->per_class = per_class;
    s->seed = seed;
    size_t n = strlen(out_path) + sizeof ".spill.XXXXXX";
    char *path = dd_malloc(n, 1, err);
    if (!path) {
        free(s);
        return NULL;
    }
    snprintf(path, n, "%s.spill.XXXXXX", out_path);
    int fd = mkstemp(path);
    if (fd >= 0) unlink(path); /* gone when closed, whatever happens */
    if (fd < 0 || !(s->spill = fdopen(fd, "w+b"))) {
        dd_fail(err, DD_ERR_IO, "%s: cannot create a temporary file beside it: %s", out_path, strerror(errno));
        if (fd >= 0) close(fd);
        free(path);
        free(s);
        return NULL;
    }
    free(path);
    return s;
}

void prep_sampler_free(prep_sampler *s) {
    if (!s) return;
    if (s->spill) fclose(s->spill);
    for (uint32_t c = 0; c < s->n_classes; c++) free(s->classes[c].spilled);
    free(s->classes);
    free(s->buf);
    free(s);
}

uint64_t prep_sampler_offered(const prep_sampler *s, uint32_t label) {
    return label < s->n_classes ? s->classes[label].offered : 0;
}

static reservoir *class_of(prep_sampler *s, uint32_t label, dd_error *err) {
    if (label >= s->n_classes) {
        reservoir *r = dd_realloc(s->classes, (size_t)label + 1, sizeof *r, err);
        if (!r) return NULL;
        for (uint32_t c = s->n_classes; c <= label; c++) {
            memset(&r[c], 0, sizeof r[c]);
            dd_rng_seed(&r[c].rng, s->seed ^ (0x9e3779b97f4a7c15ULL * ((uint64_t)c + 1)));
        }
        s->classes = r;
        s->n_classes = label + 1;
    }
    return &s->classes[label];
}

int prep_sampler_offer(prep_sampler *s, uint32_t label, const uint8_t *rec, size_t size, dd_error *err) {
    reservoir *r = class_of(s, label, err);
    if (!r) return -1;
    uint64_t k = r->offered++, slot = k;
    if (k >= s->per_class && (slot = dd_rng_below(&r->rng, k + 1)) >= s->per_class) return 0;
    if (slot >= r->cap) {
        uint64_t cap = r->cap ? 2 * r->cap : 64;
        if (cap > s->per_class) cap = s->per_class;
        uint64_t *p = dd_realloc(r->spilled, cap, sizeof *p, err);
        if (!p) return -1;
        r->spilled = p;
        r->cap = cap;
    }
    uint32_t n = (uint32_t)size;
    if (fwrite(&n, sizeof n, 1, s->spill) != 1 || fwrite(rec, 1, size, s->spill) != size)
        return dd_fail(err, DD_ERR_IO, "cannot write the sample's temporary file: %s", strerror(errno));
    r->spilled[slot] = s->n_spilled++;
    return 0;
}

int prep_sampler_write(prep_sampler *s, prep_put_fn put, void *ctx, dd_error *err) {
    uint8_t *chosen = dd_calloc(s->n_spilled / 8 + 1, 1, err);
    if (!chosen) return -1;
    for (uint32_t c = 0; c < s->n_classes; c++) {
        reservoir *r = &s->classes[c];
        uint64_t n = r->offered < s->per_class ? r->offered : s->per_class;
        for (uint64_t i = 0; i < n; i++) chosen[r->spilled[i] / 8] |= (uint8_t)(1u << (r->spilled[i] % 8));
        free(r->spilled);
        r->spilled = NULL;
        r->cap = 0;
    }
    int rc = -1;
    if (fflush(s->spill) != 0 || fseek(s->spill, 0, SEEK_SET) != 0) {
        dd_fail(err, DD_ERR_IO, "cannot read the sample's temporary file back: %s", strerror(errno));
        goto done;
    }
    for (uint64_t i = 0; i < s->n_spilled; i++) {
        uint32_t n;
        if (fread(&n, sizeof n, 1, s->spill) != 1) goto short_read;
        if (!((chosen[i / 8] >> (i % 8)) & 1)) {
            if (fseek(s->spill, (long)n, SEEK_CUR) != 0) goto short_read;
            continue;
        }
        if (n > s->cap_buf) {
            uint8_t *b = dd_realloc(s->buf, n, 1, err);
            if (!b) goto done;
            s->buf = b;
            s->cap_buf = n;
        }
        if (fread(s->buf, 1, n, s->spill) != n) goto short_read;
        if (put(ctx, s->buf, n, err)) goto done;
    }
    rc = 0;
    goto done;
short_read:
    dd_fail(err, DD_ERR_IO, "cannot read the sample's temporary file back: %s", errno ? strerror(errno) : "short read");
done:
    free(chosen);
    return rc;
}
