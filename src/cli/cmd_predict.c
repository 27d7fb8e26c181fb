/* doodle predict: the top classes, with probabilities, of every drawing in ndjson / .bin files, every image of an
 * .npy, or a PNG picture, through the embedding API (include/doodle/classify.h). */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "doodle/alloc.h"
#include "doodle/classify.h"
#include "doodle/files.h"
#include "doodle/quickdraw.h"
#include "doodle/serve.h"

#define MAX_TOP 1000

static void usage(FILE *out) {
    fprintf(out,
            "usage: doodle predict --model RUN/model.safetensors [--top K] [--json] [--save-input FILE.png] FILE…\n"
            "\n"
            "Prints the K most probable classes, with their probabilities, for each drawing:\n"
            "  *.ndjson, *.json, *.bin, Kaggle *.csv (optionally .gz)  every drawing; raw drawings are simplified\n"
            "                        with Google's recipe, then rendered with the model's size and settings, as in\n"
            "                        training\n"
            "  *.npy (optionally .gz)  every image; images must be the model's input size\n"
            "  *.png, *.jpg          one picture of a drawing, any size, dark on light or light on dark, with or\n"
            "                        without transparency, any pen: cropped to its ink, thinned to its centre\n"
            "                        lines, which are scaled, centred and drawn with the model's line width as\n"
            "                        training drawings are (a picture of exactly the input size is used as is)\n"
            "\n"
            "  -m, --model FILE    the model (.safetensors written by doodle train)\n"
            "  -k, --top K         how many classes to show (default 3; at most the model's classes)\n"
            "      --json          one JSON object per drawing, one per line: file, line / record / row,\n"
            "                      word and key_id when the file gives them, and top: [{class, index, p}],\n"
            "                      best first (the shape of doodle serve's /api/predict)\n"
            "      --logits        with --json: each drawing's logits too (\"logits\": [classes], the model's\n"
            "                      outputs before softmax; for comparing with another framework)\n"
            "      --save-input FILE.png  write the image the model saw (its input size, light ink on black);\n"
            "                      when more than one drawing is predicted, the Nth goes to FILE-N.png\n"
            "  -h, --help          show this help\n"
            "\n"
            "Drawings whose file gives their class (ndjson 'word', .bin, .csv) are scored: the last line is the\n"
            "top-1 and top-3 accuracy over them (with --json, one more object: {\"accuracy\": {\"n\", \"top1\",\n"
            "\"top3\", \"correct\", \"correct_top3\", \"unknown_words\"}}). Bad records are reported on stderr and\n"
            "skipped. Exit status: 0 done, 1 a file or record could not be read (every other drawing is still\n"
            "predicted), 2 bad usage.\n"
            "\n"
            "Examples:\n"
            "  doodle predict -m runs/animals/model.safetensors cats.ndjson      top 3 of each, and the accuracy\n"
            "  doodle predict -m runs/animals/model.safetensors my-cat.png --save-input seen.png\n");
}

typedef enum input_kind { INPUT_STROKES, INPUT_NPY, INPUT_PNG } input_kind;

typedef struct predict_ctx {
    dd_classifier *c;
    dd_prediction *top;
    int k, json;
    int logits;             /* --logits: each drawing's logits in its JSON */
    int scored_k;           /* classes asked for: k, and at least 3 for the top-3 accuracy */
    const char *save_input; /* --save-input FILE.png, or NULL */
    int save_numbered;      /* more than one drawing: FILE-N.png */
    uint64_t items;         /* drawings predicted */
    uint64_t labelled, correct, correct_top3, unknown_words;
    uint64_t bad; /* records skipped */
    int failed;   /* a whole file could not be read */
} predict_ctx;

