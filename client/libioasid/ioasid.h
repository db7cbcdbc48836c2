/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef IOASID_H
#define IOASID_H

/* libioasid: a client of ioasidd, the VFIO broker, for VMMs and tools.
 *
 * Every call returns 0 (or a count) on success and a negative errno on failure. When the daemon
 * refuses a call (a varlink error reply), the call returns the errno of ioasid_error_errno() for
 * that error, and the connection keeps the error's name and parameters until its next call:
 * ioasid_error_name(), ioasid_error_reason_at() and the other ioasid_error_*() accessors.
 *
 * Handles are opaque. Strings and objects a handle returns are borrowed: valid until that
 * handle is freed (or, for the error accessors, until the connection's next call). Nothing here
 * is thread-safe: use one connection per thread. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define IOASID_DEFAULT_SOCKET "/run/ioasid/io.ioasid.Broker"

typedef struct ioasid ioasid;
typedef struct ioasid_group_list ioasid_group_list;
typedef struct ioasid_device_list ioasid_device_list;
typedef struct ioasid_group ioasid_group;
typedef struct ioasid_device ioasid_device;
typedef struct ioasid_acquire_options ioasid_acquire_options;
typedef struct ioasid_lease ioasid_lease;
typedef struct ioasid_monitor ioasid_monitor;
typedef struct ioasid_event ioasid_event;
typedef struct ioasid_policy_verdict ioasid_policy_verdict;

/* --- connection --- */

/* Connects to the broker at path; NULL means $IOASID_SOCKET if set, else
 * IOASID_DEFAULT_SOCKET. */
int ioasid_connect(const char *path, ioasid **ret);
ioasid *ioasid_free(ioasid *c);
/* The connection's socket (for poll(); calls are blocking). */
int ioasid_get_fd(const ioasid *c);
/* The daemon's version (org.varlink.service.GetInfo); the string is the connection's. */
int ioasid_get_version(ioasid *c, const char **ret);

/* What the broker is and holds (io.ioasid.Broker.GetStatus). */
typedef struct ioasid_status ioasid_status;
int ioasid_get_status(ioasid *c, ioasid_status **ret);
ioasid_status *ioasid_status_free(ioasid_status *s);
const char *ioasid_status_version(const ioasid_status *s);
/* "iommufd" or "legacy"; NULL when the kernel offers neither. */
const char *ioasid_status_backend(const ioasid_status *s);
int ioasid_status_groups(const ioasid_status *s);
int ioasid_status_viable_groups(const ioasid_status *s);
int ioasid_status_devices(const ioasid_status *s);
int ioasid_status_leases(const ioasid_status *s);

/* --- refusals: the last call's varlink error, if the daemon refused it --- */

/* "io.ioasid.Broker.GroupNotViable" etc., or NULL if the last call was not refused. */
const char *ioasid_error_name(const ioasid *c);
/* The error's parameters as JSON text ("{}" when it has none), or NULL. */
const char *ioasid_error_parameters(const ioasid *c);
/* The reasons of GroupNotViable (none for other errors). */
size_t ioasid_error_n_reasons(const ioasid *c);
const char *ioasid_error_reason_at(const ioasid *c, size_t i);
/* The text reason of PermissionDenied, BackendUnavailable, BindFailed, or the message of
 * PolicyError; NULL for other errors. */
const char *ioasid_error_message(const ioasid *c);
/* The group of GroupNotViable, GroupBusy, NoSuchGroup; -1 for other errors. */
int ioasid_error_group(const ioasid *c);
/* The address of NoSuchDevice and BindFailed; the lease of NoSuchLease; NULL otherwise. */
const char *ioasid_error_address(const ioasid *c);
const char *ioasid_error_lease(const ioasid *c);
/* The owner named by GroupBusy: 0 and the fields, or -ENODATA for other errors. Any of the
 * out pointers may be NULL. */
int ioasid_error_owner(const ioasid *c, uid_t *ret_uid, pid_t *ret_pid, const char **ret_lease);
/* The errno a call returns for a refusal: -ENOENT for NoSuchDevice, NoSuchGroup and
 * NoSuchLease; -EPERM for GroupNotViable; -EBUSY for GroupBusy; -EACCES for PermissionDenied;
 * -EOPNOTSUPP for BackendUnavailable; -EBADMSG for PolicyError; -EIO for BindFailed; -EINVAL
 * for org.varlink.service.InvalidParameter; -EREMOTEIO for anything else. */
