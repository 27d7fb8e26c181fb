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
#include "doodle/alloc.h"
#include "doodle/clock.h"
#include "doodle/dataset.h"
#include "doodle/loader.h"
#include "doodle/model.h"
#include "doodle/optim.h"

static void usage(FILE *out) {
    fprintf(out,
            "usage: doodle bench train|infer [--model M] [--batch B] [--threads T] [--seconds S] [--data D.dset]\n"
            "                               [--json]\n"
            "\n"
            "Measures training steps (forward, backward, Adam) or inference of a network on synthetic inputs and\n"
            "prints images per second and milliseconds per batch. With --data, training reads the dataset's training\n"
            "split through the same loader as doodle train (rendering and augmentation in its prefetch thread), so\n"
            "the difference from the synthetic figure is what feeding the data costs.\n"
            "\n"
            "      --model M     built-in network or .cfg (default seed)\n"
            "      --batch B     images per step (default 64)\n"
            "      --threads T   threads (default 2)\n"
            "      --seconds S   how long to measure, after 3 warm-up steps (default 10; at least 5 steps)\n"
            "      --data D      train on this .dset's training split (augmented as doodle train does)\n"
            "      --json        one JSON line: images_per_s, ms_per_batch, steps, peak_rss_mb, gflop_per_s …\n"
            "  -h, --help        show this help\n"
            "\n"
            "Exit status: 0 done, 1 bad input or failure, 2 bad usage.\n"
            "\n"
            "Examples:\n"
            "  doodle bench train                              the study's seed network, 2 threads, 10 s\n"
            "  doodle bench infer --model doodle28 --batch 1   one drawing at a time, as doodle serve does\n"
            "  doodle bench train --model doodle28 --data all.dset --json   feeding real data: what it costs\n");
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
    dd_dataset *ds; /* --data: batches come from the loader */
    dd_loader *loader;
    uint64_t epoch;
} bench;

/* The next batch of real data, starting a new epoch when one ends. */
static int next_batch(bench *b, dd_error *err) {
    for (;;) {
        int got = dd_loader_next(b->loader, b->x, b->labels, NULL, err);
        if (got != 0) return got < 0 ? -1 : 0;
        if (dd_loader_begin_epoch(b->loader, ++b->epoch, err)) return -1;
    }
}

static int step(bench *b, dd_error *err) {
    if (b->loader && next_batch(b, err)) return -1;
    if (!b->training) {
        dd_model_infer(b->m, b->ws, b->x, b->batch);
        return 0;
    }
    memset(b->grads, 0, b->m->spec->n_params * sizeof *b->grads);
    dd_model_forward_train(b->m, b->ws, b->x, b->batch, &b->rng);
    dd_model_backward(b->m, b->ws, b->labels, b->batch, b->grads);
    dd_optimizer_step_ws(&b->opt, b->ws, b->m->params, b->grads, b->decay, 1e-3f);
    return 0;
}

static void bench_free(bench *b) {
    dd_loader_free(b->loader);
    dd_dataset_close(b->ds);
    dd_workspace_free(b->ws);
    dd_model_free(b->m);
    free(b->x);
    free(b->grads);
    free(b->labels);
    free(b->decay);
    dd_optimizer_free(&b->opt);
}

static int bench_init(bench *b, const char *model, int batch, int threads, const char *data, dd_error *err) {
    dd_spec_overrides ov = {0, 0, 0};
    if (data) {
        if (!(b->ds = dd_dataset_open(data, err))) return -1;
        ov.classes = (int)dd_dataset_class_count(b->ds);
    }
    dd_model_spec *spec = dd_model_spec_named(model, &ov, err);
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
    if (data) {
        dd_loader_opts lo = dd_loader_opts_default((uint32_t)batch, b->m->render.height, b->m->render.width);
        lo.render = b->m->render; /* as doodle train renders for this model */
        lo.seed = 1;
        lo.augment = b->training;
        lo.drop_last = true; /* every step a whole batch */
        if (!(b->loader = dd_loader_new(b->ds, &lo, err)) || dd_loader_begin_epoch(b->loader, 0, err)) return -1;
    }
    if (!b->training) return 0;
    if (!(b->grads = dd_malloc(b->m->spec->n_params, sizeof *b->grads, err)) ||
        !(b->decay = dd_model_decay_mask(b->m, err)) ||
        dd_optimizer_init(&b->opt, DD_OPT_ADAM, b->m->spec->n_params, err))
        return -1;
    return 0;
}

