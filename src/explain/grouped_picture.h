/* A picture of drawings in groups, one block of rows per group under a header: "Misclassified as X" (grouped by
 * true class) and the data-quality pictures (by label, by duplicate group) are all this shape. */
#ifndef DOODLE_EXPLAIN_GROUPED_PICTURE_H
#define DOODLE_EXPLAIN_GROUPED_PICTURE_H

#include <stddef.h>

#include "doodle/error.h"
#include "doodle/explain.h"

/* One drawing: its image in the set, its group, the label under it. */
typedef struct explain_group_item {
    size_t image;
    size_t group;
    float key; /* for the caller's ordering inside a group */
    char label[40];
} explain_group_item;

typedef struct explain_grouped_opts {
    int max_per_group; /* drawings shown of a group */
    int max_groups;    /* groups shown */
    int extra_scale;   /* added to explain_tile_scale: larger tiles */
    int header_width;  /* pixels for the headers at the left */
    const char *title;
    const char *title_if_cut; /* the title when not every group fits in one picture (NULL: title) */
    /* the header of a group of count drawings, into buf */
    void (*header)(size_t group, size_t count, void *ctx, char *buf, size_t size);
    void *ctx;
} explain_grouped_opts;

/* Writes the PNG of items[n] (each group's items next to each other, in the order they are to be shown) to path:
 * as many columns as the largest shown group needs (at most 12), as many groups as fit in one picture (cairo's
 * 32767 pixels a side). Returns the number of groups drawn, or -1. */
int explain_grouped_picture(const dd_image_set *s, const explain_group_item *items, size_t n,
                            const explain_grouped_opts *o, const char *path, dd_error *err);

#endif
