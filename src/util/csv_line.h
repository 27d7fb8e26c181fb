/* One line of a small CSV file (RFC 4180 quoting, no line break inside a field): what doodle reads back of its
 * own CSV outputs (explain quality's suspects, explain clusters' labels.csv) and of lists a person gives it. */
#ifndef DOODLE_UTIL_CSV_LINE_H
#define DOODLE_UTIL_CSV_LINE_H

/* Splits line (its end of line removed) in place into at most max fields; returns how many, or -1 on bad quoting
 * or more than max fields. */
int util_csv_line_split(char *line, char **fields, int max);

#endif
