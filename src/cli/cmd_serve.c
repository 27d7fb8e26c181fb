/* doodle serve: the drawing page on a trained model (src/serve/). */
#define _POSIX_C_SOURCE 200809L /* sigwait */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "doodle/serve.h"

static void usage(FILE *out) {
    fprintf(
        out,
        "usage: doodle serve --model RUN/model.safetensors [--run RUNDIR [--clusters DIR] [--read-only]]\n"
        "                    [--host ADDR] [--port N]\n"
        "\n"
        "Serves the drawing page: draw with mouse, finger or pen, and the model guesses live (top 5, the image\n"
        "it saw, and on demand its activations and saliency). Strokes are simplified and rendered with the same\n"
        "code as the training data. The JSON API (POST /api/predict, POST /api/explain, GET /api/model,\n"
        "GET /healthz, GET /report, the Mistakes view's /api/mistakes and /api/labels) is described in\n"
        "docs/serving.md.\n"
        "With --run, /mistakes shows the clusters of the run's misclassified drawings: name them, mark drawings\n"
        "as mislabelled, and save to RUNDIR/labels.json (docs/labels-format.md). Ctrl-C stops it.\n"
        "\n"
        "  -m, --model FILE     the model (.safetensors written by doodle train)\n"
        "  -r, --run RUNDIR     also serve RUNDIR/report.html at /report (made by doodle report), and the\n"
        "                       Mistakes view at /mistakes, which saves to RUNDIR/labels.json\n"
        "      --clusters DIR   the clustering the Mistakes view shows: a doodle explain clusters folder\n"
        "                       (default RUNDIR/explain/clusters, which doodle report and train write)\n"
        "      --read-only      never write RUNDIR/labels.json (also the case when RUNDIR is not writable)\n"
        "      --host ADDR      address to listen on (default 127.0.0.1: this machine only)\n"
        "  -p, --port N         port (default 8080; 0 picks a free one); the URL is printed\n"
        "      --threads N      worker threads (default: one per core)\n"
        "      --max-connections N  connections at once (default 256); at the limit, the connection that has\n"
        "                       waited longest for its request is closed to make room for a new one\n"
        "      --timeout S      a client has S seconds to send each whole request, headers and body, counted\n"
        "                       from connecting or from its previous answer; slower and idle connections are\n"
        "                       closed (default 15)\n"
        "  -h, --help           show this help\n"
        "\n"
        "Exit status: 0 stopped by Ctrl-C or SIGTERM, 1 bad input or failure, 2 bad usage.\n"
        "\n"
        "Examples:\n"
        "  doodle serve -m runs/animals/model.safetensors                 open http://127.0.0.1:8080/ and draw\n"
        "  doodle serve -m runs/animals/model.safetensors --run runs/animals --port 0   /report and /mistakes too\n");
}

/* Blocks SIGINT and SIGTERM in this thread before any other starts (threads inherit the mask), so that only
 * sigwait below sees them. */
static void block_stop_signals(sigset_t *set) {
    sigemptyset(set);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, set, NULL);
    signal(SIGPIPE, SIG_IGN); /* a client that goes away is not a reason to die */
}

int cmd_serve(int argc, char **argv) {
    enum { OPT_HOST = 256, OPT_THREADS, OPT_MAXCONN, OPT_TIMEOUT, OPT_CLUSTERS, OPT_READ_ONLY };
    static const struct option options[] = {{"help", no_argument, 0, 'h'},
                                            {"model", required_argument, 0, 'm'},
                                            {"run", required_argument, 0, 'r'},
                                            {"host", required_argument, 0, OPT_HOST},
                                            {"port", required_argument, 0, 'p'},
                                            {"threads", required_argument, 0, OPT_THREADS},
                                            {"max-connections", required_argument, 0, OPT_MAXCONN},
                                            {"timeout", required_argument, 0, OPT_TIMEOUT},
                                            {"clusters", required_argument, 0, OPT_CLUSTERS},
                                            {"read-only", no_argument, 0, OPT_READ_ONLY},
                                            {0, 0, 0, 0}};
    dd_serve_opts o = {.port = 8080};
    uint64_t v;
    int c;
    optind = 1;
    opterr = 0; /* cli_opt_error says what was wrong, as every verb does */
    while ((c = getopt_long(argc, argv, ":hm:r:p:", options, NULL)) != -1) {
        switch (c) {
        case 'h': usage(stdout); return 0;
        case 'm': o.model_path = optarg; break;
        case 'r': o.run_dir = optarg; break;
        case OPT_HOST: o.host = optarg; break;
        case OPT_CLUSTERS: o.clusters_dir = optarg; break;
        case OPT_READ_ONLY: o.read_only = true; break;
        case 'p':
            if (cli_opt_u64("serve", "--port", optarg, 0, 65535, &v)) return EXIT_USAGE;
            o.port = (unsigned)v;
            break;
        case OPT_THREADS:
            if (cli_opt_u64("serve", "--threads", optarg, 1, 256, &v)) return EXIT_USAGE;
            o.threads = (unsigned)v;
            break;
        case OPT_MAXCONN:
            if (cli_opt_u64("serve", "--max-connections", optarg, 1, 100000, &v)) return EXIT_USAGE;
            o.connection_limit = (unsigned)v;
            break;
        case OPT_TIMEOUT:
            if (cli_opt_u64("serve", "--timeout", optarg, 1, 86400, &v)) return EXIT_USAGE; /* seconds */
            o.timeout_seconds = (unsigned)v;
            break;
        default: return cli_opt_error("serve", c, argv);
        }
    }
    if (optind < argc) return cli_usage_error("serve", "unexpected argument '%s'", argv[optind]);
    if (!o.model_path) return cli_usage_error("serve", "--model is required");
    if (!o.run_dir && (o.clusters_dir || o.read_only))
        return cli_usage_error("serve", "--clusters and --read-only are about a run's labels: give --run RUNDIR");

    sigset_t stop;
    block_stop_signals(&stop);
    dd_error err = {0};
    dd_server *s = dd_serve_start(&o, &err);
    if (!s) return cli_report("serve", &err);
    printf("doodle serve: %s (Ctrl-C stops)\n", dd_serve_url(s));
    fflush(stdout);
    int sig = 0;
    sigwait(&stop, &sig);
    fprintf(stderr, "doodle serve: %s, stopping\n", sig == SIGINT ? "interrupted" : "terminated");
    dd_serve_stop(s);
    return 0;
}
