/* checkpoint.safetensors writing and reading (see checkpoint.h). Numbers in the metadata are written with enough
 * digits to read back bit for bit ("%.9g" for floats, hex for the RNG). */
#include "train/checkpoint.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECKPOINT_VERSION "1"

static char *opts_json(const dd_train_opts *o) {
    cJSON *j = cJSON_CreateObject();
    char lr[32], wd[32], mom[32], warm[32], min_lr[32], seed[32];
    snprintf(lr, sizeof lr, "%.9g", o->lr);
    snprintf(wd, sizeof wd, "%.9g", o->weight_decay);
    snprintf(mom, sizeof mom, "%.9g", o->momentum);
    snprintf(warm, sizeof warm, "%.9g", o->warmup_epochs);
    snprintf(min_lr, sizeof min_lr, "%.9g", o->min_lr);
    snprintf(seed, sizeof seed, "%" PRIu64, o->seed);
    int ok = j && cJSON_AddNumberToObject(j, "batch", o->batch) &&
             cJSON_AddNumberToObject(j, "optimizer", o->optimizer) && cJSON_AddStringToObject(j, "lr", lr) &&
             cJSON_AddStringToObject(j, "weight_decay", wd) && cJSON_AddStringToObject(j, "momentum", mom) &&
             cJSON_AddNumberToObject(j, "schedule", o->schedule) && cJSON_AddStringToObject(j, "warmup_epochs", warm) &&
             cJSON_AddStringToObject(j, "min_lr", min_lr) && cJSON_AddBoolToObject(j, "augment", o->augment) &&
             cJSON_AddStringToObject(j, "seed", seed) && cJSON_AddNumberToObject(j, "patience", o->patience);
    char *s = ok ? cJSON_PrintUnformatted(j) : NULL;
    cJSON_Delete(j);
    return s;
}

int checkpoint_save(const char *path, const dd_model *m, const dd_optimizer *o, const train_progress *p,
                    const dd_train_opts *opts, dd_error *err) {
    dd_st_writer *w = dd_st_writer_new(err);
    if (!w) return -1;
    int rc = -1;
    char *json = opts_json(opts);
    int64_t n = (int64_t)o->n;
    char version[8], epochs[16], best_epoch[16], acc[32], loss[32], rng[80], step[32];
    snprintf(version, sizeof version, "%s", CHECKPOINT_VERSION);
    snprintf(epochs, sizeof epochs, "%d", p->epochs_done);
    snprintf(best_epoch, sizeof best_epoch, "%d", p->best_epoch);
    snprintf(acc, sizeof acc, "%.9g", p->best_test_acc);
    snprintf(loss, sizeof loss, "%.9g", p->best_test_loss);
    snprintf(rng, sizeof rng, "%016" PRIx64 "%016" PRIx64 "%016" PRIx64 "%016" PRIx64, p->rng.s[0], p->rng.s[1],
             p->rng.s[2], p->rng.s[3]);
    snprintf(step, sizeof step, "%" PRIu64, o->step);
    if (!json) {
        dd_fail(err, DD_ERR_NOMEM, "out of memory");
        goto done;
    }
    if (dd_model_add_to(m, w, err) || dd_st_writer_add(w, "optimizer.m", DD_ST_F32, 1, &n, o->m, err) ||
        (o->v && dd_st_writer_add(w, "optimizer.v", DD_ST_F32, 1, &n, o->v, err)) ||
        dd_st_writer_metadata(w, "checkpoint_version", version, err) ||
        dd_st_writer_metadata(w, "epochs_done", epochs, err) || dd_st_writer_metadata(w, "best_epoch", best_epoch, err) ||
        dd_st_writer_metadata(w, "best_test_acc", acc, err) || dd_st_writer_metadata(w, "best_test_loss", loss, err) ||
        dd_st_writer_metadata(w, "rng", rng, err) || dd_st_writer_metadata(w, "optimizer_step", step, err) ||
        dd_st_writer_metadata(w, "train_opts", json, err))
        goto done;
    rc = dd_st_write(w, path, err);
done:
    free(json);
    dd_st_writer_free(w);
    return rc;
}

static int bad(dd_error *err, const char *path, const char *what) {
    return dd_fail(err, DD_ERR_MALFORMED, "%s: not a usable checkpoint: %s", path, what);
}

static const char *json_str(const cJSON *j, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int json_int(const cJSON *j, const char *key, int *out) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    if (!cJSON_IsNumber(v)) return -1;
    *out = v->valueint;
    return 0;
}

