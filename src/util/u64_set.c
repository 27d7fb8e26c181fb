#include "util/u64_set.h"

#include <stdlib.h>

#include "util/alloc.h"

void dd_u64_set_init(dd_u64_set *s) { s->slots = NULL; s->cap = s->count = 0; }

void dd_u64_set_free(dd_u64_set *s) {
    free(s->slots);
    dd_u64_set_init(s);
}

static uint64_t mix(uint64_t k) { /* key_ids are not uniformly spread in their low bits */
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    return k;
}

static void insert_new(uint64_t *slots, uint64_t cap, uint64_t key) {
    uint64_t i = mix(key) & (cap - 1);
    while (slots[i]) i = (i + 1) & (cap - 1);
    slots[i] = key;
}

bool dd_u64_set_contains(const dd_u64_set *s, uint64_t key) {
    if (!s->cap) return false;
    for (uint64_t i = mix(key) & (s->cap - 1); s->slots[i]; i = (i + 1) & (s->cap - 1))
        if (s->slots[i] == key) return true;
    return false;
}

int dd_u64_set_add(dd_u64_set *s, uint64_t key, dd_error *err) {
    if (2 * (s->count + 1) > s->cap) { /* keep the load under one half */
        uint64_t cap = s->cap ? 2 * s->cap : 1024;
        uint64_t *slots = dd_calloc(cap, sizeof *slots, err);
        if (!slots) return -1;
        for (uint64_t i = 0; i < s->cap; i++)
            if (s->slots[i]) insert_new(slots, cap, s->slots[i]);
        free(s->slots);
        s->slots = slots;
        s->cap = cap;
    }
    uint64_t i = mix(key) & (s->cap - 1);
    while (s->slots[i]) {
        if (s->slots[i] == key) return 0;
        i = (i + 1) & (s->cap - 1);
    }
    s->slots[i] = key;
    s->count++;
    return 1;
}
