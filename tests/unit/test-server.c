/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The server driven in-process over socketpairs: raw messages in, raw replies compared byte for
 * byte (strict peers do the same), with the event loop pumped between steps. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "json-cleanup.h"
#include "tests.h"
#include "varlink.h"

static sd_event *event;
static vl_server *server;
static bool deny_admin;
static vl_link *deferred;

typedef struct targs {
        int n;
        unsigned fd;
        const char *name;
} targs;

static const vl_field n_fields[] = { { "n", vl_field_int, offsetof(targs, n), VL_FIELD_MANDATORY },
                                     {} };
static const vl_field fd_fields[] = {
        { "fileDescriptor", vl_field_uint, offsetof(targs, fd), VL_FIELD_MANDATORY },
        {},
};
static const vl_field name_fields[] = { { "name", vl_field_string, offsetof(targs, name), 0 }, {} };

static int m_echo(vl_link *l, json_object *params, void *args, void *userdata)
{
        return vl_link_reply(l, json_object_get(params));
}

static int m_count(vl_link *l, json_object *params, void *args, void *userdata)
{
        const targs *a = args;

        for (int i = 0; i < a->n; i++) {
                json_object *p = json_object_new_object();
                json_object_object_add(p, "i", json_object_new_int(i));
                ASSERT_OK(i + 1 < a->n ? vl_link_notify(l, p) : vl_link_reply(l, p));
        }
        return 0;
}

static int m_fstat(vl_link *l, json_object *params, void *args, void *userdata)
{
        const targs *a = args;
        struct stat st;
        json_object *p;
        int fd = vl_link_peek_fd(l, a->fd);

        if (fd < 0)
                return vl_link_error_invalid_parameter(l, "fileDescriptor");
        ASSERT_OK(fstat(fd, &st));
        p = json_object_new_object();
        json_object_object_add(p, "mode", json_object_new_int((int)(st.st_mode & S_IFMT)));
        return vl_link_reply(l, p);
}

static int m_give(vl_link *l, json_object *params, void *args, void *userdata)
{
        const targs *a = args;
        json_object *p = json_object_new_object();

        for (int i = 0; i < a->n; i++)
                ASSERT_EQ(vl_link_push_fd(l, open("/dev/null", O_RDONLY | O_CLOEXEC)), i);
        json_object_object_add(p, "fileDescriptor", json_object_new_int(0));
        return vl_link_reply(l, p);
}

static int m_give_then_fail(vl_link *l, json_object *params, void *args, void *userdata)
{
        ASSERT_EQ(vl_link_push_fd(l, open("/dev/null", O_RDONLY | O_CLOEXEC)), 0);
        return vl_link_error(l, "io.ioasid.T.Failed", NULL);
}

static int m_fail(vl_link *l, json_object *params, void *args, void *userdata)
{
        return -ENOSPC;
}

static int m_defer(vl_link *l, json_object *params, void *args, void *userdata)
{
        deferred = vl_link_ref(l);
        return 0;
}

static int authorize(vl_link *l, const vl_method *m, void *userdata)
{
        return !(deny_admin && streq(m->name, "Admin"));
}

static const vl_method methods[] = {
        { .name = "Echo", .handler = m_echo, .fields = name_fields, .args_size = sizeof(targs) },
        { .name = "Count",
          .handler = m_count,
          .fields = n_fields,
          .args_size = sizeof(targs),
          .flags = VL_METHOD_REQUIRES_MORE },
        { .name = "Fstat",
          .handler = m_fstat,
          .fields = fd_fields,
          .args_size = sizeof(targs),
          .flags = VL_METHOD_ACCEPT_FDS },
        { .name = "Give", .handler = m_give, .fields = n_fields, .args_size = sizeof(targs) },
        { .name = "GiveThenFail", .handler = m_give_then_fail },
        { .name = "Fail", .handler = m_fail },
        { .name = "Defer", .handler = m_defer },
        { .name = "Admin", .handler = m_echo },
        { .name = "Unimplemented" },
        {},
};

