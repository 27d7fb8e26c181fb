#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include <cairo.h>

#include "doodle/model.h"

int test_failures = 0;

const char *test_shared_data(void) {
    const char *p = getenv("DOODLE_SHARED_DATA");
    struct stat st;
    if (!p || stat(p, &st) != 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "skipped: Quick, Draw! test data not found (DOODLE_SHARED_DATA=%s)\n", p ? p : "(unset)");
        exit(77);
    }
    return p;
}

const char *test_sample_dir(void) {
    const char *p = getenv("DOODLE_SAMPLE_DIR");
    return p ? p : "data/sample";
}

static void mkdirs(const char *path) {
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *s = buf + 1; *s; s++)
        if (*s == '/') {
            *s = '\0';
            mkdir(buf, 0755);
            *s = '/';
        }
    if (mkdir(buf, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "cannot create %s: %s\n", buf, strerror(errno));
        exit(1);
    }
}

const char *test_tmp_dir(const char *test_name) {
    static char dir[4096];
    const char *base = getenv("DOODLE_TEST_TMP");
    snprintf(dir, sizeof dir, "%s/%s", base ? base : "/tmp/doodle-tests", test_name);
    mkdirs(dir);
    return dir;
}

const char *test_write_file(const char *path, const void *data, size_t len) {
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(1);
    }
    return path;
}

char *test_read_file(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *b = NULL;
    long size = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    if (size >= 0 && fseek(f, 0, SEEK_SET) == 0 && (b = malloc((size_t)size + 1))) {
        if (fread(b, 1, (size_t)size, f) != (size_t)size) {
            free(b);
            b = NULL;
        } else {
            b[size] = '\0';
            *n = (size_t)size;
        }
    }
    fclose(f);
    return b;
}

const char *test_write_gz(const char *path, const void *data, size_t len) {
    gzFile g = gzopen(path, "wb");
    if (!g || (len && gzwrite(g, data, (unsigned)len) != (int)len) || gzclose(g) != Z_OK) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(1);
    }
    return path;
}

void *test_realloc(void *p, size_t size) {
    void *q = realloc(p, size);
    if (!q) {
        fprintf(stderr, "out of memory growing a buffer to %zu bytes\n", size);
        free(p);
        exit(1);
    }
    return q;
}

int test_finish(const char *name) {
    if (test_failures) {
        fprintf(stderr, "%s: %d check(s) failed\n", name, test_failures);
        return 1;
    }
    printf("%s: all checks passed\n", name);
    return 0;
}

const char *const test_sample_classes[5] = {"airplane", "apple", "cat", "fish", "star"};

void test_make_sample_model(const char *builtin, uint64_t seed, const char *path) {
    dd_error err;
    dd_spec_overrides ov = {.classes = 5};
    dd_model_spec *spec = dd_model_spec_builtin(builtin, &ov, &err);
    dd_model *m = spec ? dd_model_new(spec, seed, &err) : NULL;
    for (int i = 0; m && i < 5; i++) dd_model_set_class_name(m, i, test_sample_classes[i], &err);
    if (!m || dd_model_save(m, path, &err)) {
        fprintf(stderr, "%s: %s\n", path, err.msg);
        exit(1);
    }
    dd_model_free(m);
}

typedef struct png_reader {
    const unsigned char *data;
    size_t size, at;
} png_reader;

static cairo_status_t read_mem(void *closure, unsigned char *out, unsigned int len) {
    png_reader *r = closure;
    if (r->size - r->at < len) return CAIRO_STATUS_READ_ERROR;
    memcpy(out, r->data + r->at, len);
    r->at += len;
    return CAIRO_STATUS_SUCCESS;
}

cairo_surface_t *test_png_decode(const unsigned char *png, size_t size) {
    png_reader r = {png, size, 0};
    return cairo_image_surface_create_from_png_stream(read_mem, &r);
}
