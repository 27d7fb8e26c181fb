/* doodle report: one self-contained HTML page about a training run, or comparing several. */
#include <getopt.h>
#include <stdio.h>

#include "cli/cli.h"
#include "doodle/explain.h"

static void usage(FILE *out) {
    fprintf(
        out,
        "usage: doodle report RUNDIR [--data D.dset] [-o FILE.html]\n"
        "       doodle report RUN_A RUN_B [RUN_C …] [--data D.dset] [-o COMPARE.html]\n"
        "\n"
        "Writes one self-contained HTML page about a training run (doodle train's RUNDIR): every picture inline,\n"
        "one small inline script (click a table's column heading to sort), nothing fetched, so it opens\n"
        "anywhere. Sections: the data (class counts, a gallery), the model summary, training and test loss and\n"
        "accuracy per epoch, the test evaluation (confusion heat map, the most confused pairs, per-class\n"
        "precision, recall, F1 worst first), \"misclassified as\" galleries, clusters of the misclassified\n"
        "drawings, feature maps and the drawings that excite units, saliency / occlusion / Grad-CAM, and suspect\n"
        "data (contradicted labels, not recognized, duplicates). Past 40 classes the page shows the classes most\n"
        "involved in confusions (tables of all classes collapsed, the whole confusion matrix in\n"
        "RUNDIR/explain/confusion.csv) and stays within a few MB. The pictures are kept in RUNDIR/explain/.\n"
        "It starts with the run's settings (model, optimizer, learning rate and schedule, batch, epochs,\n"
        "augmentation, seed, data set and its hash, from RUNDIR/checkpoint.safetensors and dataset.txt).\n"
        "\n"
        "With two to 8 run folders it compares them on one self-contained page (default ./compare.html): the\n"
        "settings that differ (highlighted) and those shared, the curves overlaid, test accuracy and top-3, accuracy\n"
        "per class side by side sorted by the largest change, the confusion pairs that changed most, and test\n"
        "drawings one run gets right and the other wrong. The first run is the baseline. Every model is evaluated\n"
        "on the same test split: --data's, else the first run's data set. Runs with different classes are refused.\n"
        "\n"
        "  -d, --data FILE        the dataset (default: the one RUNDIR/dataset.txt names, written by doodle train)\n"
        "  -o, --output FILE      the page (default RUNDIR/report.html; comparing, compare.html here)\n"
        "  -n, --per-class N      drawings per class in the saliency picture (default 2; 1 past 40 classes;\n"
        "                         one run only)\n"
        "  -q, --quiet            no progress lines\n"
        "      --threads N        threads (default: every core, up to 8)\n"
        "  -h, --help             show this help\n"
        "\n"
        "Exit status: 0 done, 1 bad input or failure, 2 bad usage.\n"
        "\n"
        "Examples:\n"
        "  doodle report out/run                      rewrite out/run/report.html\n"
        "  doodle report out/run -o /tmp/run.html -q  the page elsewhere, quietly\n"
        "  doodle report out/a out/b -o ab.html       what changed from run a to run b\n");
}

/* doodle report RUN_A RUN_B …: the comparison page (default ./compare.html). */
static int compare(const dd_report_opts *r, char **runs, int n) {
    if (n > DD_COMPARE_MAX_RUNS)
        return cli_usage_error("report", "%d run folders: at most %d can be compared", n, DD_COMPARE_MAX_RUNS);
    if (r->per_class) return cli_usage_error("report", "--per-class is for the report of one run, not a comparison");
    dd_compare_opts o = {.run_dirs = (const char *const *)runs,
                         .n_runs = n,
                         .data_path = r->data_path,
                         .out_path = r->out_path ? r->out_path : "compare.html",
                         .version = r->version,
                         .log = r->log};
    dd_error err = {0};
    if (dd_report_compare(&o, &err)) return cli_report("report", &err);
    printf("wrote %s\n", o.out_path);
    return 0;
}

int cmd_report(int argc, char **argv) {
    static const struct option options[] = {
        {"data", required_argument, 0, 'd'},
        {"output", required_argument, 0, 'o'},
        {"per-class", required_argument, 0, 'n'},
        {"quiet", no_argument, 0, 'q'},
        {"threads", required_argument, 0, 'T'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    dd_report_opts o = {.log = stderr};
    uint64_t u;
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":d:o:n:qh", options, NULL)) != -1) {
        switch (c) {
        case 'd': o.data_path = optarg; break;
        case 'o': o.out_path = optarg; break;
        case 'n':
            if (cli_opt_u64("report", "--per-class", optarg, 1, 50, &u)) return EXIT_USAGE;
            o.per_class = (int)u;
            break;
        case 'q': o.log = NULL; break;
        case 'T':
            if (cli_opt_threads("report", optarg)) return EXIT_USAGE;
            break;
        case 'h': usage(stdout); return 0;
        default: return cli_opt_error("report", c, argv);
        }
    }
    if (optind >= argc) return cli_usage_error("report", "give a RUNDIR, or two or more to compare");
    o.version = DOODLE_VERSION;
    if (argc - optind > 1) return compare(&o, argv + optind, argc - optind);
    o.run_dir = argv[optind];
    dd_error err = {0};
    if (dd_report_write(&o, &err)) return cli_report("report", &err);
    if (o.out_path)
        printf("wrote %s\n", o.out_path);
    else
        printf("wrote %s/report.html\n", o.run_dir);
    return 0;
}