static const vl_interface iface = {
        .name = "io.ioasid.T",
        .description = "interface io.ioasid.T\nmethod Echo(name: ?string) -> (name: ?string)\n",
        .methods = methods,
        .authorize = authorize,
};

static int connect_pair(void)
{
        int sv[2];

        ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv));
        ASSERT_OK(vl_server_add_connection(server, sv[0], NULL));
        return sv[1];
}

static void pump(void)
{
        for (int i = 0; i < 50; i++)
                ASSERT_OK(sd_event_run(event, 0));
}

/* len bytes of data, with n fds on the first one. */
static void send_raw(int fd, const char *data, size_t len, const int *fds, size_t n)
{
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int) * 4)];
        } control = {};
        struct iovec iov = { .iov_base = (void *)data, .iov_len = len };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

        if (n) {
                struct cmsghdr *c;

                mh.msg_control = &control;
                mh.msg_controllen = CMSG_SPACE(sizeof(int) * n);
                c = CMSG_FIRSTHDR(&mh);
                c->cmsg_level = SOL_SOCKET;
                c->cmsg_type = SCM_RIGHTS;
                c->cmsg_len = CMSG_LEN(sizeof(int) * n);
                memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
        }
        ASSERT_EQ(sendmsg(fd, &mh, MSG_NOSIGNAL), (ssize_t)iov.iov_len);
}

static void send_fds(int fd, const char *msg, const int *fds, size_t n)
{
        send_raw(fd, msg, strlen(msg) + 1, fds, n);
}

/* Reads everything the server has written so far; returns the bytes (NULs kept) and the number
 * of fds that came with them (closed). */
static size_t drain(int fd, char *buf, size_t size, size_t *n_fds)
{
        size_t off = 0;

        pump();
        *n_fds = 0;
        for (;;) {
                union {
                        struct cmsghdr h;
                        char b[CMSG_SPACE(sizeof(int) * 253)];
                } control;
                struct iovec iov = { .iov_base = buf + off, .iov_len = size - off - 1 };
                struct msghdr mh = { .msg_iov = &iov,
                                     .msg_iovlen = 1,
                                     .msg_control = &control,
                                     .msg_controllen = sizeof(control) };
                ssize_t k = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);

                if (k <= 0)
                        break;
                for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
                        size_t k2 = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                        close_many((int *)(void *)CMSG_DATA(c), k2);
                        *n_fds += k2;
                }
                off += (size_t)k;
        }
        buf[off] = 0;
        return off;
}

/* One call, one exact reply. */
static void expect(int fd, const char *call, const char *reply)
{
        char buf[4096];
        size_t n_fds, n;

        send_fds(fd, call, NULL, 0);
        n = drain(fd, buf, sizeof(buf), &n_fds);
        if (!reply) {
                ASSERT_EQ(n, 0);
                return;
        }
        ASSERT_EQ(n, strlen(reply) + 1);
        ASSERT_STREQ(buf, reply);
        ASSERT_EQ(n_fds, 0);
}

static bool is_closed(int fd)
{
        char c;
        ssize_t n;

        pump();
        n = recv(fd, &c, 1, MSG_DONTWAIT);
        /* Closed with our data still unread on its side, the server's end resets. */
        return n == 0 || (n < 0 && errno == ECONNRESET);
}

TEST(replies_are_minimal)
{
        int fd = connect_pair();

        expect(fd, "{\"method\":\"io.ioasid.T.Echo\",\"parameters\":{\"name\":\"x\"}}",
               "{\"parameters\":{\"name\":\"x\"}}");
        /* Missing parameters: omitted, null and {} are all accepted. */
        expect(fd, "{\"method\":\"io.ioasid.T.Echo\"}", "{\"parameters\":{}}");
        expect(fd, "{\"method\":\"io.ioasid.T.Echo\",\"parameters\":null}", "{\"parameters\":{}}");
        expect(fd, "{\"method\":\"io.ioasid.T.Echo\",\"more\":false,\"oneway\":false}",
               "{\"parameters\":{}}");
        close(fd);
}

