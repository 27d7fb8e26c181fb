/* K-Means as scikit-learn runs it (its "lloyd" algorithm): greedy k-means++ seeding, Lloyd iterations until the
 * centres move less than tol, an empty cluster re-seeded with the point farthest from its centre, the best of
 * several restarts by inertia. Distances to the centres as |x|^2 - 2 x.c + |c|^2. The restarts are spread over
 * threads, each with its own generator seeded from the caller's in restart order, so the result is the same for
 * any number of threads. */
#include <math.h>
#include <cblas.h>
#include <stdlib.h>
#include <string.h>

#include "doodle/numerics.h"
#include "numerics/linalg.h"
#include "doodle/alloc.h"
#include "util/blas_threads.h"
#include "doodle/cpus.h"
#include "util/thread_pool.h"

void dd_kmeans_free(dd_kmeans_result *r) {
    if (!r) return;
    free(r->centers);
    free(r->labels);
    memset(r, 0, sizeof *r);
}

typedef struct kmeans_work {
    const float *X;
    size_t n, d;
    int k;
    const float *xsq; /* [n] */
    float *dots;      /* [n, k] x.c for every point and centre */
    float *csq;       /* [k] */
    float *mind;      /* [n] squared distance to the chosen centre */
    double *sums;     /* [k, d] */
    int *counts;      /* [k] */
} kmeans_work;

/* Eight partial sums (coordinate j goes to lane j % 8): the compiler may not reorder one float sum, but eight
 * independent ones it vectorises. k-means++ seeding spends most of K-Means' time here. */
static float sqdist(const float *a, const float *b, size_t d) {
    float lane[8] = {0};
    size_t j = 0;
    for (; j + 8 <= d; j += 8)
        for (int l = 0; l < 8; l++) {
            float t = a[j + l] - b[j + l];
            lane[l] += t * t;
        }
    for (; j < d; j++) {
        float t = a[j] - b[j];
        lane[j % 8] += t * t;
    }
    return ((lane[0] + lane[4]) + (lane[1] + lane[5])) + ((lane[2] + lane[6]) + (lane[3] + lane[7]));
}

/* Index of the first point whose cumulative weight passes u (weights [n] summing to total). */
static size_t draw_weighted(const float *w, size_t n, double u) {
    double acc = 0;
    for (size_t i = 0; i < n; i++) {
        acc += w[i];
        if (acc > u) return i;
    }
    size_t last = n - 1;
    while (last > 0 && w[last] <= 0) last--;
    return last;
}

/* Greedy k-means++: each new centre is the best (lowest potential) of 2 + log k candidates drawn with probability
 * proportional to the squared distance to the nearest centre so far. */
static int seed_plus_plus(const kmeans_work *w, float *centers, dd_rng *rng, dd_error *err) {
    const size_t n = w->n, d = w->d;
    const int trials = 2 + (int)log((double)w->k);
    float *closest = dd_malloc(n, sizeof *closest, err);
    float *cand = dd_malloc(n, sizeof *cand, err);
    float *best = dd_malloc(n, sizeof *best, err);
    if (!closest || !cand || !best) {
        free(closest);
        free(cand);
        free(best);
        return -1;
    }
    size_t first = (size_t)dd_rng_below(rng, n);
    memcpy(centers, w->X + first * d, d * sizeof *centers);
    double pot = 0;
    for (size_t i = 0; i < n; i++) pot += closest[i] = sqdist(w->X + i * d, centers, d);
    for (int c = 1; c < w->k; c++) {
        double best_pot = INFINITY;
        size_t best_i = 0;
        for (int t = 0; t < trials; t++) {
            size_t i = pot > 0 ? draw_weighted(closest, n, dd_rng_uniform(rng) * pot) : (size_t)dd_rng_below(rng, n);
            const float *x = w->X + i * d;
            double p = 0;
            for (size_t j = 0; j < n; j++) {
                float dj = sqdist(w->X + j * d, x, d);
                cand[j] = dj < closest[j] ? dj : closest[j];
                p += cand[j];
            }
            if (p < best_pot) {
                best_pot = p;
                best_i = i;
                memcpy(best, cand, n * sizeof *best);
            }
        }
        memcpy(centers + (size_t)c * d, w->X + best_i * d, d * sizeof *centers);
        memcpy(closest, best, n * sizeof *closest);
        pot = best_pot;
    }
    free(closest);
    free(cand);
    free(best);
    return 0;
}

/* Labels every point with its nearest centre; mind gets the squared distances. The n x k dot products x.c are one
 * single-threaded sgemm (the restarts run on several threads at once): a loop per point over k = 5..8 centres
 * is too short to vectorise, and took most of K-Means' time. */
