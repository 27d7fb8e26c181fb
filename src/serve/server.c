/* The HTTP side of doodle serve (server.h): routing, request bodies within limits, responses. */
#define _POSIX_C_SOURCE 200809L
#include "serve/server.h"

#include <errno.h>
#include <microhttpd.h>
#include <pthread.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "doodle/clock.h"
#include "serve/api_explain.h"
#include "serve/api_json.h"
#include "serve/assets.h"
#include "serve/engine.h"
#include "serve/mistakes.h"
#include "doodle/alloc.h"
#include "doodle/cpus.h"

#define REPORT_MAX_BYTES (256u * 1024u * 1024u)
/* The body of a request that is refused (over the limit, or from its headers) is read and dropped up to this much,
 * so that the client can still be told why; past it the connection is closed. */
#define DISCARD_MAX (4u * SERVE_MAX_BODY)

typedef struct request request;

/* Drawings are worked on by a few compute workers taking requests from ONE first-in first-out queue, while a
 * single network thread reads and writes every connection (each request's connection is suspended meanwhile).
 * With per-thread connections instead (MHD's thread pool), a thread that happens to hold more busy connections
 * makes them wait longer: under 64 connections the 99th percentile latency was twice the median, here close. */
typedef struct work_queue {
    pthread_mutex_t lock;
    pthread_cond_t ready;
    request *head, *tail;
    bool stopping; /* no new work: requests are answered 503 */
    pthread_t *workers;
    unsigned n_workers; /* started */
} work_queue;

/* One TCP connection, from accept to close (MHD's socket context). A connection "waits" while a request of it is
 * still coming in (or none has come yet); it is "busy" from when its request is whole until the answer is sent. */
typedef struct conn_rec conn_rec;
struct conn_rec {
    conn_rec *prev, *next; /* in the server's list, oldest wait first */
    int fd;
    double since; /* when this wait began: accept, or the previous answer sent (monotonic seconds) */
    bool busy;
    bool shut; /* shut down by us; MHD closes it soon */
};

/* Slow clients (slowloris) would hold every connection with requests that never end, since MHD's timeout counts
 * idle time only. The keeper bounds the time to receive a whole request (shutdown() of the socket: MHD reads EOF and
 * closes it; shutdown is safe from any thread, and the fd stays open while it is in the list, since MHD notifies
 * CLOSED before it closes the fd), and at the connection limit the oldest waiting connection makes room for a new
 * one, so that a new client is always accepted while any connection is only waiting. */
typedef struct conn_keeper {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    conn_rec *head, *tail;
    unsigned open;  /* connections in the list not shut down */
    unsigned limit; /* --max-connections */
    double timeout; /* seconds to receive a whole request */
    bool idle;      /* the keeper waits without a deadline: wake it when a connection starts to wait */
    bool stopping;
    pthread_t thread;
    bool started; /* thread running */
} conn_keeper;

struct dd_server {
    struct MHD_Daemon *daemon;
    serve_engine *engine;
    work_queue queue;
    bool queue_ready; /* lock and condition initialised */
    conn_keeper keeper;
    bool keeper_ready;        /* lock and condition initialised */
    char *report_path;        /* RUNDIR/report.html, or NULL */
    serve_mistakes *mistakes; /* the Mistakes view (with --run), or NULL */
    /* bound to a loopback address: only loopback Host names are answered. Set before the daemon starts and never
     * changed: the network thread reads it from the first request on. */
    bool loopback;
    char url[300];
};

struct request {
    char *body;
    size_t len, cap;
    size_t dropped; /* bytes of an over-long body read and dropped */
    bool too_large; /* the body went over SERVE_MAX_BODY */
    bool answered;  /* a response was queued (early, or after its work) */
    bool write;     /* a POST or PUT to /api/labels */
    /* refused from its headers (400, 403, 404, 405, 413, 415): answered once the request is in (its body read and
     * dropped), so that a keep-alive connection (and requests pipelined behind this one) go on */
    int refuse;
    const char *allow; /* the Allow header of a 405 */
    /* a drawing's work: set by the handler, done by a worker while the connection is suspended */
    struct MHD_Connection *conn;
    request *next; /* in the work queue */
    int route, k;
    bool done;
    int status;    /* HTTP status of the work */
    char *text;    /* the JSON answer when status is 200 (owned until sent) */
    char msg[512]; /* the error otherwise */
};

typedef enum route {
    ROUTE_NONE,
    ROUTE_ASSET,
    ROUTE_HEALTHZ,
    ROUTE_MODEL,
    ROUTE_PREDICT,
    ROUTE_EXPLAIN,
    ROUTE_REPORT,
    ROUTE_MISTAKES,
    ROUTE_MONTAGE,
    ROUTE_LABELS
} route;

