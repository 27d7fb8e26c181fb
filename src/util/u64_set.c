#include "util/u64_set.h"

#include <stdlib.h>
#include <string.h>

#include "doodle/alloc.h"

#define SEG_BITS 16
#define N_SEGS (1u << SEG_BITS)
#define REM_BITS (64 - SEG_BITS)
#define REM_MASK ((UINT64_C(1) << REM_BITS) - 1)
#define SLOT 6  /* bytes a stored remainder takes */
#define SLACK 2 /* bytes after the last slot, so a slot can be read with one 8-byte load */
#define MAX_LOAD_NUM 9
#define MAX_LOAD_DEN 10 /* 0.9, and growth by 9/8 leaves 0.8: about 7.2 bytes a key, probes still short */

struct util_u64_seg {
    uint8_t *slots; /* cap slots of SLOT bytes; 0 = empty (the remainder 0 lives in zero_rem) */
    uint32_t cap, count;
};

void util_u64_set_init(util_u64_set *s) { memset(s, 0, sizeof *s); }

void util_u64_set_free(util_u64_set *s) {
    if (s->segs)
        for (uint32_t i = 0; i < N_SEGS; i++) free(s->segs[i].slots);
    free(s->segs);
    free(s->zero_rem);
    util_u64_set_init(s);
}

/* murmur3's finaliser: a bijection of the 64-bit keys (key_ids are not uniformly spread in any of their bits), so
 * the segment number and the stored 48 bits together still say which key it was. */
static uint64_t mix(uint64_t k) {
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    k *= 0xc4ceb9fe1a85ec53ULL;
    k ^= k >> 33;
    return k;
}

static uint64_t slot_get(const uint8_t *slots, uint32_t i) {
    uint64_t v;
    memcpy(&v, slots + (size_t)i * SLOT, 8); /* the SLACK bytes keep this inside the block */
    return v & REM_MASK;                     /* little-endian hosts only, as the rest of doodle */
}

static void slot_put(uint8_t *slots, uint32_t i, uint64_t rem) { memcpy(slots + (size_t)i * SLOT, &rem, SLOT); }

static uint32_t home(uint64_t rem, uint32_t cap) { return (uint32_t)(((rem >> 16) * cap) >> 32); }

/* Slot of rem in seg, or of the empty slot where it would go. */
static uint32_t probe(const util_u64_seg *seg, uint64_t rem, bool *found) {
    uint32_t i = home(rem, seg->cap);
    for (;;) {
        uint64_t v = slot_get(seg->slots, i);
        if (v == rem || v == 0) {
            *found = v == rem;
            return i;
        }
        if (++i == seg->cap) i = 0;
    }
}

bool util_u64_set_contains(const util_u64_set *s, uint64_t key) {
    if (!s->segs) return false;
    uint64_t h = mix(key), rem = h & REM_MASK;
    uint32_t si = (uint32_t)(h >> REM_BITS);
    if (rem == 0) return (s->zero_rem[si / 8] >> (si % 8)) & 1;
    const util_u64_seg *seg = &s->segs[si];
    bool found = false;
    if (seg->cap) probe(seg, rem, &found);
    return found;
}

void util_u64_set_prefetch_table(const util_u64_set *s, uint64_t key) {
    if (s->segs) __builtin_prefetch(&s->segs[mix(key) >> REM_BITS]);
}

void util_u64_set_prefetch(const util_u64_set *s, uint64_t key) {
    if (!s->segs) return;
    uint64_t h = mix(key);
    const util_u64_seg *seg = &s->segs[h >> REM_BITS];
    if (seg->cap) __builtin_prefetch(seg->slots + (size_t)home(h & REM_MASK, seg->cap) * SLOT);
}

static int grow(util_u64_set *s, util_u64_seg *seg, dd_error *err) {
    uint32_t cap = seg->cap ? seg->cap + seg->cap / 8 + 1 : 8;
    uint8_t *slots = dd_calloc((size_t)cap * SLOT + SLACK, 1, err);
    if (!slots) return -1;
    util_u64_seg bigger = {slots, cap, seg->count};
    for (uint32_t i = 0; i < seg->cap; i++) {
        uint64_t v = slot_get(seg->slots, i);
        bool found;
        if (v) slot_put(slots, probe(&bigger, v, &found), v);
    }
    if (seg->cap) s->bytes -= (uint64_t)seg->cap * SLOT + SLACK;
    s->bytes += (uint64_t)cap * SLOT + SLACK;
    free(seg->slots);
    *seg = bigger;
    return 0;
}

int util_u64_set_add(util_u64_set *s, uint64_t key, dd_error *err) {
    if (!s->segs) {
        s->segs = dd_calloc(N_SEGS, sizeof *s->segs, err);
        s->zero_rem = s->segs ? dd_calloc(N_SEGS / 8, 1, err) : NULL;
        if (!s->zero_rem) {
            free(s->segs);
            s->segs = NULL;
            return -1;
        }
        s->bytes = N_SEGS * sizeof *s->segs + N_SEGS / 8;
    }
    uint64_t h = mix(key), rem = h & REM_MASK;
    uint32_t si = (uint32_t)(h >> REM_BITS);
    if (rem == 0) {
        uint8_t bit = (uint8_t)(1u << (si % 8));
        if (s->zero_rem[si / 8] & bit) return 0;
        s->zero_rem[si / 8] |= bit;
        s->count++;
        return 1;
    }
    util_u64_seg *seg = &s->segs[si];
    bool found = false;
    if (seg->cap) {
        uint32_t i = probe(seg, rem, &found);
        if (found) return 0;
        if ((uint64_t)(seg->count + 1) * MAX_LOAD_DEN <= (uint64_t)seg->cap * MAX_LOAD_NUM) {
            slot_put(seg->slots, i, rem);
            seg->count++;
            s->count++;
            return 1;
        }
    }
    do {
        if (grow(s, seg, err)) return -1;
    } while ((uint64_t)(seg->count + 1) * MAX_LOAD_DEN > (uint64_t)seg->cap * MAX_LOAD_NUM);
    slot_put(seg->slots, probe(seg, rem, &found), rem);
    seg->count++;
    s->count++;
    return 1;
}
