#!/usr/bin/python3
# Ownership through the real daemon on the fake tier: the seed thread's scenarios 1-3, the
# holder's exit ending its lease (on the pidfd, no polling), a holder named by pidfd, policy for
# a non-root owner, a daemon killed with leases out and restarted, and malformed requests.
# usage: test-acquire.py IOASIDD MKFAKESYS [TEST...]
import json
import os
import pwd
import resource
import shutil
import signal
import struct
import sys
import time

from ioasidtest import (SKIP, Client, Fixture, Monitor, VarlinkError, as_nobody, expect_error,
                        run, sleeper, wait_for)

DAEMON, MKFAKESYS = sys.argv[1], sys.argv[2]

if os.geteuid() != 0:
    print("needs root: the test acts as a second, unprivileged owner")
    sys.exit(SKIP)
NOBODY = pwd.getpwnam("nobody")


def fixture(**kw):
    return Fixture(DAEMON, MKFAKESYS, **kw)


def acquire(client, devices, **extra):
    params = dict(extra, devices=devices)
    fds = params.pop("fds", ())
    reply = client.call("io.ioasid.Broker.Acquire", params, fds=fds)
    return reply, client.take_fds()


def group(f, number):
    return f.call("io.ioasid.Broker.GetGroup", {"group": number})["group"]


def acl_for(uid):
    """A POSIX access ACL (the kernel's xattr format) giving uid read-write."""
    undefined = 0xffffffff
    entries = [(0x01, 6, undefined), (0x02, 6, uid), (0x04, 0, undefined), (0x10, 6, undefined),
               (0x20, 0, undefined)]
    return struct.pack("<I", 2) + b"".join(struct.pack("<HHI", *e) for e in entries)


def open_to_everyone(path):
    """What a lessee who owns a group node may do with it."""
    os.chmod(path, 0o666)
    os.setxattr(path, "system.posix_acl_access", acl_for(12345))


def assert_root_only(path):
    st = os.stat(path)
    assert (st.st_uid, st.st_gid, st.st_mode & 0o7777) == (0, 0, 0o600), \
        (st.st_uid, st.st_gid, oct(st.st_mode))
    assert "system.posix_acl_access" not in os.listxattr(path), os.listxattr(path)


def node_of(f, path):
    st = os.stat(os.path.join(f.root, "dev", path))
    return st.st_dev, st.st_ino


def check_grant(f, reply, fds, address, cdev):
    """The reply's fds are the nodes the daemon claimed: the iommufd and the device's cdev."""
    assert reply["backend"] == "iommufd", reply
    assert len(fds) == 1 + len(reply["grants"]), (reply, fds)
    iommu = fds[reply["iommuFileDescriptor"]]
    assert (os.fstat(iommu).st_dev, os.fstat(iommu).st_ino) == node_of(f, "iommu")
    grant = [g for g in reply["grants"] if g["address"] == address][0]
    st = os.fstat(fds[grant["fileDescriptor"]])
    assert (st.st_dev, st.st_ino) == node_of(f, "vfio/devices/" + cdev), grant


def close_all(fds):
    for fd in fds:
        os.close(fd)


