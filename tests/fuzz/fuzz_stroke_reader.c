/* Fuzz target: a whole stroke file through dd_stroke_reader.
 *
 * The first input byte chooses the file: bit 0 ndjson or .bin; bits 1-2 how the rest of the input is stored:
 *   0  as it is, in x.ndjson / x.bin
 *   1  gzip-compressed by this target, in x.ndjson.gz / x.bin.gz
 *   2  the same with its last 1 + (byte >> 3) bytes cut off (a truncated download)
 *   3  as it is, in a .gz-named file (the fuzzer's own, mostly corrupt, gzip data; or plain bytes, which zlib
 *      passes through).
 * Every record is read until END or FATAL. Checked: every drawing returned is valid; every BAD or FATAL error has
 * a status and a message starting with the file name; FATAL repeats; the record number never goes back. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "doodle/quickdraw.h"
#include "fuzz.h"

/* gzip of data into a malloc'ed buffer. */
static unsigned char *gzip(const uint8_t *data, size_t size, size_t *out_size) {
    z_stream z;
    memset(&z, 0, sizeof z);
    FUZZ_CHECK(deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK, "deflateInit2");
    size_t cap = deflateBound(&z, (uLong)size);
    unsigned char *out = malloc(cap);
    FUZZ_CHECK(out != NULL, "malloc");
    z.next_in = (unsigned char *)(uintptr_t)data;
    z.avail_in = (uInt)size;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    FUZZ_CHECK(deflate(&z, Z_FINISH) == Z_STREAM_END, "deflate");
    *out_size = cap - z.avail_out;
    deflateEnd(&z);
    return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0) return 0;
    unsigned mode = (data[0] >> 1) & 3;
    bool bin = data[0] & 1;
    const char *path = fuzz_temp_path(bin ? (mode ? ".bin.gz" : ".bin") : (mode ? ".ndjson.gz" : ".ndjson"));
    if (mode == 1 || mode == 2) {
        size_t n;
        unsigned char *gz = gzip(data + 1, size - 1, &n);
        size_t cut = mode == 2 ? 1 + (size_t)(data[0] >> 3) : 0;
        fuzz_write_file(path, gz, cut < n ? n - cut : 0);
        free(gz);
    } else {
        fuzz_write_file(path, data + 1, size - 1);
    }

    dd_error err;
    dd_stroke_reader *r = dd_stroke_reader_open(path, &err);
    FUZZ_CHECK(r != NULL, "dd_stroke_reader_open: %s", err.msg);
    dd_drawing d;
    dd_drawing_init(&d);
    uint64_t last = 0;
    for (size_t calls = 0;; calls++) {
        /* every call consumes at least one byte of the (decompressed) file: a gzip bomb of the maximum input size
         * stays well under this */
        FUZZ_CHECK(calls < ((size_t)1 << 26), "the reader does not come to an end");
        dd_error_clear(&err);
        dd_next rc = dd_stroke_reader_next(r, &d, &err);
        if (rc == DD_NEXT_END) break;
        uint64_t record = dd_stroke_reader_record(r);
        FUZZ_CHECK(record >= last, "record %llu after %llu", (unsigned long long)record, (unsigned long long)last);
        last = record;
        if (rc == DD_NEXT_OK) {
            FUZZ_CHECK(dd_drawing_validate(&d, &err) == 0, "record %llu: returned an invalid drawing: %s",
                       (unsigned long long)record, err.msg);
            continue;
        }
        FUZZ_CHECK(rc == DD_NEXT_BAD || rc == DD_NEXT_FATAL, "dd_next %d", (int)rc);
        fuzz_check_error(rc == DD_NEXT_BAD ? "bad record" : "fatal error", err.code, err.msg, path);
        if (rc == DD_NEXT_FATAL) {
            dd_error again;
            FUZZ_CHECK(dd_stroke_reader_next(r, &d, &again) == DD_NEXT_FATAL && again.code == err.code,
                       "a fatal error does not repeat");
            break;
        }
    }
    dd_stroke_reader_close(r);
    dd_drawing_free(&d);
    return 0;
}
