#!/usr/bin/python3
# Managed mode through the real daemon on the fake tier: the daemon binds a group's devices to
# vfio-pci for a lease and puts their drivers back at its end, all or nothing; a failure half way
# is undone; a daemon killed at any step of a managed Acquire leaves, after a restart, every
# group either wholly leased or wholly back on its drivers, and owned by at most one lease.
# The generator plays the kernel's part of the daemon's sysfs writes (--fake-kernel).
# usage: test-managed.py IOASIDD MKFAKESYS [TEST...]
import json
import os
import pwd
import signal
import sys

from ioasidtest import (SKIP, Fixture, Monitor, as_nobody, expect_error, run, sleeper,
                        wait_for)

DAEMON, MKFAKESYS = sys.argv[1], sys.argv[2]

if os.geteuid() != 0:
    print("needs root: the test acts as an unprivileged owner")
    sys.exit(SKIP)
NOBODY = pwd.getpwnam("nobody")


def fixture(**kw):
    return Fixture(DAEMON, MKFAKESYS, **kw)


def acquire(client, devices, **extra):
    fds = extra.pop("fds", ())
    reply = client.call("io.ioasid.Broker.Acquire", dict(extra, devices=devices), fds=fds)
    return reply, client.take_fds()


def group(f, number):
    return f.call("io.ioasid.Broker.GetGroup", {"group": number})["group"]


def drivers(f, *addresses):
    tree = f.tree()
    return [tree[a][1] for a in addresses]


def records(f):
    result = {}
    for name in os.listdir(os.path.join(f.root, "state")):
        with open(os.path.join(f.root, "state", name)) as fh:
            result[name] = json.load(fh)
    return result


def test_managed_bind_and_restore():
    with fixture() as f:
        c = f.client()
        m = Monitor(f.sock)
        reply, fds = acquire(c, ["0000:00:03.1"], managed=True)
        assert drivers(f, "0000:00:03.0", "0000:00:03.1") == ["vfio-pci", "vfio-pci"]
        g = group(f, 2)
        assert g["viable"] and g["owner"]["lease"] == reply["lease"], g
        rec = records(f)[reply["lease"] + ".json"]
        managed = [d for d in rec["devices"] if d.get("managed")]
        assert [(d["address"], d["originalDriver"]) for d in managed] == [
            ("0000:00:03.0", "virtio-pci")], rec
        assert "binding 1 device(s) of group 2 to vfio-pci" in f.log()
        # The device bound for the lease can be granted to it later without binding again.
        reply2, fds2 = acquire(c, ["0000:00:03.0"], lease=reply["lease"])
        assert reply2["grants"][0]["address"] == "0000:00:03.0"

        c.call("io.ioasid.Broker.Release", {"lease": reply["lease"]})
        m.until(lambda e: e["kind"] == "leaseReleased", "leaseReleased")
        # Released only once the drivers are back.
        assert drivers(f, "0000:00:03.0", "0000:00:03.1") == ["virtio-pci", "vfio-pci"]
        assert "owner" not in group(f, 2) and records(f) == {}
        for fd in fds + fds2:
            os.close(fd)
        m.close()


def test_managed_needs_policy():
    rule = {"name": "nobody-virtio", "subjects": {"uids": [NOBODY.pw_uid]},
            "devices": {"ids": ["1af4:1041"]}, "allow": ["acquire"]}
    with fixture(policy={"50.json": {"rules": [rule]}}) as f:
        os.chmod(f.root, 0o755)

        err, e = as_nobody(f, "io.ioasid.Broker.Acquire", {"devices": ["0000:00:03.1"], "managed": True})
        assert err == "io.ioasid.Broker.PermissionDenied" and "managed" in e["reason"], (err, e)
        assert drivers(f, "0000:00:03.0") == ["virtio-pci"]
        f.write_policy("50.json", {"rules": [dict(rule, allow=["acquire", "managed"])]})
        f.call("io.ioasid.Admin.ReloadPolicy")
        err, e = as_nobody(f, "io.ioasid.Broker.Acquire", {"devices": ["0000:00:03.1"], "managed": True})
        assert err is None, (err, e)
        # The client exited: its lease ends, and the driver comes back.
        wait_for(lambda: drivers(f, "0000:00:03.0") == ["virtio-pci"] and
                 "owner" not in group(f, 2), "the driver restored after the holder left")


