/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Typed parameter tables: a method's parameters are checked field by field against a table and
 * stored into a struct before its handler runs. Unknown fields, wrong types, out-of-range
 * integers, strings with NUL or control characters, and missing mandatory fields are refused,
 * naming the field. An optional field given as null counts as absent. */

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef int (*vl_field_dispatch)(json_object *v, void *dest);

enum {
        VL_FIELD_MANDATORY = 1u << 0,
};

typedef struct vl_field {
        const char *name;
        vl_field_dispatch dispatch;
        size_t offset;
        unsigned flags;
} vl_field;

/* Checks params (an object, or NULL for none) against a table whose last entry has name NULL,
 * filling args. Returns 0, or -EINVAL with *ret_bad naming the offending field (borrowed from
 * the table or from params), or another negative errno. Strings and json values stored in args
 * are borrowed from params. */
int vl_dispatch(json_object *params, const vl_field *table, void *args, const char **ret_bad);

/* Field dispatchers, for vl_field.dispatch. The destination type is in the name. */
int vl_field_bool(json_object *v, void *dest);         /* bool */
int vl_field_int64(json_object *v, void *dest);        /* int64_t */
int vl_field_uint64(json_object *v, void *dest);       /* uint64_t */
int vl_field_int(json_object *v, void *dest);          /* int, range-checked */
int vl_field_uint(json_object *v, void *dest);         /* unsigned, range-checked */
int vl_field_double(json_object *v, void *dest);       /* double; integers accepted */
int vl_field_string(json_object *v, void *dest);       /* const char *: no NUL, no control chars */
int vl_field_string_any(json_object *v, void *dest);   /* const char *: no NUL */
int vl_field_object(json_object *v, void *dest);       /* json_object *, an object */
int vl_field_array(json_object *v, void *dest);        /* json_object *, an array */
int vl_field_string_array(json_object *v, void *dest); /* json_object *, array of strings */
int vl_field_any(json_object *v, void *dest);          /* json_object *, any value */

/* Helpers for reading wire values elsewhere, with the same rules as the dispatchers. */
bool vl_json_is_int(json_object *v);
bool vl_string_is_valid(const char *s, size_t len, bool allow_control);
