/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* io.ioasid.Broker.Acquire and Release: from the call on the socket to the fds in the reply.
 * Every check happens before anything is claimed: the devices exist, the lease is the caller's,
 * no group belongs to another lease, policy allows the caller every device of each group, every
 * group is viable. Then lease.c claims the groups through the backend, all or nothing. */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "access.h"
#include "acquire.h"
#include "audit.h"
#include "backend.h"
#include "daemon-state.h"
#include "json-cleanup.h"
#include "lease.h"
#include "log.h"
#include "memlock.h"
#include "pci-address.h"
#include "sync.h"

#define ACQUIRE_DEVICES_MAX 256u

/* An index into the fds sent with the call: a negative one is a bad index, not an absent one,
 * which would tie the lease to the caller without being asked to. */
static int field_fd_index(json_object *v, void *dest)
{
        int64_t i;
        int r = vl_field_int64(v, &i);

        if (r < 0)
                return r;
        if (i < 0)
                return -EINVAL;
        *(int64_t *)dest = i;
        return 0;
}

const vl_field acquire_fields[] = {
        { "devices", vl_field_string_array, offsetof(acquire_args, devices), VL_FIELD_MANDATORY },
        { "lease", vl_field_string, offsetof(acquire_args, lease), 0 },
        { "pidFileDescriptor", field_fd_index, offsetof(acquire_args, pidfd_index), 0 },
        { "managed", vl_field_bool, offsetof(acquire_args, managed), 0 },
        { "pathMode", vl_field_bool, offsetof(acquire_args, path_mode), 0 },
        { "lockedMemory", vl_field_uint64, offsetof(acquire_args, locked_memory), 0 },
        {},
};
const acquire_args acquire_defaults = { .pidfd_index = -1 };

/* Error replies: each builds its parameters, or fails with -ENOMEM. */
static int error_with(vl_link *link, const char *error, json_object *p)
{
        if (!p)
                return -ENOMEM;
        audit(AUDIT_REFUSE, LOG_NOTICE, "refuse", .error = error,
              .device = json_object_get_string(json_object_object_get(p, "address")),
              .uid = AUDIT_ID(vl_link_peer(link)->uid), .pid = AUDIT_ID(vl_link_peer(link)->pid));
        return vl_link_error(link, error, p);
}

static json_object *object_1(const char *key, json_object *v)
{
        json_object *o = json_object_new_object();

        if (!o || !v || json_object_object_add(o, key, v) < 0) {
                json_object_put(o);
                json_object_put(v);
                return NULL;
        }
        return o;
}

static int error_no_such_device(vl_link *link, const char *address)
{
        return error_with(link, "io.ioasid.Broker.NoSuchDevice",
                          object_1("address", json_object_new_string(address)));
}

static int error_no_such_lease(vl_link *link, const char *id)
{
        return error_with(link, "io.ioasid.Broker.NoSuchLease",
                          object_1("lease", json_object_new_string(id)));
}

static int error_permission(vl_link *link, const char *reason)
{
        return error_with(link, "io.ioasid.Broker.PermissionDenied",
                          object_1("reason", json_object_new_string(reason)));
}

static int error_backend(vl_link *link, const char *reason)
{
        return error_with(link, "io.ioasid.Broker.BackendUnavailable",
                          object_1("reason", json_object_new_string(reason)));
}

static int error_busy(vl_link *link, int group, const lease *owner)
{
        json_object *p = object_1("group", json_object_new_int(group));

        if (p && json_object_object_add(p, "owner", lease_describe_owner(owner)) < 0)
                p = (json_object_put(p), NULL);
        return error_with(link, "io.ioasid.Broker.GroupBusy", p);
}

static int error_not_viable(vl_link *link, int group, char *const *reasons, size_t n,
                            const char *reason)
{
        json_object *p = object_1("group", json_object_new_int(group));
        json_object *a = json_object_new_array();

        for (size_t i = 0; a && i < n; i++)
                json_object_array_add(a, json_object_new_string(reasons[i]));
        if (a && reason)
                json_object_array_add(a, json_object_new_string(reason));
        if (!p || !a || json_object_object_add(p, "reasons", a) < 0) {
                json_object_put(a);
                json_object_put(p);
                return -ENOMEM;
        }
        return vl_link_error(link, "io.ioasid.Broker.GroupNotViable", p);
}

/* The pid behind a pidfd, from its fdinfo: only pidfds have a "Pid:" line. -EBADF for any
 * other fd, -ESRCH for a process that is gone. */