TEST(standard_errors)
{
        int fd = connect_pair();

        expect(fd, "{\"method\":\"io.ioasid.Nope.X\"}",
               "{\"error\":\"org.varlink.service.InterfaceNotFound\",\"parameters\":{"
               "\"interface\":\"io.ioasid.Nope\"}}");
        expect(fd, "{\"method\":\"io.ioasid.T.Nope\"}",
               "{\"error\":\"org.varlink.service.MethodNotFound\",\"parameters\":{\"method\":"
               "\"io.ioasid.T.Nope\"}}");
        expect(fd, "{\"method\":\"io.ioasid.T.Unimplemented\"}",
               "{\"error\":\"org.varlink.service.MethodNotImplemented\",\"parameters\":{"
               "\"method\":\"io.ioasid.T.Unimplemented\"}}");
        expect(fd, "{\"method\":\"io.ioasid.T.Echo\",\"parameters\":{\"name\":5}}",
               "{\"error\":\"org.varlink.service.InvalidParameter\",\"parameters\":{"
               "\"parameter\":\"name\"}}");
        expect(fd, "{\"method\":\"io.ioasid.T.Count\",\"parameters\":{\"n\":1}}",
               "{\"error\":\"org.varlink.service.ExpectedMore\",\"parameters\":{}}");
        deny_admin = true;
        expect(fd, "{\"method\":\"io.ioasid.T.Admin\"}",
               "{\"error\":\"org.varlink.service.PermissionDenied\",\"parameters\":{}}");
        deny_admin = false;
        expect(fd, "{\"method\":\"io.ioasid.T.Admin\"}", "{\"parameters\":{}}");
        expect(fd, "{\"method\":\"io.ioasid.T.Fail\"}",
               "{\"error\":\"io.ioasid.System\",\"parameters\":{\"errno\":28,\"errnoName\":"
               "\"ENOSPC\"}}");
        expect(fd,
               "{\"method\":\"org.varlink.service.GetInterfaceDescription\",\"parameters\":{"
               "\"interface\":\"x.y\"}}",
               "{\"error\":\"org.varlink.service.InterfaceNotFound\",\"parameters\":{"
               "\"interface\":\"x.y\"}}");
        /* A NUL ends the name for C: what comes before it must not be what runs. */
        expect(fd, "{\"method\":\"io.ioasid.T.Echo\\u0000x\"}",
               "{\"error\":\"org.varlink.service.MethodNotFound\",\"parameters\":{\"method\":"
               "\"io.ioasid.T.Echo\\u0000x\"}}");
        expect(fd, "{\"method\":\"io.ioasid.T\\u0000.Echo\"}",
               "{\"error\":\"org.varlink.service.MethodNotFound\",\"parameters\":{\"method\":"
               "\"io.ioasid.T\\u0000.Echo\"}}");
        /* Nor may a NUL inside a string parameter pass its table. */
        expect(fd, "{\"method\":\"io.ioasid.T.Echo\",\"parameters\":{\"name\":\"x\\u0000y\"}}",
               "{\"error\":\"org.varlink.service.InvalidParameter\",\"parameters\":{"
               "\"parameter\":\"name\"}}");
        /* The connection survived every error. */
        ASSERT_FALSE(is_closed(fd));
        close(fd);
}

TEST(service_interface)
{
        int fd = connect_pair();

        expect(fd, "{\"method\":\"org.varlink.service.GetInfo\"}",
               "{\"parameters\":{\"vendor\":\"V\",\"product\":\"P\",\"version\":\"1\",\"url\":"
               "\"u\",\"interfaces\":[\"org.varlink.service\",\"io.ioasid.T\"]}}");
        expect(fd,
               "{\"method\":\"org.varlink.service.GetInterfaceDescription\",\"parameters\":{"
               "\"interface\":\"io.ioasid.T\"}}",
               "{\"parameters\":{\"description\":\"interface io.ioasid.T\\nmethod Echo(name: "
               "?string) -> (name: ?string)\\n\"}}");
        close(fd);
}

