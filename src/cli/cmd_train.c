/* doodle train: a model on a .dset, into a run folder. */
#define _XOPEN_SOURCE 700 /* fileno, realpath, sigaction */
#include <errno.h>
#include <float.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "doodle/explain.h"
#include "doodle/files.h"
#include "doodle/train.h"
#include "doodle/dist.h"

static int train_run(dd_train_opts *o, int report, dd_error *err);

/* Ctrl-C: the first asks training to stop after the step in progress and write a checkpoint there; a second one
 * ends the process at once (the last checkpoint is as it was: checkpoints are written atomically). */
static volatile sig_atomic_t interrupted;

static void on_interrupt(int sig) {
    (void)sig;
    if (interrupted) {
        static const char bye[] = "\ndoodle train: stopped at once; the last checkpoint is as it was\n";
        ssize_t w = write(STDERR_FILENO, bye, sizeof bye - 1);
        (void)w;
        _exit(130);
    }
    interrupted = 1;
    static const char msg[] =
        "\ndoodle train: stopping after this step to write a checkpoint (Ctrl-C again: quit now)\n";
    ssize_t w = write(STDERR_FILENO, msg, sizeof msg - 1);
    (void)w;
}

/* A run folder that holds a run already: train into it only with --resume (go on) or --force (start over). */
static int existing_run(const dd_train_opts *o, bool force) {
    static const char *const files[] = {"checkpoint.safetensors", "model.safetensors", "history.csv", "test.json"};
    char path[4200];
    for (int i = 0; i < 4; i++) {
        if (dd_path_join(path, sizeof path, o->run_dir, files[i], NULL) || access(path, F_OK) != 0) continue;
        if (!force)
            return cli_usage_error("train",
                                   "%s holds a run already (%s): add --resume to continue it, or --force to train "
                                   "a new one in its place",
                                   o->run_dir, files[i]);
        /* --force: the old run's files go now, so that a new run stopped early leaves nothing of the old one */
        if (unlink(path) != 0) {
            fprintf(stderr, "doodle train: %s: cannot remove it: %s\n", path, strerror(errno));
            return 1;
        }
    }
    return 0;
}

