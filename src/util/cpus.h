/* Moved to the public doodle/cpus.h; kept so that the library's includes of "util/cpus.h" need no change. */
#ifndef DOODLE_UTIL_CPUS_H
#define DOODLE_UTIL_CPUS_H

#include "doodle/cpus.h"

#endif
