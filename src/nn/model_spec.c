/* A network's spec from its cfg text: shapes layer by layer (each kind's op, src/nn/op_<kind>.c, by Keras' rules),
 * Keras' layer names, parameter counts and the layout of the parameter and state blocks; the built-in networks;
 * Keras' summary table. */
#define _POSIX_C_SOURCE 200809L /* strcasecmp */
#include "doodle/model_spec.h"

#include <errno.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "doodle/layers.h"
#include "nn/builtin_models.h"
#include "nn/cfg.h"
#include "nn/op.h"
#include "doodle/alloc.h"

const char *dd_layer_kind_name(dd_layer_kind kind) {
    const nn_op_kind *op = nn_op_of(kind);
    return op ? op->section : "unknown";
}

const char *dd_layer_keras_class(dd_layer_kind kind) {
    const nn_op_kind *op = nn_op_of(kind);
    return op ? op->keras : "Unknown";
}

size_t dd_shape_count(dd_shape s) { return (size_t)s.c * (size_t)s.h * (size_t)s.w; }

void dd_shape_keras(dd_shape s, char *buf, size_t size) {
    if (s.rank == 1)
        snprintf(buf, size, "(None, %d)", s.c);
    else
        snprintf(buf, size, "(None, %d, %d, %d)", s.h, s.w, s.c);
}

/* ---- shapes and counts ---- */

static int add_ok(size_t *acc, size_t v) { return !__builtin_add_overflow(*acc, v, acc); }

/* Places a tensor of count floats at the end of a block of *used floats. */
static int place(dd_slot *slot, size_t count, size_t *used) {
    slot->offset = *used;
    slot->count = count;
    return add_ok(used, count);
}

static int infer(dd_model_spec *spec, const nn_cfg *cfg, dd_error *err) {
    dd_shape cur = spec->input;
    if (dd_shape_count(cur) > INT_MAX)
        return nn_cfg_fail(cfg, nn_cfg_key_line(cfg, -1, "input"), err, DD_ERR_RANGE,
                           "[net] input %dx%dx%d is too large (more than %d values)", cur.h, cur.w, cur.c, INT_MAX);
    spec->n_params = spec->n_state = 0;
    for (int i = 0; i < spec->n_layers; i++) {
        dd_layer_spec *l = &spec->layers[i];
        const nn_op_kind *op = nn_op_of(l->kind);
        const char *sec = op->section;
        nn_counts n = {0};
        l->in = cur;
        l->out = cur;
        if (op->image_input && cur.rank != 3)
            return nn_cfg_fail(cfg, l->line, err, DD_ERR_RANGE,
                               "[%s] needs an image input (HxWxC), but its input is flat (%d values): it cannot come "
                               "after [flatten] or [dense]",
                               sec, cur.c);
        if (op->shape && op->shape(l, cfg, i, &n, err)) return -1;
        if (dd_shape_count(l->out) > INT_MAX)
            return nn_cfg_fail(cfg, l->line, err, DD_ERR_RANGE,
                               "[%s] output %dx%dx%d is too large (more than %d values)", sec, l->out.h, l->out.w,
                               l->out.c, INT_MAX);
        int ok = place(&l->weight, n.weights, &spec->n_params) && place(&l->bias, n.biases, &spec->n_params) &&
                 place(&l->running_mean, n.stats, &spec->n_state) && place(&l->running_var, n.stats, &spec->n_state);
        if (!ok) return nn_cfg_fail(cfg, l->line, err, DD_ERR_RANGE, "[%s] makes too many parameters", sec);
        l->n_trainable = n.weights + n.biases;
        l->n_non_trainable = 2 * n.stats;
        cur = l->out;
    }
    const dd_layer_spec *last = &spec->layers[spec->n_layers - 1];
    if (cur.rank != 1)
        return nn_cfg_fail(cfg, last->line, err, DD_ERR_RANGE,
                           "[%s] the network ends with a %dx%dx%d image, not the %d class scores: end with [flatten] "
                           "and [dense] units = classes",
                           dd_layer_kind_name(last->kind), cur.h, cur.w, cur.c, spec->classes);
    if (cur.c != spec->classes) {
        int line = last->line;
        for (int i = spec->n_layers - 1; i >= 0; i--)
            if (spec->layers[i].kind == DD_LAYER_DENSE || spec->layers[i].kind == DD_LAYER_FLATTEN) {
                line = nn_cfg_key_line(cfg, i, "units");
                break;
            }
        return nn_cfg_fail(cfg, line, err, DD_ERR_RANGE,
                           "the network ends with %d outputs, but there are %d classes (write units = classes)", cur.c,
                           spec->classes);
    }
    return 0;
}

