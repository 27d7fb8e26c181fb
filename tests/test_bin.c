/* .bin strokes: exact byte layout of a record, and a round trip of every real simplified drawing through
 * dd_bin_write and the stroke reader (plain and gzip-compressed). Broken .bin files are in test_bad_input. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "doodle/quickdraw.h"
#include "testutil.h"

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void *read_all(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) exit(1);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    void *buf = malloc((size_t)n + 1);
    if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) exit(1);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static void test_layout(const char *dir) {
    char path[4096];
    snprintf(path, sizeof path, "%s/layout.bin", dir);
    dd_drawing d;
    dd_drawing_init(&d);
    dd_error err;
    const char *json = "{\"countrycode\":\"VE\",\"timestamp\":\"1970-01-02 00:00:10.5 UTC\",\"recognized\":true,"
                       "\"key_id\":\"72623859790382856\",\"drawing\":[[[1,2],[3,4]],[[255],[0]]]}";
    CHECK(dd_ndjson_parse(json, strlen(json), &d, &err) == 0, "%s", err.msg);
    FILE *f = fopen(path, "wb");
    CHECK(f && dd_bin_write(f, &d, &err) == 0, "%s", err.msg);
    CHECK(f && fclose(f) == 0);
    static const unsigned char want[] = {0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01, /* key_id 0x0102030405060708 */
                                         'V',  'E',                                      /* countrycode */
                                         1,                                              /* recognized */
                                         0x8a, 0x51, 0x01, 0x00,                         /* 86410 seconds */
                                         2,    0,                                        /* strokes */
                                         2,    0,    1,    2,    3,    4,                /* stroke 1 */
                                         1,    0,    255,  0};                           /* stroke 2 */
    size_t len;
    unsigned char *got = read_all(path, &len);
    CHECK(len == sizeof want && memcmp(got, want, len) == 0, "layout differs (%zu bytes)", len);
    free(got);

    dd_stroke_reader *r = dd_stroke_reader_open(path, &err);
    CHECK(r != NULL, "%s", err.msg);
    if (r) {
        CHECK(dd_stroke_reader_next(r, &d, &err) == DD_NEXT_OK, "%s", err.msg);
        CHECK(d.key_id == 0x0102030405060708u && strcmp(d.countrycode, "VE") == 0 && d.recognized == 1 &&
                  strcmp(d.timestamp, "1970-01-02 00:00:10 UTC") == 0 && d.word[0] == '\0' && !d.has_times &&
                  d.n_strokes == 2 && d.n_points == 3 && d.x[2] == 255 && d.y[2] == 0 && d.y[1] == 4,
              "%s", d.timestamp);
        CHECK(dd_stroke_reader_record(r) == 1);
        CHECK(dd_stroke_reader_next(r, &d, &err) == DD_NEXT_END);
        dd_stroke_reader_close(r);
    }

    /* the writer refuses what the format cannot hold */
    const char *raw = "{\"drawing\":[[[1.5],[3]]]}";
    CHECK(dd_ndjson_parse(raw, strlen(raw), &d, &err) == 0);
    f = fopen(path, "wb");
    CHECK(f && dd_bin_write(f, &d, &err) == -1 && err.code == DD_ERR_RANGE, "%s", err.msg);
    const char *big = "{\"drawing\":[[[256],[3]]]}";
    CHECK(dd_ndjson_parse(big, strlen(big), &d, &err) == 0);
    CHECK(f && dd_bin_write(f, &d, &err) == -1 && err.code == DD_ERR_RANGE);
    if (f) fclose(f);
    dd_drawing_free(&d);
}

