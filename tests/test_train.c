/* doodle's training loop on the bundled sample: it learns, writes its run folder, resumes bit for bit, stops on
 * NaN with the last checkpoint intact, and stops early keeping the best weights. Options are checked in one place
 * (dd_train_opts_check), also those a checkpoint stores; --resume without a checkpoint says why; temporary files
 * left in a run folder by a killed run are removed by the next one. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "doodle/model.h"
#include "doodle/prep.h"
#include "doodle/train.h"
#include "testutil.h"
#include "train/checkpoint.h"

static int same_file(const char *a, const char *b) {
    size_t na, nb;
    char *x = test_read_file(a, &na), *y = test_read_file(b, &nb);
    int same = x && y && na == nb && !memcmp(x, y, na);
    free(x);
    free(y);
    return same;
}

static dd_train_opts quick(const char *data, const char *dir, int epochs) {
    dd_train_opts o = dd_train_defaults();
    o.data_path = data;
    o.run_dir = dir;
    o.model = "mnist28";
    o.epochs = epochs;
    o.batch = 32;
    o.lr = 1e-3f;
    o.schedule = DD_SCHEDULE_CONSTANT; /* so that 1 epoch + resume equals 2 epochs */
    o.threads = 1;
    return o;
}

static int exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

/* Copies good_dir's checkpoint into dir (with its history.csv), after change() has spoiled what it loaded. */
static void spoiled_copy(const char *good_dir, const char *dir, void (*change)(dd_train_opts *, train_progress *)) {
    char from[4400], to[4400];
    dd_error err;
    mkdir(dir, 0755);
    snprintf(from, sizeof from, "%s/checkpoint.safetensors", good_dir);
    snprintf(to, sizeof to, "%s/checkpoint.safetensors", dir);
    dd_train_opts o = dd_train_defaults();
    dd_model *m = NULL;
    dd_optimizer opt = {0};
    train_progress p;
    CHECK(checkpoint_load(from, &m, &opt, &p, &o, &err) == 0, "%s", err.msg);
    if (!m) return;
    change(&o, &p);
    CHECK(checkpoint_save(to, m, &opt, &p, &o, &err) == 0, "%s", err.msg);
    dd_optimizer_free(&opt);
    dd_model_free(m);
    snprintf(from, sizeof from, "%s/history.csv", good_dir);
    snprintf(to, sizeof to, "%s/history.csv", dir);
    size_t n;
    char *h = test_read_file(from, &n);
    if (h) test_write_file(to, h, n);
    free(h);
}

static void unchanged(dd_train_opts *o, train_progress *p) { (void)o, (void)p; }
static void lr_negative(dd_train_opts *o, train_progress *p) {
    (void)p;
    o->lr = -1;
}
static void lr_nan(dd_train_opts *o, train_progress *p) {
    (void)p;
    o->lr = NAN;
}
static void optimizer_7(dd_train_opts *o, train_progress *p) {
    (void)p;
    o->optimizer = (dd_opt_kind)7;
}
static void schedule_9(dd_train_opts *o, train_progress *p) {
    (void)p;
    o->schedule = (dd_schedule_kind)9;
}
static void momentum_1(dd_train_opts *o, train_progress *p) {
    (void)p;
    o->momentum = 1;
}
static void batch_0(dd_train_opts *o, train_progress *p) {
    (void)p;
    o->batch = 0;
}
static void warmup_negative(dd_train_opts *o, train_progress *p) {
    (void)p;
    o->warmup_epochs = -2;
}
static void min_lr_inf(dd_train_opts *o, train_progress *p) {
    (void)p;
    o->min_lr = INFINITY;
}
static void rng_zero(dd_train_opts *o, train_progress *p) {
    (void)o;
    memset(&p->rng, 0, sizeof p->rng);
}
static void best_after_done(dd_train_opts *o, train_progress *p) {
    (void)o;
    p->best_epoch = p->epochs_done + 1;
}

