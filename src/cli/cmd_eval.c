/* doodle eval: a trained model on one split of a .dset — accuracy, loss, top-3, the confusion matrix, per-class
 * precision/recall/F1 and the misclassified records, as tables and as eval.json, confusion.csv and
 * misclassified.csv. */
#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "doodle/alloc.h"
#include "doodle/files.h"
#include "doodle/metrics.h"
#include "doodle/train.h"

#define MAX_PRINTED_CLASSES 30 /* a larger confusion matrix goes to confusion.csv only */

static void usage(FILE *out) {
    fprintf(out,
            "usage: doodle eval --model RUN/model.safetensors --data D.dset [options]\n"
            "\n"
            "Evaluates a trained model on a dataset: accuracy, mean cross-entropy loss, top-3 accuracy, the\n"
            "confusion matrix and per-class precision, recall and F1. Drawings are fed exactly as training feeds\n"
            "them: stroke records rendered at the model's input size and rendering settings, bitmap records as\n"
            "stored (their size must be the model's input size). The model's and the data's classes are matched\n"
            "by name (the same classes in another order are fine; other classes are an error).\n"
            "\n"
            "  -m, --model FILE    the model (.safetensors written by doodle train)\n"
            "  -d, --data FILE     the dataset (.dset written by doodle prep)\n"
            "      --split S       test, train, val or all (default test); val: the validation split doodle train\n"
            "                      keeps out of train (the set's --val-frac, else 0.1), to choose options on\n"
            "      --tta           test-time augmentation: the mean of 5 views' probabilities (the drawing, and\n"
            "                      moved by a pixel each way), 5 times the work (default off)\n"
            "  -b, --batch N       drawings per forward pass (default 32)\n"
            "      --threads N     threads (default: every core, up to 8)\n"
            "      --json          print one JSON object (the content of eval.json) instead of the tables\n"
            "  -o, --output DIR    where to write eval.json, confusion.csv and misclassified.csv\n"
            "                      (default: the model's directory, the run folder; created if missing)\n"
            "  -h, --help          show this help\n"
            "\n"
            "confusion.csv: rows are true classes, columns predicted classes. misclassified.csv: one row per wrong\n"
            "prediction, index,key_id,true,predicted,confidence (index: the record's number in the .dset;\n"
            "confidence: the probability of the predicted class). Files are written atomically.\n"
            "Exit status: 0 done, 1 bad input or failure, 2 bad usage.\n"
            "\n"
            "Examples:\n"
            "  doodle eval --model runs/animals/model.safetensors --data animals.dset\n"
            "  doodle eval --model runs/animals/model.safetensors --data animals.dset --split val --tta --json\n");
}

typedef struct eval_opts {
    const char *model, *data, *out_dir;
    int split; /* -1: all */
    uint64_t batch;
    int json;
    bool tta;
} eval_opts;

static const char *split_name(int split) {
    return split == DD_SPLIT_TRAIN      ? "train"
           : split == DD_SPLIT_TEST     ? "test"
           : split == DD_EVAL_SPLIT_VAL ? "val"
                                        : "all";
}

/* The directory part of path ("." when there is none). */
static char *dir_of(const char *path, dd_error *err) {
    const char *slash = strrchr(path, '/');
    if (!slash) return dd_strdup(".", err);
    size_t n = slash == path ? 1 : (size_t)(slash - path);
    char *p = dd_malloc(n + 1, 1, err);
    if (p) {
        memcpy(p, path, n);
        p[n] = '\0';
    }
    return p;
}

static int write_misclassified(const dd_eval_result *r, const char *const *names, const char *path, dd_error *err) {
    dd_atomic_file a;
    if (dd_atomic_open(&a, path, err)) return -1;
    fputs("index,key_id,true,predicted,confidence\n", a.f);
    for (size_t i = 0; i < r->n_misses; i++) {
        const dd_eval_miss *m = &r->misses[i];
        fprintf(a.f, "%llu,%llu,", (unsigned long long)m->index, (unsigned long long)m->key_id);
        dd_csv_field(a.f, names[m->true_class]);
        fputc(',', a.f);
        dd_csv_field(a.f, names[m->predicted]);
        fprintf(a.f, ",%.6f\n", m->confidence);
    }
    return dd_atomic_commit(&a, err);
}

static int write_text(const char *text, const char *path, dd_error *err) {
    dd_atomic_file a;
    if (dd_atomic_open(&a, path, err)) return -1;
    fputs(text, a.f);
    fputc('\n', a.f);
    return dd_atomic_commit(&a, err);
}

static void print_tables(const eval_opts *o, const dd_eval_result *r, const char *const *names, const char *dir) {
    const dd_metrics *m = &r->metrics;
    printf("%s on %s (%s split): %llu records\n\n", o->model, o->data, split_name(o->split),
           (unsigned long long)m->total);
    printf("accuracy  %.4f  (%llu of %llu)\n", dd_metrics_accuracy(m), (unsigned long long)m->correct,
           (unsigned long long)m->total);
    printf("loss      %.4f  (mean cross-entropy)\n", dd_metrics_loss(m));
    printf("top-%d     %.4f\n\n", m->top_k, dd_metrics_topk(m));
    if (m->classes <= MAX_PRINTED_CLASSES) {
        printf("confusion matrix (rows: true class, columns: predicted class)\n");
        dd_metrics_print_confusion(m, names, stdout);
    } else {
        printf("confusion matrix: %d x %d, in %s/confusion.csv\n", m->classes, m->classes, dir);
    }
    printf("\n");
    dd_metrics_print_classes(m, names, stdout);
    printf("\nwrote %s/eval.json, %s/confusion.csv, %s/misclassified.csv (%zu row%s)\n", dir, dir, dir, r->n_misses,
           r->n_misses == 1 ? "" : "s");
}

