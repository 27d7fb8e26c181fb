/* doodle report: one self-contained HTML page about a training run. */
#include <getopt.h>
#include <stdio.h>

#include "cli/cli.h"
#include "doodle/explain.h"

static void usage(FILE *out) {
    fprintf(out,
            "usage: doodle report RUNDIR [--data D.dset] [-o FILE.html]\n"
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
            "\n"
            "  -d, --data FILE        the dataset (default: the one RUNDIR/dataset.txt names, written by doodle train)\n"
            "  -o, --output FILE      the page (default RUNDIR/report.html)\n"
            "  -n, --per-class N      drawings per class in the saliency picture (default 2; 1 past 40 classes)\n"
            "  -q, --quiet            no progress lines\n"
            "  -h, --help             show this help\n"
            "\n"
            "Exit status: 0 done, 1 bad input or failure, 2 bad usage.\n"
            "\n"
            "Examples:\n"
            "  doodle report out/run                      rewrite out/run/report.html\n"
            "  doodle report out/run -o /tmp/run.html -q  the page elsewhere, quietly\n");
}

int cmd_report(int argc, char **argv) {
    static const struct option options[] = {
        {"data", required_argument, 0, 'd'}, {"output", required_argument, 0, 'o'},
        {"per-class", required_argument, 0, 'n'}, {"quiet", no_argument, 0, 'q'},
        {"help", no_argument, 0, 'h'}, {0, 0, 0, 0},
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
            if (cli_parse_u64(optarg, 1, 50, &u)) return cli_usage_error("report", "--per-class wants 1..50");
            o.per_class = (int)u;
            break;
        case 'q': o.log = NULL; break;
        case 'h': usage(stdout); return 0;
        case ':': return cli_usage_error("report", "option '%s' needs a value", argv[optind - 1]);
        default: return cli_usage_error("report", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind + 1 != argc) return cli_usage_error("report", "give exactly one RUNDIR");
    o.run_dir = argv[optind];
    dd_error err = {0};
    if (dd_report_write(&o, &err)) return cli_report("report", &err);
    if (o.out_path) printf("wrote %s\n", o.out_path);
    else printf("wrote %s/report.html\n", o.run_dir);
    return 0;
}
