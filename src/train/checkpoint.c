/* checkpoint.safetensors writing and reading (see checkpoint.h). Numbers in the metadata are written with enough
 * digits to read back bit for bit ("%.9g" for floats, hex for the RNG). */
#include "train/checkpoint.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doodle/alloc.h"

#define CHECKPOINT_VERSION "1"

static char *opts_json(const dd_train_opts *o) {
    cJSON *j = cJSON_CreateObject();
    char lr[32], wd[32], mom[32], warm[32], min_lr[32], seed[32], val[32], spe[32], max_steps[32];
    char rot[32], scale_min[32], shift[32], smooth[32], mixup[32], ema[32];
    snprintf(rot, sizeof rot, "%.9g", o->aug_rotation);
    snprintf(scale_min, sizeof scale_min, "%.9g", o->aug_scale_min);
    snprintf(shift, sizeof shift, "%.9g", o->aug_shift);
    snprintf(smooth, sizeof smooth, "%.9g", o->label_smoothing);
    snprintf(mixup, sizeof mixup, "%.9g", o->mixup);
    snprintf(ema, sizeof ema, "%.9g", o->ema);
    snprintf(lr, sizeof lr, "%.9g", o->lr);
    snprintf(wd, sizeof wd, "%.9g", o->weight_decay);
    snprintf(mom, sizeof mom, "%.9g", o->momentum);
    snprintf(warm, sizeof warm, "%.9g", o->warmup_epochs);
    snprintf(min_lr, sizeof min_lr, "%.9g", o->min_lr);
    snprintf(seed, sizeof seed, "%" PRIu64, o->seed);
    snprintf(val, sizeof val, "%.17g", o->val_frac);
    snprintf(spe, sizeof spe, "%" PRIu64, o->steps_per_epoch);
    snprintf(max_steps, sizeof max_steps, "%" PRIu64, o->max_steps);
    int ok = j && cJSON_AddNumberToObject(j, "batch", o->batch) &&
             cJSON_AddNumberToObject(j, "optimizer", o->optimizer) && cJSON_AddStringToObject(j, "lr", lr) &&
             cJSON_AddStringToObject(j, "weight_decay", wd) && cJSON_AddStringToObject(j, "momentum", mom) &&
             cJSON_AddNumberToObject(j, "schedule", o->schedule) && cJSON_AddStringToObject(j, "warmup_epochs", warm) &&
             cJSON_AddStringToObject(j, "min_lr", min_lr) && cJSON_AddBoolToObject(j, "augment", o->augment) &&
             cJSON_AddStringToObject(j, "seed", seed) && cJSON_AddNumberToObject(j, "patience", o->patience) &&
             cJSON_AddStringToObject(j, "val_frac", val) && cJSON_AddStringToObject(j, "steps_per_epoch", spe) &&
             cJSON_AddStringToObject(j, "max_steps", max_steps) && cJSON_AddNumberToObject(j, "threads", o->threads) &&
             cJSON_AddStringToObject(j, "aug_rotation", rot) &&
             cJSON_AddStringToObject(j, "aug_scale_min", scale_min) && cJSON_AddStringToObject(j, "aug_shift", shift) &&
             cJSON_AddStringToObject(j, "label_smoothing", smooth) && cJSON_AddStringToObject(j, "mixup", mixup) &&
             cJSON_AddStringToObject(j, "ema", ema) && cJSON_AddBoolToObject(j, "warp_bitmaps", o->warp_bitmaps);
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
    char version[8], epochs[16], best_epoch[16], acc[32], loss[32], rng[80], step[32], steps_done[32];
    snprintf(version, sizeof version, "%s", CHECKPOINT_VERSION);
    snprintf(epochs, sizeof epochs, "%d", p->epochs_done);
    snprintf(best_epoch, sizeof best_epoch, "%d", p->best_epoch);
    snprintf(acc, sizeof acc, "%.9g", p->best_test_acc);
    snprintf(loss, sizeof loss, "%.9g", p->best_test_loss);
    snprintf(rng, sizeof rng, "%016" PRIx64 "%016" PRIx64 "%016" PRIx64 "%016" PRIx64, p->rng.s[0], p->rng.s[1],
             p->rng.s[2], p->rng.s[3]);
    snprintf(step, sizeof step, "%" PRIu64, o->step);
    snprintf(steps_done, sizeof steps_done, "%" PRIu64, p->steps_done);
    char partial[96];
    bool inside = p->part_seen > 0; /* written inside an epoch: its sums so far */
    snprintf(partial, sizeof partial, "%.17g %" PRIu64 " %" PRIu64, p->part_loss, p->part_correct, p->part_seen);
    if (!json) {
        dd_fail(err, DD_ERR_NOMEM, "out of memory");
        goto done;
    }
    if (dd_model_add_to(m, w, err) || dd_st_writer_add(w, "optimizer.m", DD_ST_F32, 1, &n, o->m, err) ||
        (p->ema && dd_st_writer_add(w, "ema", DD_ST_F32, 1, &n, p->ema, err)) ||
        (o->v && dd_st_writer_add(w, "optimizer.v", DD_ST_F32, 1, &n, o->v, err)) ||
        dd_st_writer_metadata(w, "checkpoint_version", version, err) ||
        dd_st_writer_metadata(w, "epochs_done", epochs, err) ||
        dd_st_writer_metadata(w, "best_epoch", best_epoch, err) ||
        dd_st_writer_metadata(w, "best_test_acc", acc, err) || dd_st_writer_metadata(w, "best_test_loss", loss, err) ||
        dd_st_writer_metadata(w, "rng", rng, err) || dd_st_writer_metadata(w, "optimizer_step", step, err) ||
        dd_st_writer_metadata(w, "steps_done", steps_done, err) || dd_st_writer_metadata(w, "train_opts", json, err) ||
        (inside && dd_st_writer_metadata(w, "epoch_partial", partial, err)))
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

/* Strict numbers: the whole text, no leading blanks, no trailing junk. Range checks come after. */
static int parse_float(const char *s, float *out) {
    if (!s || !*s || isspace((unsigned char)*s)) return -1;
    char *end;
    float v = strtof(s, &end); /* ERANGE is not checked: an infinity fails the range checks, a tiny value is one */
    if (*end) return -1;
    *out = v;
    return 0;
}

static int parse_double(const char *s, double *out) {
    if (!s || !*s || isspace((unsigned char)*s)) return -1;
    char *end;
    double v = strtod(s, &end);
    if (*end) return -1;
    *out = v;
    return 0;
}

static int parse_u64(const char *s, uint64_t *out) {
    if (!s || *s < '0' || *s > '9') return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end) return -1;
    *out = v;
    return 0;
}