static int run(const eval_opts *o, dd_error *err) {
    dd_model *model = dd_model_load(o->model, err);
    if (!model) return -1;
    int rc = -1;
    dd_eval_result r = {0};
    cJSON *json = NULL;
    char *text = NULL, *dir = NULL, *p_json = NULL, *p_conf = NULL, *p_miss = NULL;
    const char **names = NULL;
    dd_dataset *ds = dd_dataset_open(o->data, err);
    if (!ds) goto done;
    if (dd_eval_run_tta(model, ds, o->split, (int)o->batch, o->tta, &r, err)) {
        if (err->code != DD_ERR_NOMEM) dd_error_prefix(err, "%s on %s", o->model, o->data);
        goto done;
    }
    int n = model->spec->classes;
    if (!(names = dd_malloc((size_t)n, sizeof *names, err))) goto done;
    for (int c = 0; c < n; c++) names[c] = model->class_names[c];

    if (!(json = dd_metrics_json(&r.metrics, names, err))) goto done;
    if (!cJSON_AddStringToObject(json, "model", o->model) || !cJSON_AddStringToObject(json, "data", o->data) ||
        !cJSON_AddStringToObject(json, "split", split_name(o->split)) || !(text = cJSON_PrintUnformatted(json))) {
        dd_fail(err, DD_ERR_NOMEM, "out of memory");
        goto done;
    }
    if (!(dir = o->out_dir ? dd_strdup(o->out_dir, err) : dir_of(o->model, err))) goto done;
    if (!(p_json = dd_path_join_new(dir, "eval.json", err)) ||
        !(p_conf = dd_path_join_new(dir, "confusion.csv", err)) ||
        !(p_miss = dd_path_join_new(dir, "misclassified.csv", err)))
        goto done;
    if (dd_make_dir(dir, err) || write_text(text, p_json, err) ||
        dd_metrics_write_confusion_csv(&r.metrics, names, p_conf, err) || write_misclassified(&r, names, p_miss, err))
        goto done;
    if (o->json)
        printf("%s\n", text);
    else
        print_tables(o, &r, names, dir);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        dd_fail(err, DD_ERR_IO, "cannot write to standard output");
        goto done;
    }
    rc = 0;
done:
    cJSON_free(text);
    cJSON_Delete(json);
    free(names);
    free(dir);
    free(p_json);
    free(p_conf);
    free(p_miss);
    dd_eval_result_free(&r);
    dd_dataset_close(ds);
    dd_model_free(model);
    return rc;
}

int cmd_eval(int argc, char **argv) {
    static const struct option options[] = {
        {"model", required_argument, 0, 'm'},  {"data", required_argument, 0, 'd'},
        {"tta", no_argument, 0, 'T'},          {"split", required_argument, 0, 'S'},
        {"batch", required_argument, 0, 'b'},  {"json", no_argument, 0, 'j'},
        {"output", required_argument, 0, 'o'}, {"threads", required_argument, 0, 't'},
        {"help", no_argument, 0, 'h'},         {0, 0, 0, 0},
    };
    eval_opts o = {.split = DD_SPLIT_TEST, .batch = 32};
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":m:d:b:o:h", options, NULL)) != -1) {
        switch (c) {
        case 'm': o.model = optarg; break;
        case 'd': o.data = optarg; break;
        case 'o': o.out_dir = optarg; break;
        case 'j': o.json = 1; break;
        case 'T': o.tta = true; break;
        case 'S':
            if (!strcmp(optarg, "train"))
                o.split = DD_SPLIT_TRAIN;
            else if (!strcmp(optarg, "test"))
                o.split = DD_SPLIT_TEST;
            else if (!strcmp(optarg, "all"))
                o.split = -1;
            else if (!strcmp(optarg, "val"))
                o.split = DD_EVAL_SPLIT_VAL;
            else
                return cli_opt_bad("eval", "--split", "test, train, val or all", optarg);
            break;
        case 'b':
            if (cli_opt_u64("eval", "--batch", optarg, 1, 4096, &o.batch)) return EXIT_USAGE;
            break;
        case 't':
            if (cli_opt_threads("eval", optarg)) return EXIT_USAGE;
            break;
        case 'h': usage(stdout); return 0;
        default: return cli_opt_error("eval", c, argv);
        }
    }
    if (optind < argc) return cli_usage_error("eval", "unexpected argument '%s'", argv[optind]);
    if (!o.model) return cli_usage_error("eval", "no model: give --model RUN/model.safetensors");
    if (!o.data) return cli_usage_error("eval", "no data: give --data D.dset");
    dd_error err = {0};
    if (run(&o, &err)) return cli_report("eval", &err);
    return 0;
}
