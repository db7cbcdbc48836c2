/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Keeps the model in step with device events and tells Monitor clients what changed. The event
 * sources (events.h) hand over changed addresses in batches; each batch is applied to the model
 * and its changes are published once the batch is done. */

#include "daemon-state.h"

/* events_ops callbacks; userdata is the daemon_state. */
void sync_device(const char *address, void *userdata);
void sync_rescan(void *userdata);
void sync_flushed(void *userdata);

/* leases_sink callbacks; userdata is the daemon_state. */
void sync_lease_event(const lease_event *e, void *userdata);
int sync_lease_refresh_group(const char *address, void *userdata);

/* Checks a device and every member of its group against sysfs, now, and publishes what changed:
 * a decision about a group is made on what sysfs says at that moment, not on events the daemon
 * may not have read yet (a client that binds a device and acquires it at once). Cheap reads
 * first; a device is read again in full only where they differ (model_revalidate_group()). */
int sync_refresh_group(daemon_state *d, const char *address);

/* Reads everything again and publishes what changed (start-up, Admin.Rescan). */
int sync_rescan_now(daemon_state *d);
