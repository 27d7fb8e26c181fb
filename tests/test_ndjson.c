/* ndjson reading and writing: every real stroke file, exact numbers, key order / whitespace / escapes, write-back. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "data/json_number.h"
#include "doodle/quickdraw.h"
#include "testutil.h"

/* ---- helpers ---- */

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Sorted full paths of the *.gz files in dir; returns the count (caller frees). */
static size_t list_gz(const char *dir, char ***out) {
    DIR *dp = opendir(dir);
    CHECK(dp != NULL, "cannot open %s", dir);
    size_t n = 0, cap = 512;
    char **v = malloc(cap * sizeof *v);
    if (!dp || !v) exit(1);
    struct dirent *e;
    while ((e = readdir(dp))) {
        size_t len = strlen(e->d_name);
        if (len < 4 || strcmp(e->d_name + len - 3, ".gz") != 0) continue;
        if (n == cap) v = test_realloc(v, (cap *= 2) * sizeof *v);
        v[n] = malloc(strlen(dir) + len + 2);
        if (!v[n]) exit(1);
        sprintf(v[n++], "%s/%s", dir, e->d_name);
    }
    closedir(dp);
    qsort(v, n, sizeof *v, cmp_str);
    *out = v;
    return n;
}

static void free_list(char **v, size_t n) {
    for (size_t i = 0; i < n; i++) free(v[i]);
    free(v);
}

/* The whole decompressed file, read with zlib directly (independently of the reader). */
static char *gunzip_file(const char *path, size_t *len) {
    gzFile g = gzopen(path, "rb");
    size_t cap = 1 << 20, n = 0;
    char *buf = malloc(cap + 1);
    if (!g || !buf) exit(1);
    int got;
    while ((got = gzread(g, buf + n, (unsigned)(cap - n))) > 0) {
        n += (size_t)got;
        if (n == cap) buf = test_realloc(buf, (cap *= 2) + 1);
    }
    CHECK(got == 0, "%s: gzread failed", path);
    gzclose(g);
    buf[n] = '\0';
    *len = n;
    return buf;
}

static int same_bits(double a, double b) { return memcmp(&a, &b, sizeof a) == 0; }

/* ---- number parsing against strtod ---- */

static int check_number(const char *text) {
    size_t len = strlen(text);
    double got = 0, want = strtod(text, NULL);
    const char *next = NULL;
    data_json_number_status st = data_json_number(text, text + len, &got, &next);
    int ok = st == DATA_JSON_NUMBER_OK && next == text + len && same_bits(got, want);
    CHECK(ok, "\"%s\": got %.17g want %.17g (status %d, consumed %td)", text, got, want, (int)st,
          next ? next - text : -1);
    return ok;
}

static uint64_t rng_state = 0x9E3779B97F4A7C15u;
static uint64_t rnd(void) { /* xorshift64* */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1Du;
}

