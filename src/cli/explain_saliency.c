/* doodle explain saliency: saliency, occlusion and Grad-CAM heat maps over chosen drawings. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/explain_verbs.h"
#include "doodle/explain.h"
#include "doodle/files.h"

#define VERB "explain saliency"

static void usage(FILE *out) {
    fprintf(out,
            "usage: doodle explain saliency --model M --data D.dset -o DIR [--index I,… | --per-class N] [options]\n"
            "\n"
            "Which pixels a decision rests on, as heat maps laid over each drawing (a row per drawing):\n"
            "  saliency   |gradient of the class score with respect to each pixel|\n"
            "  occlusion  how much the class probability drops when a patch around the pixel is blanked\n"
            "  Grad-CAM   the conv layer's maps weighted by the mean gradient of the class score, upsampled\n"
            "Each map is scaled to its own maximum. The class is the model's prediction unless --class names one.\n"
            "\n"
            "  -m, --model FILE     the model (.safetensors)\n"
            "  -d, --data FILE      the dataset (.dset)\n"
            "  -o, --output DIR     where saliency.png goes (created if missing)\n"
            "  -i, --index I,…      drawings by record number in the .dset (may repeat)\n"
            "  -n, --per-class N    else the first N test drawings of every class (default 2)\n"
            "  -c, --class NAME     explain this class's score instead of the predicted one\n"
            "  -l, --layer L        Grad-CAM layer, index or name (default: the last conv block)\n"
            "      --threads N      threads (default: every core, up to 8)\n"
            "  -h, --help           show this help\n"
            "\n"
            "Exit status: 0 done, 1 bad input or failure, 2 bad usage.\n"
            "\n"
            "Examples:\n"
            "  doodle explain saliency -m run/model.safetensors -d animals.dset -o why        2 drawings a class\n"
            "  doodle explain saliency -m run/model.safetensors -d animals.dset -o why --index 17 --class cat\n");
}

int cmd_explain_saliency(int argc, char **argv) {
    static const struct option options[] = {
        {"model", required_argument, 0, 'm'},
        {"data", required_argument, 0, 'd'},
        {"output", required_argument, 0, 'o'},
        {"index", required_argument, 0, 'i'},
        {"per-class", required_argument, 0, 'n'},
        {"class", required_argument, 0, 'c'},
        {"layer", required_argument, 0, 'l'},
        {"threads", required_argument, 0, 'T'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    const char *model_path = NULL, *data_path = NULL, *out_dir = NULL, *class_name = NULL, *layer_text = NULL;
    uint64_t *records = NULL, per_class = 2;
    size_t n = 0;
    int c, rc = EXIT_USAGE;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":m:d:o:i:n:c:l:h", options, NULL)) != -1) {
        switch (c) {
        case 'm': model_path = optarg; break;
        case 'd': data_path = optarg; break;
        case 'o': out_dir = optarg; break;
        case 'c': class_name = optarg; break;
        case 'l': layer_text = optarg; break;
        case 'i':
            if (explain_parse_records(optarg, &records, &n)) {
                cli_opt_bad(VERB, "--index", "record numbers separated by commas", optarg);
                goto out;
            }
            break;
        case 'n':
            if (cli_opt_u64(VERB, "--per-class", optarg, 1, 100, &per_class)) goto out;
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
    if (!model_path || !data_path || !out_dir) {
        cli_usage_error(VERB, "give --model, --data and -o DIR");
        goto out;
    }
    dd_error err = {0};
    dd_model *m;
    dd_dataset *ds;
    if (explain_open(model_path, data_path, &m, &ds, &err)) {
        rc = cli_report(VERB, &err);
        goto out;
    }
    dd_image_set s = {0};
    dd_explainer *e = NULL;
    dd_picture *p = NULL;
    size_t *which = NULL;
    int cls = -1, layer = -1;
    rc = 1;
    if (class_name) {
        for (int k = 0; k < m->spec->classes; k++)
            if (!strcmp(m->class_names[k], class_name)) cls = k;
        if (cls < 0) {
            dd_fail(&err, DD_ERR_USAGE, "--class %s: the model has no such class", class_name);
            goto report;
        }
    }
    if (layer_text && dd_explain_find_layer(m, layer_text, &layer, &err)) goto report;
    if (layer >= 0 && (m->spec->layers[layer].out.rank != 3 || layer >= m->spec->n_layers - 1)) {
        dd_fail(&err, DD_ERR_USAGE,
                "--layer %s: Grad-CAM wants a layer with feature maps (conv, batchnorm, "
                "activation or maxpool), not %s",
                layer_text, m->spec->layers[layer].name);
        goto report;
    }
    if (!records && dd_explain_records_per_class(m, ds, DD_SPLIT_TEST, (int)per_class, &records, &n, &err)) goto report;
    if (n == 0) {
        printf("the data has no test drawings: nothing to show (choose drawings with --index)\n");
        rc = 0;
        goto done;
    }
    if (dd_image_set_load(m, ds, records, n, &s, &err)) goto report;
    if (!(which = malloc(n * sizeof *which))) {
        dd_fail(&err, DD_ERR_NOMEM, "out of memory");
        goto report;
    }
    for (size_t i = 0; i < n; i++) which[i] = i;
    char path[4200];
    snprintf(path, sizeof path, "%s/saliency.png", out_dir);
    if (!(e = dd_explainer_new(m, &err)) ||
        !(p = dd_explain_attribution_picture(e, m, &s, which, n, cls, layer, &err)) || dd_make_dir(out_dir, &err) ||
        dd_picture_write_png(p, path, &err))
        goto report;
    int gl = layer >= 0 ? layer : dd_explain_gradcam_layer(m);
    printf("%zu drawing%s; saliency, occlusion%s -> %s\n", n, n == 1 ? "" : "s",
           gl >= 0 ? ", Grad-CAM" : " (no conv layer: no Grad-CAM)", path);
    if (gl >= 0) printf("Grad-CAM at layer %d %s\n", gl, m->spec->layers[gl].name);
    rc = 0;
    goto done;
report:
    rc = cli_report(VERB, &err);
done:
    free(which);
    dd_picture_free(p);
    dd_explainer_free(e);
    dd_image_set_free(&s);
    dd_dataset_close(ds);
    dd_model_free(m);
out:
    free(records);
    return rc;
}
