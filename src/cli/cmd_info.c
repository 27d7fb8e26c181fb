/* doodle info: what a .dset holds, the same facts prep printed when it made it. */
#include <getopt.h>
#include <math.h>
#include <stdlib.h>

#include "cli/class_table.h"
#include "cli/cli.h"
#include "doodle/dataset.h"

static void usage(FILE *out) {
    fprintf(out,
            "usage: doodle info FILE.dset\n"
            "\n"
            "Prints the kind of records, how the set was made (seed, test fraction, per-class limit), and per class\n"
            "how many drawings were read, kept (train / test) and skipped, and why.\n"
            "\n"
            "Exit status: 0 done, 1 bad input or failure, 2 bad usage.\n"
            "\n"
            "Examples:\n"
            "  doodle info animals.dset                   what animals.dset holds\n"
            "  doodle info all.dset | head -2             what it holds and how it was made, not the classes\n");
}

int cmd_info(int argc, char **argv) {
    static const struct option options[] = {{"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
        if (c == 'h') {
            usage(stdout);
            return 0;
        }
        return cli_opt_error("info", c, argv);
    }
    if (optind + 1 != argc) return cli_usage_error("info", "give exactly one .dset file");
    const char *path = argv[optind];
    dd_error err;
    dd_dataset *ds = dd_dataset_open(path, &err);
    if (!ds) return cli_report("info", &err);
    uint32_t n = dd_dataset_class_count(ds), h, w;
    dd_dataset_bitmap_size(ds, &h, &w);
    dd_dset_params p = dd_dataset_params(ds);
    printf("%s: version %d, %llu ", path, DD_DSET_VERSION, (unsigned long long)dd_dataset_count(ds));
    if (dd_dataset_kind(ds) == DD_DSET_BITMAPS)
        printf("bitmaps of %ux%u", h, w);
    else
        printf("stroke drawings");
    printf(", %u classes\n", n);
    printf("made with: seed %llu, test fraction %g, ", (unsigned long long)p.seed, p.test_frac);
    if (p.per_class)
        printf("at most %llu per class\n", (unsigned long long)p.per_class);
    else
        printf("no per-class limit\n");
    if (p.recognized_only) printf("recognized drawings only\n");
    if (p.val_frac > 0) { /* each class's share is round(frac x its train count), as dd_dataset_val_mask takes it */
        uint64_t n_val = 0;
        for (uint32_t k = 0; k < n; k++) {
            dd_class_stats st;
            if (dd_dataset_class_stats(ds, k, &st) == 0) n_val += (uint64_t)llround(p.val_frac * (double)st.train);
        }
        printf("validation: %g of each class's train split (%llu drawings), kept apart by doodle train\n", p.val_frac,
               (unsigned long long)n_val);
    }
    const char **names = malloc(n * sizeof *names);
    dd_class_stats *stats = malloc((n + 1) * sizeof *stats);
    int rc = 1;
    if (names && stats) {
        for (uint32_t k = 0; k <= n; k++) {
            if (k < n) names[k] = dd_dataset_class_name(ds, k);
            dd_dataset_class_stats(ds, k, &stats[k]);
        }
        print_class_table(stdout, n, names, stats);
        rc = 0;
    } else {
        fprintf(stderr, "doodle info: out of memory\n");
    }
    free(names);
    free(stats);
    dd_dataset_close(ds);
    return rc;
}
