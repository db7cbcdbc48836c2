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
        vl_link *link;
        worker *worker;
        revoke_device *devices;
        size_t n;
} revocation;

static void revocation_free(revocation *r)
{
        worker_free(r->worker);
        if (r->link)
                vl_link_unref(r->link);
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

static void lease_gone(const char *id, void *userdata)
{
        revocation *r = userdata;

        log_info("AUDIT revoke lease=%s: the lease has ended.", id);
        (void)vl_link_reply(r->link, NULL);
        revocation_free(r);
}

static void unbound(int result, void *userdata)
{
        revocation *r = userdata;
        int pidfd = lease_holder_pidfd_get(r->lease);

        r->worker = NULL;
        if (result == -ETIME) {
                log_warning("AUDIT revoke lease=%s: the holder (pid %d) did not let go in time; "
                            "killing it.",
                            r->id, (int)lease_pid(r->lease));
                audit(AUDIT_REVOKE, LOG_WARNING, "revoke: killing the holder", .lease = r->id,
                      .uid = AUDIT_ID(lease_uid(r->lease)), .pid = AUDIT_ID(lease_pid(r->lease)));
                /* Its exit ends the lease the ordinary way, through the pidfd. */
                if (pidfd >= 0 && syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0) >= 0)
                        return;
                log_warning_errno(errno, "AUDIT revoke lease=%s: cannot kill the holder: %m",
                                  r->id);
        } else if (result < 0)
                log_warning_errno(result, "AUDIT revoke lease=%s: not every device was unbound: %m",
                                  r->id);
        else
                log_info("AUDIT revoke lease=%s: the holder let go of every device.", r->id);
        lease_end(r->lease, "revoked");
}

int revoke_start(lease *l, vl_link *link, uid_t by)
{
        const leases_config *m = lease_get_config(l);
        const lease_record *rec = lease_get_record(l);
        revocation *r = calloc(1, sizeof(*r));
        int k;

        if (!r)
                return -ENOMEM;
        r->devices = calloc(rec->n_devices + 1, sizeof(*r->devices));
        if (!r->devices) {
                free(r);
                return -ENOMEM;
        }
        r->config = m;
        r->lease = l;
        memcpy(r->id, lease_id(l), sizeof(r->id));
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
        r->link = vl_link_ref(link);
        lease_set_end_callback(l, lease_gone, r);
        /* With the daemon's copies closed, the kernel waits for the holder's alone. */
        lease_drop_fds(l);
        k = worker_start(m->event, unbind_all, unbound, r, m->revoke_timeout_usec,
                         m->managed->root_fd, &r->worker);
        if (k < 0) {
                log_error_errno(k, "Revoke %s: cannot start: %m", r->id);
                lease_end(l, "revoked");
        }
        return 0;
}
