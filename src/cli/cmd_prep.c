/* doodle prep: Quick, Draw! files -> a .dset dataset. */
#define _POSIX_C_SOURCE 200809L /* fileno */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/class_table.h"
#include "cli/cli.h"
#include "doodle/prep.h"

static void usage(FILE *out) {
    fprintf(
        out,
        "usage: doodle prep --input DIR|FILE [--input …] -o FILE.dset [options]\n"
        "\n"
        "Reads Quick, Draw! files (ndjson raw or simplified, .bin, .npy bitmaps, Kaggle .csv; any .gz) into one\n"
        "dataset file. Raw drawings are simplified with Google's recipe; each key_id is kept once; every class\n"
        "is split into train and test. Prints per class what was read, kept and skipped, and why.\n"
        "\n"
        "  -i, --input PATH       a file, or a directory of them (read in name order); repeatable,\n"
        "                         and further paths may follow the options\n"
        "  -o, --output FILE      the .dset to write (atomically: an old file stays until the new one is done)\n"
        "      --classes A,B,…    keep only these classes, in this label order (default: every class found,\n"
        "                         in the order first met)\n"
        "      --per-class N      keep N drawings of each class (default: all); a class's file is not read further\n"
        "                         once its first N are kept\n"
        "      --sample first|random  which N: the first ones read (default), or a uniform sample of each class\n"
        "                         seeded by --seed (one pass over every file)\n"
        "      --test-frac F      fraction of each class in the test split, 0..1 (default 0.1; 1 = evaluation only)\n"
        "      --val-frac F       share of each class's train split that doodle train keeps for validation,\n"
        "                         0..0.9 (stored in the set; default: none stored, train takes 0.1)\n"
        "      --seed S           seed of the split's shuffle (default 1)\n"
        "      --recognized-only  drop drawings Google's game did not recognise\n"
        "      --strict           stop at the first bad record instead of skipping it\n"
        "      --threads N        files read in parallel (default: every core); the output is the same\n"
        "                         byte for byte for any N\n"
        "      --exclude FILE     leave out the drawings FILE lists (repeatable): a CSV with a key_id column\n"
        "                         (and the class in a column true, label, class or word: explain quality's\n"
        "                         contradicted.csv, explain clusters' labels.csv), or JSON (a labels.json's\n"
        "                         \"mislabelled\" list, or an array of key_ids). They are taken out last: the\n"
        "                         rest of the set, and every drawing's split, is what it would be without them\n"
        "  -q, --quiet            do not list skipped records\n"
        "  -h, --help             show this help\n"
        "\n"
        "The class of a drawing is its 'word' field; for .npy files, the file name (smiley_face.npy -> smiley face).\n"
        "\n"
        "Examples:\n"
        "  doodle prep --input ~/quickdraw/simplified --classes cat,dog,tree --per-class 5000 -o animals.dset\n"
        "  doodle prep --input ~/quickdraw/numpy_bitmap --per-class 2500 --test-frac 0.1 --seed 1 -o all.dset\n"
        "  doodle prep --input ~/quickdraw/simplified --exclude run/explain/quality/contradicted.csv -o clean.dset\n");
}

/* Splits "a, b,smiley face" in place into an array of names (spaces around each name dropped). */
static int split_classes(char *list, const char ***out, size_t *n) {
    size_t cap = 1;
    for (char *s = list; *s; s++) cap += *s == ',';
    const char **names = malloc(cap * sizeof *names);
    if (!names) return -1;
    *n = 0;
    for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) {
        while (*tok == ' ') tok++;
        for (char *end = tok + strlen(tok); end > tok && end[-1] == ' ';) *--end = '\0';
        if (*tok) names[(*n)++] = tok;
    }
    *out = names;
    return 0;
}

