/* .npy bitmaps: the real Quick, Draw! files (checked against their bytes read with zlib directly), shape variants,
 * v2 headers, and write/read round trips (plain and .gz). Broken files are in test_bad_input. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "doodle/quickdraw.h"
#include "testutil.h"

static char *gunzip_file(const char *path, size_t *len) {
    gzFile g = gzopen(path, "rb");
    size_t cap = 1 << 20, n = 0;
    char *buf = malloc(cap);
    if (!g || !buf) exit(1);
    int got;
    while ((got = gzread(g, buf + n, (unsigned)(cap - n))) > 0) {
        n += (size_t)got;
        if (n == cap) buf = test_realloc(buf, cap *= 2);
    }
    CHECK(got == 0, "%s: gzread failed", path);
    gzclose(g);
    *len = n;
    return buf;
}

static uint64_t fnv1a(const uint8_t *p, size_t n) {
    uint64_t h = 1469598103934665603u;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211u;
    return h;
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Every .npy.gz in dir: shape, pixels equal to the file's bytes after its header, and real-data properties. */
static void check_real_dir(const char *data, const char *sub, uint64_t rows, const char *shape_text,
                           size_t expect_files) {
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/bitmaps_28x28/%s", data, sub);
    DIR *dp = opendir(dir);
    CHECK(dp != NULL, "%s", dir);
    if (!dp) return;
    size_t files = 0;
    struct dirent *e;
    while ((e = readdir(dp))) {
        if (!strstr(e->d_name, ".npy.gz")) continue;
        char path[8192];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        files++;
        dd_bitmaps b;
        dd_error err;
        CHECK(dd_npy_read(path, &b, &err) == 0, "%s", err.msg);
        CHECK(b.count == rows && b.height == 28 && b.width == 28, "%s: %llu x %u x %u", path,
              (unsigned long long)b.count, b.height, b.width);

        /* independent check: header text and the bytes that follow it */
        size_t len;
        char *raw = gunzip_file(path, &len);
        size_t hlen = (size_t)(unsigned char)raw[8] | (size_t)(unsigned char)raw[9] << 8;
        CHECK(memcmp(raw, "\x93NUMPY\x01\x00", 8) == 0 && hlen + 10 == 128, "%s", path);
        CHECK(strstr(raw + 10, shape_text) != NULL && strstr(raw + 10, "'|u1'") != NULL, "%s", path);
        size_t body = (size_t)rows * 784;
        CHECK(len == 128 + body, "%s: %zu bytes", path, len);
        if (b.pixels && len == 128 + body) CHECK(memcmp(b.pixels, raw + 128, body) == 0, "%s: pixels differ", path);

        /* what a Quick, Draw! bitmap looks like: 0 background, ink up to 255, centred with a blank margin */
        uint64_t hist[256] = {0}, border_ink = 0, empty = 0;
        uint64_t *hashes = malloc(b.count * sizeof *hashes);
        if (!hashes) exit(1);
        for (uint64_t i = 0; i < b.count && b.pixels; i++) {
            const uint8_t *img = dd_bitmap_at(&b, i);
            uint64_t ink = 0;
            for (int k = 0; k < 784; k++) {
                hist[img[k]]++;
                ink += img[k] != 0;
                if (k < 28 || k >= 756 || k % 28 == 0 || k % 28 == 27) border_ink += img[k];
            }
            empty += ink == 0;
            hashes[i] = fnv1a(img, 784);
        }
        uint64_t total = b.count * 784;
        CHECK(empty == 0, "%s: %llu blank images", path, (unsigned long long)empty);
        CHECK(hist[0] > total / 2 && hist[255] > 0 && hist[0] < total, "%s: %llu zeros of %llu", path,
              (unsigned long long)hist[0], (unsigned long long)total);
        CHECK(border_ink * 20 < total * 255 / 100, "%s: too much ink on the border", path); /* margin is mostly blank */
        qsort(hashes, b.count, sizeof *hashes, cmp_u64);
        uint64_t dup = 0;
        for (uint64_t i = 1; i < b.count; i++) dup += hashes[i] == hashes[i - 1];
        CHECK(dup == 0, "%s: %llu repeated images (the README says all rows are distinct)", path,
              (unsigned long long)dup);
        free(hashes);
        free(raw);
        dd_bitmaps_free(&b);
    }
    closedir(dp);
    CHECK(files == expect_files, "%s: %zu files", dir, files);
}

static void fill_pattern(dd_bitmaps *b) {
    uint64_t n = b->count * b->height * b->width;
    for (uint64_t i = 0; i < n; i++) b->pixels[i] = (uint8_t)(i * 2654435761u >> 13);
}