static int kind_of(const char *path, input_kind *kind) {
    if (cli_has_suffix(path, ".png") || cli_has_suffix(path, ".jpg") || cli_has_suffix(path, ".jpeg"))
        *kind = INPUT_PNG;
    else {
        dd_format f = dd_format_from_path(path);
        if (f == DD_FORMAT_NDJSON || f == DD_FORMAT_BIN || f == DD_FORMAT_CSV)
            *kind = INPUT_STROKES;
        else if (f == DD_FORMAT_NPY)
            *kind = INPUT_NPY;
        else
            return -1;
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

static int print_json(const item_ref *it, const dd_prediction *top, int n, const float *logits, int classes) {
    dd_prediction_source where = {.file = it->path,
                                  .place = it->place,
                                  .number = it->number,
                                  .word = it->d ? it->d->word : NULL,
                                  .key_id = it->d ? it->d->key_id : 0,
                                  .logits = logits,
                                  .classes = classes};
    dd_error err;
    char *text = dd_prediction_json(top, n, &where, &err); /* the shape /api/predict answers in */
    if (text) printf("%s\n", text);
    free(text);
    return text ? 0 : -1;
}

/* FILE.png, or FILE-N.png for the Nth drawing when there are several. */
static int save_input(const predict_ctx *x, dd_error *err) {
    const char *path = x->save_input;
    char numbered[4200];
    if (x->save_numbered) {
        size_t stem = strlen(path) - (cli_has_suffix(path, ".png") ? 4 : 0);
        if (stem > 4000) return dd_fail(err, DD_ERR_USAGE, "--save-input: a file name of %zu bytes is too long", stem);
        snprintf(numbered, sizeof numbered, "%.*s-%llu.png", (int)stem, path, (unsigned long long)x->items);
        path = numbered;
    }
    unsigned char *png = NULL;
    size_t size = 0;
    if (dd_prediction_input_png(x->c, &png, &size, err)) return -1;
    dd_atomic_file a;
    int rc = dd_atomic_open(&a, path, err);
    if (!rc) rc = fwrite(png, 1, size, a.f) == size ? dd_atomic_commit(&a, err) : dd_atomic_fail(&a, 0, err);
    free(png);
    return rc;
}

/* A drawing whose file says what it is: counted for the accuracy. */
static void score(predict_ctx *x, const item_ref *it, int n) {
    if (!it->d || !it->d->word[0]) return;
    x->labelled++;
    int known = 0;
    for (int c = 0; c < dd_classifier_class_count(x->c) && !known; c++)
        known = !strcmp(dd_classifier_class_name(x->c, c), it->d->word);
    x->unknown_words += !known;
    for (int i = 0; i < n && i < 3; i++)
        if (!strcmp(x->top[i].name, it->d->word)) {
            x->correct += i == 0;
            x->correct_top3++;
        }
}

static int print_accuracy(const predict_ctx *x) {
    if (!x->labelled) return 0;
    double n = (double)x->labelled, top1 = (double)x->correct / n, top3 = (double)x->correct_top3 / n;
    if (x->json)
        return printf("{\"accuracy\":{\"n\":%llu,\"top1\":%.6f,\"top3\":%.6f,\"correct\":%llu,\"correct_top3\":%llu,"
                      "\"unknown_words\":%llu}}\n",
                      (unsigned long long)x->labelled, top1, top3, (unsigned long long)x->correct,
                      (unsigned long long)x->correct_top3, (unsigned long long)x->unknown_words) < 0
                   ? -1
                   : 0;
    printf("accuracy over %llu labelled drawing%s: top-1 %.2f%% (%llu), top-3 %.2f%% (%llu)",
           (unsigned long long)x->labelled, x->labelled == 1 ? "" : "s", 100 * top1, (unsigned long long)x->correct,
           100 * top3, (unsigned long long)x->correct_top3);
    if (x->unknown_words)
        printf("; %llu ha%s a word that is none of the model's classes (counted wrong)",
               (unsigned long long)x->unknown_words, x->unknown_words == 1 ? "s" : "ve");
    return printf("\n") < 0 ? -1 : 0;
}

static int print_item(predict_ctx *x, const item_ref *it, int n, dd_error *err) {
    x->items++;
    score(x, it, n);
    if (x->save_input && save_input(x, err)) return -1;
    if (n > x->k) n = x->k;
    if (x->json) {
        if (print_json(it, x->top, n, x->logits ? dd_classifier_logits(x->c) : NULL, dd_classifier_class_count(x->c)))
            return dd_fail(err, DD_ERR_NOMEM, "out of memory");
        return 0;
    }
    if (!it->place)
        printf("%s", it->path);
    else if (!strcmp(it->place, "row"))
        printf("%s[%llu]", it->path, (unsigned long long)it->number);
    else if (!strcmp(it->place, "record"))
        printf("%s: record %llu", it->path, (unsigned long long)it->number);
    else
        printf("%s:%llu", it->path, (unsigned long long)it->number);
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
            n = dd_classify_strokes(x->c, &d, x->top, x->scored_k, &e);
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
            int n = dd_classify_bitmap(x->c, dd_bitmap_at(&b, i), h, w, x->top, x->scored_k, err);
            item_ref it = {path, "row", i, NULL};
            rc = n < 0 ? -1 : print_item(x, &it, n, err);
        }
    }
    dd_bitmaps_free(&b);
    return rc;
}

