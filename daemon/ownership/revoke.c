/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "audit.h"
#include "log.h"
#include "model.h"
#include "revoke.h"
#include "worker.h"

typedef struct revoke_device {
        char address[PCI_ADDRESS_SIZE];
        char driver[SYSFS_NAME_MAX + 1];
        bool rebind; /* not managed: back on its vfio driver once the holder let go */
} revoke_device;

typedef struct revocation {
        const leases_config *config;
        lease *lease;
        char id[LEASE_ID_SIZE];
        vl_link **links; /* the Revoke calls to answer: the first and any that joined it */
        size_t n_links;
        worker *worker;
        sd_event_source *patience; /* the holder is killed when it fires */
        revoke_device *devices;
        size_t n;
} revocation;

static void revocation_free(revocation *r)
{
        worker_free(r->worker);
        sd_event_source_disable_unref(r->patience);
        for (size_t i = 0; i < r->n_links; i++)
                vl_link_unref(r->links[i]);
        free(r->links);
        free(r->devices);
        free(r);
}

/* In the worker. Unbinding blocks until the holder has closed the device: that is the ask. */
static int unbind_all(void *userdata)
{
        revocation *r = userdata;
        const managed_sysfs *s = r->config->managed;
        char path[sizeof("bus/pci/drivers//unbind") + SYSFS_NAME_MAX];
        int first = 0;

        for (size_t i = 0; i < r->n; i++) {
                const revoke_device *d = &r->devices[i];
                int k;

                snprintf(path, sizeof(path), "bus/pci/drivers/%s/unbind", d->driver);
                k = managed_write(s, path, d->address);
                if (k < 0) {
                        log_warning_errno(k, "Revoke %s: unbinding %s from %s failed: %m", r->id,
                                          d->address, d->driver);
                        first = first ?: k;
                        continue;
                }
                if (!d->rebind)
                        continue;
                snprintf(path, sizeof(path), "bus/pci/drivers/%s/bind", d->driver);
                k = managed_write(s, path, d->address);
                if (k < 0)
                        log_warning_errno(k, "Revoke %s: binding %s back to %s failed: %m", r->id,
                                          d->address, d->driver);
        }
        return first;
}

static void lease_gone(const char *id, int result, void *userdata)
{
        revocation *r = userdata;

        /* -ECANCELED: the daemon stops; the callers learn it from the closed connection. */
        if (result != -ECANCELED) {
                log_info("AUDIT revoke lease=%s: the lease has ended.", id);
                for (size_t i = 0; i < r->n_links; i++)
                        (void)vl_link_reply(r->links[i], NULL);
        }
        revocation_free(r);
}

static void unbound(int result, void *userdata)
{
        revocation *r = userdata;

        r->worker = NULL;
        r->patience = sd_event_source_disable_unref(r->patience);
        if (result < 0)
                log_warning_errno(result, "AUDIT revoke lease=%s: not every device was unbound: %m",
                                  r->id);
        else
                log_info("AUDIT revoke lease=%s: the holder let go of every device.", r->id);
        lease_set_revocation(r->lease, NULL);
        /* Answered from lease_gone, once the lease has ended. */
        lease_end(r->lease, "revoked");
}

/* The kernel's unbind still waits for the holder: it is killed, so that its copies close and the
 * unbind returns. The worker is not: killed, it would die when its unbind returned, before
 * putting the device back, and the kernel's wait would go on all the same. */
