/* doodle: one binary, verbs like git's. */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "doodle/model_spec.h"

static const cli_command verbs[] = {
    {"prep", cmd_prep, "Quick, Draw! files -> a .dset dataset (classes, split, per-class limit)"},
    {"info", cmd_info, "print what a .dset holds: classes, counts, split, what prep skipped"},
    {"show", cmd_show, "PNG gallery of a dataset: drawings of every class, or many of one class"},
    {"train", cmd_train, "train a network on a dataset: history, best model, checkpoints, --resume"},
    {"tune", cmd_tune, "search for a better training recipe: seeded trials, the worse half stopped early"},
    {"summary", cmd_summary, "a network's layers, output shapes and parameter counts, as Keras prints them"},
    {"eval", cmd_eval, "a trained model on a dataset: accuracy, loss, top-3, confusion matrix, per-class F1"},
    {"predict", cmd_predict, "top classes with probabilities for drawings in ndjson, .npy or PNG files"},
    {"export", cmd_export, "a trained model as an ONNX file, for ONNX Runtime and other tools"},
    {"explain", cmd_explain, "why the model decides: clusters of its mistakes, activations, saliency, data quality"},
    {"report", cmd_report, "one self-contained HTML page about a training run: curves, metrics, pictures"},
    {"serve", cmd_serve, "the drawing page: draw, and the model guesses live (a local web server)"},
    {"render", cmd_render, "stroke files -> .npy bitmaps or a PNG grid, at any size"},
    {"simplify", cmd_simplify, "raw ndjson -> Google-style simplified ndjson"},
    {"bench", cmd_bench, "training or classification speed of a network on this machine (synthetic data)"},
};
#define N_VERBS (sizeof verbs / sizeof verbs[0])

static void usage(FILE *out) {
    fprintf(out, "usage: doodle <verb> [options]   (doodle <verb> --help for a verb's options)\n\n"
                 "Learn to recognise Quick, Draw! doodles with convolutional networks, and see what was learned.\n\n"
                 "verbs:\n");
    cli_print_commands(out, verbs, N_VERBS, 10);
    fprintf(out, "\nQuick, Draw! dataset by Google, CC BY 4.0.\n");
}

/* DOODLE_MAX_MEMORY_MB raises (or lowers) the memory a network may need (include/doodle/model_spec.h), for every
 * verb; read here only. MB = 10^6 bytes, as the messages count. */
static int memory_limit_from_env(void) {
    const char *v = getenv("DOODLE_MAX_MEMORY_MB");
    uint64_t mb;
    if (!v) return 0;
    if (cli_parse_u64(v, 1, UINT64_MAX / 1000000, &mb)) {
        fprintf(stderr, "doodle: DOODLE_MAX_MEMORY_MB='%.40s' is not a whole number of megabytes (at least 1)\n", v);
        return -1;
    }
    dd_set_memory_limit(mb * 1000000);
    return 0;
}

int main(int argc, char **argv) {
    if (argc >= 2 && !strcmp(argv[1], "--version")) {
        printf("doodle %s\n", DOODLE_VERSION);
        return 0;
    }
    if (memory_limit_from_env()) return EXIT_USAGE;
    /* Over a file size limit (ulimit -f) a write should fail with EFBIG, which every writer reports with the file's
     * name and leaves the older file in place, rather than kill the process with SIGXFSZ part-way. */
    if (signal(SIGXFSZ, SIG_IGN) == SIG_ERR) perror("doodle: cannot ignore SIGXFSZ");
    return cli_dispatch(verbs, N_VERBS, argc, argv, usage, "doodle", "a verb");
}
