/* The table of layer kinds: one record per dd_layer_kind, each defined in its own src/nn/op_<kind>.c. Adding a kind
 * is a value in dd_layer_kind (include/doodle/model_spec.h), its file and its line here. */
#include <string.h>

#include "nn/op.h"

static const nn_op_kind *const table[DD_LAYER_KIND_COUNT] = {
    [DD_LAYER_CONV2D] = &nn_op_conv2d,         [DD_LAYER_BATCHNORM] = &nn_op_batchnorm,
    [DD_LAYER_ACTIVATION] = &nn_op_activation, [DD_LAYER_MAXPOOL] = &nn_op_maxpool,
    [DD_LAYER_FLATTEN] = &nn_op_flatten,       [DD_LAYER_DENSE] = &nn_op_dense,
    [DD_LAYER_DROPOUT] = &nn_op_dropout,       [DD_LAYER_GLOBALAVGPOOL] = &nn_op_globalavgpool,
};

const nn_op_kind *nn_op_of(dd_layer_kind kind) { return (unsigned)kind < DD_LAYER_KIND_COUNT ? table[kind] : NULL; }

const nn_op_kind *nn_op_find(const char *section) {
    for (int k = 0; k < DD_LAYER_KIND_COUNT; k++)
        if (!strcmp(section, table[k]->section)) return table[k];
    return NULL;
}

bool nn_is_relu_layer(const dd_model_spec *s, int i) {
    return i < s->n_layers && s->layers[i].kind == DD_LAYER_ACTIVATION && s->layers[i].u.activation == DD_ACT_RELU;
}

int nn_fuse_alone(nn_step *st, nn_forward_fn forward, nn_backward_fn backward) {
    st->forward = forward;
    st->backward = backward;
    return 1;
}

bool nn_layer_keeps_output(const dd_model_spec *s, int i, bool training) {
    if (i > 0 && nn_op_of(s->layers[i].kind)->in_place) return false;
    /* a step writes one buffer, its last layer's that is not in place: the others in it keep none */
    nn_mode mode = training ? NN_FORWARD_TRAIN : NN_FORWARD_INFER;
    for (int j = 0;;) {
        nn_step st = {0};
        int k = nn_op_of(s->layers[j].kind)->fuse(s, j, mode, &st);
        if (i < j + k) {
            if (st.keeps_first && i == j) return true;
            for (int after = i + 1; after < j + k; after++)
                if (!nn_op_of(s->layers[after].kind)->in_place) return false;
            return !(st.fold && i == j); /* a folded conv writes straight into the BatchNorm's output */
        }
        j += k;
    }
}