static int on_patience(sd_event_source *s, uint64_t usec, void *userdata)
{
        revocation *r = userdata;
        int pidfd = lease_holder_pidfd_get(r->lease);

        r->patience = sd_event_source_disable_unref(r->patience);
        log_warning("AUDIT revoke lease=%s: the holder (pid %d) did not let go in time; "
                    "killing it.",
                    r->id, (int)lease_pid(r->lease));
        audit(AUDIT_REVOKE, LOG_WARNING, "revoke: killing the holder", .lease = r->id,
              .uid = AUDIT_ID(lease_uid(r->lease)), .pid = AUDIT_ID(lease_pid(r->lease)));
        if (pidfd < 0 ||
            (syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0) < 0 && errno != ESRCH))
                log_warning_errno(pidfd < 0 ? ESRCH : errno,
                                  "AUDIT revoke lease=%s: cannot kill the holder: %m", r->id);
        /* The holder may have passed the fds on: whoever has them keeps the kernel waiting. */
        (void)lease_kill_fd_holders(r->lease);
        return 0;
}

static int add_link(revocation *r, vl_link *link)
{
        vl_link **links = reallocarray(r->links, r->n_links + 1, sizeof(*links));

        if (!links)
                return -ENOMEM;
        r->links = links;
        r->links[r->n_links++] = vl_link_ref(link);
        return 0;
}

int revoke_start(lease *l, vl_link *link, uid_t by)
{
        const leases_config *m = lease_get_config(l);
        const lease_record *rec = lease_get_record(l);
        revocation *r = lease_get_revocation(l);
        int k;

        if (r) {
                /* One revocation per lease: a second call waits for the same end. */
                log_info("AUDIT revoke lease=%s by uid=%u: joins the revocation under way.", r->id,
                         (unsigned)by);
                return add_link(r, link);
        }
        r = calloc(1, sizeof(*r));
        if (!r)
                return -ENOMEM;
        r->devices = calloc(rec->n_devices + 1, sizeof(*r->devices));
        if (!r->devices || add_link(r, link) < 0 || lease_on_end(l, lease_gone, r) < 0) {
                revocation_free(r);
                return -ENOMEM;
        }
        r->config = m;
        r->lease = l;
        memcpy(r->id, lease_id(l), sizeof(r->id));
        /* A bind under way would go on moving devices while they are taken back: stopped, its
         * Acquire answered; what it did is put back at the lease's end. */
        lease_bind_cancel(l);
        for (size_t i = 0; i < rec->n_devices; i++) {
                const model_device *d = model_find_device(m->model, rec->devices[i].address);

                /* Only a device on a vfio driver has anything to take back. */
                if (!d || !d->driver ||
                    viability_classify(&viability_config_default, d->driver) !=
                            VIABILITY_DRIVER_VFIO)
                        continue;
                memcpy(r->devices[r->n].address, d->address, PCI_ADDRESS_SIZE);
                snprintf(r->devices[r->n].driver, sizeof(r->devices[r->n].driver), "%s", d->driver);
                r->devices[r->n].rebind = !rec->devices[i].managed;
                r->n++;
        }
        log_info("AUDIT revoke lease=%s uid=%u holder=%d by uid=%u: asking the holder to let go "
                 "of %zu device(s).",
                 r->id, (unsigned)lease_uid(l), (int)lease_pid(l), (unsigned)by, r->n);
        audit(AUDIT_REVOKE, LOG_NOTICE, "revoke", .lease = r->id, .uid = AUDIT_ID(lease_uid(l)),
              .by_uid = AUDIT_ID(by), .pid = AUDIT_ID(lease_pid(l)));
        /* With the daemon's copies closed, the kernel waits for the holder's alone. */
        lease_drop_fds(l);
        k = worker_start(m->event, unbind_all, unbound, r, 0, m->managed->root_fd, &r->worker);
        if (k < 0) {
                log_error_errno(k, "Revoke %s: cannot start: %m", r->id);
                lease_end(l, "revoked");
                return 0;
        }
        lease_set_revocation(l, r);
        k = sd_event_add_time_relative(m->event, &r->patience, CLOCK_MONOTONIC,
                                       m->revoke_timeout_usec, 0, on_patience, r);
        if (k < 0)
                log_warning_errno(k, "Revoke %s: the holder will not be timed: %m", r->id);
        return 0;
}
