/* Fuzz target: one ndjson line.
 *
 * dd_ndjson_parse on the input bytes (not NUL-terminated: a read past the end is an ASan report). A failure must
 * come with a status and a message. A drawing it accepts must pass dd_drawing_validate, survive a round trip
 * (dd_ndjson_write to memory, parsed back: the same strokes, times and metadata), and go through
 * dd_simplified_view (dd_simplify for raw drawings) to a valid simplified drawing that renders at 28x28 (or is
 * refused for a stroke of too many points). */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doodle/quickdraw.h"
#include "doodle/render.h"
#include "doodle/simplify.h"
#include "fuzz.h"

static void check_same(const dd_drawing *a, const dd_drawing *b) {
    FUZZ_CHECK(a->n_strokes == b->n_strokes && a->n_points == b->n_points, "%u/%u strokes, %u/%u points", a->n_strokes,
               b->n_strokes, a->n_points, b->n_points);
    FUZZ_CHECK(a->has_times == b->has_times, "times %d/%d", a->has_times, b->has_times);
    for (uint32_t s = 0; s < a->n_strokes; s++)
        FUZZ_CHECK(a->stroke_end[s] == b->stroke_end[s], "stroke %u ends at %u/%u", s + 1, a->stroke_end[s],
                   b->stroke_end[s]);
    for (uint32_t i = 0; i < a->n_points; i++) {
        FUZZ_CHECK(a->x[i] == b->x[i] && a->y[i] == b->y[i], "point %u: (%.17g, %.17g) read back as (%.17g, %.17g)",
                   i + 1, a->x[i], a->y[i], b->x[i], b->y[i]);
        FUZZ_CHECK(!a->has_times || a->t[i] == b->t[i], "point %u: t %.17g read back as %.17g", i + 1, a->t[i],
                   b->t[i]);
    }
    FUZZ_CHECK(a->key_id == b->key_id && a->recognized == b->recognized, "key_id/recognized");
    FUZZ_CHECK(strcmp(a->word, b->word) == 0, "word \"%s\" read back as \"%s\"", a->word, b->word);
    FUZZ_CHECK(strcmp(a->countrycode, b->countrycode) == 0, "countrycode \"%s\"/\"%s\"", a->countrycode,
               b->countrycode);
    FUZZ_CHECK(strcmp(a->timestamp, b->timestamp) == 0, "timestamp \"%s\"/\"%s\"", a->timestamp, b->timestamp);
}

static void round_trip(const dd_drawing *d) {
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    FUZZ_CHECK(f != NULL, "open_memstream");
    dd_error err;
    int rc = dd_ndjson_write(f, d, &err);
    FUZZ_CHECK(fclose(f) == 0, "fclose");
    FUZZ_CHECK(rc == 0, "dd_ndjson_write: %s", err.msg);
    FUZZ_CHECK(len > 0 && text[len - 1] == '\n' && !memchr(text, '\n', len - 1), "not one line: %s", text);
    dd_drawing again;
    dd_drawing_init(&again);
    FUZZ_CHECK(dd_ndjson_parse(text, len - 1, &again, &err) == 0, "the written line does not parse: %s\n%s", err.msg,
               text);
    check_same(d, &again);
    dd_drawing_free(&again);
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static dd_renderer *renderer; /* one for the whole run, as a verb uses it */
    dd_error err;
    if (!renderer) {
        dd_render_opts opts = dd_render_opts_default(28, 28);
        renderer = dd_renderer_new(&opts, &err);
        FUZZ_CHECK(renderer != NULL, "dd_renderer_new: %s", err.msg);
    }
    dd_drawing d, buffer;
    dd_drawing_init(&d);
    dd_drawing_init(&buffer);
    dd_error_clear(&err);
    if (dd_ndjson_parse((const char *)data, size, &d, &err) != 0) {
        fuzz_check_error("dd_ndjson_parse", err.code, err.msg, "");
    } else {
        FUZZ_CHECK(dd_drawing_validate(&d, &err) == 0, "accepted an invalid drawing: %s", err.msg);
        round_trip(&d);
        const dd_drawing *view = dd_simplified_view(&d, &buffer, &err);
        if (!view) {
            fuzz_check_error("dd_simplified_view", err.code, err.msg, "");
        } else {
            FUZZ_CHECK(dd_drawing_validate(view, &err) == 0, "simplified drawing is invalid: %s", err.msg);
            FUZZ_CHECK(dd_drawing_is_simplified(view) && !view->has_times, "simplified drawing is not simplified");
            uint8_t pixels[28 * 28];
            if (dd_render(renderer, view, pixels, &err) != 0) /* only a stroke too long to draw may be refused */
                FUZZ_CHECK(err.code == DD_ERR_RANGE && strstr(err.msg, "points: at most"), "dd_render: %s", err.msg);
        }
    }
    dd_drawing_free(&buffer);
    dd_drawing_free(&d);
    return 0;
}
