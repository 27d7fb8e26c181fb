/* Kaggle-style CSV records (internal to the stroke reader): RFC 4180 fields, a header naming the columns.
 *
 * The reader splits the file into records (data_csv_record_end: a line end outside quotes ends a record) and hands
 * each one here without its line end. The header maps Quick, Draw! column names to positions, so any column
 * order works and unknown columns are ignored; only "drawing" is required. */
#ifndef DOODLE_DATA_CSV_H
#define DOODLE_DATA_CSV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "doodle/drawing.h"
#include "doodle/error.h"

#define DATA_CSV_MAX_COLUMNS 1024

typedef enum data_csv_column {
    DATA_CSV_DRAWING,
    DATA_CSV_WORD,
    DATA_CSV_COUNTRYCODE,
    DATA_CSV_TIMESTAMP,
    DATA_CSV_RECOGNIZED,
    DATA_CSV_KEY_ID,
    DATA_CSV_N_KNOWN
} data_csv_column;

typedef struct data_csv {
    uint32_t n_columns;           /* fields every record must have */
    int32_t at[DATA_CSV_N_KNOWN]; /* position of each known column, -1 when the header has none */
    char *scratch;                /* an escaped ("") drawing field, unescaped */
    size_t scratch_cap;
} data_csv;

void data_csv_init(data_csv *c);
void data_csv_free(data_csv *c);

/* Parses the header record. Fails (no file prefix) on bad quoting, a known column named twice, more than
 * DATA_CSV_MAX_COLUMNS columns, or no "drawing" column. */
int data_csv_header(data_csv *c, const char *text, size_t len, dd_error *err);

/* Parses one record (after the header) into d and validates it. Messages name the field ("word: …",
 * "drawing stroke 2 x: column 40: …", "5 fields but the header has 6"), without a file prefix. */
int data_csv_parse(data_csv *c, const char *text, size_t len, dd_drawing *d, dd_error *err);

/* Number of '"' in s[0, n): a '\n' ends a record when the quotes before it in the record are even. */
size_t data_csv_count_quotes(const char *s, size_t n);

#endif
