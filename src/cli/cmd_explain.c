/* doodle explain: why the model decides as it does. One sub-verb per kind of explanation, each in its own file;
 * this table is the only place that lists them. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/explain_verbs.h"

typedef struct sub_verb {
    const char *name;
    int (*run)(int argc, char **argv); /* argv[0] is the sub-verb's name */
    const char *summary;
} sub_verb;

static const sub_verb sub_verbs[] = {
    {"clusters", cmd_explain_clusters, "misclassified drawings -> PCA -> K-Means and DBSCAN: montages, composition"},
    {"misclassified", cmd_explain_misclassified, "\"misclassified as X\": drawings predicted as X, by true class"},
    {"activations", cmd_explain_activations, "feature maps after chosen layers; the drawings that excite each unit"},
    {"saliency", cmd_explain_saliency, "saliency, occlusion and Grad-CAM heat maps over drawings"},
    {"quality", cmd_explain_quality, "suspect data: contradicted labels, not recognized, duplicates"},
};
#define N_SUB_VERBS (sizeof sub_verbs / sizeof sub_verbs[0])

static void usage(FILE *out) {
    fprintf(out, "usage: doodle explain <what> [options]   (doodle explain <what> --help for its options)\n\n"
                 "what:\n");
    for (size_t i = 0; i < N_SUB_VERBS; i++) fprintf(out, "  %-14s %s\n", sub_verbs[i].name, sub_verbs[i].summary);
    fprintf(out, "\nExit status: 0 done, 1 bad input or failure, 2 bad usage.\n");
}

int cmd_explain(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *name = argv[1];
    if (!strcmp(name, "--help") || !strcmp(name, "-h") || !strcmp(name, "help")) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < N_SUB_VERBS; i++)
        if (!strcmp(name, sub_verbs[i].name)) return sub_verbs[i].run(argc - 1, argv + 1);
    fprintf(stderr, "doodle explain: '%s' is not something to explain. See 'doodle explain --help'.\n", name);
    return EXIT_USAGE;
}
