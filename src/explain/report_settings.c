/* The run's settings for the report and the comparison page (src/explain/report_internal.h): the training options
 * checkpoint.safetensors stores (src/train/checkpoint.c writes them as JSON in its metadata), the data set
 * RUNDIR/dataset.txt names with a hash of it, and the model's name. */
#define _POSIX_C_SOURCE 200809L /* fileno */
#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "doodle/optim.h"
#include "doodle/safetensors.h"
#include "explain/report_internal.h"
#include "viz/report_html.h"

#define HASH_WHOLE_MAX (64u << 20) /* larger sets: the first and last MiB and the size (a whole hash would be slow) */
#define HASH_PART (1u << 20)

static const char *const NAMES[SET_COUNT] = {
    [SET_MODEL] = "model",
    [SET_INPUT] = "input",
    [SET_OPTIMIZER] = "optimizer",
    [SET_LR] = "learning rate",
    [SET_SCHEDULE] = "schedule",
    [SET_WARMUP] = "warm-up",
    [SET_WEIGHT_DECAY] = "weight decay",
    [SET_BATCH] = "batch",
    [SET_EPOCHS] = "epochs",
    [SET_PATIENCE] = "early stopping",
    [SET_STEPS] = "steps per epoch",
    [SET_AUGMENT] = "augmentation",
    [SET_VAL_FRAC] = "validation fraction",
    [SET_SEED] = "seed",
    [SET_THREADS] = "threads",
    [SET_DATA] = "data set",
    [SET_DATA_HASH] = "data set hash",
    [SET_VERSION] = "doodle",
};

const char *report_setting_name(report_setting_key k) { return NAMES[k]; }

#define SET(s, k, ...) snprintf((s)->value[k], sizeof(s)->value[k], __VA_ARGS__)

/* FNV-1a 64 over n bytes. */
static uint64_t fnv1a(uint64_t h, const unsigned char *p, size_t n) {
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

static int hash_range(FILE *f, long long from, long long n, uint64_t *h, unsigned char *buf) {
    if (fseeko(f, (off_t)from, SEEK_SET) != 0) return -1;
    while (n > 0) {
        size_t want = n < HASH_PART ? (size_t)n : HASH_PART, got = fread(buf, 1, want, f);
        if (got != want) return -1;
        *h = fnv1a(*h, buf, got);
        n -= (long long)got;
    }
    return 0;
}

/* The data set's FNV-1a 64: of the whole file up to 64 MiB, else of its first and last MiB (the header, class
 * names and statistics; the index of record offsets) and its size. *how says which. Returns 0, -1 when the file
 * cannot be read (errno says why) or -2 when out of memory (err set). */
static int hash_file(const char *path, char *hex, size_t size, const char **how, dd_error *err) {
    unsigned char *buf = malloc(HASH_PART);
    if (!buf) {
        dd_fail(err, DD_ERR_NOMEM, "out of memory");
        return -2;
    }
    FILE *f = fopen(path, "rb");
    if (!f) {
        free(buf);
        return -1;
    }
    struct stat st;
    int rc = -1;
    if (fstat(fileno(f), &st) != 0) goto done;
    uint64_t h = 0xcbf29ce484222325ull;
    long long n = (long long)st.st_size;
    if (n <= (long long)HASH_WHOLE_MAX) {
        *how = "of the whole file";
        if (hash_range(f, 0, n, &h, buf)) goto done;
    } else {
        *how = "of its first and last MiB and its size";
        unsigned char le[8];
        for (int i = 0; i < 8; i++) le[i] = (unsigned char)((uint64_t)n >> (8 * i));
        if (hash_range(f, 0, HASH_PART, &h, buf) || hash_range(f, n - HASH_PART, HASH_PART, &h, buf)) goto done;
        h = fnv1a(h, le, 8);
    }
    snprintf(hex, size, "%016" PRIx64, h);
    rc = 0;
done:
    free(buf);
    fclose(f);
    return rc;
}

/* A stored number ("%.9g" text) shown short: 0.00100000005 -> 0.001. */
static const char *num(const cJSON *j, const char *key, char *buf, size_t size) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    if (cJSON_IsString(v)) {
        char *end;
        double d = strtod(v->valuestring, &end);
        if (end != v->valuestring && !*end)
            snprintf(buf, size, "%g", (double)(float)d);
        else
            snprintf(buf, size, "%.40s", v->valuestring);
    } else if (cJSON_IsNumber(v)) {
        snprintf(buf, size, "%g", v->valuedouble);
    } else {
        return NULL;
    }
    return buf;
}

static int get_int(const cJSON *j, const char *key, int fallback) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    return cJSON_IsNumber(v) ? v->valueint : fallback;
}

