/* Files for doodle export --web (src/export/web_site.c): whole files read and written atomically, bytes as gzip and
 * base64 text, and the removal of a folder the export wrote. */
#ifndef DOODLE_EXPORT_SITE_FILES_H
#define DOODLE_EXPORT_SITE_FILES_H

#include <stddef.h>

#include "doodle/error.h"

/* The whole file, NUL-terminated (*len without the NUL); NULL and err on failure. Free with free(). */
unsigned char *site_read_file(const char *path, size_t *len, dd_error *err);
/* Writes the len bytes to path atomically (doodle/files.h). */
int site_write_file(const char *path, const void *bytes, size_t len, dd_error *err);
/* bytes as gzip (zlib, level 9); NULL and err on failure. */
unsigned char *site_gzip(const unsigned char *bytes, size_t len, size_t *out_len, dd_error *err);
/* bytes as base64 text, NUL-terminated (util/base64.h); NULL and err on failure. */
char *site_base64(const unsigned char *bytes, size_t len, dd_error *err);
/* Checks that dir is a site the export wrote: it holds the marker file ".doodle-site" and only the files the export
 * writes (a file of someone else's in it is named in err). */
int site_check_dir(const char *dir, dd_error *err);
/* Removes such a dir (site_check_dir first): its files, then its folders. */
int site_remove_dir(const char *dir, dd_error *err);

#endif
