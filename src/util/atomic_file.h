/* Moved to the public doodle/files.h; kept so that the library's includes of "util/atomic_file.h" need no change. */
#ifndef DOODLE_UTIL_ATOMIC_FILE_H
#define DOODLE_UTIL_ATOMIC_FILE_H

#include "doodle/files.h"

#endif
