/* doodle serve's engine (src/serve/engine.h) and PNG encoder: /api/predict's answer is the embedding API's
 * (dd_classify_strokes) bit for bit for the same drawing, also with four threads sharing the model; the limits
 * answer 413 and bad bodies 400, and 3,000 seeded mutations of real bodies (bytes flipped, inserted, deleted, cut
 * short, numbers changed or made huge) get 200, 400 or 413, never anything else; the PNGs and data: URIs decode
 * to the pixels they were made of. The server's loopback decision is made from the bound address alone, and a
 * request sent the moment dd_serve_start returns gets the loopback-only Host check. (The start-up race itself needs a
 * client in another process: tests/cli/serve_abuse.sh.) */
#define _POSIX_C_SOURCE 200809L /* open_memstream */
#include <arpa/inet.h>
#include <cairo.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "doodle/classify.h"
#include "doodle/model.h"
#include "doodle/quickdraw.h"
#include "doodle/rng.h"
#include "serve/engine.h"
#include "serve/png_encode.h"
#include "serve/server.h"
#include "testutil.h"

#define MAX_DRAWINGS 60
#define THREADS 4

static char *bodies[MAX_DRAWINGS];
static size_t body_len[MAX_DRAWINGS];
static int n_bodies;
static serve_guess want[MAX_DRAWINGS][5];

/* The sample's raw drawings as request bodies (ndjson lines), with the embedding API's top 5 for each. */
static void load_bodies(const char *model_path) {
    dd_error err;
    dd_classifier *c = dd_classifier_open(model_path, &err);
    CHECK(c, "%s", err.msg);
    dd_drawing d;
    dd_drawing_init(&d);
    const char *files[] = {"cat", "fish", "airplane"};
    for (int f = 0; c && f < 3; f++) {
        char path[4200];
        snprintf(path, sizeof path, "%s/strokes/raw/%s.ndjson.gz", test_sample_dir(), files[f]);
        dd_stroke_reader *r = dd_stroke_reader_open(path, &err);
        CHECK(r, "%s", err.msg);
        while (r && n_bodies < MAX_DRAWINGS && dd_stroke_reader_next(r, &d, &err) == DD_NEXT_OK) {
            dd_prediction top[5];
            if (dd_classify_strokes(c, &d, top, 5, &err) != 5) continue; /* a drawing the renderer refuses */
            FILE *mem = open_memstream(&bodies[n_bodies], &body_len[n_bodies]);
            if (!mem) exit(1);
            CHECK(dd_ndjson_write(mem, &d, &err) == 0, "%s", err.msg);
            fclose(mem);
            for (int i = 0; i < 5; i++) want[n_bodies][i] = (serve_guess){top[i].index, top[i].probability};
            n_bodies++;
        }
        dd_stroke_reader_close(r);
    }
    dd_drawing_free(&d);
    dd_classifier_close(c);
    CHECK(n_bodies >= 40, "only %d sample drawings", n_bodies);
}

static int same(const serve_guess *a, const serve_guess *b) {
    for (int i = 0; i < 5; i++)
        if (a[i].index != b[i].index || a[i].p != b[i].p) return 0;
    return 1;
}

typedef struct worker_arg {
    serve_engine *e;
    int mismatches, failures;
} worker_arg;

static void *worker(void *p) {
    worker_arg *a = p;
    dd_error err;
    serve_ctx *c = serve_ctx_take(a->e, &err);
    if (!c) {
        a->failures++;
        return NULL;
    }
    for (int round = 0; round < 3; round++)
        for (int i = 0; i < n_bodies; i++) {
            serve_guess top[5];
            int n;
            if (serve_predict(a->e, c, bodies[i], body_len[i], 5, top, &n, &err) != 200 || n != 5)
                a->failures++;
            else if (!same(top, want[i]))
                a->mismatches++;
        }
    serve_ctx_give(a->e, c);
    return NULL;
}

