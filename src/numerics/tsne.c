/* Exact t-SNE (van der Maaten & Hinton 2008) as scikit-learn's TSNE(method="exact") computes it, so that the two
 * can be compared (bench/tsne_check.sh): Gaussian conditionals on squared Euclidean distances with the perplexity
 * met by bisection on the precision, symmetrised and normalised (floored at the double epsilon), a Student-t
 * (one degree of freedom) map, gradient descent with momentum (0.5 during early exaggeration, then 0.8) and
 * per-coordinate gains (+0.2 / x0.8, at least 0.01), learning rate "auto" (max(n / exaggeration / 4, 50)), PCA
 * initialisation scaled to a standard deviation of 1e-4, convergence checked every 50 iterations.
 *
 * Cost: n x n floats for P and O(n^2) work per iteration, split by rows over a thread pool (the row shares are
 * fixed, and the normaliser is summed per thread then in thread order: the same thread count gives the same
 * bits). Meant for up to a few thousand points. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "doodle/numerics.h"
#include "doodle/alloc.h"
#include "doodle/cpus.h"
#include "util/thread_pool.h"

#define PERPLEXITY_STEPS 100
#define PERPLEXITY_TOLERANCE 1e-5
#define CHECK_EVERY 50
#define MIN_GAIN 0.01
#define MIN_GRAD_NORM 1e-7
#define MAX_THREADS 8

dd_tsne_opts dd_tsne_opts_default(void) {
    dd_tsne_opts o = {.perplexity = 30,
                      .max_iter = 1000,
                      .early_exaggeration = 12,
                      .exaggeration_iter = 250,
                      .learning_rate = 0,
                      .seed = 1,
                      .threads = 0};
    return o;
}

typedef struct tsne_ctx {
    size_t n, d;
    const float *X;
    float *P;          /* [n, n] joint probabilities (conditionals first) */
    double perplexity; /* for the conditionals */
    const double *Y;   /* [n, 2] */
    double *grad;      /* [n, 4]: the pass's sums, then [n, 2] the gradient */
    double exaggeration;
    double plogp, psum; /* sum p log p and sum p over i != j, for the KL */
    double *part;       /* [threads, 2] per-thread sums: normaliser, sum p log w */
    int want_kl;
} tsne_ctx;

/* Row i's conditional probabilities p(j | i) with perplexity ctx->perplexity, as sklearn's
 * _binary_search_perplexity: bisection on beta = 1 / (2 sigma^2) until the entropy (nats) is log(perplexity). */
static void conditional_row(tsne_ctx *c, size_t i, double *dist) {
    const size_t n = c->n, d = c->d;
    const float *xi = c->X + i * d;
    for (size_t j = 0; j < n; j++) {
        const float *xj = c->X + j * d;
        double s = 0;
        for (size_t k = 0; k < d; k++) {
            double t = (double)xi[k] - xj[k];
            s += t * t;
        }
        dist[j] = (float)s; /* sklearn computes the distances in float32 */
    }
    double beta = 1, lo = -INFINITY, hi = INFINITY, want = log(c->perplexity);
    float *row = c->P + i * n;
    for (int step = 0; step < PERPLEXITY_STEPS; step++) {
        double sum = 0, sum_dp = 0;
        for (size_t j = 0; j < n; j++) {
            double p = j == i ? 0 : exp(-dist[j] * beta);
            row[j] = (float)p;
            sum += p;
            sum_dp += dist[j] * p;
        }
        if (sum == 0) sum = 1e-8;
        double entropy = log(sum) + beta * (sum_dp / sum);
        for (size_t j = 0; j < n; j++) row[j] = (float)(row[j] / sum);
        double diff = entropy - want;
        if (fabs(diff) <= PERPLEXITY_TOLERANCE) break;
        if (diff > 0) {
            lo = beta;
            beta = isinf(hi) ? beta * 2 : (beta + hi) / 2;
        } else {
            hi = beta;
            beta = isinf(lo) ? beta / 2 : (beta + lo) / 2;
        }
    }
}

