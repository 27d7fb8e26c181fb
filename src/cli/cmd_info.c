/* doodle info — placeholder until its implementation lands. */
#include <stdio.h>

#include "cli/cli.h"

int cmd_info(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "doodle info: not implemented yet\n");
    return 1;
}
