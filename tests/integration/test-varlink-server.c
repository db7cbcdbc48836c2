/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The protocol test server as a real process on a real socket, against clients that misbehave:
 * garbage, a disconnect mid-message, fd floods, too many connections, oversized messages. After
 * each, the server must still serve, and hold no more fds than before (nothing leaked).
 * usage: test-varlink-server SERVER-BINARY CERT-CLIENT-BINARY */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "client.h"
#include "json-cleanup.h"
#include "tests.h"

static const char *server_bin, *cert_bin;
static char dir[] = "/tmp/ioasid-test-XXXXXX", sock[256];
static pid_t server;

/* The socket file appears at bind(), before listen(): a connect() in between is refused. The
 * kernel's table says when the socket listens, without a probe connection that the connection
 * limits would count. */
static bool server_listening(void)
{
        char line[512], path[256];
        unsigned long flags;
        bool found = false;
        FILE *f = fopen("/proc/net/unix", "re");

        while (f && !found && fgets(line, sizeof(line), f))
                found = sscanf(line, "%*s %*s %*s %lx %*s %*s %*s %255s", &flags, path) == 2 &&
                        streq(path, sock) && flags & 0x10000 /* __SO_ACCEPTCON */;
        if (f)
                fclose(f);
        return found;
}

static void server_start(const char *const *extra)
{
        const char *argv[16] = { server_bin, "--socket", sock };
        size_t n = 3;

        for (; extra && *extra; extra++)
                argv[n++] = *extra;
        unlink(sock);
        server = fork();
        ASSERT_TRUE(server >= 0);
        if (server == 0) {
                /* A test that fails must not leave the server behind, holding meson's pipes. */
                (void)prctl(PR_SET_PDEATHSIG, SIGTERM);
                execv(server_bin, (char **)argv);
                _exit(127);
        }
        for (int i = 0; i < 500 && !server_listening(); i++)
                usleep(10000);
        ASSERT_TRUE(server_listening());
}

static void server_stop(void)
{
        int status;

        ASSERT_OK(kill(server, SIGTERM));
        ASSERT_EQ(waitpid(server, &status, 0), server);
        /* A clean exit after everything this test threw at it. */
        ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static int server_fds(void)
{
        char path[64];
        struct dirent *de;
        DIR *d;
        int n = 0;

        snprintf(path, sizeof(path), "/proc/%d/fd", (int)server);
        d = opendir(path);
        ASSERT_TRUE(d != NULL);
        while ((de = readdir(d)))
                n += de->d_name[0] != '.';
        closedir(d);
        return n;
}

static int raw_connect(void)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

        strcpy(sa.sun_path, sock);
        ASSERT_OK(connect(fd, (struct sockaddr *)&sa, sizeof(sa)));
        return fd;
}

/* The server answers a Ping on a fresh connection. */
static void assert_serving(void)
{
        vl_client *c;
        vl_reply r;

        ASSERT_OK(vl_client_connect(sock, &c));
        vl_client_set_timeout(c, 5000);
        ASSERT_OK(vl_client_call(c, "io.ioasid.Test.Ping", NULL, NULL, 0, &r));
        ASSERT_TRUE(r.error == NULL);
        vl_reply_done(&r);
        vl_client_free(c);
}

/* The server's fd count once connections of earlier tests are gone: a client that exited a moment
 * ago may still have its connection open until the server reads its EOF. */
static int settled_fds(void)
{
        int n = server_fds();

        for (int stable = 0, i = 0; stable < 5 && i < 500; i++) {
                int m;

                usleep(10000);
                m = server_fds();
                stable = m == n ? stable + 1 : 0;
                n = m;
        }
        return n;
}

/* Waits (bounded) until the server's fd count is back to what it was. */
static void assert_fds_back_to(int baseline)
{
        for (int i = 0; i < 200 && server_fds() != baseline; i++)
                usleep(10000);
        ASSERT_EQ(server_fds(), baseline);
}

