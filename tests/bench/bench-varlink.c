/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the varlink stack costs over the bare socket, both measured in the same run: our client
 * against the protocol test server in its own process, beside a trivial echo peer moving the
 * same bytes (and the same fd) over a raw UNIX socket. Round-trip latency of one call, then
 * calls per second with 1 to 1000 concurrent clients spread over a few forked client processes.
 *
 * usage: bench-varlink SERVER-BINARY */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "json-cleanup.h"
#include "macro.h"

#define LATENCY_CALLS_MAX 20000
#define LATENCY_WARMUP    500
#define LATENCY_NSEC      (1000ull * 1000 * 1000)
#define LOAD_NSEC         (1000ull * 1000 * 1000)
#define WORKERS_MAX       4
#define CHILDREN_MAX      (WORKERS_MAX + 4)

/* Heap strings: a socket path that does not fit sun_path is refused where the address is made,
 * instead of being silently cut by a fixed-size buffer. */
static char *dir, *server_sock, *echo_sock;
static pid_t children[CHILDREN_MAX];
static size_t n_children;
static pid_t main_pid;

/* The exact bytes our client writes for each call, so the floor moves the same. */
static char ping_req[128], dup_req[128];
static size_t ping_len, dup_len;

static _noreturn_ _printf_(1, 2) void die(const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        fputs("bench-varlink: ", stderr);
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
        va_end(ap);
        if (getpid() != main_pid)
                _exit(1);
        exit(1);
}

static _printf_(1, 2) char *xasprintf(const char *fmt, ...)
{
        va_list ap;
        char *s;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&s, fmt, ap);
        va_end(ap);
        if (r < 0)
                die("out of memory");
        return s;
}

static uint64_t now_ns(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void children_stop(void)
{
        for (size_t i = 0; i < n_children; i++)
                if (children[i] > 0)
                        kill(children[i], SIGTERM);
}

static void cleanup(void)
{
        if (getpid() != main_pid)
                return;
        children_stop();
        for (size_t i = 0; i < n_children; i++)
                if (children[i] > 0)
                        (void)waitpid(children[i], NULL, 0);
        n_children = 0;
        if (server_sock)
                (void)unlink(server_sock);
        if (echo_sock)
                (void)unlink(echo_sock);
        if (dir)
                (void)rmdir(dir);
}

static void on_alarm(int sig)
{
        /* A hang must not outlive the benchmark's bound, nor leave servers behind. */
        children_stop();
        _exit(1);
}

static pid_t spawn(void)
{
        size_t slot = 0;
        pid_t pid;

        /* Reaped children leave their slot free (0). */
        while (slot < n_children && children[slot] > 0)
                slot++;
        if (slot >= CHILDREN_MAX)
                die("too many children");
        pid = fork();
        if (pid < 0)
                die("fork: %m");
        if (pid > 0) {
                children[slot] = pid;
                n_children = MAX(n_children, slot + 1);
        }
        return pid;
}

static void reap(pid_t pid)
{
        int status;

        if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
                die("child %d failed", (int)pid);
        for (size_t i = 0; i < n_children; i++)
                if (children[i] == pid)
                        children[i] = 0;
}

static struct sockaddr_un unix_address(const char *path)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        size_t len = strlen(path);

        if (len >= sizeof(sa.sun_path))
                die("%s is too long for a UNIX socket address (%zu bytes at most)", path,
                    sizeof(sa.sun_path) - 1);
        memcpy(sa.sun_path, path, len + 1);
        return sa;
}

static int unix_connect(const char *path, bool nonblock)
{
        struct sockaddr_un sa = unix_address(path);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

        if (fd < 0)
                die("socket: %m");
        /* A burst of connects can outrun the listener's backlog: wait and retry. */
        for (int i = 0; connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0; i++) {
                if (errno != EAGAIN || i > 1000)
                        die("connect %s: %m", path);
                usleep(1000);
        }
        if (nonblock && fcntl(fd, F_SETFL, O_NONBLOCK) < 0)
                die("fcntl: %m");
        return fd;
}

static void wait_for_socket(const char *path)
{
        struct sockaddr_un sa = unix_address(path);

        for (int i = 0; i < 1000; i++) {
                int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
                int r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));

                safe_close(fd);
                if (r == 0)
                        return;
                usleep(10000);
        }
        die("%s never came up", path);
}

/* ---- the floor: an echo peer ---- */

