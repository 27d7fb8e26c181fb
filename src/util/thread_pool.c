#include "util/thread_pool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "doodle/alloc.h"

struct util_pool {
    int threads;
    pthread_t *workers; /* threads - 1 */
    pthread_mutex_t lock;
    pthread_cond_t start, done;
    atomic_ulong generation; /* bumped for each run; workers wait for a new one */
    atomic_int pending;      /* workers still running the current job */
    int quit;
    util_pool_fn fn;
    void *ctx;
};

typedef struct worker_arg {
    util_pool *p;
    int index;
} worker_arg;

/* A pass of a network is a dozen runs a few hundred microseconds apart; waking a sleeping thread costs tens of
 * microseconds each time, so the threads first watch for the next run (and the caller for the end of this one)
 * for about this many polls before they sleep. */
#define SPIN_POLLS 20000

static int spin_until_changed(atomic_ulong *v, unsigned long seen) {
    for (int i = 0; i < SPIN_POLLS; i++) {
        if (atomic_load_explicit(v, memory_order_acquire) != seen) return 1;
        if (i % 64 == 63) sched_yield(); /* leave the core to whoever needs it more */
    }
    return 0;
}

static void *worker(void *arg) {
    worker_arg a = *(worker_arg *)arg;
    free(arg);
    util_pool *p = a.p;
    unsigned long seen = 0;
    for (;;) {
        spin_until_changed(&p->generation, seen);
        pthread_mutex_lock(&p->lock);
        while (p->generation == seen && !p->quit) pthread_cond_wait(&p->start, &p->lock);
        if (p->quit) {
            pthread_mutex_unlock(&p->lock);
            return NULL;
        }
        seen = p->generation;
        util_pool_fn fn = p->fn;
        void *ctx = p->ctx;
        pthread_mutex_unlock(&p->lock);
        fn(ctx, a.index, p->threads);
        if (atomic_fetch_sub(&p->pending, 1) == 1) { /* the last one out wakes the caller if it went to sleep */
            pthread_mutex_lock(&p->lock);
            pthread_cond_signal(&p->done);
            pthread_mutex_unlock(&p->lock);
        }
    }
}

util_pool *util_pool_new(int threads, dd_error *err) {
    if (threads < 1) {
        dd_fail(err, DD_ERR_USAGE, "thread count %d must be at least 1", threads);
        return NULL;
    }
    util_pool *p = dd_calloc(1, sizeof *p, err);
    if (!p) return NULL;
    p->threads = 1;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->start, NULL);
    pthread_cond_init(&p->done, NULL);
    if (threads > 1 && !(p->workers = dd_calloc((size_t)threads - 1, sizeof *p->workers, err))) goto fail;
    for (int i = 1; i < threads; i++) {
        worker_arg *a = dd_malloc(1, sizeof *a, err);
        if (!a) goto fail;
        *a = (worker_arg){p, i};
        if (pthread_create(&p->workers[i - 1], NULL, worker, a) != 0) {
            free(a);
            dd_fail(err, DD_ERR_NOMEM, "cannot start thread %d of %d", i + 1, threads);
            goto fail;
        }
        p->threads++;
    }
    return p;
fail:
    util_pool_free(p);
    return NULL;
}

void util_pool_free(util_pool *p) {
    if (!p) return;
    pthread_mutex_lock(&p->lock);
    p->quit = 1;
    pthread_cond_broadcast(&p->start);
    pthread_mutex_unlock(&p->lock);
    for (int i = 0; i < p->threads - 1; i++) pthread_join(p->workers[i], NULL);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->start);
    pthread_cond_destroy(&p->done);
    free(p->workers);
    free(p);
}

int util_pool_threads(const util_pool *p) { return p ? p->threads : 1; }

void util_pool_run(util_pool *p, util_pool_fn fn, void *ctx) {
    if (!p || p->threads == 1) {
        fn(ctx, 0, 1);
        return;
    }
    pthread_mutex_lock(&p->lock);
    p->fn = fn;
    p->ctx = ctx;
    p->pending = p->threads - 1;
    p->generation++;
    pthread_cond_broadcast(&p->start);
    pthread_mutex_unlock(&p->lock);
    fn(ctx, 0, p->threads);
    for (int i = 0; i < SPIN_POLLS && atomic_load(&p->pending) > 0; i++)
        if (i % 64 == 63) sched_yield();
    pthread_mutex_lock(&p->lock);
    while (atomic_load(&p->pending) > 0) pthread_cond_wait(&p->done, &p->lock);
    pthread_mutex_unlock(&p->lock);
}

void util_parallel(int threads, util_pool_fn fn, void *ctx) {
    if (threads < 1) threads = 1;
    dd_error ignored = {0}; /* without threads the same calls run here */
    util_pool *p = threads > 1 ? util_pool_new(threads, &ignored) : NULL;
    if (p)
        util_pool_run(p, fn, ctx);
    else
        for (int t = 0; t < threads; t++) fn(ctx, t, threads);
    util_pool_free(p);
}
