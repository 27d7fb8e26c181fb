/* safetensors: reading a file written by the Python peers' writer, round trip of our own files (metadata with
 * newlines and quotes, several dtypes, empty tensors), and every corruption the reader must reject. */
#define _POSIX_C_SOURCE 200809L /* fork, waitpid */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "doodle/model.h"
#include "doodle/safetensors.h"
#include "testutil.h"
#include "util/le.h"

#ifndef DOODLE_TEST_DATA
#define DOODLE_TEST_DATA "tests/data"
#endif

static void test_python_file(void) {
    dd_error err;
    dd_st_file *f = dd_st_open(DOODLE_TEST_DATA "/reference.safetensors", &err);
    CHECK(f, "%s", err.msg);
    if (!f) return;
    CHECK(dd_st_count(f) == 4);
    const dd_st_tensor *w = dd_st_find(f, "conv1.weight");
    CHECK(w && w->dtype == DD_ST_F32 && w->ndim == 4 && w->shape[0] == 2 && w->shape[1] == 1 && w->shape[2] == 3 &&
          w->shape[3] == 3 && w->nbytes == 18 * 4);
    if (w) {
        for (int i = 0; i < 18; i++) {
            float v;
            memcpy(&v, (const uint8_t *)w->data + 4 * i, 4);
            CHECK(v == (float)i / 8 - 1, "conv1.weight[%d] = %g", i, v);
        }
    }
    const dd_st_tensor *n = dd_st_find(f, "bn1.num_batches_tracked");
    CHECK(n && n->dtype == DD_ST_I64 && n->nbytes == 8 && util_le64(n->data) == 7);
    const dd_st_tensor *l = dd_st_find(f, "labels");
    CHECK(l && l->dtype == DD_ST_U8 && l->nbytes == 5 && !memcmp(l->data, "\x03\x01\x04\x01\x05", 5));
    CHECK(dd_st_find(f, "nope") == NULL);
    CHECK(dd_st_metadata(f, "format") && !strcmp(dd_st_metadata(f, "format"), "doodle-test"));
    CHECK(dd_st_metadata(f, "cfg") &&
          !strcmp(dd_st_metadata(f, "cfg"), "[net]\ninput = 28x28x1\n# \"quoted\" \\ text\n"));
    CHECK(dd_st_metadata(f, "missing") == NULL);
    dd_st_close(f);
}

static void expect_rejected(const char *dir, const char *what, const uint8_t *bytes, size_t n) {
    char path[4200];
    snprintf(path, sizeof path, "%s/bad-%s.safetensors", dir, what);
    test_write_file(path, bytes, n);
    dd_error err = {0};
    dd_st_file *f = dd_st_open(path, &err);
    CHECK(f == NULL, "%s: a damaged file was accepted", what);
    dd_st_close(f);
    CHECK(strstr(err.msg, path) != NULL, "%s: message does not name the file: %s", what, err.msg);
}

/* A file made of an 8-byte length and the given header text, followed by data_size zero bytes. */
static void expect_header_rejected(const char *dir, const char *what, const char *json, size_t data_size) {
    size_t n = strlen(json);
    uint8_t *b = calloc(1, 8 + n + data_size);
    util_put64(b, n);
    memcpy(b + 8, json, n);
    expect_rejected(dir, what, b, 8 + n + data_size);
    free(b);
}

