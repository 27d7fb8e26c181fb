/* Broken input of every kind gets the right dd_status and a message that names the file and the line or record;
 * the ndjson reader goes on after a bad line. All inputs are generated in the test's tmp dir. */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "doodle/quickdraw.h"
#include "testutil.h"

static const char *dir;

static const char *tmp_path(const char *name) {
    static char paths[8][4096];
    static int next;
    char *p = paths[next++ % 8];
    snprintf(p, 4096, "%s/%s", dir, name);
    return p;
}

/* Checks the next result: its dd_next, and (unless OK/END) its status and that the message contains each of the
 * NULL-terminated substrings. */
static void expect(dd_stroke_reader *r, dd_drawing *d, dd_next want, dd_status code, int line, ...) {
    dd_error err;
    dd_error_clear(&err);
    dd_next got = dd_stroke_reader_next(r, d, &err);
    CHECK(got == want, "line %d: got %d, want %d (%s)", line, (int)got, (int)want, err.msg);
    if (got != want || want >= DD_NEXT_END) return;
    CHECK(err.code == code, "line %d: status %s, want %s (%s)", line, dd_status_name(err.code), dd_status_name(code),
          err.msg);
    va_list ap;
    va_start(ap, line);
    const char *s;
    while ((s = va_arg(ap, const char *)))
        CHECK(strstr(err.msg, s) != NULL, "line %d: \"%s\" lacks \"%s\"", line, err.msg, s);
    va_end(ap);
}
#define EXPECT(r, d, want, code, ...) expect(r, d, want, code, __LINE__, __VA_ARGS__, (const char *)NULL)

