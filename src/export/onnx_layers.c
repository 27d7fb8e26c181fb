/* A model's layers as ONNX operators (export/onnx_layers.h). The graph computes what dd_model_infer computes:
 *
 *   conv2d                  Conv (weight [out, in, kh, kw], bias), Keras' "same" as explicit pads, the extra row
 *                           and column at the bottom and right; then Relu when the layer has activation = relu
 *   conv2d + batchnorm      one Conv whose weights and bias have the BatchNorm's running statistics folded in, with
 *                           the very float arithmetic of src/nn/op_conv2d.c (fold_batchnorm), so that ONNX Runtime
 *                           multiplies the same weights doodle does (closer than a BatchNormalization node, which
 *                           ONNX Runtime folds itself in its own arithmetic)
 *   batchnorm (other)       BatchNormalization with the running statistics and epsilon
 *   activation              Relu; linear is left out
 *   maxpool                 MaxPool (no padding, floor: Keras' and doodle's rule)
 *   flatten                 Flatten (axis 1: NCHW order, as doodle's flat vectors are)
 *   dense                   Gemm (transB: the weight is [out, in]), then Relu for activation = relu; a Flatten
 *                           first when its input is still an image
 *   globalavgpool           GlobalAveragePool, then Flatten: doodle's output is flat, [batch, C]
 *   dropout                 left out (the identity at inference)
 *
 * Every node is named after its layer, and so is its output: the layer's name is the tensor a tool shows. */
#ifdef DOODLE_ONNX
#include "export/onnx_layers.h"

#include <math.h>
#include <stdio.h>

/* Per layer: at most a Flatten, the operator and a Relu; and Softmax at the end. */
size_t onnx_layers_max_nodes(const dd_model_spec *spec) { return 3 * (size_t)spec->n_layers + 1; }
/* Per layer: at most BatchNorm's four tensors. */
size_t onnx_layers_max_initializers(const dd_model_spec *spec) { return 4 * (size_t)spec->n_layers; }

/* A conv without activation followed by a BatchNorm: what an inference workspace folds (src/nn/op_conv2d.c). */
static int folds(const dd_model_spec *s, int i) {
    const dd_layer_spec *l = &s->layers[i];
    return l->kind == DD_LAYER_CONV2D && l->u.conv.activation == DD_ACT_LINEAR && i + 1 < s->n_layers &&
           s->layers[i + 1].kind == DD_LAYER_BATCHNORM;
}

/* The conv's weights then bias with the BatchNorm folded in: src/nn/op_conv2d.c's fold_batchnorm, line for line. */
static float *folded_weights(onnx_builder *b, const dd_model *m, const dd_layer_spec *conv, const dd_layer_spec *bn) {
    const int filters = conv->u.conv.filters;
    const size_t per_filter = conv->weight.count / (size_t)filters;
    float *out = onnx_arena_alloc(b->arena, conv->weight.count + (size_t)filters, sizeof *out, b->err);
    if (!out) return NULL;
    const float *P = m->params;
    const float *w = P + conv->weight.offset, *bias = conv->bias.count ? P + conv->bias.offset : NULL;
    const float *gamma = P + bn->weight.offset, *beta = P + bn->bias.offset;
    const float *mean = m->state + bn->running_mean.offset, *var = m->state + bn->running_var.offset;
    for (int f = 0; f < filters; f++) {
        float k = gamma[f] * (float)(1.0 / sqrt((double)var[f] + bn->u.bn.epsilon));
        for (size_t j = 0; j < per_filter; j++) out[(size_t)f * per_filter + j] = w[(size_t)f * per_filter + j] * k;
        out[conv->weight.count + (size_t)f] = ((bias ? bias[f] : 0.0f) - mean[f]) * k + beta[f];
    }
    return out;
}

/* Zero padding after the last row (or column) that Keras' "same" needs beyond pad_before; 0 for "valid". */
static int64_t pad_after(int in, int out, int kernel, int stride, int pad_before) {
    int64_t total = (int64_t)(out - 1) * stride + kernel - in;
    return total - pad_before > 0 ? total - pad_before : 0;
}

/* Appends a Relu named "<layer>.relu" reading from, writing the layer's name. */
static int add_relu(onnx_builder *b, const char *layer, const char *from) {
    char *name = onnx_arena_printf(b->arena, b->err, "%s.relu", layer);
    return name && onnx_add_node(b, "Relu", name, &from, 1, layer) ? 0 : -1;
}

