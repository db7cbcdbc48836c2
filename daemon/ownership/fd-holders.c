/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fd-holders.h"
#include "fd-util.h"
#include "log.h"
#include "macro.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(DIR *, closedir)
#define _cleanup_closedir_ _cleanup_(closedirp)

static bool is_node(const struct stat *st, const struct stat *nodes, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                if (S_ISCHR(nodes[i].st_mode)) {
                        if (S_ISCHR(st->st_mode) && st->st_rdev == nodes[i].st_rdev)
                                return true;
                } else if (st->st_dev == nodes[i].st_dev && st->st_ino == nodes[i].st_ino)
                        return true;
        }
        return false;
}

/* Whether pid has one of nodes open. A process that goes away meanwhile has nothing open. */
static bool holds(int proc_fd, long pid, const struct stat *nodes, size_t n)
{
        char path[32];
        _cleanup_closedir_ DIR *d = NULL;
        struct dirent *de;
        int fd;

        snprintf(path, sizeof(path), "%ld/fd", pid);
        fd = openat(proc_fd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return false;
        d = fdopendir(fd);
        if (!d) {
                safe_close(fd);
                return false;
        }
        while ((de = readdir(d))) {
                struct stat st;

                /* Follows the fd's magic link to what it has open, without opening it. */
                if (de->d_name[0] != '.' && fstatat(dirfd(d), de->d_name, &st, 0) >= 0 &&
                    is_node(&st, nodes, n))
                        return true;
        }
        return false;
}

int fd_holders_kill(const struct stat *nodes, size_t n, const char *lease_id)
{
        _cleanup_closedir_ DIR *proc = NULL;
        struct dirent *de;
        pid_t self = getpid();
        int killed = 0;

        if (n == 0)
                return 0;
        proc = opendir("/proc");
        if (!proc)
                return log_warning_errno(errno, "Cannot read /proc: %m");
        while ((de = readdir(proc))) {
                char *end;
                long pid = strtol(de->d_name, &end, 10);

                _cleanup_close_ int pidfd = -EBADF;

                if (*end || pid <= 0 || pid > INT32_MAX || pid == self)
                        continue;
                /* Opened before the look: a pid reused after it is another process, and the
                 * kill through the pidfd fails instead of hitting that one. */
                pidfd = (int)syscall(SYS_pidfd_open, (pid_t)pid, 0);
                if (pidfd < 0 || !holds(dirfd(proc), pid, nodes, n))
                        continue;
                if (syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0) < 0) {
                        if (errno != ESRCH)
                                log_warning_errno(errno, "AUDIT lease=%s: cannot kill pid %ld: %m",
                                                  lease_id, pid);
                        continue;
                }
                log_warning("AUDIT lease=%s: pid %ld still had a device of the lease open; "
                            "killed it.",
                            lease_id, pid);
                killed++;
        }
        return killed;
}
