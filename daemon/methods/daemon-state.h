/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What the varlink face works on: the daemon's shared state, reached from every method handler
 * through the varlink server's userdata. The manager creates each piece and fills this in; the
 * modules of this room only use them. */

#include <systemd/sd-event.h>

#include "backend.h"
#include "events.h"
#include "lease.h"
#include "managed.h"
#include "model.h"
#include "monitor.h"

typedef struct policy policy;

typedef struct daemon_state {
        sd_event *event;
        const char *sysfs_root; /* for messages */
        const char *policy_dir;
        events *events;
        monitors *monitors;
        model *model;
        model_changes changes; /* applied to the model, not yet published */
        policy *policy;
        backend *backend;
        leases *leases;
        managed_sysfs managed; /* where managed binding writes */
} daemon_state;
