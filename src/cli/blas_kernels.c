/* The name of OpenBLAS' kernel set, for the benchmarks (see cli.h). */
#include <cblas.h>

#include "cli/cli.h"

const char *cli_blas_kernels(void) {
    const char *core = openblas_get_corename();
    return core ? core : "unknown";
}
