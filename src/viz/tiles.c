/* Colour tiles for explanation pictures (include/doodle/picture.h): drawings, heat maps over drawings, feature
 * maps. */
#include <math.h>

#include "doodle/picture.h"

/* viridis at nine evenly spaced stops (matplotlib's table, rounded): readable in grey and by colour-blind eyes */
static const uint8_t VIRIDIS[9][3] = {{68, 1, 84},    {71, 44, 122}, {59, 81, 139},  {44, 113, 142}, {33, 144, 141},
                                      {39, 173, 129}, {92, 200, 99}, {170, 220, 50}, {253, 231, 37}};

static uint8_t clamp_byte(double v) { return v <= 0 ? 0 : v >= 255 ? 255 : (uint8_t)lround(v); }

void dd_tile_ink(const uint8_t *ink, int h, int w, uint8_t *rgb) {
    for (int i = 0; i < h * w; i++) rgb[3 * i] = rgb[3 * i + 1] = rgb[3 * i + 2] = (uint8_t)(255 - ink[i]);
}

void dd_tile_heat(const uint8_t *ink, int h, int w, const float *heat, uint8_t *rgb) {
    for (int i = 0; i < h * w; i++) {
        double grey = 255.0 - 0.6 * ink[i]; /* the drawing, faded so the heat reads on top of it */
        double t = heat[i] < 0 ? 0 : heat[i] > 1 ? 1 : heat[i];
        /* "hot": red, then orange, then yellow as t grows; opacity grows with t */
        double r = 255 * fmin(1, 2.5 * t + 0.35), g = 255 * fmax(0, fmin(1, 2 * t - 0.5)),
               b = 255 * fmax(0, 3 * t - 2.4);
        double a = 0.9 * pow(t, 1.3); /* faint where the heat is low, so noise does not cover the drawing */
        rgb[3 * i] = clamp_byte(grey * (1 - a) + r * a);
        rgb[3 * i + 1] = clamp_byte(grey * (1 - a) + g * a);
        rgb[3 * i + 2] = clamp_byte(grey * (1 - a) + b * a);
    }
}

void dd_tile_values(const float *v, int h, int w, float lo, float hi, uint8_t *rgb) {
    for (int i = 0; i < h * w; i++) {
        double t = hi > lo ? (v[i] - lo) / (hi - lo) : 0;
        if (!(t > 0)) t = 0; /* NaN too */
        if (t > 1) t = 1;
        double pos = t * 8;
        int k = (int)pos < 8 ? (int)pos : 7;
        double f = pos - k;
        for (int c = 0; c < 3; c++) rgb[3 * i + c] = clamp_byte(VIRIDIS[k][c] * (1 - f) + VIRIDIS[k + 1][c] * f);
    }
}