/* Keras' names for the layers the cfg does not name: conv2d, conv2d_1, …, counted per kind. */
static int name_layers(dd_model_spec *spec, const nn_cfg *cfg, dd_error *err) {
    int counter[DD_LAYER_KIND_COUNT] = {0};
    for (int i = 0; i < spec->n_layers; i++) {
        dd_layer_spec *l = &spec->layers[i];
        if (l->name[0]) continue;
        int k = counter[l->kind]++;
        const char *base = nn_op_of(l->kind)->base;
        if (k)
            snprintf(l->name, sizeof l->name, "%s_%d", base, k);
        else
            snprintf(l->name, sizeof l->name, "%s", base);
    }
    for (int i = 1; i < spec->n_layers; i++)
        for (int j = 0; j < i; j++)
            if (!strcmp(spec->layers[i].name, spec->layers[j].name))
                return nn_cfg_fail(cfg, nn_cfg_key_line(cfg, i, "name"), err, DD_ERR_MALFORMED,
                                   "[%s] two layers named '%s' (the other is on line %d)",
                                   dd_layer_kind_name(spec->layers[i].kind), spec->layers[i].name,
                                   spec->layers[j].line);
    return 0;
}

dd_model_spec *dd_model_spec_parse(const char *text, size_t len, const char *source, const char *name,
                                   const dd_spec_overrides *overrides, dd_error *err) {
    dd_model_spec *spec = dd_calloc(1, sizeof *spec, err);
    if (!spec) return NULL;
    snprintf(spec->name, sizeof spec->name, "%s", name && *name ? name : "model");
    nn_cfg cfg;
    int rc = nn_cfg_read(&cfg, text, len, source, err);
    if (!rc) rc = nn_cfg_build(&cfg, spec, overrides, err);
    if (!rc) rc = infer(spec, &cfg, err);
    if (!rc) rc = name_layers(spec, &cfg, err);
    if (!rc) rc = dd_model_spec_check_memory(spec, 1, false, cfg.source, err);
    if (!rc) {
        spec->cfg_text = dd_malloc(len + 1, 1, err);
        if (spec->cfg_text) {
            memcpy(spec->cfg_text, text, len);
            spec->cfg_text[len] = '\0';
        } else {
            rc = -1;
        }
    }
    nn_cfg_free(&cfg);
    if (rc) {
        dd_model_spec_free(spec);
        return NULL;
    }
    return spec;
}

/* ---- memory bound ---- */

static _Atomic uint64_t memory_limit = DD_MEMORY_LIMIT_DEFAULT; /* atomic: servers read it from many threads */

void dd_set_memory_limit(uint64_t bytes) { atomic_store(&memory_limit, bytes ? bytes : DD_MEMORY_LIMIT_DEFAULT); }
uint64_t dd_memory_limit(void) { return atomic_load(&memory_limit); }

static uint64_t sat_add(uint64_t a, uint64_t b) {
    uint64_t r;
    return __builtin_add_overflow(a, b, &r) ? UINT64_MAX : r;
}
static uint64_t sat_mul(uint64_t a, uint64_t b) {
    uint64_t r;
    return __builtin_mul_overflow(a, b, &r) ? UINT64_MAX : r;
}