static void conditionals_job(void *vctx, int t, int threads) {
    tsne_ctx *c = vctx;
    size_t lo, hi;
    util_share(c->n, t, threads, &lo, &hi);
    double *dist = malloc(c->n * sizeof *dist);
    if (!dist) { /* reported by the caller: a NaN row */
        for (size_t i = lo; i < hi; i++) c->P[i * c->n] = NAN;
        return;
    }
    for (size_t i = lo; i < hi; i++) conditional_row(c, i, dist);
    free(dist);
}

/* One pass over the pairs: per row i, A_i = sum_j p_ij w_ij (y_i - y_j) and B_i = sum_j w_ij^2 (y_i - y_j) with
 * w_ij = 1 / (1 + |y_i - y_j|^2); per thread, Z = sum w_ij and (for the KL) sum p_ij log w_ij. Since
 * q_ij = w_ij / Z, the gradient 4 sum_j (exaggeration p_ij - q_ij) w_ij (y_i - y_j) is 4 (exaggeration A_i - B_i / Z),
 * and KL = sum p log p - sum p log w + log Z sum p: Z is not needed before the pass. */
static void pairs_job(void *vctx, int t, int threads) {
    tsne_ctx *c = vctx;
    size_t lo, hi;
    util_share(c->n, t, threads, &lo, &hi);
    double z = 0, plogw = 0;
    for (size_t i = lo; i < hi; i++) {
        double yi0 = c->Y[2 * i], yi1 = c->Y[2 * i + 1], a0 = 0, a1 = 0, b0 = 0, b1 = 0;
        const float *prow = c->P + i * c->n;
        for (size_t j = 0; j < c->n; j++) {
            if (j == i) continue;
            double a = yi0 - c->Y[2 * j], b = yi1 - c->Y[2 * j + 1];
            double w = 1 / (1 + a * a + b * b), pw = prow[j] * w, ww = w * w;
            z += w;
            a0 += pw * a;
            a1 += pw * b;
            b0 += ww * a;
            b1 += ww * b;
            if (c->want_kl) plogw += prow[j] * log(w);
        }
        c->grad[4 * i] = a0, c->grad[4 * i + 1] = a1, c->grad[4 * i + 2] = b0, c->grad[4 * i + 3] = b1;
    }
    c->part[2 * t] = z;
    c->part[2 * t + 1] = plogw;
}

/* The gradient into c->grad [n, 2] (from the pass's [n, 4]); returns the KL divergence when c->want_kl. */
static double objective(tsne_ctx *c, util_pool *pool, int threads) {
    util_pool_run(pool, pairs_job, c);
    double z = 0, plogw = 0;
    for (int t = 0; t < threads; t++) z += c->part[2 * t], plogw += c->part[2 * t + 1];
    for (size_t i = 0; i < c->n; i++)
        for (int k = 0; k < 2; k++)
            c->grad[2 * i + (size_t)k] =
                4 * (c->exaggeration * c->grad[4 * i + (size_t)k] - c->grad[4 * i + 2 + (size_t)k] / z);
    return c->want_kl ? c->plogp - plogw + log(z) * c->psum : 0;
}

/* PCA initialisation as sklearn's: the first two principal components, scaled so that the first has a standard
 * deviation of 1e-4. A single component (or none) leaves the rest to seeded noise of that size. */
static int init_pca(const float *X, size_t n, size_t d, uint64_t seed, double *Y, dd_error *err) {
    dd_rng rng;
    dd_rng_seed(&rng, seed);
    for (size_t i = 0; i < 2 * n; i++) Y[i] = 1e-4 * (dd_rng_uniform(&rng) - 0.5);
    dd_pca pca;
    size_t cap = n - 1 < d ? n - 1 : d;
    int comps = cap < 2 ? (int)cap : 2;
    if (comps < 1) return 0;
    if (dd_pca_fit(X, n, d, comps, 1, &rng, &pca, err)) return -1;
    float *s = dd_malloc(n * (size_t)pca.components, sizeof *s, err);
    int rc = -1;
    if (!s || dd_pca_transform(&pca, X, n, s, err)) goto done;
    double mean = 0, var = 0;
    for (size_t i = 0; i < n; i++) mean += s[i * (size_t)pca.components];
    mean /= (double)n;
    for (size_t i = 0; i < n; i++) {
        double v = s[i * (size_t)pca.components] - mean;
        var += v * v;
    }
    double sd = sqrt(var / (double)n);
    if (sd > 0)
        for (size_t i = 0; i < n; i++)
            for (int k = 0; k < pca.components; k++)
                Y[2 * i + (size_t)k] = s[i * (size_t)pca.components + (size_t)k] / sd * 1e-4;
    rc = 0;
done:
    free(s);
    dd_pca_free(&pca);
    return rc;
}

