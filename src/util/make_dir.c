/* mkdir -p (dd_make_dir in doodle/files.h): the one way doodle makes its output folders. */
#define _POSIX_C_SOURCE 200809L /* mkdir's mode_t */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "doodle/files.h"

int dd_make_dir(const char *dir, dd_error *err) {
    char path[4096];
    if (snprintf(path, sizeof path, "%s", dir) >= (int)sizeof path)
        return dd_fail(err, DD_ERR_RANGE, "%.100s...: path too long", dir);
    for (char *p = path + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(path, 0755) != 0 && errno != EEXIST)
            return dd_fail(err, DD_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
        *p = '/';
    }
    if (mkdir(path, 0755) != 0 && errno != EEXIST)
        return dd_fail(err, DD_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) return dd_fail(err, DD_ERR_IO, "%s: not a directory", path);
    return 0;
}
