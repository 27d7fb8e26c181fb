/* doodle export --web: the drawing page of doodle serve as a static site that runs the model in the browser with
 * onnxruntime-web (include/doodle/export.h, docs/export.md). The page is serve's own (index.html, app.js,
 * style.css, compiled in by cmake/embed_site.cmake) with src/export/web/site.js answering its requests in the page;
 * ORT-web is copied from its npm package's dist folder at export time. Every file the page loads is a classic
 * script or a stylesheet beside index.html, so that it works opened from disk: Chromium lets a file:// page neither
 * fetch() a file nor import a module, so the model and ORT's WebAssembly travel as base64 inside scripts. */
#define _POSIX_C_SOURCE 200809L /* lstat */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "doodle/export.h"
#include "doodle/files.h"
#include "export/site_assets.h"
#include "export/site_files.h"
#include "doodle/alloc.h"

#define MARKER ".doodle-site"
#define ORT_SCRIPT "ort.wasm.min.js"            /* ORT-web's API, the WebAssembly back end alone */
#define ORT_LOADER "ort-wasm-simd-threaded.mjs" /* Emscripten's loader of the plain (not JSEP) build */
#define ORT_WASM "ort-wasm-simd-threaded.wasm"  /* the smallest build that runs these models */

static const export_site_asset *asset(const char *name, dd_error *err) {
    for (const export_site_asset *a = export_site_assets; a->name; a++)
        if (!strcmp(a->name, name)) return a;
    dd_fail(err, DD_ERR_USAGE, "the site's %s is not compiled in (cmake/embed_site.cmake)", name);
    return NULL;
}

/* text with the first `from` replaced by `to`; a page that no longer holds `from` is a build error to report. */
static char *replace(char *text, const char *from, const char *to, dd_error *err) {
    if (!text) return NULL;
    char *at = strstr(text, from);
    if (!at) {
        dd_fail(err, DD_ERR_USAGE, "src/serve/web/index.html no longer holds '%s': update src/export/web_site.c", from);
        free(text);
        return NULL;
    }
    size_t head = (size_t)(at - text), nf = strlen(from), nt = strlen(to), tail = strlen(at + nf);
    char *out = dd_malloc(head + nt + tail + 1, 1, err);
    if (out) {
        memcpy(out, text, head);
        memcpy(out + head, to, nt);
        memcpy(out + head + nt, at + nf, tail + 1);
    }
    free(text);
    return out;
}

/* serve's index.html with relative links (file:// has no "/"), the site's scripts before app.js. */
static char *index_html(dd_error *err) {
    const export_site_asset *a = asset("index.html", err);
    if (!a) return NULL;
    char *t = dd_malloc(a->len + 1, 1, err);
    if (!t) return NULL;
    memcpy(t, a->bytes, a->len + 1);
    t = replace(t, "<link rel=\"stylesheet\" href=\"/style.css\">",
                "<link rel=\"stylesheet\" href=\"style.css\">\n<link rel=\"stylesheet\" href=\"site.css\">", err);
    t = replace(t, "<script src=\"/app.js\"></script>",
                "<script src=\"ort/" ORT_SCRIPT "\"></script>\n<script src=\"ort/ort-wasm.js\"></script>\n"
                "<script src=\"model.js\"></script>\n<script src=\"site.js\"></script>\n"
                "<script src=\"app.js\"></script>",
                err);
    return t;
}

/* window.NAME = JSON;\n, from j (deleted here). */
static int write_script(const char *path, const char *name, cJSON *j, size_t *bytes, dd_error *err) {
    char *json = j ? cJSON_PrintUnformatted(j) : NULL;
    cJSON_Delete(j);
    if (!json) return dd_fail(err, DD_ERR_NOMEM, "%s: out of memory", path);
    dd_atomic_file a;
    int rc = dd_atomic_open(&a, path, err);
    if (rc == 0) {
        if (fprintf(a.f, "// Written by doodle export --web: do not edit.\nwindow.%s = %s;\n", name, json) < 0)
            rc = dd_atomic_fail(&a, errno, err);
        else {
            *bytes += (size_t)ftell(a.f);
            rc = dd_atomic_commit(&a, err);
        }
    }
    free(json);
    return rc;
}