static void test_number_edge_cases(void) {
    static const char *const cases[] = {"0",
                                        "-0",
                                        "0.0",
                                        "-0.0",
                                        "0e10",
                                        "0.000e-999",
                                        "1",
                                        "-1",
                                        "255",
                                        "0.1",
                                        "0.5",
                                        "1e22",
                                        "1e23",
                                        "1e-22",
                                        "1e-23",
                                        "1e27",
                                        "1e28",
                                        "1e-27",
                                        "1e-28",
                                        "1e400",
                                        "-1e400",
                                        "1e-400",
                                        "1E5",
                                        "1e+5",
                                        "1.5e-5",
                                        "123.456e-7",
                                        "414.48199462890625",
                                        "410.364013671875",
                                        "359.8890075683594",
                                        "364.322998046875",
                                        "9007199254740992",
                                        "9007199254740993",
                                        "9007199254740995",
                                        "18446744073709551615",
                                        "18446744073709551616",
                                        "1844674407370955161.5",
                                        "12345678901234567890",
                                        "1234567890123456789012345678901234567890",
                                        "3.14159265358979323846264338327950288",
                                        "0.000000000000000000000000000001234",
                                        "1.7976931348623157e308",
                                        "1.7976931348623159e308",
                                        "2.2250738585072014e-308",
                                        "2.2250738585072011e-308",
                                        "4.9e-324",
                                        "2e-324",
                                        "-414.48199462890625",
                                        "1e300",
                                        "-1e300",
                                        "0.30000000000000004",
                                        "100000000000000000000000000000",
                                        "8.98846567431158e307",
                                        "1.00000000000000011102230246251565404236316680908203125",
                                        "1.00000000000000011102230246251565404236316680908203124",
                                        "1.00000000000000011102230246251565404236316680908203126",
                                        "9.007199254740993e15",
                                        "0.1000000000000000055511151231257827021181583404541015625",
                                        "12345.678901234567890123e-3"};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) check_number(cases[i]);

    static const char *const bad[] = {"", "-", "+1", ".5", "1.", "1e", "1e+", "-.5", "x", "--1", "1.e5"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        double v;
        const char *next;
        const char *t = bad[i];
        CHECK(data_json_number(t, t + strlen(t), &v, &next) == DATA_JSON_NUMBER_BAD, "\"%s\" should not parse", t);
    }
    { /* "01": only "0" is a number; the caller sees the '1' */
        double v;
        const char *next, *t = "01";
        CHECK(data_json_number(t, t + 2, &v, &next) == DATA_JSON_NUMBER_OK && next == t + 1);
    }
    { /* not NUL-terminated: stops at end */
        double v;
        const char *next, *t = "123456";
        CHECK(data_json_number(t, t + 3, &v, &next) == DATA_JSON_NUMBER_OK && v == 123 && next == t + 3);
    }

    /* Random numbers of the shapes that matter: float32 values printed exactly (raw coordinates), doubles printed
     * with 1..17 digits, random digit strings with exponents (many hit the midpoint fallback). */
    char buf[64];
    int failures = 0;
    for (int i = 0; i < 300000 && failures < 10; i++) {
        switch (i % 4) {
        case 0: {
            float f = (float)((double)(rnd() >> 11) / 9007199254740992.0 * 2000.0 - 500.0);
            snprintf(buf, sizeof buf, "%.*g", 1 + (int)(rnd() % 20), (double)f);
            break;
        }
        case 1: {
            uint64_t bits = rnd();
            double v;
            memcpy(&v, &bits, sizeof v);
            if (!isfinite(v)) v = 1.5;
            snprintf(buf, sizeof buf, "%.*g", 1 + (int)(rnd() % 17), v);
            break;
        }
        case 2: {
            int digits = 1 + (int)(rnd() % 19), exp = (int)(rnd() % 61) - 30;
            int n = 0;
            buf[n++] = (char)('1' + rnd() % 9);
            for (int k = 1; k < digits; k++) buf[n++] = (char)('0' + rnd() % 10);
            snprintf(buf + n, sizeof buf - n, "e%d", exp);
            break;
        }
        default: {
            double v = (double)(rnd() % 100000000) / 1000.0;
            snprintf(buf, sizeof buf, "%.17g", v);
        }
        }
        failures += !check_number(buf);
    }
}

/* Every number of every file, compared with strtod bit for bit, and (through the reader) every coordinate and
 * time: the n-th number of a line is the n-th value in stroke order x…, y…, (t…). */
