/* JPEG pictures for nn_classify_picture (include/doodle/classify.h): decoded by libjpeg(-turbo) into a cairo
 * surface, as cairo does PNGs. */
#ifndef DOODLE_NN_JPEG_READ_H
#define DOODLE_NN_JPEG_READ_H

#include <cairo.h>
#include <stddef.h>
#include <stdint.h>

#include "doodle/error.h"

/* Says whether a picture of width x height may be decoded (err set when not). */
typedef int (*nn_picture_size_check)(const char *path, uint32_t width, uint32_t height, dd_error *err);

/* True when data starts like a JPEG file (FF D8 FF). */
int nn_is_jpeg(const uint8_t *data, size_t size);

/* An RGB24 surface of the JPEG in data[size] (grey and colour; CMYK is refused), its size passed to check before
 * anything of that size is allocated. NULL (err set, naming path) on failure. */
cairo_surface_t *nn_jpeg_decode(const uint8_t *data, size_t size, const char *path, nn_picture_size_check check,
                                dd_error *err);

#endif
