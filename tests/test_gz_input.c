/* The two paths of gz_input give the same bytes, drawings and errors: a real ../shared file read whole (libdeflate;
 * plain files whole too) and forced through zlib's stream (the cap set to 0), as stored, recompressed and plain;
 * truncated, corrupt, bad-CRC, lying-size and two-member .gz files; .npy.gz bitmaps; prep's output; and the reuse
 * of one reader's buffers from file to file. */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>

#include "data/gz_input.h"
#include "doodle/prep.h"
#include "doodle/quickdraw.h"
#include "testutil.h"

static const char *tmp;

static const char *tmp_path(const char *name) {
    static char paths[16][4200];
    static int next;
    char *p = paths[next++ % 16];
    snprintf(p, sizeof paths[0], "%s/%s", tmp, name);
    return p;
}

/* How data_gz_open read path: 'w' whole, 'z' zlib's stream, '!' it failed. */
static char path_taken(const char *path) {
    data_gz_input in;
    dd_error err;
    if (data_gz_open(&in, path, &err)) return '!';
    char how = in.whole && !in.gz ? 'w' : in.gz && !in.whole ? 'z' : '?';
    data_gz_close(&in);
    return how;
}

/* Every byte of path through data_gz_read, in pieces of 1,000; NULL when reading fails. */
static char *read_bytes(const char *path, size_t *n) {
    data_gz_input in;
    dd_error err;
    if (data_gz_open(&in, path, &err)) return NULL;
    size_t cap = 1 << 16, len = 0;
    char *buf = test_realloc(NULL, cap);
    for (;;) {
        if (cap - len < 1000) buf = test_realloc(buf, cap *= 2);
        int64_t got = data_gz_read(&in, buf + len, 1000, &err);
        if (got <= 0) {
            if (got < 0) {
                free(buf);
                buf = NULL;
            }
            break;
        }
        len += (size_t)got;
    }
    CHECK(!buf || in.consumed == len, "%s: consumed %llu of %zu", path, (unsigned long long)in.consumed, len);
    data_gz_close(&in);
    *n = len;
    return buf;
}

/* Everything the stroke reader makes of path as one text: each drawing (fields and points), then how it ended (the
 * error code and message when it failed); *count: the drawings read. */
static char *outcome(const char *path, int *count) {
    size_t cap = 1 << 16, len = 0;
    char *text = test_realloc(NULL, cap);
    text[0] = 0;
    *count = 0;
    dd_error err;
    dd_stroke_reader *r = dd_stroke_reader_open(path, &err);
    if (!r) {
        snprintf(text, cap, "open failed %d %s", (int)err.code, err.msg);
        return text;
    }
    dd_drawing d;
    dd_drawing_init(&d);
    dd_next rc;
    while ((rc = dd_stroke_reader_next(r, &d, &err)) != DD_NEXT_END && rc != DD_NEXT_FATAL) {
        char line[1024];
        if (rc == DD_NEXT_BAD) {
            snprintf(line, sizeof line, "bad %d %s\n", (int)err.code, err.msg);
        } else {
            ++*count;
            snprintf(line, sizeof line, "%llu %s %s %d %s %u %u\n", (unsigned long long)d.key_id, d.word, d.countrycode,
                     d.recognized, d.timestamp, d.n_strokes, d.n_points);
        }
        size_t need = strlen(line) + (size_t)d.n_points * 3 * 26 + 16 * d.n_strokes + 1;
        while (cap - len < need) text = test_realloc(text, cap *= 2);
        len += (size_t)sprintf(text + len, "%s", line);
        for (uint32_t s = 0; rc == DD_NEXT_OK && s < d.n_strokes; s++)
            len += (size_t)sprintf(text + len, "|%u", d.stroke_end[s]);
        for (uint32_t i = 0; rc == DD_NEXT_OK && i < d.n_points; i++)
            len += (size_t)sprintf(text + len, " %.17g,%.17g,%.17g", d.x[i], d.y[i], d.has_times ? d.t[i] : -1.0);
    }
    char end[1200];
    snprintf(end, sizeof end, "\nend %d %d %s", (int)rc, rc == DD_NEXT_FATAL ? (int)err.code : 0,
             rc == DD_NEXT_FATAL ? err.msg : "");
    while (cap - len < strlen(end) + 1) text = test_realloc(text, cap *= 2);
    memcpy(text + len, end, strlen(end) + 1);
    dd_drawing_free(&d);
    dd_stroke_reader_close(r);
    return text;
}