static void test_real_files(const char *dir, int raw, uint64_t expect_drawings) {
    char **files;
    size_t n_files = list_gz(dir, &files);
    CHECK(n_files == (raw ? 345u : 344u), "%s: %zu files", dir, n_files);
    uint64_t drawings = 0, numbers = 0, mismatches = 0;
    dd_drawing d;
    dd_drawing_init(&d);
    double *vals = NULL;
    size_t vals_cap = 0;
    for (size_t f = 0; f < n_files; f++) {
        char word[DD_WORD_MAX];
        dd_error err;
        CHECK(dd_class_from_path(files[f], word, &err) == 0, "%s", err.msg);
        size_t len;
        char *text = gunzip_file(files[f], &len);
        dd_stroke_reader *r = dd_stroke_reader_open(files[f], &err);
        CHECK(r != NULL, "%s", err.msg);
        if (!r) continue;
        const char *line = text, *end = text + len;
        uint64_t file_drawings = 0;
        dd_next rc;
        while ((rc = dd_stroke_reader_next(r, &d, &err)) == DD_NEXT_OK) {
            file_drawings++;
            const char *nl = memchr(line, '\n', (size_t)(end - line));
            const char *line_end = nl ? nl : end;
            CHECK(strcmp(d.word, word) == 0, "%s: word \"%s\"", files[f], d.word);
            CHECK(d.has_times == raw && (raw || dd_drawing_is_simplified(&d)), "%s:%llu", files[f],
                  (unsigned long long)dd_stroke_reader_record(r));
            CHECK(d.key_id != 0 && strlen(d.countrycode) == 2 && d.recognized >= 0 && d.timestamp[0]);
            /* collect the numbers of the line outside strings */
            size_t n = 0;
            int in_string = 0;
            for (const char *p = line; p < line_end; p++) {
                if (in_string) {
                    if (*p == '\\')
                        p++;
                    else if (*p == '"')
                        in_string = 0;
                    continue;
                }
                if (*p == '"') {
                    in_string = 1;
                    continue;
                }
                if (*p != '-' && (*p < '0' || *p > '9')) continue;
                const char *q = p;
                while (q < line_end && strchr("+-.0123456789eE", *q)) q++;
                char tmp[64];
                size_t tl = (size_t)(q - p);
                if (tl >= sizeof tmp) {
                    CHECK(0, "%s: a number of %zu characters", files[f], tl);
                    continue;
                }
                memcpy(tmp, p, tl);
                tmp[tl] = '\0';
                double got;
                const char *next;
                CHECK(data_json_number(p, line_end, &got, &next) == DATA_JSON_NUMBER_OK && next == q, "%s", tmp);
                double want = strtod(tmp, NULL);
                if (!same_bits(got, want)) {
                    mismatches++;
                    CHECK(0, "%s: %s parsed as %.17g, strtod says %.17g", files[f], tmp, got, want);
                }
                if (n == vals_cap)
                    vals = test_realloc(vals, (vals_cap = vals_cap ? 2 * vals_cap : 4096) * sizeof *vals);
                vals[n++] = want;
                numbers++;
                p = q - 1;
            }
            /* compare with the drawing, in file order */
            size_t k = 0, bad = 0;
            for (uint32_t s = 0; s < d.n_strokes; s++) {
                uint32_t b = dd_stroke_begin(&d, s), e = d.stroke_end[s];
                for (int a = 0; a < (raw ? 3 : 2); a++) {
                    const double *arr = a == 0 ? d.x : a == 1 ? d.y : d.t;
                    for (uint32_t i = b; i < e; i++, k++) bad += k >= n || !same_bits(arr[i], vals[k]);
                }
            }
            CHECK(k == n && bad == 0, "%s:%llu: %zu values in the line, %zu in the drawing, %zu differ", files[f],
                  (unsigned long long)dd_stroke_reader_record(r), n, k, bad);
            line = nl ? nl + 1 : end;
        }
        CHECK(rc == DD_NEXT_END, "%s: %s", files[f], err.msg);
        CHECK(file_drawings > 0);
        drawings += file_drawings;
        dd_stroke_reader_close(r);
        free(text);
    }
    CHECK(drawings == expect_drawings, "%s: %llu drawings, expected %llu", dir, (unsigned long long)drawings,
          (unsigned long long)expect_drawings);
    CHECK(mismatches == 0);
    printf("%s: %zu files, %llu drawings, %llu numbers equal to strtod\n", raw ? "raw" : "simplified", n_files,
           (unsigned long long)drawings, (unsigned long long)numbers);
    free(vals);
    dd_drawing_free(&d);
    free_list(files, n_files);
}

/* Reads every drawing and writes it back: the output must equal the decompressed file, line for line. */
static void test_write_back(const char *dir, int raw) {
    char **files;
    size_t n_files = list_gz(dir, &files);
    size_t equal = 0;
    dd_drawing d;
    dd_drawing_init(&d);
    for (size_t f = 0; f < n_files; f++) {
        dd_error err;
        size_t len;
        char *text = gunzip_file(files[f], &len);
        char *mem = NULL;
        size_t mem_len = 0;
        FILE *out = open_memstream(&mem, &mem_len);
        dd_stroke_reader *r = dd_stroke_reader_open(files[f], &err);
        if (!out || !r) exit(1);
        dd_next rc;
        while ((rc = dd_stroke_reader_next(r, &d, &err)) == DD_NEXT_OK)
            CHECK(dd_ndjson_write(out, &d, &err) == 0, "%s", err.msg);
        CHECK(rc == DD_NEXT_END);
        dd_stroke_reader_close(r);
        CHECK(fclose(out) == 0);
        /* Google's raw files have no newline after the last line */
        int same = mem_len == len + (len && text[len - 1] != '\n') && memcmp(mem, text, len) == 0;
        if (!same) {
            size_t i = 0;
            while (i < len && i < mem_len && mem[i] == text[i]) i++;
            CHECK(0, "%s: written text differs at byte %zu: \"%.40s\" vs \"%.40s\"", files[f], i, mem + i, text + i);
        }
        equal += same;
        free(mem);
        free(text);
    }
    CHECK(equal == n_files, "%zu of %zu %s files written back identically", equal, n_files, raw ? "raw" : "simplified");
    printf("write-back: %zu of %zu %s files byte-identical\n", equal, n_files, raw ? "raw" : "simplified");
    dd_drawing_free(&d);
    free_list(files, n_files);
}

