/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "macro.h"

void close_many(int *fds, size_t n)
{
        for (size_t i = 0; fds && i < n; i++)
                fds[i] = safe_close(fds[i]);
}
