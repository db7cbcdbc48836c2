/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "macro.h"
#include "peer.h"

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif

uint64_t vl_boottime_ticks(void)
{
        struct timespec ts;
        long hz = sysconf(_SC_CLK_TCK);

        clock_gettime(CLOCK_BOOTTIME, &ts);
        return (uint64_t)ts.tv_sec * (uint64_t)hz +
               (uint64_t)ts.tv_nsec * (uint64_t)hz / 1000000000u;
}

int vl_pid_start_ticks(pid_t pid, uint64_t *ret)
{
        char path[64], buf[1024];
        unsigned long long start;
        const char *p;
        ssize_t n;
        int fd;

        snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        n = read(fd, buf, sizeof(buf) - 1);
        safe_close(fd);
        if (n <= 0)
                return n < 0 ? negative_errno() : -EIO;
        buf[n] = 0;
        /* comm may hold spaces and parentheses: the fields start after the last ')'. */
        p = strrchr(buf, ')');
        if (!p)
                return -EIO;
        /* starttime is field 22; after ") " comes field 3. */
        if (sscanf(p + 2,
                   "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d "
                   "%*d %llu",
                   &start) != 1)
                return -EIO;
        *ret = start;
        return 0;
}

static int pidfd_open_checked(pid_t pid, uint64_t connected_ticks)
{
        _cleanup_close_ int pidfd = -EBADF;
        uint64_t start;
        int r;

        pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
        if (pidfd < 0)
                return negative_errno();
        /* The pidfd now pins whatever process has this pid. If that process started after the
         * connection was made, the peer died and the pid was reused. */
        r = vl_pid_start_ticks(pid, &start);
        if (r < 0)
                return r;
        if (start > connected_ticks)
                return -ESRCH;
        if (syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) < 0)
                return negative_errno();
        return TAKE_FD(pidfd);
}

/* The kernel reports the size it needs with ERANGE; groups can change between the calls. */
static int peer_groups(int fd, gid_t **ret, size_t *ret_n)
{
        socklen_t len = 64 * sizeof(gid_t);

        for (int tries = 0; tries < 4; tries++) {
                _cleanup_free_ gid_t *g = malloc(len ?: sizeof(gid_t));
                socklen_t n = len;

                if (!g)
                        return -ENOMEM;
                if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, g, &n) == 0) {
                        *ret_n = n / sizeof(gid_t);
                        *ret = TAKE_PTR(g);
                        return 0;
                }
                if (errno != ERANGE || n <= len)
                        return negative_errno();
                len = n;
        }
        return -ERANGE;
}

int vl_peer_from_socket(int fd, uint64_t connected_ticks, vl_peer *ret)
{
        gid_t *groups = NULL;
        size_t n_groups = 0;
        struct ucred uc;
        socklen_t len = sizeof(uc);
        int pidfd = -EBADF;

        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) < 0)
                return negative_errno();
        if (len != sizeof(uc) || uc.pid <= 0)
                return -ENODATA;

        len = sizeof(pidfd);
        if (getsockopt(fd, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &len) < 0 || pidfd < 0) {
                /* Before Linux 6.5, or a peer that is already gone. */
                pidfd = pidfd_open_checked(uc.pid, connected_ticks);
                if (pidfd < 0)
                        pidfd = -EBADF;
        } else if (fcntl(pidfd, F_SETFD, FD_CLOEXEC) < 0) {
                pidfd = safe_close(pidfd);
        }

        if (peer_groups(fd, &groups, &n_groups) < 0)
                groups = NULL, n_groups = 0;

        *ret = (vl_peer){ .uid = uc.uid,
                          .gid = uc.gid,
                          .pid = uc.pid,
                          .pidfd = pidfd,
                          .groups = groups,
                          .n_groups = n_groups };
        return 0;
}

void vl_peer_done(vl_peer *p)
{
        p->pidfd = safe_close(p->pidfd);
        free(p->groups);
        p->groups = NULL;
        p->n_groups = 0;
}
