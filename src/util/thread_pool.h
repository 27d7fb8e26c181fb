/* A fixed team of threads that run one function together, as OpenMP's "parallel" does: util_pool_run calls
 * fn(ctx, t, threads) once on every thread t (the caller is thread 0) and returns when all have finished. Work is
 * split statically by t (util_share), never handed out first-come-first-served, so a given thread count always gives
 * the same bits. The workers sleep between runs. */
#ifndef DOODLE_UTIL_THREAD_POOL_H
#define DOODLE_UTIL_THREAD_POOL_H

#include <stddef.h>

#include "doodle/error.h"

typedef struct util_pool util_pool;
typedef void (*util_pool_fn)(void *ctx, int thread, int threads);

/* threads >= 1 (1: no extra thread; fn runs on the caller). */
util_pool *util_pool_new(int threads, dd_error *err);
void util_pool_free(util_pool *p);
int util_pool_threads(const util_pool *p);
/* Not reentrant: fn must not call util_pool_run on the same pool. p may be NULL (one thread). */
void util_pool_run(util_pool *p, util_pool_fn fn, void *ctx);

/* A parallel loop that runs once: fn(ctx, t, threads) for every t in 0..threads-1, on a pool made for this call and
 * freed after it. When the threads cannot start, the same calls run one after the other on the caller, so the
 * partition of the work, and the result, stay the same. */
void util_parallel(int threads, util_pool_fn fn, void *ctx);

/* Thread t's share [*lo, *hi) of n items in contiguous, nearly equal parts. */
static inline void util_share(size_t n, int t, int threads, size_t *lo, size_t *hi) {
    *lo = n * (size_t)t / (size_t)threads;
    *hi = n * (size_t)(t + 1) / (size_t)threads;
}

#endif