static int read_opts(const char *text, dd_train_opts *o) {
    cJSON *j = text ? cJSON_Parse(text) : NULL;
    const char *lr = json_str(j, "lr"), *wd = json_str(j, "weight_decay"), *mom = json_str(j, "momentum"),
               *warm = json_str(j, "warmup_epochs"), *min_lr = json_str(j, "min_lr"), *seed = json_str(j, "seed");
    const cJSON *aug = cJSON_GetObjectItemCaseSensitive(j, "augment");
    int opt, sched, ok = j && lr && wd && mom && warm && min_lr && seed && cJSON_IsBool(aug) &&
                         !json_int(j, "batch", &o->batch) && !json_int(j, "optimizer", &opt) &&
                         !json_int(j, "schedule", &sched) && !json_int(j, "patience", &o->patience);
    if (ok) {
        o->optimizer = (dd_opt_kind)opt;
        o->schedule = (dd_schedule_kind)sched;
        o->lr = strtof(lr, NULL);
        o->weight_decay = strtof(wd, NULL);
        o->momentum = strtof(mom, NULL);
        o->warmup_epochs = strtof(warm, NULL);
        o->min_lr = strtof(min_lr, NULL);
        o->seed = strtoull(seed, NULL, 10);
        o->augment = cJSON_IsTrue(aug);
    }
    cJSON_Delete(j);
    return ok ? 0 : -1;
}

int checkpoint_load(const char *path, dd_model **out, dd_optimizer *o, train_progress *p, dd_train_opts *opts,
                    dd_error *err) {
    dd_st_file *f = dd_st_open(path, err);
    if (!f) return -1;
    int rc = -1;
    dd_model *m = NULL;
    const char *version = dd_st_metadata(f, "checkpoint_version");
    const char *epochs = dd_st_metadata(f, "epochs_done"), *best_epoch = dd_st_metadata(f, "best_epoch");
    const char *acc = dd_st_metadata(f, "best_test_acc"), *loss = dd_st_metadata(f, "best_test_loss");
    const char *rng = dd_st_metadata(f, "rng"), *step = dd_st_metadata(f, "optimizer_step");
    if (!version || strcmp(version, CHECKPOINT_VERSION) || !epochs || !best_epoch || !acc || !loss || !rng || !step) {
        bad(err, path, "training state missing from its metadata");
        goto done;
    }
    dd_train_opts saved = *opts;
    if (read_opts(dd_st_metadata(f, "train_opts"), &saved)) {
        bad(err, path, "training options missing or malformed");
        goto done;
    }
    if (!(m = dd_model_from(f, path, err))) goto done;
    const dd_st_tensor *tm = dd_st_find(f, "optimizer.m"), *tv = dd_st_find(f, "optimizer.v");
    size_t bytes = m->spec->n_params * sizeof(float);
    if (!tm || tm->dtype != DD_ST_F32 || tm->nbytes != bytes ||
        (saved.optimizer == DD_OPT_ADAM && (!tv || tv->dtype != DD_ST_F32 || tv->nbytes != bytes))) {
        bad(err, path, "optimizer state missing or of the wrong size");
        goto done;
    }
    if (dd_optimizer_init(o, saved.optimizer, m->spec->n_params, err)) goto done;
    o->momentum = saved.momentum;
    o->weight_decay = saved.weight_decay;
    memcpy(o->m, tm->data, bytes);
    if (o->v) memcpy(o->v, tv->data, bytes);
    o->step = strtoull(step, NULL, 10);
    memset(p, 0, sizeof *p);
    p->epochs_done = atoi(epochs);
    p->best_epoch = atoi(best_epoch);
    p->best_test_acc = strtof(acc, NULL);
    p->best_test_loss = strtof(loss, NULL);
    if (strlen(rng) != 64 || sscanf(rng, "%16" SCNx64 "%16" SCNx64 "%16" SCNx64 "%16" SCNx64, &p->rng.s[0], &p->rng.s[1],
                                    &p->rng.s[2], &p->rng.s[3]) != 4) {
        dd_optimizer_free(o);
        bad(err, path, "RNG state malformed");
        goto done;
    }
    saved.epochs = opts->epochs; /* the I/O settings and a longer run stay as asked */
    *opts = saved;
    *out = m;
    m = NULL;
    rc = 0;
done:
    dd_model_free(m);
    dd_st_close(f);
    return rc;
}
