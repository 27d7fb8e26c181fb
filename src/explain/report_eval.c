/* The report's evaluation (src/explain/report_internal.h): the test metrics, the confusion matrix, the most
 * confused pairs and the per-class table worst first; which classes a large run's pictures show; and that run's
 * "misclassified as" pictures, a few groups for each of those classes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "explain/explain_util.h"
#include "explain/grouped_picture.h"
#include "explain/report_internal.h"
#include "doodle/alloc.h"
#include "viz/report_html.h"

#define TOP_PAIRS 30
#define WORST_CLASSES 30 /* rows of a large run's visible per-class table */
#define MISS_GROUPS 3    /* a large run's "misclassified as X": the largest groups by true class … */
#define MISS_PER_GROUP 5 /* … and their most confident drawings */
#define MISS_CLASSES 20  /* a large run: the most confused classes drawn */
#define MISS_OPEN 3      /* pictures shown open; the others are in closed <details> */

const char REPORT_SORT_SCRIPT[] =
    "document.querySelectorAll('table.sortable').forEach(function(t){t.tHead.addEventListener('click',function(e){"
    "var h=e.target.closest('th');if(!h)return;var i=h.cellIndex,b=t.tBodies[0],"
    "d=h.getAttribute('aria-sort')==='ascending'?-1:1;"
    "Array.prototype.forEach.call(t.tHead.rows[0].cells,function(c){c.removeAttribute('aria-sort')});"
    "h.setAttribute('aria-sort',d>0?'ascending':'descending');"
    "var v=function(r){var s=r.cells[i].textContent,n=parseFloat(s);return isNaN(n)?s:n};"
    "Array.prototype.slice.call(b.rows).map(function(r){return[v(r),r]}).sort(function(x,y){var a=x[0],c=y[0];"
    "return d*(typeof a==='number'&&typeof c==='number'?a-c:String(a).localeCompare(String(c)))})"
    ".forEach(function(p){b.appendChild(p[1])})})});";

typedef struct ranked {
    int c;
    uint64_t n;
} ranked;

static int by_count_desc(const void *a, const void *b) {
    const ranked *x = a, *y = b;
    if (x->n != y->n) return x->n > y->n ? -1 : 1;
    return (x->c > y->c) - (x->c < y->c);
}

/* Every class in class order; in a large run with a test split, the classes with the most errors both ways. */
static int choose_focus(report *r, dd_error *err) {
    int classes = r->m->spec->classes;
    r->n_focus = r->many ? REPORT_FOCUS_CLASSES : classes;
    ranked *rank = dd_malloc((size_t)classes, sizeof *rank, err);
    if (!rank || !(r->focus = dd_malloc((size_t)r->n_focus, sizeof *r->focus, err))) {
        free(rank);
        return -1;
    }
    const uint64_t *cm = r->has_test ? r->ev.metrics.confusion : NULL;
    for (int c = 0; c < classes; c++) {
        rank[c] = (ranked){c, 0};
        for (int o = 0; cm && o < classes; o++)
            if (o != c) rank[c].n += cm[(size_t)c * classes + o] + cm[(size_t)o * classes + c];
    }
    if (r->many && cm) qsort(rank, (size_t)classes, sizeof *rank, by_count_desc);
    for (int i = 0; i < r->n_focus; i++) r->focus[i] = rank[i].c;
    free(rank);
    return 0;
}

int report_evaluate(report *r, dd_error *err) {
    r->many = r->m->spec->classes > REPORT_MANY_CLASSES;
    if (dd_eval_run(r->m, r->ds, DD_SPLIT_TEST, 64, &r->ev, err) == 0) {
        r->has_test = 1;
    } else {
        if (err->code != DD_ERR_EMPTY) return -1;
        dd_error_clear(err); /* no test split: the report says so */
        r->has_test = 0;
    }
    return choose_focus(r, err);
}

/* ---- the most confused pairs ---- */

typedef struct pair {
    int t, p;
    uint64_t n;
    double share; /* of the true class's test drawings */
} pair;

static int by_pair(const void *a, const void *b) {
    const pair *x = a, *y = b;
    if (x->n != y->n) return x->n > y->n ? -1 : 1;
    if (x->share != y->share) return x->share > y->share ? -1 : 1;
    if (x->t != y->t) return x->t < y->t ? -1 : 1;
    return (x->p > y->p) - (x->p < y->p);
}

static uint64_t row_sum(const dd_metrics *mt, int t) {
    uint64_t s = 0;
    for (int c = 0; c < mt->classes; c++) s += mt->confusion[(size_t)t * mt->classes + c];
    return s;
}

