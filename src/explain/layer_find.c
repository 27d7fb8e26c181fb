/* Naming layers on the command line: by index as `doodle summary` lists them, or by name. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doodle/explain.h"

/* "0 conv2d, 1 batch_normalization, …" into buf (cut short with "…" when it does not fit). */
static void list_layers(const dd_model_spec *s, char *buf, size_t size) {
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < s->n_layers; i++) {
        int w = snprintf(buf + used, size - used, "%s%d %s", i ? ", " : "", i, s->layers[i].name);
        if (w < 0 || (size_t)w >= size - used) {
            if (size > 5) snprintf(buf + (used < size - 5 ? used : size - 5), 5, "...");
            return;
        }
        used += (size_t)w;
    }
}

int dd_explain_find_layer(const dd_model *m, const char *text, int *layer, dd_error *err) {
    const dd_model_spec *s = m->spec;
    char names[400];
    if (text && *text) {
        char *end;
        long v = strtol(text, &end, 10);
        if (*end == '\0' && text[0] != '-' && text[0] != '+') {
            if (v >= 0 && v < s->n_layers) {
                *layer = (int)v;
                return 0;
            }
            list_layers(s, names, sizeof names);
            return dd_fail(err, DD_ERR_USAGE, "layer %s is out of range: the model has layers 0 to %d (%s)", text,
                           s->n_layers - 1, names);
        }
        for (int i = 0; i < s->n_layers; i++)
            if (!strcmp(s->layers[i].name, text)) {
                *layer = i;
                return 0;
            }
    }
    list_layers(s, names, sizeof names);
    return dd_fail(err, DD_ERR_USAGE, "no layer '%s': give an index from 0 to %d or a name (%s)", text ? text : "",
                   s->n_layers - 1, names);
}

int dd_explain_gradcam_layer(const dd_model *m) {
    const dd_model_spec *s = m->spec;
    int last = -1;
    for (int i = 0; i < s->n_layers; i++)
        if (s->layers[i].kind == DD_LAYER_CONV2D) last = i;
    if (last < 0) return -1;
    /* its batchnorm and activation, if they follow: the map the next layers actually see */
    while (last + 1 < s->n_layers - 1 &&
           (s->layers[last + 1].kind == DD_LAYER_BATCHNORM || s->layers[last + 1].kind == DD_LAYER_ACTIVATION))
        last++;
    return last;
}

int dd_explain_default_layers(const dd_model *m, int *layers, int max) {
    int n = 0;
    for (int i = 0; i < m->spec->n_layers && n < max; i++) {
        const dd_layer_spec *l = &m->spec->layers[i];
        if (l->out.rank != 3) continue;
        if ((l->kind == DD_LAYER_ACTIVATION && l->u.activation == DD_ACT_RELU) ||
            (l->kind == DD_LAYER_CONV2D && l->u.conv.activation == DD_ACT_RELU))
            layers[n++] = i;
    }
    return n;
}
