/* doodle render: stroke files -> .npy bitmaps (one image per drawing) or a PNG picture grid. */
#include <float.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/cli.h"
#include "doodle/alloc.h"
#include "doodle/montage.h"
#include "doodle/quickdraw.h"
#include "doodle/render.h"
#include "doodle/simplify.h"

#define PNG_DEFAULT_LIMIT 100 /* drawings per file in a PNG grid unless --limit says otherwise */

static void usage(FILE *out) {
    fprintf(
        out,
        "usage: doodle render [options] -o OUT.npy|OUT.png FILE…\n"
        "\n"
        "Renders Quick, Draw! stroke drawings (ndjson, .bin or Kaggle .csv, each optionally .gz) to 8-bit images with\n"
        "Google's recipe for the official 28x28 bitmaps (centred, round-capped anti-aliased line of width 16\n"
        "with a padding of 16, in the 256-unit box); raw drawings are simplified with Google's recipe first.\n"
        "\n"
        "  -o, --output FILE     OUT.npy (or .npy.gz): uint8 array of shape (N, H, W), one image per drawing,\n"
        "                        in file order (files in the order given), 0 = background, 255 = ink;\n"
        "                        OUT.png: a picture grid, ink dark on white, each file starting a new row\n"
        "                        (headed by its class name when there are several files).\n"
        "                        Written atomically: nothing is left behind on failure.\n"
        "  -s, --size HxW        image height x width (default 28x28); other shapes keep the aspect ratio,\n"
        "                        the drawing centred (e.g. 66x100)\n"
        "      --line-width W    line width in drawing units, the 256 box (default 16)\n"
        "      --padding P       padding around the 256 box, in drawing units (default 16)\n"
        "  -n, --limit N         at most N drawings from each file (default: all for .npy, %d for .png)\n"
        "      --cols C          .png: drawings per row (default 10)\n"
        "      --scale K         .png: enlarge each pixel K times (default 2)\n"
        "      --strict          stop at the first bad record instead of skipping it\n"
        "  -q, --quiet           do not list skipped records\n"
        "  -h, --help            show this help\n"
        "\n"
        "Bad records are reported as FILE:LINE (ndjson, .csv) or FILE: record N (.bin), skipped and counted.\n"
        "Exit status: 0 done, 1 bad input or failure, 2 bad usage.\n"
        "\n"
        "Examples:\n"
        "  doodle render full_simplified_cat.ndjson -o cat.npy          28x28 bitmaps as Google makes them\n"
        "  doodle render cat.ndjson.gz dog.ndjson.gz -o pets.png -n 20  a picture grid, a row a class\n"
        "  doodle render -s 66x100 --line-width 8 cat.bin -o cat66.npy  the study's size, thinner lines\n",
        PNG_DEFAULT_LIMIT);
}

typedef struct render_job {
    dd_render_opts render;
    uint64_t limit; /* per file; 0 = all */
    uint64_t cols, scale;
    int strict, quiet;
} render_job;

/* Images so far, one after another, and where each file's begin. */
typedef struct image_store {
    uint8_t *pixels;
    size_t image_size, count, cap;
} image_store;

typedef struct file_part {
    const char *path;
    size_t first, count;
    char name[DD_WORD_MAX]; /* class name for the PNG row header */
} file_part;

static uint8_t *store_next(image_store *s, dd_error *err) {
    if (s->count == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 256;
        uint8_t *p = dd_realloc(s->pixels, cap, s->image_size, err);
        if (!p) return NULL;
        s->pixels = p;
        s->cap = cap;
    }
    return s->pixels + s->count * s->image_size;
}

