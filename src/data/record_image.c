/* A dataset record as the model's input (include/doodle/loader.h): the one path that training, its validation,
 * doodle eval and explain's image sets all take, so that what they score is the same pixels. */
#include "doodle/loader.h"

const uint8_t *dd_record_image(const dd_dataset *ds, uint64_t rec, dd_renderer *r, dd_drawing *drawing, uint8_t *img,
                               dd_error *err) {
    if (dd_dataset_kind(ds) == DD_DSET_STROKES) {
        if (!r) {
            dd_fail(err, DD_ERR_USAGE, "record %llu: strokes need a renderer", (unsigned long long)rec);
            return NULL;
        }
        if (dd_dataset_strokes(ds, rec, drawing, err) || dd_render(r, drawing, img, err)) {
            dd_error_prefix(err, "record %llu", (unsigned long long)rec);
            return NULL;
        }
        return img;
    }
    const uint8_t *bitmap = dd_dataset_bitmap(ds, rec);
    if (!bitmap) dd_fail(err, DD_ERR_MALFORMED, "record %llu: no bitmap", (unsigned long long)rec);
    return bitmap;
}

void dd_image_to_input(const uint8_t *pixels, size_t n, float *x) {
    for (size_t i = 0; i < n; i++) x[i] = (float)pixels[i] / 255.0f;
}
