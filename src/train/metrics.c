/* Classification metrics: the confusion matrix, loss and top-k accumulated from logits, and what is derived from
 * them, as tables, CSV and JSON (include/doodle/metrics.h). */
#include "doodle/metrics.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "doodle/alloc.h"
#include "doodle/files.h"

int dd_metrics_init(dd_metrics *m, int classes, int top_k, dd_error *err) {
    memset(m, 0, sizeof *m);
    if (classes < 1 || top_k < 1)
        return dd_fail(err, DD_ERR_USAGE, "metrics need at least 1 class and top-k >= 1 (got %d and %d)", classes,
                       top_k);
    m->confusion = dd_calloc((size_t)classes * (size_t)classes, sizeof *m->confusion, err);
    if (!m->confusion) return -1;
    m->classes = classes;
    m->top_k = top_k;
    return 0;
}

void dd_metrics_free(dd_metrics *m) {
    if (!m) return;
    free(m->confusion);
    memset(m, 0, sizeof *m);
}

int dd_metrics_add(dd_metrics *m, int label, const float *logits, float *confidence) {
    int n = m->classes, pred = 0;
    for (int k = 1; k < n; k++)
        if (logits[k] > logits[pred]) pred = k;
    double max = logits[pred], sum = 0.0;
    for (int k = 0; k < n; k++) sum += exp((double)logits[k] - max);
    // cppcheck-suppress invalidFunctionArg ; sum >= 1: the largest logit's term is exp(0)
    double lse = log(sum) + max;
    m->loss_sum += lse - (double)logits[label];
    /* the label's rank: classes with a larger logit, and lower-index classes with an equal one */
    int rank = 0;
    for (int k = 0; k < n; k++) rank += logits[k] > logits[label] || (k < label && logits[k] == logits[label]);
    m->topk_correct += rank < m->top_k;
    m->correct += pred == label;
    m->total++;
    m->confusion[(size_t)label * n + pred]++;
    if (confidence) *confidence = (float)exp(max - lse);
    return pred;
}

double dd_metrics_accuracy(const dd_metrics *m) { return m->total ? (double)m->correct / (double)m->total : 0.0; }
double dd_metrics_loss(const dd_metrics *m) { return m->total ? m->loss_sum / (double)m->total : 0.0; }
double dd_metrics_topk(const dd_metrics *m) { return m->total ? (double)m->topk_correct / (double)m->total : 0.0; }

static double ratio(uint64_t a, uint64_t b) { return b ? (double)a / (double)b : 0.0; }

dd_class_metrics dd_metrics_class(const dd_metrics *m, int c) {
    dd_class_metrics r = {0};
    int n = m->classes;
    for (int k = 0; k < n; k++) {
        r.support += m->confusion[(size_t)c * n + k];
        r.predicted += m->confusion[(size_t)k * n + c];
    }
    uint64_t hit = m->confusion[(size_t)c * n + c];
    r.precision = ratio(hit, r.predicted);
    r.recall = ratio(hit, r.support);
    r.f1 = r.precision + r.recall > 0 ? 2 * r.precision * r.recall / (r.precision + r.recall) : 0.0;
    return r;
}

static dd_class_metrics average(const dd_metrics *m, int weighted) {
    dd_class_metrics avg = {0};
    double wsum = 0.0;
    for (int c = 0; c < m->classes; c++) {
        dd_class_metrics r = dd_metrics_class(m, c);
        double w = weighted ? (double)r.support : 1.0;
        avg.precision += w * r.precision;
        avg.recall += w * r.recall;
        avg.f1 += w * r.f1;
        avg.support += r.support;
        avg.predicted += r.predicted;
        wsum += w;
    }
    if (wsum > 0) {
        avg.precision /= wsum;
        avg.recall /= wsum;
        avg.f1 /= wsum;
    }
    return avg;
}

dd_class_metrics dd_metrics_macro(const dd_metrics *m) { return average(m, 0); }
dd_class_metrics dd_metrics_weighted(const dd_metrics *m) { return average(m, 1); }

/* ---- tables ---- */

#define COLUMN_NAME_MAX 10

static int name_width(const dd_metrics *m, const char *const *names, int min) {
    int w = min;
    for (int c = 0; c < m->classes; c++) {
        int len = (int)strlen(names[c]);
        if (len > w) w = len;
    }
    return w;
}

void dd_metrics_print_confusion(const dd_metrics *m, const char *const *names, FILE *out) {
    int n = m->classes, row_w = name_width(m, names, (int)strlen("true \\ predicted"));
    /* a column is as wide as its (cut) name and the largest count in the matrix */
    uint64_t largest = 0;
    for (size_t i = 0; i < (size_t)n * n; i++)
        if (m->confusion[i] > largest) largest = m->confusion[i];
    int digits = snprintf(NULL, 0, "%llu", (unsigned long long)largest);
    fprintf(out, "%-*s", row_w, "true \\ predicted");
    for (int c = 0; c < n; c++) {
        int len = (int)strlen(names[c]);
        if (len > COLUMN_NAME_MAX) len = COLUMN_NAME_MAX;
        int w = len > digits ? len : digits;
        fprintf(out, "  %*.*s", w, len, names[c]);
    }
    fputc('\n', out);
    for (int t = 0; t < n; t++) {
        fprintf(out, "%-*s", row_w, names[t]);
        for (int c = 0; c < n; c++) {
            int len = (int)strlen(names[c]);
            if (len > COLUMN_NAME_MAX) len = COLUMN_NAME_MAX;
            int w = len > digits ? len : digits;
            fprintf(out, "  %*llu", w, (unsigned long long)m->confusion[(size_t)t * n + c]);
        }
        fputc('\n', out);
    }
}

