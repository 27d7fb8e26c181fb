/* Kaggle CSV through dd_stroke_reader: real drawings written as CSV (Kaggle's layout and a shuffled, quoted, CRLF
 * one) read back exactly as the ndjson they came from; the format and class from the file name; bad input
 * (quoting, header, field count, values, JSON inside the quotes) as BAD or FATAL records naming path:line. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "doodle/quickdraw.h"
#include "testutil.h"

static const char *dir;

static char *path_in(const char *name) {
    static char buf[4][1024];
    static int k;
    char *p = buf[k++ & 3];
    snprintf(p, 1024, "%s/%s", dir, name);
    return p;
}

/* ---- reading a whole file: what each call returned ---- */

typedef struct outcome {
    int ok, bad, fatal;      /* counts */
    char first_bad[512];     /* message of the first BAD or FATAL */
    uint64_t first_bad_line; /* its record number */
    dd_drawing last;         /* the last good drawing */
} outcome;

static outcome read_all(const char *name, const char *text) {
    const char *path = path_in(name);
    test_write_file(path, text, strlen(text));
    outcome o;
    memset(&o, 0, sizeof o);
    dd_drawing_init(&o.last);
    dd_error err;
    dd_stroke_reader *r = dd_stroke_reader_open(path, &err);
    CHECK(r != NULL, "%s: %s", name, err.msg);
    if (!r) return o;
    for (int calls = 0; calls < 1000; calls++) {
        dd_next n = dd_stroke_reader_next(r, &o.last, &err);
        if (n == DD_NEXT_END) break;
        if (n == DD_NEXT_OK) {
            o.ok++;
            continue;
        }
        if (!o.bad && !o.fatal) {
            snprintf(o.first_bad, sizeof o.first_bad, "%s", err.msg);
            o.first_bad_line = dd_stroke_reader_record(r);
            CHECK(strncmp(err.msg, path, strlen(path)) == 0, "%s: message without the path: %s", name, err.msg);
        }
        if (n == DD_NEXT_BAD) o.bad++;
        if (n == DD_NEXT_FATAL) {
            o.fatal++;
            dd_error again;
            CHECK(dd_stroke_reader_next(r, &o.last, &again) == DD_NEXT_FATAL, "%s: FATAL does not repeat", name);
            break;
        }
    }
    dd_stroke_reader_close(r);
    return o;
}

static void done(outcome *o) { dd_drawing_free(&o->last); }

/* The message of the first bad record holds "path:line: " + want. */
static void expect_bad(const char *name, const char *text, int fatal, uint64_t line, const char *want) {
    outcome o = read_all(name, text);
    CHECK(fatal ? o.fatal == 1 : o.bad >= 1, "%s: ok %d bad %d fatal %d", name, o.ok, o.bad, o.fatal);
    char prefix[1100];
    snprintf(prefix, sizeof prefix, "%s:%llu: ", path_in(name), (unsigned long long)line);
    CHECK(strncmp(o.first_bad, prefix, strlen(prefix)) == 0, "%s: message \"%s\" does not start with \"%s\"", name,
          o.first_bad, prefix);
    CHECK(strstr(o.first_bad, want) != NULL, "%s: message \"%s\" does not say \"%s\"", name, o.first_bad, want);
    CHECK(o.first_bad_line == line, "%s: record %llu, expected %llu", name, (unsigned long long)o.first_bad_line,
          (unsigned long long)line);
    done(&o);
}

#define HEADER "countrycode,drawing,key_id,recognized,timestamp,word\n"
#define ROW                                                                                                            \
    "US,\"[[[1, 2, 3], [4, 5, 6]], [[7, 8], [9, 10]]]\",5152802093400064,True,2017-03-08 21:12:07.26604,smiley face\n"

