/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The client against a real server in a child process over a socketpair. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "client.h"
#include "json-cleanup.h"
#include "tests.h"
#include "varlink.h"

typedef struct targs {
        int n;
        unsigned fd;
} targs;

static const vl_field n_fields[] = { { "n", vl_field_int, offsetof(targs, n), VL_FIELD_MANDATORY },
                                     {} };
static const vl_field fd_fields[] = {
        { "fileDescriptor", vl_field_uint, offsetof(targs, fd), VL_FIELD_MANDATORY },
        {},
};

static int m_count(vl_link *l, json_object *params, void *args, void *userdata)
{
        const targs *a = args;

        for (int i = 0; i < a->n; i++) {
                json_object *p = json_object_new_object();
                json_object_object_add(p, "i", json_object_new_int(i));
                int r = i + 1 < a->n ? vl_link_notify(l, p) : vl_link_reply(l, p);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Sends back a duplicate of the fd it got and its inode. */
static int m_dup(vl_link *l, json_object *params, void *args, void *userdata)
{
        const targs *a = args;
        struct stat st;
        json_object *p;
        int fd = vl_link_take_fd(l, a->fd);

        if (fd < 0)
                return vl_link_error_invalid_parameter(l, "fileDescriptor");
        if (fstat(fd, &st) < 0) {
                close(fd);
                return -errno;
        }
        p = json_object_new_object();
        json_object_object_add(p, "fileDescriptor", json_object_new_int(vl_link_push_fd(l, fd)));
        json_object_object_add(p, "inode", json_object_new_int64((int64_t)st.st_ino));
        return vl_link_reply(l, p);
}

static int m_quit(vl_link *l, json_object *params, void *args, void *userdata)
{
        return sd_event_exit(userdata, 0);
}

static const vl_method methods[] = {
        { .name = "Count", .handler = m_count, .fields = n_fields, .args_size = sizeof(targs) },
        { .name = "Dup",
          .handler = m_dup,
          .fields = fd_fields,
          .args_size = sizeof(targs),
          .flags = VL_METHOD_ACCEPT_FDS },
        { .name = "Quit", .handler = m_quit },
        {},
};

static const vl_interface iface = { .name = "io.ioasid.C", .description = "", .methods = methods };

static pid_t spawn_server(vl_client **ret)
{
        int sv[2];
        pid_t pid;

        ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv));
        pid = fork();
        ASSERT_TRUE(pid >= 0);
        if (pid == 0) {
                static const vl_server_info info = { "V", "P", "1", "u" };
                sd_event *e;
                vl_server *s;

                close(sv[1]);
                ASSERT_OK(sd_event_new(&e));
                ASSERT_OK(vl_server_new(e, &info, e, &s));
                ASSERT_OK(vl_server_add_interface(s, &iface));
                ASSERT_OK(vl_server_add_connection(s, sv[0], NULL));
                ASSERT_OK(sd_event_loop(e));
                vl_server_free(s);
                sd_event_unref(e);
                _exit(0);
        }
        close(sv[0]);
        ASSERT_OK(vl_client_new_from_fd(sv[1], ret));
        vl_client_set_timeout(*ret, 10000);
        return pid;
}

static int collect(const vl_reply *r, void *userdata)
{
        int *seen = userdata;

        ASSERT_TRUE(r->error == NULL);
        ASSERT_EQ(json_object_get_int(json_object_object_get(r->parameters, "i")), *seen);
        (*seen)++;
        return 0;
}

static int stop_at_two(const vl_reply *r, void *userdata)
{
        return ++*(int *)userdata == 2 ? 42 : 0;
}

TEST(calls)
{
        vl_client *c;
        vl_reply r;
        pid_t pid = spawn_server(&c);
        int seen = 0, p[2], status;
        struct stat a, b;

        /* A single reply; an error reply is a successful call with .error set. */
        ASSERT_OK(vl_client_call(c, "io.ioasid.C.Nope", NULL, NULL, 0, &r));
        ASSERT_STREQ(r.error, "org.varlink.service.MethodNotFound");
        vl_reply_done(&r);

        /* Streams. */
        json_object *params = json_object_new_object();
        json_object_object_add(params, "n", json_object_new_int(5));
        ASSERT_OK(vl_client_call_more(c, "io.ioasid.C.Count", params, collect, &seen));
        ASSERT_EQ(seen, 5);

        /* fds both ways: the server gets ours and sends back a duplicate of it. */
        ASSERT_OK(pipe2(p, O_CLOEXEC));
        params = json_object_new_object();
        json_object_object_add(params, "fileDescriptor", json_object_new_int(0));
        ASSERT_OK(vl_client_call(c, "io.ioasid.C.Dup", params, &p[1], 1, &r));
        ASSERT_TRUE(r.error == NULL);
        ASSERT_EQ(r.n_fds, 1);
        int fd = vl_reply_take_fd(&r, 0);
        ASSERT_TRUE(fd >= 0);
        ASSERT_ERROR(vl_reply_take_fd(&r, 0), ENXIO);
        ASSERT_OK(fstat(fd, &a));
        ASSERT_OK(fstat(p[1], &b));
        ASSERT_TRUE(a.st_ino == b.st_ino);
        ASSERT_EQ(json_object_get_int64(json_object_object_get(r.parameters, "inode")),
                  (int64_t)b.st_ino);
        ASSERT_TRUE(fcntl(fd, F_GETFD) & FD_CLOEXEC);
        vl_reply_done(&r);
        close(fd);
        close(p[0]);
        close(p[1]);

        /* Pipelined: three calls out before any reply is read, replies in order. */
        for (int i = 1; i <= 3; i++) {
                params = json_object_new_object();
                json_object_object_add(params, "n", json_object_new_int(1));
                ASSERT_OK(vl_client_send(c, "io.ioasid.C.Count", params, 0, NULL, 0));
        }
        for (int i = 1; i <= 3; i++) {
                ASSERT_OK(vl_client_recv(c, &r));
                ASSERT_TRUE(r.error == NULL && !r.continues);
                vl_reply_done(&r);
        }

        /* A callback can stop a stream early. */
        seen = 0;
        params = json_object_new_object();
        json_object_object_add(params, "n", json_object_new_int(3));
        ASSERT_EQ(vl_client_call_more(c, "io.ioasid.C.Count", params, stop_at_two, &seen), 42);
        vl_client_set_timeout(c, 100);
        ASSERT_OK(vl_client_recv(c, &r)); /* the third reply is still there */
        vl_reply_done(&r);
        ASSERT_ERROR(vl_client_recv(c, &r), ETIMEDOUT);

        /* Server gone: the client says so. */
        ASSERT_OK(vl_client_send(c, "io.ioasid.C.Quit", NULL, VL_SEND_ONEWAY, NULL, 0));
        ASSERT_EQ(waitpid(pid, &status, 0), pid);
        ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        ASSERT_ERROR(vl_client_recv(c, &r), ECONNRESET);
        vl_client_free(c);
}

TEST(connect_errors)
{
        vl_client *c = NULL;

        ASSERT_ERROR(vl_client_connect("/nonexistent/socket", &c), ENOENT);
        char longpath[200];
        memset(longpath, 'a', sizeof(longpath) - 1);
        longpath[sizeof(longpath) - 1] = 0;
        ASSERT_ERROR(vl_client_connect(longpath, &c), ENAMETOOLONG);
}

int main(void)
{
        signal(SIGPIPE, SIG_IGN);
        RUN(calls);
        RUN(connect_errors);
        return 0;
}
