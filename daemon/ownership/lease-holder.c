/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fd-util.h"
#include "lease-holder.h"
#include "log.h"

int lease_proc_stat_parse(const char *text, size_t len, char *ret_state, uint64_t *ret_start_time)
{
        const char *p, *end = text + len, *close = NULL;
        char state = 0;
        uint64_t start = 0;
        size_t digits;

        /* "PID (COMM) STATE ...": COMM is anything up to the last ')'. */
        digits = 0;
        while (digits < len && text[digits] >= '0' && text[digits] <= '9')
                digits++;
        if (digits == 0 || len - digits < 2 || memcmp(text + digits, " (", 2) != 0)
                return -EBADMSG;
        for (p = end; p > text + digits + 1; p--)
                if (p[-1] == ')') {
                        close = p - 1;
                        break;
                }
        if (!close)
                return -EBADMSG;

        p = close + 1;
        for (unsigned field = 3; field <= 22; field++) {
                const char *tok;

                if (p >= end || *p != ' ')
                        return -EBADMSG;
                tok = ++p;
                while (p < end && *p != ' ' && *p != '\n')
                        p++;
                if (p == tok)
                        return -EBADMSG;
                if (field == 3) {
                        /* One letter: R, S, D, Z, T, t, X, I, ... */
                        if (p - tok != 1 ||
                            !((*tok >= 'A' && *tok <= 'Z') || (*tok >= 'a' && *tok <= 'z')))
                                return -EBADMSG;
                        state = *tok;
                } else if (field == 22) {
                        for (const char *q = tok; q < p; q++) {
                                uint64_t digit = (uint64_t)(*q - '0');

                                if (*q < '0' || *q > '9' || start > (UINT64_MAX - digit) / 10)
                                        return -EBADMSG;
                                start = start * 10 + digit;
                        }
                }
        }
        *ret_state = state;
        *ret_start_time = start;
        return 0;
}

int lease_holder_start_time(pid_t pid, uint64_t *ret)
{
        _cleanup_close_ int fd = -EBADF;
        char path[32], buf[4096], state;
        ssize_t n;
        int r;

        if (pid <= 0)
                return -EINVAL;
        snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return errno == ENOENT ? -ESRCH : negative_errno();
        /* One read: the kernel hands the whole line (seq_file) to the first read that has room
         * for it, and it is a few hundred bytes. Reading on until a read of nothing said so
         * cost a syscall. */
        do
                n = read(fd, buf, sizeof(buf));
        while (n < 0 && errno == EINTR);
        if (n < 0)
                /* The process went away between open and read. */
                return errno == ESRCH ? -ESRCH : negative_errno();
        r = lease_proc_stat_parse(buf, (size_t)n, &state, ret);
        if (r < 0)
                return r;
        /* A zombie has exited: its fds are closed, its lease is over. */
        return state == 'Z' || state == 'X' ? -ESRCH : 0;
}

int lease_holder_alive(pid_t pid, uint64_t start_time)
{
        uint64_t t;
        int r = lease_holder_start_time(pid, &t);

        if (r == -ESRCH)
                return 0;
        if (r < 0)
                return r;
        return t == start_time;
}

int lease_holder_pidfd(pid_t pid, uint64_t start_time, int *ret_pidfd)
{
        _cleanup_close_ int pidfd = -EBADF;
        int r;

        if (pid <= 0)
                return -EINVAL;
        pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
        if (pidfd < 0)
                return negative_errno();
        r = lease_holder_alive(pid, start_time);
        if (r < 0)
                return r;
        if (r == 0)
                return -ESRCH;
        *ret_pidfd = TAKE_FD(pidfd);
        return 0;
}
