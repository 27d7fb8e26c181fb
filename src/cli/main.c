/* doodle: one binary, verbs like git's. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

typedef struct verb {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} verb;

static const verb verbs[] = {
    {"prep", cmd_prep, "Quick, Draw! files -> a .dset dataset (classes, split, per-class limit)"},
    {"info", cmd_info, "print what a .dset holds: classes, counts, split, what prep skipped"},
    {"show", cmd_show, "PNG gallery of a dataset: drawings of every class, or many of one class"},
    {"train", cmd_train, "train a network on a dataset: history, best model, checkpoints, --resume"},
    {"summary", cmd_summary, "a network's layers, output shapes and parameter counts, as Keras prints them"},
    {"eval", cmd_eval, "a trained model on a dataset: accuracy, loss, top-3, confusion matrix, per-class F1"},
    {"predict", cmd_predict, "top classes with probabilities for drawings in ndjson, .npy or PNG files"},
    {"explain", cmd_explain, "why the model decides: clusters of its mistakes, activations, saliency, data quality"},
    {"report", cmd_report, "one self-contained HTML page about a training run: curves, metrics, pictures"},
    {"serve", cmd_serve, "the drawing page: draw, and the model guesses live (a local web server)"},
    {"render", cmd_render, "stroke files -> .npy bitmaps or a PNG grid, at any size"},
    {"simplify", cmd_simplify, "raw ndjson -> Google-style simplified ndjson"},
    {"bench", cmd_bench, "training or classification speed of a network on this machine (synthetic data)"},
};
#define N_VERBS (sizeof verbs / sizeof verbs[0])

static void usage(FILE *out) {
    fprintf(out,
            "usage: doodle <verb> [options]   (doodle <verb> --help for a verb's options)\n\n"
            "Learn to recognise Quick, Draw! doodles with convolutional networks, and see what was learned.\n\n"
            "verbs:\n");
    for (size_t i = 0; i < N_VERBS; i++) fprintf(out, "  %-10s %s\n", verbs[i].name, verbs[i].summary);
    fprintf(out, "\nQuick, Draw! dataset by Google, CC BY 4.0.\n");
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *name = argv[1];
    if (!strcmp(name, "--help") || !strcmp(name, "-h") || !strcmp(name, "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(name, "--version")) {
        printf("doodle %s\n", DOODLE_VERSION);
        return 0;
    }
    for (size_t i = 0; i < N_VERBS; i++)
        if (!strcmp(name, verbs[i].name)) return verbs[i].run(argc - 1, argv + 1);
    fprintf(stderr, "doodle: '%s' is not a verb. See 'doodle --help'.\n", name);
    return EXIT_USAGE;
}