/* path read whole (expect: the path data_gz_open takes by default) and through zlib: the same outcome. Returns it
 * (the whole read's), and the drawings in *count. */
static char *both_paths(const char *path, char expect, int *count) {
    CHECK(path_taken(path) == expect, "%s: path %c, expected %c", path, path_taken(path), expect);
    char *whole = outcome(path, count);
    size_t old_cap = data_gz_set_whole_cap(0);
    CHECK(path_taken(path) == 'z', "%s: not streamed with the cap at 0", path);
    int n_zlib;
    char *zlib = outcome(path, &n_zlib);
    data_gz_set_whole_cap(old_cap);
    CHECK(n_zlib == *count && !strcmp(whole, zlib), "%s: %d drawings whole, %d through zlib, or other outcomes", path,
          *count, n_zlib);
    free(zlib);
    return whole;
}

static unsigned char *load(const char *path, size_t *n) {
    char *p = test_read_file(path, n);
    if (!p) {
        fprintf(stderr, "cannot read %s\n", path);
        exit(1);
    }
    return (unsigned char *)p;
}

static const char *ends_with(const char *text, const char *what) {
    size_t n = strlen(text), m = strlen(what);
    return n >= m && !strcmp(text + n - m, what) ? text : NULL;
}

/* A real raw file as stored, recompressed and plain: the same bytes and drawings on both paths. */
static void test_same_drawings(const char *data) {
    char src[4200];
    snprintf(src, sizeof src, "%s/strokes_raw/borismus_exupery/cat.ndjson.gz", data);
    size_t n_plain, n_zlib;
    size_t old_cap = data_gz_set_whole_cap(0);
    char *plain = read_bytes(src, &n_zlib);
    data_gz_set_whole_cap(old_cap);
    char *whole = read_bytes(src, &n_plain);
    CHECK(plain && whole && n_plain == n_zlib && n_plain > 50000 && !memcmp(plain, whole, n_plain),
          "%s: %zu bytes whole, %zu through zlib", src, n_plain, n_zlib);
    if (!plain || !whole) exit(1);
    const char *plain_path = test_write_file(tmp_path("cat.ndjson"), plain, n_plain);
    const char *small = test_write_gz(tmp_path("cat.ndjson.gz"), plain, n_plain);

    int n_src, n_small, n_text;
    char *a = both_paths(src, 'w', &n_src), *b = both_paths(small, 'w', &n_small),
         *c = both_paths(plain_path, 'w', &n_text);
    CHECK(n_src > 20 && n_src == n_small && n_src == n_text, "%d, %d and %d drawings", n_src, n_small, n_text);
    CHECK(!strcmp(a, b) && !strcmp(a, c), "the stored, recompressed and plain files read differently");
    CHECK(ends_with(a, "\nend 0 0 "), "did not end cleanly: %s", a + strlen(a) - (strlen(a) > 200 ? 200 : strlen(a)));

    /* two gzip members one after the other (as `cat a.gz b.gz` makes; each ends its last line): streamed, both
     * read */
    char *lines = test_realloc(NULL, n_plain + 1);
    memcpy(lines, plain, n_plain);
    lines[n_plain] = '\n';
    size_t n_gz;
    unsigned char *gz = load(test_write_gz(tmp_path("lines.ndjson.gz"), lines, n_plain + 1), &n_gz);
    free(lines);
    unsigned char *twice = test_realloc(NULL, 2 * n_gz);
    memcpy(twice, gz, n_gz);
    memcpy(twice + n_gz, gz, n_gz);
    int n_twice;
    free(both_paths(test_write_file(tmp_path("twice.ndjson.gz"), twice, 2 * n_gz), 'z', &n_twice));
    CHECK(n_twice == 2 * n_src, "two members: %d drawings, expected %d", n_twice, 2 * n_src);

    /* the recompressed file over the cap: streamed, the same drawings */
    free(gz);
    gz = load(small, &n_gz);
    old_cap = data_gz_set_whole_cap(n_plain + n_gz - 1);
    int n_over;
    CHECK(path_taken(small) == 'z' && path_taken(plain_path) == 'w', "the cap counts inflated and compressed bytes");
    char *over = outcome(small, &n_over);
    data_gz_set_whole_cap(old_cap);
    CHECK(!strcmp(over, a), "over the cap: other drawings");
    free(over);
    free(twice);
    free(gz);
    free(a);
    free(b);
    free(c);
    free(plain);
    free(whole);
}