TEST(more_and_oneway)
{
        int fd = connect_pair();

        char buf[512];
        size_t n_fds, n;
        send_fds(fd, "{\"method\":\"io.ioasid.T.Count\",\"parameters\":{\"n\":2},\"more\":true}",
                 NULL, 0);
        n = drain(fd, buf, sizeof(buf), &n_fds);
        static const char want[] = "{\"parameters\":{\"i\":0},\"continues\":true}\0"
                                   "{\"parameters\":{\"i\":1}}";
        ASSERT_EQ(n, sizeof(want));
        ASSERT_TRUE(memcmp(buf, want, sizeof(want)) == 0);
        /* oneway: no reply, not even an error. */
        expect(fd, "{\"method\":\"io.ioasid.T.Echo\",\"oneway\":true}", NULL);
        expect(fd, "{\"method\":\"io.ioasid.T.Nope\",\"oneway\":true}", NULL);
        expect(fd, "{\"method\":\"io.ioasid.T.Echo\"}", "{\"parameters\":{}}");
        close(fd);
}

TEST(protocol_violations_close)
{
        static const char *const bad[] = {
                "{\"method\":\"io.ioasid.T.Echo\",\"extra\":1}",
                "{\"method\":\"io.ioasid.T.Echo\",\"more\":true,\"oneway\":true}",
                "{\"parameters\":{}}",
                "{\"method\":5}",
                "{\"method\":\"io.ioasid.T.Echo\",\"parameters\":[]}",
                "{\"method\":\"io.ioasid.T.Echo\",\"more\":\"yes\"}",
                "[1,2]",
                "not json",
        };

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                int fd = connect_pair();
                unsigned before;

                pump();
                before = vl_server_n_connections(server);
                send_fds(fd, bad[i], NULL, 0);
                ASSERT_TRUE(is_closed(fd));
                ASSERT_EQ(vl_server_n_connections(server), before - 1);
                close(fd);
        }
}

TEST(pipelined_calls_stay_in_order)
{
        int fd = connect_pair();
        char buf[512];
        size_t n_fds, n;

        /* Defer holds the first call open: the two after it must wait for its reply. */
        send_fds(fd, "{\"method\":\"io.ioasid.T.Defer\"}", NULL, 0);
        send_fds(fd, "{\"method\":\"io.ioasid.T.Echo\",\"parameters\":{\"name\":\"b\"}}", NULL, 0);
        n = drain(fd, buf, sizeof(buf), &n_fds);
        ASSERT_EQ(n, 0);
        ASSERT_TRUE(deferred != NULL);
        json_object *p = json_object_new_object();
        json_object_object_add(p, "name", json_object_new_string("a"));
        ASSERT_OK(vl_link_reply(deferred, p));
        deferred = vl_link_unref(deferred);
        n = drain(fd, buf, sizeof(buf), &n_fds);
        static const char want[] = "{\"parameters\":{\"name\":\"a\"}}\0"
                                   "{\"parameters\":{\"name\":\"b\"}}";
        ASSERT_EQ(n, sizeof(want));
        ASSERT_TRUE(memcmp(buf, want, sizeof(want)) == 0);
        close(fd);
}

/* More pipelined calls than one connection is served in a loop turn: the rest come on later
 * turns, every one answered, in order. */
TEST(pipelined_burst_is_served_in_turns)
{
        int fd = connect_pair();
        char calls[4096], buf[8192], want[8192];
        size_t n_fds, n, len = 0, want_len = 0;

        for (int i = 0; i < 60; i++) {
                len += (size_t)snprintf(calls + len, sizeof(calls) - len,
                                        "{\"method\":\"io.ioasid.T.Echo\",\"parameters\":"
                                        "{\"name\":\"%d\"}}",
                                        i) +
                       1;
                want_len += (size_t)snprintf(want + want_len, sizeof(want) - want_len,
                                             "{\"parameters\":{\"name\":\"%d\"}}", i) +
                            1;
        }
        send_raw(fd, calls, len, NULL, 0);
        n = drain(fd, buf, sizeof(buf), &n_fds);
        ASSERT_EQ(n, want_len);
        ASSERT_TRUE(memcmp(buf, want, want_len) == 0);
        close(fd);
}

