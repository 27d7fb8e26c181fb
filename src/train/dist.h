/* Data-parallel training over MPI (`mpirun -np N doodle train`), as Horovod and PyTorch DDP do it: every rank
 * holds the whole model and works on its share of each global batch; one all-reduce sums the gradient block per
 * step. These wrappers are the only place that names MPI: built without it (no DOODLE_MPI), there is one rank and
 * every call is a no-op, so the trainer has one code path. Starting and ending MPI, the rank and the job's size are
 * public (doodle/dist.h: dd_dist_init, dd_dist_finalize, dd_dist_abort, dd_dist_rank, dd_dist_size).
 *
 * Errors: a failed collective cannot be survived (the other ranks would wait forever), so MPI's default handler
 * (MPI_ERRORS_ARE_FATAL) stays: it ends the whole job. A rank that dies is noticed by mpirun, which ends the others. */
#ifndef DOODLE_TRAIN_DIST_H
#define DOODLE_TRAIN_DIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "doodle/dist.h"
#include "doodle/error.h"

/* True when a launcher (mpirun/mpiexec of Open MPI, Slurm's srun with PMI or PMIx) started this process. */
bool dist_launched(void);
/* Collectives over every rank; no-ops with one rank. */
void dist_bcast(void *buf, size_t bytes);     /* from rank 0 */
void dist_sum_floats(float *buf, size_t n);   /* in place */
void dist_sum_doubles(double *buf, size_t n); /* in place */
void dist_sum_u64(uint64_t *buf, size_t n);   /* in place */
bool dist_any(bool flag);                     /* true when any rank passes true */
void dist_barrier(void);
/* bfloat16 values (train/bf16.h) summed in float, each partial sum rounded back to bf16; in place. */
void dist_sum_bf16(uint16_t *buf, size_t n);

/* Non-blocking sums, for the all-reduce overlapped with backward (train/grad_sync.c): started one by one, driven
 * by dist_progress between layers, finished together by dist_wait_all. Only the main thread calls them (MPI is
 * initialised FUNNELED). A buffer handed over must not be touched until dist_wait_all returns. n < 2^30 each. */
typedef struct dist_pending dist_pending;
/* Room for up to `max` sums in flight at once; NULL with err set. */
dist_pending *dist_pending_new(size_t max, dd_error *err);
void dist_pending_free(dist_pending *p);
void dist_isum_floats(dist_pending *p, float *buf, size_t n);
void dist_isum_bf16(dist_pending *p, uint16_t *buf, size_t n);
/* One turn of MPI's progress engine (MPI_Testall): over TCP, data moves only inside MPI calls. */
void dist_progress(dist_pending *p);
void dist_wait_all(dist_pending *p);

#endif