static int pairs_table(report *r, dd_error *err) {
    const dd_metrics *mt = &r->ev.metrics;
    int k = mt->classes;
    size_t n = 0;
    for (size_t i = 0; i < (size_t)k * k; i++) n += i % (size_t)(k + 1) != 0 && mt->confusion[i] > 0;
    FILE *f = r->f;
    fputs("<h3>Most confused pairs</h3>\n", f);
    if (n == 0) {
        fputs("<p>No test drawing is misclassified.</p>\n", f);
        return 0;
    }
    pair *pairs = dd_malloc(n, sizeof *pairs, err);
    if (!pairs) return -1;
    n = 0;
    for (int t = 0; t < k; t++) {
        uint64_t row = row_sum(mt, t);
        for (int p = 0; p < k; p++) {
            uint64_t v = mt->confusion[(size_t)t * k + p];
            if (p != t && v > 0) pairs[n++] = (pair){t, p, v, row ? (double)v / (double)row : 0};
        }
    }
    qsort(pairs, n, sizeof *pairs, by_pair);
    size_t shown = n < TOP_PAIRS ? n : TOP_PAIRS;
    fprintf(f,
            "<p class=\"note\">The %zu pairs (of %zu) with the most test drawings taken for another class; share: "
            "of the true class's test drawings; the other way: drawings of the predicted class taken for the true "
            "one.</p>\n<table class=\"sortable pairs\"><thead><tr><th>true class</th><th>predicted as</th>"
            "<th>drawings</th><th>share of the true class</th><th>the other way</th></tr></thead><tbody>\n",
            shown, n);
    for (size_t i = 0; i < shown; i++) {
        fputs("<tr><td>", f);
        html_text(f, r->names[pairs[i].t]);
        fputs("</td><td>", f);
        html_text(f, r->names[pairs[i].p]);
        fprintf(f, "</td><td>%llu</td><td>%.1f%%</td><td>%llu</td></tr>\n", (unsigned long long)pairs[i].n,
                100 * pairs[i].share, (unsigned long long)mt->confusion[(size_t)pairs[i].p * k + pairs[i].t]);
    }
    fputs("</tbody></table>\n", f);
    free(pairs);
    return 0;
}

/* ---- per class ---- */

static void metrics_row(FILE *f, const char *name, dd_class_metrics c, int bold) {
    fputs(bold ? "<tr><th>" : "<tr><td>", f);
    html_text(f, name);
    fprintf(f, "%s<td>%.3f</td><td>%.3f</td><td>%.3f</td><td>%llu</td><td>%llu</td></tr>\n", bold ? "</th>" : "</td>",
            c.precision, c.recall, c.f1, (unsigned long long)c.support, (unsigned long long)c.predicted);
}

/* The classes order[n] and the averages, sortable by any column. */
static void metrics_table(report *r, const int *order, int n) {
    const dd_metrics *mt = &r->ev.metrics;
    FILE *f = r->f;
    fputs("<table class=\"sortable metrics\"><thead><tr><th>class</th><th>precision</th><th>recall</th><th>F1</th>"
          "<th>support</th><th>predicted</th></tr></thead><tbody>\n",
          f);
    for (int i = 0; i < n; i++) metrics_row(f, r->names[order[i]], dd_metrics_class(mt, order[i]), 0);
    fputs("</tbody><tfoot>", f);
    metrics_row(f, "macro average", dd_metrics_macro(mt), 1);
    metrics_row(f, "weighted average", dd_metrics_weighted(mt), 1);
    fputs("</tfoot></table>\n", f);
}

static const dd_metrics *sort_metrics; /* for by_f1: qsort has no context argument */
static int by_f1(const void *a, const void *b) {
    int x = *(const int *)a, y = *(const int *)b;
    dd_class_metrics p = dd_metrics_class(sort_metrics, x), q = dd_metrics_class(sort_metrics, y);
    if (p.f1 != q.f1) return p.f1 < q.f1 ? -1 : 1;
    if (p.recall != q.recall) return p.recall < q.recall ? -1 : 1;
    if (p.support != q.support) return p.support > q.support ? -1 : 1; /* more drawings wrong */
    return (x > y) - (x < y);
}