static void test_ndjson_lines(void) {
    char deep[4096];
    size_t n = (size_t)snprintf(deep, sizeof deep, "{\"extra\":");
    for (int i = 0; i < 1000; i++) deep[n++] = '[';
    for (int i = 0; i < 1000; i++) deep[n++] = ']';
    snprintf(deep + n, sizeof deep - n, ",\"drawing\":[[[1],[2]]]}");
    char ok_deep[1024];
    n = (size_t)snprintf(ok_deep, sizeof ok_deep, "{\"extra\":");
    for (int i = 0; i < 60; i++) ok_deep[n++] = '[';
    for (int i = 0; i < 60; i++) ok_deep[n++] = ']';
    snprintf(ok_deep + n, sizeof ok_deep - n, ",\"drawing\":[[[1],[2]]]}");

    const char *lines[] = {
        "{\"word\":\"cat\",\"drawing\":[[[1,2],[3,4]]]}",              /* 1 ok */
        "{\"drawing\":[[[1,2],[3,4]]]",                                /* 2 unterminated */
        "{\"drawing\":[]}",                                            /* 3 no strokes */
        "{\"drawing\":[[[1],[1]],[[2],[2]],[[1,2,3,4,5],[1,2,3,4]]]}", /* 4 x/y lengths */
        "{\"drawing\":[[[1e400],[1]]]}",                               /* 5 infinite */
        "{\"drawing\":[[[1],[1e300]]]}",                               /* 6 huge */
        "{\"drawing\":[[[NaN],[1]]]}",                                 /* 7 NaN */
        deep,                                                          /* 8 nesting */
        "{\"drawing\":[[[1],[2]],[[],[]]]}",                           /* 9 empty stroke */
        "{\"drawing\":[[[1,2],[3,4],[0,1]],[[1],[2]]]}",               /* 10 t in stroke 1 only */
        "{\"drawing\":[[[1,2],[3,4],[0]]]}",                           /* 11 x/t lengths */
        "{\"word\":\"cat\"}",                                          /* 12 no drawing */
        "not json",                                                    /* 13 */
        "{\"drawing\":[[[1],[2]]]} x",                                 /* 14 trailing text */
        "{\"drawing\":[[[1],[2]]],}",                                  /* 15 trailing comma */
        "{\"word\":\"c\tt\",\"drawing\":[[[1],[2]]]}",                 /* 16 control character */
        "{\"drawing\":[[[1,],[2]]]}",                                  /* 17 missing number */
        "{\"drawing\":[[[1],[2],[3],[4]]]}",                           /* 18 four arrays */
        "{\"drawing\":[[[1],[2]]],\"word\":\"cat",                     /* 19 unterminated string */
        ok_deep,                                                       /* 20 ok: 60 levels are fine */
        "{\"drawing\":[[[1,2],[3,4]]]}",                               /* 21 ok */
    };
    size_t total = 0;
    for (size_t i = 0; i < sizeof lines / sizeof *lines; i++) total += strlen(lines[i]) + 1;
    char *text = malloc(total + 1), *p = text;
    if (!text) exit(1);
    for (size_t i = 0; i < sizeof lines / sizeof *lines; i++) p += sprintf(p, "%s\n", lines[i]);
    /* the same lines plain and compressed */
    const char *paths[2] = {test_write_file(tmp_path("bad.ndjson"), text, total),
                            test_write_gz(tmp_path("bad.ndjson.gz"), text, total)};
    free(text);
    for (int k = 0; k < 2; k++) {
        dd_error err;
        dd_drawing d;
        dd_drawing_init(&d);
        dd_stroke_reader *r = dd_stroke_reader_open(paths[k], &err);
        CHECK(r != NULL, "%s", err.msg);
        if (!r) continue;
        char at[4200];
        const char *f = paths[k];
#define AT(line) (snprintf(at, sizeof at, "%s:%d: ", f, line), at)
        EXPECT(r, &d, DD_NEXT_OK, DD_OK, "");
        CHECK(strcmp(d.word, "cat") == 0 && dd_stroke_reader_record(r) == 1);
        EXPECT(r, &d, DD_NEXT_BAD, DD_ERR_MALFORMED, AT(2), "column 27", "expected");
        CHECK(dd_stroke_reader_record(r) == 2);
        EXPECT(r, &d, DD_NEXT_BAD, DD_ERR_EMPTY, AT(3), "no strokes");
        EXPECT(r, &d, DD_NEXT_BAD, DD_ERR_MISMATCH, AT(4), "drawing stroke 3: x has 5 points but y has 4");
        EXPECT(r, &d, DD_NEXT_BAD, DD_ERR_RANGE, AT(5), "x = inf");
        EXPECT(r, &d, DD_NEXT_BAD, DD_ERR_RANGE, AT(6), "y = 1e+300", "out of range");
        EXPECT(r, &d, DD_NEXT_BAD, DD_ERR_RANGE, AT(7), "not a finite number");
        EXPECT(r, &d, DD_NEXT_BAD, DD_ERR_MALFORMED, AT(8), "nested deeper than 64");
        EXPECT(r, &d, DD_NEXT_BAD, DD_ERR_EMPTY, AT(9), "stroke 2 has no points");
        EXPECT(r, &d, DD_NEXT_BAD, DD_ERR_MISMATCH, AT(10), "drawing stroke 2: has 2 arrays but stroke 1 has 3");
        EXPECT(r, &d, DD_NEXT_BAD, DD_ERR_MISMATCH, AT(11), "drawing stroke 1: x has 2 points but t has 1");
        EXPECT(r, &d, DD_NEXT_BAD, DD_ERR_MALFORMED, AT(12), "no \"drawing\"");
        EXPECT(r, &d, DD_NEXT_BAD, DD_ERR_MALFORMED, AT(13), "column 1:");
        EXPECT(r, &d, DD_NEXT_BAD, DD_ERR_MALFORMED, AT(14), "column 25: unexpected text");
        EXPECT(r, &d, DD_NEXT_BAD, DD_ERR_MALFORMED, AT(15), "column 24");
        EXPECT(r, &d, DD_NEXT_BAD, DD_ERR_MALFORMED, AT(16), "word: column 11: control character");
        EXPECT(r, &d, DD_NEXT_BAD, DD_ERR_MALFORMED, AT(17), "drawing stroke 1 x: column 17: expected a number");
        EXPECT(r, &d, DD_NEXT_BAD, DD_ERR_MALFORMED, AT(18), "drawing stroke 1: column 26: more than 3 arrays");
        EXPECT(r, &d, DD_NEXT_BAD, DD_ERR_MALFORMED, AT(19), "word: column", "unterminated string");
        EXPECT(r, &d, DD_NEXT_OK, DD_OK, "");
        CHECK(dd_stroke_reader_record(r) == 20);
        EXPECT(r, &d, DD_NEXT_OK, DD_OK, "");
        CHECK(dd_stroke_reader_record(r) == 21 && d.n_points == 2 && d.word[0] == '\0');
        EXPECT(r, &d, DD_NEXT_END, DD_OK, "");
        dd_stroke_reader_close(r);
        dd_drawing_free(&d);
#undef AT
    }
}

