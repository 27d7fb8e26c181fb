#define _DEFAULT_SOURCE /* flock */
#include "doodle/files.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "doodle/alloc.h"

#define TMP_SUFFIX ".tmp."
#define TMP_RANDOM 6 /* mkstemp's XXXXXX */

/* path's folder ("." for a bare name); *base points at its last component inside path. */
static char *folder_of(const char *path, const char **base, dd_error *err) {
    const char *slash = strrchr(path, '/');
    *base = slash ? slash + 1 : path;
    if (!slash) return dd_strdup(".", err);
    size_t n = slash == path ? 1 : (size_t)(slash - path);
    char *dir = dd_malloc(n + 1, 1, err);
    if (dir) {
        memcpy(dir, path, n);
        dir[n] = '\0';
    }
    return dir;
}

/* `<base>.tmp.` and exactly six of mkstemp's letters: nothing else is ours to remove. */
static int is_tmp_of(const char *name, const char *base) {
    size_t n = strlen(base);
    if (strncmp(name, base, n) || strncmp(name + n, TMP_SUFFIX, sizeof TMP_SUFFIX - 1)) return 0;
    const char *r = name + n + sizeof TMP_SUFFIX - 1;
    for (int i = 0; i < TMP_RANDOM; i++) {
        char c = r[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) return 0;
    }
    return r[TMP_RANDOM] == '\0';
}

int dd_atomic_remove_stale(const char *path) {
    const char *base;
    char *dir = folder_of(path, &base, NULL);
    if (!dir) return -1;
    int removed = 0;
    int dfd = *base ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
    DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
    if (!d) {
        if (dfd >= 0) close(dfd);
        free(dir);
        return *base ? -1 : 0;
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!is_tmp_of(e->d_name, base)) continue;
        int fd = openat(dfd, e->d_name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0) continue;
        /* A writer holds its lock until its file is renamed or removed, and the lock dies with the process: a
         * file that can be locked has no live writer. The name must still be that file when it is unlinked. */
        struct stat held, named;
        if (fstat(fd, &held) == 0 && S_ISREG(held.st_mode) && flock(fd, LOCK_EX | LOCK_NB) == 0 &&
            fstatat(dfd, e->d_name, &named, AT_SYMLINK_NOFOLLOW) == 0 && named.st_dev == held.st_dev &&
            named.st_ino == held.st_ino && unlinkat(dfd, e->d_name, 0) == 0)
            removed++;
        close(fd); /* read-only: nothing to lose; drops the lock */
    }
    closedir(d);
    free(dir);
    return removed;
}

/* Locks a file that mkstemp just made. In the moment before the lock a cleaner may have taken it for stale and
 * unlinked it; then it has no name any more. Returns 1 when locked and still named, 0 when unlinked, -1 on error. */
static int lock_fresh(int fd) {
    int rc;
    while ((rc = flock(fd, LOCK_EX)) != 0 && errno == EINTR) {}
    /* a file system without locks: no cleaner can lock either, so nothing of ours is ever removed */
    if (rc != 0 && errno != ENOLCK && errno != EOPNOTSUPP && errno != EINVAL) return -1;
    struct stat st;
    if (fstat(fd, &st) != 0) return -1;
    return st.st_nlink > 0;
}

int dd_atomic_open(dd_atomic_file *a, const char *path, dd_error *err) {
    memset(a, 0, sizeof *a);
    a->path = dd_strdup(path, err);
    size_t n = strlen(path) + sizeof TMP_SUFFIX + TMP_RANDOM;
    a->tmp_path = a->path ? dd_malloc(n, 1, err) : NULL;
    if (!a->tmp_path) {
        free(a->path);
        a->path = NULL;
        return -1;
    }
    (void)dd_atomic_remove_stale(path); /* best effort: a leftover is no reason not to write */
    int fd = -1;
    for (int attempt = 0; fd < 0; attempt++) {
        snprintf(a->tmp_path, n, "%s" TMP_SUFFIX "XXXXXX", path);
        fd = mkstemp(a->tmp_path);
        if (fd < 0) {
            dd_fail(err, DD_ERR_IO, "%s: cannot create a temporary file beside it: %s", path, strerror(errno));
            free(a->tmp_path);
            free(a->path);
            memset(a, 0, sizeof *a);
            return -1;
        }
        int locked = lock_fresh(fd);
        if (locked == 1) break;
        int saved = errno;
        close(fd);
        fd = -1;
        if (locked < 0 || attempt == 100) {
            dd_fail(err, DD_ERR_IO, "%s: cannot lock its temporary file %s: %s", path, a->tmp_path,
                    locked < 0 ? strerror(saved) : "it keeps being removed");
            if (locked < 0) unlink(a->tmp_path);
            free(a->tmp_path);
            free(a->path);
            memset(a, 0, sizeof *a);
            return -1;
        }
    }
    /* mkstemp makes 0600; a dataset or image is not a secret */
    if (fchmod(fd, 0644) != 0 || !(a->f = fdopen(fd, "wb"))) {
        dd_fail(err, DD_ERR_IO, "%s: %s", a->tmp_path, strerror(errno));
        unlink(a->tmp_path); /* while still locked, as in dd_atomic_abort */
        close(fd);
        free(a->tmp_path);
        free(a->path);
        memset(a, 0, sizeof *a);
        return -1;
    }
    return 0;
}

