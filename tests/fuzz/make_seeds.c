/* Writes seed corpora for the fuzz targets from the real Quick, Draw! files (tests/fuzz/README.md):
 *   fuzz_make_seeds SHARED_DATA_DIR OUT_DIR
 * creates OUT_DIR/{ndjson,stroke_reader,npy,dset,csv}/ with a few small files each: raw and simplified ndjson lines,
 * stroke files in every mode of fuzz_stroke_reader (first byte), a .bin made with dd_bin_write, .npy files made
 * with dd_npy_write plus the other header shapes, stroke and bitmap .dset files made with the writer, and Kaggle
 * CSV files (its layout, test_simplified's, and a quoted, CRLF one with raw drawings); and, without the real data,
 * OUT_DIR/{model,resume,cfg,serve,png}/: small model files and checkpoints written with the writers, history.csv
 * files, the built-in cfgs and one with every key, request bodies, and PNG pictures of every colour type and bit
 * depth (cairo's own and hand-made ones). */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cairo.h>

#include "../../src/train/checkpoint.h"
#include "../../src/train/history.h"
#include "doodle/dataset.h"
#include "doodle/model.h"
#include "doodle/quickdraw.h"
#include "fuzz.h"

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
            fprintf(f, "\"a \"\"note\"\",\r\nover lines\",\"%s\",\"%.*s\",\"%s\",\"%llu\"\r\n", d.word, (int)(end - v),
                    v, d.recognized ? "TRUE" : "FALSE", id);
        }
        p = nl + 1;
    }
    dd_drawing_free(&d);
    if (fclose(f) != 0) die("open_memstream", "cannot write");
    write_seed("csv", name, buf, size);
    free(buf);
}

/* ---- seeds of the model, resume, cfg, serve and png targets (no real data needed) ---- */

static dd_model *small_model(const char *cfg, uint64_t seed, const char *const *names) {
    dd_error err;
    dd_model_spec *spec = dd_model_spec_parse(cfg, strlen(cfg), "seed.cfg", "seed", NULL, &err);
    dd_model *m = spec ? dd_model_new(spec, seed, &err) : NULL;
    if (!m) die("small model", err.msg);
    for (int i = 0; i < m->spec->classes; i++)
        if (dd_model_set_class_name(m, i, names[i], &err)) die("class name", err.msg);
    return m;
}

static void copy_seed(const char *target, const char *name, const char *from, const char *prefix, size_t prefix_len) {
    FILE *f = fopen(from, "rb");
    if (!f) die(from, strerror(errno));
    static char buf[1 << 20];
    memcpy(buf, prefix, prefix_len);
    size_t n = prefix_len + fread(buf + prefix_len, 1, sizeof buf - prefix_len, f);
    fclose(f);
    write_seed(target, name, buf, n);
}

static const char dense_cfg[] = "[net]\ninput = 4x4x1\nclasses = 2\n[flatten]\n[dense]\nunits = classes\n";
static const char every_key_cfg[] =
    "# every key\n[net]\nname = every ; comment\ninput = 12 x 10 x 1\nclasses = 3\n"
    "[conv2d]\nname = c1\nfilters = 2\nkernel = 3x2\nstride = 2\npadding = SAME\nactivation = relu\nbias = 0\n"
    "[batchnorm]\nmomentum = 0.9\nepsilon = 0.01\n[activation]\ntype = linear\n[maxpool]\nsize = 2\nstride = 1\n"
    "[conv2d]\nfilters = 3\nkernel = 1\npadding = valid\n[flatten]\n[dropout]\nrate = 0.25\n"
    "[dense]\nunits = 5\nactivation = relu\n[dense]\nunits = classes\nbias = 1\n";

/* A PNG written by hand: one IDAT of the given rows (each with its filter byte), optional PLTE and tRNS. */
static void png_chunk(uint8_t *buf, size_t *n, const char *type, const uint8_t *data, uint32_t len) {
    uint8_t *p = buf + *n;
    p[0] = (uint8_t)(len >> 24), p[1] = (uint8_t)(len >> 16), p[2] = (uint8_t)(len >> 8), p[3] = (uint8_t)len;
    memcpy(p + 4, type, 4);
    if (len) memcpy(p + 8, data, len);
    uint32_t crc = (uint32_t)crc32(0, p + 4, len + 4);
    p[8 + len] = (uint8_t)(crc >> 24), p[9 + len] = (uint8_t)(crc >> 16), p[10 + len] = (uint8_t)(crc >> 8);
    p[11 + len] = (uint8_t)crc;
    *n += 12 + len;
}