static int pidfd_get_pid(int fd, pid_t *ret)
{
        char path[64], line[256];
        FILE *f;
        int pid = 0;
        bool found = false;

        snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
        f = fopen(path, "re");
        if (!f)
                return -errno;
        while (fgets(line, sizeof(line), f))
                if (sscanf(line, "Pid: %d", &pid) == 1) {
                        found = true;
                        break;
                }
        fclose(f);
        if (!found)
                return -EBADF;
        if (pid <= 0)
                return -ESRCH;
        *ret = pid;
        return 0;
}

/* The real uid of pid, from /proc; checked against the pidfd afterwards by the caller. */
static int pid_get_uid(pid_t pid, uid_t *ret)
{
        char path[64], line[256];
        unsigned uid;
        FILE *f;
        int r = -EIO;

        snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
        f = fopen(path, "re");
        if (!f)
                return errno == ENOENT ? -ESRCH : -errno;
        while (fgets(line, sizeof(line), f))
                if (sscanf(line, "Uid: %u", &uid) == 1) {
                        *ret = uid;
                        r = 0;
                        break;
                }
        fclose(f);
        return r;
}

/* The process that will hold the fds: the one a pidfd sent with the call names (it must run
 * as the caller's uid: nobody makes another user's process a holder), or the caller. */
static int holder_of(vl_link *link, const acquire_args *a, int *ret_pidfd, pid_t *ret_pid,
                     const char **ret_bad)
{
        const vl_peer *peer = vl_link_peer(link);
        _cleanup_close_ int fd = -EBADF;
        pid_t pid = 0;
        uid_t uid = 0;
        int r;

        if (a->pidfd_index < 0) {
                if (peer->pidfd < 0)
                        return -ESRCH;
                fd = fcntl(peer->pidfd, F_DUPFD_CLOEXEC, 3);
                if (fd < 0)
                        return -errno;
                *ret_pid = peer->pid;
                *ret_pidfd = TAKE_FD(fd);
                return 0;
        }
        *ret_bad = "pidFileDescriptor";
        if (a->pidfd_index > INT32_MAX)
                return -EINVAL;
        fd = vl_link_take_fd(link, (unsigned)a->pidfd_index);
        if (fd < 0)
                return -EINVAL;
        r = pidfd_get_pid(fd, &pid);
        if (r == -EBADF)
                return -EINVAL;
        if (r < 0)
                return r;
        r = pid_get_uid(pid, &uid);
        if (r < 0)
                return r;
        /* The pidfd pins the process: if it is still alive now, the uid read was its own. */
        if (syscall(SYS_pidfd_send_signal, fd, 0, NULL, 0) < 0)
                return -ESRCH;
        if (uid != peer->uid && peer->uid != 0)
                return -EPERM;
        *ret_pid = pid;
        *ret_pidfd = TAKE_FD(fd);
        return 0;
}

/* Whether d can be granted as it is: on a vfio driver, so that it has a node to hand out. */
static bool on_vfio_driver(const model_device *d)
{
        return viability_classify(&viability_config_default, d->driver) == VIABILITY_DRIVER_VFIO;
}

/* Binding an SR-IOV PF to vfio-pci unbinds its driver, which tears its VFs down (and blocks
 * while one is open through VFIO): refused while a VF of a member of g that would be rebound
 * belongs to a lease other than l. Free VFs do not hold it back. > 0: replied with an error. */
static int check_sriov(vl_link *link, daemon_state *m, const lease *l, const model_group *g)
{
        size_t n_all;
        const model_device *const *all = model_devices(m->model, &n_all);

        for (size_t i = 0; i < g->n_devices; i++) {
                const model_device *pf = model_group_device(m->model, g, i);

                if (!pf || pf->sriov_numvfs <= 0 || on_vfio_driver(pf))
                        continue;
                for (size_t j = 0; j < n_all; j++) {
                        const model_device *vf = all[j];
                        const model_group *vg =
                                vf->group >= 0 ? model_find_group(m->model, vf->group) : NULL;
                        const lease *owner = vg ? vg->owner : vf->owner;
                        char why[256];

                        if (!streq(vf->physfn, pf->address) || !owner || owner == l)
                                continue;
                        snprintf(why, sizeof(why),
                                 "%s is an SR-IOV PF with %d VF(s) enabled, and its VF %s (group "
                                 "%d) is leased: binding the PF to vfio-pci would tear it down",
                                 pf->address, pf->sriov_numvfs, vf->address, vf->group);
                        return error_not_viable(link, g->number, NULL, 0, why) ?: 1;
                }
        }
        return 0;
}