def test_scenario1_refused_then_granted():
    with fixture() as f:
        c = f.client()
        # 03.1 is on vfio-pci, but 03.0 in the same group is on a host driver.
        e = expect_error("io.ioasid.Broker.GroupNotViable", acquire, c, ["0000:00:03.1"])
        assert e == {"group": 2, "reasons": [
            "0000:00:03.0 is bound to virtio-pci; bind it to vfio-pci or unbind it"]}, e
        assert c.take_fds() == []
        assert "owner" not in group(f, 2)

        f.rebind("0000:00:03.0", "vfio-pci")
        wait_for(lambda: group(f, 2)["viable"], "group 2 viable")
        m = Monitor(f.sock)
        reply, fds = acquire(c, ["0000:00:03.1"])
        cdev = [d for d in group(f, 2)["devices"] if d["address"] == "0000:00:03.1"][0]["cdev"]
        check_grant(f, reply, fds, "0000:00:03.1", cdev)
        assert reply["grants"] == [{"address": "0000:00:03.1", "group": 2, "fileDescriptor": 1}]
        g = group(f, 2)
        owner = {"uid": 0, "pid": os.getpid(), "lease": reply["lease"]}
        assert g["owner"] == owner, g
        assert all(d["owner"] == owner for d in g["devices"]), g
        ev = m.until(lambda e: e["kind"] == "leaseAcquired", "leaseAcquired")[-1]
        assert ev == {"kind": "leaseAcquired", "lease": reply["lease"], "group": 2}, ev
        # The record is on disk before the reply.
        assert os.path.exists(os.path.join(f.root, "state", reply["lease"] + ".json"))

        assert c.call("io.ioasid.Broker.Release", {"lease": reply["lease"]}) == {}
        ev = m.until(lambda e: e["kind"] == "leaseReleased", "leaseReleased")[-1]
        assert ev["group"] == 2 and ev["lease"] == reply["lease"], ev
        assert "owner" not in group(f, 2)
        assert not os.path.exists(os.path.join(f.root, "state", reply["lease"] + ".json"))
        expect_error("io.ioasid.Broker.NoSuchLease", c.call, "io.ioasid.Broker.Release",
                     {"lease": reply["lease"]})
        close_all(fds)
        m.close()


NOBODY_RULE = {"name": "nobody-virtio", "subjects": {"uids": [NOBODY.pw_uid]},
               "devices": {"ids": ["1af4:1041"]}, "allow": ["acquire"], "maxDevices": 2}


def test_scenario2_second_owner_refused():
    with fixture(policy={"50-nobody.json": {"rules": [NOBODY_RULE]}}) as f:
        os.chmod(f.root, 0o755)
        f.rebind("0000:00:03.0", "vfio-pci")
        wait_for(lambda: group(f, 2)["viable"], "group 2 viable")
        c = f.client()
        reply, fds = acquire(c, ["0000:00:03.1"])
        # A second owner asks for the other function of the same group.
        err, e = as_nobody(f, "io.ioasid.Broker.Acquire", {"devices": ["0000:00:03.0"]})
        assert err == "io.ioasid.Broker.GroupBusy", (err, e)
        assert e == {"group": 2, "owner": {"uid": 0, "pid": os.getpid(),
                                           "lease": reply["lease"]}}, e
        # Another lease of the same uid is another owner too.
        e = expect_error("io.ioasid.Broker.GroupBusy", acquire, f.client(), ["0000:00:03.0"])
        assert e["owner"]["lease"] == reply["lease"]
        # The owner may add the rest of its group to its lease.
        reply2, fds2 = acquire(c, ["0000:00:03.0"], lease=reply["lease"])
        assert reply2["lease"] == reply["lease"] and reply2["grants"][0]["group"] == 2
        # Nobody's lease cannot be touched by another uid, nor can it grow nobody's.
        err, e = as_nobody(f, "io.ioasid.Broker.Release", {"lease": reply["lease"]})
        assert err == "io.ioasid.Broker.NoSuchLease", (err, e)
        c.call("io.ioasid.Broker.Release", {"lease": reply["lease"]})
        # Free again: now the second owner gets it, policy permitting.
        err, e = as_nobody(f, "io.ioasid.Broker.Acquire", {"devices": ["0000:00:03.0"]})
        assert err is None and e["grants"][0]["address"] == "0000:00:03.0", (err, e)
        # ...and its lease ended with its process (the forked client exited).
        wait_for(lambda: "owner" not in group(f, 2), "the lease to end with its holder")
        close_all(fds + fds2)


