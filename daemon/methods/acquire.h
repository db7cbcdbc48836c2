/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* io.ioasid.Broker.Acquire and Release, for broker.c's method table. */

#include <stdint.h>

#include "varlink.h"

typedef struct acquire_args {
        json_object *devices;
        const char *lease;
        int64_t pidfd_index; /* -1: absent, the caller holds the fds; never negative on the wire */
        bool managed;        /* bind the groups' devices to vfio-pci for the lease */
        bool path_mode;      /* legacy: grant the group nodes to the uid, no fds */
        uint64_t locked_memory; /* the holder's RLIMIT_MEMLOCK to raise to; 0: leave it */
} acquire_args;

extern const vl_field acquire_fields[];
extern const acquire_args acquire_defaults;
int acquire_method(vl_link *link, json_object *params, void *args, void *userdata);

typedef struct release_args {
        const char *lease;
} release_args;

extern const vl_field release_fields[];
int release_method(vl_link *link, json_object *params, void *args, void *userdata);
