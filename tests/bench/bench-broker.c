/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The daemon as clients see it, on a generated tree of 16,384 devices in 4,096 groups: start-up
 * (exec to the first connection, beside the model's own scan of the tree) and RSS, ListGroups,
 * ListDevices and GetGroup over the real socket, each beside its floor, the same reply bytes
 * carried over a raw UNIX socket pair in the same run; then the time from a bind's uevent to its
 * Monitor event, and a storm of 256 VFs appearing at once until the daemon has seen every one.
 *
 * The daemon's state directory (its lease records) is on a tmpfs whatever TMPDIR says, as in
 * production: there it is /run/ioasid (RuntimeDirectory= of ioasidd.service), where fsync()
 * costs nothing. In the generated tree, which follows TMPDIR, it would be on a disk under
 * TMPDIR=/tmp, where each record written costs two fsyncs of 300-700 µs apiece on ext4: the
 * Acquire row would measure the disk, not the daemon.
 *
 * Usage: bench-broker IOASIDD PYTHON MKFAKESYS [DEVICES] */
#include <linux/magic.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/statfs.h>
#include <sys/un.h>
#include <time.h>

#include "../fakesys/fakesys.h"
#include "bench.h"
#include "client.h"
#include "json-cleanup.h"
#include "log.h"
#include "macro.h"
#include "model.h"
#include "tests.h"

static const char *daemon_bin;
static pid_t daemon_pid;
static char sock_path[400], uevent_path[400], state[400];

/* A fresh directory on a tmpfs for the lease records, as production keeps them (see above):
 * under $XDG_RUNTIME_DIR or /dev/shm, whichever is one; in the tree when neither is, and said. */
static void make_state_dir(const fakesys *f)
{
        const char *const bases[] = { getenv("XDG_RUNTIME_DIR"), "/dev/shm" };
        struct statfs sfs;

        for (size_t i = 0; i < ELEMENTSOF(bases); i++) {
                if (!bases[i] || statfs(bases[i], &sfs) < 0 || sfs.f_type != TMPFS_MAGIC)
                        continue;
                snprintf(state, sizeof(state), "%s/ioasid-bench-state-XXXXXX", bases[i]);
                if (mkdtemp(state))
                        return;
        }
        snprintf(state, sizeof(state), "%s/state", f->root);
        printf("| (no tmpfs found: lease records in %s, fsync() included) | | |\n", state);
}

/* Whether the daemon takes connections yet: its socket's file appears at bind(), a moment
 * before listen(), and a connect() in between is refused. */
static bool connectable(void)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        bool ok;

        ASSERT_TRUE(fd >= 0 && strlen(sock_path) < sizeof(sa.sun_path));
        memcpy(sa.sun_path, sock_path, strlen(sock_path));
        ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
        close(fd);
        return ok;
}

static double start_daemon(const fakesys *f)
{
        char sys[600], dev[600], policy[600];
        double t0 = now_ms();

        make_state_dir(f);
        snprintf(sys, sizeof(sys), "%s/sys", f->root);
        snprintf(dev, sizeof(dev), "%s/dev", f->root);
        snprintf(policy, sizeof(policy), "%s/policy.d", f->root);
        snprintf(sock_path, sizeof(sock_path), "%s/sock", f->root);
        snprintf(uevent_path, sizeof(uevent_path), "%s/uevents", f->root);
        daemon_pid = fork();
        ASSERT_TRUE(daemon_pid >= 0);
        if (daemon_pid == 0) {
                execl(daemon_bin, daemon_bin, "--sysfs-root", sys, "--dev-root", dev, "--state-dir",
                      state, "--policy-dir", policy, "--socket", sock_path, "--uevent-socket",
                      uevent_path, "--backend", "fake", "--log-level", "warning", (char *)NULL);
                _exit(127);
        }
        /* The socket appears once the first scan is done. */
        for (int i = 0; i < 60000 && !connectable(); i++)
                usleep(1000);
        ASSERT_TRUE(connectable());
        return now_ms() - t0;
}