/* A VF whose PF another lease is binding to vfio-pci now goes down with the PF's driver. > 0:
 * replied with an error. */
static int check_pf_binding(vl_link *link, daemon_state *m, const lease *l, const model_device *vf)
{
        const model_device *pf = vf->physfn[0] ? model_find_device(m->model, vf->physfn) : NULL;
        const model_group *pg = pf && pf->group >= 0 ? model_find_group(m->model, pf->group) : NULL;
        char why[192];

        if (!pg || !pg->owner || pg->owner == l || !lease_binding(pg->owner))
                return 0;
        snprintf(why, sizeof(why),
                 "%s is a VF of %s, which another lease is binding to vfio-pci: its VFs go "
                 "down with its driver",
                 vf->address, pf->address);
        return error_not_viable(link, vf->group, NULL, 0, why) ?: 1;
}

/* Checks one device against everything but the kernel. > 0: replied with an error. Sets
 * *ret_bind when its group needs binding to vfio-pci first (managed, and allowed). */
static int check_device(vl_link *link, daemon_state *m, const lease *l, const access_subject *s,
                        const model_device *d, unsigned n_held, bool managed, bool *ret_bind)
{
        const model_group *g = d->group >= 0 ? model_find_group(m->model, d->group) : NULL;
        bool ready;
        policy_verdict v;
        char why[160];
        int r;

        if (!g) {
                snprintf(why, sizeof(why), "%s has no IOMMU group: the IOMMU cannot isolate it",
                         d->address);
                return error_not_viable(link, d->group, NULL, 0, why) ?: 1;
        }
        if (g->owner && g->owner != l)
                return error_busy(link, g->number, g->owner) ?: 1;
        r = check_pf_binding(link, m, l, d);
        if (r != 0)
                return r;
        if (s) {
                r = access_check_device(m, &s->s, d->address, POLICY_ACQUIRE, n_held, &v);
                if (r < 0)
                        return r;
                if (!v.allowed)
                        return error_permission(link, v.reason) ?: 1;
        }
        ready = g->viability.viable && on_vfio_driver(d);
        if (ready)
                return 0;
        if (managed) {
                if (s) {
                        r = access_check_device(m, &s->s, d->address, POLICY_MANAGED, n_held, &v);
                        if (r < 0)
                                return r;
                        if (!v.allowed)
                                return error_permission(link, v.reason) ?: 1;
                }
                r = check_sriov(link, m, l, g);
                if (r != 0)
                        return r;
                *ret_bind = true;
                return 0;
        }
        if (!g->viability.viable)
                return error_not_viable(link, g->number, g->viability.reasons,
                                        g->viability.n_reasons, NULL)
                               ?: 1;
        snprintf(why, sizeof(why),
                 "%s is not bound to a vfio driver; bind it to vfio-pci, or acquire it managed",
                 d->address);
        return error_not_viable(link, g->number, NULL, 0, why) ?: 1;
}

/* Parses and checks the device list. > 0: replied with an error. */
static int read_devices(vl_link *link, daemon_state *m, json_object *array,
                        char (**ret)[PCI_ADDRESS_SIZE], size_t *ret_n)
{
        size_t n = json_object_array_length(array), k = 0;
        _cleanup_free_ char(*addresses)[PCI_ADDRESS_SIZE] = NULL;

        if (n == 0 || n > ACQUIRE_DEVICES_MAX)
                return vl_link_error_invalid_parameter(link, "devices") ?: 1;
        addresses = calloc(n, sizeof(*addresses));
        if (!addresses)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                const char *s = json_object_get_string(json_object_array_get_idx(array, i));
                bool dup = false;

                if (!pci_address_valid_str(s))
                        return vl_link_error_invalid_parameter(link, "devices") ?: 1;
                if (sync_refresh_group(m, s) < 0 || !model_find_device(m->model, s))
                        return error_no_such_device(link, s) ?: 1;
                for (size_t j = 0; j < k; j++)
                        dup = dup || streq(addresses[j], s);
                if (!dup)
                        memcpy(addresses[k++], s, PCI_ADDRESS_SIZE);
        }
        /* Refreshing a later device's group may have dropped an earlier device that went away
         * meanwhile (its group still listed it): each must still be there after all of them. */
        for (size_t i = 0; i < k; i++)
                if (!model_find_device(m->model, addresses[i]))
                        return error_no_such_device(link, addresses[i]) ?: 1;
        *ret = TAKE_PTR(addresses);
        *ret_n = k;
        return 0;
}

