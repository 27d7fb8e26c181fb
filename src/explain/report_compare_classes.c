/* The comparison page's accuracy per class and the confusion pairs that changed (src/explain/report_compare.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "explain/report_compare.h"
#include "doodle/alloc.h"

/* ---- accuracy per class ---- */

static double class_acc(const compare *c, int r, int cls) {
    uint64_t n = compare_support(c, cls);
    return n ? (double)compare_correct(c, r, cls) / (double)n : 0;
}

/* The largest change of any run from the first, in points. */
static double largest_change(const compare *c, int cls) {
    double m = 0;
    for (int r = 1; r < c->n; r++) {
        double d = fabs(class_acc(c, r, cls) - class_acc(c, 0, cls));
        if (d > m) m = d;
    }
    return m;
}

static const compare *sort_compare; /* for by_change: qsort has no context argument */
static int by_change(const void *a, const void *b) {
    int x = *(const int *)a, y = *(const int *)b;
    double p = largest_change(sort_compare, x), q = largest_change(sort_compare, y);
    if (p != q) return p > q ? -1 : 1;
    return (x > y) - (x < y);
}

static void change_cell(FILE *f, double points) {
    fprintf(f, "<td class=\"%s\">%+.1f</td>", points > 0 ? "up" : points < 0 ? "down" : "", points);
}

/* The classes order[n]: accuracy of every run side by side, each run's change from the first. */
static void class_table(const compare *c, const int *order, int n) {
    FILE *f = c->f;
    fputs("<table class=\"sortable cmp perclass\"><thead><tr><th>class</th><th>test drawings</th>", f);
    for (int r = 0; r < c->n; r++)
        fprintf(f, "<th><span class=\"swatch\" style=\"background:%s\"></span>%s accuracy</th>", c->run[r].colour,
                c->run[r].label);
    for (int r = 1; r < c->n; r++) fprintf(f, "<th>%s &minus; %s (points)</th>", c->run[r].label, c->run[0].label);
    fputs("</tr></thead><tbody>\n", f);
    for (int i = 0; i < n; i++) {
        int cls = order[i];
        uint64_t support = compare_support(c, cls);
        fputs("<tr><td>", f);
        html_text(f, c->names[cls]);
        fprintf(f, "</td><td>%llu</td>", (unsigned long long)support);
        for (int r = 0; r < c->n; r++)
            fprintf(f, "<td data-correct=\"%llu\">%.1f%%</td>", (unsigned long long)compare_correct(c, r, cls),
                    100 * class_acc(c, r, cls));
        for (int r = 1; r < c->n; r++) change_cell(f, 100 * (class_acc(c, r, cls) - class_acc(c, 0, cls)));
        fputs("</tr>\n", f);
    }
    fputs("</tbody></table>\n", f);
}

static int per_class(compare *c, dd_error *err) {
    int *order = dd_malloc((size_t)c->k, sizeof *order, err);
    if (!order) return -1;
    for (int i = 0; i < c->k; i++) order[i] = i;
    sort_compare = c;
    qsort(order, (size_t)c->k, sizeof *order, by_change);
    sort_compare = NULL;
    FILE *f = c->f;
    report_section(f, "classes", "Accuracy per class");
    fputs("<p>", f);
    for (int r = 1; r < c->n; r++) {
        int better = 0, worse = 0;
        for (int cls = 0; cls < c->k; cls++) {
            double d = class_acc(c, r, cls) - class_acc(c, 0, cls);
            better += d > 0;
            worse += d < 0;
        }
        fprintf(f, "From %s to %s, %d classes got better, %d worse and %d stayed the same. ", c->run[0].label,
                c->run[r].label, better, worse, c->k - better - worse);
    }
    fputs("Accuracy is the share of the class's test drawings classified as it (its recall); the change is in "
          "percentage points.</p>\n",
          f);
    if (!c->many) {
        fputs("<p class=\"note\">The largest change first; click a column's heading to sort by it.</p>\n", f);
        class_table(c, order, c->k);
    } else {
        fprintf(f,
                "<p class=\"note\">The %d classes that changed most, the largest change first; click a column's "
                "heading to sort by it. All %d classes are below.</p>\n",
                REPORT_FOCUS_CLASSES, c->k);
        class_table(c, order, REPORT_FOCUS_CLASSES);
        fprintf(f, "<details><summary>All %d classes, the largest change first</summary>\n", c->k);
        class_table(c, order, c->k);
        fputs("</details>\n", f);
    }
    fputs("</section>\n", f);
    free(order);
    return 0;
}

