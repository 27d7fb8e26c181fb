/* The training loop behind `doodle train` (include/doodle/train.h). */
#define _POSIX_C_SOURCE 200809L
#include "doodle/train.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>

#include "doodle/clock.h"
#include "doodle/dataset.h"
#include "doodle/files.h"
#include "doodle/loader.h"
#include "doodle/metrics.h"
#include "doodle/model.h"
#include "train/checkpoint.h"
#include "train/dist.h"
#include "train/grad_sync.h"
#include "train/history.h"
#include "train/recipe.h"
#include "train/run.h"
#include "doodle/alloc.h"
#include "doodle/cpus.h"

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
        .aug_rotation = 10,
        .aug_scale_min = 0.9f,
        .aug_shift = 0.05f,
        .line_width = 16, /* Google's recipe (doodle/render.h) */
        .padding = 16,
        .label_smoothing = 0.1f, /* the change that measured best on the 21-class benchmark (README, Accuracy) */
        .seed = 1,
        .threads = dd_cpu_count(64), /* every core: the same seed gives the same bits for the same count */
        .patience = 0,
        .val_frac = -1, /* the set's (doodle prep --val-frac), else 0.1 */
        .allreduce_overlap = true,
        .allreduce_bucket_kb = DD_ALLREDUCE_BUCKET_KB,
    };
    return o;
}

#define STEPS_MAX 1000000000000ULL

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
    if (!within(o->threads, 0, 256))
        return out_of_range(err, stored, "threads", "--threads", o->threads, "1..256 (0: every core)");
    if (!within(o->val_frac, 0, 0.9) && o->val_frac != -1)
        return out_of_range(err, stored, "val_frac", "--val-frac", o->val_frac,
                            "in [0, 0.9] (-1: the set's, else 0.1)");
    if (!within(o->aug_rotation, 0, 180))
        return out_of_range(err, stored, "aug_rotation", "--aug-rotation", o->aug_rotation, "in [0, 180] degrees");
    if (!(o->aug_scale_min > 0 && o->aug_scale_min <= 1))
        return out_of_range(err, stored, "aug_scale_min", "--aug-scale-min", o->aug_scale_min, "in (0, 1]");
    if (!within(o->aug_shift, 0, 0.5))
        return out_of_range(err, stored, "aug_shift", "--aug-shift", o->aug_shift, "in [0, 0.5] of the box");
    if (!within(o->label_smoothing, 0, 0.5))
        return out_of_range(err, stored, "label_smoothing", "--label-smoothing", o->label_smoothing, "in [0, 0.5]");
    if (!within(o->mixup, 0, 10)) return out_of_range(err, stored, "mixup", "--mixup", o->mixup, "in [0, 10] (0: off)");
    if (!within(o->ema, 0, 0.99999) || (o->ema > 0 && o->ema < 0.5))
        return out_of_range(err, stored, "ema", "--ema", o->ema, "0 (off) or in [0.5, 0.99999]");
    if (!within(o->stop_after, 0, 100000))
        return out_of_range(err, stored, "stop_after", "--stop-after", o->stop_after, "0..100000 (0: run to the end)");
    if (o->steps_per_epoch > STEPS_MAX)
        return out_of_range(err, stored, "steps_per_epoch", "--steps-per-epoch", (double)o->steps_per_epoch,
                            "0 (a whole pass) .. 10^12");
    if (!within(o->allreduce_bucket_kb, 1, 1 << 20))
        return out_of_range(err, stored, "allreduce_bucket_kb", "--allreduce-bucket-kb", o->allreduce_bucket_kb,
                            "1..1048576 KB");
    if (o->max_steps > STEPS_MAX)
        return out_of_range(err, stored, "max_steps", "--max-steps", (double)o->max_steps, "0 (no limit) .. 10^12");
    return 0;
}

int dd_train_opts_check(const dd_train_opts *o, dd_error *err) {
    if (!o->data_path || !o->run_dir) return dd_fail(err, DD_ERR_USAGE, "a dataset and a run folder are needed");
    dd_render_opts ro = dd_render_opts_default(1, 1);
    ro.line_width = o->line_width;
    ro.padding = o->padding;
    if (dd_render_opts_check(&ro, err)) return -1; /* the one check of render options */
    return train_opts_check(o, false, err);
}

