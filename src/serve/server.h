/* doodle serve's HTTP server (libmicrohttpd): the drawing page, its JSON API, the run's report, and the limits
 * that keep it up whatever a client sends. Routes:
 *   GET  /, /app.js, /style.css  the page (compiled in: src/serve/web/)
 *   GET  /healthz                "ok"
 *   GET  /api/model              classes, input size, layers, summary
 *   POST /api/predict[?top=K]    a drawing -> the top K guesses (default 5) and the image the model saw
 *   POST /api/explain            a drawing -> guesses, saliency and activations of the top guess
 *   GET  /report                 RUNDIR/report.html when --run is given (a fixed path; 404 when missing)
 *   GET  /mistakes, /api/mistakes[/montage], GET/POST/PUT /api/labels: the Mistakes view (serve/mistakes.h)
 * No request names a file: the files read after start-up are RUNDIR/report.html, RUNDIR/labels.json and the
 * clustering's montages (names the server makes from a method and a cluster number it checked); the only file
 * ever written is RUNDIR/labels.json. Bound to loopback, the
 * server answers only requests whose Host is a loopback name (403 otherwise: no DNS rebinding). A request with
 * another site's Origin is refused (403; no CORS), and drawings must come as Content-Type: application/json (415):
 * another site's page can neither read the answers nor make the server compute. */
#ifndef DOODLE_SERVE_SERVER_H
#define DOODLE_SERVE_SERVER_H

#include <stdbool.h>

#include "doodle/error.h"

typedef struct serve_options {
    const char *model_path;
    const char *run_dir;       /* NULL: no report, no Mistakes view */
    const char *clusters_dir;  /* the Mistakes view's clustering (an explain clusters folder); NULL:
                                  RUNDIR/explain/clusters */
    bool read_only;            /* never write RUNDIR/labels.json */
    const char *host;          /* address to bind (numeric or a name); NULL: 127.0.0.1 */
    unsigned port;             /* 0: a free port */
    unsigned threads;          /* worker threads; 0: one per core */
    unsigned connection_limit; /* connections at once (at the limit, the one that has waited longest for its
                                  request is closed to make room); 0: 256 */
    unsigned timeout_seconds;  /* a connection has this long to send each whole request (from connecting, or
                                  from its previous answer), and idle ones are closed after it; 0: 15 */
} serve_options;

typedef struct serve_server serve_server;
struct sockaddr;

/* True for an address of this machine's loopback (127.0.0.0/8, ::1, ::ffff:127.x.x.x): a server bound to one
 * answers only requests whose Host names loopback. */
bool serve_addr_is_loopback(const struct sockaddr *addr);
/* Loads the model and starts listening (worker threads run the requests). */
serve_server *serve_start(const serve_options *o, dd_error *err);
/* The URL to open, e.g. "http://127.0.0.1:8080/" (the real port when 0 was asked). */
const char *serve_url(const serve_server *s);
/* Stops listening, waits for requests in flight, frees everything. */
void serve_stop(serve_server *s);

#endif
