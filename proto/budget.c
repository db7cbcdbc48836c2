/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <sys/resource.h>

#include "server-internal.h"

int budget_open(vl_server *s, uid_t uid, budget_charge *ret)
{
        budget *b;

        for (b = s->budgets; b; b = b->next)
                if (b->uid == uid)
                        break;
        if (b && b->connections >= s->limits.connections_per_uid_max)
                return -EUSERS;
        if (!b) {
                b = calloc(1, sizeof(*b));
                if (!b)
                        return -ENOMEM;
                *b = (budget){ .next = s->budgets, .uid = uid };
                s->budgets = b;
        }
        b->connections++;
        *ret = (budget_charge){ .budget = b };
        return 0;
}

void budget_close(vl_server *s, budget_charge *c)
{
        budget *b = c->budget;

        if (!b)
                return;
        (void)budget_charge_set(s, c, 0, 0);
        c->budget = NULL;
        if (--b->connections > 0)
                return;
        for (budget **p = &s->budgets; *p; p = &(*p)->next)
                if (*p == b) {
                        *p = b->next;
                        break;
                }
        free(b);
}

int budget_charge_set(vl_server *s, budget_charge *c, size_t fds, size_t bytes)
{
        budget *b = c->budget;

        if (!b)
                return 0;
        b->fds = b->fds - c->fds + fds;
        b->bytes = b->bytes - c->bytes + bytes;
        c->fds = fds;
        c->bytes = bytes;
        if (b->fds > s->limits.fds_per_uid_max)
                return -EMFILE;
        if (b->bytes > s->limits.bytes_per_uid_max)
                return -ENOBUFS;
        return 0;
}

void budgets_free(vl_server *s)
{
        while (s->budgets) {
                budget *b = s->budgets;

                s->budgets = b->next;
                free(b);
        }
}

int vl_raise_fd_limit(void)
{
        struct rlimit rl;

        /* Every connection is an fd, and so is every fd a peer sends until its call ends: the
         * soft limit (often 1024) is far below what the connection limits allow. The hard
         * limit is what the administrator granted; poll() and select() are not used here. */
        if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
                return -errno;
        if (rl.rlim_cur == rl.rlim_max)
                return 0;
        /* An unlimited hard limit still stops at fs.nr_open, by default 2^20. */
        rl.rlim_cur = rl.rlim_max == RLIM_INFINITY ? (rlim_t)1 << 20 : rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
                return -errno;
        return 0;
}
