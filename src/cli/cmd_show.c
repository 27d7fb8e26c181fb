/* doodle show: a PNG gallery of a dataset — N drawings of every class, one row per class (the study's
 * "The Classes"), or many drawings of one class ("Variation in Images Within a Class"). */
#include <float.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "doodle/dataset.h"
#include "doodle/montage.h"
#include "doodle/render.h"
#include "doodle/rng.h"

static void usage(FILE *out) {
    fprintf(out, "usage: doodle show FILE.dset -o OUT.png [options]\n"
                 "\n"
                 "Draws a gallery of a dataset: by default N drawings of every class, one labelled row per class;\n"
                 "with --class, many drawings of that one class. Drawings are a seeded random sample of the split.\n"
                 "\n"
                 "  -o, --output FILE    the PNG to write\n"
                 "  -n, --per-class N    drawings per class in the all-classes gallery (default 8)\n"
                 "  -c, --class NAME     show only this class\n"
                 "      --count M        drawings shown with --class (default 64)\n"
                 "      --cols K         tiles per row with --class (default: about square)\n"
                 "      --split S        train, test or all (default all)\n"
                 "      --size HxW       render strokes at this size (default 28x28; bitmap sets keep their size)\n"
                 "      --line-width W   stroke width in drawing units (default 16, Google's)\n"
                 "      --scale K        enlarge each pixel K times (default: 3 up to 32 px, 2 up to 64, else 1)\n"
                 "      --seed S         seed of the sample (default 1)\n"
                 "  -h, --help           show this help\n"
                 "\n"
                 "Exit status: 0 done, 1 bad input or failure, 2 bad usage.\n"
                 "\n"
                 "Examples:\n"
                 "  doodle show animals.dset -o classes.png            8 drawings of every class\n"
                 "  doodle show animals.dset -o cats.png --class cat --count 100 --split test\n"
                 "  doodle show animals.dset -o big.png --size 66x100  the study's drawing size\n");
}

typedef struct show_opts {
    const char *out, *class_name;
    uint64_t per_class, count, cols, scale, seed;
    int split; /* -1 all */
    dd_render_opts render;
} show_opts;

