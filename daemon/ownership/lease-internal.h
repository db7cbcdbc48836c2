/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Between the lease lifecycle (lease.c), its end (lease-end.c) and restoring the leases of an
 * earlier run (lease-restore.c). */

#include "lease.h"
#include "worker.h"

typedef struct lease_end_waiter {
        lease_end_fn cb;
        void *userdata;
} lease_end_waiter;

typedef struct lease_bind_job lease_bind_job;

struct lease {
        leases *table;
        lease *prev, *next;
        lease_record rec; /* what is on disk, devices in the order they were added */
        int *fds;         /* per device of rec: its grant, borrowed from the space */
        int *groups;      /* the groups it was made owner of (lease.c's set_owner()) */
        size_t n_groups;
        int pidfd;
        sd_event_source *exit_source;
        backend_space *space;
        bool compromised;
        bool ending;     /* restoring managed devices: still owns its groups, takes nothing */
        worker *restore; /* while ending */
        sd_event_source *patience; /* while restoring: the holder is killed when it fires */
        void *revocation;          /* Revoke's, while it takes the devices back */
        lease_bind_job *bind;      /* while a managed bind runs (lease-bind.c) */
        char *why;
        lease_end_waiter *waiters;
        size_t n_waiters;
};

struct leases {
        leases_config config;
        lease *first;
};

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
lease_bind_job **lease_bind_slot(lease *l);
int lease_add_bound_device(lease *l, const model_device *d);
int lease_save(lease *l);
void lease_undo_devices(lease *l, size_t from);

/* lease.c, for lease-end.c. */
void lease_free(lease *l);
void lease_unlink(lease *l);
void lease_publish(lease *l, lease_event_kind kind, int group);
/* Takes the group nodes of path mode back, for the devices from index from on. */
void lease_revoke_paths(lease *l, size_t from);
/* Frees every group the lease holds; returns how many. */
size_t lease_disown_all(lease *l);

/* lease-end.c, for lease_free: stops what an unfinished end started; its waiters get
 * -ECANCELED. */
void lease_end_done(lease *l);