static void test_engine(const char *model_path) {
    dd_error err;
    serve_engine *e = serve_engine_open(model_path, &err);
    CHECK(e, "%s", err.msg);
    if (!e) return;
    serve_ctx *c = serve_ctx_take(e, &err);
    CHECK(c, "%s", err.msg);
    int agree = 0;
    for (int i = 0; c && i < n_bodies; i++) {
        serve_guess top[5];
        int n;
        int status = serve_predict(e, c, bodies[i], body_len[i], 5, top, &n, &err);
        CHECK(status == 200 && n == 5, "drawing %d: %d %s", i, status, err.msg);
        agree += status == 200 && same(top, want[i]);
        uint32_t strokes, points;
        serve_ctx_counts(c, &strokes, &points);
        CHECK(strokes > 0 && points >= strokes);
    }
    CHECK(agree == n_bodies, "%d of %d drawings as the embedding API predicts them", agree, n_bodies);
    serve_ctx_give(e, c);

    /* four threads at once on the one model, each with its own scratch: the same answers */
    pthread_t t[THREADS];
    worker_arg args[THREADS];
    for (int i = 0; i < THREADS; i++) {
        args[i] = (worker_arg){e, 0, 0};
        CHECK(pthread_create(&t[i], NULL, worker, &args[i]) == 0);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        CHECK(args[i].failures == 0 && args[i].mismatches == 0, "thread %d: %d failures, %d mismatches", i,
              args[i].failures, args[i].mismatches);
    }

    /* limits and bad bodies */
    c = serve_ctx_take(e, &err);
    serve_guess top[SERVE_MAX_TOP];
    int n;
    size_t cap = 400000;
    char *big = malloc(cap);
    CHECK(big != NULL);
    if (c && big) {
        size_t len = (size_t)snprintf(big, cap, "{\"drawing\":[");
        for (unsigned s = 0; s <= SERVE_MAX_STROKES; s++)
            len += (size_t)snprintf(big + len, cap - len, "%s[[%u],[%u]]", s ? "," : "", s % 256, s % 100);
        len += (size_t)snprintf(big + len, cap - len, "]}");
        CHECK(serve_predict(e, c, big, len, 5, top, &n, &err) == 413 && strstr(err.msg, "strokes"), "%s", err.msg);
        len = (size_t)snprintf(big, cap, "{\"drawing\":[[[");
        for (unsigned p = 0; p <= SERVE_MAX_POINTS; p++)
            len += (size_t)snprintf(big + len, cap - len, "%s%u", p ? "," : "", p % 7);
        len += (size_t)snprintf(big + len, cap - len, "],[");
        for (unsigned p = 0; p <= SERVE_MAX_POINTS; p++)
            len += (size_t)snprintf(big + len, cap - len, "%s%u", p ? "," : "", p % 5);
        len += (size_t)snprintf(big + len, cap - len, "]]]}");
        CHECK(serve_predict(e, c, big, len, 5, top, &n, &err) == 413 && strstr(err.msg, "points"), "%s", err.msg);
        /* a zig-zag across the box: few points, much ink */
        len = (size_t)snprintf(big, cap, "{\"drawing\":[[[");
        for (int p = 0; p < 1000; p++)
            len += (size_t)snprintf(big + len, cap - len, "%s%d", p ? "," : "", p % 2 ? 0 : 255);
        len += (size_t)snprintf(big + len, cap - len, "],[");
        for (int p = 0; p < 1000; p++)
            len += (size_t)snprintf(big + len, cap - len, "%s%.3f", p ? "," : "", p / 1000.0);
        len += (size_t)snprintf(big + len, cap - len, "],[");
        for (int p = 0; p < 1000; p++) len += (size_t)snprintf(big + len, cap - len, "%s%d", p ? "," : "", p);
        len += (size_t)snprintf(big + len, cap - len, "]]]}");
        CHECK(serve_predict(e, c, big, len, 5, top, &n, &err) == 413 && strstr(err.msg, "ink"), "%s", err.msg);
        const char *bad[] = {"",
                             "{",
                             "{}",
                             "{\"drawing\":[]}",
                             "{\"drawing\":[[[1],[2,3]]]}",
                             "{\"drawing\":[[[1e300],[2]]]}",
                             "{\"drawing\":\"x\"}",
                             "[1,2]",
                             "{\"drawing\":[[[1,2],[3,4]]]}x"};
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
            CHECK(serve_predict(e, c, bad[i], strlen(bad[i]), 5, top, &n, &err) == 400 && err.msg[0], "'%s'", bad[i]);
        /* and a good one still works after them; k beyond the classes gives the classes */
        CHECK(serve_predict(e, c, bodies[0], body_len[0], SERVE_MAX_TOP, top, &n, &err) == 200 && n == 5);
        CHECK(same(top, want[0]));
    }
    free(big);
    serve_ctx_give(e, c);
    serve_engine_close(e);
}