static void usage(FILE *out, const dd_train_opts *d) {
    fprintf(out,
            "usage: doodle train --data FILE.dset -o RUNDIR [options]\n"
            "\n"
            "Trains a network on the train split of a dataset, less a validation split (--val-frac of every\n"
            "class) on which every epoch is evaluated and the best one chosen; the test split is evaluated once, at\n"
            "the end, with the chosen weights. RUNDIR gets history.csv, model.safetensors (the best validation\n"
            "accuracy so far), checkpoint.safetensors (the last epoch, for --resume), test.json (the test split's\n"
            "figures for model.safetensors), dataset.txt (the dataset's absolute path) and, at the end, report.html\n"
            "(doodle report; its pictures in RUNDIR/explain/).\n"
            "\n"
            "  -d, --data FILE        the .dset (doodle prep)\n"
            "  -o, --output DIR       the run folder (created if needed)\n"
            "  -m, --model M          a built-in network (doodle28, mnist28, seed, lenet) or a .cfg (default %s)\n"
            "  -e, --epochs N         (default %d)\n"
            "  -b, --batch N          (default %d)\n"
            "      --opt adam|sgd     (default adam)\n"
            "      --lr X             peak learning rate (default %g)\n"
            "      --schedule S       constant, step or cosine (default cosine)\n"
            "      --warmup E         epochs of linear warm-up (default %g)\n"
            "      --weight-decay X   decoupled, on conv and dense weights (default %g)\n"
            "      --momentum X       SGD momentum (default %g)\n"
            "      --no-augment       no rotation/scale/shift/line-width jitter of the training drawings\n"
            "      --aug-rotation D   largest rotation in degrees, strokes and bitmaps alike (default %g)\n"
            "      --aug-scale-min F  scales drawn in [F, 1] (default %g)\n"
            "      --aug-shift F      largest shift, a fraction of the box (default %g)\n"
            "      --warp-bitmaps     bitmap sets turned and scaled too, by a bilinear warp (default: shifted only)\n"
            "      --line-width W     stroke sets drawn with lines W wide, in the 256 box (default 16, Google's;\n"
            "                         kept in the model, so every verb draws its drawings so)\n"
            "      --padding P        padding around the 256 box, in drawing units (default 16)\n"
            "      --label-smoothing E  targets 1 - E on the label plus E / classes on every class (default %g)\n"
            "      --mixup A          blend each batch with itself reversed, weight ~ Beta(A, A) (default %g: off)\n"
            "      --ema D            validate, test and save an exponential moving average of the weights with\n"
            "                         decay D, e.g. 0.999 (default %g: off)\n"
            "      --patience N       stop after N epochs without a better validation accuracy (default: never)\n"
            "      --val-frac F       share of every class's training drawings kept for validation, 0..0.9, chosen\n"
            "                         with the set's split seed (default: the set's, from doodle prep --val-frac,\n"
            "                         else 0.1; 0: none, the last epoch is kept)\n"
            "      --steps-per-epoch N  evaluate, checkpoint and write history every N steps instead of every pass\n"
            "                         (for big sets; the passes go on across epochs in their seeded orders)\n"
            "      --max-steps N      stop after N steps in all; the schedule spans them (default: --epochs decide)\n"
            "      --seed S           weights, order, augmentation and dropout (default %llu)\n"
            "      --threads N        threads (default %d: every core; the same seed and count give the same bits;\n"
            "                         --resume keeps the run's count unless given another)\n"
            "      --stop-after K     pause after K epochs of the planned --epochs (the schedule spans them all);\n"
            "                         --resume goes on with the same bits (doodle tune's early stopping)\n"
            "      --resume           continue RUNDIR's run from its checkpoint (its options are kept, and checked\n"
            "                         as these flags are; --epochs and --max-steps may change its length). A run\n"
            "                         stopped before its first epoch ended has no checkpoint: --resume says so;\n"
            "                         start it again without it\n"
            "      --force            train into a RUNDIR that holds a run already, replacing it (without it,\n"
            "                         such a RUNDIR is refused)\n"
            "      --no-report        do not write RUNDIR/report.html at the end\n"
            "  -h, --help             show this help\n"
            "\n"
            "The same seed and thread count give the same bits, with or without an interruption and --resume.\n"
            "Ctrl-C stops after the step in progress and writes a checkpoint there (inside the epoch); the\n"
            "command to continue is printed. A second Ctrl-C quits at once.\n"
            "\n"
            "Examples:\n"
            "  doodle train --data animals.dset -o runs/animals\n"
            "  doodle train --data all.dset -o runs/big --model seed --steps-per-epoch 2000 --epochs 30\n"
            "\n"
            "On several machines: mpirun -np N doodle train … (Open MPI). Every rank holds the whole model and\n"
            "takes its contiguous share of each global batch of --batch drawings (--batch 64 on 2 ranks: 32 each);\n"
            "the gradients are summed once a step, rank 0 alone writes RUNDIR. --threads is per rank. Every rank\n"
            "must see the same dataset file (shared storage or a copy) and get the same options. Their all-reduce:\n"
            "      --allreduce-overlap on|off  sum the gradients in buckets while backward goes on (default on);\n"
            "                         off: one all-reduce after backward\n"
            "      --allreduce-dtype float32|bf16  bf16 sends half the bytes, rounded to about 3 digits (for slow\n"
            "                         links and big dense layers; the weights then differ from one process's);\n"
            "                         default float32 (2 ranks give one process's weights within 1e-5)\n"
            "      --allreduce-bucket-kb N  a bucket starts once it holds N KB of gradients (default %u)\n",
            d->model, d->epochs, d->batch, d->lr, d->warmup_epochs, d->weight_decay, d->momentum, d->aug_rotation,
            d->aug_scale_min, d->aug_shift, d->label_smoothing, d->mixup, d->ema, (unsigned long long)d->seed,
            d->threads, (unsigned)d->allreduce_bucket_kb);
}

/* RUNDIR/dataset.txt: the dataset's absolute path, so `doodle report RUNDIR` knows what the run was trained on. */
static int record_dataset(const dd_train_opts *o, dd_error *err) {
    char abs[PATH_MAX], path[4200];
    if (!realpath(o->data_path, abs)) snprintf(abs, sizeof abs, "%s", o->data_path);
    snprintf(path, sizeof path, "%s/dataset.txt", o->run_dir);
    dd_atomic_file a;
    if (dd_atomic_open(&a, path, err)) return -1;
    fprintf(a.f, "%s\n", abs);
    return dd_atomic_commit(&a, err);
}

