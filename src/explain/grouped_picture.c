#include "explain/grouped_picture.h"

#include <stdlib.h>

#include "explain/explain_util.h"
#include "doodle/alloc.h"

#define COLS 12

/* The end of the group that starts at items[i]. */
static size_t group_end(const explain_group_item *items, size_t n, size_t i) {
    size_t j = i;
    while (j < n && items[j].group == items[i].group) j++;
    return j;
}

int explain_grouped_picture(const dd_image_set *s, const explain_group_item *items, size_t n,
                            const explain_grouped_opts *o, const char *path, dd_error *err) {
    const size_t per_group = (size_t)o->max_per_group;
    int cols = 1, rows = 0, groups = 0, fitting = 0;
    for (size_t i = 0; i < n && groups < o->max_groups; groups++) {
        size_t j = group_end(items, n, i), shown = j - i < per_group ? j - i : per_group;
        if ((int)shown > cols) cols = shown < COLS ? (int)shown : COLS;
        i = j;
    }
    int scale = explain_tile_scale(s->height, s->width) + o->extra_scale;
    int max_rows = 32000 / (s->height * scale + 20);
    for (size_t i = 0; i < n && fitting < groups;) {
        size_t j = group_end(items, n, i), shown = j - i < per_group ? j - i : per_group;
        int need = (int)((shown + (size_t)cols - 1) / (size_t)cols);
        if (rows + need > max_rows) break;
        rows += need;
        fitting++;
        i = j;
    }
    const char *title = fitting < groups && o->title_if_cut ? o->title_if_cut : o->title;
    dd_picture_opts po = {.rows = rows,
                          .cols = cols,
                          .tile_height = s->height,
                          .tile_width = s->width,
                          .scale = scale,
                          .label_height = 14,
                          .header_width = o->header_width,
                          .title = title};
    size_t pixels = (size_t)s->height * (size_t)s->width;
    uint8_t *rgb = dd_malloc(pixels, 3, err);
    dd_picture *p = rgb ? dd_picture_new(&po, err) : NULL;
    int rc = -1, row = 0;
    if (!p) goto done;
    size_t i = 0;
    for (int g = 0; g < fitting; g++) {
        size_t j = group_end(items, n, i), shown = j - i < per_group ? j - i : per_group;
        char text[192];
        o->header(items[i].group, j - i, o->ctx, text, sizeof text);
        if (dd_picture_row_header(p, row, text, err)) goto done;
        for (size_t k = 0; k < shown; k++) {
            dd_tile_ink(s->pixels + items[i + k].image * pixels, s->height, s->width, rgb);
            if (dd_picture_put(p, row + (int)(k / (size_t)cols), (int)(k % (size_t)cols), rgb, items[i + k].label, err))
                goto done;
        }
        row += (int)((shown + (size_t)cols - 1) / (size_t)cols);
        i = j;
    }
    rc = dd_picture_write_png(p, path, err) ? -1 : fitting;
done:
    dd_picture_free(p);
    free(rgb);
    return rc;
}
