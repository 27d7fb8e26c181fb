/* Data-parallel training over MPI from a program of its own, as `doodle train` does under `mpirun -np N`:
 *
 *     if (dd_dist_init(&argc, &argv, &err)) ...          (MPI started when a launcher started this process)
 *     if (dd_dist_rank() == 0) ...                       (rank 0 alone prepares the run folder)
 *     int rc = dd_train(&o, &r, &err);                   (every rank, the same options: see doodle/train.h)
 *     dd_dist_finalize();
 *
 * Started without a launcher, or built without MPI, there is one rank and these calls do nothing, so that a
 * program has one code path. A failed collective cannot be survived (the other ranks would wait for ever): MPI's
 * default handler ends the whole job, and a rank that fails on its own before a collective ends the job with
 * dd_dist_abort. docs/mpi.md says how to launch a job. */
#ifndef DOODLE_DIST_H
#define DOODLE_DIST_H

#include "doodle/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Starts MPI (MPI_Init_thread, funneled: only the calling thread talks to MPI) when a launcher (mpirun/mpiexec of
 * Open MPI, Slurm's srun with PMI or PMIx) started this process; else nothing. argc and argv may be NULL. -1 with
 * err set when MPI fails to start, or when the process was launched so but doodle was built without MPI. */
int dd_dist_init(int *argc, char ***argv, dd_error *err);
/* Ends MPI (after the last collective of every rank); nothing when dd_dist_init did not start it. */
void dd_dist_finalize(void);
/* Ends every rank of the job now with `code` (after a rank's error: the others may be inside a collective); without
 * MPI, exit(code). Does not return. */
void dd_dist_abort(int code);
/* This process's rank, 0 .. dd_dist_size() - 1; 0 and 1 without MPI. */
int dd_dist_rank(void);
int dd_dist_size(void);

#ifdef __cplusplus
}
#endif
#endif