static void test_round_trip_and_corruption(const char *dir) {
    char path[4200];
    snprintf(path, sizeof path, "%s/ours.safetensors", dir);
    float w[6] = {1.5f, -2, 3.25f, 0, -0.0f, 1e-30f};
    double d[2] = {3.141592653589793, -1e300};
    int64_t shape_w[2] = {2, 3}, shape_d[1] = {2}, shape_empty[2] = {0, 5};
    dd_error err;
    dd_st_writer *wr = dd_st_writer_new(&err);
    CHECK(wr != NULL);
    if (!wr) return;
    CHECK(dd_st_writer_add(wr, "dense.weight", DD_ST_F32, 2, shape_w, w, &err) == 0, "%s", err.msg);
    CHECK(dd_st_writer_add(wr, "pi", DD_ST_F64, 1, shape_d, d, &err) == 0);
    CHECK(dd_st_writer_add(wr, "empty", DD_ST_F32, 2, shape_empty, NULL, &err) == 0);
    CHECK(dd_st_writer_add(wr, "pi", DD_ST_F64, 1, shape_d, d, &err) != 0, "a duplicate name was accepted");
    CHECK(dd_st_writer_metadata(wr, "cfg", "[net]\n\"x\"\ttab\\", &err) == 0);
    CHECK(dd_st_writer_metadata(wr, "cfg", "replaced\n", &err) == 0);
    CHECK(dd_st_write(wr, path, &err) == 0, "%s", err.msg);
    dd_st_writer_free(wr);

    dd_st_file *f = dd_st_open(path, &err);
    CHECK(f, "%s", err.msg);
    if (f) {
        const dd_st_tensor *t = dd_st_find(f, "dense.weight");
        CHECK(t && t->ndim == 2 && t->shape[0] == 2 && t->shape[1] == 3 && !memcmp(t->data, w, sizeof w));
        t = dd_st_find(f, "pi");
        CHECK(t && t->dtype == DD_ST_F64 && !memcmp(t->data, d, sizeof d));
        t = dd_st_find(f, "empty");
        CHECK(t && t->nbytes == 0 && t->shape[0] == 0 && t->shape[1] == 5);
        CHECK(dd_st_metadata(f, "cfg") && !strcmp(dd_st_metadata(f, "cfg"), "replaced\n"));
        CHECK(((uintptr_t)dd_st_find(f, "dense.weight")->data - (uintptr_t)dd_st_find(f, "dense.weight")->data % 8) ==
                  (uintptr_t)dd_st_find(f, "dense.weight")->data,
              "data is not 8-byte aligned");
        dd_st_close(f);
    }

    size_t n;
    uint8_t *good = (void *)test_read_file(path, &n);
    CHECK(good != NULL);
    if (!good) return;
    expect_rejected(dir, "empty", good, 0);
    expect_rejected(dir, "short", good, 5);
    expect_rejected(dir, "truncated", good, n - 4);
    uint8_t *b = malloc(n + 16);
    memcpy(b, good, n);
    memset(b + n, 0, 16);
    expect_rejected(dir, "appended", b, n + 16);
    memcpy(b, good, n);
    util_put64(b, n); /* header length past the end */
    expect_rejected(dir, "length", b, n);
    memcpy(b, good, n);
    b[8] = '['; /* not an object */
    expect_rejected(dir, "not-object", b, n);
    free(b);
    free(good);
    expect_header_rejected(dir, "bad-json", "{\"a\":{\"dtype\":\"F32\"", 0);
    expect_header_rejected(dir, "dtype", "{\"a\":{\"dtype\":\"Q7\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4);
    expect_header_rejected(dir, "shape-mismatch", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}",
                           4);
    expect_header_rejected(dir, "negative", "{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4);
    expect_header_rejected(dir, "offsets", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,0]}}", 4);
    expect_header_rejected(dir, "overlap",
                           "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                           "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
                           8);
    expect_header_rejected(dir, "hole", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8);
    expect_header_rejected(dir, "huge-shape",
                           "{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,4]}}", 4);
    expect_header_rejected(dir, "metadata", "{\"__metadata__\":{\"k\":5}}", 0);
    dd_st_file *missing = dd_st_open("/nonexistent/model.safetensors", &err);
    CHECK(missing == NULL && err.code == DD_ERR_IO);
}

/* ---- model files (doodle/model.h): every bad one is refused with its file and field named ---- */

#define TINY_CFG                                                                                                       \
    "[net]\ninput = 8x8x1\nclasses = 3\n[conv2d]\nfilters = 2\nkernel = 3\n[batchnorm]\n[flatten]\n"                   \
    "[dense]\nunits = classes\n"

static dd_model *tiny_model(void) {
    dd_error err;
    dd_model_spec *spec = dd_model_spec_parse(TINY_CFG, strlen(TINY_CFG), "tiny.cfg", "tiny", NULL, &err);
    dd_model *m = spec ? dd_model_new(spec, 5, &err) : NULL;
    const char *names[3] = {"cat", "dog", "fish"};
    for (int i = 0; m && i < 3; i++) dd_model_set_class_name(m, i, names[i], &err);
    if (!m) {
        fprintf(stderr, "tiny model: %s\n", err.msg);
        exit(1);
    }
    return m;
}

/* Writes m to dir/<what>.safetensors with the metadata values given as NULL-ended key, value pairs replaced;
 * returns the path (a static buffer). */
