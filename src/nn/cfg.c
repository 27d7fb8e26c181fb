/* The model cfg text: an INI reader (lines -> sections and key = value entries), then the step from sections to
 * the layers: [net] here, each layer's keys by its kind's op (src/nn/op_<kind>.c) with the readers below. */
#define _POSIX_C_SOURCE 200809L /* strcasecmp */
#include "nn/cfg.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "nn/op.h"
#include "doodle/alloc.h"

#define CFG_MAX_BYTES (1u << 20) /* a cfg is a few hundred bytes; anything near this is not one */
#define CFG_MAX_LAYERS 4096

int nn_cfg_fail(const nn_cfg *cfg, int line, dd_error *err, dd_status code, const char *fmt, ...) {
    char msg[sizeof err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    for (char *p = msg; *p; p++) /* quoted text from the file: no control characters on the terminal */
        if ((unsigned char)*p < 0x20 || *p == 0x7f) *p = '?';
    return dd_fail(err, code, "%s:%d: %s", cfg->source, line, msg);
}

/* ---- reading the INI text ---- */

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

static char *trim(char *s) {
    while (is_space(*s)) s++;
    size_t n = strlen(s);
    while (n > 0 && is_space(s[n - 1])) s[--n] = '\0';
    return s;
}

/* Lower-cases s in place; true when it is a non-empty run of letters, digits and '_'. */
static int lower_word(char *s) {
    if (!*s) return 0;
    for (; *s; s++) {
        if (*s >= 'A' && *s <= 'Z') *s = (char)(*s - 'A' + 'a');
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_')) return 0;
    }
    return 1;
}

static int push_section(nn_cfg *cfg, size_t *cap, const char *name, int line, dd_error *err) {
    if (cfg->n_sections == *cap) {
        size_t n = *cap ? *cap * 2 : 16;
        nn_cfg_section *s = dd_realloc(cfg->sections, n, sizeof *s, err);
        if (!s) return -1;
        cfg->sections = s;
        *cap = n;
    }
    cfg->sections[cfg->n_sections++] = (nn_cfg_section){name, line, cfg->n_entries, 0};
    return 0;
}

static int push_entry(nn_cfg *cfg, size_t *cap, const char *key, const char *value, int line, dd_error *err) {
    if (cfg->n_entries == *cap) {
        size_t n = *cap ? *cap * 2 : 64;
        nn_cfg_entry *e = dd_realloc(cfg->entries, n, sizeof *e, err);
        if (!e) return -1;
        cfg->entries = e;
        *cap = n;
    }
    cfg->entries[cfg->n_entries++] = (nn_cfg_entry){key, value, line};
    cfg->sections[cfg->n_sections - 1].count++;
    return 0;
}

static int read_line(nn_cfg *cfg, char *s, int line, size_t *cap_s, size_t *cap_e, dd_error *err) {
    for (char *q = s; *q; q++)
        if (*q == '#' || *q == ';') {
            *q = '\0';
            break;
        }
    s = trim(s);
    if (!*s) return 0;
    if (*s == '[') {
        size_t n = strlen(s);
        if (s[n - 1] != ']')
            return nn_cfg_fail(cfg, line, err, DD_ERR_MALFORMED, "section line '%.60s' does not end with ']'", s);
        s[n - 1] = '\0';
        char *name = trim(s + 1);
        if (!lower_word(name)) return nn_cfg_fail(cfg, line, err, DD_ERR_MALFORMED, "bad section name '[%.40s]'", name);
        return push_section(cfg, cap_s, name, line, err);
    }
    char *eq = strchr(s, '=');
    if (!eq)
        return nn_cfg_fail(cfg, line, err, DD_ERR_MALFORMED, "expected '[section]' or 'key = value', not '%.60s'", s);
    *eq = '\0';
    char *key = trim(s), *value = trim(eq + 1);
    if (!lower_word(key)) return nn_cfg_fail(cfg, line, err, DD_ERR_MALFORMED, "bad key name '%.40s'", key);
    if (!cfg->n_sections)
        return nn_cfg_fail(cfg, line, err, DD_ERR_MALFORMED,
                           "'%s = …' comes before any section: a cfg starts with [net]", key);
    const nn_cfg_section *sec = &cfg->sections[cfg->n_sections - 1];
    for (size_t i = sec->first; i < sec->first + sec->count; i++)
        if (!strcmp(cfg->entries[i].key, key))
            return nn_cfg_fail(cfg, line, err, DD_ERR_MALFORMED, "[%s] duplicate key '%s' (first given on line %d)",
                               sec->name, key, cfg->entries[i].line);
    return push_entry(cfg, cap_e, key, value, line, err);
}

int nn_cfg_read(nn_cfg *cfg, const char *text, size_t len, const char *source, dd_error *err) {
    memset(cfg, 0, sizeof *cfg);
    cfg->source = source ? source : "cfg";
    if (len > CFG_MAX_BYTES)
        return nn_cfg_fail(cfg, 1, err, DD_ERR_RANGE, "%zu bytes is too large for a model cfg (at most %u)", len,
                           CFG_MAX_BYTES);
    cfg->buf = dd_malloc(len + 1, 1, err);
    if (!cfg->buf) return -1;
    if (len) memcpy(cfg->buf, text, len);
    cfg->buf[len] = '\0';
    char *p = cfg->buf, *end = cfg->buf + len;
    if (len >= 3 && !memcmp(p, "\xEF\xBB\xBF", 3)) p += 3; /* UTF-8 byte order mark */
    size_t cap_s = 0, cap_e = 0;
    for (int line = 1;; line++) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *stop = nl ? nl : end;
        if (memchr(p, '\0', (size_t)(stop - p)))
            return nn_cfg_fail(cfg, line, err, DD_ERR_MALFORMED, "a NUL byte: this is not a text file");
        *stop = '\0';
        if (read_line(cfg, p, line, &cap_s, &cap_e, err)) return -1;
        if (!nl) break;
        p = nl + 1;
    }
    return 0;
}

