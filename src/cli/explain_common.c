/* What the explain sub-verbs share: opening a model with its data, lists of records, splits. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli/explain_verbs.h"
#include "doodle/alloc.h"
#include "doodle/metrics.h"

int explain_open(const char *model_path, const char *data_path, dd_model **m, dd_dataset **ds, dd_error *err) {
    *ds = NULL;
    if (!(*m = dd_model_load(model_path, err))) return -1;
    if (!(*ds = dd_dataset_open(data_path, err))) goto fail;
    uint32_t n = dd_dataset_class_count(*ds);
    int *map = dd_malloc(n ? n : 1, sizeof *map, err);
    if (!map) goto fail;
    int bad = dd_eval_check_input(*m, *ds, err) || dd_eval_class_map(*m, *ds, map, err);
    free(map);
    if (bad) {
        dd_error_prefix(err, "%s does not fit %s", model_path, data_path);
        goto fail;
    }
    return 0;
fail:
    dd_dataset_close(*ds);
    dd_model_free(*m);
    *ds = NULL;
    *m = NULL;
    return -1;
}

int explain_parse_records(const char *text, uint64_t **list, size_t *n) {
    const char *p = text;
    if (!*p) return -1;
    while (*p) {
        if (*p < '0' || *p > '9') return -1;
        char *end;
        errno = 0;
        unsigned long long v = strtoull(p, &end, 10);
        if (errno || (*end && *end != ',')) return -1;
        uint64_t *grown = realloc(*list, (*n + 1) * sizeof **list);
        if (!grown) return -1;
        *list = grown;
        (*list)[(*n)++] = v;
        p = *end ? end + 1 : end;
        if (*end == ',' && !*p) return -1;
    }
    return 0;
}

int explain_parse_split(const char *text) {
    if (!strcmp(text, "test")) return DD_SPLIT_TEST;
    if (!strcmp(text, "train")) return DD_SPLIT_TRAIN;
    if (!strcmp(text, "all")) return -1;
    return -2;
}
