/* doodle summary: a network's layers, output shapes and parameter counts as Keras' model.summary() prints them. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "doodle/model.h"
#include "doodle/model_spec.h"
#include "doodle/render.h"

static void usage(FILE *out) {
    fprintf(out,
            "usage: doodle summary MODEL [--classes N] [--input HxW]\n"
            "\n"
            "Prints the network's layers as Keras' model.summary() does: Layer (type), Output Shape (channels last),\n"
            "Param #, then the total, trainable and non-trainable (BatchNorm moving statistics) parameter counts.\n"
            "\n"
            "MODEL is a built-in network (");
    for (size_t i = 0; dd_model_builtin_name(i); i++) fprintf(out, "%s%s", i ? ", " : "", dd_model_builtin_name(i));
    fprintf(out, "), a model cfg file\n"
                 "(.cfg; see models/ in the sources) or a trained model (.safetensors written by doodle train;\n"
                 "--classes and --input do not apply to it).\n"
                 "\n"
                 "      --classes N   number of classes (default: the cfg's [net] classes)\n"
                 "      --input HxW   input height x width (default: the cfg's [net] input; channels stay)\n"
                 "  -h, --help        show this help\n"
                 "\n"
                 "Exit status: 0 done, 1 bad input or failure, 2 bad usage.\n"
                 "\n"
                 "Examples:\n"
                 "  doodle summary seed                        the study's batch-normalised network, 5 classes\n"
                 "  doodle summary lenet --classes 345         the study's LeNet-style network for all 345 classes\n"
                 "  doodle summary models/doodle28.cfg --input 56x56\n"
                 "  doodle summary runs/animals/model.safetensors\n");
}

static int is_file(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && !S_ISDIR(st.st_mode);
}

int cmd_summary(int argc, char **argv) {
    enum { OPT_CLASSES = 256, OPT_INPUT };
    static const struct option options[] = {{"help", no_argument, 0, 'h'},
                                            {"classes", required_argument, 0, OPT_CLASSES},
                                            {"input", required_argument, 0, OPT_INPUT},
                                            {0, 0, 0, 0}};
    dd_spec_overrides ov = {0, 0, 0};
    dd_error err;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
        switch (c) {
        case 'h': usage(stdout); return 0;
        case OPT_CLASSES: {
            uint64_t v;
            if (cli_opt_u64("summary", "--classes", optarg, 1, DD_SPEC_INT_MAX, &v)) return EXIT_USAGE;
            ov.classes = (int)v;
            break;
        }
        case OPT_INPUT: {
            uint32_t h, w;
            if (dd_parse_size(optarg, &h, &w, &err)) return cli_usage_error("summary", "--input: %s", err.msg);
            ov.input_h = (int)h;
            ov.input_w = (int)w;
            break;
        }
        default: return cli_opt_error("summary", c, argv);
        }
    }
    if (optind + 1 != argc)
        return cli_usage_error("summary", "give exactly one MODEL (a built-in name or a .cfg file)");
    const char *model = argv[optind];
    dd_model_spec *spec;
    if (dd_model_builtin_cfg(model, NULL)) {
        spec = dd_model_spec_builtin(model, &ov, &err);
    } else if (cli_has_suffix(model, ".safetensors")) {
        dd_model *m = dd_model_load(model, &err);
        if (!m) return cli_report("summary", &err);
        spec = m->spec; /* the model gives its spec away */
        m->spec = NULL;
        dd_model_free(m);
    } else if (cli_has_suffix(model, ".cfg") || strchr(model, '/') || is_file(model)) {
        spec = dd_model_spec_load(model, &ov, &err);
    } else {
        char names[256] = "";
        for (size_t i = 0; dd_model_builtin_name(i); i++) {
            size_t n = strlen(names);
            snprintf(names + n, sizeof names - n, "%s%s", i ? ", " : "", dd_model_builtin_name(i));
        }
        return cli_usage_error("summary", "'%s' is neither a built-in model (%s) nor a .cfg file", model, names);
    }
    if (!spec) return cli_report("summary", &err);
    dd_model_spec_summary(spec, stdout);
    dd_model_spec_free(spec);
    if (fflush(stdout) != 0) {
        perror("doodle summary: stdout");
        return 1;
    }
    return 0;
}