int cmd_bench(int argc, char **argv) {
    static const struct option options[] = {
        {"help", no_argument, 0, 'h'},          {"model", required_argument, 0, 'm'},
        {"batch", required_argument, 0, 'b'},   {"threads", required_argument, 0, 't'},
        {"seconds", required_argument, 0, 's'}, {"json", no_argument, 0, 'j'},
        {"data", required_argument, 0, 'd'},    {0, 0, 0, 0}};
    const char *model = "seed", *data = NULL;
    uint64_t batch = 64, threads = 2;
    double seconds = 10.0;
    int json = 0, c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
        switch (c) {
        case 'h': usage(stdout); return 0;
        case 'm': model = optarg; break;
        case 'b':
            if (cli_opt_u64("bench", "--batch", optarg, 1, 1 << 16, &batch)) return EXIT_USAGE;
            break;
        case 't':
            if (cli_opt_u64("bench", "--threads", optarg, 1, 256, &threads)) return EXIT_USAGE;
            break;
        case 's':
            if (cli_opt_double("bench", "--seconds", optarg, 0.0, 86400.0, &seconds)) return EXIT_USAGE;
            break;
        case 'j': json = 1; break;
        case 'd': data = optarg; break;
        default: return cli_opt_error("bench", c, argv);
        }
    }
    if (optind + 1 != argc || (strcmp(argv[optind], "train") && strcmp(argv[optind], "infer")))
        return cli_usage_error("bench", "say what to measure: train or infer");
    dd_error err;
    bench b = {.batch = (int)batch, .training = !strcmp(argv[optind], "train")};
    if (bench_init(&b, model, (int)batch, (int)threads, data, &err)) {
        bench_free(&b);
        return cli_report("bench", &err);
    }
    long steps = 0;
    double t0 = 0.0, dt;
    for (int i = 0; i < 3; i++)
        if (step(&b, &err)) goto failed;
    t0 = dd_now_seconds();
    do {
        if (step(&b, &err)) goto failed;
        steps++;
    } while ((dt = dd_now_seconds() - t0) < seconds || steps < 5);
    double ips = (double)steps * (double)batch / dt, ms = 1e3 * dt / (double)steps;
    double gflop = dd_model_flops(b.m->spec, b.training) * ips * 1e-9;
    if (json)
        printf("{\"peer\": \"doodle\", \"mode\": \"%s\", \"model\": \"%s\", \"batch\": %d, \"threads\": %d, "
               "\"data\": \"%s\", \"steps\": %ld, \"images_per_s\": %.2f, \"ms_per_batch\": %.3f, "
               "\"mflop_per_image\": %.2f, \"gflop_per_s\": %.1f, \"peak_rss_mb\": %.1f, \"blas\": \"%s\"}\n",
               argv[optind], b.m->spec->name, b.batch, (int)threads, data ? "dset" : "synthetic", steps, ips, ms,
               dd_model_flops(b.m->spec, b.training) * 1e-6, gflop, peak_rss_mb(), cli_blas_kernels());
    else
        printf("%s %s, batch %d, %d thread%s: %.1f images/s, %.3f ms per batch, %.1f GFLOP/s, peak RSS %.1f MB "
               "(%ld steps in %.1f s; OpenBLAS kernels: %s)\n",
               argv[optind], b.m->spec->name, b.batch, (int)threads, threads == 1 ? "" : "s", ips, ms, gflop,
               peak_rss_mb(), steps, dt, cli_blas_kernels());
    bench_free(&b);
    return 0;
failed:
    bench_free(&b);
    return cli_report("bench", &err);
}
