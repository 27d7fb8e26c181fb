/* bench_loader: images/s of the training data loader alone (one prefetch thread, the caller only takes batches),
 * at 28x28 and 66x100, with and without augmentation, also per second of CPU time (steady on a busy machine); and
 * how much of the time the caller waits for batches when it is busy (as a trainer would be) for 1.2 times the
 * loader's time per batch (near 0 when the prefetch overlaps and a second core is free).
 *
 * usage: bench_loader [--seconds S] [--batch B] INPUT…
 *   INPUT: one .dset, or Quick, Draw! files / directories (made into a stroke .dset in a temporary directory,
 *   all records in the train split), e.g. ../shared/data/quickdraw/strokes_simplified/lamnguyen5464_Sketch-dataset */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "doodle/alloc.h"
#include "doodle/loader.h"
#include "doodle/prep.h"

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static double cpu_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void spin(double seconds) {
    double end = now() + seconds;
    while (now() < end) {}
}

/* Takes batches for about `seconds`; the caller is busy `work` seconds per batch. Returns images/s; *stall gets the
 * fraction of the time spent waiting in dd_loader_next, *per_cpu images per second of process CPU time (the
 * caller sleeps while it waits, so with work = 0 this is the prefetch thread's rate on a core of its own, whatever
 * else the machine runs). */
static double run(const dd_dataset *ds, uint32_t batch, uint32_t h, uint32_t w, bool augment, double seconds,
                  double work, double *stall, double *per_cpu) {
    dd_error err;
    dd_loader_opts o = dd_loader_opts_default(batch, h, w);
    o.augment = augment;
    o.seed = 1;
    dd_loader *l = dd_loader_new(ds, &o, &err);
    float *x = l ? dd_malloc((size_t)batch * h * w, sizeof *x, &err) : NULL;
    int32_t *labels = x ? dd_malloc(batch, sizeof *labels, &err) : NULL;
    if (!labels) {
        fprintf(stderr, "bench_loader: %s\n", err.msg);
        free(x);
        dd_loader_free(l);
        exit(1);
    }
    uint64_t images = 0;
    double t0 = now(), c0 = cpu_now(), waited = 0, t;
    for (uint64_t epoch = 0;; epoch++) {
        if (dd_loader_begin_epoch(l, epoch, &err)) break;
        int n;
        for (;;) {
            double a = now();
            n = dd_loader_next(l, x, labels, NULL, &err);
            waited += now() - a;
            if (n <= 0) break;
            images += (uint64_t)n;
            if (work > 0) spin(work);
            if (now() - t0 >= seconds) break;
        }
        if (n < 0) {
            fprintf(stderr, "bench_loader: %s\n", err.msg);
            exit(1);
        }
        if ((t = now() - t0) >= seconds) break;
    }
    t = now() - t0;
    *per_cpu = (double)images / (cpu_now() - c0);
    *stall = waited / t;
    free(labels);
    free(x);
    dd_loader_free(l);
    return (double)images / t;
}

int main(int argc, char **argv) {
    double seconds = 3;
    uint32_t batch = 64;
    int first = 1;
    for (; first < argc && argv[first][0] == '-'; first++) {
        if (!strcmp(argv[first], "--seconds") && first + 1 < argc)
            seconds = atof(argv[++first]);
        else if (!strcmp(argv[first], "--batch") && first + 1 < argc)
            batch = (uint32_t)atoi(argv[++first]);
        else
            break;
    }
    if (first >= argc || seconds <= 0 || batch < 1) {
        fprintf(stderr, "usage: bench_loader [--seconds S] [--batch B] FILE.dset | INPUT…\n");
        return 2;
    }
    dd_error err;
    char dir[] = "/tmp/bench_loader.XXXXXX", path[64] = "";
    const char *dset = argv[first];
    size_t len = strlen(dset);
    if (!(argc - first == 1 && len > 5 && !strcmp(dset + len - 5, ".dset"))) {
        if (!mkdtemp(dir)) {
            perror("bench_loader: mkdtemp");
            return 1;
        }
        snprintf(path, sizeof path, "%s/bench.dset", dir);
        dd_prep_opts po = {.inputs = (const char *const *)(argv + first), .n_inputs = (size_t)(argc - first)};
        dd_prep_report rep;
        int rc = dd_prep_run(&po, path, &rep, &err);
        dd_prep_report_free(&rep);
        if (rc) {
            fprintf(stderr, "bench_loader: prep: %s\n", err.msg);
            rmdir(dir);
            return 1;
        }
        dset = path;
    }
    dd_dataset *ds = dd_dataset_open(dset, &err);
    if (path[0]) {
        remove(path); /* the mapping stays valid */
        rmdir(dir);
    }
    if (!ds) {
        fprintf(stderr, "bench_loader: %s\n", err.msg);
        return 1;
    }
    if (dd_dataset_kind(ds) != DD_DSET_STROKES) {
        fprintf(stderr, "bench_loader: %s holds bitmaps; give a stroke set\n", dset);
        dd_dataset_close(ds);
        return 1;
    }
    printf("%llu drawings, batch %u, 1 prefetch thread, %.0f s per line\n", (unsigned long long)dd_dataset_count(ds),
           batch, seconds);
    printf("%-8s %-8s %10s %16s %26s\n", "size", "augment", "images/s", "images/CPU-s", "caller waiting, busy 1.2x");
    static const uint32_t sizes[2][2] = {{28, 28}, {66, 100}};
    for (int s = 0; s < 2; s++)
        for (int a = 0; a < 2; a++) {
            double stall, per_cpu, unused;
            double rate = run(ds, batch, sizes[s][0], sizes[s][1], a, seconds, 0, &stall, &per_cpu);
            double busy = 1.2 * batch / rate, stall_busy;
            run(ds, batch, sizes[s][0], sizes[s][1], a, seconds, busy, &stall_busy, &unused);
            char size[16];
            snprintf(size, sizeof size, "%ux%u", sizes[s][0], sizes[s][1]);
            printf("%-8s %-8s %10.0f %16.0f %25.1f%%\n", size, a ? "on" : "off", rate, per_cpu, 100 * stall_busy);
        }
    dd_dataset_close(ds);
    return 0;
}
