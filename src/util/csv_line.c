#include "util/csv_line.h"

#include <stdbool.h>
#include <string.h>

int util_csv_line_split(char *line, char **fields, int max) {
    int n = 0;
    char *p = line;
    for (;;) {
        if (n == max) return -1;
        if (*p == '"') {
            char *out = p, *in = p + 1;
            fields[n++] = out;
            for (;;) {
                if (!*in) return -1; /* a quote left open */
                if (*in == '"') {
                    if (in[1] == '"') {
                        *out++ = '"';
                        in += 2;
                        continue;
                    }
                    in++;
                    break;
                }
                *out++ = *in++;
            }
            if (*in != ',' && *in) return -1;
            bool more = *in == ',';
            *out = '\0';
            if (!more) return n;
            p = in + 1;
        } else {
            fields[n++] = p;
            char *comma = strchr(p, ',');
            if (!comma) return strchr(p, '"') ? -1 : n;
            *comma = '\0';
            if (strchr(p, '"')) return -1;
            p = comma + 1;
        }
    }
}
