/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Who still has a device open. The kernel's unbind from vfio waits for every fd of the device,
 * wherever the holder passed it: once a lease has ended and its holder been killed, the
 * processes still holding its devices are what keeps the kernel (and the daemon's worker)
 * waiting. They are found through /proc/PID/fd. */

#include <stddef.h>
#include <sys/stat.h>

/* Kills (SIGKILL, through a pidfd) every process but the daemon itself that has one of nodes
 * open: a character device matches by device number (any node of it), anything else by inode.
 * Each kill is audited with lease_id. Returns how many, or a negative errno when /proc cannot
 * be read. */
int fd_holders_kill(const struct stat *nodes, size_t n, const char *lease_id);
