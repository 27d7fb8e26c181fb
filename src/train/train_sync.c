/* The data-parallel side of training (run.h): ranks agree on failures, check that they run the same thing, and
 * start from rank 0's state. With one process every function here is a no-op or a plain call. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "train/dist.h"
#include "train/run.h"
#include "doodle/alloc.h"

int train_agree_failure(run *r, int rc, dd_error *err) {
    if (r->ranks == 1) return rc;
    if (!dist_any(rc != 0)) return 0;
    if (rc == 0) { /* another rank failed and says why */
        err->code = DD_ERR_IO;
        err->msg[0] = '\0';
    } else if (r->rank != 0) {
        dd_error_prefix(err, "rank %d", r->rank);
    }
    return -1;
}

int train_fail_local(run *r, dd_error *err) {
    if (r->ranks == 1) return -1;
    fprintf(stderr, "doodle train: rank %d: %s; ending every rank\n", r->rank, err->msg);
    fflush(stderr);
    dd_dist_abort(1);
    return -1;
}

/* FNV-1a, 64 bits: equal inputs on every rank give equal hashes (a check of agreement, not of security). */
static uint64_t fnv(uint64_t h, const void *data, size_t n) {
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ULL;
    return h;
}
#define FNV_START 0xcbf29ce484222325ULL

static uint64_t data_hash(const dd_dataset *ds) {
    dd_dset_params p = dd_dataset_params(ds);
    uint64_t n = dd_dataset_count(ds), h = FNV_START;
    uint32_t kind = dd_dataset_kind(ds), bh, bw;
    dd_dataset_bitmap_size(ds, &bh, &bw);
    h = fnv(h, &n, sizeof n);
    h = fnv(h, &kind, sizeof kind);
    h = fnv(h, &bh, sizeof bh);
    h = fnv(h, &bw, sizeof bw);
    h = fnv(h, &p.seed, sizeof p.seed);
    h = fnv(h, &p.test_frac, sizeof p.test_frac);
    for (uint32_t c = 0; c < dd_dataset_class_count(ds); c++) {
        const char *name = dd_dataset_class_name(ds, c);
        h = fnv(h, name, strlen(name) + 1);
    }
    /* a sample of records, so that two sets with equal headers but other drawings differ */
    for (uint64_t k = 0; k < 64 && n; k++) {
        dd_record_info info;
        if (dd_dataset_record_info(ds, k * (n / 64 + 1) % n, &info) == 0) {
            h = fnv(h, &info.key_id, sizeof info.key_id);
            h = fnv(h, &info.label, sizeof info.label);
        }
    }
    return h;
}

static uint64_t model_hash(const dd_model *m) {
    uint64_t h = FNV_START;
    if (m->spec->cfg_text) h = fnv(h, m->spec->cfg_text, strlen(m->spec->cfg_text));
    return fnv(h, &m->spec->n_params, sizeof m->spec->n_params);
}

static uint64_t options_hash(const dd_train_opts *o) {
    char text[700];
    int n = snprintf(text, sizeof text,
                     "%d %d %d %.9g %.9g %.9g %d %.9g %.9g %d %" PRIu64 " %d %.17g %" PRIu64 " %" PRIu64
                     " %.9g %.9g %.9g %.9g %.9g %.9g %d %d %d %u",
                     o->epochs, o->batch, (int)o->optimizer, o->lr, o->weight_decay, o->momentum, (int)o->schedule,
                     o->warmup_epochs, o->min_lr, o->augment, o->seed, o->patience, o->val_frac, o->steps_per_epoch,
                     o->max_steps, o->aug_rotation, o->aug_scale_min, o->aug_shift, o->label_smoothing, o->mixup,
                     o->ema, o->warp_bitmaps, o->allreduce_overlap, o->allreduce_bf16,
                     (unsigned)o->allreduce_bucket_kb); /* other buckets or types: collectives that do not match */
    return fnv(FNV_START, text, (size_t)n);
}

int train_sync_start(run *r, dd_error *err) {
    if (r->ranks == 1) return 0;
    uint64_t mine[3] = {data_hash(r->ds), model_hash(r->m), options_hash(r->o)}, root[3];
    memcpy(root, mine, sizeof root);
    dist_bcast(root, sizeof root);
    /* every rank's verdict, so that rank 0 can name who differs in what */
    uint64_t *verdicts = dd_calloc((size_t)r->ranks, sizeof *verdicts, err);
    int rc = verdicts ? 0 : -1;
    if (train_agree_failure(r, rc, err)) {
        free(verdicts);
        return -1;
    }
    verdicts[r->rank] = (mine[0] != root[0]) | (mine[1] != root[1]) << 1 | (mine[2] != root[2]) << 2;
    dist_sum_u64(verdicts, (size_t)r->ranks);
    for (int k = 0; k < r->ranks && rc == 0; k++)
        if (verdicts[k])
            rc = dd_fail(err, DD_ERR_USAGE,
                         "rank %d was given %s%s%s than rank 0 (%s, model %s): every rank must train the same", k,
                         verdicts[k] & 1 ? "another data set " : "", verdicts[k] & 2 ? "another model " : "",
                         verdicts[k] & 4 ? "other training options " : "", r->o->data_path, r->o->model);
    free(verdicts);
    if (rc) {
        if (r->rank != 0) err->msg[0] = '\0'; /* rank 0 says it, once */
        return -1;
    }
    dd_model *m = r->m;
    dist_bcast(m->params, m->spec->n_params * sizeof *m->params);
    dist_bcast(m->state, m->spec->n_state * sizeof *m->state);
    dist_bcast(r->opt.m, r->opt.n * sizeof *r->opt.m);
    if (r->opt.v) dist_bcast(r->opt.v, r->opt.n * sizeof *r->opt.v);
    dist_bcast(&r->opt.step, sizeof r->opt.step);
    float *ema = r->p.ema; /* this rank's own block: its values were given by the checkpoint or the weights */
    dist_bcast(&r->p, sizeof r->p);
    r->p.ema = ema;
    return 0;
}

