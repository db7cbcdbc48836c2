/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ListGroups, GetGroup, ListDevices, and the accessors of what they return. A group or device
 * handle is the reply's own json object: a borrowed view, valid as long as its list. */
#include <errno.h>
#include <stdlib.h>

#include "ioasid-internal.h"
#include "json-cleanup.h"

struct ioasid_group_list {
        json_object *array;
};

struct ioasid_device_list {
        json_object *array;
};

#define G(g) ((json_object *)(g))
#define D(d) ((json_object *)(d))

/* The array member key of a reply, kept; or for GetGroup the one object, in an array. */
static int reply_array(vl_reply *reply, const char *key, bool single, json_object **ret)
{
        json_object *v;

        if (!json_object_object_get_ex(reply->parameters, key, &v))
                return -EBADMSG;
        if (single) {
                _cleanup_json_ json_object *a = NULL;

                if (!json_object_is_type(v, json_type_object))
                        return -EBADMSG;
                a = json_object_new_array();
                if (!a || json_object_array_add(a, json_object_get(v)) < 0)
                        return -ENOMEM;
                *ret = TAKE_PTR(a);
                return 0;
        }
        if (!json_object_is_type(v, json_type_array))
                return -EBADMSG;
        *ret = json_object_get(v);
        return 0;
}

static int call_list(ioasid *c, const char *method, json_object *params, const char *key,
                     bool single, json_object **ret)
{
        vl_reply reply;
        int r;

        r = ioasid_call(c, method, params, NULL, 0, &reply);
        if (r < 0)
                return r;
        r = reply_array(&reply, key, single, ret);
        vl_reply_done(&reply);
        return r;
}

static int group_list_new(json_object *array, ioasid_group_list **ret)
{
        ioasid_group_list *l = calloc(1, sizeof(*l));

        if (!l) {
                json_object_put(array);
                return -ENOMEM;
        }
        l->array = array;
        *ret = l;
        return 0;
}

int ioasid_list_groups(ioasid *c, ioasid_group_list **ret)
{
        json_object *a;
        int r;

        if (!c || !ret)
                return -EINVAL;
        r = call_list(c, "io.ioasid.Broker.ListGroups", NULL, "groups", false, &a);
        return r < 0 ? r : group_list_new(a, ret);
}

int ioasid_get_group(ioasid *c, int group, ioasid_group_list **ret)
{
        json_object *a, *p;
        int r;

        if (!c || !ret || group < 0)
                return -EINVAL;
        p = json_object_new_object();
        if (!p || json_object_object_add(p, "group", json_object_new_int(group)) < 0) {
                json_object_put(p);
                return -ENOMEM;
        }
        r = call_list(c, "io.ioasid.Broker.GetGroup", p, "group", true, &a);
        return r < 0 ? r : group_list_new(a, ret);
}

int ioasid_list_devices(ioasid *c, ioasid_device_list **ret)
{
        ioasid_device_list *l;
        json_object *a;
        int r;

        if (!c || !ret)
                return -EINVAL;
        r = call_list(c, "io.ioasid.Broker.ListDevices", NULL, "devices", false, &a);
        if (r < 0)
                return r;
        l = calloc(1, sizeof(*l));
        if (!l) {
                json_object_put(a);
                return -ENOMEM;
        }
        l->array = a;
        *ret = l;
        return 0;
}

ioasid_group_list *ioasid_group_list_free(ioasid_group_list *l)
{
        if (l) {
                json_object_put(l->array);
                free(l);
        }
        return NULL;
}

ioasid_device_list *ioasid_device_list_free(ioasid_device_list *l)
{
        if (l) {
                json_object_put(l->array);
                free(l);
        }
        return NULL;
}

static json_object *array_object(json_object *a, size_t i)
{
        json_object *v;

        if (!a || i >= json_object_array_length(a))
                return NULL;
        v = json_object_array_get_idx(a, i);
        return json_object_is_type(v, json_type_object) ? v : NULL;
}

