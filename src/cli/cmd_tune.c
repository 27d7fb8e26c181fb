/* doodle tune: a seeded random search with successive halving over `doodle train` runs (src/train/tune.h).
 *
 * N trials are drawn from the space (trial t from a stream of the seed and t alone). Each is a normal run folder,
 * TUNEDIR/trial-NNN, trained by a child `doodle train` (one at a time, with every core), planned for its full
 * epochs E so that the learning-rate schedule is the one of a run straight through. With K = floor(log2 N) halvings,
 * rung k trains its trials to ceil(E / 2^(K - k)) epochs (`--stop-after`), ranks them by their best validation
 * accuracy so far and keeps the better half for the next rung, which goes on from their checkpoints (`--resume`,
 * the same bits as an uninterrupted run); the last rung trains the survivors to E. The state is the run folders
 * themselves: re-running the same command after Ctrl-C or a kill goes on where it stopped, and finished work is
 * never redone. */
#define _GNU_SOURCE /* prctl's PR_SET_PDEATHSIG, readlink */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/cli.h"
#include "doodle/alloc.h"
#include "doodle/cpus.h"
#include "doodle/files.h"
#include "doodle/safetensors.h"
#include "doodle/train.h"
#include "train/tune.h"
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
} tuner;

static volatile sig_atomic_t interrupted;
static volatile pid_t child_pid;

/* Ctrl-C reaches the child too (one process group); a signal sent to tune alone is passed on, so that the trial
 * in progress writes its checkpoint where it is. */
static void on_interrupt(int sig) {
    (void)sig;
    interrupted = 1;
    if (child_pid > 0) kill(child_pid, SIGINT);
}

