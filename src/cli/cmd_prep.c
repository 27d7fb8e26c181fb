/* doodle prep — placeholder until its implementation lands. */
#include <stdio.h>

#include "cli/cli.h"

int cmd_prep(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "doodle prep: not implemented yet\n");
    return 1;
}
