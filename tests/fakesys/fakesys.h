/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Test helpers around mkfakesys.py: a generated tree in a temporary directory, commands run on
 * it, and its removal. Test programs get the interpreter and the script on their command line
 * (meson passes them), so nothing here knows where the source tree is. */

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct fakesys {
        const char *python, *script;
        char root[256]; /* holds sys/ and dev/ */
        char sys[300];
        int sys_fd;
} fakesys;

static inline void fakesys_die(const char *what)
{
        perror(what);
        abort();
}

/* Runs the generator with the given arguments (NULL-terminated) on f's tree; its exit code. */
static inline int fakesys_run_v(const fakesys *f, const char *const *args)
{
        const char *argv[32] = { f->python, f->script, "--root", f->root };
        size_t n = 4;
        int status;
        pid_t pid;

        for (; *args && n < 31; args++)
                argv[n++] = *args;
        argv[n] = NULL;
        pid = fork();
        if (pid < 0)
                fakesys_die("fork");
        if (pid == 0) {
                execv(argv[0], (char *const *)argv);
                _exit(127);
        }
        if (waitpid(pid, &status, 0) < 0)
                fakesys_die("waitpid");
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

#define fakesys_run(f, ...) fakesys_run_v((f), (const char *const[]){ __VA_ARGS__, NULL })

/* Generates a tree: args are the "create" options, e.g. "--layout", "seed". */
#define fakesys_new(f, python_, script_, ...)                                                      \
        fakesys_new_v((f), (python_), (script_), (const char *const[]){ __VA_ARGS__, NULL })

static inline void fakesys_new_v(fakesys *f, const char *python, const char *script,
                                 const char *const *create_args)
{
        /* sysfs lives in memory: a tmpfs is the closer stand-in, and much faster to fill. */
        const char *tmp = getenv("TMPDIR") ?: access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
        const char *argv[24] = { "create" };
        size_t n = 1;

        *f = (fakesys){ .python = python, .script = script, .sys_fd = -1 };
        snprintf(f->root, sizeof(f->root), "%s/ioasid-fakesys-XXXXXX", tmp);
        if (!mkdtemp(f->root))
                fakesys_die("mkdtemp");
        for (; *create_args && n < 23; create_args++)
                argv[n++] = *create_args;
        argv[n] = NULL;
        if (fakesys_run_v(f, argv) != 0) {
                fprintf(stderr, "the generator failed\n");
                abort();
        }
        snprintf(f->sys, sizeof(f->sys), "%s/sys", f->root);
        f->sys_fd = open(f->sys, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (f->sys_fd < 0)
                fakesys_die(f->sys);
}

static inline int fakesys_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
        (void)st;
        (void)ftw;
        return (flag == FTW_DP ? rmdir(path) : unlink(path)) < 0 ? -1 : 0;
}

static inline void fakesys_free(fakesys *f)
{
        if (f->sys_fd >= 0)
                close(f->sys_fd);
        f->sys_fd = -1;
        if (f->root[0] && nftw(f->root, fakesys_rm_one, 64, FTW_DEPTH | FTW_PHYS) < 0)
                perror(f->root);
        f->root[0] = 0;
}

/* Replaces whatever is at sys/path, a directory too, with a symlink to target (tests of
 * hostile trees). */
static inline void fakesys_symlink(const fakesys *f, const char *path, const char *target)
{
        if (unlinkat(f->sys_fd, path, 0) < 0 && errno == EISDIR) {
                char full[600];

                snprintf(full, sizeof(full), "%s/%s", f->sys, path);
                if (nftw(full, fakesys_rm_one, 64, FTW_DEPTH | FTW_PHYS) < 0)
                        fakesys_die(full);
        }
        if (symlinkat(target, f->sys_fd, path) < 0)
                fakesys_die(path);
}

static inline void fakesys_write(const fakesys *f, const char *path, const char *content)
{
        int fd = openat(f->sys_fd, path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

        if (fd < 0)
                fakesys_die(path);
        if (write(fd, content, strlen(content)) != (ssize_t)strlen(content))
                fakesys_die(path);
        close(fd);
}

/* Captures what is written to stderr between begin and end (log lines). */
typedef struct fakesys_capture {
        int saved, fd;
        char text[16384];
} fakesys_capture;

static inline void fakesys_capture_begin(fakesys_capture *c)
{
        char path[] = "/tmp/ioasid-log-XXXXXX";

        fflush(stderr);
        c->fd = mkstemp(path);
        if (c->fd < 0)
                fakesys_die("mkstemp");
        unlink(path);
        c->saved = dup(STDERR_FILENO);
        dup2(c->fd, STDERR_FILENO);
}

static inline const char *fakesys_capture_end(fakesys_capture *c)
{
        ssize_t n;

        fflush(stderr);
        dup2(c->saved, STDERR_FILENO);
        close(c->saved);
        n = pread(c->fd, c->text, sizeof(c->text) - 1, 0);
        c->text[n < 0 ? 0 : n] = 0;
        close(c->fd);
        fputs(c->text, stderr); /* keep it in the test's log too */
        return c->text;
}
