/* doodle tune's search (doodle/tune.h): a seeded random search with successive halving over `doodle train` runs,
 * each trial a child process on its own run folder, the folders themselves the search's state. */
#define _GNU_SOURCE /* prctl's PR_SET_PDEATHSIG, readlink */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "doodle/files.h"
#include "doodle/safetensors.h"
#include "doodle/train.h"
#include "doodle/tune.h"
#include "train/tune.h"
#include "doodle/alloc.h"
#include "viz/report_html.h"

typedef struct tuner {
    const char *data, *dir;
    int trials, threads;
    uint64_t seed;
    double budget_s;
    char *space_text;
    tune_space space;
    char (*values)[TUNE_PARAMS_MAX][TUNE_VALUE_MAX]; /* [trials] */
    int *epochs;                                     /* [trials] planned */
    char exe[PATH_MAX];
    FILE *log;
} tuner;

/* One search at a time: dd_tune_interrupt reaches it from a signal handler. */
static volatile sig_atomic_t interrupted;
static volatile pid_t child_pid;

/* A signal sent to tune alone is passed on, so that the trial in progress writes its checkpoint where it is. */
void dd_tune_interrupt(void) {
    interrupted = 1;
    if (child_pid > 0) kill(child_pid, SIGINT);
}

__attribute__((format(printf, 2, 3))) static void say(const tuner *t, const char *fmt, ...) {
    if (!t->log) return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(t->log, fmt, ap);
    va_end(ap);
}

/* A whole number in min..max, all of text (as the CLI reads numbers): an epochs_done or an epochs value. */
static int parse_count(const char *text, uint64_t min, uint64_t max, uint64_t *out) {
    if (!text || !*text || *text == '-') return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno || *end || v < min || v > max) return -1;
    *out = v;
    return 0;
}

static void trial_path(char *out, size_t size, const tuner *t, int trial, const char *name) {
    if (name)
        snprintf(out, size, "%s/trial-%03d/%s", t->dir, trial, name);
    else
        snprintf(out, size, "%s/trial-%03d", t->dir, trial);
}

static bool exists(const char *path) { return access(path, F_OK) == 0; }

/* Whole epochs in the trial's checkpoint (0 without one). */
static int epochs_done(const tuner *t, int trial, dd_error *err) {
    char path[PATH_MAX + 64];
    trial_path(path, sizeof path, t, trial, "checkpoint.safetensors");
    if (!exists(path)) return 0;
    dd_st_file *f = dd_st_open(path, err);
    if (!f) return -1;
    const char *v = dd_st_metadata(f, "epochs_done");
    uint64_t n = 0;
    int rc =
        v && parse_count(v, 0, 100000, &n) == 0 ? (int)n : dd_fail(err, DD_ERR_MALFORMED, "%s: no epochs_done", path);
    dd_st_close(f);
    return rc;
}

/* The trial's history; *n 0 when it has none yet. */
static int history_of(const tuner *t, int trial, report_epoch **rows, size_t *n, dd_error *err) {
    char path[PATH_MAX + 64];
    bool old;
    trial_path(path, sizeof path, t, trial, "history.csv");
    return report_read_history(path, rows, n, &old, err);
}

/* The best validation accuracy over epochs 1..upto (*epoch gets which; NaN and 0 without one), and the seconds of
 * all the history's epochs. */
static int best_val(const tuner *t, int trial, int upto, double *acc, int *epoch, double *seconds, dd_error *err) {
    report_epoch *rows = NULL;
    size_t n = 0;
    if (history_of(t, trial, &rows, &n, err)) return -1;
    *acc = NAN;
    *epoch = 0;
    if (seconds) *seconds = 0;
    for (size_t i = 0; i < n; i++) {
        if (seconds && !isnan(rows[i].seconds)) *seconds += rows[i].seconds;
        if (rows[i].epoch > upto || isnan(rows[i].val_acc)) continue;
        if (*epoch == 0 || rows[i].val_acc > *acc) *acc = rows[i].val_acc, *epoch = rows[i].epoch;
    }
    free(rows);
    return 0;
}

static bool failed(const tuner *t, int trial) {
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/trial-%03d.failed", t->dir, trial);
    return exists(path);
}

/* The flags that make trial `trial` (what the printed command gives too). */
static int trial_args(const tuner *t, int trial, const char **argv, int at) {
    for (int i = 0; i < t->space.n; i++) {
        if (!strcmp(t->space.p[i].name, "epochs")) continue; /* given once, by the caller */
        static char flags[TUNE_PARAMS_MAX][40];
        snprintf(flags[i], sizeof flags[i], "--%s", t->space.p[i].name);
        argv[at++] = flags[i];
        argv[at++] = t->values[trial][i];
    }
    return at;
}

