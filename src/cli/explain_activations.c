/* doodle explain activations: feature maps after chosen layers for chosen drawings, and the drawings that excite
 * each unit of a layer most. */
#define _POSIX_C_SOURCE 200809L /* strtok_r */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/explain_verbs.h"
#include "doodle/alloc.h"
#include "doodle/explain.h"
#include "doodle/files.h"

#define VERB "explain activations"
#define MAX_LAYERS 64

static void usage(FILE *out) {
    fprintf(out,
            "usage: doodle explain activations --model M --data D.dset -o DIR [--layers L,…] [--index I,…]\n"
            "       doodle explain activations --model M --data D.dset -o DIR --top-units LAYER [--top K]\n"
            "\n"
            "Feature maps: for each chosen drawing, one picture with the maps after each chosen layer (the study\n"
            "showed layers 2, 4 and 8), every channel a tile, one colour scale per layer.\n"
            "Top units (--top-units): for every unit of LAYER, the drawings of the split that excite it most (by\n"
            "its mean activation), with the unit's map laid over them as heat.\n"
            "\n"
            "  -m, --model FILE      the model (.safetensors)\n"
            "  -d, --data FILE       the dataset (.dset)\n"
            "  -o, --output DIR      where the pictures go (created if missing)\n"
            "  -l, --layers L,…      layers by index (as doodle summary lists them, from 0) or name\n"
            "                        (default: every ReLU output with feature maps)\n"
            "  -i, --index I,…       drawings by record number in the .dset (misclassified.csv's index; may repeat)\n"
            "                        (default: the first test drawing of every class)\n"
            "      --top-units LAYER rank the drawings per unit of LAYER instead\n"
            "      --top K           drawings per unit (default 8)\n"
            "      --units N         only the first N units (default: all)\n"
            "      --split S         test, train or all: the drawings ranked (default test)\n"
            "      --max-drawings N  rank at most the first N drawings of the split (default 5000)\n"
            "      --threads N       threads (default: every core, up to 8)\n"
            "  -h, --help            show this help\n"
            "\n"
            "Writes DIR/activations-<record>.png per drawing, or DIR/top-units-<layer>.png.\n"
            "Exit status: 0 done, 1 bad input or failure, 2 bad usage.\n"
            "\n"
            "Examples:\n"
            "  doodle explain activations -m run/model.safetensors -d animals.dset -o maps\n"
            "  doodle explain activations -m run/model.safetensors -d animals.dset -o maps --layers 2,4,8 --index 17\n"
            "  doodle explain activations -m run/model.safetensors -d animals.dset -o units --top-units 8 --top 12\n");
}

static int parse_layers(const dd_model *m, const char *text, int *layers, int *n, dd_error *err) {
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", text);
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (*n >= MAX_LAYERS) return dd_fail(err, DD_ERR_USAGE, "at most %d layers", MAX_LAYERS);
        if (dd_explain_find_layer(m, t, &layers[*n], err)) return -1;
        (*n)++;
    }
    if (*n == 0) return dd_fail(err, DD_ERR_USAGE, "--layers names no layer");
    return 0;
}

typedef struct act_opts {
    const char *model, *data, *out_dir, *layers, *top_units;
    uint64_t *records;
    size_t n_records;
    uint64_t top, units, max_drawings;
    int split;
} act_opts;

static int feature_maps(const act_opts *o, const dd_model *m, const dd_dataset *ds, dd_error *err) {
    int layers[MAX_LAYERS], n_layers = 0;
    if (o->layers) {
        if (parse_layers(m, o->layers, layers, &n_layers, err)) return -1;
    } else if ((n_layers = dd_explain_default_layers(m, layers, MAX_LAYERS)) == 0) {
        return dd_fail(err, DD_ERR_USAGE, "the model has no ReLU feature maps; choose --layers");
    }
    uint64_t *records = o->records, *own = NULL;
    size_t n = o->n_records;
    if (!records) {
        if (dd_explain_records_per_class(m, ds, DD_SPLIT_TEST, 1, &own, &n, err)) return -1;
        records = own;
    }
    if (n == 0) {
        free(own);
        printf("the data has no test drawings: nothing to show (choose drawings with --index)\n");
        return 0;
    }
    dd_image_set s;
    if (dd_image_set_load(m, ds, records, n, &s, err)) {
        free(own);
        return -1;
    }
    dd_explainer *e = dd_explainer_new(m, err);
    int rc = e ? dd_make_dir(o->out_dir, err) : -1;
    for (size_t i = 0; rc == 0 && i < s.n; i++) {
        dd_picture *p = dd_explain_activation_picture(e, m, &s, i, layers, n_layers, err);
        char name[64], path[4200];
        snprintf(name, sizeof name, "activations-%llu.png", (unsigned long long)s.record[i]);
        if (!p || dd_path_join(path, sizeof path, o->out_dir, name, err) || dd_picture_write_png(p, path, err))
            rc = -1;
        else
            printf("record %llu (%s): %s\n", (unsigned long long)s.record[i], m->class_names[s.label[i]], path);
        dd_picture_free(p);
    }
    dd_explainer_free(e);
    dd_image_set_free(&s);
    free(own);
    return rc;
}

