/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "describe.h"
#include "json-cleanup.h"
#include "lease.h"
#include "macro.h"

/* json-c ignores additions to a NULL object and returns an error we have no use for: building
 * stops at the first failed allocation, which the caller sees as a NULL result. */
static bool add(json_object *o, const char *key, json_object *v)
{
        if (!v)
                return false;
        if (json_object_object_add(o, key, v) < 0) {
                json_object_put(v);
                return false;
        }
        return true;
}

static bool add_string(json_object *o, const char *key, const char *s)
{
        return !s || add(o, key, json_object_new_string(s));
}

static json_object *string_array(char *const *v, size_t n)
{
        _cleanup_json_ json_object *a = json_object_new_array_ext((int)n);

        if (!a)
                return NULL;
        for (size_t i = 0; i < n; i++) {
                json_object *s = json_object_new_string(v[i]);

                if (!s || json_object_array_add(a, s) < 0) {
                        json_object_put(s);
                        return NULL;
                }
        }
        return TAKE_PTR(a);
}

/* sysfs may fail to give an id (a device removed while being read): the interface has the
 * fields as plain strings, so an unknown one is empty rather than absent. */
static const char *id_or_empty(const char *s)
{
        return s ?: "";
}

json_object *describe_device(const model_device *d)
{
        _cleanup_json_ json_object *o = json_object_new_object();

        if (!o)
                return NULL;
        if (!add_string(o, "address", d->address) ||
            !add(o, "group", json_object_new_int(d->group)) ||
            !add_string(o, "vendor", id_or_empty(d->vendor)) ||
            !add_string(o, "device", id_or_empty(d->device)) ||
            !add_string(o, "class", id_or_empty(d->class)) || !add_string(o, "driver", d->driver) ||
            !add_string(o, "cdev", d->cdev) ||
            (d->owner && !add(o, "owner", lease_describe_owner(d->owner))))
                return NULL;
        return TAKE_PTR(o);
}

json_object *describe_group(const model *m, const model_group *g)
{
        _cleanup_json_ json_object *o = json_object_new_object(), *devices = NULL;

        if (!o)
                return NULL;
        devices = json_object_new_array_ext((int)g->n_devices);
        if (!devices)
                return NULL;
        for (size_t i = 0; i < g->n_devices; i++) {
                const model_device *d = model_group_device(m, g, i);

                /* A member that could not be read is already a reason in the verdict. */
                if (d && json_object_array_add(devices, describe_device(d)) < 0)
                        return NULL;
        }
        if (!add(o, "group", json_object_new_int(g->number)) ||
            !add_string(o, "type", g->type ?: "unknown") ||
            !add(o, "viable", json_object_new_boolean(g->viability.viable)) ||
            !add(o, "reasons", string_array(g->viability.reasons, g->viability.n_reasons)) ||
            (g->viability.n_notes > 0 &&
             !add(o, "notes", string_array(g->viability.notes, g->viability.n_notes))) ||
            !add(o, "dmaBlocked",
                 json_object_new_boolean(g->owner && lease_dma_blocked(g->owner, g->number))) ||
            !add(o, "devices", TAKE_PTR(devices)) ||
            (g->owner && !add(o, "owner", lease_describe_owner(g->owner))))
                return NULL;
        return TAKE_PTR(o);
}

json_object *describe_event(const char *kind)
{
        _cleanup_json_ json_object *o = json_object_new_object();

        if (!o || !add_string(o, "kind", kind))
                return NULL;
        return TAKE_PTR(o);
}

json_object *describe_lease_event(const lease_event *e)
{
        static const char *const kinds[] = {
                [LEASE_ACQUIRED] = "leaseAcquired",
                [LEASE_RELEASED] = "leaseReleased",
                [LEASE_COMPROMISED] = "leaseCompromised",
        };
        _cleanup_json_ json_object *o = describe_event(kinds[e->kind]);

        if (!o || !add(o, "lease", json_object_new_string(e->lease)))
                return NULL;
        /* A compromise always names its group, as the kernel last said it. */
        if ((e->group >= 0 || e->kind == LEASE_COMPROMISED) &&
            !add(o, "group", json_object_new_int(e->group)))
                return NULL;
        if (e->address && !add(o, "address", json_object_new_string(e->address)))
                return NULL;
        if (e->driver && !add(o, "driver", json_object_new_string(e->driver)))
                return NULL;
        return TAKE_PTR(o);
}

static json_object *group_event(const model *m, const model_change *c, const char *kind)
{
        _cleanup_json_ json_object *o = describe_event(kind);
        const model_group *g = model_find_group(m, c->group);

        if (!o || !add(o, "group", json_object_new_int(c->group)))
                return NULL;
        if (c->kind == MODEL_GROUP_REMOVED)
                return TAKE_PTR(o);
        if (!add(o, "viable", json_object_new_boolean(c->viable_after)))
                return NULL;
        /* The verdict now; by the time a batch is published it is what clients can act on. */
        if (g && !add(o, "reasons", string_array(g->viability.reasons, g->viability.n_reasons)))
                return NULL;
        return TAKE_PTR(o);
}

static json_object *device_event(const model_change *c, const char *kind)
{
        _cleanup_json_ json_object *o = describe_event(kind);

        if (!o || !add_string(o, "address", c->address) ||
            !add(o, "group", json_object_new_int(c->group)) ||
            !add_string(o, "driver", c->new_driver) ||
            !add_string(o, "previousDriver", c->old_driver))
                return NULL;
        return TAKE_PTR(o);
}

json_object *describe_change(const model *m, const model_change *c)
{
        switch (c->kind) {
        case MODEL_DEVICE_ADDED:
                return device_event(c, "deviceAdded");
        case MODEL_DEVICE_REMOVED:
                return device_event(c, "deviceRemoved");
        case MODEL_DRIVER_CHANGED:
                return device_event(c, "driverChanged");
        case MODEL_DEVICE_CHANGED:
                return device_event(c, "deviceChanged");
        case MODEL_GROUP_ADDED:
                return group_event(m, c, "groupAdded");
        case MODEL_GROUP_REMOVED:
                return group_event(m, c, "groupRemoved");
        case MODEL_GROUP_CHANGED:
                return group_event(m, c, "groupChanged");
        }
        return NULL;
}