def test_managed_path_mode():
    rule = {"name": "nobody-virtio", "subjects": {"uids": [NOBODY.pw_uid]},
            "devices": {"ids": ["1af4:1041"]}, "allow": ["acquire", "managed"]}
    with fixture(create_args=["--kernel", "legacy"],
                 policy={"50.json": {"rules": [rule]}}) as f:
        os.chmod(f.root, 0o755)
        node = os.path.join(f.root, "dev/vfio/2")
        # Bound for the lease, then the node granted: the path in the reply opens for the user.
        err, e, owner = as_nobody(f, "io.ioasid.Broker.Acquire",
                                  {"devices": ["0000:00:03.1"], "managed": True, "pathMode": True},
                                  then=lambda: os.stat(node).st_uid)
        assert err is None, (err, e)
        assert e["grants"] == [{"address": "0000:00:03.1", "group": 2, "path": "/dev/vfio/2"}], e
        assert owner == NOBODY.pw_uid, owner
        wait_for(lambda: drivers(f, "0000:00:03.0") == ["virtio-pci"] and
                 "owner" not in group(f, 2), "the driver restored after the holder left")
        assert os.stat(node).st_uid == 0


def test_pf_with_leased_vfs_not_rebound():
    # Binding a PF to vfio-pci unbinds its driver, which tears its VFs down: never under a VF
    # another lease holds.
    with fixture() as f:
        pf, vf = "0000:00:05.0", "0000:00:15.0"
        assert f.tree()[vf][1] == "igbvf", f.tree()
        c = f.client()
        vf_lease, vf_fds = acquire(c, [vf], managed=True)
        e = expect_error("io.ioasid.Broker.GroupNotViable", acquire, f.client(), [pf],
                         managed=True)
        assert e["group"] == 4 and any(vf in r and "SR-IOV" in r for r in e["reasons"]), e
        assert drivers(f, pf) == ["igb"] and "owner" not in group(f, 4)
        # The same lease may: its own VF goes with the PF it asked for.
        reply, fds = acquire(c, [pf], managed=True, lease=vf_lease["lease"])
        assert drivers(f, pf) == ["vfio-pci"], drivers(f, pf)
        for fd in vf_fds + fds:
            os.close(fd)
        c.call("io.ioasid.Broker.Release", {"lease": vf_lease["lease"]})
        wait_for(lambda: drivers(f, pf) == ["igb"] and "owner" not in group(f, 4),
                 "the PF back on igb")
        # Free VFs do not hold a PF back.
        reply, fds = acquire(c, [pf], managed=True)
        assert drivers(f, pf) == ["vfio-pci"], drivers(f, pf)
        for fd in fds:
            os.close(fd)
        c.call("io.ioasid.Broker.Release", {"lease": reply["lease"]})
        f.alive()


# The kernel's part of the first probe of a device (00:03.0) waits until the test says go; with cancel too,
# or once the test's directory is gone, it gives up instead. Where a real kernel blocks: a PF's driver tearing down its VFs, a device
# open through VFIO.
def gate(address):
    return ('if [ "$1" = probe ] && [ "$2" = %s ] && [ ! -e "$0.gated" ]; then\n'
            '  touch "$0.gated"\n'
            '  while [ ! -e "$0.go" ]; do [ -e "$0" ] || exit 1; sleep 0.1; done\n'
            '  [ -e "$0.cancel" ] && exit 1\n'
            'fi' % address)


GATE = gate("0000:00:03.0")


