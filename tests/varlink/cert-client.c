/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A certification client for org.varlink.certification: calls Start, Test01..Test11 and End,
 * feeding each call the return values of the one before, and checks every reply. Works against
 * any implementation's certification server. Exit status 0 means certified. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cert-json.h"
#include "client.h"
#include "json-cleanup.h"
#include "log.h"

static vl_client *client;
static char client_id[64];

static int fail(const char *step, const char *what, json_object *got)
{
        fprintf(stderr, "certification failed at %s: %s (got %s)\n", step, what,
                got ? json_object_to_json_string(got) : "nothing");
        return -EPROTO;
}

/* Calls method with params (consumed) plus client_id, checks the reply is not an error and
 * holds exactly the keys in want (a JSON object text), and returns its parameters. */
static int call(const char *method, json_object *params, unsigned flags, const char *want,
                json_object **ret)
{
        _cleanup_json_ json_object *p = params ?: json_object_new_object(), *w = NULL;
        char full[128];
        vl_reply r;
        int k;

        snprintf(full, sizeof(full), "org.varlink.certification.%s", method);
        if (client_id[0])
                json_object_object_add(p, "client_id", json_object_new_string(client_id));
        k = vl_client_send(client, full, TAKE_PTR(p), flags, NULL, 0);
        if (k < 0)
                return fail(method, strerror(-k), NULL);
        if (flags & VL_SEND_ONEWAY)
                return 0;
        k = vl_client_recv(client, &r);
        if (k < 0)
                return fail(method, strerror(-k), NULL);
        if (r.error) {
                k = fail(method, r.error, r.parameters);
                vl_reply_done(&r);
                return k;
        }
        if (want) {
                w = json_tokener_parse(want);
                if (!cert_json_equal(w, r.parameters)) {
                        k = fail(method, want, r.parameters);
                        vl_reply_done(&r);
                        return k;
                }
        }
        *ret = json_object_get(r.parameters);
        vl_reply_done(&r);
        return 0;
}

/* Builds the next call's parameters from some keys of the last reply. */
static json_object *pick(json_object *from, const char *const *keys)
{
        json_object *p = json_object_new_object(), *v;

        for (; *keys; keys++)
                if (json_object_object_get_ex(from, *keys, &v))
                        json_object_object_add(p, *keys, json_object_get(v));
        return p;
}

#define KEYS(...) ((const char *const[]){ __VA_ARGS__, NULL })

static int certify(void)
{
        _cleanup_json_ json_object *r = NULL, *r2 = NULL;
        json_object *v;
        int k, n = 0;

        k = call("Start", NULL, 0, NULL, &r);
        if (k < 0)
                return k;
        if (!json_object_object_get_ex(r, "client_id", &v) ||
            !json_object_is_type(v, json_type_string) ||
            json_object_get_string_len(v) >= (int)sizeof(client_id))
                return fail("Start", "a client_id", r);
        snprintf(client_id, sizeof(client_id), "%s", json_object_get_string(v));

#define STEP(m, keys, want)                                                                        \
        do {                                                                                       \
                json_object_put(r2);                                                               \
                r2 = NULL;                                                                         \
                k = call(m, pick(r, keys), 0, want, &r2);                                          \
                if (k < 0)                                                                         \
                        return k;                                                                  \
                json_object_put(r);                                                                \
                r = TAKE_PTR(r2);                                                                  \
        } while (0)

        STEP("Test01", KEYS("none"), "{\"bool\":true}");
        STEP("Test02", KEYS("bool"), "{\"int\":1}");
        STEP("Test03", KEYS("int"), "{\"float\":1.0}");
        STEP("Test04", KEYS("float"), "{\"string\":\"ping\"}");
        STEP("Test05", KEYS("string"), NULL);
        if (!json_object_object_get_ex(r, "float", &v) || json_object_get_double(v) != M_PI)
                return fail("Test05", "float = pi", r);
        STEP("Test06", KEYS("bool", "int", "float", "string"), NULL);
        STEP("Test07", KEYS("struct"), "{\"map\":{\"foo\":\"Foo\",\"bar\":\"Bar\"}}");
        STEP("Test08", KEYS("map"), "{\"set\":{\"one\":{},\"two\":{},\"three\":{}}}");
        STEP("Test09", KEYS("set"), NULL);

        /* Test10 streams ten replies; their strings are Test11's argument. */
        json_object *replies = json_object_new_array();
        json_object *p = pick(r, KEYS("mytype"));
        json_object_object_add(p, "client_id", json_object_new_string(client_id));
        k = vl_client_send(client, "org.varlink.certification.Test10", p, VL_SEND_MORE, NULL, 0);
        for (bool more = k >= 0; more;) {
                vl_reply rep;

                k = vl_client_recv(client, &rep);
                if (k < 0 || rep.error) {
                        json_object_put(replies);
                        k = fail("Test10", rep.error ?: strerror(-k), rep.parameters);
                        vl_reply_done(&rep);
                        return k;
                }
                more = rep.continues;
                if (json_object_object_get_ex(rep.parameters, "string", &v))
                        json_object_array_add(replies, json_object_get(v));
                vl_reply_done(&rep);
                n++;
        }
        if (n != 10) {
                json_object_put(replies);
                return fail("Test10", "ten replies", NULL);
        }
        p = json_object_new_object();
        json_object_object_add(p, "last_more_replies", replies);
        k = call("Test11", p, VL_SEND_ONEWAY, NULL, NULL);
        if (k < 0)
                return k;
        json_object_put(r);
        r = NULL;
        return call("End", NULL, 0, "{\"all_ok\":true}", &r);
}

int main(int argc, char **argv)
{
        int k;

        if (argc != 2) {
                fprintf(stderr, "usage: varlink-cert-client SOCKET\n");
                return 2;
        }
        k = vl_client_connect(argv[1], &client);
        if (k < 0) {
                fprintf(stderr, "cannot connect to %s: %s\n", argv[1], strerror(-k));
                return 1;
        }
        vl_client_set_timeout(client, 10000);
        k = certify();
        vl_client_free(client);
        if (k < 0)
                return 1;
        printf("certification passed\n");
        return 0;
}