/* ---- synthetic objects ---- */

static int parse(const char *text, dd_drawing *d, dd_error *err) { return dd_ndjson_parse(text, strlen(text), d, err); }

static void test_key_orders(void) {
    static const char *const parts[6] = {
        "\"word\":\"cat\"",     "\"countrycode\":\"VE\"",          "\"timestamp\":\"2017-03-02 23:25:10.07453 UTC\"",
        "\"recognized\":false", "\"key_id\":\"5201136883597312\"", "\"drawing\":[[[1,2.5,3],[4,5,6e1]],[[7],[8]]]"};
    static const char *const spaces[4] = {"", " ", "\t\r\n ", "\n"};
    int perm[6] = {0, 1, 2, 3, 4, 5}, count = 0;
    dd_drawing d;
    dd_drawing_init(&d);
    /* every permutation (Heap's algorithm), each with a different whitespace style and an unknown key somewhere */
    int c[6] = {0};
    for (int i = 0;;) {
        char text[1024];
        const char *ws = spaces[count % 4];
        size_t n = (size_t)snprintf(text, sizeof text, "%s{%s", ws, ws);
        for (int k = 0; k < 6; k++) {
            if (k == count % 6)
                n += (size_t)snprintf(text + n, sizeof text - n,
                                      "\"extra\"%s:%s{\"a\":[1,{\"b\":[null,true]}],\"c\":\"x\\\"}\"},", ws, ws);
            const char *colon = strchr(parts[perm[k]], ':');
            n += (size_t)snprintf(text + n, sizeof text - n, "%.*s%s:%s%s%s%s", (int)(colon - parts[perm[k]]),
                                  parts[perm[k]], ws, ws, colon + 1, ws, k < 5 ? "," : "");
            if (k < 5) n += (size_t)snprintf(text + n, sizeof text - n, "%s", ws);
        }
        snprintf(text + n, sizeof text - n, "}%s", ws);
        dd_error err;
        int rc = parse(text, &d, &err);
        CHECK(rc == 0, "%s -> %s", text, err.msg);
        CHECK(strcmp(d.word, "cat") == 0 && strcmp(d.countrycode, "VE") == 0 && d.recognized == 0 &&
                  d.key_id == 5201136883597312u && strcmp(d.timestamp, "2017-03-02 23:25:10.07453 UTC") == 0,
              "%s", text);
        CHECK(d.n_strokes == 2 && d.n_points == 4 && d.stroke_end[0] == 3 && d.x[1] == 2.5 && d.y[2] == 60 &&
                  d.x[3] == 7 && d.y[3] == 8 && !d.has_times,
              "%s", text);
        count++;
        /* next permutation */
        while (i < 6 && c[i] >= i) c[i++] = 0;
        if (i >= 6) break;
        int j = i % 2 ? c[i] : 0, t = perm[j];
        perm[j] = perm[i];
        perm[i] = t;
        c[i]++;
        i = 0;
    }
    CHECK(count == 720, "%d permutations", count);
    dd_drawing_free(&d);
}

