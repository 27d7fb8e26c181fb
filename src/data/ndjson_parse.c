/* dd_ndjson_parse: one Quick, Draw! ndjson object -> dd_drawing.
 *
 * A hand-written single-pass parser over (text, len) (no NUL terminator needed). Known keys are decoded into the
 * drawing's fields, unknown keys are skipped (nesting limited to DD_JSON_MAX_DEPTH), and the strokes are parsed
 * straight into the drawing's reused x/y/t arrays, so parsing a file allocates only while the arrays still grow.
 * Errors: DD_ERR_MALFORMED with the 1-based byte column, DD_ERR_MISMATCH for x/y/t of different lengths,
 * DD_ERR_RANGE for too-long fields or bad values, and whatever dd_drawing_validate reports. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "data/json_number.h"
#include "doodle/quickdraw.h"

#define DD_JSON_MAX_DEPTH 64

typedef struct parser {
    const char *begin, *p, *end;
    size_t column0; /* added to every column in messages: where text starts in the caller's line */
    dd_drawing *d;
    dd_error *err;
    const char *field; /* the key being parsed, for messages ("" at top level) */
    uint32_t stroke;   /* 1-based stroke being parsed inside "drawing", 0 outside */
    int array;         /* 0/1/2 = x/y/t array of that stroke, -1 outside */
} parser;

static const char *const array_names[3] = {"x", "y", "t"};

/* "drawing stroke 3 x" / "word" / "" */
static void describe_field(const parser *ps, char *buf, size_t size) {
    if (ps->stroke && ps->array >= 0)
        snprintf(buf, size, "%s stroke %u %s: ", ps->field, ps->stroke, array_names[ps->array]);
    else if (ps->stroke)
        snprintf(buf, size, "%s stroke %u: ", ps->field, ps->stroke);
    else if (ps->field[0])
        snprintf(buf, size, "%s: ", ps->field);
    else
        buf[0] = '\0';
}

/* Fails with a message "<field>: column N: <what>" pointing at byte `at`. */
__attribute__((format(printf, 4, 5))) static int fail_at(parser *ps, dd_status code, const char *at, const char *fmt,
                                                         ...) {
    char field[96], what[320];
    describe_field(ps, field, sizeof field);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return dd_fail(ps->err, code, "%scolumn %zu: %s", field, ps->column0 + (size_t)(at - ps->begin) + 1, what);
}

/* Fails with "<field>: <what>" (for errors that are about values, not about a position). */
__attribute__((format(printf, 3, 4))) static int fail_field(parser *ps, dd_status code, const char *fmt, ...) {
    char field[96], what[320];
    describe_field(ps, field, sizeof field);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return dd_fail(ps->err, code, "%s%s", field, what);
}

/* Describes the byte at p for "expected X, found Y" messages. */
static const char *found(const parser *ps, const char *p, char buf[16]) {
    if (p >= ps->end) return "the end of the line";
    unsigned char c = (unsigned char)*p;
    if (c >= 0x20 && c < 0x7f)
        snprintf(buf, 16, "'%c'", c);
    else
        snprintf(buf, 16, "byte 0x%02x", c);
    return buf;
}

static int expected(parser *ps, const char *what) {
    char buf[16];
    return fail_at(ps, DD_ERR_MALFORMED, ps->p, "expected %s, found %s", what, found(ps, ps->p, buf));
}

static inline bool is_ws(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

static inline const char *skip_ws_at(const char *p, const char *end) {
    while (p < end && is_ws(*p)) p++;
    return p;
}

static inline void skip_ws(parser *ps) { ps->p = skip_ws_at(ps->p, ps->end); }

static inline bool take(parser *ps, char c) {
    if (ps->p < ps->end && *ps->p == c) {
        ps->p++;
        return true;
    }
    return false;
}

static int hex4(const char *p, const char *end, uint32_t *out) {
    if (end - p < 4) return -1;
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        int h = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (h < 0) return -1;
        v = v * 16 + (uint32_t)h;
    }
    *out = v;
    return 0;
}

/* Parses a JSON string (ps->p at the opening quote) and decodes it into out[cap] as UTF-8, NUL-terminated.
 * When out is NULL the string is only checked and skipped. When it does not fit: with *too_long == NULL that is an
 * error naming the field, else *too_long is set and the string is skipped. */
