/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* io.ioasid.Admin. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>

#include "ioasid-internal.h"
#include "json-cleanup.h"

struct ioasid_policy_verdict {
        json_object *reply;
};

/* A call whose parameters are string pairs (key, value, ..., NULL); the reply is kept in ret
 * when ret is not NULL. */
static int call_strings(ioasid *c, const char *method, json_object **ret, ...)
{
        _cleanup_json_ json_object *p = json_object_new_object();
        const char *key;
        vl_reply reply;
        va_list ap;
        int r = 0;

        if (!c || !p)
                return c ? -ENOMEM : -EINVAL;
        va_start(ap, ret);
        while ((key = va_arg(ap, const char *))) {
                const char *value = va_arg(ap, const char *);

                if (!value)
                        r = -EINVAL;
                else if (json_object_object_add(p, key, json_object_new_string(value)) < 0)
                        r = -ENOMEM;
        }
        va_end(ap);
        if (r < 0)
                return r;
        r = ioasid_call(c, method, TAKE_PTR(p), NULL, 0, &reply);
        if (r < 0)
                return r;
        if (ret)
                *ret = json_object_get(reply.parameters);
        vl_reply_done(&reply);
        return 0;
}

int ioasid_bind(ioasid *c, const char *address, const char *driver)
{
        return call_strings(c, "io.ioasid.Admin.Bind", NULL, "address", address, "driver", driver,
                            NULL);
}

int ioasid_unbind(ioasid *c, const char *address)
{
        return call_strings(c, "io.ioasid.Admin.Unbind", NULL, "address", address, NULL);
}

int ioasid_revoke(ioasid *c, const char *lease)
{
        return call_strings(c, "io.ioasid.Admin.Revoke", NULL, "lease", lease, NULL);
}

int ioasid_rescan(ioasid *c)
{
        return call_strings(c, "io.ioasid.Admin.Rescan", NULL, NULL);
}

int ioasid_reload_policy(ioasid *c)
{
        _cleanup_json_ json_object *reply = NULL;
        int r, rules;

        r = call_strings(c, "io.ioasid.Admin.ReloadPolicy", &reply, NULL);
        if (r < 0)
                return r;
        rules = json_get_int(reply, "rules", -1);
        return rules < 0 ? -EBADMSG : rules;
}

int ioasid_check_policy(ioasid *c, uid_t uid, const char *address, ioasid_policy_verdict **ret)
{
        _cleanup_json_ json_object *p = json_object_new_object();
        ioasid_policy_verdict *v;
        vl_reply reply;
        int r;

        if (!c || !address || !ret)
                return -EINVAL;
        if (!p || json_object_object_add(p, "uid", json_object_new_int64(uid)) < 0 ||
            json_object_object_add(p, "address", json_object_new_string(address)) < 0)
                return -ENOMEM;
        r = ioasid_call(c, "io.ioasid.Admin.CheckPolicy", TAKE_PTR(p), NULL, 0, &reply);
        if (r < 0)
                return r;
        if (json_get_bool(reply.parameters, "allowed") < 0 ||
            !json_get_string(reply.parameters, "reason")) {
                vl_reply_done(&reply);
                return -EBADMSG;
        }
        v = calloc(1, sizeof(*v));
        if (!v) {
                vl_reply_done(&reply);
                return -ENOMEM;
        }
        v->reply = json_object_get(reply.parameters);
        vl_reply_done(&reply);
        *ret = v;
        return 0;
}

ioasid_policy_verdict *ioasid_policy_verdict_free(ioasid_policy_verdict *v)
{
        if (v) {
                json_object_put(v->reply);
                free(v);
        }
        return NULL;
}

json_object *ioasid_policy_verdict_json(const ioasid_policy_verdict *v)
{
        return v ? v->reply : NULL;
}

bool ioasid_policy_verdict_allowed(const ioasid_policy_verdict *v)
{
        return v && json_get_bool(v->reply, "allowed") > 0;
}

const char *ioasid_policy_verdict_rule(const ioasid_policy_verdict *v)
{
        return v ? json_get_string(v->reply, "rule") : NULL;
}

const char *ioasid_policy_verdict_reason(const ioasid_policy_verdict *v)
{
        return v ? json_get_string(v->reply, "reason") : NULL;
}