/* Real bodies mutated with a seeded RNG: every answer is 200, 400 or 413 with a message, and an intact body is
 * still answered right after. */
static void test_mutations(const char *model_path) {
    static const char *inserts[] = {"[",    "]",          "{",  "}",  ",", "\"",      "1e308", "-", "NaN",
                                    "null", "9999999999", "[[", "]]", ":", "\\u0000", ".",     "e", "0"};
    dd_error err;
    serve_engine *e = serve_engine_open(model_path, &err);
    serve_ctx *c = e ? serve_ctx_take(e, &err) : NULL;
    CHECK(c, "%s", err.msg);
    if (!c || n_bodies == 0) {
        serve_engine_close(e);
        return;
    }
    dd_rng rng;
    dd_rng_seed(&rng, 2026);
    int counts[3] = {0, 0, 0}, others = 0;
    char *buf = malloc(SERVE_MAX_BODY + 64);
    for (int round = 0; buf && round < 3000; round++) {
        int i = (int)dd_rng_below(&rng, (uint64_t)n_bodies);
        size_t len = body_len[i] > SERVE_MAX_BODY ? SERVE_MAX_BODY : body_len[i];
        memcpy(buf, bodies[i], len);
        int edits = 1 + (int)dd_rng_below(&rng, 4);
        for (int k = 0; k < edits && len > 2; k++) {
            size_t at = (size_t)dd_rng_below(&rng, len);
            switch (dd_rng_below(&rng, 8)) {
            case 0: /* flip a byte */ buf[at] = (char)dd_rng_below(&rng, 256); break;
            case 1: { /* insert a token */
                const char *t = inserts[dd_rng_below(&rng, sizeof inserts / sizeof inserts[0])];
                size_t tl = strlen(t);
                if (len + tl > SERVE_MAX_BODY) break;
                memmove(buf + at + tl, buf + at, len - at);
                memcpy(buf + at, t, tl);
                len += tl;
                break;
            }
            case 2: { /* delete a run */
                size_t n = 1 + (size_t)dd_rng_below(&rng, 8);
                if (n > len - at) n = len - at;
                memmove(buf + at, buf + at + n, len - at - n);
                len -= n;
                break;
            }
            case 3: /* cut short */ len = at; break;
            default: /* a number changed: another digit, or more digits (huge values) */
                while (at < len && (buf[at] < '0' || buf[at] > '9')) at++;
                if (at == len) break;
                if (dd_rng_below(&rng, 2) || len + 3 > SERVE_MAX_BODY) {
                    buf[at] = (char)('0' + dd_rng_below(&rng, 10));
                } else {
                    memmove(buf + at + 3, buf + at, len - at);
                    memcpy(buf + at, "999", 3);
                    len += 3;
                }
            }
        }
        serve_guess top[5];
        int n;
        dd_error_clear(&err);
        int status = serve_predict(e, c, buf, len, 5, top, &n, &err);
        if (status == 200) {
            counts[0]++;
            CHECK(n == 5 && top[0].p >= top[4].p);
        } else if (status == 400 || status == 413) {
            counts[status == 400 ? 1 : 2]++;
            CHECK(err.msg[0], "no message");
        } else {
            others++;
            fprintf(stderr, "status %d for: %.*s\n", status, (int)(len < 300 ? len : 300), buf);
        }
    }
    CHECK(others == 0, "%d mutated bodies got neither 200, 400 nor 413", others);
    printf("mutations: %d answered, %d refused (400), %d too large (413)\n", counts[0], counts[1], counts[2]);
    CHECK(counts[0] > 100 && counts[1] > 100, "mutations: %d answered, %d refused (400), %d too large", counts[0],
          counts[1], counts[2]);
    serve_guess top[5];
    int n;
    CHECK(serve_predict(e, c, bodies[1], body_len[1], 5, top, &n, &err) == 200 && same(top, want[1]));
    free(buf);
    serve_ctx_give(e, c);
    serve_engine_close(e);
}

