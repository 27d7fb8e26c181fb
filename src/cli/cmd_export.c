/* doodle export: a trained model for other runtimes: ONNX, and the drawing page as a static site (docs/export.md). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "doodle/export.h"
#include "doodle/model.h"

static void usage(FILE *out) {
    fprintf(out,
            "usage: doodle export --onnx MODEL.safetensors -o OUT.onnx\n"
            "       doodle export --web RUNDIR -o SITE/   (or --web --model MODEL.safetensors -o SITE/)\n"
            "\n"
            "Writes a trained model as an ONNX file (opset %d) that ONNX Runtime and other ONNX tools run: input\n"
            "\"input\", float [batch, C, H, W], the drawing rendered as doodle renders it (0 background, 1 ink);\n"
            "output \"probabilities\", float [batch, classes]; the batch size is free. Each BatchNorm after a\n"
            "convolution is folded into it, as doodle's own inference does; dropout is left out. The file's\n"
            "metadata_props hold the class names (\"classes\", a JSON array), the input size (\"input\", HxWxC),\n"
            "the render settings (\"render\"), the cfg and doodle's version. Written atomically.\n"
            "\n"
            "--web writes the drawing page of doodle serve (drawing, live guesses, what the model saw, the game) as a\n"
            "folder of static files that runs the model in the browser with onnxruntime-web: open SITE/index.html\n"
            "from disk or put the folder on any static host; nothing is fetched from elsewhere. Explain needs doodle\n"
            "serve. Written into SITE.tmp, then renamed; an older site there is replaced, any other folder refused.\n"
            "\n"
            "      --onnx FILE     the model to export (.safetensors written by doodle train)\n"
            "      --web RUNDIR    a static site for the model of a training run (RUNDIR/model.safetensors; or a\n"
            "                      .safetensors file)\n"
            "      --model FILE    with --web: this model instead of a run folder's\n"
            "      --ort DIR       with --web: onnxruntime-web's dist folder (default\n"
            "                      $DOODLE_NPM_DIR/node_modules/onnxruntime-web/dist, DOODLE_NPM_DIR=/opt/doodle-npm;\n"
            "                      scripts/npm_ort_web.sh installs it)\n"
            "  -o, --output PATH   the ONNX file, or the site's folder, to write\n"
            "  -h, --help          show this help\n"
            "\n"
            "Exit status: 0 done, 1 bad input or failure (or doodle built without ONNX export), 2 bad usage.\n"
            "\n"
            "Examples:\n"
            "  doodle export --onnx runs/animals/model.safetensors -o animals.onnx\n"
            "  doodle export --web runs/animals -o animals-site/\n"
            "\n"
            "Running the file in ONNX Runtime, with its metadata, and the site: docs/export.md.\n",
            DD_ONNX_OPSET);
}

static int not_built(void) {
    fprintf(stderr, "doodle export: built without ONNX export (build doodle with libprotobuf-c-dev, "
                    "protobuf-c-compiler and python3-onnx installed: scripts/deps.sh)\n");
    return 1;
}

/* --web: the static site (dd_export_web). */
static int export_web(const char *run_dir, const char *model_file, const char *ort_dir, const char *out_path) {
    if (!run_dir == !model_file) return cli_usage_error("export", "give the model for --web: a RUNDIR or --model FILE");
    if (!out_path) return cli_usage_error("export", "give the site's folder to write: -o SITE/");
    if (!dd_export_onnx_available()) return not_built();
    char model_buf[4096], ort_buf[4096];
    struct stat st;
    if (run_dir && stat(run_dir, &st) == 0 && S_ISREG(st.st_mode)) { /* --web MODEL.safetensors */
        model_file = run_dir;
        run_dir = NULL;
    }
    if (run_dir) {
        if (snprintf(model_buf, sizeof model_buf, "%s/model.safetensors", run_dir) >= (int)sizeof model_buf)
            return cli_usage_error("export", "the run folder's name is too long");
        model_file = model_buf;
    }
    if (!ort_dir) {
        const char *npm = getenv("DOODLE_NPM_DIR");
        if (snprintf(ort_buf, sizeof ort_buf, "%s/node_modules/onnxruntime-web/dist",
                     npm && *npm ? npm : "/opt/doodle-npm") >= (int)sizeof ort_buf)
            return cli_usage_error("export", "DOODLE_NPM_DIR is too long");
        ort_dir = ort_buf;
    }
    dd_error err;
    dd_model *m = dd_model_load(model_file, &err);
    if (!m) return cli_report("export", &err);
    dd_web_summary sum;
    int rc = dd_export_web(m, ort_dir, out_path, &sum, &err);
    if (!rc)
        printf("%s -> %s: index.html, the page and onnxruntime-web (%s) %zu bytes; model.onnx %zu bytes "
               "(%d nodes), model.js %zu bytes; open %s%sindex.html\n",
               model_file, out_path, ort_dir, sum.page_bytes, sum.onnx.bytes, sum.onnx.nodes, sum.model_js_bytes,
               out_path, out_path[strlen(out_path) - 1] == '/' ? "" : "/");
    dd_model_free(m);
    if (rc) {
        if (err.code == DD_ERR_IO && strstr(err.msg, ort_dir))
            fprintf(stderr,
                    "doodle export: onnxruntime-web is needed in %s (scripts/npm_ort_web.sh installs it, or "
                    "give --ort DIR)\n",
                    ort_dir);
        return cli_report("export", &err);
    }
    if (fflush(stdout) != 0) {
        perror("doodle export: stdout");
        return 1;
    }
    return 0;
}

