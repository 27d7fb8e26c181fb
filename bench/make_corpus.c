/* make_corpus: the helper of bench/make_corpus (run that script; it builds this and checks disk space).
 *
 * SYNTHETIC DATA, FOR SPEED AND MEMORY FIGURES ONLY, NEVER FOR ACCURACY: every drawing is a seeded variation of a
 * real raw drawing of its class (../shared/data/quickdraw/strokes_raw), so a model would mostly learn the few real
 * drawings behind them.
 *
 * Writes one file per class, shaped like Google's (and Kaggle's) files:
 *   simplified  full_simplified_<class>.ndjson   Google's keys, key order and numbers (dd_ndjson_write)
 *   raw         full_raw_<class>.ndjson          float32-valued coordinates, integer times in ms
 *   bin         <class>.bin                      dd_bin_write
 *   npy         numpy_bitmap/<class>.npy         (N,784) uint8, rendered with Google's recipe (dd_render)
 *   csv         train_simplified/<class>.csv     Kaggle: countrycode,drawing,key_id,recognized,timestamp,word
 * each + ".gz" with --gzip. A variation: stroke drop (p 0.15, 3+ strokes) and merge of two neighbours (p 0.15), an
 * affine map (rotation +-12 deg, scales x0.88..1.13, shear +-0.1), Gaussian jitter of 0.2% of the drawing's size
 * (more would leave more points after simplification than Google's drawings have: 484 bytes a simplified line
 * here, 475 in the real files; raw 3,953 here, 3,497 real), times stretched x0.85..1.2; raw coordinates stay whole
 * numbers when the source's are; simplified, bin, npy and csv drawings are the varied raw drawing through
 * dd_simplify.
 * key_ids are a bijection of (class, index) into Google's range 2^52..1.5*2^52, so unique; countrycode is that of
 * a random real drawing, recognized that of the source drawing, timestamp uniform over the real data's dates.
 *
 * Class c's file depends only on the seed, c and the real data, so any thread count gives the same bytes. */
#define _GNU_SOURCE /* fopencookie */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <zlib.h>

#include "doodle/quickdraw.h"
#include "doodle/render.h"
#include "doodle/rng.h"
#include "doodle/simplify.h"

#define IOBUF ((size_t)1 << 20)
#ifndef JITTER
#define JITTER 0.002 /* of the drawing's size: about 0.5 units of the simplified 0..255 box, under RDP's 2 */
#endif

typedef enum format { F_SIMPLIFIED, F_RAW, F_BIN, F_NPY, F_CSV } format;
static const char *const format_names[] = {"simplified", "raw", "bin", "npy", "csv"};

typedef struct real_class {
    char name[DD_WORD_MAX];
    dd_drawing *d;
    size_t n;
} real_class;

typedef struct job {
    const char *out_dir;
    format fmt;
    int gzip;
    uint64_t seed, per_class;
    real_class *classes;
    size_t n_classes;
    char (*countries)[3]; /* every real drawing's countrycode: picked uniformly, they follow the real mix */
    size_t n_countries;
    int threads;
} job;

typedef struct worker {
    const job *j;
    int index;
    uint64_t files, drawings, bytes;
    int failed;
    char *iobuf; /* the output's stdio buffer */
    char msg[8192];
} worker;

/* ---- output: one FILE* for plain and gzip files (fopencookie over gzwrite) ---- */

static ssize_t gz_cookie_write(void *cookie, const char *buf, size_t n) {
    size_t done = 0;
    while (done < n) {
        unsigned part = n - done > (1u << 30) ? 1u << 30 : (unsigned)(n - done);
        int w = gzwrite((gzFile)cookie, buf + done, part);
        if (w <= 0) {
            errno = EIO;
            return done ? (ssize_t)done : -1;
        }
        done += (size_t)w;
    }
    return (ssize_t)n;
}

static int gz_cookie_close(void *cookie) { return gzclose((gzFile)cookie) == Z_OK ? 0 : EOF; }

static FILE *open_out(const char *path, int gzip) {
    if (!gzip) return fopen(path, "wb");
    gzFile g = gzopen(path, "wb6"); /* gzip's default level, as a user compressing Google's files would */
    if (!g) return NULL;
    cookie_io_functions_t io = {.write = gz_cookie_write, .close = gz_cookie_close};
    FILE *f = fopencookie(g, "w", io);
    if (!f) gzclose(g);
    return f;
}

/* ---- randomness ---- */

static double uniform(dd_rng *r, double lo, double hi) { return lo + (hi - lo) * dd_rng_uniform(r); }

