/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>
#include <sys/types.h>

/* Who is on the other end of a UNIX socket. The pid alone is racy (it can be reused): only the
 * pidfd names the process, and it comes from SO_PEERPIDFD (Linux 6.5) and nowhere else. */
typedef struct vl_peer {
        uid_t uid;
        gid_t gid;
        pid_t pid; /* a hint for logs; never an identity on its own */
        /* The connecting process, pinned. -EBADF on kernels without SO_PEERPIDFD: then nothing
         * can be known about the process (its unit, whether it still runs) and it cannot be
         * made a lease holder. Where SO_PEERPIDFD exists and fails, the peer is refused. */
        int pidfd;
        /* Supplementary groups when the socket was connected (SO_PEERGROUPS); NULL if the
         * kernel could not say, which policy treats as unknown, never as "none". */
        gid_t *groups;
        size_t n_groups;
} vl_peer;

int vl_peer_from_socket(int fd, vl_peer *ret);
void vl_peer_done(vl_peer *p);
