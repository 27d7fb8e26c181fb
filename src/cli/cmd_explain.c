/* doodle explain: why the model decides as it does. One sub-verb per kind of explanation, each in its own file;
 * this table is the only place that lists them. */
#include <stdio.h>

#include "cli/cli.h"
#include "cli/explain_verbs.h"

static const cli_command sub_verbs[] = {
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
    cli_print_commands(out, sub_verbs, N_SUB_VERBS, 14);
    fprintf(out, "\nExit status: 0 done, 1 bad input or failure, 2 bad usage.\n"
                 "\n"
                 "Examples:\n"
                 "  doodle explain clusters --help     the options of one of them\n"
                 "  doodle explain quality --help\n");
}

int cmd_explain(int argc, char **argv) {
    return cli_dispatch(sub_verbs, N_SUB_VERBS, argc, argv, usage, "doodle explain", "something to explain");
}
