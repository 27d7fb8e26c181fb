#define _POSIX_C_SOURCE 200809L
#include "util/atomic_file.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/alloc.h"

int dd_atomic_open(dd_atomic_file *a, const char *path, dd_error *err) {
    memset(a, 0, sizeof *a);
    a->path = dd_strdup(path, err);
    size_t n = strlen(path) + sizeof ".tmp.XXXXXX";
    a->tmp_path = a->path ? dd_malloc(n, 1, err) : NULL;
    if (!a->tmp_path) {
        free(a->path);
        a->path = NULL;
        return -1;
    }
    snprintf(a->tmp_path, n, "%s.tmp.XXXXXX", path);
    int fd = mkstemp(a->tmp_path);
    if (fd < 0) {
        dd_fail(err, DD_ERR_IO, "%s: cannot create a temporary file beside it: %s", path, strerror(errno));
        free(a->tmp_path);
        free(a->path);
        memset(a, 0, sizeof *a);
        return -1;
    }
    fchmod(fd, 0644); /* mkstemp makes 0600; a dataset or image is not a secret */
    a->f = fdopen(fd, "wb");
    if (!a->f) {
        dd_fail(err, DD_ERR_IO, "%s: %s", a->tmp_path, strerror(errno));
        close(fd);
        dd_atomic_abort(a);
        return -1;
    }
    return 0;
}

int dd_atomic_commit(dd_atomic_file *a, dd_error *err) {
    int bad = ferror(a->f) || fflush(a->f) != 0 || fsync(fileno(a->f)) != 0;
    int saved = errno;
    if (fclose(a->f) != 0 && !bad) {
        bad = 1;
        saved = errno;
    }
    a->f = NULL;
    if (bad) {
        dd_fail(err, DD_ERR_IO, "%s: write failed: %s", a->path, strerror(saved ? saved : EIO));
        dd_atomic_abort(a);
        return -1;
    }
    if (rename(a->tmp_path, a->path) != 0) {
        dd_fail(err, DD_ERR_IO, "%s: cannot rename the temporary file into place: %s", a->path, strerror(errno));
        dd_atomic_abort(a);
        return -1;
    }
    free(a->tmp_path);
    free(a->path);
    memset(a, 0, sizeof *a);
    return 0;
}

void dd_atomic_abort(dd_atomic_file *a) {
    if (a->f) fclose(a->f);
    if (a->tmp_path) unlink(a->tmp_path);
    free(a->tmp_path);
    free(a->path);
    memset(a, 0, sizeof *a);
}