/* Floats a workspace keeps per image (src/nn/workspace.c): the input, the layers' output buffers, a max-pool's
 * argmax; training: dropout masks and two gradient buffers as large as the largest activation. *largest gets
 * the layer with the largest output (-1: the input). */
static uint64_t per_image_floats(const dd_model_spec *s, bool training, int *largest) {
    uint64_t n = dd_shape_count(s->input), most = n;
    *largest = -1;
    for (int i = 0; i < s->n_layers; i++) {
        const dd_layer_spec *l = &s->layers[i];
        uint64_t out = dd_shape_count(l->out);
        if (out > most) {
            most = out;
            *largest = i;
        }
        if (nn_layer_keeps_output(s, i, training)) n = sat_add(n, out);
        nn_needs need = {0};
        if (nn_op_of(l->kind)->needs) nn_op_of(l->kind)->needs(l, 1, training, &need);
        n = sat_add(n, sat_add(need.argmax_per_image, need.mask_per_image));
    }
    return training ? sat_add(n, sat_mul(2, most)) : n;
}

/* Floats that do not grow with the batch: parameters (training: with gradients and two optimizer moments),
 * state, and one im2col buffer as large as the largest conv's. */
static uint64_t fixed_floats(const dd_model_spec *s, bool training) {
    uint64_t col = 0;
    for (int i = 0; i < s->n_layers; i++) {
        nn_needs need = {0};
        if (nn_op_of(s->layers[i].kind)->needs) nn_op_of(s->layers[i].kind)->needs(&s->layers[i], 1, training, &need);
        if (need.col > col) col = need.col;
    }
    return sat_add(sat_add(sat_mul(training ? 4 : 1, s->n_params), s->n_state), col);
}

uint64_t dd_model_spec_memory(const dd_model_spec *s, int batch, bool training) {
    int largest;
    uint64_t act = sat_mul((uint64_t)(batch > 0 ? batch : 1), per_image_floats(s, training, &largest));
    return sat_mul(4, sat_add(fixed_floats(s, training), act));
}

/* "8.4 GB", "12.0 MB" */
static void format_bytes(uint64_t bytes, char *buf, size_t size) {
    if (bytes >= 1000000000u)
        snprintf(buf, size, "%.1f GB", (double)bytes / 1e9);
    else
        snprintf(buf, size, "%.1f MB", (double)bytes / 1e6);
}

int dd_model_spec_check_memory(const dd_model_spec *s, int batch, bool training, const char *source, dd_error *err) {
    uint64_t need = dd_model_spec_memory(s, batch, training), limit = dd_memory_limit();
    if (need <= limit) return 0;
    int largest;
    uint64_t act = sat_mul(4, sat_mul((uint64_t)(batch > 0 ? batch : 1), per_image_floats(s, training, &largest)));
    char total[32], acts[32], params[32], max[32], where[DD_SPEC_NAME_MAX + 64];
    format_bytes(need, total, sizeof total);
    format_bytes(act, acts, sizeof acts);
    format_bytes(sat_mul(4, fixed_floats(s, training)), params, sizeof params);
    format_bytes(limit, max, sizeof max);
    dd_shape big = largest < 0 ? s->input : s->layers[largest].out;
    if (largest < 0)
        snprintf(where, sizeof where, "the input, %dx%dx%d", big.h, big.w, big.c);
    else
        snprintf(where, sizeof where, "%s on line %d, %dx%dx%d", s->layers[largest].name, s->layers[largest].line,
                 big.h, big.w, big.c);
    return dd_fail(err, DD_ERR_RANGE,
                   "%s%snetwork needs %s for a batch of %d%s (%s of activations, largest %s; %s of parameters and "
                   "buffers): more than the limit of %s; raise it with DOODLE_MAX_MEMORY_MB=<MB> or "
                   "dd_set_memory_limit()",
                   source ? source : "", source ? ": " : "", total, batch, training ? " in training" : "", acts, where,
                   params, max);
}

