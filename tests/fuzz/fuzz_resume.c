/* Fuzz target: what `doodle train --resume` reads back from a run folder. The first byte picks the file:
 *   bit 0 = 0: the rest is checkpoint.safetensors, through checkpoint_load (src/train/checkpoint.c);
 *   bit 0 = 1: the rest is history.csv, through history_load for the checkpoint's (byte >> 1) epochs (0..127).
 * A failure must have a status and a message starting with the file name and leave nothing allocated (the model
 * pointer untouched; a history freed by history_free as train.c does); a checkpoint that loads has options that
 * pass the command line's checks, progress in range, a live RNG and optimizer moments of the model's size; a
 * history that loads has exactly epochs 1..N in order.
 *
 * These are private headers of src/train (not the public API): included by path, so that the corpus replay of the
 * normal build needs no include directory of its own (tests/fuzz/CMakeLists.txt says so too). The memory bound is
 * lowered to 256 MB as in fuzz_model. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/train/checkpoint.h"
#include "../../src/train/history.h"
#include "fuzz.h"

#define FUZZ_MEMORY_LIMIT ((uint64_t)256 * 1000 * 1000)

static void fuzz_checkpoint(const uint8_t *data, size_t size) {
    const char *path = fuzz_temp_path("-checkpoint.safetensors");
    fuzz_write_file(path, data, size);
    dd_model *m = NULL;
    dd_optimizer o;
    memset(&o, 0, sizeof o);
    train_progress p;
    dd_train_opts opts = dd_train_defaults(), asked = opts;
    asked.epochs = opts.epochs = 9;
    dd_error err = {0};
    if (checkpoint_load(path, &m, &o, &p, &opts, &err)) {
        fuzz_check_error("checkpoint_load", err.code, err.msg, path);
        FUZZ_CHECK(m == NULL, "a failed load hands back a model");
        return;
    }
    FUZZ_CHECK(m && m->spec->input.c == 1, "no model or not grey");
    FUZZ_CHECK((m->spec->n_params * (o.v ? 3 : 2) + m->spec->n_state) * sizeof(float) <= size,
               "%zu parameters with moments from a %zu-byte file", m->spec->n_params, size);
    FUZZ_CHECK(o.n == m->spec->n_params, "optimizer of %zu for %zu parameters", o.n, m->spec->n_params);
    for (size_t i = 0; i < o.n; i++) fuzz_sink += o.m[i] != 0 || (o.v && o.v[i] != 0);
    dd_error check = {0};
    FUZZ_CHECK(train_opts_check(&opts, true, &check) == 0, "stored options pass at load, not after: %s", check.msg);
    FUZZ_CHECK(opts.epochs == asked.epochs && opts.data_path == asked.data_path && opts.run_dir == asked.run_dir,
               "the command line's epochs and paths were replaced");
    FUZZ_CHECK(p.epochs_done >= 1 && p.epochs_done <= 100000 && p.best_epoch >= 1 && p.best_epoch <= p.epochs_done,
               "epochs %d, best %d", p.epochs_done, p.best_epoch);
    FUZZ_CHECK(isnan(p.best_test_acc) || (p.best_test_acc >= 0 && p.best_test_acc <= 1), "best acc %g",
               p.best_test_acc);
    FUZZ_CHECK(p.rng.s[0] | p.rng.s[1] | p.rng.s[2] | p.rng.s[3], "an all-zero RNG");
    FUZZ_CHECK((opts.ema > 0) == (p.ema != NULL), "ema %g with%s a stored average", opts.ema, p.ema ? "" : "out");
    free(p.ema); /* --ema's moving average of the weights, owned by the caller */
    dd_optimizer_free(&o);
    dd_model_free(m);
}

static void fuzz_history(int epochs, const uint8_t *data, size_t size) {
    const char *path = fuzz_temp_path("-history.csv");
    fuzz_write_file(path, data, size);
    history h = {0};
    dd_error err = {0};
    if (history_load(&h, path, epochs, &err)) {
        fuzz_check_error("history_load", err.code, err.msg, path);
        history_free(&h);
        return;
    }
    FUZZ_CHECK(h.count == (size_t)epochs, "%zu rows for %d epochs", h.count, epochs);
    for (size_t i = 0; i < h.count; i++) {
        FUZZ_CHECK(h.rows[i].epoch == (int)i + 1, "row %zu is epoch %d", i, h.rows[i].epoch);
        fuzz_sink += h.rows[i].train_loss > h.rows[i].val_loss;
    }
    history_free(&h);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    dd_set_memory_limit(FUZZ_MEMORY_LIMIT);
    if (data[0] & 1)
        fuzz_history(data[0] >> 1, data + 1, size - 1);
    else
        fuzz_checkpoint(data + 1, size - 1);
    return 0;
}