void nn_cfg_free(nn_cfg *cfg) {
    if (!cfg) return;
    free(cfg->buf);
    free(cfg->entries);
    free(cfg->sections);
    memset(cfg, 0, sizeof *cfg);
}

/* ---- from sections to hyper-parameters ---- */

static const char *const net_keys[] = {"input", "classes", "name", NULL};

const nn_cfg_entry *nn_cfg_find(const nn_cfg *cfg, const nn_cfg_section *s, const char *key) {
    for (size_t i = s->first; i < s->first + s->count; i++)
        if (!strcmp(cfg->entries[i].key, key)) return &cfg->entries[i];
    return NULL;
}

int nn_cfg_key_line(const nn_cfg *cfg, int layer, const char *key) {
    if (layer < -1 || (size_t)(layer + 1) >= cfg->n_sections) return 0;
    const nn_cfg_section *s = &cfg->sections[layer + 1];
    const nn_cfg_entry *e = nn_cfg_find(cfg, s, key);
    return e ? e->line : s->line;
}

static int check_keys(const nn_cfg *cfg, const nn_cfg_section *s, const char *const *keys, dd_error *err) {
    for (size_t i = s->first; i < s->first + s->count; i++) {
        const nn_cfg_entry *e = &cfg->entries[i];
        int known = 0;
        for (const char *const *k = keys; *k && !known; k++) known = !strcmp(*k, e->key);
        if (known) continue;
        char list[128] = "";
        for (const char *const *k = keys; *k; k++) {
            size_t n = strlen(list);
            snprintf(list + n, sizeof list - n, "%s%s", n ? ", " : "", *k);
        }
        return nn_cfg_fail(cfg, e->line, err, DD_ERR_MALFORMED, "[%s] unknown key '%s' (its keys: %s)", s->name, e->key,
                           list);
    }
    return 0;
}

int nn_cfg_missing(const nn_cfg *cfg, const nn_cfg_section *s, const char *key, const char *example, dd_error *err) {
    return nn_cfg_fail(cfg, s->line, err, DD_ERR_MALFORMED, "[%s] has no %s (%s)", s->name, key, example);
}

/* A whole number from 0 to DD_SPEC_INT_MAX, digits only. */
int nn_cfg_uint(const char *s, const char **end, int *out) {
    const char *p = s;
    long v = 0;
    if (*p < '0' || *p > '9') return -1;
    while (*p >= '0' && *p <= '9') {
        v = v * 10 + (*p++ - '0');
        if (v > DD_SPEC_INT_MAX) return -1;
    }
    *out = (int)v;
    *end = p;
    return 0;
}

/* "A", "AxB" or "AxBxC" (spaces around the x's): up to max_dims numbers from 1 to DD_SPEC_INT_MAX. Returns how
 * many there were, or -1. */
int nn_cfg_dims(const char *s, int max_dims, int *dims) {
    int n = 0;
    const char *p = s;
    for (;;) {
        while (is_space(*p)) p++;
        if (n == max_dims || nn_cfg_uint(p, &p, &dims[n]) || dims[n] < 1) return -1;
        n++;
        while (is_space(*p)) p++;
        if (!*p) return n;
        if (*p != 'x' && *p != 'X') return -1;
        p++;
    }
}