static void write_png_seed(const char *name, uint32_t w, uint32_t h, int depth, int color, int interlace,
                           const uint8_t *plte, uint32_t plte_len, const uint8_t *trns, uint32_t trns_len) {
    static const int channels[7] = {1, 0, 3, 1, 2, 0, 4};
    size_t row = ((size_t)w * channels[color] * depth + 7) / 8, raw_len = (row + 1) * h;
    uint8_t raw[4096], z[8192], buf[16384], ihdr[13];
    if (raw_len > sizeof raw) die(name, "too large");
    for (size_t y = 0, k = 0; y < h; y++) {
        raw[k++] = (uint8_t)(y % 5); /* every filter type */
        for (size_t i = 0; i < row; i++, k++) raw[k] = (uint8_t)((i * 37 + y * 11) ^ (i > row / 2 ? 0xff : 0));
    }
    uLongf zlen = sizeof z;
    if (compress2(z, &zlen, raw, raw_len, 9) != Z_OK) die(name, "compress");
    size_t n = 8;
    memcpy(buf, "\x89PNG\r\n\x1a\n", 8);
    uint32_t dims[2] = {w, h};
    for (int i = 0; i < 2; i++)
        for (int b = 0; b < 4; b++) ihdr[i * 4 + b] = (uint8_t)(dims[i] >> (24 - 8 * b));
    ihdr[8] = (uint8_t)depth, ihdr[9] = (uint8_t)color, ihdr[10] = 0, ihdr[11] = 0, ihdr[12] = (uint8_t)interlace;
    png_chunk(buf, &n, "IHDR", ihdr, 13);
    if (plte) png_chunk(buf, &n, "PLTE", plte, plte_len);
    if (trns) png_chunk(buf, &n, "tRNS", trns, trns_len);
    png_chunk(buf, &n, "IDAT", z, (uint32_t)zlen);
    png_chunk(buf, &n, "IEND", NULL, 0);
    write_seed("png", name, buf, n);
}

static void write_cairo_png(const char *name, cairo_format_t format, int w, int h, int dark_on_light) {
    cairo_surface_t *s = cairo_image_surface_create(format, w, h);
    cairo_t *cr = cairo_create(s);
    double paper = dark_on_light ? 1 : 0;
    cairo_set_source_rgba(cr, paper, paper, paper, 1);
    cairo_paint(cr);
    cairo_set_source_rgba(cr, 1 - paper, 0.5 * paper, 1 - paper, 0.8);
    cairo_set_line_width(cr, 2);
    cairo_move_to(cr, 1, 1);
    cairo_line_to(cr, w - 2, h - 3);
    cairo_line_to(cr, w / 2.0, 2);
    cairo_stroke(cr);
    cairo_destroy(cr);
    const char *path = seed_path("png", name);
    if (cairo_surface_write_to_png(s, path) != CAIRO_STATUS_SUCCESS) die(path, "cairo cannot write it");
    cairo_surface_destroy(s);
}

