/* The sub-verbs of `doodle explain` built on include/doodle/explain.h (clusters has its own, cmd_explain.c
 * dispatches): each parses its own options (argv[0] is the sub-verb's name) and returns the exit status. */
#ifndef DOODLE_CLI_EXPLAIN_VERBS_H
#define DOODLE_CLI_EXPLAIN_VERBS_H

#include <stddef.h>
#include <stdint.h>

#include "doodle/dataset.h"
#include "doodle/error.h"
#include "doodle/model.h"

int cmd_explain_misclassified(int argc, char **argv);
int cmd_explain_activations(int argc, char **argv);
int cmd_explain_saliency(int argc, char **argv);
int cmd_explain_quality(int argc, char **argv);

/* ---- shared by them ---- */

/* Loads the model and the dataset and checks that they fit (input size, classes by name). */
int explain_open(const char *model_path, const char *data_path, dd_model **m, dd_dataset **ds, dd_error *err);
/* Appends the comma-separated record numbers of text to *list (grown as needed). -1 on a bad number. */
int explain_parse_records(const char *text, uint64_t **list, size_t *n);
/* "test", "train" or "all" (-1); -2 for anything else. */
int explain_parse_split(const char *text);

#endif
