/* safetensors: reading a file written by the Python peers' writer, round trip of our own files (metadata with
 * newlines and quotes, several dtypes, empty tensors), and every corruption the reader must reject. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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
    CHECK(n && n->dtype == DD_ST_I64 && n->nbytes == 8 && dd_le64(n->data) == 7);
    const dd_st_tensor *l = dd_st_find(f, "labels");
    CHECK(l && l->dtype == DD_ST_U8 && l->nbytes == 5 && !memcmp(l->data, "\x03\x01\x04\x01\x05", 5));
    CHECK(dd_st_find(f, "nope") == NULL);
    CHECK(dd_st_metadata(f, "format") && !strcmp(dd_st_metadata(f, "format"), "doodle-test"));
    CHECK(dd_st_metadata(f, "cfg") && !strcmp(dd_st_metadata(f, "cfg"), "[net]\ninput = 28x28x1\n# \"quoted\" \\ text\n"));
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
    dd_put64(b, n);
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
              (uintptr_t)dd_st_find(f, "dense.weight")->data, "data is not 8-byte aligned");
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
    dd_put64(b, n); /* header length past the end */
    expect_rejected(dir, "length", b, n);
    memcpy(b, good, n);
    b[8] = '['; /* not an object */
    expect_rejected(dir, "not-object", b, n);
    free(b);
    free(good);
    expect_header_rejected(dir, "bad-json", "{\"a\":{\"dtype\":\"F32\"", 0);
    expect_header_rejected(dir, "dtype", "{\"a\":{\"dtype\":\"Q7\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4);
    expect_header_rejected(dir, "shape-mismatch", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4);
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

int main(void) {
    test_python_file();
    test_round_trip_and_corruption(test_tmp_dir("safetensors"));
    return test_finish("test_safetensors");
}
