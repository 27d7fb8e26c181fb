/* Files for doodle export --web (export/site_files.h). */
#define _POSIX_C_SOURCE 200809L /* lstat */
#include "export/site_files.h"

#include <dirent.h>
#include <stdbool.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "doodle/files.h"
#include "doodle/alloc.h"
#include "util/base64.h"

unsigned char *site_read_file(const char *path, size_t *len, dd_error *err) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        dd_fail(err, DD_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    unsigned char *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n + 1 >= cap) {
            size_t next = cap ? 2 * cap : 1 << 16;
            unsigned char *b = dd_realloc(buf, next, 1, err);
            if (!b) break;
            buf = b;
            cap = next;
        }
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0) {
            if (ferror(f))
                dd_fail(err, DD_ERR_IO, "%s: read failed: %s", path, strerror(errno));
            else {
                fclose(f);
                buf[n] = 0;
                *len = n;
                return buf;
            }
            break;
        }
    }
    fclose(f);
    free(buf);
    return NULL;
}

int site_write_file(const char *path, const void *bytes, size_t len, dd_error *err) {
    dd_atomic_file a;
    if (dd_atomic_open(&a, path, err)) return -1;
    if (len && fwrite(bytes, 1, len, a.f) != len) return dd_atomic_fail(&a, errno, err);
    return dd_atomic_commit(&a, err);
}

unsigned char *site_gzip(const unsigned char *bytes, size_t len, size_t *out_len, dd_error *err) {
    z_stream z = {0};
    if (deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY) != Z_OK) { /* 15 + 16: a gzip wrapper */
        dd_fail(err, DD_ERR_NOMEM, "zlib: cannot start compressing");
        return NULL;
    }
    size_t cap = deflateBound(&z, (uLong)len);
    unsigned char *out = dd_malloc(cap, 1, err);
    if (!out) {
        deflateEnd(&z);
        return NULL;
    }
    z.next_in = (Bytef *)bytes;
    z.avail_in = (uInt)len;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    int rc = deflate(&z, Z_FINISH);
    *out_len = z.total_out;
    deflateEnd(&z);
    if (rc != Z_STREAM_END) {
        free(out);
        dd_fail(err, DD_ERR_IO, "zlib: compressing failed (%d)", rc);
        return NULL;
    }
    return out;
}

char *site_base64(const unsigned char *bytes, size_t len, dd_error *err) {
    char *out = dd_malloc(util_base64_length(len) + 1, 1, err);
    if (out) util_base64_encode(bytes, len, out);
    return out;
}

/* What the export writes, relative to the site's folder: the only names site_remove_dir takes away. */
static const char *const site_names[] = {
    ".doodle-site", "index.html", "app.js", "style.css",           "site.js",         "site.css",
    "model.onnx",   "model.js",   "ort",    "ort/ort.wasm.min.js", "ort/ort-wasm.js", NULL};

static bool known(const char *rel) {
    for (const char *const *n = site_names; *n; n++)
        if (!strcmp(*n, rel)) return true;
    return false;
}

/* Checks (remove false) or removes (true) the entries of dir/rel, which must all be known; then dir/rel itself. */
static int walk(const char *dir, const char *rel, bool remove, dd_error *err) {
    char path[4096];
    if (snprintf(path, sizeof path, "%s%s%s", dir, *rel ? "/" : "", rel) >= (int)sizeof path)
        return dd_fail(err, DD_ERR_IO, "%s/%s: the path is too long", dir, rel);
    DIR *d = opendir(path);
    if (!d) return dd_fail(err, DD_ERR_IO, "%s: cannot read the folder: %s", path, strerror(errno));
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char sub[4096], full[4096];
        if (snprintf(sub, sizeof sub, "%s%s%s", rel, *rel ? "/" : "", e->d_name) >= (int)sizeof sub ||
            snprintf(full, sizeof full, "%s/%s", dir, sub) >= (int)sizeof full) {
            rc = dd_fail(err, DD_ERR_IO, "%s/%s: the path is too long", path, e->d_name);
            break;
        }
        struct stat st;
        if (!known(sub)) {
            rc = dd_fail(err, DD_ERR_IO,
                         "%s: not a file doodle export --web writes; the site is left as it is (move the file "
                         "out, or choose another output)",
                         full);
        } else if (lstat(full, &st) != 0) {
            rc = dd_fail(err, DD_ERR_IO, "%s: %s", full, strerror(errno));
        } else if (S_ISDIR(st.st_mode)) {
            rc = walk(dir, sub, remove, err);
        } else if (remove && unlink(full) != 0) {
            rc = dd_fail(err, DD_ERR_IO, "%s: cannot remove: %s", full, strerror(errno));
        }
    }
    closedir(d);
    if (rc == 0 && remove && rmdir(path) != 0)
        rc = dd_fail(err, DD_ERR_IO, "%s: cannot remove: %s", path, strerror(errno));
    return rc;
}

int site_check_dir(const char *dir, dd_error *err) {
    char marker[4096];
    if (snprintf(marker, sizeof marker, "%s/.doodle-site", dir) >= (int)sizeof marker)
        return dd_fail(err, DD_ERR_IO, "%s: the path is too long", dir);
    if (access(marker, F_OK) != 0)
        return dd_fail(err, DD_ERR_IO,
                       "%s: the folder exists and is not a site doodle export --web wrote (no .doodle-site in it): "
                       "it is left alone; choose another output",
                       dir);
    return walk(dir, "", false, err);
}

int site_remove_dir(const char *dir, dd_error *err) {
    if (site_check_dir(dir, err)) return -1;
    return walk(dir, "", true, err);
}