static unsigned char *read_all(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) exit(1);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = malloc((size_t)n + 1);
    if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) exit(1);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

/* A real raw file cut in half, and one with corrupted compressed data. */
static void test_truncated_gz(const char *data) {
    char src[4096];
    snprintf(src, sizeof src, "%s/strokes_raw/borismus_exupery/cat.ndjson.gz", data);
    size_t len;
    unsigned char *gz = read_all(src, &len);
    const char *cut = test_write_file(tmp_path("cut.ndjson.gz"), gz, len / 2);
    dd_error err;
    dd_drawing d;
    dd_drawing_init(&d);
    dd_stroke_reader *r = dd_stroke_reader_open(cut, &err);
    CHECK(r != NULL, "%s", err.msg);
    if (r) {
        dd_next rc;
        int ok = 0;
        while ((rc = dd_stroke_reader_next(r, &d, &err)) == DD_NEXT_OK) ok++;
        CHECK(rc == DD_NEXT_FATAL && err.code == DD_ERR_TRUNCATED, "rc %d: %s", (int)rc, err.msg);
        char prefix[4200];
        snprintf(prefix, sizeof prefix, "%s:%d: ", cut, ok + 1);
        CHECK(strstr(err.msg, prefix) == err.msg && strstr(err.msg, "unexpected end of file"), "%s", err.msg);
        CHECK(ok > 3 && ok < 25, "%d drawings before the cut", ok);
        CHECK(dd_stroke_reader_next(r, &d, &err) == DD_NEXT_FATAL && err.code == DD_ERR_TRUNCATED); /* stays fatal */
        dd_stroke_reader_close(r);
    }
    /* corrupt the middle of the compressed data */
    for (size_t i = len / 3; i < len / 3 + 64; i++) gz[i] ^= 0x5a;
    const char *bad = test_write_file(tmp_path("corrupt.ndjson.gz"), gz, len);
    r = dd_stroke_reader_open(bad, &err);
    CHECK(r != NULL, "%s", err.msg);
    if (r) {
        dd_next rc;
        while ((rc = dd_stroke_reader_next(r, &d, &err)) == DD_NEXT_OK || rc == DD_NEXT_BAD) {}
        CHECK(rc == DD_NEXT_FATAL && err.code == DD_ERR_MALFORMED && strstr(err.msg, bad) == err.msg, "rc %d: %s",
              (int)rc, err.msg);
        dd_stroke_reader_close(r);
    }
    free(gz);
    dd_drawing_free(&d);
}

/* Empty, missing and unreadable files. */
static void test_files(void) {
    dd_error err;
    dd_drawing d;
    dd_drawing_init(&d);
    const char *empties[] = {
        test_write_file(tmp_path("empty.ndjson"), "", 0), test_write_gz(tmp_path("empty.ndjson.gz"), "", 0),
        test_write_file(tmp_path("empty.bin"), "", 0), test_write_file(tmp_path("blank.ndjson"), "\n \n\r\n", 5)};
    for (int i = 0; i < 4; i++) {
        dd_stroke_reader *r = dd_stroke_reader_open(empties[i], &err);
        CHECK(r != NULL, "%s", err.msg);
        if (!r) continue;
        CHECK(dd_stroke_reader_next(r, &d, &err) == DD_NEXT_END, "%s: no drawings", empties[i]);
        dd_stroke_reader_close(r);
    }
    const char *missing = tmp_path("no-such-file.ndjson.gz");
    CHECK(dd_stroke_reader_open(missing, &err) == NULL && err.code == DD_ERR_IO && strstr(err.msg, missing) &&
              strstr(err.msg, "No such file"),
          "%s", err.msg);
    CHECK(dd_stroke_reader_open(dir, &err) == NULL && err.code == DD_ERR_IO && strstr(err.msg, "directory"), "%s",
          err.msg);
    dd_bitmaps b;
    CHECK(dd_npy_read(tmp_path("no-such-file.npy"), &b, &err) == -1 && err.code == DD_ERR_IO &&
              strstr(err.msg, "no-such-file.npy"),
          "%s", err.msg);
    CHECK(b.pixels == NULL && b.count == 0);
    const char *empty_npy = test_write_file(tmp_path("empty.npy"), "", 0);
    CHECK(dd_npy_read(empty_npy, &b, &err) == -1 && err.code == DD_ERR_MALFORMED && strstr(err.msg, empty_npy) &&
              strstr(err.msg, "empty"),
          "%s", err.msg);
    dd_drawing_free(&d);
}

