/* bench_render: drawings/s of dd_render and dd_render_batch on one core.
 *
 * usage: bench_render [--seconds S] FILE.ndjson[.gz]…   (e.g. every simplified file of ../shared/data/quickdraw)
 *
 * Loads every drawing of the given files into memory (readers excluded from the timing), then renders them over
 * and over with one renderer for about S seconds (default 3) per size and method, at 28x28 and 66x100, one
 * drawing per dd_render call and BATCH drawings per dd_render_batch call, and prints drawings/s. Raw (not
 * simplified) drawings are skipped. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "doodle/quickdraw.h"
#include "doodle/render.h"
#include "util/alloc.h"

#define BATCH 256 /* drawings per dd_render_batch call */

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

/* Drawings/s of dd_render (one call per drawing) or, with batch > 0, of dd_render_batch called on batch drawings at a
 * time (as a training loader would), over the whole list again and again for about seconds. */
static void bench(const drawing_list *l, uint32_t h, uint32_t w, size_t batch, double seconds) {
    dd_error err;
    dd_render_opts o = dd_render_opts_default(h, w);
    dd_renderer *r = dd_renderer_new(&o, &err);
    size_t n_out = batch ? batch : 1;
    uint8_t *out = r ? dd_malloc(n_out, (size_t)h * w, &err) : NULL;
    const dd_drawing **ptrs = out && batch ? dd_malloc(l->n, sizeof *ptrs, &err) : NULL;
    if (!out || (batch && !ptrs)) {
        fprintf(stderr, "bench_render: %s\n", err.msg);
        goto done;
    }
    for (size_t i = 0; batch && i < l->n; i++) ptrs[i] = &l->items[i];
    uint64_t count = 0;
    double t0 = now(), t;
    do {
        for (size_t i = 0; i < l->n; i += n_out) {
            size_t m = l->n - i < n_out ? l->n - i : n_out;
            if (batch ? dd_render_batch(r, ptrs + i, m, out, &err) : dd_render(r, &l->items[i], out, &err)) {
                fprintf(stderr, "bench_render: drawing %zu: %s\n", i + 1, err.msg);
                goto done;
            }
        }
        count += l->n;
        t = now() - t0;
    } while (t < seconds);
    char how[32];
    if (batch)
        snprintf(how, sizeof how, "batch of %zu", batch);
    else
        snprintf(how, sizeof how, "per drawing");
    printf("render %3ux%-3u %-13s %10.0f drawings/s  (%llu drawings in %.2f s, 1 core)\n", h, w, how,
           (double)count / t, (unsigned long long)count, t);
done:
    free(ptrs);
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
    bench(&l, 28, 28, 0, seconds);
    bench(&l, 28, 28, BATCH, seconds);
    bench(&l, 66, 100, 0, seconds);
    bench(&l, 66, 100, BATCH, seconds);
done:
    for (size_t i = 0; i < l.n; i++) dd_drawing_free(&l.items[i]);
    free(l.items);
    return rc;
}
