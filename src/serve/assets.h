/* The drawing page's files (src/serve/web/), compiled into the binary by cmake/embed_web.cmake. */
#ifndef DOODLE_SERVE_ASSETS_H
#define DOODLE_SERVE_ASSETS_H

#include <stddef.h>

typedef struct serve_asset {
    const char *path;         /* "/index.html" */
    const char *content_type; /* "text/html; charset=utf-8" */
    const unsigned char *data;
    size_t size;
} serve_asset;

/* Ends with an entry whose path is NULL. */
extern const serve_asset serve_assets[];

/* The asset served at a URL path ("/" is "/index.html"); NULL when there is none. */
const serve_asset *serve_asset_find(const char *url);

#endif