static route route_of(const char *url) {
    if (!strcmp(url, "/healthz")) return ROUTE_HEALTHZ;
    if (!strcmp(url, "/api/model")) return ROUTE_MODEL;
    if (!strcmp(url, "/api/predict")) return ROUTE_PREDICT;
    if (!strcmp(url, "/api/explain")) return ROUTE_EXPLAIN;
    if (!strcmp(url, "/report")) return ROUTE_REPORT;
    if (!strcmp(url, "/api/mistakes")) return ROUTE_MISTAKES;
    if (!strcmp(url, "/api/mistakes/montage")) return ROUTE_MONTAGE;
    if (!strcmp(url, "/api/labels")) return ROUTE_LABELS;
    if (serve_asset_find(url)) return ROUTE_ASSET;
    return ROUTE_NONE;
}

/* True when a Host header names this machine's loopback ("localhost", 127.x.x.x, [::1], with or without a port).
 * A server on loopback answers only those, so that a web page elsewhere cannot reach it by pointing a DNS name at
 * 127.0.0.1 (DNS rebinding). */
static bool host_is_loopback(const char *host) {
    char name[256];
    size_t n;
    if (host[0] == '[') {
        const char *end = strchr(host, ']');
        if (!end) return false;
        n = (size_t)(end - host - 1);
        host++;
    } else {
        const char *colon = strchr(host, ':');
        n = colon ? (size_t)(colon - host) : strlen(host);
    }
    if (n == 0 || n >= sizeof name) return false;
    memcpy(name, host, n);
    name[n] = '\0';
    if (!strcasecmp(name, "localhost") || !strcmp(name, "::1")) return true;
    struct in_addr a;
    return inet_pton(AF_INET, name, &a) == 1 && (ntohl(a.s_addr) >> 24) == 127;
}

bool serve_addr_is_loopback(const struct sockaddr *addr) {
    if (addr->sa_family == AF_INET) return (ntohl(((const struct sockaddr_in *)addr)->sin_addr.s_addr) >> 24) == 127;
    if (addr->sa_family != AF_INET6) return false;
    const struct in6_addr *a = &((const struct sockaddr_in6 *)addr)->sin6_addr;
    return IN6_IS_ADDR_LOOPBACK(a) || (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
}

/* True when Origin is this server's own, "http://" + the Host the request was sent to (a browser sends the page's
 * origin with every POST and cross-origin request; another site's page has another). */
static bool origin_is_own(const char *origin, const char *host) {
    if (!host || strncasecmp(origin, "http://", 7)) return false;
    origin += 7;
    if (!strcasecmp(origin, host)) return true;
    size_t n = strlen(origin), h = strlen(host); /* the default port may be named in one and not the other */
    return h == n + 3 && !strncasecmp(host, origin, n) && !strcmp(host + n, ":80");
}

static const char *skip_space(const char *p) {
    while (*p == ' ' || *p == '\t') p++;
    return p;
}

/* True for "application/json", optionally with "; charset=utf-8" (any case, quoted or not). A browser sends a
 * cross-origin POST without asking first only for text/plain and form types: requiring JSON keeps other sites' pages
 * from making the server compute. */
static bool type_is_json(const char *type) {
    static const char json[] = "application/json", charset[] = "charset";
    const char *p = skip_space(type);
    if (strncasecmp(p, json, sizeof json - 1)) return false;
    p = skip_space(p + sizeof json - 1);
    if (!*p) return true;
    if (*p != ';') return false;
    p = skip_space(p + 1);
    if (strncasecmp(p, charset, sizeof charset - 1)) return false;
    p = skip_space(p + sizeof charset - 1);
    if (*p++ != '=') return false;
    p = skip_space(p);
    bool quoted = *p == '"';
    p += quoted;
    if (strncasecmp(p, "utf-8", 5)) return false;
    p += 5;
    if (quoted && *p++ != '"') return false;
    return !*skip_space(p);
}

/* ---- connections: a deadline for each request, room for new clients ---- */

static void conn_unlink(conn_keeper *k, conn_rec *c) {
    if (c->prev)
        c->prev->next = c->next;
    else
        k->head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    else
        k->tail = c->prev;
    c->prev = c->next = NULL;
}

static void conn_append(conn_keeper *k, conn_rec *c) {
    c->prev = k->tail;
    c->next = NULL;
    if (k->tail)
        k->tail->next = c;
    else
        k->head = c;
    k->tail = c;
}

/* With k->lock held. MHD sees end of file on it and closes it (with the request's completion callback). An error
 * (ENOTCONN) means the client has gone already: MHD closes it all the same. */
static void conn_shut(conn_keeper *k, conn_rec *c) {
    (void)shutdown(c->fd, SHUT_RDWR);
    c->shut = true;
    k->open--;
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe) {
    dd_server *s = cls;
    conn_keeper *k = &s->keeper;
    conn_rec *c = *socket_context;
    if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
        if (!c) return;
        pthread_mutex_lock(&k->lock);
        conn_unlink(k, c);
        if (!c->shut) k->open--;
        pthread_mutex_unlock(&k->lock);
        free(c);
        *socket_context = NULL;
        return;
    }
    const union MHD_ConnectionInfo *info = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (!info || !(c = calloc(1, sizeof *c))) return; /* not tracked: only MHD's idle timeout applies to it */
    c->fd = info->connect_fd;
    c->since = dd_now_seconds();
    pthread_mutex_lock(&k->lock);
    conn_append(k, c);
    k->open++;
    /* At the limit MHD stops accepting: the connection that has waited longest for its request makes room */
    if (k->open >= k->limit)
        for (conn_rec *old = k->head; old != c; old = old->next)
            if (!old->busy && !old->shut) {
                conn_shut(k, old);
                break;
            }
    if (k->idle) pthread_cond_signal(&k->wake);
    pthread_mutex_unlock(&k->lock);
    *socket_context = c;
}