static int top_units(const act_opts *o, const dd_model *m, const dd_dataset *ds, dd_error *err) {
    int layer;
    if (dd_explain_find_layer(m, o->top_units, &layer, err)) return -1;
    uint64_t *records;
    size_t n;
    if (dd_dataset_split_records(ds, o->split, &records, &n, err)) return -1;
    if (n > o->max_drawings) n = o->max_drawings;
    if (n == 0) {
        free(records);
        printf("the data has no drawings in that split: nothing to rank\n");
        return 0;
    }
    dd_image_set s;
    if (dd_image_set_load(m, ds, records, n, &s, err)) {
        free(records);
        return -1;
    }
    free(records);
    dd_explainer *e = dd_explainer_new(m, err);
    dd_picture *p = e ? dd_explain_top_units_picture(e, m, &s, layer, (int)o->top, (int)o->units, err) : NULL;
    char path[4200];
    snprintf(path, sizeof path, "%s/top-units-%d-%s.png", o->out_dir, layer, m->spec->layers[layer].name);
    int rc = p && dd_make_dir(o->out_dir, err) == 0 && dd_picture_write_png(p, path, err) == 0 ? 0 : -1;
    if (rc == 0)
        printf("layer %d %s: the top %llu of %zu drawings for each unit -> %s\n", layer, m->spec->layers[layer].name,
               (unsigned long long)o->top, s.n, path);
    dd_picture_free(p);
    dd_explainer_free(e);
    dd_image_set_free(&s);
    return rc;
}

int cmd_explain_activations(int argc, char **argv) {
    enum { OPT_TOP_UNITS = 256, OPT_TOP, OPT_UNITS, OPT_SPLIT, OPT_MAX };
    static const struct option options[] = {
        {"model", required_argument, 0, 'm'},
        {"data", required_argument, 0, 'd'},
        {"output", required_argument, 0, 'o'},
        {"layers", required_argument, 0, 'l'},
        {"index", required_argument, 0, 'i'},
        {"top-units", required_argument, 0, OPT_TOP_UNITS},
        {"top", required_argument, 0, OPT_TOP},
        {"units", required_argument, 0, OPT_UNITS},
        {"split", required_argument, 0, OPT_SPLIT},
        {"max-drawings", required_argument, 0, OPT_MAX},
        {"threads", required_argument, 0, 'T'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    act_opts o = {.top = 8, .units = 0, .max_drawings = 5000, .split = DD_SPLIT_TEST};
    int c, rc = EXIT_USAGE;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":m:d:o:l:i:h", options, NULL)) != -1) {
        switch (c) {
        case 'm': o.model = optarg; break;
        case 'd': o.data = optarg; break;
        case 'o': o.out_dir = optarg; break;
        case 'l': o.layers = optarg; break;
        case 'i':
            if (explain_parse_records(optarg, &o.records, &o.n_records)) {
                cli_opt_bad(VERB, "--index", "record numbers separated by commas", optarg);
                goto out;
            }
            break;
        case OPT_TOP_UNITS: o.top_units = optarg; break;
        case OPT_TOP:
            if (cli_opt_u64(VERB, "--top", optarg, 1, 64, &o.top)) goto out;
            break;
        case OPT_UNITS:
            if (cli_opt_u64(VERB, "--units", optarg, 1, 100000, &o.units)) goto out;
            break;
        case OPT_MAX:
            if (cli_opt_u64(VERB, "--max-drawings", optarg, 1, 10000000, &o.max_drawings)) goto out;
            break;
        case OPT_SPLIT:
            if ((o.split = explain_parse_split(optarg)) == -2) {
                cli_opt_bad(VERB, "--split", "test, train or all", optarg);
                goto out;
            }
            break;
        case 'T':
            if (cli_opt_threads(VERB, optarg)) goto out;
            break;
        case 'h':
            usage(stdout);
            rc = 0;
            goto out;
        default: cli_opt_error(VERB, c, argv); goto out;
        }
    }
    if (optind < argc) {
        cli_usage_error(VERB, "unexpected argument '%s'", argv[optind]);
        goto out;
    }
    if (!o.model || !o.data || !o.out_dir) {
        cli_usage_error(VERB, "give --model, --data and -o DIR");
        goto out;
    }
    dd_error err = {0};
    dd_model *m;
    dd_dataset *ds;
    if (explain_open(o.model, o.data, &m, &ds, &err)) {
        rc = cli_report(VERB, &err);
        goto out;
    }
    int failed = o.top_units ? top_units(&o, m, ds, &err) : feature_maps(&o, m, ds, &err);
    rc = failed ? cli_report(VERB, &err) : 0;
    dd_dataset_close(ds);
    dd_model_free(m);
out:
    free(o.records);
    return rc;
}
