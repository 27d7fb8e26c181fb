/* Atomic writes (util/atomic_file.h): a commit replaces the file; the temporary file of a writer that died without
 * committing (kill -9) is removed by the next dd_atomic_open of the same path, while a live writer's (another
 * process's, or this one's) is kept, and nothing else in the folder is touched. */
#define _DEFAULT_SOURCE
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"
#include "doodle/files.h"

/* How many entries of dir start with prefix; the last one's name goes into last. */
static int count_prefixed(const char *dir, const char *prefix, char *last, size_t size) {
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (!strncmp(e->d_name, prefix, strlen(prefix))) {
            n++;
            if (last) snprintf(last, size, "%s", e->d_name);
        }
    closedir(d);
    return n;
}

static int exists(const char *dir, const char *name) {
    char p[4400];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    struct stat st;
    return stat(p, &st) == 0;
}

static void empty_dir(const char *dir) {
    DIR *d = opendir(dir);
    struct dirent *e;
    char p[4400];
    while (d && (e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
            unlink(p);
        }
    if (d) closedir(d);
}

int main(void) {
    const char *dir = test_tmp_dir("atomic_file");
    empty_dir(dir);
    char path[4200], p[4400], name[256];
    snprintf(path, sizeof path, "%s/out.bin", dir);
    dd_error err;

    /* a commit replaces the file and leaves no temporary file */
    test_write_file(path, "old", 3);
    dd_atomic_file a;
    CHECK(dd_atomic_open(&a, path, &err) == 0, "%s", err.msg);
    fputs("new", a.f);
    CHECK(dd_atomic_commit(&a, &err) == 0, "%s", err.msg);
    size_t n;
    char *got = test_read_file(path, &n);
    CHECK(got && n == 3 && !memcmp(got, "new", 3), "the commit did not replace the file");
    free(got);
    CHECK(count_prefixed(dir, "out.bin.tmp.", NULL, 0) == 0, "a temporary file is left after a commit");

    /* files that only look alike are never touched, even unlocked: other names, other lengths, other letters */
    const char *bystanders[] = {"out.bin.tmp.abc",        "out.bin.tmp.abcdefg", "other.bin.tmp.ABCDEF",
                                "out.bin.tmpXabcdef",     "out.bin.tmp.ab-def",  "xout.bin.tmp.abcdef",
                                "out.bin.tmp.abcdef.keep"};
    for (size_t i = 0; i < sizeof bystanders / sizeof *bystanders; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, bystanders[i]);
        test_write_file(p, "x", 1);
    }
    const int alike = count_prefixed(dir, "out.bin.tmp.", NULL, 0); /* the bystanders that share the prefix */

    /* a writer that dies without committing leaves its temporary file; the next open of that path removes it */
    pid_t pid = fork();
    if (pid == 0) {
        dd_atomic_file c;
        if (dd_atomic_open(&c, path, &err)) _exit(2);
        fputs("partial", c.f);
        fflush(c.f);
        _exit(0); /* as if killed: no commit, no abort */
    }
    int status = 0;
    CHECK(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0,
          "the dying writer failed");
    char stale[256] = "";
    CHECK(count_prefixed(dir, "out.bin.tmp.", stale, sizeof stale) == 1 + alike, "the dead writer left no file");
    /* a stale file named by hand as mkstemp names them, e.g. one left by a kill during `doodle prep` */
    snprintf(p, sizeof p, "%s/out.bin.tmp.Zz09aQ", dir);
    test_write_file(p, "stale", 5);
    CHECK(dd_atomic_open(&a, path, &err) == 0, "%s", err.msg);
    CHECK(count_prefixed(dir, "out.bin.tmp.", name, sizeof name) == 1 + alike, "stale files are left: %d entries",
          count_prefixed(dir, "out.bin.tmp.", NULL, 0));
    CHECK(!exists(dir, "out.bin.tmp.Zz09aQ"), "the stale file out.bin.tmp.Zz09aQ is still there");
    CHECK(exists(dir, a.tmp_path + strlen(dir) + 1), "the new temporary file is missing");
    for (size_t i = 0; i < sizeof bystanders / sizeof *bystanders; i++)
        CHECK(exists(dir, bystanders[i]), "%s was removed", bystanders[i]);
    /* this process's own live file survives a second writer of the same path */
    dd_atomic_file b;
    CHECK(dd_atomic_open(&b, path, &err) == 0, "%s", err.msg);
    CHECK(exists(dir, a.tmp_path + strlen(dir) + 1), "a live temporary file of this process was removed");
    fputs("b", b.f);
    CHECK(dd_atomic_commit(&b, &err) == 0, "%s", err.msg);
    dd_atomic_abort(&a);

    /* a live writer in another process keeps its file, and its commit still works */
    int ready[2], go[2];
    CHECK(pipe(ready) == 0 && pipe(go) == 0, "pipe");
    pid = fork();
    if (pid == 0) {
        dd_atomic_file c;
        char ch = 'x';
        if (dd_atomic_open(&c, path, &err)) _exit(2);
        fputs("live", c.f);
        if (write(ready[1], c.tmp_path + strlen(dir) + 1, strlen(c.tmp_path + strlen(dir) + 1) + 1) < 0 ||
            read(go[0], &ch, 1) != 1)
            _exit(3);
        _exit(dd_atomic_commit(&c, &err) ? 4 : 0);
    }
    char live[256] = "";
    CHECK(pid > 0 && read(ready[0], live, sizeof live - 1) > 0, "the live writer did not start");
    CHECK(dd_atomic_open(&a, path, &err) == 0, "%s", err.msg);
    CHECK(exists(dir, live), "the live writer's temporary file %s was removed", live);
    CHECK(dd_atomic_remove_stale(path) == 0, "a live file counted as stale");
    dd_atomic_abort(&a);
    CHECK(write(go[1], "g", 1) == 1, "pipe");
    CHECK(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0,
          "the live writer's commit failed (status %d)", status);
    got = test_read_file(path, &n);
    CHECK(got && n == 4 && !memcmp(got, "live", 4), "the live writer's commit did not land");
    free(got);
    close(ready[0]);
    close(ready[1]);
    close(go[0]);
    close(go[1]);
    CHECK(count_prefixed(dir, "out.bin.tmp.", NULL, 0) == alike, "temporary files left over");

    /* a bare name (the current folder) is cleaned too */
    char cwd[4096];
    CHECK(getcwd(cwd, sizeof cwd) != NULL, "getcwd");
    CHECK(chdir(dir) == 0, "chdir");
    test_write_file("out.bin.tmp.QQQQQQ", "s", 1);
    CHECK(dd_atomic_remove_stale("out.bin") == 1, "a stale file beside a bare name was not removed");
    CHECK(chdir(cwd) == 0, "chdir back");
    return test_finish("test_atomic_file");
}