/* The rows the training options give. */
static void from_options(report_settings *s, const cJSON *j) {
    char a[48], b[48];
    int opt = get_int(j, "optimizer", -1), sched = get_int(j, "schedule", -1);
    if (opt == DD_OPT_SGD)
        SET(s, SET_OPTIMIZER, "SGD, momentum %s", num(j, "momentum", a, sizeof a) ? a : "?");
    else if (opt == DD_OPT_ADAM)
        SET(s, SET_OPTIMIZER, "Adam");
    else if (opt >= 0)
        SET(s, SET_OPTIMIZER, "optimizer %d", opt);
    if (num(j, "lr", a, sizeof a)) SET(s, SET_LR, "%s", a);
    if (sched == DD_SCHEDULE_CONSTANT)
        SET(s, SET_SCHEDULE, "constant");
    else if (sched == DD_SCHEDULE_STEP)
        SET(s, SET_SCHEDULE, "step decay");
    else if (sched == DD_SCHEDULE_COSINE)
        SET(s, SET_SCHEDULE, "cosine to %s", num(j, "min_lr", b, sizeof b) ? b : "?");
    else if (sched >= 0)
        SET(s, SET_SCHEDULE, "schedule %d", sched);
    if (num(j, "warmup_epochs", a, sizeof a)) SET(s, SET_WARMUP, strcmp(a, "0") ? "%s epochs" : "none", a);
    if (num(j, "weight_decay", a, sizeof a)) SET(s, SET_WEIGHT_DECAY, "%s", strcmp(a, "0") ? a : "none");
    if (num(j, "batch", a, sizeof a)) SET(s, SET_BATCH, "%s", a);
    if (num(j, "patience", a, sizeof a))
        SET(s, SET_PATIENCE, strcmp(a, "0") ? "after %s epochs without a better validation accuracy" : "off", a);
    if (num(j, "steps_per_epoch", a, sizeof a)) {
        const char *max = num(j, "max_steps", b, sizeof b);
        SET(s, SET_STEPS, "%s%s%s", strcmp(a, "0") ? a : "a whole pass",
            max && strcmp(max, "0") ? ", at most steps in all: " : "", max && strcmp(max, "0") ? max : "");
    } else {
        SET(s, SET_STEPS, "a whole pass");
    }
    /* the recipe's options against overfitting (runs since issue 14 store them) ride the rows they belong with:
     * label smoothing with the weight decay (the other regularisation of the loss), the EMA with the optimizer */
    if (num(j, "label_smoothing", a, sizeof a) && strcmp(a, "0") && s->value[SET_WEIGHT_DECAY][0]) {
        size_t at = strlen(s->value[SET_WEIGHT_DECAY]);
        snprintf(s->value[SET_WEIGHT_DECAY] + at, sizeof s->value[SET_WEIGHT_DECAY] - at, "; label smoothing %s", a);
    }
    if (num(j, "ema", a, sizeof a) && strcmp(a, "0") && s->value[SET_OPTIMIZER][0]) {
        size_t at = strlen(s->value[SET_OPTIMIZER]);
        snprintf(s->value[SET_OPTIMIZER] + at, sizeof s->value[SET_OPTIMIZER] - at,
                 "; validated, tested and saved: the weights' moving average, decay %s", a);
    }
    const cJSON *aug = cJSON_GetObjectItemCaseSensitive(j, "augment");
    if (cJSON_IsBool(aug)) { /* "on": the default strengths */
        char rot[48], scale[48], shift[48];
        if (cJSON_IsTrue(aug) && num(j, "aug_rotation", rot, sizeof rot) &&
            num(j, "aug_scale_min", scale, sizeof scale) && num(j, "aug_shift", shift, sizeof shift) &&
            (strcmp(rot, "10") || strcmp(scale, "0.9") || strcmp(shift, "0.05")))
            SET(s, SET_AUGMENT, "on: rotation up to %s degrees, scale %s to 1, shift up to %s of the box", rot, scale,
                shift);
        else
            SET(s, SET_AUGMENT, "%s", cJSON_IsTrue(aug) ? "on" : "off");
        char *row = s->value[SET_AUGMENT];
        size_t size = sizeof s->value[SET_AUGMENT];
        if (cJSON_IsTrue(aug) && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "warp_bitmaps")))
            snprintf(row + strlen(row), size - strlen(row), "; bitmaps turned and scaled too");
        if (num(j, "mixup", a, sizeof a) && strcmp(a, "0"))
            snprintf(row + strlen(row), size - strlen(row), "; mixup, alpha %s", a);
    }
    const cJSON *val = cJSON_GetObjectItemCaseSensitive(j, "val_frac");
    if (val && num(j, "val_frac", a, sizeof a))
        SET(s, SET_VAL_FRAC, "%s", strcmp(a, "0") ? a : "none (the last epoch kept)");
    else if (!val)
        SET(s, SET_VAL_FRAC, "none (a run from before the validation split: it chose on test)");
    const cJSON *seed = cJSON_GetObjectItemCaseSensitive(j, "seed");
    if (cJSON_IsString(seed)) SET(s, SET_SEED, "%.40s", seed->valuestring);
    if (num(j, "threads", a, sizeof a)) SET(s, SET_THREADS, "%s", a); /* stored by newer runs only */
}