int nn_cfg_int(const nn_cfg *cfg, const nn_cfg_section *s, const char *key, int def, int min, int *out, dd_error *err) {
    const nn_cfg_entry *e = nn_cfg_find(cfg, s, key);
    if (!e) {
        *out = def;
        return 0;
    }
    const char *end;
    if (nn_cfg_uint(e->value, &end, out) || *end || *out < min)
        return nn_cfg_fail(cfg, e->line, err, DD_ERR_MALFORMED, "[%s] %s = '%.40s' is not a whole number from %d to %d",
                           s->name, key, e->value, min, DD_SPEC_INT_MAX);
    return 0;
}

int nn_cfg_float(const nn_cfg *cfg, const nn_cfg_section *s, const char *key, double def, double lo, int lo_open,
                 double hi, int hi_open, float *out, dd_error *err) {
    const nn_cfg_entry *e = nn_cfg_find(cfg, s, key);
    if (!e) {
        *out = (float)def;
        return 0;
    }
    char *end;
    errno = 0;
    double v = strtod(e->value, &end);
    if (!*e->value || *end || errno || !isfinite(v) || v < lo || (lo_open && v == lo) || v > hi || (hi_open && v == hi))
        return nn_cfg_fail(cfg, e->line, err, DD_ERR_MALFORMED, "[%s] %s = '%.40s' is not a number in %c%g, %g%c",
                           s->name, key, e->value, lo_open ? '(' : '[', lo, hi, hi_open ? ')' : ']');
    *out = (float)v;
    return 0;
}

int nn_cfg_bool(const nn_cfg *cfg, const nn_cfg_section *s, const char *key, int def, int *out, dd_error *err) {
    const nn_cfg_entry *e = nn_cfg_find(cfg, s, key);
    *out = def;
    if (!e) return 0;
    const char *v = e->value;
    if (!strcmp(v, "1") || !strcasecmp(v, "true") || !strcasecmp(v, "yes"))
        *out = 1;
    else if (!strcmp(v, "0") || !strcasecmp(v, "false") || !strcasecmp(v, "no"))
        *out = 0;
    else
        return nn_cfg_fail(cfg, e->line, err, DD_ERR_MALFORMED, "[%s] %s = '%.40s' is not 1 or 0", s->name, key, v);
    return 0;
}

int nn_cfg_activation(const nn_cfg *cfg, const nn_cfg_section *s, const char *key, int required, dd_activation *out,
                      dd_error *err) {
    const nn_cfg_entry *e = nn_cfg_find(cfg, s, key);
    *out = DD_ACT_LINEAR;
    if (!e) return required ? nn_cfg_missing(cfg, s, key, "relu or linear", err) : 0;
    if (!strcasecmp(e->value, "relu"))
        *out = DD_ACT_RELU;
    else if (!strcasecmp(e->value, "linear"))
        *out = DD_ACT_LINEAR;
    else if (!strcasecmp(e->value, "softmax"))
        return nn_cfg_fail(cfg, e->line, err, DD_ERR_MALFORMED,
                           "[%s] %s = softmax: softmax comes with the loss; leave the last layer linear", s->name, key);
    else
        return nn_cfg_fail(cfg, e->line, err, DD_ERR_MALFORMED, "[%s] %s = '%.40s' is not relu or linear", s->name, key,
                           e->value);
    return 0;
}

static int get_name(const nn_cfg *cfg, const nn_cfg_section *s, char *out, dd_error *err) {
    const nn_cfg_entry *e = nn_cfg_find(cfg, s, "name");
    if (!e) return 0;
    size_t n = strlen(e->value);
    int ok = n > 0 && n < DD_SPEC_NAME_MAX;
    for (const char *p = e->value; ok && *p; p++)
        ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_' || *p == '-';
    if (!ok)
        return nn_cfg_fail(cfg, e->line, err, DD_ERR_MALFORMED,
                           "[%s] name = '%.40s': a name is 1 to %d letters, digits, '_' or '-'", s->name, e->value,
                           DD_SPEC_NAME_MAX - 1);
    memcpy(out, e->value, n + 1);
    return 0;
}