void dd_model_spec_free(dd_model_spec *spec) {
    if (!spec) return;
    free(spec->layers);
    free(spec->cfg_text);
    free(spec);
}

#define CFG_FILE_MAX (1u << 20)

dd_model_spec *dd_model_spec_load(const char *path, const dd_spec_overrides *overrides, dd_error *err) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        dd_fail(err, DD_ERR_IO, "%s: %s", path, strerror(errno));
        return NULL;
    }
    char *text = dd_malloc(CFG_FILE_MAX + 1, 1, err);
    size_t len = text ? fread(text, 1, CFG_FILE_MAX + 1, f) : 0;
    int bad = text && ferror(f);
    int saved = errno;
    fclose(f);
    if (!text) return NULL;
    dd_model_spec *spec = NULL;
    if (bad) {
        dd_fail(err, DD_ERR_IO, "%s: %s", path, strerror(saved));
    } else if (len > CFG_FILE_MAX) {
        dd_fail(err, DD_ERR_RANGE, "%s: too large for a model cfg (more than %u bytes)", path, CFG_FILE_MAX);
    } else {
        /* the model is named after the file */
        const char *base = strrchr(path, '/');
        base = base ? base + 1 : path;
        char name[DD_SPEC_NAME_MAX];
        size_t n = strlen(base);
        if (n > 4 && !strcasecmp(base + n - 4, ".cfg")) n -= 4;
        if (n >= sizeof name) n = sizeof name - 1;
        memcpy(name, base, n);
        name[n] = '\0';
        spec = dd_model_spec_parse(text, len, path, name, overrides, err);
    }
    free(text);
    return spec;
}

/* ---- built-in networks ---- */

const char *dd_model_builtin_name(size_t i) { return i < nn_builtin_model_count ? nn_builtin_models[i].name : NULL; }

const char *dd_model_builtin_cfg(const char *name, size_t *len) {
    for (size_t i = 0; name && i < nn_builtin_model_count; i++)
        if (!strcmp(nn_builtin_models[i].name, name)) {
            if (len) *len = nn_builtin_models[i].len;
            return nn_builtin_models[i].text;
        }
    return NULL;
}

dd_model_spec *dd_model_spec_named(const char *model, const dd_spec_overrides *overrides, dd_error *err) {
    size_t n = strlen(model);
    if (strchr(model, '/') || (n > 4 && !strcmp(model + n - 4, ".cfg")))
        return dd_model_spec_load(model, overrides, err);
    return dd_model_spec_builtin(model, overrides, err);
}

dd_model_spec *dd_model_spec_builtin(const char *name, const dd_spec_overrides *overrides, dd_error *err) {
    size_t len;
    const char *text = dd_model_builtin_cfg(name, &len);
    if (!text) {
        char list[256] = "";
        for (size_t i = 0; i < nn_builtin_model_count; i++) {
            size_t n = strlen(list);
            snprintf(list + n, sizeof list - n, "%s%s", i ? ", " : "", nn_builtin_models[i].name);
        }
        dd_fail(err, DD_ERR_USAGE, "no built-in model named '%.60s' (built-in: %s)", name ? name : "", list);
        return NULL;
    }
    char source[DD_SPEC_NAME_MAX + 16];
    snprintf(source, sizeof source, "models/%s.cfg", name);
    return dd_model_spec_parse(text, len, source, name, overrides, err);
}

/* ---- Keras' summary table ---- */

/* Keras 2.x lays the table out 65 characters wide with columns ending at 29, 55 and 65. */
#define SUMMARY_WIDTH 65
static const int column_end[3] = {29, 55, 65};

/* One row as Keras prints it: each cell starts after the previous column's end (the first after one space), holds
 * at most the column's width less 2 characters (the last column: its whole width), and what does not fit
 * continues on the next line; a cell breaks early after "),", "},", "]," or "',". Lines are padded with spaces to
 * each column's end, so a cut first cell pushes the rest of its line one column to the right, as in Keras. */