static const char *write_model(const char *dir, const char *what, const dd_model *m, ...) {
    static char path[4200];
    snprintf(path, sizeof path, "%s/model-%s.safetensors", dir, what);
    dd_error err;
    dd_st_writer *w = dd_st_writer_new(&err);
    int rc = !w || dd_model_add_to(m, w, &err);
    va_list ap;
    va_start(ap, m);
    for (const char *key; !rc && (key = va_arg(ap, const char *));)
        rc = dd_st_writer_metadata(w, key, va_arg(ap, const char *), &err);
    va_end(ap);
    if (!rc) rc = dd_st_write(w, path, &err);
    dd_st_writer_free(w);
    if (rc) {
        fprintf(stderr, "%s: %s\n", path, err.msg);
        exit(1);
    }
    return path;
}

/* Loads path expecting failure with code and a message holding the path and each of the NULL-ended words. */
static void expect_model_refused(const char *what, const char *path, dd_status code, ...) {
    dd_error err = {0};
    dd_model *m = dd_model_load(path, &err);
    CHECK(!m, "%s: the model loaded", what);
    dd_model_free(m);
    CHECK(err.code == code, "%s: code %s, not %s: %s", what, dd_status_name(err.code), dd_status_name(code), err.msg);
    CHECK(strstr(err.msg, path), "%s: message does not name the file: %s", what, err.msg);
    va_list ap;
    va_start(ap, code);
    for (const char *word; (word = va_arg(ap, const char *));)
        CHECK(strstr(err.msg, word), "%s: message does not say '%s': %s", what, word, err.msg);
    va_end(ap);
}

static void test_model_metadata(const char *dir) {
    dd_model *m = tiny_model();
    dd_error err;
    dd_model *back = dd_model_load(write_model(dir, "good", m, (char *)NULL), &err);
    CHECK(back && !strcmp(back->class_names[2], "fish") && !memcmp(back->params, m->params, m->spec->n_params * 4),
          "good model: %s", back ? "" : err.msg);
    CHECK(back && !strcmp(back->spec->name, "tiny"), "the model's name does not come back: %s",
          back ? back->spec->name : "");
    dd_model_free(back);
    expect_model_refused("a name with markup", write_model(dir, "name-markup", m, "name", "<b>x</b>", (char *)NULL),
                         DD_ERR_MALFORMED, "name", (char *)NULL);
    expect_model_refused("an empty name", write_model(dir, "name-empty", m, "name", "", (char *)NULL), DD_ERR_MALFORMED,
                         "name", (char *)NULL);
    expect_model_refused("version 1junk", write_model(dir, "version-junk", m, "format_version", "1junk", (char *)NULL),
                         DD_ERR_MALFORMED, "format_version", "1junk", (char *)NULL);
    expect_model_refused("version +1", write_model(dir, "version-sign", m, "format_version", "+1", (char *)NULL),
                         DD_ERR_MALFORMED, "format_version", (char *)NULL);
    expect_model_refused("version 2", write_model(dir, "version-2", m, "format_version", "2", (char *)NULL),
                         DD_ERR_UNSUPPORTED, "version 2", (char *)NULL);
    expect_model_refused("7 channels", write_model(dir, "channels", m, "input", "8x8x7", (char *)NULL),
                         DD_ERR_UNSUPPORTED, "input = 8x8x7", "7 channels", (char *)NULL);
    expect_model_refused("input junk", write_model(dir, "input-junk", m, "input", "8x8x1junk", (char *)NULL),
                         DD_ERR_MALFORMED, "input", "8x8x1junk", (char *)NULL);
    expect_model_refused("input xx", write_model(dir, "input-xx", m, "input", "8xx8x1", (char *)NULL), DD_ERR_MALFORMED,
                         "input", (char *)NULL);
    expect_model_refused("3-channel cfg",
                         write_model(dir, "cfg-channels", m, "cfg",
                                     "[net]\ninput = 8x8x3\nclasses = 3\n[conv2d]\nfilters = 2\nkernel = 3\n"
                                     "[batchnorm]\n[flatten]\n[dense]\nunits = classes\n",
                                     (char *)NULL),
                         DD_ERR_UNSUPPORTED, "input has 3 channels", (char *)NULL);
    expect_model_refused("duplicate class",
                         write_model(dir, "classes-dup", m, "classes", "[\"cat\",\"dog\",\"cat\"]", (char *)NULL),
                         DD_ERR_MALFORMED, "class name 'cat' appears twice", (char *)NULL);
    dd_model_free(m);
}

