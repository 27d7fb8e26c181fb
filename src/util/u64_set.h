/* A set of 64-bit keys for prep's key_id de-duplication over tens of millions of drawings, in about 7-8 bytes a
 * key: keys go through a bijective mix; its top 16 bits pick one of 65,536 small open-addressing tables, which store
 * only the other 48 bits (6 bytes a slot) at a load of 0.8-0.9 and grow one at a time by an eighth (so no moment
 * holds two copies of the whole set). Key 0 may be stored like any other. */
#ifndef DOODLE_UTIL_U64_SET_H
#define DOODLE_UTIL_U64_SET_H

#include <stdbool.h>
#include <stdint.h>

#include "doodle/error.h"

typedef struct util_u64_seg util_u64_seg;

typedef struct util_u64_set {
    util_u64_seg *segs; /* [UTIL_U64_SET_SEGS], allocated at the first add */
    uint8_t *zero_rem;  /* bitmap over the segments: the key whose stored 48 bits are all zero is in */
    uint64_t count;
    uint64_t bytes; /* memory held, for the record */
} util_u64_set;

void util_u64_set_init(util_u64_set *s);
void util_u64_set_free(util_u64_set *s);
bool util_u64_set_contains(const util_u64_set *s, uint64_t key);
/* Start loading the memory a lookup of key will read, a few keys ahead (at 10 M keys each lookup is otherwise two
 * waits on memory): first the key's table (about 16 keys ahead), then its slot (reads the table; about 8 ahead). */
void util_u64_set_prefetch_table(const util_u64_set *s, uint64_t key);
void util_u64_set_prefetch(const util_u64_set *s, uint64_t key);
/* Returns 1 if key was added, 0 if it was already there, -1 on allocation failure. */
int util_u64_set_add(util_u64_set *s, uint64_t key, dd_error *err);

#endif