def test_policy_for_non_root_acquire():
    with fixture() as f:
        os.chmod(f.root, 0o755)
        f.rebind("0000:00:03.0", "vfio-pci")
        wait_for(lambda: group(f, 2)["viable"], "group 2 viable")
        err, e = as_nobody(f, "io.ioasid.Broker.Acquire", {"devices": ["0000:00:03.1"]})
        assert err == "io.ioasid.Broker.PermissionDenied", (err, e)
        assert "no rule grants uid %d acquire on 0000:00:03.1" % NOBODY.pw_uid in e["reason"]
        f.write_policy("50-nobody.json", {"rules": [NOBODY_RULE]})
        assert f.call("io.ioasid.Admin.ReloadPolicy") == {"rules": 1}
        err, e = as_nobody(f, "io.ioasid.Broker.Acquire", {"devices": ["0000:00:03.1"]})
        assert err is None and e["backend"] == "iommufd", (err, e)
        # Both functions would be nobody's: three devices are over the rule's maxDevices of 2
        # only when counted with what is held; a single group of two fits.
        v = f.call("io.ioasid.Admin.CheckPolicy", {"uid": NOBODY.pw_uid,
                                                   "address": "0000:00:03.1"})
        assert v["allowed"] is True and v["rule"] == "nobody-virtio", v
        # The e1000 group is not nobody's.
        err, e = as_nobody(f, "io.ioasid.Broker.Acquire", {"devices": ["0000:01:01.0"]})
        assert err == "io.ioasid.Broker.PermissionDenied", (err, e)


def has_cap_sys_resource():
    with open("/proc/self/status") as s:
        eff = [l for l in s if l.startswith("CapEff:")][0].split()[1]
    return bool(int(eff, 16) & (1 << 24))