/* The reply: each fd goes once, grants of one legacy group share their index. */
static int reply_grants(vl_link *link, const lease *l, const lease_grant *grants, size_t n)
{
        _cleanup_json_ json_object *p = json_object_new_object(), *a = json_object_new_array();
        _cleanup_free_ int *index = calloc(n, sizeof(int));
        int ioas = lease_ioas_fd(l), idx;
        bool path_mode = lease_path_mode(l);

        if (!p || !a || !index)
                return -ENOMEM;
        if (json_object_object_add(p, "lease", json_object_new_string(lease_id(l))) < 0 ||
            json_object_object_add(p, "backend", json_object_new_string(lease_backend(l))) < 0)
                return -ENOMEM;
        if (!path_mode) {
                idx = vl_link_push_fd(link, fcntl(ioas, F_DUPFD_CLOEXEC, 3));
                if (idx < 0)
                        return idx;
                if (json_object_object_add(p, "iommuFileDescriptor", json_object_new_int(idx)) < 0)
                        return -ENOMEM;
        }
        for (size_t i = 0; i < n; i++) {
                json_object *g;

                if (path_mode) {
                        char path[64];

                        g = json_object_new_object();
                        snprintf(path, sizeof(path), "/dev/vfio/%d", grants[i].group);
                        if (!g || json_object_array_add(a, g) < 0) {
                                json_object_put(g);
                                return -ENOMEM;
                        }
                        if (json_object_object_add(g, "address",
                                                   json_object_new_string(grants[i].address)) < 0 ||
                            json_object_object_add(g, "group",
                                                   json_object_new_int(grants[i].group)) < 0 ||
                            json_object_object_add(g, "path", json_object_new_string(path)) < 0)
                                return -ENOMEM;
                        continue;
                }
                index[i] = -1;
                for (size_t j = 0; j < i; j++)
                        if (grants[j].fd == grants[i].fd)
                                index[i] = index[j];
                if (index[i] < 0) {
                        index[i] = vl_link_push_fd(link, fcntl(grants[i].fd, F_DUPFD_CLOEXEC, 3));
                        if (index[i] < 0)
                                return index[i];
                }
                g = json_object_new_object();
                if (!g || json_object_array_add(a, g) < 0) {
                        json_object_put(g);
                        return -ENOMEM;
                }
                if (json_object_object_add(g, "address",
                                           json_object_new_string(grants[i].address)) < 0 ||
                    json_object_object_add(g, "group", json_object_new_int(grants[i].group)) < 0 ||
                    json_object_object_add(g, "fileDescriptor", json_object_new_int(index[i])) < 0)
                        return -ENOMEM;
        }
        if (json_object_object_add(p, "grants", TAKE_PTR(a)) < 0)
                return -ENOMEM;
        return vl_link_reply(link, TAKE_PTR(p));
}

/* An Acquire whose managed bind runs in a worker: what its reply needs afterwards. */
typedef struct acquire_job {
        vl_link *link;
        daemon_state *m;
        lease *l;
        char id[LEASE_ID_SIZE];
        bool created;
        char (*addresses)[PCI_ADDRESS_SIZE];
        size_t n;
        int *groups; /* bound for it */
        size_t n_groups;
} acquire_job;

/* After the bind (if any): each bound group must be viable with the requested devices on a vfio
 * driver now; then the claim, and the reply. bind_result < 0: the bind failed. */
