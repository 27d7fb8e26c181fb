/* JPEG pictures: libjpeg(-turbo) into a cairo RGB24 surface. libjpeg reports errors through a callback that must
 * not return, so the callback keeps the message and longjmps back here; everything allocated before the jump is
 * volatile or freed by jpeg_destroy_decompress. */
#include "nn/jpeg_read.h"

#include <limits.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>

#include <jerror.h> /* after jpeglib.h: JWRN_JPEG_EOF */

#include "doodle/model_spec.h"
#include "doodle/alloc.h"

typedef struct jpeg_failure {
    struct jpeg_error_mgr mgr;
    jmp_buf jump;
    char msg[JMSG_LENGTH_MAX];
} jpeg_failure;

static void on_error(j_common_ptr cinfo) {
    jpeg_failure *f = (jpeg_failure *)cinfo->err;
    cinfo->err->format_message(cinfo, f->msg);
    longjmp(f->jump, 1);
}

/* Warnings: a file cut short is an error (libjpeg would fill the rest with grey, and the grey is ink); other
 * warnings (a corrupt but readable file) are not printed. */
static void on_message(j_common_ptr cinfo, int level) {
    if (level < 0 && cinfo->err->msg_code == JWRN_JPEG_EOF) on_error(cinfo);
}

int nn_is_jpeg(const uint8_t *data, size_t size) {
    return size >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF;
}

cairo_surface_t *nn_jpeg_decode(const uint8_t *data, size_t size, const char *path, nn_picture_size_check check,
                                dd_error *err) {
    struct jpeg_decompress_struct cinfo;
    jpeg_failure fail;
    cairo_surface_t *volatile surface = NULL;
    unsigned char *volatile row = NULL;
    memset(&cinfo, 0, sizeof cinfo); /* so that jpeg_destroy_decompress is safe after any failure */
    cinfo.err = jpeg_std_error(&fail.mgr);
    fail.mgr.error_exit = on_error;
    fail.mgr.emit_message = on_message;
    if (setjmp(fail.jump)) {
        dd_fail(err, DD_ERR_MALFORMED, "%s: cannot read the JPEG (libjpeg: %s)", path, fail.msg);
        goto fail;
    }
    jpeg_create_decompress(&cinfo);
    cinfo.mem->max_memory_to_use = (long)(dd_memory_limit() > LONG_MAX ? LONG_MAX : dd_memory_limit());
    jpeg_mem_src(&cinfo, data, (unsigned long)size);
    jpeg_read_header(&cinfo, TRUE);
    if (cinfo.image_width == 0 || cinfo.image_height == 0 || check(path, cinfo.image_width, cinfo.image_height, err))
        goto fail;
    if (cinfo.num_components != 1 && cinfo.num_components != 3) {
        dd_fail(err, DD_ERR_UNSUPPORTED, "%s: a JPEG with %d colour components (CMYK?): only grey and colour are read",
                path, cinfo.num_components);
        goto fail;
    }
    cinfo.out_color_space = JCS_RGB;
    jpeg_start_decompress(&cinfo);
    int w = (int)cinfo.output_width, h = (int)cinfo.output_height;
    surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h);
    if (cairo_surface_status(surface) != CAIRO_STATUS_SUCCESS) {
        dd_fail(err, DD_ERR_NOMEM, "%s: no memory for a %dx%d picture", path, w, h);
        goto fail;
    }
    if (!(row = dd_malloc((size_t)w, 3, err))) goto fail;
    cairo_surface_flush(surface);
    unsigned char *pixels = cairo_image_surface_get_data(surface);
    int stride = cairo_image_surface_get_stride(surface);
    while (cinfo.output_scanline < cinfo.output_height) {
        unsigned char *rows[1] = {row};
        int y = (int)cinfo.output_scanline;
        if (jpeg_read_scanlines(&cinfo, rows, 1) != 1) {
            dd_fail(err, DD_ERR_MALFORMED, "%s: the JPEG ends at row %d of %d (truncated?)", path, y, h);
            goto fail;
        }
        for (int x = 0; x < w; x++) {
            uint32_t px = 0xFF000000u | (uint32_t)row[3 * x] << 16 | (uint32_t)row[3 * x + 1] << 8 | row[3 * x + 2];
            memcpy(pixels + (size_t)y * stride + (size_t)x * 4, &px, sizeof px);
        }
    }
    cairo_surface_mark_dirty(surface);
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    free(row);
    return surface;
fail:
    jpeg_destroy_decompress(&cinfo);
    free(row);
    if (surface) cairo_surface_destroy(surface);
    return NULL;
}
