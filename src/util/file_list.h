/* Expanding the --input arguments of a verb: each argument is a file, or a directory whose Quick, Draw! files
 * (any depth; names the format reader knows) are taken in sorted order, so runs are reproducible. */
#ifndef DOODLE_UTIL_FILE_LIST_H
#define DOODLE_UTIL_FILE_LIST_H

#include <stddef.h>

#include "doodle/error.h"

typedef struct dd_file_list {
    char **paths;
    size_t count, cap;
} dd_file_list;

/* Appends path, or the known files under it when it is a directory. A missing path or a directory with no
 * known file is an error naming it. */
int dd_file_list_add(dd_file_list *l, const char *path, dd_error *err);
void dd_file_list_free(dd_file_list *l);

#endif