static int build_net(const nn_cfg *cfg, dd_model_spec *spec, const dd_spec_overrides *ov, dd_error *err) {
    const nn_cfg_section *s = &cfg->sections[0];
    if (check_keys(cfg, s, net_keys, err) || get_name(cfg, s, spec->name, err)) return -1;
    const nn_cfg_entry *e = nn_cfg_find(cfg, s, "input");
    int dims[3];
    if (!e) return nn_cfg_missing(cfg, s, "input", "input = HxWxC, e.g. 66x100x1", err);
    if (nn_cfg_dims(e->value, 3, dims) != 3)
        return nn_cfg_fail(
            cfg, e->line, err, DD_ERR_MALFORMED,
            "[net] input = '%.40s' is not HxWxC (height x width x channels, e.g. 66x100x1; each 1 to %d)", e->value,
            DD_SPEC_INT_MAX);
    spec->input = (dd_shape){3, dims[2], dims[0], dims[1]};
    if (!nn_cfg_find(cfg, s, "classes") && !(ov && ov->classes))
        return nn_cfg_missing(cfg, s, "classes", "classes = N, the number of classes", err);
    if (nn_cfg_int(cfg, s, "classes", 0, 1, &spec->classes, err)) return -1;
    if (ov) {
        if (ov->classes < 0 || ov->classes > DD_SPEC_INT_MAX || ov->input_h < 0 || ov->input_h > DD_SPEC_INT_MAX ||
            ov->input_w < 0 || ov->input_w > DD_SPEC_INT_MAX || (!ov->input_h != !ov->input_w))
            return dd_fail(err, DD_ERR_USAGE, "%s: classes %d or input %dx%d is out of range (1 to %d)", cfg->source,
                           ov->classes, ov->input_h, ov->input_w, DD_SPEC_INT_MAX);
        if (ov->classes) spec->classes = ov->classes;
        if (ov->input_h) {
            spec->input.h = ov->input_h;
            spec->input.w = ov->input_w;
        }
    }
    return 0;
}

static int build_layer(const nn_cfg *cfg, const nn_cfg_section *s, const nn_op_kind *op, dd_layer_spec *l, int classes,
                       dd_error *err) {
    if (check_keys(cfg, s, op->keys, err) || get_name(cfg, s, l->name, err)) return -1;
    return op->parse ? op->parse(cfg, s, l, classes, err) : 0;
}

static int unknown_section(const nn_cfg *cfg, const nn_cfg_section *s, dd_error *err) {
    char list[256] = "net";
    for (int k = 0; k < DD_LAYER_KIND_COUNT; k++) {
        size_t n = strlen(list);
        snprintf(list + n, sizeof list - n, ", %s", nn_op_of((dd_layer_kind)k)->section);
    }
    return nn_cfg_fail(cfg, s->line, err, DD_ERR_MALFORMED, "unknown section [%s] (sections: %s)", s->name, list);
}

int nn_cfg_build(const nn_cfg *cfg, dd_model_spec *spec, const dd_spec_overrides *overrides, dd_error *err) {
    if (!cfg->n_sections)
        return nn_cfg_fail(cfg, 1, err, DD_ERR_MALFORMED,
                           "no [net] section: a cfg starts with [net] (input = HxWxC, classes = N), then the layers");
    const nn_cfg_section *net = &cfg->sections[0];
    if (strcmp(net->name, "net")) {
        if (!nn_op_find(net->name)) return unknown_section(cfg, net, err);
        return nn_cfg_fail(cfg, net->line, err, DD_ERR_MALFORMED,
                           "[%s] comes before [net]: a cfg starts with [net] (input = HxWxC, classes = N)", net->name);
    }
    if (build_net(cfg, spec, overrides, err)) return -1;
    size_t n = cfg->n_sections - 1;
    if (n == 0) return nn_cfg_fail(cfg, net->line, err, DD_ERR_MALFORMED, "[net] is followed by no layers");
    if (n > CFG_MAX_LAYERS)
        return nn_cfg_fail(cfg, cfg->sections[CFG_MAX_LAYERS + 1].line, err, DD_ERR_RANGE, "more than %d layers",
                           CFG_MAX_LAYERS);
    spec->layers = dd_calloc(n, sizeof *spec->layers, err);
    if (!spec->layers) return -1;
    spec->n_layers = (int)n;
    for (size_t i = 0; i < n; i++) {
        const nn_cfg_section *s = &cfg->sections[i + 1];
        dd_layer_spec *l = &spec->layers[i];
        if (!strcmp(s->name, "net"))
            return nn_cfg_fail(cfg, s->line, err, DD_ERR_MALFORMED, "a second [net] section (the first is on line %d)",
                               net->line);
        const nn_op_kind *op = nn_op_find(s->name);
        if (!op) return unknown_section(cfg, s, err);
        l->kind = op->kind;
        l->line = s->line;
        if (build_layer(cfg, s, op, l, spec->classes, err)) return -1;
    }
    return 0;
}
