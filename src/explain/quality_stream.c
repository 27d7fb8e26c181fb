/* Drawings for the data-quality check, a bounded chunk at a time, and the two hashes it keeps of each. */
#include <stdlib.h>
#include <string.h>

#include "explain/quality_internal.h"

int quality_stream(const dd_model *m, const dd_dataset *ds, const uint64_t *records, const size_t *which, size_t n,
                   quality_chunk_fn fn, void *ctx, dd_error *err) {
    uint64_t chunk_records[QUALITY_CHUNK];
    for (size_t first = 0; first < n; first += QUALITY_CHUNK) {
        size_t len = n - first < QUALITY_CHUNK ? n - first : QUALITY_CHUNK;
        for (size_t k = 0; k < len; k++) chunk_records[k] = records[which ? which[first + k] : first + k];
        dd_image_set chunk;
        if (dd_image_set_load(m, ds, chunk_records, len, &chunk, err)) return -1;
        int rc = fn(ctx, &chunk, first, err);
        dd_image_set_free(&chunk);
        if (rc) return -1;
    }
    return 0;
}

uint64_t quality_pixel_hash(const uint8_t *img, size_t pixels) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < pixels; i++) h = (h ^ img[i]) * 1099511628211ull;
    return h;
}

uint64_t quality_average_hash(const uint8_t *img, int h, int w) {
    double cell[64] = {0};
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) cell[(y * 8 / h) * 8 + x * 8 / w] += img[(size_t)y * w + x];
    double mean = 0;
    for (int i = 0; i < 64; i++) mean += cell[i] / 64;
    uint64_t hash = 0;
    for (int i = 0; i < 64; i++)
        if (cell[i] > mean) hash |= 1ull << i;
    return hash;
}