/* Replaces, in the file at path, the last character of the stored option key's value with c (same length). */
static int spoil_value(const char *path, const char *key, char c) {
    size_t n;
    char *b = test_read_file(path, &n), pat[64];
    snprintf(pat, sizeof pat, "\\\"%s\\\":\\\"", key); /* \"key\":\" inside the header's JSON string */
    char *at = b ? strstr(b + 8, pat) : NULL;
    char *end = at ? strstr(at + strlen(pat), "\\\"") : NULL;
    if (end) {
        end[-1] = c;
        test_write_file(path, b, n);
    }
    free(b);
    return end ? 0 : -1;
}

int main(void) {
    const char *tmp = test_tmp_dir("train");
    char data[4200], run[4200], a[4200], b[4200], path[4400], path2[4400];
    snprintf(data, sizeof data, "%s/sample.dset", tmp);
    char bitmaps[4200];
    snprintf(bitmaps, sizeof bitmaps, "%s/bitmaps", test_sample_dir());
    const char *inputs[] = {bitmaps};
    dd_prep_opts po = {.inputs = inputs, .n_inputs = 1, .per_class = 200, .test_frac = 0.2, .seed = 1};
    dd_prep_report rep;
    dd_error err;
    CHECK(dd_prep_run(&po, data, &rep, &err) == 0, "%s", err.msg);
    dd_prep_report_free(&rep);

    /* it learns: 5 classes, 800 training bitmaps, 2 epochs; and removes what a killed run left (kill -9 mid-write) */
    snprintf(run, sizeof run, "%s/run", tmp);
    mkdir(run, 0755);
    const char *left[] = {"history.csv.tmp.AAAAAA", "checkpoint.safetensors.tmp.b1C2d3",
                          "model.safetensors.tmp.Zz0099"};
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", run, left[i]);
        test_write_file(path, "partial", 7);
    }
    dd_train_opts o = quick(data, run, 2);
    dd_train_result r;
    CHECK(dd_train(&o, &r, &err) == 0, "%s", err.msg);
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", run, left[i]);
        CHECK(!exists(path), "%s was left in the run folder", left[i]);
    }
    CHECK(r.epochs_run == 2 && r.best_epoch >= 1 && r.has_val && r.best_val_acc > 0.6,
          "best validation accuracy "
          "%.3f after 2 epochs",
          r.best_val_acc);
    CHECK(r.has_test && r.test_acc > 0.6 && r.test_count == 200, "test accuracy %.3f on %llu drawings", r.test_acc,
          (unsigned long long)r.test_count);
    snprintf(path, sizeof path, "%s/history.csv", run);
    size_t n;
    char *hist = test_read_file(path, &n);
    CHECK(hist && !strncmp(hist, "epoch,train_loss,train_acc,val_loss,val_acc,val_top3,lr,seconds\n1,", 65),
          "history: %s", hist ? hist : "(none)");
    CHECK(hist && strstr(hist, "\n2,") && !strstr(hist, "\n3,"), "two rows");
    free(hist);
    /* the test split is evaluated once, for the chosen epoch's weights */
    snprintf(path, sizeof path, "%s/test.json", run);
    char *test_json = test_read_file(path, &n);
    char want[64];
    snprintf(want, sizeof want, "{\"epoch\": %d, \"chosen_on\": \"validation\", \"drawings\": 200,", r.best_epoch);
    CHECK(test_json && !strncmp(test_json, want, strlen(want)), "test.json: %s", test_json ? test_json : "(none)");
    free(test_json);
    snprintf(path, sizeof path, "%s/model.safetensors", run);
    dd_model *m = dd_model_load(path, &err);
    CHECK(m, "%s", err.msg);
    if (m) {
        CHECK(m->spec->classes == 5 && !strcmp(m->class_names[0], "airplane") && !strcmp(m->class_names[4], "star"));
        dd_model_free(m);
    }

    /* 1 epoch, then --resume to 2: the same bits as 2 epochs straight */
    snprintf(a, sizeof a, "%s/resumed", tmp);
    o = quick(data, a, 1);
    CHECK(dd_train(&o, &r, &err) == 0, "%s", err.msg);
    o = quick(data, a, 2);
    o.resume = true;
    o.lr = 0.5f; /* ignored: a resumed run keeps its own options */
    CHECK(dd_train(&o, &r, &err) == 0, "%s", err.msg);
    CHECK(r.epochs_run == 1, "resumed run trained %d epochs", r.epochs_run);
    snprintf(path, sizeof path, "%s/checkpoint.safetensors", run);
    snprintf(path2, sizeof path2, "%s/checkpoint.safetensors", a);
    CHECK(same_file(path, path2), "resumed checkpoint differs from the uninterrupted run's");
    snprintf(path, sizeof path, "%s/model.safetensors", run);
    snprintf(path2, sizeof path2, "%s/model.safetensors", a);
    CHECK(same_file(path, path2), "resumed model differs from the uninterrupted run's");

    /* on 2 threads too: the work is split the same way every time, so 1 epoch + resume is again 2 epochs straight */
    char t2[4200], t2r[4200];
    snprintf(t2, sizeof t2, "%s/two_threads", tmp);
    snprintf(t2r, sizeof t2r, "%s/two_threads_resumed", tmp);
    o = quick(data, t2, 2);
    o.threads = 2;
    CHECK(dd_train(&o, &r, &err) == 0, "%s", err.msg);
    o = quick(data, t2r, 1);
    o.threads = 2;
    CHECK(dd_train(&o, &r, &err) == 0, "%s", err.msg);
    o = quick(data, t2r, 2);
    o.threads = 2;
    o.resume = true;
    CHECK(dd_train(&o, &r, &err) == 0, "%s", err.msg);
    snprintf(path, sizeof path, "%s/model.safetensors", t2);
    snprintf(path2, sizeof path2, "%s/model.safetensors", t2r);
    CHECK(same_file(path, path2), "2 threads: the resumed model differs from the uninterrupted run's");

    /* --steps-per-epoch: the same steps in other epochs give the same weights (constant schedule, no warm-up); a
     * run stopped inside a pass and resumed gives them too; --max-steps stops there */
    {
        char whole[4200], parts[4200], capped[4200];
        snprintf(whole, sizeof whole, "%s/whole_passes", tmp);
        snprintf(parts, sizeof parts, "%s/steps_per_epoch", tmp);
        snprintf(capped, sizeof capped, "%s/max_steps", tmp);
        o = quick(data, whole, 2);
        o.warmup_epochs = 0;
        CHECK(dd_train(&o, &r, &err) == 0, "%s", err.msg);
        uint64_t pass = r.steps / 2; /* 720 training drawings in batches of 32: 23 steps a pass */
        CHECK(r.steps == 46 && pass == 23, "%llu steps in 2 passes", (unsigned long long)r.steps);
        o = quick(data, parts, 5); /* 5 epochs of 9 steps = 45, then 1 more: epochs end inside passes */
        o.warmup_epochs = 0;
        o.steps_per_epoch = 9;
        CHECK(dd_train(&o, &r, &err) == 0, "%s", err.msg);
        o = quick(data, parts, 6);
        o.warmup_epochs = 0;
        o.steps_per_epoch = 9;
        o.max_steps = 46;
        o.resume = true;
        CHECK(dd_train(&o, &r, &err) == 0, "%s", err.msg);
        CHECK(r.epochs_run == 1 && r.steps == 46, "resumed: %d epochs, %llu steps", r.epochs_run,
              (unsigned long long)r.steps);
        snprintf(path, sizeof path, "%s/checkpoint.safetensors", whole);
        snprintf(path2, sizeof path2, "%s/checkpoint.safetensors", parts);
        dd_model *mw = dd_model_load(path, &err), *mp = dd_model_load(path2, &err);
        CHECK(mw && mp && !memcmp(mw->params, mp->params, mw->spec->n_params * sizeof *mw->params),
              "46 steps in epochs of 9 (and a resume inside a pass) differ from 2 whole passes");
        dd_model_free(mw);
        dd_model_free(mp);
        o = quick(data, capped, 10);
        o.max_steps = 30;
        CHECK(dd_train(&o, &r, &err) == 0, "%s", err.msg);
        CHECK(r.steps == 30 && r.epochs_run == 2, "--max-steps 30: %llu steps in %d epochs",
              (unsigned long long)r.steps, r.epochs_run);
    }

    /* without a validation split the last epoch is kept, and --patience has nothing to watch */
    {
        char noval[4200];
        snprintf(noval, sizeof noval, "%s/no_validation", tmp);
        o = quick(data, noval, 2);
        o.val_frac = 0;
        CHECK(dd_train(&o, &r, &err) == 0, "%s", err.msg);
        CHECK(!r.has_val && r.best_epoch == 2 && r.has_test, "no validation: kept epoch %d", r.best_epoch);
        o.patience = 1;
        CHECK(dd_train(&o, &r, &err) != 0 && strstr(err.msg, "--patience needs a validation split"), "%s", err.msg);
        o = quick(data, noval, 2);
        o.val_frac = 0.95;
        CHECK(dd_train_opts_check(&o, &err) != 0 && strstr(err.msg, "--val-frac"), "%s", err.msg);
    }

    /* a diverging run stops at once, naming epoch and step, and leaves the existing checkpoint as it was */
    snprintf(path, sizeof path, "%s/checkpoint.safetensors", run);
    size_t before_n;
    char *before = test_read_file(path, &before_n);
    o = quick(data, run, 2);
    o.optimizer = DD_OPT_SGD; /* the largest options allowed: decoupled decay scales weights by 1 - 10 = -9 a step */
    o.lr = 10;
    o.weight_decay = 1;
    o.momentum = 0.99f;
    o.batch = 4;
    CHECK(dd_train(&o, &r, &err) != 0, "a run at lr 10, weight decay 1 did not stop");
    CHECK(strstr(err.msg, "epoch 1, step") && strstr(err.msg, "not finite"), "message: %s", err.msg);
    size_t after_n;
    char *after = test_read_file(path, &after_n);
    CHECK(before && after && before_n == after_n && !memcmp(before, after, before_n), "the checkpoint was changed");
    free(before);
    free(after);

    /* patience: a learning rate too small to change anything never beats epoch 1 */
    snprintf(b, sizeof b, "%s/patience", tmp);
    o = quick(data, b, 6);
    o.lr = 1e-12f;
    o.patience = 2;
    CHECK(dd_train(&o, &r, &err) == 0, "%s", err.msg);
    CHECK(r.stopped_early && r.epochs_run == 3 && r.best_epoch == 1, "stopped %d after %d epochs, best %d",
          r.stopped_early, r.epochs_run, r.best_epoch);

    /* one set of rules for the options, named by their flags (the command line shows these messages) */
    o = quick(data, b, 1);
    CHECK(dd_train_opts_check(&o, &err) == 0, "%s", err.msg);
    o.lr = -1;
    CHECK(dd_train_opts_check(&o, &err) != 0 && err.code == DD_ERR_USAGE && strstr(err.msg, "--lr -1 is out of range"),
          "%s", err.msg);
    o = quick(data, b, 1);
    o.momentum = 1;
    CHECK(dd_train_opts_check(&o, &err) != 0 && strstr(err.msg, "--momentum"), "%s", err.msg);
    o = quick(data, b, 1);
    o.threads = 300;
    CHECK(dd_train(&o, &r, &err) != 0 && strstr(err.msg, "--threads"), "%s", err.msg);
    o = quick(data, b, 1);
    o.min_lr = NAN;
    CHECK(dd_train_opts_check(&o, &err) != 0 && strstr(err.msg, "min_lr"), "%s", err.msg);

    /* a checkpoint holding options or a state the command line would refuse is refused, naming file and field */
    static const struct {
        void (*change)(dd_train_opts *, train_progress *);
        const char *field;
    } spoils[] = {{lr_negative, "'lr' is -1"},          {lr_nan, "'lr' is nan"},
                  {optimizer_7, "'optimizer' is 7"},    {schedule_9, "'schedule' is 9"},
                  {momentum_1, "'momentum' is 1"},      {batch_0, "'batch' is 0"},
                  {warmup_negative, "'warmup_epochs'"}, {min_lr_inf, "'min_lr'"},
                  {rng_zero, "'rng' is all zero"},      {best_after_done, "'best_epoch'"}};
    char spoilt[4300];
    for (size_t i = 0; i < sizeof spoils / sizeof *spoils; i++) {
        snprintf(spoilt, sizeof spoilt, "%s/spoilt%zu", tmp, i);
        spoiled_copy(a, spoilt, spoils[i].change);
        o = quick(data, spoilt, 3);
        o.resume = true;
        err.msg[0] = '\0';
        CHECK(dd_train(&o, &r, &err) != 0 && strstr(err.msg, "checkpoint.safetensors: not a usable checkpoint") &&
                  strstr(err.msg, spoils[i].field),
              "%s accepted: %s", spoils[i].field, err.msg);
    }
    /* the copy itself is a good checkpoint: it resumes */
    snprintf(spoilt, sizeof spoilt, "%s/copied", tmp);
    spoiled_copy(a, spoilt, unchanged);
    o = quick(data, spoilt, 3);
    o.resume = true;
    CHECK(dd_train(&o, &r, &err) == 0, "an unchanged copy does not resume: %s", err.msg);
    /* strict numbers: trailing junk is not a number */
    snprintf(spoilt, sizeof spoilt, "%s/spoilt_junk", tmp);
    spoiled_copy(a, spoilt, unchanged);
    snprintf(path2, sizeof path2, "%s/checkpoint.safetensors", spoilt);
    CHECK(spoil_value(path2, "lr", 'x') == 0, "no lr in the checkpoint");
    o = quick(data, spoilt, 3);
    o.resume = true;
    err.msg[0] = '\0';
    CHECK(dd_train(&o, &r, &err) != 0 && strstr(err.msg, "option 'lr' is '") && strstr(err.msg, "x', not a number"),
          "junk after lr accepted: %s", err.msg);

    /* history.csv is read as strictly: no junk after a row's numbers, epochs in order */
    static const char *const bad_rows[] = {"1,0.5,0.5,0.5,0.5,0.9,0.001,1.0x\n2,0.5,0.5,0.5,0.5,0.9,0.001,1.0\n",
                                           "2,0.5,0.5,0.5,0.5,0.9,0.001,1.0\n2,0.5,0.5,0.5,0.5,0.9,0.001,1.0\n"};
    for (int i = 0; i < 2; i++) {
        snprintf(spoilt, sizeof spoilt, "%s/spoilt_history%d", tmp, i);
        spoiled_copy(a, spoilt, unchanged);
        snprintf(path2, sizeof path2, "%s/history.csv", spoilt);
        char text[256];
        snprintf(text, sizeof text, "%s\n%s", "epoch,train_loss,train_acc,val_loss,val_acc,val_top3,lr,seconds",
                 bad_rows[i]);
        test_write_file(path2, text, strlen(text));
        o = quick(data, spoilt, 3);
        o.resume = true;
        err.msg[0] = '\0';
        CHECK(dd_train(&o, &r, &err) != 0 && strstr(err.msg, "history.csv:2: "), "history row %d accepted: %s", i,
              err.msg);
    }

    /* --resume where no epoch ended (killed in epoch 1: no checkpoint) says so, and where there is no folder at all */
    snprintf(spoilt, sizeof spoilt, "%s/killed_in_epoch_1", tmp);
    mkdir(spoilt, 0755);
    o = quick(data, spoilt, 2);
    o.resume = true;
    CHECK(dd_train(&o, &r, &err) != 0 && strstr(err.msg, "no epoch of its run finished") &&
              strstr(err.msg, "nothing to resume") && strstr(err.msg, "without --resume"),
          "%s", err.msg);
    snprintf(spoilt, sizeof spoilt, "%s/no_such_run", tmp);
    rmdir(spoilt);
    o = quick(data, spoilt, 2);
    o.resume = true;
    CHECK(dd_train(&o, &r, &err) != 0 && strstr(err.msg, "no such run folder"), "%s", err.msg);
    CHECK(!exists(spoilt), "--resume made a run folder");

    /* bad input: a missing dataset, an unknown model */
    o = quick("/nonexistent.dset", b, 1);
    CHECK(dd_train(&o, &r, &err) != 0 && strstr(err.msg, "/nonexistent.dset"), "%s", err.msg);
    o = quick(data, b, 1);
    o.model = "no-such-net";
    CHECK(dd_train(&o, &r, &err) != 0 && strstr(err.msg, "no-such-net"), "%s", err.msg);
    return test_finish("test_train");
}
