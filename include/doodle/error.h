/* Error reporting shared by the whole library.
 *
 * Functions that can fail return 0 on success and -1 on failure, and fill a caller-owned dd_error with a code
 * (what kind of failure, so callers such as `doodle prep` can count skipped records by reason) and a message that
 * names the file, the line or record, and what is wrong. */
#ifndef DOODLE_ERROR_H
#define DOODLE_ERROR_H

#include <stdarg.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum dd_status {
    DD_OK = 0,
    DD_ERR_IO,          /* cannot open, read or write a file */
    DD_ERR_NOMEM,       /* an allocation failed */
    DD_ERR_MALFORMED,   /* not valid JSON / not the format the file claims (also a .bin or .gz cut short) */
    DD_ERR_EMPTY,       /* a drawing with no strokes or a stroke with no points */
    DD_ERR_MISMATCH,    /* a stroke whose x, y (and t) arrays have different lengths */
    DD_ERR_RANGE,       /* NaN, infinite or out-of-range coordinates or sizes */
    DD_ERR_TRUNCATED,   /* a file that ends in the middle of a record */
    DD_ERR_UNSUPPORTED, /* a valid file of a kind we do not read (wrong dtype, shape, version) */
    DD_ERR_USAGE,       /* bad arguments from the caller */
    DD_STATUS_COUNT
} dd_status;

typedef struct dd_error {
    dd_status code;
    char msg[512];
} dd_error;

/* Short lower-case name of a status, e.g. "malformed", used as a column name in prep's table. */
const char *dd_status_name(dd_status code);

/* Sets err (which may be NULL) and returns -1, so a failing function can `return dd_fail(err, ...)`. */
int dd_fail(dd_error *err, dd_status code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int dd_vfail(dd_error *err, dd_status code, const char *fmt, va_list ap);

/* Prefixes the message already in err with "prefix: ", e.g. the file name. Returns -1. */
int dd_error_prefix(dd_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void dd_error_clear(dd_error *err);

#ifdef __cplusplus
}
#endif
#endif
