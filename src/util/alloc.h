/* Moved to the public doodle/alloc.h; kept so that the library's includes of "util/alloc.h" need no change. */
#ifndef DOODLE_UTIL_ALLOC_H
#define DOODLE_UTIL_ALLOC_H

#include "doodle/alloc.h"

#endif
