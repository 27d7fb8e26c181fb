/* The training loop behind `doodle train` (include/doodle/train.h). */
#define _POSIX_C_SOURCE 200809L
#include "doodle/train.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "doodle/dataset.h"
#include "doodle/loader.h"
#include "doodle/metrics.h"
#include "doodle/model.h"
#include "train/checkpoint.h"
#include "train/history.h"
#include "util/alloc.h"
#include "util/atomic_file.h"
#include "util/cpus.h"

dd_train_opts dd_train_defaults(void) {
    dd_train_opts o = {
        .model = "doodle28",
        .epochs = 12,
        .batch = 64,
        .optimizer = DD_OPT_ADAM,
        .lr = 2e-3f,
        .weight_decay = 1e-4f,
        .momentum = 0.9f,
        .schedule = DD_SCHEDULE_COSINE,
        .warmup_epochs = 0.5f,
        .min_lr = 1e-5f,
        .augment = true,
        .seed = 1,
        .threads = dd_cpu_count(64), /* every core: the same seed gives the same bits for the same count */
        .patience = 0,
    };
    return o;
}

/* One option out of range: named by its flag for the command line, by its stored name for a checkpoint. */
static int out_of_range(dd_error *err, bool stored, const char *field, const char *flag, double v, const char *rule) {
    if (stored || !flag)
        return dd_fail(err, stored ? DD_ERR_MALFORMED : DD_ERR_USAGE, "option '%s' is %.9g: it must be %s", field, v,
                       rule);
    return dd_fail(err, DD_ERR_USAGE, "%s %.9g is out of range: it must be %s", flag, v, rule);
}

/* v in [min, max] (NaN is not) */
static int within(double v, double min, double max) { return v >= min && v <= max; }

int train_opts_check(const dd_train_opts *o, bool stored, dd_error *err) {
    if (!within(o->epochs, 1, 100000)) return out_of_range(err, stored, "epochs", "--epochs", o->epochs, "1..100000");
    if (!within(o->batch, 1, 65536)) return out_of_range(err, stored, "batch", "--batch", o->batch, "1..65536");
    if (o->optimizer != DD_OPT_ADAM && o->optimizer != DD_OPT_SGD)
        return out_of_range(err, stored, "optimizer", "--opt", o->optimizer, "0 (adam) or 1 (sgd)");
    if (!(o->lr > 0 && o->lr <= 10)) return out_of_range(err, stored, "lr", "--lr", o->lr, "in (0, 10]");
    if (!within(o->weight_decay, 0, 1))
        return out_of_range(err, stored, "weight_decay", "--weight-decay", o->weight_decay, "in [0, 1]");
    if (!within(o->momentum, 0, 0.9999))
        return out_of_range(err, stored, "momentum", "--momentum", o->momentum, "in [0, 0.9999]");
    if (o->schedule != DD_SCHEDULE_CONSTANT && o->schedule != DD_SCHEDULE_STEP && o->schedule != DD_SCHEDULE_COSINE)
        return out_of_range(err, stored, "schedule", "--schedule", o->schedule, "0 (constant), 1 (step) or 2 (cosine)");
    if (!within(o->warmup_epochs, 0, 1000))
        return out_of_range(err, stored, "warmup_epochs", "--warmup", o->warmup_epochs, "in [0, 1000] epochs");
    if (!within(o->min_lr, 0, 10)) return out_of_range(err, stored, "min_lr", NULL, o->min_lr, "in [0, 10]");
    if (!within(o->patience, 0, 100000))
        return out_of_range(err, stored, "patience", "--patience", o->patience, "0..100000");
    if (!within(o->threads, 1, 256)) return out_of_range(err, stored, "threads", "--threads", o->threads, "1..256");
    return 0;
}

