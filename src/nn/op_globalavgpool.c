/* [globalavgpool]: Keras' GlobalAveragePooling2D, each channel's mean over the image: (C, H, W) -> C flat values.
 * Its reference kernels (include/doodle/layers.h) are cheap next to the convolutions before it, so the passes run
 * them as they are. */
#include "nn/op.h"

void dd_globalavgpool_forward(float *out, const float *in, int batch, int channels, int spatial) {
    for (size_t plane = 0; plane < (size_t)batch * channels; plane++) {
        const float *x = in + plane * (size_t)spatial;
        double sum = 0.0; /* in a fixed order: the same bits on every thread count */
        for (int q = 0; q < spatial; q++) sum += x[q];
        out[plane] = (float)(sum / spatial);
    }
}

void dd_globalavgpool_backward(float *din, const float *dout, int batch, int channels, int spatial) {
    for (size_t plane = 0; plane < (size_t)batch * channels; plane++) {
        float g = dout[plane] / (float)spatial;
        float *d = din + plane * (size_t)spatial;
        for (int q = 0; q < spatial; q++) d[q] = g;
    }
}

static const char *const keys[] = {"name", NULL};

static int shape(dd_layer_spec *l, const nn_cfg *cfg, int i, nn_counts *n, dd_error *err) {
    (void)cfg, (void)i, (void)n, (void)err;
    l->out = (dd_shape){1, l->in.c, 1, 1};
    return 0;
}

static void forward(const nn_step *st, const nn_pass *p, const float *in) {
    const dd_layer_spec *l = st->l;
    dd_globalavgpool_forward(st->out, in, p->batch, l->in.c, l->in.h * l->in.w);
}

static int backward(const nn_step *st, const nn_pass *p, const float *in, float *g, float *din) {
    (void)in;
    const dd_layer_spec *l = st->l;
    if (din) dd_globalavgpool_backward(din, g, p->batch, l->in.c, l->in.h * l->in.w);
    return 1;
}

static int fuse(const dd_model_spec *s, int i, nn_mode mode, nn_step *st) {
    (void)s, (void)i, (void)mode;
    return nn_fuse_alone(st, forward, backward);
}

const nn_op_kind nn_op_globalavgpool = {
    .kind = DD_LAYER_GLOBALAVGPOOL,
    .section = "globalavgpool",
    .keras = "GlobalAveragePooling2D",
    .base = "global_average_pooling2d",
    .keys = keys,
    .image_input = true,
    .shape = shape,
    .fuse = fuse,
    .backward_input = backward,
};