static int add_conv(onnx_builder *b, const dd_model *m, int i, const char **cur, int *folded) {
    const dd_model_spec *s = m->spec;
    const dd_layer_spec *l = &s->layers[i];
    const dd_conv2d_spec *c = &l->u.conv;
    const int fold = folds(s, i);
    const dd_layer_spec *bn = fold ? &s->layers[i + 1] : NULL;
    const float *w = m->params + l->weight.offset, *bias = l->bias.count ? m->params + l->bias.offset : NULL;
    char doc[160] = "";
    if (fold) {
        float *f = folded_weights(b, m, l, bn);
        if (!f) return -1;
        w = f;
        bias = f + l->weight.count;
        snprintf(doc, sizeof doc, "%s (running statistics, epsilon %g) folded in, as doodle's inference does", bn->name,
                 (double)bn->u.bn.epsilon);
    }
    int64_t wdims[4] = {c->filters, l->in.c, c->kernel_h, c->kernel_w}, bdims[1] = {c->filters};
    char *wname = onnx_arena_printf(b->arena, b->err, "%s.weight", l->name);
    char *bname = onnx_arena_printf(b->arena, b->err, "%s.bias", l->name);
    if (!wname || !bname || !onnx_add_initializer(b, wname, w, 4, wdims, fold ? doc : NULL) ||
        (bias && !onnx_add_initializer(b, bname, bias, 1, bdims, fold ? doc : NULL)))
        return -1;
    /* the output: the layer's name, or the BatchNorm's when folded; "<layer>.linear" when a Relu follows */
    const char *out = fold ? bn->name : l->name;
    char *linear = c->activation == DD_ACT_RELU ? onnx_arena_printf(b->arena, b->err, "%s.linear", l->name) : NULL;
    if (c->activation == DD_ACT_RELU && !linear) return -1;
    const char *in[3] = {*cur, wname, bname};
    Onnx__NodeProto *n = onnx_add_node(b, "Conv", l->name, in, bias ? 3 : 2, linear ? linear : out);
    if (!n) return -1;
    if (fold && !(n->doc_string = onnx_arena_printf(b->arena, b->err, "%s", doc))) return -1;
    int64_t kernel[2] = {c->kernel_h, c->kernel_w}, strides[2] = {c->stride, c->stride};
    int64_t pads[4] = {c->pad_top, c->pad_left, pad_after(l->in.h, l->out.h, c->kernel_h, c->stride, c->pad_top),
                       pad_after(l->in.w, l->out.w, c->kernel_w, c->stride, c->pad_left)};
    if (onnx_attr_ints(b, n, "kernel_shape", kernel, 2) || onnx_attr_ints(b, n, "strides", strides, 2) ||
        onnx_attr_ints(b, n, "pads", pads, 4))
        return -1;
    if (linear && add_relu(b, l->name, linear)) return -1;
    *cur = out;
    *folded += fold;
    return fold; /* layers taken beyond this one */
}

static int add_batchnorm(onnx_builder *b, const dd_model *m, const dd_layer_spec *l, const char **cur) {
    static const char *const suffix[4] = {"weight", "bias", "running_mean", "running_var"};
    const float *data[4] = {m->params + l->weight.offset, m->params + l->bias.offset, m->state + l->running_mean.offset,
                            m->state + l->running_var.offset};
    const char *in[5] = {*cur};
    int64_t dims[1] = {l->in.c};
    for (int k = 0; k < 4; k++) {
        char *name = onnx_arena_printf(b->arena, b->err, "%s.%s", l->name, suffix[k]);
        if (!name || !(in[k + 1] = onnx_add_initializer(b, name, data[k], 1, dims, NULL))) return -1;
    }
    Onnx__NodeProto *n = onnx_add_node(b, "BatchNormalization", l->name, in, 5, l->name);
    if (!n || onnx_attr_float(b, n, "epsilon", l->u.bn.epsilon)) return -1;
    *cur = l->name;
    return 0;
}

