/* doodle predict: the top classes, with probabilities, of every drawing in ndjson / .bin files, every image of an
 * .npy, or a PNG picture, through the embedding API (include/doodle/classify.h). */
#include <cjson/cJSON.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "doodle/classify.h"
#include "doodle/quickdraw.h"
#include "util/alloc.h"

#define MAX_TOP 1000

static void usage(FILE *out) {
    fprintf(out,
            "usage: doodle predict --model RUN/model.safetensors [--top K] [--json] FILE…\n"
            "\n"
            "Prints the K most probable classes, with their probabilities, for each drawing:\n"
            "  *.ndjson, *.json, *.bin, Kaggle *.csv (optionally .gz)  every drawing; raw drawings are simplified\n"
            "                        with Google's recipe, then rendered with the model's size and settings, as in\n"
            "                        training\n"
            "  *.npy (optionally .gz)  every image; images must be the model's input size\n"
            "  *.png                 one picture of any size, grey or colour: laid on white, turned to grey,\n"
            "                        inverted when its mean is bright (dark ink on light paper; training drawings\n"
            "                        are light on dark), then scaled as a whole to fit the model's input keeping\n"
            "                        its aspect ratio, centred (a picture of exactly the input size is used as is).\n"
            "                        Best when the drawing fills the picture with a small margin.\n"
            "\n"
            "  -m, --model FILE    the model (.safetensors written by doodle train)\n"
            "  -k, --top K         how many classes to show (default 3; at most the model's classes)\n"
            "      --json          one JSON object per drawing, one per line: file, line / record / row,\n"
            "                      word and key_id when the file gives them, and top: [{class, index,\n"
            "                      probability}], best first\n"
            "  -h, --help          show this help\n"
            "\n"
            "Bad records are reported on stderr and skipped. Exit status: 0 done, 1 a file or record could not be\n"
            "read (every other drawing is still predicted), 2 bad usage.\n");
}

typedef enum input_kind { INPUT_STROKES, INPUT_NPY, INPUT_PNG } input_kind;

typedef struct predict_ctx {
    dd_classifier *c;
    dd_prediction *top;
    int k, json;
    uint64_t bad;  /* records skipped */
    int failed;    /* a whole file could not be read */
} predict_ctx;

static int kind_of(const char *path, input_kind *kind) {
    if (cli_has_suffix(path, ".png")) *kind = INPUT_PNG;
    else {
        dd_format f = dd_format_from_path(path);
        if (f == DD_FORMAT_NDJSON || f == DD_FORMAT_BIN || f == DD_FORMAT_CSV) *kind = INPUT_STROKES;
        else if (f == DD_FORMAT_NPY) *kind = INPUT_NPY;
        else return -1;
    }
    return 0;
}

/* Where an item is: its place ("line", "record", "row" or NULL for a picture) and number. */
typedef struct item_ref {
    const char *path;
    const char *place;
    uint64_t number;
    const dd_drawing *d; /* for word and key_id; NULL when there are none */
} item_ref;

static int print_json(const item_ref *it, const dd_prediction *top, int n) {
    cJSON *o = cJSON_CreateObject(), *arr = NULL;
    int ok = o && cJSON_AddStringToObject(o, "file", it->path);
    if (ok && it->place) ok = cJSON_AddNumberToObject(o, it->place, (double)it->number) != NULL;
    if (ok && it->d && it->d->word[0]) ok = cJSON_AddStringToObject(o, "word", it->d->word) != NULL;
    if (ok && it->d && it->d->key_id) {
        char key[24];
        snprintf(key, sizeof key, "%llu", (unsigned long long)it->d->key_id); /* a string, as Quick, Draw! has it */
        ok = cJSON_AddStringToObject(o, "key_id", key) != NULL;
    }
    if (ok) ok = (arr = cJSON_AddArrayToObject(o, "top")) != NULL;
    for (int i = 0; ok && i < n; i++) {
        cJSON *p = cJSON_CreateObject();
        ok = p && cJSON_AddItemToArray(arr, p);
        if (!ok) {
            cJSON_Delete(p);
            break;
        }
        ok = cJSON_AddStringToObject(p, "class", top[i].name) && cJSON_AddNumberToObject(p, "index", top[i].index) &&
             cJSON_AddNumberToObject(p, "probability", round((double)top[i].probability * 1e6) / 1e6);
    }
    char *text = ok ? cJSON_PrintUnformatted(o) : NULL;
    if (text) printf("%s\n", text);
    cJSON_free(text);
    cJSON_Delete(o);
    return text ? 0 : -1;
}

static int print_item(const predict_ctx *x, const item_ref *it, int n, dd_error *err) {
    if (x->json) {
        if (print_json(it, x->top, n)) return dd_fail(err, DD_ERR_NOMEM, "out of memory");
        return 0;
    }
    if (!it->place) printf("%s", it->path);
    else if (!strcmp(it->place, "row")) printf("%s[%llu]", it->path, (unsigned long long)it->number);
    else if (!strcmp(it->place, "record")) printf("%s: record %llu", it->path, (unsigned long long)it->number);
    else printf("%s:%llu", it->path, (unsigned long long)it->number);
    if (it->d && it->d->word[0]) printf(" (%s)", it->d->word);
    printf(":");
    for (int i = 0; i < n; i++) printf("  %s %.4f", x->top[i].name, x->top[i].probability);
    printf("\n");
    return 0;
}

