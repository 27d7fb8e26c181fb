#define _POSIX_C_SOURCE 200809L
/* doodle bench: how fast this machine trains and classifies with a network, on synthetic data (random pixels and
 * labels from a fixed seed), so users can size their machine and doodle can be compared with the PyTorch peer
 * (../shared/peers/bench.py measures the same loop: warm-up, then whole steps until the time is up). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "cli/cli.h"
#include "doodle/model.h"
#include "doodle/optim.h"
#include "util/alloc.h"

static void usage(FILE *out) {
    fprintf(out,
            "usage: doodle bench train|infer [--model M] [--batch B] [--threads T] [--seconds S] [--json]\n"
            "\n"
            "Measures training steps (forward, backward, Adam) or inference of a network on synthetic inputs and\n"
            "prints images per second and milliseconds per batch. Reading and rendering data are not included\n"
            "(training renders in a separate prefetch thread).\n"
            "\n"
            "      --model M     built-in network or .cfg (default seed)\n"
            "      --batch B     images per step (default 64)\n"
            "      --threads T   threads (default 2)\n"
            "      --seconds S   how long to measure, after 3 warm-up steps (default 10; at least 5 steps)\n"
            "      --json        one JSON line: images_per_s, ms_per_batch, steps, peak_rss_mb, gflop_per_s …\n"
            "  -h, --help        show this help\n");
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static double peak_rss_mb(void) {
    struct rusage ru;
    return getrusage(RUSAGE_SELF, &ru) == 0 ? (double)ru.ru_maxrss / 1024.0 : 0.0;
}

typedef struct bench {
    dd_model *m;
    dd_workspace *ws;
    float *x, *grads;
    int32_t *labels;
    uint8_t *decay;
    dd_optimizer opt;
    dd_rng rng;
    int batch, training;
} bench;

static void step(bench *b) {
    if (!b->training) {
        dd_model_infer(b->m, b->ws, b->x, b->batch);
        return;
    }
    memset(b->grads, 0, b->m->spec->n_params * sizeof *b->grads);
    dd_model_forward_train(b->m, b->ws, b->x, b->batch, &b->rng);
    dd_model_backward(b->m, b->ws, b->labels, b->batch, b->grads);
    dd_optimizer_step(&b->opt, b->m->params, b->grads, b->decay, 1e-3f);
}

static void bench_free(bench *b) {
    dd_workspace_free(b->ws);
    dd_model_free(b->m);
    free(b->x);
    free(b->grads);
    free(b->labels);
    free(b->decay);
    dd_optimizer_free(&b->opt);
}

static int bench_init(bench *b, const char *model, int batch, int threads, dd_error *err) {
    size_t n = strlen(model);
    dd_model_spec *spec = strchr(model, '/') || (n > 4 && !strcmp(model + n - 4, ".cfg"))
                              ? dd_model_spec_load(model, NULL, err)
                              : dd_model_spec_builtin(model, NULL, err);
    if (!spec || !(b->m = dd_model_new(spec, 1, err))) return -1;
    if (!(b->ws = dd_workspace_new(b->m, batch, b->training, err)) || dd_workspace_set_threads(b->ws, threads, err))
        return -1;
    size_t in = dd_shape_count(b->m->spec->input);
    if (!(b->x = dd_malloc((size_t)batch * in, sizeof *b->x, err)) ||
        !(b->labels = dd_malloc((size_t)batch, sizeof *b->labels, err)))
        return -1;
    dd_rng_seed(&b->rng, 1);
    for (size_t i = 0; i < (size_t)batch * in; i++) b->x[i] = (float)dd_rng_uniform(&b->rng);
    for (int i = 0; i < batch; i++) b->labels[i] = (int32_t)dd_rng_below(&b->rng, (uint64_t)b->m->spec->classes);
    if (!b->training) return 0;
    if (!(b->grads = dd_malloc(b->m->spec->n_params, sizeof *b->grads, err)) ||
        !(b->decay = dd_model_decay_mask(b->m, err)) ||
        dd_optimizer_init(&b->opt, DD_OPT_ADAM, b->m->spec->n_params, err))
        return -1;
    return 0;
}

int cmd_bench(int argc, char **argv) {
    static const struct option options[] = {{"help", no_argument, 0, 'h'},        {"model", required_argument, 0, 'm'},
                                            {"batch", required_argument, 0, 'b'}, {"threads", required_argument, 0, 't'},
                                            {"seconds", required_argument, 0, 's'}, {"json", no_argument, 0, 'j'},
                                            {0, 0, 0, 0}};
    const char *model = "seed";
    uint64_t batch = 64, threads = 2;
    double seconds = 10.0;
    int json = 0, c;
    while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (c) {
        case 'h': usage(stdout); return 0;
        case 'm': model = optarg; break;
        case 'b':
            if (cli_parse_u64(optarg, 1, 1 << 16, &batch))
                return cli_usage_error("bench", "--batch '%s' is not a number from 1 to 65536", optarg);
            break;
        case 't':
            if (cli_parse_u64(optarg, 1, 256, &threads))
                return cli_usage_error("bench", "--threads '%s' is not a number from 1 to 256", optarg);
            break;
        case 's':
            if (cli_parse_double(optarg, 0.0, 86400.0, &seconds))
                return cli_usage_error("bench", "--seconds '%s' is not a number from 0 to 86400", optarg);
            break;
        case 'j': json = 1; break;
        default: return cli_usage_error("bench", "unknown option");
        }
    }
    if (optind + 1 != argc || (strcmp(argv[optind], "train") && strcmp(argv[optind], "infer")))
        return cli_usage_error("bench", "say what to measure: train or infer");
    dd_error err;
    bench b = {.batch = (int)batch, .training = !strcmp(argv[optind], "train")};
    if (bench_init(&b, model, (int)batch, (int)threads, &err)) {
        bench_free(&b);
        return cli_report("bench", &err);
    }
    for (int i = 0; i < 3; i++) step(&b);
    long steps = 0;
    double t0 = now(), dt;
    do {
        step(&b);
        steps++;
    } while ((dt = now() - t0) < seconds || steps < 5);
    double ips = (double)steps * (double)batch / dt, ms = 1e3 * dt / (double)steps;
    double gflop = dd_model_flops(b.m->spec, b.training) * ips * 1e-9;
    if (json)
        printf("{\"peer\": \"doodle\", \"mode\": \"%s\", \"model\": \"%s\", \"batch\": %d, \"threads\": %d, "
               "\"steps\": %ld, \"images_per_s\": %.2f, \"ms_per_batch\": %.3f, \"gflop_per_s\": %.1f, "
               "\"peak_rss_mb\": %.1f}\n",
               argv[optind], b.m->spec->name, b.batch, (int)threads, steps, ips, ms, gflop, peak_rss_mb());
    else
        printf("%s %s, batch %d, %d thread%s: %.1f images/s, %.3f ms per batch, %.1f GFLOP/s, peak RSS %.1f MB "
               "(%ld steps in %.1f s)\n",
               argv[optind], b.m->spec->name, b.batch, (int)threads, threads == 1 ? "" : "s", ips, ms, gflop,
               peak_rss_mb(), steps, dt);
    bench_free(&b);
    return 0;
}