/* ---- the confusion pairs that changed ---- */

typedef struct pair_change {
    int t, p;
    uint64_t a, b; /* drawings of t taken for p by the first run and by the other */
} pair_change;

static long long delta(const pair_change *x) { return (long long)x->b - (long long)x->a; }

static int by_delta(const void *x, const void *y) {
    const pair_change *a = x, *b = y;
    long long da = llabs(delta(a)), db = llabs(delta(b));
    if (da != db) return da > db ? -1 : 1;
    uint64_t ma = a->a > a->b ? a->a : a->b, mb = b->a > b->b ? b->a : b->b;
    if (ma != mb) return ma > mb ? -1 : 1;
    if (a->t != b->t) return a->t < b->t ? -1 : 1;
    return (a->p > b->p) - (a->p < b->p);
}

static int pairs_table(compare *c, int r, pair_change *pairs, dd_error *err) {
    (void)err;
    FILE *f = c->f;
    const uint64_t *ca = c->run[0].confusion, *cb = c->run[r].confusion;
    size_t n = 0, k = (size_t)c->k;
    for (size_t t = 0; t < k; t++)
        for (size_t p = 0; p < k; p++)
            if (t != p && ca[t * k + p] != cb[t * k + p])
                pairs[n++] = (pair_change){(int)t, (int)p, ca[t * k + p], cb[t * k + p]};
    qsort(pairs, n, sizeof *pairs, by_delta);
    const char *a = c->run[0].label, *b = c->run[r].label;
    fprintf(f, "<h3>%s &rarr; %s</h3>\n", a, b);
    if (n == 0) {
        fputs("<p>No confusion changed: every pair has the same count.</p>\n", f);
        return 0;
    }
    size_t shown = n < COMPARE_TOP_PAIRS ? n : COMPARE_TOP_PAIRS;
    fprintf(f,
            "<p class=\"note\">The %zu pairs (of %zu that changed) whose count changed most: test drawings of the "
            "true class taken for the other, by %s and by %s.</p>\n<table class=\"sortable cmp pairs\">"
            "<thead><tr><th>true class</th><th>predicted as</th><th>%s</th><th>%s</th><th>change</th></tr></thead>"
            "<tbody>\n",
            shown, n, a, b, a, b);
    for (size_t i = 0; i < shown; i++) {
        fputs("<tr><td>", f);
        html_text(f, c->names[pairs[i].t]);
        fputs("</td><td>", f);
        html_text(f, c->names[pairs[i].p]);
        long long d = delta(&pairs[i]);
        /* fewer confusions are better: green when the count falls */
        fprintf(f, "</td><td>%llu</td><td>%llu</td><td class=\"%s\">%+lld</td></tr>\n", (unsigned long long)pairs[i].a,
                (unsigned long long)pairs[i].b, d < 0 ? "up" : "down", d);
    }
    fputs("</tbody></table>\n", f);
    return 0;
}

int compare_classes_section(compare *c, dd_error *err) {
    if (per_class(c, err)) return -1;
    report_section(c->f, "pairs", "Confusions that changed");
    size_t k = (size_t)c->k;
    pair_change *pairs = dd_malloc(k * k, sizeof *pairs, err);
    if (!pairs) return -1;
    int rc = 0;
    for (int r = 1; r < c->n && rc == 0; r++) rc = pairs_table(c, r, pairs, err);
    free(pairs);
    if (rc == 0) fputs("</section>\n", c->f);
    return rc;
}
