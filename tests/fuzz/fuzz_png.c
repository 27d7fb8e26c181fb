/* Fuzz target: the input as a PNG picture for `doodle predict` (dd_classify_png: cairo decodes it with libpng,
 * doodle lays it on white, turns it grey, inverts dark-on-light and scales it to the model's input). The classifier
 * is opened once on a small model (fuzz_tiny_model).
 *
 * Mutated bytes would nearly always just fail libpng's chunk checksums, which only tests libpng; so before the file
 * is written, the CRC of every whole chunk is set right (the corpus files are replayed the same way). A failure
 * must have a status and a message starting with the file name; an answer has min(3, classes) classes, best first.
 * The memory bound is lowered to 64 MB and the run uses -malloc_limit_mb=256: a small file that declares a huge
 * picture must be refused (DD_ERR_RANGE, "too large") before cairo allocates it, in every build. */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "doodle/classify.h"
#include "doodle/model_spec.h"
#include "fuzz.h"

#define FUZZ_MEMORY_LIMIT ((uint64_t)64 * 1000 * 1000)

static uint32_t be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Fixes the CRC of each chunk that lies wholly inside the copy. */
static void fix_crcs(uint8_t *p, size_t size) {
    size_t at = 8;
    while (at + 12 <= size) {
        uint32_t len = be32(p + at);
        if (len > size - at - 12) break;
        uint32_t crc = (uint32_t)crc32(0, p + at + 4, (uInt)len + 4);
        p[at + 8 + len] = (uint8_t)(crc >> 24);
        p[at + 9 + len] = (uint8_t)(crc >> 16);
        p[at + 10 + len] = (uint8_t)(crc >> 8);
        p[at + 11 + len] = (uint8_t)crc;
        at += 12 + (size_t)len;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static dd_classifier *c;
    dd_set_memory_limit(FUZZ_MEMORY_LIMIT);
    dd_error err = {0};
    if (!c) {
        c = dd_classifier_open(fuzz_tiny_model(), &err);
        FUZZ_CHECK(c, "dd_classifier_open: %s", err.msg);
    }
    uint8_t *copy = malloc(size ? size : 1);
    FUZZ_CHECK(copy, "out of memory");
    memcpy(copy, data, size);
    fix_crcs(copy, size);
    const char *path = fuzz_temp_path(".png");
    fuzz_write_file(path, copy, size);
    free(copy);
    dd_prediction top[3];
    int n = dd_classify_png(c, path, top, 3, &err);
    /* a picture whose header asks for more than the memory bound (9 bytes a pixel while it is read) is refused
     * before it is decoded, with its size named */
    uint64_t declared =
        size >= 33 && be32(data + 8) == 13 && !memcmp(data, "\x89PNG\r\n\x1a\n", 8) && !memcmp(data + 12, "IHDR", 4)
            ? (uint64_t)be32(data + 16) * be32(data + 20)
            : 0;
    if (declared * 9 > FUZZ_MEMORY_LIMIT)
        FUZZ_CHECK(n < 0 && err.code == DD_ERR_RANGE && strstr(err.msg, "too large"), "a picture of %llu pixels: %s",
                   (unsigned long long)declared, n < 0 ? err.msg : "read");
    if (n < 0) {
        fuzz_check_error("dd_classify_png", err.code, err.msg, path);
        return 0;
    }
    int classes = dd_classifier_class_count(c);
    FUZZ_CHECK(n == (classes < 3 ? classes : 3), "%d answers", n);
    for (int j = 0; j < n; j++)
        FUZZ_CHECK(top[j].index >= 0 && top[j].index < classes && top[j].probability >= 0 &&
                       top[j].probability <= 1.0001f && (j == 0 || top[j].probability <= top[j - 1].probability),
                   "answer %d", j);
    return 0;
}