int dd_train_opts_check(const dd_train_opts *o, dd_error *err) {
    if (!o->data_path || !o->run_dir) return dd_fail(err, DD_ERR_USAGE, "a dataset and a run folder are needed");
    return train_opts_check(o, false, err);
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int argmax(const float *p, int n) {
    int best = 0;
    for (int i = 1; i < n; i++)
        if (p[i] > p[best]) best = i;
    return best;
}

static void path_in(char *out, size_t size, const char *dir, const char *name) { snprintf(out, size, "%s/%s", dir, name); }

/* Loss and accuracy of m over the test loader, counted as doodle eval counts them (doodle/metrics.h). */
static int evaluate(const dd_model *m, dd_workspace *ws, dd_loader *l, float *x, int32_t *labels, double *loss,
                    double *acc, dd_error *err) {
    const int classes = m->spec->classes;
    dd_metrics mt;
    if (dd_metrics_init(&mt, classes, 1, err)) return -1;
    int got = -1;
    if (dd_loader_begin_epoch(l, 0, err) == 0)
        while ((got = dd_loader_next(l, x, labels, NULL, err)) > 0) {
            const float *logits = dd_model_infer(m, ws, x, got);
            for (int b = 0; b < got; b++) dd_metrics_add(&mt, labels[b], logits + (size_t)b * classes, NULL);
        }
    *loss = mt.total ? dd_metrics_loss(&mt) : NAN;
    *acc = mt.total ? dd_metrics_accuracy(&mt) : NAN;
    dd_metrics_free(&mt);
    return got < 0 ? -1 : 0;
}

static int all_finite(const float *x, size_t n) {
    float acc = 0;
    for (size_t i = 0; i < n; i++) acc += x[i] * 0; /* NaN or Inf anywhere makes the sum NaN */
    return acc == 0;
}

/* One live line: "epoch 3/12 [=====>    ] 120/458 loss 0.5120 acc  83.2%  812 img/s ETA  23s" */
static void progress_line(FILE *out, int epoch, int epochs, uint64_t step, uint64_t steps, uint64_t seen,
                          uint64_t total, double loss, double acc, double rate) {
    const int width = 24;
    int filled = steps ? (int)((double)width * (double)step / (double)steps) : width;
    double eta = rate > 0 && total > seen ? (double)(total - seen) / rate : 0;
    fprintf(out, "\repoch %d/%d [", epoch, epochs);
    for (int i = 0; i < width; i++) fputc(i < filled ? '=' : i == filled ? '>' : ' ', out);
    fprintf(out, "] %llu/%llu loss %.4f acc %5.1f%% %6.0f img/s ETA %4.0fs ", (unsigned long long)step,
            (unsigned long long)steps, loss, 100 * acc, rate, eta);
    fflush(out);
}

typedef struct run {
    const dd_train_opts *o;
    dd_dataset *ds;
    dd_model *m;
    dd_optimizer opt; /* zeroed until initialised: freeing it is safe either way */
    train_progress p;
    dd_loader *train, *test;
    dd_workspace *ws, *eval_ws;
    float *grads, *x;
    int32_t *labels;
    uint8_t *decay;
    history hist;
    char model_path[4200], checkpoint_path[4200], history_path[4200];
} run;

static void run_free(run *r) {
    dd_loader_free(r->train);
    dd_loader_free(r->test);
    dd_workspace_free(r->ws);
    dd_workspace_free(r->eval_ws);
    dd_optimizer_free(&r->opt);
    dd_model_free(r->m);
    dd_dataset_close(r->ds);
    free(r->grads);
    free(r->x);
    free(r->labels);
    free(r->decay);
    history_free(&r->hist);
}

/* Model, optimizer and progress: fresh, or from the run's checkpoint. */
static int start(run *r, dd_train_opts *o, dd_error *err) {
    if (o->resume) {
        if (checkpoint_load(r->checkpoint_path, &r->m, &r->opt, &r->p, o, err)) return -1;
        if (history_load(&r->hist, r->history_path, r->p.epochs_done, err)) return -1;
        uint32_t n = dd_dataset_class_count(r->ds);
        if ((int)n != r->m->spec->classes)
            return dd_fail(err, DD_ERR_USAGE, "%s has %u classes but the checkpoint's model has %d", o->data_path, n,
                           r->m->spec->classes);
        for (uint32_t c = 0; c < n; c++)
            if (strcmp(dd_dataset_class_name(r->ds, c), r->m->class_names[c]))
                return dd_fail(err, DD_ERR_USAGE, "%s: class %u is '%s' but the checkpoint's model calls it '%s'",
                               o->data_path, c, dd_dataset_class_name(r->ds, c), r->m->class_names[c]);
        return 0;
    }
    dd_spec_overrides ov = {.classes = (int)dd_dataset_class_count(r->ds)}; /* the dataset's classes */
    dd_model_spec *spec = dd_model_spec_named(o->model, &ov, err);
    if (!spec || !(r->m = dd_model_new(spec, o->seed, err))) return -1;
    for (uint32_t c = 0; c < dd_dataset_class_count(r->ds); c++)
        if (dd_model_set_class_name(r->m, (int)c, dd_dataset_class_name(r->ds, c), err)) return -1;
    if (dd_optimizer_init(&r->opt, o->optimizer, r->m->spec->n_params, err)) return -1;
    r->opt.momentum = o->momentum;
    r->opt.weight_decay = o->weight_decay;
    dd_rng_seed(&r->p.rng, o->seed ^ 0x9e3779b97f4a7c15ULL); /* dropout's stream, apart from the init's */
    return 0;
}

static int make_loaders(run *r, const dd_train_opts *o, dd_error *err) {
    const dd_model_spec *s = r->m->spec;
    dd_loader_opts lo = dd_loader_opts_default((uint32_t)o->batch, (uint32_t)s->input.h, (uint32_t)s->input.w);
    lo.seed = o->seed;
    lo.augment = o->augment;
    lo.line_width = r->m->render.line_width;
    lo.padding = r->m->render.padding;
    lo.split = DD_LOADER_TRAIN;
    if (!(r->train = dd_loader_new(r->ds, &lo, err))) return dd_error_prefix(err, "training split");
    lo.split = DD_LOADER_TEST;
    lo.shuffle = false;
    lo.augment = false;
    dd_error test_err;
    r->test = dd_loader_new(r->ds, &lo, &test_err); /* a set made without a test split trains all the same */
    return 0;
}

static int train_epoch(run *r, int epoch, double *loss, double *acc, dd_error *err) {
    const dd_train_opts *o = r->o;
    dd_model *m = r->m;
    const int classes = m->spec->classes;
    const size_t n_params = m->spec->n_params;
    uint64_t steps = dd_loader_batch_count(r->train), step = 0, seen = 0, correct = 0;
    double total = 0, t0 = now();
    dd_schedule sched = {.kind = o->schedule, .base_lr = o->lr, .min_lr = o->min_lr, .gamma = 0.1f,
                         .step_epochs = (float)o->epochs / 3, .total_epochs = (float)o->epochs,
                         .warmup_epochs = o->warmup_epochs};
    if (dd_loader_begin_epoch(r->train, (uint64_t)epoch, err)) return -1;
    int got;
    while ((got = dd_loader_next(r->train, r->x, r->labels, NULL, err)) > 0) {
        memset(r->grads, 0, n_params * sizeof *r->grads);
        dd_model_forward_train(m, r->ws, r->x, got, &r->p.rng);
        float l = dd_model_backward(m, r->ws, r->labels, got, r->grads);
        if (!isfinite(l) || !all_finite(r->grads, n_params))
            return dd_fail(err, DD_ERR_RANGE,
                           "epoch %d, step %llu: the %s is not finite (NaN or Inf); stopped. Try a lower --lr. "
                           "The last checkpoint (end of epoch %d) is intact.",
                           epoch + 1, (unsigned long long)step + 1, isfinite(l) ? "gradient" : "loss", epoch);
        float lr = dd_schedule_lr(&sched, epoch + (double)step / (double)steps);
        dd_optimizer_step(&r->opt, m->params, r->grads, r->decay, lr);
        const float *probs = dd_workspace_probs(r->ws);
        for (int b = 0; b < got; b++) correct += argmax(probs + (size_t)b * classes, classes) == r->labels[b];
        total += (double)l * got;
        seen += (uint64_t)got;
        step++;
        if (o->progress && (step % 4 == 0 || step == steps))
            progress_line(o->log, epoch + 1, o->epochs, step, steps, seen, dd_loader_record_count(r->train),
                          total / (double)seen, (double)correct / (double)seen, (double)seen / (now() - t0));
    }
    if (got < 0) return -1;
    if (o->progress) fputc('\n', o->log);
    *loss = seen ? total / (double)seen : NAN;
    *acc = seen ? (double)correct / (double)seen : NAN;
    return 0;
}

/* --resume on a folder without a checkpoint: say why (the run stopped before its first epoch ended) and what to
 * do, rather than "cannot open". Starting afresh instead could silently use other options than the lost run's. */
static int nothing_to_resume(const dd_train_opts *o, const char *checkpoint, dd_error *err) {
    struct stat st;
    if (stat(checkpoint, &st) == 0 || errno != ENOENT) return 0; /* there, or a trouble checkpoint_load names */
    if (stat(o->run_dir, &st) != 0)
        return dd_fail(err, DD_ERR_IO, "%s: no such run folder, so there is nothing to resume (%s)", o->run_dir,
                       strerror(errno));
    return dd_fail(err, DD_ERR_IO,
                   "%s has no checkpoint.safetensors: no epoch of its run finished, so there is nothing to resume; "
                   "start the run again without --resume (with the options it had)",
                   o->run_dir);
}

int dd_train(const dd_train_opts *given, dd_train_result *result, dd_error *err) {
    dd_train_opts o = *given;
    memset(result, 0, sizeof *result);
    if (dd_train_opts_check(&o, err)) return -1;
    run r = {.o = &o};
    path_in(r.model_path, sizeof r.model_path, o.run_dir, "model.safetensors");
    path_in(r.checkpoint_path, sizeof r.checkpoint_path, o.run_dir, "checkpoint.safetensors");
    path_in(r.history_path, sizeof r.history_path, o.run_dir, "history.csv");
    if (o.resume && nothing_to_resume(&o, r.checkpoint_path, err)) return -1;
    if (mkdir(o.run_dir, 0755) != 0 && errno != EEXIST)
        return dd_fail(err, DD_ERR_IO, "%s: cannot create the run folder: %s", o.run_dir, strerror(errno));
    /* a killed run's temporary files, also of a file this run may not write again (the model, when no epoch beats
     * the best); each write removes its own file's leftovers too */
    const char *outputs[] = {r.model_path, r.checkpoint_path, r.history_path};
    for (int i = 0; i < 3; i++) (void)dd_atomic_remove_stale(outputs[i]); /* best effort, as in dd_atomic_open */
    int rc = -1;
    if (!(r.ds = dd_dataset_open(o.data_path, err))) goto done;
    if (start(&r, &o, err) || make_loaders(&r, &o, err)) goto done;
    dd_model *m = r.m;
    size_t in_count = dd_shape_count(m->spec->input);
    if (!(r.ws = dd_workspace_new(m, o.batch, true, err)) || !(r.eval_ws = dd_workspace_new(m, o.batch, false, err)) ||
        dd_workspace_set_threads(r.ws, o.threads, err) || dd_workspace_set_threads(r.eval_ws, o.threads, err))
        goto done;
    if (!(r.grads = dd_malloc(m->spec->n_params, sizeof *r.grads, err)) ||
        !(r.x = dd_malloc((size_t)o.batch * in_count, sizeof *r.x, err)) ||
        !(r.labels = dd_malloc((size_t)o.batch, sizeof *r.labels, err)) || !(r.decay = dd_model_decay_mask(m, err)))
        goto done;
    if (o.resume && o.log)
        fprintf(o.log, "resuming %s after epoch %d of %d\n", o.run_dir, r.p.epochs_done, o.epochs);
    int since_best = 0;
    for (int epoch = r.p.epochs_done; epoch < o.epochs; epoch++) {
        double t0 = now(), train_loss = NAN, train_acc = NAN, test_loss = NAN, test_acc = NAN;
        if (train_epoch(&r, epoch, &train_loss, &train_acc, err)) goto done;
        if (r.test && evaluate(m, r.eval_ws, r.test, r.x, r.labels, &test_loss, &test_acc, err)) goto done;
        double seconds = now() - t0;
        history_row row = {epoch + 1, train_loss, train_acc, test_loss, test_acc, seconds};
        if (history_add(&r.hist, &row, err) || history_save(&r.hist, r.history_path, err)) goto done;
        /* the best model by test accuracy (by training accuracy when the set has no test split) */
        double score = r.test ? test_acc : train_acc;
        if (r.p.best_epoch == 0 || score > r.p.best_test_acc) {
            r.p.best_epoch = epoch + 1;
            r.p.best_test_acc = (float)score;
            r.p.best_test_loss = (float)(r.test ? test_loss : train_loss);
            if (dd_model_save(m, r.model_path, err)) goto done;
        }
        since_best = epoch + 1 - r.p.best_epoch;
        r.p.epochs_done = epoch + 1;
        if (checkpoint_save(r.checkpoint_path, m, &r.opt, &r.p, &o, err)) goto done;
        if (o.log)
            fprintf(o.log, "epoch %d/%d: train loss %.4f acc %.2f%%, test loss %.4f acc %.2f%%, %.1f s%s\n", epoch + 1,
                    o.epochs, train_loss, 100 * train_acc, test_loss, 100 * test_acc, seconds,
                    r.p.best_epoch == epoch + 1 ? " (best so far)" : "");
        if (o.log) fflush(o.log); /* one line per epoch, as it happens, also into a file */
        result->epochs_run++;
        if (o.patience > 0 && since_best >= o.patience) {
            result->stopped_early = true;
            if (o.log)
                fprintf(o.log, "no better test accuracy for %d epochs: stopping; %s holds epoch %d's weights\n",
                        o.patience, r.model_path, r.p.best_epoch);
            break;
        }
    }
    result->best_epoch = r.p.best_epoch;
    result->best_test_acc = r.p.best_test_acc;
    result->best_test_loss = r.p.best_test_loss;
    rc = 0;
done:
    run_free(&r);
    return rc;
}