static conn_rec *conn_of(struct MHD_Connection *conn) {
    const union MHD_ConnectionInfo *info = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return info ? info->socket_context : NULL;
}

/* The connection's request is in (or answered from its headers): its time is no longer the client's. */
static void conn_request_in(dd_server *s, struct MHD_Connection *conn) {
    conn_rec *c = conn_of(conn);
    if (!c) return;
    pthread_mutex_lock(&s->keeper.lock);
    c->busy = true;
    pthread_mutex_unlock(&s->keeper.lock);
}

/* Its answer is sent (or the request ended otherwise): a new wait for the next request on the connection. */
static void conn_request_done(dd_server *s, struct MHD_Connection *conn) {
    conn_keeper *k = &s->keeper;
    conn_rec *c = conn_of(conn);
    if (!c) return;
    pthread_mutex_lock(&k->lock);
    c->busy = false;
    c->since = dd_now_seconds();
    conn_unlink(k, c); /* the list stays in order of since */
    conn_append(k, c);
    if (k->idle) pthread_cond_signal(&k->wake);
    pthread_mutex_unlock(&k->lock);
}

/* The keeper: shuts down connections that have waited k->timeout for a whole request, sleeping until the next
 * deadline (the list is in order of since, so the first waiting connection has the next one). */
static void *keeper_main(void *arg) {
    conn_keeper *k = arg;
    pthread_mutex_lock(&k->lock);
    while (!k->stopping) {
        double now = dd_now_seconds(), next = -1;
        for (conn_rec *c = k->head; c; c = c->next) {
            if (c->busy || c->shut) continue;
            if (c->since + k->timeout > now) {
                next = c->since + k->timeout;
                break;
            }
            conn_shut(k, c);
        }
        k->idle = next < 0;
        if (k->idle) {
            pthread_cond_wait(&k->wake, &k->lock);
        } else {
            struct timespec at = {.tv_sec = (time_t)next};
            at.tv_nsec = (long)((next - (double)at.tv_sec) * 1e9);
            if (at.tv_nsec >= 1000000000L) at.tv_nsec = 999999999L;
            pthread_cond_timedwait(&k->wake, &k->lock, &at);
        }
        k->idle = false;
    }
    pthread_mutex_unlock(&k->lock);
    return NULL;
}

/* ---- responses ---- */

static enum MHD_Result queue(struct MHD_Connection *conn, request *rq, int status, struct MHD_Response *r,
                             const char *type, bool page) {
    if (!r) return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, page ? "no-cache" : "no-store");
    if (page)
        MHD_add_response_header(r, "Content-Security-Policy",
                                "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'");
    enum MHD_Result ret = MHD_queue_response(conn, (unsigned)status, r);
    MHD_destroy_response(r);
    if (rq) rq->answered = true;
    return ret;
}

/* Sends text (allocated; ownership passes to the response). */
static enum MHD_Result send_owned(struct MHD_Connection *conn, request *rq, int status, const char *type, char *text,
                                  size_t len) {
    struct MHD_Response *r = MHD_create_response_from_buffer_with_free_callback(len, text, free);
    if (!r) {
        free(text);
        return MHD_NO;
    }
    return queue(conn, rq, status, r, type, false);
}

