#!/usr/bin/python3
# Hostile clients against the real daemon on its real socket: broken framing, wrong types, fd
# floods, budgets, pipelined floods, slow readers and writers, borrowed identities. Each case
# checks that the daemon answers with a clear error or closes the connection, still serves, and
# holds no more fds (and not much more memory) once the hostile connections are gone.
# usage: test-hostile.py IOASIDD MKFAKESYS [TEST...]
import json
import os
import pwd
import resource
import select
import socket
import sys
import time

from ioasidtest import SKIP, Fixture, VarlinkError, expect_error, run, wait_for

DAEMON, MKFAKESYS = sys.argv[1], sys.argv[2]

if os.geteuid() != 0:
    print("needs root: cases run as a second, unprivileged user")
    sys.exit(SKIP)
NOBODY = pwd.getpwnam("nobody")
# What the daemon's limits are (proto/varlink.h): the tests derive their sizes from these.
MESSAGE_SIZE_MAX = 64 * 1024
FDS_PER_UID_MAX = 1024
QUEUED_BYTES_MAX = 16 * 1024 * 1024


def daemon_fds(f):
    return len(os.listdir("/proc/%d/fd" % f.proc.pid))


def settled_fds(f):
    """The daemon's fd count once it stops changing."""
    last = [None]

    def stable():
        n = daemon_fds(f)
        same, last[0] = n == last[0], n
        time.sleep(0.1)
        return same

    wait_for(stable, "the daemon's fds to settle")
    return daemon_fds(f)


def daemon_rss_kib(f):
    with open("/proc/%d/status" % f.proc.pid) as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def sanitized(f):
    with open("/proc/%d/maps" % f.proc.pid) as fh:
        return "libasan" in fh.read()


def raw(f):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(30)
    s.connect(f.sock)
    return s


def read_reply(s):
    """The next message, or None when the daemon closed the connection first."""
    buf = b""
    while b"\0" not in buf:
        try:
            data = s.recv(65536)
        except ConnectionResetError:
            return None
        if not data:
            return None
        buf += data
    return json.loads(buf.split(b"\0", 1)[0])


def closed_by_daemon(s):
    """True when the daemon closed the connection without a reply."""
    return read_reply(s) is None


def call_raw(f, data, fds=()):
    s = raw(f)
    try:
        if fds:
            socket.send_fds(s, [data], list(fds))
        else:
            s.sendall(data)
        return read_reply(s)
    finally:
        s.close()


def pipe_reader_gone(w):
    """The daemon closed every copy it had of the pipe's read end."""
    try:
        os.write(w, b"x")
        return False
    except BrokenPipeError:
        return True


class Steady:
    """The daemon before a case; check() after it: still serving, fds back, RSS bounded."""

    def __init__(self, f, rss_slack_kib=64 * 1024):
        self.f = f
        # After a first call: the daemon opens some things on first use.
        f.alive()
        self.fds = settled_fds(f)
        self.rss = daemon_rss_kib(f)
        self.slack = rss_slack_kib

    def check(self):
        self.f.alive()
        wait_for(lambda: daemon_fds(self.f) <= self.fds, "the daemon's fds back to %d (now %d)"
                 % (self.fds, daemon_fds(self.f)), timeout=30)
        rss = daemon_rss_kib(self.f)
        # A sanitizer's quarantine keeps freed memory: RSS says nothing there.
        assert rss <= self.rss + self.slack or sanitized(self.f), \
            "RSS grew from %d to %d KiB" % (self.rss, rss)


