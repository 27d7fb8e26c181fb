#include "util/blas_threads.h"

#include <cblas.h>

void util_blas_single_threaded(void) { openblas_set_num_threads(1); }