static void stop_daemon(void)
{
        kill(daemon_pid, SIGTERM);
        waitpid(daemon_pid, NULL, 0);
        /* Empty once every lease is released; one in the tree goes with it. */
        (void)rmdir(state);
}

/* The serialized reply as the daemon sent it: what the floor carries. */
static size_t reply_bytes(const vl_reply *r)
{
        return strlen(json_object_to_json_string_ext(r->parameters, JSON_C_TO_STRING_PLAIN)) +
               sizeof("{\"parameters\":}");
}

/* A one-byte request answered by n bytes and a NUL from another process over a socket pair,
 * the first bytes carrying n_fds fds (SCM_RIGHTS) when there are any: the least a round trip
 * with a reply of that size (and those fds) costs, without any JSON. */
static double floor_ms(size_t n, int n_fds, int rounds)
{
        _cleanup_free_ char *buf = malloc(n + 1);
        double *t = calloc((size_t)rounds, sizeof(double)), m;
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int) * 8)];
        } control;
        int sv[2];
        pid_t pid;

        ASSERT_TRUE(buf && t && n_fds >= 0 && n_fds <= 8);
        memset(buf, 'x', n);
        buf[n] = 0;
        ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
        pid = fork();
        ASSERT_TRUE(pid >= 0);
        if (pid == 0) {
                int fds[8];
                char c;

                close(sv[0]);
                for (int i = 0; i < n_fds; i++)
                        fds[i] = open("/dev/null", O_RDWR | O_CLOEXEC);
                while (read(sv[1], &c, 1) == 1)
                        for (size_t off = 0; off <= n;) {
                                struct iovec iov = { .iov_base = buf + off,
                                                     .iov_len = n + 1 - off };
                                struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
                                ssize_t k;

                                if (off == 0 && n_fds > 0) {
                                        struct cmsghdr *cm;

                                        memset(&control, 0, sizeof(control));
                                        mh.msg_control = &control;
                                        mh.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)n_fds);
                                        cm = CMSG_FIRSTHDR(&mh);
                                        cm->cmsg_level = SOL_SOCKET;
                                        cm->cmsg_type = SCM_RIGHTS;
                                        cm->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)n_fds);
                                        memcpy(CMSG_DATA(cm), fds, sizeof(int) * (size_t)n_fds);
                                }
                                k = sendmsg(sv[1], &mh, 0);
                                if (k <= 0)
                                        _exit(1);
                                off += (size_t)k;
                        }
                _exit(0);
        }
        close(sv[1]);
        for (int i = 0; i < rounds; i++) {
                double t0 = now_ms();
                int got_fds = 0;

                ASSERT_EQ(write(sv[0], "?", 1), 1);
                for (size_t got = 0; got <= n;) {
                        struct iovec iov = { .iov_base = buf, .iov_len = n + 1 };
                        struct msghdr mh = { .msg_iov = &iov,
                                             .msg_iovlen = 1,
                                             .msg_control = &control,
                                             .msg_controllen = sizeof(control) };
                        ssize_t k = recvmsg(sv[0], &mh, MSG_CMSG_CLOEXEC);

                        ASSERT_TRUE(k > 0);
                        for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
                                for (size_t j = 0; j < (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                                     j++, got_fds++)
                                        close(((int *)(void *)CMSG_DATA(cm))[j]);
                        got += (size_t)k;
                }
                ASSERT_EQ(got_fds, n_fds);
                t[i] = now_ms() - t0;
        }
        close(sv[0]);
        waitpid(pid, NULL, 0);
        m = median(t, (size_t)rounds);
        free(t);
        return m;
}