static int by_index(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* One pass over the set: reservoir-samples up to k records of every class (or only of class `only`) in the
 * chosen split into picked[c * k …] (picked[0 … k) for one class), each class's picks in file order; seen[c]
 * counts the class's records. */
static void sample(const dd_dataset *ds, int only, int split, uint64_t k, dd_rng *rng, uint64_t *picked,
                   uint64_t *seen) {
    for (uint64_t i = 0; i < dd_dataset_count(ds); i++) {
        dd_record_info info;
        if (dd_dataset_record_info(ds, i, &info)) continue;
        if ((only >= 0 && info.label != (uint32_t)only) || (split >= 0 && (int)info.split != split)) continue;
        uint64_t slot = only >= 0 ? 0 : info.label; /* one class: its picks alone fill picked[] */
        uint64_t *mine = picked + slot * k, n = seen[info.label]++;
        if (n < k)
            mine[n] = i;
        else {
            uint64_t j = dd_rng_below(rng, n + 1);
            if (j < k) mine[j] = i;
        }
    }
    for (uint32_t c = 0; c < dd_dataset_class_count(ds); c++) {
        if (only >= 0 && c != (uint32_t)only) continue;
        uint64_t n = seen[c] < k ? seen[c] : k;
        qsort(picked + (only >= 0 ? 0 : (uint64_t)c * k), n, sizeof *picked, by_index);
    }
}

/* Fills tile with record i: the bitmap itself, or the strokes rendered. */
static int tile_of(const dd_dataset *ds, uint64_t i, dd_renderer *r, dd_drawing *d, uint8_t *tile, size_t size,
                   dd_error *err) {
    if (dd_dataset_kind(ds) == DD_DSET_BITMAPS) {
        memcpy(tile, dd_dataset_bitmap(ds, i), size);
        return 0;
    }
    if (dd_dataset_strokes(ds, i, d, err)) return -1;
    return dd_render(r, d, tile, err);
}

static int run(const char *path, const show_opts *o, dd_error *err) {
    int rc = -1;
    dd_dataset *ds = dd_dataset_open(path, err);
    if (!ds) return -1;
    dd_renderer *r = NULL;
    dd_montage *m = NULL;
    uint64_t *picked = NULL, *seen = NULL;
    uint8_t *tile = NULL;
    dd_drawing d;
    dd_drawing_init(&d);
    uint32_t h = o->render.height, w = o->render.width;
    if (dd_dataset_kind(ds) == DD_DSET_BITMAPS)
        dd_dataset_bitmap_size(ds, &h, &w);
    else if (!(r = dd_renderer_new(&o->render, err)))
        goto done;
    uint32_t n_classes = dd_dataset_class_count(ds);
    int only = -1;
    if (o->class_name && (only = dd_dataset_class_index(ds, o->class_name)) < 0) {
        const char **names = malloc(n_classes * sizeof *names);
        const char *near = NULL;
        for (uint32_t c = 0; names && c < n_classes; c++) names[c] = dd_dataset_class_name(ds, c);
        if (names) near = cli_closest(o->class_name, names, n_classes);
        if (near)
            dd_fail(err, DD_ERR_USAGE, "%s has no class '%s'; did you mean '%s'?", path, o->class_name, near);
        else
            dd_fail(err, DD_ERR_USAGE, "%s has no class '%s' (see doodle info %s)", path, o->class_name, path);
        free(names);
        goto done;
    }
    uint64_t per_row = only >= 0 ? o->count : o->per_class;
    picked = calloc((size_t)(only >= 0 ? 1 : n_classes) * per_row, sizeof *picked);
    seen = calloc(n_classes, sizeof *seen);
    tile = malloc((size_t)h * w);
    if (!picked || !seen || !tile) {
        dd_fail(err, DD_ERR_NOMEM, "out of memory");
        goto done;
    }
    dd_rng rng;
    dd_rng_seed(&rng, o->seed);
    uint64_t scale = o->scale ? o->scale : (h <= 32 && w <= 32 ? 3 : h <= 64 && w <= 64 ? 2 : 1);
    sample(ds, only, o->split, per_row, &rng, picked, seen);
    if (only >= 0) {
        uint64_t n = seen[only] < per_row ? seen[only] : per_row;
        if (n == 0) {
            dd_fail(err, DD_ERR_USAGE, "%s: class '%s' has no drawings in that split", path, o->class_name);
            goto done;
        }
        uint64_t cols = o->cols ? o->cols : (uint64_t)ceil(sqrt((double)n * h / w));
        if (cols > n) cols = n;
        dd_montage_opts mo = dd_montage_opts_default((uint32_t)((n + cols - 1) / cols), (uint32_t)cols, h, w);
        mo.scale = (uint32_t)scale;
        if (!(m = dd_montage_new(&mo, err))) goto done;
        for (uint64_t k = 0; k < n; k++) {
            if (tile_of(ds, picked[k], r, &d, tile, (size_t)h * w, err)) goto done;
            if (dd_montage_put(m, (uint32_t)(k / cols), (uint32_t)(k % cols), tile, NULL, err)) goto done;
        }
    } else {
        dd_montage_opts mo = dd_montage_opts_default(n_classes, (uint32_t)o->per_class, h, w);
        mo.scale = (uint32_t)scale;
        mo.header_width = 150;
        if (!(m = dd_montage_new(&mo, err))) goto done;
        for (uint32_t c = 0; c < n_classes; c++) {
            uint64_t n = seen[c] < per_row ? seen[c] : per_row;
            const uint64_t *mine = picked + (uint64_t)c * per_row;
            if (dd_montage_row_header(m, c, dd_dataset_class_name(ds, c), err)) goto done;
            for (uint64_t k = 0; k < n; k++) {
                if (tile_of(ds, mine[k], r, &d, tile, (size_t)h * w, err)) goto done;
                if (dd_montage_put(m, c, (uint32_t)k, tile, NULL, err)) goto done;
            }
        }
    }
    if (dd_montage_write_png(m, o->out, err)) goto done;
    uint32_t ph, pw;
    dd_montage_size(m, &ph, &pw);
    printf("wrote %s (%ux%u)\n", o->out, pw, ph);
    rc = 0;
done:
    dd_montage_free(m);
    dd_renderer_free(r);
    dd_drawing_free(&d);
    free(picked);
    free(seen);
    free(tile);
    dd_dataset_close(ds);
    return rc;
}

int cmd_show(int argc, char **argv) {
    static const struct option options[] = {
        {"output", required_argument, 0, 'o'}, {"per-class", required_argument, 0, 'n'},
        {"class", required_argument, 0, 'c'},  {"count", required_argument, 0, 'm'},
        {"cols", required_argument, 0, 'k'},   {"split", required_argument, 0, 'S'},
        {"size", required_argument, 0, 'z'},   {"line-width", required_argument, 0, 'l'},
        {"scale", required_argument, 0, 'x'},  {"seed", required_argument, 0, 's'},
        {"help", no_argument, 0, 'h'},         {0, 0, 0, 0},
    };
    show_opts o = {.per_class = 8, .count = 64, .seed = 1, .split = -1, .render = dd_render_opts_default(28, 28)};
    dd_error err;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":o:n:c:h", options, NULL)) != -1) {
        switch (c) {
        case 'o': o.out = optarg; break;
        case 'c': o.class_name = optarg; break;
        case 'n':
            if (cli_opt_u64("show", "--per-class", optarg, 1, 1000, &o.per_class)) return EXIT_USAGE;
            break;
        case 'm':
            if (cli_opt_u64("show", "--count", optarg, 1, 100000, &o.count)) return EXIT_USAGE;
            break;
        case 'k':
            if (cli_opt_u64("show", "--cols", optarg, 1, 1000, &o.cols)) return EXIT_USAGE;
            break;
        case 'x':
            if (cli_opt_u64("show", "--scale", optarg, 1, 64, &o.scale)) return EXIT_USAGE;
            break;
        case 's':
            if (cli_opt_u64("show", "--seed", optarg, 0, UINT64_MAX, &o.seed)) return EXIT_USAGE;
            break;
        case 'S':
            if (!strcmp(optarg, "train"))
                o.split = DD_SPLIT_TRAIN;
            else if (!strcmp(optarg, "test"))
                o.split = DD_SPLIT_TEST;
            else if (!strcmp(optarg, "all"))
                o.split = -1;
            else
                return cli_opt_bad("show", "--split", "train, test or all", optarg);
            break;
        case 'z':
            if (dd_parse_size(optarg, &o.render.height, &o.render.width, &err))
                return cli_usage_error("show", "--size: %s", err.msg);
            break;
        case 'l':
            if (cli_opt_double("show", "--line-width", optarg, -DBL_MAX, DBL_MAX, &o.render.line_width))
                return EXIT_USAGE; /* the range: dd_render_opts_check below */
            break;
        case 'h': usage(stdout); return 0;
        default: return cli_opt_error("show", c, argv);
        }
    }
    if (dd_render_opts_check(&o.render, &err)) return cli_usage_error("show", "%s", err.msg);
    if (optind + 1 != argc) return cli_usage_error("show", "give exactly one .dset file");
    if (!o.out) return cli_usage_error("show", "no output: give -o OUT.png");
    if (run(argv[optind], &o, &err)) return cli_report("show", &err);
    return 0;
}
