/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "macro.h"
#include "peer.h"

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif

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

int vl_peer_from_socket(int fd, vl_peer *ret)
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

        /* Only the socket can say which process connected: a pidfd opened from the pid later
         * may pin another process, one that was handed the socket by a peer that then exited
         * and whose pid was reused. So no fallback: a kernel without SO_PEERPIDFD (before 6.5)
         * gives no pidfd, and one where it fails gets the connection refused. */
        len = sizeof(pidfd);
        if (getsockopt(fd, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &len) < 0) {
                if (errno != ENOPROTOOPT)
                        return negative_errno();
                pidfd = -EBADF;
        } else if (len != sizeof(pidfd) || pidfd < 0)
                return -ENODATA;
        else if (fcntl(pidfd, F_SETFD, FD_CLOEXEC) < 0) {
                safe_close(pidfd);
                return negative_errno();
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
