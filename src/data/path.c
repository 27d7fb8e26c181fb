/* What a Quick, Draw! file name says: its format (dd_format_from_path) and its class (dd_class_from_path). */
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "doodle/quickdraw.h"

static bool ends_with(const char *s, size_t n, const char *suffix) {
    size_t k = strlen(suffix);
    return n >= k && strncasecmp(s + n - k, suffix, k) == 0;
}

/* Length of the file name without a trailing ".gz". */
static size_t without_gz(const char *name, size_t n) { return ends_with(name, n, ".gz") ? n - 3 : n; }

dd_format dd_format_from_path(const char *path) {
    size_t n = without_gz(path, strlen(path));
    if (ends_with(path, n, ".ndjson") || ends_with(path, n, ".json")) return DD_FORMAT_NDJSON;
    if (ends_with(path, n, ".bin")) return DD_FORMAT_BIN;
    if (ends_with(path, n, ".npy")) return DD_FORMAT_NPY;
    if (ends_with(path, n, ".csv")) return DD_FORMAT_CSV;
    return DD_FORMAT_UNKNOWN;
}

int dd_class_from_path(const char *path, char out[DD_WORD_MAX], dd_error *err) {
    const char *name = strrchr(path, '/');
    name = name ? name + 1 : path;
    size_t n = without_gz(name, strlen(name));
    static const char *const extensions[] = {".ndjson", ".json", ".bin", ".npy", ".csv"};
    for (size_t i = 0; i < sizeof extensions / sizeof *extensions; i++)
        if (ends_with(name, n, extensions[i])) {
            n -= strlen(extensions[i]);
            break;
        }
    static const char *const prefixes[] = {"full_numpy_bitmap_", "full_simplified_", "full_raw_", "full_binary_"};
    for (size_t i = 0; i < sizeof prefixes / sizeof *prefixes; i++) {
        size_t k = strlen(prefixes[i]);
        if (n > k && strncmp(name, prefixes[i], k) == 0) {
            name += k;
            n -= k;
            break;
        }
    }
    if (n == 0) return dd_fail(err, DD_ERR_USAGE, "%s: no class name in the file name", path);
    if (n >= DD_WORD_MAX)
        return dd_fail(err, DD_ERR_RANGE, "%s: class name is %zu bytes long; at most %d fit", path, n, DD_WORD_MAX - 1);
    for (size_t i = 0; i < n; i++) out[i] = name[i] == '_' ? ' ' : name[i];
    out[n] = '\0';
    return 0;
}
