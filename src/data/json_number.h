/* Exact, fast parsing of one JSON number (internal to the readers).
 *
 * The result is bit for bit what strtod returns for the same text (round to nearest, ties to even), so
 * coordinates read from ndjson are exactly the doubles Google's tools saw. Most numbers take a fast path; the
 * rest go through strtod on a NUL-terminated copy. Like strtod, this assumes the "C" LC_NUMERIC locale. */
#ifndef DOODLE_DATA_JSON_NUMBER_H
#define DOODLE_DATA_JSON_NUMBER_H

typedef enum dd_json_number_status {
    DD_JSON_NUMBER_OK = 0,
    DD_JSON_NUMBER_BAD,   /* the text at p is not a JSON number */
    DD_JSON_NUMBER_NOMEM  /* a very long number needed a copy that could not be allocated */
} dd_json_number_status;

/* Parses the JSON number starting at p (p < end; the text need not be NUL-terminated). On success stores the
 * value in *out and the first byte after the number in *next. Strict JSON grammar: -?(0|[1-9][0-9]*)(.[0-9]+)?
 * ([eE][+-]?[0-9]+)?; what follows the number is for the caller to check. Out-of-range values become ±inf or ±0
 * exactly as strtod makes them. */
dd_json_number_status dd_json_number(const char *p, const char *end, double *out, const char **next);

#endif
