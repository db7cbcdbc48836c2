#!/usr/bin/python3
# A bounded load: 1,000 clients at once, each doing ListGroups, Acquire of one device and
# Release, round after round, for a few seconds and at most a few rounds. Only correctness is
# asserted: every reply is a success or the expected GroupBusy, every client completes at
# least its first round, no lease is left behind, and the daemon's fds come back to where they
# were. How fast it goes is the benchmarks' business.
# usage: test-load.py IOASIDD MKFAKESYS
import errno
import json
import os
import resource
import selectors
import socket
import sys
import time

from ioasidtest import SKIP, Fixture, wait_for

DAEMON, MKFAKESYS = sys.argv[1], sys.argv[2]
CLIENTS = 1000
ROUNDS_MAX = 5
SECONDS = 5          # no new round starts after this
HARD_LIMIT = 600     # only a daemon that stopped answering gets here

if os.geteuid() != 0:
    print("needs root: Acquire hands out device fds")
    sys.exit(SKIP)


def daemon_fds(f):
    return len(os.listdir("/proc/%d/fd" % f.proc.pid))


class Client:
    def __init__(self, path, device):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
        self.sock.setblocking(False)
        self.device = device
        self.out = b""
        self.buf = b""
        self.step = None
        self.rounds = 0
        self.lease = None

    def send(self, method, parameters=None):
        msg = {"method": method}
        if parameters is not None:
            msg["parameters"] = parameters
        self.out += json.dumps(msg).encode() + b"\0"
        self.step = method.rsplit(".", 1)[1]


def main():
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    # One device per group, every fifth group on vfio-pci: four devices to fight over.
    with Fixture(DAEMON, MKFAKESYS, layout="scale",
                 create_args=("--devices", "16", "--groups", "16")) as f:
        groups = f.call("io.ioasid.Broker.ListGroups")["groups"]
        devices = [d["address"] for g in groups if g["viable"] for d in g["devices"]
                   if d.get("driver") == "vfio-pci"]
        assert len(devices) >= 2, groups
        f.alive()
        baseline = daemon_fds(f)

        sel = selectors.DefaultSelector()
        clients = []
        for i in range(CLIENTS):
            c = Client(f.sock, devices[i % len(devices)])
            c.send("io.ioasid.Broker.ListGroups")
            clients.append(c)
            sel.register(c.sock, selectors.EVENT_READ | selectors.EVENT_WRITE, c)
        errors, acquired, busy = [], 0, 0
        start = time.monotonic()
        active = len(clients)

        def done(c):
            nonlocal active
            sel.unregister(c.sock)
            c.sock.close()
            active -= 1

        def on_reply(c, reply):
            nonlocal acquired, busy
            error = reply.get("error")
            if c.step == "ListGroups":
                if error:
                    errors.append(reply)
                c.send("io.ioasid.Broker.Acquire", {"devices": [c.device]})
            elif c.step == "Acquire":
                if error == "io.ioasid.Broker.GroupBusy":
                    busy += 1
                    return end_round(c)
                if error:
                    errors.append(reply)
                    return end_round(c)
                acquired += 1
                c.lease = reply["parameters"]["lease"]
                c.send("io.ioasid.Broker.Release", {"lease": c.lease})
            elif c.step == "Release":
                if error:
                    errors.append(reply)
                end_round(c)

        def end_round(c):
            c.rounds += 1
            if c.rounds >= ROUNDS_MAX or time.monotonic() - start > SECONDS:
                c.step = None
                return
            c.send("io.ioasid.Broker.ListGroups")

        while active and time.monotonic() - start < HARD_LIMIT:
            for key, mask in sel.select(timeout=1):
                c = key.data
                if mask & selectors.EVENT_WRITE and c.out:
                    try:
                        c.out = c.out[c.sock.send(c.out):]
                    except BlockingIOError:
                        pass
                if mask & selectors.EVENT_READ:
                    try:
                        data, fds, _, _ = socket.recv_fds(c.sock, 1 << 16, 64)
                    except BlockingIOError:
                        continue
                    for fd in fds:
                        os.close(fd)
                    if not data:
                        errors.append({"closed": c.step})
                        done(c)
                        continue
                    c.buf += data
                    while b"\0" in c.buf and c.step:
                        raw, c.buf = c.buf.split(b"\0", 1)
                        on_reply(c, json.loads(raw))
                    if not c.step:
                        done(c)
                        continue
                sel.modify(c.sock, selectors.EVENT_READ |
                           (selectors.EVENT_WRITE if c.out else 0), c)
        for c in clients:
            if c.step:
                done(c)
        sel.close()

        print("%d clients, %d rounds, %d acquired, %d GroupBusy" %
              (CLIENTS, sum(c.rounds for c in clients), acquired, busy))
        assert not errors, errors[:10]
        assert all(c.rounds >= 1 for c in clients), "clients that never finished a round: %d" % \
            sum(c.rounds == 0 for c in clients)
        assert acquired >= 1
        groups = f.call("io.ioasid.Broker.ListGroups")["groups"]
        assert not any("owner" in g for g in groups), "a lease was left behind"
        wait_for(lambda: daemon_fds(f) <= baseline,
                 "the daemon's fds back to %d (now %d)" % (baseline, daemon_fds(f)), timeout=60)
        f.alive()


try:
    main()
except OSError as e:
    if e.errno == errno.EMFILE:
        print("this process cannot open %d sockets" % CLIENTS)
        sys.exit(SKIP)
    raise
