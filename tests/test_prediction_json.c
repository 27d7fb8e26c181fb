/* The public answers of doodle/serve.h, through include/ alone as an embedding program sees them, on the sample's
 * drawings: dd_prediction_json writes the classifier's classes (names, indices, probabilities rounded to 6 decimals,
 * best first) with the drawing's place, word, key_id and the logits (read back as the very floats), each field left out
 * when unset and "top" alone without a source; dd_prediction_input_png decodes to the very pixels the model saw. */
#include <cairo.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "doodle/classify.h"
#include "doodle/model.h"
#include "doodle/quickdraw.h"
#include "doodle/serve.h"
#include "testutil.h"

/* The object's keys in order, comma-separated, into out. */
static void keys_of(const cJSON *o, char *out, size_t size) {
    out[0] = '\0';
    for (const cJSON *k = o ? o->child : NULL; k; k = k->next)
        snprintf(out + strlen(out), size - strlen(out), "%s%s", out[0] ? "," : "", k->string);
}

/* "top" of o is top[0 .. n): class, index and p (rounded to 6 decimals). */
static void check_top(const cJSON *o, const dd_prediction *top, int n) {
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(o, "top");
    CHECK(cJSON_IsArray(arr) && cJSON_GetArraySize(arr) == n, "top: %d of %d", cJSON_GetArraySize(arr), n);
    for (int i = 0; arr && i < n && i < cJSON_GetArraySize(arr); i++) {
        const cJSON *g = cJSON_GetArrayItem(arr, i);
        const cJSON *cls = cJSON_GetObjectItemCaseSensitive(g, "class");
        const cJSON *index = cJSON_GetObjectItemCaseSensitive(g, "index");
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(g, "p");
        CHECK(cJSON_IsString(cls) && !strcmp(cls->valuestring, top[i].name), "guess %d: class", i);
        CHECK(cJSON_IsNumber(index) && index->valueint == top[i].index, "guess %d: index", i);
        CHECK(cJSON_IsNumber(p) && fabs(p->valuedouble - top[i].probability) <= 5e-7 + 1e-7, "guess %d: p %g for %g", i,
              p ? p->valuedouble : -1, (double)top[i].probability);
        double v = p ? p->valuedouble : NAN;
        CHECK(v == round(v * 1e6) / 1e6, "guess %d: p %.17g not to 6 decimals", i, v);
    }
}

