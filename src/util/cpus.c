#define _POSIX_C_SOURCE 200809L /* sysconf */
#include "util/cpus.h"

#include <unistd.h>

int dd_cpu_count(int max) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > max ? max : (int)n;
}
