/* dd_now_seconds (doodle/clock.h): CLOCK_MONOTONIC, so that a step's time is never negative when the date changes. */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include "doodle/clock.h"

#include <time.h>

double dd_now_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}
