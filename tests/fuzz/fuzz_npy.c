/* Fuzz target: the input as a .npy file through dd_npy_read. A failure must have a status and a message starting
 * with the file name; on success every pixel of count x height x width is read (ASan checks the block's size). */
#include <stdio.h>
#include <stdlib.h>

#include "doodle/quickdraw.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_temp_path(".npy");
    fuzz_write_file(path, data, size);
    dd_bitmaps b;
    dd_error err;
    if (dd_npy_read(path, &b, &err) != 0) {
        fuzz_check_error("dd_npy_read", err.code, err.msg, path);
        FUZZ_CHECK(b.pixels == NULL && b.count == 0, "a failed read leaves bitmaps behind");
        return 0;
    }
    FUZZ_CHECK(b.pixels != NULL && b.height > 0 && b.width > 0, "%llu x %u x %u", (unsigned long long)b.count, b.height,
               b.width);
    uint64_t bytes = b.count * b.height * (uint64_t)b.width;
    FUZZ_CHECK(bytes <= size, "%llu pixels from a %zu-byte file", (unsigned long long)bytes, size);
    unsigned sum = 0;
    for (uint64_t i = 0; i < bytes; i++) sum += b.pixels[i];
    fuzz_sink = sum;
    dd_bitmaps_free(&b);
    return 0;
}
