/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdint.h>
#include <string.h>

#include "cert-json.h"

static bool is_number(json_object *v)
{
        return json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double);
}

static bool numbers_equal(json_object *a, json_object *b)
{
        if (json_object_is_type(a, json_type_int) && json_object_is_type(b, json_type_int)) {
                /* Both sides above INT64_MAX are stored unsigned; compare them so. */
                if (json_object_get_int64(a) == INT64_MAX || json_object_get_int64(b) == INT64_MAX)
                        return json_object_get_uint64(a) == json_object_get_uint64(b);
                return json_object_get_int64(a) == json_object_get_int64(b);
        }
        return json_object_get_double(a) == json_object_get_double(b);
}

bool cert_json_equal(json_object *a, json_object *b)
{
        if (!a || !b)
                return !a && !b;
        if (is_number(a) && is_number(b))
                return numbers_equal(a, b);
        if (json_object_get_type(a) != json_object_get_type(b))
                return false;
        switch (json_object_get_type(a)) {
        case json_type_null:
                return true;
        case json_type_boolean:
                return json_object_get_boolean(a) == json_object_get_boolean(b);
        case json_type_string:
                return json_object_get_string_len(a) == json_object_get_string_len(b) &&
                       memcmp(json_object_get_string(a), json_object_get_string(b),
                              (size_t)json_object_get_string_len(a)) == 0;
        case json_type_array:
                if (json_object_array_length(a) != json_object_array_length(b))
                        return false;
                for (size_t i = 0; i < json_object_array_length(a); i++)
                        if (!cert_json_equal(json_object_array_get_idx(a, i),
                                             json_object_array_get_idx(b, i)))
                                return false;
                return true;
        case json_type_object: {
                json_object *w;

                if (json_object_object_length(a) != json_object_object_length(b))
                        return false;
                json_object_object_foreach (a, key, v)
                        if (!json_object_object_get_ex(b, key, &w) || !cert_json_equal(v, w))
                                return false;
                return true;
        }
        default:
                return false;
        }
}
