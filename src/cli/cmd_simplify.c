/* doodle simplify — placeholder until its implementation lands. */
#include <stdio.h>

#include "cli/cli.h"

int cmd_simplify(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "doodle simplify: not implemented yet\n");
    return 1;
}