static void test_fields(void) {
    dd_drawing d;
    dd_drawing_init(&d);
    dd_error err;

    /* only "drawing" */
    CHECK(parse("{\"drawing\":[[[1,2],[3,4]]]}", &d, &err) == 0, "%s", err.msg);
    CHECK(d.word[0] == '\0' && d.countrycode[0] == '\0' && d.timestamp[0] == '\0' && d.recognized == -1 &&
          d.key_id == 0 && d.n_strokes == 1 && d.n_points == 2);

    /* raw strokes with times */
    CHECK(parse("{\"drawing\":[[[1.5,2],[3,4.25],[0,17]],[[5],[6],[30]]]}", &d, &err) == 0, "%s", err.msg);
    CHECK(d.has_times && d.n_strokes == 2 && d.t[1] == 17 && d.t[2] == 30 && d.x[0] == 1.5 && d.y[1] == 4.25);
    /* the same dd_drawing then holds a drawing without times */
    CHECK(parse("{\"drawing\":[[[1],[2]]]}", &d, &err) == 0 && !d.has_times && d.n_points == 1);

    /* escapes */
    CHECK(parse("{\"word\":\"\\u0063a\\u0074\",\"drawing\":[[[1],[2]]]}", &d, &err) == 0 && strcmp(d.word, "cat") == 0,
          "%s", d.word);
    CHECK(parse("{\"word\":\"caf\\u00e9 \\ud83d\\ude00\\u20ac\",\"drawing\":[[[1],[2]]]}", &d, &err) == 0 &&
              strcmp(d.word, "caf\xc3\xa9 \xf0\x9f\x98\x80\xe2\x82\xac") == 0,
          "%s", d.word);
    CHECK(parse("{\"word\":\"a\\\"b\\\\c\\/d\\n\\t\",\"drawing\":[[[1],[2]]]}", &d, &err) == 0 &&
              strcmp(d.word, "a\"b\\c/d\n\t") == 0,
          "%s", d.word);
    CHECK(parse("{\"word\":\"The Great Wall of China\",\"drawing\":[[[1],[2]]]}", &d, &err) == 0 &&
          strcmp(d.word, "The Great Wall of China") == 0);
    /* key names may be escaped too */
    CHECK(parse("{\"w\\u006frd\":\"cat\",\"drawing\":[[[1],[2]]]}", &d, &err) == 0 && strcmp(d.word, "cat") == 0);
    /* a word of exactly DD_WORD_MAX-1 bytes fits, one more does not */
    char text[512], word[DD_WORD_MAX + 1];
    memset(word, 'a', DD_WORD_MAX - 1);
    word[DD_WORD_MAX - 1] = '\0';
    snprintf(text, sizeof text, "{\"word\":\"%s\",\"drawing\":[[[1],[2]]]}", word);
    CHECK(parse(text, &d, &err) == 0 && strlen(d.word) == DD_WORD_MAX - 1);
    snprintf(text, sizeof text, "{\"word\":\"%sa\",\"drawing\":[[[1],[2]]]}", word);
    CHECK(parse(text, &d, &err) == -1 && err.code == DD_ERR_RANGE && strstr(err.msg, "word"), "%s", err.msg);

    /* key_id: string or number, 64 bits */
    CHECK(parse("{\"key_id\":5201136883597312,\"drawing\":[[[1],[2]]]}", &d, &err) == 0 &&
          d.key_id == 5201136883597312u);
    CHECK(parse("{\"key_id\":\"18446744073709551615\",\"drawing\":[[[1],[2]]]}", &d, &err) == 0 &&
          d.key_id == UINT64_MAX);
    CHECK(parse("{\"key_id\":\"18446744073709551616\",\"drawing\":[[[1],[2]]]}", &d, &err) == -1 &&
              err.code == DD_ERR_RANGE && strstr(err.msg, "key_id"),
          "%s", err.msg);
    CHECK(parse("{\"key_id\":\"12a\",\"drawing\":[[[1],[2]]]}", &d, &err) == -1 && err.code == DD_ERR_MALFORMED &&
              strstr(err.msg, "key_id") && strstr(err.msg, "column 14"),
          "%s", err.msg);
    CHECK(parse("{\"recognized\":true,\"drawing\":[[[1],[2]]]}", &d, &err) == 0 && d.recognized == 1);
    CHECK(parse("{\"recognized\":1,\"drawing\":[[[1],[2]]]}", &d, &err) == -1 && strstr(err.msg, "recognized"));
    CHECK(parse("{\"countrycode\":\"USA\",\"drawing\":[[[1],[2]]]}", &d, &err) == -1 && strstr(err.msg, "countrycode"),
          "%s", err.msg);
    /* NaN and Infinity as Python writes them are read, then rejected as out of range */
    CHECK(parse("{\"drawing\":[[[NaN],[2]]]}", &d, &err) == -1 && err.code == DD_ERR_RANGE, "%s", err.msg);
    CHECK(parse("{\"drawing\":[[[1],[-Infinity]]]}", &d, &err) == -1 && err.code == DD_ERR_RANGE, "%s", err.msg);
    /* a duplicate "drawing" replaces the first */
    CHECK(parse("{\"drawing\":[[[1,2],[3,4]]],\"drawing\":[[[9],[8]]]}", &d, &err) == 0 && d.n_points == 1 &&
          d.x[0] == 9);
    dd_drawing_free(&d);
}