static int per_class_tables(report *r, dd_error *err) {
    const dd_metrics *mt = &r->ev.metrics;
    int k = mt->classes;
    int *order = dd_malloc((size_t)k, sizeof *order, err);
    if (!order) return -1;
    for (int c = 0; c < k; c++) order[c] = c;
    sort_metrics = mt;
    qsort(order, (size_t)k, sizeof *order, by_f1);
    sort_metrics = NULL;
    FILE *f = r->f;
    fputs("<h3>Per class</h3>\n", f);
    if (!r->many) {
        fputs("<p class=\"note\">Worst first (by F1, then recall, then the most test drawings); click a column's "
              "heading to sort by it.</p>\n",
              f);
        metrics_table(r, order, k);
    } else {
        fprintf(f,
                "<p class=\"note\">The %d classes with the lowest F1 (then recall, then the most test drawings), worst "
                "first; click a column's "
                "heading to sort by it. All %d classes are below.</p>\n",
                WORST_CLASSES, k);
        metrics_table(r, order, WORST_CLASSES);
        for (int c = 0; c < k; c++) order[c] = c;
        fprintf(f, "<details><summary>All %d classes, in class order</summary>\n", k);
        metrics_table(r, order, k);
        fputs("</details>\n", f);
    }
    free(order);
    return 0;
}

/* ---- the section ---- */

static int confusion(report *r, dd_error *err) {
    const dd_metrics *mt = &r->ev.metrics;
    char path[4200];
    if (explain_path(path, sizeof path, r->dir, "confusion.csv", err) ||
        dd_metrics_write_confusion_csv(mt, r->names, path, err))
        return -1;
    FILE *f = r->f;
    fputs("<h3>Confusion matrix</h3><p class=\"note\">Rows are the true classes, columns the predictions; the shade is "
          "the share of the row (blue: right, red: wrong). ",
          f);
    if (r->many)
        fprintf(f,
                "The %d classes most involved in confusions (the most errors, counted both ways), the rest of "
                "each row under &ldquo;other classes&rdquo;. ",
                REPORT_MATRIX_CLASSES);
    fputs("The whole matrix, counts: <a href=\"", f);
    html_text(f, r->link);
    fputs("/confusion.csv\">explain/confusion.csv</a>.</p>\n", f);
    fputs("<div class=\"wide\">", f);
    if (r->many)
        html_confusion(f, mt->confusion, mt->classes, r->names, r->focus, REPORT_MATRIX_CLASSES);
    else
        html_confusion(f, mt->confusion, mt->classes, r->names, NULL, 0);
    fputs("</div>\n", f);
    return 0;
}

int report_evaluation_section(report *r, dd_error *err) {
    FILE *f = r->f;
    report_section(f, "evaluation", "Evaluation on the test split");
    if (!r->has_test) {
        fputs("<p class=\"note\">The data has no test split: nothing to evaluate.</p></section>\n", f);
        return 0;
    }
    const dd_metrics *mt = &r->ev.metrics;
    fprintf(f, "<p>Accuracy <b>%.2f%%</b> (%llu of %llu), mean cross-entropy %.4f, top-3 accuracy %.2f%%.</p>\n",
            100 * dd_metrics_accuracy(mt), (unsigned long long)mt->correct, (unsigned long long)mt->total,
            dd_metrics_loss(mt), 100 * dd_metrics_topk(mt));
    if (confusion(r, err) || pairs_table(r, err) || per_class_tables(r, err)) return -1;
    fputs("</section>\n", f);
    return 0;
}

/* ---- "misclassified as" in a large run ---- */

typedef struct miss_key {
    uint64_t group_size; /* drawings of the true class taken for X */
    int true_class;
    float confidence;
    uint64_t record;
} miss_key;

static int by_group_then_confidence(const void *a, const void *b) {
    const miss_key *x = a, *y = b;
    if (x->group_size != y->group_size) return x->group_size > y->group_size ? -1 : 1;
    if (x->true_class != y->true_class) return x->true_class < y->true_class ? -1 : 1;
    if (x->confidence != y->confidence) return x->confidence > y->confidence ? -1 : 1;
    return (x->record > y->record) - (x->record < y->record);
}

typedef struct as_ctx {
    const report *r;
    int x;
} as_ctx;

static void as_header(size_t group, size_t count, void *ctx, char *buf, size_t size) {
    (void)count; /* the drawings shown; the header gives all of them */
    const as_ctx *c = ctx;
    int k = c->r->m->spec->classes;
    snprintf(buf, size, "%s as %s (%llu)", c->r->names[group], c->r->names[c->x],
             (unsigned long long)c->r->ev.metrics.confusion[group * (size_t)k + (size_t)c->x]);
}

/* The drawings to show for x: the MISS_PER_GROUP most confident of each of the MISS_GROUPS largest groups, into
 * keys (room for every miss); returns how many, and *wrong / *groups get all of x's misses and groups. */
