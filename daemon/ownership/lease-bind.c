/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Managed binding for a lease, in a worker: the sysfs writes that move devices to vfio-pci may
 * block (unbinding a PF's driver takes its VFs down, and waits while one is open through VFIO),
 * so the main loop only records what is about to change and learns the outcome when the worker
 * exits. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "audit.h"
#include "lease-internal.h"
#include "log.h"
#include "managed.h"
#include "model.h"
#include "worker.h"

/* Binding waits for nothing of a client's; past this, something in the kernel is stuck. */
#define BIND_TIMEOUT_USEC (30 * 1000 * 1000ULL)

struct lease_bind_job {
        lease *lease;
        worker *worker;
        pid_t parent;
        size_t old; /* the record's devices before: a failed bind drops the ones after */
        char (*addresses)[PCI_ADDRESS_SIZE];
        size_t n;
        lease_bind_done_fn done;
        void *userdata;
};

static void job_free(lease_bind_job *j)
{
        free(j->addresses);
        free(j);
}

/* Appends the devices of group that need binding. -EBUSY for a bridge on a host driver. */
static int collect(lease *l, int group, char (**addresses)[PCI_ADDRESS_SIZE], size_t *n,
                   char **ret_error)
{
        const leases_config *c = lease_get_config(l);
        const model_group *g = model_find_group(c->model, group);

        if (!g)
                return -ENOENT;
        for (size_t i = 0; i < g->n_devices; i++) {
                const model_device *d = model_group_device(c->model, g, i);
                viability_driver_kind k;
                char(*grown)[PCI_ADDRESS_SIZE];

                if (!d)
                        return -ENODEV;
                k = viability_classify(&viability_config_default, d->driver);
                if (k == VIABILITY_DRIVER_VFIO || k == VIABILITY_DRIVER_BRIDGE ||
                    lease_record_find_device(lease_get_record(l), d->address))
                        continue;
                if (model_device_is_pci_bridge(d)) {
                        /* Driver-less bridges stay as they are: no DMA of their own, nothing to
                         * grant. One on a host driver cannot go to vfio-pci: the admin decides
                         * whether to unbind it. */
                        if (!d->driver)
                                continue;
                        if (ret_error &&
                            asprintf(ret_error, "%s is a bridge bound to %s; unbind it first",
                                     d->address, d->driver) < 0)
                                *ret_error = NULL;
                        return -EBUSY;
                }
                grown = reallocarray(*addresses, *n + 1, sizeof(**addresses));
                if (!grown)
                        return -ENOMEM;
                *addresses = grown;
                memcpy((*addresses)[(*n)++], d->address, PCI_ADDRESS_SIZE);
        }
        return 0;
}

/* In the worker. */
static int bind_in_child(void *userdata)
{
        lease_bind_job *j = userdata;
        const leases_config *c = lease_get_config(j->lease);
        _cleanup_free_ const char **list = calloc(j->n, sizeof(char *));
        _cleanup_free_ managed_device *bound = calloc(j->n, sizeof(*bound));
        _cleanup_free_ char *error = NULL;
        int r;

        /* Dies with the daemon: a bind going on after a restart would race the restart's own
         * putting back of the recorded devices. */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != j->parent)
                return -ESRCH;
        if (!list || !bound)
                return -ENOMEM;
        for (size_t i = 0; i < j->n; i++)
                list[i] = j->addresses[i];
        r = managed_bind(c->managed, list, j->n, bound, &error);
        if (r < 0)
                log_error_errno(r, "Lease %s: binding to vfio-pci failed: %s", lease_id(j->lease),
                                error ?: strerror(-r));
        return r;
}

static void bind_done(int result, void *userdata)
{
        lease_bind_job *j = userdata;
        lease *l = j->lease;
        lease_bind_done_fn done = j->done;
        void *done_userdata = j->userdata;

        *lease_bind_slot(l) = NULL;
        /* A bind that failed by itself has undone its writes: its devices leave the record. One
         * stopped half way may have left any of them bound: they stay, for the end to restore. */
        if (result < 0 && result != -ETIME && result != -EINTR)
                lease_undo_devices(l, j->old);
        job_free(j);
        done(result, done_userdata);
}

void lease_bind_cancel(lease *l)
{
        lease_bind_job *j = *lease_bind_slot(l);
        lease_bind_done_fn done;
        void *userdata;

        if (!j)
                return;
        *lease_bind_slot(l) = NULL;
        worker_free(j->worker);
        done = j->done;
        userdata = j->userdata;
        job_free(j);
        done(-ECANCELED, userdata);
}

int lease_bind_groups(lease *l, const int *groups, size_t n_groups, lease_bind_done_fn done,
                      void *userdata, char **ret_error)
{
        const leases_config *c = lease_get_config(l);
        size_t old = lease_get_record(l)->n_devices;
        lease_bind_job *j;
        int r;

        if (lease_binding(l))
                return -EBUSY;
        /* Devices being taken back, or put back, are not bound again. */
        if (l->revocation || l->ending) {
                if (ret_error && asprintf(ret_error, "the lease is being revoked or is ending") < 0)
                        *ret_error = NULL;
                return -EBUSY;
        }
        j = calloc(1, sizeof(*j));
        if (!j)
                return -ENOMEM;
        *j = (lease_bind_job){
                .lease = l, .parent = getpid(), .old = old, .done = done, .userdata = userdata
        };
        for (size_t i = 0; i < n_groups; i++) {
                bool seen = false;

                for (size_t k = 0; k < i; k++)
                        seen = seen || groups[k] == groups[i];
                r = seen ? 0 : collect(l, groups[i], &j->addresses, &j->n, ret_error);
                if (r < 0) {
                        job_free(j);
                        return r;
                }
        }
        if (j->n == 0) {
                job_free(j);
                return 0;
        }

        /* Recorded before the first write: whatever happens next, a restart knows what to put
         * back. */
        for (size_t i = 0; i < j->n; i++) {
                const model_device *d = model_find_device(c->model, j->addresses[i]);

                r = d ? lease_add_bound_device(l, d) : -ENODEV;
                if (r < 0)
                        goto fail;
        }
        r = lease_save(l);
        if (r < 0)
                goto fail;
        for (size_t i = 0; i < n_groups; i++) {
                size_t k = 0;

                for (size_t a = 0; a < j->n; a++)
                        k += model_find_device(c->model, j->addresses[a])->group == groups[i];
                for (size_t b = 0; b < i && k > 0; b++)
                        k = groups[b] == groups[i] ? 0 : k;
                if (k > 0)
                        log_info("AUDIT lease=%s uid=%u: binding %zu device(s) of group %d to "
                                 "vfio-pci.",
                                 lease_id(l), (unsigned)lease_uid(l), k, groups[i]);
                if (k > 0)
                        audit(AUDIT_BIND, LOG_INFO, "managed bind", .lease = lease_id(l),
                              .driver = "vfio-pci", .group = AUDIT_ID(groups[i]),
                              .uid = AUDIT_ID(lease_uid(l)));
        }
        r = worker_start(c->event, bind_in_child, bind_done, j, BIND_TIMEOUT_USEC,
                         c->managed->root_fd, &j->worker);
        if (r < 0)
                goto fail;
        *lease_bind_slot(l) = j;
        return 1;
fail:
        lease_undo_devices(l, old);
        job_free(j);
        return r;
}
