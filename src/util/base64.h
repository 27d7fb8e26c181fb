/* Base64 (RFC 4648, '=' padded): the one encoder of doodle's inline pictures (doodle report's <img> tags, the
 * server's data: URIs). */
#ifndef DOODLE_UTIL_BASE64_H
#define DOODLE_UTIL_BASE64_H

#include <stddef.h>

/* Characters that n bytes encode to: 4 * ceil(n / 3) (no NUL). */
size_t util_base64_length(size_t n);
/* Writes the util_base64_length(n) characters of in[0 .. n) and a NUL to out. */
void util_base64_encode(const unsigned char *in, size_t n, char *out);

#endif