/* Options, epochs and the version that trained it, from checkpoint.safetensors. */
static void from_checkpoint(const char *run_dir, report_settings *s) {
    char path[4200];
    snprintf(path, sizeof path, "%s/checkpoint.safetensors", run_dir);
    dd_error e = {0};
    dd_st_file *f = dd_st_open(path, &e);
    if (!f) {
        snprintf(s->note, sizeof s->note, "No training options: %.300s.", e.msg);
        return;
    }
    cJSON *j = cJSON_Parse(dd_st_metadata(f, "train_opts") ? dd_st_metadata(f, "train_opts") : "");
    if (cJSON_IsObject(j))
        from_options(s, j);
    else
        snprintf(s->note, sizeof s->note, "%.300s holds no readable training options.", path);
    cJSON_Delete(j);
    const char *done = dd_st_metadata(f, "epochs_done"), *best = dd_st_metadata(f, "best_epoch");
    if (done && best)
        SET(s, SET_EPOCHS, "%.20s run, the weights of epoch %.20s kept", done, best);
    else if (done)
        SET(s, SET_EPOCHS, "%.20s run", done);
    const char *version = dd_st_metadata(f, "doodle_version"); /* stored by newer runs only */
    if (version) SET(s, SET_VERSION, "%.60s (trained with)", version);
    dd_st_close(f);
}

/* The data set from RUNDIR/dataset.txt, and its hash. */
static int data_set(const char *run_dir, report_settings *s, dd_error *err) {
    char path[4200];
    snprintf(path, sizeof path, "%s/dataset.txt", run_dir);
    FILE *f = fopen(path, "r");
    if (!f) {
        SET(s, SET_DATA, "not recorded (no dataset.txt)");
        return 0;
    }
    int ok = fgets(s->data_path, sizeof s->data_path, f) != NULL;
    fclose(f);
    s->data_path[ok ? strcspn(s->data_path, "\r\n") : 0] = '\0';
    if (!s->data_path[0]) {
        SET(s, SET_DATA, "not recorded (dataset.txt is empty)");
        return 0;
    }
    SET(s, SET_DATA, "%.300s", s->data_path);
    const char *how = "";
    int rc = hash_file(s->data_path, s->data_hash, sizeof s->data_hash, &how, err);
    if (rc == -2) return -1;
    if (rc == 0)
        SET(s, SET_DATA_HASH, "FNV-1a 64 %s %s", s->data_hash, how);
    else
        SET(s, SET_DATA_HASH, "not hashed: %.200s", strerror(errno));
    return 0;
}

/* n with thousands separators, as the model summary writes it. */
static void grouped(size_t n, char *buf, size_t size) {
    char digits[32];
    int len = snprintf(digits, sizeof digits, "%zu", n);
    size_t at = 0;
    for (int i = 0; i < len && at + 2 < size; i++) {
        if (i > 0 && (len - i) % 3 == 0) buf[at++] = ',';
        buf[at++] = digits[i];
    }
    buf[at] = '\0';
}

int report_settings_read(const char *run_dir, const dd_model *m, const char *version, report_settings *s,
                         dd_error *err) {
    memset(s, 0, sizeof *s);
    const char *name = report_model_name(m);
    char params[40];
    grouped(m->spec->n_params, params, sizeof params);
    if (name)
        SET(s, SET_MODEL, "%s, %s trainable parameters", name, params);
    else
        SET(s, SET_MODEL, "a cfg of its own, %s trainable parameters", params);
    SET(s, SET_INPUT, "%ux%u, %d classes", m->render.height, m->render.width, m->spec->classes);
    from_checkpoint(run_dir, s);
    if (!s->value[SET_VERSION][0])
        SET(s, SET_VERSION, "%s (wrote this page; the run does not record its own)", version ? version : "not given");
    return data_set(run_dir, s, err);
}

void report_settings_table(FILE *f, const report_settings *s) {
    fputs("<table class=\"settings\"><tbody>\n", f);
    for (int k = 0; k < SET_COUNT; k++) {
        if (!s->value[k][0]) continue;
        fputs("<tr><th>", f);
        html_text(f, NAMES[k]);
        fputs("</th><td>", f);
        html_text(f, s->value[k]);
        fputs("</td></tr>\n", f);
    }
    fputs("</tbody></table>\n", f);
    if (s->note[0]) {
        fputs("<p class=\"note\">", f);
        html_text(f, s->note);
        fputs("</p>\n", f);
    }
}
