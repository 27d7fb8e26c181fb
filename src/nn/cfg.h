/* The model cfg text (include/doodle/model_spec.h describes it): an INI reader, and the step from its sections to
 * the layers' hyper-parameters. Shapes, names and the parameter layout are src/nn/model_spec.c's. */
#ifndef DOODLE_NN_CFG_H
#define DOODLE_NN_CFG_H

#include <stddef.h>

#include "doodle/error.h"
#include "doodle/model_spec.h"

typedef struct nn_cfg_entry {
    const char *key;   /* lower case */
    const char *value; /* spaces trimmed, comment removed; may be empty */
    int line;
} nn_cfg_entry;

typedef struct nn_cfg_section {
    const char *name; /* lower case, without the brackets */
    int line;
    size_t first, count; /* its entries: entries[first .. first + count) */
} nn_cfg_section;

typedef struct nn_cfg {
    const char *source; /* for messages: "source:line: …" */
    char *buf;          /* a copy of the text, cut into the strings above */
    nn_cfg_entry *entries;
    size_t n_entries;
    nn_cfg_section *sections;
    size_t n_sections;
} nn_cfg;

/* Splits text into sections and key = value entries. Fails on a line that is neither, an entry before any
 * section, a duplicate key within a section, a NUL byte. */
int nn_cfg_read(nn_cfg *cfg, const char *text, size_t len, const char *source, dd_error *err);
void nn_cfg_free(nn_cfg *cfg);

/* Fills spec's input, classes, name (when [net] gives one), n_layers and each layer's kind, line, name (when
 * given, else empty) and hyper-parameters with their defaults. Section 0 is [net]; layer i is section i + 1.
 * Overrides replace [net]'s classes and input size. */
int nn_cfg_build(const nn_cfg *cfg, dd_model_spec *spec, const dd_spec_overrides *overrides, dd_error *err);

/* The line of key in layer i's section (i = -1: [net]), or the section's own line when the key is not there. */
int nn_cfg_key_line(const nn_cfg *cfg, int layer, const char *key);

/* Sets err to "source:line: <message>" and returns -1. */
int nn_cfg_fail(const nn_cfg *cfg, int line, dd_error *err, dd_status code, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* ---- readers of a section's keys, for the layer kinds' parse functions (src/nn/op_<kind>.c) ----
 * Each returns 0, or -1 with err set to "source:line: [section] …". A key that is absent gives def. */

/* The entry of key in section s, or NULL. */
const nn_cfg_entry *nn_cfg_find(const nn_cfg *cfg, const nn_cfg_section *s, const char *key);
/* "[section] has no key (example)" on the section's line. */
int nn_cfg_missing(const nn_cfg *cfg, const nn_cfg_section *s, const char *key, const char *example, dd_error *err);
/* A whole number from 0 to DD_SPEC_INT_MAX, digits only, at s; *end after it. Returns -1 when there is none. */
int nn_cfg_uint(const char *s, const char **end, int *out);
/* "A", "AxB" or "AxBxC": up to max_dims numbers from 1 to DD_SPEC_INT_MAX; returns how many, or -1. */
int nn_cfg_dims(const char *s, int max_dims, int *dims);
/* A whole number from min to DD_SPEC_INT_MAX. */
int nn_cfg_int(const nn_cfg *cfg, const nn_cfg_section *s, const char *key, int def, int min, int *out, dd_error *err);
/* A number in [lo, hi], open at an end whose *_open is set. */
int nn_cfg_float(const nn_cfg *cfg, const nn_cfg_section *s, const char *key, double def, double lo, int lo_open,
                 double hi, int hi_open, float *out, dd_error *err);
/* 1/true/yes or 0/false/no. */
int nn_cfg_bool(const nn_cfg *cfg, const nn_cfg_section *s, const char *key, int def, int *out, dd_error *err);
/* relu or linear (default linear; required: absent is an error). */
int nn_cfg_activation(const nn_cfg *cfg, const nn_cfg_section *s, const char *key, int required, dd_activation *out,
                      dd_error *err);

#endif
