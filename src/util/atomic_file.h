/* Atomic file writes: write into a temporary file beside the target, flush and fsync it, then rename it over the
 * target. A crash or an error part-way leaves the old file (if any) untouched and no partial file behind. */
#ifndef DOODLE_UTIL_ATOMIC_FILE_H
#define DOODLE_UTIL_ATOMIC_FILE_H

#include <stdio.h>

#include "doodle/error.h"

typedef struct dd_atomic_file {
    FILE *f;          /* write here */
    char *path;       /* final name */
    char *tmp_path;   /* temporary name in the same directory */
} dd_atomic_file;

int dd_atomic_open(dd_atomic_file *a, const char *path, dd_error *err);
/* Checks every write went through, fsyncs and renames into place. Frees a either way. */
int dd_atomic_commit(dd_atomic_file *a, dd_error *err);
/* Removes the temporary file. Safe to call on a file that was never opened or already committed. */
void dd_atomic_abort(dd_atomic_file *a);

#endif