static bool peer_closed(int fd)
{
        char buf[4096];
        ssize_t n;
        struct timeval tv = { .tv_sec = 5 };

        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        do
                n = recv(fd, buf, sizeof(buf), 0);
        while (n > 0);
        return n == 0 || errno == ECONNRESET;
}

static void send_with_fds(int fd, const void *data, size_t len, const int *fds, size_t n)
{
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int) * 253)];
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
        ASSERT_EQ(sendmsg(fd, &mh, MSG_NOSIGNAL), (ssize_t)len);
}

TEST(certification_client)
{
        char cmd[512];

        snprintf(cmd, sizeof(cmd), "%s %s", cert_bin, sock);
        ASSERT_EQ(system(cmd), 0);
}

TEST(garbage)
{
        static const char *const junk[] = {
                "\x01\x02\x03\xff\xfe",
                "{\"method\":",
                "}}}}",
                "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]",
                "{\"method\":\"io.ioasid.Test.Ping\",\"bogus\":true}",
        };
        int base = settled_fds();

        for (size_t i = 0; i < ELEMENTSOF(junk); i++) {
                int fd = raw_connect();
                send_with_fds(fd, junk[i], strlen(junk[i]) + 1, NULL, 0);
                ASSERT_TRUE(peer_closed(fd));
                close(fd);
        }
        assert_serving();
        assert_fds_back_to(base);
}

TEST(disconnect_mid_message)
{
        int base = settled_fds();

        for (int i = 0; i < 20; i++) {
                int fd = raw_connect();
                static const char half[] = "{\"method\":\"io.ioasid.Test.Sl";
                send_with_fds(fd, half, sizeof(half) - 1, NULL, 0);
                close(fd);
        }
        /* And one that leaves while its call is still being served. */
        int fd = raw_connect();
        static const char sleep_call[] =
                "{\"method\":\"io.ioasid.Test.Sleep\",\"parameters\":{\"milliseconds\":200}}";
        send_with_fds(fd, sleep_call, sizeof(sleep_call), NULL, 0);
        close(fd);
        usleep(400000);
        assert_serving();
        assert_fds_back_to(base);
}

TEST(fd_flood)
{
        static const char ping[] = "{\"method\":\"io.ioasid.Test.Ping\"}";
        static const char dup_call[] =
                "{\"method\":\"io.ioasid.Test.Dup\",\"parameters\":{\"fileDescriptor\":0}}";
        int fds[253], base = settled_fds(), p[2];
        char buf[512];

        ASSERT_OK(pipe2(p, O_CLOEXEC));
        for (int i = 0; i < 253; i++)
                fds[i] = p[0];
        /* 50 rounds of 253 fds at a method that takes none: refused, every one closed. */
        int fd = raw_connect();
        for (int i = 0; i < 50; i++) {
                send_with_fds(fd, ping, sizeof(ping), fds, 253);
                ssize_t n = recv(fd, buf, sizeof(buf) - 1, 0);
                ASSERT_TRUE(n > 0);
                buf[n] = 0;
                ASSERT_STRCONTAINS(buf, "fileDescriptors");
        }
        /* 50 rounds at a method that takes one: it uses fd 0, the other 252 are closed. */
        for (int i = 0; i < 50; i++) {
                union {
                        struct cmsghdr h;
                        char b[CMSG_SPACE(sizeof(int) * 4)];
                } control;
                struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) - 1 };
                struct msghdr mh = { .msg_iov = &iov,
                                     .msg_iovlen = 1,
                                     .msg_control = &control,
                                     .msg_controllen = sizeof(control) };

                send_with_fds(fd, dup_call, sizeof(dup_call), fds, 253);
                ssize_t n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
                ASSERT_TRUE(n > 0);
                buf[n] = 0;
                ASSERT_STRCONTAINS(buf, "inode");
                struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
                ASSERT_TRUE(c && c->cmsg_type == SCM_RIGHTS);
                close(*(int *)(void *)CMSG_DATA(c));
        }
        /* fds in the middle of a message: a protocol violation, the connection goes. */
        send_with_fds(fd, "{\"method\":", 10, NULL, 0);
        usleep(50000);
        send_with_fds(fd, "\"io.ioasid.Test.Ping\"}", 23, fds, 253);
        ASSERT_TRUE(peer_closed(fd));
        close(fd);
        close(p[0]);
        close(p[1]);
        assert_serving();
        assert_fds_back_to(base);
}

