/* The built-in networks' cfg texts, compiled into the library from models/<name>.cfg by cmake/embed_models.cmake. */
#ifndef DOODLE_NN_BUILTIN_MODELS_H
#define DOODLE_NN_BUILTIN_MODELS_H

#include <stddef.h>

typedef struct nn_builtin_model {
    const char *name; /* the file name without .cfg */
    const char *text; /* NUL-terminated */
    size_t len;       /* bytes of text, without the NUL */
} nn_builtin_model;

/* In alphabetical order of name, ended by an entry whose name is NULL. */
extern const nn_builtin_model nn_builtin_models[];
extern const size_t nn_builtin_model_count;

#endif
