/* How many threads "every core" means here. */
#ifndef DOODLE_UTIL_CPUS_H
#define DOODLE_UTIL_CPUS_H

/* The online CPUs, at least 1 and at most max. */
int dd_cpu_count(int max);

#endif
