/* bench_render: drawings/s of dd_render on one core.
 *
 * usage: bench_render [--seconds S] FILE.ndjson[.gz]…   (e.g. every simplified file of ../shared/data/quickdraw)
 *
 * Loads every drawing of the given files into memory (readers excluded from the timing), then renders them over
 * and over with one renderer for about S seconds (default 3) per size, at 28x28 and 66x100, and prints
 * drawings/s. Raw (not simplified) drawings are skipped. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "doodle/alloc.h"
#include "doodle/quickdraw.h"
#include "doodle/render.h"

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

typedef struct {
    dd_drawing *items;
    size_t n, cap;
} drawing_list;

static int load(drawing_list *l, const char *path, size_t *skipped, dd_error *err) {
    dd_stroke_reader *r = dd_stroke_reader_open(path, err);
    if (!r) return -1;
    for (;;) {
        if (l->n == l->cap) {
            size_t cap = l->cap ? 2 * l->cap : 1024;
            dd_drawing *p = dd_realloc(l->items, cap, sizeof *p, err);
            if (!p) break;
            l->items = p;
            l->cap = cap;
        }
        dd_drawing *d = &l->items[l->n];
        dd_drawing_init(d);
        dd_next nx = dd_stroke_reader_next(r, d, err);
        if (nx == DD_NEXT_OK && dd_drawing_is_simplified(d)) {
            l->n++;
            continue;
        }
        dd_drawing_free(d);
        if (nx == DD_NEXT_END) {
            dd_stroke_reader_close(r);
            return 0;
        }
        if (nx == DD_NEXT_FATAL) break;
        ++*skipped;
    }
    dd_stroke_reader_close(r);
    return -1;
}

static void bench(const drawing_list *l, uint32_t h, uint32_t w, double seconds) {
    dd_error err;
    dd_render_opts o = dd_render_opts_default(h, w);
    dd_renderer *r = dd_renderer_new(&o, &err);
    uint8_t *out = r ? dd_malloc((size_t)h * w, 1, &err) : NULL;
    if (!out) {
        fprintf(stderr, "bench_render: %s\n", err.msg);
        dd_renderer_free(r);
        return;
    }
    uint64_t count = 0;
    double t0 = now(), t;
    do {
        for (size_t i = 0; i < l->n; i++) {
            if (dd_render(r, &l->items[i], out, &err)) {
                fprintf(stderr, "bench_render: drawing %zu: %s\n", i + 1, err.msg);
                goto done;
            }
        }
        count += l->n;
        t = now() - t0;
    } while (t < seconds);
    printf("render %3ux%-3u  %10.0f drawings/s  (%llu drawings in %.2f s, 1 core)\n", h, w, (double)count / t,
           (unsigned long long)count, t);
done:
    free(out);
    dd_renderer_free(r);
}

int main(int argc, char **argv) {
    double seconds = 3;
    int first = 1;
    if (argc > 2 && !strcmp(argv[1], "--seconds")) {
        seconds = atof(argv[2]);
        first = 3;
    }
    if (first >= argc || seconds <= 0) {
        fprintf(stderr, "usage: bench_render [--seconds S] FILE.ndjson[.gz]...\n");
        return 2;
    }
    drawing_list l = {0};
    size_t skipped = 0, points = 0;
    dd_error err;
    int rc = 0;
    for (int i = first; i < argc; i++)
        if (load(&l, argv[i], &skipped, &err)) {
            fprintf(stderr, "bench_render: %s\n", err.msg);
            rc = 1;
            goto done;
        }
    if (!l.n) {
        fprintf(stderr, "bench_render: no simplified drawings in the given files\n");
        rc = 1;
        goto done;
    }
    for (size_t i = 0; i < l.n; i++) points += l.items[i].n_points;
    printf("render: %zu simplified drawings from %d files (%.1f points each), %zu skipped\n", l.n, argc - first,
           (double)points / (double)l.n, skipped);
    bench(&l, 28, 28, seconds);
    bench(&l, 66, 100, seconds);
done:
    for (size_t i = 0; i < l.n; i++) dd_drawing_free(&l.items[i]);
    free(l.items);
    return rc;
}