static int parse_hex64(const char *s, uint64_t *out) {
    uint64_t v = 0;
    for (int i = 0; i < 16; i++) {
        char c = s[i];
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d < 0) return -1;
        v = v << 4 | (uint64_t)d;
    }
    *out = v;
    return 0;
}

static int bad_field(dd_error *err, const char *path, const char *where, const char *key, const char *value) {
    if (!value)
        return dd_fail(err, DD_ERR_MALFORMED, "%s: not a usable checkpoint: %s '%s' is missing or of the wrong type",
                       path, where, key);
    return dd_fail(err, DD_ERR_MALFORMED, "%s: not a usable checkpoint: %s '%s' is '%.40s', not a number", path, where,
                   key, value);
}

static int opt_float(const cJSON *j, const char *key, float *out, const char *path, dd_error *err) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    const char *s = cJSON_IsString(v) ? v->valuestring : NULL;
    return !s || parse_float(s, out) ? bad_field(err, path, "option", key, s) : 0;
}

static int opt_int(const cJSON *j, const char *key, int *out, const char *path, dd_error *err) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) || fabs(v->valuedouble) > 1e9)
        return dd_fail(err, DD_ERR_MALFORMED,
                       "%s: not a usable checkpoint: option '%s' is missing or not a whole number", path, key);
    *out = (int)v->valuedouble;
    return 0;
}