/* After a rename the folder entry is what must survive a crash: fsync the folder too. */
static int sync_folder(const char *path, dd_error *err) {
    const char *base;
    char *dir = folder_of(path, &base, err);
    if (!dir) return -1;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = 0;
    /* EINVAL: a file system that cannot sync a folder (it has nothing to lose there) */
    if (fd < 0 || (fsync(fd) != 0 && errno != EINVAL))
        rc = dd_fail(err, DD_ERR_IO, "%s: written, but its folder %s could not be synced: %s", path, dir,
                     strerror(errno));
    if (fd >= 0 && close(fd) != 0 && rc == 0)
        rc = dd_fail(err, DD_ERR_IO, "%s: written, but closing its folder %s failed: %s", path, dir, strerror(errno));
    free(dir);
    return rc;
}

/* Why writing a's temporary file failed: errnum when the failing call's errno was kept, else asked of the file
 * system, because stdio keeps only a flag (ferror) and not the errno of a write that failed inside fprintf or
 * fwrite: no space left (ENOSPC), or the file size limit reached (EFBIG, ulimit -f). EIO when neither says. */
static int write_errno(const dd_atomic_file *a, int errnum) {
    if (errnum) return errnum;
    int fd = a->f ? fileno(a->f) : -1;
    struct statvfs vfs;
    struct stat st;
    struct rlimit lim;
    if (fd >= 0 && fstatvfs(fd, &vfs) == 0 && vfs.f_bavail == 0) return ENOSPC;
    if (fd >= 0 && fstat(fd, &st) == 0 && getrlimit(RLIMIT_FSIZE, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY &&
        (rlim_t)st.st_size >= lim.rlim_cur)
        return EFBIG;
    return EIO;
}

int dd_atomic_fail(dd_atomic_file *a, int errnum, dd_error *err) {
    dd_fail(err, DD_ERR_IO, "%s: write failed: %s", a->path ? a->path : "(no file)", strerror(write_errno(a, errnum)));
    dd_atomic_abort(a);
    return -1;
}

/* Test hook, for tests/cli/crash_*.sh only: with DOODLE_TEST_SLOW_WRITE set to a part of the path, the process
 * stops itself (SIGSTOP) once the temporary file is written and synced and before it is renamed, so that a test can
 * kill it at exactly that moment (or SIGCONT it). Unset, as everywhere but in those tests, it costs one getenv per
 * file written. */
static void test_hook_before_rename(const char *path) {
    const char *part = getenv("DOODLE_TEST_SLOW_WRITE");
    if (part && *part && strstr(path, part)) raise(SIGSTOP);
}

int dd_atomic_commit(dd_atomic_file *a, dd_error *err) {
    /* the flush comes first: what a full disk refused before is still buffered, fails again and sets errno */
    errno = 0;
    int failed = fflush(a->f) != 0;
    int e = errno;
    if (ferror(a->f)) failed = 1;
    if (!failed && fsync(fileno(a->f)) != 0) {
        failed = 1;
        e = errno;
    }
    if (failed) return dd_atomic_fail(a, e, err);
    test_hook_before_rename(a->path);
    /* renamed while still open and locked, so no cleaner takes the temporary file for stale before it is gone */
    if (rename(a->tmp_path, a->path) != 0) {
        dd_fail(err, DD_ERR_IO, "%s: cannot rename the temporary file into place: %s", a->path, strerror(errno));
        dd_atomic_abort(a);
        return -1;
    }
    int rc = 0;
    if (fclose(a->f) != 0) /* everything was flushed and synced already; still, say so */
        rc = dd_fail(err, DD_ERR_IO, "%s: closing it failed: %s", a->path, strerror(errno));
    a->f = NULL;
    if (rc == 0) rc = sync_folder(a->path, err);
    free(a->tmp_path);
    free(a->path);
    memset(a, 0, sizeof *a);
    return rc;
}

void dd_atomic_abort(dd_atomic_file *a) {
    if (a->tmp_path) unlink(a->tmp_path); /* before the close: the name is gone before the lock */
    if (a->f) fclose(a->f);
    free(a->tmp_path);
    free(a->path);
    memset(a, 0, sizeof *a);
}