def as_nobody_child(fn):
    """Runs fn() in a child as nobody; returns its pid (exit status 0: fn passed)."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.setgroups([])
            os.setgid(NOBODY.pw_gid)
            os.setuid(NOBODY.pw_uid)
            fn()
            code = 0
        except BaseException:
            import traceback
            traceback.print_exc()
        finally:
            os._exit(code)
    return pid


def wait_child(pid):
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, "child failed: %d" % status


class HostileFixture(Fixture):
    def __enter__(self):
        super().__enter__()
        os.chmod(self.root, 0o755)  # nobody connects too
        return self


def fixture():
    return HostileFixture(DAEMON, MKFAKESYS)


def test_framing():
    with fixture() as f:
        st = Steady(f)
        for bad in [b"\x01\x02garbage\0", b"nul\0", b"{\"method\":\"org.varlink.service.GetInfo\"} x\0",
                    b"{'method':\"org.varlink.service.GetInfo\"}\0",
                    b"{\"method\":\"org.varlink.service.GetInfo\",}\0",
                    b"[" * 64 + b"]" * 64 + b"\0",
                    b"{\"method\":\"org.varlink.service.GetInfo\",\"more\":true,\"oneway\":true}\0",
                    b"{\"method\":\"io.ioasid.Broker.GetGroup\",\"parameters\":[]}\0",
                    b"{\"method\":\"io.ioasid.Broker.GetGroup\",\"junk\":1}\0",
                    # Invalid UTF-8 must not come back in an error reply (nor be taken).
                    b"{\"method\":\"io.ioasid.Broker.Release\",\"parameters\":{\"lease\":\"\xff\"}}\0",
                    b"{\"method\":\"io.ioasid.Broker.Release\",\"parameters\":{\"l\\u0000\":1}}\0"]:
            assert call_raw(f, bad) is None, bad
        # A message over the limit: closed before it is all buffered.
        s = raw(f)
        try:
            s.sendall(b"{\"method\":\"" + b"x" * (MESSAGE_SIZE_MAX + 1024))
        except (BrokenPipeError, ConnectionResetError):
            pass
        assert closed_by_daemon(s)
        s.close()
        # What comes before a NUL is not what runs.
        r = call_raw(f, b"{\"method\":\"io.ioasid.Admin.Rescan\\u0000x\"}\0")
        assert r["error"] == "org.varlink.service.MethodNotFound", r
        assert r["parameters"] == {"method": "io.ioasid.Admin.Rescan\0x"}, r
        r = call_raw(f, b"{\"method\":\"io.ioasid.Broker.Release\",\"parameters\":"
                        b"{\"lease\":\"a\\u0000b\"}}\0")
        assert r == {"error": "org.varlink.service.InvalidParameter",
                     "parameters": {"parameter": "lease"}}, r
        # A slow writer, one byte at a time, is served.
        s = raw(f)
        for b in b"{\"method\":\"io.ioasid.Broker.ListGroups\"}\0":
            s.send(bytes([b]))
        assert "groups" in read_reply(s)["parameters"]
        s.close()
        st.check()


def test_types():
    with fixture() as f:
        st = Steady(f)
        c = f.client()
        for params, bad in [({"group": "1"}, "group"), ({"group": 1.5}, "group"),
                            ({"group": 1e300}, "group"), ({"group": 2 ** 70}, "group"),
                            ({"group": True}, "group"), ({"group": None}, "group"),
                            ({}, "group"), ({"group": 1, "x": 1}, "x")]:
            e = expect_error("org.varlink.service.InvalidParameter", c.call,
                             "io.ioasid.Broker.GetGroup", params)
            assert e == {"parameter": bad}, (params, e)
        for devices in ["0000:00:03.1", [1], [None], [], ["0000:00:03.1\n"], [{"a": 1}]]:
            expect_error("org.varlink.service.InvalidParameter", c.call,
                         "io.ioasid.Broker.Acquire", {"devices": devices})
        # The connection took every error and still serves.
        assert "groups" in c.call("io.ioasid.Broker.ListGroups")
        c.close()
        st.check()


def test_fds():
    with fixture() as f:
        st = Steady(f)
        # fds to a method that takes none: refused, and closed right away.
        r, w = os.pipe()
        reply = call_raw(f, b"{\"method\":\"io.ioasid.Broker.ListGroups\"}\0", fds=[r] * 8)
        os.close(r)
        assert reply == {"error": "org.varlink.service.InvalidParameter",
                         "parameters": {"parameter": "fileDescriptors"}}, reply
        wait_for(lambda: pipe_reader_gone(w), "the daemon to drop the fds")
        os.close(w)
        # 253 fds on a message never finished: the connection goes after a short timeout,
        # and the fds with it.
        r, w = os.pipe()
        s = raw(f)
        socket.send_fds(s, [b"{"], [r] * 253)
        os.close(r)
        assert closed_by_daemon(s)
        wait_for(lambda: pipe_reader_gone(w), "the daemon to drop the fds")
        s.close()
        os.close(w)
        st.check()


def test_fd_budget():
    """nobody opens connections that each hold 253 fds on an unfinished message: past the
    uid's budget they are closed at once, the daemon's fd table stays bounded, and root is
    served meanwhile."""
    with fixture() as f:
        st = Steady(f)
        n = FDS_PER_UID_MAX // 253 + 3
        ready_r, ready_w = os.pipe()
        go_r, go_w = os.pipe()

        def flood():
            os.close(ready_r)
            os.close(go_w)
            r, w = os.pipe()
            socks, refused = [], 0
            for _ in range(n):
                s = raw(f)
                socket.send_fds(s, [b"{"], [r] * 253)
                socks.append(s)
            # Those past the budget are closed; wait (bounded) until at least they are.
            want = n - FDS_PER_UID_MAX // 253
            deadline = time.monotonic() + 30
            while refused < want and time.monotonic() < deadline:
                ready, _, _ = select.select(socks, [], [], 0.5)
                for s in ready:
                    try:
                        gone = s.recv(1) == b""
                    except ConnectionResetError:
                        gone = True
                    if gone:
                        refused += 1
                        socks.remove(s)
            assert refused >= want, refused
            os.write(ready_w, b"x")
            os.read(go_r, 1)  # holds the rest until root has been served

        pid = as_nobody_child(flood)
        os.close(ready_w)
        os.close(go_r)
        assert os.read(ready_r, 1) == b"x", "the flooding child failed"
        assert daemon_fds(f) <= st.fds + FDS_PER_UID_MAX + n, daemon_fds(f)
        f.alive()
        os.write(go_w, b"x")
        wait_child(pid)
        os.close(ready_r)
        os.close(go_w)
        st.check()


def test_pipelined_flood():
    with fixture() as f:
        st = Steady(f)
        s = raw(f)
        n = 2000
        s.sendall(b"{\"method\":\"io.ioasid.Broker.GetGroup\",\"parameters\":{\"group\":2}}\0" * n)
        # One reply per call, all of them, each the group asked for.
        got, buf = 0, b""
        while got < n:
            data = s.recv(1 << 20)
            assert data, "closed after %d replies" % got
            buf += data
            *replies, buf = buf.split(b"\0")
            for r in replies:
                assert json.loads(r)["parameters"]["group"]["group"] == 2, r
            got += len(replies)
        s.close()
        st.check()


def test_slow_reader():
    """Calls without ever reading the replies: the daemon queues up to its limit, then closes
    the connection; its memory goes back."""
    with fixture() as f:
        st = Steady(f, rss_slack_kib=2 * QUEUED_BYTES_MAX // 1024)
        s = raw(f)
        s.settimeout(60)
        call = b"{\"method\":\"io.ioasid.Broker.ListDevices\"}\0"
        sent = 0
        try:
            # Bounded: far more replies than the queue takes.
            while sent < 200000:
                s.sendall(call * 100)
                sent += 100
        except (BrokenPipeError, ConnectionResetError):
            pass
        assert sent < 200000, "the daemon kept queueing replies"
        s.close()
        wait_for(lambda: "queued, closing" in f.log() or "budget" in f.log(),
                 "the daemon to say why it closed")
        st.check()


def test_partial_message_does_not_stall_others():
    with fixture() as f:
        st = Steady(f)
        idle = [raw(f) for _ in range(20)]
        for s in idle:
            s.sendall(b"{\"method\":\"io.ioasid.Broker.ListGr")
        # Others are served while those wait.
        for _ in range(5):
            assert "groups" in f.call("io.ioasid.Broker.ListGroups")
        for s in idle:
            s.close()
        st.check()


def test_borrowed_identity():
    """A nobody process connects, hands the socket to root and exits: calls on it are still
    nobody's, and the process that made them never becomes a lease holder."""
    with fixture() as f:
        st = Steady(f)
        f.rebind("0000:00:03.0", "vfio-pci")
        wait_for(lambda: f.call("io.ioasid.Broker.GetGroup", {"group": 2})["group"]["viable"],
                 "group 2 viable")
        parent, child = socket.socketpair()

        def lend():
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(f.sock)
            socket.send_fds(child, [b"x"], [s.fileno()])

        pid = as_nobody_child(lend)
        wait_child(pid)
        _, fds, _, _ = socket.recv_fds(parent, 1, 1)
        s = socket.socket(fileno=fds[0])
        s.settimeout(30)
        s.sendall(b"{\"method\":\"io.ioasid.Broker.Acquire\",\"parameters\":"
                  b"{\"devices\":[\"0000:00:03.1\"]}}\0")
        r = read_reply(s)
        assert r is None or "error" in r, r
        g = f.call("io.ioasid.Broker.GetGroup", {"group": 2})["group"]
        assert "owner" not in g or g["owner"]["pid"] != os.getpid(), g
        s.close()
        parent.close()
        child.close()
        st.check()


resource.setrlimit(resource.RLIMIT_NOFILE, (resource.getrlimit(resource.RLIMIT_NOFILE)[1],) * 2)
run([test_framing, test_types, test_fds, test_fd_budget, test_pipelined_flood, test_slow_reader,
     test_partial_message_does_not_stall_others, test_borrowed_identity])
