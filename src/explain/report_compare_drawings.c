/* The comparison page's drawings that one run gets right and the other wrong (src/explain/report_compare.h): the
 * counts of agreement from the two runs' misses on the same test split, and a sample of each kind drawn as the
 * first run's model sees it, grouped by true class, inline as PNG. */
#include <stdlib.h>
#include <string.h>

#include "explain/explain_util.h"
#include "explain/report_compare.h"
#include "doodle/alloc.h"

#define SAMPLE_MAX 40   /* drawings shown each way */
#define PER_CLASS_MAX 8 /* of one true class: one row of the picture */
#define CLASSES_MAX 12  /* rows: with many classes of one or two drawings each, the picture stays short */
#define HEADER_WIDTH 190

/* A test drawing one run gets wrong: its class and what that run predicts, in the first run's class order. */
typedef struct wrong {
    uint64_t record;
    int true_class, predicted;
    float confidence;
    uint64_t group; /* drawings of its true class in the list: the largest groups are shown first */
} wrong;

static int by_record(const void *a, const void *b) {
    uint64_t x = ((const wrong *)a)->record, y = ((const wrong *)b)->record;
    return (x > y) - (x < y);
}

static int by_group(const void *a, const void *b) {
    const wrong *x = a, *y = b;
    if (x->group != y->group) return x->group > y->group ? -1 : 1;
    if (x->true_class != y->true_class) return x->true_class < y->true_class ? -1 : 1;
    if (x->confidence != y->confidence) return x->confidence > y->confidence ? -1 : 1;
    return (x->record > y->record) - (x->record < y->record);
}

/* Run r's misses in the first run's class order, sorted by record. */
static wrong *misses(const compare *c, int r, dd_error *err) {
    const compare_run *run = &c->run[r];
    wrong *w = dd_malloc(run->ev.n_misses ? run->ev.n_misses : 1, sizeof *w, err);
    if (!w) return NULL;
    for (size_t i = 0; i < run->ev.n_misses; i++) {
        const dd_eval_miss *m = &run->ev.misses[i];
        w[i] = (wrong){m->index, run->to_base[m->true_class], run->to_base[m->predicted], m->confidence, 0};
    }
    qsort(w, run->ev.n_misses, sizeof *w, by_record);
    return w;
}

typedef struct agreement {
    uint64_t total, both_right, a_only, b_only, both_wrong, same_wrong; /* a_only: right in A, wrong in B */
    wrong *a_right, *b_right; /* [b_only... ] the drawings right in A and wrong in B (B's prediction), and back */
    size_t n_a_right, n_b_right;
} agreement;

/* Merges the two sorted miss lists. */
static void agree(const wrong *ma, size_t na, const wrong *mb, size_t nb, uint64_t total, agreement *g) {
    size_t i = 0, j = 0;
    g->total = total;
    while (i < na || j < nb) {
        if (j == nb || (i < na && ma[i].record < mb[j].record)) {
            g->b_right[g->n_b_right++] = ma[i++]; /* wrong in A only */
        } else if (i == na || mb[j].record < ma[i].record) {
            g->a_right[g->n_a_right++] = mb[j++]; /* wrong in B only */
        } else {
            g->both_wrong++;
            g->same_wrong += ma[i].predicted == mb[j].predicted;
            i++;
            j++;
        }
    }
    g->a_only = g->n_a_right;
    g->b_only = g->n_b_right;
    g->both_right = total - g->a_only - g->b_only - g->both_wrong;
}

/* The sample: the largest true-class groups first, at most PER_CLASS_MAX of each (the most confident), of at most
 * CLASSES_MAX classes, at most SAMPLE_MAX in all; w is reordered, returns how many of its first entries are shown.
 * *classes gets the classes in all of w. */
static size_t sample(wrong *w, size_t n, int k, int *classes, dd_error *err) {
    uint64_t *count = dd_calloc((size_t)k, sizeof *count, err);
    if (!count) return (size_t)-1;
    for (size_t i = 0; i < n; i++) count[w[i].true_class]++;
    for (size_t i = 0; i < n; i++) w[i].group = count[w[i].true_class];
    free(count);
    qsort(w, n, sizeof *w, by_group);
    size_t kept = 0, in_group = 0;
    int groups = 0;
    *classes = 0;
    for (size_t i = 0; i < n; i++) {
        if (i == 0 || w[i].true_class != w[i - 1].true_class) {
            in_group = 0;
            ++*classes;
        }
        if (in_group++ >= PER_CLASS_MAX || kept >= SAMPLE_MAX || (in_group == 1 && groups == CLASSES_MAX)) continue;
        groups += in_group == 1;
        w[kept++] = w[i];
    }
    return kept;
}

