/* Exporting a trained model for other runtimes: ONNX (docs/export.md).
 *
 * The ONNX file is one graph of standard operators, opset 13: Conv (with the BatchNorm that follows it folded in,
 * exactly as doodle's inference folds it), BatchNormalization (one that follows no convolution), Relu, MaxPool,
 * Flatten, Gemm (dense), GlobalAveragePool, and Softmax at the end; dropout and linear activations are left out, as
 * inference skips them. Input "input": float [batch, C, H, W], pixels 0 (background) to 1 (ink) rendered as doodle
 * renders them; output "probabilities": float [batch, classes]; the batch is dynamic. Nodes, tensors and
 * initializers are named after the layers ("conv2d", "conv2d.weight", …), the graph after the model. metadata_props
 * say how to feed it: "classes" (JSON array), "input" (HxWxC), "render" (JSON: line_width, padding),
 * "input_layout", "doodle_version" and "cfg".
 *
 * Built only with protobuf-c and the ONNX schema of python3-onnx (cmake/onnx.cmake); without them
 * dd_export_onnx_available() is false and dd_export_onnx fails with DD_ERR_UNSUPPORTED. */
#ifndef DOODLE_EXPORT_H
#define DOODLE_EXPORT_H

#include <stdbool.h>
#include <stddef.h>

#include "doodle/error.h"
#include "doodle/model.h"

#ifdef __cplusplus
extern "C" {
#endif

#define DD_ONNX_OPSET 13

/* What an export wrote, for the CLI to report. */
typedef struct dd_onnx_summary {
    int nodes;         /* operators in the graph */
    int folded;        /* BatchNorm layers folded into the convolution before them */
    size_t parameters; /* floats in the initializers */
    size_t bytes;      /* size of the file */
} dd_onnx_summary;

bool dd_export_onnx_available(void);

/* Writes m as an ONNX model to path, atomically (a failure leaves no file and any older one in place). summary may
 * be NULL. Errors: DD_ERR_UNSUPPORTED (built without ONNX export, or a layer with no ONNX form), DD_ERR_IO,
 * DD_ERR_NOMEM. */
int dd_export_onnx(const dd_model *m, const char *path, dd_onnx_summary *summary, dd_error *err);

/* What dd_export_web wrote. */
typedef struct dd_web_summary {
    size_t page_bytes;     /* the site without the model: the page, its scripts and onnxruntime-web */
    size_t model_js_bytes; /* model.js: the model's facts and its ONNX file as base64 */
    dd_onnx_summary onnx;  /* model.onnx */
} dd_web_summary;

/* Writes the drawing page of doodle serve as a static site in dir that runs m in the browser (docs/export.md):
 * index.html, its scripts, model.onnx and onnxruntime-web, copied from ort_dir (the dist folder of npm's
 * onnxruntime-web). Atomic: written into dir.tmp, then renamed; an older site in dir (one that holds the file
 * .doodle-site and only the files the export writes) is replaced, any other existing dir is refused. Needs the
 * ONNX export (dd_export_onnx_available). */
int dd_export_web(const dd_model *m, const char *ort_dir, const char *dir, dd_web_summary *summary, dd_error *err);

#ifdef __cplusplus
}
#endif
#endif