static int predict_png(predict_ctx *x, const char *path, dd_error *err) {
    dd_error e = {0};
    int n = dd_classify_png(x->c, path, x->top, x->scored_k, &e);
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
        {"model", required_argument, 0, 'm'},
        {"top", required_argument, 0, 'k'},
        {"json", no_argument, 0, 'j'},
        {"help", no_argument, 0, 'h'},
        {"save-input", required_argument, 0, 'S'},
        {"logits", no_argument, 0, 'L'},
        {0, 0, 0, 0},
    };
    const char *model = NULL, *save = NULL;
    uint64_t k = 3;
    int json = 0, logits = 0, c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":m:k:h", options, NULL)) != -1) {
        switch (c) {
        case 'm': model = optarg; break;
        case 'k':
            if (cli_opt_u64("predict", "--top", optarg, 1, MAX_TOP, &k)) return EXIT_USAGE;
            break;
        case 'j': json = 1; break;
        case 'L': logits = 1; break;
        case 'S':
            if (!cli_has_suffix(optarg, ".png"))
                return cli_opt_bad("predict", "--save-input", "a .png file name", optarg);
            save = optarg;
            break;
        case 'h': usage(stdout); return 0;
        default: return cli_opt_error("predict", c, argv);
        }
    }
    if (logits && !json)
        return cli_usage_error("predict", "--logits goes with --json (they are printed in its objects)");
    if (!model) return cli_usage_error("predict", "no model: give --model RUN/model.safetensors");
    if (optind >= argc) return cli_usage_error("predict", "no input files");
    for (int i = optind; i < argc; i++) {
        input_kind kind;
        if (kind_of(argv[i], &kind))
            return cli_usage_error("predict",
                                   "'%s': not a file predict reads (.ndjson, .json, .bin, .csv, .npy, "
                                   "each optionally .gz, or .png, .jpg)",
                                   argv[i]);
    }
    dd_error err = {0};
    /* one picture and nothing else is one drawing: --save-input names its file exactly */
    input_kind first = INPUT_STROKES;
    predict_ctx x = {.json = json,
                     .logits = logits,
                     .save_input = save,
                     .save_numbered = argc - optind > 1 || kind_of(argv[optind], &first) || first != INPUT_PNG};
    if (!(x.c = dd_classifier_open(model, &err))) return cli_report("predict", &err);
    int classes = dd_classifier_class_count(x.c);
    x.k = (int)k < classes ? (int)k : classes;
    x.scored_k = x.k > 3 ? x.k : 3 < classes ? 3 : classes;
    int rc = 0;
    if (!(x.top = dd_malloc((size_t)x.scored_k, sizeof *x.top, &err))) rc = -1;
    for (int i = optind; i < argc && rc == 0; i++) {
        input_kind kind = INPUT_PNG;
        kind_of(argv[i], &kind); /* checked above */
        if (kind == INPUT_STROKES)
            rc = predict_strokes(&x, argv[i], &err);
        else if (kind == INPUT_NPY)
            rc = predict_npy(&x, argv[i], &err);
        else
            rc = predict_png(&x, argv[i], &err);
    }
    if (rc == 0 && print_accuracy(&x)) rc = dd_fail(&err, DD_ERR_IO, "cannot write to standard output");
    free(x.top);
    dd_classifier_close(x.c);
    if (rc == 0 && (fflush(stdout) != 0 || ferror(stdout)))
        rc = dd_fail(&err, DD_ERR_IO, "cannot write to standard output");
    if (rc) return cli_report("predict", &err);
    if (x.bad)
        fprintf(stderr, "doodle predict: %llu bad record%s skipped\n", (unsigned long long)x.bad,
                x.bad == 1 ? "" : "s");
    return x.failed || x.bad ? 1 : 0;
}