static void test_names(void) {
    CHECK(dd_format_from_path("train_simplified/cat.csv") == DD_FORMAT_CSV, "csv");
    CHECK(dd_format_from_path("a/b/smiley face.CSV.gz") == DD_FORMAT_CSV, "csv.gz");
    CHECK(dd_format_from_path("cat.csvx") == DD_FORMAT_UNKNOWN, "csvx");
    char cls[DD_WORD_MAX];
    dd_error err;
    CHECK(dd_class_from_path("train_simplified/smiley face.csv.gz", cls, &err) == 0 && strcmp(cls, "smiley face") == 0,
          "class %s", cls);
    CHECK(dd_class_from_path("x/The_Eiffel_Tower.csv", cls, &err) == 0 && strcmp(cls, "The Eiffel Tower") == 0,
          "class %s", cls);
}

static void test_good(void) {
    /* Kaggle's layout */
    outcome o = read_all("kaggle.csv", HEADER ROW);
    CHECK(o.ok == 1 && o.bad == 0 && o.fatal == 0, "kaggle: ok %d bad %d", o.ok, o.bad);
    dd_drawing *d = &o.last;
    CHECK(d->n_strokes == 2 && d->n_points == 5 && !d->has_times, "strokes %u points %u", d->n_strokes, d->n_points);
    CHECK(d->x[2] == 3 && d->y[4] == 10, "points");
    CHECK(strcmp(d->word, "smiley face") == 0 && strcmp(d->countrycode, "US") == 0, "word %s cc %s", d->word,
          d->countrycode);
    CHECK(d->key_id == 5152802093400064ull && d->recognized == 1, "key %llu rec %d", (unsigned long long)d->key_id,
          d->recognized);
    CHECK(strcmp(d->timestamp, "2017-03-08 21:12:07.26604") == 0, "timestamp %s", d->timestamp);
    done(&o);

    /* test_simplified.csv: other order, no word; CRLF; BOM; no final newline; False; blank lines */
    o = read_all("test_simplified.csv", "\xEF\xBB\xBFkey_id,countrycode,drawing\r\n\r\n"
                                        "9000003627287624,DE,\"[[[0,255],[0,255]]]\"\r\n"
                                        "\r\n"
                                        "9000010688666847,,\"[[[9],[9]]]\"");
    CHECK(o.ok == 2 && o.bad == 0, "test_simplified: ok %d bad %d (%s)", o.ok, o.bad, o.first_bad);
    CHECK(o.last.word[0] == '\0' && o.last.countrycode[0] == '\0' && o.last.recognized == -1 &&
              o.last.key_id == 9000010688666847ull && o.last.x[0] == 9,
          "test_simplified: metadata");
    done(&o);

    /* RFC 4180: quoted names and values, "" escapes, commas and line ends inside quotes, unknown columns; line
     * numbers count the lines inside quotes */
    o = read_all("rfc.csv", "\"note\",\"word\",drawing,recognized\n"
                            "\"a, \"\"quoted\"\"\nmultiline\r\nnote\",\"The Eiffel Tower\",\"[[[1],[2]]]\",FALSE\n"
                            ",cat,\"[[[1],[2]]]\",true\n"
                            "x,cat,\"[[[1],[2]]]\",maybe\n");
    CHECK(o.ok == 2 && o.bad == 1, "rfc: ok %d bad %d", o.ok, o.bad);
    CHECK(o.first_bad_line == 6, "rfc: bad record at line %llu, expected 6 (%s)", (unsigned long long)o.first_bad_line,
          o.first_bad);
    CHECK(strstr(o.first_bad, "recognized: \"maybe\" is not True or False") != NULL, "rfc: %s", o.first_bad);
    done(&o);
    o = read_all("rfc2.csv", "word,drawing,recognized\n\"a \"\"b\"\"\",\"[[[1],[2]]]\",False\n");
    CHECK(o.ok == 1 && strcmp(o.last.word, "a \"b\"") == 0 && o.last.recognized == 0, "rfc2: word %s", o.last.word);
    done(&o);

    /* raw drawings with times (train_raw) */
    o = read_all("raw.csv", "drawing\n\"[[[1.5, 2.25], [3, 4], [0, 17]]]\"\n");
    CHECK(o.ok == 1 && o.last.has_times && o.last.t[1] == 17 && o.last.x[1] == 2.25, "raw");
    done(&o);

    /* empty file and header only: no drawings, no error */
    o = read_all("empty.csv", "");
    CHECK(o.ok == 0 && o.bad == 0 && o.fatal == 0, "empty");
    done(&o);
    o = read_all("header_only.csv", HEADER);
    CHECK(o.ok == 0 && o.bad == 0 && o.fatal == 0, "header only");
    done(&o);
    o = read_all("bom_header_only.csv", "\xEF\xBB\xBF" HEADER);
    CHECK(o.ok == 0 && o.bad == 0 && o.fatal == 0, "BOM + header only");
    done(&o);
}

