/* "dir/name" (dd_path_join in doodle/files.h): the one way doodle names a file in a folder, refusing a path that
 * does not fit rather than cutting it short (which would write or read another file). */
#include <stdio.h>
#include <string.h>

#include "doodle/files.h"
#include "doodle/alloc.h"

int dd_path_join(char *buf, size_t size, const char *dir, const char *name, dd_error *err) {
    int n = snprintf(buf, size, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= size) return dd_fail(err, DD_ERR_RANGE, "%.100s/%.100s: path too long", dir, name);
    return 0;
}

char *dd_path_join_new(const char *dir, const char *name, dd_error *err) {
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = dd_malloc(n, 1, err);
    if (p) snprintf(p, n, "%s/%s", dir, name);
    return p;
}
