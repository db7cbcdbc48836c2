/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin-bind.h"
#include "audit.h"
#include "daemon-state.h"
#include "json-cleanup.h"
#include "lease.h"
#include "log.h"
#include "macro.h"
#include "sync.h"
#include "worker.h"

#define BIND_TIMEOUT_USEC (30 * 1000 * 1000ULL)

const vl_field bind_fields[] = {
        { "address", vl_field_string, offsetof(bind_args, address), VL_FIELD_MANDATORY },
        { "driver", vl_field_string, offsetof(bind_args, driver), VL_FIELD_MANDATORY },
        {},
};

const vl_field unbind_fields[] = {
        { "address", vl_field_string, offsetof(unbind_args, address), VL_FIELD_MANDATORY },
        {},
};

typedef struct bind_job {
        daemon_state *state;
        vl_link *link;
        worker *worker;
        char address[PCI_ADDRESS_SIZE];
        char driver[SYSFS_NAME_MAX + 1];  /* "": unbind */
        char current[SYSFS_NAME_MAX + 1]; /* "": none */
} bind_job;

/* In the worker. */
static int run_job(void *userdata)
{
        bind_job *j = userdata;
        const managed_sysfs *s = &j->state->managed;
        char path[PATH_MAX + 32], dir[PATH_MAX];
        int r;

        if (j->driver[0]) {
                _cleanup_close_ int dev_fd = -EBADF;

                /* bus/pci/devices/ADDR is a link, which the writer never follows: the device's
                 * own directory, from that link checked to land in devices/. */
                r = sysfs_open_device(s->root_fd, j->address, &dev_fd, dir);
                if (r < 0)
                        return r;
                if ((size_t)snprintf(path, sizeof(path), "%s/driver_override", dir) >= sizeof(path))
                        return -ENAMETOOLONG;
                r = managed_write(s, path, j->driver);
                if (r < 0)
                        return r;
        }
        if (j->current[0]) {
                snprintf(path, sizeof(path), "bus/pci/drivers/%s/unbind", j->current);
                r = managed_write(s, path, j->address);
                if (r < 0)
                        return r;
        }
        if (j->driver[0])
                return managed_write(s, "bus/pci/drivers_probe", j->address);
        return 0;
}

static int error_bind_failed(vl_link *link, const char *address, const char *reason)
{
        _cleanup_json_ json_object *p = json_object_new_object();

        if (!p || json_object_object_add(p, "address", json_object_new_string(address)) < 0 ||
            json_object_object_add(p, "reason", json_object_new_string(reason)) < 0)
                return -ENOMEM;
        return vl_link_error(link, "io.ioasid.Admin.BindFailed", TAKE_PTR(p));
}

static void job_done(int result, void *userdata)
{
        bind_job *j = userdata;
        const model_device *d;
        char reason[256];

        (void)sync_refresh_group(j->state, j->address);
        d = model_find_device(j->state->model, j->address);
        if (result < 0)
                snprintf(reason, sizeof(reason), "writing to sysfs failed: %s",
                         result == -ETIME ? "timed out (is the device open?)" : strerror(-result));
        else if (j->driver[0] && (!d || !d->driver || !streq(d->driver, j->driver)))
                /* drivers_probe succeeds even when no driver took the device. */
                snprintf(reason, sizeof(reason), "%s did not take it; it is on %s now", j->driver,
                         d && d->driver ? d->driver : "no driver");
        else
                reason[0] = 0;
        log_info("AUDIT %s %s%s%s: %s", j->driver[0] ? "bind" : "unbind", j->address,
                 j->driver[0] ? " to " : "", j->driver, reason[0] ? reason : "done");
        audit(AUDIT_BIND, LOG_INFO, j->driver[0] ? "bind" : "unbind", .device = j->address,
              .driver = j->driver[0] ? j->driver : NULL, .error = reason[0] ? reason : NULL,
              .uid = AUDIT_ID(vl_link_peer(j->link)->uid));
        if (reason[0])
                (void)error_bind_failed(j->link, j->address, reason);
        else
                (void)vl_link_reply(j->link, NULL);
        vl_link_unref(j->link);
        free(j);
}

static int start(vl_link *link, daemon_state *m, const char *address, const char *driver)
{
        const model_device *d;
        const model_group *g;
        bind_job *j;
        char reason[160];
        int r;

        if (!pci_address_valid_str(address))
                return vl_link_error_invalid_parameter(link, "address");
        if (driver && !sysfs_name_valid(driver))
                return vl_link_error_invalid_parameter(link, "driver");
        (void)sync_refresh_group(m, address);
        d = model_find_device(m->model, address);
        if (!d) {
                _cleanup_json_ json_object *p = json_object_new_object();

                if (!p || json_object_object_add(p, "address", json_object_new_string(address)) < 0)
                        return -ENOMEM;
                return vl_link_error(link, "io.ioasid.Admin.NoSuchDevice", TAKE_PTR(p));
        }
        g = d->group >= 0 ? model_find_group(m->model, d->group) : NULL;
        if (g && g->owner) {
                snprintf(reason, sizeof(reason), "group %d is leased (lease %s); revoke it first",
                         g->number, lease_id(g->owner));
                return error_bind_failed(link, address, reason);
        }
        j = calloc(1, sizeof(*j));
        if (!j)
                return -ENOMEM;
        j->state = m;
        memcpy(j->address, d->address, sizeof(j->address));
        snprintf(j->driver, sizeof(j->driver), "%s", driver ?: "");
        snprintf(j->current, sizeof(j->current), "%s", d->driver ?: "");
        r = worker_start(m->event, run_job, job_done, j, BIND_TIMEOUT_USEC, m->managed.root_fd,
                         &j->worker);
        if (r < 0) {
                free(j);
                return r;
        }
        j->link = vl_link_ref(link);
        return 0;
}

int bind_method(vl_link *link, json_object *params, void *args, void *userdata)
{
        const bind_args *a = args;

        return start(link, userdata, a->address, a->driver);
}

int unbind_method(vl_link *link, json_object *params, void *args, void *userdata)
{
        const unbind_args *a = args;

        return start(link, userdata, a->address, NULL);
}