/* False when the peer is gone. */
static bool send_all(int fd, const void *p, size_t len, const int *fds, size_t n_fds)
{
        union {
                struct cmsghdr hdr;
                char buf[CMSG_SPACE(sizeof(int) * 4)];
        } control = {};

        while (len > 0) {
                struct iovec iov = { .iov_base = (void *)p, .iov_len = len };
                struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
                ssize_t n;

                if (n_fds > 0) {
                        struct cmsghdr *c;

                        mh.msg_control = &control;
                        mh.msg_controllen = CMSG_SPACE(sizeof(int) * n_fds);
                        c = CMSG_FIRSTHDR(&mh);
                        *c = (struct cmsghdr){ .cmsg_len = CMSG_LEN(sizeof(int) * n_fds),
                                               .cmsg_level = SOL_SOCKET,
                                               .cmsg_type = SCM_RIGHTS };
                        memcpy(CMSG_DATA(c), fds, sizeof(int) * n_fds);
                }
                n = sendmsg(fd, &mh, MSG_NOSIGNAL);
                if (n < 0 && errno == EAGAIN) {
                        (void)poll(&(struct pollfd){ .fd = fd, .events = POLLOUT }, 1, -1);
                        continue;
                }
                if (n < 0 && (errno == EPIPE || errno == ECONNRESET))
                        return false;
                if (n < 0)
                        die("sendmsg: %m");
                p = (const char *)p + n;
                len -= (size_t)n;
                n_fds = 0;
        }
        return true;
}

/* Reads what is there and sends it back with any fds it came with. False at end of file. */
static bool echo_once(int fd)
{
        char buf[64 * 1024];
        union {
                struct cmsghdr hdr;
                char buf[CMSG_SPACE(sizeof(int) * 253)];
        } control;
        struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
        struct msghdr mh = { .msg_iov = &iov,
                             .msg_iovlen = 1,
                             .msg_control = &control,
                             .msg_controllen = sizeof(control) };
        struct cmsghdr *c;
        int *fds = NULL;
        size_t n_fds = 0;
        ssize_t n = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
        bool r;

        if (n < 0 && errno == EAGAIN)
                return true;
        if (n <= 0)
                return false;
        c = CMSG_FIRSTHDR(&mh);
        if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
                fds = (int *)(void *)CMSG_DATA(c);
                n_fds = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        }
        /* A client that stops at its deadline leaves its last call unanswered: not an error. */
        r = send_all(fd, buf, (size_t)n, fds, MIN(n_fds, (size_t)4));
        close_many(fds, n_fds);
        return r;
}

/* One thread, one epoll set, like the server it stands in for. */
static _noreturn_ void echo_serve(int listen_fd, int conn_fd)
{
        int ep = epoll_create1(EPOLL_CLOEXEC);

        if (ep < 0)
                die("epoll_create1: %m");
        for (int k = 0; k < 2; k++) {
                int fd = k == 0 ? listen_fd : conn_fd;

                if (fd >= 0 &&
                    epoll_ctl(ep, EPOLL_CTL_ADD, fd,
                              &(struct epoll_event){ .events = EPOLLIN, .data.fd = fd }) < 0)
                        die("epoll_ctl: %m");
        }
        for (;;) {
                struct epoll_event ev[64];
                int n = epoll_wait(ep, ev, 64, -1);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        die("epoll_wait: %m");
                for (int i = 0; i < n; i++) {
                        int fd = ev[i].data.fd, c;

                        if (fd != listen_fd) {
                                if (echo_once(fd))
                                        continue;
                                if (fd == conn_fd)
                                        _exit(0);
                                safe_close(fd);
                                continue;
                        }
                        while ((c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0)
                                if (epoll_ctl(ep, EPOLL_CTL_ADD, c,
                                              &(struct epoll_event){ .events = EPOLLIN,
                                                                     .data.fd = c }) < 0)
                                        die("epoll_ctl: %m");
                }
        }
}

static void echo_listen(void)
{
        struct sockaddr_un sa = unix_address(echo_sock);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

        if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 4096) < 0)
                die("echo socket: %m");
        if (spawn() == 0)
                echo_serve(fd, -1);
        safe_close(fd);
}

/* A peer on a socketpair: the floor for the single-client cases. */
static int echo_pair(void)
{
        int sv[2];

        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
                die("socketpair: %m");
        if (spawn() == 0) {
                safe_close(sv[0]);
                if (fcntl(sv[1], F_SETFL, O_NONBLOCK) < 0)
                        die("fcntl: %m");
                echo_serve(-1, sv[1]);
        }
        safe_close(sv[1]);
        return sv[0];
}

/* ---- one call at a time ---- */

