/* A whole regular file mapped read-only (the .dset and .safetensors readers check what they map before use). */
#ifndef DOODLE_UTIL_MAPPED_FILE_H
#define DOODLE_UTIL_MAPPED_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "doodle/error.h"

typedef struct util_mapped_file {
    const uint8_t *data; /* NULL for an empty file */
    size_t size;
} util_mapped_file;

/* Fails with a message naming path when it cannot be opened, is not a regular file or cannot be mapped. */
int util_map_file(util_mapped_file *m, const char *path, dd_error *err);
void util_unmap_file(util_mapped_file *m);

#endif