static int add_dense(onnx_builder *b, const dd_model *m, const dd_layer_spec *l, const char **cur) {
    const dd_dense_spec *d = &l->u.dense;
    if (l->in.rank == 3) { /* an image straight into a dense layer: flat in NCHW order, as doodle reads it */
        char *name = onnx_arena_printf(b->arena, b->err, "%s.flatten", l->name);
        Onnx__NodeProto *n = name ? onnx_add_node(b, "Flatten", name, cur, 1, name) : NULL;
        if (!n || onnx_attr_int(b, n, "axis", 1)) return -1;
        *cur = name;
    }
    int64_t wdims[2] = {d->units, (int64_t)dd_shape_count(l->in)}, bdims[1] = {d->units};
    char *wname = onnx_arena_printf(b->arena, b->err, "%s.weight", l->name);
    char *bname = onnx_arena_printf(b->arena, b->err, "%s.bias", l->name);
    if (!wname || !bname || !onnx_add_initializer(b, wname, m->params + l->weight.offset, 2, wdims, NULL) ||
        (l->bias.count && !onnx_add_initializer(b, bname, m->params + l->bias.offset, 1, bdims, NULL)))
        return -1;
    char *linear = d->activation == DD_ACT_RELU ? onnx_arena_printf(b->arena, b->err, "%s.linear", l->name) : NULL;
    if (d->activation == DD_ACT_RELU && !linear) return -1;
    const char *in[3] = {*cur, wname, bname};
    Onnx__NodeProto *n = onnx_add_node(b, "Gemm", l->name, in, l->bias.count ? 3 : 2, linear ? linear : l->name);
    if (!n || onnx_attr_int(b, n, "transB", 1)) return -1;
    if (linear && add_relu(b, l->name, linear)) return -1;
    *cur = l->name;
    return 0;
}

int onnx_add_layers(onnx_builder *b, const dd_model *m, const char *input, const char **logits, int *folded) {
    const dd_model_spec *s = m->spec;
    const char *cur = input;
    *folded = 0;
    for (int i = 0; i < s->n_layers; i++) {
        const dd_layer_spec *l = &s->layers[i];
        Onnx__NodeProto *n;
        int rc = 0;
        switch (l->kind) {
        case DD_LAYER_CONV2D:
            if ((rc = add_conv(b, m, i, &cur, folded)) > 0) i += rc;
            break;
        case DD_LAYER_BATCHNORM: rc = add_batchnorm(b, m, l, &cur); break;
        case DD_LAYER_ACTIVATION:
            if (l->u.activation == DD_ACT_LINEAR) break;
            rc = onnx_add_node(b, "Relu", l->name, &cur, 1, l->name) ? 0 : -1;
            cur = l->name;
            break;
        case DD_LAYER_MAXPOOL: {
            int64_t kernel[2] = {l->u.pool.size, l->u.pool.size}, strides[2] = {l->u.pool.stride, l->u.pool.stride};
            n = onnx_add_node(b, "MaxPool", l->name, &cur, 1, l->name);
            rc = !n || onnx_attr_ints(b, n, "kernel_shape", kernel, 2) || onnx_attr_ints(b, n, "strides", strides, 2)
                     ? -1
                     : 0;
            cur = l->name;
            break;
        }
        case DD_LAYER_FLATTEN:
            n = onnx_add_node(b, "Flatten", l->name, &cur, 1, l->name);
            rc = !n || onnx_attr_int(b, n, "axis", 1) ? -1 : 0;
            cur = l->name;
            break;
        case DD_LAYER_DENSE: rc = add_dense(b, m, l, &cur); break;
        case DD_LAYER_GLOBALAVGPOOL: {
            char *pooled = onnx_arena_printf(b->arena, b->err, "%s.4d", l->name); /* [batch, C, 1, 1] */
            char *flat = onnx_arena_printf(b->arena, b->err, "%s.flatten", l->name);
            rc = pooled && flat && onnx_add_node(b, "GlobalAveragePool", l->name, &cur, 1, pooled) &&
                         (n = onnx_add_node(b, "Flatten", flat, (const char *const *)&pooled, 1, l->name)) &&
                         !onnx_attr_int(b, n, "axis", 1)
                     ? 0
                     : -1;
            cur = l->name;
            break;
        }
        case DD_LAYER_DROPOUT: break;
        default:
            return dd_fail(b->err, DD_ERR_UNSUPPORTED, "layer %s (cfg line %d): a %s layer has no ONNX form", l->name,
                           l->line, dd_layer_kind_name(l->kind));
        }
        if (rc < 0) return -1;
    }
    *logits = cur;
    return 0;
}
#endif
