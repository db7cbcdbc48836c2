#!/usr/bin/python3
# io.ioasid.Admin through the real daemon on the fake tier: Revoke asks the holder to let go (the
# kernel's unbind, played by the generator), kills a holder that does not in time, and answers
# once the lease has ended; Bind and Unbind change drivers and refuse leased groups.
# usage: test-admin.py IOASIDD MKFAKESYS [TEST...]
import os
import signal
import sys

from ioasidtest import (SKIP, Fixture, Monitor, expect_error, gone, holder_process, run,
                        sleeper, wait_for)

DAEMON, MKFAKESYS = sys.argv[1], sys.argv[2]

if os.geteuid() != 0:
    print("needs root")
    sys.exit(SKIP)


def fixture(**kw):
    return Fixture(DAEMON, MKFAKESYS, **kw)


def acquire(f, devices, holder, **extra):
    c = f.client()
    pidfd = os.pidfd_open(holder)
    reply = c.call("io.ioasid.Broker.Acquire", dict(extra, devices=devices, pidFileDescriptor=0),
                   fds=[pidfd])
    os.close(pidfd)
    for fd in c.take_fds():
        os.close(fd)
    return reply


def group(f, number):
    return f.call("io.ioasid.Broker.GetGroup", {"group": number})["group"]


def alive(pid):
    try:
        os.kill(pid, 0)
        return os.waitpid(pid, os.WNOHANG) == (0, 0)
    except (ProcessLookupError, ChildProcessError):
        return False


def test_revoke_holder_lets_go():
    with fixture() as f:
        holder = sleeper()
        reply = acquire(f, ["0000:00:03.1"], holder, managed=True)
        m = Monitor(f.sock)
        assert f.call("io.ioasid.Admin.Revoke", {"lease": reply["lease"]}) == {}
        # Answered after the end: the group is free, the managed device back on its driver,
        # the vfio one back on vfio-pci after the unbind that asked the holder.
        assert "owner" not in group(f, 2)
        tree = f.tree()
        assert tree["0000:00:03.0"][1] == "virtio-pci" and tree["0000:00:03.1"][1] == "vfio-pci"
        m.until(lambda e: e["kind"] == "leaseReleased", "leaseReleased")
        log = f.log()
        assert "AUDIT revoke lease=%s uid=0 holder=%d by uid=0" % (reply["lease"], holder) in log
        assert "the holder let go" in log and "killing" not in log
        assert alive(holder)
        os.kill(holder, signal.SIGKILL)
        os.waitpid(holder, 0)
        expect_error("io.ioasid.Admin.NoSuchLease", f.call, "io.ioasid.Admin.Revoke",
                     {"lease": reply["lease"]})
        m.close()


def test_revoke_kills_holder_that_holds_on():
    # The kernel's unbind waits for the holder to close the device (mkfakesys.py plays that
    # wait): this holder never does. Killed after the timeout, it lets go, and the worker that
    # was waiting in the unbind puts the device back on vfio-pci. A worker killed instead (as
    # before) died with the unbind still pending: the device ended up on no driver at all, and
    # with the real kernel the daemon hung waiting for that worker.
    with fixture(wait_for_close=True, extra_args=["--revoke-timeout", "1"]) as f:
        f.rebind("0000:00:03.0", "vfio-pci")
        wait_for(lambda: group(f, 2)["viable"], "group 2 viable")
        holder, reply, _ = holder_process(f, ["0000:00:03.1"])
        assert f.call("io.ioasid.Admin.Revoke", {"lease": reply["lease"]}) == {}
        assert "did not let go in time; killing it" in f.log()
        wait_for(lambda: not alive(holder), "the holder killed")
        assert "owner" not in group(f, 2)
        assert f.tree()["0000:00:03.1"][1] == "vfio-pci"
        # The daemon served others while it waited.
        f.alive()