/* FNV-1a over 64-bit words rather than bytes: 8 times fewer multiplies for lenet's 37.6 MB each epoch. */
static uint64_t floats_hash(const float *x, size_t n) {
    uint64_t h = FNV_START, w;
    size_t i = 0;
    for (; i + 2 <= n; i += 2) {
        memcpy(&w, x + i, sizeof w);
        h = (h ^ w) * 0x100000001b3ULL;
    }
    return i < n ? fnv(h, x + i, sizeof *x) : h;
}

int train_check_same_weights(run *r, int epoch, dd_error *err) {
    if (r->ranks == 1) return 0;
    const dd_model *m = r->m;
    uint64_t mine = floats_hash(m->params, m->spec->n_params), root = mine;
    dist_bcast(&root, sizeof root);
    if (!dist_any(mine != root)) return 0;
    if (mine != root)
        dd_fail(err, DD_ERR_RANGE,
                "rank %d: after epoch %d its weights differ from rank 0's (the all-reduce gave the ranks different "
                "sums); stopped. The last checkpoint is intact.",
                r->rank, epoch + 1);
    else
        err->code = DD_ERR_RANGE, err->msg[0] = '\0'; /* the differing ranks say it */
    return -1;
}

void train_average_state(run *r) {
    size_t n = r->m->spec->n_state;
    if (r->ranks == 1 || n == 0) return;
    dist_sum_floats(r->m->state, n);
    float scale = 1.0f / (float)r->ranks;
    for (size_t i = 0; i < n; i++) r->m->state[i] *= scale;
}

/* The checkpoint's bytes on rank 0 (NULL and *n = 0 when it cannot be read: err says why). */
static char *read_whole(const char *path, uint64_t *n, dd_error *err) {
    *n = 0;
    FILE *f = fopen(path, "rb");
    if (!f) {
        dd_fail(err, DD_ERR_IO, "%s: %s", path, strerror(errno));
        return NULL;
    }
    char *data = NULL;
    long size = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    if (size > 0 && fseek(f, 0, SEEK_SET) == 0 && (data = dd_malloc((size_t)size, 1, err)) &&
        fread(data, 1, (size_t)size, f) == (size_t)size) {
        *n = (uint64_t)size;
    } else {
        if (!err->msg[0] || data) dd_fail(err, DD_ERR_IO, "%s: cannot read it", path);
        free(data);
        data = NULL;
    }
    fclose(f);
    return data;
}

/* The received bytes as a file of this rank's, loaded, then removed. */
static int load_received(run *r, dd_train_opts *o, const char *data, uint64_t n, dd_error *err) {
    const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    char path[4200];
    snprintf(path, sizeof path, "%s/doodle-checkpoint-rank%d.XXXXXX", dir, r->rank);
    int fd = mkstemp(path);
    if (fd < 0) return dd_fail(err, DD_ERR_IO, "%s: cannot write rank 0's checkpoint here: %s", path, strerror(errno));
    FILE *f = fdopen(fd, "wb");
    int failed = !f || fwrite(data, 1, n, f) != n, saved = failed ? errno : 0; /* the first failure's reason */
    if ((f ? fclose(f) : close(fd)) && !failed) failed = 1, saved = errno;
    int rc = failed ? dd_fail(err, DD_ERR_IO, "%s: cannot write rank 0's checkpoint: %s", path,
                              strerror(saved ? saved : EIO))
                    : checkpoint_load(path, &r->m, &r->opt, &r->p, o, err);
    unlink(path);
    return rc;
}

int train_load_checkpoint(run *r, dd_train_opts *o, dd_error *err) {
    if (r->ranks == 1) return checkpoint_load(r->checkpoint_path, &r->m, &r->opt, &r->p, o, err);
    uint64_t n = 0;
    char *data = r->rank == 0 ? read_whole(r->checkpoint_path, &n, err) : NULL;
    dist_bcast(&n, sizeof n);
    if (n == 0) { /* rank 0 could not read it and says why */
        if (r->rank != 0) err->msg[0] = '\0';
        return -1;
    }
    if (r->rank != 0 && !(data = malloc(n))) dd_dist_abort(1); /* the others would wait in the broadcast for ever */
    dist_bcast(data, n);
    int rc = r->rank == 0 ? checkpoint_load(r->checkpoint_path, &r->m, &r->opt, &r->p, o, err)
                          : load_received(r, o, data, n, err);
    free(data);
    return rc;
}