static void test_top_k(void) {
    const float logits[5] = {1.0f, 3.0f, 3.0f, 0.0f, -2.0f};
    serve_guess top[5];
    CHECK(serve_top_k(logits, 5, 3, top) == 3);
    CHECK(top[0].index == 1 && top[1].index == 2 && top[2].index == 0, "ties go to the lower index");
    CHECK(top[0].p == top[1].p && top[0].p > top[2].p);
    CHECK(serve_top_k(logits, 5, 9, top) == 5 && top[4].index == 4);
    double sum = 0;
    for (int i = 0; i < 5; i++) sum += top[i].p;
    CHECK(sum > 0.9999 && sum < 1.0001);
}

static int b64(char c) {
    const char *a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const char *p = strchr(a, c);
    return c && p ? (int)(p - a) : -1;
}

static void test_png(int h, int w, int channels) {
    size_t n = (size_t)h * w * channels;
    unsigned char *px = malloc(n);
    for (size_t i = 0; i < n; i++) px[i] = (unsigned char)(i * 37 + i / 5);
    unsigned char *png;
    size_t size;
    dd_error err;
    CHECK(serve_png_encode(px, h, w, channels, &png, &size, &err) == 0, "%s", err.msg);
    cairo_surface_t *s = test_png_decode(png, size);
    CHECK(cairo_surface_status(s) == CAIRO_STATUS_SUCCESS && cairo_image_surface_get_width(s) == w &&
              cairo_image_surface_get_height(s) == h,
          "%dx%dx%d", h, w, channels);
    if (cairo_surface_status(s) == CAIRO_STATUS_SUCCESS) {
        cairo_surface_flush(s);
        const unsigned char *data = cairo_image_surface_get_data(s);
        int stride = cairo_image_surface_get_stride(s), wrong = 0;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                uint32_t v;
                memcpy(&v, data + (size_t)y * stride + (size_t)x * 4, 4);
                const unsigned char *p = px + ((size_t)y * w + x) * channels;
                unsigned rr = v >> 16 & 255, gg = v >> 8 & 255, bb = v & 255;
                if (channels == 1)
                    wrong += rr != p[0] || gg != p[0] || bb != p[0];
                else
                    wrong += rr != p[0] || gg != p[1] || bb != p[2];
            }
        CHECK(wrong == 0, "%d pixels differ in a %dx%dx%d PNG", wrong, h, w, channels);
    }
    cairo_surface_destroy(s);
    char *uri = serve_png_data_uri(png, size, &err);
    CHECK(uri && !strncmp(uri, "data:image/png;base64,", 22));
    if (uri) { /* decode the base64 and compare */
        const char *b = uri + 22;
        size_t len = strlen(b), got = 0, bad = 0;
        CHECK(len % 4 == 0 && len == (size + 2) / 3 * 4);
        for (size_t i = 0; i + 3 < len; i += 4) {
            int v[4];
            for (int k = 0; k < 4; k++) v[k] = b[i + k] == '=' ? 0 : b64(b[i + k]);
            if (v[0] < 0 || v[1] < 0 || v[2] < 0 || v[3] < 0) {
                bad++;
                continue;
            }
            unsigned char out[3] = {(unsigned char)(v[0] << 2 | v[1] >> 4), (unsigned char)(v[1] << 4 | v[2] >> 2),
                                    (unsigned char)(v[2] << 6 | v[3])};
            for (int k = 0; k < 3 && got < size; k++) bad += out[k] != png[got++];
        }
        CHECK(bad == 0 && got == size, "the data: URI does not decode to the PNG");
    }
    free(uri);
    free(png);
    free(px);
}

static bool loopback_of(int family, const char *text) {
    struct sockaddr_storage a = {0};
    a.ss_family = (sa_family_t)family;
    void *bytes = family == AF_INET ? (void *)&((struct sockaddr_in *)&a)->sin_addr
                                    : (void *)&((struct sockaddr_in6 *)&a)->sin6_addr;
    CHECK(inet_pton(family, text, bytes) == 1, "%s", text);
    return serve_addr_is_loopback((struct sockaddr *)&a);
}

