/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>
#include <sys/types.h>

/* Who is on the other end of a UNIX socket. The pid alone is racy (it can be reused), so it
 * comes with a pidfd, from SO_PEERPIDFD where the kernel has it (Linux 6.5), else from
 * pidfd_open() checked against the process start time. */
typedef struct vl_peer {
        uid_t uid;
        gid_t gid;
        pid_t pid;
        int pidfd; /* -EBADF when none could be had safely */
        /* Supplementary groups when the socket was connected (SO_PEERGROUPS); NULL if the
         * kernel could not say, which policy treats as unknown, never as "none". */
        gid_t *groups;
        size_t n_groups;
} vl_peer;

/* connected_ticks: when the connection was accepted, in clock ticks since boot (as
 * /proc/PID/stat's starttime); a process started after that cannot be the peer. */
int vl_peer_from_socket(int fd, uint64_t connected_ticks, vl_peer *ret);
void vl_peer_done(vl_peer *p);
uint64_t vl_boottime_ticks(void);
/* The start time of a process in clock ticks since boot, from /proc. */
int vl_pid_start_ticks(pid_t pid, uint64_t *ret);
