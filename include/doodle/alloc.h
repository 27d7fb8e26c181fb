/* Checked allocation: every allocation in the library goes through these, so that a failure becomes a DD_ERR_NOMEM
 * error instead of a NULL dereference. Sizes are checked for multiplication overflow. Public so that programs on
 * the library (the doodle CLI among them) report a failed allocation as the library does. */
#ifndef DOODLE_ALLOC_H
#define DOODLE_ALLOC_H

#include <stddef.h>

#include "doodle/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Returns NULL and sets err on failure (or on count * size overflowing). */
void *dd_malloc(size_t count, size_t size, dd_error *err);
void *dd_calloc(size_t count, size_t size, dd_error *err);
/* On failure the old block is left untouched and NULL is returned. */
void *dd_realloc(void *ptr, size_t count, size_t size, dd_error *err);
char *dd_strdup(const char *s, dd_error *err);

#ifdef __cplusplus
}
#endif
#endif
