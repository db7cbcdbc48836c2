/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The daemon's state: one per process, reached from every method handler through the varlink
 * server's userdata. */

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "events.h"
#include "managed.h"
#include "model.h"
#include "monitor.h"
#include "varlink.h"

typedef struct backend backend;
typedef struct leases leases;
typedef struct policy policy;

typedef struct manager_config {
        const char *sysfs_root;
        const char *dev_root;
        const char *state_dir;
        const char *policy_dir;
        const char *socket_path;
        const char *uevent_socket;    /* tests: inject uevents here instead of the system's */
        const char *backend;          /* "iommufd", "legacy", "fake"; NULL: chosen by the kernel */
        uint64_t revoke_timeout_usec; /* how long Revoke waits for the holder to let go */
        const char *fake_kernel; /* tests: a program that plays the kernel's part of sysfs writes */
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
        backend *backend;
        leases *leases;
        managed_sysfs managed; /* where managed binding writes */
        int sysfs_fd;
        int dev_fd;
        int state_fd;
} manager;

int manager_new(const manager_config *config, manager **ret);
manager *manager_free(manager *d);
int manager_run(manager *d);
/* Sends a Monitor event (borrowed) to every subscriber. */
void manager_publish(manager *d, json_object *event);
