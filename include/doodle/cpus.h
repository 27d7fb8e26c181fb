/* How many threads "every core" means here. */
#ifndef DOODLE_CPUS_H
#define DOODLE_CPUS_H

#ifdef __cplusplus
extern "C" {
#endif

/* The online CPUs, at least 1 and at most max; or, after dd_set_thread_count(n), n (at most max). */
int dd_cpu_count(int max);

/* `--threads N` of the verbs whose library calls take no thread count (eval, explain, report): every later
 * dd_cpu_count uses n threads instead of the online CPUs (the same n, the same bits); 0 goes back to every core
 * (the default). Counts passed explicitly (training's, t-SNE's) are not changed. Set it once, before any work
 * starts. */
void dd_set_thread_count(int n);

#ifdef __cplusplus
}
#endif
#endif