static enum MHD_Result send_static(struct MHD_Connection *conn, request *rq, int status, const char *type,
                                   const void *data, size_t len, bool page) {
    struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)data, MHD_RESPMEM_PERSISTENT);
    return queue(conn, rq, status, r, type, page);
}

__attribute__((format(printf, 4, 5))) static enum MHD_Result send_error(struct MHD_Connection *conn, request *rq,
                                                                        int status, const char *fmt, ...) {
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    dd_error err;
    char *text = serve_json_error(status, msg, &err);
    if (!text) {
        static const char oom[] = "{\"error\":\"out of memory\",\"status\":500}";
        return send_static(conn, rq, 500, "application/json", oom, sizeof oom - 1, false);
    }
    return send_owned(conn, rq, status, "application/json", text, strlen(text));
}

static enum MHD_Result send_json(struct MHD_Connection *conn, request *rq, char *text, const dd_error *err) {
    if (!text) return send_error(conn, rq, 500, "%s", err->msg);
    return send_owned(conn, rq, 200, "application/json", text, strlen(text));
}

static enum MHD_Result send_not_allowed(struct MHD_Connection *conn, request *rq, const char *msg, const char *allow) {
    dd_error err;
    char *text = serve_json_error(405, msg, &err);
    if (!text) return send_error(conn, rq, 500, "out of memory");
    struct MHD_Response *r = MHD_create_response_from_buffer_with_free_callback(strlen(text), text, free);
    if (!r) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
    return queue(conn, rq, 405, r, "application/json", false);
}

/* ---- GET routes ---- */

/* RUNDIR/report.html, read afresh for every request (the report may be written while the server runs). */
static enum MHD_Result send_report(dd_server *s, struct MHD_Connection *conn, request *rq) {
    if (!s->report_path)
        return send_error(conn, rq, 404, "no report: start doodle serve with --run RUNDIR to show a run's report");
    FILE *f = fopen(s->report_path, "rb");
    if (!f)
        return send_error(conn, rq, 404, "no report at %s (%s): make it with doodle report", s->report_path,
                          strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) || !S_ISREG(st.st_mode) || st.st_size > (off_t)REPORT_MAX_BYTES) {
        fclose(f);
        return send_error(conn, rq, 500, "%s is not a regular file of at most %u bytes", s->report_path,
                          REPORT_MAX_BYTES);
    }
    size_t size = (size_t)st.st_size;
    char *data = malloc(size ? size : 1);
    if (!data) {
        fclose(f);
        return send_error(conn, rq, 500, "out of memory reading %s", s->report_path);
    }
    size_t got = fread(data, 1, size, f);
    int bad = ferror(f);
    fclose(f);
    if (bad || got != size) {
        free(data);
        return send_error(conn, rq, 500, "cannot read %s", s->report_path);
    }
    struct MHD_Response *r = MHD_create_response_from_buffer_with_free_callback(size, data, free);
    if (!r) {
        free(data);
        return MHD_NO;
    }
    /* The report is one self-contained page: inline styles, data: pictures and one inline script (table sorting).
     * It may run them, but may load or send nothing, so a report made from hostile data cannot reach anywhere. */
    MHD_add_response_header(r, "Content-Security-Policy",
                            "default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
                            "form-action 'none'; base-uri 'none'; frame-ancestors 'none'");
    return queue(conn, rq, 200, r, "text/html; charset=utf-8", false);
}

/* GET /api/mistakes, /api/mistakes/montage, /api/labels. */
static enum MHD_Result send_mistakes(dd_server *s, struct MHD_Connection *conn, request *rq, route rt) {
    if (!s->mistakes)
        return send_error(conn, rq, 404, "no run: start doodle serve with --run RUNDIR to name its mistakes");
    dd_error err = {0};
    char *text = NULL;
    int status;
    if (rt == ROUTE_MONTAGE) {
        unsigned char *png = NULL;
        size_t size = 0;
        status = serve_mistakes_montage(s->mistakes, MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "method"),
                                        MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "cluster"), &png,
                                        &size, &err);
        if (status != 200) return send_error(conn, rq, status, "%s", err.msg);
        return send_owned(conn, rq, 200, "image/png", (char *)png, size);
    }
    status = rt == ROUTE_MISTAKES ? serve_mistakes_json(s->mistakes, &text, &err)
                                  : serve_labels_json(s->mistakes, &text, &err);
    if (status != 200) return send_error(conn, rq, status, "%s", err.msg);
    return send_owned(conn, rq, 200, "application/json", text, strlen(text));
}