/* The stored options into o, each parsed strictly; their values are checked afterwards as the command line's are. */
static int read_opts(const char *text, dd_train_opts *o, const char *path, dd_error *err) {
    cJSON *j = text ? cJSON_Parse(text) : NULL;
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        return bad(err, path, "training options missing or not a JSON object");
    }
    const cJSON *aug = cJSON_GetObjectItemCaseSensitive(j, "augment");
    const cJSON *seed = cJSON_GetObjectItemCaseSensitive(j, "seed");
    int opt = 0, sched = 0, rc = -1;
    if (opt_int(j, "batch", &o->batch, path, err) || opt_int(j, "optimizer", &opt, path, err) ||
        opt_float(j, "lr", &o->lr, path, err) || opt_float(j, "weight_decay", &o->weight_decay, path, err) ||
        opt_float(j, "momentum", &o->momentum, path, err) || opt_int(j, "schedule", &sched, path, err) ||
        opt_float(j, "warmup_epochs", &o->warmup_epochs, path, err) || opt_float(j, "min_lr", &o->min_lr, path, err) ||
        opt_int(j, "patience", &o->patience, path, err))
        goto done;
    if (!cJSON_IsBool(aug)) {
        bad_field(err, path, "option", "augment", NULL);
        goto done;
    }
    if (!cJSON_IsString(seed) || parse_u64(seed->valuestring, &o->seed)) {
        bad_field(err, path, "option", "seed", cJSON_IsString(seed) ? seed->valuestring : NULL);
        goto done;
    }
    /* added with the validation split and --steps-per-epoch: a checkpoint from before has none and ran without */
    o->val_frac = 0;
    o->steps_per_epoch = o->max_steps = 0;
    const cJSON *val = cJSON_GetObjectItemCaseSensitive(j, "val_frac");
    const cJSON *spe = cJSON_GetObjectItemCaseSensitive(j, "steps_per_epoch");
    const cJSON *max_steps = cJSON_GetObjectItemCaseSensitive(j, "max_steps");
    if (val && (!cJSON_IsString(val) || parse_double(val->valuestring, &o->val_frac))) {
        bad_field(err, path, "option", "val_frac", cJSON_IsString(val) ? val->valuestring : NULL);
        goto done;
    }
    if (spe && (!cJSON_IsString(spe) || parse_u64(spe->valuestring, &o->steps_per_epoch))) {
        bad_field(err, path, "option", "steps_per_epoch", cJSON_IsString(spe) ? spe->valuestring : NULL);
        goto done;
    }
    if (max_steps && (!cJSON_IsString(max_steps) || parse_u64(max_steps->valuestring, &o->max_steps))) {
        bad_field(err, path, "option", "max_steps", cJSON_IsString(max_steps) ? max_steps->valuestring : NULL);
        goto done;
    }
    /* added with the recipe options (issue 14): a checkpoint from before ran with these values */
    o->aug_rotation = 10;
    o->aug_scale_min = 0.9f;
    o->aug_shift = 0.05f;
    o->label_smoothing = o->mixup = o->ema = 0;
    o->warp_bitmaps = false;
    const cJSON *warp = cJSON_GetObjectItemCaseSensitive(j, "warp_bitmaps");
    if (warp && !cJSON_IsBool(warp)) {
        bad_field(err, path, "option", "warp_bitmaps", NULL);
        goto done;
    }
    o->warp_bitmaps = cJSON_IsTrue(warp);
    static const char *const recipe_keys[] = {"aug_rotation",    "aug_scale_min", "aug_shift",
                                              "label_smoothing", "mixup",         "ema"};
    float *recipe_vals[] = {&o->aug_rotation,    &o->aug_scale_min, &o->aug_shift,
                            &o->label_smoothing, &o->mixup,         &o->ema};
    for (int k = 0; k < 6; k++)
        if (cJSON_GetObjectItemCaseSensitive(j, recipe_keys[k]) &&
            opt_float(j, recipe_keys[k], recipe_vals[k], path, err))
            goto done;
    /* the run's thread count (kept since it decides the bits): used when the resume does not give one */
    const cJSON *threads = cJSON_GetObjectItemCaseSensitive(j, "threads");
    if (threads && opt_int(j, "threads", &o->threads, path, err)) goto done;
    o->optimizer = (dd_opt_kind)opt;
    o->schedule = (dd_schedule_kind)sched;
    o->augment = cJSON_IsTrue(aug);
    rc = 0;
done:
    cJSON_Delete(j);
    return rc;
}