static double call_ms(vl_client *c, const char *method, json_object *params, int rounds,
                      size_t *ret_bytes)
{
        double *t = calloc((size_t)rounds, sizeof(double)), m;

        ASSERT_TRUE(t);
        for (int i = 0; i < rounds; i++) {
                vl_reply r;
                double t0 = now_ms();

                ASSERT_OK(vl_client_call(c, method, params ? json_object_get(params) : NULL, NULL,
                                         0, &r));
                t[i] = now_ms() - t0;
                ASSERT_TRUE(!r.error);
                if (ret_bytes)
                        *ret_bytes = reply_bytes(&r);
                vl_reply_done(&r);
        }
        m = median(t, (size_t)rounds);
        free(t);
        return m;
}

static void send_uevent(const char *payload, size_t len)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

        ASSERT_TRUE(strlen(uevent_path) < sizeof(sa.sun_path));
        memcpy(sa.sun_path, uevent_path, strlen(uevent_path));
        ASSERT_TRUE(sendto(fd, payload, len, 0, (struct sockaddr *)&sa, sizeof(sa)) ==
                    (ssize_t)len);
        close(fd);
}

typedef struct counter {
        const char *kind;
        int want, seen;
} counter;

static int on_event(const vl_reply *r, void *userdata)
{
        counter *c = userdata;
        json_object *e, *k;

        ASSERT_TRUE(!r->error);
        if (json_object_object_get_ex(r->parameters, "event", &e) &&
            json_object_object_get_ex(e, "kind", &k) && streq(json_object_get_string(k), c->kind))
                c->seen++;
        return c->seen >= c->want;
}

/* A Monitor subscription on its own connection, past its "ready" event. */
static vl_client *monitor(void)
{
        vl_client *c;
        counter ready = { "ready", 1, 0 };

        ASSERT_OK(vl_client_connect(sock_path, &c));
        vl_client_set_timeout(c, 60000);
        ASSERT_EQ(vl_client_call_more(c, "io.ioasid.Broker.Monitor", NULL, on_event, &ready), 1);
        return c;
}

/* Waits on an open Monitor call for want events of kind. */
static void wait_events(vl_client *c, const char *kind, int want)
{
        counter n = { kind, want, 0 };

        while (n.seen < n.want) {
                vl_reply r;

                ASSERT_OK(vl_client_recv(c, &r));
                on_event(&r, &n);
                vl_reply_done(&r);
        }
}

static void row(const char *measure, double ms, double floor, const char *floor_what)
{
        if (ms >= 1)
                printf("| %s | %.2f ms | %.2f ms (%s) | %.1f× |\n", measure, ms, floor, floor_what,
                       ms / floor);
        else
                printf("| %s | %.1f µs | %.1f µs (%s) | %.1f× |\n", measure, ms * 1e3, floor * 1e3,
                       floor_what, ms / floor);
}

/* This process (and what it forks from now on) and the daemon on one CPU, or both back on all
 * of them. A reply that wakes a vCPU gone idle while the daemon worked costs a trip through the
 * hypervisor, about 110 µs on the 2-vCPU guest this was measured on (a socketpair ping-pong
 * whose server spins 200 µs: 24 µs over that on one CPU, 134 µs across two), a cost the raw
 * floor, answered at once, never pays. Unpinned, the same Acquire+Release measured 200 µs in
 * one run and 600 µs in the next, as the scheduler placed the processes. */
static void pin_together(bool pin)
{
        cpu_set_t set;

        CPU_ZERO(&set);
        if (pin)
                CPU_SET(sched_getcpu(), &set);
        else
                for (int i = 0; i < CPU_SETSIZE; i++)
                        CPU_SET(i, &set);
        ASSERT_OK(sched_setaffinity(0, sizeof(set), &set));
        ASSERT_OK(sched_setaffinity(daemon_pid, sizeof(set), &set));
}

/* Acquire of one device and Release of its lease, as one client would: two calls, measured
 * with the client, the daemon and the floor's two processes on one CPU (pin_together()). */
