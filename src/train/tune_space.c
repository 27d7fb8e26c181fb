/* doodle tune's search space: parsing and seeded sampling (tune.h). */
#include "train/tune.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doodle/rng.h"
#include "doodle/tune.h"
#include "doodle/alloc.h"

const char dd_tune_default_space[] = "# doodle tune's default space: around doodle train's default recipe\n"
                                     "lr log-uniform 5e-4 5e-3\n"
                                     "weight-decay log-uniform 1e-5 1e-3\n"
                                     "batch choice 32 64 128\n"
                                     "epochs choice 8 12 16\n"
                                     "aug-rotation uniform 0 20\n"
                                     "aug-scale-min uniform 0.8 1\n"
                                     "label-smoothing uniform 0 0.15\n"
                                     "ema choice 0 0.999\n"
                                     "model choice doodle28 mnist28\n";

static const char *const known[] = {"lr",     "weight-decay", "batch",         "epochs",    "model",
                                    "warmup", "aug-rotation", "aug-scale-min", "aug-shift", "label-smoothing",
                                    "mixup",  "ema",          "momentum",      "opt",       "schedule"};
/* warp-bitmaps takes no value: not in a space (it could be a choice between flags one day) */
#define N_KNOWN (sizeof known / sizeof known[0])

void tune_space_free(tune_space *s) {
    for (int i = 0; i < s->n; i++) {
        for (int k = 0; k < s->p[i].n_choices; k++) free(s->p[i].choices[k]);
        free(s->p[i].choices);
    }
    s->n = 0;
}

static int number(const char *w, double *out) {
    char *end;
    double v = strtod(w, &end);
    if (end == w || *end || !isfinite(v)) return -1;
    *out = v;
    return 0;
}

/* One line's words (at most 64) split in place. */
static int split(char *line, char **w, int max) {
    int n = 0;
    for (char *t = strtok(line, " \t\r"); t && n < max; t = strtok(NULL, " \t\r")) w[n++] = t;
    return n;
}

static int parse_line(char *line, const char *where, int ln, tune_space *s, dd_error *err) {
    char *hash = strchr(line, '#');
    if (hash) *hash = '\0';
    char *w[66];
    int n = split(line, w, 66);
    if (n == 0) return 0;
    if (n < 3) return dd_fail(err, DD_ERR_MALFORMED, "%s line %d: want NAME KIND VALUES", where, ln);
    if (n > 65) return dd_fail(err, DD_ERR_MALFORMED, "%s line %d: more than 63 choices", where, ln);
    if (s->n == TUNE_PARAMS_MAX)
        return dd_fail(err, DD_ERR_MALFORMED, "%s line %d: more than %d parameters", where, ln, TUNE_PARAMS_MAX);
    char name[32];
    snprintf(name, sizeof name, "%s", w[0]);
    for (char *c = name; *c; c++)
        if (*c == '_') *c = '-';
    size_t k = 0;
    while (k < N_KNOWN && strcmp(known[k], name)) k++;
    if (k == N_KNOWN)
        return dd_fail(
            err, DD_ERR_MALFORMED,
            "%s line %d: '%s' is not a doodle train option tune knows (lr, weight-decay, batch, epochs, model, warmup, "
            "aug-rotation, aug-scale-min, aug-shift, label-smoothing, mixup, ema, momentum, opt, schedule)",
            where, ln, w[0]);
    for (int i = 0; i < s->n; i++)
        if (!strcmp(s->p[i].name, name))
            return dd_fail(err, DD_ERR_MALFORMED, "%s line %d: '%s' twice", where, ln, name);
    tune_param *p = &s->p[s->n];
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s", name);
    if (!strcmp(w[1], "choice")) {
        p->kind = TUNE_CHOICE;
        if (!(p->choices = dd_calloc((size_t)(n - 2), sizeof *p->choices, err))) return -1;
        for (int i = 2; i < n; i++) {
            if (strlen(w[i]) >= TUNE_VALUE_MAX)
                return dd_fail(err, DD_ERR_MALFORMED, "%s line %d: a choice longer than %d bytes", where, ln,
                               TUNE_VALUE_MAX - 1);
            if (!(p->choices[p->n_choices] = dd_strdup(w[i], err))) return -1;
            p->n_choices++;
        }
        s->n++;
        return 0;
    }
    p->kind = !strcmp(w[1], "uniform")       ? TUNE_UNIFORM
              : !strcmp(w[1], "log-uniform") ? TUNE_LOG_UNIFORM
              : !strcmp(w[1], "int")         ? TUNE_INT
                                             : -1;
    if ((int)p->kind < 0)
        return dd_fail(err, DD_ERR_MALFORMED, "%s line %d: kind '%s' is none of uniform, log-uniform, int, choice",
                       where, ln, w[1]);
    if (n != 4 || number(w[2], &p->lo) || number(w[3], &p->hi) || p->lo > p->hi)
        return dd_fail(err, DD_ERR_MALFORMED, "%s line %d: %s wants two numbers LO <= HI", where, ln, w[1]);
    if (p->kind == TUNE_LOG_UNIFORM && !(p->lo > 0))
        return dd_fail(err, DD_ERR_MALFORMED, "%s line %d: log-uniform wants LO > 0", where, ln);
    if (p->kind == TUNE_INT &&
        (p->lo != floor(p->lo) || p->hi != floor(p->hi) || fabs(p->hi) > 1e9 || fabs(p->lo) > 1e9))
        return dd_fail(err, DD_ERR_MALFORMED, "%s line %d: int wants whole numbers", where, ln);
    s->n++;
    return 0;
}

int tune_space_parse(const char *text, const char *where, tune_space *s, dd_error *err) {
    memset(s, 0, sizeof *s);
    char *copy = dd_strdup(text, err);
    if (!copy) return -1;
    int ln = 0, rc = 0;
    for (char *line = copy, *next; line && rc == 0; line = next) {
        next = strchr(line, '\n');
        if (next) *next++ = '\0';
        rc = parse_line(line, where, ++ln, s, err);
    }
    free(copy);
    if (rc == 0 && s->n == 0) rc = dd_fail(err, DD_ERR_MALFORMED, "%s: no parameters", where);
    if (rc) tune_space_free(s);
    return rc;
}

void tune_sample(const tune_space *s, uint64_t seed, int trial, char values[][TUNE_VALUE_MAX]) {
    dd_rng rng;
    dd_rng_seed(&rng, seed ^ 0x74756e65ULL ^ ((uint64_t)(trial + 1) * 0x9e3779b97f4a7c15ULL));
    for (int i = 0; i < s->n; i++) {
        const tune_param *p = &s->p[i];
        double u = dd_rng_uniform(&rng); /* one draw a parameter, whatever its kind */
        switch (p->kind) {
        case TUNE_CHOICE: snprintf(values[i], TUNE_VALUE_MAX, "%s", p->choices[(int)(u * p->n_choices)]); break;
        case TUNE_INT: snprintf(values[i], TUNE_VALUE_MAX, "%.0f", p->lo + floor(u * (p->hi - p->lo + 1))); break;
        case TUNE_LOG_UNIFORM: snprintf(values[i], TUNE_VALUE_MAX, "%.4g", p->lo * pow(p->hi / p->lo, u)); break;
        default: snprintf(values[i], TUNE_VALUE_MAX, "%.4g", p->lo + u * (p->hi - p->lo)); break;
        }
    }
}