/* A oneway call whose handler defers stays the open call until the handler is done: its late
 * (silent) reply must not end the call after it, nor that call be served before it. */
TEST(oneway_deferred_keeps_order)
{
        int fd = connect_pair();
        char buf[512];
        size_t n_fds, n;

        send_fds(fd, "{\"method\":\"io.ioasid.T.Defer\",\"oneway\":true}", NULL, 0);
        send_fds(fd, "{\"method\":\"io.ioasid.T.Defer\"}", NULL, 0);
        n = drain(fd, buf, sizeof(buf), &n_fds);
        ASSERT_EQ(n, 0);
        ASSERT_TRUE(deferred != NULL);
        /* The oneway call's reply: nothing goes out, and only now is the next call served. */
        vl_link *first = deferred;
        deferred = NULL;
        ASSERT_OK(vl_link_reply(first, NULL));
        vl_link_unref(first);
        n = drain(fd, buf, sizeof(buf), &n_fds);
        ASSERT_EQ(n, 0);
        ASSERT_TRUE(deferred != NULL);
        json_object *p = json_object_new_object();
        json_object_object_add(p, "name", json_object_new_string("second"));
        ASSERT_OK(vl_link_reply(deferred, p));
        deferred = vl_link_unref(deferred);
        n = drain(fd, buf, sizeof(buf), &n_fds);
        ASSERT_STREQ(buf, "{\"parameters\":{\"name\":\"second\"}}");
        close(fd);
}

TEST(deferred_reply_after_disconnect)
{
        int fd = connect_pair();
        char buf[64];
        size_t n_fds;

        send_fds(fd, "{\"method\":\"io.ioasid.T.Defer\"}", NULL, 0);
        drain(fd, buf, sizeof(buf), &n_fds);
        ASSERT_TRUE(deferred != NULL);
        close(fd);
        pump();
        ASSERT_TRUE(vl_link_is_closed(deferred));
        ASSERT_ERROR(vl_link_reply(deferred, NULL), ENOTCONN);
        deferred = vl_link_unref(deferred);
}

TEST(fds_in)
{
        int fd = connect_pair(), p[2];
        char buf[256];
        size_t n_fds;

        ASSERT_OK(pipe2(p, O_CLOEXEC));
        send_fds(fd, "{\"method\":\"io.ioasid.T.Fstat\",\"parameters\":{\"fileDescriptor\":0}}", p,
                 1);
        drain(fd, buf, sizeof(buf), &n_fds);
        snprintf(buf + 200, 56, "%d", S_IFIFO);
        ASSERT_STRCONTAINS(buf, buf + 200);
        /* An index that was not sent. */
        send_fds(fd, "{\"method\":\"io.ioasid.T.Fstat\",\"parameters\":{\"fileDescriptor\":1}}", p,
                 1);
        drain(fd, buf, sizeof(buf), &n_fds);
        ASSERT_STRCONTAINS(buf, "InvalidParameter");
        /* fds to a method that takes none: refused, and closed on our side (no leak). */
        send_fds(fd, "{\"method\":\"io.ioasid.T.Echo\"}", p, 2);
        drain(fd, buf, sizeof(buf), &n_fds);
        ASSERT_STREQ(buf, "{\"error\":\"org.varlink.service.InvalidParameter\",\"parameters\":{"
                          "\"parameter\":\"fileDescriptors\"}}");
        close(p[0]);
        /* With the server's copies closed, the pipe's read end is gone: writing fails. */
        ASSERT_TRUE(write(p[1], "x", 1) < 0 && errno == EPIPE);
        close(p[1]);
        close(fd);
}