def acquire_with_limit(f, params, limit=(8 << 20, 8 << 20), nobody=True):
    """Acquire from a child whose RLIMIT_MEMLOCK starts at limit (an ordinary user's 8 MiB),
    as nobody or root; returns (error, parameters, the child's limit after the call)."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(r)
            resource.setrlimit(resource.RLIMIT_MEMLOCK, limit)
            if nobody:
                os.setgroups([])
                os.setgid(NOBODY.pw_gid)
                os.setuid(NOBODY.pw_uid)
            try:
                result = [None, Client(f.sock).call("io.ioasid.Broker.Acquire", params)]
            except VarlinkError as e:
                result = [e.error, e.parameters]
            result.append(resource.getrlimit(resource.RLIMIT_MEMLOCK))
            os.write(w, json.dumps(result).encode())
        finally:
            os._exit(0)
    os.close(w)
    with os.fdopen(r) as pipe:
        data = pipe.read()
    os.waitpid(pid, 0)
    assert data, "the unprivileged client failed"
    return tuple(json.loads(data))


def test_locked_memory():
    rule = dict(NOBODY_RULE, maxLockedMemory="256M")
    with fixture(policy={"50-nobody.json": {"rules": [NOBODY_RULE]}}) as f:
        os.chmod(f.root, 0o755)
        f.rebind("0000:00:03.0", "vfio-pci")
        wait_for(lambda: group(f, 2)["viable"], "group 2 viable")
        params = {"devices": ["0000:00:03.1"], "lockedMemory": 128 << 20}
        err, e, limit = acquire_with_limit(f, params)
        assert err == "io.ioasid.Broker.PermissionDenied", (err, e)
        assert "no rule grants uid %d any" % NOBODY.pw_uid in e["reason"], e
        assert limit == [8 << 20, 8 << 20], limit
        # Refused before anything was held.
        assert "owner" not in group(f, 2)
        f.write_policy("50-nobody.json", {"rules": [rule]})
        assert f.call("io.ioasid.Admin.ReloadPolicy") == {"rules": 1}
        err, e, limit = acquire_with_limit(f, dict(params, lockedMemory=512 << 20))
        assert err == "io.ioasid.Broker.PermissionDenied", (err, e)
        assert e["reason"] == ('locked memory of 512 MiB asked; rule "nobody-virtio" allows '
                               'at most 256 MiB'), e
        assert limit == [8 << 20, 8 << 20], limit
        # Without lockedMemory the limit stays as it was.
        err, e, limit = acquire_with_limit(f, {"devices": ["0000:00:03.1"]})
        assert err is None and limit == [8 << 20, 8 << 20], (err, e, limit)
        # Root's soft limit is raised up to its hard one: no privilege needed for that.
        err, e, limit = acquire_with_limit(f, dict(params, lockedMemory=8 << 20),
                                           limit=(4 << 20, 8 << 20), nobody=False)
        assert err is None and e["backend"] == "iommufd", (err, e)
        assert limit == [8 << 20, 8 << 20], limit
        assert "AUDIT memlock" in f.log()
        # Another user's limit, soft and hard: that takes CAP_SYS_RESOURCE, which a container
        # may lack (the VM tier always has it).
        err, e, limit = acquire_with_limit(f, params)
        if has_cap_sys_resource():
            assert err is None and e["backend"] == "iommufd", (err, e)
            assert limit == [128 << 20, 128 << 20], limit
        else:
            assert err == "io.ioasid.Broker.PermissionDenied", (err, e)
            assert "CAP_SYS_RESOURCE" in e["reason"] and limit == [8 << 20, 8 << 20], (e, limit)
            assert "owner" not in group(f, 2)
        expect_error("org.varlink.service.InvalidParameter", acquire, f.client(),
                     ["0000:00:03.1"], lockedMemory=-1)


def test_scenario3_bridge_group_taken_whole():
    with fixture() as f:
        c = f.client()
        e = expect_error("io.ioasid.Broker.GroupNotViable", acquire, c, ["0000:01:01.0"])
        assert e["group"] == 3 and len(e["reasons"]) == 2, e
        f.rebind("0000:01:01.0", "vfio-pci")
        f.rebind("0000:01:02.0", "vfio-pci")
        wait_for(lambda: group(f, 3)["viable"], "group 3 viable")
        reply, fds = acquire(c, ["0000:01:01.0"])
        g = group(f, 3)
        assert g["owner"]["lease"] == reply["lease"], g
        assert [d["owner"]["lease"] for d in g["devices"]] == [reply["lease"]] * 3, g
        # The other conventional device behind the bridge is the same owner's or nobody's.
        e = expect_error("io.ioasid.Broker.GroupBusy", acquire, f.client(), ["0000:01:02.0"])
        assert e["group"] == 3, e
        reply2, fds2 = acquire(c, ["0000:01:02.0", "0000:01:01.0"], lease=reply["lease"])
        assert [g["address"] for g in reply2["grants"]] == ["0000:01:02.0", "0000:01:01.0"]
        close_all(fds + fds2)


def test_holder_exit_ends_lease():
    with fixture() as f:
        f.rebind("0000:00:03.0", "vfio-pci")
        wait_for(lambda: group(f, 2)["viable"], "group 2 viable")
        m = Monitor(f.sock)
        # The holder is another process, named by a pidfd; the caller stays connected.
        holder = sleeper()
        pidfd = os.pidfd_open(holder)
        c = f.client()
        reply, fds = acquire(c, ["0000:00:03.1"], pidFileDescriptor=0, fds=[pidfd])
        os.close(pidfd)
        assert group(f, 2)["owner"]["pid"] == holder
        t0 = time.monotonic()
        os.kill(holder, signal.SIGKILL)
        os.waitpid(holder, 0)
        ev = m.until(lambda e: e["kind"] == "leaseReleased", "leaseReleased")[-1]
        took = time.monotonic() - t0
        assert ev["lease"] == reply["lease"], ev
        assert "owner" not in group(f, 2)
        assert "holder exited" in f.log()
        sys.stderr.write("lease ended %.1f ms after the holder was killed\n" % (took * 1e3))
        # A pidfd-less call holds with the caller itself: its exit ends the lease too.
        pid = os.fork()
        if pid == 0:
            acquire(Client(f.sock), ["0000:00:03.1"])
            os._exit(0)
        os.waitpid(pid, 0)
        m.until(lambda e: e["kind"] == "leaseReleased", "leaseReleased of the caller")
        close_all(fds)
        m.close()


def test_restart_keeps_leases():
    with fixture() as f:
        f.rebind("0000:00:03.0", "vfio-pci")
        f.rebind("0000:01:01.0", "vfio-pci")
        f.rebind("0000:01:02.0", "vfio-pci")
        wait_for(lambda: group(f, 2)["viable"] and group(f, 3)["viable"], "groups viable")
        alive, dead = sleeper(), sleeper()
        leases = {}
        for holder, device in ((alive, "0000:00:03.1"), (dead, "0000:01:01.0")):
            pidfd = os.pidfd_open(holder)
            reply, fds = acquire(f.client(), [device], pidFileDescriptor=0, fds=[pidfd])
            os.close(pidfd)
            close_all(fds)
            leases[holder] = reply["lease"]

        f.kill()
        # While the daemon is down, one holder exits.
        os.kill(dead, signal.SIGKILL)
        os.waitpid(dead, 0)
        f.start()
        # The live holder's lease is back, the other one ended: never owned twice, never lost.
        assert group(f, 2)["owner"] == {"uid": 0, "pid": alive, "lease": leases[alive]}
        assert "owner" not in group(f, 3)
        expect_error("io.ioasid.Broker.GroupBusy", acquire, f.client(), ["0000:00:03.0"])
        reply, fds = acquire(f.client(), ["0000:01:02.0"])
        close_all(fds)
        assert os.listdir(os.path.join(f.root, "state")) == [leases[alive] + ".json"] or \
            sorted(os.listdir(os.path.join(f.root, "state"))) == sorted(
                [leases[alive] + ".json", reply["lease"] + ".json"])
        # The restored lease still ends with its holder: the pidfd is watched again.
        m = Monitor(f.sock)
        os.kill(alive, signal.SIGKILL)
        os.waitpid(alive, 0)
        m.until(lambda e: e["kind"] == "leaseReleased" and e["lease"] == leases[alive],
                "the restored lease's end")
        assert "owner" not in group(f, 2)
        m.close()


def test_host_driver_into_leased_group():
    with fixture() as f:
        f.rebind("0000:00:03.0", "vfio-pci")
        wait_for(lambda: group(f, 2)["viable"], "group 2 viable")
        reply, fds = acquire(f.client(), ["0000:00:03.1"])
        m = Monitor(f.sock)
        # The kernel refuses this (the group is user-owned); if it ever did not, we must say so.
        f.rebind("0000:00:03.0", "virtio-pci")
        ev = m.until(lambda e: e["kind"] == "leaseCompromised", "leaseCompromised")[-1]
        assert ev == {"kind": "leaseCompromised", "lease": reply["lease"], "group": 2,
                      "address": "0000:00:03.0", "driver": "virtio-pci"}, ev
        assert "AUDIT lease=%s" % reply["lease"] in f.log()
        # The holder keeps what it has: the lease is still there, the group still its.
        assert group(f, 2)["owner"]["lease"] == reply["lease"]
        close_all(fds)
        m.close()


def test_hot_remove_from_lease():
    with fixture() as f:
        f.rebind("0000:01:01.0", "vfio-pci")
        f.rebind("0000:01:02.0", "vfio-pci")
        wait_for(lambda: group(f, 3)["viable"], "group 3 viable")
        reply, fds = acquire(f.client(), ["0000:01:01.0", "0000:01:02.0"])
        record = os.path.join(f.root, "state", reply["lease"] + ".json")
        m = Monitor(f.sock)
        f.fakesys("remove-device", "0000:01:02.0")
        m.until(lambda e: e["kind"] == "deviceRemoved" and e["address"] == "0000:01:02.0",
                "deviceRemoved")
        wait_for(lambda: [d["address"] for d in json.load(open(record))["devices"]] ==
                 ["0000:01:01.0"], "the record without the removed device")
        assert group(f, 3)["owner"]["lease"] == reply["lease"]
        f.fakesys("remove-device", "0000:01:01.0")
        ev = m.until(lambda e: e["kind"] == "leaseReleased", "the lease to end")[-1]
        assert ev["lease"] == reply["lease"], ev
        assert not os.path.exists(record)
        close_all(fds)
        m.close()


def test_release_frees_groups_the_record_lost():
    """A group keeps its owner when the lease's only device of it goes away while another of
    its devices stays: the end of the lease frees it too, though the record no longer names
    it, each group once, in the order of their numbers."""
    with fixture() as f:
        for address in ("0000:00:03.0", "0000:01:01.0", "0000:01:02.0"):
            f.rebind(address, "vfio-pci")
        wait_for(lambda: group(f, 2)["viable"] and group(f, 3)["viable"], "groups 2, 3 viable")
        c = f.client()
        reply, fds = acquire(c, ["0000:01:01.0", "0000:00:03.1"])
        close_all(fds)
        record = os.path.join(f.root, "state", reply["lease"] + ".json")
        m = Monitor(f.sock)
        f.fakesys("remove-device", "0000:00:03.1")
        wait_for(lambda: [d["address"] for d in json.load(open(record))["devices"]] ==
                 ["0000:01:01.0"], "the record without the removed device")
        assert group(f, 2)["owner"]["lease"] == reply["lease"]
        assert c.call("io.ioasid.Broker.Release", {"lease": reply["lease"]}) == {}
        events = m.until(lambda e: e["kind"] == "leaseReleased" and e["group"] == 3,
                         "group 3 released")
        released = [e["group"] for e in events if e["kind"] == "leaseReleased"]
        assert released == [2, 3], events
        assert "owner" not in group(f, 2) and "owner" not in group(f, 3)
        assert all("owner" not in d for d in group(f, 2)["devices"])
        m.close()


def test_device_removed_during_refresh():
    """A device that goes away while Acquire reads the groups again: the refresh of a later
    device of the same group drops it from the model. A FIFO for the later device's uevent
    attribute holds the daemon at the read the removal must fall behind: refreshing a's group
    reads b in full once (a start-up scan leaves what leases need unread); refreshing b's group
    then checks a's links, finds it gone and reads it in full."""
    with fixture() as f:
        a, b = "0000:00:03.0", "0000:00:03.1"
        uevent = os.path.join(os.path.realpath(os.path.join(f.root, "sys/bus/pci/devices", b)),
                              "uevent")
        with open(uevent) as fh:
            text = fh.read()

        def replace(fifo):
            tmp = uevent + ".tmp"
            if fifo:
                os.mkfifo(tmp, 0o600)
            else:
                with open(tmp, "w") as fh:
                    fh.write(text)
            os.rename(tmp, uevent)

        def opened():
            """The daemon has this FIFO open: a fresh FIFO has no other reader. Its write end."""
            fd = []

            def attempt():
                try:
                    fd.append(os.open(uevent, os.O_WRONLY | os.O_NONBLOCK))
                    return True
                except OSError:
                    return False
            wait_for(attempt, "the daemon to read %s's uevent" % b, timeout=60)
            return fd[0]

        replace(True)
        c = f.client()
        c.send("io.ioasid.Broker.Acquire", {"devices": [a, b]})
        held = opened()  # refreshing a's group
        # a goes away halfway, as the kernel takes a device down: its directory is gone, its
        # group still lists it. Refreshing b's group then drops it from the model.
        a_dir = os.path.realpath(os.path.join(f.root, "sys/bus/pci/devices", a))
        os.unlink(os.path.join(f.root, "sys/bus/pci/devices", a))
        shutil.rmtree(a_dir)
        replace(False)
        os.write(held, text.encode())
        os.close(held)
        e = expect_error("io.ioasid.Broker.NoSuchDevice", c.receive)
        assert e == {"address": a}, e
        os.unlink(os.path.join(f.root, "sys/kernel/iommu_groups/2/devices", a))
        f.alive()
        assert "owner" not in group(f, 2)