static void usage(FILE *out) {
    fprintf(out,
            "usage: doodle tune --data FILE.dset -o TUNEDIR --trials N --budget MINUTES [options]\n"
            "\n"
            "A seeded random search over doodle train's recipe, with successive halving: every trial is planned\n"
            "for its full epochs, trained part of them, and the worse half stops while the rest go on from their\n"
            "checkpoints (the same bits as a run straight through). Trials are chosen on validation accuracy only.\n"
            "Each trial is a run folder, TUNEDIR/trial-NNN (its output in TUNEDIR/trial-NNN.log). TUNEDIR gets\n"
            "trials.csv and summary.html; the command that trains the best trial again is printed. Interrupted\n"
            "(Ctrl-C, a kill), the same command goes on where it stopped.\n"
            "\n"
            "  -d, --data FILE      the .dset (doodle prep)\n"
            "  -o, --output DIR     the search's folder (created if needed)\n"
            "      --trials N       trials drawn from the space (1..999)\n"
            "      --budget MIN     training minutes in all (the trials' epochs summed); when spent, no trial goes on\n"
            "      --space FILE     the search space (default: doodle tune --print-space)\n"
            "      --print-space    print the default space and its format, and exit\n"
            "      --seed S         the trials drawn and every trial's training seed (default 1)\n"
            "      --threads N      each trial's threads (default: every core; part of the bits)\n"
            "  -h, --help           show this help\n"
            "\n"
            "Examples:\n"
            "  doodle tune --data animals.dset -o tune/animals --trials 8 --budget 60\n"
            "  doodle tune --data animals.dset -o tune/lr --trials 4 --budget 20 --space lr.txt --seed 2\n");
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
        v && cli_parse_u64(v, 0, 100000, &n) == 0 ? (int)n : dd_fail(err, DD_ERR_MALFORMED, "%s: no epochs_done", path);
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
    printf("trial-%03d: epochs %d..%d of %d%s\n", trial, done + 1, target, t->epochs[trial],
           resume ? " (resumed)" : "");
    fflush(stdout);
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
    printf("trial-%03d failed (exit %d): see %s\n", trial, code, log);
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
static int summarise(tuner *t, bool *has_best, char *command, size_t size, dd_error *err) {
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
    *has_best = false;
    if (rc == 0) {
        tune_result *sorted = dd_calloc((size_t)t->trials, sizeof *sorted, err);
        if (!sorted) rc = -1;
        for (int i = 0; rc == 0 && i < t->trials; i++) sorted[i] = res[rank[i].trial];
        if (rc == 0 && t->trials > 0 && rank[0].finished) {
            *has_best = true;
            command_of(t, rank[0].trial, command, size);
        }
        if (rc == 0) rc = tune_write_page(t->dir, &t->space, sorted, t->trials, *has_best ? command : "", err);
        if (rc == 0 && *has_best)
            printf("best: trial-%03d, validation accuracy %.2f%% (epoch %d of %d)\n", rank[0].trial,
                   100 * res[rank[0].trial].val_acc, res[rank[0].trial].best_epoch, res[rank[0].trial].epochs);
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

int cmd_tune(int argc, char **argv) {
    static const struct option options[] = {
        {"data", required_argument, 0, 'd'},    {"output", required_argument, 0, 'o'},
        {"trials", required_argument, 0, 'n'},  {"budget", required_argument, 0, 'B'},
        {"space", required_argument, 0, 'S'},   {"seed", required_argument, 0, 's'},
        {"threads", required_argument, 0, 't'}, {"print-space", no_argument, 0, 'P'},
        {"help", no_argument, 0, 'h'},          {0, 0, 0, 0},
    };
    tuner t = {.seed = 1, .threads = dd_cpu_count(64), .budget_s = -1};
    const char *space_path = NULL;
    uint64_t u;
    double f;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":d:o:h", options, NULL)) != -1) {
        switch (c) {
        case 'd': t.data = optarg; break;
        case 'o': t.dir = optarg; break;
        case 'n':
            if (cli_opt_u64("tune", "--trials", optarg, 1, 999, &u)) return EXIT_USAGE;
            t.trials = (int)u;
            break;
        case 'B':
            if (cli_parse_double(optarg, 0, 1e7, &f) || !(f > 0))
                return cli_opt_bad("tune", "--budget", "minutes, a number above 0", optarg);
            t.budget_s = 60 * f;
            break;
        case 'S': space_path = optarg; break;
        case 's':
            if (cli_opt_u64("tune", "--seed", optarg, 0, UINT64_MAX, &t.seed)) return EXIT_USAGE;
            break;
        case 't':
            if (cli_opt_u64("tune", "--threads", optarg, 1, 256, &u)) return EXIT_USAGE;
            t.threads = (int)u;
            break;
        case 'P':
            printf("# NAME uniform LO HI | NAME log-uniform LO HI | NAME int LO HI | NAME choice A B ...\n%s",
                   tune_default_space);
            return 0;
        case 'h': usage(stdout); return 0;
        default: return cli_opt_error("tune", c, argv);
        }
    }
    if (optind != argc) return cli_usage_error("tune", "unexpected argument '%s'", argv[optind]);
    if (!t.data) return cli_usage_error("tune", "no data: give --data FILE.dset");
    if (!t.dir) return cli_usage_error("tune", "no folder: give -o TUNEDIR");
    if (!t.trials) return cli_usage_error("tune", "how many trials? give --trials N");
    if (t.budget_s < 0) return cli_usage_error("tune", "how long? give --budget MINUTES");
    dd_error err;
    int rc = 1;
    ssize_t len = readlink("/proc/self/exe", t.exe, sizeof t.exe - 1);
    if (len <= 0) {
        fprintf(stderr, "doodle tune: cannot find its own binary (/proc/self/exe): %s\n", strerror(errno));
        return 1;
    }
    t.exe[len] = '\0';
    if (space_path ? read_text(space_path, &t.space_text, &err) : !(t.space_text = dd_strdup(tune_default_space, &err)))
        goto fail;
    if (tune_space_parse(t.space_text, space_path ? space_path : "the default space", &t.space, &err)) goto fail;
    if (!(t.values = dd_calloc((size_t)t.trials, sizeof *t.values, &err)) ||
        !(t.epochs = dd_calloc((size_t)t.trials, sizeof *t.epochs, &err)))
        goto fail;
    for (int i = 0; i < t.trials; i++) {
        tune_sample(&t.space, t.seed, i, t.values[i]);
        t.epochs[i] = dd_train_defaults().epochs;
        for (int p = 0; p < t.space.n; p++)
            if (!strcmp(t.space.p[p].name, "epochs") &&
                (cli_parse_u64(t.values[i][p], 1, 100000, &u) || (t.epochs[i] = (int)u, 0))) {
                dd_fail(&err, DD_ERR_USAGE, "the space's epochs gave '%s': not a whole number 1..100000",
                        t.values[i][p]);
                goto fail;
            }
    }
    if (mkdir(t.dir, 0755) != 0 && errno != EEXIST) {
        dd_fail(&err, DD_ERR_IO, "%s: cannot create it: %s", t.dir, strerror(errno));
        goto fail;
    }
    if (check_state(&t, &err)) goto fail;
    struct sigaction sa = {.sa_handler = on_interrupt};
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    bool budget_out = false;
    int s = search(&t, &budget_out, &err);
    if (s < 0) goto fail;
    bool has_best;
    char command[8192];
    if (summarise(&t, &has_best, command, sizeof command, &err)) goto fail;
    printf("trials: %s/trials.csv, summary: %s/summary.html\n", t.dir, t.dir);
    if (s == 130) {
        printf("interrupted: run the same command again to go on\n");
        rc = 130;
    } else {
        if (budget_out) printf("the budget of %.0f minutes is spent: the search stops here\n", t.budget_s / 60);
        if (has_best)
            printf("the best trial again:\n%s\n", command);
        else
            printf("no trial finished its epochs\n");
        rc = 0;
    }
    tuner_free(&t);
    return rc;
fail:
    tuner_free(&t);
    return cli_report("tune", &err);
}