static int finish(vl_link *link, daemon_state *m, lease *l, bool created,
                  char (*addresses)[PCI_ADDRESS_SIZE], size_t n, const int *groups, size_t n_groups,
                  int bind_result)
{
        _cleanup_free_ lease_grant *grants = NULL;
        _cleanup_free_ char *error = NULL;
        const vl_peer *peer = vl_link_peer(link);
        int r;

        for (size_t i = 0; i < n_groups; i++) {
                const model_group *g = model_find_group(m->model, groups[i]);
                bool ok = bind_result >= 0 && g && g->viability.viable;
                char why[128];

                for (size_t k = 0; ok && k < n; k++) {
                        const model_device *d = model_find_device(m->model, addresses[k]);

                        ok = !d || d->group != groups[i] || on_vfio_driver(d);
                }
                if (ok)
                        continue;
                if (created)
                        lease_end(l, "binding failed");
                if (bind_result >= 0)
                        snprintf(why, sizeof(why),
                                 "binding to vfio-pci did not make the group viable");
                else
                        snprintf(why, sizeof(why), "binding to vfio-pci failed: %s",
                                 bind_result == -ETIME ? "timed out" : strerror(-bind_result));
                return error_not_viable(link, groups[i], g ? g->viability.reasons : NULL,
                                        g ? g->viability.n_reasons : 0, why);
        }
        r = lease_acquire(l, addresses, n, &grants, &error);
        if (r < 0) {
                if (created)
                        lease_end(l, "acquire failed");
                if (r == -ENOMEM)
                        return r;
                return error_backend(link, error ?: strerror(-r));
        }
        log_info("Lease %s: uid %u (pid %d) acquired %zu device(s), first %s.", lease_id(l),
                 (unsigned)peer->uid, (int)lease_pid(l), n, addresses[0]);
        audit(AUDIT_GRANT, LOG_INFO, "grant", .lease = lease_id(l), .device = addresses[0],
              .uid = AUDIT_ID(peer->uid), .pid = AUDIT_ID(lease_pid(l)));
        r = reply_grants(link, l, grants, n);
        if (r < 0 && created)
                lease_end(l, "the reply could not be sent");
        return r;
}

static void acquire_bound(int result, void *userdata)
{
        acquire_job *j = userdata;
        daemon_state *m = j->m;
        int r;

        if (result == -ECANCELED)
                r = error_backend(j->link, "the lease ended while its devices were being bound "
                                           "to vfio-pci");
        else {
                /* Whatever the drivers are now, the model reads them again. */
                for (size_t i = 0; i < j->n; i++)
                        (void)sync_refresh_group(m, j->addresses[i]);
                /* Reading them may have ended the lease (its last device gone). */
                if (leases_find(m->leases, j->id) != j->l)
                        r = error_backend(j->link, "the lease ended while its devices were "
                                                   "being bound to vfio-pci");
                else
                        r = finish(j->link, m, j->l, j->created, j->addresses, j->n, j->groups,
                                   j->n_groups, result);
        }
        if (r < 0)
                (void)vl_link_error_errno(j->link, r);
        vl_link_unref(j->link);
        free(j->addresses);
        free(j->groups);
        free(j);
}