/* Trains trial `trial` on to `target` of its planned epochs in a child `doodle train`. 0 done, 1 the trial failed
 * (its .failed file says why), 130 interrupted, -1 tune's own trouble. */
static int run_trial(tuner *t, int trial, int target, int done, dd_error *err) {
    char dir[PATH_MAX + 64], log[PATH_MAX + 64], epochs[16], stop[16], threads[16], seed[32];
    trial_path(dir, sizeof dir, t, trial, NULL);
    snprintf(log, sizeof log, "%s/trial-%03d.log", t->dir, trial);
    snprintf(epochs, sizeof epochs, "%d", t->epochs[trial]);
    snprintf(stop, sizeof stop, "%d", target);
    snprintf(threads, sizeof threads, "%d", t->threads);
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)t->seed);
    char checkpoint[PATH_MAX + 96];
    snprintf(checkpoint, sizeof checkpoint, "%s/checkpoint.safetensors", dir);
    bool resume = exists(checkpoint);
    const char *argv[2 * TUNE_PARAMS_MAX + 24];
    int a = 0;
    argv[a++] = t->exe;
    argv[a++] = "train";
    argv[a++] = "--data";
    argv[a++] = t->data;
    argv[a++] = "-o";
    argv[a++] = dir;
    argv[a++] = "--no-report";
    argv[a++] = "--threads";
    argv[a++] = threads;
    argv[a++] = "--epochs";
    argv[a++] = epochs;
    if (resume)
        argv[a++] = "--resume"; /* its options are the checkpoint's */
    else {
        argv[a++] = "--force"; /* a first epoch killed part-way leaves no checkpoint: start it again */
        argv[a++] = "--seed";
        argv[a++] = seed;
        a = trial_args(t, trial, argv, a);
    }
    if (target < t->epochs[trial]) {
        argv[a++] = "--stop-after";
        argv[a++] = stop;
    }
    argv[a] = NULL;
    say(t, "trial-%03d: epochs %d..%d of %d%s\n", trial, done + 1, target, t->epochs[trial],
        resume ? " (resumed)" : "");
    if (t->log) fflush(t->log); /* before the child writes to its log */
    pid_t pid = fork();
    if (pid < 0) return dd_fail(err, DD_ERR_IO, "cannot start doodle train: %s", strerror(errno));
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* tune killed: the trial too, so that a re-run finds it stopped */
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0 || dup2(fd, STDERR_FILENO) < 0) _exit(127);
        close(fd);
        execv(t->exe, (char *const *)argv);
        _exit(127);
    }
    child_pid = pid;
    if (interrupted) kill(pid, SIGINT);
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return dd_fail(err, DD_ERR_IO, "waiting for trial-%03d: %s", trial, strerror(errno));
    child_pid = 0;
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (code == 0 && !interrupted) return 0;
    if (code == 130 || interrupted || (WIFSIGNALED(status) && WTERMSIG(status) == SIGINT)) return 130;
    /* the trial itself failed (a diverging learning rate, say): marked, and not tried again */
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/trial-%03d.failed", t->dir, trial);
    dd_atomic_file af;
    if (dd_atomic_open(&af, path, err)) return -1;
    fprintf(af.f, "doodle train exited with %d: see %s\n", code, log);
    if (dd_atomic_commit(&af, err)) return -1;
    say(t, "trial-%03d failed (exit %d): see %s\n", trial, code, log);
    return 1;
}

/* The epochs trial `trial` reaches at rung k of K. */
static int rung_target(const tuner *t, int trial, int k, int K) {
    int e = t->epochs[trial];
    if (k == K) return e;
    int div = 1 << (K - k);
    int r = (e + div - 1) / div;
    return r < 1 ? 1 : r;
}

typedef struct ranked {
    int trial;
    double acc;
    bool finished;
} ranked;

/* better first: finished before not, higher accuracy (NaN last), then the lower trial number */
static int by_rank(const void *pa, const void *pb) {
    const ranked *a = pa, *b = pb;
    if (a->finished != b->finished) return a->finished ? -1 : 1;
    bool na = isnan(a->acc), nb = isnan(b->acc);
    if (na != nb) return na ? 1 : -1;
    if (!na && a->acc != b->acc) return a->acc > b->acc ? -1 : 1;
    return a->trial - b->trial;
}

