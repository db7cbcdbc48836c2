/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <limits.h>

#include "dispatch.h"
#include "json-cleanup.h"
#include "tests.h"

typedef struct args {
        bool b;
        int i;
        unsigned u;
        int64_t i64;
        uint64_t u64;
        double d;
        const char *s;
        const char *any;
        json_object *obj, *arr, *strs;
} args;

static const vl_field table[] = {
        { "b", vl_field_bool, offsetof(args, b), 0 },
        { "i", vl_field_int, offsetof(args, i), 0 },
        { "u", vl_field_uint, offsetof(args, u), 0 },
        { "i64", vl_field_int64, offsetof(args, i64), 0 },
        { "u64", vl_field_uint64, offsetof(args, u64), 0 },
        { "d", vl_field_double, offsetof(args, d), 0 },
        { "s", vl_field_string, offsetof(args, s), VL_FIELD_MANDATORY },
        { "any", vl_field_string_any, offsetof(args, any), 0 },
        { "obj", vl_field_object, offsetof(args, obj), 0 },
        { "arr", vl_field_array, offsetof(args, arr), 0 },
        { "strs", vl_field_string_array, offsetof(args, strs), 0 },
        {},
};

/* Returns the dispatch result; *bad gets the refused field's name (copied, since it may point
 * into the parsed object). */
static json_object *last; /* dispatched strings borrow from it: keep it until the next run */

static int run(const char *json, args *a, char bad[64])
{
        json_object *p;
        const char *b = NULL;
        int r;

        json_object_put(last);
        last = p = json ? json_tokener_parse(json) : NULL;
        ASSERT_TRUE(!json || p);
        *a = (args){};
        r = vl_dispatch(p, table, a, &b);
        snprintf(bad, 64, "%s", b ?: "");
        return r;
}

TEST(all_types)
{
        args a;
        char bad[64];

        ASSERT_OK(
                run("{\"b\":true,\"i\":-5,\"u\":7,\"i64\":-9000000000,\"u64\":18000000000000000000,"
                    "\"d\":1.5,\"s\":\"x\",\"any\":\"a\\tb\",\"obj\":{},\"arr\":[1],"
                    "\"strs\":[\"a\",\"b\"]}",
                    &a, bad));
        ASSERT_TRUE(a.b);
        ASSERT_EQ(a.i, -5);
        ASSERT_EQ(a.u, 7);
        ASSERT_EQ(a.i64, -9000000000LL);
        ASSERT_TRUE(a.u64 == 18000000000000000000ULL);
        ASSERT_TRUE(a.d == 1.5);
        ASSERT_STREQ(a.s, "x");
        ASSERT_STREQ(a.any, "a\tb");
}

TEST(missing_mandatory)
{
        args a;
        char bad[64];

        ASSERT_ERROR(run("{\"b\":true}", &a, bad), EINVAL);
        ASSERT_STREQ(bad, "s");
        /* null, {} and no parameters at all are the same thing: a missing field. */
        ASSERT_ERROR(run("{\"s\":null}", &a, bad), EINVAL);
        ASSERT_STREQ(bad, "s");
        ASSERT_ERROR(run("{}", &a, bad), EINVAL);
        ASSERT_ERROR(run(NULL, &a, bad), EINVAL);
        ASSERT_STREQ(bad, "s");
}

TEST(optional_null_is_absent)
{
        args a;
        char bad[64];

        ASSERT_OK(run("{\"s\":\"x\",\"i\":null,\"obj\":null}", &a, bad));
        ASSERT_EQ(a.i, 0);
        ASSERT_TRUE(a.obj == NULL);
}

TEST(unknown_field)
{
        args a;
        char bad[64];

        ASSERT_ERROR(run("{\"s\":\"x\",\"surprise\":1}", &a, bad), EINVAL);
        ASSERT_STREQ(bad, "surprise");
}

TEST(wrong_types)
{
        static const char *const cases[][2] = {
                { "{\"s\":\"x\",\"b\":1}", "b" },
                { "{\"s\":\"x\",\"b\":\"true\"}", "b" },
                /* json-c would convert strings and doubles on get: never on the wire. */
                { "{\"s\":\"x\",\"i\":\"5\"}", "i" },
                { "{\"s\":\"x\",\"i\":5.0}", "i" },
                { "{\"s\":\"x\",\"i\":2147483648}", "i" },
                { "{\"s\":\"x\",\"i\":-2147483649}", "i" },
                { "{\"s\":\"x\",\"u\":-1}", "u" },
                { "{\"s\":\"x\",\"u\":4294967296}", "u" },
                { "{\"s\":\"x\",\"i64\":9223372036854775808}", "i64" },
                { "{\"s\":\"x\",\"u64\":-1}", "u64" },
                { "{\"s\":\"x\",\"d\":\"1\"}", "d" },
                { "{\"s\":5}", "s" },
                { "{\"s\":\"a\\u0000b\"}", "s" },
                { "{\"s\":\"line\\nbreak\"}", "s" },
                { "{\"s\":\"x\",\"any\":\"a\\u0000\"}", "any" },
                { "{\"s\":\"x\",\"obj\":[]}", "obj" },
                { "{\"s\":\"x\",\"arr\":{}}", "arr" },
                { "{\"s\":\"x\",\"strs\":[\"a\",1]}", "strs" },
                { "{\"s\":\"x\",\"strs\":[\"a\\u0001\"]}", "strs" },
        };
        args a;
        char bad[64];

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                ASSERT_ERROR(run(cases[i][0], &a, bad), EINVAL);
                ASSERT_STREQ(bad, cases[i][1]);
        }
}

TEST(int_edges)
{
        args a;
        char bad[64];

        ASSERT_OK(run("{\"s\":\"x\",\"i\":2147483647,\"u\":4294967295,"
                      "\"i64\":-9223372036854775808,\"d\":3}",
                      &a, bad));
        ASSERT_EQ(a.i, INT_MAX);
        ASSERT_TRUE(a.u == UINT_MAX);
        ASSERT_TRUE(a.i64 == INT64_MIN);
        ASSERT_TRUE(a.d == 3.0);
}

TEST(params_not_object)
{
        _cleanup_json_ json_object *p = json_object_new_array();
        const char *bad = NULL;
        args a = {};

        ASSERT_ERROR(vl_dispatch(p, table, &a, &bad), EINVAL);
        ASSERT_STREQ(bad, "parameters");
}

int main(void)
{
        RUN(all_types);
        RUN(missing_mandatory);
        RUN(optional_null_is_absent);
        RUN(unknown_field);
        RUN(wrong_types);
        RUN(int_edges);
        RUN(params_not_object);
        json_object_put(last);
        return 0;
}