def test_revoke_kills_whoever_has_the_fds():
    # The holder passed its fds to another process: killing the holder alone would leave the
    # kernel waiting for that one, and the Revoke unanswered.
    with fixture(wait_for_close=True, extra_args=["--revoke-timeout", "1"]) as f:
        f.rebind("0000:00:03.0", "vfio-pci")
        wait_for(lambda: group(f, 2)["viable"], "group 2 viable")
        holder, reply, keeper = holder_process(f, ["0000:00:03.1"], keeper=True)
        c = f.client()
        c.sock.settimeout(120)
        assert c.call("io.ioasid.Admin.Revoke", {"lease": reply["lease"]}) == {}
        c.close()
        wait_for(lambda: not alive(holder), "the holder killed")
        wait_for(lambda: gone(keeper), "the keeper killed")
        assert "pid %d still had a device of the lease open; killed it" % keeper in f.log()
        assert "owner" not in group(f, 2)
        assert f.tree()["0000:00:03.1"][1] == "vfio-pci"


def test_concurrent_revokes():
    # A second Revoke of a lease joins the first: both are answered when the lease has ended
    # (the second used to replace the first's state: a use-after-free, or a call never
    # answered).
    with fixture(wait_for_close=True, extra_args=["--revoke-timeout", "600"]) as f:
        f.rebind("0000:00:03.0", "vfio-pci")
        wait_for(lambda: group(f, 2)["viable"], "group 2 viable")
        holder, reply, _ = holder_process(f, ["0000:00:03.1"])
        calls = [f.client(), f.client()]
        for c in calls:
            c.send("io.ioasid.Admin.Revoke", {"lease": reply["lease"]})
        wait_for(lambda: f.log().count("AUDIT revoke lease=%s" % reply["lease"]) >= 2,
                 "both Revoke calls in")
        # The holder lets go: the lease ends, once.
        os.kill(holder, signal.SIGKILL)
        os.waitpid(holder, 0)
        for c in calls:
            c.sock.settimeout(60)
            assert c.receive().get("parameters", {}) == {}
            c.close()
        assert "owner" not in group(f, 2)
        assert f.tree()["0000:00:03.1"][1] == "vfio-pci"
        f.alive()


def test_bind_unbind():
    with fixture() as f:
        assert f.call("io.ioasid.Admin.Unbind", {"address": "0000:00:03.0"}) == {}
        assert f.tree()["0000:00:03.0"][1] is None
        assert group(f, 2)["viable"] is True
        assert f.call("io.ioasid.Admin.Bind", {"address": "0000:00:03.0",
                                               "driver": "vfio-pci"}) == {}
        assert f.tree()["0000:00:03.0"][1] == "vfio-pci"
        d = [d for d in group(f, 2)["devices"] if d["address"] == "0000:00:03.0"][0]
        assert d["driver"] == "vfio-pci" and "cdev" in d, d
        # A driver that does not take the device: drivers_probe says nothing, the link does.
        e = expect_error("io.ioasid.Admin.BindFailed", f.call, "io.ioasid.Admin.Bind",
                         {"address": "0000:01:01.0", "driver": "no-such-driver"})
        assert e["address"] == "0000:01:01.0" and "did not take it" in e["reason"], e
        for params, bad in (({"address": "../x", "driver": "vfio-pci"}, "address"),
                            ({"address": "0000:00:03.0", "driver": "../vfio"}, "driver"),
                            ({"address": "0000:00:03.0"}, "driver")):
            e = expect_error("org.varlink.service.InvalidParameter", f.call,
                             "io.ioasid.Admin.Bind", params)
            assert e == {"parameter": bad}, e
        expect_error("io.ioasid.Admin.NoSuchDevice", f.call, "io.ioasid.Admin.Unbind",
                     {"address": "0000:7f:00.0"})
        # A leased group is not the admin's to rebind.
        holder = sleeper()
        reply = acquire(f, ["0000:00:03.1"], holder)
        e = expect_error("io.ioasid.Admin.BindFailed", f.call, "io.ioasid.Admin.Unbind",
                         {"address": "0000:00:03.0"})
        assert reply["lease"] in e["reason"], e
        os.kill(holder, signal.SIGKILL)
        os.waitpid(holder, 0)
        assert "AUDIT unbind 0000:00:03.0" in f.log()


run([test_revoke_holder_lets_go, test_revoke_kills_holder_that_holds_on, test_concurrent_revokes,
     test_revoke_kills_whoever_has_the_fds, test_bind_unbind])
