/* The file list moved to the data module's public header (dd_file_list in doodle/quickdraw.h): it knows the
 * Quick, Draw! formats, which util must not. This forwarding header keeps the old include of src/data/prep.c
 * building until that line is changed; then delete it. */
#ifndef DOODLE_UTIL_FILE_LIST_H
#define DOODLE_UTIL_FILE_LIST_H

#include "doodle/quickdraw.h"

#endif
