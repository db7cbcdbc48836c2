/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sync.h"
#include "describe.h"
#include "json-cleanup.h"
#include "log.h"
#include "model.h"

static void publish_changes(manager *d)
{
        for (size_t i = 0; i < d->changes.n; i++) {
                _cleanup_json_ json_object *e = describe_change(d->model, &d->changes.items[i]);

                if (e)
                        manager_publish(d, e);
        }
        model_changes_clear(&d->changes);
}

void sync_device(const char *address, void *userdata)
{
        manager *d = userdata;
        int r;

        r = model_update_device(d->model, address, &d->changes);
        if (r == -ENOMEM) {
                /* The model is consistent but may miss this device: read it all later. */
                log_warning_errno(r, "Cannot update %s, rescanning: %m", address);
                events_overflow(d->events);
        } else if (r < 0)
                log_warning_errno(r, "Cannot update %s: %m", address);
}

void sync_rescan(void *userdata)
{
        (void)sync_rescan_now(userdata);
}

void sync_flushed(void *userdata)
{
        publish_changes(userdata);
}

int sync_rescan_now(manager *d)
{
        _cleanup_json_ json_object *e = NULL;
        int r;

        r = model_scan(d->model, &d->changes);
        if (r < 0) {
                model_changes_clear(&d->changes);
                return log_error_errno(r, "Scanning %s failed: %m", d->config.sysfs_root);
        }
        log_info("Scanned %s: %zu devices in %zu IOMMU groups.", d->config.sysfs_root,
                 model_n_devices(d->model), model_n_groups(d->model));
        /* Before the changes: a client that sees "rescanned" knows a listing is due anyway. */
        e = describe_event("rescanned");
        if (e)
                manager_publish(d, e);
        publish_changes(d);
        return 0;
}