static void write_new_seeds(void) {
    dd_error err;
    static const char *const names[3] = {"cat", "dog", "tree"};
    /* model: the fuzz targets' tiny network, a dense one, and one with other render settings */
    dd_model *tiny = small_model(fuzz_tiny_cfg, 7, names), *dense = small_model(dense_cfg, 3, names);
    if (dd_model_save(tiny, seed_path("model", "tiny.safetensors"), &err) ||
        dd_model_save(dense, seed_path("model", "dense.safetensors"), &err))
        die("dd_model_save", err.msg);
    dense->render.line_width = 3.5;
    dense->render.padding = 0;
    if (dd_model_save(dense, seed_path("model", "dense-render.safetensors"), &err)) die("dd_model_save", err.msg);

    /* resume: checkpoints (first byte 0) of the dense model with Adam and with SGD, history files (odd byte) */
    const char *tmp = fuzz_temp_path(".safetensors");
    for (int sgd = 0; sgd < 2; sgd++) {
        dd_train_opts opts = dd_train_defaults();
        if (sgd) opts.optimizer = DD_OPT_SGD, opts.momentum = 0.9f, opts.steps_per_epoch = 7, opts.val_frac = 0.2;
        dd_optimizer o;
        if (dd_optimizer_init(&o, opts.optimizer, dense->spec->n_params, &err)) die("dd_optimizer_init", err.msg);
        for (size_t i = 0; i < o.n; i++) o.m[i] = (float)i / 100;
        o.step = 40;
        train_progress p = {.epochs_done = 3,
                            .best_epoch = 2,
                            .best_test_acc = 0.75f,
                            .best_test_loss = 0.5f,
                            .steps_done = sgd ? 21 : STEPS_UNKNOWN};
        dd_rng_seed(&p.rng, 99);
        if (checkpoint_save(tmp, dense, &o, &p, &opts, &err)) die("checkpoint_save", err.msg);
        copy_seed("resume", sgd ? "checkpoint-sgd" : "checkpoint-adam", tmp, "\0", 1);
        dd_optimizer_free(&o);
    }
    history h = {0};
    for (int e = 1; e <= 3; e++) {
        history_row r = {e, 1.5 / e, 0.3 * e, 1.6 / e, 0.28 * e, 0.6, 0.001 / e, 12.5 * e};
        if (history_add(&h, &r, &err)) die("history_add", err.msg);
    }
    if (history_save(&h, tmp, &err)) die("history_save", err.msg);
    copy_seed("resume", "history-3", tmp, "\x07", 1);
    copy_seed("resume", "history-2-of-3", tmp, "\x05", 1);
    history_free(&h);
    static const char v1[] = "\x05" HISTORY_HEADER_V1 "\r\n1,2.1,0.4,2.0,0.41,30.5\r\n2,1.1,0.6,1.2,0.58,31\r\n";
    write_seed("resume", "history-v1", v1, sizeof v1 - 1);
    unlink(tmp);

    /* cfg: the built-in networks, the tiny one, one with every key */
    for (size_t i = 0; dd_model_builtin_name(i); i++) {
        size_t len;
        const char *text = dd_model_builtin_cfg(dd_model_builtin_name(i), &len);
        char name[64];
        snprintf(name, sizeof name, "%s.cfg", dd_model_builtin_name(i));
        write_seed("cfg", name, text, len);
    }
    write_seed("cfg", "tiny.cfg", fuzz_tiny_cfg, strlen(fuzz_tiny_cfg));
    write_seed("cfg", "dense.cfg", dense_cfg, strlen(dense_cfg));
    write_seed("cfg", "every-key.cfg", every_key_cfg, strlen(every_key_cfg));
    dd_model_free(tiny);
    dd_model_free(dense);

    /* serve: request bodies, first byte: bit 0 = /api/explain, the rest ?top */
    static const char *const bodies[] = {
        "\x08{\"drawing\":[[[0,40,80,120],[0,90,10,100]],[[5,5],[0,120]]]}",
        "\x09{\"drawing\":[[[10.5,40,80],[3,90,10],[0,16,33]],[[5,6],[0,120],[50,70]]],\"word\":\"cat\"}",
        "\x02{\"drawing\":[[[1,2],[3,4]]], \"key_id\":\"5\", \"recognized\":true, \"countrycode\":\"DE\"}",
        "\xc9{\"drawing\":[[[0],[0]]]}",
        "\x04 {\"drawing\": [] } ",
    };
    for (size_t i = 0; i < sizeof bodies / sizeof *bodies; i++) {
        char name[32];
        snprintf(name, sizeof name, "body-%zu", i);
        write_seed("serve", name, bodies[i], strlen(bodies[i]));
    }

    /* png: cairo's own (RGBA, RGB, grey, 1-bit) and hand-made ones of every colour type and depth */
    write_cairo_png("cairo-argb.png", CAIRO_FORMAT_ARGB32, 12, 9, 1);
    write_cairo_png("cairo-rgb.png", CAIRO_FORMAT_RGB24, 7, 16, 0);
    write_cairo_png("cairo-a8.png", CAIRO_FORMAT_A8, 16, 16, 1);
    write_cairo_png("cairo-a1.png", CAIRO_FORMAT_A1, 9, 5, 1);
    static const int depths[7][5] = {{1, 2, 4, 8, 16}, {0}, {8, 16}, {1, 2, 4, 8}, {8, 16}, {0}, {8, 16}};
    static const uint8_t plte[12] = {0, 0, 0, 255, 255, 255, 200, 10, 10, 10, 200, 10}, trns_p[3] = {255, 0, 128};
    static const uint8_t trns_grey[2] = {0, 1}, trns_rgb[6] = {0, 0, 0, 0, 0, 0};
    for (int color = 0; color < 7; color++)
        for (int k = 0; k < 5 && depths[color][k]; k++) {
            int depth = depths[color][k];
            char name[64];
            snprintf(name, sizeof name, "c%d-d%d.png", color, depth);
            write_png_seed(name, 5, 4, depth, color, 0, color == 3 ? plte : NULL, 12,
                           color == 3   ? trns_p
                           : color == 0 ? trns_grey
                           : color == 2 ? trns_rgb
                                        : NULL,
                           color == 3   ? 3
                           : color == 0 ? 2
                           : color == 2 ? 6
                                        : 0);
            if (depth == 8 || depth == 16) {
                snprintf(name, sizeof name, "c%d-d%d-interlaced-1x1.png", color, depth);
                write_png_seed(name, 1, 1, depth, color, 1, NULL, 0, NULL, 0);
            }
        }
    write_png_seed("wide-40x2.png", 40, 2, 8, 0, 0, NULL, 0, NULL, 0);
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: fuzz_make_seeds SHARED_DATA_DIR OUT_DIR\n");
        return 2;
    }
    const char *shared = argv[1];
    out_dir = argv[2];
    if (mkdir(out_dir, 0755) != 0 && errno != EEXIST) die(out_dir, strerror(errno));
    write_new_seeds();
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
                for (char *s = name; *s; s++)
                    if (*s == ' ') *s = '_';
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
        size_t dict = strlen(dicts[k]), header = ((size_t)prefix + dict + 1 + 63) / 64 * 64,
               hlen = header - (size_t)prefix;
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
