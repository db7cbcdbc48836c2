/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* How a lease ends: its fds closed, its managed devices put back off the main loop, its record
 * removed, and only then its groups free and whoever waits for the end answered. */

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "audit.h"
#include "fd-holders.h"
#include "lease-internal.h"
#include "log.h"
#include "managed.h"

int lease_on_end(lease *l, lease_end_fn cb, void *userdata)
{
        lease_end_waiter *w = reallocarray(l->waiters, l->n_waiters + 1, sizeof(*w));

        if (!w)
                return -ENOMEM;
        l->waiters = w;
        l->waiters[l->n_waiters++] = (lease_end_waiter){ .cb = cb, .userdata = userdata };
        return 0;
}

void *lease_get_revocation(const lease *l)
{
        return l->revocation;
}

void lease_set_revocation(lease *l, void *revocation)
{
        l->revocation = revocation;
}

/* Each waiter once; a waiter may end or free nothing of l's but its own. */
int lease_kill_fd_holders(lease *l)
{
        const leases_config *m = &l->table->config;
        _cleanup_free_ struct stat *nodes =
                calloc(2 * MAX(l->rec.n_devices, (size_t)1), sizeof(*nodes));
        size_t n = 0;

        if (!nodes)
                return -ENOMEM;
        for (size_t i = 0; i < l->rec.n_devices; i++) {
                const model_device *d = model_find_device(m->model, l->rec.devices[i].address);

                if (d)
                        n += backend_device_nodes(m->backend, d, nodes + n);
        }
        return fd_holders_kill(nodes, n, l->rec.id);
}

static void call_waiters(lease_end_waiter *waiters, size_t n, const char *id, int result)
{
        for (size_t i = 0; i < n; i++)
                waiters[i].cb(id, result, waiters[i].userdata);
}

void lease_end_done(lease *l)
{
        lease_end_waiter *waiters = TAKE_PTR(l->waiters);
        size_t n = l->n_waiters;

        l->n_waiters = 0;
        l->patience = sd_event_source_disable_unref(l->patience);
        l->restore = worker_free(l->restore);
        call_waiters(waiters, n, l->rec.id, -ECANCELED);
        free(waiters);
}

static void end_now(lease *l, int result)
{
        const leases_config *m = &l->table->config;
        lease_end_waiter *waiters = TAKE_PTR(l->waiters);
        size_t n = l->n_waiters;
        char id[LEASE_ID_SIZE];
        int r;

        l->n_waiters = 0;
        if (lease_disown_all(l) == 0)
                lease_publish(l, LEASE_RELEASED, -1);
        r = lease_store_remove(m->state_fd, l->rec.id);
        if (r < 0)
                log_error_errno(r, "Lease %s: cannot remove its record: %m", l->rec.id);
        memcpy(id, l->rec.id, sizeof(id));
        lease_unlink(l);
        lease_free(l);
        /* Last: a waiter answers a client, who may acquire the groups again at once. */
        call_waiters(waiters, n, id, result);
        free(waiters);
}

/* The managed devices of a record, for managed_restore. */
static size_t managed_of(const lease_record *rec, managed_device *ret)
{
        size_t n = 0;

        for (size_t i = 0; i < rec->n_devices; i++)
                if (rec->devices[i].managed) {
                        ret[n] = (managed_device){ .changed = true };
                        memcpy(ret[n].address, rec->devices[i].address, PCI_ADDRESS_SIZE);
                        memcpy(ret[n].original_driver, rec->devices[i].original_driver,
                               sizeof(ret[n].original_driver));
                        n++;
                }
        return n;
}

/* In the worker: may block until the holder has closed the devices. */
static int restore_in_child(void *userdata)
{
        lease *l = userdata;
        _cleanup_free_ managed_device *devices =
                calloc(MAX(l->rec.n_devices, (size_t)1), sizeof(*devices));
        _cleanup_free_ char *error = NULL;
        size_t n;
        int r;

        if (!devices)
                return -ENOMEM;
        n = managed_of(&l->rec, devices);
        r = managed_restore(l->table->config.managed, devices, n, &error);
        if (r < 0)
                log_error_errno(r, "Lease %s: restoring drivers failed: %s", l->rec.id,
                                error ?: strerror(-r));
        return r;
}

