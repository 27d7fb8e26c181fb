/* "What the model looks at when it gets these wrong": per K-Means cluster of mistakes, the units of a layer whose
 * activations set its members apart from the drawings of the same true classes that the model gets right
 * (dd_cluster_units in include/doodle/cluster.h), written as units.csv and, per cluster, a picture of each unit's
 * most exciting drawings of the whole set. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "explain/cluster_files.h"
#include "explain/explain_util.h"
#include "doodle/alloc.h"
#include "doodle/files.h"

#define UNIT_DRAWINGS 8 /* drawings per unit in the pictures */
#define SD_FLOOR 0.05   /* of the unit's sd over every drawing */
#define MIN_CORRECT 2   /* right drawings of a class needed to compare with it */

typedef struct unit_stats {
    size_t units;
    int classes;
    double *mean, *sd; /* [classes, units] over the correct drawings of each class */
    int *correct;      /* [classes] */
} unit_stats;

static int stats_of_correct(const dd_image_set *all, const float *E, const int *pred, size_t units, int classes,
                            unit_stats *s, dd_error *err) {
    s->units = units;
    s->classes = classes;
    double *all_sum = dd_calloc(units, sizeof *all_sum, err), *all_ss = dd_calloc(units, sizeof *all_ss, err);
    if (!all_sum || !all_ss || !(s->mean = dd_calloc((size_t)classes * units, sizeof *s->mean, err)) ||
        !(s->sd = dd_calloc((size_t)classes * units, sizeof *s->sd, err)) ||
        !(s->correct = dd_calloc((size_t)classes, sizeof *s->correct, err))) {
        free(all_sum);
        free(all_ss);
        return -1;
    }
    for (size_t i = 0; i < all->n; i++) {
        const float *e = E + i * units;
        for (size_t u = 0; u < units; u++) all_sum[u] += e[u];
        if (pred[i] != all->label[i]) continue;
        int t = all->label[i];
        s->correct[t]++;
        for (size_t u = 0; u < units; u++) s->mean[(size_t)t * units + u] += e[u];
    }
    for (int t = 0; t < classes; t++)
        for (size_t u = 0; u < units && s->correct[t]; u++) s->mean[(size_t)t * units + u] /= s->correct[t];
    for (size_t i = 0; i < all->n; i++) {
        const float *e = E + i * units;
        for (size_t u = 0; u < units; u++) {
            double v = e[u] - all_sum[u] / (double)all->n;
            all_ss[u] += v * v;
        }
        if (pred[i] != all->label[i]) continue;
        size_t t = (size_t)all->label[i];
        for (size_t u = 0; u < units; u++) {
            double v = e[u] - s->mean[t * units + u];
            s->sd[t * units + u] += v * v;
        }
    }
    for (int t = 0; t < classes; t++)
        for (size_t u = 0; u < units; u++) {
            double floor = SD_FLOOR * sqrt(all_ss[u] / (double)(all->n > 1 ? all->n - 1 : 1));
            double sd = s->correct[t] > 1 ? sqrt(s->sd[(size_t)t * units + u] / (s->correct[t] - 1)) : 0;
            if (!(floor > 0)) floor = 1e-6;
            s->sd[(size_t)t * units + u] = sd > floor ? sd : floor;
        }
    free(all_sum);
    free(all_ss);
    return 0;
}

typedef struct scored {
    double score;
    int unit;
} scored;

static int cmp_scored(const void *a, const void *b) {
    const scored *x = a, *y = b;
    double ax = fabs(x->score), ay = fabs(y->score);
    if (ax != ay) return ax < ay ? 1 : -1;
    return x->unit - y->unit;
}

/* The top units of cluster c into u. */
static int score_cluster(const dd_cluster_report *r, const dd_image_set *all, const float *E, const size_t *pick,
                         const unit_stats *s, int c, int top, dd_cluster_units *u, dd_error *err) {
    const size_t units = s->units;
    double *z = dd_calloc(units, sizeof *z, err), *member_mean = dd_calloc(units, sizeof *member_mean, err),
           *correct_mean = dd_calloc(units, sizeof *correct_mean, err), *res2 = dd_calloc(units, sizeof *res2, err),
           *sd2 = dd_calloc(units, sizeof *sd2, err);
    scored *order = dd_malloc(units, sizeof *order, err);
    int rc = -1;
    if (!z || !member_mean || !correct_mean || !res2 || !sd2 || !order) goto done;
    u->compared = 0;
    for (size_t i = 0; i < r->n; i++) {
        if (r->kmeans_label[i] != c) continue;
        size_t t = (size_t)r->true_class[i];
        if (s->correct[t] < MIN_CORRECT) continue;
        const float *e = E + pick[i] * units;
        for (size_t q = 0; q < units; q++) {
            double res = e[q] - s->mean[t * units + q];
            z[q] += res;
            res2[q] += res * res;
            sd2[q] += s->sd[t * units + q] * s->sd[t * units + q];
            member_mean[q] += e[q];
            correct_mean[q] += s->mean[t * units + q];
        }
        u->compared++;
    }
    (void)all;
    int n = u->compared ? (top < (int)units ? top : (int)units) : 0;
    /* Cohen's d: the mean residual over the pooled sd (the right drawings' sd of each member's class, and the
     * members' own spread), so a unit nearly silent everywhere cannot win by a tiny sd alone. */
    for (size_t q = 0; q < units; q++) {
        double m = u->compared ? z[q] / u->compared : 0, var = u->compared ? res2[q] / u->compared - m * m : 0;
        double pooled = u->compared ? sqrt((sd2[q] / u->compared + (var > 0 ? var : 0)) / 2) : 1;
        order[q] = (scored){pooled > 0 ? m / pooled : 0, (int)q};
    }
    qsort(order, units, sizeof *order, cmp_scored);
    u->n = n;
    if (!(u->unit = dd_malloc((size_t)n + 1, sizeof *u->unit, err)) ||
        !(u->score = dd_malloc((size_t)n + 1, sizeof *u->score, err)) ||
        !(u->mean_cluster = dd_malloc((size_t)n + 1, sizeof *u->mean_cluster, err)) ||
        !(u->mean_correct = dd_malloc((size_t)n + 1, sizeof *u->mean_correct, err)))
        goto done;
    for (int k = 0; k < n; k++) {
        int q = order[k].unit;
        u->unit[k] = q;
        u->score[k] = order[k].score;
        u->mean_cluster[k] = member_mean[q] / u->compared;
        u->mean_correct[k] = correct_mean[q] / u->compared;
    }
    rc = 0;
done:
    free(z);
    free(res2);
    free(sd2);
    free(member_mean);
    free(correct_mean);
    free(order);
    return rc;
}