static double spent_seconds(const tuner *t, dd_error *err) {
    double total = 0;
    for (int i = 0; i < t->trials; i++) {
        double acc, sec;
        int ep;
        if (best_val(t, i, INT_MAX, &acc, &ep, &sec, err)) return -1;
        total += sec;
    }
    return total;
}

/* Successive halving. 0 done (or the budget spent), 130 interrupted, -1 trouble. */
static int search(tuner *t, bool *budget_out, dd_error *err) {
    int K = 0;
    while ((2 << K) <= t->trials) K++;
    ranked *alive = dd_calloc((size_t)t->trials, sizeof *alive, err);
    if (!alive) return -1;
    int n_alive = t->trials, rc = 0;
    for (int i = 0; i < n_alive; i++) alive[i].trial = i;
    for (int k = 0; k <= K && rc == 0; k++) {
        for (int i = 0; i < n_alive && rc == 0; i++) {
            int trial = alive[i].trial, target = rung_target(t, trial, k, K);
            if (failed(t, trial)) continue;
            int done = epochs_done(t, trial, err);
            if (done < 0) rc = -1;
            char test[PATH_MAX + 64];
            trial_path(test, sizeof test, t, trial, "test.json");
            /* the last epoch done but no test.json yet (killed in between): --resume evaluates it */
            bool owes_test = done >= t->epochs[trial] && target == t->epochs[trial] && !exists(test);
            if (rc || (done >= target && !owes_test)) continue;
            double spent = spent_seconds(t, err);
            if (spent < 0)
                rc = -1;
            else if (spent >= t->budget_s) {
                *budget_out = true;
                break;
            } else {
                int r = run_trial(t, trial, target, done, err);
                if (r == 130 || r < 0) rc = r;
            }
        }
        if (rc || *budget_out) break;
        for (int i = 0; i < n_alive && rc == 0; i++) { /* rank on the rung's epochs only */
            int ep;
            alive[i].finished = false;
            if (best_val(t, alive[i].trial, rung_target(t, alive[i].trial, k, K), &alive[i].acc, &ep, NULL, err))
                rc = -1;
            if (failed(t, alive[i].trial)) alive[i].acc = NAN;
        }
        qsort(alive, (size_t)n_alive, sizeof *alive, by_rank);
        n_alive = (n_alive + 1) / 2;
    }
    free(alive);
    return rc;
}

/* The `doodle train` command that trains trial `trial` again, bit for bit. */
static void command_of(const tuner *t, int trial, char *out, size_t size) {
    const char *argv[2 * TUNE_PARAMS_MAX + 4];
    int n = trial_args(t, trial, argv, 0);
    int at = snprintf(out, size, "doodle train --data %s -o RUNDIR --seed %llu --threads %d --epochs %d", t->data,
                      (unsigned long long)t->seed, t->threads, t->epochs[trial]);
    for (int i = 0; i < n && at > 0 && (size_t)at < size; i++)
        at += snprintf(out + at, size - (size_t)at, " %s", argv[i]);
}