static void restore_done(int result, void *userdata)
{
        lease *l = userdata;

        l->restore = NULL;
        l->patience = sd_event_source_disable_unref(l->patience);
        if (result < 0)
                log_warning_errno(result, "AUDIT lease=%s: managed devices not all restored: %m",
                                  l->rec.id);
        else
                log_info("Lease %s: managed devices are back on their drivers.", l->rec.id);
        audit(AUDIT_BIND, result < 0 ? LOG_WARNING : LOG_INFO,
              result < 0 ? "managed restore failed" : "managed restore", .lease = l->rec.id,
              .uid = AUDIT_ID(l->rec.uid));
        /* Whatever the drivers are now, the model reads them again. */
        for (size_t i = 0; i < l->rec.n_devices; i++)
                leases_refresh_group(&l->table->config, l->rec.devices[i].address);
        end_now(l, result);
}

/* The restore waits in the kernel for the devices to be closed. The worker is never killed for
 * it: killed, it would die as soon as its unbind returned, before putting the original driver
 * back. The holder is, and whoever else still has the devices open, so that their copies
 * close. */
static int on_patience(sd_event_source *s, uint64_t usec, void *userdata)
{
        lease *l = userdata;

        l->patience = sd_event_source_disable_unref(l->patience);
        log_warning("AUDIT lease=%s: the devices were not closed in time; killing the holder "
                    "(pid %d) and whoever has them open.",
                    l->rec.id, (int)l->rec.holder_pid);
        audit(AUDIT_REVOKE, LOG_WARNING, "release: killing the holder", .lease = l->rec.id,
              .uid = AUDIT_ID(l->rec.uid), .pid = AUDIT_ID(l->rec.holder_pid));
        if (l->pidfd >= 0 && syscall(SYS_pidfd_send_signal, l->pidfd, SIGKILL, NULL, 0) < 0 &&
            errno != ESRCH)
                log_warning_errno(errno, "AUDIT lease=%s: cannot kill the holder: %m", l->rec.id);
        /* The holder may have passed the fds on: whoever has them keeps the kernel waiting. */
        (void)lease_kill_fd_holders(l);
        return 0;
}

static bool has_managed(const lease *l)
{
        for (size_t i = 0; i < l->rec.n_devices; i++)
                if (l->rec.devices[i].managed)
                        return true;
        return false;
}

void lease_end(lease *l, const char *why)
{
        const leases_config *m = &l->table->config;
        int r;

        if (l->ending)
                return;
        /* Nothing more to learn from the holder: the lease ends either way. */
        l->exit_source = sd_event_source_disable_unref(l->exit_source);
        /* A bind still running is stopped (its Acquire answered): the restore puts back whatever
         * it did. */
        lease_bind_cancel(l);
        if (l->revocation) {
                log_info("Lease %s: ends once Revoke has taken its devices back (%s).", l->rec.id,
                         why);
                return;
        }
        log_info("Lease %s of uid %u ends: %s.", l->rec.id, (unsigned)l->rec.uid, why);
        audit(AUDIT_RELEASE, LOG_INFO, why, .lease = l->rec.id, .uid = AUDIT_ID(l->rec.uid),
              .pid = AUDIT_ID(l->rec.holder_pid));
        l->ending = true;
        /* The kernel lets go of the groups once the holder's copies are closed too. */
        lease_drop_fds(l);
        lease_revoke_paths(l, 0);
        if (!has_managed(l)) {
                end_now(l, 0);
                return;
        }
        /* Ended for the holder from here on, whatever happens to the daemon: a restart puts the
         * devices back instead of taking the lease back. */
        l->rec.ending = true;
        r = lease_store_save(m->state_fd, &l->rec);
        if (r < 0)
                log_error_errno(r, "Lease %s: cannot mark its record ending: %m", l->rec.id);
        /* The groups stay the lease's until their drivers are back: nobody may take a group
         * that is being rebound under them. */
        r = worker_start(m->event, restore_in_child, restore_done, l, 0, m->managed->root_fd,
                         &l->restore);
        if (r < 0) {
                log_error_errno(r, "Lease %s: cannot start restoring drivers: %m", l->rec.id);
                end_now(l, r);
                return;
        }
        if (m->revoke_timeout_usec > 0) {
                r = sd_event_add_time_relative(m->event, &l->patience, CLOCK_MONOTONIC,
                                               m->revoke_timeout_usec, 0, on_patience, l);
                if (r < 0)
                        log_warning_errno(r, "Lease %s: the holder will not be timed: %m",
                                          l->rec.id);
        }
}
