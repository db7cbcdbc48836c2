# Shared by the daemon's integration tests: a generated fake sysfs, the real ioasidd on it, and
# a small varlink client speaking the wire format directly over the real socket.
import json
import os
import pwd
import signal
import socket
import subprocess
import sys
import tempfile
import time

SKIP = 77


class VarlinkError(Exception):
    def __init__(self, error, parameters):
        super().__init__("%s %s" % (error, json.dumps(parameters)))
        self.error = error
        self.parameters = parameters


class Client:
    def __init__(self, path, timeout=10):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.buf = b""
        self.fds = []  # fds that came with the replies read so far, for the caller to take

    def close(self):
        self.sock.close()

    def send(self, method, parameters=None, more=False, fds=()):
        msg = {"method": method}
        if parameters is not None:
            msg["parameters"] = parameters
        if more:
            msg["more"] = True
        data = json.dumps(msg).encode() + b"\0"
        if fds:
            sent = socket.send_fds(self.sock, [data], list(fds))
            data = data[sent:]
        if data:
            self.sock.sendall(data)

    def receive(self):
        while b"\0" not in self.buf:
            data, fds, _, _ = socket.recv_fds(self.sock, 1 << 20, 253)
            self.fds += fds
            if not data:
                raise EOFError("connection closed by the daemon")
            self.buf += data
        raw, self.buf = self.buf.split(b"\0", 1)
        reply = json.loads(raw)
        if "error" in reply:
            raise VarlinkError(reply["error"], reply.get("parameters", {}))
        return reply

    def call(self, method, parameters=None, fds=()):
        self.send(method, parameters, fds=fds)
        return self.receive().get("parameters", {})

    def take_fds(self):
        fds, self.fds = self.fds, []
        return fds


def expect_error(error, fn, *args, **kw):
    try:
        result = fn(*args, **kw)
    except VarlinkError as e:
        if e.error != error:
            raise AssertionError("expected %s, got %s" % (error, e)) from e
        return e.parameters
    raise AssertionError("expected %s, got a reply: %s" % (error, result))


def wait_for(predicate, what, timeout=10):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError("timed out waiting for " + what)


class Monitor:
    """A Monitor subscription; events() after "ready" are every change since."""

    def __init__(self, path):
        self.client = Client(path)
        self.client.send("io.ioasid.Broker.Monitor", more=True)
        first = self.next()
        assert first["kind"] == "ready", first

    def next(self):
        reply = self.client.receive()
        assert reply.get("continues") is True, reply
        return reply["parameters"]["event"]

    def until(self, match, what):
        """Events up to and including the first that match() accepts."""
        seen = []
        while True:
            try:
                event = self.next()
            except socket.timeout:
                raise AssertionError("no %s event; saw %s" % (what, seen)) from None
            seen.append(event)
            if match(event):
                return seen

    def close(self):
        self.client.close()