/* Every drawing of the sample's simplified cats: its JSON line, read back. */
static void test_lines(dd_classifier *c) {
    char path[4200];
    snprintf(path, sizeof path, "%s/strokes/simplified/cat.ndjson.gz", test_sample_dir());
    dd_error err;
    dd_stroke_reader *r = dd_stroke_reader_open(path, &err);
    CHECK(r, "%s", err.msg);
    dd_drawing d;
    dd_drawing_init(&d);
    int lines = 0;
    while (r && dd_stroke_reader_next(r, &d, &err) == DD_NEXT_OK) {
        lines++;
        dd_prediction top[4];
        int n = dd_classify_strokes(c, &d, top, 4, &err);
        CHECK(n == 4, "line %d: %s", lines, err.msg);
        if (n != 4) continue;
        const float *logits = dd_classifier_logits(c);
        dd_prediction_source where = {.file = path,
                                      .place = "line",
                                      .number = (uint64_t)lines,
                                      .word = d.word,
                                      .key_id = d.key_id,
                                      .logits = logits,
                                      .classes = 5};
        char *text = dd_prediction_json(top, n, &where, &err);
        CHECK(text && !strchr(text, '\n'), "line %d: %s", lines, text ? "a newline" : err.msg);
        cJSON *o = text ? cJSON_Parse(text) : NULL;
        CHECK(o, "line %d: not JSON: %.200s", lines, text ? text : "");
        char keys[200], key_id[24];
        keys_of(o, keys, sizeof keys);
        CHECK(!strcmp(keys, "file,line,word,key_id,top,logits"), "line %d: keys %s", lines, keys);
        const cJSON *file = cJSON_GetObjectItemCaseSensitive(o, "file");
        CHECK(cJSON_IsString(file) && !strcmp(file->valuestring, path));
        const cJSON *line = cJSON_GetObjectItemCaseSensitive(o, "line");
        CHECK(cJSON_IsNumber(line) && line->valuedouble == lines);
        const cJSON *word = cJSON_GetObjectItemCaseSensitive(o, "word");
        CHECK(cJSON_IsString(word) && !strcmp(word->valuestring, "cat"), "line %d: word", lines);
        snprintf(key_id, sizeof key_id, "%llu", (unsigned long long)d.key_id);
        const cJSON *key = cJSON_GetObjectItemCaseSensitive(o, "key_id");
        CHECK(d.key_id && cJSON_IsString(key) && !strcmp(key->valuestring, key_id), "line %d: key_id", lines);
        check_top(o, top, n);
        const cJSON *l = cJSON_GetObjectItemCaseSensitive(o, "logits");
        CHECK(cJSON_IsArray(l) && cJSON_GetArraySize(l) == 5);
        for (int i = 0; l && i < 5 && i < cJSON_GetArraySize(l); i++) /* at least 15 digits: the float exactly */
            CHECK((float)cJSON_GetArrayItem(l, i)->valuedouble == logits[i], "line %d: logit %d", lines, i);
        cJSON_Delete(o);
        free(text);

        if (lines == 1) { /* no source: the top alone; a source with a number only: that and the top */
            text = dd_prediction_json(top, 2, NULL, &err);
            o = text ? cJSON_Parse(text) : NULL;
            keys_of(o, keys, sizeof keys);
            CHECK(!strcmp(keys, "top"), "no source: %s", text ? text : err.msg);
            check_top(o, top, 2);
            cJSON_Delete(o);
            free(text);
            dd_prediction_source row = {.place = "row", .number = 7, .word = ""};
            text = dd_prediction_json(top, 1, &row, &err);
            o = text ? cJSON_Parse(text) : NULL;
            keys_of(o, keys, sizeof keys);
            CHECK(!strcmp(keys, "row,top"), "a row alone: %s", text ? text : err.msg);
            cJSON_Delete(o);
            free(text);
        }
    }
    CHECK(lines >= 20, "only %d sample cats", lines);
    dd_drawing_free(&d);
    dd_stroke_reader_close(r);
}

/* The PNG of the last drawing classified holds the model's input pixels, grey, at its input size. */
static void test_input_png(dd_classifier *c) {
    uint32_t h, w;
    dd_classifier_input_size(c, &h, &w);
    const uint8_t *seen = dd_classifier_input_image(c);
    size_t ink = 0;
    for (size_t i = 0; i < (size_t)h * w; i++) ink += seen[i] > 0;
    CHECK(ink > 20 && ink < (size_t)h * w, "the last drawing has %zu ink pixels", ink);
    unsigned char *png = NULL;
    size_t size = 0;
    dd_error err;
    CHECK(dd_prediction_input_png(c, &png, &size, &err) == 0, "%s", err.msg);
    cairo_surface_t *s = test_png_decode(png, size);
    CHECK(cairo_surface_status(s) == CAIRO_STATUS_SUCCESS && cairo_image_surface_get_width(s) == (int)w &&
          cairo_image_surface_get_height(s) == (int)h);
    if (cairo_surface_status(s) == CAIRO_STATUS_SUCCESS) {
        cairo_surface_flush(s);
        const unsigned char *data = cairo_image_surface_get_data(s);
        int stride = cairo_image_surface_get_stride(s), wrong = 0;
        for (uint32_t y = 0; y < h; y++)
            for (uint32_t x = 0; x < w; x++) {
                uint32_t v;
                memcpy(&v, data + (size_t)y * stride + (size_t)x * 4, 4);
                uint8_t want = seen[(size_t)y * w + x];
                wrong += (v >> 16 & 255) != want || (v >> 8 & 255) != want || (v & 255) != want;
            }
        CHECK(wrong == 0, "%d pixels differ from the model's input", wrong);
    }
    cairo_surface_destroy(s);
    free(png);
}

int main(void) {
    char model_path[4200];
    snprintf(model_path, sizeof model_path, "%s/doodle28.safetensors", test_tmp_dir("test_prediction_json"));
    test_make_sample_model("doodle28", 11, model_path);
    dd_error err;
    dd_classifier *c = dd_classifier_open(model_path, &err);
    CHECK(c, "%s", err.msg);
    if (c) {
        test_lines(c);
        test_input_png(c);
    }
    dd_classifier_close(c);
    return test_finish("test_prediction_json");
}