static enum MHD_Result answer_get(dd_server *s, struct MHD_Connection *conn, request *rq, route rt, const char *url) {
    dd_error err = {0};
    switch (rt) {
    case ROUTE_ASSET: {
        const serve_asset *a = serve_asset_find(url);
        return send_static(conn, rq, 200, a->content_type, a->data, a->size, true);
    }
    case ROUTE_HEALTHZ: {
        static const char ok[] = "ok\n";
        return send_static(conn, rq, 200, "text/plain; charset=utf-8", ok, sizeof ok - 1, false);
    }
    case ROUTE_MODEL:
        return send_json(conn, rq,
                         serve_json_model(serve_engine_model(s->engine),
                                          s->report_path && access(s->report_path, R_OK) == 0, s->mistakes != NULL,
                                          &err),
                         &err);
    case ROUTE_REPORT: return send_report(s, conn, rq);
    case ROUTE_MISTAKES:
    case ROUTE_MONTAGE:
    case ROUTE_LABELS: return send_mistakes(s, conn, rq, rt);
    default: return send_error(conn, rq, 404, "nothing at %.200s", url);
    }
}

/* ---- POST routes ---- */

/* ?top=K: 1..SERVE_MAX_TOP; -1 when it is not a number in range. */
static int top_of(struct MHD_Connection *conn) {
    const char *text = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "top");
    if (!text) return 5;
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (!*text || *end || errno || v < 1 || v > SERVE_MAX_TOP) return -1;
    return (int)v;
}

/* A worker's part: the drawing in rq->body -> rq->status and rq->text or rq->msg, with the worker's scratch. */
static void work(dd_server *s, serve_ctx *c, request *rq) {
    dd_error err = {0};
    rq->text = NULL;
    if (rq->route == ROUTE_LABELS) { /* file I/O, off the network thread; saves are serialised inside */
        rq->status = serve_labels_save(s->mistakes, rq->body, rq->len, &rq->text, &err);
        snprintf(rq->msg, sizeof rq->msg, "%s", err.msg);
        return;
    }
    if (!c) {
        rq->status = 500;
        snprintf(rq->msg, sizeof rq->msg, "out of memory");
        return;
    }
    if (rq->route == ROUTE_PREDICT) {
        serve_guess top[SERVE_MAX_TOP];
        int n;
        rq->status = serve_predict(s->engine, c, rq->body, rq->len, rq->k, top, &n, &err);
        if (rq->status == 200 && !(rq->text = serve_json_predict(serve_engine_model(s->engine), c, top, n, &err)))
            rq->status = 500;
    } else {
        rq->text = serve_explain_json(s->engine, c, rq->body, rq->len, &rq->status, &err);
    }
    snprintf(rq->msg, sizeof rq->msg, "%s", err.msg);
}

static void *worker_main(void *arg) {
    dd_server *s = arg;
    work_queue *q = &s->queue;
    dd_error err = {0};
    serve_ctx *c = serve_ctx_take(s->engine, &err); /* this worker's scratch for its whole life */
    for (;;) {
        pthread_mutex_lock(&q->lock);
        while (!q->head && !q->stopping) pthread_cond_wait(&q->ready, &q->lock);
        request *rq = q->head;
        if (rq && !(q->head = rq->next)) q->tail = NULL;
        pthread_mutex_unlock(&q->lock);
        if (!rq) break; /* stopping, and nothing left */
        work(s, c, rq);
        rq->done = true;
        MHD_resume_connection(rq->conn); /* MHD calls on_request again, which answers */
    }
    serve_ctx_give(s->engine, c);
    return NULL;
}

static enum MHD_Result answer_post(dd_server *s, struct MHD_Connection *conn, request *rq, route rt) {
    if (rt == ROUTE_LABELS && !s->mistakes)
        return send_error(conn, rq, 404, "no run: start doodle serve with --run RUNDIR to name its mistakes");
    int k = rt == ROUTE_LABELS ? 1 : top_of(conn);
    if (k < 0) return send_error(conn, rq, 400, "top: give a number of classes from 1 to %d", SERVE_MAX_TOP);
    if (rq->len == 0 && rt == ROUTE_LABELS)
        return send_error(conn, rq, 400, "empty body: send {\"method\", \"names\", \"mislabelled\"}");
    if (rq->len == 0) return send_error(conn, rq, 400, "empty body: send {\"drawing\": [[[x…], [y…], [t…]], …]}");
    rq->conn = conn;
    rq->route = (int)rt;
    rq->k = k;
    rq->next = NULL;
    work_queue *q = &s->queue;
    pthread_mutex_lock(&q->lock);
    if (q->stopping) {
        pthread_mutex_unlock(&q->lock);
        return send_error(conn, rq, 503, "the server is stopping");
    }
    MHD_suspend_connection(conn);
    if (q->tail)
        q->tail->next = rq;
    else
        q->head = rq;
    q->tail = rq;
    pthread_cond_signal(&q->ready);
    pthread_mutex_unlock(&q->lock);
    return MHD_YES;
}

