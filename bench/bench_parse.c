/* bench_parse: ndjson parsing speed, separate from gzip inflate.
 *
 *   bench_parse [-n REPS] FILE.ndjson[.gz]...
 *
 * Decompresses every file into memory first (timed on its own), then parses every line with dd_ndjson_parse REPS
 * times into one reused dd_drawing, and prints MB/s of decompressed ndjson and drawings/s. A last line times the
 * whole dd_stroke_reader path (inflate + line splitting + parsing) once, for reference. Compare with
 * bench/parse_python.py on the same files. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "doodle/quickdraw.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

typedef struct text {
    char *data;
    size_t len;
} text;

static int inflate_file(const char *path, text *out) {
    gzFile g = gzopen(path, "rb");
    if (!g) {
        fprintf(stderr, "%s: cannot open\n", path);
        return -1;
    }
    size_t cap = 1 << 20, n = 0;
    char *buf = malloc(cap);
    int got = 0;
    while (buf && (got = gzread(g, buf + n, (unsigned)(cap - n))) > 0) {
        n += (size_t)got;
        if (n == cap) {
            char *p = realloc(buf, cap *= 2);
            if (!p) {
                free(buf);
                buf = NULL;
            }
            buf = p;
        }
    }
    gzclose(g);
    if (!buf || got < 0) {
        fprintf(stderr, "%s: cannot read\n", path);
        free(buf);
        return -1;
    }
    out->data = buf;
    out->len = n;
    return 0;
}

int main(int argc, char **argv) {
    int reps = 0, first = 1;
    if (argc > 2 && strcmp(argv[1], "-n") == 0) {
        reps = atoi(argv[2]);
        first = 3;
    }
    if (first >= argc) {
        fprintf(stderr, "usage: bench_parse [-n REPS] FILE.ndjson[.gz]...\n");
        return 2;
    }
    int n_files = argc - first;
    text *texts = calloc((size_t)n_files, sizeof *texts);
    if (!texts) return 1;
    double t0 = now();
    size_t bytes = 0;
    for (int i = 0; i < n_files; i++) {
        if (inflate_file(argv[first + i], &texts[i])) return 1;
        bytes += texts[i].len;
    }
    double inflate_s = now() - t0;

    dd_drawing d;
    dd_drawing_init(&d);
    dd_error err;
    unsigned long long drawings = 0, bad = 0;
    if (reps <= 0) reps = bytes ? (int)(600e6 / (double)bytes) + 1 : 1; /* about 600 MB of text in total */
    t0 = now();
    for (int r = 0; r < reps; r++)
        for (int i = 0; i < n_files; i++) {
            const char *p = texts[i].data, *end = p + texts[i].len;
            while (p < end) {
                const char *nl = memchr(p, '\n', (size_t)(end - p));
                const char *line_end = nl ? nl : end;
                if (line_end > p) {
                    if (dd_ndjson_parse(p, (size_t)(line_end - p), &d, &err) == 0)
                        drawings++;
                    else if (bad++ == 0)
                        fprintf(stderr, "%s: %s\n", argv[first + i], err.msg);
                }
                p = line_end + 1;
            }
        }
    double parse_s = now() - t0;
    double mb = (double)bytes * reps / 1e6;
    printf("doodle parse: %d files, %.1f MB decompressed x %d reps: %.0f MB/s, %.0f drawings/s (%llu bad)\n", n_files,
           (double)bytes / 1e6, reps, mb / parse_s, (double)drawings / parse_s, bad);
    printf("gzip inflate: %.1f MB in %.3f s = %.0f MB/s of output (not included above)\n", (double)bytes / 1e6,
           inflate_s, (double)bytes / 1e6 / inflate_s);

    t0 = now();
    unsigned long long read = 0;
    for (int i = 0; i < n_files; i++) {
        dd_stroke_reader *r = dd_stroke_reader_open(argv[first + i], &err);
        if (!r) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
        dd_next rc;
        while ((rc = dd_stroke_reader_next(r, &d, &err)) != DD_NEXT_END && rc != DD_NEXT_FATAL)
            read += rc == DD_NEXT_OK;
        dd_stroke_reader_close(r);
    }
    double reader_s = now() - t0;
    printf("stroke reader (inflate + split + parse): %.0f MB/s, %.0f drawings/s\n", (double)bytes / 1e6 / reader_s,
           (double)read / reader_s);

    for (int i = 0; i < n_files; i++) free(texts[i].data);
    free(texts);
    dd_drawing_free(&d);
    return 0;
}