/* Damaged .gz files: what zlib reports, on both paths (libdeflate's failure sends the file to zlib). */
static void test_damaged(const char *data) {
    char src[4200];
    snprintf(src, sizeof src, "%s/strokes_raw/borismus_exupery/cat.ndjson.gz", data);
    size_t len;
    unsigned char *gz = load(src, &len);
    int all;
    free(outcome(src, &all));

    /* cut where the last 4 bytes read as a small inflated size, so that the whole path is tried and fails */
    size_t cut = 0;
    for (size_t k = len / 2; k < len - 8 && !cut; k++)
        if (gz[k - 1] == 0 && gz[k - 2] < 0x10 && (gz[k - 2] || gz[k - 3] || gz[k - 4])) cut = k;
    CHECK(cut > 0, "no cut with a small size field in %s", src);
    if (cut) {
        const char *path = test_write_file(tmp_path("cut.ndjson.gz"), gz, cut);
        int n;
        char *text = both_paths(path, 'z', &n);
        char expect[64];
        snprintf(expect, sizeof expect, "\nend %d %d ", (int)DD_NEXT_FATAL, (int)DD_ERR_TRUNCATED);
        CHECK(strstr(text, expect) && strstr(text, "unexpected end of file"), "%s", strstr(text, "\nend"));
        CHECK(n > 3 && n < all, "%d of %d drawings before the cut", n, all);
        free(text);
    }
    const struct {
        const char *name, *what;
        size_t at; /* first byte changed */
    } damage[] = {
        {"corrupt.ndjson.gz", "corrupt", len / 3},
        /* found at the end: zlib may drop the drawings inflated in the same call, on both paths alike */
        {"crc.ndjson.gz", "incorrect data check", len - 8},
        {"isize.ndjson.gz", "incorrect length check", len - 4},
    };
    for (size_t i = 0; i < sizeof damage / sizeof damage[0]; i++) {
        unsigned char *bad = test_realloc(NULL, len);
        memcpy(bad, gz, len);
        if (i == 0) {
            for (size_t k = damage[i].at; k < damage[i].at + 64; k++) bad[k] ^= 0x5a;
        } else {
            bad[damage[i].at] ^= 0x01; /* the size stays small: the whole path is tried */
        }
        const char *path = test_write_file(tmp_path(damage[i].name), bad, len);
        int n;
        char *text = both_paths(path, 'z', &n);
        char expect[64];
        snprintf(expect, sizeof expect, "\nend %d %d ", (int)DD_NEXT_FATAL, (int)DD_ERR_MALFORMED);
        const char *end = strstr(text, "\nend");
        CHECK(end && strstr(end, expect) && strstr(end, path) && strstr(end, damage[i].what), "%s: %s", damage[i].name,
              end ? end : "?");
        CHECK(n < all, "%s: %d of %d drawings", damage[i].name, n, all);
        free(text);
        free(bad);
    }
    free(gz);
}

