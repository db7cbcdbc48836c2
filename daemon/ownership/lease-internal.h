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

/* Managed binding (lease-bind.c) on the lease's side: the running job's slot; a device of the
 * model recorded as bound for the lease (managed, pending, its original driver), its group owned
 * by the lease from then on; the record saved; devices [from, n) dropped again (groups left
 * with none disowned) and the record saved. */
typedef struct lease_bind_job lease_bind_job;
lease_bind_job **lease_bind_slot(lease *l);
int lease_add_bound_device(lease *l, const model_device *d);
int lease_save(lease *l);
void lease_undo_devices(lease *l, size_t from);
/* Stops a running bind (its worker killed; its done called with -ECANCELED); the devices stay
 * recorded, for the lease's end to put back. A no-op without one. */
void lease_bind_cancel(lease *l);