typedef struct measured {
        double p50_us, p99_us, per_sec;
} measured;

typedef struct call_ctx {
        vl_client *client;
        int fd, devnull;
} call_ctx;

static int cmp_u64(const void *a, const void *b)
{
        uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

        return x < y ? -1 : x > y;
}

static measured measure(void (*call)(call_ctx *), call_ctx *ctx)
{
        uint64_t *t = calloc(LATENCY_CALLS_MAX, sizeof(uint64_t)), start, end;
        size_t n = 0;
        measured m;

        if (!t)
                die("out of memory");
        for (int i = 0; i < LATENCY_WARMUP; i++)
                call(ctx);
        start = end = now_ns();
        while (n < LATENCY_CALLS_MAX && end - start < LATENCY_NSEC) {
                uint64_t t0 = end;

                call(ctx);
                end = now_ns();
                t[n++] = end - t0;
        }
        qsort(t, n, sizeof(*t), cmp_u64);
        m = (measured){ .p50_us = (double)t[n / 2] / 1000.0,
                        .p99_us = (double)t[n * 99 / 100] / 1000.0,
                        .per_sec = (double)n * 1e9 / (double)(end - start) };
        free(t);
        return m;
}

static void ours_ping(call_ctx *ctx)
{
        vl_reply reply;
        int r = vl_client_call(ctx->client, "io.ioasid.Test.Ping", NULL, NULL, 0, &reply);

        if (r < 0 || reply.error)
                die("Ping: %s", r < 0 ? strerror(-r) : reply.error);
        vl_reply_done(&reply);
}

static void ours_dup(call_ctx *ctx)
{
        json_object *p = json_object_new_object();
        vl_reply reply;
        int r;

        json_object_object_add(p, "fileDescriptor", json_object_new_int(0));
        r = vl_client_call(ctx->client, "io.ioasid.Test.Dup", p, &ctx->devnull, 1, &reply);
        if (r < 0 || reply.error || reply.n_fds != 1)
                die("Dup: %s", r < 0 ? strerror(-r) : reply.error ?: "no fd");
        vl_reply_done(&reply);
}

static void raw_round_trip(int fd, const char *msg, size_t len, int send_fd)
{
        char buf[256];
        size_t got = 0;

        if (!send_all(fd, msg, len, &send_fd, send_fd >= 0))
                die("echo peer: closed");
        while (got < len) {
                union {
                        struct cmsghdr hdr;
                        char buf[CMSG_SPACE(sizeof(int))];
                } control;
                struct iovec iov = { .iov_base = buf, .iov_len = MIN(sizeof(buf), len - got) };
                struct msghdr mh = { .msg_iov = &iov,
                                     .msg_iovlen = 1,
                                     .msg_control = &control,
                                     .msg_controllen = sizeof(control) };
                ssize_t n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
                struct cmsghdr *c = CMSG_FIRSTHDR(&mh);

                if (n <= 0)
                        die("echo peer: %s", n < 0 ? strerror(errno) : "closed");
                if (c && c->cmsg_type == SCM_RIGHTS)
                        close_many((int *)(void *)CMSG_DATA(c), 1);
                got += (size_t)n;
        }
}

static void floor_ping(call_ctx *ctx)
{
        raw_round_trip(ctx->fd, ping_req, ping_len, -EBADF);
}

static void floor_dup(call_ctx *ctx)
{
        raw_round_trip(ctx->fd, dup_req, dup_len, ctx->devnull);
}