/* Two independent standard normal numbers (Box-Muller: one log, one sincos for both). */
static void gaussian2(dd_rng *r, double *a, double *b) {
    double u = dd_rng_uniform(r), v = 6.283185307179586 * dd_rng_uniform(r);
    double m = sqrt(-2.0 * log1p(-u));
    *a = m * cos(v);
    *b = m * sin(v);
}

/* A bijection of the low 51 bits (xorshifts and odd multipliers mod 2^51), so distinct ids stay distinct. */
static uint64_t mix51(uint64_t x) {
    const uint64_t mask = ((uint64_t)1 << 51) - 1;
    x &= mask;
    x ^= x >> 25;
    x = (x * 0x2545F4914F6CDD1Dull) & mask;
    x ^= x >> 23;
    x = (x * 0x9E3779B97F4A7C15ull) & mask;
    x ^= x >> 27;
    return x;
}

static uint64_t key_id(uint64_t seed, uint64_t cls, uint64_t i) {
    uint64_t salt = mix51(seed * 0x9E3779B97F4A7C15ull + 12345);
    return ((uint64_t)1 << 52) + mix51(((cls << 26) | i) ^ salt);
}

/* "2017-03-02 23:25:10.07453" (+ " UTC" for Google's files): uniform over the real data's 2017-01-01..04-05,
 * 10-microsecond digits with trailing zeros dropped as in Google's files. */
static void timestamp(dd_rng *r, int utc, char out[DD_TIMESTAMP_MAX]) {
    const int64_t from = 1483228800, to = 1491436800; /* 2017-01-01 and 2017-04-06 00:00 UTC */
    time_t t = (time_t)(from + (int64_t)dd_rng_below(r, (uint64_t)(to - from)));
    unsigned frac = (unsigned)dd_rng_below(r, 100000);
    struct tm tm;
    gmtime_r(&t, &tm);
    char text[80] = {0};
    size_t n = strftime(text, 32, "%Y-%m-%d %H:%M:%S", &tm); /* 19 bytes */
    if (frac) {
        n += (size_t)snprintf(text + n, 16, ".%05u", frac % 100000);
        while (text[n - 1] == '0') text[--n] = '\0';
    }
    if (utc) memcpy(text + n, " UTC", 5);
    memcpy(out, text, DD_TIMESTAMP_MAX - 1); /* 29 bytes at most */
    out[DD_TIMESTAMP_MAX - 1] = '\0';
}

/* ---- the variation of a raw drawing ---- */

/* Copies the points of stroke s of src to the end of dst's current stroke. */
static int append_stroke(dd_drawing *dst, const dd_drawing *src, uint32_t s, dd_error *err) {
    for (uint32_t i = dd_stroke_begin(src, s); i < src->stroke_end[s]; i++)
        if (dd_drawing_add_point(dst, src->x[i], src->y[i], src->has_times ? src->t[i] : 0, err)) return -1;
    return 0;
}

static int vary(dd_rng *r, const dd_drawing *src, dd_drawing *v, dd_error *err) {
    dd_drawing_clear(v);
    v->has_times = src->has_times;
    uint32_t n = src->n_strokes;
    uint32_t drop = n >= 3 && dd_rng_uniform(r) < 0.15 ? (uint32_t)dd_rng_below(r, n) : UINT32_MAX;
    uint32_t merge = n >= 2 && dd_rng_uniform(r) < 0.15 ? (uint32_t)dd_rng_below(r, n - 1) : UINT32_MAX;
    for (uint32_t s = 0; s < n; s++) {
        if (s == drop) continue;
        if (append_stroke(v, src, s, err)) return -1;
        if (s != merge || s + 1 == drop) dd_drawing_end_stroke(v); /* a merged stroke goes on with the next one */
    }
    dd_bounds b = dd_drawing_bounds(v);
    double cx = (b.min_x + b.max_x) / 2, cy = (b.min_y + b.max_y) / 2;
    double size = fmax(fmax(b.max_x - b.min_x, b.max_y - b.min_y), 1.0);
    double a = uniform(r, -0.21, 0.21), sx = exp(uniform(r, -0.125, 0.125)), sy = exp(uniform(r, -0.125, 0.125));
    double shear = uniform(r, -0.1, 0.1), sigma = JITTER * size, stretch = uniform(r, 0.85, 1.2);
    double m00 = cos(a) * sx, m01 = -sin(a) * sy + shear * cos(a) * sx, m10 = sin(a) * sx,
           m11 = cos(a) * sy + shear * sin(a) * sx;
    double min_x = INFINITY, min_y = INFINITY;
    for (uint32_t i = 0; i < v->n_points; i++) {
        double x = v->x[i] - cx, y = v->y[i] - cy, gx, gy;
        gaussian2(r, &gx, &gy);
        v->x[i] = m00 * x + m01 * y + sigma * gx;
        v->y[i] = m10 * x + m11 * y + sigma * gy;
        min_x = fmin(min_x, v->x[i]);
        min_y = fmin(min_y, v->y[i]);
        if (v->has_times) v->t[i] = round(v->t[i] * stretch);
    }
    /* back on a canvas: a small margin; coordinates whole numbers when the source's are (some devices' raw
     * drawings), else Google's float32 values */
    bool whole = true;
    for (uint32_t i = 0; i < src->n_points && whole; i++)
        whole = src->x[i] == floor(src->x[i]) && src->y[i] == floor(src->y[i]);
    double ox = uniform(r, 0, 20) - min_x, oy = uniform(r, 0, 20) - min_y;
    for (uint32_t i = 0; i < v->n_points; i++) {
        v->x[i] = whole ? round(v->x[i] + ox) : (double)(float)(v->x[i] + ox);
        v->y[i] = whole ? round(v->y[i] + oy) : (double)(float)(v->y[i] + oy);
    }
    return dd_drawing_validate(v, err);
}