int dd_tsne(const float *X, size_t n, size_t d, const dd_tsne_opts *o, float *out, dd_tsne_result *res, dd_error *err) {
    memset(res, 0, sizeof *res);
    if (n < 2) return dd_fail(err, DD_ERR_USAGE, "t-SNE needs at least 2 points (got %zu)", n);
    if (!(o->perplexity > 0) || o->perplexity >= (double)n)
        return dd_fail(err, DD_ERR_USAGE, "t-SNE perplexity %g must be positive and below the number of points (%zu)",
                       o->perplexity, n);
    if (o->max_iter < 1 || o->exaggeration_iter < 0)
        return dd_fail(err, DD_ERR_USAGE, "t-SNE iterations must be positive");
    int threads = o->threads > 0 ? o->threads : n < 256 ? 1 : dd_cpu_count(MAX_THREADS);
    tsne_ctx c = {.n = n, .d = d, .X = X, .perplexity = o->perplexity};
    double *Y = NULL, *update = NULL, *gains = NULL;
    util_pool *pool = NULL;
    int rc = -1;
    if (!(c.P = dd_malloc(n * n, sizeof *c.P, err)) || !(Y = dd_malloc(2 * n, sizeof *Y, err)) ||
        !(update = dd_calloc(2 * n, sizeof *update, err)) || !(gains = dd_malloc(2 * n, sizeof *gains, err)) ||
        !(c.grad = dd_malloc(4 * n, sizeof *c.grad, err)) ||
        !(c.part = dd_calloc(2 * (size_t)threads, sizeof *c.part, err)))
        goto done;
    if (threads > 1 && !(pool = util_pool_new(threads, err))) goto done;

    /* P: conditionals, then (P + P^T) / sum, floored at the double epsilon (sklearn's _joint_probabilities). */
    util_pool_run(pool, conditionals_job, &c);
    for (size_t i = 0; i < n; i++)
        if (isnan(c.P[i * n])) {
            dd_fail(err, DD_ERR_NOMEM, "out of memory for t-SNE's distances");
            goto done;
        }
    double total = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++) {
            float s = c.P[i * n + j] + c.P[j * n + i];
            c.P[i * n + j] = c.P[j * n + i] = s;
            total += 2.0 * s;
        }
    if (total < DBL_EPSILON) total = DBL_EPSILON;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            double p = c.P[i * n + j] / total;
            c.P[i * n + j] = i == j ? 0.0f : (float)(p > DBL_EPSILON ? p : DBL_EPSILON);
            if (i != j) c.psum += c.P[i * n + j], c.plogp += c.P[i * n + j] * log(c.P[i * n + j]);
        }

    if (init_pca(X, n, d, o->seed, Y, err)) goto done;
    c.Y = Y;
    for (size_t i = 0; i < 2 * n; i++) gains[i] = 1;
    double lr = o->learning_rate > 0 ? o->learning_rate : fmax((double)n / o->early_exaggeration / 4, 50);

    /* Two stages as sklearn: exaggerated P with momentum 0.5, then the true P with momentum 0.8. */
    int it = 0;
    for (int stage = 0; stage < 2; stage++) {
        int end = stage == 0 ? (o->exaggeration_iter < o->max_iter ? o->exaggeration_iter : o->max_iter) : o->max_iter;
        int patience = stage == 0 ? o->exaggeration_iter : 300;
        double momentum = stage == 0 ? 0.5 : 0.8, best = INFINITY;
        int best_it = it;
        c.exaggeration = stage == 0 ? o->early_exaggeration : 1;
        for (; it < end; it++) {
            int check = (it + 1) % CHECK_EVERY == 0 || it == end - 1;
            c.want_kl = check;
            double kl = objective(&c, pool, threads);
            double norm = 0;
            for (size_t i = 0; i < 2 * n; i++) {
                int same = update[i] * c.grad[i] >= 0; /* sklearn: inc = update * grad < 0 gains +0.2 */
                gains[i] = same ? gains[i] * 0.8 : gains[i] + 0.2;
                if (gains[i] < MIN_GAIN) gains[i] = MIN_GAIN;
                norm += c.grad[i] * c.grad[i];
                update[i] = momentum * update[i] - lr * gains[i] * c.grad[i];
                Y[i] += update[i];
            }
            if (!check) continue;
            if (stage == 1)
                res->kl = kl; /* sklearn reports the last checked error */
            else
                res->kl_exaggerated = kl;
            if (kl < best) {
                best = kl;
                best_it = it;
            } else if (it - best_it > patience) {
                it++;
                break;
            }
            if (sqrt(norm) <= MIN_GRAD_NORM) {
                it++;
                break;
            }
        }
        if (stage == 0) it = it < end ? end : it; /* as sklearn: the second stage starts where the first ends */
    }
    res->iterations = it;
    if (o->max_iter <= o->exaggeration_iter) { /* no second stage: the KL of the true P at the end */
        c.exaggeration = 1;
        c.want_kl = 1;
        res->kl = objective(&c, pool, threads);
    }
    for (size_t i = 0; i < 2 * n; i++) out[i] = (float)Y[i];
    rc = 0;