size_t ioasid_group_list_size(const ioasid_group_list *l)
{
        return l ? json_object_array_length(l->array) : 0;
}

const ioasid_group *ioasid_group_list_get(const ioasid_group_list *l, size_t i)
{
        return l ? (const ioasid_group *)array_object(l->array, i) : NULL;
}

size_t ioasid_device_list_size(const ioasid_device_list *l)
{
        return l ? json_object_array_length(l->array) : 0;
}

const ioasid_device *ioasid_device_list_get(const ioasid_device_list *l, size_t i)
{
        return l ? (const ioasid_device *)array_object(l->array, i) : NULL;
}

json_object *ioasid_group_list_json(const ioasid_group_list *l)
{
        return l ? l->array : NULL;
}

json_object *ioasid_device_list_json(const ioasid_device_list *l)
{
        return l ? l->array : NULL;
}

json_object *ioasid_group_json(const ioasid_group *g)
{
        return G(g);
}

json_object *ioasid_device_json(const ioasid_device *d)
{
        return D(d);
}

int ioasid_group_number(const ioasid_group *g)
{
        return json_get_int(G(g), "group", -1);
}

const char *ioasid_group_type(const ioasid_group *g)
{
        return json_get_string(G(g), "type");
}

bool ioasid_group_viable(const ioasid_group *g)
{
        return json_get_bool(G(g), "viable") > 0;
}

size_t ioasid_group_n_reasons(const ioasid_group *g)
{
        return json_get_array_size(G(g), "reasons");
}

const char *ioasid_group_reason(const ioasid_group *g, size_t i)
{
        return json_get_array_string(G(g), "reasons", i);
}

size_t ioasid_group_n_notes(const ioasid_group *g)
{
        return json_get_array_size(G(g), "notes");
}

const char *ioasid_group_note(const ioasid_group *g, size_t i)
{
        return json_get_array_string(G(g), "notes", i);
}

bool ioasid_group_dma_blocked(const ioasid_group *g)
{
        return json_get_bool(G(g), "dmaBlocked") > 0;
}

size_t ioasid_group_n_devices(const ioasid_group *g)
{
        return json_get_array_size(G(g), "devices");
}

const ioasid_device *ioasid_group_device(const ioasid_group *g, size_t i)
{
        json_object *d = json_get_array_item(G(g), "devices", i);

        return json_object_is_type(d, json_type_object) ? (const ioasid_device *)d : NULL;
}

static int owner_of(json_object *o, uid_t *ret_uid, pid_t *ret_pid, const char **ret_lease)
{
        json_object *v;

        if (!o || !json_object_object_get_ex(o, "owner", &v))
                return -ENODATA;
        return json_get_owner(v, ret_uid, ret_pid, ret_lease);
}

int ioasid_group_owner(const ioasid_group *g, uid_t *ret_uid, pid_t *ret_pid,
                       const char **ret_lease)
{
        return owner_of(G(g), ret_uid, ret_pid, ret_lease);
}

const char *ioasid_device_address(const ioasid_device *d)
{
        return json_get_string(D(d), "address");
}

int ioasid_device_group(const ioasid_device *d)
{
        return json_get_int(D(d), "group", -1);
}

const char *ioasid_device_vendor(const ioasid_device *d)
{
        return json_get_string(D(d), "vendor");
}

const char *ioasid_device_id(const ioasid_device *d)
{
        return json_get_string(D(d), "device");
}

const char *ioasid_device_class(const ioasid_device *d)
{
        return json_get_string(D(d), "class");
}

const char *ioasid_device_driver(const ioasid_device *d)
{
        return json_get_string(D(d), "driver");
}

const char *ioasid_device_cdev(const ioasid_device *d)
{
        return json_get_string(D(d), "cdev");
}

int ioasid_device_owner(const ioasid_device *d, uid_t *ret_uid, pid_t *ret_pid,
                        const char **ret_lease)
{
        return owner_of(D(d), ret_uid, ret_pid, ret_lease);
}