TEST(connection_limit)
{
        const char *const opts[] = { "--max-connections-per-uid", "4", NULL };
        int fds[4], extra;

        server_stop();
        server_start(opts);
        for (int i = 0; i < 4; i++)
                fds[i] = raw_connect();
        /* The fifth is accepted by the kernel and closed by the server at once. */
        extra = raw_connect();
        ASSERT_TRUE(peer_closed(extra));
        close(extra);
        /* A fifth connection fits once the server has seen this one go (bounded: 5 s). */
        int open_fds = server_fds();
        close(fds[0]);
        for (int i = 0; i < 500 && server_fds() >= open_fds; i++)
                usleep(10000);
        assert_serving();
        for (int i = 1; i < 4; i++)
                close(fds[i]);
        server_stop();
        server_start(NULL);
}

TEST(message_size_limit)
{
        const char *const opts[] = { "--max-message-size", "65536", NULL };
        char *big = malloc(200000);
        int fd;

        server_stop();
        server_start(opts);
        /* A Ping with a 150 kB payload: over the limit, the connection is closed. */
        snprintf(big, 200000, "{\"method\":\"io.ioasid.Test.Ping\",\"parameters\":{\"payload\":\"");
        size_t off = strlen(big);
        memset(big + off, 'x', 150000);
        strcpy(big + off + 150000, "\"}}");
        fd = raw_connect();
        (void)!send(fd, big, strlen(big) + 1, MSG_NOSIGNAL);
        ASSERT_TRUE(peer_closed(fd));
        close(fd);
        /* Just under it is fine. */
        big[off + 60000] = 0;
        strcat(big, "\"}}");
        fd = raw_connect();
        ASSERT_EQ(send(fd, big, strlen(big) + 1, MSG_NOSIGNAL), (ssize_t)strlen(big) + 1);
        char buf[128];
        ASSERT_TRUE(recv(fd, buf, sizeof(buf), 0) > 0);
        close(fd);
        free(big);
        assert_serving();
        server_stop();
        server_start(NULL);
}

TEST(socket_activation)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        char pidbuf[16];
        int lfd, status;
        pid_t pid;

        server_stop();
        /* As systemd passes it: the listening socket as fd 3, LISTEN_PID and LISTEN_FDS. */
        unlink(sock);
        lfd = socket(AF_UNIX, SOCK_STREAM, 0);
        strcpy(sa.sun_path, sock);
        ASSERT_OK(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)));
        ASSERT_OK(listen(lfd, 16));
        pid = fork();
        ASSERT_TRUE(pid >= 0);
        if (pid == 0) {
                dup2(lfd, 3);
                snprintf(pidbuf, sizeof(pidbuf), "%d", (int)getpid());
                setenv("LISTEN_PID", pidbuf, 1);
                setenv("LISTEN_FDS", "1", 1);
                execl(server_bin, server_bin, "--socket", "/nonexistent/unused", (char *)NULL);
                _exit(127);
        }
        close(lfd);
        server = pid;
        assert_serving();
        ASSERT_OK(kill(pid, SIGTERM));
        ASSERT_EQ(waitpid(pid, &status, 0), pid);
        ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        server_start(NULL);
}

int main(int argc, char **argv)
{
        ASSERT_EQ(argc, 3);
        server_bin = argv[1];
        cert_bin = argv[2];
        signal(SIGPIPE, SIG_IGN);
        ASSERT_TRUE(mkdtemp(dir) != NULL);
        snprintf(sock, sizeof(sock), "%s/sock", dir);
        server_start(NULL);

        RUN(certification_client);
        RUN(garbage);
        RUN(disconnect_mid_message);
        RUN(fd_flood);
        RUN(connection_limit);
        RUN(message_size_limit);
        RUN(socket_activation);

        server_stop();
        unlink(sock);
        rmdir(dir);
        return 0;
}
