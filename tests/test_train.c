/* doodle's training loop on the bundled sample: it learns, writes its run folder, resumes bit for bit, stops on
 * NaN with the last checkpoint intact, and stops early keeping the best weights. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "doodle/model.h"
#include "doodle/prep.h"
#include "doodle/train.h"
#include "testutil.h"

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

int main(void) {
    const char *tmp = test_tmp_dir("train");
    char data[4200], run[4200], a[4200], b[4200], path[4300], path2[4300];
    snprintf(data, sizeof data, "%s/sample.dset", tmp);
    char bitmaps[4200];
    snprintf(bitmaps, sizeof bitmaps, "%s/bitmaps", test_sample_dir());
    const char *inputs[] = {bitmaps};
    dd_prep_opts po = {.inputs = inputs, .n_inputs = 1, .per_class = 200, .test_frac = 0.2, .seed = 1};
    dd_prep_report rep;
    dd_error err;
    CHECK(dd_prep_run(&po, data, &rep, &err) == 0, "%s", err.msg);
    dd_prep_report_free(&rep);

    /* it learns: 5 classes, 800 training bitmaps, 2 epochs */
    snprintf(run, sizeof run, "%s/run", tmp);
    dd_train_opts o = quick(data, run, 2);
    dd_train_result r;
    CHECK(dd_train(&o, &r, &err) == 0, "%s", err.msg);
    CHECK(r.epochs_run == 2 && r.best_epoch >= 1 && r.best_test_acc > 0.6f, "best test accuracy %.3f after 2 epochs",
          r.best_test_acc);
    snprintf(path, sizeof path, "%s/history.csv", run);
    size_t n;
    char *hist = test_read_file(path, &n);
    CHECK(hist && !strncmp(hist, "epoch,train_loss,train_acc,test_loss,test_acc,seconds\n1,", 56), "history: %s", hist ? hist : "(none)");
    CHECK(hist && strstr(hist, "\n2,") && !strstr(hist, "\n3,"), "two rows");
    free(hist);
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

    /* a diverging run stops at once, naming epoch and step, and leaves the existing checkpoint as it was */
    snprintf(path, sizeof path, "%s/checkpoint.safetensors", run);
    size_t before_n;
    char *before = test_read_file(path, &before_n);
    o = quick(data, run, 2);
    o.lr = 1e30f;
    CHECK(dd_train(&o, &r, &err) != 0, "a run at lr 1e30 did not stop");
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

    /* bad input: a missing dataset, an unknown model */
    o = quick("/nonexistent.dset", b, 1);
    CHECK(dd_train(&o, &r, &err) != 0 && strstr(err.msg, "/nonexistent.dset"), "%s", err.msg);
    o = quick(data, b, 1);
    o.model = "no-such-net";
    CHECK(dd_train(&o, &r, &err) != 0 && strstr(err.msg, "no-such-net"), "%s", err.msg);
    return test_finish("test_train");
}