static void test_loopback_addr(void) {
    const char *yes4[] = {"127.0.0.1", "127.1.2.3", "127.255.255.254"},
               *no4[] = {"0.0.0.0", "10.0.0.1", "128.0.0.1", "192.168.1.1", "126.255.255.255"};
    const char *yes6[] = {"::1", "::ffff:127.0.0.1", "::ffff:127.9.9.9"},
               *no6[] = {"::", "fe80::1", "::ffff:10.0.0.1", "::2", "2001:db8::1"};
    for (size_t i = 0; i < sizeof yes4 / sizeof *yes4; i++) CHECK(loopback_of(AF_INET, yes4[i]), "%s", yes4[i]);
    for (size_t i = 0; i < sizeof no4 / sizeof *no4; i++) CHECK(!loopback_of(AF_INET, no4[i]), "%s", no4[i]);
    for (size_t i = 0; i < sizeof yes6 / sizeof *yes6; i++) CHECK(loopback_of(AF_INET6, yes6[i]), "%s", yes6[i]);
    for (size_t i = 0; i < sizeof no6 / sizeof *no6; i++) CHECK(!loopback_of(AF_INET6, no6[i]), "%s", no6[i]);
    struct sockaddr_un u = {.sun_family = AF_UNIX};
    CHECK(!serve_addr_is_loopback((struct sockaddr *)&u));
}

/* Sends a request on a new connection to 127.0.0.1:port; the answer (up to cap - 1 bytes, until the server closes
 * or 2 s pass) -> out. */
static void exchange(unsigned port, const char *request, char *out, size_t cap) {
    out[0] = '\0';
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(fd >= 0);
    if (fd < 0) return;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct timeval limit = {.tv_sec = 2};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        send(fd, request, strlen(request), MSG_NOSIGNAL) == (ssize_t)strlen(request)) {
        size_t got = 0;
        ssize_t n;
        while (got + 1 < cap && (n = recv(fd, out + got, cap - 1 - got, 0)) > 0) got += (size_t)n;
        out[got] = '\0';
    }
    close(fd);
}

/* dd_serve_start, then at once a request for another host name (403, never 200) and one for localhost (200). */
static void test_server_start(const char *model_path) {
    for (int round = 0; round < 10; round++) {
        dd_error err = {0};
        dd_serve_opts o = {.model_path = model_path, .threads = 1};
        dd_server *s = dd_serve_start(&o, &err);
        CHECK(s, "%s", err.msg);
        if (!s) return;
        unsigned port = 0;
        CHECK(sscanf(dd_serve_url(s), "http://127.0.0.1:%u/", &port) == 1 && port, "%s", dd_serve_url(s));
        char answer[4096];
        exchange(port, "GET /api/model HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n", answer,
                 sizeof answer);
        CHECK(!strncmp(answer, "HTTP/1.1 403", 12), "round %d, Host: evil.example: %.40s", round, answer);
        exchange(port, "GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", answer, sizeof answer);
        CHECK(!strncmp(answer, "HTTP/1.1 200", 12), "round %d, Host: localhost: %.40s", round, answer);
        dd_serve_stop(s);
    }
}

int main(void) {
    char model_path[4200];
    snprintf(model_path, sizeof model_path, "%s/doodle28.safetensors", test_tmp_dir("test_serve"));
    test_make_sample_model("doodle28", 7, model_path);
    load_bodies(model_path);
    test_loopback_addr();
    test_server_start(model_path);
    test_engine(model_path);
    test_mutations(model_path);
    test_top_k();
    test_png(28, 28, 1);
    test_png(7, 13, 3);
    test_png(1, 1, 1);
    test_png(200, 300, 3);
    unsigned char *png;
    size_t size;
    dd_error err;
    CHECK(serve_png_encode((const uint8_t *)"x", 0, 1, 1, &png, &size, &err) == -1);
    CHECK(serve_png_encode((const uint8_t *)"x", 1, 1, 2, &png, &size, &err) == -1);
    for (int i = 0; i < n_bodies; i++) free(bodies[i]);
    return test_finish("test_serve");
}
