/* [flatten]: a view of its input, (C, H, W) read as C*H*W values. */
#include <string.h>

#include "nn/op.h"

static const char *const keys[] = {"name", NULL};

static int shape(dd_layer_spec *l, const nn_cfg *cfg, int i, nn_counts *n, dd_error *err) {
    (void)cfg, (void)i, (void)n, (void)err;
    l->out = (dd_shape){1, (int)dd_shape_count(l->in), 1, 1};
    return 0;
}

static void forward(const nn_step *st, const nn_pass *p, const float *in) {
    if (st->out != in) memcpy(st->out, in, (size_t)p->batch * dd_shape_count(st->l->out) * sizeof *in);
}

static int no_move(const nn_step *st, const nn_pass *p, const float *in, float *g, float *din) {
    (void)st, (void)p, (void)in, (void)g, (void)din;
    return 0;
}

static int fuse(const dd_model_spec *s, int i, nn_mode mode, nn_step *st) {
    (void)s, (void)i, (void)mode;
    return nn_fuse_alone(st, forward, no_move);
}

const nn_op_kind nn_op_flatten = {
    .kind = DD_LAYER_FLATTEN,
    .section = "flatten",
    .keras = "Flatten",
    .base = "flatten",
    .keys = keys,
    .in_place = true,
    .shape = shape,
    .fuse = fuse,
    .backward_input = no_move,
};