/* A line longer than the 64 MiB limit is skipped; the reader goes on with the next line. */
static void test_long_line(void) {
    size_t n = ((size_t)65 << 20) + 64;
    char *text = malloc(n);
    if (!text) exit(1);
    size_t k = (size_t)sprintf(text, "{\"drawing\":");
    memset(text + k, ' ', n - k);
    const char *tail = "\n{\"drawing\":[[[7],[8]]]}\n";
    size_t tl = strlen(tail);
    memcpy(text + n - tl, tail, tl);
    const char *path = test_write_gz(tmp_path("long.ndjson.gz"), text, n);
    free(text);
    dd_error err;
    dd_drawing d;
    dd_drawing_init(&d);
    dd_stroke_reader *r = dd_stroke_reader_open(path, &err);
    CHECK(r != NULL, "%s", err.msg);
    if (r) {
        char at[4200];
        snprintf(at, sizeof at, "%s:1: ", path);
        EXPECT(r, &d, DD_NEXT_BAD, DD_ERR_RANGE, at, "longer than 64 MiB");
        EXPECT(r, &d, DD_NEXT_OK, DD_OK, "");
        CHECK(d.x[0] == 7 && dd_stroke_reader_record(r) == 2);
        EXPECT(r, &d, DD_NEXT_END, DD_OK, "");
        dd_stroke_reader_close(r);
    }
    dd_drawing_free(&d);
}

static void write_drawings(const char *path, const char *const *json, int n) {
    FILE *f = fopen(path, "wb");
    if (!f) exit(1);
    dd_drawing d;
    dd_drawing_init(&d);
    dd_error err;
    for (int i = 0; i < n; i++) {
        CHECK(dd_ndjson_parse(json[i], strlen(json[i]), &d, &err) == 0, "%s", err.msg);
        CHECK(dd_bin_write(f, &d, &err) == 0, "%s", err.msg);
    }
    CHECK(fclose(f) == 0);
    dd_drawing_free(&d);
}

