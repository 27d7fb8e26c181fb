/* Shared by the fuzz targets of tests/fuzz (see README.md there): the libFuzzer entry point, which each
 * fuzz_<target>.c defines, and small helpers. The same target files are linked with libFuzzer in the fuzz build
 * (-DDOODLE_FUZZ=ON) and with corpus_main.c in every other build, where they replay the committed corpus. */
#ifndef DOODLE_FUZZ_H
#define DOODLE_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A property of the library does not hold: prints where, the condition and the message, then aborts, which
 * libFuzzer reports as a crash (and the corpus replay as a failed test). */
void fuzz_fail(const char *file, int line, const char *cond, const char *fmt, ...)
    __attribute__((format(printf, 4, 5), noreturn));
#define FUZZ_CHECK(cond, ...)                                                                                          \
    do {                                                                                                               \
        if (!(cond)) fuzz_fail(__FILE__, __LINE__, #cond, __VA_ARGS__);                                                \
    } while (0)

/* Where a target stores what it computed from every byte of a result, so that the reads are not optimised away. */
extern volatile unsigned fuzz_sink;

/* This process's scratch file ending in `suffix` (e.g. ".ndjson.gz") in $TMPDIR or /tmp, with the pid in its
 * name so that parallel fuzzers do not collide; every such file is removed at exit. */
const char *fuzz_temp_path(const char *suffix);
/* Writes size bytes to path, replacing it (aborts when that fails: not a finding). */
void fuzz_write_file(const char *path, const void *data, size_t size);

/* Checks the project's rule for a failure: a known status and a message that starts with `prefix` (the file's
 * name; "" when there is no file) and says more than that. */
void fuzz_check_error(const char *what, int code, const char *msg, const char *prefix);

/* The cfg of a small network with every kind of layer that has weights (conv, batchnorm, relu, maxpool, dense):
 * 16x16 input, 3 classes. fuzz_tiny_model saves it once, with seeded weights and the class names cat, dog and
 * tree, to a scratch file of this process and returns the path (the targets that need a model to run open it). */
extern const char fuzz_tiny_cfg[];
const char *fuzz_tiny_model(void);

#endif