/* Reads path, rendering each drawing into the store. Returns 0, or -1 with err set for a fatal error. */
static int render_file(const render_job *job, dd_renderer *r, const char *path, image_store *store, file_part *part,
                       uint64_t *skipped, dd_error *err) {
    memset(part, 0, sizeof *part);
    part->path = path;
    part->first = store->count;
    if (dd_class_from_path(path, part->name, NULL)) snprintf(part->name, sizeof part->name, "%s", path);
    dd_stroke_reader *rd = dd_stroke_reader_open(path, err);
    if (!rd) return -1;
    dd_drawing d, scratch;
    dd_drawing_init(&d);
    dd_drawing_init(&scratch);
    int rc = 0;
    while (!job->limit || part->count < job->limit) {
        dd_error rec_err = {0};
        dd_next nx = dd_stroke_reader_next(rd, &d, &rec_err);
        if (nx == DD_NEXT_END) break;
        if (nx == DD_NEXT_OK) {
            const dd_drawing *use = NULL;
            uint8_t *img = store_next(store, err);
            if (!img) {
                rc = -1;
                break;
            }
            if ((use = dd_simplified_view(&d, &scratch, &rec_err)) && dd_render(r, use, img, &rec_err) == 0) {
                if (!part->count && d.word[0]) /* the drawings' own class name beats the file name */
                    snprintf(part->name, sizeof part->name, "%s", d.word);
                store->count++;
                part->count++;
                continue;
            }
            /* out of memory or a cairo failure stops everything; anything else is this record's fault */
            if (rec_err.code == DD_ERR_NOMEM || rec_err.code == DD_ERR_IO)
                nx = DD_NEXT_FATAL;
            else
                nx = DD_NEXT_BAD;
            dd_stroke_reader_locate(rd, &rec_err);
        }
        if (nx == DD_NEXT_FATAL) {
            *err = rec_err;
            rc = -1;
            break;
        }
        ++*skipped;
        if (job->strict) {
            *err = rec_err;
            dd_error_prefix(err, "bad record (--strict)");
            rc = -1;
            break;
        }
        if (!job->quiet) fprintf(stderr, "doodle render: skipped %s\n", rec_err.msg);
    }
    dd_drawing_free(&d);
    dd_drawing_free(&scratch);
    dd_stroke_reader_close(rd);
    return rc;
}

static int write_png(const render_job *job, const char *out, const image_store *store, const file_part *parts,
                     size_t n_parts, dd_error *err) {
    uint64_t cols = 1;
    for (size_t f = 0; f < n_parts; f++)
        if (parts[f].count > cols) cols = parts[f].count;
    if (cols > job->cols) cols = job->cols;
    uint64_t rows = 0;
    size_t longest = 0;
    for (size_t f = 0; f < n_parts; f++) {
        rows += (parts[f].count + cols - 1) / cols;
        size_t n = strlen(parts[f].name);
        if (n > longest) longest = n;
    }
    if (rows > UINT32_MAX) return dd_fail(err, DD_ERR_RANGE, "too many drawings for one picture; use --limit");
    dd_montage_opts mo = dd_montage_opts_default((uint32_t)rows, (uint32_t)cols, job->render.height, job->render.width);
    mo.scale = (uint32_t)job->scale;
    mo.gap = 4;
    if (n_parts > 1) {
        /* about 8.5 pixels a character at the header's font size; longer names are shortened */
        mo.header_width = (uint32_t)(longest * 17 / 2 + 10);
        if (mo.header_width > 240) mo.header_width = 240;
    }
    dd_montage *m = dd_montage_new(&mo, err);
    if (!m) return dd_error_prefix(err, "%s (use --limit, --cols or --scale for a smaller picture)", out);
    uint32_t row = 0;
    int rc = 0;
    for (size_t f = 0; f < n_parts && rc == 0; f++) {
        if (!parts[f].count) continue;
        if (mo.header_width) rc = dd_montage_row_header(m, row, parts[f].name, err);
        for (size_t k = 0; k < parts[f].count && rc == 0; k++)
            rc = dd_montage_put(m, row + (uint32_t)(k / cols), (uint32_t)(k % cols),
                                store->pixels + (parts[f].first + k) * store->image_size, NULL, err);
        row += (uint32_t)((parts[f].count + cols - 1) / cols);
    }
    if (rc == 0) rc = dd_montage_write_png(m, out, err);
    dd_montage_free(m);
    return rc;
}

