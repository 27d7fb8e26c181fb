/* Expanding a verb's input arguments into Quick, Draw! files (dd_file_list in doodle/quickdraw.h). */
#define _DEFAULT_SOURCE /* DT_DIR */
#include "doodle/quickdraw.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "doodle/files.h"
#include "doodle/alloc.h"

static int push(dd_file_list *l, const char *path, dd_error *err) {
    if (l->count == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 64;
        char **p = dd_realloc(l->paths, cap, sizeof *p, err);
        if (!p) return -1;
        l->paths = p;
        l->cap = cap;
    }
    if (!(l->paths[l->count] = dd_strdup(path, err))) return -1;
    l->count++;
    return 0;
}

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int add_dir(dd_file_list *l, const char *dir, dd_error *err) {
    DIR *d = opendir(dir);
    if (!d) return dd_fail(err, DD_ERR_IO, "%s: %s", dir, strerror(errno));
    size_t first = l->count;
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char *p = dd_path_join_new(dir, e->d_name, err);
        if (!p) {
            rc = -1;
            break;
        }
        struct stat st;
        if (stat(p, &st) == 0 && S_ISDIR(st.st_mode))
            rc = add_dir(l, p, err);
        else if (dd_format_from_path(p) != DD_FORMAT_UNKNOWN)
            rc = push(l, p, err);
        free(p);
    }
    closedir(d);
    if (rc == 0) qsort(l->paths + first, l->count - first, sizeof *l->paths, by_name);
    return rc;
}

int dd_file_list_add(dd_file_list *l, const char *path, dd_error *err) {
    struct stat st;
    if (stat(path, &st) != 0) return dd_fail(err, DD_ERR_IO, "%s: %s", path, strerror(errno));
    if (!S_ISDIR(st.st_mode)) return push(l, path, err);
    size_t before = l->count;
    if (add_dir(l, path, err)) return -1;
    if (l->count == before)
        return dd_fail(err, DD_ERR_IO, "%s: no Quick, Draw! files in it (.ndjson, .bin, .npy, .csv, optionally .gz)",
                       path);
    return 0;
}

void dd_file_list_free(dd_file_list *l) {
    for (size_t i = 0; i < l->count; i++) free(l->paths[i]);
    free(l->paths);
    memset(l, 0, sizeof *l);
}
