/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "dispatch.h"
#include "macro.h"

bool vl_json_is_int(json_object *v)
{
        /* json-c types integers as int and converts doubles and strings on get: check the
         * type, never trust the getters' conversions. */
        return json_object_is_type(v, json_type_int);
}

bool vl_string_is_valid(const char *s, size_t len, bool allow_control)
{
        if (strlen(s) != len)
                return false;
        if (allow_control)
                return true;
        for (size_t i = 0; i < len; i++)
                if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
                        return false;
        return true;
}

int vl_field_bool(json_object *v, void *dest)
{
        if (!json_object_is_type(v, json_type_boolean))
                return -EINVAL;
        *(bool *)dest = json_object_get_boolean(v);
        return 0;
}

int vl_field_int64(json_object *v, void *dest)
{
        if (!vl_json_is_int(v))
                return -EINVAL;
        /* Values above INT64_MAX are stored as uint64 by json-c; get_int64 would clamp them. */
        if (json_object_get_int64(v) == INT64_MAX &&
            json_object_get_uint64(v) > (uint64_t)INT64_MAX)
                return -ERANGE;
        *(int64_t *)dest = json_object_get_int64(v);
        return 0;
}

int vl_field_uint64(json_object *v, void *dest)
{
        if (!vl_json_is_int(v) || json_object_get_int64(v) < 0)
                return -EINVAL;
        *(uint64_t *)dest = json_object_get_uint64(v);
        return 0;
}

int vl_field_int(json_object *v, void *dest)
{
        int64_t i;
        int r = vl_field_int64(v, &i);

        if (r < 0)
                return r;
        if (i < INT_MIN || i > INT_MAX)
                return -ERANGE;
        *(int *)dest = (int)i;
        return 0;
}

int vl_field_uint(json_object *v, void *dest)
{
        int64_t i;
        int r = vl_field_int64(v, &i);

        if (r < 0)
                return r;
        if (i < 0 || i > UINT_MAX)
                return -ERANGE;
        *(unsigned *)dest = (unsigned)i;
        return 0;
}

int vl_field_double(json_object *v, void *dest)
{
        if (!json_object_is_type(v, json_type_double) && !vl_json_is_int(v))
                return -EINVAL;
        *(double *)dest = json_object_get_double(v);
        return 0;
}

static int field_string(json_object *v, void *dest, bool allow_control)
{
        if (!json_object_is_type(v, json_type_string))
                return -EINVAL;
        if (!vl_string_is_valid(json_object_get_string(v), (size_t)json_object_get_string_len(v),
                                allow_control))
                return -EINVAL;
        *(const char **)dest = json_object_get_string(v);
        return 0;
}

int vl_field_string(json_object *v, void *dest)
{
        return field_string(v, dest, false);
}

int vl_field_string_any(json_object *v, void *dest)
{
        return field_string(v, dest, true);
}

int vl_field_object(json_object *v, void *dest)
{
        if (!json_object_is_type(v, json_type_object))
                return -EINVAL;
        *(json_object **)dest = v;
        return 0;
}

int vl_field_array(json_object *v, void *dest)
{
        if (!json_object_is_type(v, json_type_array))
                return -EINVAL;
        *(json_object **)dest = v;
        return 0;
}

int vl_field_string_array(json_object *v, void *dest)
{
        const char *s;

        if (!json_object_is_type(v, json_type_array))
                return -EINVAL;
        for (size_t i = 0; i < json_object_array_length(v); i++)
                if (field_string(json_object_array_get_idx(v, i), &s, false) < 0)
                        return -EINVAL;
        *(json_object **)dest = v;
        return 0;
}

int vl_field_any(json_object *v, void *dest)
{
        *(json_object **)dest = v;
        return 0;
}

static const vl_field *field_find(const vl_field *table, const char *name)
{
        for (const vl_field *f = table; f && f->name; f++)
                if (streq(f->name, name))
                        return f;
        return NULL;
}

int vl_dispatch(json_object *params, const vl_field *table, void *args, const char **ret_bad)
{
        const char *bad = NULL;

        if (params && !json_object_is_type(params, json_type_object)) {
                *ret_bad = "parameters";
                return -EINVAL;
        }

        if (params) {
                json_object_object_foreach (params, key, value) {
                        const vl_field *f = field_find(table, key);
                        int r;

                        if (!f) {
                                *ret_bad = key;
                                return -EINVAL;
                        }
                        if (json_object_is_type(value, json_type_null)) {
                                if (f->flags & VL_FIELD_MANDATORY) {
                                        *ret_bad = f->name;
                                        return -EINVAL;
                                }
                                continue;
                        }
                        r = f->dispatch(value, (char *)args + f->offset);
                        if (r < 0) {
                                *ret_bad = f->name;
                                return -EINVAL;
                        }
                }
        }

        for (const vl_field *f = table; f && f->name; f++) {
                json_object *v;

                if (!(f->flags & VL_FIELD_MANDATORY))
                        continue;
                if (!params || !json_object_object_get_ex(params, f->name, &v) ||
                    json_object_is_type(v, json_type_null)) {
                        bad = f->name;
                        break;
                }
        }
        if (bad) {
                *ret_bad = bad;
                return -EINVAL;
        }
        return 0;
}
