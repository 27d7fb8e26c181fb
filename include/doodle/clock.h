/* The one clock doodle times its steps with (training epochs, clustering steps, benchmarks, the server's limits). */
#ifndef DOODLE_CLOCK_H
#define DOODLE_CLOCK_H

#ifdef __cplusplus
extern "C" {
#endif

/* Seconds on the monotonic clock (from an arbitrary start): differences are elapsed wall-clock time, never
 * affected by changes of the system's date. */
double dd_now_seconds(void);

#ifdef __cplusplus
}
#endif
#endif
