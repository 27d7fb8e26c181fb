/* A model's layers as ONNX operators (opset 13), in an onnx_builder's graph. Built only with DOODLE_ONNX. */
#ifndef DOODLE_EXPORT_ONNX_LAYERS_H
#define DOODLE_EXPORT_ONNX_LAYERS_H

#include "doodle/model.h"
#include "export/onnx_graph.h"

/* Most nodes and initializers the layers of spec can make (room to give onnx_builder_init). */
size_t onnx_layers_max_nodes(const dd_model_spec *spec);
size_t onnx_layers_max_initializers(const dd_model_spec *spec);

/* Adds the nodes of m's layers, reading the tensor named input; *logits gets the name of the last one's output.
 * *folded counts the BatchNorm layers folded into their convolution. */
int onnx_add_layers(onnx_builder *b, const dd_model *m, const char *input, const char **logits, int *folded);

#endif
