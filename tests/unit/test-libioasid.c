/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libioasid against a scripted peer on a real socket: what the library sends, how it reads
 * replies the daemon would never send (bad fd indices, odd types), refusals and their
 * accessors, and the non-blocking monitor. The real daemon is the integration test's. */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ioasid.h"
#include "tests.h"

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))

/* One step of the peer: read one call, then send reply (NULL: send nothing), with n_fds fds
 * of /dev/null; "ECHO" replies an error carrying the call and the number of fds it came with.
 * After the last step the peer closes the connection. */
typedef struct step {
        const char *reply;
        int n_fds;
} step;

static char sock_path[108];

static void peer_send(int fd, const char *text, int n_fds)
{
        struct iovec iov = { .iov_base = (void *)text, .iov_len = strlen(text) + 1 };
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int) * 4)];
        } control = {};
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
        int fds[4];

        if (n_fds > 0) {
                struct cmsghdr *c;

                for (int i = 0; i < n_fds; i++)
                        fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
                mh.msg_control = control.buf;
                mh.msg_controllen = CMSG_SPACE(sizeof(int) * n_fds);
                c = CMSG_FIRSTHDR(&mh);
                c->cmsg_level = SOL_SOCKET;
                c->cmsg_type = SCM_RIGHTS;
                c->cmsg_len = CMSG_LEN(sizeof(int) * n_fds);
                memcpy(CMSG_DATA(c), fds, sizeof(int) * n_fds);
        }
        if (sendmsg(fd, &mh, MSG_NOSIGNAL) != (ssize_t)iov.iov_len)
                _exit(3);
}

/* Reads one message; returns how many fds came with it. */
static int peer_read(int fd, char *buf, size_t size)
{
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int) * 8)];
        } control;
        size_t n = 0;
        int n_fds = 0;

        while (n == 0 || buf[n - 1] != '\0') {
                struct iovec iov = { .iov_base = buf + n, .iov_len = size - n };
                struct msghdr mh = { .msg_iov = &iov,
                                     .msg_iovlen = 1,
                                     .msg_control = control.buf,
                                     .msg_controllen = sizeof(control.buf) };
                ssize_t k = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);

                if (k <= 0)
                        _exit(4);
                for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
                        if (c->cmsg_type == SCM_RIGHTS)
                                n_fds += (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
                n += (size_t)k;
        }
        return n_fds;
}

static pid_t peer_start(const step *steps, size_t n_steps)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        pid_t pid;

        ASSERT_TRUE(l >= 0);
        unlink(sock_path);
        strcpy(sa.sun_path, sock_path);
        ASSERT_OK(bind(l, (struct sockaddr *)&sa, sizeof(sa)));
        ASSERT_OK(listen(l, 1));
        pid = fork();
        ASSERT_TRUE(pid >= 0);
        if (pid == 0) {
                int c = accept4(l, NULL, NULL, SOCK_CLOEXEC);
                char buf[8192], echo[9000];

                if (c < 0)
                        _exit(2);
                for (size_t i = 0; i < n_steps; i++) {
                        int n_fds = peer_read(c, buf, sizeof(buf));

                        if (!steps[i].reply)
                                continue;
                        if (strcmp(steps[i].reply, "ECHO") == 0) {
                                snprintf(echo, sizeof(echo),
                                         "{\"error\":\"test.Echo\",\"parameters\":{\"call\":%s,"
                                         "\"fds\":%d}}",
                                         buf, n_fds);
                                peer_send(c, echo, 0);
                        } else
                                peer_send(c, steps[i].reply, steps[i].n_fds);
                }
                _exit(0);
        }
        close(l);
        return pid;
}

