/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Leases of an earlier run, read back from their records at start-up. */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "lease-internal.h"
#include "log.h"
#include "managed.h"

/* Devices of an Acquire that never answered: their fds never left the daemon that died, so
 * nobody holds them and putting their drivers back cannot block. Returns the number of devices
 * left in the record (0: the record is gone), or a negative errno. */
static int drop_pending(const leases *t, lease_record *rec)
{
        const leases_config *m = leases_get_config(t);
        _cleanup_free_ managed_device *devices =
                calloc(MAX(rec->n_devices, (size_t)1), sizeof(*devices));
        _cleanup_free_ char *error = NULL;
        size_t n = 0, before = rec->n_devices;
        int r;

        if (!devices)
                return -ENOMEM;
        for (size_t i = 0; i < rec->n_devices; i++)
                if (rec->devices[i].pending && rec->devices[i].managed) {
                        devices[n] = (managed_device){ .changed = true };
                        memcpy(devices[n].address, rec->devices[i].address, PCI_ADDRESS_SIZE);
                        memcpy(devices[n].original_driver, rec->devices[i].original_driver,
                               sizeof(devices[n].original_driver));
                        n++;
                }
        if (n > 0) {
                r = managed_restore(m->managed, devices, n, &error);
                if (r < 0)
                        log_warning_errno(r,
                                          "AUDIT lease=%s: drivers of an unfinished acquire "
                                          "not all restored: %s",
                                          rec->id, error ?: strerror(-r));
                else
                        log_info("Lease %s: put back %zu device(s) of an unfinished acquire.",
                                 rec->id, n);
        }
        for (size_t i = rec->n_devices; i-- > 0;)
                if (rec->devices[i].pending) {
                        bool other = false;

                        for (size_t j = 0; j < rec->n_devices; j++)
                                other = other || (!rec->devices[j].pending &&
                                                  rec->devices[j].group == rec->devices[i].group);
                        if (rec->path_mode && !other)
                                (void)backend_path_revoke(m->backend, rec->devices[i].group);
                        leases_refresh_group(m, rec->devices[i].address);
                        (void)lease_record_remove_device(rec, rec->devices[i].address);
                }
        if (rec->n_devices == 0) {
                r = lease_store_remove(m->state_fd, rec->id);
                if (r < 0)
                        log_error_errno(r, "Lease %s: cannot remove its record: %m", rec->id);
                return 0;
        }
        if (rec->n_devices < before) {
                r = lease_store_save(m->state_fd, rec);
                if (r < 0)
                        return log_error_errno(r, "Lease %s: cannot update its record: %m",
                                               rec->id);
        }
        return (int)MIN(rec->n_devices, (size_t)INT32_MAX);
}

int leases_restore(leases *t)
{
        const leases_config *m = leases_get_config(t);
        lease_record *recs = NULL;
        size_t n = 0;
        int r;

        r = lease_store_load(m->state_fd, &recs, &n);
        if (r < 0)
                return log_error_errno(r, "Cannot read lease records: %m");
        for (size_t i = 0; i < n; i++) {
                int pidfd = -EBADF;
                bool ending;
                lease *l;

                r = drop_pending(t, &recs[i]);
                if (r <= 0)
                        continue;
                r = lease_holder_pidfd(recs[i].holder_pid, recs[i].holder_start_time, &pidfd);
                /* An ended lease stays ended, however alive its holder: it was told so. */
                if (r >= 0 && !recs[i].ending) {
                        r = lease_adopt(t, &recs[i], pidfd, NULL);
                        if (r < 0)
                                log_error_errno(r, "Lease %s: cannot restore it: %m", recs[i].id);
                        continue;
                }
                if (recs[i].ending)
                        log_info("Lease %s: it was ending when the daemon stopped; finishing.",
                                 recs[i].id);
                else
                        log_info("Lease %s: holder pid %d is gone, ending the lease.", recs[i].id,
                                 (int)recs[i].holder_pid);
                /* Taken back in, and ended the ordinary way: managed devices get their drivers
                 * back before the groups are free (a holder still there keeping them open is
                 * killed after the timeout). */
                ending = recs[i].ending;
                r = lease_adopt(t, &recs[i], r >= 0 ? pidfd : -EBADF, &l);
                if (r < 0) {
                        log_error_errno(r, "Lease %s: cannot end it: %m", recs[i].id);
                        continue;
                }
                lease_end(l,
                          ending ? "it was ending when the daemon stopped" : "its holder is gone");
        }
        lease_records_free(recs, n);
        return 0;
}