TEST(fds_out)
{
        int fd = connect_pair();
        char buf[256];
        size_t n_fds;

        send_fds(fd, "{\"method\":\"io.ioasid.T.Give\",\"parameters\":{\"n\":3}}", NULL, 0);
        drain(fd, buf, sizeof(buf), &n_fds);
        ASSERT_EQ(n_fds, 3);
        ASSERT_STREQ(buf, "{\"parameters\":{\"fileDescriptor\":0}}");
        /* Errors carry no fds, even ones pushed before the error. */
        send_fds(fd, "{\"method\":\"io.ioasid.T.GiveThenFail\"}", NULL, 0);
        drain(fd, buf, sizeof(buf), &n_fds);
        ASSERT_EQ(n_fds, 0);
        ASSERT_STREQ(buf, "{\"error\":\"io.ioasid.T.Failed\",\"parameters\":{}}");
        close(fd);
}

TEST(connection_limits)
{
        vl_server_limits l = *vl_server_get_limits(server), saved = l;
        int fds[3], sv[2];
        unsigned base = vl_server_n_connections(server);

        l.connections_per_uid_max = base + 2;
        vl_server_set_limits(server, &l);
        fds[0] = connect_pair();
        fds[1] = connect_pair();
        ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv));
        ASSERT_ERROR(vl_server_add_connection(server, sv[0], NULL), EUSERS);
        ASSERT_TRUE(is_closed(sv[1]));
        close(sv[1]);
        /* Closing one makes room again. */
        close(fds[0]);
        pump();
        fds[2] = connect_pair();
        expect(fds[2], "{\"method\":\"io.ioasid.T.Echo\"}", "{\"parameters\":{}}");

        l.connections_per_uid_max = 1024;
        l.connections_max = vl_server_n_connections(server);
        vl_server_set_limits(server, &l);
        ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv));
        ASSERT_ERROR(vl_server_add_connection(server, sv[0], NULL), EUSERS);
        close(sv[1]);
        vl_server_set_limits(server, &saved);
        close(fds[1]);
        close(fds[2]);
        pump();
}

TEST(message_size_limit)
{
        vl_server_limits l = *vl_server_get_limits(server), saved = l;
        char *big;
        int fd;

        l.message_size_max = 1024;
        vl_server_set_limits(server, &l);
        fd = connect_pair();
        big = malloc(4096);
        memset(big, ' ', 4095);
        big[4095] = 0;
        (void)!write(fd, big, 4095);
        free(big);
        ASSERT_TRUE(is_closed(fd));
        close(fd);
        vl_server_set_limits(server, &saved);
}

TEST(idle_timeout)
{
        vl_server_limits l = *vl_server_get_limits(server), saved = l;
        int fd;

        l.idle_timeout_usec = 50 * 1000;
        vl_server_set_limits(server, &l);
        fd = connect_pair();
        expect(fd, "{\"method\":\"io.ioasid.T.Echo\"}", "{\"parameters\":{}}");
        ASSERT_FALSE(is_closed(fd));
        /* Bounded: 2 s is far past the 50 ms timeout and its accuracy. */
        for (int i = 0; i < 100 && !is_closed(fd); i++)
                ASSERT_OK(sd_event_run(event, 20 * 1000));
        ASSERT_TRUE(is_closed(fd));
        close(fd);
        vl_server_set_limits(server, &saved);
}

TEST(peer_identity)
{
        int sv[2];
        vl_link *l;

        ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv));
        ASSERT_OK(vl_server_add_connection(server, sv[0], &l));
        ASSERT_EQ(vl_link_peer(l)->uid, getuid());
        ASSERT_EQ(vl_link_peer(l)->pid, getpid());
        ASSERT_TRUE(vl_link_peer(l)->pidfd >= 0);
        close(sv[1]);
        pump();
}

/* The server's copies of a pipe's read end are all closed once writing to it fails. */
static bool pipe_reader_gone(int write_end)
{
        return write(write_end, "x", 1) < 0 && errno == EPIPE;
}

