#include "doodle/alloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int overflows(size_t count, size_t size) { return size && count > SIZE_MAX / size; }

void *dd_malloc(size_t count, size_t size, dd_error *err) {
    if (overflows(count, size)) {
        dd_fail(err, DD_ERR_NOMEM, "allocation of %zu x %zu bytes overflows", count, size);
        return NULL;
    }
    size_t bytes = count * size;
    void *p = malloc(bytes ? bytes : 1);
    if (!p) dd_fail(err, DD_ERR_NOMEM, "out of memory allocating %zu bytes", count * size);
    return p;
}

void *dd_calloc(size_t count, size_t size, dd_error *err) {
    if (overflows(count, size)) {
        dd_fail(err, DD_ERR_NOMEM, "allocation of %zu x %zu bytes overflows", count, size);
        return NULL;
    }
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p) dd_fail(err, DD_ERR_NOMEM, "out of memory allocating %zu bytes", count * size);
    return p;
}

void *dd_realloc(void *ptr, size_t count, size_t size, dd_error *err) {
    if (overflows(count, size)) {
        dd_fail(err, DD_ERR_NOMEM, "allocation of %zu x %zu bytes overflows", count, size);
        return NULL;
    }
    size_t bytes = count * size;
    void *p = realloc(ptr, bytes ? bytes : 1);
    if (!p) dd_fail(err, DD_ERR_NOMEM, "out of memory allocating %zu bytes", count * size);
    return p;
}

char *dd_strdup(const char *s, dd_error *err) {
    size_t n = strlen(s) + 1;
    char *p = dd_malloc(n, 1, err);
    if (p) memcpy(p, s, n);
    return p;
}