/* One picture: a row per true class, the wrong run's prediction and its probability under each drawing. */
static int picture(const compare *c, const wrong *w, size_t n, uint64_t all, int classes, const char *right,
                   const char *wrong_run, dd_error *err) {
    uint64_t *records = dd_malloc(n, sizeof *records, err);
    if (!records) return -1;
    for (size_t i = 0; i < n; i++) records[i] = w[i].record;
    dd_image_set s = {0};
    dd_picture *p = NULL;
    uint8_t *rgb = NULL;
    unsigned char *png = NULL;
    size_t png_size = 0;
    int rc = -1, rows = 0, cols = 1;
    if (dd_image_set_load(c->run[0].m, c->ds, records, n, &s, err)) goto done;
    for (size_t i = 0, in_row = 0; i < n; i++) {
        in_row = i && w[i].true_class == w[i - 1].true_class ? in_row + 1 : 1;
        rows += in_row == 1;
        if ((int)in_row > cols) cols = (int)in_row;
    }
    char title[300];
    snprintf(title, sizeof title,
             "Right in %s, wrong in %s: %llu test drawings (%zu shown) of %d classes (%d shown). "
             "Under each: %s's prediction and its probability",
             right, wrong_run, (unsigned long long)all, n, classes, rows, wrong_run);
    dd_picture_opts po = {.rows = rows,
                          .cols = cols,
                          .tile_height = s.height,
                          .tile_width = s.width,
                          .scale = explain_tile_scale(s.height, s.width) + 1,
                          .label_height = 14,
                          .header_width = HEADER_WIDTH,
                          .title = title};
    if (!(rgb = dd_malloc((size_t)s.height * (size_t)s.width, 3, err)) || !(p = dd_picture_new(&po, err))) goto done;
    int row = -1, col = 0;
    for (size_t i = 0; i < n; i++) {
        if (i == 0 || w[i].true_class != w[i - 1].true_class) {
            char header[160];
            row++;
            col = 0;
            snprintf(header, sizeof header, "%s (%llu; %s right)", c->names[w[i].true_class],
                     (unsigned long long)w[i].group, right);
            if (dd_picture_row_header(p, row, header, err)) goto done;
        }
        char label[48];
        snprintf(label, sizeof label, "%s %.2f", c->names[w[i].predicted], w[i].confidence);
        dd_tile_ink(s.pixels + i * (size_t)s.height * (size_t)s.width, s.height, s.width, rgb);
        if (dd_picture_put(p, row, col++, rgb, label, err)) goto done;
    }
    if (dd_picture_png_bytes(p, &png, &png_size, err)) goto done;
    fputs("<figure>", c->f);
    html_png(c->f, png, png_size, title);
    fputs("<figcaption>", c->f);
    html_text(c->f, title);
    fputs("</figcaption></figure>\n", c->f);
    rc = 0;
done:
    free(png);
    dd_picture_free(p);
    free(rgb);
    dd_image_set_free(&s);
    free(records);
    return rc;
}

/* The sample of list w[n] (right in `right`, wrong in `wrong_run`) drawn, or a line saying there is none. */
static int kind(const compare *c, wrong *w, size_t n, const char *right, const char *wrong_run, dd_error *err) {
    if (n == 0) {
        fprintf(c->f, "<p>No test drawing is right in %s and wrong in %s.</p>\n", right, wrong_run);
        return 0;
    }
    int classes;
    size_t shown = sample(w, n, c->k, &classes, err);
    if (shown == (size_t)-1) return -1;
    return picture(c, w, shown, n, classes, right, wrong_run, err);
}

static void counts_table(const compare *c, const agreement *g, const char *a, const char *b) {
    FILE *f = c->f;
    fprintf(f, "<table class=\"cmp agree\" data-a=\"%s\" data-b=\"%s\"><tbody>\n", a, b);
    fprintf(f, "<tr><th>both right</th><td data-n=\"both-right\">%llu</td></tr>\n", (unsigned long long)g->both_right);
    fprintf(f, "<tr><th>right in %s, wrong in %s</th><td data-n=\"a-only\">%llu</td></tr>\n", a, b,
            (unsigned long long)g->a_only);
    fprintf(f, "<tr><th>wrong in %s, right in %s</th><td data-n=\"b-only\">%llu</td></tr>\n", a, b,
            (unsigned long long)g->b_only);
    fprintf(f, "<tr><th>both wrong (the same wrong class: %llu)</th><td data-n=\"both-wrong\">%llu</td></tr>\n",
            (unsigned long long)g->same_wrong, (unsigned long long)g->both_wrong);
    fprintf(f, "<tr><th>test drawings</th><td data-n=\"total\">%llu</td></tr>\n</tbody></table>\n",
            (unsigned long long)g->total);
}

static int one_pair(compare *c, int r, dd_error *err) {
    const char *a = c->run[0].label, *b = c->run[r].label;
    wrong *ma = misses(c, 0, err), *mb = ma ? misses(c, r, err) : NULL;
    agreement g = {0};
    size_t na = c->run[0].ev.n_misses, nb = c->run[r].ev.n_misses;
    int rc = -1;
    if (!mb || !(g.a_right = dd_malloc(nb ? nb : 1, sizeof *g.a_right, err)) ||
        !(g.b_right = dd_malloc(na ? na : 1, sizeof *g.b_right, err)))
        goto done;
    agree(ma, na, mb, nb, c->run[0].ev.metrics.total, &g);
    fprintf(c->f, "<h3>%s &rarr; %s</h3>\n", a, b);
    counts_table(c, &g, a, b);
    if (kind(c, g.a_right, g.n_a_right, a, b, err) || kind(c, g.b_right, g.n_b_right, b, a, err)) goto done;
    rc = 0;
done:
    free(g.a_right);
    free(g.b_right);
    free(ma);
    free(mb);
    return rc;
}

int compare_drawings_section(compare *c, dd_error *err) {
    report_section(c->f, "drawings", "Right in one run, wrong in the other");
    fprintf(c->f,
            "<p>Test drawings one run classifies correctly and the other does not: a sample of up to %d each way, "
            "the classes with the most such drawings first (at most %d classes), at most %d of a class (the most "
            "confident mistakes), drawn as %s's model sees them.</p>\n",
            SAMPLE_MAX, CLASSES_MAX, PER_CLASS_MAX, c->run[0].label);
    for (int r = 1; r < c->n; r++)
        if (one_pair(c, r, err)) return -1;
    fputs("</section>\n", c->f);
    return 0;
}
