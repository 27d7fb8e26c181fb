/* doodle export: a trained model for other runtimes; today ONNX (docs/export.md). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "doodle/export.h"
#include "doodle/model.h"

static void usage(FILE *out) {
    fprintf(out,
            "usage: doodle export --onnx MODEL.safetensors -o OUT.onnx\n"
            "\n"
            "Writes a trained model as an ONNX file (opset %d) that ONNX Runtime and other ONNX tools run: input\n"
            "\"input\", float [batch, C, H, W], the drawing rendered as doodle renders it (0 background, 1 ink);\n"
            "output \"probabilities\", float [batch, classes]; the batch size is free. Each BatchNorm after a\n"
            "convolution is folded into it, as doodle's own inference does; dropout is left out. The file's\n"
            "metadata_props hold the class names (\"classes\", a JSON array), the input size (\"input\", HxWxC),\n"
            "the render settings (\"render\"), the cfg and doodle's version. Written atomically.\n"
            "\n"
            "      --onnx FILE     the model to export (.safetensors written by doodle train)\n"
            "  -o, --output FILE   the ONNX file to write\n"
            "  -h, --help          show this help\n"
            "\n"
            "Exit status: 0 done, 1 bad input or failure (or doodle built without ONNX export), 2 bad usage.\n"
            "\n"
            "Examples:\n"
            "  doodle export --onnx runs/animals/model.safetensors -o animals.onnx\n"
            "\n"
            "Running the file in ONNX Runtime, with its metadata: docs/export.md.\n",
            DD_ONNX_OPSET);
}

int cmd_export(int argc, char **argv) {
    static const struct option options[] = {{"help", no_argument, 0, 'h'},
                                            {"onnx", required_argument, 0, 'O'},
                                            {"output", required_argument, 0, 'o'},
                                            {0, 0, 0, 0}};
    const char *model_path = NULL, *out_path = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "ho:", options, NULL)) != -1) {
        switch (c) {
        case 'h': usage(stdout); return 0;
        case 'O': model_path = optarg; break;
        case 'o': out_path = optarg; break;
        default: return cli_usage_error("export", "unknown option");
        }
    }
    if (optind < argc) return cli_usage_error("export", "unexpected argument '%s'", argv[optind]);
    if (!model_path) return cli_usage_error("export", "give the model to export: --onnx MODEL.safetensors");
    if (!out_path) return cli_usage_error("export", "give the file to write: -o OUT.onnx");
    dd_error err;
    if (!dd_export_onnx_available()) {
        fprintf(stderr, "doodle export: built without ONNX export (build doodle with libprotobuf-c-dev, "
                        "protobuf-c-compiler and python3-onnx installed: scripts/deps.sh)\n");
        return 1;
    }
    dd_model *m = dd_model_load(model_path, &err);
    if (!m) return cli_report("export", &err);
    dd_onnx_summary sum;
    int rc = dd_export_onnx(m, out_path, &sum, &err);
    if (!rc)
        printf("%s -> %s: ONNX opset %d, %d nodes (%d BatchNorm folded into their convolution), %zu parameters, "
               "%zu bytes; input [batch, %d, %d, %d], output probabilities [batch, %d]\n",
               model_path, out_path, DD_ONNX_OPSET, sum.nodes, sum.folded, sum.parameters, sum.bytes,
               m->spec->input.c, m->spec->input.h, m->spec->input.w, m->spec->classes);
    dd_model_free(m);
    if (rc) return cli_report("export", &err);
    if (fflush(stdout) != 0) {
        perror("doodle export: stdout");
        return 1;
    }
    return 0;
}