/* Reader details: no final newline, CRLF, blank lines, long lines, and the record numbers. */
static void test_reader_lines(void) {
    const char *dir = test_tmp_dir("test_ndjson");
    char path[4096];
    snprintf(path, sizeof path, "%s/lines.ndjson", dir);
    const char *text = "\n{\"drawing\":[[[1],[2]]]}\r\n  \n\n{\"drawing\":[[[3],[4]]]}";
    test_write_file(path, text, strlen(text));
    dd_error err;
    dd_drawing d;
    dd_drawing_init(&d);
    dd_stroke_reader *r = dd_stroke_reader_open(path, &err);
    CHECK(r != NULL, "%s", err.msg);
    if (r) {
        CHECK(dd_stroke_reader_next(r, &d, &err) == DD_NEXT_OK && d.x[0] == 1 && dd_stroke_reader_record(r) == 2);
        CHECK(dd_stroke_reader_next(r, &d, &err) == DD_NEXT_OK && d.x[0] == 3 && dd_stroke_reader_record(r) == 5);
        CHECK(dd_stroke_reader_next(r, &d, &err) == DD_NEXT_END);
        CHECK(dd_stroke_reader_next(r, &d, &err) == DD_NEXT_END);
        dd_stroke_reader_close(r);
    }

    /* a UTF-8 byte order mark before the first line */
    snprintf(path, sizeof path, "%s/bom.ndjson", dir);
    test_write_file(path, "\xEF\xBB\xBF{\"drawing\":[[[1],[2]]]}\n", 27);
    r = dd_stroke_reader_open(path, &err);
    CHECK(r != NULL, "%s", err.msg);
    if (r) {
        CHECK(dd_stroke_reader_next(r, &d, &err) == DD_NEXT_OK && d.x[0] == 1, "%s", err.msg);
        CHECK(dd_stroke_reader_next(r, &d, &err) == DD_NEXT_END);
        dd_stroke_reader_close(r);
    }

    /* a 1.5-million-point raw line (~48 MB) compressed, between two short lines: the buffer grows and shrinks back */
    size_t points = 1500000, cap = points * 40 + 256, n = 0;
    char *big = malloc(cap);
    if (!big) exit(1);
    n += (size_t)snprintf(big + n, cap - n, "{\"drawing\":[[[1],[2]]]}\n{\"drawing\":[[");
    for (int a = 0; a < 3; a++) {
        big[n++] = '[';
        for (size_t i = 0; i < points; i++)
            n += (size_t)snprintf(big + n, cap - n, "%s%.10g", i ? "," : "",
                                  a == 2 ? (double)i : 414.48199462890625 + (double)i / 7);
        n += (size_t)snprintf(big + n, cap - n, "]%s", a < 2 ? "," : "");
    }
    n += (size_t)snprintf(big + n, cap - n, "]]}\n{\"drawing\":[[[5],[6]]]}\n");
    snprintf(path, sizeof path, "%s/big.ndjson.gz", dir);
    test_write_gz(path, big, n);
    free(big);
    r = dd_stroke_reader_open(path, &err);
    CHECK(r != NULL, "%s", err.msg);
    if (r) {
        CHECK(dd_stroke_reader_next(r, &d, &err) == DD_NEXT_OK && d.n_points == 1);
        CHECK(dd_stroke_reader_next(r, &d, &err) == DD_NEXT_OK, "%s", err.msg);
        char last[32];
        snprintf(last, sizeof last, "%.10g", 414.48199462890625 + (double)(points - 1) / 7);
        CHECK(d.n_points == points && d.n_strokes == 1 && d.has_times && d.t[points - 1] == (double)(points - 1) &&
              same_bits(d.x[points - 1], strtod(last, NULL)) && same_bits(d.y[points - 1], strtod(last, NULL)));
        CHECK(dd_stroke_reader_next(r, &d, &err) == DD_NEXT_OK && d.x[0] == 5 && dd_stroke_reader_record(r) == 3);
        CHECK(dd_stroke_reader_next(r, &d, &err) == DD_NEXT_END);
        dd_stroke_reader_close(r);
    }
    dd_drawing_free(&d);
}

