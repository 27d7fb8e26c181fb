/* Picture grids: the PNG has the documented size, tile pixels land where the layout says, failures leave no file. */
#include <cairo.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "doodle/montage.h"
#include "testutil.h"

/* Grey level of output pixel (x, y) of an RGB24/ARGB32 surface (checks it is grey). */
static int grey_at(cairo_surface_t *s, uint32_t x, uint32_t y) {
    const unsigned char *data = cairo_image_surface_get_data(s);
    int stride = cairo_image_surface_get_stride(s);
    uint32_t px = *(const uint32_t *)(data + (size_t)y * stride + 4 * (size_t)x);
    int r = (px >> 16) & 0xFF, g = (px >> 8) & 0xFF, b = px & 0xFF;
    if (r != g || g != b) return -1;
    return g;
}

static void tile_pattern(uint8_t *p, uint32_t h, uint32_t w, unsigned seed) {
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++) p[y * w + x] = (uint8_t)((x * 7 + y * 13 + seed * 31) & 0xFF);
}

static void check_grid(const char *dir, uint32_t rows, uint32_t cols, uint32_t th, uint32_t tw, uint32_t scale,
                       uint32_t label_h, uint32_t header_w, uint32_t gap) {
    dd_error err = {0};
    dd_montage_opts o = dd_montage_opts_default(rows, cols, th, tw);
    o.scale = scale;
    o.label_height = label_h;
    o.header_width = header_w;
    o.gap = gap;
    dd_montage *m = dd_montage_new(&o, &err);
    CHECK(m != NULL, "%s", err.msg);
    if (!m) return;

    uint8_t *tile = malloc((size_t)th * tw);
    CHECK(tile != NULL);
    if (!tile) {
        dd_montage_free(m);
        return;
    }
    /* Fill every cell but the last one; (0, 0) gets a long label that has to be shortened. */
    for (uint32_t r = 0; r < rows; r++) {
        if (header_w)
            CHECK(dd_montage_row_header(m, r, r ? "cat" : "The Great Wall of China", &err) == 0, "%s", err.msg);
        for (uint32_t c = 0; c < cols; c++) {
            if (r == rows - 1 && c == cols - 1) continue;
            tile_pattern(tile, th, tw, r * cols + c);
            const char *label = (r == 0 && c == 0) ? "a very long label that cannot fit under one small tile" : "ok";
            int rc = (c % 2) ? dd_montage_put_rgb(m, r, c, tile, label, 0xCC0000, &err)
                             : dd_montage_put(m, r, c, tile, label, &err);
            CHECK(rc == 0, "%s", err.msg);
        }
    }
    CHECK(dd_montage_put(m, rows, 0, tile, NULL, &err) == -1 && err.code == DD_ERR_USAGE);
    CHECK(dd_montage_put(m, 0, cols, tile, NULL, &err) == -1 && err.code == DD_ERR_USAGE);
    if (!header_w) CHECK(dd_montage_row_header(m, 0, "x", &err) == -1 && err.code == DD_ERR_USAGE);

    uint32_t H, W;
    dd_montage_size(m, &H, &W);
    uint32_t cell_w = tw * scale + 2, cell_h = th * scale + 2 + label_h;
    uint32_t first_x = gap + (header_w ? header_w + gap : 0);
    CHECK(W == first_x + cols * (cell_w + gap), "width %u", W);
    CHECK(H == gap + rows * (cell_h + gap), "height %u", H);

    char path[4096];
    snprintf(path, sizeof path, "%s/grid_%ux%u_s%u_l%u_h%u.png", dir, rows, cols, scale, label_h, header_w);
    remove(path);
    CHECK(dd_montage_write_png(m, path, &err) == 0, "%s", err.msg);
    dd_montage_free(m);

    cairo_surface_t *s = cairo_image_surface_create_from_png(path);
    CHECK(cairo_surface_status(s) == CAIRO_STATUS_SUCCESS, "%s: %s", path,
          cairo_status_to_string(cairo_surface_status(s)));
    if (cairo_surface_status(s) == CAIRO_STATUS_SUCCESS) {
        CHECK((uint32_t)cairo_image_surface_get_width(s) == W && (uint32_t)cairo_image_surface_get_height(s) == H,
              "png is %dx%d, expected %ux%u", cairo_image_surface_get_height(s), cairo_image_surface_get_width(s), H,
              W);
        int bad = 0;
        for (uint32_t r = 0; r < rows && !bad; r++)
            for (uint32_t c = 0; c < cols && !bad; c++) {
                uint32_t x0 = first_x + c * (cell_w + gap) + 1, y0 = gap + r * (cell_h + gap) + 1;
                int empty = (r == rows - 1 && c == cols - 1);
                tile_pattern(tile, th, tw, r * cols + c);
                for (uint32_t y = 0; y < th * scale && !bad; y++)
                    for (uint32_t x = 0; x < tw * scale && !bad; x++) {
                        int want = empty ? 255 : 255 - tile[(y / scale) * tw + x / scale];
                        int got = grey_at(s, x0 + x, y0 + y);
                        if (got != want) {
                            bad = 1;
                            CHECK(got == want, "cell (%u,%u) pixel (%u,%u): got %d, want %d", r, c, y, x, got, want);
                        }
                    }
                /* the frame around the tile is grey, and the gap before it white */
                CHECK(grey_at(s, x0 - 1, y0 - 1) == 0xC8, "frame of (%u,%u) is %d", r, c, grey_at(s, x0 - 1, y0 - 1));
                if (gap && !header_w)
                    CHECK(grey_at(s, x0 - 2, y0 + 1) == 255, "gap left of (%u,%u) is not white", r, c);
            }
        if (label_h) {
            /* the label strip under the empty cell is blank; under cell (0, 1) there is some red text */
            int blank = 1;
            uint32_t ex = first_x + (cols - 1) * (cell_w + gap),
                     ey = gap + (rows - 1) * (cell_h + gap) + th * scale + 2;
            for (uint32_t y = 0; y < label_h; y++)
                for (uint32_t x = 0; x < cell_w; x++)
                    if (grey_at(s, ex + x, ey + y) != 255) blank = 0;
            CHECK(blank, "label strip of the empty cell is not blank");
            if (cols >= 2) {
                int ink = 0;
                uint32_t lx = first_x + 1 * (cell_w + gap), ly = gap + th * scale + 2;
                const unsigned char *data = cairo_image_surface_get_data(s);
                int stride = cairo_image_surface_get_stride(s);
                for (uint32_t y = 0; y < label_h; y++)
                    for (uint32_t x = 0; x < cell_w; x++) {
                        uint32_t p = *(const uint32_t *)(data + (size_t)(ly + y) * stride + 4 * (size_t)(lx + x));
                        if (((p >> 16) & 0xFF) > (p & 0xFF) + 40) ink = 1;
                    }
                CHECK(ink, "no red label text under cell (0,1)");
            }
        }
        if (header_w) {
            int ink = 0;
            for (uint32_t y = gap; y < gap + th * scale + 2; y++)
                for (uint32_t x = gap; x < gap + header_w; x++)
                    if (grey_at(s, x, y) < 128) ink = 1;
            CHECK(ink, "no header text in row 0");
        }
    }
    cairo_surface_destroy(s);
    free(tile);
}

