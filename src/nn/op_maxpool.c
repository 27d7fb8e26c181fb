/* [maxpool]: Keras' MaxPooling2D (no padding, the floor rule), recording each window's winner for backward. */
#include "nn/op.h"

static const char *const keys[] = {"size", "stride", "name", NULL};

static int parse(const nn_cfg *cfg, const nn_cfg_section *s, dd_layer_spec *l, int classes, dd_error *err) {
    (void)classes;
    if (!nn_cfg_find(cfg, s, "size")) return nn_cfg_missing(cfg, s, "size", "size = K, the pool's side", err);
    if (nn_cfg_int(cfg, s, "size", 0, 1, &l->u.pool.size, err)) return -1;
    return nn_cfg_int(cfg, s, "stride", l->u.pool.size, 1, &l->u.pool.stride, err);
}

static int shape(dd_layer_spec *l, const nn_cfg *cfg, int i, nn_counts *n, dd_error *err) {
    (void)n;
    const dd_maxpool_spec *p = &l->u.pool;
    dd_shape cur = l->in;
    if (p->size > cur.h || p->size > cur.w)
        return nn_cfg_fail(cfg, nn_cfg_key_line(cfg, i, "size"), err, DD_ERR_RANGE,
                           "[maxpool] size %d is larger than its input %dx%d", p->size, cur.h, cur.w);
    l->out = (dd_shape){3, cur.c, dd_maxpool_out_size(cur.h, p->size, p->stride),
                        dd_maxpool_out_size(cur.w, p->size, p->stride)};
    return 0;
}

static void needs(const dd_layer_spec *l, int max_batch, bool training, nn_needs *n) {
    (void)max_batch, (void)training;
    n->argmax_per_image = dd_shape_count(l->out);
}

static void forward(const nn_step *st, const nn_pass *p, const float *in) {
    const dd_layer_spec *l = st->l;
    nn_fast_maxpool_forward(p->pool, st->out, st->w->argmax, in, p->batch, l->in.c, l->in.h, l->in.w, l->u.pool.size,
                            l->u.pool.stride);
}

static int backward(const nn_step *st, const nn_pass *p, const float *in, float *g, float *din) {
    (void)in;
    const dd_layer_spec *l = st->l;
    if (din)
        nn_fast_maxpool_backward(p->pool, din, g, st->w->argmax, p->batch, l->in.c, l->in.h, l->in.w, l->u.pool.size,
                                 l->u.pool.stride);
    return 1;
}

static int backward_input(const nn_step *st, const nn_pass *p, const float *in, float *g, float *din) {
    (void)in;
    const dd_layer_spec *l = st->l;
    dd_maxpool_backward(din, g, st->w->argmax, p->batch, l->in.c, l->in.h, l->in.w, l->out.h, l->out.w);
    return 1;
}

static int fuse(const dd_model_spec *s, int i, nn_mode mode, nn_step *st) {
    (void)s, (void)i, (void)mode;
    return nn_fuse_alone(st, forward, backward);
}

const nn_op_kind nn_op_maxpool = {
    .kind = DD_LAYER_MAXPOOL,
    .section = "maxpool",
    .keras = "MaxPooling2D",
    .base = "max_pooling2d",
    .keys = keys,
    .image_input = true,
    .parse = parse,
    .shape = shape,
    .needs = needs,
    .fuse = fuse,
    .backward_input = backward_input,
};