static void bench_acquire(vl_client *c, const char *address)
{
        enum { ROUNDS = 301 };
        double t[ROUNDS];
        size_t acquired = 0, released = 0;

        pin_together(true);

        for (int i = 0; i < ROUNDS; i++) {
                _cleanup_json_ json_object *p = json_object_new_object(),
                                           *a = json_object_new_array();
                json_object *lease;
                vl_reply r;
                double t0 = now_ms();

                json_object_array_add(a, json_object_new_string(address));
                json_object_object_add(p, "devices", TAKE_PTR(a));
                ASSERT_OK(vl_client_call(c, "io.ioasid.Broker.Acquire", TAKE_PTR(p), NULL, 0, &r));
                ASSERT_TRUE(!r.error);
                ASSERT_TRUE(json_object_object_get_ex(r.parameters, "lease", &lease));
                p = json_object_new_object();
                json_object_object_add(p, "lease", json_object_get(lease));
                acquired = reply_bytes(&r);
                vl_reply_done(&r);
                ASSERT_OK(vl_client_call(c, "io.ioasid.Broker.Release", TAKE_PTR(p), NULL, 0, &r));
                ASSERT_TRUE(!r.error);
                released = reply_bytes(&r);
                vl_reply_done(&r);
                t[i] = now_ms() - t0;
        }
        /* Two calls, two round trips: the floor is both replies carried raw, one after the
         * other, the first with its 2 fds. */
        row("Acquire+Release, 1 device, one CPU", median(t, ROUNDS),
            floor_ms(acquired, 2, ROUNDS) + floor_ms(released, 0, ROUNDS),
            "the same 2 replies, the first with 2 fds, raw");
        pin_together(false);
}

/* A connection of our own, speaking the protocol by hand. */
static int raw_connect(void)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

        ASSERT_TRUE(fd >= 0 && strlen(sock_path) < sizeof(sa.sun_path));
        memcpy(sa.sun_path, sock_path, strlen(sock_path));
        ASSERT_OK(connect(fd, (struct sockaddr *)&sa, sizeof(sa)));
        return fd;
}

static void raw_send(int fd, const char *request)
{
        ASSERT_EQ(write(fd, request, strlen(request) + 1), (ssize_t)strlen(request) + 1);
}

/* Reads one reply to its NUL; its size with the NUL. */
static size_t raw_recv(int fd, char *buf, size_t size)
{
        for (size_t got = 0;;) {
                ssize_t k = read(fd, buf, size);

                ASSERT_TRUE(k > 0);
                got += (size_t)k;
                if (buf[k - 1] == 0)
                        return got;
        }
}

/* The daemon's side of a call, as the floor measures a raw transfer: from the request written
 * until the last byte of the reply is read, with no JSON parsed on the client's side. */
static double raw_call_ms(const char *request, int rounds, size_t *ret_bytes)
{
        size_t size = 1 << 20;
        _cleanup_free_ char *buf = malloc(size);
        double *t = calloc((size_t)rounds, sizeof(double)), m;
        int fd = raw_connect();

        ASSERT_TRUE(buf && t);
        for (int i = 0; i < rounds; i++) {
                double t0 = now_ms();

                raw_send(fd, request);
                *ret_bytes = raw_recv(fd, buf, size);
                t[i] = now_ms() - t0;
        }
        close(fd);
        m = median(t, (size_t)rounds);
        free(t);
        return m;
}

/* Many clients asking for the largest reply at once: every reply is queued before the first
 * is read. */
static void burst(const char *request, int clients)
{
        size_t size = 1 << 20;
        _cleanup_free_ char *buf = malloc(size);
        int fds[64];

        ASSERT_TRUE(buf && clients <= (int)ELEMENTSOF(fds));
        for (int i = 0; i < clients; i++) {
                fds[i] = raw_connect();
                raw_send(fds[i], request);
        }
        for (int i = 0; i < clients; i++) {
                (void)raw_recv(fds[i], buf, size);
                close(fds[i]);
        }
}

