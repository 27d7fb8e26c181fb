/* The per-class table that `doodle prep` prints after preparing a set and `doodle info` prints back from it. */
#ifndef DOODLE_CLI_CLASS_TABLE_H
#define DOODLE_CLI_CLASS_TABLE_H

#include <stdint.h>
#include <stdio.h>

#include "doodle/dataset.h"

/* stats has n_classes + 1 rows (the last: records no class could be named for; shown only when non-empty).
 * Skip-reason columns appear only for reasons that occurred. */
void print_class_table(FILE *out, uint32_t n_classes, const char *const *names, const dd_class_stats *stats);

#endif
