/* doodle serve as a library: the drawing page, its JSON API and the Mistakes view on a trained model, served over
 * HTTP from a program of its own (what `doodle serve` does); and the answers' shapes, for programs that answer as
 * the server does (what `doodle predict --json` does). docs/serving.md describes the page, the API and its limits.
 *
 *     dd_serve_opts o = {.model_path = "run/model.safetensors", .run_dir = "run", .port = 0};
 *     dd_server *s = dd_serve_start(&o, &err);      (listening: worker threads answer the requests)
 *     printf("open %s\n", dd_serve_url(s));
 *     ...                                           (until the program wants it to stop)
 *     dd_serve_stop(s);
 *
 * Bound to a loopback address (the default), the server answers only requests whose Host names loopback; it
 * never reads a file a request names, and the only file it writes is RUNDIR/labels.json (not with read_only). */
#ifndef DOODLE_SERVE_H
#define DOODLE_SERVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "doodle/classify.h"
#include "doodle/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dd_serve_opts {
    const char *model_path;    /* the model (.safetensors written by doodle train) */
    const char *run_dir;       /* also RUNDIR/report.html at /report and the Mistakes view; NULL: neither */
    const char *clusters_dir;  /* the Mistakes view's clustering (an explain clusters folder); NULL:
                                  RUNDIR/explain/clusters */
    bool read_only;            /* never write RUNDIR/labels.json */
    const char *host;          /* address to bind (numeric or a name); NULL: 127.0.0.1 */
    unsigned port;             /* 0: a free port (dd_serve_url tells which) */
    unsigned threads;          /* worker threads; 0: one per core */
    unsigned connection_limit; /* connections at once (at the limit, the one that has waited longest for its
                                  request is closed to make room); 0: 256 */
    unsigned timeout_seconds;  /* a connection has this long to send each whole request (from connecting, or
                                  from its previous answer), and idle ones are closed after it; 0: 15 */
} dd_serve_opts;

typedef struct dd_server dd_server;

/* Loads the model (and the run's clustering) and starts listening; NULL with err set (DD_ERR_USAGE for a host
 * that does not resolve, DD_ERR_IO for a port that cannot be listened on). */
dd_server *dd_serve_start(const dd_serve_opts *o, dd_error *err);
/* The URL to open, e.g. "http://127.0.0.1:8080/" (the real port when 0 was asked). Lives as long as s. */
const char *dd_serve_url(const dd_server *s);
/* Stops listening, answers the requests in flight, frees everything. NULL is allowed. */
void dd_serve_stop(dd_server *s);

/* ---- the answers' shapes ---- */

/* Where a drawing came from, written around its classes by dd_prediction_json; each field left out when unset. */
typedef struct dd_prediction_source {
    const char *file;    /* "file": the file it came from; NULL: none */
    const char *place;   /* the name of its number in that file ("line", "record", "row"); NULL: none */
    uint64_t number;     /* "<place>": its number there */
    const char *word;    /* "word": its label; NULL or "": none */
    uint64_t key_id;     /* "key_id", as a string as Quick, Draw! has it; 0: none */
    const float *logits; /* "logits": the model's outputs before softmax [classes]; NULL: none */
    int classes;
} dd_prediction_source;

/* One classified drawing as one line of JSON (no newline): {"file", "<place>", "word", "key_id", "top": [{"class",
 * "index", "p"}…], "logits"}, with top[0 .. n) best first and p rounded to 6 decimals. "top" is written by the
 * server's own writer, so that it has the shape of POST /api/predict's answer; the line is what
 * `doodle predict --json` prints. where may be NULL (the "top" alone). Allocated text (free it), or NULL with err
 * set (out of memory). */
char *dd_prediction_json(const dd_prediction *top, int n, const dd_prediction_source *where, dd_error *err);

/* The image the model saw in c's last successful dd_classify_* call (dd_classifier_input_image) as a PNG, 8-bit
 * grey, the model's input size: the bytes of /api/predict's "input_png" for the same drawing. *png is allocated
 * (free it); -1 with err set when out of memory. */
int dd_prediction_input_png(const dd_classifier *c, unsigned char **png, size_t *size, dd_error *err);

#ifdef __cplusplus
}
#endif
#endif
