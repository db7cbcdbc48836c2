/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sync.h"

#include "describe.h"
#include "json-cleanup.h"
#include "lease.h"
#include "log.h"
#include "model.h"

/* A device that appears in a leased group is the lease's as much as the group is. */
static void adopt_into_group(daemon_state *d, const model_change *c)
{
        const model_group *g = c->group >= 0 ? model_find_group(d->model, c->group) : NULL;

        if (g && g->owner)
                (void)model_set_device_owner(d->model, c->address, g->owner);
}

static void publish_changes(daemon_state *d)
{
        for (size_t i = 0; i < d->changes.n; i++) {
                const model_change *c = &d->changes.items[i];
                /* Described only for someone to read: a start-up scan has 16k changes and no
                 * Monitor client yet. */
                _cleanup_json_ json_object *e =
                        monitors_count(d->monitors) > 0 ? describe_change(d->model, c) : NULL;

                if (e)
                        monitors_broadcast(d->monitors, e);
                /* After the event: a lease's reaction refers to the change just reported. An
                 * earlier change of this list may have ended the lease. */
                if (c->owner && leases_contains(d->leases, c->owner))
                        lease_device_changed(c->owner, c);
                else if (c->kind == MODEL_DEVICE_ADDED)
                        adopt_into_group(d, c);
        }
        model_changes_clear(&d->changes);
}

void sync_device(const char *address, void *userdata)
{
        daemon_state *d = userdata;
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

void sync_lease_event(const lease_event *e, void *userdata)
{
        daemon_state *d = userdata;
        _cleanup_json_ json_object *o =
                monitors_count(d->monitors) > 0 ? describe_lease_event(e) : NULL;

        if (o)
                monitors_broadcast(d->monitors, o);
}

int sync_lease_refresh_group(const char *address, void *userdata)
{
        return sync_refresh_group(userdata, address);
}

int sync_rescan_now(daemon_state *d)
{
        _cleanup_json_ json_object *e = NULL;
        int r;

        /* Before the leases exist (start-up) and with no Monitor client, nobody hears of the
         * changes: no list of 16k of them is made. */
        r = model_scan(d->model, d->leases || monitors_count(d->monitors) > 0 ? &d->changes : NULL);
        if (r < 0) {
                model_changes_clear(&d->changes);
                return log_error_errno(r, "Scanning %s failed: %m", d->sysfs_root);
        }
        log_info("Scanned %s: %zu devices in %zu IOMMU groups.", d->sysfs_root,
                 model_n_devices(d->model), model_n_groups(d->model));
        /* Before the changes: a client that sees "rescanned" knows a listing is due anyway. */
        e = monitors_count(d->monitors) > 0 ? describe_event("rescanned") : NULL;
        if (e)
                monitors_broadcast(d->monitors, e);
        publish_changes(d);
        return 0;
}

int sync_refresh_group(daemon_state *d, const char *address)
{
        int r = model_revalidate_group(d->model, address, &d->changes);

        publish_changes(d);
        return r;
}
