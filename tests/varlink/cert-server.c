/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The protocol test server: org.varlink.certification (the varlink project's conformance
 * interface, so any implementation's certification client can be pointed at it) and
 * io.ioasid.Test (fd passing, deferred and streamed replies). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>

#include "cert-json.h"
#include "config.h"
#include "json-cleanup.h"
#include "log.h"
#include "varlink.h"

extern const char vl_idl_org_varlink_certification[];
extern const char vl_idl_io_ioasid_test[];

/* ---- org.varlink.certification ---- */

#define CLIENTS_MAX 256

typedef struct cert_client {
        char id[33];
        const char *next; /* the method this client must call next */
        uint64_t used;
} cert_client;

static cert_client clients[CLIENTS_MAX];
static uint64_t clock_counter;

typedef struct cert_args {
        const char *client_id;
        bool b;
        int64_t i;
        double f;
        const char *s;
        json_object *o;
} cert_args;

#define MYTYPE                                                                                     \
        "{\"object\":{\"method\":\"org.varlink.certification.Test09\",\"parameters\":{\"map\":{"   \
        "\"foo\":\"Foo\",\"bar\":\"Bar\"}}},\"enum\":\"two\",\"struct\":{\"first\":1,\"second\":"  \
        "\"2\"},\"array\":[\"one\",\"two\",\"three\"],\"dictionary\":{\"foo\":\"Foo\",\"bar\":"    \
        "\"Bar\"},\"stringset\":{\"one\":{},\"two\":{},\"three\":{}},\"interface\":{\"foo\":["     \
        "null,{\"foo\":\"foo\",\"bar\":\"bar\"},null,{\"one\":\"foo\",\"two\":\"bar\"}],"          \
        "\"anon\":{\"foo\":true,\"bar\":false}}}"
#define QUAD "\"bool\":false,\"int\":2,\"float\":3.141592653589793,\"string\":\"a lot of string\""

/* The certification exchange: what each call must carry (besides client_id), what it returns. */
static const struct step {
        const char *method, *next, *wants, *reply;
} steps[] = {
        { "Test01", "Test02", "{}", "{\"bool\":true}" },
        { "Test02", "Test03", "{\"bool\":true}", "{\"int\":1}" },
        { "Test03", "Test04", "{\"int\":1}", "{\"float\":1.0}" },
        { "Test04", "Test05", "{\"float\":1.0}", "{\"string\":\"ping\"}" },
        { "Test05", "Test06", "{\"string\":\"ping\"}", "{" QUAD "}" },
        { "Test06", "Test07", "{" QUAD "}", "{\"struct\":{" QUAD "}}" },
        { "Test07", "Test08", "{\"struct\":{" QUAD "}}",
          "{\"map\":{\"foo\":\"Foo\",\"bar\":\"Bar\"}}" },
        { "Test08", "Test09", "{\"map\":{\"foo\":\"Foo\",\"bar\":\"Bar\"}}",
          "{\"set\":{\"one\":{},\"two\":{},\"three\":{}}}" },
        { "Test09", "Test10", "{\"set\":{\"one\":{},\"two\":{},\"three\":{}}}",
          "{\"mytype\":" MYTYPE "}" },
        { "Test10", "Test11", "{\"mytype\":" MYTYPE "}", NULL },
        { "Test11", "End",
          "{\"last_more_replies\":[\"Reply number 1\",\"Reply number 2\",\"Reply number 3\","
          "\"Reply number 4\",\"Reply number 5\",\"Reply number 6\",\"Reply number 7\","
          "\"Reply number 8\",\"Reply number 9\",\"Reply number 10\"]}",
          NULL },
        { "End", NULL, "{}", "{\"all_ok\":true}" },
};

static cert_client *client_find(const char *id)
{
        for (size_t i = 0; i < CLIENTS_MAX; i++)
                if (clients[i].next && streq(clients[i].id, id))
                        return &clients[i];
        return NULL;
}

static int method_start(vl_link *link, json_object *params, void *args, void *userdata)
{
        cert_client *slot = &clients[0];
        json_object *reply;
        FILE *f;

        /* Forget the least recently used client rather than grow without bound. */
        for (size_t i = 1; i < CLIENTS_MAX; i++)
                if (clients[i].used < slot->used)
                        slot = &clients[i];
        f = fopen("/dev/urandom", "re");
        if (!f)
                return negative_errno();
        for (size_t i = 0; i < 16; i++)
                snprintf(slot->id + 2 * i, 3, "%02x", (unsigned)fgetc(f) & 0xffu);
        fclose(f);
        slot->next = "Test01";
        slot->used = ++clock_counter;

        reply = json_object_new_object();
        if (!reply)
                return -ENOMEM;
        json_object_object_add(reply, "client_id", json_object_new_string(slot->id));
        return vl_link_reply(link, reply);
}

static void mytype_drop_nulls(json_object *params)
{
        json_object *mytype, *v;

        /* Nullable members may be sent as null or left out: compare them left out. */
        if (!json_object_object_get_ex(params, "mytype", &mytype) ||
            !json_object_is_type(mytype, json_type_object))
                return;
        for (const char *const *k =
                     (const char *const[]){ "nullable", "nullable_array_struct", NULL };
             *k; k++)
                if (json_object_object_get_ex(mytype, *k, &v) &&
                    json_object_is_type(v, json_type_null))
                        json_object_object_del(mytype, *k);
}

static const struct step *step_find(const char *method)
{
        for (size_t i = 0; i < ELEMENTSOF(steps); i++)
                if (streq(steps[i].method, method))
                        return &steps[i];
        return NULL;
}

static int cert_error(vl_link *link, cert_client *c, json_object *wants_params, json_object *got)
{
        json_object *p = json_object_new_object(), *wants = json_object_new_object();
        char method[64];

        /* The client's run is over: it starts again with Start. */
        snprintf(method, sizeof(method), "org.varlink.certification.%s", c->next ?: "Start");
        c->next = NULL;
        if (!p || !wants) {
                json_object_put(p);
                json_object_put(wants);
                return -ENOMEM;
        }
        json_object_object_add(wants, "method", json_object_new_string(method));
        json_object_object_add(wants, "parameters", json_object_get(wants_params));
        json_object_object_add(p, "wants", wants);
        json_object_object_add(p, "got", json_object_get(got));
        return vl_link_error(link, "org.varlink.certification.CertificationError", p);
}

static int stream_replies(vl_link *link)
{
        for (int i = 1; i <= 10; i++) {
                json_object *p = json_object_new_object();
                char s[32];
                int r;

                if (!p)
                        return -ENOMEM;
                snprintf(s, sizeof(s), "Reply number %d", i);
                json_object_object_add(p, "string", json_object_new_string(s));
                r = i < 10 ? vl_link_notify(link, p) : vl_link_reply(link, p);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int method_step(vl_link *link, json_object *params, void *args, void *userdata)
{
        const cert_args *a = args;
        const char *method = strrchr(vl_link_call_method(link), '.') + 1;
        const struct step *st = step_find(method);
        unsigned flags = vl_link_call_flags(link);
        _cleanup_json_ json_object *wants = NULL, *got = NULL, *reply = NULL;
        cert_client *c;

        c = client_find(a->client_id);
        if (!c)
                return vl_link_error(link, "org.varlink.certification.ClientIdError", NULL);
        c->used = ++clock_counter;

        wants = json_tokener_parse(st->wants);
        if (!wants || json_object_deep_copy(params, &got, NULL) < 0)
                return -ENOMEM;
        json_object_object_del(got, "client_id");
        mytype_drop_nulls(got);

        if (!streq(c->next, method) || !cert_json_equal(wants, got) ||
            streq(method, "Test10") != !!(flags & VL_CALL_MORE) ||
            streq(method, "Test11") != !!(flags & VL_CALL_ONEWAY))
                return cert_error(link, c, wants, params);
        c->next = st->next;

        if (streq(method, "Test10"))
                return stream_replies(link);
        if (!st->reply)
                return vl_link_reply(link, NULL);
        reply = json_tokener_parse(st->reply);
        if (!reply)
                return -ENOMEM;
        if (streq(method, "Test09"))
                json_object_object_add(reply, "client_id", json_object_new_string(c->id));
        return vl_link_reply(link, TAKE_PTR(reply));
}

#define F(n, d, m)                                                                                 \
        {                                                                                          \
                n, d, offsetof(cert_args, m), VL_FIELD_MANDATORY                                   \
        }
#define CLIENT_ID F("client_id", vl_field_string, client_id)
static const vl_field f_id[] = { CLIENT_ID, {} };
static const vl_field f_bool[] = { CLIENT_ID, F("bool", vl_field_bool, b), {} };
static const vl_field f_int[] = { CLIENT_ID, F("int", vl_field_int64, i), {} };
static const vl_field f_float[] = { CLIENT_ID, F("float", vl_field_double, f), {} };
static const vl_field f_string[] = { CLIENT_ID, F("string", vl_field_string_any, s), {} };
static const vl_field f_quad[] = { CLIENT_ID,
                                   F("bool", vl_field_bool, b),
                                   F("int", vl_field_int64, i),
                                   F("float", vl_field_double, f),
                                   F("string", vl_field_string_any, s),
                                   {} };
static const vl_field f_struct[] = { CLIENT_ID, F("struct", vl_field_object, o), {} };
static const vl_field f_map[] = { CLIENT_ID, F("map", vl_field_object, o), {} };
static const vl_field f_set[] = { CLIENT_ID, F("set", vl_field_object, o), {} };
static const vl_field f_mytype[] = { CLIENT_ID, F("mytype", vl_field_object, o), {} };
static const vl_field f_replies[] = { CLIENT_ID,
                                      F("last_more_replies", vl_field_string_array, o),
                                      {} };

#define STEP(n, t)                                                                                 \
        {                                                                                          \
                .name = n, .handler = method_step, .fields = t, .args_size = sizeof(cert_args)     \
        }
static const vl_method cert_methods[] = {
        { .name = "Start", .handler = method_start },
        STEP("Test01", f_id),
        STEP("Test02", f_bool),
        STEP("Test03", f_int),
        STEP("Test04", f_float),
        STEP("Test05", f_string),
        STEP("Test06", f_quad),
        STEP("Test07", f_struct),
        STEP("Test08", f_map),
        STEP("Test09", f_set),
        STEP("Test10", f_mytype),
        STEP("Test11", f_replies),
        STEP("End", f_id),
        {},
};

static const vl_interface cert_interface = {
        .name = "org.varlink.certification",
        .description = vl_idl_org_varlink_certification,
        .methods = cert_methods,
};

/* ---- io.ioasid.Test ---- */

typedef struct test_args {
        const char *payload;
        unsigned idx;
        int count;
} test_args;

static int method_ping(vl_link *link, json_object *params, void *args, void *userdata)
{
        const test_args *a = args;
        json_object *reply = json_object_new_object();

        if (!reply)
                return -ENOMEM;
        if (a->payload)
                json_object_object_add(reply, "payload", json_object_new_string(a->payload));
        return vl_link_reply(link, reply);
}

static int method_dup(vl_link *link, json_object *params, void *args, void *userdata)
{
        const test_args *a = args;
        json_object *reply;
        struct stat st;
        int fd, idx;

        /* Validate the fd itself before trusting it, as any real method would. */
        fd = vl_link_peek_fd(link, a->idx);
        if (fd < 0)
                return vl_link_error_invalid_parameter(link, "fileDescriptor");
        if (fstat(fd, &st) < 0)
                return negative_errno();
        fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        if (fd < 0)
                return negative_errno();
        idx = vl_link_push_fd(link, fd);
        if (idx < 0)
                return idx;
        reply = json_object_new_object();
        if (!reply)
                return -ENOMEM;
        json_object_object_add(reply, "fileDescriptor", json_object_new_int(idx));
        json_object_object_add(reply, "inode", json_object_new_int64((int64_t)st.st_ino));
        return vl_link_reply(link, reply);
}

static int method_pipes(vl_link *link, json_object *params, void *args, void *userdata)
{
        const test_args *a = args;
        _cleanup_json_ json_object *reply = json_object_new_object(),
                                   *list = json_object_new_array();

        if (!reply || !list)
                return -ENOMEM;
        if (a->count < 0 || a->count > 253)
                return vl_link_error_invalid_parameter(link, "count");
        for (int i = 0; i < a->count; i++) {
                int p[2], idx;

                if (pipe2(p, O_CLOEXEC) < 0)
                        return negative_errno();
                safe_close(p[1]);
                idx = vl_link_push_fd(link, p[0]);
                if (idx < 0)
                        return idx;
                json_object_array_add(list, json_object_new_int(idx));
        }
        json_object_object_add(reply, "fileDescriptors", TAKE_PTR(list));
        return vl_link_reply(link, TAKE_PTR(reply));
}

typedef struct sleeper {
        vl_link *link;
        int ms;
} sleeper;

static int sleep_done(sd_event_source *source, uint64_t usec, void *userdata)
{
        sleeper *z = userdata;
        json_object *reply = json_object_new_object();

        if (reply)
                json_object_object_add(reply, "milliseconds", json_object_new_int(z->ms));
        /* The peer may be gone by now: that is fine, the reply just has nowhere to go. */
        (void)vl_link_reply(z->link, reply);
        vl_link_unref(z->link);
        free(z);
        sd_event_source_disable_unref(source);
        return 0;
}

static int method_sleep(vl_link *link, json_object *params, void *args, void *userdata)
{
        const test_args *a = args;
        sd_event *event = userdata;
        sleeper *z;
        int r;

        if (a->count < 0 || a->count > 60000)
                return vl_link_error_invalid_parameter(link, "milliseconds");
        z = malloc(sizeof(*z));
        if (!z)
                return -ENOMEM;
        /* The reply comes later from the event loop; the link stays ours until then. */
        *z = (sleeper){ .link = vl_link_ref(link), .ms = a->count };
        r = sd_event_add_time_relative(event, NULL, CLOCK_MONOTONIC, (uint64_t)a->count * 1000, 0,
                                       sleep_done, z);
        if (r < 0) {
                vl_link_unref(z->link);
                free(z);
        }
        return r;
}

static int method_stream(vl_link *link, json_object *params, void *args, void *userdata)
{
        const test_args *a = args;

        if (a->count < 1 || a->count > 100000)
                return vl_link_error_invalid_parameter(link, "count");
        for (int i = 0; i < a->count; i++) {
                json_object *p = json_object_new_object();
                int r;

                if (!p)
                        return -ENOMEM;
                json_object_object_add(p, "index", json_object_new_int(i));
                r = i + 1 < a->count ? vl_link_notify(link, p) : vl_link_reply(link, p);
                if (r < 0)
                        return r;
        }
        return 0;
}

static const vl_field ping_fields[] = {
        { "payload", vl_field_string_any, offsetof(test_args, payload), 0 },
        {},
};
static const vl_field dup_fields[] = {
        { "fileDescriptor", vl_field_uint, offsetof(test_args, idx), VL_FIELD_MANDATORY },
        {},
};
static const vl_field count_fields[] = {
        { "count", vl_field_int, offsetof(test_args, count), VL_FIELD_MANDATORY },
        {},
};
static const vl_field sleep_fields[] = {
        { "milliseconds", vl_field_int, offsetof(test_args, count), VL_FIELD_MANDATORY },
        {},
};

#define TEST_METHOD(n, h, f, fl)                                                                   \
        {                                                                                          \
                .name = n, .handler = h, .fields = f, .args_size = sizeof(test_args), .flags = fl  \
        }
static const vl_method test_methods[] = {
        TEST_METHOD("Ping", method_ping, ping_fields, 0),
        TEST_METHOD("Dup", method_dup, dup_fields, VL_METHOD_ACCEPT_FDS),
        TEST_METHOD("Pipes", method_pipes, count_fields, 0),
        TEST_METHOD("Sleep", method_sleep, sleep_fields, 0),
        TEST_METHOD("Stream", method_stream, count_fields, VL_METHOD_REQUIRES_MORE),
        {},
};

static const vl_interface test_interface = {
        .name = "io.ioasid.Test",
        .description = vl_idl_io_ioasid_test,
        .methods = test_methods,
};

/* ---- main ---- */

static void usage(void)
{
        printf("usage: varlink-test-server [--socket PATH] [--idle-timeout MS] [--max-connections "
               "N]\n"
               "                           [--max-connections-per-uid N] [--max-message-size "
               "BYTES]\n"
               "Serves org.varlink.certification and io.ioasid.Test on PATH (or on the socket the\n"
               "service manager passes).\n");
}

static int parse_u64(const char *s, uint64_t *ret)
{
        char *end;
        unsigned long long v;

        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno || !*s || *end || s[0] == '-')
                return -EINVAL;
        *ret = v;
        return 0;
}

int main(int argc, char **argv)
{
        static const struct option opts[] = {
                { "socket", required_argument, NULL, 's' },
                { "idle-timeout", required_argument, NULL, 'i' },
                { "max-connections", required_argument, NULL, 'c' },
                { "max-connections-per-uid", required_argument, NULL, 'u' },
                { "max-message-size", required_argument, NULL, 'm' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        static const vl_server_info info = {
                .vendor = "ioasid",
                .product = "varlink-test-server",
                .version = PROJECT_VERSION,
                .url = PROJECT_URL,
        };
        const char *path = "/run/ioasid/varlink-test";
        sd_event *event = NULL;
        vl_server *server = NULL;
        vl_server_limits limits;
        int c, r;

        log_set_ident("varlink-test-server");
        log_parse_env();
        r = sd_event_default(&event);
        if (r < 0)
                return log_error_errno(r, "cannot create event loop: %m"), 1;
        r = vl_server_new(event, &info, event, &server);
        if (r < 0)
                return log_error_errno(r, "cannot create server: %m"), 1;
        limits = *vl_server_get_limits(server);

        while ((c = getopt_long(argc, argv, "h", opts, NULL)) >= 0) {
                uint64_t v = 0;

                if (c != 's' && c != 'h' && (c == '?' || parse_u64(optarg, &v) < 0)) {
                        fprintf(stderr, "invalid argument to --%s\n",
                                c == '?' ? "?" : opts[0].name);
                        return 2;
                }
                switch (c) {
                case 's':
                        path = optarg;
                        break;
                case 'i':
                        limits.idle_timeout_usec = v * 1000;
                        break;
                case 'c':
                        limits.connections_max = (unsigned)v;
                        break;
                case 'u':
                        limits.connections_per_uid_max = (unsigned)v;
                        break;
                case 'm':
                        limits.message_size_max = v;
                        break;
                case 'h':
                        usage();
                        return 0;
                }
        }
        vl_server_set_limits(server, &limits);

        r = vl_server_add_interface(server, &cert_interface);
        if (r >= 0)
                r = vl_server_add_interface(server, &test_interface);
        if (r < 0)
                return log_error_errno(r, "cannot add interfaces: %m"), 1;

        /* SIGTERM and SIGINT end the loop cleanly (leak checkers see a clean exit);
         * set up before the socket exists, which is what tells clients the server is up. */
        sigset_t ss;
        sigemptyset(&ss);
        sigaddset(&ss, SIGTERM);
        sigaddset(&ss, SIGINT);
        sigprocmask(SIG_BLOCK, &ss, NULL);
        sd_event_add_signal(event, NULL, SIGTERM, NULL, NULL);
        sd_event_add_signal(event, NULL, SIGINT, NULL, NULL);

        (void)mkdir("/run/ioasid", 0755);
        r = vl_server_listen_auto(server, path, 0666);
        if (r < 0)
                return log_error_errno(r, "cannot listen on %s: %m", path), 1;

        (void)sd_notify(false, "READY=1");
        log_info("listening on %s", path);
        r = sd_event_loop(event);

        vl_server_free(server);
        sd_event_unref(event);
        return r < 0 ? 1 : 0;
}