/* .npy.gz bitmaps: the same images on both paths. */
static void test_npy(const char *data) {
    char src[4200];
    snprintf(src, sizeof src, "%s/bitmaps_28x28/HR-Shekhar_Doodle_Predictor/skull.npy.gz", data);
    dd_bitmaps a = {0}, b = {0};
    dd_error err;
    CHECK(path_taken(src) == 'w', "%s not read whole", src);
    CHECK(dd_npy_read(src, &a, &err) == 0, "%s", err.msg);
    size_t old_cap = data_gz_set_whole_cap(0);
    CHECK(dd_npy_read(src, &b, &err) == 0, "%s", err.msg);
    data_gz_set_whole_cap(old_cap);
    CHECK(a.count > 1000 && a.count == b.count && a.height == 28 && b.width == 28 &&
              !memcmp(a.pixels, b.pixels, a.count * 28 * 28),
          "%llu and %llu images", (unsigned long long)a.count, (unsigned long long)b.count);
    dd_bitmaps_free(&a);
    dd_bitmaps_free(&b);
}

/* prep over every raw file of ../shared: the same bytes whole and through zlib (2 threads). */
static void test_prep(const char *data) {
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/strokes_raw/borismus_exupery", data);
    const char *inputs[] = {dir};
    dd_prep_opts o = {.inputs = inputs, .n_inputs = 1, .per_class = 40, .test_frac = 0.2, .seed = 5, .threads = 2};
    const char *out[2] = {tmp_path("whole.dset"), tmp_path("zlib.dset")};
    for (int i = 0; i < 2; i++) {
        size_t old_cap = data_gz_set_whole_cap(i ? 0 : 64u << 20);
        dd_prep_report rep;
        dd_error err;
        CHECK(dd_prep_run(&o, out[i], &rep, &err) == 0, "%s", err.msg);
        CHECK(rep.n_records > 5000, "%llu records", (unsigned long long)rep.n_records);
        dd_prep_report_free(&rep);
        data_gz_set_whole_cap(old_cap);
    }
    size_t na, nb;
    char *a = test_read_file(out[0], &na), *b = test_read_file(out[1], &nb);
    CHECK(a && b && na == nb && !memcmp(a, b, na), "prep wrote other bytes whole than through zlib");
    free(a);
    free(b);
}

/* One reader's buffers serve file after file; a second file open at the same time gets its own. */
static void test_buffers(void) {
    const char *small = tmp_path("cat.ndjson.gz"), *plain = tmp_path("cat.ndjson");
    data_gz_buffers b = {0};
    data_gz_buffers *before = data_gz_use_buffers(&b);
    CHECK(before == NULL);
    data_gz_input x, y;
    dd_error err;
    CHECK(data_gz_open(&x, small, &err) == 0, "%s", err.msg);
    CHECK(x.whole == &b && x.buf == b.plain && b.lent && b.inflater, "the first file did not borrow the buffers");
    char *first = b.plain;
    CHECK(data_gz_open(&y, plain, &err) == 0, "%s", err.msg);
    CHECK(y.whole && y.whole != &b && y.own_whole, "a second open file must not share the buffers");
    CHECK(data_gz_avail(&x) == data_gz_avail(&y) && !memcmp(x.buf, y.buf, data_gz_avail(&x)), "different bytes");
    data_gz_close(&y);
    data_gz_close(&x);
    CHECK(!b.lent && b.plain == first, "close gives the buffers back, kept");
    CHECK(data_gz_open(&x, plain, &err) == 0 && x.buf == first, "the next file reuses the block");
    data_gz_shrink(&x); /* no effect on borrowed buffers */
    CHECK(x.buf == first && b.plain == first);
    data_gz_close(&x);
    data_gz_use_buffers(NULL);
    data_gz_buffers_free(&b);
}

int main(void) {
    const char *data = test_shared_data();
    tmp = test_tmp_dir("test_gz_input");
    test_same_drawings(data);
    test_damaged(data);
    test_npy(data);
    test_prep(data);
    test_buffers();
    return test_finish("test_gz_input");
}