static void assign(const kmeans_work *w, const float *centers, int32_t *labels) {
    const size_t n = w->n, d = w->d;
    const int k = w->k;
    for (int c = 0; c < k; c++) {
        float s = 0;
        for (size_t j = 0; j < d; j++) s += centers[(size_t)c * d + j] * centers[(size_t)c * d + j];
        w->csq[c] = s;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, k, (int)d, 1.0f, w->X, (int)d, centers, (int)d, 0.0f,
                w->dots, k);
    for (size_t i = 0; i < n; i++) {
        const float *dot = w->dots + i * (size_t)k;
        int best = 0;
        float bd = INFINITY;
        for (int c = 0; c < k; c++) {
            float v = w->csq[c] - 2 * dot[c];
            if (v < bd) {
                bd = v;
                best = c;
            }
        }
        labels[i] = best;
        float m = bd + w->xsq[i];
        w->mind[i] = m > 0 ? m : 0;
    }
}

/* Centres = means of their points; an empty cluster takes the point farthest from its own centre. Returns the
 * summed squared movement of the centres. */
static double update(kmeans_work *w, float *centers, int32_t *labels) {
    const size_t n = w->n, d = w->d;
    const int k = w->k;
    memset(w->sums, 0, (size_t)k * d * sizeof *w->sums);
    memset(w->counts, 0, (size_t)k * sizeof *w->counts);
    for (size_t i = 0; i < n; i++) {
        double *s = w->sums + (size_t)labels[i] * d;
        const float *x = w->X + i * d;
        for (size_t j = 0; j < d; j++) s[j] += x[j];
        w->counts[labels[i]]++;
    }
    for (int c = 0; c < k; c++) {
        if (w->counts[c] > 0) continue;
        size_t far = 0;
        for (size_t i = 1; i < n; i++)
            if (w->mind[i] > w->mind[far] && w->counts[labels[i]] > 1) far = i;
        if (w->counts[labels[far]] <= 1) continue;
        const float *x = w->X + far * d;
        double *from = w->sums + (size_t)labels[far] * d, *to = w->sums + (size_t)c * d;
        for (size_t j = 0; j < d; j++) {
            from[j] -= x[j];
            to[j] = x[j];
        }
        w->counts[labels[far]]--;
        w->counts[c] = 1;
        labels[far] = c;
        w->mind[far] = 0;
    }
    double shift = 0;
    for (int c = 0; c < k; c++) {
        if (w->counts[c] == 0) continue;
        float *ctr = centers + (size_t)c * d;
        const double *s = w->sums + (size_t)c * d;
        for (size_t j = 0; j < d; j++) {
            float v = (float)(s[j] / w->counts[c]);
            shift += (double)(v - ctr[j]) * (v - ctr[j]);
            ctr[j] = v;
        }
    }
    return shift;
}

static double inertia(const kmeans_work *w, const float *centers, const int32_t *labels) {
    double s = 0;
    for (size_t i = 0; i < w->n; i++) {
        const float *x = w->X + i * w->d, *c = centers + (size_t)labels[i] * w->d;
        for (size_t j = 0; j < w->d; j++) {
            double t = (double)x[j] - c[j];
            s += t * t;
        }
    }
    return s;
}

/* One thread's share of the restarts (first, first + step, ...) and the best of them. */
typedef struct restart_job {
    kmeans_work w;
    const uint64_t *seeds;
    int first, step, restarts, max_iter;
    double tol;
    float *centers;
    int32_t *labels, *prev;
    /* best so far: lowest inertia, the earlier restart on a tie */
    double inertia;
    int best_restart, iterations;
    float *best_centers;
    int32_t *best_labels;
    dd_error err;
    int failed;
} restart_job;

static void run_restarts(void *jobs, int t, int threads) {
    (void)threads;
    restart_job *j = (restart_job *)jobs + t;
    kmeans_work *w = &j->w;
    for (int r = j->first; r < j->restarts; r += j->step) {
        dd_rng rng;
        dd_rng_seed(&rng, j->seeds[r]);
        if (seed_plus_plus(w, j->centers, &rng, &j->err)) {
            j->failed = 1;
            return;
        }
        int it = 0;
        assign(w, j->centers, j->labels);
        while (it < j->max_iter) {
            it++;
            double shift = update(w, j->centers, j->labels);
            memcpy(j->prev, j->labels, w->n * sizeof *j->prev);
            assign(w, j->centers, j->labels);
            if (!memcmp(j->prev, j->labels, w->n * sizeof *j->prev) || shift <= j->tol) break;
        }
        double in = inertia(w, j->centers, j->labels);
        if (in < j->inertia) {
            j->inertia = in;
            j->best_restart = r;
            j->iterations = it;
            memcpy(j->best_centers, j->centers, (size_t)w->k * w->d * sizeof *j->centers);
            memcpy(j->best_labels, j->labels, w->n * sizeof *j->labels);
        }
    }
}

