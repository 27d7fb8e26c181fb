/* Classify the drawings of a Quick, Draw! ndjson file with a trained model, printing the top 3 guesses:
 *
 *   example_classify run/model.safetensors data/sample/strokes/raw/cat.ndjson.gz
 *
 * Everything needed is in doodle/classify.h (the model) and doodle/quickdraw.h (reading strokes). Raw and
 * simplified drawings both work: the classifier simplifies and renders them as training did. */
#include <stdio.h>

#include "doodle/classify.h"
#include "doodle/quickdraw.h"

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s MODEL.safetensors DRAWINGS.ndjson\n", argv[0]);
        return 2;
    }
    dd_error err;
    dd_classifier *c = dd_classifier_open(argv[1], &err);
    if (!c) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    dd_stroke_reader *reader = dd_stroke_reader_open(argv[2], &err);
    if (!reader) {
        fprintf(stderr, "%s\n", err.msg);
        dd_classifier_close(c);
        return 1;
    }
    dd_drawing d;
    dd_drawing_init(&d);
    int status = 0;
    dd_next next;
    while ((next = dd_stroke_reader_next(reader, &d, &err)) != DD_NEXT_END) {
        dd_prediction top[3];
        int n = next == DD_NEXT_OK ? dd_classify_strokes(c, &d, top, 3, &err) : -1;
        if (n < 0) { /* a bad record: say so and go on, unless the file cannot be read further */
            if (next == DD_NEXT_OK) dd_stroke_reader_locate(reader, &err); /* "file:line: " before the message */
            fprintf(stderr, "%s\n", err.msg);
            status = 1;
            if (next == DD_NEXT_FATAL) break;
            continue;
        }
        printf("line %llu (%s):", (unsigned long long)dd_stroke_reader_record(reader), d.word[0] ? d.word : "?");
        for (int i = 0; i < n; i++) printf("  %s %.3f", top[i].name, top[i].probability);
        printf("\n");
    }
    dd_drawing_free(&d);
    dd_stroke_reader_close(reader);
    dd_classifier_close(c);
    return status;
}