int main(void) {
    const char *dir = test_tmp_dir("test_montage");
    check_grid(dir, 2, 3, 28, 28, 1, 0, 0, 2);
    check_grid(dir, 3, 4, 28, 28, 3, 14, 120, 4);
    check_grid(dir, 1, 1, 66, 100, 2, 12, 0, 0);
    check_grid(dir, 4, 2, 5, 7, 5, 0, 60, 1);

    dd_error err = {0};
    /* bad options */
    dd_montage_opts o = dd_montage_opts_default(0, 3, 28, 28);
    CHECK(dd_montage_new(&o, &err) == NULL && err.code == DD_ERR_RANGE);
    o = dd_montage_opts_default(2000, 2000, 28, 28);
    CHECK(dd_montage_new(&o, &err) == NULL && err.code == DD_ERR_RANGE, "%s", err.msg);
    o = dd_montage_opts_default(2, 2, 28, 28);
    o.scale = 0;
    CHECK(dd_montage_new(&o, &err) == NULL && err.code == DD_ERR_RANGE);

    /* writing into a directory that does not exist fails and leaves nothing behind */
    o = dd_montage_opts_default(1, 1, 4, 4);
    dd_montage *m = dd_montage_new(&o, &err);
    CHECK(m != NULL, "%s", err.msg);
    if (m) {
        char path[4096];
        snprintf(path, sizeof path, "%s/no/such/dir/x.png", dir);
        CHECK(dd_montage_write_png(m, path, &err) == -1 && err.code == DD_ERR_IO);
        CHECK(strstr(err.msg, "x.png") != NULL, "message names the file: %s", err.msg);
        struct stat st;
        CHECK(stat(path, &st) != 0);
        dd_montage_free(m);
    }
    cairo_debug_reset_static_data();
    return test_finish("test_montage");
}
