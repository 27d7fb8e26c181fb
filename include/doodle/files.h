/* Writing the files users keep: folders made as needed, and files written atomically.
 *
 * Atomic writes: write into a temporary file beside the target, flush and fsync it, rename it over the target, then
 * fsync the folder. A crash or an error part-way leaves the old file (if any) untouched and no partial file under
 * the target's name.
 *
 * A process killed part-way (kill -9, a power cut) leaves its temporary file `PATH.tmp.XXXXXX` behind. The writer
 * holds an exclusive flock() on its temporary file from creation to rename, and the lock dies with the process;
 * so dd_atomic_open(PATH) first removes every `PATH.tmp.??????` that nobody holds (stale), and never one that a
 * live writer, in this process or another, still holds. It does so silently: a leftover is not an error. */
#ifndef DOODLE_FILES_H
#define DOODLE_FILES_H

#include <stdio.h>

#include "doodle/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Creates dir and its missing parents (like mkdir -p); an existing non-directory is an error. */
int dd_make_dir(const char *dir, dd_error *err);
/* "dir/name" into buf [size]: the one path join. DD_ERR_RANGE (naming both) when it does not fit. */
int dd_path_join(char *buf, size_t size, const char *dir, const char *name, dd_error *err);
/* "dir/name" in a new string (free it); NULL with err set when out of memory. */
char *dd_path_join_new(const char *dir, const char *name, dd_error *err);

typedef struct dd_atomic_file {
    FILE *f;        /* write here */
    char *path;     /* final name */
    char *tmp_path; /* temporary name in the same directory */
} dd_atomic_file;

int dd_atomic_open(dd_atomic_file *a, const char *path, dd_error *err);
/* Checks every write went through, fsyncs, renames into place and fsyncs the folder. Frees a either way. */
int dd_atomic_commit(dd_atomic_file *a, dd_error *err);
/* A write to a.f failed: sets err to "PATH: write failed: REASON" and removes the temporary file; returns -1. REASON
 * is strerror(errnum) when the caller kept the failing call's errno, else (errnum 0) what the file system says: no
 * space left on the device, the file size limit, or an I/O error. */
int dd_atomic_fail(dd_atomic_file *a, int errnum, dd_error *err);
/* Removes the temporary file. Safe to call on a file that was never opened or already committed. */
void dd_atomic_abort(dd_atomic_file *a);
/* Removes the stale temporary files of path (what dd_atomic_open does first); returns how many, or -1 when its
 * folder cannot be read. Best effort: an entry that cannot be opened or locked is left alone. */
int dd_atomic_remove_stale(const char *path);

#ifdef __cplusplus
}
#endif
#endif
