/* Writes seed corpora for the fuzz targets from the real Quick, Draw! files (tests/fuzz/README.md):
 *   fuzz_make_seeds SHARED_DATA_DIR OUT_DIR
 * creates OUT_DIR/{ndjson,stroke_reader,npy,dset,csv}/ with a few small files each: raw and simplified ndjson lines,
 * stroke files in every mode of fuzz_stroke_reader (first byte), a .bin made with dd_bin_write, .npy files made
 * with dd_npy_write plus the other header shapes, stroke and bitmap .dset files made with the writer, and Kaggle
 * CSV files (its layout, test_simplified's, and a quoted, CRLF one with raw drawings). */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "doodle/dataset.h"
#include "doodle/quickdraw.h"

static const char *out_dir;

static void die(const char *what, const char *detail) {
    fprintf(stderr, "fuzz_make_seeds: %s: %s\n", what, detail);
    exit(1);
}

static const char *seed_path(const char *target, const char *name) {
    static char path[4096];
    snprintf(path, sizeof path, "%s/%s", out_dir, target);
    if (mkdir(path, 0755) != 0 && errno != EEXIST) die(path, strerror(errno));
    snprintf(path, sizeof path, "%s/%s/%s", out_dir, target, name);
    return path;
}

static void write_seed(const char *target, const char *name, const void *data, size_t size) {
    const char *path = seed_path(target, name);
    FILE *f = fopen(path, "wb");
    if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0) die(path, "cannot write");
}

/* Up to max lines of at most 6000 bytes from a .ndjson.gz, newline-terminated, appended to buf. */
static size_t read_lines(const char *path, int max, char *buf, size_t cap) {
    gzFile g = gzopen(path, "rb");
    if (!g) die(path, "cannot open");
    size_t n = 0;
    char line[1 << 16];
    for (int k = 0; k < max && gzgets(g, line, sizeof line);) {
        size_t len = strlen(line);
        if (len > 6000 || line[len - 1] != '\n' || n + len > cap) continue;
        memcpy(buf + n, line, len);
        n += len;
        k++;
    }
    gzclose(g);
    return n;
}

/* A stroke_reader seed: the mode byte, then the file's content; in mode 3 (the file is stored as it is under a
 * .gz name) the content is gzip-compressed here, so that the fuzzer starts from real gzip data to corrupt. */
static void write_stroke_seed(const char *name, unsigned char mode, const char *data, size_t size) {
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) die("deflateInit2", name);
    size_t cap = 1 + deflateBound(&z, (uLong)size) + size;
    unsigned char *buf = malloc(cap);
    if (!buf) die("malloc", name);
    buf[0] = mode;
    size_t n = size;
    if ((mode >> 1 & 3) == 3) {
        z.next_in = (unsigned char *)(uintptr_t)data;
        z.avail_in = (uInt)size;
        z.next_out = buf + 1;
        z.avail_out = (uInt)(cap - 1);
        if (deflate(&z, Z_FINISH) != Z_STREAM_END) die("deflate", name);
        n = cap - 1 - z.avail_out;
    } else {
        memcpy(buf + 1, data, size);
    }
    deflateEnd(&z);
    write_seed("stroke_reader", name, buf, n + 1);
    free(buf);
}

static void parse_lines(const char *text, size_t len, dd_drawing *d, int max, int *n) {
    dd_error err;
    *n = 0;
    for (const char *p = text, *end = text + len; p < end && *n < max;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (dd_ndjson_parse(p, (size_t)(nl - p), &d[*n], &err)) die("a shared ndjson line", err.msg);
        (*n)++;
        p = nl + 1;
    }
}

/* The "drawing" value of a Google ndjson line (its last key) as [begin, *end). */
static const char *drawing_value(const char *line, size_t len, const char **end) {
    const char *p = NULL, *key = "\"drawing\":";
    for (const char *q = line; (q = strstr(q, key)) && q < line + len; q++) p = q;
    if (!p) die("a shared ndjson line", "no drawing");
    p += strlen(key);
    *end = line + len - 1; /* the closing '}' */
    return p;
}

/* csv: Kaggle CSV files made from the real lines in text (layout 0 Kaggle's train_simplified, 1 test_simplified.csv
 * with a BOM and CRLF, 2 every field quoted with an unknown multi-line column, as train_raw). */
