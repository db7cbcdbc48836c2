/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* io.ioasid.Admin.Bind and Unbind. The sysfs writes run in a worker: unbinding a device that
 * some process has open blocks in the kernel until it is closed, and the main loop serves
 * everyone else meanwhile. */

#include "varlink.h"

typedef struct bind_args {
        const char *address;
        const char *driver;
} bind_args;

typedef struct unbind_args {
        const char *address;
} unbind_args;

extern const vl_field bind_fields[];
extern const vl_field unbind_fields[];
int bind_method(vl_link *link, json_object *params, void *args, void *userdata);
int unbind_method(vl_link *link, json_object *params, void *args, void *userdata);