/* ---- writers that the library does not have ---- */

/* Kaggle's drawing text: Python's str() of the list, ", " between items. */
static int csv_row(FILE *f, const dd_drawing *d) {
    int bad = fprintf(f, "%s,\"[", d->countrycode) < 0;
    for (uint32_t s = 0; s < d->n_strokes; s++) {
        uint32_t b = dd_stroke_begin(d, s), e = d->stroke_end[s];
        bad |= fputs(s ? ", [[" : "[[", f) < 0;
        for (uint32_t i = b; i < e; i++) bad |= fprintf(f, i > b ? ", %d" : "%d", (int)d->x[i]) < 0;
        bad |= fputs("], [", f) < 0;
        for (uint32_t i = b; i < e; i++) bad |= fprintf(f, i > b ? ", %d" : "%d", (int)d->y[i]) < 0;
        bad |= fputs("]]", f) < 0;
    }
    bad |= fprintf(f, "]\",%" PRIu64 ",%s,%s,%s\n", d->key_id, d->recognized ? "True" : "False", d->timestamp,
                   d->word) < 0;
    return bad ? -1 : 0;
}

/* numpy's own version-1 header for (n, 784) uint8, padded to 128 bytes as in Google's files. */
static int npy_header(FILE *f, uint64_t n) {
    char h[128];
    memset(h, ' ', sizeof h);
    memcpy(h, "\x93NUMPY\x01\x00\x76\x00", 10);
    int k =
        snprintf(h + 10, sizeof h - 10, "{'descr': '|u1', 'fortran_order': False, 'shape': (%" PRIu64 ", 784), }", n);
    if (k < 0 || k >= (int)sizeof h - 11) return -1;
    h[10 + k] = ' ';
    h[127] = '\n';
    return fwrite(h, 1, sizeof h, f) == sizeof h ? 0 : -1;
}

/* ---- one class ---- */

static void path_of(const job *j, const char *cls, char *out, size_t size) {
    static const char *const pattern[] = {"%s/full_simplified_%s.ndjson%s", "%s/full_raw_%s.ndjson%s", "%s/%s.bin%s",
                                          "%s/numpy_bitmap/%s.npy%s", "%s/train_simplified/%s.csv%s"};
    snprintf(out, size, pattern[j->fmt], j->out_dir, cls, j->gzip ? ".gz" : "");
}