static int argmax(const float *p, int n) {
    int best = 0;
    for (int i = 1; i < n; i++)
        if (p[i] > p[best]) best = i;
    return best;
}

static int all_finite(const float *x, size_t n) {
    float acc = 0;
    for (size_t i = 0; i < n; i++) acc += x[i] * 0; /* NaN or Inf anywhere makes the sum NaN */
    return acc == 0;
}

static void duration(char *out, size_t size, double s) {
    if (s < 100)
        snprintf(out, size, "%.0fs", s);
    else if (s < 6000)
        snprintf(out, size, "%.0fm%02.0fs", floor(s / 60), fmod(s, 60));
    else
        snprintf(out, size, "%.0fh%02.0fm", floor(s / 3600), fmod(floor(s / 60), 60));
}

/* Columns of the terminal the progress goes to (80 when it cannot tell). */
static int terminal_columns(FILE *out) {
    struct winsize ws;
    if (ioctl(fileno(out), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
    return 80;
}

/* One live line, as wide as the terminal and never wider (a wider one wraps and scrolls):
 * "epoch 3/12 [=====>    ] 120/458 loss 0.5120 acc 83.2% 812 img/s ETA 23s, run 5m12s" */
static void progress_line(FILE *out, int epoch, int epochs, uint64_t step, uint64_t steps, double loss, double acc,
                          double rate, double eta, double run_eta) {
    char e[32], r[32], head[64], tail[160];
    duration(e, sizeof e, eta);
    duration(r, sizeof r, run_eta);
    int nh = snprintf(head, sizeof head, "epoch %d/%d ", epoch, epochs);
    int nt = snprintf(tail, sizeof tail, " %llu/%llu loss %.4f acc %.1f%% %.0f img/s ETA %s, run %s",
                      (unsigned long long)step, (unsigned long long)steps, loss, 100 * acc, rate, e, r);
    int cols = terminal_columns(out) - 1; /* the last column would wrap on some terminals */
    int width = cols - nh - nt - 2;       /* the bar between its brackets */
    if (width > 30) width = 30;
    fputs("\r", out);
    if (width >= 8) {
        int filled = steps ? (int)((double)width * (double)step / (double)steps) : width;
        fputs(head, out);
        fputc('[', out);
        for (int i = 0; i < width; i++) fputc(i < filled ? '=' : i == filled ? '>' : ' ', out);
        fputc(']', out);
        fputs(tail, out);
    } else { /* a narrow terminal: the numbers alone, cut to fit */
        char line[224];
        snprintf(line, sizeof line, "%s%s", head, tail);
        if (cols > 0 && (int)strlen(line) > cols) line[cols] = '\0';
        fputs(line, out);
    }
    fputs("\033[K", out); /* clear what a longer earlier line left */
    fflush(out);
}

/* Sums of an evaluation over every rank's share. */
typedef struct eval_sums {
    double loss, correct, top3, count;
} eval_sums;

/* m over a whole split (each rank its share of every batch), counted as doodle eval counts them. */
static int evaluate(run *r, dd_loader *l, eval_sums *out, dd_error *err) {
    const dd_model *m = r->m;
    const int classes = m->spec->classes;
    dd_metrics mt;
    if (dd_metrics_init(&mt, classes, 3, err)) return -1;
    int rc = dd_loader_begin_epoch(l, 0, err);
    for (uint64_t b = 0; rc == 0 && b < dd_loader_batch_count(l); b++) {
        int got = dd_loader_next(l, r->x, r->labels, NULL, err);
        if (got < 0) rc = -1;
        if (got <= 0) continue; /* an empty share of a short last batch */
        const float *logits = dd_model_infer(m, r->eval_ws, r->x, got);
        for (int k = 0; k < got; k++) dd_metrics_add(&mt, r->labels[k], logits + (size_t)k * classes, NULL);
    }
    double sums[4] = {mt.loss_sum, (double)mt.correct, (double)mt.topk_correct, (double)mt.total};
    dd_metrics_free(&mt);
    if (train_agree_failure(r, rc, err)) return -1;
    dist_sum_doubles(sums, 4);
    *out = (eval_sums){sums[0], sums[1], sums[2], sums[3]};
    return 0;
}

static double mean(double sum, double count) { return count > 0 ? sum / count : NAN; }

/* The dropout stream: one per run with one process (it goes on across steps and is checkpointed); with several
 * ranks one per rank and step, from the seed, so that every rank draws other masks and a run resumed anywhere the
 * same ones. */
static dd_rng *dropout_rng(run *r, uint64_t step, dd_rng *local) {
    if (r->ranks == 1) return &r->p.rng;
    dd_rng_seed(local, r->o->seed ^ 0xd809f0a7ULL ^ (step * 0xbf58476d1ce4e5b9ULL) ^
                           ((uint64_t)r->rank * 0x9e3779b97f4a7c15ULL));
    return local;
}

/* The global batch of step s of a pass: how many drawings it holds (the last one may be short). */
static uint64_t global_count(const run *r, uint64_t pos) {
    uint64_t n = dd_loader_record_count(r->train), start = pos * (uint64_t)r->o->batch;
    return n - start < (uint64_t)r->o->batch ? n - start : (uint64_t)r->o->batch;
}

/* Step s's soft targets for the batch in r->x: smoothed labels, then (--mixup) the batch blended with itself
 * reversed by a weight drawn from a stream of the seed and the step (the same on a resumed run). */
static void soft_targets(run *r, uint64_t s, int got) {
    const dd_train_opts *o = r->o;
    const int classes = r->m->spec->classes;
    recipe_smoothed_targets(r->targets, r->labels, got, classes, o->label_smoothing);
    if (o->mixup > 0) {
        dd_rng rng;
        dd_rng_seed(&rng, o->seed ^ 0x6d69787570ULL ^ (s * 0x94d049bb133111ebULL) ^
                              ((uint64_t)r->rank * 0x9e3779b97f4a7c15ULL));
        float lambda = (float)recipe_beta(&rng, o->mixup);
        recipe_mixup(r->x, dd_shape_count(r->m->spec->input), r->targets, got, classes, lambda);
    }
}

/* Training steps [from, to) of the run: passes over the training split in the loader's seeded orders. Returns 1
 * when an interruption (o->interrupt) stopped it after a step, with r->p.steps_done and the epoch's partial sums
 * set for a checkpoint; 0 at `to`. */
static int train_steps(run *r, int epoch, uint64_t from, uint64_t to, double *loss, double *acc, dd_error *err) {
    const dd_train_opts *o = r->o;
    dd_model *m = r->m;
    const int classes = m->spec->classes;
    const size_t n_params = m->spec->n_params;
    double t0 = dd_now_seconds();
    /* counts[0] correct, counts[1] seen: this rank's, summed at the end (a resumed epoch's earlier part, already
     * summed, once: on rank 0); the loss sum comes with the gradients, the same on every rank */
    uint64_t counts[2] = {0, 0};
    double loss_sum = r->p.part_loss;
    if (r->rank == 0) counts[0] = r->p.part_correct, counts[1] = r->p.part_seen;
    uint64_t first_seen = counts[1];
    dd_rng local_rng;
    dd_schedule sched = {.kind = o->schedule,
                         .base_lr = o->lr,
                         .min_lr = o->min_lr,
                         .gamma = 0.1f,
                         .step_epochs = (float)r->total_epochs / 3,
                         .total_epochs = (float)r->total_epochs,
                         .warmup_epochs = o->warmup_epochs};
    bool stop = false;
    uint64_t s;
    for (s = from; s < to && !stop; s++) {
        uint64_t pass = s / r->pass_steps, pos = s % r->pass_steps;
        if (s == from || pos == 0)
            if (dd_loader_begin_epoch_at(r->train, pass, pos, err)) return train_fail_local(r, err);
        int got = dd_loader_next(r->train, r->x, r->labels, NULL, err);
        if (got < 0) return train_fail_local(r, err);
        /* each rank's gradient is the mean over its share: weighted by the share, their sum is the mean over the
         * global batch, as one process computes it (grad_sync weights each bucket before it is sent) */
        grad_sync_begin(r->sync, (float)got / (float)global_count(r, pos));
        float l = 0;
        if (got > 0) {
            if (r->targets) soft_targets(r, s, got);
            dd_model_forward_train(m, r->ws, r->x, got, dropout_rng(r, s, &local_rng));
            l = r->targets ? dd_model_backward_soft(m, r->ws, r->targets, got, r->grads)
                           : dd_model_backward(m, r->ws, r->labels, got, r->grads);
            const float *probs = dd_workspace_probs(r->ws);
            for (int b = 0; b < got; b++) counts[0] += argmax(probs + (size_t)b * classes, classes) == r->labels[b];
            counts[1] += (uint64_t)got;
        }
        /* two more values ride the last bucket: the step's loss sum, and whether any rank was asked to stop (so
         * that every rank stops after the same step) */
        float step_loss = l * (float)got, stop_flag = o->interrupt && *o->interrupt ? 1.0f : 0.0f;
        grad_sync_finish(r->sync, &step_loss, &stop_flag);
        stop = stop_flag > 0;
        if (!isfinite(step_loss) || !all_finite(r->grads, n_params))
            return dd_fail(err, DD_ERR_RANGE,
                           "epoch %d, step %llu: the %s is not finite (NaN or Inf); stopped. Try a lower --lr. "
                           "The last checkpoint (end of epoch %d) is intact.",
                           epoch + 1, (unsigned long long)(s - epoch * r->epoch_steps) + 1,
                           isfinite(step_loss) ? "gradient" : "loss", epoch);
        /* whole epochs done, then the share of this one */
        double progress = (double)(s / r->epoch_steps) + /* NOLINT(bugprone-integer-division) */
                          (double)(s % r->epoch_steps) / (double)r->epoch_steps;
        r->lr = dd_schedule_lr(&sched, progress);
        dd_optimizer_step_ws(&r->opt, r->ws, m->params, r->grads, r->decay, r->lr);
        if (r->p.ema) recipe_ema_update(r->p.ema, m->params, n_params, recipe_ema_decay(o->ema, r->opt.step));
        loss_sum += step_loss;
        uint64_t done = s + 1 - from;
        if (o->progress && r->rank == 0 && (done % 4 == 0 || s + 1 == to)) {
            double elapsed = dd_now_seconds() - t0, per_step = elapsed / (double)done;
            double seen = (double)counts[1] * r->ranks; /* about: the other ranks' shares are as large */
            uint64_t epoch_start = (uint64_t)epoch * r->epoch_steps;
            progress_line(o->log, epoch + 1, r->epochs, s + 1 - epoch_start, to - epoch_start, loss_sum / seen,
                          (double)counts[0] / (double)counts[1], (double)(counts[1] - first_seen) * r->ranks / elapsed,
                          per_step * (double)(to - s - 1), per_step * (double)(r->total_steps - s - 1));
        }
    }
    if (o->progress && r->rank == 0) fputc('\n', o->log);
    dist_sum_u64(counts, 2);
    r->train_seconds += dd_now_seconds() - t0;
    if (stop && s < to) { /* stopped inside the epoch: what a checkpoint needs to go on from here */
        r->p.steps_done = s;
        r->p.part_loss = loss_sum;
        r->p.part_correct = counts[0];
        r->p.part_seen = counts[1];
        return 1;
    }
    r->p.part_loss = 0;
    r->p.part_correct = r->p.part_seen = 0;
    *loss = counts[1] ? loss_sum / (double)counts[1] : NAN;
    *acc = counts[1] ? (double)counts[0] / (double)counts[1] : NAN;
    return 0;
}

static void run_free(run *r) {
    dd_loader_free(r->train);
    dd_loader_free(r->val);
    dd_loader_free(r->test);
    dd_workspace_free(r->ws);
    dd_workspace_free(r->eval_ws);
    dd_optimizer_free(&r->opt);
    dd_model_free(r->m);
    dd_dataset_close(r->ds);
    grad_sync_free(r->sync);
    free(r->x);
    free(r->labels);
    free(r->decay);
    free(r->p.ema);
    free(r->targets);
    history_free(&r->hist);
}

/* The model fresh from the seed (every rank makes the same one), with the data set's classes. */
static int start_fresh(run *r, const dd_train_opts *o, dd_error *err) {
    dd_spec_overrides ov = {.classes = (int)dd_dataset_class_count(r->ds)}; /* the dataset's classes */
    dd_model_spec *spec = dd_model_spec_named(o->model, &ov, err);
    if (!spec || !(r->m = dd_model_new(spec, o->seed, err))) return -1;
    r->m->render.line_width = o->line_width;
    r->m->render.padding = o->padding;
    for (uint32_t c = 0; c < dd_dataset_class_count(r->ds); c++)
        if (dd_model_set_class_name(r->m, (int)c, dd_dataset_class_name(r->ds, c), err)) return -1;
    if (dd_optimizer_init(&r->opt, o->optimizer, r->m->spec->n_params, err)) return -1;
    r->opt.momentum = o->momentum;
    r->opt.weight_decay = o->weight_decay;
    dd_rng_seed(&r->p.rng, o->seed ^ 0x9e3779b97f4a7c15ULL); /* dropout's stream, apart from the init's */
    r->p.steps_done = 0;
    return 0;
}

/* The checkpoint's model, optimizer and progress, for a data set with the same classes. */
static int start_resumed(run *r, dd_train_opts *o, dd_error *err) {
    if (train_load_checkpoint(r, o, err)) return -1;
    if (r->rank == 0 && history_load(&r->hist, r->history_path, r->p.epochs_done, err)) return -1;
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

/* Train, validation and test loaders; every rank takes its share of each batch. */
static int make_loaders(run *r, const dd_train_opts *o, dd_error *err) {
    const dd_model_spec *s = r->m->spec;
    dd_loader_opts lo = dd_loader_opts_default((uint32_t)o->batch, (uint32_t)s->input.h, (uint32_t)s->input.w);
    lo.seed = o->seed;
    lo.augment = o->augment;
    lo.aug.rotation_deg = o->aug_rotation;
    lo.aug.scale_min = o->aug_scale_min;
    lo.aug.shift = o->aug_shift;
    lo.aug.bitmap_warp = o->warp_bitmaps;
    lo.render = r->m->render;                            /* the model's size, line width and padding */
    lo.aug.line_width_min = 0.75 * lo.render.line_width; /* 12..20 for Google's 16 */
    lo.aug.line_width_max = 1.25 * lo.render.line_width;
    lo.val_frac = o->val_frac;
    lo.val_seed = dd_dataset_params(r->ds).seed; /* the set's split seed: the same validation split for every run */
    lo.shard_count = (uint32_t)r->ranks;
    lo.shard_index = (uint32_t)r->rank;
    uint8_t *mask = NULL; /* one validation split for the train and validation loaders (a pass over the set) */
    if (o->val_frac > 0 && dd_dataset_val_mask(r->ds, o->val_frac, lo.val_seed, &mask, NULL, err)) return -1;
    lo.val_mask = mask;
    lo.split = DD_LOADER_TRAIN;
    if (!(r->train = dd_loader_new(r->ds, &lo, err))) {
        free(mask);
        return dd_error_prefix(err, "training split");
    }
    lo.shuffle = false;
    lo.augment = false;
    if (o->val_frac > 0) {
        lo.split = DD_LOADER_VAL;
        r->val = dd_loader_new(r->ds, &lo, err);
    }
    free(mask);
    lo.val_mask = NULL; /* the test split needs no validation mask */
    lo.val_frac = 0;
    if (o->val_frac > 0 && !r->val) return dd_error_prefix(err, "validation split (--val-frac %g)", o->val_frac);
    lo.split = DD_LOADER_TEST;
    dd_error test_err;
    r->test = dd_loader_new(r->ds, &lo, &test_err); /* a set made without a test split trains all the same */
    return 0;
}

/* How many steps an epoch and the run have. */
static void plan_steps(run *r, const dd_train_opts *o) {
    r->pass_steps = dd_loader_batch_count(r->train);
    r->epoch_steps = o->steps_per_epoch ? o->steps_per_epoch : r->pass_steps;
    r->total_steps = (uint64_t)o->epochs * r->epoch_steps;
    if (o->max_steps && o->max_steps < r->total_steps) r->total_steps = o->max_steps;
    r->epochs = (int)((r->total_steps + r->epoch_steps - 1) / r->epoch_steps);
    r->total_epochs = (double)r->total_steps / (double)r->epoch_steps;
    if (r->p.steps_done == STEPS_UNKNOWN) r->p.steps_done = (uint64_t)r->p.epochs_done * r->pass_steps;
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

/* Everything before the first step: on rank 0 the run folder; on every rank the data, model, loaders and buffers;
 * then (several ranks) the same state everywhere. */
static int setup(run *r, dd_train_opts *o, dd_error *err) {
    int rc = 0;
    if (r->rank == 0) {
        if (o->resume) rc = nothing_to_resume(o, r->checkpoint_path, err);
        if (rc == 0 && mkdir(o->run_dir, 0755) != 0 && errno != EEXIST)
            rc = dd_fail(err, DD_ERR_IO, "%s: cannot create the run folder: %s", o->run_dir, strerror(errno));
        if (rc == 0) { /* a killed run's temporary files, also of a file this run may not write again */
            const char *outputs[] = {r->model_path, r->checkpoint_path, r->history_path, r->test_path};
            for (int i = 0; i < 4; i++) (void)dd_atomic_remove_stale(outputs[i]); /* best effort */
        }
    }
    if (train_agree_failure(r, rc, err)) return -1;
    if (!(r->ds = dd_dataset_open(o->data_path, err))) rc = -1;
    if (train_agree_failure(r, rc, err)) return -1;
    if (o->val_frac < 0) { /* not given: the share the set was made with, else a tenth */
        double stored = dd_dataset_params(r->ds).val_frac;
        o->val_frac = stored > 0 ? stored : 0.1;
    }
    rc = o->resume ? start_resumed(r, o, err) : start_fresh(r, o, err);
    if (o->threads == 0) o->threads = dd_cpu_count(64); /* not given, nor by a checkpoint: every core */
    if (rc == 0) rc = make_loaders(r, o, err);
    if (train_agree_failure(r, rc, err)) return -1;
    plan_steps(r, o);
    dd_model *m = r->m;
    size_t in_count = dd_shape_count(m->spec->input);
    if (!(r->ws = dd_workspace_new(m, o->batch, true, err)) ||
        !(r->eval_ws = dd_workspace_new(m, o->batch, false, err)) || dd_workspace_set_threads(r->ws, o->threads, err) ||
        dd_workspace_set_threads(r->eval_ws, o->threads, err) ||
        !(r->sync = grad_sync_new(m->spec, r->ranks, o->allreduce_overlap, o->allreduce_bf16,
                                  (size_t)o->allreduce_bucket_kb * 1024, err)) ||
        !(r->x = dd_malloc((size_t)o->batch * in_count, sizeof *r->x, err)) ||
        !(r->labels = dd_malloc((size_t)o->batch, sizeof *r->labels, err)) || !(r->decay = dd_model_decay_mask(m, err)))
        rc = -1;
    if (rc == 0) {
        r->grads = grad_sync_grads(r->sync);
        grad_sync_attach(r->sync, r->ws);
    }
    bool soft = o->label_smoothing > 0 || o->mixup > 0;
    if (rc == 0 && soft && !(r->targets = dd_malloc((size_t)o->batch * m->spec->classes, sizeof *r->targets, err)))
        rc = -1;
    if (train_agree_failure(r, rc, err)) return -1;
    if (train_sync_start(r, err)) return -1;
    if (o->ema > 0 && !r->p.ema) { /* a fresh run (a resumed one has its checkpoint's): the synced weights */
        if (!(r->p.ema = dd_malloc(m->spec->n_params, sizeof *r->p.ema, err)))
            rc = -1;
        else
            memcpy(r->p.ema, m->params, m->spec->n_params * sizeof *r->p.ema);
    }
    return train_agree_failure(r, rc, err);
}

/* Rank 0's writes at the end of an epoch: history, the best model, the checkpoint. */
static int save_epoch(run *r, const history_row *row, bool best, dd_error *err) {
    if (r->rank != 0) return 0;
    if (history_add(&r->hist, row, err) || history_save(&r->hist, r->history_path, err)) return -1;
    if (best) { /* the weights validation saw: the EMA's with --ema */
        if (r->p.ema) recipe_swap(r->m->params, r->p.ema, r->m->spec->n_params);
        int rc = dd_model_save(r->m, r->model_path, err);
        if (r->p.ema) recipe_swap(r->m->params, r->p.ema, r->m->spec->n_params);
        if (rc) return -1;
    }
    return checkpoint_save(r->checkpoint_path, r->m, &r->opt, &r->p, r->o, err);
}

/* The test split, once, with model.safetensors' weights (the chosen epoch's): test.json on rank 0. */
static int final_test(run *r, dd_train_result *result, dd_error *err) {
    dd_model *m = r->m;
    int rc = 0;
    /* the weights in memory are the last epoch's, and without their EMA */
    if (r->rank == 0 && (r->p.best_epoch != r->p.epochs_done || r->p.ema)) {
        dd_model *best = dd_model_load(r->model_path, err);
        if (!best)
            rc = -1;
        else if (best->spec->n_params != m->spec->n_params || best->spec->n_state != m->spec->n_state)
            rc = dd_fail(err, DD_ERR_MALFORMED, "%s is not this run's model", r->model_path);
        else {
            memcpy(m->params, best->params, m->spec->n_params * sizeof *m->params);
            memcpy(m->state, best->state, m->spec->n_state * sizeof *m->state);
        }
        dd_model_free(best);
    }
    if (train_agree_failure(r, rc, err)) return -1;
    dist_bcast(m->params, m->spec->n_params * sizeof *m->params);
    dist_bcast(m->state, m->spec->n_state * sizeof *m->state);
    eval_sums t;
    if (evaluate(r, r->test, &t, err)) return -1;
    result->has_test = true;
    result->test_loss = mean(t.loss, t.count);
    result->test_acc = mean(t.correct, t.count);
    result->test_top3 = mean(t.top3, t.count);
    result->test_count = (uint64_t)t.count;
    if (r->rank != 0) return 0;
    dd_atomic_file a;
    if (dd_atomic_open(&a, r->test_path, err)) return -1;
    fprintf(a.f,
            "{\"epoch\": %d, \"chosen_on\": \"%s\", \"drawings\": %llu, \"loss\": %.6f, \"accuracy\": %.6f, "
            "\"top3\": %.6f}\n",
            r->p.best_epoch, r->val ? "validation" : "last epoch", (unsigned long long)result->test_count,
            result->test_loss, result->test_acc, result->test_top3);
    return dd_atomic_commit(&a, err);
}

int dd_train(const dd_train_opts *given, dd_train_result *result, dd_error *err) {
    dd_train_opts o = *given;
    memset(result, 0, sizeof *result);
    result->test_acc = result->test_loss = result->test_top3 = NAN;
    result->best_val_acc = result->best_val_loss = NAN;
    if (dd_train_opts_check(&o, err)) return -1;
    run r = {.o = &o, .rank = dd_dist_rank(), .ranks = dd_dist_size()};
    if (dd_path_join(r.model_path, sizeof r.model_path, o.run_dir, "model.safetensors", err) ||
        dd_path_join(r.checkpoint_path, sizeof r.checkpoint_path, o.run_dir, "checkpoint.safetensors", err) ||
        dd_path_join(r.history_path, sizeof r.history_path, o.run_dir, "history.csv", err) ||
        dd_path_join(r.test_path, sizeof r.test_path, o.run_dir, "test.json", err))
        return -1;
    int rc = -1;
    if (setup(&r, &o, err)) goto done;
    if (o.patience > 0 && !r.val) {
        dd_fail(err, DD_ERR_USAGE, "--patience needs a validation split to watch: give --val-frac above 0");
        goto done;
    }
    FILE *log = r.rank == 0 ? o.log : NULL;
    if (log && o.resume) fprintf(log, "resuming %s after epoch %d of %d\n", o.run_dir, r.p.epochs_done, r.epochs);
    if (log && r.p.epochs_done == 0)
        fprintf(log, "training on %llu drawings, validating on %llu (%s), %llu steps of %d in %d epoch%s%s\n",
                (unsigned long long)dd_loader_record_count(r.train),
                (unsigned long long)(r.val ? dd_loader_record_count(r.val) : 0),
                r.val ? "the best epoch is chosen on them" : "none: the last epoch is kept",
                (unsigned long long)r.total_steps, o.batch, r.epochs, r.epochs == 1 ? "" : "s",
                r.ranks > 1 ? ", on every rank its share" : "");
    int since_best = 0, start_epoch = r.p.epochs_done;
    for (int epoch = r.p.epochs_done; epoch < r.epochs; epoch++) {
        double t0 = dd_now_seconds(), train_loss = NAN, train_acc = NAN;
        uint64_t to = (uint64_t)(epoch + 1) * r.epoch_steps; /* the epoch's end (it may have begun before a resume) */
        if (to > r.total_steps) to = r.total_steps;
        int got = train_steps(&r, epoch, r.p.steps_done, to, &train_loss, &train_acc, err);
        if (got < 0) goto done;
        if (got == 1) { /* interrupted: a checkpoint here, inside the epoch, and stop */
            rc = r.rank == 0 ? checkpoint_save(r.checkpoint_path, r.m, &r.opt, &r.p, &o, err) : 0;
            if (train_agree_failure(&r, rc, err)) goto done;
            result->interrupted = true;
            result->epochs_run = (int)(r.p.epochs_done - start_epoch);
            result->steps = r.p.steps_done;
            result->stopped_epoch = epoch + 1;
            result->stopped_step = r.p.steps_done - (uint64_t)epoch * r.epoch_steps;
            result->epoch_steps = to - (uint64_t)epoch * r.epoch_steps;
            result->best_epoch = r.p.best_epoch;
            rc = 0;
            goto done;
        }
        r.p.steps_done = to;
        if (train_check_same_weights(&r, epoch, err)) goto done;
        train_average_state(&r);
        eval_sums v = {0};
        if (r.p.ema && r.val) recipe_swap(r.m->params, r.p.ema, r.m->spec->n_params); /* validated with the EMA */
        rc = r.val ? evaluate(&r, r.val, &v, err) : 0;
        if (r.p.ema && r.val) recipe_swap(r.m->params, r.p.ema, r.m->spec->n_params);
        if (rc) goto done;
        rc = -1;
        double val_loss = mean(v.loss, v.count), val_acc = mean(v.correct, v.count), top3 = mean(v.top3, v.count);
        double seconds = dd_now_seconds() - t0;
        /* the best epoch by validation accuracy; without a validation split, the last */
        bool best = !r.val || r.p.best_epoch == 0 || val_acc > r.p.best_test_acc;
        if (best) {
            r.p.best_epoch = epoch + 1;
            r.p.best_test_acc = (float)val_acc;
            r.p.best_test_loss = (float)val_loss;
        }
        since_best = epoch + 1 - r.p.best_epoch;
        r.p.epochs_done = epoch + 1;
        history_row row = {epoch + 1, train_loss, train_acc, val_loss, val_acc, top3, r.lr, seconds};
        rc = save_epoch(&r, &row, best, err);
        if (train_agree_failure(&r, rc, err)) goto done;
        rc = -1;
        if (log) {
            if (r.val)
                fprintf(log,
                        "epoch %d/%d: train loss %.4f acc %.2f%%, val loss %.4f acc %.2f%% top-3 %.2f%%, %.1f s%s\n",
                        epoch + 1, r.epochs, train_loss, 100 * train_acc, val_loss, 100 * val_acc, 100 * top3, seconds,
                        best ? " (best so far)" : "");
            else
                fprintf(log, "epoch %d/%d: train loss %.4f acc %.2f%%, %.1f s\n", epoch + 1, r.epochs, train_loss,
                        100 * train_acc, seconds);
            fflush(log); /* one line per epoch, as it happens, also into a file */
        }
        result->epochs_run++;
        if (o.patience > 0 && since_best >= o.patience) {
            result->stopped_early = true;
            if (log)
                fprintf(log, "no better validation accuracy for %d epochs: stopping; %s holds epoch %d's weights\n",
                        o.patience, r.model_path, r.p.best_epoch);
            break;
        }
        if (o.stop_after > 0 && r.p.epochs_done >= o.stop_after && r.p.epochs_done < r.epochs) {
            result->paused = true; /* the checkpoint goes on with --resume; the test waits for the end */
            if (log)
                fprintf(log, "paused after epoch %d of %d (--stop-after): --resume goes on\n", r.p.epochs_done,
                        r.epochs);
            break;
        }
    }
    result->best_epoch = r.p.best_epoch;
    result->has_val = r.val != NULL;
    result->best_val_acc = r.val ? r.p.best_test_acc : NAN;
    result->best_val_loss = r.val ? r.p.best_test_loss : NAN;
    if (r.test && !result->paused && final_test(&r, result, err)) goto done;
    result->ranks = r.ranks;
    result->allreduce_seconds = r.sync ? grad_sync_seconds(r.sync) : 0;
    result->allreduce_bytes = r.sync ? grad_sync_bytes(r.sync) : 0;
    result->allreduce_buckets = r.sync ? grad_sync_buckets(r.sync) : 0;
    result->train_seconds = r.train_seconds;
    result->steps = r.p.steps_done;
    rc = 0;
done:
    run_free(&r);
    return rc;
}
