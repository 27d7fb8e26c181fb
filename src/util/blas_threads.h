/* The one place that tells OpenBLAS how many threads to use. Internal to the library. */
#ifndef DOODLE_UTIL_BLAS_THREADS_H
#define DOODLE_UTIL_BLAS_THREADS_H

/* BLAS runs on the calling thread only: doodle's own threads (the thread pool) call it, and BLAS threads on top
 * would only fight them. */
void util_blas_single_threaded(void);

#endif