static void write_csv_seed(const char *name, int layout, const char *text, size_t n) {
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);
    if (!f) die("open_memstream", strerror(errno));
    fputs(layout == 0   ? "countrycode,drawing,key_id,recognized,timestamp,word\n"
          : layout == 1 ? "\xEF\xBB\xBFkey_id,countrycode,drawing\r\n"
                        : "\"note\",\"word\",\"drawing\",\"recognized\",\"key_id\"\r\n",
          f);
    dd_drawing d;
    dd_drawing_init(&d);
    dd_error err;
    for (const char *p = text, *stop = text + n; p < stop;) {
        const char *nl = memchr(p, '\n', (size_t)(stop - p)), *end;
        if (dd_ndjson_parse(p, (size_t)(nl - p), &d, &err)) die("a shared ndjson line", err.msg);
        const char *v = drawing_value(p, (size_t)(nl - p), &end);
        unsigned long long id = (unsigned long long)d.key_id;
        if (layout == 0) {
            fprintf(f, "%s,\"", d.countrycode);
            for (const char *c = v; c < end; c++) *c == ',' ? fputs(", ", f) : fputc(*c, f);
            fprintf(f, "\",%llu,%s,%.25s,%s\n", id, d.recognized ? "True" : "False", d.timestamp, d.word);
        } else if (layout == 1) {
            fprintf(f, "%llu,%s,\"%.*s\"\r\n", id, d.countrycode, (int)(end - v), v);
        } else {
            fprintf(f, "\"a \"\"note\"\",\r\nover lines\",\"%s\",\"%.*s\",\"%s\",\"%llu\"\r\n", d.word, (int)(end - v), v,
                    d.recognized ? "TRUE" : "FALSE", id);
        }
        p = nl + 1;
    }
    dd_drawing_free(&d);
    if (fclose(f) != 0) die("open_memstream", "cannot write");
    write_seed("csv", name, buf, size);
    free(buf);
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: fuzz_make_seeds SHARED_DATA_DIR OUT_DIR\n");
        return 2;
    }
    const char *shared = argv[1];
    out_dir = argv[2];
    if (mkdir(out_dir, 0755) != 0 && errno != EEXIST) die(out_dir, strerror(errno));
    char path[4096], text[65536];
    dd_error err;

    /* ndjson: single lines, raw and simplified */
    const char *classes[] = {"cat", "apple", "zigzag", "The Eiffel Tower"};
    for (int c = 0; c < 4; c++) {
        for (int raw = 0; raw < 2; raw++) {
            snprintf(path, sizeof path, "%s/%s/%s.ndjson.gz", shared,
                     raw ? "strokes_raw/borismus_exupery" : "strokes_simplified/lamnguyen5464_Sketch-dataset",
                     classes[c]);
            FILE *f = fopen(path, "rb");
            if (!f) continue; /* "zigzag" has no simplified file */
            fclose(f);
            size_t n = read_lines(path, 2, text, sizeof text);
            char name[128];
            for (size_t i = 0, k = 0; i < n; k++) {
                size_t len = (size_t)((char *)memchr(text + i, '\n', n - i) - (text + i));
                snprintf(name, sizeof name, "%s-%s-%zu.ndjson", raw ? "raw" : "simplified", classes[c], k);
                for (char *s = name; *s; s++) if (*s == ' ') *s = '_';
                write_seed("ndjson", name, text + i, len);
                i += len + 1;
            }
        }
    }

    /* stroke_reader: three simplified and two raw drawings in each mode, and the simplified ones as .bin */
    snprintf(path, sizeof path, "%s/strokes_simplified/lamnguyen5464_Sketch-dataset/cat.ndjson.gz", shared);
    size_t n_simplified = read_lines(path, 3, text, sizeof text);
    for (unsigned mode = 0; mode < 4; mode++) {
        char name[64];
        snprintf(name, sizeof name, "simplified-mode%u.ndjson", mode);
        write_stroke_seed(name, (unsigned char)(mode << 1 | (mode == 2 ? 0x20 : 0)), text, n_simplified);
    }
    dd_drawing d[3];
    for (int i = 0; i < 3; i++) dd_drawing_init(&d[i]);
    int n_drawings;
    parse_lines(text, n_simplified, d, 3, &n_drawings);
    char *bin = NULL;
    size_t bin_size = 0;
    FILE *mem = open_memstream(&bin, &bin_size);
    if (!mem) die("open_memstream", strerror(errno));
    for (int i = 0; i < n_drawings; i++)
        if (dd_bin_write(mem, &d[i], &err)) die("dd_bin_write", err.msg);
    fclose(mem);
    for (unsigned mode = 0; mode < 4; mode++) {
        char name[64];
        snprintf(name, sizeof name, "simplified-mode%u.bin", mode);
        write_stroke_seed(name, (unsigned char)(mode << 1 | 1 | (mode == 2 ? 0x20 : 0)), bin, bin_size);
    }
    free(bin);
    char raw[65536];
    snprintf(path, sizeof path, "%s/strokes_raw/borismus_exupery/cat.ndjson.gz", shared);
    size_t n_raw = read_lines(path, 2, raw, sizeof raw);
    write_stroke_seed("raw-mode0.ndjson", 0, raw, n_raw);
    write_stroke_seed("raw-mode1.ndjson", 2, raw, n_raw);

    /* csv: the three simplified and two raw cats */
    write_csv_seed("kaggle-simplified.csv", 0, text, n_simplified);
    write_csv_seed("test-simplified.csv", 1, text, n_simplified);
    write_csv_seed("raw-quoted.csv", 2, raw, n_raw);

    /* dset: a stroke set of the three simplified cats in two classes, and a bitmap set of three 8x8 images */
    const char *names[2] = {"cat", "not a cat"};
    dd_class_stats stats[3];
    memset(stats, 0, sizeof stats);
    stats[0].read = stats[0].kept = 3;
    stats[0].train = 2;
    stats[0].test = 1;
    stats[1].skipped[DD_SKIP_MALFORMED] = 1;
    dd_dset_params params = {.seed = 42, .test_frac = 0.25, .per_class = 0, .recognized_only = false};
    dd_dataset_writer *w = dd_dataset_writer_open(seed_path("dset", "strokes.dset"), DD_DSET_STROKES, 0, 0, &err);
    if (!w) die("dd_dataset_writer_open", err.msg);
    for (int i = 0; i < n_drawings; i++)
        if (dd_dataset_writer_add_strokes(w, (uint32_t)(i & 1), i == 2 ? DD_SPLIT_TEST : DD_SPLIT_TRAIN, &d[i], &err))
            die("dd_dataset_writer_add_strokes", err.msg);
    if (dd_dataset_writer_finish(w, 2, names, stats, &params, &err)) die("dd_dataset_writer_finish", err.msg);
    w = dd_dataset_writer_open(seed_path("dset", "bitmaps.dset"), DD_DSET_BITMAPS, 8, 8, &err);
    if (!w) die("dd_dataset_writer_open", err.msg);
    uint8_t pixels[64];
    for (int i = 0; i < 3; i++) {
        for (int k = 0; k < 64; k++) pixels[k] = (uint8_t)(k * (i + 1) * 37);
        if (dd_dataset_writer_add_bitmap(w, (uint32_t)(i & 1), DD_SPLIT_TRAIN, (uint64_t)i, pixels, &err))
            die("dd_dataset_writer_add_bitmap", err.msg);
    }
    if (dd_dataset_writer_finish(w, 2, names, stats, &params, &err)) die("dd_dataset_writer_finish", err.msg);
    for (int i = 0; i < 3; i++) dd_drawing_free(&d[i]);

    /* npy: three real cats written with dd_npy_write, and the other header shapes by hand */
    snprintf(path, sizeof path, "%s/bitmaps_28x28/sukumr_Doodle-Classifier/cat.npy.gz", shared);
    dd_bitmaps all, three;
    if (dd_npy_read(path, &all, &err)) die("dd_npy_read", err.msg);
    if (dd_bitmaps_alloc(&three, 3, 28, 28, &err)) die("dd_bitmaps_alloc", err.msg);
    memcpy(three.pixels, all.pixels, 3 * 28 * 28);
    if (dd_npy_write(seed_path("npy", "cats-3x28x28.npy"), &three, &err)) die("dd_npy_write", err.msg);
    const char *dicts[3] = {"{'descr': '|u1', 'fortran_order': False, 'shape': (2, 784), }",
                            "{'descr': '<u1', 'fortran_order': False, 'shape': (2, 1, 784)}",
                            "{\"descr\": \"|u1\", \"fortran_order\": False, \"shape\": (2, 1, 4, 4), }"};
    for (int k = 0; k < 3; k++) {
        unsigned char buf[2048];
        int version = k == 2 ? 2 : 1, prefix = version == 1 ? 10 : 12;
        size_t body = k == 2 ? 32 : 2 * 784;
        size_t dict = strlen(dicts[k]), header = ((size_t)prefix + dict + 1 + 63) / 64 * 64, hlen = header - (size_t)prefix;
        memcpy(buf, "\x93NUMPY", 6);
        buf[6] = (unsigned char)version;
        buf[7] = 0;
        buf[8] = (unsigned char)hlen;
        buf[9] = (unsigned char)(hlen >> 8);
        if (version == 2) buf[10] = buf[11] = 0;
        memcpy(buf + prefix, dicts[k], dict);
        memset(buf + prefix + dict, ' ', header - 1 - (size_t)prefix - dict);
        buf[header - 1] = '\n';
        memcpy(buf + header, all.pixels + 784 * 10, body);
        char name[64];
        snprintf(name, sizeof name, "shape%d.npy", k);
        write_seed("npy", name, buf, header + body);
    }
    dd_bitmaps_free(&all);
    dd_bitmaps_free(&three);
    printf("seeds written to %s\n", out_dir);
    return 0;
}