static void peer_wait(pid_t pid)
{
        int status;

        ASSERT_EQ(waitpid(pid, &status, 0), pid);
        ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static int open_fds(void)
{
        int n = 0;

        for (int fd = 0; fd < 1024; fd++)
                n += fcntl(fd, F_GETFD) >= 0;
        return n;
}

static json_object *echoed_call(ioasid *c)
{
        json_object *p = json_tokener_parse(ioasid_error_parameters(c));

        ASSERT_STREQ(ioasid_error_name(c), "test.Echo");
        ASSERT_TRUE(p);
        return p;
}

static void test_acquire_request(void)
{
        static const step steps[] = { { "ECHO", 0 }, { "ECHO", 0 } };
        pid_t pid = peer_start(steps, 2);
        ioasid_acquire_options *o;
        ioasid_lease *l = NULL;
        json_object *p, *call, *params, *v;
        ioasid *c;
        int pidfd = open("/dev/null", O_RDONLY | O_CLOEXEC);

        ASSERT_OK(ioasid_connect(sock_path, &c));
        ASSERT_OK(ioasid_acquire_options_new(&o));
        /* No devices: refused before anything is sent. */
        ASSERT_ERROR(ioasid_acquire(c, o, &l), EINVAL);
        ASSERT_OK(ioasid_acquire_options_add_device(o, "0000:00:03.1"));
        ASSERT_OK(ioasid_acquire_options_add_device(o, "0000:00:03.0"));
        /* Only what was set is sent. */
        ASSERT_ERROR(ioasid_acquire(c, o, &l), EREMOTEIO);
        p = echoed_call(c);
        json_object_object_get_ex(p, "call", &call);
        ASSERT_TRUE(json_object_object_get_ex(call, "parameters", &params));
        ASSERT_STREQ(json_object_to_json_string_ext(params, JSON_C_TO_STRING_PLAIN),
                     "{\"devices\":[\"0000:00:03.1\",\"0000:00:03.0\"]}");
        json_object_put(p);

        ASSERT_OK(ioasid_acquire_options_set_managed(o, true));
        ASSERT_OK(ioasid_acquire_options_set_path_mode(o, false));
        ASSERT_OK(ioasid_acquire_options_set_lease(o, "abc"));
        ASSERT_OK(ioasid_acquire_options_set_holder_pidfd(o, pidfd));
        ASSERT_ERROR(ioasid_acquire_options_set_locked_memory(o, UINT64_MAX), ERANGE);
        ASSERT_OK(ioasid_acquire_options_set_locked_memory(o, 64u << 20));
        ASSERT_ERROR(ioasid_acquire(c, o, &l), EREMOTEIO);
        p = echoed_call(c);
        ASSERT_TRUE(json_object_object_get_ex(p, "fds", &v));
        ASSERT_EQ(json_object_get_int(v), 1);
        json_object_object_get_ex(p, "call", &call);
        json_object_object_get_ex(call, "parameters", &params);
        ASSERT_STREQ(json_object_to_json_string_ext(params, JSON_C_TO_STRING_PLAIN),
                     "{\"devices\":[\"0000:00:03.1\",\"0000:00:03.0\"],\"lease\":\"abc\","
                     "\"pidFileDescriptor\":0,\"managed\":true,\"pathMode\":false,"
                     "\"lockedMemory\":67108864}");
        json_object_put(p);
        ASSERT_TRUE(l == NULL);
        /* The caller's pidfd is only borrowed. */
        ASSERT_TRUE(fcntl(pidfd, F_GETFD) >= 0);
        close(pidfd);
        ioasid_acquire_options_free(o);
        ioasid_free(c);
        peer_wait(pid);
}

static void test_acquire_reply_fds(void)
{
        static const step steps[] = {
                { "{\"parameters\":{\"lease\":\"L1\",\"backend\":\"iommufd\","
                  "\"iommuFileDescriptor\":1,\"grants\":[{\"address\":\"0000:00:03.1\","
                  "\"group\":2,\"fileDescriptor\":0},{\"address\":\"0000:00:03.0\",\"group\":2,"
                  "\"fileDescriptor\":2}]}}",
                  3 },
                /* An index past the fds sent: the whole reply is refused, no fd kept. */
                { "{\"parameters\":{\"lease\":\"L2\",\"backend\":\"iommufd\","
                  "\"iommuFileDescriptor\":0,\"grants\":[{\"address\":\"0000:00:03.1\","
                  "\"group\":2,\"fileDescriptor\":5}]}}",
                  2 },
                /* Path mode: no fds at all. */
                { "{\"parameters\":{\"lease\":\"L3\",\"backend\":\"legacy\",\"grants\":["
                  "{\"address\":\"0000:00:03.1\",\"group\":2,\"path\":\"/dev/vfio/2\"}]}}",
                  0 },
        };
        pid_t pid = peer_start(steps, ELEMENTSOF(steps));
        ioasid_acquire_options *o;
        ioasid_lease *l = NULL;
        ioasid *c;
        int before, fd;

        ASSERT_OK(ioasid_connect(sock_path, &c));
        ASSERT_OK(ioasid_acquire_options_new(&o));
        ASSERT_OK(ioasid_acquire_options_add_device(o, "0000:00:03.1"));
        before = open_fds();
        ASSERT_OK(ioasid_acquire(c, o, &l));
        ASSERT_TRUE(ioasid_error_name(c) == NULL);
        ASSERT_STREQ(ioasid_lease_id(l), "L1");
        ASSERT_STREQ(ioasid_lease_backend(l), "iommufd");
        ASSERT_EQ(ioasid_lease_n_grants(l), 2);
        ASSERT_EQ(ioasid_lease_find_grant(l, "0000:00:03.0"), 1);
        ASSERT_EQ(ioasid_lease_find_grant(l, "0000:00:09.0"), -ENOENT);
        ASSERT_STREQ(ioasid_lease_grant_address(l, 1), "0000:00:03.0");
        ASSERT_EQ(ioasid_lease_grant_group(l, 1), 2);
        ASSERT_TRUE(ioasid_lease_grant_path(l, 0) == NULL);
        ASSERT_TRUE(ioasid_lease_iommu_fd(l) >= 0 && ioasid_lease_grant_fd(l, 0) >= 0);
        ASSERT_TRUE(ioasid_lease_iommu_fd(l) != ioasid_lease_grant_fd(l, 0));
        ASSERT_EQ(open_fds(), before + 3);
        fd = ioasid_lease_take_iommu_fd(l);
        ASSERT_TRUE(fd >= 0);
        ASSERT_EQ(ioasid_lease_iommu_fd(l), -1);
        ASSERT_ERROR(ioasid_lease_take_iommu_fd(l), ENODATA);
        ioasid_lease_free(l);
        ASSERT_EQ(open_fds(), before + 1);
        close(fd);

        l = NULL;
        ASSERT_ERROR(ioasid_acquire(c, o, &l), EBADMSG);
        ASSERT_TRUE(l == NULL);
        ASSERT_EQ(open_fds(), before);

        ASSERT_OK(ioasid_acquire(c, o, &l));
        ASSERT_EQ(ioasid_lease_iommu_fd(l), -1);
        ASSERT_EQ(ioasid_lease_grant_fd(l, 0), -1);
        ASSERT_STREQ(ioasid_lease_grant_path(l, 0), "/dev/vfio/2");
        ioasid_lease_free(l);
        ASSERT_EQ(open_fds(), before);
        ioasid_acquire_options_free(o);
        ioasid_free(c);
        peer_wait(pid);
}

static void test_refusals(void)
{
        static const step steps[] = {
                { "{\"error\":\"io.ioasid.Broker.GroupNotViable\",\"parameters\":{\"group\":2,"
                  "\"reasons\":[\"a is bound to b\",\"c is bound to d\"]}}",
                  0 },
                { "{\"error\":\"io.ioasid.Broker.GroupBusy\",\"parameters\":{\"group\":3,"
                  "\"owner\":{\"uid\":1000,\"pid\":42,\"lease\":\"L\"}}}",
                  0 },
                { "{\"error\":\"io.ioasid.Broker.PermissionDenied\",\"parameters\":{"
                  "\"reason\":\"no rule\"}}",
                  0 },
                /* A refusal with members of the wrong types reads as if they were absent. */
                { "{\"error\":\"io.ioasid.Broker.GroupBusy\",\"parameters\":{\"group\":\"3\","
                  "\"owner\":{\"uid\":-1,\"pid\":42,\"lease\":\"L\"},\"reasons\":[1]}}",
                  0 },
                { "{\"parameters\":{\"groups\":[]}}", 0 },
        };
        pid_t pid = peer_start(steps, ELEMENTSOF(steps));
        ioasid_group_list *groups;
        const char *lease;
        ioasid *c;
        uid_t uid;
        pid_t opid;

        ASSERT_OK(ioasid_connect(sock_path, &c));
        ASSERT_TRUE(ioasid_error_name(c) == NULL && ioasid_error_parameters(c) == NULL);
        ASSERT_ERROR(ioasid_list_groups(c, &groups), EPERM);
        ASSERT_STREQ(ioasid_error_name(c), "io.ioasid.Broker.GroupNotViable");
        ASSERT_EQ(ioasid_error_group(c), 2);
        ASSERT_EQ(ioasid_error_n_reasons(c), 2);
        ASSERT_STREQ(ioasid_error_reason_at(c, 1), "c is bound to d");
        ASSERT_TRUE(ioasid_error_reason_at(c, 2) == NULL);
        ASSERT_TRUE(ioasid_error_message(c) == NULL);
        ASSERT_EQ(ioasid_error_owner(c, NULL, NULL, NULL), -ENODATA);

        ASSERT_ERROR(ioasid_list_groups(c, &groups), EBUSY);
        ASSERT_EQ(ioasid_error_group(c), 3);
        ASSERT_EQ(ioasid_error_n_reasons(c), 0);
        ASSERT_OK(ioasid_error_owner(c, &uid, &opid, &lease));
        ASSERT_EQ(uid, 1000);
        ASSERT_EQ(opid, 42);
        ASSERT_STREQ(lease, "L");

        ASSERT_ERROR(ioasid_list_groups(c, &groups), EACCES);
        ASSERT_STREQ(ioasid_error_message(c), "no rule");
        ASSERT_EQ(ioasid_error_group(c), -1);

        ASSERT_ERROR(ioasid_list_groups(c, &groups), EBUSY);
        ASSERT_EQ(ioasid_error_group(c), -1);
        ASSERT_EQ(ioasid_error_owner(c, &uid, &opid, &lease), -ENODATA);
        ASSERT_TRUE(ioasid_error_reason_at(c, 0) == NULL);

        /* A call that succeeds forgets the last refusal. */
        ASSERT_OK(ioasid_list_groups(c, &groups));
        ASSERT_TRUE(ioasid_error_name(c) == NULL);
        ASSERT_EQ(ioasid_group_list_size(groups), 0);
        ASSERT_TRUE(ioasid_group_list_get(groups, 0) == NULL);
        ioasid_group_list_free(groups);
        /* The peer has closed the connection. */
        ASSERT_TRUE(ioasid_list_groups(c, &groups) < 0);
        ASSERT_TRUE(ioasid_error_name(c) == NULL);
        ioasid_free(c);
        peer_wait(pid);

        ASSERT_EQ(ioasid_error_errno("io.ioasid.Broker.NoSuchLease"), -ENOENT);
        ASSERT_EQ(ioasid_error_errno("io.ioasid.Admin.BindFailed"), -EIO);
        ASSERT_EQ(ioasid_error_errno("org.varlink.service.InvalidParameter"), -EINVAL);
        ASSERT_EQ(ioasid_error_errno("org.example.Whatever"), -EREMOTEIO);
        ASSERT_EQ(ioasid_error_errno(NULL), -EREMOTEIO);
}

/* A broker without a backend leaves it out; a reply without a version is not a status. */
static void test_status(void)
{
        static const step steps[] = {
                { "{\"parameters\":{\"version\":\"9\",\"groups\":3,\"viableGroups\":1,"
                  "\"devices\":5,\"leases\":2}}",
                  0 },
                { "{\"parameters\":{\"backend\":\"legacy\"}}", 0 },
        };
        pid_t pid = peer_start(steps, ELEMENTSOF(steps));
        ioasid_status *s = NULL;
        ioasid *c;

        ASSERT_OK(ioasid_connect(sock_path, &c));
        ASSERT_OK(ioasid_get_status(c, &s));
        ASSERT_STREQ(ioasid_status_version(s), "9");
        ASSERT_TRUE(ioasid_status_backend(s) == NULL);
        ASSERT_EQ(ioasid_status_groups(s), 3);
        ASSERT_EQ(ioasid_status_viable_groups(s), 1);
        ASSERT_EQ(ioasid_status_devices(s), 5);
        ASSERT_EQ(ioasid_status_leases(s), 2);
        ioasid_status_free(s);
        s = NULL;
        ASSERT_ERROR(ioasid_get_status(c, &s), EBADMSG);
        ASSERT_TRUE(s == NULL);
        ASSERT_TRUE(ioasid_status_version(NULL) == NULL && ioasid_status_leases(NULL) == -1);
        ioasid_free(c);
        peer_wait(pid);
}

static void test_monitor(void)
{
        /* Three events, the last one written without its end: process() hands out what is
         * whole and says "nothing yet" instead of blocking. */
        static const char events[] =
                "{\"parameters\":{\"event\":{\"kind\":\"ready\"}},\"continues\":true}\0"
                "{\"parameters\":{\"event\":{\"kind\":\"driverChanged\",\"address\":\"A\","
                "\"group\":2,\"driver\":\"vfio-pci\",\"previousDriver\":\"e1000\"}},"
                "\"continues\":true}\0"
                "{\"parameters\":{\"event\":{\"kind\":\"groupChanged\",\"group\":2,"
                "\"viable\":false,\"reasons\":[\"r\"]}},\"continues\":true}";
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), peer;
        ioasid_event *e = NULL;
        ioasid_monitor *m;
        char buf[4096];
        size_t partial = sizeof(events) - 2; /* without the final '}' and NUL */

        unlink(sock_path);
        strcpy(sa.sun_path, sock_path);
        ASSERT_OK(bind(l, (struct sockaddr *)&sa, sizeof(sa)));
        ASSERT_OK(listen(l, 1));
        setenv("IOASID_SOCKET", sock_path, 1);
        ASSERT_OK(ioasid_monitor_new(NULL, &m));
        unsetenv("IOASID_SOCKET");
        peer = accept4(l, NULL, NULL, SOCK_CLOEXEC);
        ASSERT_TRUE(peer >= 0);
        ASSERT_EQ(peer_read(peer, buf, sizeof(buf)), 0);
        ASSERT_TRUE(strstr(buf, "\"method\":\"io.ioasid.Broker.Monitor\"") &&
                    strstr(buf, "\"more\":true"));

        /* Nothing sent yet: no event, no wait. */
        ASSERT_EQ(ioasid_monitor_process(m, &e), 0);
        ASSERT_EQ(write(peer, events, partial), (ssize_t)partial);
        ASSERT_EQ(ioasid_monitor_process(m, &e), 1);
        ASSERT_STREQ(ioasid_event_kind(e), "ready");
        ASSERT_EQ(ioasid_event_group(e), -1);
        ASSERT_EQ(ioasid_event_viable(e), -ENODATA);
        e = ioasid_event_free(e);
        ASSERT_EQ(ioasid_monitor_process(m, &e), 1);
        ASSERT_STREQ(ioasid_event_kind(e), "driverChanged");
        ASSERT_STREQ(ioasid_event_address(e), "A");
        ASSERT_EQ(ioasid_event_group(e), 2);
        ASSERT_STREQ(ioasid_event_driver(e), "vfio-pci");
        ASSERT_STREQ(ioasid_event_previous_driver(e), "e1000");
        ASSERT_TRUE(ioasid_event_lease(e) == NULL);
        e = ioasid_event_free(e);
        ASSERT_EQ(ioasid_monitor_process(m, &e), 0);
        ASSERT_EQ(write(peer, "}", 2), 2); /* with its NUL */
        ASSERT_EQ(ioasid_monitor_process(m, &e), 1);
        ASSERT_STREQ(ioasid_event_kind(e), "groupChanged");
        ASSERT_EQ(ioasid_event_viable(e), 0);
        ASSERT_EQ(ioasid_event_n_reasons(e), 1);
        ASSERT_STREQ(ioasid_event_reason(e, 0), "r");
        ASSERT_TRUE(strstr(ioasid_event_json(e), "\"kind\":\"groupChanged\""));
        e = ioasid_event_free(e);
        ASSERT_EQ(ioasid_monitor_process(m, &e), 0);
        close(peer);
        ASSERT_ERROR(ioasid_monitor_process(m, &e), ECONNRESET);
        ioasid_monitor_free(m);
        close(l);
}

static void test_connect_failures(void)
{
        ioasid *c = NULL;

        unlink(sock_path);
        ASSERT_ERROR(ioasid_connect(sock_path, &c), ENOENT);
        ASSERT_TRUE(c == NULL);
        ASSERT_ERROR(ioasid_connect(sock_path, NULL), EINVAL);
        ASSERT_TRUE(ioasid_free(NULL) == NULL);
        ASSERT_EQ(ioasid_get_fd(NULL), -EINVAL);
        ASSERT_TRUE(ioasid_error_name(NULL) == NULL);
        ASSERT_EQ(ioasid_group_list_size(NULL), 0);
        ASSERT_TRUE(ioasid_lease_free(NULL) == NULL);
}

int main(void)
{
        char dir[] = "/tmp/test-libioasid-XXXXXX";

        signal(SIGPIPE, SIG_IGN);
        ASSERT_TRUE(mkdtemp(dir));
        snprintf(sock_path, sizeof(sock_path), "%s/sock", dir);
        test_acquire_request();
        test_acquire_reply_fds();
        test_refusals();
        test_status();
        test_monitor();
        test_connect_failures();
        unlink(sock_path);
        rmdir(dir);
        return 0;
}