static void test_bin(void) {
    const char *json[3] = {"{\"key_id\":\"1\",\"drawing\":[[[1,2],[3,4]]]}",
                           "{\"key_id\":\"2\",\"countrycode\":\"DE\",\"drawing\":[[[1],[3]],[[5,6,7],[8,9,10]]]}",
                           "{\"key_id\":\"3\",\"drawing\":[[[1,2,3,4,5,6,7,8],[3,4,5,6,7,8,9,10]],[[9],[9]]]}"};
    const char *path = tmp_path("three.bin");
    write_drawings(path, json, 3);
    size_t len;
    unsigned char *bytes = read_all(path, &len);
    /* record sizes: 17+2+4 = 23, 17+2+2+2+6 = 29, 17+2+16+2+2 = 39 */
    CHECK(len == 23 + 29 + 39, "%zu bytes", len);
    struct {
        const char *name;
        size_t keep;
        int ok;           /* records read before the cut */
        const char *what; /* in the message */
    } cuts[] = {{"cut-stroke.bin", 23 + 29 + 36, 2, "record 3: the file ends inside the record (stroke 2"},
                {"cut-header.bin", 23 + 10, 1, "record 2: the file ends inside the record (header: 10 of 17 bytes)"},
                {"cut-points.bin", 23 + 29 + 17 + 2 + 5, 2, "record 3: the file ends inside the record (stroke 1"},
                {"cut-stroke.bin.gz", 23 + 29 + 36, 2, "record 3: the file ends inside the record"}};
    dd_drawing d;
    dd_drawing_init(&d);
    dd_error err;
    for (size_t c = 0; c < sizeof cuts / sizeof *cuts; c++) {
        const char *p = tmp_path(cuts[c].name);
        if (strstr(p, ".gz"))
            test_write_gz(p, bytes, cuts[c].keep);
        else
            test_write_file(p, bytes, cuts[c].keep);
        dd_stroke_reader *r = dd_stroke_reader_open(p, &err);
        CHECK(r != NULL, "%s", err.msg);
        if (!r) continue;
        for (int i = 0; i < cuts[c].ok; i++) {
            EXPECT(r, &d, DD_NEXT_OK, DD_OK, "");
            CHECK(d.key_id == (uint64_t)i + 1);
        }
        char at[4200];
        snprintf(at, sizeof at, "%s: %s", p, cuts[c].what);
        EXPECT(r, &d, DD_NEXT_FATAL, DD_ERR_TRUNCATED, at);
        EXPECT(r, &d, DD_NEXT_FATAL, DD_ERR_TRUNCATED, at);
        dd_stroke_reader_close(r);
    }

    /* a record with no strokes and one with an empty stroke, between good ones: bad, and the reader goes on */
    static const unsigned char hand[] = {
        1, 0, 0, 0, 0, 0, 0, 0, 'U', 'S', 1, 0, 0, 0, 0, 1, 0, 1, 0, 10, 20,        /* ok: 1 stroke, 1 point */
        2, 0, 0, 0, 0, 0, 0, 0, 'U', 'S', 1, 0, 0, 0, 0, 0, 0,                      /* no strokes */
        3, 0, 0, 0, 0, 0, 0, 0, 'U', 'S', 0, 0, 0, 0, 0, 2, 0, 1, 0, 5,  6,  0, 0,  /* stroke 2 empty */
        4, 0, 0, 0, 0, 0, 0, 0, 0,   0,   0, 0, 0, 0, 0, 1, 0, 2, 0, 1,  2,  3, 4}; /* ok */
    const char *hp = test_write_file(tmp_path("hand.bin"), hand, sizeof hand);
    dd_stroke_reader *r = dd_stroke_reader_open(hp, &err);
    CHECK(r != NULL);
    if (r) {
        char at[4200];
        EXPECT(r, &d, DD_NEXT_OK, DD_OK, "");
        CHECK(d.key_id == 1 && d.x[0] == 10 && d.y[0] == 20 && strcmp(d.countrycode, "US") == 0);
        snprintf(at, sizeof at, "%s: record 2: ", hp);
        EXPECT(r, &d, DD_NEXT_BAD, DD_ERR_EMPTY, at, "no strokes");
        snprintf(at, sizeof at, "%s: record 3: ", hp);
        EXPECT(r, &d, DD_NEXT_BAD, DD_ERR_EMPTY, at, "stroke 2 has no points");
        EXPECT(r, &d, DD_NEXT_OK, DD_OK, "");
        CHECK(d.key_id == 4 && d.n_points == 2 && d.x[1] == 2 && d.y[0] == 3 && d.countrycode[0] == '\0' &&
              dd_stroke_reader_record(r) == 4);
        EXPECT(r, &d, DD_NEXT_END, DD_OK, "");
        dd_stroke_reader_close(r);
    }
    free(bytes);
    dd_drawing_free(&d);
}

static const char *write_npy(const char *name, const char *dict, size_t body, int version) {
    size_t dl = strlen(dict), prefix = version == 1 ? 10 : 12, n = prefix + dl + 1 + body;
    unsigned char *buf = calloc(1, n);
    if (!buf) exit(1);
    memcpy(buf, "\x93NUMPY", 6);
    buf[6] = (unsigned char)version;
    buf[8] = (unsigned char)(dl + 1);
    buf[9] = (unsigned char)((dl + 1) >> 8);
    memcpy(buf + prefix, dict, dl);
    buf[prefix + dl] = '\n';
    const char *p = tmp_path(name);
    if (strstr(name, ".gz"))
        test_write_gz(p, buf, n);
    else
        test_write_file(p, buf, n);
    free(buf);
    return p;
}

static void expect_npy(const char *path, dd_status code, const char *what) {
    dd_bitmaps b;
    dd_error err;
    int rc = dd_npy_read(path, &b, &err);
    CHECK(rc == -1 && err.code == code && strstr(err.msg, path) == err.msg && strstr(err.msg, what),
          "%s: rc %d, %s: %s", path, rc, dd_status_name(err.code), err.msg);
    CHECK(b.pixels == NULL && b.count == 0);
    if (rc == 0) dd_bitmaps_free(&b);
}