int ioasid_error_errno(const char *name);

/* --- groups and devices --- */

int ioasid_list_groups(ioasid *c, ioasid_group_list **ret);
/* A list of the one group. */
int ioasid_get_group(ioasid *c, int group, ioasid_group_list **ret);
int ioasid_list_devices(ioasid *c, ioasid_device_list **ret);
ioasid_group_list *ioasid_group_list_free(ioasid_group_list *l);
ioasid_device_list *ioasid_device_list_free(ioasid_device_list *l);
size_t ioasid_group_list_size(const ioasid_group_list *l);
const ioasid_group *ioasid_group_list_get(const ioasid_group_list *l, size_t i);
size_t ioasid_device_list_size(const ioasid_device_list *l);
const ioasid_device *ioasid_device_list_get(const ioasid_device_list *l, size_t i);

int ioasid_group_number(const ioasid_group *g);
/* The kernel's default domain type: "DMA", "DMA-FQ", "identity", ... */
const char *ioasid_group_type(const ioasid_group *g);
bool ioasid_group_viable(const ioasid_group *g);
/* Why the group is not viable, and what would fix it. */
size_t ioasid_group_n_reasons(const ioasid_group *g);
const char *ioasid_group_reason(const ioasid_group *g, size_t i);
/* Warnings that leave viability as it is. */
size_t ioasid_group_n_notes(const ioasid_group *g);
const char *ioasid_group_note(const ioasid_group *g, size_t i);
bool ioasid_group_dma_blocked(const ioasid_group *g);
size_t ioasid_group_n_devices(const ioasid_group *g);
const ioasid_device *ioasid_group_device(const ioasid_group *g, size_t i);
/* 0 and the owner's fields, or -ENODATA when nobody holds the group. */
int ioasid_group_owner(const ioasid_group *g, uid_t *ret_uid, pid_t *ret_pid,
                       const char **ret_lease);

const char *ioasid_device_address(const ioasid_device *d);
/* -1 for a device without an IOMMU group. */
int ioasid_device_group(const ioasid_device *d);
const char *ioasid_device_vendor(const ioasid_device *d);
const char *ioasid_device_id(const ioasid_device *d);
const char *ioasid_device_class(const ioasid_device *d);
/* NULL while no driver is bound. */
const char *ioasid_device_driver(const ioasid_device *d);
/* The VFIO cdev name ("vfio0") while bound to a vfio driver, else NULL. */
const char *ioasid_device_cdev(const ioasid_device *d);
int ioasid_device_owner(const ioasid_device *d, uid_t *ret_uid, pid_t *ret_pid,
                        const char **ret_lease);

/* --- acquiring --- */

/* What to acquire and how. New fields come as new setters, so the structure never changes. */
int ioasid_acquire_options_new(ioasid_acquire_options **ret);
ioasid_acquire_options *ioasid_acquire_options_free(ioasid_acquire_options *o);
/* A PCI address ("0000:00:03.1"); the device's whole IOMMU group comes with it. */
int ioasid_acquire_options_add_device(ioasid_acquire_options *o, const char *address);
/* Let the daemon bind the groups' devices to vfio-pci, and restore their drivers after. */
int ioasid_acquire_options_set_managed(ioasid_acquire_options *o, bool managed);
/* Legacy backend: the caller's user is made the owner of the group nodes instead of receiving
 * fds (for VMMs that can only open a path). */
int ioasid_acquire_options_set_path_mode(ioasid_acquire_options *o, bool path_mode);
/* Have the broker raise the holder's RLIMIT_MEMLOCK (soft and hard) to at least bytes, within
 * what policy grants ("maxLockedMemory"; else the Acquire is refused with PermissionDenied).
 * A VMM with a vfio-pci device pins all guest RAM, charged to its own limit: ask for guest RAM
 * plus room for ROMs (64 MiB is ample). 0: leave the limit as it is (the default). */
int ioasid_acquire_options_set_locked_memory(ioasid_acquire_options *o, uint64_t bytes);
/* The process that will hold the fds, as a pidfd (borrowed; -1 for the caller itself). It
 * must run as the caller's user; the lease ends when it exits. */
int ioasid_acquire_options_set_holder_pidfd(ioasid_acquire_options *o, int pidfd);
/* Add the devices to this existing lease of the caller's (NULL: a new lease). */
int ioasid_acquire_options_set_lease(ioasid_acquire_options *o, const char *lease);

