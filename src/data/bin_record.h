/* Reading one record of Google's .bin stroke format (internal; used by the stroke reader). */
#ifndef DOODLE_DATA_BIN_RECORD_H
#define DOODLE_DATA_BIN_RECORD_H

#include "data/gz_input.h"
#include "doodle/quickdraw.h"

/* Reads the next record from in into d. Returns DD_NEXT_OK, DD_NEXT_END at a clean end of file, DD_NEXT_BAD for a
 * record that was read whole but is not a valid drawing (the next call reads the next record), DD_NEXT_FATAL when
 * the file ends inside the record (DD_ERR_TRUNCATED) or cannot be read. Messages carry no file prefix. */
dd_next data_bin_read_record(data_gz_input *in, dd_drawing *d, dd_error *err);

#endif
