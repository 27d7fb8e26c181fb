/* doodle show — placeholder until its implementation lands. */
#include <stdio.h>

#include "cli/cli.h"

int cmd_show(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "doodle show: not implemented yet\n");
    return 1;
}