static void test_bad(void) {
    expect_bad("unterminated.csv", HEADER ROW "US,\"[[[1],[2]]],1,True,t,cat\n", 0, 3,
               "field 2 (drawing): column 4: quoted field never closed");
    /* the same quote before a good record: RFC 4180 closes it at the next quote, 100 bytes on */
    expect_bad("unterminated2.csv", HEADER "US,\"[[[1],[2]]],1,True,t,cat\n" ROW, 0, 2,
               "field 2 (drawing): column 34: text after the closing quote");
    expect_bad("no_drawing.csv", "countrycode,key_id,word\nUS,1,cat\n", 1, 1, "header: no \"drawing\" column");
    expect_bad("no_header.csv", ROW ROW, 1, 1, "no \"drawing\" column");
    expect_bad("twice.csv", "drawing,word,drawing\n", 1, 1, "column \"drawing\" is named twice (fields 1 and 3)");
    expect_bad("header_quote.csv", "drawing,\"word\n", 1, 1, "header: field 2: column 9: quoted field never closed");
    expect_bad("too_few.csv", HEADER "US,\"[[[1],[2]]]\",1,True,t\n", 0, 2, "5 fields but the header has 6");
    expect_bad("too_many.csv", HEADER ROW "US,\"[[[1],[2]]]\",1,True,t,cat,extra\n", 0, 3,
               "7 fields but the header has 6");
    expect_bad("bad_json.csv", HEADER "US,\"[[[1, 2], [3 4]]]\",1,True,t,cat\n", 0, 2,
               "drawing stroke 1 y: column 18: expected ',' or ']', found '4'");
    expect_bad("bad_json_escaped.csv", HEADER "US,\"[[[1, \"\"2\"\"], [3, 4]]]\",1,True,t,cat\n", 0, 2,
               "drawing stroke 1 x: column 11: expected a number");
    expect_bad("json_after.csv", "drawing\n\"[[[1],[2]]] x\"\n", 0, 2,
               "drawing: column 14: unexpected text after the drawing");
    expect_bad("mismatch.csv", "drawing\n\"[[[1,2],[2]]]\"\n", 0, 2, "drawing stroke 1: x has 2 points but y has 1");
    expect_bad("no_strokes.csv", "drawing\n\"[]\"\n", 0, 2, "drawing");
    expect_bad("empty_drawing.csv", "word,drawing\ncat,\n", 0, 2, "expected '[' starting the list of strokes");
    expect_bad("quote_in_field.csv", "word,drawing\nca\"t,\"[[[1],[2]]]\"\n", 0, 2,
               "field 1 (word): column 3: '\"' inside an unquoted field");
    expect_bad("after_quote.csv", "word,drawing\n\"cat\"x,\"[[[1],[2]]]\"\n", 0, 2,
               "field 1 (word): column 6: text after the closing quote");
    expect_bad("key_id.csv", "key_id,drawing\n12x,\"[[[1],[2]]]\"\n", 0, 2, "key_id: \"12x\" is not a whole number");
    expect_bad("key_id_big.csv", "key_id,drawing\n18446744073709551616,\"[[[1],[2]]]\"\n", 0, 2,
               "key_id: does not fit in 64 bits");
    expect_bad("country.csv", "countrycode,drawing\nUSA,\"[[[1],[2]]]\"\n", 0, 2, "countrycode: longer than 2 bytes");
    expect_bad("country2.csv", "countrycode,drawing\nU1,\"[[[1],[2]]]\"\n", 0, 2,
               "countrycode: \"U1\" is not two letters");
    expect_bad("word_long.csv",
               "word,drawing\n0123456789012345678901234567890123456789012345678901234567890123,\"[[[1],[2]]]\"\n", 0, 2,
               "word: longer than 63 bytes");
    /* a good record after a bad one is read */
    outcome o = read_all("recover.csv", HEADER "US,\"[[[1]]]\",1,True,t,cat\n" ROW);
    CHECK(o.ok == 1 && o.bad == 1 && o.last.key_id == 5152802093400064ull, "recover: ok %d bad %d", o.ok, o.bad);
    done(&o);
}

