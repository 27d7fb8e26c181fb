/* Checked allocation: every allocation in the library goes through these, so a failure becomes a DD_ERR_NOMEM
 * error instead of a NULL dereference. Sizes are checked for multiplication overflow. */
#ifndef DOODLE_UTIL_ALLOC_H
#define DOODLE_UTIL_ALLOC_H

#include <stddef.h>

#include "doodle/error.h"

/* Returns NULL and sets err on failure (or on count * size overflowing). */
void *dd_malloc(size_t count, size_t size, dd_error *err);
void *dd_calloc(size_t count, size_t size, dd_error *err);
/* On failure the old block is left untouched and NULL is returned. */
void *dd_realloc(void *ptr, size_t count, size_t size, dd_error *err);
char *dd_strdup(const char *s, dd_error *err);

#endif