/* After a worker resumed the connection: its answer. */
static enum MHD_Result answer_done(struct MHD_Connection *conn, request *rq) {
    if (rq->status != 200) return send_error(conn, rq, rq->status, "%s", rq->msg);
    char *text = rq->text;
    rq->text = NULL; /* the response owns it now */
    return send_owned(conn, rq, 200, "application/json", text, strlen(text));
}

/* Keeps the body within SERVE_MAX_BODY; beyond it, drops what comes (up to DISCARD_MAX) to answer 413. */
static enum MHD_Result take_body(request *rq, const char *data, size_t n) {
    if (rq->too_large || n > SERVE_MAX_BODY - rq->len) {
        rq->too_large = true;
        rq->dropped += n;
        return rq->dropped > DISCARD_MAX ? MHD_NO : MHD_YES;
    }
    if (rq->len + n > rq->cap) {
        size_t cap = rq->cap ? rq->cap : 4096;
        while (cap < rq->len + n) cap *= 2;
        if (cap > SERVE_MAX_BODY) cap = SERVE_MAX_BODY;
        char *grown = realloc(rq->body, cap);
        if (!grown) return MHD_NO;
        rq->body = grown;
        rq->cap = cap;
    }
    memcpy(rq->body + rq->len, data, n);
    rq->len += n;
    return MHD_YES;
}

/* True when a request refused from its headers is better answered before its body: the client sends the body only
 * when told to continue (Expect: 100-continue), or announces more than DISCARD_MAX. Any other body is read and
 * dropped first: an answer queued before the body is in makes MHD close the connection with the body unread, and
 * a socket closed with unread bytes sends a reset, which loses the answer for a client still sending (curl got no
 * answer to 2% of 300 KB bodies refused 413 so: "000", exit 55). */
static bool answer_before_body(struct MHD_Connection *conn) {
    const char *expect = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_EXPECT);
    const char *length = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (expect && !strcasecmp(skip_space(expect), "100-continue")) return true;
    return length && strtoull(length, NULL, 10) > DISCARD_MAX;
}

__attribute__((format(printf, 3, 4))) static void refuse(request *rq, int status, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rq->msg, sizeof rq->msg, fmt, ap);
    va_end(ap);
    rq->refuse = status;
}

/* What the headers alone say against the request: sets rq->refuse (0: none). */
static void check_headers(dd_server *s, struct MHD_Connection *conn, request *rq, const char *url, const char *method,
                          const char *version) {
    const char *host = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
    const char *origin = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Origin");
    route rt = route_of(url);
    bool get = !strcmp(method, "GET") || !strcmp(method, "HEAD");
    rq->route = (int)rt;
    if (!host && !strcmp(version, MHD_HTTP_VERSION_1_1))
        refuse(rq, 400, "an HTTP/1.1 request needs a Host header");
    else if (s->loopback && host && !host_is_loopback(host))
        refuse(rq, 403, "this server answers only requests to localhost, not to %.100s", host);
    else if (origin &&
             !origin_is_own(origin, host)) /* no CORS: another site's page gets nothing, not even a preflight */
        refuse(rq, 403, "requests from another site's page (Origin: %.100s) are refused", origin);
    else if (rt == ROUTE_NONE)
        refuse(rq, 404, "nothing at %.200s", url);
    else if (rt == ROUTE_PREDICT || rt == ROUTE_EXPLAIN ||
             (rt == ROUTE_LABELS && (!strcmp(method, "POST") || !strcmp(method, "PUT")))) {
        const char *type = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
        const char *length = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        rq->write = rt == ROUTE_LABELS;
        if (strcmp(method, "POST") && !rq->write) {
            refuse(rq, 405, "%s is not allowed on %.200s; use POST", method, url);
            rq->allow = "POST";
        } else if (!type || !type_is_json(type))
            refuse(rq, 415, "send the %s as Content-Type: application/json, not %.100s",
                   rq->write ? "labels" : "drawing", type ? type : "none");
        else if (length && strtoull(length, NULL, 10) > SERVE_MAX_BODY)
            refuse(rq, 413, "a body of %.30s bytes; at most %u are taken", length, SERVE_MAX_BODY);
    } else if (!get) {
        refuse(rq, 405, "%s is not allowed on %.200s; use GET, HEAD%s", method, url,
               rt == ROUTE_LABELS ? ", POST, PUT" : "");
        rq->allow = rt == ROUTE_LABELS ? "GET, HEAD, POST, PUT" : "GET, HEAD";
    }
}