int cmd_prep(int argc, char **argv) {
    static const struct option options[] = {
        {"input", required_argument, 0, 'i'},
        {"output", required_argument, 0, 'o'},
        {"classes", required_argument, 0, 'c'},
        {"per-class", required_argument, 0, 'n'},
        {"test-frac", required_argument, 0, 'f'},
        {"seed", required_argument, 0, 's'},
        {"recognized-only", no_argument, 0, 'r'},
        {"strict", no_argument, 0, 'S'},
        {"quiet", no_argument, 0, 'q'},
        {"help", no_argument, 0, 'h'},
        {"threads", required_argument, 0, 'T'},
        {"sample", required_argument, 0, 'm'},
        {"val-frac", required_argument, 0, 'v'},
        {"exclude", required_argument, 0, 'x'},
        {0, 0, 0, 0},
    };
    dd_prep_opts o = {.test_frac = 0.1, .seed = 1, .log = stderr, .progress = isatty(fileno(stderr)) ? stderr : NULL};
    const char *out = NULL;
    char *classes = NULL;
    const char **inputs = calloc((size_t)argc + 1, sizeof *inputs);
    const char **exclude = calloc((size_t)argc + 1, sizeof *exclude);
    if (!inputs || !exclude) {
        free(inputs);
        free(exclude);
        return 1;
    }
    size_t n_exclude = 0;
    size_t n_inputs = 0;
    int rc = EXIT_USAGE, c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":i:o:qh", options, NULL)) != -1) {
        switch (c) {
        case 'i': inputs[n_inputs++] = optarg; break;
        case 'o': out = optarg; break;
        case 'x': exclude[n_exclude++] = optarg; break;
        case 'c': classes = optarg; break;
        case 'n':
            if ((rc = cli_opt_u64("prep", "--per-class", optarg, 1, UINT64_MAX, &o.per_class))) goto done;
            break;
        case 'f':
            if ((rc = cli_opt_double("prep", "--test-frac", optarg, 0, 1, &o.test_frac))) goto done;
            break;
        case 'v':
            if ((rc = cli_opt_double("prep", "--val-frac", optarg, 0, 0.9, &o.val_frac))) goto done;
            break;
        case 's':
            if ((rc = cli_opt_u64("prep", "--seed", optarg, 0, UINT64_MAX, &o.seed))) goto done;
            break;
        case 'T': {
            uint64_t t;
            if ((rc = cli_opt_u64("prep", "--threads", optarg, 1, 64, &t))) goto done;
            o.threads = (int)t;
            break;
        }
        case 'm':
            if (strcmp(optarg, "first") && strcmp(optarg, "random")) {
                rc = cli_opt_bad("prep", "--sample", "first or random", optarg);
                goto done;
            }
            o.sample_random = !strcmp(optarg, "random");
            break;
        case 'r': o.recognized_only = true; break;
        case 'S': o.strict = true; break;
        case 'q': o.log = o.progress = NULL; break;
        case 'h':
            usage(stdout);
            rc = 0;
            goto done;
        default: rc = cli_opt_error("prep", c, argv); goto done;
        }
    }
    while (optind < argc) inputs[n_inputs++] = argv[optind++];
    if (!n_inputs) {
        rc = cli_usage_error("prep", "no input: give --input DIR|FILE");
        goto done;
    }
    if (!out) {
        rc = cli_usage_error("prep", "no output: give -o FILE.dset");
        goto done;
    }
    if (o.sample_random && !o.per_class) {
        rc = cli_usage_error("prep", "--sample random needs --per-class N");
        goto done;
    }
    const char **class_list = NULL;
    if (classes) {
        if (split_classes(classes, &class_list, &o.n_classes)) {
            rc = 1;
            goto done;
        }
        if (!o.n_classes) {
            free(class_list);
            rc = cli_usage_error("prep", "--classes is empty");
            goto done;
        }
        o.classes = class_list;
    }
    o.inputs = inputs;
    o.n_inputs = n_inputs;
    o.exclude = exclude;
    o.n_exclude = n_exclude;
    dd_prep_report rep;
    dd_error err;
    if (dd_prep_run(&o, out, &rep, &err)) {
        rc = cli_report("prep", &err);
    } else {
        const char **names = malloc((rep.n_classes ? rep.n_classes : 1) * sizeof *names);
        if (names) {
            for (uint32_t k = 0; k < rep.n_classes; k++) names[k] = rep.class_names[k];
            print_class_table(stdout, rep.n_classes, names, rep.stats);
            free(names);
        }
        printf("wrote %s: %llu %s, %u classes, from %llu files\n", out, (unsigned long long)rep.n_records,
               rep.kind == DD_DSET_BITMAPS ? "bitmaps" : "drawings", rep.n_classes, (unsigned long long)rep.n_files);
        if (n_exclude)
            printf("excluded: %llu drawings (--exclude listed %llu; %llu of them were not in the set)\n",
                   (unsigned long long)rep.excluded_total, (unsigned long long)rep.exclude_listed,
                   (unsigned long long)rep.exclude_unseen);
        rc = 0;
    }
    dd_prep_report_free(&rep);
    free(class_list);
done:
    free(inputs);
    free(exclude);
    return rc;
}
