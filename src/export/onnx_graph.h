/* Building an ONNX graph (the protobuf-c messages of the schema compiled from python3-onnx's onnx.proto): nodes with
 * their attributes, initializers, and typed inputs and outputs, every piece in one arena. Built only with
 * DOODLE_ONNX (cmake/onnx.cmake). */
#ifndef DOODLE_EXPORT_ONNX_GRAPH_H
#define DOODLE_EXPORT_ONNX_GRAPH_H

#include <stddef.h>
#include <stdint.h>

#include "doodle/error.h"
#include "export/onnx_arena.h"
#include "onnx.pb-c.h"

typedef struct onnx_builder {
    onnx_arena *arena;
    Onnx__GraphProto *graph;
    size_t node_cap, init_cap; /* room made up front in graph->node and graph->initializer */
    size_t parameters;         /* floats in the initializers so far */
    dd_error *err;
} onnx_builder;

/* A graph named name with room for node_cap nodes and init_cap initializers. */
int onnx_builder_init(onnx_builder *b, onnx_arena *arena, const char *name, size_t node_cap, size_t init_cap,
                      dd_error *err);
/* Appends a node: op (opset's operator), name, inputs (n_in names), one output. NULL on failure (err set). */
Onnx__NodeProto *onnx_add_node(onnx_builder *b, const char *op, const char *name, const char *const *inputs,
                               size_t n_in, const char *output);
int onnx_attr_int(onnx_builder *b, Onnx__NodeProto *n, const char *name, int64_t v);
int onnx_attr_float(onnx_builder *b, Onnx__NodeProto *n, const char *name, float v);
int onnx_attr_ints(onnx_builder *b, Onnx__NodeProto *n, const char *name, const int64_t *v, size_t count);
/* A float initializer of shape dims[ndim]: the data is not copied and must outlive the write. Returns its name (kept
 * in the arena) or NULL. */
const char *onnx_add_initializer(onnx_builder *b, const char *name, const float *data, int ndim, const int64_t *dims,
                                 const char *doc);
/* A float tensor's type for the graph's input or output: dims[ndim], where a dim < 0 is the named dynamic dimension
 * dynamic_name. */
Onnx__ValueInfoProto *onnx_value_info(onnx_builder *b, const char *name, int ndim, const int64_t *dims,
                                      const char *dynamic_name, const char *doc);

#endif