static enum MHD_Result answer_refused(struct MHD_Connection *conn, request *rq) {
    if (rq->refuse == 405) return send_not_allowed(conn, rq, rq->msg, rq->allow);
    return send_error(conn, rq, rq->refuse, "%s", rq->msg);
}

/* MHD calls this once the headers are in, then with each piece of the body, then once more with none (the request
 * is whole), and for a drawing once more after its worker resumed the connection. Answers are queued only once the
 * request is whole: a response queued from the headers makes MHD drop the rest of the request and close the
 * connection, losing a keep-alive connection's next (pipelined) request. A request refused from its headers is
 * answered at once only when its body is not worth reading (answer_before_body); else its body is read and dropped. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **req_cls) {
    dd_server *s = cls;
    request *rq = *req_cls;
    if (!rq) {
        if (!(rq = calloc(1, sizeof *rq))) return MHD_NO;
        *req_cls = rq;
        check_headers(s, conn, rq, url, method, version);
        if (rq->refuse && answer_before_body(conn)) {
            conn_request_in(s, conn);
            return answer_refused(conn, rq);
        }
        return MHD_YES;
    }
    if (rq->answered) { /* answered already (early, or after its work): whatever still comes is not read */
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (rq->done) return answer_done(conn, rq);
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (!rq->refuse) return take_body(rq, upload_data, n);
        rq->dropped += n; /* refused: read and dropped, to answer once it is in */
        return rq->dropped > DISCARD_MAX ? MHD_NO : MHD_YES;
    }
    conn_request_in(s, conn); /* the request is whole */
    if (rq->refuse) return answer_refused(conn, rq);
    if (rq->route != ROUTE_PREDICT && rq->route != ROUTE_EXPLAIN && !rq->write)
        return answer_get(s, conn, rq, (route)rq->route, url);
    if (rq->too_large)
        return send_error(conn, rq, 413, "a body of more than %u bytes; at most %u are taken", SERVE_MAX_BODY,
                          SERVE_MAX_BODY);
    return answer_post(s, conn, rq, (route)rq->route);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls, enum MHD_RequestTerminationCode toe) {
    (void)toe;
    conn_request_done(cls, conn);
    request *rq = *req_cls;
    if (!rq) return;
    free(rq->text);
    free(rq->body);
    free(rq);
    *req_cls = NULL;
}

static void on_log(void *cls, const char *fmt, va_list ap) {
    (void)cls;
    fputs("doodle serve: ", stderr);
    vfprintf(stderr, fmt, ap);
}

/* ---- start and stop ---- */

