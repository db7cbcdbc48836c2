/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The holder of a lease, named by pid and start time: a pid alone may be reused by another
 * process once the holder is gone. */

#include <stdint.h>
#include <sys/types.h>

/* Parses the text of /proc/PID/stat: state (field 3) and start time (field 22). The command
 * name (field 2) may hold anything, spaces and parentheses too: fields are found after the
 * last ')'. -EBADMSG for anything else. */
int lease_proc_stat_parse(const char *text, size_t len, char *ret_state, uint64_t *ret_start_time);
/* The start time of a live process; -ESRCH when there is none (or only a zombie). */
int lease_holder_start_time(pid_t pid, uint64_t *ret);
/* > 0 when the process pid exists, is not a zombie, and started at start_time; 0 when it is
 * gone or the pid belongs to another process now; < 0 on errors. */
int lease_holder_alive(pid_t pid, uint64_t start_time);
/* A pidfd for the holder, race-free: opened first, then checked to still be the process that
 * started at start_time (the pidfd pins the pid). -ESRCH when the holder is gone. */
int lease_holder_pidfd(pid_t pid, uint64_t start_time, int *ret_pidfd);