static void test_writer_details(void) {
    dd_drawing d;
    dd_drawing_init(&d);
    dd_error err;
    char *mem = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&mem, &len);
    if (!f) exit(1);
    /* only the known fields; raw values shortest; escapes */
    CHECK(
        parse(
            "{\"word\":\"a\\\"b\",\"drawing\":[[[0.1,414.48199462890625,-3],[2,1.5e-7,0.30000000000000004],[0,1,2]]]}",
            &d, &err) == 0,
        "%s", err.msg);
    CHECK(dd_ndjson_write(f, &d, &err) == 0);
    fflush(f);
    CHECK(strcmp(mem, "{\"word\":\"a\\\"b\",\"drawing\":[[[0.1,414.48199462890625,-3],[2,1.5e-07,0.30000000000000004],"
                      "[0,1,2]]]}\n") == 0,
          "%s", mem);
    /* and it reads back to the same doubles */
    dd_drawing back;
    dd_drawing_init(&back);
    CHECK(dd_ndjson_parse(mem, len, &back, &err) == 0 && back.n_points == 3);
    for (uint32_t i = 0; i < 3 && back.n_points == 3; i++)
        CHECK(same_bits(back.x[i], d.x[i]) && same_bits(back.y[i], d.y[i]) && same_bits(back.t[i], d.t[i]));
    d.x[0] = NAN;
    CHECK(dd_ndjson_write(f, &d, &err) == -1 && err.code == DD_ERR_RANGE);
    fclose(f);
    free(mem);
    dd_drawing_free(&back);
    dd_drawing_free(&d);
}

static void test_paths(void) {
    char w[DD_WORD_MAX];
    dd_error err;
    CHECK(dd_format_from_path("a/cat.ndjson") == DD_FORMAT_NDJSON &&
          dd_format_from_path("cat.ndjson.gz") == DD_FORMAT_NDJSON &&
          dd_format_from_path("x.json") == DD_FORMAT_NDJSON && dd_format_from_path("cat.bin.gz") == DD_FORMAT_BIN &&
          dd_format_from_path("cat.npy") == DD_FORMAT_NPY && dd_format_from_path("cat.npy.gz") == DD_FORMAT_NPY &&
          dd_format_from_path("cat.txt") == DD_FORMAT_UNKNOWN && dd_format_from_path("cat.gz") == DD_FORMAT_UNKNOWN);
    CHECK(dd_class_from_path("data/smiley_face.npy.gz", w, &err) == 0 && strcmp(w, "smiley face") == 0, "%s", w);
    CHECK(dd_class_from_path("/x/full_numpy_bitmap_hot air balloon.npy", w, &err) == 0 &&
              strcmp(w, "hot air balloon") == 0,
          "%s", w);
    CHECK(dd_class_from_path("full_simplified_The Eiffel Tower.ndjson", w, &err) == 0 &&
          strcmp(w, "The Eiffel Tower") == 0);
    CHECK(dd_class_from_path("full_raw_cat.ndjson.gz", w, &err) == 0 && strcmp(w, "cat") == 0);
    CHECK(dd_class_from_path("cat.bin", w, &err) == 0 && strcmp(w, "cat") == 0);
    CHECK(dd_class_from_path("dir/.npy", w, &err) == -1);
    char longname[200];
    memset(longname, 'x', 100);
    strcpy(longname + 100, ".ndjson");
    CHECK(dd_class_from_path(longname, w, &err) == -1 && strstr(err.msg, longname), "%s", err.msg);
}

int main(void) {
    test_paths();
    test_number_edge_cases();
    test_key_orders();
    test_fields();
    test_writer_details();
    test_reader_lines();
    const char *data = test_shared_data();
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/strokes_raw/borismus_exupery", data);
    test_real_files(dir, 1, 9570);
    test_write_back(dir, 1);
    snprintf(dir, sizeof dir, "%s/strokes_simplified/lamnguyen5464_Sketch-dataset", data);
    test_real_files(dir, 0, 8600);
    test_write_back(dir, 0);
    return test_finish("test_ndjson");
}