static void free_job(restart_job *j) {
    free(j->w.dots);
    free(j->w.csq);
    free(j->w.mind);
    free(j->w.sums);
    free(j->w.counts);
    free(j->centers);
    free(j->labels);
    free(j->prev);
    free(j->best_centers);
    free(j->best_labels);
}

#define MAX_THREADS 8

int dd_kmeans(const float *X, size_t n, size_t d, int k, int restarts, int max_iter, dd_rng *rng, dd_kmeans_result *out,
              dd_error *err) {
    memset(out, 0, sizeof *out);
    if (n < 1 || d < 1) return dd_fail(err, DD_ERR_USAGE, "K-Means needs at least one point");
    if (k < 1 || (size_t)k > n)
        return dd_fail(err, DD_ERR_USAGE, "K-Means cannot make %d clusters of %zu points", k, n);
    if (restarts < 1 || max_iter < 1)
        return dd_fail(err, DD_ERR_USAGE, "K-Means needs at least one restart and one iteration");
    /* Each restart has its own generator seeded from rng in order, so the result does not depend on how the
     * restarts are spread over threads. */
    int threads = dd_cpu_count(MAX_THREADS);
    if (threads > restarts) threads = restarts;
    if ((double)n * (double)d * k < 1e5) threads = 1; /* not worth a thread */
    uint64_t *seeds = dd_malloc((size_t)restarts, sizeof *seeds, err);
    float *xsq = dd_malloc(n, sizeof *xsq, err);
    restart_job jobs[MAX_THREADS];
    if (threads > 1) util_blas_single_threaded(); /* each restart thread calls sgemm itself */
    memset(jobs, 0, sizeof jobs);
    int rc = -1;
    if (!seeds || !xsq) goto done;
    for (int r = 0; r < restarts; r++) seeds[r] = dd_rng_next(rng);
    numerics_row_sqnorms(X, n, d, xsq);
    /* sklearn's tolerance: 1e-4 of the mean column variance. */
    double *sum = dd_calloc(2 * d, sizeof *sum, err);
    if (!sum) goto done;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < d; j++) {
            sum[j] += X[i * d + j];
            sum[d + j] += (double)X[i * d + j] * X[i * d + j];
        }
    double var = 0;
    for (size_t j = 0; j < d; j++) {
        double mean = sum[j] / (double)n;
        var += sum[d + j] / (double)n - mean * mean;
    }
    free(sum);
    for (int t = 0; t < threads; t++) {
        restart_job *j = &jobs[t];
        j->w = (kmeans_work){.X = X, .n = n, .d = d, .k = k, .xsq = xsq};
        j->seeds = seeds;
        j->first = t;
        j->step = threads;
        j->restarts = restarts;
        j->max_iter = max_iter;
        j->tol = 1e-4 * var / (double)d;
        j->inertia = INFINITY;
        j->w.csq = dd_malloc((size_t)k, sizeof *j->w.csq, err);
        j->w.dots = dd_malloc(n * (size_t)k, sizeof *j->w.dots, err);
        j->w.mind = dd_malloc(n, sizeof *j->w.mind, err);
        j->w.sums = dd_malloc((size_t)k * d, sizeof *j->w.sums, err);
        j->w.counts = dd_malloc((size_t)k, sizeof *j->w.counts, err);
        j->centers = dd_malloc((size_t)k * d, sizeof *j->centers, err);
        j->labels = dd_malloc(n, sizeof *j->labels, err);
        j->prev = dd_malloc(n, sizeof *j->prev, err);
        j->best_centers = dd_malloc((size_t)k * d, sizeof *j->best_centers, err);
        j->best_labels = dd_malloc(n, sizeof *j->best_labels, err);
        if (!j->w.csq || !j->w.dots || !j->w.mind || !j->w.sums || !j->w.counts || !j->centers || !j->labels ||
            !j->prev || !j->best_centers || !j->best_labels)
            goto done;
    }
    util_parallel(threads, run_restarts, jobs);
    int best = 0;
    for (int t = 0; t < threads; t++) {
        if (jobs[t].failed) {
            *err = jobs[t].err;
            goto done;
        }
        if (jobs[t].inertia < jobs[best].inertia ||
            (jobs[t].inertia == jobs[best].inertia && jobs[t].best_restart < jobs[best].best_restart))
            best = t;
    }
    out->k = k;
    out->inertia = jobs[best].inertia;
    out->iterations = jobs[best].iterations;
    out->centers = jobs[best].best_centers;
    out->labels = jobs[best].best_labels;
    jobs[best].best_centers = NULL;
    jobs[best].best_labels = NULL;
    rc = 0;
done:
    for (int t = 0; t < threads; t++) free_job(&jobs[t]);
    free(seeds);
    free(xsq);
    return rc;
}
