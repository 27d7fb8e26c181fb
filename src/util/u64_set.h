/* A set of 64-bit keys (open addressing, linear probing), for prep's key_id de-duplication over millions of
 * drawings. Key 0 is reserved as the empty slot; callers do not insert 0. */
#ifndef DOODLE_UTIL_U64_SET_H
#define DOODLE_UTIL_U64_SET_H

#include <stdbool.h>
#include <stdint.h>

#include "doodle/error.h"

typedef struct dd_u64_set {
    uint64_t *slots;
    uint64_t cap, count; /* cap is a power of two */
} dd_u64_set;

void dd_u64_set_init(dd_u64_set *s);
void dd_u64_set_free(dd_u64_set *s);
bool dd_u64_set_contains(const dd_u64_set *s, uint64_t key);
/* Returns 1 if key was added, 0 if it was already there, -1 on allocation failure. */
int dd_u64_set_add(dd_u64_set *s, uint64_t key, dd_error *err);

#endif