/* A partial message ("{") carrying n copies of a fresh pipe's read end; returns the write end. */
static int send_partial_with_fds(int fd, size_t n)
{
        int p[2], fds[4];

        ASSERT_OK(pipe2(p, O_CLOEXEC | O_NONBLOCK));
        for (size_t i = 0; i < n; i++)
                fds[i] = p[0];
        send_raw(fd, "{", 1, fds, n);
        close(p[0]);
        return p[1];
}

TEST(fd_budget_per_uid)
{
        vl_server_limits l = *vl_server_get_limits(server), saved = l;
        char buf[256];
        size_t n_fds;
        int a, b, c, wa, wb, wc;

        /* Each connection alone is within bounds; together they are over the uid's. */
        l.fds_per_uid_max = 6;
        vl_server_set_limits(server, &l);
        a = connect_pair();
        b = connect_pair();
        wa = send_partial_with_fds(a, 4);
        pump();
        wb = send_partial_with_fds(b, 4);
        ASSERT_TRUE(is_closed(b));
        ASSERT_TRUE(pipe_reader_gone(wb));
        ASSERT_FALSE(is_closed(a));
        ASSERT_FALSE(pipe_reader_gone(wa));
        /* a's call ends (refused: Echo takes no fds) and gives its fds back. */
        send_fds(a, "\"method\":\"io.ioasid.T.Echo\"}", NULL, 0);
        drain(a, buf, sizeof(buf), &n_fds);
        ASSERT_STRCONTAINS(buf, "fileDescriptors");
        ASSERT_TRUE(pipe_reader_gone(wa));
        c = connect_pair();
        wc = send_partial_with_fds(c, 4);
        ASSERT_FALSE(is_closed(c));
        ASSERT_FALSE(pipe_reader_gone(wc));
        vl_server_set_limits(server, &saved);
        close_many((int[]){ a, b, c, wa, wb, wc }, 6);
        pump();
}

TEST(byte_budget_per_uid)
{
        vl_server_limits l = *vl_server_get_limits(server), saved = l;
        static char part[30000];
        int a, b, c;

        /* 30 kB of an unfinished message is fine for one connection, not for two of a uid
         * allowed 48 kB in all. */
        memset(part, ' ', sizeof(part));
        part[0] = '{';
        l.bytes_per_uid_max = 48 * 1024;
        l.message_size_max = 40000;
        vl_server_set_limits(server, &l);
        a = connect_pair();
        b = connect_pair();
        send_raw(a, part, sizeof(part), NULL, 0);
        pump();
        send_raw(b, part, sizeof(part), NULL, 0);
        ASSERT_TRUE(is_closed(b));
        ASSERT_FALSE(is_closed(a));
        /* a's buffer goes with it. */
        close(a);
        pump();
        c = connect_pair();
        send_raw(c, part, sizeof(part), NULL, 0);
        ASSERT_FALSE(is_closed(c));
        send_fds(c, "}", NULL, 0);
        ASSERT_TRUE(is_closed(c)); /* "{" and spaces: no method, a protocol error */
        vl_server_set_limits(server, &saved);
        close(b);
        close(c);
        pump();
}

TEST(pending_fds_timeout)
{
        vl_server_limits l = *vl_server_get_limits(server), saved = l;
        int fd, w;

        l.pending_fds_timeout_usec = 50 * 1000;
        vl_server_set_limits(server, &l);
        fd = connect_pair();
        w = send_partial_with_fds(fd, 4);
        ASSERT_FALSE(is_closed(fd));
        /* Bounded: 2 s is far past the 50 ms timeout and its accuracy. */
        for (int i = 0; i < 100 && !is_closed(fd); i++)
                ASSERT_OK(sd_event_run(event, 20 * 1000));
        ASSERT_TRUE(is_closed(fd));
        ASSERT_TRUE(pipe_reader_gone(w));
        vl_server_set_limits(server, &saved);
        close(fd);
        close(w);
}