/* model.js: what /api/model says, the render settings, and the ONNX file's bytes. */
static int write_model_js(const dd_model *m, const char *dir, const char *onnx_path, size_t *bytes, dd_error *err) {
    size_t len;
    unsigned char *onnx = site_read_file(onnx_path, &len, err);
    if (!onnx) return -1;
    char *b64 = site_base64(onnx, len, err);
    free(onnx);
    if (!b64) return -1;
    const dd_model_spec *s = m->spec;
    cJSON *o = cJSON_CreateObject(), *classes = NULL, *in = NULL, *render = NULL;
    bool ok = o && cJSON_AddStringToObject(o, "name", s->name) &&
              cJSON_AddNumberToObject(o, "params", (double)(s->n_params + s->n_state)) &&
              (classes = cJSON_AddArrayToObject(o, "classes"));
    for (int i = 0; ok && i < s->classes; i++) {
        cJSON *name = cJSON_CreateString(m->class_names[i]);
        ok = name && cJSON_AddItemToArray(classes, name);
        if (!ok) cJSON_Delete(name);
    }
    ok = ok && (in = cJSON_AddObjectToObject(o, "input")) && cJSON_AddNumberToObject(in, "height", s->input.h) &&
         cJSON_AddNumberToObject(in, "width", s->input.w) && cJSON_AddNumberToObject(in, "channels", s->input.c) &&
         (render = cJSON_AddObjectToObject(o, "render")) &&
         cJSON_AddNumberToObject(render, "line_width", m->render.line_width) &&
         cJSON_AddNumberToObject(render, "padding", m->render.padding) && cJSON_AddStringToObject(o, "onnx", b64);
    free(b64);
    if (!ok) {
        cJSON_Delete(o);
        return dd_fail(err, DD_ERR_NOMEM, "model.js: out of memory");
    }
    char *path = dd_path_join_new(dir, "model.js", err);
    int rc = path ? write_script(path, "DOODLE_SITE_MODEL", o, bytes, err) : (cJSON_Delete(o), -1);
    free(path);
    return rc;
}

/* ort/ort.wasm.min.js as it is; ort/ort-wasm.js: the loader module's text and the WebAssembly, gzip then base64
 * (the page unzips it with DecompressionStream: 14 MB of WebAssembly travel as 4.9 MB of text). */
static int write_ort(const char *ort_dir, const char *site_ort, size_t *bytes, dd_error *err) {
    char *src = NULL, *dst = NULL, *loader = NULL, *b64 = NULL;
    unsigned char *data = NULL, *gz = NULL;
    size_t len, gz_len;
    int rc = -1;
    if (!(src = dd_path_join_new(ort_dir, ORT_SCRIPT, err)) || !(dst = dd_path_join_new(site_ort, ORT_SCRIPT, err)) ||
        !(data = site_read_file(src, &len, err)) || site_write_file(dst, data, len, err))
        goto done;
    *bytes += len;
    free(src);
    free(data);
    data = NULL;
    if (!(src = dd_path_join_new(ort_dir, ORT_LOADER, err)) || !(loader = (char *)site_read_file(src, &len, err)))
        goto done;
    free(src);
    if (!(src = dd_path_join_new(ort_dir, ORT_WASM, err)) || !(data = site_read_file(src, &len, err)) ||
        !(gz = site_gzip(data, len, &gz_len, err)) || !(b64 = site_base64(gz, gz_len, err)))
        goto done;
    cJSON *o = cJSON_CreateObject();
    if (!o || !cJSON_AddStringToObject(o, "loader", loader) || !cJSON_AddStringToObject(o, "wasm_gz", b64)) {
        cJSON_Delete(o);
        dd_fail(err, DD_ERR_NOMEM, "ort-wasm.js: out of memory");
        goto done;
    }
    free(dst);
    if (!(dst = dd_path_join_new(site_ort, "ort-wasm.js", err))) {
        cJSON_Delete(o);
        goto done;
    }
    rc = write_script(dst, "DOODLE_ORT", o, bytes, err);
done:
    free(src);
    free(dst);
    free(loader);
    free(b64);
    free(data);
    free(gz);
    return rc;
}

static int write_asset(const char *dir, const char *name, size_t *bytes, dd_error *err) {
    const export_site_asset *a = asset(name, err);
    char *path = a ? dd_path_join_new(dir, name, err) : NULL;
    int rc = path ? site_write_file(path, a->bytes, a->len, err) : -1;
    if (rc == 0) *bytes += a->len;
    free(path);
    return rc;
}

