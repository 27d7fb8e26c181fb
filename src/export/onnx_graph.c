/* Building an ONNX graph (export/onnx_graph.h). */
#ifdef DOODLE_ONNX
#include "export/onnx_graph.h"

#include <string.h>

#define MAX_ATTRIBUTES 4 /* Conv's kernel_shape, strides and pads are the most a node here has */

static char *copy(onnx_builder *b, const char *s) { return onnx_arena_printf(b->arena, b->err, "%s", s); }

int onnx_builder_init(onnx_builder *b, onnx_arena *arena, const char *name, size_t node_cap, size_t init_cap,
                      dd_error *err) {
    *b = (onnx_builder){.arena = arena, .node_cap = node_cap, .init_cap = init_cap, .err = err};
    Onnx__GraphProto *g = onnx_arena_alloc(arena, 1, sizeof *g, err);
    if (!g) return -1;
    onnx__graph_proto__init(g);
    if (!(g->name = copy(b, name)) || !(g->node = onnx_arena_alloc(arena, node_cap, sizeof *g->node, err)) ||
        !(g->initializer = onnx_arena_alloc(arena, init_cap, sizeof *g->initializer, err)))
        return -1;
    b->graph = g;
    return 0;
}

Onnx__NodeProto *onnx_add_node(onnx_builder *b, const char *op, const char *name, const char *const *inputs,
                               size_t n_in, const char *output) {
    Onnx__GraphProto *g = b->graph;
    if (g->n_node == b->node_cap) {
        dd_fail(b->err, DD_ERR_RANGE, "ONNX graph: more than %zu nodes", b->node_cap);
        return NULL;
    }
    Onnx__NodeProto *n = onnx_arena_alloc(b->arena, 1, sizeof *n, b->err);
    if (!n) return NULL;
    onnx__node_proto__init(n);
    if (!(n->op_type = copy(b, op)) || !(n->name = copy(b, name)) ||
        !(n->input = onnx_arena_alloc(b->arena, n_in, sizeof *n->input, b->err)) ||
        !(n->output = onnx_arena_alloc(b->arena, 1, sizeof *n->output, b->err)) || !(n->output[0] = copy(b, output)) ||
        !(n->attribute = onnx_arena_alloc(b->arena, MAX_ATTRIBUTES, sizeof *n->attribute, b->err)))
        return NULL;
    for (size_t i = 0; i < n_in; i++)
        if (!(n->input[i] = copy(b, inputs[i]))) return NULL;
    n->n_input = n_in;
    n->n_output = 1;
    g->node[g->n_node++] = n;
    return n;
}

static Onnx__AttributeProto *new_attr(onnx_builder *b, Onnx__NodeProto *n, const char *name,
                                      Onnx__AttributeProto__AttributeType type) {
    if (n->n_attribute == MAX_ATTRIBUTES) {
        dd_fail(b->err, DD_ERR_RANGE, "ONNX node %s: more than %d attributes", n->name, MAX_ATTRIBUTES);
        return NULL;
    }
    Onnx__AttributeProto *a = onnx_arena_alloc(b->arena, 1, sizeof *a, b->err);
    if (!a) return NULL;
    onnx__attribute_proto__init(a);
    if (!(a->name = copy(b, name))) return NULL;
    a->has_type = 1;
    a->type = type;
    n->attribute[n->n_attribute++] = a;
    return a;
}

int onnx_attr_int(onnx_builder *b, Onnx__NodeProto *n, const char *name, int64_t v) {
    Onnx__AttributeProto *a = new_attr(b, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
    if (!a) return -1;
    a->has_i = 1;
    a->i = v;
    return 0;
}

int onnx_attr_float(onnx_builder *b, Onnx__NodeProto *n, const char *name, float v) {
    Onnx__AttributeProto *a = new_attr(b, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
    if (!a) return -1;
    a->has_f = 1;
    a->f = v;
    return 0;
}

int onnx_attr_ints(onnx_builder *b, Onnx__NodeProto *n, const char *name, const int64_t *v, size_t count) {
    Onnx__AttributeProto *a = new_attr(b, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
    if (!a || !(a->ints = onnx_arena_alloc(b->arena, count, sizeof *a->ints, b->err))) return -1;
    memcpy(a->ints, v, count * sizeof *v);
    a->n_ints = count;
    return 0;
}

const char *onnx_add_initializer(onnx_builder *b, const char *name, const float *data, int ndim, const int64_t *dims,
                                 const char *doc) {
    Onnx__GraphProto *g = b->graph;
    if (g->n_initializer == b->init_cap) {
        dd_fail(b->err, DD_ERR_RANGE, "ONNX graph: more than %zu initializers", b->init_cap);
        return NULL;
    }
    Onnx__TensorProto *t = onnx_arena_alloc(b->arena, 1, sizeof *t, b->err);
    if (!t) return NULL;
    onnx__tensor_proto__init(t);
    if (!(t->name = copy(b, name)) || !(t->dims = onnx_arena_alloc(b->arena, (size_t)ndim, sizeof *t->dims, b->err)) ||
        (doc && !(t->doc_string = copy(b, doc))))
        return NULL;
    size_t count = 1;
    for (int i = 0; i < ndim; i++) count *= (size_t)(t->dims[i] = dims[i]);
    t->n_dims = (size_t)ndim;
    t->has_data_type = 1;
    t->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    /* packed repeated floats, which protobuf-c writes in the wire's byte order on any host; it only reads them */
    t->float_data = (float *)data;
    t->n_float_data = count;
    g->initializer[g->n_initializer++] = t;
    b->parameters += count;
    return t->name;
}

Onnx__ValueInfoProto *onnx_value_info(onnx_builder *b, const char *name, int ndim, const int64_t *dims,
                                      const char *dynamic_name, const char *doc) {
    onnx_arena *A = b->arena;
    Onnx__ValueInfoProto *v = onnx_arena_alloc(A, 1, sizeof *v, b->err);
    Onnx__TypeProto *type = onnx_arena_alloc(A, 1, sizeof *type, b->err);
    Onnx__TypeProto__Tensor *tensor = onnx_arena_alloc(A, 1, sizeof *tensor, b->err);
    Onnx__TensorShapeProto *shape = onnx_arena_alloc(A, 1, sizeof *shape, b->err);
    if (!v || !type || !tensor || !shape) return NULL;
    onnx__value_info_proto__init(v);
    onnx__type_proto__init(type);
    onnx__type_proto__tensor__init(tensor);
    onnx__tensor_shape_proto__init(shape);
    if (!(v->name = copy(b, name)) || (doc && !(v->doc_string = copy(b, doc))) ||
        !(shape->dim = onnx_arena_alloc(A, (size_t)ndim, sizeof *shape->dim, b->err)))
        return NULL;
    for (int i = 0; i < ndim; i++) {
        Onnx__TensorShapeProto__Dimension *d = onnx_arena_alloc(A, 1, sizeof *d, b->err);
        if (!d) return NULL;
        onnx__tensor_shape_proto__dimension__init(d);
        if (dims[i] < 0) {
            d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
            if (!(d->dim_param = copy(b, dynamic_name))) return NULL;
        } else {
            d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
            d->dim_value = dims[i];
        }
        shape->dim[i] = d;
    }
    shape->n_dim = (size_t)ndim;
    tensor->has_elem_type = 1;
    tensor->elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    tensor->shape = shape;
    type->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    type->tensor_type = tensor;
    v->type = type;
    return v;
}
#endif