def test_bind_off_the_main_loop():
    with fixture(fake_kernel=GATE) as f:
        c = f.client()
        c.send("io.ioasid.Broker.Acquire", {"devices": ["0000:00:03.1"], "managed": True})
        wait_for(lambda: os.path.exists(f.kernel_script + ".gated"), "the bind to start")
        # The daemon serves on while the bind waits in the kernel; the group is the lease's.
        f.alive()
        assert "owner" in group(f, 2)
        expect_error("io.ioasid.Broker.GroupBusy", acquire, f.client(), ["0000:00:03.0"])
        open(f.kernel_script + ".go", "w").close()
        reply = c.receive()["parameters"]
        assert drivers(f, "0000:00:03.0") == ["vfio-pci"]
        assert group(f, 2)["owner"]["lease"] == reply["lease"]
        for fd in c.take_fds():
            os.close(fd)
        c.call("io.ioasid.Broker.Release", {"lease": reply["lease"]})
        wait_for(lambda: drivers(f, "0000:00:03.0") == ["virtio-pci"] and
                 "owner" not in group(f, 2), "the driver restored")


def test_holder_exit_during_bind():
    with fixture(fake_kernel=GATE) as f:
        holder = sleeper()
        pidfd = os.pidfd_open(holder)
        c = f.client()
        c.send("io.ioasid.Broker.Acquire", {"devices": ["0000:00:03.1"], "managed": True,
                                            "pidFileDescriptor": 0}, fds=[pidfd])
        os.close(pidfd)
        wait_for(lambda: os.path.exists(f.kernel_script + ".gated"), "the bind to start")
        os.kill(holder, signal.SIGKILL)
        os.waitpid(holder, 0)
        # The lease ends: its bind is stopped, the Acquire answered, the driver put back.
        e = expect_error("io.ioasid.Broker.BackendUnavailable", c.receive)
        assert "ended" in e["reason"], e
        wait_for(lambda: drivers(f, "0000:00:03.0") == ["virtio-pci"] and
                 "owner" not in group(f, 2) and records(f) == {}, "the driver restored")
        # The stopped bind's kernel part gives up, never to probe after the restore.
        open(f.kernel_script + ".cancel", "w").close()
        open(f.kernel_script + ".go", "w").close()
        f.alive()


def test_vf_refused_while_its_pf_is_bound():
    with fixture(fake_kernel=gate("0000:00:05.0")) as f:
        pf, vf = "0000:00:05.0", "0000:00:15.0"
        c = f.client()
        c.send("io.ioasid.Broker.Acquire", {"devices": [pf], "managed": True})
        wait_for(lambda: os.path.exists(f.kernel_script + ".gated"), "the PF's bind to start")
        # The PF's driver is going: its VFs go with it, nobody gets one meanwhile.
        e = expect_error("io.ioasid.Broker.GroupNotViable", acquire, f.client(), [vf],
                         managed=True)
        assert any(pf in r for r in e["reasons"]), e
        assert "owner" not in group(f, 7)
        open(f.kernel_script + ".go", "w").close()
        reply = c.receive()["parameters"]
        assert drivers(f, pf) == ["vfio-pci"]
        for fd in c.take_fds():
            os.close(fd)
        c.call("io.ioasid.Broker.Release", {"lease": reply["lease"]})
        wait_for(lambda: drivers(f, pf) == ["igb"], "the PF back on igb")


def test_failure_half_way_is_undone():
    # The second e1000 behind the bridge refuses vfio-pci.
    fail = '[ "$1" = probe ] && [ "$2" = 0000:01:02.0 ] && exit 1'
    with fixture(fake_kernel=fail) as f:
        e = expect_error("io.ioasid.Broker.GroupNotViable", acquire, f.client(),
                         ["0000:01:01.0"], managed=True)
        assert e["group"] == 3 and any("0000:01:02.0" in r for r in e["reasons"]), e
        assert drivers(f, "0000:01:01.0", "0000:01:02.0") == ["e1000", "e1000"]
        assert "owner" not in group(f, 3) and records(f) == {}
        f.alive()