static int parse_string(parser *ps, char *out, size_t cap, bool *too_long) {
    if (!take(ps, '"')) return expected(ps, "a string");
    const char *p = ps->p, *end = ps->end;
    /* fast path: no escapes or control characters before the closing quote */
    const char *q = p;
    while (q < end && *q != '"' && *q != '\\' && (unsigned char)*q >= 0x20) q++;
    if (q < end && *q == '"') {
        size_t len = (size_t)(q - p);
        ps->p = q + 1;
        if (!out) return 0;
        if (len >= cap) {
            if (too_long) {
                *too_long = true;
                return 0;
            }
            return fail_field(ps, DD_ERR_RANGE, "longer than %zu bytes", cap - 1);
        }
        memcpy(out, p, len);
        out[len] = '\0';
        if (too_long) *too_long = false;
        return 0;
    }
    size_t n = 0;
    bool overflow = false;
    for (;;) {
        if (p >= end) {
            ps->p = p;
            return fail_at(ps, DD_ERR_MALFORMED, p, "unterminated string");
        }
        unsigned char c = (unsigned char)*p;
        char utf8[4];
        size_t len = 1;
        if (c == '"') {
            p++;
            break;
        } else if (c < 0x20) {
            return fail_at(ps, DD_ERR_MALFORMED, p, "control character 0x%02x inside a string", c);
        } else if (c != '\\') {
            utf8[0] = (char)c;
            p++;
        } else {
            const char *esc = p;
            if (p + 1 >= end) return fail_at(ps, DD_ERR_MALFORMED, p, "unterminated string");
            char e = p[1];
            p += 2;
            switch (e) {
            case '"': utf8[0] = '"'; break;
            case '\\': utf8[0] = '\\'; break;
            case '/': utf8[0] = '/'; break;
            case 'b': utf8[0] = '\b'; break;
            case 'f': utf8[0] = '\f'; break;
            case 'n': utf8[0] = '\n'; break;
            case 'r': utf8[0] = '\r'; break;
            case 't': utf8[0] = '\t'; break;
            case 'u': {
                uint32_t cp;
                if (hex4(p, end, &cp)) return fail_at(ps, DD_ERR_MALFORMED, esc, "bad \\u escape (need 4 hex digits)");
                p += 4;
                if (cp >= 0xD800 && cp <= 0xDBFF) {
                    uint32_t lo;
                    if (end - p < 6 || p[0] != '\\' || p[1] != 'u' || hex4(p + 2, end, &lo) || lo < 0xDC00 ||
                        lo > 0xDFFF)
                        return fail_at(ps, DD_ERR_MALFORMED, esc, "\\u%04X is a high surrogate without a low one", cp);
                    p += 6;
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                    return fail_at(ps, DD_ERR_MALFORMED, esc, "\\u%04X is a low surrogate without a high one", cp);
                }
                if (cp == 0 && out) return fail_at(ps, DD_ERR_MALFORMED, esc, "\\u0000 (NUL) inside a text field");
                if (cp < 0x80) {
                    utf8[0] = (char)cp;
                } else if (cp < 0x800) {
                    utf8[0] = (char)(0xC0 | (cp >> 6));
                    utf8[1] = (char)(0x80 | (cp & 0x3F));
                    len = 2;
                } else if (cp < 0x10000) {
                    utf8[0] = (char)(0xE0 | (cp >> 12));
                    utf8[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
                    utf8[2] = (char)(0x80 | (cp & 0x3F));
                    len = 3;
                } else {
                    utf8[0] = (char)(0xF0 | (cp >> 18));
                    utf8[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
                    utf8[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
                    utf8[3] = (char)(0x80 | (cp & 0x3F));
                    len = 4;
                }
                break;
            }
            default:
                return fail_at(ps, DD_ERR_MALFORMED, esc, "unknown escape '\\%c'", e >= 0x20 && e < 0x7f ? e : '?');
            }
        }
        if (out && !overflow) {
            if (n + len >= cap) {
                overflow = true;
            } else {
                memcpy(out + n, utf8, len);
                n += len;
            }
        }
    }
    ps->p = p;
    if (out) out[n] = '\0';
    if (overflow) {
        if (too_long) {
            *too_long = true;
            return 0;
        }
        return fail_field(ps, DD_ERR_RANGE, "longer than %zu bytes", cap - 1);
    }
    if (too_long) *too_long = false;
    return 0;
}

static int parse_literal(parser *ps, const char *word) {
    size_t n = strlen(word);
    if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0) return -1;
    ps->p += n;
    return 0;
}

/* Numbers where JSON allows them: strict JSON, plus NaN / Infinity / -Infinity as Python's json writes them (so
 * that such a drawing is reported as out of range rather than as unreadable). */
static int parse_number(parser *ps, double *out) {
    const char *next;
    data_json_number_status st = data_json_number(ps->p, ps->end, out, &next);
    if (st == DATA_JSON_NUMBER_OK) {
        ps->p = next;
        return 0;
    }
    if (st == DATA_JSON_NUMBER_NOMEM) return fail_at(ps, DD_ERR_NOMEM, ps->p, "out of memory copying a long number");
    if (parse_literal(ps, "NaN") == 0) {
        *out = __builtin_nan("");
        return 0;
    }
    if (parse_literal(ps, "Infinity") == 0) {
        *out = __builtin_inf();
        return 0;
    }
    if (parse_literal(ps, "-Infinity") == 0) {
        *out = -__builtin_inf();
        return 0;
    }
    return expected(ps, "a number");
}

static int skip_value(parser *ps, int depth) {
    skip_ws(ps);
    if (ps->p >= ps->end) return expected(ps, "a value");
    char c = *ps->p;
    if (c == '"') return parse_string(ps, NULL, 0, NULL);
    if (c == '{' || c == '[') {
        if (depth >= DD_JSON_MAX_DEPTH)
            return fail_at(ps, DD_ERR_MALFORMED, ps->p, "nested deeper than %d levels", DD_JSON_MAX_DEPTH);
        char close = c == '{' ? '}' : ']';
        ps->p++;
        skip_ws(ps);
        if (take(ps, close)) return 0;
        for (;;) {
            if (c == '{') {
                skip_ws(ps);
                if (parse_string(ps, NULL, 0, NULL)) return -1;
                skip_ws(ps);
                if (!take(ps, ':')) return expected(ps, "':'");
            }
            if (skip_value(ps, depth + 1)) return -1;
            skip_ws(ps);
            if (take(ps, close)) return 0;
            if (!take(ps, ',')) return expected(ps, c == '{' ? "',' or '}'" : "',' or ']'");
        }
    }
    if (parse_literal(ps, "true") == 0 || parse_literal(ps, "false") == 0 || parse_literal(ps, "null") == 0) return 0;
    double ignored;
    return parse_number(ps, &ignored);
}

/* One array of numbers, stored from index `base` of x, y or t. */
static int parse_number_array(parser *ps, int which, uint32_t base, uint32_t *count) {
    dd_drawing *d = ps->d;
    ps->array = which;
    skip_ws(ps);
    if (!take(ps, '[')) return expected(ps, "'[' starting an array of numbers");
    skip_ws(ps);
    uint32_t i = base;
    if (!take(ps, ']')) {
        bool with_times = which == 2 || d->has_times;
        double *arr = which == 0 ? d->x : which == 1 ? d->y : d->t;
        uint32_t cap = d->cap_points;
        const char *p = ps->p, *end = ps->end;
        for (;;) {
            if (i >= cap || !arr) {
                if (i == UINT32_MAX) return fail_field(ps, DD_ERR_RANGE, "too many points");
                if (dd_drawing_reserve(d, d->n_strokes + 1, i + 1, with_times, ps->err)) return -1;
                arr = which == 0 ? d->x : which == 1 ? d->y : d->t;
                cap = d->cap_points;
            }
            const char *next;
            if (data_json_number(p, end, &arr[i], &next) != DATA_JSON_NUMBER_OK) { /* NaN, errors: the careful route */
                ps->p = p;
                if (parse_number(ps, &arr[i])) return -1;
                next = ps->p;
            }
            p = next;
            i++;
            if (p < end && is_ws(*p)) p = skip_ws_at(p, end);
            if (p < end && *p == ',') {
                p++;
                if (p < end && is_ws(*p)) p = skip_ws_at(p, end);
                continue;
            }
            ps->p = p;
            if (take(ps, ']')) break;
            return expected(ps, "',' or ']'");
        }
    }
    *count = i - base;
    ps->array = -1;
    return 0;
}

/* "drawing": [ [[x…],[y…]] or [[x…],[y…],[t…]], … ] */
static int parse_drawing(parser *ps) {
    dd_drawing *d = ps->d;
    d->n_strokes = d->n_points = 0;
    d->has_times = false;
    int arrays_per_stroke = 0;
    skip_ws(ps);
    if (!take(ps, '[')) return expected(ps, "'[' starting the list of strokes");
    skip_ws(ps);
    if (take(ps, ']')) return 0; /* no strokes: dd_drawing_validate reports it */
    for (;;) {
        ps->stroke = d->n_strokes + 1;
        skip_ws(ps);
        if (!take(ps, '[')) return expected(ps, "'[' starting a stroke");
        uint32_t base = d->n_points, counts[3] = {0, 0, 0};
        int n = 0;
        skip_ws(ps);
        if (!take(ps, ']')) {
            for (;;) {
                if (n == 3)
                    return fail_at(ps, DD_ERR_MALFORMED, ps->p,
                                   "more than 3 arrays (expected [x…],[y…] and optionally [t…])");
                if (parse_number_array(ps, n, base, &counts[n])) return -1;
                n++;
                skip_ws(ps);
                if (take(ps, ']')) break;
                if (!take(ps, ',')) return expected(ps, "',' or ']'");
            }
        }
        if (n < 2)
            return fail_field(ps, DD_ERR_MALFORMED, "has %d array%s; expected [x…],[y…] and optionally [t…]", n,
                              n == 1 ? "" : "s");
        if (d->n_strokes == 0) {
            arrays_per_stroke = n;
            d->has_times = n == 3;
        } else if (n != arrays_per_stroke) {
            return fail_field(ps, DD_ERR_MISMATCH, "has %d arrays but stroke 1 has %d (%s)", n, arrays_per_stroke,
                              arrays_per_stroke == 3 ? "x, y and t" : "x and y");
        }
        if (counts[1] != counts[0])
            return fail_field(ps, DD_ERR_MISMATCH, "x has %u points but y has %u", counts[0], counts[1]);
        if (n == 3 && counts[2] != counts[0])
            return fail_field(ps, DD_ERR_MISMATCH, "x has %u points but t has %u", counts[0], counts[2]);
        d->n_points = base + counts[0];
        if (dd_drawing_reserve(d, d->n_strokes + 1, d->n_points, d->has_times, ps->err)) return -1;
        d->stroke_end[d->n_strokes++] = d->n_points;
        skip_ws(ps);
        if (take(ps, ']')) break;
        if (!take(ps, ',')) {
            ps->stroke = 0;
            return expected(ps, "',' or ']' after a stroke");
        }
    }
    ps->stroke = 0;
    return 0;
}

static int parse_key_id(parser *ps) {
    dd_drawing *d = ps->d;
    skip_ws(ps);
    if (parse_literal(ps, "null") == 0) {
        d->key_id = 0;
        return 0;
    }
    bool quoted = take(ps, '"');
    const char *start = ps->p;
    uint64_t v = 0;
    while (ps->p < ps->end && (unsigned)(*ps->p - '0') < 10) {
        unsigned digit = (unsigned)(*ps->p - '0');
        if (v > (UINT64_MAX - digit) / 10) return fail_field(ps, DD_ERR_RANGE, "does not fit in 64 bits");
        v = v * 10 + digit;
        ps->p++;
    }
    if (ps->p == start) return expected(ps, quoted ? "digits" : "a string of digits or a number");
    if (quoted) {
        if (!take(ps, '"')) return expected(ps, "a digit or '\"'");
    } else if (ps->p < ps->end && (*ps->p == '.' || *ps->p == 'e' || *ps->p == 'E')) {
        return fail_at(ps, DD_ERR_MALFORMED, ps->p, "key_id must be a whole number");
    }
    d->key_id = v;
    return 0;
}

typedef enum key_kind {
    KEY_OTHER,
    KEY_DRAWING,
    KEY_WORD,
    KEY_COUNTRYCODE,
    KEY_TIMESTAMP,
    KEY_RECOGNIZED,
    KEY_KEY_ID
} key_kind;

static key_kind classify_key(const char *key) {
    switch (key[0]) { /* one comparison per key instead of a chain */
    case 'd': return strcmp(key, "drawing") == 0 ? KEY_DRAWING : KEY_OTHER;
    case 'w': return strcmp(key, "word") == 0 ? KEY_WORD : KEY_OTHER;
    case 'c': return strcmp(key, "countrycode") == 0 ? KEY_COUNTRYCODE : KEY_OTHER;
    case 't': return strcmp(key, "timestamp") == 0 ? KEY_TIMESTAMP : KEY_OTHER;
    case 'r': return strcmp(key, "recognized") == 0 ? KEY_RECOGNIZED : KEY_OTHER;
    case 'k': return strcmp(key, "key_id") == 0 ? KEY_KEY_ID : KEY_OTHER;
    default: return KEY_OTHER;
    }
}

int dd_ndjson_parse_drawing(const char *text, size_t len, size_t column0, dd_drawing *d, dd_error *err) {
    parser ps = {.begin = text,
                 .p = text,
                 .end = text + len,
                 .column0 = column0,
                 .d = d,
                 .err = err,
                 .field = "drawing",
                 .stroke = 0,
                 .array = -1};
    if (parse_drawing(&ps)) return -1;
    skip_ws(&ps);
    if (ps.p < ps.end) return fail_at(&ps, DD_ERR_MALFORMED, ps.p, "unexpected text after the drawing");
    return 0;
}

int dd_ndjson_parse(const char *text, size_t len, dd_drawing *d, dd_error *err) {
    parser ps = {
        .begin = text, .p = text, .end = text + len, .d = d, .err = err, .field = "", .stroke = 0, .array = -1};
    dd_drawing_clear(d);
    bool have_drawing = false;
    skip_ws(&ps);
    if (!take(&ps, '{')) return expected(&ps, "'{' starting a JSON object");
    skip_ws(&ps);
    if (!take(&ps, '}')) {
        for (;;) {
            char key[16];
            bool long_key;
            ps.field = "";
            skip_ws(&ps);
            if (ps.p < ps.end && *ps.p != '"') return expected(&ps, "'\"' starting a key");
            if (parse_string(&ps, key, sizeof key, &long_key)) return -1;
            key_kind kind = long_key ? KEY_OTHER : classify_key(key); /* a long key is none we know */
            skip_ws(&ps);
            if (!take(&ps, ':')) return expected(&ps, "':' after a key");
            skip_ws(&ps);
            int rc;
            if (kind == KEY_DRAWING) {
                ps.field = "drawing";
                rc = parse_drawing(&ps);
                have_drawing = true;
            } else if (kind == KEY_WORD) {
                ps.field = "word";
                rc = parse_literal(&ps, "null") == 0 ? (d->word[0] = '\0', 0)
                                                     : parse_string(&ps, d->word, sizeof d->word, NULL);
            } else if (kind == KEY_COUNTRYCODE) {
                ps.field = "countrycode";
                const char *at = ps.p;
                rc = parse_literal(&ps, "null") == 0 ? (d->countrycode[0] = '\0', 0)
                                                     : parse_string(&ps, d->countrycode, sizeof d->countrycode, NULL);
                if (rc == 0 && d->countrycode[0] &&
                    !(d->countrycode[1] && (unsigned)((d->countrycode[0] | 0x20) - 'a') < 26 &&
                      (unsigned)((d->countrycode[1] | 0x20) - 'a') < 26))
                    rc = fail_at(&ps, DD_ERR_MALFORMED, at, "\"%s\" is not two letters", d->countrycode);
            } else if (kind == KEY_TIMESTAMP) {
                ps.field = "timestamp";
                rc = parse_literal(&ps, "null") == 0 ? (d->timestamp[0] = '\0', 0)
                                                     : parse_string(&ps, d->timestamp, sizeof d->timestamp, NULL);
            } else if (kind == KEY_RECOGNIZED) {
                ps.field = "recognized";
                if (parse_literal(&ps, "true") == 0)
                    d->recognized = 1, rc = 0;
                else if (parse_literal(&ps, "false") == 0)
                    d->recognized = 0, rc = 0;
                else if (parse_literal(&ps, "null") == 0)
                    d->recognized = -1, rc = 0;
                else
                    rc = expected(&ps, "true or false");
            } else if (kind == KEY_KEY_ID) {
                ps.field = "key_id";
                rc = parse_key_id(&ps);
            } else {
                rc = skip_value(&ps, 1);
            }
            if (rc) return -1;
            ps.field = "";
            skip_ws(&ps);
            if (take(&ps, '}')) break;
            if (!take(&ps, ',')) return expected(&ps, "',' or '}'");
        }
    }
    skip_ws(&ps);
    if (ps.p < ps.end) return fail_at(&ps, DD_ERR_MALFORMED, ps.p, "unexpected text after the JSON object");
    if (!have_drawing) return dd_fail(err, DD_ERR_MALFORMED, "no \"drawing\" key");
    if (dd_drawing_validate(d, err)) {
        if (err && strncmp(err->msg, "drawing", 7) != 0) dd_error_prefix(err, "drawing");
        return -1;
    }
    return 0;
}