int acquire_method(vl_link *link, json_object *params, void *args, void *userdata)
{
        const acquire_args *a = args;
        const vl_peer *peer = vl_link_peer(link);
        daemon_state *m = userdata;
        _cleanup_(access_subject_done) access_subject s = {};
        _cleanup_free_ char(*addresses)[PCI_ADDRESS_SIZE] = NULL;
        _cleanup_free_ char *error = NULL;
        _cleanup_free_ bool *bind = NULL;
        _cleanup_free_ int *groups = NULL;
        acquire_job *job;
        size_t n_groups = 0;
        const char *bad = NULL;
        lease *l = NULL;
        bool created = false;
        unsigned held;
        size_t n;
        int pidfd = -EBADF, r;
        pid_t pid = 0;

        if (!m->backend)
                return error_backend(link, "the kernel offers neither iommufd with vfio device "
                                           "cdevs nor VFIO groups");
        r = read_devices(link, m, a->devices, &addresses, &n);
        if (r != 0)
                return r;
        if (a->lease) {
                l = leases_find(m->leases, a->lease);
                /* Another user's lease does not exist, as far as this caller can tell. */
                if (!l || (lease_uid(l) != peer->uid && peer->uid != 0))
                        return error_no_such_lease(link, a->lease);
                if (lease_binding(l))
                        return error_backend(link, "an Acquire of this lease is binding devices "
                                                   "to vfio-pci; call again when it returned");
                if (a->path_mode != lease_path_mode(l))
                        return vl_link_error_invalid_parameter(link, "pathMode");
                if (!lease_path_mode(l) && lease_ioas_fd(l) < 0)
                        return error_backend(link, "the lease was restored after a restart of "
                                                   "the daemon and cannot grow; acquire a new one");
        }
        if (peer->uid != 0) {
                r = access_subject_from_peer(peer, policy_subject_needs(m->policy), &s);
                if (r < 0)
                        return log_error_errno(r, "Cannot resolve the caller: %m");
        }
        held = leases_devices_of_uid(m->leases, peer->uid);
        bind = calloc(n, sizeof(bool));
        groups = calloc(n, sizeof(int));
        if (!bind || !groups)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                r = check_device(link, m, l, peer->uid != 0 ? &s : NULL,
                                 model_find_device(m->model, addresses[i]), held + (unsigned)i,
                                 a->managed, &bind[i]);
                if (r != 0)
                        return r;
        }

        if (!l) {
                r = holder_of(link, a, &pidfd, &pid, &bad);
                if (r == -EINVAL && bad)
                        return vl_link_error_invalid_parameter(link, bad);
                if (r == -EPERM)
                        return error_permission(link, "the holder process named by the pidfd "
                                                      "runs as another user");
                if (r < 0)
                        return error_permission(link, "the holder process cannot be identified "
                                                      "(gone, or its pid not trustworthy)");
                if (a->path_mode && backend_get_kind(m->backend) != BACKEND_LEGACY)
                        return error_backend(link, "path mode needs the legacy backend (VFIO "
                                                   "group nodes)");
                r = lease_new(m->leases, peer->uid, pidfd, pid, &l);
                if (r < 0)
                        return log_error_errno(r, "Cannot create a lease: %m");
                created = true;
                if (a->path_mode) {
                        r = lease_set_path_mode(l);
                        if (r < 0) {
                                lease_end(l, "path mode refused");
                                return error_backend(link, "path mode needs the legacy backend");
                        }
                }
        }
        r = memlock_raise(link, m, peer->uid != 0 ? &s.s : NULL, lease_holder_pidfd_get(l),
                          lease_pid(l), a->locked_memory);
        if (r != 0) {
                if (created)
                        lease_end(l, "locked memory refused");
                return r;
        }
        for (size_t i = 0; i < n; i++)
                if (bind[i])
                        groups[n_groups++] = model_find_device(m->model, addresses[i])->group;
        if (n_groups == 0)
                return finish(link, m, l, created, addresses, n, groups, 0, 0);
        job = calloc(1, sizeof(*job));
        if (!job) {
                if (created)
                        lease_end(l, "out of memory");
                return -ENOMEM;
        }
        *job = (acquire_job){ .m = m, .l = l, .created = created, .n = n, .n_groups = n_groups };
        memcpy(job->id, lease_id(l), sizeof(job->id));
        r = lease_bind_groups(l, groups, n_groups, acquire_bound, job, &error);
        if (r > 0) {
                /* The reply waits for the worker; the call keeps the link until then. */
                job->link = vl_link_ref(link);
                job->addresses = TAKE_PTR(addresses);
                job->groups = TAKE_PTR(groups);
                return 0;
        }
        free(job);
        if (r == 0)
                return finish(link, m, l, created, addresses, n, groups, n_groups, 0);
        if (created)
                lease_end(l, "binding failed");
        if (r == -ENOMEM)
                return r;
        return error_not_viable(link, groups[0], NULL, 0, error ?: strerror(-r));
}

const vl_field release_fields[] = {
        { "lease", vl_field_string, offsetof(release_args, lease), VL_FIELD_MANDATORY },
        {},
};

static void released(const char *id, int result, void *userdata)
{
        _cleanup_free_ char *reason = NULL;
        vl_link *link = userdata;

        /* -ECANCELED: the daemon stops first; the caller learns it from the closed connection. */
        if (result >= 0)
                (void)vl_link_reply(link, NULL);
        else if (result != -ECANCELED) {
                if (asprintf(&reason,
                             "the lease has ended, but its devices were not all put "
                             "back on their drivers: %s",
                             strerror(-result)) < 0)
                        reason = NULL;
                (void)error_backend(link, reason ?: strerror(-result));
        }
        vl_link_unref(link);
}

int release_method(vl_link *link, json_object *params, void *args, void *userdata)
{
        const release_args *a = args;
        const vl_peer *peer = vl_link_peer(link);
        daemon_state *m = userdata;
        lease *l = leases_find(m->leases, a->lease);
        int r;

        if (!l || (lease_uid(l) != peer->uid && peer->uid != 0))
                return error_no_such_lease(link, a->lease);
        r = lease_on_end(l, released, vl_link_ref(link));
        if (r < 0) {
                vl_link_unref(link);
                return r;
        }
        /* Answered from released(), once the groups are free and their drivers back. */
        lease_end(l, "released");
        return 0;
}
