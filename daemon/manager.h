/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The daemon: one per process. It creates every piece of the daemon's state and wires the rooms
 * together: device events into the model, leases' changes out to Monitor clients, the varlink
 * face onto the state its methods share. */

#include <stdint.h>

#include "daemon-state.h"
#include "varlink.h"

typedef struct manager_config {
        const char *sysfs_root;
        const char *dev_root;
        const char *state_dir;
        const char *policy_dir;
        const char *socket_path;
        const char *uevent_socket; /* tests: inject uevents here instead of the system's */
        const char *backend;       /* "iommufd", "legacy", "fake"; NULL: chosen by the kernel */
        /* How long Revoke, or a lease's end, waits for the holder to let go. */
        uint64_t revoke_timeout_usec;
        const char *fake_kernel; /* tests: a program that plays the kernel's part of sysfs writes */
} manager_config;

typedef struct manager {
        manager_config config;
        daemon_state state; /* the varlink server's userdata */
        vl_server *server;
        int sysfs_fd;
        int dev_fd;
        int state_fd;
} manager;

int manager_new(const manager_config *config, manager **ret);
manager *manager_free(manager *d);
int manager_run(manager *d);