/* Returns -1 only for errors that stop everything (out of memory). */
static int predict_strokes(predict_ctx *x, const char *path, dd_error *err) {
    dd_error e = {0};
    dd_stroke_reader *r = dd_stroke_reader_open(path, &e);
    if (!r) {
        fprintf(stderr, "doodle predict: %s\n", e.msg);
        x->failed = 1;
        return 0;
    }
    const char *place = dd_format_from_path(path) == DD_FORMAT_BIN ? "record" : "line";
    dd_drawing d;
    dd_drawing_init(&d);
    int rc = 0;
    for (;;) {
        dd_error_clear(&e);
        dd_next nx = dd_stroke_reader_next(r, &d, &e);
        if (nx == DD_NEXT_END) break;
        int n = -1;
        if (nx == DD_NEXT_OK) {
            n = dd_classify_strokes(x->c, &d, x->top, x->k, &e);
            if (n < 0 && e.code == DD_ERR_NOMEM) {
                *err = e;
                rc = -1;
                break;
            }
            if (n < 0) dd_stroke_reader_locate(r, &e);
        }
        if (n >= 0) {
            item_ref it = {path, place, dd_stroke_reader_record(r), &d};
            if ((rc = print_item(x, &it, n, err))) break;
            continue;
        }
        fprintf(stderr, "doodle predict: %s%s\n", nx == DD_NEXT_FATAL ? "" : "skipped ", e.msg);
        if (nx == DD_NEXT_FATAL) {
            x->failed = 1;
            break;
        }
        x->bad++;
    }
    dd_drawing_free(&d);
    dd_stroke_reader_close(r);
    return rc;
}

static int predict_npy(predict_ctx *x, const char *path, dd_error *err) {
    dd_bitmaps b = {0};
    dd_error e = {0};
    if (dd_npy_read(path, &b, &e)) {
        if (e.code == DD_ERR_NOMEM) {
            *err = e;
            return -1;
        }
        fprintf(stderr, "doodle predict: %s\n", e.msg);
        x->failed = 1;
        return 0;
    }
    uint32_t h, w;
    dd_classifier_input_size(x->c, &h, &w);
    int rc = 0;
    if (b.height != h || b.width != w) {
        fprintf(stderr, "doodle predict: %s holds %ux%u images but the model takes %ux%u input\n", path, b.height,
                b.width, h, w);
        x->failed = 1;
    } else {
        for (uint64_t i = 0; i < b.count && rc == 0; i++) {
            int n = dd_classify_bitmap(x->c, dd_bitmap_at(&b, i), h, w, x->top, x->k, err);
            item_ref it = {path, "row", i, NULL};
            rc = n < 0 ? -1 : print_item(x, &it, n, err);
        }
    }
    dd_bitmaps_free(&b);
    return rc;
}

static int predict_png(predict_ctx *x, const char *path, dd_error *err) {
    dd_error e = {0};
    int n = dd_classify_png(x->c, path, x->top, x->k, &e);
    if (n < 0) {
        if (e.code == DD_ERR_NOMEM) {
            *err = e;
            return -1;
        }
        fprintf(stderr, "doodle predict: %s\n", e.msg);
        x->failed = 1;
        return 0;
    }
    item_ref it = {path, NULL, 0, NULL};
    return print_item(x, &it, n, err);
}

int cmd_predict(int argc, char **argv) {
    static const struct option options[] = {
        {"model", required_argument, 0, 'm'}, {"top", required_argument, 0, 'k'},
        {"json", no_argument, 0, 'j'},        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    const char *model = NULL;
    uint64_t k = 3;
    int json = 0, c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":m:k:h", options, NULL)) != -1) {
        switch (c) {
        case 'm': model = optarg; break;
        case 'k':
            if (cli_parse_u64(optarg, 1, MAX_TOP, &k))
                return cli_usage_error("predict", "--top wants a whole number from 1 to %d, not '%s'", MAX_TOP, optarg);
            break;
        case 'j': json = 1; break;
        case 'h': usage(stdout); return 0;
        case ':': return cli_usage_error("predict", "option '%s' needs a value", argv[optind - 1]);
        default: return cli_usage_error("predict", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (!model) return cli_usage_error("predict", "no model: give --model RUN/model.safetensors");
    if (optind >= argc) return cli_usage_error("predict", "no input files");
    for (int i = optind; i < argc; i++) {
        input_kind kind;
        if (kind_of(argv[i], &kind))
            return cli_usage_error("predict", "'%s': not a file predict reads (.ndjson, .json, .bin, .csv, .npy, "
                                   "each optionally .gz, or .png)", argv[i]);
    }
    dd_error err = {0};
    predict_ctx x = {.json = json};
    if (!(x.c = dd_classifier_open(model, &err))) return cli_report("predict", &err);
    int classes = dd_classifier_class_count(x.c);
    x.k = (int)k < classes ? (int)k : classes;
    int rc = 0;
    if (!(x.top = dd_malloc((size_t)x.k, sizeof *x.top, &err))) rc = -1;
    for (int i = optind; i < argc && rc == 0; i++) {
        input_kind kind = INPUT_PNG;
        kind_of(argv[i], &kind); /* checked above */
        if (kind == INPUT_STROKES) rc = predict_strokes(&x, argv[i], &err);
        else if (kind == INPUT_NPY) rc = predict_npy(&x, argv[i], &err);
        else rc = predict_png(&x, argv[i], &err);
    }
    free(x.top);
    dd_classifier_close(x.c);
    if (rc == 0 && (fflush(stdout) != 0 || ferror(stdout))) rc = dd_fail(&err, DD_ERR_IO, "cannot write to standard output");
    if (rc) return cli_report("predict", &err);
    if (x.bad)
        fprintf(stderr, "doodle predict: %llu bad record%s skipped\n", (unsigned long long)x.bad, x.bad == 1 ? "" : "s");
    return x.failed || x.bad ? 1 : 0;
}