int cmd_render(int argc, char **argv) {
    static const struct option options[] = {
        {"output", required_argument, 0, 'o'},
        {"size", required_argument, 0, 's'},
        {"line-width", required_argument, 0, 'w'},
        {"padding", required_argument, 0, 'p'},
        {"limit", required_argument, 0, 'n'},
        {"cols", required_argument, 0, 'c'},
        {"scale", required_argument, 0, 'k'},
        {"strict", no_argument, 0, 'S'},
        {"quiet", no_argument, 0, 'q'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    render_job job = {.render = dd_render_opts_default(28, 28), .cols = 10, .scale = 2};
    const char *out = NULL;
    int limit_given = 0, c;
    dd_error err = {0};
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":o:s:n:qh", options, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case 's':
            if (dd_parse_size(optarg, &job.render.height, &job.render.width, &err))
                return cli_usage_error("render", "--size: %s", err.msg);
            break;
        case 'w':
            if (cli_opt_double("render", "--line-width", optarg, -DBL_MAX, DBL_MAX, &job.render.line_width))
                return EXIT_USAGE; /* the range: dd_render_opts_check below */
            break;
        case 'p':
            if (cli_opt_double("render", "--padding", optarg, -DBL_MAX, DBL_MAX, &job.render.padding))
                return EXIT_USAGE;
            break;
        case 'n':
            if (cli_opt_u64("render", "--limit", optarg, 1, UINT64_MAX, &job.limit)) return EXIT_USAGE;
            limit_given = 1;
            break;
        case 'c':
            if (cli_opt_u64("render", "--cols", optarg, 1, 10000, &job.cols)) return EXIT_USAGE;
            break;
        case 'k':
            if (cli_opt_u64("render", "--scale", optarg, 1, 64, &job.scale)) return EXIT_USAGE;
            break;
        case 'S': job.strict = 1; break;
        case 'q': job.quiet = 1; break;
        case 'h': usage(stdout); return 0;
        default: return cli_opt_error("render", c, argv);
        }
    }
    if (dd_render_opts_check(&job.render, &err)) return cli_usage_error("render", "%s", err.msg);
    if (!out) return cli_usage_error("render", "no output: give -o OUT.npy or -o OUT.png");
    int png = cli_has_suffix(out, ".png");
    if (!png && !cli_has_suffix(out, ".npy") && !cli_has_suffix(out, ".npy.gz"))
        return cli_usage_error("render", "output '%s' must end in .npy or .npy.gz (bitmaps) or .png (picture grid)",
                               out);
    if (optind >= argc) return cli_usage_error("render", "no input files");
    if (png && !limit_given) job.limit = PNG_DEFAULT_LIMIT;

    size_t n_files = (size_t)(argc - optind);
    file_part *parts = dd_calloc(n_files, sizeof *parts, &err);
    image_store store = {.image_size = (size_t)job.render.height * job.render.width};
    dd_renderer *r = parts ? dd_renderer_new(&job.render, &err) : NULL;
    uint64_t skipped = 0;
    int rc = 1;
    if (!r) goto report;
    for (size_t f = 0; f < n_files; f++)
        if (render_file(&job, r, argv[optind + (int)f], &store, &parts[f], &skipped, &err)) goto report;
    if (store.count == 0) {
        dd_fail(&err, DD_ERR_EMPTY, "no drawings to render%s", skipped ? " (every record was bad)" : "");
        goto report;
    }
    if (png) {
        if (write_png(&job, out, &store, parts, n_files, &err)) goto report;
    } else {
        dd_bitmaps b = {
            .count = store.count, .height = job.render.height, .width = job.render.width, .pixels = store.pixels};
        if (dd_npy_write(out, &b, &err)) goto report;
    }
    printf("wrote %s: %zu drawings at %ux%u from %zu file%s", out, store.count, job.render.height, job.render.width,
           n_files, n_files == 1 ? "" : "s");
    if (skipped) printf(", %llu bad record%s skipped", (unsigned long long)skipped, skipped == 1 ? "" : "s");
    printf("\n");
    rc = 0;
report:
    if (rc) {
        cli_report("render", &err);
        if (skipped)
            fprintf(stderr, "doodle render: %llu bad record%s skipped before that\n", (unsigned long long)skipped,
                    skipped == 1 ? "" : "s");
        rc = err.code == DD_ERR_USAGE ? EXIT_USAGE : 1;
    }
    dd_renderer_free(r);
    free(store.pixels);
    free(parts);
    return rc;
}