static int make_class(worker *w, size_t c, dd_renderer *ren, dd_drawing *v, dd_drawing *s) {
    const job *j = w->j;
    const real_class *rc = &j->classes[c];
    char path[4096], tmp[4200];
    path_of(j, rc->name, path, sizeof path);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = open_out(tmp, j->gzip);
    if (!f) {
        snprintf(w->msg, sizeof w->msg, "%s: %s", tmp, strerror(errno));
        return -1;
    }
    setvbuf(f, w->iobuf, _IOFBF, IOBUF);
    dd_rng r;
    dd_rng_seed(&r, j->seed * 0x9E3779B97F4A7C15ull ^ (c + 1) * 0xD1B54A32D192ED03ull);
    dd_error err = {0};
    int rc_ = 0;
    if (j->fmt == F_CSV && fputs("countrycode,drawing,key_id,recognized,timestamp,word\n", f) < 0) rc_ = -1;
    if (j->fmt == F_NPY && npy_header(f, j->per_class)) rc_ = -1;
    uint8_t pixels[784];
    for (uint64_t i = 0; i < j->per_class && rc_ == 0; i++) {
        const dd_drawing *src;
        const dd_drawing *out;
        for (int attempt = 0;; attempt++) { /* a variation that cannot be simplified is drawn again */
            src = &rc->d[dd_rng_below(&r, rc->n)];
            if (vary(&r, src, v, &err) == 0) {
                if (j->fmt == F_RAW) break;
                if (dd_simplify(v, s, &err) == 0) break;
            }
            if (attempt == 100) {
                snprintf(w->msg, sizeof w->msg, "%s: 100 variations in a row failed: %s", rc->name, err.msg);
                rc_ = -1;
                break;
            }
        }
        if (rc_) break;
        dd_drawing *d = j->fmt == F_RAW ? v : s;
        snprintf(d->word, sizeof d->word, "%s", rc->name);
        memcpy(d->countrycode, j->countries[dd_rng_below(&r, j->n_countries)], 3);
        timestamp(&r, j->fmt != F_CSV, d->timestamp);
        d->recognized = src->recognized < 0 ? 1 : src->recognized;
        d->key_id = key_id(j->seed, c, i);
        out = d;
        switch (j->fmt) {
        case F_SIMPLIFIED:
        case F_RAW: rc_ = dd_ndjson_write(f, out, &err); break;
        case F_BIN: rc_ = dd_bin_write(f, out, &err); break;
        case F_CSV: rc_ = csv_row(f, out); break;
        case F_NPY:
            rc_ = dd_render(ren, out, pixels, &err);
            if (rc_ == 0 && fwrite(pixels, 1, sizeof pixels, f) != sizeof pixels) rc_ = -1;
            break;
        }
        if (rc_ && !w->msg[0])
            snprintf(w->msg, sizeof w->msg, "%s: drawing %" PRIu64 ": %s", tmp, i,
                     err.msg[0] ? err.msg : strerror(errno));
    }
    if (fclose(f) != 0 && rc_ == 0) {
        snprintf(w->msg, sizeof w->msg, "%s: %s", tmp, strerror(errno ? errno : EIO));
        rc_ = -1;
    }
    if (rc_ == 0 && rename(tmp, path) != 0) {
        snprintf(w->msg, sizeof w->msg, "%s: %s", path, strerror(errno));
        rc_ = -1;
    }
    if (rc_) {
        remove(tmp);
        return -1;
    }
    struct stat st;
    w->bytes += stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
    w->files++;
    w->drawings += j->per_class;
    return 0;
}

static void *work(void *arg) {
    worker *w = arg;
    const job *j = w->j;
    dd_error err = {0};
    dd_render_opts ro = dd_render_opts_default(28, 28);
    dd_renderer *ren = j->fmt == F_NPY ? dd_renderer_new(&ro, &err) : NULL;
    dd_drawing v, s;
    dd_drawing_init(&v);
    dd_drawing_init(&s);
    if (j->fmt == F_NPY && !ren) {
        snprintf(w->msg, sizeof w->msg, "renderer: %s", err.msg);
        w->failed = 1;
    }
    if (!(w->iobuf = malloc(IOBUF))) {
        snprintf(w->msg, sizeof w->msg, "out of memory");
        w->failed = 1;
    }
    for (size_t c = (size_t)w->index; !w->failed && c < j->n_classes; c += (size_t)j->threads)
        if (make_class(w, c, ren, &v, &s)) w->failed = 1;
    dd_drawing_free(&v);
    dd_drawing_free(&s);
    dd_renderer_free(ren);
    free(w->iobuf);
    return NULL;
}

/* ---- the real drawings ---- */

static int load_class(const char *path, real_class *rc, job *j, dd_error *err) {
    if (dd_class_from_path(path, rc->name, err)) return -1;
    dd_stroke_reader *r = dd_stroke_reader_open(path, err);
    if (!r) return -1;
    dd_drawing d;
    dd_drawing_init(&d);
    size_t cap = 0;
    int rc_ = 0;
    for (;;) {
        dd_next nx = dd_stroke_reader_next(r, &d, err);
        if (nx == DD_NEXT_END) break;
        if (nx == DD_NEXT_BAD) continue; /* the real files have none; a bad one is no source */
        if (nx != DD_NEXT_OK) {
            rc_ = -1;
            break;
        }
        if (!d.has_times) continue; /* raw drawings only */
        if (rc->n == cap) {
            cap = cap ? 2 * cap : 64;
            dd_drawing *p = realloc(rc->d, cap * sizeof *p);
            if (!p) {
                rc_ = dd_fail(err, DD_ERR_NOMEM, "out of memory");
                break;
            }
            rc->d = p;
        }
        dd_drawing_init(&rc->d[rc->n]);
        if ((rc_ = dd_drawing_copy(&rc->d[rc->n], &d, err))) break;
        rc->n++;
        if (d.countrycode[0]) {
            if (j->n_countries % 1024 == 0) {
                char(*p)[3] = realloc(j->countries, (j->n_countries + 1024) * sizeof *p);
                if (!p) {
                    rc_ = dd_fail(err, DD_ERR_NOMEM, "out of memory");
                    break;
                }
                j->countries = p;
            }
            memcpy(j->countries[j->n_countries++], d.countrycode, 3);
        }
    }
    dd_drawing_free(&d);
    dd_stroke_reader_close(r);
    if (rc_ == 0 && rc->n == 0) rc_ = dd_fail(err, DD_ERR_EMPTY, "%s: no raw drawing in it", path);
    return rc_;
}