int cmd_export(int argc, char **argv) {
    static const struct option options[] = {{"help", no_argument, 0, 'h'},
                                            {"onnx", required_argument, 0, 'O'},
                                            {"output", required_argument, 0, 'o'},
                                            {"web", required_argument, 0, 'W'},
                                            {"model", required_argument, 0, 'm'},
                                            {"ort", required_argument, 0, 'R'},
                                            {0, 0, 0, 0}};
    const char *model_path = NULL, *out_path = NULL, *run_dir = NULL, *web_model = NULL, *ort_dir = NULL;
    bool web = false;
    int c;
    while ((c = getopt_long(argc, argv, "ho:", options, NULL)) != -1) {
        switch (c) {
        case 'h': usage(stdout); return 0;
        case 'O': model_path = optarg; break;
        case 'o': out_path = optarg; break;
        case 'W':
            web = true;
            if (optarg[0] == '-' && optarg[1] == '-')
                optind--; /* "--web --model FILE": no run folder */
            else
                run_dir = optarg;
            break;
        case 'm': web_model = optarg; break;
        case 'R': ort_dir = optarg; break;
        default: return cli_usage_error("export", "unknown option");
        }
    }
    if (optind < argc) return cli_usage_error("export", "unexpected argument '%s'", argv[optind]);
    if (web) {
        if (model_path) return cli_usage_error("export", "give --onnx or --web, not both");
        return export_web(run_dir, web_model, ort_dir, out_path);
    }
    if (web_model || ort_dir) return cli_usage_error("export", "--model and --ort go with --web");
    if (!model_path)
        return cli_usage_error("export", "give the model to export: --onnx MODEL.safetensors (or --web RUNDIR)");
    if (!out_path) return cli_usage_error("export", "give the file to write: -o OUT.onnx");
    dd_error err;
    if (!dd_export_onnx_available()) return not_built();
    dd_model *m = dd_model_load(model_path, &err);
    if (!m) return cli_report("export", &err);
    dd_onnx_summary sum;
    int rc = dd_export_onnx(m, out_path, &sum, &err);
    if (!rc)
        printf("%s -> %s: ONNX opset %d, %d nodes (%d BatchNorm folded into their convolution), %zu parameters, "
               "%zu bytes; input [batch, %d, %d, %d], output probabilities [batch, %d]\n",
               model_path, out_path, DD_ONNX_OPSET, sum.nodes, sum.folded, sum.parameters, sum.bytes, m->spec->input.c,
               m->spec->input.h, m->spec->input.w, m->spec->classes);
    dd_model_free(m);
    if (rc) return cli_report("export", &err);
    if (fflush(stdout) != 0) {
        perror("doodle export: stdout");
        return 1;
    }
    return 0;
}