int cmd_train(int argc, char **argv) {
    static const struct option options[] = {
        {"data", required_argument, 0, 'd'},
        {"output", required_argument, 0, 'o'},
        {"model", required_argument, 0, 'm'},
        {"epochs", required_argument, 0, 'e'},
        {"batch", required_argument, 0, 'b'},
        {"opt", required_argument, 0, 'O'},
        {"lr", required_argument, 0, 'l'},
        {"schedule", required_argument, 0, 'S'},
        {"warmup", required_argument, 0, 'w'},
        {"weight-decay", required_argument, 0, 'W'},
        {"momentum", required_argument, 0, 'M'},
        {"no-augment", no_argument, 0, 'A'},
        {"patience", required_argument, 0, 'p'},
        {"seed", required_argument, 0, 's'},
        {"threads", required_argument, 0, 't'},
        {"resume", no_argument, 0, 'r'},
        {"no-report", no_argument, 0, 'R'},
        {"help", no_argument, 0, 'h'},
        {"val-frac", required_argument, 0, 'V'},
        {"steps-per-epoch", required_argument, 0, 'E'},
        {"max-steps", required_argument, 0, 'X'},
        {"force", no_argument, 0, 'F'},
        {"aug-rotation", required_argument, 0, 1001},
        {"aug-scale-min", required_argument, 0, 1002},
        {"aug-shift", required_argument, 0, 1003},
        {"label-smoothing", required_argument, 0, 1004},
        {"mixup", required_argument, 0, 1005},
        {"ema", required_argument, 0, 1006},
        {"stop-after", required_argument, 0, 1007},
        {"warp-bitmaps", no_argument, 0, 1008},
        {"allreduce-overlap", required_argument, 0, 1009},
        {"allreduce-dtype", required_argument, 0, 1010},
        {"allreduce-bucket-kb", required_argument, 0, 1011},
        {"line-width", required_argument, 0, 1012},
        {"padding", required_argument, 0, 1013},
        {0, 0, 0, 0},
    };
    dd_train_opts o = dd_train_defaults();
    uint64_t u;
    double f;
    int c, report = 1;
    bool force = false, threads_given = false;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":d:o:m:e:b:h", options, NULL)) != -1) {
        switch (c) {
        case 'd': o.data_path = optarg; break;
        case 'o': o.run_dir = optarg; break;
        case 'm': o.model = optarg; break;
        case 'e':
            if (cli_opt_u64("train", "--epochs", optarg, 0, INT_MAX, &u)) return EXIT_USAGE;
            o.epochs = (int)u;
            break;
        case 'b':
            if (cli_opt_u64("train", "--batch", optarg, 0, INT_MAX, &u)) return EXIT_USAGE;
            o.batch = (int)u;
            break;
        case 'O':
            if (dd_opt_kind_parse(optarg) < 0) return cli_opt_bad("train", "--opt", "adam or sgd", optarg);
            o.optimizer = (dd_opt_kind)dd_opt_kind_parse(optarg);
            break;
        case 'l':
            if (cli_opt_double("train", "--lr", optarg, -FLT_MAX, FLT_MAX, &f)) return EXIT_USAGE;
            o.lr = (float)f;
            break;
        case 'S':
            if (dd_schedule_kind_parse(optarg) < 0)
                return cli_opt_bad("train", "--schedule", "constant, step or cosine", optarg);
            o.schedule = (dd_schedule_kind)dd_schedule_kind_parse(optarg);
            break;
        case 'w':
            if (cli_opt_double("train", "--warmup", optarg, -FLT_MAX, FLT_MAX, &f)) return EXIT_USAGE;
            o.warmup_epochs = (float)f;
            break;
        case 'W':
            if (cli_opt_double("train", "--weight-decay", optarg, -FLT_MAX, FLT_MAX, &f)) return EXIT_USAGE;
            o.weight_decay = (float)f;
            break;
        case 'M':
            if (cli_opt_double("train", "--momentum", optarg, -FLT_MAX, FLT_MAX, &f)) return EXIT_USAGE;
            o.momentum = (float)f;
            break;
        case 'A': o.augment = false; break;
        case 'p':
            if (cli_opt_u64("train", "--patience", optarg, 0, INT_MAX, &u)) return EXIT_USAGE;
            o.patience = (int)u;
            break;
        case 's':
            if (cli_opt_u64("train", "--seed", optarg, 0, UINT64_MAX, &o.seed)) return EXIT_USAGE;
            break;
        case 't':
            if (cli_opt_u64("train", "--threads", optarg, 1, INT_MAX, &u)) return EXIT_USAGE;
            o.threads = (int)u;
            threads_given = true;
            break;
        case 'V':
            if (cli_opt_double("train", "--val-frac", optarg, -FLT_MAX, FLT_MAX, &o.val_frac)) return EXIT_USAGE;
            break;
        case 'E':
            if (cli_opt_u64("train", "--steps-per-epoch", optarg, 0, UINT64_MAX, &o.steps_per_epoch)) return EXIT_USAGE;
            break;
        case 'X':
            if (cli_opt_u64("train", "--max-steps", optarg, 0, UINT64_MAX, &o.max_steps)) return EXIT_USAGE;
            break;
        case 1001:
        case 1002:
        case 1003:
        case 1004:
        case 1005:
        case 1006: {
            static const char *const names[] = {"--aug-rotation",    "--aug-scale-min", "--aug-shift",
                                                "--label-smoothing", "--mixup",         "--ema"};
            float *fields[] = {&o.aug_rotation, &o.aug_scale_min, &o.aug_shift, &o.label_smoothing, &o.mixup, &o.ema};
            if (cli_opt_double("train", names[c - 1001], optarg, -FLT_MAX, FLT_MAX, &f)) return EXIT_USAGE;
            *fields[c - 1001] = (float)f; /* the ranges: dd_train_opts_check */
            break;
        }
        case 1008: o.warp_bitmaps = true; break;
        case 1012: /* the ranges: dd_render_opts_check, through dd_train_opts_check */
            if (cli_opt_double("train", "--line-width", optarg, -DBL_MAX, DBL_MAX, &o.line_width)) return EXIT_USAGE;
            break;
        case 1013:
            if (cli_opt_double("train", "--padding", optarg, -DBL_MAX, DBL_MAX, &o.padding)) return EXIT_USAGE;
            break;
        case 1007:
            if (cli_opt_u64("train", "--stop-after", optarg, 0, INT_MAX, &u)) return EXIT_USAGE;
            o.stop_after = (int)u;
            break;
        case 1009:
            if (strcmp(optarg, "on") && strcmp(optarg, "off"))
                return cli_opt_bad("train", "--allreduce-overlap", "on or off", optarg);
            o.allreduce_overlap = strcmp(optarg, "on") == 0;
            break;
        case 1010:
            if (strcmp(optarg, "float32") && strcmp(optarg, "bf16"))
                return cli_opt_bad("train", "--allreduce-dtype", "float32 or bf16", optarg);
            o.allreduce_bf16 = strcmp(optarg, "bf16") == 0;
            break;
        case 1011:
            if (cli_opt_u64("train", "--allreduce-bucket-kb", optarg, 0, UINT32_MAX, &u)) return EXIT_USAGE;
            o.allreduce_bucket_kb = (uint32_t)u; /* the range: dd_train_opts_check */
            break;
        case 'r': o.resume = true; break;
        case 'F': force = true; break;
        case 'R': report = 0; break;
        case 'h': usage(stdout, &o); return 0;
        default: return cli_opt_error("train", c, argv);
        }
    }
    if (optind != argc) return cli_usage_error("train", "unexpected argument '%s'", argv[optind]);
    if (!o.data_path) return cli_usage_error("train", "no data: give --data FILE.dset");
    if (!o.run_dir) return cli_usage_error("train", "no run folder: give -o RUNDIR");
    dd_error err;
    if (dd_train_opts_check(&o, &err)) return cli_usage_error("train", "%s", err.msg); /* the ranges: one place */
    if (o.resume && force)
        return cli_usage_error("train", "--resume continues a run and --force replaces it: give one");
    if (o.resume && !threads_given) o.threads = 0; /* the run's own count, from its checkpoint: the same bits */
    if (dd_dist_init(NULL, NULL, &err)) return cli_report("train", &err);
    if (dd_dist_rank() == 0 && !o.resume) {
        int rc = existing_run(&o, force);
        if (rc && dd_dist_size() > 1) dd_dist_abort(rc); /* the other ranks would wait for rank 0 */
        if (rc) return rc;
    }
    struct sigaction sa = {.sa_handler = on_interrupt};
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGINT, &sa, NULL);
    o.interrupt = &interrupted;
    /* Every failure inside dd_train is agreed by all ranks (or ends the job there), so each rank returns here;
     * the rank that knows why says it (the others have an empty message). */
    int rc = train_run(&o, report, &err);
    if (rc && rc != 130 && (err.msg[0] || dd_dist_size() == 1)) cli_report("train", &err);
    dd_dist_finalize();
    return rc;
}