/* Out of fds, a listener with a connection pending must not make every loop turn a busy one. */
TEST(accept_pauses_out_of_fds)
{
        char dir[] = "/tmp/test-server-XXXXXX", path[64];
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        struct rlimit saved, low;
        static int fill[512];
        size_t n_fill = 0;
        unsigned before = vl_server_n_connections(server);
        int c, busy = 0;

        ASSERT_TRUE(mkdtemp(dir) != NULL);
        snprintf(path, sizeof(path), "%s/sock", dir);
        ASSERT_OK(vl_server_listen_path(server, path, 0600));
        strcpy(sa.sun_path, path);
        c = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        ASSERT_OK(connect(c, (struct sockaddr *)&sa, sizeof(sa)));

        ASSERT_OK(getrlimit(RLIMIT_NOFILE, &saved));
        low = (struct rlimit){ .rlim_cur = 256, .rlim_max = saved.rlim_max };
        ASSERT_OK(setrlimit(RLIMIT_NOFILE, &low));
        for (int fd; n_fill < ELEMENTSOF(fill) && (fd = dup(c)) >= 0;)
                fill[n_fill++] = fd;
        ASSERT_EQ(errno, EMFILE);

        for (int i = 0; i < 20; i++)
                busy += sd_event_run(event, 0) > 0;
        ASSERT_TRUE(busy <= 2);

        close_many(fill, n_fill);
        ASSERT_OK(setrlimit(RLIMIT_NOFILE, &saved));
        /* Accepting resumes by itself (bounded: 5 s for a pause of a fraction of one). */
        for (int i = 0; i < 100 && vl_server_n_connections(server) == before; i++)
                ASSERT_OK(sd_event_run(event, 50 * 1000));
        ASSERT_EQ(vl_server_n_connections(server), before + 1);
        expect(c, "{\"method\":\"io.ioasid.T.Echo\"}", "{\"parameters\":{}}");
        close(c);
        pump();
        unlink(path);
        rmdir(dir);
}

TEST(raise_fd_limit)
{
        struct rlimit saved, rl;

        ASSERT_OK(getrlimit(RLIMIT_NOFILE, &saved));
        if (saved.rlim_max <= 64)
                return;
        rl = (struct rlimit){ .rlim_cur = 64, .rlim_max = saved.rlim_max };
        ASSERT_OK(setrlimit(RLIMIT_NOFILE, &rl));
        ASSERT_OK(vl_raise_fd_limit());
        ASSERT_OK(getrlimit(RLIMIT_NOFILE, &rl));
        ASSERT_TRUE(rl.rlim_cur == saved.rlim_max ||
                    (saved.rlim_max == RLIM_INFINITY && rl.rlim_cur == (rlim_t)1 << 20));
        ASSERT_OK(setrlimit(RLIMIT_NOFILE, &saved));
}

int main(void)
{
        static const vl_server_info info = { "V", "P", "1", "u" };

        /* fds_in writes into a pipe whose reader is gone and expects EPIPE, not a signal. */
        signal(SIGPIPE, SIG_IGN);
        ASSERT_OK(sd_event_new(&event));
        ASSERT_OK(vl_server_new(event, &info, NULL, &server));
        ASSERT_OK(vl_server_add_interface(server, &iface));

        RUN(replies_are_minimal);
        RUN(standard_errors);
        RUN(service_interface);
        RUN(more_and_oneway);
        RUN(protocol_violations_close);
        RUN(pipelined_calls_stay_in_order);
        RUN(pipelined_burst_is_served_in_turns);
        RUN(deferred_reply_after_disconnect);
        RUN(oneway_deferred_keeps_order);
        RUN(fds_in);
        RUN(fds_out);
        RUN(connection_limits);
        RUN(message_size_limit);
        RUN(idle_timeout);
        RUN(peer_identity);
        RUN(fd_budget_per_uid);
        RUN(byte_budget_per_uid);
        RUN(pending_fds_timeout);
        RUN(accept_pauses_out_of_fds);
        RUN(raise_fd_limit);

        pump();
        ASSERT_EQ(vl_server_n_connections(server), 0);
        vl_server_free(server);
        sd_event_unref(event);
        return 0;
}
