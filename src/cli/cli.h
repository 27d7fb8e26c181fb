/* The command-line verbs. Each verb is one file, cmd_<verb>.c, with a function that parses its own options
 * (getopt_long; --help prints its usage and exits 0) and returns the process exit status:
 * 0 success, 1 bad input or failure, 2 bad usage. */
#ifndef DOODLE_CLI_H
#define DOODLE_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "doodle/error.h"

#define EXIT_USAGE 2

int cmd_prep(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_show(int argc, char **argv);
int cmd_render(int argc, char **argv);
int cmd_simplify(int argc, char **argv);
int cmd_summary(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_tune(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_predict(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_explain(int argc, char **argv); /* sub-verbs: cmd_explain.c */
int cmd_explain_clusters(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_bench(int argc, char **argv);

/* A verb (or a sub-verb of explain) in a dispatch table: run gets argv with its own name as argv[0]. */
typedef struct cli_command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} cli_command;
/* The table's lines for a usage text: "  name  summary", names padded to width. */
void cli_print_commands(FILE *out, const cli_command *c, size_t n, int width);
/* Runs the command argv[1] names with argv + 1. Without one: usage(stderr), EXIT_USAGE; --help, -h or help:
 * usage(stdout), 0; an unknown name: "<prog>: 'name' is not <noun>. See '<prog> --help'.", EXIT_USAGE. */
int cli_dispatch(const cli_command *c, size_t n, int argc, char **argv, void (*usage)(FILE *out), const char *prog,
                 const char *noun);

/* Prints "doodle <verb>: message" to stderr; returns 1 (or 2 for DD_ERR_USAGE). */
int cli_report(const char *verb, const dd_error *err);
/* Prints "doodle <verb>: <formatted>" and "Try 'doodle <verb> --help'." to stderr; returns EXIT_USAGE. */
int cli_usage_error(const char *verb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Strict number parsing for option values: the whole text must be a number in [min, max]. */
int cli_parse_u64(const char *text, uint64_t min, uint64_t max, uint64_t *out);

/* ---- option values, every verb's bad one reported the same way ----
 * Each parses the value `text` of `option` ("--epochs") into *out and returns 0; a bad value gets
 *   doodle VERB: --epochs: expected a whole number >= 1, got 'x'
 *   Try 'doodle VERB --help'.
 * on stderr and EXIT_USAGE. verb as the user typed it ("train", "explain clusters"). A bound of INT_MAX or more
 * (DBL_MAX or more) is not shown unless the value passes it. */
int cli_opt_u64(const char *verb, const char *option, const char *text, uint64_t min, uint64_t max, uint64_t *out);
int cli_opt_int(const char *verb, const char *option, const char *text, int min, int max, int *out);
int cli_opt_double(const char *verb, const char *option, const char *text, double min, double max, double *out);
/* Any other bad value: "doodle VERB: --OPTION: expected EXPECTED, got 'TEXT'", the pointer to --help; EXIT_USAGE. */
int cli_opt_bad(const char *verb, const char *option, const char *expected, const char *text);
/* --threads N (1..256) of the verbs that pass no thread count to the library (eval, explain, report): the count
 * dd_cpu_count gives from then on (doodle/cpus.h). */
int cli_opt_threads(const char *verb, const char *text);
/* getopt_long's answer for an option that needs a value and has none (':', with ":" first in optstring) or that it
 * does not know (anything else): "doodle VERB: --x needs a value" / "doodle VERB: unknown option '--x'", the
 * pointer to --help, EXIT_USAGE. */
int cli_opt_error(const char *verb, int c, char **argv);
/* True when s ends in suffix (ignoring case) and is longer than it. */
int cli_has_suffix(const char *s, const char *suffix);
/* The name among names[0..n) closest to a mistyped one (edit distance, case ignored), or NULL when none is close
 * enough to be what was meant (more than a third of its letters, at least 2, would have to change). */
const char *cli_closest(const char *typed, const char *const *names, size_t n);
int cli_parse_double(const char *text, double min, double max, double *out);

/* The name of the kernel set OpenBLAS runs ("Cooperlake", "Haswell", ...: it picks one for the CPU when it loads,
 * unless OPENBLAS_CORETYPE names one), for the benchmarks' output: speed figures depend on it. */
const char *cli_blas_kernels(void);

#endif