static int resolve(const char *host, unsigned port, struct sockaddr_storage *addr, socklen_t *len, dd_error *err) {
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    char service[16];
    snprintf(service, sizeof service, "%u", port);
    int rc = getaddrinfo(host, service, &hints, &res);
    if (rc || !res) return dd_fail(err, DD_ERR_USAGE, "--host %s: %s", host, gai_strerror(rc));
    memcpy(addr, res->ai_addr, res->ai_addrlen);
    *len = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

dd_server *dd_serve_start(const dd_serve_opts *o, dd_error *err) {
    dd_server *s = dd_calloc(1, sizeof *s, err);
    if (!s) return NULL;
    if (o->run_dir) {
        size_t n = strlen(o->run_dir) + sizeof "/report.html";
        if (!(s->report_path = dd_malloc(n, 1, err))) goto fail;
        snprintf(s->report_path, n, "%s/report.html", o->run_dir);
    }
    if (!(s->engine = serve_engine_open(o->model_path, err))) goto fail;
    if (o->run_dir && !(s->mistakes = serve_mistakes_open(o->run_dir, o->clusters_dir, serve_engine_model(s->engine),
                                                          o->read_only, err)))
        goto fail;
    const char *host = o->host ? o->host : "127.0.0.1";
    struct sockaddr_storage addr;
    socklen_t addr_len = 0;
    if (resolve(host, o->port, &addr, &addr_len, err)) goto fail;
    unsigned threads = o->threads ? o->threads : (unsigned)dd_cpu_count(1 << 16);
    work_queue *q = &s->queue;
    pthread_mutex_init(&q->lock, NULL);
    pthread_cond_init(&q->ready, NULL);
    s->queue_ready = true;
    if (!(q->workers = dd_calloc(threads, sizeof *q->workers, err))) goto fail;
    for (; q->n_workers < threads; q->n_workers++)
        if (pthread_create(&q->workers[q->n_workers], NULL, worker_main, s)) {
            dd_fail(err, DD_ERR_NOMEM, "cannot start worker thread %u", q->n_workers + 1);
            goto fail;
        }
    /* before the daemon starts: its thread reads these from the first request on */
    s->loopback = serve_addr_is_loopback((struct sockaddr *)&addr);
    conn_keeper *k = &s->keeper;
    k->limit = o->connection_limit ? o->connection_limit : 256u;
    unsigned timeout = o->timeout_seconds ? o->timeout_seconds : 15u;
    k->timeout = timeout;
    pthread_condattr_t monotonic; /* deadlines are on the monotonic clock */
    if (pthread_condattr_init(&monotonic)) {
        dd_fail(err, DD_ERR_NOMEM, "cannot set up the connection keeper");
        goto fail;
    }
    bool ready = !pthread_condattr_setclock(&monotonic, CLOCK_MONOTONIC) && !pthread_cond_init(&k->wake, &monotonic);
    pthread_condattr_destroy(&monotonic);
    if (!ready) {
        dd_fail(err, DD_ERR_NOMEM, "cannot set up the connection keeper");
        goto fail;
    }
    pthread_mutex_init(&k->lock, NULL);
    s->keeper_ready = true;
    if (pthread_create(&k->thread, NULL, keeper_main, k)) {
        dd_fail(err, DD_ERR_NOMEM, "cannot start the connection keeper thread");
        goto fail;
    }
    k->started = true;
    unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME;
    if (addr.ss_family == AF_INET6) flags |= MHD_USE_IPv6;
    s->daemon = MHD_start_daemon(flags, (uint16_t)o->port, NULL, NULL, on_request, s, MHD_OPTION_EXTERNAL_LOGGER,
                                 on_log, s, /* first */
                                 MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr, MHD_OPTION_CONNECTION_LIMIT, k->limit,
                                 MHD_OPTION_CONNECTION_TIMEOUT, timeout, MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
                                 MHD_OPTION_NOTIFY_CONNECTION, on_connection, s, MHD_OPTION_END);
    if (!s->daemon) {
        dd_fail(err, DD_ERR_IO, "cannot listen on %s port %u (in use, or not an address of this machine?)", host,
                o->port);
        goto fail;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    unsigned port = info ? info->port : o->port;
    char numeric[200];
    if (getnameinfo((struct sockaddr *)&addr, addr_len, numeric, sizeof numeric, NULL, 0, NI_NUMERICHOST))
        snprintf(numeric, sizeof numeric, "%s", host);
    bool v6 = addr.ss_family == AF_INET6;
    snprintf(s->url, sizeof s->url, "http://%s%s%s:%u/", v6 ? "[" : "", numeric, v6 ? "]" : "", port);
    return s;
fail:
    dd_serve_stop(s);
    return NULL;
}

const char *dd_serve_url(const dd_server *s) { return s->url; }

void dd_serve_stop(dd_server *s) {
    if (!s) return;
    conn_keeper *k = &s->keeper;
    if (k->started) {
        pthread_mutex_lock(&k->lock);
        k->stopping = true;
        pthread_cond_signal(&k->wake);
        pthread_mutex_unlock(&k->lock);
        pthread_join(k->thread, NULL);
    }
    work_queue *q = &s->queue;
    if (s->queue_ready) { /* the workers finish the queue (resuming every suspended connection), then stop */
        pthread_mutex_lock(&q->lock);
        q->stopping = true;
        pthread_cond_broadcast(&q->ready);
        pthread_mutex_unlock(&q->lock);
        for (unsigned i = 0; i < q->n_workers; i++) pthread_join(q->workers[i], NULL);
    }
    if (s->daemon) MHD_stop_daemon(s->daemon); /* closes every connection: the list empties */
    if (s->queue_ready) {
        pthread_mutex_destroy(&q->lock);
        pthread_cond_destroy(&q->ready);
    }
    if (s->keeper_ready) {
        pthread_mutex_destroy(&k->lock);
        pthread_cond_destroy(&k->wake);
    }
    free(q->workers);
    serve_mistakes_close(s->mistakes);
    serve_engine_close(s->engine);
    free(s->report_path);
    free(s);
}
