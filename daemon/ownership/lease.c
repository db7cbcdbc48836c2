/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "audit.h"
#include "backend.h"
#include "json-cleanup.h"
#include "lease-internal.h"
#include "log.h"
#include "managed.h"
#include "model.h"
#include "worker.h"

int leases_new(const leases_config *config, leases **ret)
{
        leases *t = calloc(1, sizeof(*t));

        if (!t)
                return -ENOMEM;
        t->config = *config;
        /* An fd of the state directory that fsync() takes (the daemon's may be O_PATH), opened
         * once: every record written syncs the directory. */
        t->config.state_fd = openat(config->state_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (t->config.state_fd < 0) {
                int r = negative_errno();

                free(t);
                return r;
        }
        *ret = t;
        return 0;
}

const leases_config *lease_get_config(const lease *l)
{
        return &l->table->config;
}

const leases_config *leases_get_config(const leases *t)
{
        return &t->config;
}

void lease_free(lease *l)
{
        /* A bind still running is stopped (its Acquire answered), then whatever the end had
         * started; the record stays for the next run to finish. */
        lease_bind_cancel(l);
        lease_end_done(l);
        free(l->why);
        lease_record_done(&l->rec);
        free(l->fds);
        free(l->groups);
        backend_space_free(l->space);
        sd_event_source_disable_unref(l->exit_source);
        safe_close(l->pidfd);
        free(l);
}

void lease_unlink(lease *l)
{
        if (l->prev)
                l->prev->next = l->next;
        else
                l->table->first = l->next;
        if (l->next)
                l->next->prev = l->prev;
        l->prev = l->next = NULL;
}

leases *leases_free(leases *t)
{
        if (!t)
                return NULL;
        /* The daemon stops, the leases do not: their records stay for the next run. */
        while (t->first) {
                lease *l = t->first;

                lease_unlink(l);
                lease_free(l);
        }
        safe_close(t->config.state_fd);
        free(t);
        return NULL;
}

lease *leases_find(leases *t, const char *id)
{
        for (lease *l = t->first; l; l = l->next)
                if (!l->ending && streq(l->rec.id, id))
                        return l;
        return NULL;
}

bool leases_contains(leases *t, const lease *l)
{
        for (lease *i = t ? t->first : NULL; i; i = i->next)
                if (i == l)
                        return true;
        return false;
}

unsigned leases_devices_of_uid(leases *t, uid_t uid)
{
        unsigned n = 0;

        for (lease *l = t->first; l; l = l->next)
                if (l->rec.uid == uid)
                        n += (unsigned)l->rec.n_devices;
        return n;
}

const char *lease_id(const lease *l)
{
        return l->rec.id;
}

uid_t lease_uid(const lease *l)
{
        return l->rec.uid;
}

pid_t lease_pid(const lease *l)
{
        return l->rec.holder_pid;
}

int lease_ioas_fd(const lease *l)
{
        return l->space ? backend_space_fd(l->space) : -EBADF;
}

const char *lease_backend(const lease *l)
{
        return backend_kind_to_string(backend_get_kind(l->table->config.backend));
}

bool lease_dma_blocked(const lease *l, int group)
{
        /* Only the daemon's own group fd, in its container, is a claim it knows of: a path-mode
         * lease has none, a restored one lost them with the old process, a lease under revoke or
         * ending has closed them. */
        return backend_get_kind(l->table->config.backend) == BACKEND_LEGACY && !l->ending &&
               l->space && backend_space_has_group(l->space, group);
}

json_object *lease_describe_owner(const lease *l)
{
        _cleanup_json_ json_object *o = json_object_new_object();

        if (!o || json_object_object_add(o, "uid", json_object_new_int64(l->rec.uid)) < 0 ||
            json_object_object_add(o, "pid", json_object_new_int(l->rec.holder_pid)) < 0 ||
            json_object_object_add(o, "lease", json_object_new_string(l->rec.id)) < 0)
                return NULL;
        return TAKE_PTR(o);
}

void lease_publish(lease *l, lease_event_kind kind, int group)
{
        const leases_sink *sink = &l->table->config.sink;

        if (sink->event)
                sink->event(&(lease_event){ .kind = kind, .lease = l->rec.id, .group = group },
                            sink->userdata);
}

void leases_refresh_group(const leases_config *c, const char *address)
{
        if (c->sink.refresh_group)
                (void)c->sink.refresh_group(address, c->sink.userdata);
}

/* Whether a device before index `before` is in group. */
static bool has_group_before(const lease *l, int group, size_t before)
{
        for (size_t i = 0; i < before; i++)
                if (l->rec.devices[i].group == group)
                        return true;
        return false;
}

/* Makes owner (l or NULL) the owner of group and its devices in the model. l keeps the numbers
 * of the groups it was made owner of, so that freeing them all looks at those, not at every
 * group of the machine. */
static int set_owner(lease *l, int group, lease *owner)
{
        model *m = l->table->config.model;
        const model_group *g = model_find_group(m, group);
        size_t i = 0;

        while (i < l->n_groups && l->groups[i] != group)
                i++;
        if (owner && i == l->n_groups) {
                int *p = reallocarray(l->groups, l->n_groups + 1, sizeof(int));

                if (!p)
                        return -ENOMEM;
                l->groups = p;
                l->groups[l->n_groups++] = group;
        } else if (!owner && i < l->n_groups)
                l->groups[i] = l->groups[--l->n_groups];
        (void)model_set_group_owner(m, group, owner);
        for (size_t k = 0; g && k < g->n_devices; k++)
                (void)model_set_device_owner(m, g->devices[k], owner);
        return 0;
}

static int on_holder_exit(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        lease *l = userdata;

        log_info("Lease %s: holder pid %d exited.", l->rec.id, (int)l->rec.holder_pid);
        lease_end(l, "holder exited");
        return 0;
}

static int watch_holder(lease *l)
{
        /* A pidfd turns readable when its process exits: the lease ends on that, no polling. */
        return sd_event_add_io(l->table->config.event, &l->exit_source, l->pidfd, EPOLLIN,
                               on_holder_exit, l);
}

static void link_lease(leases *t, lease *l)
{
        l->table = t;
        l->next = t->first;
        if (t->first)
                t->first->prev = l;
        t->first = l;
}

int lease_new(leases *t, uid_t uid, int holder_pidfd, pid_t pid, lease **ret)
{
        lease *l = calloc(1, sizeof(*l));
        int r;

        if (!l) {
                safe_close(holder_pidfd);
                return -ENOMEM;
        }
        l->pidfd = holder_pidfd;
        l->table = t;
        l->rec.uid = uid;
        l->rec.holder_pid = pid;
        snprintf(l->rec.backend, sizeof(l->rec.backend), "%s", backend_name(t->config.backend));
        r = lease_id_new(l->rec.id);
        if (r >= 0)
                r = lease_holder_start_time(pid, &l->rec.holder_start_time);
        if (r >= 0)
                r = backend_space_new(t->config.backend, &l->space);
        if (r >= 0)
                r = watch_holder(l);
        if (r < 0) {
                lease_free(l);
                return r;
        }
        link_lease(t, l);
        *ret = l;
        return 0;
}

void lease_revoke_paths(lease *l, size_t from)
{
        for (size_t i = from; l->rec.path_mode && i < l->rec.n_devices; i++)
                if (!has_group_before(l, l->rec.devices[i].group, i)) {
                        int r = backend_path_revoke(l->table->config.backend,
                                                    l->rec.devices[i].group);

                        if (r < 0)
                                log_error_errno(r,
                                                "AUDIT lease=%s: cannot take /dev/vfio/%d back: "
                                                "%m",
                                                l->rec.id, l->rec.devices[i].group);
                }
}

/* Drops devices [from, n) again: a failed acquire leaves the lease as it was. */
static void truncate_devices(lease *l, size_t from)
{
        for (size_t i = l->rec.n_devices; i-- > from;) {
                int group = l->rec.devices[i].group;

                if (!has_group_before(l, group, from) && !has_group_before(l, group, i)) {
                        if (l->rec.path_mode)
                                (void)backend_path_revoke(l->table->config.backend, group);
                        if (l->space)
                                backend_release_group(l->space, group);
                        set_owner(l, group, NULL);
                }
                (void)lease_record_remove_device(&l->rec, l->rec.devices[i].address);
        }
}

/* Path mode: the uid gets the group node itself, once per group; no fd leaves. The group has
 * its node already if an earlier grant of this call was in it, or a device of it was granted by
 * an earlier Acquire (no longer pending); a device bound for the lease (managed) and not granted
 * yet does not count. Granting again would fail anyway: the holder may have the node open. */
static int claim_path(lease *l, const model_device *d, const lease_grant *done, size_t n_done,
                      int *ret_fd)
{
        *ret_fd = -EBADF;
        for (size_t i = 0; i < n_done; i++)
                if (done[i].group == d->group)
                        return 0;
        for (size_t i = 0; i < l->rec.n_devices; i++)
                if (l->rec.devices[i].group == d->group && !l->rec.devices[i].pending)
                        return 0;
        return backend_path_grant(l->table->config.backend, d->group, l->rec.uid);
}

static int add_device(lease *l, const model_device *d, const lease_grant *done, size_t n_done,
                      int *ret_fd)
{
        const lease_record_device *have = lease_record_find_device(&l->rec, d->address);
        int *fds, fd, r;

        fds = reallocarray(l->fds, l->rec.n_devices + 1, sizeof(int));
        if (!fds)
                return -ENOMEM;
        l->fds = fds;
        r = l->rec.path_mode ? claim_path(l, d, done, n_done, &fd)
                             : backend_claim(l->space, d, &fd);
        if (r < 0)
                return r;
        if (have) {
                /* Bound for the lease before (managed), granted only now. */
                l->fds[have - l->rec.devices] = fd;
                *ret_fd = fd;
                return 0;
        }
        r = lease_record_add_device(&l->rec, d->address, d->group, false, NULL);
        if (r < 0)
                return r;
        l->rec.devices[l->rec.n_devices - 1].pending = true;
        l->fds[l->rec.n_devices - 1] = fd;
        *ret_fd = fd;
        return 0;
}

int lease_acquire(lease *l, char (*addresses)[PCI_ADDRESS_SIZE], size_t n, lease_grant **ret_grants,
                  char **ret_error)
{
        const leases_config *m = &l->table->config;
        _cleanup_free_ lease_grant *grants = calloc(n, sizeof(*grants));
        size_t old = l->rec.n_devices;
        int r = 0;

        if (!grants)
                return -ENOMEM;
        /* Devices being taken back are not handed out again. */
        if (l->revocation || l->ending)
                return -EBUSY;
        for (size_t i = 0; i < n; i++) {
                const model_device *d = model_find_device(m->model, addresses[i]);
                const lease_record_device *have = lease_record_find_device(&l->rec, addresses[i]);
                int fd;

                if (!d) {
                        r = -ENODEV;
                        break;
                }
                if (have && l->fds[have - l->rec.devices] >= 0)
                        fd = l->fds[have - l->rec.devices];
                else {
                        /* The group is this lease's from the first claim on: a concurrent
                         * request for it sees it busy, whatever happens next. */
                        bool new_group = !model_find_group(m->model, d->group) ||
                                         model_find_group(m->model, d->group)->owner != l;

                        r = new_group ? set_owner(l, d->group, l) : 0;
                        if (r >= 0) {
                                r = add_device(l, d, grants, i, &fd);
                                if (r < 0 && new_group)
                                        (void)set_owner(l, d->group, NULL);
                        }
                        if (r < 0) {
                                if (ret_error &&
                                    asprintf(ret_error, "%s: %s", d->address, strerror(-r)) < 0)
                                        *ret_error = NULL;
                                log_warning_errno(r, "Lease %s: cannot claim %s: %m", l->rec.id,
                                                  d->address);
                                break;
                        }
                }
                grants[i] = (lease_grant){ .group = d->group, .fd = fd };
                memcpy(grants[i].address, d->address, sizeof(grants[i].address));
        }
        /* On disk before any fd leaves: a daemon killed after this finds the lease. */
        if (r >= 0) {
                for (size_t i = 0; i < l->rec.n_devices; i++)
                        l->rec.devices[i].pending = false;
                r = lease_store_save(m->state_fd, &l->rec);
                if (r < 0)
                        log_error_errno(r, "Lease %s: cannot record it, refusing: %m", l->rec.id);
        }
        if (r < 0) {
                truncate_devices(l, old);
                return r;
        }
        for (size_t i = old; i < l->rec.n_devices; i++)
                if (!has_group_before(l, l->rec.devices[i].group, i))
                        lease_publish(l, LEASE_ACQUIRED, l->rec.devices[i].group);
        *ret_grants = TAKE_PTR(grants);
        return 0;
}

static void publish_compromised(lease *l, const model_change *c)
{
        const leases_sink *sink = &l->table->config.sink;

        if (sink->event)
                sink->event(&(lease_event){ .kind = LEASE_COMPROMISED,
                                            .lease = l->rec.id,
                                            .group = c->group,
                                            .address = c->address,
                                            .driver = c->new_driver },
                            sink->userdata);
}

void lease_device_changed(lease *l, const model_change *c)
{
        const leases_config *m = &l->table->config;
        int r;

        switch (c->kind) {
        case MODEL_DRIVER_CHANGED:
                /* While binding or ending, the drivers changing are the daemon's own doing
                 * (a failed bind undoes itself, the restore puts drivers back). */
                if (l->ending || l->bind ||
                    viability_classify(&viability_config_default, c->new_driver) !=
                            VIABILITY_DRIVER_HOST)
                        return;
                l->compromised = true;
                log_warning("AUDIT lease=%s uid=%u group=%d: host driver %s bound to %s in a "
                            "leased group; its isolation is gone.",
                            l->rec.id, (unsigned)l->rec.uid, c->group, c->new_driver, c->address);
                audit(AUDIT_COMPROMISE, LOG_WARNING, "host driver in a leased group",
                      .lease = l->rec.id, .device = c->address, .driver = c->new_driver,
                      .group = AUDIT_ID(c->group), .uid = AUDIT_ID(l->rec.uid));
                publish_compromised(l, c);
                return;
        case MODEL_DEVICE_REMOVED: {
                const lease_record_device *d = lease_record_find_device(&l->rec, c->address);
                size_t i;

                if (!d)
                        return;
                i = (size_t)(d - l->rec.devices);
                log_info("Lease %s: %s was removed.", l->rec.id, c->address);
                memmove(l->fds + i, l->fds + i + 1, (l->rec.n_devices - i - 1) * sizeof(int));
                (void)lease_record_remove_device(&l->rec, c->address);
                if (l->rec.n_devices == 0) {
                        lease_end(l, "its last device is gone");
                        return;
                }
                r = lease_store_save(m->state_fd, &l->rec);
                if (r < 0)
                        log_error_errno(r, "Lease %s: cannot update its record: %m", l->rec.id);
                return;
        }
        default:
                return;
        }
}

static int cmp_int(const void *a, const void *b)
{
        return (*(const int *)a > *(const int *)b) - (*(const int *)a < *(const int *)b);
}

/* Frees every group the lease holds, as the model has them (a record may have lost a device the
 * group still has), in the order of their numbers. Returns how many. */
size_t lease_disown_all(lease *l)
{
        _cleanup_free_ int *groups = TAKE_PTR(l->groups);
        size_t n = l->n_groups, k = 0;

        l->n_groups = 0;
        if (n > 1)
                qsort(groups, n, sizeof(int), cmp_int);
        for (size_t i = 0; i < n; i++) {
                const model_group *g = model_find_group(l->table->config.model, groups[i]);

                /* Gone from the model, or taken from the lease since: not the lease's to free. */
                if (!g || g->owner != l)
                        continue;
                (void)set_owner(l, groups[i], NULL);
                lease_publish(l, LEASE_RELEASED, groups[i]);
                k++;
        }
        return k;
}

int lease_set_path_mode(lease *l)
{
        if (backend_get_kind(l->table->config.backend) != BACKEND_LEGACY)
                return -EOPNOTSUPP;
        l->rec.path_mode = true;
        /* Nothing to hand out: the client opens the group node and its own container. */
        l->space = backend_space_free(l->space);
        return 0;
}

bool lease_path_mode(const lease *l)
{
        return l->rec.path_mode;
}

int lease_holder_pidfd_get(const lease *l)
{
        return l->pidfd;
}

const lease_record *lease_get_record(const lease *l)
{
        return &l->rec;
}

void lease_drop_fds(lease *l)
{
        l->space = backend_space_free(l->space);
        for (size_t i = 0; i < l->rec.n_devices; i++)
                l->fds[i] = -EBADF;
}

lease_bind_job **lease_bind_slot(lease *l)
{
        return &l->bind;
}

bool lease_binding(const lease *l)
{
        return l->bind;
}

int lease_add_bound_device(lease *l, const model_device *d)
{
        int *fds = reallocarray(l->fds, l->rec.n_devices + 1, sizeof(int));
        int r;

        if (!fds)
                return -ENOMEM;
        l->fds = fds;
        r = lease_record_add_device(&l->rec, d->address, d->group, true, d->driver);
        if (r < 0)
                return r;
        l->rec.devices[l->rec.n_devices - 1].pending = true;
        l->fds[l->rec.n_devices - 1] = -EBADF;
        if (!model_find_group(l->table->config.model, d->group) ||
            model_find_group(l->table->config.model, d->group)->owner != l) {
                r = set_owner(l, d->group, l);
                if (r < 0) {
                        l->rec.n_devices--;
                        return r;
                }
        }
        return 0;
}

int lease_save(lease *l)
{
        return lease_store_save(l->table->config.state_fd, &l->rec);
}

void lease_undo_devices(lease *l, size_t from)
{
        int r;

        truncate_devices(l, from);
        r = lease_save(l);
        if (r < 0)
                log_error_errno(r, "Lease %s: cannot update its record: %m", l->rec.id);
}

int lease_adopt(leases *t, lease_record *rec, int pidfd, lease **ret)
{
        lease *l = calloc(1, sizeof(*l));
        int r;

        if (!l) {
                safe_close(pidfd);
                return -ENOMEM;
        }
        l->table = t;
        l->pidfd = pidfd;
        l->rec = *rec;
        *rec = (lease_record){};
        l->fds = calloc(MAX(l->rec.n_devices, (size_t)1), sizeof(int));
        r = !l->fds ? -ENOMEM : pidfd >= 0 ? watch_holder(l) : 0;
        if (r < 0) {
                lease_free(l);
                return r;
        }
        for (size_t i = 0; i < l->rec.n_devices; i++)
                l->fds[i] = -EBADF;
        for (size_t i = 0; r >= 0 && i < l->rec.n_devices; i++)
                if (!has_group_before(l, l->rec.devices[i].group, i))
                        r = set_owner(l, l->rec.devices[i].group, l);
        if (r < 0) {
                /* Never there: the groups go back without a word. */
                while (l->n_groups > 0)
                        (void)set_owner(l, l->groups[0], NULL);
                lease_free(l);
                return r;
        }
        link_lease(t, l);
        if (pidfd >= 0)
                log_info("Lease %s of uid %u (holder pid %d) restored.", l->rec.id,
                         (unsigned)l->rec.uid, (int)l->rec.holder_pid);
        if (ret)
                *ret = l;
        return 0;
}