static void request_bytes(const char *method, json_object *params, char *buf, size_t *len)
{
        _cleanup_json_ json_object *msg = json_object_new_object();
        const char *s;
        size_t n;

        /* Built as vl_client_send builds it, so the floor carries byte for byte the same. */
        json_object_object_add(msg, "method", json_object_new_string(method));
        if (params)
                json_object_object_add(msg, "parameters", params);
        s = json_object_to_json_string_length(
                msg, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
        if (!s || n + 1 > 128)
                die("cannot build %s", method);
        memcpy(buf, s, n + 1);
        *len = n + 1;
}

/* ---- many clients at once ---- */

typedef struct conn {
        int fd;
        vl_client *client;
        size_t got;
} conn;

static void conn_send(conn *c)
{
        int r;

        if (!c->client) {
                if (!send_all(c->fd, ping_req, ping_len, NULL, 0))
                        die("echo server: closed");
                return;
        }
        r = vl_client_send(c->client, "io.ioasid.Test.Ping", NULL, 0, NULL, 0);
        if (r < 0)
                die("send: %s", strerror(-r));
}

/* True when a whole reply came in. */
static bool conn_recv(conn *c)
{
        char buf[1024];
        vl_reply reply;
        ssize_t n;
        int r;

        if (c->client) {
                /* Timeout 0: take what is there, keep a partial reply buffered for later. */
                r = vl_client_recv(c->client, &reply);
                if (r == -ETIMEDOUT)
                        return false;
                if (r < 0 || reply.error)
                        die("recv: %s", r < 0 ? strerror(-r) : reply.error);
                vl_reply_done(&reply);
                return true;
        }
        n = read(c->fd, buf, sizeof(buf));
        if (n < 0 && errno == EAGAIN)
                return false;
        if (n <= 0)
                die("echo server: %s", n < 0 ? strerror(errno) : "closed");
        c->got += (size_t)n;
        if (c->got < ping_len)
                return false;
        c->got -= ping_len;
        return true;
}

static _noreturn_ void worker(bool ours, unsigned n, int ready, int go, int result)
{
        conn *conns = calloc(n, sizeof(conn));
        struct pollfd *pfd = calloc(n, sizeof(struct pollfd));
        uint64_t deadline, done = 0;

        if (!conns || !pfd)
                die("out of memory");
        for (unsigned i = 0; i < n; i++) {
                conns[i].fd = unix_connect(ours ? server_sock : echo_sock, true);
                if (ours) {
                        if (vl_client_new_from_fd(conns[i].fd, &conns[i].client) < 0)
                                die("out of memory");
                        vl_client_set_timeout(conns[i].client, 0);
                }
                pfd[i] = (struct pollfd){ .fd = conns[i].fd, .events = POLLIN };
        }
        if (write(ready, "r", 1) != 1 || read(go, &deadline, sizeof(deadline)) != sizeof(deadline))
                die("worker sync: %m");

        /* Every connection keeps one call in flight, as a busy client does. */
        for (unsigned i = 0; i < n; i++)
                conn_send(&conns[i]);
        while (now_ns() < deadline) {
                int k = poll(pfd, n, 100);

                if (k < 0 && errno != EINTR)
                        die("poll: %m");
                for (unsigned i = 0; k > 0 && i < n; i++) {
                        if (!pfd[i].revents)
                                continue;
                        while (conn_recv(&conns[i])) {
                                done++;
                                conn_send(&conns[i]);
                        }
                }
        }
        if (write(result, &done, sizeof(done)) != sizeof(done))
                die("worker result: %m");
        for (unsigned i = 0; i < n; i++)
                if (conns[i].client)
                        vl_client_free(conns[i].client);
                else
                        safe_close(conns[i].fd);
        _exit(0);
}

static double load(bool ours, unsigned n)
{
        unsigned n_workers = MIN(n, (unsigned)WORKERS_MAX);
        pid_t pids[WORKERS_MAX];
        int ready[2], go[2], result[2];
        uint64_t deadline, total = 0, start;

        if (pipe2(ready, O_CLOEXEC) < 0 || pipe2(go, O_CLOEXEC) < 0 || pipe2(result, O_CLOEXEC) < 0)
                die("pipe: %m");
        for (unsigned w = 0; w < n_workers; w++) {
                pids[w] = spawn();
                if (pids[w] == 0)
                        worker(ours, n / n_workers + (w < n % n_workers), ready[1], go[0],
                               result[1]);
        }
        /* Only the workers hold the write ends now: one that dies shows up as end of file. */
        safe_close(ready[1]);
        safe_close(result[1]);
        for (unsigned w = 0; w < n_workers; w++) {
                char c;

                if (poll(&(struct pollfd){ .fd = ready[0], .events = POLLIN }, 1, 30000) != 1 ||
                    read(ready[0], &c, 1) != 1)
                        die("clients did not connect");
        }
        start = now_ns();
        deadline = start + LOAD_NSEC;
        for (unsigned w = 0; w < n_workers; w++)
                if (write(go[1], &deadline, sizeof(deadline)) != sizeof(deadline))
                        die("go: %m");
        for (unsigned w = 0; w < n_workers; w++) {
                uint64_t done;

                if (poll(&(struct pollfd){ .fd = result[0], .events = POLLIN }, 1, 30000) != 1 ||
                    read(result[0], &done, sizeof(done)) != sizeof(done))
                        die("a client process failed");
                total += done;
        }
        for (unsigned w = 0; w < n_workers; w++)
                reap(pids[w]);
        safe_close(ready[0]);
        safe_close(result[0]);
        safe_close(go[0]);
        safe_close(go[1]);
        return (double)total * 1e9 / (double)(now_ns() - start);
}

/* ---- the table ---- */

static void row(const char *name, double ours, double floor, bool lower_is_better)
{
        /* ratio: how many times the floor's cost ours is, whichever way the unit points. */
        double ratio = lower_is_better ? ours / floor : floor / ours;

        printf("%-34s %12.1f %12.1f %7.2f\n", name, ours, floor, ratio);
}

static void server_start(const char *server_bin)
{
        pid_t pid = spawn();

        if (pid == 0) {
                /* Under a thousand clients the limits are the thing measured, not hit. */
                const char *argv[] = { server_bin,  "--socket",
                                       server_sock, "--max-connections",
                                       "8192",      "--max-connections-per-uid",
                                       "8192",      "--idle-timeout",
                                       "0",         NULL };

                setenv("IOASID_LOG_LEVEL", "err", 1);
                execv(server_bin, (char **)argv);
                _exit(127);
        }
        wait_for_socket(server_sock);
}

int main(int argc, char **argv)
{
        static const unsigned loads[] = { 1, 10, 100, 1000 };
        const char *tmp = getenv("TMPDIR") ?: "/tmp";
        struct rlimit rl;
        call_ctx ours = { .fd = -EBADF }, floor = { .fd = -EBADF };
        measured a, b;
        json_object *p;
        char name[64];

        if (argc != 2) {
                fprintf(stderr, "usage: %s SERVER-BINARY\n", argv[0]);
                return 2;
        }
        main_pid = getpid();
        /* A thousand clients and the server's side of each (socket and pidfd) need fds. */
        if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
                die("getrlimit: %m");
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur < 4096)
                die("RLIMIT_NOFILE of %llu is too low for 1000 clients",
                    (unsigned long long)rl.rlim_cur);
        signal(SIGALRM, on_alarm);
        signal(SIGPIPE, SIG_IGN);
        alarm(120);

        /* Not removed at exit before mkdtemp made it: the name is a template until then. */
        dir = xasprintf("%s/bench-varlink-XXXXXX", tmp);
        if (!mkdtemp(dir))
                die("mkdtemp: %m");
        atexit(cleanup);
        server_sock = xasprintf("%s/server.sock", dir);
        echo_sock = xasprintf("%s/echo.sock", dir);
        /* Refused here, before any child depends on them. */
        (void)unix_address(server_sock);
        (void)unix_address(echo_sock);

        request_bytes("io.ioasid.Test.Ping", NULL, ping_req, &ping_len);
        p = json_object_new_object();
        json_object_object_add(p, "fileDescriptor", json_object_new_int(0));
        request_bytes("io.ioasid.Test.Dup", p, dup_req, &dup_len);

        server_start(argv[1]);
        echo_listen();
        wait_for_socket(echo_sock);
        if (vl_client_connect(server_sock, &ours.client) < 0)
                die("cannot connect to the server");
        floor.fd = echo_pair();
        ours.devnull = floor.devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (ours.devnull < 0)
                die("open /dev/null: %m");

        printf("varlink: ours = client.h + varlink-test-server (own process, UNIX socket);\n"
               "floor = the same bytes and fds echoed by a trivial peer over a raw UNIX socket\n"
               "ratio = times the floor's cost (latency ours/floor, throughput floor/ours)\n\n");
        printf("%-34s %12s %12s %7s\n", "case", "ours", "floor", "ratio");

        a = measure(ours_ping, &ours);
        b = measure(floor_ping, &floor);
        row("Ping round trip p50 (us)", a.p50_us, b.p50_us, true);
        row("Ping round trip p99 (us)", a.p99_us, b.p99_us, true);
        row("Ping calls/s, back to back", a.per_sec, b.per_sec, false);

        a = measure(ours_dup, &ours);
        b = measure(floor_dup, &floor);
        row("Dup with 1 fd p50 (us)", a.p50_us, b.p50_us, true);
        row("Dup with 1 fd p99 (us)", a.p99_us, b.p99_us, true);
        row("Dup calls/s, back to back", a.per_sec, b.per_sec, false);
        fflush(stdout);

        vl_client_free(ours.client);
        safe_close(floor.fd);
        safe_close(ours.devnull);

        for (size_t i = 0; i < ELEMENTSOF(loads); i++) {
                double o = load(true, loads[i]), f = load(false, loads[i]);

                snprintf(name, sizeof(name), "Ping calls/s, %u client%s", loads[i],
                         loads[i] > 1 ? "s" : "");
                row(name, o, f, false);
                fflush(stdout);
        }
        return 0;
}
