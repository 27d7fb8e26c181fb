/* A tiny test harness: CHECK records a failure with file and line and goes on; tests return test_finish(). */
#ifndef DOODLE_TESTUTIL_H
#define DOODLE_TESTUTIL_H

#include <stdint.h>
#include <stdio.h>

extern int test_failures;

#define CHECK(cond, ...)                                                                                               \
    do {                                                                                                               \
        if (!(cond)) {                                                                                                 \
            test_failures++;                                                                                           \
            fprintf(stderr, "%s:%d: CHECK(%s) failed: ", __FILE__, __LINE__, #cond);                                   \
            fprintf(stderr, " " __VA_ARGS__);                                                                          \
            fputc('\n', stderr);                                                                                       \
        }                                                                                                              \
    } while (0)

/* Exits 77 (CTest "skipped") when ../shared/data/quickdraw is missing; else returns its path. */
const char *test_shared_data(void);
/* The bundled sample directory (data/sample). */
const char *test_sample_dir(void);
/* A fresh scratch directory for this test (created if needed), e.g. build/tests/tmp/<name>. */
const char *test_tmp_dir(const char *test_name);
/* Writes len bytes to path (aborts the test on failure); returns path. */
const char *test_write_file(const char *path, const void *data, size_t len);
/* The whole file (NUL-terminated, *n bytes without the NUL), malloc'ed; NULL when it cannot be read. */
char *test_read_file(const char *path, size_t *n);
/* Gzip-compresses data into path. */
const char *test_write_gz(const char *path, const void *data, size_t len);

/* realloc that ends the test (exit 1) when memory runs out, so a failed grow never loses the old block. */
void *test_realloc(void *p, size_t size);

/* A PNG in memory decoded by cairo (check cairo_surface_status; destroy it). */
typedef struct _cairo_surface cairo_surface_t;
cairo_surface_t *test_png_decode(const unsigned char *png, size_t size);

/* The bundled sample's five classes, in its order (airplane, apple, cat, fish, star). */
extern const char *const test_sample_classes[5];
/* A fresh (untrained, seeded) model of a built-in network for the sample's five classes, saved to path (the test
 * ends on failure). */
void test_make_sample_model(const char *builtin, uint64_t seed, const char *path);

int test_finish(const char *name);

#endif