def check_consistent(f, devices, original):
    """After a restart: the group wholly leased, or wholly back as it was."""
    g = group(f, 3)
    recs = records(f)
    now = drivers(f, *devices)
    if "owner" in g:
        assert len(recs) == 1 and g["owner"]["lease"] + ".json" in recs, (g, recs)
        assert all(d in ("vfio-pci", None) for d in now), now
        return "leased"
    assert recs == {}, recs
    assert now == original, (now, original)
    return "restored"


def test_kill_at_every_step():
    devices = ["0000:01:01.0", "0000:01:02.0"]
    steps = [("unbind", "0000:01:01.0"), ("probe", "0000:01:01.0"),
             ("unbind", "0000:01:02.0"), ("probe", "0000:01:02.0")]
    outcomes = []
    for when in ("before", "after"):
        for action, address in steps:
            # kill -9 of the daemon before or after the kernel's part: the script's parent is
            # the worker that binds, whose parent is the daemon.
            script = ('if [ "$1" = %s ] && [ "$2" = %s ] && [ ! -e "$0.done" ]; then\n'
                      '  touch "$0.done"; %s\n'
                      '  kill -9 $(sed -n "s/^PPid:[[:space:]]*//p" /proc/$PPID/status)\n'
                      '  sleep 5; exit 1\nfi' % (
                          action, address, 'kernel "$@";' if when == "after" else ""))
            with fixture(fake_kernel=script) as f:
                holder = sleeper()
                pidfd = os.pidfd_open(holder)
                try:
                    acquire(f.client(), ["0000:01:01.0"], managed=True, pidFileDescriptor=0,
                            fds=[pidfd])
                    raise AssertionError("the daemon survived %s %s %s" % (when, action,
                                                                            address))
                except (EOFError, ConnectionResetError):
                    pass
                os.close(pidfd)
                f.proc.wait()
                f.proc = None
                f.log_file.close()
                f.start()
                outcome = check_consistent(f, devices, ["e1000", "e1000"])
                # Nobody else gets the group while it is leased.
                if outcome == "leased":
                    expect_error("io.ioasid.Broker.GroupBusy", acquire, f.client(),
                                 ["0000:01:02.0"])
                # And when the holder goes, everything is put back.
                os.kill(holder, signal.SIGKILL)
                os.waitpid(holder, 0)
                wait_for(lambda: check_consistent(f, devices, ["e1000", "e1000"]) == "restored",
                         "the group back on its drivers")
                outcomes.append("%s %s %s: %s" % (when, action, address, outcome))
    sys.stderr.write("\n".join(outcomes) + "\n")


def test_restart_restores_for_dead_holder():
    with fixture() as f:
        holder = sleeper()
        pidfd = os.pidfd_open(holder)
        reply, fds = acquire(f.client(), ["0000:00:03.1"], managed=True, pidFileDescriptor=0,
                             fds=[pidfd])
        os.close(pidfd)
        for fd in fds:
            os.close(fd)
        assert drivers(f, "0000:00:03.0") == ["vfio-pci"]
        f.kill()
        os.kill(holder, signal.SIGKILL)
        os.waitpid(holder, 0)
        f.start()
        wait_for(lambda: drivers(f, "0000:00:03.0") == ["virtio-pci"] and records(f) == {},
                 "the driver restored at start")
        assert "owner" not in group(f, 2)


run([test_managed_bind_and_restore, test_managed_needs_policy, test_managed_path_mode,
     test_pf_with_leased_vfs_not_rebound, test_bind_off_the_main_loop,
     test_holder_exit_during_bind, test_vf_refused_while_its_pf_is_bound,
     test_failure_half_way_is_undone,
     test_restart_restores_for_dead_holder, test_kill_at_every_step])
