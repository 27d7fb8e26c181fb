#define _POSIX_C_SOURCE 200809L /* sysconf */
#include "doodle/cpus.h"

#include <stdatomic.h>
#include <unistd.h>

static atomic_int chosen; /* dd_set_thread_count's n; 0: every core */

void dd_set_thread_count(int n) { atomic_store(&chosen, n > 0 ? n : 0); }

int dd_cpu_count(int max) {
    long n = atomic_load(&chosen);
    if (n == 0) n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > max ? max : (int)n;
}
