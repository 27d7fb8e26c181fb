/* Fuzz target: the input as a .dset file. dd_dataset_open; then the header's accessors, every class name and
 * statistics row (and the one past the end, which must fail), and for every record dd_dataset_record_info and
 * dd_dataset_strokes (a decoded drawing must be valid and simplified) or dd_dataset_bitmap (every pixel read).
 * Failures must have a status and a message starting with the file name.
 *
 * The reader memory-maps the file, and ASan does not see a read past the end of a mapping that stays inside its
 * last page. The fuzz build therefore links this target with -Wl,--wrap=mmap,--wrap=munmap: the read-only private
 * mapping the reader asks for becomes an exact-size heap copy of the file, whose end ASan guards. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "doodle/dataset.h"
#include "fuzz.h"

#ifdef DOODLE_FUZZ_WRAP_MMAP
#include <sys/mman.h>

void *__real_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t offset);
int __real_munmap(void *addr, size_t len);
void *__wrap_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t offset);
int __wrap_munmap(void *addr, size_t len);

static void *copy; /* the one mapping handed out as a heap copy */

void *__wrap_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t offset) {
    if (copy || addr || prot != PROT_READ || flags != MAP_PRIVATE || fd < 0 || offset != 0)
        return __real_mmap(addr, len, prot, flags, fd, offset);
    char *p = malloc(len);
    FUZZ_CHECK(p != NULL, "malloc %zu", len);
    for (size_t done = 0; done < len;) {
        ssize_t got = pread(fd, p + done, len - done, (off_t)done);
        FUZZ_CHECK(got > 0, "pread");
        done += (size_t)got;
    }
    return copy = p;
}

int __wrap_munmap(void *addr, size_t len) {
    if (!addr || addr != copy) return __real_munmap(addr, len);
    free(copy);
    copy = NULL;
    return 0;
}
#endif

static void check_records(const dd_dataset *ds, const char *path) {
    dd_dset_kind kind = dd_dataset_kind(ds);
    uint32_t height, width;
    dd_dataset_bitmap_size(ds, &height, &width);
    dd_drawing d;
    dd_drawing_init(&d);
    dd_error err;
    uint64_t n = dd_dataset_count(ds);
    for (uint64_t i = 0; i < n; i++) {
        dd_record_info info;
        int info_ok = dd_dataset_record_info(ds, i, &info) == 0;
        if (kind == DD_DSET_STROKES) {
            FUZZ_CHECK(dd_dataset_bitmap(ds, i) == NULL, "a bitmap from a stroke set");
            dd_error_clear(&err);
            if (dd_dataset_strokes(ds, i, &d, &err) == 0) {
                FUZZ_CHECK(info_ok, "record %llu decodes with a bad label or split", (unsigned long long)i);
                FUZZ_CHECK(dd_drawing_validate(&d, &err) == 0 && dd_drawing_is_simplified(&d),
                           "record %llu decodes to an invalid drawing", (unsigned long long)i);
                FUZZ_CHECK(strcmp(d.word, dd_dataset_class_name(ds, info.label)) == 0, "word");
            } else {
                fuzz_check_error("dd_dataset_strokes", err.code, err.msg, path);
            }
        } else {
            const uint8_t *pixels = dd_dataset_bitmap(ds, i);
            FUZZ_CHECK(pixels != NULL, "bitmap %llu", (unsigned long long)i);
            unsigned sum = 0;
            for (size_t k = 0; k < (size_t)height * width; k++) sum += pixels[k];
            fuzz_sink = sum;
            FUZZ_CHECK(dd_dataset_strokes(ds, i, &d, &err) != 0 && err.code == DD_ERR_USAGE, "strokes from bitmaps");
        }
    }
    dd_record_info info;
    FUZZ_CHECK(dd_dataset_record_info(ds, n, &info) != 0 && dd_dataset_bitmap(ds, n) == NULL &&
                   dd_dataset_strokes(ds, n, &d, &err) != 0,
               "record %llu past the end", (unsigned long long)n);
    dd_drawing_free(&d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_temp_path(".dset");
    fuzz_write_file(path, data, size);
    dd_error err;
    dd_dataset *ds = dd_dataset_open(path, &err);
    if (!ds) {
        fuzz_check_error("dd_dataset_open", err.code, err.msg, path);
        return 0;
    }
    uint32_t n_classes = dd_dataset_class_count(ds);
    FUZZ_CHECK(n_classes > 0, "no classes");
    for (uint32_t c = 0; c < n_classes; c++) {
        const char *name = dd_dataset_class_name(ds, c);
        FUZZ_CHECK(name && name[0] && strlen(name) < DD_WORD_MAX, "class %u", c);
        int k = dd_dataset_class_index(ds, name);
        FUZZ_CHECK(k >= 0 && (uint32_t)k <= c, "class index of \"%s\": %d", name, k);
    }
    FUZZ_CHECK(dd_dataset_class_name(ds, n_classes) == NULL, "class past the end");
    dd_class_stats stats;
    for (uint32_t c = 0; c <= n_classes; c++) FUZZ_CHECK(dd_dataset_class_stats(ds, c, &stats) == 0, "stats row %u", c);
    FUZZ_CHECK(dd_dataset_class_stats(ds, n_classes + 1, &stats) != 0, "stats row past the end");
    dd_dset_params params = dd_dataset_params(ds);
    (void)params;
    check_records(ds, path);
    dd_dataset_close(ds);
    return 0;
}
