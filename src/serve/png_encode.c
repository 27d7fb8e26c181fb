#include "serve/png_encode.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "doodle/serve.h"
#include "doodle/alloc.h"
#include "util/base64.h"

static void put_be32(unsigned char *p, uint32_t v) {
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/* Writes one chunk (length, type, data, CRC of type + data) at out; returns the bytes written. */
static size_t put_chunk(unsigned char *out, const char type[4], const unsigned char *data, size_t len) {
    put_be32(out, (uint32_t)len);
    memcpy(out + 4, type, 4);
    if (len) memcpy(out + 8, data, len);
    uLong crc = crc32(0L, out + 4, (uInt)(len + 4));
    put_be32(out + 8 + len, (uint32_t)crc);
    return 12 + len;
}

/* One zlib stream with a window and hash no bigger than the data needs: compress2's defaults allocate and clear
 * about 270 KB per call, which cost more than the whole 28x28 picture. */
static int deflate_small(const unsigned char *in, size_t len, unsigned char *out, uLongf *out_len) {
    int window_bits = 9;
    while (window_bits < 15 && ((size_t)1 << window_bits) < len) window_bits++;
    z_stream zs = {0};
    if (deflateInit2(&zs, 6, Z_DEFLATED, window_bits, window_bits - 7, Z_DEFAULT_STRATEGY) != Z_OK) return -1;
    zs.next_in = (Bytef *)in;
    zs.avail_in = (uInt)len;
    zs.next_out = out;
    zs.avail_out = (uInt)*out_len;
    int rc = deflate(&zs, Z_FINISH);
    *out_len = zs.total_out;
    deflateEnd(&zs);
    return rc == Z_STREAM_END ? 0 : -1;
}

int serve_png_encode(const uint8_t *pixels, int height, int width, int channels, unsigned char **png, size_t *size,
                     dd_error *err) {
    *png = NULL;
    *size = 0;
    if (height < 1 || width < 1 || (channels != 1 && channels != 3) || height > 32767 || width > 32767)
        return dd_fail(err, DD_ERR_USAGE, "a %dx%dx%d picture cannot be encoded", height, width, channels);
    size_t row = (size_t)width * (size_t)channels;
    size_t raw_size = (size_t)height * (row + 1); /* each row starts with its filter byte (0: none) */
    unsigned char *raw = dd_malloc(raw_size, 1, err);
    if (!raw) return -1;
    for (int y = 0; y < height; y++) {
        raw[(size_t)y * (row + 1)] = 0;
        memcpy(raw + (size_t)y * (row + 1) + 1, pixels + (size_t)y * row, row);
    }
    uLongf zsize = compressBound((uLong)raw_size);
    size_t cap = 8 + (12 + 13) + (12 + zsize) + 12;
    unsigned char *out = dd_malloc(cap, 1, err);
    unsigned char *z = dd_malloc(zsize, 1, err);
    if (!out || !z) {
        free(raw);
        free(out);
        free(z);
        return -1;
    }
    if (deflate_small(raw, raw_size, z, &zsize)) {
        free(raw);
        free(out);
        free(z);
        return dd_fail(err, DD_ERR_NOMEM, "cannot compress a picture");
    }
    static const unsigned char signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    unsigned char ihdr[13];
    put_be32(ihdr, (uint32_t)width);
    put_be32(ihdr + 4, (uint32_t)height);
    ihdr[8] = 8;                        /* bits per sample */
    ihdr[9] = channels == 1 ? 0 : 2;    /* colour type: grey or RGB */
    ihdr[10] = ihdr[11] = ihdr[12] = 0; /* deflate, adaptive filtering, no interlace */
    size_t n = 0;
    memcpy(out, signature, 8);
    n += 8;
    n += put_chunk(out + n, "IHDR", ihdr, sizeof ihdr);
    n += put_chunk(out + n, "IDAT", z, zsize);
    n += put_chunk(out + n, "IEND", NULL, 0);
    free(raw);
    free(z);
    *png = out;
    *size = n;
    return 0;
}

char *serve_png_data_uri(const unsigned char *png, size_t size, dd_error *err) {
    static const char prefix[] = "data:image/png;base64,";
    char *out = dd_malloc(sizeof prefix + util_base64_length(size), 1, err);
    if (!out) return NULL;
    memcpy(out, prefix, sizeof prefix - 1);
    util_base64_encode(png, size, out + sizeof prefix - 1);
    return out;
}

int dd_prediction_input_png(const dd_classifier *c, unsigned char **png, size_t *size, dd_error *err) {
    uint32_t h, w;
    dd_classifier_input_size(c, &h, &w);
    return serve_png_encode(dd_classifier_input_image(c), (int)h, (int)w, 1, png, size, err);
}
