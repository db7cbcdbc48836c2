/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "access.h"
#include "admin-bind.h"
#include "admin.h"
#include "daemon-state.h"
#include "json-cleanup.h"
#include "lease.h"
#include "log.h"
#include "pci-address.h"
#include "revoke.h"
#include "sync.h"

static int method_rescan(vl_link *link, json_object *params, void *args, void *userdata)
{
        daemon_state *d = userdata;
        int r;

        /* Settle what the event sources hold first, so that the scan has the last word. */
        events_flush(d->events);
        r = sync_rescan_now(d);
        if (r < 0)
                return r;
        return vl_link_reply(link, NULL);
}

static int method_reload_policy(vl_link *link, json_object *params, void *args, void *userdata)
{
        _cleanup_free_ char *error = NULL;
        _cleanup_json_ json_object *p = json_object_new_object();
        daemon_state *d = userdata;
        int r;

        if (!p)
                return -ENOMEM;
        r = access_reload(d, &error);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                if (json_object_object_add(p, "message",
                                           json_object_new_string(error ?: strerror(-r))) < 0)
                        return -ENOMEM;
                return vl_link_error(link, "io.ioasid.Admin.PolicyError", TAKE_PTR(p));
        }
        if (json_object_object_add(p, "rules", json_object_new_int(r)) < 0)
                return -ENOMEM;
        return vl_link_reply(link, TAKE_PTR(p));
}

typedef struct check_policy_args {
        int64_t uid;
        const char *address;
} check_policy_args;

static const vl_field check_policy_fields[] = {
        { "uid", vl_field_int64, offsetof(check_policy_args, uid), VL_FIELD_MANDATORY },
        { "address", vl_field_string, offsetof(check_policy_args, address), VL_FIELD_MANDATORY },
        {},
};

static int method_check_policy(vl_link *link, json_object *params, void *args, void *userdata)
{
        const check_policy_args *a = args;
        _cleanup_(access_subject_done) access_subject s = {};
        _cleanup_json_ json_object *p = json_object_new_object();
        daemon_state *d = userdata;
        policy_verdict v;
        int r;

        if (!p)
                return -ENOMEM;
        /* (uid_t)-1 is "no uid" to the kernel's credential calls. */
        if (a->uid < 0 || a->uid >= UINT32_MAX)
                return vl_link_error_invalid_parameter(link, "uid");
        if (!pci_address_valid_str(a->address))
                return vl_link_error_invalid_parameter(link, "address");
        r = access_subject_from_uid((uid_t)a->uid, &s);
        if (r < 0)
                return r;
        r = access_check_device(d, &s.s, a->address, POLICY_ACQUIRE, 0, &v);
        if (r == -ENODEV) {
                if (json_object_object_add(p, "address", json_object_new_string(a->address)) < 0)
                        return -ENOMEM;
                return vl_link_error(link, "io.ioasid.Admin.NoSuchDevice", TAKE_PTR(p));
        }
        if (r < 0)
                return r;
        if (json_object_object_add(p, "allowed", json_object_new_boolean(v.allowed)) < 0 ||
            (v.rule && json_object_object_add(p, "rule", json_object_new_string(v.rule)) < 0) ||
            json_object_object_add(p, "reason", json_object_new_string(v.reason)) < 0)
                return -ENOMEM;
        return vl_link_reply(link, TAKE_PTR(p));
}

typedef struct lease_args {
        const char *lease;
} lease_args;

static const vl_field lease_fields[] = {
        { "lease", vl_field_string, offsetof(lease_args, lease), VL_FIELD_MANDATORY },
        {},
};

static int method_revoke(vl_link *link, json_object *params, void *args, void *userdata)
{
        const lease_args *a = args;
        daemon_state *d = userdata;
        lease *l = leases_find(d->leases, a->lease);
        _cleanup_json_ json_object *p = NULL;

        if (!l) {
                p = json_object_new_object();
                if (!p || json_object_object_add(p, "lease", json_object_new_string(a->lease)) < 0)
                        return -ENOMEM;
                return vl_link_error(link, "io.ioasid.Admin.NoSuchLease", TAKE_PTR(p));
        }
        /* Answered from revoke.c once the lease has ended. */
        return revoke_start(l, link, vl_link_peer(link)->uid);
}

static const vl_method admin_methods[] = {
        { .name = "Bind",
          .handler = bind_method,
          .fields = bind_fields,
          .args_size = sizeof(bind_args) },
        { .name = "Unbind",
          .handler = unbind_method,
          .fields = unbind_fields,
          .args_size = sizeof(unbind_args) },
        { .name = "Revoke",
          .handler = method_revoke,
          .fields = lease_fields,
          .args_size = sizeof(lease_args) },
        { .name = "Rescan", .handler = method_rescan },
        { .name = "ReloadPolicy", .handler = method_reload_policy },
        { .name = "CheckPolicy",
          .handler = method_check_policy,
          .fields = check_policy_fields,
          .args_size = sizeof(check_policy_args) },
        {},
};

const vl_interface admin_interface = {
        .name = "io.ioasid.Admin",
        .description = vl_idl_io_ioasid_admin,
        .methods = admin_methods,
        .authorize = access_authorize_admin,
};