/* trials.csv (trial order) and summary.html (ranked); the best trial's command. */
static int summarise(tuner *t, dd_tune_result *out, dd_error *err) {
    tune_result *res = dd_calloc((size_t)t->trials, sizeof *res, err);
    ranked *rank = dd_calloc((size_t)t->trials, sizeof *rank, err);
    int *place = dd_calloc((size_t)t->trials, sizeof *place, err);
    int rc = res && rank && place ? 0 : -1;
    for (int i = 0; i < t->trials && rc == 0; i++) {
        tune_result *r = &res[i];
        r->trial = i;
        r->epochs = t->epochs[i];
        r->test_acc = NAN;
        memcpy(r->values, t->values[i], sizeof r->values);
        if ((r->epochs_done = epochs_done(t, i, err)) < 0 ||
            best_val(t, i, INT_MAX, &r->val_acc, &r->best_epoch, &r->seconds, err)) {
            rc = -1;
            break;
        }
        char path[PATH_MAX + 64];
        trial_path(path, sizeof path, t, i, "test.json");
        FILE *f = fopen(path, "r");
        if (f) {
            char buf[512];
            size_t got = fread(buf, 1, sizeof buf - 1, f);
            buf[got] = '\0';
            fclose(f);
            const char *acc = strstr(buf, "\"accuracy\": ");
            if (acc) r->test_acc = strtod(acc + 12, NULL);
        }
        bool finished = r->epochs_done >= r->epochs && f;
        r->status = failed(t, i) ? "failed" : finished ? "finished" : r->epochs_done > 0 ? "stopped" : "not run";
        rank[i] = (ranked){i, failed(t, i) ? NAN : r->val_acc, finished};
    }
    if (rc == 0) {
        qsort(rank, (size_t)t->trials, sizeof *rank, by_rank);
        for (int i = 0; i < t->trials; i++) place[rank[i].trial] = i + 1;
        char path[PATH_MAX + 64];
        snprintf(path, sizeof path, "%s/trials.csv", t->dir);
        dd_atomic_file a;
        rc = dd_atomic_open(&a, path, err);
        if (rc == 0) {
            fputs("trial,rank,status,epochs_done,epochs,best_epoch,val_acc,test_acc", a.f);
            for (int p = 0; p < t->space.n; p++) /* epochs has its column already */
                if (strcmp(t->space.p[p].name, "epochs")) fprintf(a.f, ",%s", t->space.p[p].name);
            fputs(",seconds\n", a.f);
            for (int i = 0; i < t->trials; i++) {
                const tune_result *r = &res[i];
                fprintf(a.f, "%d,%d,%s,%d,%d,%d,%.6f,%.6f", i, place[i], r->status, r->epochs_done, r->epochs,
                        r->best_epoch, r->val_acc, r->test_acc);
                for (int p = 0; p < t->space.n; p++)
                    if (strcmp(t->space.p[p].name, "epochs")) fprintf(a.f, ",%s", r->values[p]);
                fprintf(a.f, ",%.1f\n", r->seconds);
            }
            rc = dd_atomic_commit(&a, err);
        }
    }
    out->best_trial = -1;
    if (rc == 0) {
        tune_result *sorted = dd_calloc((size_t)t->trials, sizeof *sorted, err);
        if (!sorted) rc = -1;
        for (int i = 0; rc == 0 && i < t->trials; i++) sorted[i] = res[rank[i].trial];
        bool has_best = rc == 0 && t->trials > 0 && rank[0].finished;
        if (has_best) {
            const tune_result *b = &res[rank[0].trial];
            out->best_trial = rank[0].trial;
            out->best_val_acc = b->val_acc;
            out->best_epoch = b->best_epoch;
            out->best_epochs = b->epochs;
            command_of(t, rank[0].trial, out->best_command, sizeof out->best_command);
        }
        if (rc == 0) rc = tune_write_page(t->dir, &t->space, sorted, t->trials, has_best ? out->best_command : "", err);
        free(sorted);
    }
    free(res);
    free(rank);
    free(place);
    return rc;
}

/* TUNEDIR/tune.txt: what the search is (data, trials, seed, threads, space). A re-run must be the same search. */
static int check_state(const tuner *t, dd_error *err) {
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/tune.txt", t->dir);
    size_t need = strlen(t->data) + strlen(t->space_text) + 256;
    char *want = dd_malloc(need, 1, err);
    if (!want) return -1;
    snprintf(want, need, "data %s\ntrials %d\nseed %llu\nthreads %d\nspace:\n%s", t->data, t->trials,
             (unsigned long long)t->seed, t->threads, t->space_text);
    int rc = 0;
    FILE *f = fopen(path, "r");
    if (f) {
        char *have = dd_malloc(need + 1, 1, err);
        size_t got = have ? fread(have, 1, need, f) : 0;
        fclose(f);
        if (!have)
            rc = -1;
        else if (got != strlen(want) || memcmp(have, want, got))
            rc = dd_fail(err, DD_ERR_USAGE,
                         "%s holds another search (%s differs from this command's data, trials, seed, threads or "
                         "space): give its command to go on, or another -o",
                         t->dir, path);
        free(have);
    } else {
        dd_atomic_file a;
        rc = dd_atomic_open(&a, path, err);
        if (rc == 0) {
            fputs(want, a.f);
            rc = dd_atomic_commit(&a, err);
        }
    }
    free(want);
    return rc;
}

static int read_text(const char *path, char **out, dd_error *err) {
    FILE *f = fopen(path, "rb");
    if (!f) return dd_fail(err, DD_ERR_IO, "%s: %s", path, strerror(errno));
    char *buf = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    for (;;) {
        if (n + 4096 + 1 > cap) {
            cap = 2 * cap + 8192;
            if (cap > (1u << 20)) {
                rc = dd_fail(err, DD_ERR_MALFORMED, "%s: larger than 1 MB: not a search space", path);
                break;
            }
            char *b = realloc(buf, cap);
            if (!b) {
                rc = dd_fail(err, DD_ERR_NOMEM, "out of memory");
                break;
            }
            buf = b;
        }
        size_t got = fread(buf + n, 1, 4096, f);
        n += got;
        if (got < 4096) break;
    }
    if (rc == 0 && ferror(f)) rc = dd_fail(err, DD_ERR_IO, "%s: %s", path, strerror(errno));
    fclose(f);
    if (rc) {
        free(buf);
        return -1;
    }
    buf[n] = '\0';
    *out = buf;
    return 0;
}

