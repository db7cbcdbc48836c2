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
import select
import signal
import sys

from ioasidtest import (SKIP, Fixture, Monitor, as_nobody, expect_error, gone, holder_process,
                        run, sleeper, wait_for)

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

# Blocks the kernel's part of the first unbind of 0000:00:03.0 after the test touches
# "$0.armed" (the unbind of putting its driver back) until "$0.go" appears; "$0.reached" says it
# got there, "$0.worker" names the writer (the daemon's worker), "$0.finished" that it is done.
HOLD_RESTORE = (
    'if [ "$1" = unbind ] && [ "$2" = 0000:00:03.0 ] && [ -e "$0.armed" ] && '
    '[ ! -e "$0.reached" ]; then\n'
    '  echo $PPID > "$0.worker"; touch "$0.reached"\n'
    '  while [ ! -e "$0.go" ]; do sleep 0.02; done\n'
    '  kernel "$@"; touch "$0.finished"; exit 0\n'
    'fi')


def test_release_answers_when_drivers_are_back():
    # Release used to answer at once, while the drivers were still being put back and
    # GetGroup still named the lease: an Acquire right after it got GroupBusy.
    with fixture(fake_kernel=HOLD_RESTORE) as f:
        script = f.kernel_script
        c = f.client()
        reply, fds = acquire(c, ["0000:00:03.1"], managed=True)
        for fd in fds:
            os.close(fd)
        open(script + ".armed", "w").close()
        c.send("io.ioasid.Broker.Release", {"lease": reply["lease"]})
        wait_for(lambda: os.path.exists(script + ".reached"), "the restore's unbind")
        # Not answered while the driver is not back (nothing to wait for: the answer would
        # have been sent before the restore began).
        assert select.select([c.sock], [], [], 0)[0] == [], "Release answered too early"
        open(script + ".go", "w").close()
        c.sock.settimeout(60)
        assert c.receive().get("parameters", {}) == {}
        assert drivers(f, "0000:00:03.0") == ["virtio-pci"]
        assert "owner" not in group(f, 2) and records(f) == {}
        reply2, fds2 = acquire(c, ["0000:00:03.1"], managed=True)
        assert reply2["lease"] != reply["lease"]
        for fd in fds2:
            os.close(fd)
        c.close()


def test_release_says_what_was_not_restored():
    # The original driver no longer takes the device: Release says so (the lease has ended all
    # the same) instead of answering as if the drivers were back.
    refuse = ('[ -e "$0.armed" ] && [ "$2" = 0000:00:03.0 ] && '
              '{ [ "$1" = probe ] || [ "$1" = bind ]; } && exit 1')
    with fixture(fake_kernel=refuse) as f:
        c = f.client()
        reply, fds = acquire(c, ["0000:00:03.1"], managed=True)
        for fd in fds:
            os.close(fd)
        open(f.kernel_script + ".armed", "w").close()
        e = expect_error("io.ioasid.Broker.BackendUnavailable", c.call,
                         "io.ioasid.Broker.Release", {"lease": reply["lease"]})
        assert "not all put back" in e["reason"], e
        assert "owner" not in group(f, 2) and records(f) == {}
        assert "managed devices not all restored" in f.log()
        c.close()


def test_slow_holder_keeps_original_driver():
    # The holder handed its fds to a second process and releases; the kernel's unbind waits
    # for that process. After the timeout the daemon kills the holder and the process that
    # has the fds, but not the worker, so that when the fds close the worker puts the original
    # driver back. (It used to kill the worker, which died as its unbind returned, leaving the
    # device on no driver with driver_override still vfio-pci, and the lease ended anyway.)
    # The holder asks for 03.0, the device bound for the lease, so that the fd it hands on is
    # the one the restore's unbind waits for: holding 03.1 (on vfio-pci before, never
    # unbound) kept nothing waiting, and the test passed only when the restore happened to
    # take longer than the timeout.
    with fixture(wait_for_close=True, extra_args=["--revoke-timeout", "1"]) as f:
        holder, reply, keeper = holder_process(f, ["0000:00:03.0"], keeper=True, managed=True)
        assert [g["address"] for g in reply["grants"]] == ["0000:00:03.0"], reply
        assert drivers(f, "0000:00:03.0") == ["vfio-pci"]
        c = f.client()
        c.send("io.ioasid.Broker.Release", {"lease": reply["lease"]})
        wait_for(lambda: os.waitpid(holder, os.WNOHANG) != (0, 0), "the holder killed",
                 timeout=120)
        wait_for(lambda: gone(keeper), "the keeper killed", timeout=120)
        c.sock.settimeout(120)
        assert c.receive().get("parameters", {}) == {}
        log = f.log()
        assert "the devices were not closed in time; killing the holder" in log
        assert "pid %d still had a device of the lease open; killed it" % keeper in log
        assert drivers(f, "0000:00:03.0") == ["virtio-pci"]
        path = os.path.join(f.root, "sys", "bus", "pci", "devices", "0000:00:03.0",
                            "driver_override")
        with open(path) as fh:
            assert fh.read().strip() in ("", "(null)")
        assert "owner" not in group(f, 2) and records(f) == {}
        c.close()


def test_crash_while_ending():
    # A daemon killed while a released lease's drivers are being put back (its worker too, in
    # the middle of an unbind the kernel then finishes) must not take the lease back at
    # restart although its holder still runs: the record says it was ending, and the restart
    # finishes the job.
    with fixture(fake_kernel=HOLD_RESTORE) as f:
        script = f.kernel_script
        holder = sleeper()
        pidfd = os.pidfd_open(holder)
        c = f.client()
        reply, fds = acquire(c, ["0000:00:03.1"], managed=True, pidFileDescriptor=0, fds=[pidfd])
        os.close(pidfd)
        for fd in fds:
            os.close(fd)
        open(script + ".armed", "w").close()
        c.send("io.ioasid.Broker.Release", {"lease": reply["lease"]})
        wait_for(lambda: os.path.exists(script + ".reached"), "the restore's unbind")
        with open(script + ".worker") as fh:
            worker = int(fh.read())
        f.kill()
        os.kill(worker, signal.SIGKILL)
        wait_for(lambda: gone(worker), "the worker gone")
        c.close()
        # The kernel finishes the unbind after the writer died.
        open(script + ".go", "w").close()
        wait_for(lambda: os.path.exists(script + ".finished"), "the unbind finished")
        assert drivers(f, "0000:00:03.0") == [None]
        f.start()
        wait_for(lambda: drivers(f, "0000:00:03.0") == ["virtio-pci"] and records(f) == {},
                 "the ending finished at start")
        assert "owner" not in group(f, 2)
        assert "it was ending when the daemon stopped" in f.log()
        os.kill(holder, signal.SIGKILL)
        os.waitpid(holder, 0)


run([test_managed_bind_and_restore, test_managed_needs_policy, test_managed_path_mode,
     test_pf_with_leased_vfs_not_rebound, test_bind_off_the_main_loop,
     test_holder_exit_during_bind, test_vf_refused_while_its_pf_is_bound,
     test_failure_half_way_is_undone,
     test_restart_restores_for_dead_holder, test_kill_at_every_step,
     test_release_answers_when_drivers_are_back, test_release_says_what_was_not_restored,
     test_slow_holder_keeps_original_driver,
     test_crash_while_ending])