class Fixture:
    """A fake sysfs tree and ioasidd serving it. Use as a context manager."""

    def __init__(self, daemon, mkfakesys, layout="seed", create_args=(), policy=None,
                 fake_kernel=None, extra_args=()):
        self.daemon = daemon
        self.mkfakesys = mkfakesys
        # A shell script body run before the generator plays the kernel ("$1" action, "$2"
        # address): tests inject failures and crashes with it.
        self.fake_kernel = fake_kernel or ""
        self.extra_args = list(extra_args)
        self.layout = layout
        self.create_args = list(create_args)
        self.policy = policy or {}
        self.proc = None

    def __enter__(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="ioasid-test-")
        self.root = self.tmp.name
        self.sock = os.path.join(self.root, "io.ioasid.Broker")
        self.uevents = os.path.join(self.root, "uevents")
        self.policy_dir = os.path.join(self.root, "policy.d")
        self.log_path = os.path.join(self.root, "ioasidd.log")
        os.mkdir(self.policy_dir, 0o755)
        for name, text in self.policy.items():
            self.write_policy(name, text)
        self.fakesys("create", "--layout", self.layout, *self.create_args)
        self.kernel_script = os.path.join(self.root, "fake-kernel")
        with open(self.kernel_script, "w") as fh:
            # kernel: what the kernel does for a write, played by the generator.
            fh.write("#!/bin/sh\nkernel() { %s %s --root %s --uevent-socket %s \"$@\"; }\n"
                     "%s\nkernel \"$@\"\n" % (sys.executable, self.mkfakesys, self.root,
                                              self.uevents, self.fake_kernel))
        os.chmod(self.kernel_script, 0o755)
        self.start()
        return self

    def __exit__(self, kind, value, tb):
        status = self.stop()
        if kind is not None or status != 0:
            sys.stderr.write("--- ioasidd log\n" + self.log() + "---\n")
        if kind is None and status != 0:
            raise AssertionError("ioasidd exited with status %d" % status)
        self.tmp.cleanup()
        return False

    def write_policy(self, name, text):
        path = os.path.join(self.policy_dir, name)
        with open(path + ".tmp", "w") as f:
            f.write(text if isinstance(text, str) else json.dumps(text))
        os.chmod(path + ".tmp", 0o644)
        os.rename(path + ".tmp", path)

    def fakesys(self, *args, events=True):
        cmd = [sys.executable, self.mkfakesys, "--root", self.root]
        if events and self.proc:
            cmd += ["--uevent-socket", self.uevents]
        out = subprocess.run(cmd + list(args), capture_output=True, text=True)
        if out.returncode != 0:
            raise AssertionError("mkfakesys %s: %s" % (" ".join(args), out.stderr.strip()))
        return out.stdout

    def rebind(self, address, driver, events=True):
        """Unbind (when bound), then bind: the kernel's order, and its events."""
        if self.tree()[address][1]:
            self.fakesys("unbind", address, events=events)
        self.fakesys("bind", address, driver, events=events)

    def tree(self):
        """address -> (group, driver) as the generator says the tree is."""
        result = {}
        out = self.fakesys("list", events=False)
        for line in out.splitlines():
            assert len(line.split()) >= 3, "mkfakesys list: " + repr(out)
            address, group, driver = line.split()[:3]
            group = group.split("=", 1)[1]
            driver = driver.split("=", 1)[1]
            result[address] = (-1 if group == "-" else int(group),
                               None if driver == "-" else driver)
        return result

    def start(self):
        self.log_file = open(self.log_path, "a")
        # IOASID_DAEMON_WRAPPER (meson test --setup valgrind sets it): a command line the
        # daemon runs under.
        wrapper = os.environ.get("IOASID_DAEMON_WRAPPER", "").split()
        self.proc = subprocess.Popen(
            wrapper + [self.daemon, "--sysfs-root", os.path.join(self.root, "sys"),
             "--dev-root", os.path.join(self.root, "dev"),
             "--state-dir", os.path.join(self.root, "state"),
             "--policy-dir", self.policy_dir, "--socket", self.sock,
             "--uevent-socket", self.uevents, "--backend", "fake",
             "--fake-kernel", self.kernel_script, "--log-level", "debug"] + self.extra_args,
            stdout=self.log_file, stderr=subprocess.STDOUT)
        wait_for(lambda: self.connectable() or self.proc.poll() is not None,
                 "the daemon's socket", timeout=30)
        if self.proc.poll() is not None:
            raise AssertionError("ioasidd exited at start:\n" + self.log())

    def connectable(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(self.sock)
            return True
        except OSError:
            return False
        finally:
            s.close()

    def kill(self):
        """kill -9: no clean-up of any kind."""
        self.proc.kill()
        self.proc.wait()
        self.proc = None
        self.log_file.close()

    def stop(self):
        if not self.proc:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            status = self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            status = self.proc.wait()
        self.proc = None
        self.log_file.close()
        return status

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def client(self):
        return Client(self.sock)

    def call(self, method, parameters=None):
        c = self.client()
        try:
            return c.call(method, parameters)
        finally:
            c.close()

    def send_uevent(self, payload):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            s.sendto(payload, self.uevents)
        finally:
            s.close()

    def alive(self):
        assert self.proc.poll() is None, "ioasidd died:\n" + self.log()
        self.call("org.varlink.service.GetInfo")


def as_nobody(f, method, parameters=None, then=None):
    """Calls method as uid and gid nobody (no supplementary groups) from a child process and
    returns (error, parameters); then(), if given, runs in the child while a lease it got still
    lasts, and its result comes back as a third value. The child's exit ends any lease."""
    nobody = pwd.getpwnam("nobody")
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(r)
            os.setgroups([])
            os.setgid(nobody.pw_gid)
            os.setuid(nobody.pw_uid)
            try:
                result = [None, Client(f.sock).call(method, parameters)]
            except VarlinkError as e:
                result = [e.error, e.parameters]
            if then:
                result.append(then())
            os.write(w, json.dumps(result).encode())
        finally:
            os._exit(0)
    os.close(w)
    with os.fdopen(r) as pipe:
        data = pipe.read()
    os.waitpid(pid, 0)
    assert data, "the unprivileged client failed"
    return tuple(json.loads(data))


def sleeper():
    """A child that waits to be killed: a lease holder. Its stdout is not the test's, so a
    failing test that leaves it behind does not keep meson waiting."""
    pid = os.fork()
    if pid == 0:
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        signal.pause()
        os._exit(0)
    return pid


def run(tests):
    """Runs each test function, prints its name, and exits like a meson test."""
    failed = 0
    only = sys.argv[3:] if len(sys.argv) > 3 else None
    for test in tests:
        if only and test.__name__ not in only:
            continue
        sys.stderr.write("-- %s\n" % test.__name__)
        try:
            test()
        except Exception as e:  # report every failure, then go on with the next test
            failed += 1
            import traceback
            traceback.print_exc()
            sys.stderr.write("FAIL %s: %s\n" % (test.__name__, e))
    sys.exit(1 if failed else 0)
