/* How many threads "every core" means here. */
#ifndef DOODLE_CPUS_H
#define DOODLE_CPUS_H

#ifdef __cplusplus
extern "C" {
#endif

/* The online CPUs, at least 1 and at most max. */
int dd_cpu_count(int max);

#ifdef __cplusplus
}
#endif
#endif
