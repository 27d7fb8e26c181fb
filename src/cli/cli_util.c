#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/cli.h"
#include "doodle/cpus.h"

int cli_report(const char *verb, const dd_error *err) {
    fprintf(stderr, "doodle %s: %s\n", verb, err->msg[0] ? err->msg : "failed");
    return err->code == DD_ERR_USAGE ? EXIT_USAGE : 1;
}

int cli_usage_error(const char *verb, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "doodle %s: ", verb);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'doodle %s --help'.\n", verb);
    return EXIT_USAGE;
}

int cli_parse_u64(const char *text, uint64_t min, uint64_t max, uint64_t *out) {
    if (!text || !*text || *text == '-') return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno || *end || v < min || v > max) return -1;
    *out = v;
    return 0;
}

int cli_parse_double(const char *text, double min, double max, double *out) {
    if (!text || !*text) return -1;
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (errno || *end || !isfinite(v) || v < min || v > max) return -1;
    *out = v;
    return 0;
}

/* "a whole number from 1 to 64", "a whole number >= 1" (max not shown), "a whole number" (neither bound). */
static void describe_range(char *buf, size_t size, const char *what, double min, double max, int show_min, int show_max,
                           int integral) {
    const char *f = integral ? "%.0f" : "%g";
    char lo[64], hi[64];
    snprintf(lo, sizeof lo, f, min);
    snprintf(hi, sizeof hi, f, max);
    if (show_max)
        snprintf(buf, size, "%s from %s to %s", what, lo, hi);
    else if (show_min)
        snprintf(buf, size, "%s >= %s", what, lo);
    else
        snprintf(buf, size, "%s", what);
}

/* The message of a bad value: the range with its upper bound when it is small, or when the value passed it. */
static int bad_value(const char *verb, const char *option, const char *text, const char *what, double min, double max,
                     double huge, int integral) {
    if (!text) text = "";
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    int above = text[0] && !*end && !errno && v > max;
    char range[160];
    int show_min = integral ? min > 0 : min > -huge;
    describe_range(range, sizeof range, what, min, max, show_min, max < huge || above, integral);
    return cli_opt_bad(verb, option, range, text);
}

int cli_opt_bad(const char *verb, const char *option, const char *expected, const char *text) {
    return cli_usage_error(verb, "%s: expected %s, got '%s'", option, expected, text);
}

int cli_opt_u64(const char *verb, const char *option, const char *text, uint64_t min, uint64_t max, uint64_t *out) {
    if (!cli_parse_u64(text, min, max, out)) return 0;
    return bad_value(verb, option, text, "a whole number", (double)min, (double)max, (double)INT_MAX, 1);
}

int cli_opt_int(const char *verb, const char *option, const char *text, int min, int max, int *out) {
    if (text && (isdigit((unsigned char)text[0]) || (text[0] == '-' && isdigit((unsigned char)text[1])))) {
        char *end;
        errno = 0;
        long v = strtol(text, &end, 10);
        if (!errno && !*end && v >= min && v <= max) {
            *out = (int)v;
            return 0;
        }
    }
    return bad_value(verb, option, text, "a whole number", min, max, (double)INT_MAX, 1);
}

int cli_opt_double(const char *verb, const char *option, const char *text, double min, double max, double *out) {
    if (!cli_parse_double(text, min, max, out)) return 0;
    return bad_value(verb, option, text, "a number", min, max, FLT_MAX, 0);
}

int cli_opt_threads(const char *verb, const char *text) {
    int n = 0;
    if (cli_opt_int(verb, "--threads", text, 1, 256, &n)) return EXIT_USAGE;
    dd_set_thread_count(n);
    return 0;
}

int cli_opt_error(const char *verb, int c, char **argv) {
    if (c == ':') return cli_usage_error(verb, "%s needs a value", argv[optind - 1]);
    return cli_usage_error(verb, "unknown option '%s'", argv[optind - 1]);
}

int cli_has_suffix(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n > k && strcasecmp(s + n - k, suffix) == 0;
}

void cli_print_commands(FILE *out, const cli_command *c, size_t n, int width) {
    for (size_t i = 0; i < n; i++) fprintf(out, "  %-*s %s\n", width, c[i].name, c[i].summary);
}

/* Levenshtein distance, case ignored, of two short names (longer ones are never close: 64 bytes are compared). */
static size_t edit_distance(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64) la = 64;
    if (lb > 64) lb = 64;
    size_t row[65];
    for (size_t j = 0; j <= lb; j++) row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t cost = tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]);
            size_t best = diag + cost;
            if (up + 1 < best) best = up + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

const char *cli_closest(const char *typed, const char *const *names, size_t n) {
    size_t limit = strlen(typed) / 3 > 2 ? strlen(typed) / 3 : 2, best = SIZE_MAX;
    const char *found = NULL;
    for (size_t i = 0; i < n; i++) {
        size_t d = edit_distance(typed, names[i]);
        if (d < best) best = d, found = names[i];
    }
    return best <= limit ? found : NULL;
}

int cli_dispatch(const cli_command *c, size_t n, int argc, char **argv, void (*usage)(FILE *out), const char *prog,
                 const char *noun) {
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *name = argv[1];
    if (!strcmp(name, "--help") || !strcmp(name, "-h") || !strcmp(name, "help")) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < n; i++)
        if (!strcmp(name, c[i].name)) return c[i].run(argc - 1, argv + 1);
    const char *names[64];
    size_t k = n < 64 ? n : 64;
    for (size_t i = 0; i < k; i++) names[i] = c[i].name;
    const char *near = cli_closest(name, names, k);
    if (near)
        fprintf(stderr, "%s: '%s' is not %s; did you mean '%s'? See '%s --help'.\n", prog, name, noun, near, prog);
    else
        fprintf(stderr, "%s: '%s' is not %s. See '%s --help'.\n", prog, name, noun, prog);
    return EXIT_USAGE;
}