static void test_parse_drawing(void) {
    dd_drawing d;
    dd_drawing_init(&d);
    dd_error err;
    const char *t = " [[[1,2],[3,4],[5,6]]] ";
    CHECK(dd_ndjson_parse_drawing(t, strlen(t), 0, &d, &err) == 0 && d.has_times && d.n_points == 2, "%s", err.msg);
    t = "[[[1,2],[3,4]],[[1],[2],[3]]]";
    CHECK(dd_ndjson_parse_drawing(t, strlen(t), 100, &d, &err) != 0 &&
              strstr(err.msg, "drawing stroke 2: has 3 arrays"),
          "%s", err.msg);
    t = "[[[1,2],[3,x]]]";
    CHECK(dd_ndjson_parse_drawing(t, strlen(t), 100, &d, &err) != 0 &&
              strstr(err.msg, "drawing stroke 1 y: column 112: expected a number"),
          "%s", err.msg);
    dd_drawing_free(&d);
}

/* ---- real drawings: every stroke file of ../shared as CSV reads back as the same drawings ---- */

/* The "drawing" value of an ndjson line written by dd_ndjson_write (Google's number text). */
static const char *drawing_json(const char *line, size_t *len) {
    const char *p = strstr(line, "\"drawing\":");
    if (!p) return NULL;
    p += strlen("\"drawing\":");
    const char *end = strrchr(p, '}');
    *len = end ? (size_t)(end - p) : 0;
    return p;
}

static int same_drawing(const dd_drawing *a, const dd_drawing *b) {
    if (a->n_strokes != b->n_strokes || a->n_points != b->n_points || a->has_times != b->has_times) return 0;
    if (memcmp(a->stroke_end, b->stroke_end, a->n_strokes * sizeof *a->stroke_end)) return 0;
    if (memcmp(a->x, b->x, a->n_points * sizeof *a->x) || memcmp(a->y, b->y, a->n_points * sizeof *a->y)) return 0;
    if (a->has_times && memcmp(a->t, b->t, a->n_points * sizeof *a->t)) return 0;
    return a->key_id == b->key_id && strcmp(a->word, b->word) == 0 && strcmp(a->countrycode, b->countrycode) == 0 &&
           strcmp(a->timestamp, b->timestamp) == 0 && a->recognized == b->recognized;
}

/* Writes every drawing of src as CSV: layout 0 is Kaggle's (drawing with ", " between numbers, LF), layout 1 a
 * shuffled header with unknown columns, every field quoted, CRLF, Google's drawing text. Then reads it back and
 * compares with the ndjson. Returns the drawings compared. */
