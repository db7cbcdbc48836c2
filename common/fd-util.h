/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

int fd_nonblock(int fd, bool nonblock);
int fd_cloexec(int fd, bool cloexec);
/* dup() with O_CLOEXEC, as a negative errno on failure. */
int fcntl_dupfd_cloexec(int fd);