static int usage(void) {
    fprintf(stderr, "usage: make_corpus REAL_RAW_DIR OUT_DIR FORMAT(simplified|raw|bin|npy|csv) PER_CLASS GZIP(0|1) "
                    "SEED CLASSES(0 = all) THREADS\n(run bench/make_corpus, which checks the disk first)\n");
    return 2;
}

int main(int argc, char **argv) {
    if (argc != 9) return usage();
    job j = {.out_dir = argv[2],
             .gzip = atoi(argv[5]),
             .seed = strtoull(argv[6], NULL, 10),
             .per_class = strtoull(argv[4], NULL, 10),
             .threads = atoi(argv[8])};
    int fmt = -1;
    for (int i = 0; i < 5; i++)
        if (strcmp(argv[3], format_names[i]) == 0) fmt = i;
    size_t want = strtoull(argv[7], NULL, 10);
    if (fmt < 0 || j.per_class == 0 || j.per_class > ((uint64_t)1 << 26) || j.threads < 1 || j.threads > 64)
        return usage();
    j.fmt = (format)fmt;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    dd_error err = {0};
    dd_file_list files = {0};
    int status = 1;
    if (dd_file_list_add(&files, argv[1], &err)) goto done;
    size_t n = want && want < files.count ? want : files.count;
    if (!(j.classes = calloc(n, sizeof *j.classes))) goto done;
    j.n_classes = n;
    for (size_t c = 0; c < n; c++)
        if (load_class(files.paths[c], &j.classes[c], &j, &err)) goto done;
    if (j.n_countries == 0) {
        dd_fail(&err, DD_ERR_EMPTY, "no countrycode in the real drawings");
        goto done;
    }
    char sub[4200];
    snprintf(sub, sizeof sub, "%s/%s", j.out_dir, j.fmt == F_NPY ? "numpy_bitmap" : "train_simplified");
    if ((j.fmt == F_NPY || j.fmt == F_CSV) && mkdir(sub, 0777) != 0 && errno != EEXIST) {
        dd_fail(&err, DD_ERR_IO, "%s: %s", sub, strerror(errno));
        goto done;
    }
    if ((size_t)j.threads > n) j.threads = (int)n;
    worker w[64];
    pthread_t tid[64];
    for (int t = 0; t < j.threads; t++) {
        w[t] = (worker){.j = &j, .index = t};
        if (pthread_create(&tid[t], NULL, work, &w[t])) {
            dd_fail(&err, DD_ERR_NOMEM, "cannot start a thread");
            j.threads = t;
            for (int u = 0; u < t; u++) pthread_join(tid[u], NULL);
            goto done;
        }
    }
    uint64_t files_n = 0, drawings = 0, bytes = 0;
    status = 0;
    for (int t = 0; t < j.threads; t++) {
        pthread_join(tid[t], NULL);
        if (w[t].failed) {
            fprintf(stderr, "make_corpus: %s\n", w[t].msg);
            status = 1;
        }
        files_n += w[t].files;
        drawings += w[t].drawings;
        bytes += w[t].bytes;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    printf("files %" PRIu64 " drawings %" PRIu64 " bytes %" PRIu64 " seconds %.1f rate %.0f drawings/s threads %d\n",
           files_n, drawings, bytes, secs, (double)drawings / secs, j.threads);
done:
    if (err.msg[0]) fprintf(stderr, "make_corpus: %s\n", err.msg);
    for (size_t c = 0; c < j.n_classes; c++) {
        for (size_t i = 0; i < j.classes[c].n; i++) dd_drawing_free(&j.classes[c].d[i]);
        free(j.classes[c].d);
    }
    free(j.classes);
    free(j.countries);
    dd_file_list_free(&files);
    return status;
}
