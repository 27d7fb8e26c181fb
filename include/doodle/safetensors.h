/* safetensors files: 8-byte little-endian header length N, N bytes of JSON
 * {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, …, "__metadata__": {"key": "value"}},
 * then the raw little-endian tensor bytes. This is the format of doodle's model and checkpoint files, readable by
 * PyTorch tools (../shared/peers/safetensors_np.py reads it with numpy alone).
 *
 * Reading maps the file and checks everything the header claims before any tensor is used: the header length,
 * valid JSON, known dtypes, shapes whose byte size equals the data range, ranges inside the data section that
 * neither overlap nor leave gaps. Writing goes through a temporary file renamed into place. */
#ifndef DOODLE_SAFETENSORS_H
#define DOODLE_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "doodle/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum dd_st_dtype { DD_ST_F32 = 0, DD_ST_F64, DD_ST_I64, DD_ST_I32, DD_ST_U8, DD_ST_DTYPE_COUNT } dd_st_dtype;

#define DD_ST_MAX_DIMS 8

typedef struct dd_st_tensor {
    const char *name;
    dd_st_dtype dtype;
    int ndim;
    int64_t shape[DD_ST_MAX_DIMS];
    const void *data; /* reading: inside the mapping, little-endian; writing: the caller's bytes */
    size_t nbytes;
} dd_st_tensor;

size_t dd_st_dtype_size(dd_st_dtype t);
const char *dd_st_dtype_name(dd_st_dtype t); /* "F32", … */

/* ---- writing ---- */

typedef struct dd_st_writer dd_st_writer;

dd_st_writer *dd_st_writer_new(dd_error *err);
/* Adds a tensor; data (nbytes = product(shape) * dtype size) must stay valid until dd_st_write. Names are unique. */
int dd_st_writer_add(dd_st_writer *w, const char *name, dd_st_dtype dtype, int ndim, const int64_t *shape,
                     const void *data, dd_error *err);
/* Adds a string to __metadata__ (any text: it is JSON-escaped). */
int dd_st_writer_metadata(dd_st_writer *w, const char *key, const char *value, dd_error *err);
/* Writes everything to path atomically (tensors in the order added, 8-byte aligned header). */
int dd_st_write(dd_st_writer *w, const char *path, dd_error *err);
void dd_st_writer_free(dd_st_writer *w);

/* ---- reading ---- */

typedef struct dd_st_file dd_st_file;

dd_st_file *dd_st_open(const char *path, dd_error *err);
void dd_st_close(dd_st_file *f);
size_t dd_st_count(const dd_st_file *f);
const dd_st_tensor *dd_st_at(const dd_st_file *f, size_t i);
/* NULL when there is no such tensor. */
const dd_st_tensor *dd_st_find(const dd_st_file *f, const char *name);
/* NULL when the key is not in __metadata__. */
const char *dd_st_metadata(const dd_st_file *f, const char *key);

#ifdef __cplusplus
}
#endif
#endif
