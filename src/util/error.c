#define _POSIX_C_SOURCE 200809L /* strnlen */
#include "doodle/error.h"

#include <stdio.h>
#include <string.h>

static const char *const status_names[DD_STATUS_COUNT] = {
    [DD_OK] = "ok",
    [DD_ERR_IO] = "io",
    [DD_ERR_NOMEM] = "nomem",
    [DD_ERR_MALFORMED] = "malformed",
    [DD_ERR_EMPTY] = "empty",
    [DD_ERR_MISMATCH] = "mismatch",
    [DD_ERR_RANGE] = "range",
    [DD_ERR_TRUNCATED] = "truncated",
    [DD_ERR_UNSUPPORTED] = "unsupported",
    [DD_ERR_USAGE] = "usage",
};

const char *dd_status_name(dd_status code) { return (unsigned)code < DD_STATUS_COUNT ? status_names[code] : "unknown"; }

int dd_vfail(dd_error *err, dd_status code, const char *fmt, va_list ap) {
    if (err) {
        err->code = code;
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    }
    return -1;
}

int dd_fail(dd_error *err, dd_status code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    dd_vfail(err, code, fmt, ap);
    va_end(ap);
    return -1;
}

int dd_error_prefix(dd_error *err, const char *fmt, ...) {
    if (!err) return -1;
    char prefix[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    size_t n = strlen(prefix);
    if (n + 2 >= sizeof err->msg) n = sizeof err->msg - 3;
    size_t rest = strnlen(err->msg, sizeof err->msg - 1);
    if (n + 2 + rest >= sizeof err->msg) rest = sizeof err->msg - 1 - n - 2;
    memmove(err->msg + n + 2, err->msg, rest);
    memcpy(err->msg, prefix, n);
    err->msg[n] = ':';
    err->msg[n + 1] = ' ';
    err->msg[n + 2 + rest] = '\0';
    return -1;
}

void dd_error_clear(dd_error *err) {
    if (!err) return;
    err->code = DD_OK;
    err->msg[0] = '\0';
}
