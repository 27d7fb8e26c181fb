#include "cli/class_table.h"

#include <string.h>

static void add_row(dd_class_stats *total, const dd_class_stats *s) {
    total->read += s->read;
    total->kept += s->kept;
    total->train += s->train;
    total->test += s->test;
    for (int k = 0; k < DD_SKIP_REASON_COUNT; k++) total->skipped[k] += s->skipped[k];
}

static void print_row(FILE *out, int name_width, const char *name, const dd_class_stats *s, const int *shown) {
    fprintf(out, "%-*s %9llu %9llu %9llu %9llu", name_width, name, (unsigned long long)s->read,
            (unsigned long long)s->kept, (unsigned long long)s->train, (unsigned long long)s->test);
    for (int k = 0; k < DD_SKIP_REASON_COUNT; k++)
        if (shown[k]) fprintf(out, " %*llu", shown[k], (unsigned long long)s->skipped[k]);
    fputc('\n', out);
}

void print_class_table(FILE *out, uint32_t n_classes, const char *const *names, const dd_class_stats *stats) {
    dd_class_stats total;
    memset(&total, 0, sizeof total);
    for (uint32_t c = 0; c <= n_classes; c++) add_row(&total, &stats[c]);
    int name_width = 5;
    for (uint32_t c = 0; c < n_classes; c++) {
        int n = (int)strlen(names[c]);
        if (n > name_width) name_width = n;
    }
    if (name_width < 10) name_width = 10;
    int shown[DD_SKIP_REASON_COUNT]; /* column width, 0 = not shown */
    for (int k = 0; k < DD_SKIP_REASON_COUNT; k++) {
        int w = (int)strlen(dd_skip_reason_name((dd_skip_reason)k));
        shown[k] = total.skipped[k] ? (w < 9 ? 9 : w) : 0;
    }
    fprintf(out, "%-*s %9s %9s %9s %9s", name_width, "class", "read", "kept", "train", "test");
    int any_skipped = 0;
    for (int k = 0; k < DD_SKIP_REASON_COUNT; k++)
        if (shown[k]) {
            fprintf(out, " %*s", shown[k], dd_skip_reason_name((dd_skip_reason)k));
            any_skipped = 1;
        }
    fputc('\n', out);
    for (uint32_t c = 0; c < n_classes; c++) print_row(out, name_width, names[c], &stats[c], shown);
    if (stats[n_classes].read) print_row(out, name_width, "(no class)", &stats[n_classes], shown);
    print_row(out, name_width, "total", &total, shown);
    if (any_skipped) {
        fprintf(out, "skipped:");
        for (int k = 0; k < DD_SKIP_REASON_COUNT; k++)
            if (shown[k])
                fprintf(out, " %s %llu", dd_skip_reason_name((dd_skip_reason)k), (unsigned long long)total.skipped[k]);
        fputc('\n', out);
    }
}