static void class_row(FILE *out, int w, const char *name, const dd_class_metrics *r) {
    fprintf(out, "%-*s  %9.4f  %7.4f  %7.4f  %8llu\n", w, name, r->precision, r->recall, r->f1,
            (unsigned long long)r->support);
}

void dd_metrics_print_classes(const dd_metrics *m, const char *const *names, FILE *out) {
    int w = name_width(m, names, (int)strlen("weighted avg"));
    fprintf(out, "%-*s  %9s  %7s  %7s  %8s\n", w, "class", "precision", "recall", "f1", "support");
    for (int c = 0; c < m->classes; c++) {
        dd_class_metrics r = dd_metrics_class(m, c);
        class_row(out, w, names[c], &r);
    }
    dd_class_metrics macro = dd_metrics_macro(m), weighted = dd_metrics_weighted(m);
    fputc('\n', out);
    class_row(out, w, "macro avg", &macro);
    class_row(out, w, "weighted avg", &weighted);
}

/* ---- CSV ---- */

void dd_csv_field(FILE *f, const char *text) {
    if (!strpbrk(text, ",\"\r\n")) {
        fputs(text, f);
        return;
    }
    fputc('"', f);
    for (const char *p = text; *p; p++) {
        if (*p == '"') fputc('"', f);
        fputc(*p, f);
    }
    fputc('"', f);
}

int dd_metrics_write_confusion_csv(const dd_metrics *m, const char *const *names, const char *path, dd_error *err) {
    dd_atomic_file a;
    if (dd_atomic_open(&a, path, err)) return -1;
    int n = m->classes;
    fputs("true/predicted", a.f);
    for (int c = 0; c < n; c++) {
        fputc(',', a.f);
        dd_csv_field(a.f, names[c]);
    }
    fputc('\n', a.f);
    for (int t = 0; t < n; t++) {
        dd_csv_field(a.f, names[t]);
        for (int c = 0; c < n; c++) fprintf(a.f, ",%llu", (unsigned long long)m->confusion[(size_t)t * n + c]);
        fputc('\n', a.f);
    }
    return dd_atomic_commit(&a, err);
}

/* ---- JSON ---- */

static cJSON *averages_json(const dd_class_metrics *r) {
    cJSON *o = cJSON_CreateObject();
    if (o && cJSON_AddNumberToObject(o, "precision", r->precision) && cJSON_AddNumberToObject(o, "recall", r->recall) &&
        cJSON_AddNumberToObject(o, "f1", r->f1))
        return o;
    cJSON_Delete(o);
    return NULL;
}

/* Adds item to parent under key (an object) or at the end (an array, key NULL); on failure deletes item. */
static int add(cJSON *parent, const char *key, cJSON *item) {
    if (!item) return -1;
    if (key ? cJSON_AddItemToObject(parent, key, item) : cJSON_AddItemToArray(parent, item)) return 0;
    cJSON_Delete(item);
    return -1;
}

static cJSON *class_json(const dd_metrics *m, const char *name, int c) {
    dd_class_metrics r = dd_metrics_class(m, c);
    cJSON *o = cJSON_CreateObject();
    if (o && cJSON_AddStringToObject(o, "class", name) && cJSON_AddNumberToObject(o, "precision", r.precision) &&
        cJSON_AddNumberToObject(o, "recall", r.recall) && cJSON_AddNumberToObject(o, "f1", r.f1) &&
        cJSON_AddNumberToObject(o, "support", (double)r.support) &&
        cJSON_AddNumberToObject(o, "predicted", (double)r.predicted))
        return o;
    cJSON_Delete(o);
    return NULL;
}

cJSON *dd_metrics_json(const dd_metrics *m, const char *const *names, dd_error *err) {
    int n = m->classes;
    char topk[32];
    snprintf(topk, sizeof topk, "top%d", m->top_k);
    dd_class_metrics macro = dd_metrics_macro(m), weighted = dd_metrics_weighted(m);
    cJSON *o = cJSON_CreateObject(), *classes = NULL, *confusion = NULL, *per_class = NULL;
    int ok = o && cJSON_AddNumberToObject(o, "records", (double)m->total) &&
             cJSON_AddNumberToObject(o, "correct", (double)m->correct) &&
             cJSON_AddNumberToObject(o, "accuracy", dd_metrics_accuracy(m)) &&
             cJSON_AddNumberToObject(o, "loss", dd_metrics_loss(m)) &&
             cJSON_AddNumberToObject(o, topk, dd_metrics_topk(m)) && (classes = cJSON_AddArrayToObject(o, "classes")) &&
             (confusion = cJSON_AddArrayToObject(o, "confusion")) &&
             (per_class = cJSON_AddArrayToObject(o, "per_class")) && !add(o, "macro_avg", averages_json(&macro)) &&
             !add(o, "weighted_avg", averages_json(&weighted));
    for (int t = 0; ok && t < n; t++) {
        cJSON *row = cJSON_CreateArray();
        ok = !add(confusion, NULL, row) && !add(classes, NULL, cJSON_CreateString(names[t])) &&
             !add(per_class, NULL, class_json(m, names[t], t));
        for (int c = 0; ok && c < n; c++)
            ok = !add(row, NULL, cJSON_CreateNumber((double)m->confusion[(size_t)t * n + c]));
    }
    if (ok) return o;
    cJSON_Delete(o);
    dd_fail(err, DD_ERR_NOMEM, "out of memory");
    return NULL;
}
