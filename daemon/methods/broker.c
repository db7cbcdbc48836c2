/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "acquire.h"
#include "broker.h"
#include "config.h"
#include "daemon-state.h"
#include "describe.h"
#include "json-cleanup.h"
#include "listing.h"
#include "log.h"
#include "model.h"

static int method_list_groups(vl_link *link, json_object *params, void *args, void *userdata)
{
        daemon_state *d = userdata;

        return listing_reply_groups(link, d->model);
}

static int method_list_devices(vl_link *link, json_object *params, void *args, void *userdata)
{
        daemon_state *d = userdata;

        return listing_reply_devices(link, d->model);
}

typedef struct get_group_args {
        int group;
} get_group_args;

static const vl_field get_group_fields[] = {
        { "group", vl_field_int, offsetof(get_group_args, group), VL_FIELD_MANDATORY },
        {},
};

static int method_get_group(vl_link *link, json_object *params, void *args, void *userdata)
{
        const get_group_args *a = args;
        daemon_state *d = userdata;
        const model_group *g = model_find_group(d->model, a->group);
        _cleanup_json_ json_object *p = NULL;

        if (!g) {
                p = json_object_new_object();
                if (!p || json_object_object_add(p, "group", json_object_new_int(a->group)) < 0)
                        return -ENOMEM;
                return vl_link_error(link, "io.ioasid.Broker.NoSuchGroup", TAKE_PTR(p));
        }
        return listing_reply_group(link, d->model, g);
}

static int method_monitor(vl_link *link, json_object *params, void *args, void *userdata)
{
        daemon_state *d = userdata;
        _cleanup_json_ json_object *ready = describe_event("ready"), *p = json_object_new_object();
        int r;

        if (!ready || !p || json_object_object_add(p, "event", TAKE_PTR(ready)) < 0)
                return -ENOMEM;
        r = monitors_add(d->monitors, link);
        if (r < 0)
                return r;
        /* The call stays open: the link is the monitors' now, and gets every later event. */
        return vl_link_notify(link, TAKE_PTR(p));
}

/* Distinct leases among the groups' owners: a lease may hold several groups. */
static int64_t count_leases(const model_group *const *groups, size_t n)
{
        int64_t count = 0;

        for (size_t i = 0; i < n; i++) {
                bool seen = !groups[i]->owner;

                for (size_t j = 0; j < i && !seen; j++)
                        seen = groups[j]->owner == groups[i]->owner;
                count += !seen;
        }
        return count;
}

static int method_get_status(vl_link *link, json_object *params, void *args, void *userdata)
{
        daemon_state *d = userdata;
        size_t n_groups, n_devices;
        const model_group *const *groups = model_groups(d->model, &n_groups);
        _cleanup_json_ json_object *p = json_object_new_object();
        int64_t viable = 0;

        (void)model_devices(d->model, &n_devices);
        for (size_t i = 0; i < n_groups; i++)
                viable += groups[i]->viability.viable;
        if (!p ||
            json_object_object_add(p, "version", json_object_new_string(PROJECT_VERSION)) < 0 ||
            (d->backend && json_object_object_add(p, "backend",
                                                  json_object_new_string(backend_kind_to_string(
                                                          backend_get_kind(d->backend)))) < 0) ||
            json_object_object_add(p, "groups", json_object_new_int64((int64_t)n_groups)) < 0 ||
            json_object_object_add(p, "viableGroups", json_object_new_int64(viable)) < 0 ||
            json_object_object_add(p, "devices", json_object_new_int64((int64_t)n_devices)) < 0 ||
            json_object_object_add(p, "leases",
                                   json_object_new_int64(count_leases(groups, n_groups))) < 0)
                return -ENOMEM;
        return vl_link_reply(link, TAKE_PTR(p));
}

static const vl_method broker_methods[] = {
        { .name = "GetStatus", .handler = method_get_status },
        { .name = "ListGroups", .handler = method_list_groups },
        { .name = "GetGroup",
          .handler = method_get_group,
          .fields = get_group_fields,
          .args_size = sizeof(get_group_args) },
        { .name = "ListDevices", .handler = method_list_devices },
        { .name = "Acquire",
          .handler = acquire_method,
          .fields = acquire_fields,
          .args_size = sizeof(acquire_args),
          .args_defaults = &acquire_defaults,
          .flags = VL_METHOD_ACCEPT_FDS },
        { .name = "Release",
          .handler = release_method,
          .fields = release_fields,
          .args_size = sizeof(release_args) },
        { .name = "Monitor", .handler = method_monitor, .flags = VL_METHOD_REQUIRES_MORE },
        {},
};

const vl_interface broker_interface = {
        .name = "io.ioasid.Broker",
        .description = vl_idl_io_ioasid_broker,
        .methods = broker_methods,
};