static void test_npy(void) {
    expect_npy(write_npy("float.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 784), }", 2 * 784 * 4, 1),
               DD_ERR_UNSUPPORTED, "dtype '<f4'");
    expect_npy(write_npy("int16.npy", "{'descr': '<i2', 'fortran_order': False, 'shape': (2, 784), }", 2 * 784 * 2, 1),
               DD_ERR_UNSUPPORTED, "'<i2'");
    expect_npy(write_npy("shape100.npy", "{'descr': '|u1', 'fortran_order': False, 'shape': (3, 100), }", 300, 1),
               DD_ERR_UNSUPPORTED, "shape (3, 100)");
    expect_npy(write_npy("shape1d.npy", "{'descr': '|u1', 'fortran_order': False, 'shape': (784,), }", 784, 1),
               DD_ERR_UNSUPPORTED, "shape (784,)");
    expect_npy(write_npy("shape0.npy", "{'descr': '|u1', 'fortran_order': False, 'shape': (3, 0, 28), }", 0, 1),
               DD_ERR_UNSUPPORTED, "(3, 0, 28)");
    expect_npy(write_npy("fortran.npy", "{'descr': '|u1', 'fortran_order': True, 'shape': (2, 28, 28), }", 2 * 784, 1),
               DD_ERR_UNSUPPORTED, "fortran_order");
    expect_npy(
        write_npy("short.npy", "{'descr': '|u1', 'fortran_order': False, 'shape': (4000, 784), }", 3 * 784 + 5, 1),
        DD_ERR_TRUNCATED, "ends after 2357 of the 3136000 bytes that shape (4000, 784) needs (image 4)");
    expect_npy(write_npy("short.npy.gz", "{'descr': '|u1', 'fortran_order': False, 'shape': (2, 1, 784), }", 784, 2),
               DD_ERR_TRUNCATED, "784 of the 1568 bytes");
    expect_npy(
        write_npy("huge.npy", "{'descr': '|u1', 'fortran_order': False, 'shape': (1000000000000, 784), }", 10, 1),
        DD_ERR_TRUNCATED, "ends after 10 of");
    expect_npy(write_npy("long.npy", "{'descr': '|u1', 'fortran_order': False, 'shape': (1, 784), }", 785, 1),
               DD_ERR_MALFORMED, "more data than shape (1, 784)");
    expect_npy(write_npy("nodescr.npy", "{'fortran_order': False, 'shape': (1, 784), }", 784, 1), DD_ERR_MALFORMED,
               "lacks 'descr'");
    expect_npy(write_npy("badshape.npy", "{'descr': '|u1', 'fortran_order': False, 'shape': [1, 784], }", 784, 1),
               DD_ERR_MALFORMED, "'shape'");
    expect_npy(write_npy("v9.npy", "{'descr': '|u1', 'fortran_order': False, 'shape': (1, 784), }", 784, 9),
               DD_ERR_UNSUPPORTED, "version 9");
    expect_npy(test_write_file(tmp_path("magic.npy"), "PK\x03\x04 this is a zip file", 24), DD_ERR_MALFORMED, "magic");
    expect_npy(test_write_file(tmp_path("header-cut.npy"), "\x93NUMPY\x01\x00\x76\x00{'descr'", 17), DD_ERR_TRUNCATED,
               "inside the .npy header");
    /* a real file cut in its compressed data */
    size_t len;
    char src[4096];
    snprintf(src, sizeof src, "%s/bitmaps_28x28/sukumr_Doodle-Classifier/cat.npy.gz", test_shared_data());
    unsigned char *gz = read_all(src, &len);
    expect_npy(test_write_file(tmp_path("cut.npy.gz"), gz, len * 2 / 3), DD_ERR_TRUNCATED, "unexpected end of file");
    free(gz);
}

int main(void) {
    dir = test_tmp_dir("test_bad_input");
    test_ndjson_lines();
    test_files();
    test_bin();
    test_long_line();
    test_npy();
    test_truncated_gz(test_shared_data());
    return test_finish("test_bad_input");
}