/* The model's full scan of the tree, in this process: the part of the daemon's start that no
 * start can skip, measured beside it. */
static double scan_ms(const fakesys *f)
{
        model *m = NULL;
        double t0;

        ASSERT_OK(model_new(f->sys_fd, NULL, &m));
        t0 = now_ms();
        ASSERT_OK(model_scan(m, NULL));
        t0 = now_ms() - t0;
        model_free(m);
        return t0;
}

static void bench_tree(const char *python, const char *script, const char *devices)
{
        static const char list_groups[] = "{\"method\":\"io.ioasid.Broker.ListGroups\"}",
                          list_devices[] = "{\"method\":\"io.ioasid.Broker.ListDevices\"}",
                          get_group[] = "{\"method\":\"io.ioasid.Broker.GetGroup\","
                                        "\"parameters\":{\"group\":7}}";
        char groups[32], what[128], floor_what[64];
        fakesys f;
        vl_client *c;
        size_t bytes = 0;
        double start[3], scan[3], ms;
        long rss_start, rss_warm, rss_burst;

        snprintf(groups, sizeof(groups), "%d", atoi(devices) / 4);
        fakesys_new(&f, python, script, "--layout", "scale", "--devices", devices, "--groups",
                    groups);
        /* Taking turns, so that both see the same caches and the same load. */
        for (size_t i = 0; i < ELEMENTSOF(start); i++) {
                if (i > 0)
                        stop_daemon();
                scan[i] = scan_ms(&f);
                start[i] = start_daemon(&f);
        }
        rss_start = rss_kib(daemon_pid);
        ASSERT_OK(vl_client_connect(sock_path, &c));
        vl_client_set_timeout(c, 60000);

        /* The first listing renders every description; the rounds measure the rest. */
        (void)raw_call_ms(list_groups, 1, &bytes);
        (void)raw_call_ms(list_devices, 1, &bytes);
        rss_warm = rss_kib(daemon_pid);

        ms = raw_call_ms(list_groups, 21, &bytes);
        snprintf(what, sizeof(what), "ListGroups, %s groups / %s devices", groups, devices);
        snprintf(floor_what, sizeof(floor_what), "raw transfer of the same %zu bytes", bytes);
        row(what, ms, floor_ms(bytes, 0, 21), floor_what);
        ms = raw_call_ms(list_devices, 21, &bytes);
        snprintf(what, sizeof(what), "ListDevices, %s devices", devices);
        snprintf(floor_what, sizeof(floor_what), "raw transfer of the same %zu bytes", bytes);
        row(what, ms, floor_ms(bytes, 0, 21), floor_what);
        ms = raw_call_ms(get_group, 2001, &bytes);
        snprintf(floor_what, sizeof(floor_what), "raw, %zu bytes", bytes);
        row("GetGroup", ms, floor_ms(bytes, 0, 2001), floor_what);
        /* What a client of libioasid's kind adds on its side: json-c parsing the reply. */
        printf("| ListGroups through the C client, reply parsed (json-c) | %.2f ms | | |\n",
               call_ms(c, "io.ioasid.Broker.ListGroups", NULL, 5, NULL));

        /* The scale layout's first group is all on vfio-pci. */
        bench_acquire(c, "0000:00:00.0");

        for (int i = 0; i < 4; i++) {
                burst(list_groups, 16);
                burst(list_devices, 16);
        }
        usleep(100 * 1000);
        rss_burst = rss_kib(daemon_pid);
        row("daemon start, exec to first connection", median(start, ELEMENTSOF(start)),
            median(scan, ELEMENTSOF(scan)), "the model's full scan of the same tree");
        printf("| daemon RSS: idle / descriptions cached / after bursts of 16 listings at once "
               "| %.1f / %.1f / %.1f MiB | | |\n",
               rss_start / 1024.0, rss_warm / 1024.0, rss_burst / 1024.0);
        vl_client_free(c);
        stop_daemon();
        fakesys_free(&f);
}

