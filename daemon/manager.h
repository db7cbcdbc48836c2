/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The daemon's state: one per process, reached from every method handler through the varlink
 * server's userdata. */

#include <stdbool.h>
#include <systemd/sd-event.h>

#include "events.h"
#include "model.h"
#include "monitor.h"
#include "varlink.h"

typedef struct policy policy;

typedef struct manager_config {
        const char *sysfs_root;
        const char *dev_root;
        const char *state_dir;
        const char *policy_dir;
        const char *socket_path;
        const char *uevent_socket; /* tests: inject uevents here instead of the system's */
} manager_config;

typedef struct manager {
        manager_config config;
        sd_event *event;
        vl_server *server;
        events *events;
        monitors *monitors;
        model *model;
        model_changes changes; /* applied to the model, not yet published */
        policy *policy;
        int sysfs_fd;
        int dev_fd;
} manager;

int manager_new(const manager_config *config, manager **ret);
manager *manager_free(manager *d);
int manager_run(manager *d);
/* Sends a Monitor event (borrowed) to every subscriber. */
void manager_publish(manager *d, json_object *event);

/* Applies a change list from the model to the world outside: Monitor events, logs. */
void manager_publish(manager *d, json_object *event);