done:
    util_pool_free(pool);
    free(c.P);
    free(c.grad);
    free(c.part);
    free(Y);
    free(update);
    free(gains);
    return rc;
}

/* Rank (1 = nearest) of every point in row i's order of distances in X, into rank [n] (rank[i] = 0). */
typedef struct ranked {
    double d;
    size_t j;
} ranked;

static int cmp_ranked(const void *a, const void *b) {
    const ranked *x = a, *y = b;
    if (x->d != y->d) return x->d < y->d ? -1 : 1;
    return (x->j > y->j) - (x->j < y->j);
}

static void sq_dists(const float *X, size_t n, size_t d, size_t i, ranked *out) {
    for (size_t j = 0; j < n; j++) {
        double s = 0;
        for (size_t k = 0; k < d; k++) {
            double t = (double)X[i * d + k] - X[j * d + k];
            s += t * t;
        }
        out[j] = (ranked){j == i ? -1 : s, j}; /* the point itself first */
    }
    qsort(out, n, sizeof *out, cmp_ranked);
}

double dd_trustworthiness(const float *X, size_t n, size_t d, const float *Y, size_t dy, int k, dd_error *err) {
    if (k < 1 || (double)k >= (double)n / 2)
        return dd_fail(err, DD_ERR_USAGE, "trustworthiness needs 1 <= k < n / 2 (k %d, n %zu)", k, n), NAN;
    ranked *a = dd_malloc(n, sizeof *a, err), *b = dd_malloc(n, sizeof *b, err);
    size_t *rank = dd_malloc(n, sizeof *rank, err);
    double t = NAN;
    if (a && b && rank) {
        double penalty = 0;
        for (size_t i = 0; i < n; i++) {
            sq_dists(X, n, d, i, a);
            for (size_t r = 0; r < n; r++) rank[a[r].j] = r; /* 1-based among the others: self is at 0 */
            sq_dists(Y, n, dy, i, b);
            for (int r = 1; r <= k; r++) {
                double extra = (double)rank[b[r].j] - k;
                if (extra > 0) penalty += extra;
            }
        }
        double nn = (double)n, kk = (double)k;
        t = 1 - penalty * 2 / (nn * kk * (2 * nn - 3 * kk - 1));
    }
    free(a);
    free(b);
    free(rank);
    return t;
}