static void print_row(FILE *out, const char *const fields[3]) {
    static const char *const breaks[] = {"),", "},", "],", "',"};
    const char *left[3] = {fields[0], fields[1], fields[2]};
    while (*left[0] || *left[1] || *left[2]) {
        char line[3 * SUMMARY_WIDTH];
        size_t n = 0;
        for (int col = 0; col < 3; col++) {
            int start = col ? column_end[col - 1] : 0, space = col < 2 ? 2 : 0;
            size_t len = strlen(left[col]), cutoff = (size_t)(column_end[col] - start - space);
            size_t fit = len < cutoff ? len : cutoff;
            size_t best = SIZE_MAX;
            for (size_t b = 0; b < sizeof breaks / sizeof breaks[0]; b++)
                for (size_t i = 0; i + 2 <= fit; i++)
                    if (left[col][i] == breaks[b][0] && left[col][i + 1] == breaks[b][1]) {
                        if (i + 2 < best) best = i + 2;
                        break;
                    }
            if (best != SIZE_MAX) cutoff = fit = best;
            if (col == 0) line[n++] = ' ';
            memcpy(line + n, left[col], fit);
            n += fit;
            for (int s = 0; s < space; s++) line[n++] = ' ';
            left[col] += len < cutoff ? len : cutoff;
            while (n < (size_t)column_end[col]) line[n++] = ' ';
        }
        fprintf(out, "%.*s\n", (int)n, line);
    }
}

static void rule(FILE *out, char c) {
    char line[SUMMARY_WIDTH + 1];
    memset(line, c, SUMMARY_WIDTH);
    line[SUMMARY_WIDTH] = '\0';
    fprintf(out, "%s\n", line);
}

/* 1234567 -> "1,234,567" */
static void with_commas(size_t v, char *buf, size_t size) {
    char digits[32];
    int n = snprintf(digits, sizeof digits, "%zu", v);
    size_t o = 0;
    for (int i = 0; i < n && o + 2 < size; i++) {
        if (i && (n - i) % 3 == 0) buf[o++] = ',';
        buf[o++] = digits[i];
    }
    buf[o] = '\0';
}

void dd_model_spec_summary(const dd_model_spec *spec, FILE *out) {
    fprintf(out, "Model: \"%s\"\n", spec->name);
    rule(out, '_');
    print_row(out, (const char *const[3]){"Layer (type)", "Output Shape", "Param #"});
    rule(out, '=');
    for (int i = 0; i < spec->n_layers; i++) {
        const dd_layer_spec *l = &spec->layers[i];
        char cell[DD_SPEC_NAME_MAX + 32], shape[64], params[32];
        snprintf(cell, sizeof cell, "%s (%s)", l->name, dd_layer_keras_class(l->kind));
        dd_shape_keras(l->out, shape, sizeof shape);
        snprintf(params, sizeof params, "%zu", l->n_trainable + l->n_non_trainable);
        print_row(out, (const char *const[3]){cell, shape, params});
        fprintf(out, "%*s\n", SUMMARY_WIDTH, ""); /* Keras 2.x separates layers with a line of spaces */
    }
    rule(out, '=');
    char total[32], trainable[32], fixed[32];
    with_commas(spec->n_params + spec->n_state, total, sizeof total);
    with_commas(spec->n_params, trainable, sizeof trainable);
    with_commas(spec->n_state, fixed, sizeof fixed);
    fprintf(out, "Total params: %s\nTrainable params: %s\nNon-trainable params: %s\n", total, trainable, fixed);
    rule(out, '_');
}

double dd_model_flops(const dd_model_spec *s, bool training) {
    double macs = 0.0;
    for (int i = 0; i < s->n_layers; i++) {
        const nn_op_kind *op = nn_op_of(s->layers[i].kind);
        if (op->macs) macs += op->macs(&s->layers[i]);
    }
    return 2.0 * macs * (training ? 3.0 : 1.0);
}