static int same_drawing(const dd_drawing *a, const dd_drawing *b) {
    if (a->n_strokes != b->n_strokes || a->n_points != b->n_points || a->key_id != b->key_id ||
        strcmp(a->countrycode, b->countrycode) != 0 || a->recognized != b->recognized)
        return 0;
    int64_t ta, tb;
    if (dd_timestamp_parse(a->timestamp, &ta) || dd_timestamp_parse(b->timestamp, &tb) || ta != tb) return 0;
    for (uint32_t s = 0; s < a->n_strokes; s++)
        if (a->stroke_end[s] != b->stroke_end[s]) return 0;
    for (uint32_t i = 0; i < a->n_points; i++)
        if (a->x[i] != b->x[i] || a->y[i] != b->y[i]) return 0;
    return 1;
}

/* Every simplified file -> .bin (and .bin.gz) -> the same drawings. */
static void test_round_trip(const char *data, const char *dir) {
    char src_dir[4096];
    snprintf(src_dir, sizeof src_dir, "%s/strokes_simplified/lamnguyen5464_Sketch-dataset", data);
    DIR *dp = opendir(src_dir);
    CHECK(dp != NULL);
    if (!dp) return;
    char *names[400] = {0};
    size_t n_names = 0;
    struct dirent *e;
    while ((e = readdir(dp)) && n_names < 400)
        if (strstr(e->d_name, ".ndjson.gz")) names[n_names++] = strdup(e->d_name);
    closedir(dp);
    qsort(names, n_names, sizeof *names, cmp_str);

    dd_drawing d, back;
    dd_drawing_init(&d);
    dd_drawing_init(&back);
    uint64_t total = 0, equal = 0;
    dd_error err;
    for (size_t k = 0; k < n_names; k++) {
        char src[8192], bin[8192], gz[8300];
        snprintf(src, sizeof src, "%s/%s", src_dir, names[k]);
        snprintf(bin, sizeof bin, "%s/all.bin", dir);
        snprintf(gz, sizeof gz, "%s/all.bin.gz", dir);
        /* write all drawings of the file */
        dd_stroke_reader *r = dd_stroke_reader_open(src, &err);
        FILE *f = fopen(bin, "wb");
        if (!r || !f) exit(1);
        uint64_t n = 0;
        while (dd_stroke_reader_next(r, &d, &err) == DD_NEXT_OK) {
            CHECK(dd_bin_write(f, &d, &err) == 0, "%s", err.msg);
            n++;
        }
        CHECK(fclose(f) == 0);
        dd_stroke_reader_close(r);
        size_t len;
        void *bytes = read_all(bin, &len);
        test_write_gz(gz, bytes, len);
        free(bytes);
        /* read the source again alongside both copies */
        const char *copies[2] = {bin, gz};
        for (int c = 0; c < 2; c++) {
            r = dd_stroke_reader_open(src, &err);
            dd_stroke_reader *rb = dd_stroke_reader_open(copies[c], &err);
            if (!r || !rb) exit(1);
            uint64_t i = 0;
            dd_next rc;
            while ((rc = dd_stroke_reader_next(rb, &back, &err)) == DD_NEXT_OK) {
                CHECK(dd_stroke_reader_next(r, &d, &err) == DD_NEXT_OK);
                i++;
                CHECK(dd_stroke_reader_record(rb) == i);
                int same = same_drawing(&d, &back);
                CHECK(same, "%s record %llu differs from %s", copies[c], (unsigned long long)i, src);
                equal += same;
                total++;
            }
            CHECK(rc == DD_NEXT_END && i == n, "%s: %s", copies[c], err.msg);
            CHECK(dd_stroke_reader_next(r, &d, &err) == DD_NEXT_END);
            dd_stroke_reader_close(r);
            dd_stroke_reader_close(rb);
        }
        free(names[k]);
    }
    CHECK(total == 2 * 8600 && equal == total, "%llu of %llu drawings equal", (unsigned long long)equal,
          (unsigned long long)total);
    printf("round trip: %llu drawings (.bin and .bin.gz) equal to the simplified ndjson\n", (unsigned long long)equal);
    dd_drawing_free(&d);
    dd_drawing_free(&back);
}

int main(void) {
    const char *dir = test_tmp_dir("test_bin");
    test_layout(dir);
    test_round_trip(test_shared_data(), dir);
    return test_finish("test_bin");
}