static void round_trip(const char *dir, const char *name, uint64_t count, uint32_t h, uint32_t w) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    dd_bitmaps b, back;
    dd_error err;
    CHECK(dd_bitmaps_alloc(&b, count, h, w, &err) == 0);
    fill_pattern(&b);
    CHECK(dd_npy_write(path, &b, &err) == 0, "%s", err.msg);
    CHECK(dd_npy_read(path, &back, &err) == 0, "%s", err.msg);
    CHECK(back.count == count && back.height == h && back.width == w, "%s", path);
    if (back.count == count && back.height == h && back.width == w)
        CHECK(memcmp(back.pixels, b.pixels, (size_t)(count * h * w)) == 0, "%s", path);
    /* the header is NumPy's: v1, length padded so the data starts at a multiple of 64 */
    size_t len;
    char *raw = gunzip_file(path, &len);
    size_t hlen = (size_t)(unsigned char)raw[8] | (size_t)(unsigned char)raw[9] << 8;
    char want[128];
    snprintf(want, sizeof want, "{'descr': '|u1', 'fortran_order': False, 'shape': (%llu, %u, %u), }",
             (unsigned long long)count, h, w);
    CHECK(memcmp(raw, "\x93NUMPY\x01\x00", 8) == 0 && (10 + hlen) % 64 == 0 && raw[10 + hlen - 1] == '\n' &&
              strncmp(raw + 10, want, strlen(want)) == 0 && len == 10 + hlen + count * h * w,
          "%s: header %.*s", path, (int)hlen, raw + 10);
    free(raw);
    dd_bitmaps_free(&b);
    dd_bitmaps_free(&back);
}

/* Hand-built headers: v2, (N,1,784), (N,784), (N,1,H,W), spacing variants. */
static void hand_built(const char *dir, const char *name, int version, const char *dict, uint64_t count, uint32_t h,
                       uint32_t w) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    size_t dl = strlen(dict), prefix = version == 1 ? 10 : 12, body = (size_t)(count * h * w);
    unsigned char *buf = malloc(prefix + dl + 1 + body);
    if (!buf) exit(1);
    memcpy(buf, "\x93NUMPY", 6);
    buf[6] = (unsigned char)version;
    buf[7] = 0;
    size_t hl = dl + 1;
    buf[8] = (unsigned char)hl;
    buf[9] = (unsigned char)(hl >> 8);
    if (version != 1) buf[10] = buf[11] = 0;
    memcpy(buf + prefix, dict, dl);
    buf[prefix + dl] = '\n';
    for (size_t i = 0; i < body; i++) buf[prefix + hl + i] = (unsigned char)(i * 7);
    test_write_file(path, buf, prefix + hl + body);
    dd_bitmaps b;
    dd_error err;
    CHECK(dd_npy_read(path, &b, &err) == 0, "%s: %s", name, err.msg);
    CHECK(b.count == count && b.height == h && b.width == w, "%s: %llu x %u x %u", name, (unsigned long long)b.count,
          b.height, b.width);
    if (b.count == count && b.height == h && b.width == w)
        CHECK(memcmp(b.pixels, buf + prefix + hl, body) == 0, "%s", name);
    dd_bitmaps_free(&b);
    free(buf);
}

int main(void) {
    const char *dir = test_tmp_dir("test_npy");
    round_trip(dir, "small.npy", 5, 28, 28);
    round_trip(dir, "odd.npy", 3, 5, 7);
    round_trip(dir, "zero.npy", 0, 28, 28);
    round_trip(dir, "big.npy.gz", 1000, 64, 64);
    round_trip(dir, "small.npy", 2, 28, 28); /* replaces the earlier file */
    hand_built(dir, "v2.npy", 2, "{'descr': '|u1', 'fortran_order': False, 'shape': (3, 28, 28), }", 3, 28, 28);
    hand_built(dir, "n1x784.npy", 1, "{'descr': '<u1', 'fortran_order': False, 'shape': (4, 1, 784), }", 4, 28, 28);
    hand_built(dir, "nx784.npy", 1, "{\"shape\":(2,784),\"fortran_order\":False,\"descr\":\"|u1\"}", 2, 28, 28);
    hand_built(dir, "n1hw.npy", 1, "{'descr': '|u1', 'fortran_order': False, 'shape': (2, 1, 9, 11)}", 2, 9, 11);
    hand_built(dir, "long.npy", 1, "{'descr': '|u1', 'fortran_order': False, 'shape': (2L, 3L, 4L), }", 2, 3, 4);

    const char *data = test_shared_data();
    check_real_dir(data, "HR-Shekhar_Doodle_Predictor", 4000, "'shape': (4000, 784)", 7);
    check_real_dir(data, "sukumr_Doodle-Classifier", 2500, "'shape': (2500, 1, 784)", 6);
    return test_finish("test_npy");
}