/* epochs done, the best epoch so far with its score, the optimizer's step and the dropout RNG; checked. */
static int read_progress(const dd_st_file *f, train_progress *p, uint64_t *step, const char *path, dd_error *err) {
    static const char *const keys[] = {"epochs_done", "best_epoch", "best_test_acc", "best_test_loss",
                                       "optimizer_step"};
    const char *v[5];
    for (int i = 0; i < 5; i++)
        if (!(v[i] = dd_st_metadata(f, keys[i]))) return bad_field(err, path, "field", keys[i], NULL);
    uint64_t done, best;
    memset(p, 0, sizeof *p);
    if (parse_u64(v[0], &done)) return bad_field(err, path, "field", keys[0], v[0]);
    if (parse_u64(v[1], &best)) return bad_field(err, path, "field", keys[1], v[1]);
    if (parse_float(v[2], &p->best_test_acc)) return bad_field(err, path, "field", keys[2], v[2]);
    if (parse_float(v[3], &p->best_test_loss)) return bad_field(err, path, "field", keys[3], v[3]);
    if (parse_u64(v[4], step)) return bad_field(err, path, "field", keys[4], v[4]);
    /* the epoch's partial sums: only a checkpoint written inside an epoch (an interruption) has them */
    const char *part = dd_st_metadata(f, "epoch_partial");
    if (part) {
        int end = -1;
        unsigned long long correct, seen;
        if (sscanf(part, "%lf %llu %llu%n", &p->part_loss, &correct, &seen, &end) != 3 || end < 0 || part[end] ||
            !isfinite(p->part_loss) || p->part_loss < 0 || correct > seen)
            return bad_field(err, path, "field", "epoch_partial", part);
        p->part_correct = correct;
        p->part_seen = seen;
    }
    /* a checkpoint is written at the end of an epoch, where the first epoch is always the best so far, or inside
     * one when training was interrupted (then possibly before the first epoch ended) */
    uint64_t least = part ? 0 : 1;
    if (done < least || done > 100000)
        return dd_fail(err, DD_ERR_MALFORMED,
                       "%s: not a usable checkpoint: field 'epochs_done' is %s: it must be %llu..100000", path, v[0],
                       (unsigned long long)least);
    if ((best < 1 && !(part && done == 0 && best == 0)) || best > done)
        return dd_fail(err, DD_ERR_MALFORMED,
                       "%s: not a usable checkpoint: field 'best_epoch' is %s: it must be 1..%llu (the epochs done)",
                       path, v[1], (unsigned long long)done);
    /* NaN: a set whose test split came out empty */
    if (!isnan(p->best_test_acc) && !(p->best_test_acc >= 0 && p->best_test_acc <= 1))
        return dd_fail(err, DD_ERR_MALFORMED,
                       "%s: not a usable checkpoint: field 'best_test_acc' is %s: it must be in [0, 1]", path, v[2]);
    p->epochs_done = (int)done;
    p->best_epoch = (int)best;
    const char *steps = dd_st_metadata(f, "steps_done"); /* absent before --steps-per-epoch: whole passes */
    p->steps_done = STEPS_UNKNOWN;
    if (steps && (parse_u64(steps, &p->steps_done) || p->steps_done == STEPS_UNKNOWN))
        return bad_field(err, path, "field", "steps_done", steps);
    const char *rng = dd_st_metadata(f, "rng");
    if (!rng) return bad_field(err, path, "field", "rng", NULL);
    if (strlen(rng) != 64 || parse_hex64(rng, &p->rng.s[0]) || parse_hex64(rng + 16, &p->rng.s[1]) ||
        parse_hex64(rng + 32, &p->rng.s[2]) || parse_hex64(rng + 48, &p->rng.s[3]))
        return dd_fail(err, DD_ERR_MALFORMED, "%s: not a usable checkpoint: field 'rng' is not 64 hex digits", path);
    if (!(p->rng.s[0] | p->rng.s[1] | p->rng.s[2] | p->rng.s[3])) /* xoshiro stays at zero for ever */
        return dd_fail(err, DD_ERR_MALFORMED, "%s: not a usable checkpoint: field 'rng' is all zero (no random stream)",
                       path);
    return 0;
}

int checkpoint_load(const char *path, dd_model **out, dd_optimizer *o, train_progress *p, dd_train_opts *opts,
                    dd_error *err) {
    dd_st_file *f = dd_st_open(path, err);
    if (!f) return -1;
    int rc = -1;
    dd_model *m = NULL;
    const char *version = dd_st_metadata(f, "checkpoint_version");
    if (!version || strcmp(version, CHECKPOINT_VERSION)) {
        bad(err, path, "no checkpoint_version " CHECKPOINT_VERSION " in its metadata");
        goto done;
    }
    /* the stored options pass the command line's checks (train_opts_check), or the run stops here */
    dd_train_opts saved = *opts;
    train_progress prog;
    uint64_t step = 0;
    if (read_opts(dd_st_metadata(f, "train_opts"), &saved, path, err) || read_progress(f, &prog, &step, path, err))
        goto done;
    if (train_opts_check(&saved, true, err)) {
        dd_error_prefix(err, "%s: not a usable checkpoint", path);
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
    o->step = step;
    if (saved.ema > 0) { /* the weights' moving average goes on from the stored one */
        const dd_st_tensor *te = dd_st_find(f, "ema");
        if (!te || te->dtype != DD_ST_F32 || te->nbytes != bytes) {
            bad(err, path, "the weights' moving average (option 'ema') missing or of the wrong size");
            dd_optimizer_free(o);
            goto done;
        }
        if (!(prog.ema = dd_malloc(m->spec->n_params, sizeof *prog.ema, err))) {
            dd_optimizer_free(o);
            goto done;
        }
        memcpy(prog.ema, te->data, bytes);
    }
    *p = prog;
    saved.epochs = opts->epochs; /* the I/O settings and a longer (or capped) run stay as asked */
    saved.max_steps = opts->max_steps;
    if (opts->threads) saved.threads = opts->threads; /* given: as asked (another count gives other bits) */
    *opts = saved;
    *out = m;
    m = NULL;
    rc = 0;
done:
    dd_model_free(m);
    dd_st_close(f);
    return rc;
}
