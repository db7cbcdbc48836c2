/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Typed, borrowed reads of reply members: a member of the wrong type reads as absent, so a
 * daemon newer than the library (or a broken one) never makes an accessor crash. */
#include <errno.h>
#include <limits.h>

#include "ioasid-internal.h"

static json_object *member(json_object *o, const char *key, json_type type)
{
        json_object *v;

        if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, type))
                return NULL;
        return v;
}

const char *json_get_string(json_object *o, const char *key)
{
        json_object *v = member(o, key, json_type_string);

        return v ? json_object_get_string(v) : NULL;
}

int json_get_int(json_object *o, const char *key, int fallback)
{
        json_object *v = member(o, key, json_type_int);
        int64_t i;

        if (!v)
                return fallback;
        i = json_object_get_int64(v);
        return i < INT_MIN || i > INT_MAX ? fallback : (int)i;
}

int json_get_bool(json_object *o, const char *key)
{
        json_object *v = member(o, key, json_type_boolean);

        return v ? json_object_get_boolean(v) : -ENODATA;
}

size_t json_get_array_size(json_object *o, const char *key)
{
        json_object *v = member(o, key, json_type_array);

        return v ? json_object_array_length(v) : 0;
}

json_object *json_get_array_item(json_object *o, const char *key, size_t i)
{
        json_object *v = member(o, key, json_type_array);

        if (!v || i >= json_object_array_length(v))
                return NULL;
        return json_object_array_get_idx(v, i);
}

const char *json_get_array_string(json_object *o, const char *key, size_t i)
{
        json_object *v = json_get_array_item(o, key, i);

        return json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

int json_get_owner(json_object *o, uid_t *ret_uid, pid_t *ret_pid, const char **ret_lease)
{
        const char *lease = json_get_string(o, "lease");
        int uid = json_get_int(o, "uid", -1), pid = json_get_int(o, "pid", -1);

        if (!json_object_is_type(o, json_type_object) || !lease || uid < 0 || pid < 0)
                return -ENODATA;
        if (ret_uid)
                *ret_uid = (uid_t)uid;
        if (ret_pid)
                *ret_pid = (pid_t)pid;
        if (ret_lease)
                *ret_lease = lease;
        return 0;
}
