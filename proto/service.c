/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>

#include "json-cleanup.h"
#include "server-internal.h"

/* org.varlink.service: what makes any varlink client able to introspect the server. */

static int method_get_info(vl_link *link, json_object *params, void *args, void *userdata)
{
        vl_server *s = vl_link_server(link);
        _cleanup_json_ json_object *reply = json_object_new_object(),
                                   *ifaces = json_object_new_array();

        if (!reply || !ifaces)
                return -ENOMEM;
        for (size_t i = 0; i < s->n_interfaces; i++)
                json_object_array_add(ifaces, json_object_new_string(s->interfaces[i]->name));
        json_object_object_add(reply, "vendor", json_object_new_string(s->info.vendor ?: ""));
        json_object_object_add(reply, "product", json_object_new_string(s->info.product ?: ""));
        json_object_object_add(reply, "version", json_object_new_string(s->info.version ?: ""));
        json_object_object_add(reply, "url", json_object_new_string(s->info.url ?: ""));
        json_object_object_add(reply, "interfaces", TAKE_PTR(ifaces));
        return vl_link_reply(link, TAKE_PTR(reply));
}

typedef struct {
        const char *interface;
} describe_args;

static const vl_field describe_fields[] = {
        { "interface", vl_field_string, offsetof(describe_args, interface), VL_FIELD_MANDATORY },
        {},
};

static int method_get_interface_description(vl_link *link, json_object *params, void *args,
                                            void *userdata)
{
        const describe_args *a = args;
        vl_server *s = vl_link_server(link);
        json_object *reply, *p;

        for (size_t i = 0; i < s->n_interfaces; i++) {
                if (!streq(s->interfaces[i]->name, a->interface))
                        continue;
                reply = json_object_new_object();
                if (!reply)
                        return -ENOMEM;
                json_object_object_add(reply, "description",
                                       json_object_new_string(s->interfaces[i]->description));
                return vl_link_reply(link, reply);
        }
        p = json_object_new_object();
        if (!p)
                return -ENOMEM;
        json_object_object_add(p, "interface", json_object_new_string(a->interface));
        return vl_link_error(link, VL_ERROR_INTERFACE_NOT_FOUND, p);
}

static const vl_method service_methods[] = {
        { .name = "GetInfo", .handler = method_get_info },
        { .name = "GetInterfaceDescription",
          .handler = method_get_interface_description,
          .fields = describe_fields,
          .args_size = sizeof(describe_args) },
        {},
};

const vl_interface vl_service_interface = {
        .name = "org.varlink.service",
        .description = vl_idl_org_varlink_service,
        .methods = service_methods,
};
