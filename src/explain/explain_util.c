/* Output directories, paths and file names of the explanation pipelines. */
#define _POSIX_C_SOURCE 200809L /* mkdir's mode_t */
#include "explain/explain_util.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "doodle/explain.h"
#include "doodle/files.h"

int explain_make_dir(const char *dir, dd_error *err) { return dd_make_dir(dir, err); }

int explain_path(char *buf, size_t size, const char *dir, const char *name, dd_error *err) {
    return dd_path_join(buf, size, dir, name, err);
}

int explain_tile_scale(int h, int w) {
    int side = h > w ? h : w;
    int s = (56 + side / 2) / (side > 0 ? side : 1);
    return s < 1 ? 1 : s > 64 ? 64 : s;
}

void dd_explain_file_name(const char *prefix, const char *name, const char *suffix, char *buf, size_t size) {
    int n = snprintf(buf, size, "%s", prefix);
    size_t at = n < 0 ? 0 : (size_t)n < size ? (size_t)n : size - 1;
    for (const char *c = name; *c && at + 1 < size; c++) {
        int ok =
            (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '-' || *c == '_';
        buf[at++] = ok ? *c : '-';
    }
    buf[at] = '\0';
    snprintf(buf + at, size - at, "%s", suffix);
}

/* Bilinear resampling of src [sh, sw] onto dst [dh, dw], pixel centres aligned. */
void explain_upsample(const float *src, int sh, int sw, float *dst, int dh, int dw) {
    for (int y = 0; y < dh; y++) {
        double fy = (y + 0.5) * sh / dh - 0.5;
        if (fy < 0) fy = 0;
        if (fy > sh - 1) fy = sh - 1;
        int y0 = (int)fy, y1 = y0 + 1 < sh ? y0 + 1 : y0;
        double ty = fy - y0;
        for (int x = 0; x < dw; x++) {
            double fx = (x + 0.5) * sw / dw - 0.5;
            if (fx < 0) fx = 0;
            if (fx > sw - 1) fx = sw - 1;
            int x0 = (int)fx, x1 = x0 + 1 < sw ? x0 + 1 : x0;
            double tx = fx - x0;
            double top = src[y0 * sw + x0] * (1 - tx) + src[y0 * sw + x1] * tx;
            double bottom = src[y1 * sw + x0] * (1 - tx) + src[y1 * sw + x1] * tx;
            dst[y * dw + x] = (float)(top * (1 - ty) + bottom * ty);
        }
    }
}