static int write_site(const dd_model *m, const char *ort_dir, const char *dir, dd_web_summary *sum, dd_error *err) {
    char *path = NULL, *html = NULL, *ort = NULL;
    int rc = -1;
    if (mkdir(dir, 0777) != 0) {
        dd_fail(err, DD_ERR_IO, "%s: cannot create the folder: %s", dir, strerror(errno));
        return -1;
    }
    static const char marker[] = "This folder was written by doodle export --web; doodle may replace it.\n";
    if (!(path = dd_path_join_new(dir, MARKER, err)) || site_write_file(path, marker, sizeof marker - 1, err))
        goto done;
    free(path);
    path = NULL;
    if (!(html = index_html(err)) || !(path = dd_path_join_new(dir, "index.html", err)) ||
        site_write_file(path, html, strlen(html), err))
        goto done;
    sum->page_bytes += strlen(html);
    const char *names[] = {"app.js", "style.css", "site.js", "site.css"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (write_asset(dir, names[i], &sum->page_bytes, err)) goto done;
    if (!(ort = dd_path_join_new(dir, "ort", err))) goto done;
    if (mkdir(ort, 0777) != 0) {
        dd_fail(err, DD_ERR_IO, "%s: cannot create the folder: %s", ort, strerror(errno));
        goto done;
    }
    if (write_ort(ort_dir, ort, &sum->page_bytes, err)) goto done;
    free(path);
    path = NULL;
    if (!(path = dd_path_join_new(dir, "model.onnx", err)) || dd_export_onnx(m, path, &sum->onnx, err) ||
        write_model_js(m, dir, path, &sum->model_js_bytes, err))
        goto done;
    rc = 0;
done:
    free(path);
    free(html);
    free(ort);
    return rc;
}

static bool is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int dd_export_web(const dd_model *m, const char *ort_dir, const char *dir, dd_web_summary *summary, dd_error *err) {
    dd_web_summary sum = {0};
    if (!dd_export_onnx_available()) return dd_export_onnx(m, dir, NULL, err); /* says why */
    if (m->spec->input.c != 1)
        return dd_fail(err, DD_ERR_UNSUPPORTED, "the model takes %d input channels; drawings have 1", m->spec->input.c);
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/') n--; /* "site/" and "site" are the same folder */
    char *target = dd_malloc(n + 5, 1, err), *tmp = NULL, *old = NULL;
    if (!target) return -1;
    memcpy(target, dir, n);
    target[n] = 0;
    int rc = -1;
    if (!(tmp = dd_malloc(n + 5, 1, err)) || !(old = dd_malloc(n + 5, 1, err))) goto done;
    snprintf(tmp, n + 5, "%s.tmp", target);
    snprintf(old, n + 5, "%s.old", target);
    struct stat st;
    bool exists = lstat(target, &st) == 0;
    if (exists && !S_ISDIR(st.st_mode)) {
        dd_fail(err, DD_ERR_IO, "%s: exists and is not a folder; choose another output", target);
        goto done;
    }
    if (exists && site_check_dir(target, err)) goto done; /* replaced only once the new site is complete */
    for (const char *stale = tmp; stale; stale = stale == tmp ? old : NULL)
        if (is_dir(stale) && site_remove_dir(stale, err)) {
            dd_error_prefix(err, "a leftover of an earlier export");
            goto done;
        }
    if (write_site(m, ort_dir, tmp, &sum, err)) {
        dd_error tmp_err;
        if (is_dir(tmp)) site_remove_dir(tmp, &tmp_err);
        goto done;
    }
    if (exists && rename(target, old) != 0) {
        dd_fail(err, DD_ERR_IO, "%s: cannot move the old site aside: %s", target, strerror(errno));
        goto done;
    }
    if (rename(tmp, target) != 0) {
        dd_fail(err, DD_ERR_IO, "%s: cannot rename %s to it: %s", target, tmp, strerror(errno));
        goto done;
    }
    if (exists && site_remove_dir(old, err)) goto done;
    if (summary) *summary = sum;
    rc = 0;
done:
    free(target);
    free(tmp);
    free(old);
    return rc;
}