static void bench_events(const char *python, const char *script)
{
        static const char spec[] =
                "{\"kernel\": \"iommufd\", \"devices\": [{\"address\": \"0000:00:05.0\", "
                "\"group\": 4, \"driver\": \"igb\", \"sriov\": {\"totalvfs\": 256, "
                "\"numvfs\": 0, \"offset\": 128, \"stride\": 1, \"vf_device\": \"0x10ca\"}}, "
                "{\"address\": \"0000:00:03.0\", \"group\": 2, \"driver\": \"virtio-pci\"}]}";
        static const char unbind[] = "unbind@/devices/pci0000:00/0000:00:03.0\0ACTION=unbind\0"
                                     "DEVPATH=/devices/pci0000:00/0000:00:03.0\0SUBSYSTEM=pci\0"
                                     "PCI_SLOT_NAME=0000:00:03.0\0SEQNUM=1";
        static const char bind[] = "bind@/devices/pci0000:00/0000:00:03.0\0ACTION=bind\0"
                                   "DEVPATH=/devices/pci0000:00/0000:00:03.0\0SUBSYSTEM=pci\0"
                                   "DRIVER=virtio-pci\0PCI_SLOT_NAME=0000:00:03.0\0SEQNUM=2";
        char spec_path[600], storm[32];
        double t[21], t0;
        fakesys f;
        vl_client *m;
        int fd;

        snprintf(spec_path, sizeof(spec_path), "/tmp/ioasid-bench-spec-XXXXXX");
        fd = mkstemp(spec_path);
        ASSERT_TRUE(fd >= 0 && write(fd, spec, sizeof(spec) - 1) == sizeof(spec) - 1);
        close(fd);
        fakesys_new(&f, python, script, "--spec", spec_path);
        unlink(spec_path);
        start_daemon(&f);
        m = monitor();

        /* The batch waits for 10 ms of quiet: that is most of this number, by design. */
        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                const char *msg = i % 2 ? bind : unbind;
                size_t len = i % 2 ? sizeof(bind) : sizeof(unbind);

                /* The tree changed as the kernel changes it (the driver link and the device's
                 * uevent attribute), its event sent here: the time is the daemon's alone. */
                if (i % 2)
                        ASSERT_EQ(fakesys_run(&f, "bind", "0000:00:03.0", "virtio-pci"), 0);
                else
                        ASSERT_EQ(fakesys_run(&f, "unbind", "0000:00:03.0"), 0);
                t0 = now_ms();
                send_uevent(msg, len);
                wait_events(m, "driverChanged", 1);
                t[i] = now_ms() - t0;
        }
        printf("| uevent to Monitor event | %.2f ms | 10 ms batching quiet time | |\n",
               median(t, ELEMENTSOF(t)));

        t0 = now_ms();
        ASSERT_EQ(fakesys_run(&f, "--uevent-socket", uevent_path, "set-numvfs", "0000:00:05.0",
                              "256"),
                  0);
        snprintf(storm, sizeof(storm), "%.0f", now_ms() - t0);
        wait_events(m, "deviceAdded", 256);
        printf("| 256-VF storm settled (all deviceAdded seen) | %.0f ms | %s ms to write the "
               "tree and send the uevents | |\n",
               now_ms() - t0, storm);
        vl_client_free(m);
        stop_daemon();
        fakesys_free(&f);
}

int main(int argc, char **argv)
{
        ASSERT_TRUE(argc >= 4);
        daemon_bin = argv[1];
        signal(SIGPIPE, SIG_IGN);
        log_set_max_level(LOG_WARNING);
        setvbuf(stdout, NULL, _IOLBF, 0);
        printf("| measure | ioasidd | floor | ratio |\n|---|---|---|---|\n");
        bench_tree(argv[2], argv[3], argc > 4 ? argv[4] : "16384");
        bench_events(argv[2], argv[3]);
        return 0;
}