/* What every rank does; rank 0 alone prints and writes. */
static int train_run(dd_train_opts *o_in, int report, dd_error *err) {
    dd_train_opts o = *o_in;
    bool root = dd_dist_rank() == 0;
    o.progress = root && isatty(fileno(stdout));
    o.log = stdout;
    dd_train_result r;
    if (dd_train(&o, &r, err)) return err->code == DD_ERR_USAGE ? EXIT_USAGE : 1;
    if (!root) return r.interrupted ? 130 : 0;
    if (r.interrupted) {
        printf("interrupted in epoch %d after step %llu of %llu: checkpoint written to %s/checkpoint.safetensors\n"
               "continue with: doodle train --data %s -o %s --resume",
               r.stopped_epoch, (unsigned long long)r.stopped_step, (unsigned long long)r.epoch_steps, o.run_dir,
               o.data_path, o.run_dir);
        if (o.epochs != dd_train_defaults().epochs) printf(" --epochs %d", o.epochs);
        if (o.max_steps) printf(" --max-steps %llu", (unsigned long long)o.max_steps);
        printf("\n");
        return 130;
    }
    if (r.paused) {
        printf("paused after epoch %d (--stop-after %d); best so far: epoch %d, validation accuracy %.2f%%\n"
               "continue with: doodle train --data %s -o %s --resume --epochs %d\n",
               o.stop_after, o.stop_after, r.best_epoch, 100 * r.best_val_acc, o.data_path, o.run_dir, o.epochs);
        return 0;
    }
    if (r.has_val)
        printf("best: epoch %d, validation accuracy %.2f%%, validation loss %.4f -> %s/model.safetensors\n",
               r.best_epoch, 100 * r.best_val_acc, r.best_val_loss, o.run_dir);
    else
        printf("kept: epoch %d (no validation split) -> %s/model.safetensors\n", r.best_epoch, o.run_dir);
    if (r.has_test)
        printf("test (once, epoch %d's weights): accuracy %.2f%%, top-3 %.2f%%, loss %.4f on %llu drawings\n",
               r.best_epoch, 100 * r.test_acc, 100 * r.test_top3, r.test_loss, (unsigned long long)r.test_count);
    if (r.ranks > 1)
        printf("data-parallel: %d ranks, all-reduce %.1f%% of the training time (%.2f ms and %.2f MB a step, not "
               "hidden behind backward; %s, %zu bucket%s, %s); weights the same on every rank at each epoch's end\n",
               r.ranks, r.train_seconds > 0 ? 100 * r.allreduce_seconds / r.train_seconds : 0,
               r.steps ? 1e3 * r.allreduce_seconds / (double)r.steps : 0,
               r.steps ? 1e-6 * (double)r.allreduce_bytes / (double)r.steps : 0,
               o.allreduce_overlap ? "overlapped" : "after backward", r.allreduce_buckets,
               r.allreduce_buckets == 1 ? "" : "s", o.allreduce_bf16 ? "bf16" : "float32");
    if (record_dataset(&o, err)) return 1;
    if (report) {
        fflush(stdout);
        dd_report_opts ro = {.run_dir = o.run_dir, .data_path = o.data_path, .version = DOODLE_VERSION};
        if (dd_report_write(&ro, err)) {
            dd_error_prefix(err, "the model is trained, but its report failed");
            return 1;
        }
        printf("report: %s/report.html\n", o.run_dir);
    }
    return 0;
}