def test_legacy_path_mode():
    with fixture(create_args=["--kernel", "legacy"],
                 policy={"50-nobody.json": {"rules": [NOBODY_RULE]}}) as f:
        os.chmod(f.root, 0o755)
        f.rebind("0000:00:03.0", "vfio-pci")
        wait_for(lambda: group(f, 2)["viable"], "group 2 viable")
        node = os.path.join(f.root, "dev/vfio/2")
        os.chmod(node, 0o600)
        # fd mode on legacy: the group fd is the grant, shared by the group's devices.
        reply, fds = acquire(f.client(), ["0000:00:03.0", "0000:00:03.1"])
        assert reply["backend"] == "legacy", reply
        assert [g["fileDescriptor"] for g in reply["grants"]] == [1, 1], reply
        st = os.fstat(fds[1])
        assert (st.st_dev, st.st_ino) == node_of(f, "vfio/2")
        f.client().call("io.ioasid.Broker.Release", {"lease": reply["lease"]})
        close_all(fds)
        # Path mode: nobody gets the node, no fds, and root gets it back at the end.
        # Left open to others before the grant (an admin, an earlier run): closed again first.
        open_to_everyone(node)

        def during():
            st = os.stat(node)
            result = (st.st_uid, st.st_mode & 0o7777,
                      "system.posix_acl_access" in os.listxattr(node), group(f, 2))
            # The lessee owns the node and opens it to everyone.
            open_to_everyone(node)
            return result

        err, e, (owner, mode, acl, g_during) = as_nobody(
            f, "io.ioasid.Broker.Acquire", {"devices": ["0000:00:03.1"], "pathMode": True},
            then=during)
        assert (mode, acl) == (0o600, False), (oct(mode), acl)
        assert err is None and owner == NOBODY.pw_uid, (err, e, owner)
        # The daemon holds no group fd: nothing of it keeps the group's DMA blocked.
        assert g_during["dmaBlocked"] is False, g_during
        assert "iommuFileDescriptor" not in e and e["grants"] == [
            {"address": "0000:00:03.1", "group": 2, "path": "/dev/vfio/2"}], e
        # The client exited: its lease ended, and with it the grant on the node.
        wait_for(lambda: "owner" not in group(f, 2), "the lease to end")
        assert_root_only(node)
        assert "AUDIT" not in f.log() or "cannot take" not in f.log()


