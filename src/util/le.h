/* Little-endian loads and stores at any alignment (the .dset and .bin formats are little-endian on disk). */
#ifndef DOODLE_UTIL_LE_H
#define DOODLE_UTIL_LE_H

#include <stdint.h>
#include <string.h>

static inline uint16_t util_le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static inline uint32_t util_le32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t util_le64(const uint8_t *p) { return (uint64_t)util_le32(p) | (uint64_t)util_le32(p + 4) << 32; }
static inline double util_le_f64(const uint8_t *p) {
    uint64_t u = util_le64(p);
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

static inline void util_put16(uint8_t *p, uint16_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
static inline void util_put32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static inline void util_put64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static inline void util_put_f64(uint8_t *p, double d) {
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    util_put64(p, u);
}

#endif
