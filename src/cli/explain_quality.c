/* doodle explain quality: is the data good? Contradicted labels, drawings Google did not recognise, duplicates. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "cli/explain_verbs.h"
#include "doodle/explain.h"

#define VERB "explain quality"

static void usage(FILE *out) {
    fprintf(out,
            "usage: doodle explain quality --model M --data D.dset -o DIR [options]\n"
            "\n"
            "Looks for drawings that make the data worse, lists them (CSV) and shows them (PNG):\n"
            "  contradicted    the model gives another class a probability >= the threshold\n"
            "  not recognized  Google's game did not recognise the drawing (kept by prep from ndjson and .bin\n"
            "                  sources; .npy bitmaps carry no such flag)\n"
            "  exact           drawings with identical pixels at the model's input\n"
            "  near            different drawings that look alike: an 8x8 average hash within Hamming distance 3\n"
            "                  (found through 16-bit bands of the hash, no all-pairs scan) and 14x14 downsamples\n"
            "                  differing by at most the tolerance, relative to their ink\n"
            "\n"
            "  -m, --model FILE        the model (.safetensors)\n"
            "  -d, --data FILE         the dataset (.dset)\n"
            "  -o, --output DIR        where the files go (created if missing)\n"
            "      --split S           test, train or all (default all)\n"
            "      --threshold P       probability that counts as a confident contradiction (default 0.9)\n"
            "      --near-tolerance T  relative L1 distance of near duplicates, 0..1 (default 0.12)\n"
            "      --max-shown N       drawings per group in the pictures (default 24)\n"
            "      --threads N         threads (default: every core, up to 8)\n"
            "  -h, --help              show this help\n"
            "\n"
            "Writes contradicted.csv, not-recognized.csv, duplicates.csv (kind,group,index,key_id,split,label) and\n"
            "the pictures contradicted.png, not-recognized.png, duplicates-exact.png, duplicates-near.png when\n"
            "they have something to show. Exit status: 0 done, 1 bad input or failure, 2 bad usage.\n"
            "\n"
            "Examples:\n"
            "  doodle explain quality -m run/model.safetensors -d animals.dset -o suspects --split train\n"
            "  doodle explain quality -m run/model.safetensors -d animals.dset -o suspects --threshold 0.99\n");
}

int cmd_explain_quality(int argc, char **argv) {
    enum { OPT_SPLIT = 256, OPT_THRESHOLD, OPT_NEAR, OPT_SHOWN };
    static const struct option options[] = {
        {"model", required_argument, 0, 'm'},
        {"data", required_argument, 0, 'd'},
        {"output", required_argument, 0, 'o'},
        {"split", required_argument, 0, OPT_SPLIT},
        {"threshold", required_argument, 0, OPT_THRESHOLD},
        {"near-tolerance", required_argument, 0, OPT_NEAR},
        {"max-shown", required_argument, 0, OPT_SHOWN},
        {"threads", required_argument, 0, 'T'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    const char *model_path = NULL, *data_path = NULL, *out_dir = NULL;
    dd_quality_opts o = dd_quality_opts_default();
    uint64_t u;
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":m:d:o:h", options, NULL)) != -1) {
        switch (c) {
        case 'm': model_path = optarg; break;
        case 'd': data_path = optarg; break;
        case 'o': out_dir = optarg; break;
        case OPT_SPLIT:
            if ((o.split = explain_parse_split(optarg)) == -2)
                return cli_opt_bad(VERB, "--split", "test, train or all", optarg);
            break;
        case OPT_THRESHOLD:
            if (cli_parse_double(optarg, 1e-6, 1, &o.threshold))
                return cli_opt_bad(VERB, "--threshold", "a probability in (0, 1]", optarg);
            break;
        case OPT_NEAR:
            if (cli_opt_double(VERB, "--near-tolerance", optarg, 0, 1, &o.near_tolerance)) return EXIT_USAGE;
            break;
        case OPT_SHOWN:
            if (cli_opt_u64(VERB, "--max-shown", optarg, 1, 1000, &u)) return EXIT_USAGE;
            o.max_shown = (int)u;
            break;
        case 'T':
            if (cli_opt_threads(VERB, optarg)) return EXIT_USAGE;
            break;
        case 'h': usage(stdout); return 0;
        default: return cli_opt_error(VERB, c, argv);
        }
    }
    if (optind < argc) return cli_usage_error(VERB, "unexpected argument '%s'", argv[optind]);
    if (!model_path || !data_path || !out_dir) return cli_usage_error(VERB, "give --model, --data and -o DIR");
    dd_error err = {0};
    dd_model *m;
    dd_dataset *ds;
    if (explain_open(model_path, data_path, &m, &ds, &err)) return cli_report(VERB, &err);
    dd_quality_report r;
    int rc = 0;
    if (dd_explain_quality(m, ds, &o, out_dir, &r, &err)) {
        rc = cli_report(VERB, &err);
    } else if (r.n == 0) {
        printf("the data has no drawings in that split: nothing to check\n");
    } else {
        printf("%zu drawings checked\n", r.n);
        printf("contradicted labels (p >= %.2f): %zu\n", o.threshold, r.contradicted);
        if (r.recognized_unknown == r.n)
            printf("not recognized by Google's game: unknown (the source carries no recognized flag)\n");
        else
            printf("not recognized by Google's game: %zu (%zu unknown)\n", r.not_recognized, r.recognized_unknown);
        printf("exact duplicates: %zu groups, %zu drawings, %zu groups in both train and test\n", r.exact_groups,
               r.exact_drawings, r.exact_across_split);
        printf("near duplicates: %zu groups, %zu drawings, %zu groups in both train and test\n", r.near_groups,
               r.near_drawings, r.near_across_split);
        printf("wrote %s/contradicted.csv, not-recognized.csv, duplicates.csv", out_dir);
        const char *pngs[] = {r.contradicted_png, r.not_recognized_png, r.exact_png, r.near_png};
        for (int k = 0; k < 4; k++)
            if (pngs[k][0]) printf(", %s", pngs[k]);
        printf("\n");
    }
    dd_dataset_close(ds);
    dd_model_free(m);
    return rc;
}