def test_path_mode_node_repaired_at_start():
    with fixture(create_args=["--kernel", "legacy"]) as f:
        f.rebind("0000:00:03.0", "vfio-pci")
        f.rebind("0000:00:03.1", "vfio-pci")
        wait_for(lambda: group(f, 2)["viable"], "group 2 viable")
        f.stop()
        # A lessee's node that no lease covers any more (a record lost, a crash mid-revoke).
        node = os.path.join(f.root, "dev/vfio/2")
        open_to_everyone(node)
        os.chown(node, NOBODY.pw_uid, NOBODY.pw_gid)
        f.start()
        assert_root_only(node)
        assert "dev/vfio/2" in f.log() and "repaired" in f.log(), f.log()


def test_dma_blocked_only_while_claimed():
    with fixture(create_args=["--kernel", "legacy"]) as f:
        f.rebind("0000:00:03.0", "vfio-pci")
        wait_for(lambda: group(f, 2)["viable"], "group 2 viable")
        holder = sleeper()
        pidfd = os.pidfd_open(holder)
        reply, fds = acquire(f.client(), ["0000:00:03.1"], pidFileDescriptor=0, fds=[pidfd])
        os.close(pidfd)
        close_all(fds)
        # The daemon's own group fd, in its container, is the kernel's claim.
        assert group(f, 2)["dmaBlocked"] is True
        # Restored after a restart, the lease has no fd of the daemon's: only the holder's
        # copies, if it kept any, claim the group now.
        f.kill()
        f.start()
        g = group(f, 2)
        assert g["owner"]["lease"] == reply["lease"], g
        assert g["dmaBlocked"] is False, g
        os.kill(holder, signal.SIGKILL)
        os.waitpid(holder, 0)
        wait_for(lambda: "owner" not in group(f, 2), "the restored lease to end")


