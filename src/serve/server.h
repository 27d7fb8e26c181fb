/* doodle serve's HTTP server (libmicrohttpd), behind doodle/serve.h's dd_serve_start: the drawing page, its JSON
 * API, the run's report, and the limits that keep it up whatever a client sends. Routes:
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

#include "doodle/serve.h"

struct sockaddr;

/* True for an address of this machine's loopback (127.0.0.0/8, ::1, ::ffff:127.x.x.x): a server bound to one
 * answers only requests whose Host names loopback. */
bool serve_addr_is_loopback(const struct sockaddr *addr);

#endif