/* Per listed unit of u, the UNIT_DRAWINGS drawings of all with its highest activation. */
static int units_picture(const dd_model *m, const dd_image_set *all, const float *E, size_t units, int layer, int c,
                         const dd_cluster_units *u, const char *dir, dd_error *err) {
    if (u->n == 0 || all->n == 0) return 0;
    int top = all->n < UNIT_DRAWINGS ? (int)all->n : UNIT_DRAWINGS, H = all->height, W = all->width;
    char title[300];
    snprintf(title, sizeof title,
             "Cluster %d: units of layer %d %s that set it apart (d > 0: fire more on it than on "
             "right drawings of its classes) and the drawings that excite each most",
             c, layer, m->spec->layers[layer].name);
    dd_picture_opts o = {.rows = u->n,
                         .cols = top,
                         .tile_height = H,
                         .tile_width = W,
                         .scale = explain_tile_scale(H, W) + 1,
                         .label_height = 14,
                         .header_width = 150,
                         .title = title};
    dd_picture *p = dd_picture_new(&o, err);
    size_t *best = dd_malloc((size_t)top, sizeof *best, err);
    uint8_t *rgb = dd_malloc((size_t)H * W, 3, err);
    int rc = -1;
    if (!p || !best || !rgb) goto done;
    for (int k = 0; k < u->n; k++) {
        size_t q = (size_t)u->unit[k];
        int n_best = 0; /* insertion into the top list, highest first */
        for (size_t i = 0; i < all->n; i++) {
            float v = E[i * units + q];
            if (n_best == top && v <= E[best[top - 1] * units + q]) continue;
            int at = n_best < top ? n_best++ : top - 1;
            while (at > 0 && E[best[at - 1] * units + q] < v) {
                best[at] = best[at - 1];
                at--;
            }
            best[at] = i;
        }
        char header[64], label[80];
        snprintf(header, sizeof header, "unit %zu: d %+.2f", q, u->score[k]);
        if (dd_picture_row_header(p, k, header, err)) goto done;
        for (int j = 0; j < n_best; j++) {
            size_t i = best[j];
            dd_tile_ink(all->pixels + i * (size_t)H * W, H, W, rgb);
            snprintf(label, sizeof label, "%s %.2g", m->class_names[all->label[i]], (double)E[i * units + q]);
            if (dd_picture_put(p, k, j, rgb, label, err)) goto done;
        }
    }
    char path[4096];
    rc = explain_path(path, sizeof path, dir, u->picture, err) || dd_picture_write_png(p, path, err) ? -1 : 0;
done:
    dd_picture_free(p);
    free(best);
    free(rgb);
    return rc;
}

static int write_units_csv(const char *dir, const dd_cluster_report *r, dd_error *err) {
    char path[4096];
    dd_atomic_file a;
    if (explain_path(path, sizeof path, dir, "units.csv", err) || dd_atomic_open(&a, path, err)) return -1;
    fprintf(a.f, "method,cluster,rank,layer,unit,score,mean_cluster,mean_correct,compared\n");
    for (int c = 0; c < r->k; c++) {
        const dd_cluster_units *u = &r->units[c];
        for (int k = 0; k < u->n; k++)
            fprintf(a.f, "kmeans,%d,%d,%d,%d,%.4f,%.6g,%.6g,%d\n", c, k + 1, r->layer, u->unit[k], u->score[k],
                    u->mean_cluster[k], u->mean_correct[k], u->compared);
    }
    return dd_atomic_commit(&a, err);
}

int explain_cluster_units_write(const dd_model *m, const dd_image_set *all, const float *E, const int *pred,
                                const size_t *pick, int top, const char *out_dir, dd_cluster_report *r, dd_error *err) {
    const size_t units = (size_t)m->spec->layers[r->layer].out.c;
    unit_stats s = {0};
    int rc = -1;
    if (explain_make_dir(out_dir, err) || stats_of_correct(all, E, pred, units, m->spec->classes, &s, err)) goto done;
    if (!(r->units = dd_calloc((size_t)r->k, sizeof *r->units, err))) goto done;
    for (int c = 0; c < r->k; c++) {
        dd_cluster_units *u = &r->units[c];
        if (score_cluster(r, all, E, pick, &s, c, top, u, err)) goto done;
        if (u->n) snprintf(u->picture, sizeof u->picture, "units-kmeans-%d.png", c);
        if (units_picture(m, all, E, units, r->layer, c, u, out_dir, err)) goto done;
    }
    rc = write_units_csv(out_dir, r, err);
done:
    free(s.mean);
    free(s.sd);
    free(s.correct);
    return rc;
}
