/* Helpers shared by the fuzz targets (fuzz.h). */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "doodle/error.h"
#include "doodle/model.h"
#include "fuzz.h"

volatile unsigned fuzz_sink;

void fuzz_fail(const char *file, int line, const char *cond, const char *fmt, ...) {
    fprintf(stderr, "%s:%d: FUZZ_CHECK(%s) failed: ", file, line, cond);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}

#define MAX_TEMP 8
static struct { char suffix[32], path[512]; } temps[MAX_TEMP];
static int n_temp;

static void remove_temp_files(void) {
    for (int i = 0; i < n_temp; i++) unlink(temps[i].path);
}

const char *fuzz_temp_path(const char *suffix) {
    for (int i = 0; i < n_temp; i++)
        if (strcmp(temps[i].suffix, suffix) == 0) return temps[i].path;
    FUZZ_CHECK(n_temp < MAX_TEMP && strlen(suffix) < sizeof temps[0].suffix, "scratch file \"%s\"", suffix);
    const char *dir = getenv("TMPDIR");
    if (!dir || !dir[0]) dir = "/tmp";
    if (n_temp == 0) atexit(remove_temp_files);
    snprintf(temps[n_temp].suffix, sizeof temps[n_temp].suffix, "%s", suffix);
    snprintf(temps[n_temp].path, sizeof temps[n_temp].path, "%s/doodle-fuzz-%ld-%d%s", dir, (long)getpid(), n_temp,
             suffix);
    return temps[n_temp++].path;
}

void fuzz_write_file(const char *path, const void *data, size_t size) {
    FILE *f = fopen(path, "wb");
    if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0) {
        fprintf(stderr, "cannot write the scratch file %s\n", path);
        abort();
    }
}

void fuzz_check_error(const char *what, int code, const char *msg, const char *prefix) {
    size_t n = strlen(prefix);
    FUZZ_CHECK(code > DD_OK && code < DD_STATUS_COUNT, "%s: status %d (%s)", what, code, msg);
    FUZZ_CHECK(strncmp(msg, prefix, n) == 0 && strlen(msg) > n + 2, "%s: message \"%s\" does not start with \"%s\"",
               what, msg, prefix);
}

const char fuzz_tiny_cfg[] = "[net]\ninput = 16x16x1\nclasses = 3\n"
                             "[conv2d]\nfilters = 4\nkernel = 3\npadding = same\n"
                             "[batchnorm]\n[activation]\ntype = relu\n[maxpool]\nsize = 2\n"
                             "[flatten]\n[dense]\nunits = classes\n";

const char *fuzz_tiny_model(void) {
    static const char *path;
    if (path) return path;
    dd_error err;
    dd_model_spec *spec = dd_model_spec_parse(fuzz_tiny_cfg, strlen(fuzz_tiny_cfg), "tiny.cfg", "tiny", NULL, &err);
    dd_model *m = spec ? dd_model_new(spec, 7, &err) : NULL;
    static const char *const names[3] = {"cat", "dog", "tree"};
    for (int i = 0; m && i < 3; i++)
        if (dd_model_set_class_name(m, i, names[i], &err)) {
            dd_model_free(m);
            m = NULL;
        }
    const char *p = fuzz_temp_path("-tiny.safetensors");
    if (!m || dd_model_save(m, p, &err)) {
        fprintf(stderr, "cannot make the tiny model: %s\n", err.msg);
        abort();
    }
    dd_model_free(m);
    return path = p;
}