static size_t check_file(const char *src, int layout, int gz) {
    dd_error err;
    dd_stroke_reader *r = dd_stroke_reader_open(src, &err);
    CHECK(r != NULL, "%s", err.msg);
    if (!r) return 0;
    char *text = NULL, *line = NULL;
    size_t text_len = 0, line_len = 0;
    FILE *out = open_memstream(&text, &text_len);
    if (!out) exit(1);
    fputs(layout == 0 ? "countrycode,drawing,key_id,recognized,timestamp,word\n"
                      : "\"extra\",\"word\",\"key_id\",\"drawing\",\"timestamp\",\"recognized\",\"countrycode\"\r\n",
          out);
    dd_drawing d, back;
    dd_drawing_init(&d);
    dd_drawing_init(&back);
    size_t n = 0;
    while (dd_stroke_reader_next(r, &d, &err) == DD_NEXT_OK) {
        free(line); /* open_memstream gives a new buffer every time */
        line = NULL;
        FILE *lf = open_memstream(&line, &line_len);
        if (!lf || dd_ndjson_write(lf, &d, &err)) exit(1);
        fclose(lf);
        size_t jl = 0;
        const char *json = drawing_json(line, &jl);
        CHECK(json != NULL, "no drawing in %s", line);
        const char *rec = d.recognized == 1 ? "True" : d.recognized == 0 ? "False" : "";
        if (layout == 0) {
            fprintf(out, "%s,\"", d.countrycode);
            for (size_t i = 0; i < jl; i++) {
                fputc(json[i], out);
                if (json[i] == ',') fputc(' ', out); /* Python's str() of the list, as in Kaggle's files */
            }
            fprintf(out, "\",%llu,%s,%s,%s\n", (unsigned long long)d.key_id, rec, d.timestamp, d.word);
        } else {
            fprintf(out, "\"x,\"\"%zu\"\"\n\",\"%s\",\"%llu\",\"%.*s\",\"%s\",\"%s\",\"%s\"\r\n", n, d.word,
                    (unsigned long long)d.key_id, (int)jl, json, d.timestamp, rec, d.countrycode);
        }
        n++;
    }
    fclose(out);
    dd_stroke_reader_close(r);
    char name[64];
    snprintf(name, sizeof name, "real%d.csv%s", layout, gz ? ".gz" : "");
    const char *path = path_in(name);
    if (gz)
        test_write_gz(path, text, text_len);
    else
        test_write_file(path, text, text_len);
    /* read both again, side by side */
    dd_stroke_reader *a = dd_stroke_reader_open(src, &err), *b = dd_stroke_reader_open(path, &err);
    CHECK(a && b, "%s", err.msg);
    size_t same = 0, m = 0;
    for (; a && b; m++) {
        dd_next na = dd_stroke_reader_next(a, &d, &err);
        dd_next nb = dd_stroke_reader_next(b, &back, &err);
        CHECK(na == nb, "%s drawing %zu: ndjson %d, csv %d (%s)", src, m, (int)na, (int)nb, err.msg);
        if (na != DD_NEXT_OK || nb != DD_NEXT_OK) break;
        same += same_drawing(&d, &back);
    }
    CHECK(same == n && m == n, "%s layout %d: %zu of %zu drawings the same", src, layout, same, n);
    dd_stroke_reader_close(a);
    dd_stroke_reader_close(b);
    dd_drawing_free(&d);
    dd_drawing_free(&back);
    free(text);
    free(line);
    return same;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Every stroke file of both sets: the layouts and gzip alternate from file to file. */
static void test_real(const char *data) {
    const char *sets[] = {"strokes_raw/borismus_exupery", "strokes_simplified/lamnguyen5464_Sketch-dataset"};
    size_t total = 0, files = 0;
    for (int s = 0; s < 2; s++) {
        char set[2048];
        snprintf(set, sizeof set, "%s/%s", data, sets[s]);
        DIR *dp = opendir(set);
        CHECK(dp != NULL, "cannot open %s", set);
        if (!dp) continue;
        char *names[400] = {0};
        size_t n = 0;
        struct dirent *e;
        while ((e = readdir(dp)) && n < 400)
            if (strstr(e->d_name, ".ndjson.gz") && !(names[n++] = strdup(e->d_name))) exit(1);
        closedir(dp);
        qsort(names, n, sizeof *names, cmp_str);
        for (size_t i = 0; i < n; i++, files++) {
            char src[4200];
            snprintf(src, sizeof src, "%s/%s", set, names[i]);
            total += check_file(src, (int)(files % 2), files % 3 == 0);
            free(names[i]);
        }
    }
    printf("test_csv: %zu real drawings of %zu files read back from CSV identical to their ndjson\n", total, files);
    CHECK(files == 689 && total == 18170, "%zu drawings of %zu files compared, expected 18170 of 689", total, files);
}

int main(void) {
    dir = test_tmp_dir("test_csv");
    test_names();
    test_parse_drawing();
    test_good();
    test_bad();
    test_real(test_shared_data());
    return test_finish("test_csv");
}