static size_t pick_misses(const report *r, int x, miss_key *keys, uint64_t *wrong, int *groups) {
    const dd_metrics *mt = &r->ev.metrics;
    int k = mt->classes;
    size_t n = 0;
    for (size_t i = 0; i < r->ev.n_misses; i++) {
        const dd_eval_miss *m = &r->ev.misses[i];
        if (m->predicted == x)
            keys[n++] =
                (miss_key){mt->confusion[(size_t)m->true_class * k + x], m->true_class, m->confidence, m->index};
    }
    qsort(keys, n, sizeof *keys, by_group_then_confidence);
    *wrong = n;
    *groups = 0;
    size_t kept = 0, in_group = 0;
    for (size_t i = 0; i < n; i++) {
        if (i == 0 || keys[i].true_class != keys[i - 1].true_class) {
            ++*groups;
            in_group = 0;
        }
        if (*groups <= MISS_GROUPS && in_group++ < MISS_PER_GROUP) keys[kept++] = keys[i];
    }
    return kept;
}

/* Draws keys[n] (grouped) as RDIR/misclassified/<file>. */
static int miss_picture(const report *r, int x, const miss_key *keys, size_t n, uint64_t wrong, int groups,
                        const char *path, dd_error *err) {
    uint64_t *records = dd_malloc(n, sizeof *records, err);
    explain_group_item *items = records ? dd_malloc(n, sizeof *items, err) : NULL;
    dd_image_set s = {0};
    int rc = -1;
    if (!items) goto done;
    for (size_t i = 0; i < n; i++) records[i] = keys[i].record;
    if (dd_image_set_load(r->m, r->ds, records, n, &s, err)) goto done;
    for (size_t i = 0; i < n; i++) {
        items[i] = (explain_group_item){.image = i, .group = (size_t)keys[i].true_class, .key = keys[i].confidence};
        snprintf(items[i].label, sizeof items[i].label, "p %.2f", keys[i].confidence);
    }
    char title[300];
    snprintf(title, sizeof title,
             "Misclassified as %s: %llu test drawings of %d other classes (the largest groups, "
             "the most confident first)",
             r->names[x], (unsigned long long)wrong, groups);
    as_ctx ctx = {r, x};
    explain_grouped_opts o = {.max_per_group = MISS_PER_GROUP,
                              .max_groups = MISS_GROUPS,
                              .header_width = 190,
                              .title = title,
                              .header = as_header,
                              .ctx = &ctx};
    rc = explain_grouped_picture(&s, items, n, &o, path, err) < 0 ? -1 : 0;
done:
    dd_image_set_free(&s);
    free(records);
    free(items);
    return rc;
}

/* One focus class's picture in a <details>: 1 when drawn, 0 when no drawing is taken for the class, -1. */
static int miss_figure(report *r, int x, int open, miss_key *keys, dd_error *err) {
    uint64_t wrong;
    int groups;
    size_t n = pick_misses(r, x, keys, &wrong, &groups);
    if (n == 0) return 0;
    char dir[4200], name[128], path[4400], caption[200];
    snprintf(dir, sizeof dir, "%s/misclassified", r->dir);
    dd_explain_file_name("misclassified-as-", r->names[x], ".png", name, sizeof name);
    if (explain_make_dir(dir, err) || explain_path(path, sizeof path, dir, name, err) ||
        miss_picture(r, x, keys, n, wrong, groups, path, err))
        return -1;
    fprintf(r->f, "<details%s><summary>as ", open ? " open" : "");
    html_text(r->f, r->names[x]);
    fprintf(r->f, ": %llu drawings of %d other classes</summary>\n", (unsigned long long)wrong, groups);
    snprintf(caption, sizeof caption, "Misclassified as %s", r->names[x]);
    int rc = report_figure(r, "misclassified", name, caption, 0, err);
    fputs("</details>\n", r->f);
    return rc ? -1 : 1;
}

int report_misclassified_focus(report *r, dd_error *err) {
    FILE *f = r->f;
    const dd_metrics *mt = &r->ev.metrics;
    int classes = r->n_focus < MISS_CLASSES ? r->n_focus : MISS_CLASSES;
    fprintf(f,
            "<p>%zu of %llu test drawings are misclassified. For the %d classes most involved in confusions (the "
            "most errors first), the drawings the model takes for that class: its %d largest groups by true class, "
            "the %d most confident drawings of each (under each: the probability of the class). The %d other "
            "classes are not drawn; every pair's count is in explain/confusion.csv.</p>\n",
            r->ev.n_misses, (unsigned long long)mt->total, classes, MISS_GROUPS, MISS_PER_GROUP, mt->classes - classes);
    if (r->ev.n_misses == 0) return 0;
    miss_key *keys = dd_malloc(r->ev.n_misses, sizeof *keys, err);
    if (!keys) return -1;
    int rc = 0, shown = 0;
    for (int i = 0; i < classes && rc >= 0; i++) {
        rc = miss_figure(r, r->focus[i], shown < MISS_OPEN, keys, err);
        shown += rc > 0;
    }
    free(keys);
    return rc < 0 ? -1 : 0;
}