static void tuner_free(tuner *t) {
    tune_space_free(&t->space);
    free(t->space_text);
    free(t->values);
    free(t->epochs);
}

static int check_opts(const dd_tune_opts *o, dd_error *err) {
    if (!o->data_path) return dd_fail(err, DD_ERR_USAGE, "no data: give the .dset");
    if (!o->dir) return dd_fail(err, DD_ERR_USAGE, "no folder for the search");
    if (o->trials < 1 || o->trials > 999) return dd_fail(err, DD_ERR_USAGE, "trials: %d, expected 1 to 999", o->trials);
    if (!(o->budget_seconds > 0))
        return dd_fail(err, DD_ERR_USAGE, "budget: %g s, expected more than 0", o->budget_seconds);
    if (o->threads < 1 || o->threads > 256)
        return dd_fail(err, DD_ERR_USAGE, "threads: %d, expected 1 to 256", o->threads);
    return 0;
}

/* Every trial's values, and its planned epochs (the space's, or doodle train's default). */
static int plan_trials(tuner *t, dd_error *err) {
    if (!(t->values = dd_calloc((size_t)t->trials, sizeof *t->values, err)) ||
        !(t->epochs = dd_calloc((size_t)t->trials, sizeof *t->epochs, err)))
        return -1;
    for (int i = 0; i < t->trials; i++) {
        tune_sample(&t->space, t->seed, i, t->values[i]);
        t->epochs[i] = dd_train_defaults().epochs;
        for (int p = 0; p < t->space.n; p++) {
            uint64_t u;
            if (!strcmp(t->space.p[p].name, "epochs") &&
                (parse_count(t->values[i][p], 1, 100000, &u) || (t->epochs[i] = (int)u, 0)))
                return dd_fail(err, DD_ERR_USAGE, "the space's epochs gave '%s': not a whole number 1..100000",
                               t->values[i][p]);
        }
    }
    return 0;
}

static int tune(tuner *t, const dd_tune_opts *o, dd_tune_result *r, dd_error *err) {
    if (o->doodle_path) {
        if (strlen(o->doodle_path) >= sizeof t->exe)
            return dd_fail(err, DD_ERR_USAGE, "the doodle program's path is longer than %zu bytes", sizeof t->exe - 1);
        snprintf(t->exe, sizeof t->exe, "%s", o->doodle_path);
    } else {
        ssize_t len = readlink("/proc/self/exe", t->exe, sizeof t->exe - 1);
        if (len <= 0)
            return dd_fail(err, DD_ERR_IO, "cannot find its own binary (/proc/self/exe): %s", strerror(errno));
        t->exe[len] = '\0';
    }
    const char *space_path = o->space_path;
    if (space_path ? read_text(space_path, &t->space_text, err)
                   : !(t->space_text = dd_strdup(dd_tune_default_space, err)))
        return -1;
    if (tune_space_parse(t->space_text, space_path ? space_path : "the default space", &t->space, err)) return -1;
    if (plan_trials(t, err)) return -1;
    if (mkdir(t->dir, 0755) != 0 && errno != EEXIST)
        return dd_fail(err, DD_ERR_IO, "%s: cannot create it: %s", t->dir, strerror(errno));
    if (check_state(t, err)) return -1;
    int s = search(t, &r->budget_spent, err);
    if (s < 0 || summarise(t, r, err)) return -1;
    r->interrupted = s == 130;
    return 0;
}

int dd_tune_run(const dd_tune_opts *o, dd_tune_result *r, dd_error *err) {
    memset(r, 0, sizeof *r);
    r->best_trial = -1;
    if (check_opts(o, err)) return -1;
    tuner t = {.data = o->data_path,
               .dir = o->dir,
               .trials = o->trials,
               .threads = o->threads,
               .seed = o->seed,
               .budget_s = o->budget_seconds,
               .log = o->log};
    int rc = tune(&t, o, r, err);
    tuner_free(&t);
    interrupted = 0; /* the next search starts afresh */
    return rc;
}
