/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "macro.h"

void close_many(int *fds, size_t n)
{
        for (size_t i = 0; fds && i < n; i++)
                fds[i] = safe_close(fds[i]);
}

#include <fcntl.h>

#include "fd-util.h"

static int fd_flag(int fd, int get, int set, int flag, bool on)
{
        int flags = fcntl(fd, get);

        if (flags < 0)
                return negative_errno();
        if (!!(flags & flag) == on)
                return 0;
        if (fcntl(fd, set, on ? flags | flag : flags & ~flag) < 0)
                return negative_errno();
        return 0;
}

int fd_nonblock(int fd, bool nonblock)
{
        return fd_flag(fd, F_GETFL, F_SETFL, O_NONBLOCK, nonblock);
}

int fd_cloexec(int fd, bool cloexec)
{
        return fd_flag(fd, F_GETFD, F_SETFD, FD_CLOEXEC, cloexec);
}

int fcntl_dupfd_cloexec(int fd)
{
        int r = fcntl(fd, F_DUPFD_CLOEXEC, 3);

        return r < 0 ? negative_errno() : r;
}
