/* doodle export --onnx: a model as one ONNX file (include/doodle/export.h), written with protobuf-c from the schema
 * that python3-onnx installs (cmake/onnx.cmake), atomically. */
#include "doodle/export.h"

#ifndef DOODLE_ONNX
bool dd_export_onnx_available(void) { return false; }

int dd_export_onnx(const dd_model *m, const char *path, dd_onnx_summary *summary, dd_error *err) {
    (void)m;
    (void)summary;
    return dd_fail(err, DD_ERR_UNSUPPORTED,
                   "%s: built without ONNX export (it needs libprotobuf-c-dev, protobuf-c-compiler and python3-onnx "
                   "when doodle is built: scripts/deps.sh installs them)",
                   path);
}
#else
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doodle/files.h"
#include "export/onnx_arena.h"
#include "export/onnx_graph.h"
#include "export/onnx_layers.h"

/* The IR version that goes with opset 13 (ONNX 1.8): the oldest a runtime needs to read the file. */
#define ONNX_IR_VERSION 7
#define INPUT_NAME "input"
#define OUTPUT_NAME "probabilities"
#define BATCH_NAME "batch"

bool dd_export_onnx_available(void) { return true; }

/* cJSON's text copied into the arena (cJSON allocates with malloc). */
static char *json_text(onnx_arena *a, cJSON *j, dd_error *err) {
    char *s = j ? cJSON_PrintUnformatted(j) : NULL;
    cJSON_Delete(j);
    if (!s) {
        dd_fail(err, DD_ERR_NOMEM, "out of memory writing the ONNX metadata");
        return NULL;
    }
    char *copy = onnx_arena_printf(a, err, "%s", s);
    free(s);
    return copy;
}

static char *classes_json(onnx_arena *a, const dd_model *m, dd_error *err) {
    cJSON *arr = cJSON_CreateArray();
    for (int i = 0; arr && i < m->spec->classes; i++)
        if (!cJSON_AddItemToArray(arr, cJSON_CreateString(m->class_names[i]))) {
            cJSON_Delete(arr);
            arr = NULL;
        }
    return json_text(a, arr, err);
}

static char *render_json(onnx_arena *a, const dd_model *m, dd_error *err) {
    cJSON *o = cJSON_CreateObject();
    if (o && (!cJSON_AddNumberToObject(o, "line_width", m->render.line_width) ||
              !cJSON_AddNumberToObject(o, "padding", m->render.padding))) {
        cJSON_Delete(o);
        o = NULL;
    }
    return json_text(a, o, err);
}

/* metadata_props: what a runtime needs to feed the model and read its output. */
static int add_metadata(onnx_arena *a, Onnx__ModelProto *model, const dd_model *m, dd_error *err) {
    const dd_model_spec *s = m->spec;
    const char *keys[] = {"classes", "input", "input_layout", "render", "doodle_version", "cfg"};
    enum { N = sizeof keys / sizeof keys[0] };
    char *values[N] = {
        classes_json(a, m, err),
        onnx_arena_printf(a, err, "%dx%dx%d", s->input.h, s->input.w, s->input.c),
        onnx_arena_printf(a, err,
                          "NCHW float32 [batch, %d, %d, %d]: the drawing rendered as doodle renders it (Google's "
                          "recipe with the render settings), 0 background to 1 ink",
                          s->input.c, s->input.h, s->input.w),
        render_json(a, m, err),
        onnx_arena_printf(a, err, "%s", DOODLE_VERSION),
        onnx_arena_printf(a, err, "%s", s->cfg_text ? s->cfg_text : ""),
    };
    if (!(model->metadata_props = onnx_arena_alloc(a, N, sizeof *model->metadata_props, err))) return -1;
    for (int i = 0; i < N; i++) {
        Onnx__StringStringEntryProto *e = onnx_arena_alloc(a, 1, sizeof *e, err);
        if (!e || !values[i]) return -1;
        onnx__string_string_entry_proto__init(e);
        e->key = (char *)keys[i]; /* read only by the packer */
        e->value = values[i];
        model->metadata_props[model->n_metadata_props++] = e;
    }
    return 0;
}

