/* The static site's page, compiled in by cmake/embed_site.cmake: doodle serve's index.html, app.js and style.css,
 * and src/export/web/site.js and site.css. */
#ifndef DOODLE_EXPORT_SITE_ASSETS_H
#define DOODLE_EXPORT_SITE_ASSETS_H

#include <stddef.h>

typedef struct export_site_asset {
    const char *name;           /* the file's name, e.g. "app.js" */
    const unsigned char *bytes; /* NUL-terminated */
    size_t len;
} export_site_asset;

extern const export_site_asset export_site_assets[]; /* ends with {0} */

#endif
