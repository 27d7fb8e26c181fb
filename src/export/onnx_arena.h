/* One region for the many small pieces of an ONNX message tree (nodes, attributes, names, shapes): each piece is
 * allocated with a check, and all of them are freed at once when the file is written. */
#ifndef DOODLE_EXPORT_ONNX_ARENA_H
#define DOODLE_EXPORT_ONNX_ARENA_H

#include <stddef.h>

#include "doodle/error.h"

typedef struct onnx_arena onnx_arena;

onnx_arena *onnx_arena_new(dd_error *err);
void onnx_arena_free(onnx_arena *a);
/* count x size zeroed bytes, aligned for any type; NULL and err set on failure (or overflow). */
void *onnx_arena_alloc(onnx_arena *a, size_t count, size_t size, dd_error *err);
/* A printf-formatted string in the arena. */
char *onnx_arena_printf(onnx_arena *a, dd_error *err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