int ioasid_acquire(ioasid *c, const ioasid_acquire_options *o, ioasid_lease **ret);
/* Frees the result and closes the fds it still holds; the lease itself lasts until
 * ioasid_release(), the holder's exit, or a revoke. */
ioasid_lease *ioasid_lease_free(ioasid_lease *l);
const char *ioasid_lease_id(const ioasid_lease *l);
/* "iommufd" or "legacy". */
const char *ioasid_lease_backend(const ioasid_lease *l);
/* The iommufd (or legacy container) fd; -1 in path mode. Owned by l. */
int ioasid_lease_iommu_fd(const ioasid_lease *l);
/* Takes the fd out of l: the caller closes it. -ENODATA if there is none. */
int ioasid_lease_take_iommu_fd(ioasid_lease *l);
size_t ioasid_lease_n_grants(const ioasid_lease *l);
/* The index of the grant for address, or -ENOENT. */
int ioasid_lease_find_grant(const ioasid_lease *l, const char *address);
const char *ioasid_lease_grant_address(const ioasid_lease *l, size_t i);
int ioasid_lease_grant_group(const ioasid_lease *l, size_t i);
/* The device cdev fd (the group fd for legacy); -1 in path mode. Owned by l. */
int ioasid_lease_grant_fd(const ioasid_lease *l, size_t i);
int ioasid_lease_take_grant_fd(ioasid_lease *l, size_t i);
/* The group node the caller's user now owns, in path mode; NULL otherwise. */
const char *ioasid_lease_grant_path(const ioasid_lease *l, size_t i);

/* Ends a lease of the caller's; answered once its groups are free. */
int ioasid_release(ioasid *c, const char *lease);

/* --- events --- */

/* A connection of its own that streams events. Poll ioasid_monitor_get_fd() for input, then
 * call ioasid_monitor_process() until it returns 0: it returns 1 with one event, 0 when no
 * whole event is buffered, -ECONNRESET when the daemon went away. It never blocks. The first
 * event is "ready": every change after it is reported. */
int ioasid_monitor_new(const char *path, ioasid_monitor **ret);
ioasid_monitor *ioasid_monitor_free(ioasid_monitor *m);
int ioasid_monitor_get_fd(const ioasid_monitor *m);
int ioasid_monitor_process(ioasid_monitor *m, ioasid_event **ret);
ioasid_event *ioasid_event_free(ioasid_event *e);
/* "ready", "deviceAdded", "driverChanged", "groupChanged", "leaseAcquired", ... */
const char *ioasid_event_kind(const ioasid_event *e);
const char *ioasid_event_address(const ioasid_event *e);
int ioasid_event_group(const ioasid_event *e);
const char *ioasid_event_driver(const ioasid_event *e);
const char *ioasid_event_previous_driver(const ioasid_event *e);
/* 1 viable, 0 not, -ENODATA when the event does not say. */
int ioasid_event_viable(const ioasid_event *e);
size_t ioasid_event_n_reasons(const ioasid_event *e);
const char *ioasid_event_reason(const ioasid_event *e, size_t i);
const char *ioasid_event_lease(const ioasid_event *e);
/* The event as JSON text, as the daemon sent it. */
const char *ioasid_event_json(const ioasid_event *e);

/* --- administration (io.ioasid.Admin: root, or a policy "admin" grant) --- */

int ioasid_bind(ioasid *c, const char *address, const char *driver);
int ioasid_unbind(ioasid *c, const char *address);
int ioasid_revoke(ioasid *c, const char *lease);
int ioasid_rescan(ioasid *c);
/* Returns the number of rules now in force. */
int ioasid_reload_policy(ioasid *c);
int ioasid_check_policy(ioasid *c, uid_t uid, const char *address, ioasid_policy_verdict **ret);
ioasid_policy_verdict *ioasid_policy_verdict_free(ioasid_policy_verdict *v);
bool ioasid_policy_verdict_allowed(const ioasid_policy_verdict *v);
/* The deciding rule, or NULL when none did. */
const char *ioasid_policy_verdict_rule(const ioasid_policy_verdict *v);
const char *ioasid_policy_verdict_reason(const ioasid_policy_verdict *v);

#ifdef __cplusplus
}
#endif

#endif
