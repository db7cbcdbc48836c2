/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The connection to the broker, and what it keeps of the last refusal. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ioasid-internal.h"
#include "json-cleanup.h"
#include "macro.h"

static const struct {
        const char *name;
        int error;
} error_table[] = {
        { "io.ioasid.Broker.NoSuchDevice", ENOENT },
        { "io.ioasid.Broker.NoSuchGroup", ENOENT },
        { "io.ioasid.Broker.NoSuchLease", ENOENT },
        { "io.ioasid.Admin.NoSuchDevice", ENOENT },
        { "io.ioasid.Admin.NoSuchLease", ENOENT },
        { "io.ioasid.Broker.GroupNotViable", EPERM },
        { "io.ioasid.Broker.GroupBusy", EBUSY },
        { "io.ioasid.Broker.PermissionDenied", EACCES },
        { "org.varlink.service.PermissionDenied", EACCES },
        { "io.ioasid.Broker.BackendUnavailable", EOPNOTSUPP },
        { "io.ioasid.Admin.PolicyError", EBADMSG },
        { "io.ioasid.Admin.BindFailed", EIO },
        { "org.varlink.service.InvalidParameter", EINVAL },
};

int ioasid_error_errno(const char *name)
{
        for (size_t i = 0; i < ELEMENTSOF(error_table); i++)
                if (streq(error_table[i].name, name))
                        return -error_table[i].error;
        return -EREMOTEIO;
}

int ioasid_connect(const char *path, ioasid **ret)
{
        ioasid *c;
        int r;

        if (!ret)
                return -EINVAL;
        if (!path)
                path = secure_getenv("IOASID_SOCKET");
        if (!path || !*path)
                path = IOASID_DEFAULT_SOCKET;
        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        r = vl_client_connect(path, &c->vl);
        if (r < 0) {
                free(c);
                return r;
        }
        *ret = c;
        return 0;
}

static void error_clear(ioasid *c)
{
        c->error = mfree(c->error);
        if (c->error_params)
                json_object_put(c->error_params);
        c->error_params = NULL;
}

ioasid *ioasid_free(ioasid *c)
{
        if (!c)
                return NULL;
        error_clear(c);
        vl_client_free(c->vl);
        free(c->version);
        free(c);
        return NULL;
}

int ioasid_get_fd(const ioasid *c)
{
        return c ? vl_client_fd(c->vl) : -EINVAL;
}

int ioasid_call(ioasid *c, const char *method, json_object *params, const int *fds, size_t n_fds,
                vl_reply *ret)
{
        int r;

        error_clear(c);
        r = vl_client_call(c->vl, method, params, fds, n_fds, ret);
        if (r < 0)
                return r;
        if (ret->error) {
                c->error = TAKE_PTR(ret->error);
                c->error_params = TAKE_PTR(ret->parameters);
                vl_reply_done(ret);
                return ioasid_error_errno(c->error);
        }
        return 0;
}

int ioasid_get_version(ioasid *c, const char **ret)
{
        vl_reply reply;
        const char *v;
        int r;

        if (!c || !ret)
                return -EINVAL;
        r = ioasid_call(c, "org.varlink.service.GetInfo", NULL, NULL, 0, &reply);
        if (r < 0)
                return r;
        v = json_get_string(reply.parameters, "version");
        free(c->version);
        c->version = v ? strdup(v) : NULL;
        vl_reply_done(&reply);
        if (!c->version)
                return v ? -ENOMEM : -EBADMSG;
        *ret = c->version;
        return 0;
}

/* The reply's parameters, kept whole: the accessors read them. */
struct ioasid_status {
        json_object *o;
};

int ioasid_get_status(ioasid *c, ioasid_status **ret)
{
        ioasid_status *s;
        vl_reply reply;
        int r;

        if (!c || !ret)
                return -EINVAL;
        r = ioasid_call(c, "io.ioasid.Broker.GetStatus", NULL, NULL, 0, &reply);
        if (r < 0)
                return r;
        if (!json_get_string(reply.parameters, "version")) {
                vl_reply_done(&reply);
                return -EBADMSG;
        }
        s = calloc(1, sizeof(*s));
        if (!s) {
                vl_reply_done(&reply);
                return -ENOMEM;
        }
        s->o = TAKE_PTR(reply.parameters);
        vl_reply_done(&reply);
        *ret = s;
        return 0;
}

ioasid_status *ioasid_status_free(ioasid_status *s)
{
        if (s) {
                json_object_put(s->o);
                free(s);
        }
        return NULL;
}

const char *ioasid_status_version(const ioasid_status *s)
{
        return s ? json_get_string(s->o, "version") : NULL;
}

const char *ioasid_status_backend(const ioasid_status *s)
{
        return s ? json_get_string(s->o, "backend") : NULL;
}

int ioasid_status_groups(const ioasid_status *s)
{
        return s ? json_get_int(s->o, "groups", -1) : -1;
}

int ioasid_status_viable_groups(const ioasid_status *s)
{
        return s ? json_get_int(s->o, "viableGroups", -1) : -1;
}

int ioasid_status_devices(const ioasid_status *s)
{
        return s ? json_get_int(s->o, "devices", -1) : -1;
}

int ioasid_status_leases(const ioasid_status *s)
{
        return s ? json_get_int(s->o, "leases", -1) : -1;
}

const char *ioasid_error_name(const ioasid *c)
{
        return c ? c->error : NULL;
}

json_object *ioasid_error_parameters_json(const ioasid *c)
{
        return c ? c->error_params : NULL;
}

const char *ioasid_error_parameters(const ioasid *c)
{
        if (!c || !c->error_params)
                return NULL;
        return json_object_to_json_string_ext(c->error_params, JSON_C_TO_STRING_PLAIN);
}

size_t ioasid_error_n_reasons(const ioasid *c)
{
        return c ? json_get_array_size(c->error_params, "reasons") : 0;
}

const char *ioasid_error_reason_at(const ioasid *c, size_t i)
{
        return c ? json_get_array_string(c->error_params, "reasons", i) : NULL;
}

const char *ioasid_error_message(const ioasid *c)
{
        if (!c || !c->error_params)
                return NULL;
        return json_get_string(c->error_params, "reason")
                       ?: json_get_string(c->error_params, "message");
}

int ioasid_error_group(const ioasid *c)
{
        return c ? json_get_int(c->error_params, "group", -1) : -1;
}

const char *ioasid_error_address(const ioasid *c)
{
        return c ? json_get_string(c->error_params, "address") : NULL;
}

const char *ioasid_error_lease(const ioasid *c)
{
        return c ? json_get_string(c->error_params, "lease") : NULL;
}

int ioasid_error_owner(const ioasid *c, uid_t *ret_uid, pid_t *ret_pid, const char **ret_lease)
{
        json_object *o;

        if (!c || !c->error_params || !json_object_object_get_ex(c->error_params, "owner", &o))
                return -ENODATA;
        return json_get_owner(o, ret_uid, ret_pid, ret_lease);
}
