/* doodle explain misclassified: "Misclassified as X" pictures of a model's test drawings. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/explain_verbs.h"
#include "doodle/explain.h"

static void usage(FILE *out) {
    fprintf(out,
            "usage: doodle explain misclassified --model M --data D.dset -o DIR [--as CLASS] [--max N]\n"
            "\n"
            "The study's \"Misclassified as airplane\": for every class X, one picture of all test drawings the model\n"
            "predicts as X that are of another class, grouped by their true class (\"cat as airplane (12)\"), the\n"
            "most confident first, with the probability of X under each drawing.\n"
            "\n"
            "  -m, --model FILE   the model (.safetensors written by doodle train)\n"
            "  -d, --data FILE    the dataset (.dset); its test split is used\n"
            "  -o, --output DIR   where the pictures go (created if missing)\n"
            "      --as CLASS     only the drawings misclassified as CLASS\n"
            "      --max N        at most N drawings per true class in a picture (default 240)\n"
            "      --threads N    threads (default: every core, up to 8)\n"
            "  -h, --help         show this help\n"
            "\n"
            "Writes DIR/misclassified-as-<class>.png for every class that has misclassified drawings and\n"
            "DIR/misclassified-as.csv (predicted,true,count). With no misclassified drawing it says so and\n"
            "writes no picture. Exit status: 0 done, 1 bad input or failure, 2 bad usage.\n"
            "\n"
            "Examples:\n"
            "  doodle explain misclassified -m run/model.safetensors -d animals.dset -o wrong\n"
            "  doodle explain misclassified -m run/model.safetensors -d animals.dset -o wrong --as cat --max 60\n");
}

int cmd_explain_misclassified(int argc, char **argv) {
    static const struct option options[] = {
        {"model", required_argument, 0, 'm'},  {"data", required_argument, 0, 'd'},
        {"output", required_argument, 0, 'o'}, {"as", required_argument, 0, 'a'},
        {"max", required_argument, 0, 'x'},    {"threads", required_argument, 0, 'T'},
        {"help", no_argument, 0, 'h'},         {0, 0, 0, 0},
    };
    const char *model_path = NULL, *data_path = NULL, *out_dir = NULL, *as = NULL;
    uint64_t max = 0;
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":m:d:o:h", options, NULL)) != -1) {
        switch (c) {
        case 'm': model_path = optarg; break;
        case 'd': data_path = optarg; break;
        case 'o': out_dir = optarg; break;
        case 'a': as = optarg; break;
        case 'x':
            if (cli_opt_u64("explain misclassified", "--max", optarg, 1, 100000, &max)) return EXIT_USAGE;
            break;
        case 'T':
            if (cli_opt_threads("explain misclassified", optarg)) return EXIT_USAGE;
            break;
        case 'h': usage(stdout); return 0;
        default: return cli_opt_error("explain misclassified", c, argv);
        }
    }
    if (optind < argc) return cli_usage_error("explain misclassified", "unexpected argument '%s'", argv[optind]);
    if (!model_path || !data_path || !out_dir)
        return cli_usage_error("explain misclassified", "give --model, --data and -o DIR");
    dd_error err = {0};
    dd_model *m;
    dd_dataset *ds;
    if (explain_open(model_path, data_path, &m, &ds, &err)) return cli_report("explain misclassified", &err);
    int as_class = -1, rc = 1;
    dd_misclassified_report r = {0};
    if (as) {
        for (int k = 0; k < m->spec->classes; k++)
            if (!strcmp(m->class_names[k], as)) as_class = k;
        if (as_class < 0) {
            dd_fail(&err, DD_ERR_USAGE, "--as %s: the model has no such class", as);
            rc = cli_report("explain misclassified", &err);
            goto done;
        }
    }
    if (dd_explain_misclassified(m, ds, as_class, (int)max, out_dir, &r, &err)) {
        rc = cli_report("explain misclassified", &err);
        goto done;
    }
    if (r.n_test == 0) {
        printf("%s has no test drawings: nothing to show\n", data_path);
    } else if (r.n_wrong == 0) {
        printf("all %zu test drawings are classified correctly: no misclassified drawing to show\n", r.n_test);
    } else {
        int classes = r.classes;
        printf("%zu of %zu test drawings misclassified (%.2f%%)\n\n", r.n_wrong, r.n_test,
               100.0 * r.n_wrong / r.n_test);
        for (int x = 0; x < classes; x++) {
            if (as_class >= 0 && x != as_class) continue;
            uint64_t total = 0;
            for (int t = 0; t < classes; t++) total += t == x ? 0 : r.confusion[(size_t)t * classes + x];
            if (total == 0) {
                if (as_class >= 0) printf("no test drawing of another class is predicted as %s\n", m->class_names[x]);
                continue;
            }
            printf("misclassified as %s: %llu (", m->class_names[x], (unsigned long long)total);
            int first = 1;
            for (int t = 0; t < classes; t++) {
                uint64_t v = t == x ? 0 : r.confusion[(size_t)t * classes + x];
                if (!v) continue;
                printf("%s%s %llu", first ? "" : ", ", m->class_names[t], (unsigned long long)v);
                first = 0;
            }
            printf(") -> %s/%s\n", out_dir, r.picture[x]);
        }
    }
    printf("wrote %s/misclassified-as.csv\n", out_dir);
    rc = 0;
done:
    dd_misclassified_report_free(&r);
    dd_dataset_close(ds);
    dd_model_free(m);
    return rc;
}
