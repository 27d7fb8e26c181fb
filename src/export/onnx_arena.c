/* The ONNX exporter's region (export/onnx_arena.h): a list of blocks, each piece carved from the newest block, a
 * large piece given a block of its own. */
#include "export/onnx_arena.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doodle/alloc.h"

#define BLOCK_BYTES ((size_t)64 * 1024)

typedef struct block {
    struct block *next;
    size_t used, size;
    max_align_t data[]; /* size bytes */
} block;

struct onnx_arena {
    block *head;
};

onnx_arena *onnx_arena_new(dd_error *err) { return dd_calloc(1, sizeof(onnx_arena), err); }

void onnx_arena_free(onnx_arena *a) {
    if (!a) return;
    for (block *b = a->head, *next; b; b = next) {
        next = b->next;
        free(b);
    }
    free(a);
}

void *onnx_arena_alloc(onnx_arena *a, size_t count, size_t size, dd_error *err) {
    const size_t align = sizeof(max_align_t);
    if (size && count > (SIZE_MAX - sizeof(block) - align) / size) {
        dd_fail(err, DD_ERR_NOMEM, "allocation of %zu x %zu bytes overflows", count, size);
        return NULL;
    }
    size_t bytes = (count * size + align - 1) / align * align;
    if (!bytes) bytes = align;
    block *b = a->head;
    if (!b || b->size - b->used < bytes) {
        size_t want = bytes > BLOCK_BYTES ? bytes : BLOCK_BYTES;
        if (!(b = dd_malloc(1, sizeof(block) + want, err))) return NULL;
        b->used = 0;
        b->size = want;
        if (bytes > BLOCK_BYTES && a->head) { /* its own block, behind the current one, which keeps its room */
            b->next = a->head->next;
            a->head->next = b;
        } else {
            b->next = a->head;
            a->head = b;
        }
    }
    void *p = (char *)b->data + b->used;
    b->used += bytes;
    memset(p, 0, bytes);
    return p;
}

char *onnx_arena_printf(onnx_arena *a, dd_error *err, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        dd_fail(err, DD_ERR_USAGE, "cannot format a name");
        return NULL;
    }
    char *s = onnx_arena_alloc(a, (size_t)n + 1, 1, err);
    if (!s) return NULL;
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}
