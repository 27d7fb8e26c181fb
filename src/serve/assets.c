#include "serve/assets.h"

#include <string.h>

const serve_asset *serve_asset_find(const char *url) {
    if (!strcmp(url, "/"))
        url = "/index.html";
    else if (!strcmp(url, "/mistakes"))
        url = "/mistakes.html";
    for (const serve_asset *a = serve_assets; a->path; a++)
        if (!strcmp(a->path, url)) return a;
    return NULL;
}
