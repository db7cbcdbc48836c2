/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Between the lease lifecycle (lease.c) and restoring the leases of an earlier run
 * (lease-restore.c). */

#include "lease.h"

const leases_config *leases_get_config(const leases *t);
/* Asks the sink to read address's group again. */
void leases_refresh_group(const leases_config *c, const char *address);
/* A record of an earlier run whose holder still runs: the lease goes on, without fds of the
 * daemon's own (they died with the old process; the holder's keep the groups claimed). Takes
 * rec's contents and pidfd (-EBADF: a holder that is gone, for a lease about to end). ret
 * (optional) gets the lease, owned by t. */
int lease_adopt(leases *t, lease_record *rec, int pidfd, lease **ret);