def test_path_mode_needs_legacy():
    with fixture() as f:
        f.rebind("0000:00:03.0", "vfio-pci")
        wait_for(lambda: group(f, 2)["viable"], "group 2 viable")
        e = expect_error("io.ioasid.Broker.BackendUnavailable", acquire, f.client(),
                         ["0000:00:03.1"], pathMode=True)
        assert "legacy" in e["reason"], e
        assert "owner" not in group(f, 2)


def test_bad_requests():
    with fixture() as f:
        c = f.client()
        for params, bad in (({"devices": []}, "devices"),
                            ({"devices": ["bogus"]}, "devices"),
                            ({"devices": ["0000:00:03.1", 7]}, "devices"),
                            ({"devices": "0000:00:03.1"}, "devices"),
                            ({}, "devices"),
                            ({"devices": ["0000:00:03.1"], "lease": 5}, "lease"),
                            ({"devices": ["0000:00:03.1"], "pidFileDescriptor": "0"},
                             "pidFileDescriptor")):
            e = expect_error("org.varlink.service.InvalidParameter", c.call,
                             "io.ioasid.Broker.Acquire", params)
            assert e == {"parameter": bad}, (params, e)
        e = expect_error("io.ioasid.Broker.NoSuchDevice", acquire, c, ["0000:7f:00.0"])
        assert e == {"address": "0000:7f:00.0"}, e
        expect_error("io.ioasid.Broker.NoSuchLease", acquire, c, ["0000:00:03.1"],
                     lease="0" * 32)
        expect_error("io.ioasid.Broker.NoSuchLease", c.call, "io.ioasid.Broker.Release",
                     {"lease": "nonsense"})
        f.rebind("0000:00:03.0", "vfio-pci")
        wait_for(lambda: group(f, 2)["viable"], "group 2 viable")
        # A pidfd index that was not sent, and an fd that is not a pidfd.
        e = expect_error("org.varlink.service.InvalidParameter", acquire, c, ["0000:00:03.1"],
                         pidFileDescriptor=3)
        assert e == {"parameter": "pidFileDescriptor"}, e
        r, w = os.pipe()
        e = expect_error("org.varlink.service.InvalidParameter", acquire, c, ["0000:00:03.1"],
                         pidFileDescriptor=0, fds=[r])
        assert e == {"parameter": "pidFileDescriptor"}, e
        os.close(r)
        os.close(w)
        # A negative index is not "absent": it would tie the lease to the caller unasked.
        for index in (-1, -2, -(1 << 63)):
            e = expect_error("org.varlink.service.InvalidParameter", acquire, c,
                             ["0000:00:03.1"], pidFileDescriptor=index)
            assert e == {"parameter": "pidFileDescriptor"}, (index, e)
        # Nothing was claimed by any of it.
        assert "owner" not in group(f, 2)
        assert os.listdir(os.path.join(f.root, "state")) == []
        # A cdev node that is not what sysfs says (a symlink) is refused, and nothing leaks.
        cdev = [d for d in group(f, 2)["devices"] if d["address"] == "0000:00:03.1"][0]["cdev"]
        node = os.path.join(f.root, "dev/vfio/devices", cdev)
        os.rename(node, node + ".real")
        os.symlink(node + ".real", node)
        e = expect_error("io.ioasid.Broker.BackendUnavailable", acquire, c, ["0000:00:03.1"])
        assert "0000:00:03.1" in e["reason"], e
        assert "owner" not in group(f, 2) and c.take_fds() == []
        assert os.listdir(os.path.join(f.root, "state")) == []
        f.alive()


run([test_scenario1_refused_then_granted, test_scenario2_second_owner_refused,
     test_policy_for_non_root_acquire, test_locked_memory, test_scenario3_bridge_group_taken_whole,
     test_holder_exit_ends_lease, test_restart_keeps_leases, test_host_driver_into_leased_group,
     test_hot_remove_from_lease, test_release_frees_groups_the_record_lost,
     test_device_removed_during_refresh, test_legacy_path_mode, test_path_mode_node_repaired_at_start,
     test_dma_blocked_only_while_claimed,
     test_path_mode_needs_legacy,
     test_bad_requests])
