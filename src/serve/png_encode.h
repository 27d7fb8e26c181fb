/* A small PNG encoder for the server's pictures (the image the model saw, heat maps): 8-bit grey or RGB, one
 * zlib stream, no cairo surface per request. */
#ifndef DOODLE_SERVE_PNG_ENCODE_H
#define DOODLE_SERVE_PNG_ENCODE_H

#include <stddef.h>
#include <stdint.h>

#include "doodle/error.h"

/* pixels: height rows of width * channels bytes (channels 1 = grey, 3 = RGB). *png is allocated (free it). */
int serve_png_encode(const uint8_t *pixels, int height, int width, int channels, unsigned char **png, size_t *size,
                     dd_error *err);

/* "data:image/png;base64,…" of a PNG, NUL-terminated, allocated (free it). NULL on failure. */
char *serve_png_data_uri(const unsigned char *png, size_t size, dd_error *err);

#endif
