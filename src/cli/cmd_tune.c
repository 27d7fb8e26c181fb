/* doodle tune: a seeded random search with successive halving over `doodle train` runs (doodle/tune.h says how it
 * searches; dd_tune_run does it). This file reads the options, passes Ctrl-C and SIGTERM on to the search, and
 * prints its outcome. */
#define _POSIX_C_SOURCE 200809L /* sigaction */
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "doodle/cpus.h"
#include "doodle/tune.h"

/* Ctrl-C reaches the trial too (one process group); a signal sent to tune alone is passed on by the search, so that
 * the trial in progress writes its checkpoint where it is. */
static void on_interrupt(int sig) {
    (void)sig;
    dd_tune_interrupt();
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

int cmd_tune(int argc, char **argv) {
    static const struct option options[] = {
        {"data", required_argument, 0, 'd'},    {"output", required_argument, 0, 'o'},
        {"trials", required_argument, 0, 'n'},  {"budget", required_argument, 0, 'B'},
        {"space", required_argument, 0, 'S'},   {"seed", required_argument, 0, 's'},
        {"threads", required_argument, 0, 't'}, {"print-space", no_argument, 0, 'P'},
        {"help", no_argument, 0, 'h'},          {0, 0, 0, 0},
    };
    dd_tune_opts o = {.seed = 1, .threads = dd_cpu_count(64), .budget_seconds = -1, .log = stdout};
    uint64_t u;
    double f;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":d:o:h", options, NULL)) != -1) {
        switch (c) {
        case 'd': o.data_path = optarg; break;
        case 'o': o.dir = optarg; break;
        case 'n':
            if (cli_opt_u64("tune", "--trials", optarg, 1, 999, &u)) return EXIT_USAGE;
            o.trials = (int)u;
            break;
        case 'B':
            if (cli_parse_double(optarg, 0, 1e7, &f) || !(f > 0))
                return cli_opt_bad("tune", "--budget", "minutes, a number above 0", optarg);
            o.budget_seconds = 60 * f;
            break;
        case 'S': o.space_path = optarg; break;
        case 's':
            if (cli_opt_u64("tune", "--seed", optarg, 0, UINT64_MAX, &o.seed)) return EXIT_USAGE;
            break;
        case 't':
            if (cli_opt_u64("tune", "--threads", optarg, 1, 256, &u)) return EXIT_USAGE;
            o.threads = (int)u;
            break;
        case 'P':
            printf("# NAME uniform LO HI | NAME log-uniform LO HI | NAME int LO HI | NAME choice A B ...\n%s",
                   dd_tune_default_space);
            return 0;
        case 'h': usage(stdout); return 0;
        default: return cli_opt_error("tune", c, argv);
        }
    }
    if (optind != argc) return cli_usage_error("tune", "unexpected argument '%s'", argv[optind]);
    if (!o.data_path) return cli_usage_error("tune", "no data: give --data FILE.dset");
    if (!o.dir) return cli_usage_error("tune", "no folder: give -o TUNEDIR");
    if (!o.trials) return cli_usage_error("tune", "how many trials? give --trials N");
    if (o.budget_seconds < 0) return cli_usage_error("tune", "how long? give --budget MINUTES");
    struct sigaction sa = {.sa_handler = on_interrupt};
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    dd_error err;
    dd_tune_result r;
    if (dd_tune_run(&o, &r, &err)) return cli_report("tune", &err);
    if (r.best_trial >= 0)
        printf("best: trial-%03d, validation accuracy %.2f%% (epoch %d of %d)\n", r.best_trial, 100 * r.best_val_acc,
               r.best_epoch, r.best_epochs);
    printf("trials: %s/trials.csv, summary: %s/summary.html\n", o.dir, o.dir);
    if (r.interrupted) {
        printf("interrupted: run the same command again to go on\n");
        return 130;
    }
    if (r.budget_spent) printf("the budget of %.0f minutes is spent: the search stops here\n", o.budget_seconds / 60);
    if (r.best_trial >= 0)
        printf("the best trial again:\n%s\n", r.best_command);
    else
        printf("no trial finished its epochs\n");
    return 0;
}
