/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What all connections of one uid may hold at once: connections, fds received and not yet
 * released or queued to go out, and bytes of input buffers and queued replies. Per connection
 * limits alone let one user multiply them by the number of connections it opens. */

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

typedef struct vl_server vl_server;

typedef struct budget {
        struct budget *next;
        uid_t uid;
        unsigned connections;
        size_t fds, bytes;
} budget;

/* What one connection has charged to its uid's budget. */
typedef struct budget_charge {
        budget *budget;
        size_t fds, bytes;
} budget_charge;

/* Counts a new connection of uid: -EUSERS when the uid has all the connections it may have. */
int budget_open(vl_server *s, uid_t uid, budget_charge *ret);
/* Gives back all the connection charged, and the connection itself. */
void budget_close(vl_server *s, budget_charge *c);
/* Moves the connection's charge to what it holds now. -EMFILE or -ENOBUFS when its uid is over
 * budget: the caller closes the connection (which then gives everything back). */
int budget_charge_set(vl_server *s, budget_charge *c, size_t fds, size_t bytes);
void budgets_free(vl_server *s);
