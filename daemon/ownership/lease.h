/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Leases: who owns which IOMMU groups. A lease belongs to a uid and to a holder process (a
 * pidfd); it holds whole groups, never single devices, and with them the fds the backend opened
 * for it (the address space, and per device its cdev or group fd). The daemon keeps its own
 * copies of those fds for as long as the lease lasts, so the kernel keeps the group claimed
 * between grants and the holder's exit.
 *
 * A lease ends on Release, when its holder exits (the pidfd becomes readable: no polling), on
 * Revoke, or when its last device is gone. Every lease is recorded under the state directory
 * before its fds leave, and its record removed only after it has ended, so a daemon killed at
 * any point finds on restart every lease that may have fds out. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <json-c/json.h>
#include <systemd/sd-event.h>

#include "backend.h"
#include "lease-store.h"
#include "managed.h"
#include "model.h"

typedef struct lease lease;
typedef struct leases leases;

typedef enum lease_event_kind {
        LEASE_ACQUIRED,    /* the lease took a group */
        LEASE_RELEASED,    /* it let go of a group, or of all (group -1) */
        LEASE_COMPROMISED, /* a host driver was bound into one of its groups */
} lease_event_kind;

/* What happened to a lease, for whoever tells clients about it. Borrowed for the call. */
typedef struct lease_event {
        lease_event_kind kind;
        const char *lease; /* its id */
        int group;         /* -1: none */
        const char *address;
        const char *driver;
} lease_event;

/* How leases tell the rest of the daemon about changes: the layers above set it up, so that
 * leases need not know who listens. Either callback may be NULL. */
typedef struct leases_sink {
        void (*event)(const lease_event *e, void *userdata);
        /* The drivers of a device changed under a lease: the model is to read its group again,
         * now (the lease's next decision depends on it). */
        int (*refresh_group)(const char *address, void *userdata);
        void *userdata;
} leases_sink;

/* The pieces of the daemon's state that leases use, all borrowed; they outlive the table. */
typedef struct leases_config {
        sd_event *event;
        model *model;
        backend *backend; /* NULL: no backend, nothing can be acquired */
        const managed_sysfs *managed;
        int state_fd;                 /* lease records */
        uint64_t revoke_timeout_usec; /* how long Revoke waits for a holder to let go */
        leases_sink sink;
} leases_config;

typedef struct lease_grant {
        char address[PCI_ADDRESS_SIZE];
        int group;
        int fd; /* borrowed from the lease: push a dup */
} lease_grant;

int leases_new(const leases_config *config, leases **ret);
/* Its table's configuration (borrowed), for the modules that act on a lease. */
const leases_config *lease_get_config(const lease *l);
leases *leases_free(leases *t);
/* Reads the records of an earlier run: leases whose holder still runs are kept, the others
 * ended (managed devices restored). */
int leases_restore(leases *t);

lease *leases_find(leases *t, const char *id);
/* Whether l is a live lease of t (a change list may name one that ended meanwhile). */
bool leases_contains(leases *t, const lease *l);
/* Devices held by uid in all its leases (policy's maxDevices). */
unsigned leases_devices_of_uid(leases *t, uid_t uid);

const char *lease_id(const lease *l);
uid_t lease_uid(const lease *l);
pid_t lease_pid(const lease *l);
const char *lease_backend(const lease *l);
/* The address space's fd to hand out, borrowed; -EBADF for a lease restored from an earlier
 * run (its fds are with the holder only). */
int lease_ioas_fd(const lease *l);
/* Whether the kernel holds group claimed for the lease now, by what the daemon itself holds:
 * legacy, its own group fd with the container set. Not for path mode (the holder opens the
 * node), a lease restored after a restart (the fds died with the old process), nor one under
 * revoke or ending (its fds are closed). An iommufd lease's cdevs are handed out unbound, so
 * the kernel claims the group only when the holder binds a device to its iommufd. */
bool lease_dma_blocked(const lease *l, int group);
/* The interface's Owner object. */
json_object *lease_describe_owner(const lease *l);

/* Takes holder_pidfd. */
int lease_new(leases *t, uid_t uid, int holder_pidfd, pid_t pid, lease **ret);
/* Claims addresses (all known, each group free or this lease's already, viable) for l, all or
 * nothing, and records the lease before returning. ret_grants gets one entry per address, in
 * order (malloc'd). On failure l is as it was (ret_error, optional, says which device failed
 * how); a lease that holds nothing after a failure is for the caller to end. */
int lease_acquire(lease *l, char (*addresses)[PCI_ADDRESS_SIZE], size_t n, lease_grant **ret_grants,
                  char **ret_error);
/* Legacy path mode, for a new lease before its first acquire: the lease's uid is given the group
 * nodes (/dev/vfio/N) instead of fds, and they are taken back when it ends. -EOPNOTSUPP on other
 * backends. */
int lease_set_path_mode(lease *l);
bool lease_path_mode(const lease *l);

/* The holder's pidfd (borrowed), and the lease's devices as recorded. */
int lease_holder_pidfd_get(const lease *l);
const lease_record *lease_get_record(const lease *l);
/* Closes the daemon's own copies of the lease's fds: from then on only the holder keeps the
 * devices open (Revoke asks the kernel to take them back, which waits for exactly that). */
void lease_drop_fds(lease *l);
/* Called once, when l is gone (after its drivers are restored); one per lease. */
void lease_set_end_callback(lease *l, void (*cb)(const char *id, void *userdata), void *userdata);

/* Managed mode, off the main loop (unbinding a driver may block, and a PF's driver takes its
 * VFs down with it): binds the devices of the groups that are on no vfio driver (bridges
 * aside) to vfio-pci for l, in a worker, recording each with its original driver before the
 * worker starts; the lease owns those groups from then on. All or nothing: a failed bind undoes
 * itself, and its devices leave the record again. Returns 0 when nothing needed binding (done
 * is not called), 1 when the worker runs: done is called once, on the loop, with 0 or a
 * negative errno; -ECANCELED when the lease ended first (then l is not to be touched), -ETIME
 * or -EINTR when the worker was stopped half way (the devices stay recorded, for the lease's
 * end to put back). A negative errno: nothing changed (ret_error, optional, may say why;
 * -EBUSY: a bridge on a host driver, or a bind of l already running). The drivers are restored
 * when the lease ends. */
typedef void (*lease_bind_done_fn)(int result, void *userdata);
int lease_bind_groups(lease *l, const int *groups, size_t n_groups, lease_bind_done_fn done,
                      void *userdata, char **ret_error);
/* Whether a bind of l runs now: nothing else may change its devices meanwhile. */
bool lease_binding(const lease *l);

/* Reacts to a change of a device or group the lease holds (c->owner is l): a host driver bound
 * into a leased group compromises the lease (the kernel should have refused: the group's
 * isolation is gone; audited and reported, the holder keeps what it has), a device that went
 * away leaves the lease (which ends with its last device). */
void lease_device_changed(lease *l, const model_change *c);

/* Ends l: closes its fds, restores managed devices (off the main loop: unbinding waits for the
 * holder to close them; the groups stay owned until that is done), removes its record, frees
 * it. */
void lease_end(lease *l, const char *why);