static void test_model_not_finite(const char *dir) {
    dd_model *m = tiny_model();
    const dd_layer_spec *conv = &m->spec->layers[0], *bn = &m->spec->layers[1];
    m->params[conv->weight.offset + 5] = NAN;
    expect_model_refused("NaN weight", write_model(dir, "nan", m, (char *)NULL), DD_ERR_RANGE, "conv2d.weight",
                         "NaN at index 5", (char *)NULL);
    m->params[conv->weight.offset + 5] = 0.5f;
    m->state[bn->running_var.offset + 1] = INFINITY;
    expect_model_refused("infinite variance", write_model(dir, "inf", m, (char *)NULL), DD_ERR_RANGE,
                         "batch_normalization.running_var", "infinite value at index 1", (char *)NULL);
    dd_model_free(m);
}

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

#ifndef UNDER_ASAN
/* The process's address space now, in bytes (/proc/self/statm's first field). */
static size_t address_space(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long pages = 0;
    if (f && fscanf(f, "%lu", &pages) != 1) pages = 0;
    if (f) fclose(f);
    return (size_t)pages * (size_t)sysconf(_SC_PAGESIZE);
}
#endif

/* A small file whose cfg asks for a 1,048,576-unit dense layer (4.3 GB of weights) that its tensors do not have:
 * refused for its tensors, before the parameter block is allocated. Checked in a child whose address space can
 * grow by 1 GB only: allocating first fails there as "out of memory" (ASan's shadow memory needs no such limit,
 * so under ASan only the message is checked). */
static void test_model_cfg_larger_than_file(const char *dir) {
    dd_model *m = tiny_model();
    const char *path = write_model(dir, "huge-dense", m, "input", "32x32x1", "cfg",
                                   "[net]\ninput = 32x32x1\nclasses = 3\n[flatten]\n[dense]\nunits = 1048576\n"
                                   "[dense]\nunits = classes\n",
                                   (char *)NULL);
    dd_model_free(m);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
#ifndef UNDER_ASAN
        struct rlimit lim = {address_space() + ((size_t)1 << 30), RLIM_INFINITY};
        lim.rlim_max = lim.rlim_cur;
        if (setrlimit(RLIMIT_AS, &lim)) _exit(3);
#endif
        dd_error err = {0};
        dd_model *big = dd_model_load(path, &err);
        int ok = !big && err.code == DD_ERR_MALFORMED && strstr(err.msg, path) && strstr(err.msg, "dense.weight");
        if (!ok) fprintf(stderr, "huge dense: %s (%s)\n", err.msg, dd_status_name(err.code));
        dd_model_free(big);
        _exit(ok ? 0 : 1);
    }
    int status = 0;
    CHECK(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0,
          "a cfg larger than its file was not refused before allocating (status %d)", status);
}

/* A network over the memory bound (a 2048x1024 input, 1,000 filters: 8.4 GB of activations per image): refused
 * with the size and the limit named; with the bound raised, refused for its tensors. */
static void test_model_memory_bound(const char *dir) {
    dd_model *m = tiny_model();
    const char *path = write_model(dir, "wide-input", m, "input", "2048x1024x1", "cfg",
                                   "[net]\ninput = 8x8x1\nclasses = 3\n[conv2d]\nfilters = 1000\nkernel = 3\n"
                                   "padding = same\n[maxpool]\nsize = 64\n[flatten]\n[dense]\nunits = classes\n",
                                   (char *)NULL);
    expect_model_refused("8.4 GB of activations", path, DD_ERR_RANGE, "8.4 GB of activations", "limit of 8.0 GB",
                         "DOODLE_MAX_MEMORY_MB", (char *)NULL);
    dd_set_memory_limit((uint64_t)20 * 1000 * 1000 * 1000);
    expect_model_refused("raised bound: the tensors", path, DD_ERR_MALFORMED, "conv2d.weight", (char *)NULL);
    dd_set_memory_limit(0);
    CHECK(dd_memory_limit() == DD_MEMORY_LIMIT_DEFAULT);
    dd_model_free(m);
}

int main(void) {
    test_python_file();
    const char *dir = test_tmp_dir("safetensors");
    test_round_trip_and_corruption(dir);
    test_model_metadata(dir);
    test_model_not_finite(dir);
    test_model_cfg_larger_than_file(dir);
    test_model_memory_bound(dir);
    return test_finish("test_safetensors");
}