/* The whole model: graph (input, layers, Softmax, output), opset, producer, metadata. */
static Onnx__ModelProto *build(onnx_arena *a, const dd_model *m, dd_onnx_summary *sum, dd_error *err) {
    const dd_model_spec *s = m->spec;
    for (int i = 0; i < s->n_layers; i++) { /* the graph's tensors are named after the layers */
        const dd_layer_spec *l = &s->layers[i];
        if (!strcmp(l->name, INPUT_NAME) || !strcmp(l->name, OUTPUT_NAME)) {
            dd_fail(err, DD_ERR_UNSUPPORTED,
                    "layer %s (cfg line %d): the ONNX graph's %s has this name; rename the layer", l->name, l->line,
                    strcmp(l->name, INPUT_NAME) ? "output" : "input");
            return NULL;
        }
    }
    onnx_builder b;
    if (onnx_builder_init(&b, a, s->name, onnx_layers_max_nodes(s), onnx_layers_max_initializers(s), err)) return NULL;
    const char *logits;
    if (onnx_add_layers(&b, m, INPUT_NAME, &logits, &sum->folded)) return NULL;
    Onnx__NodeProto *softmax = onnx_add_node(&b, "Softmax", "softmax", &logits, 1, OUTPUT_NAME);
    if (!softmax || onnx_attr_int(&b, softmax, "axis", 1)) return NULL;

    Onnx__GraphProto *g = b.graph;
    int64_t in_dims[4] = {-1, s->input.c, s->input.h, s->input.w}, out_dims[2] = {-1, s->classes};
    g->input = onnx_arena_alloc(a, 1, sizeof *g->input, err);
    g->output = onnx_arena_alloc(a, 1, sizeof *g->output, err);
    if (!g->input || !g->output ||
        !(g->input[0] = onnx_value_info(&b, INPUT_NAME, 4, in_dims, BATCH_NAME,
                                        "drawings rendered as doodle renders them, 0 background to 1 ink")) ||
        !(g->output[0] = onnx_value_info(&b, OUTPUT_NAME, 2, out_dims, BATCH_NAME,
                                         "probability of each class, in the order of metadata_props' classes")))
        return NULL;
    g->n_input = g->n_output = 1;

    Onnx__ModelProto *model = onnx_arena_alloc(a, 1, sizeof *model, err);
    Onnx__OperatorSetIdProto *opset = onnx_arena_alloc(a, 1, sizeof *opset, err);
    if (!model || !opset) return NULL;
    onnx__model_proto__init(model);
    if (!(model->opset_import = onnx_arena_alloc(a, 1, sizeof *model->opset_import, err))) return NULL;
    onnx__operator_set_id_proto__init(opset);
    opset->domain = (char *)""; /* the default domain, ai.onnx; read only by the packer */
    opset->has_version = 1;
    opset->version = DD_ONNX_OPSET;
    model->opset_import[0] = opset;
    model->n_opset_import = 1;
    model->has_ir_version = 1;
    model->ir_version = ONNX_IR_VERSION;
    model->producer_name = (char *)"doodle";
    model->producer_version = (char *)DOODLE_VERSION;
    if (!(model->doc_string = onnx_arena_printf(a, err,
                                                "doodle model %s: %d classes, input %dx%dx%d; the classes and how to "
                                                "render a drawing for it are in metadata_props",
                                                s->name, s->classes, s->input.h, s->input.w, s->input.c)) ||
        add_metadata(a, model, m, err))
        return NULL;
    model->graph = g;
    sum->nodes = (int)g->n_node;
    sum->parameters = b.parameters;
    return model;
}

/* protobuf-c's output buffer, appending to the temporary file of an atomic write. */
typedef struct file_buffer {
    ProtobufCBuffer base;
    FILE *f;
    int errnum; /* the first failing fwrite's errno, or 0 */
    int failed;
} file_buffer;

static void append(ProtobufCBuffer *buffer, size_t len, const uint8_t *data) {
    file_buffer *fb = (file_buffer *)buffer;
    if (fb->failed || !len) return;
    errno = 0;
    if (fwrite(data, 1, len, fb->f) != len) {
        fb->failed = 1;
        fb->errnum = errno;
    }
}

int dd_export_onnx(const dd_model *m, const char *path, dd_onnx_summary *summary, dd_error *err) {
    dd_onnx_summary sum = {0};
    onnx_arena *a = onnx_arena_new(err);
    if (!a) return -1;
    Onnx__ModelProto *model = build(a, m, &sum, err);
    int rc = -1;
    if (model) {
        dd_atomic_file out;
        sum.bytes = protobuf_c_message_get_packed_size(&model->base);
        if (sum.bytes > INT32_MAX) /* protobuf's limit: no reader takes a larger message */
            dd_fail(err, DD_ERR_RANGE, "%s: the model needs %zu bytes in ONNX, over protobuf's 2 GB", path, sum.bytes);
        else if (!dd_atomic_open(&out, path, err)) {
            file_buffer fb = {.base = {.append = append}, .f = out.f};
            size_t written = protobuf_c_message_pack_to_buffer(&model->base, &fb.base);
            if (fb.failed)
                dd_atomic_fail(&out, fb.errnum, err);
            else if (written != sum.bytes) {
                dd_atomic_abort(&out);
                dd_fail(err, DD_ERR_IO, "%s: protobuf-c wrote %zu bytes of %zu", path, written, sum.bytes);
            } else
                rc = dd_atomic_commit(&out, err);
        }
    }
    onnx_arena_free(a);
    if (!rc && summary) *summary = sum;
    return rc;
}
#endif
