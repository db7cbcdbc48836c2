#!/usr/bin/python3
# ioasid-run against the real daemon on the fake tier: the command it execs (a probe) holds the
# lease under its own pid, finds the granted fds open under the substituted numbers and refering
# to the nodes the fake backend hands out, and the lease ends when the command exits. Refusals
# and bad placeholders never run the command.
# usage: test-ioasid-run.py IOASIDD MKFAKESYS IOASID_RUN [TEST...]
import json
import os
import pwd
import resource
import subprocess
import sys

from ioasidtest import SKIP, Fixture, run, wait_for

DAEMON, MKFAKESYS, RUN = sys.argv[1], sys.argv[2], sys.argv.pop(3)
PROBE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ioasid-run-probe.py")

if os.geteuid() != 0:
    print("needs root: binds devices, and runs a second, unprivileged user")
    sys.exit(SKIP)
NOBODY = pwd.getpwnam("nobody")


def fixture(**kw):
    return Fixture(DAEMON, MKFAKESYS, **kw)


def group(f, number):
    return f.call("io.ioasid.Broker.GetGroup", {"group": number})["group"]


def ioasid_run(f, args, cmd, expect=0, user=None, memlock=None):
    def drop():
        if memlock:
            resource.setrlimit(resource.RLIMIT_MEMLOCK, memlock)
        if not user:
            return
        os.setgroups([])
        os.setgid(NOBODY.pw_gid)
        os.setuid(NOBODY.pw_uid)
    env = dict(os.environ, IOASID_SOCKET=f.sock)
    p = subprocess.run([RUN] + args + ["--"] + cmd, capture_output=True, text=True, env=env,
                       timeout=60, preexec_fn=drop if user or memlock else None)
    assert p.returncode == expect, "ioasid-run: exit %d, expected %d\nstdout: %s\nstderr: %s" % (
        p.returncode, expect, p.stdout, p.stderr)
    return p.stdout, p.stderr


def probe(f, args, *pairs, user=None):
    out, err = ioasid_run(f, args, [sys.executable, PROBE, f.sock] + list(pairs), user=user)
    return json.loads(out), err


def node(f, path):
    st = os.stat(os.path.join(f.root, "dev", path))
    return st.st_dev, st.st_ino


def same(arg, f, path):
    return (arg["dev"], arg["ino"]) == node(f, path)


def test_iommufd_fds_substituted():
    with fixture() as f:
        f.rebind("0000:00:03.0", "vfio-pci")
        wait_for(lambda: group(f, 2)["viable"], "group 2 viable")
        report, err = probe(f, ["--device", "0000:00:03.1", "--device", "0000:00:03.0"],
                            "iommufd={iommufd}", "dev1={device:0000:00:03.1}",
                            "dev0=fd {device:0000:00:03.0}".replace("fd ", ""))
        assert err == "", err
        a = report["args"]
        cdevs = {d["address"]: d["cdev"] for d in group(f, 2)["devices"]}
        assert same(a["iommufd"], f, "iommu"), a
        assert same(a["dev1"], f, "vfio/devices/" + cdevs["0000:00:03.1"]), a
        assert same(a["dev0"], f, "vfio/devices/" + cdevs["0000:00:03.0"]), a
        # Exactly the granted fds came along (and stdio): not the broker connection.
        assert report["fds"] == sorted([0, 1, 2] + [v["fd"] for v in a.values()]), report
        assert report["sockets"] == [], report
        env = report["env"]
        assert env["IOASID_BACKEND"] == "iommufd" and env["IOASID_IOMMUFD"] == str(
            a["iommufd"]["fd"]), env
        assert sorted(env["IOASID_DEVICE_FDS"].split()) == sorted(
            ["0000:00:03.1=%d" % a["dev1"]["fd"], "0000:00:03.0=%d" % a["dev0"]["fd"]]), env
        assert "IOASID_PATHS" not in env and "IOASID_GROUP_FDS" not in env, env
        # The lease was the probe's own, under the pid ioasid-run exec'd into.
        g = [g for g in report["groups"] if g["group"] == 2][0]
        assert g["owner"] == {"uid": 0, "pid": report["pid"], "lease": env["IOASID_LEASE"]}, g
        # ...and it ended with the probe.
        wait_for(lambda: "owner" not in group(f, 2), "the lease to end with the command")


def test_legacy_fds_and_path_mode():
    rule = {"name": "nobody-virtio", "subjects": {"uids": [NOBODY.pw_uid]},
            "devices": {"ids": ["1af4:1041"]}, "allow": ["acquire"]}
    with fixture(create_args=["--kernel", "legacy"], policy={"50.json": {"rules": [rule]}}) as f:
        os.chmod(f.root, 0o755)
        f.rebind("0000:00:03.0", "vfio-pci")
        wait_for(lambda: group(f, 2)["viable"], "group 2 viable")
        report, err = probe(f, ["--device", "0000:00:03.1"], "container={iommufd}",
                            "group={group:0000:00:03.1}", "device={device:0000:00:03.1}")
        assert "legacy backend" in err and "path mode" in err, err
        a = report["args"]
        assert same(a["container"], f, "vfio/vfio") and same(a["group"], f, "vfio/2"), a
        assert a["device"]["fd"] == a["group"]["fd"], a
        assert report["env"]["IOASID_GROUP_FDS"] == "0000:00:03.1=%d" % a["group"]["fd"]
        wait_for(lambda: "owner" not in group(f, 2), "the lease to end with the command")

        # {path:...} turns path mode on: the user owns the node while the command runs.
        gnode = os.path.join(f.root, "dev", "vfio", "2")
        out, err = ioasid_run(f, ["--device", "0000:00:03.1"],
                              ["/bin/sh", "-c", 'stat -c %u "$1"; echo "$2"; env', "sh", gnode,
                               "{path:0000:00:03.1}"], user="nobody")
        lines = out.splitlines()
        assert lines[0] == str(NOBODY.pw_uid) and lines[1] == "/dev/vfio/2", out
        assert "IOASID_PATHS=0000:00:03.1=/dev/vfio/2" in lines and "IOASID_BACKEND=legacy" in \
            lines, out
        assert not any(l.startswith("IOASID_IOMMUFD=") for l in lines), out
        assert err == "", err
        wait_for(lambda: "owner" not in group(f, 2), "the path-mode lease to end")
        wait_for(lambda: os.stat(gnode).st_uid == 0, "the group node back to root")

        # --path-mode without placeholders: how QEMU's host=ADDR is served.
        out, err = ioasid_run(f, ["--path-mode", "--device", "0000:00:03.1"],
                              ["/bin/sh", "-c", 'stat -c %u "$1"; echo "$IOASID_PATHS"', "sh",
                               gnode], user="nobody")
        assert out.splitlines() == [str(NOBODY.pw_uid), "0000:00:03.1=/dev/vfio/2"], out
        assert err == "", err
        wait_for(lambda: os.stat(gnode).st_uid == 0, "the group node back to root")


def test_refusals_never_run_the_command():
    with fixture() as f:
        marker = os.path.join(f.root, "ran")
        touch = ["/bin/sh", "-c", 'touch "$1"', "sh", marker]
        _, err = ioasid_run(f, ["--device", "0000:00:03.1"], touch, expect=3)
        assert "GroupNotViable" in err and "0000:00:03.0 is bound to virtio-pci" in err, err
        ioasid_run(f, ["--device", "0000:99:00.0"], touch, expect=4)
        # Path mode needs the legacy backend; this tree has iommufd.
        _, err = ioasid_run(f, ["--device", "0000:00:00.0", "--managed"],
                            touch + ["{path:0000:00:00.0}"], expect=3)
        assert "BackendUnavailable" in err, err
        _, err = ioasid_run(f, ["--device", "0000:00:03.1"], touch + ["{device:0000:00:03.0}"],
                            expect=2)
        assert "{device:0000:00:03.0} names a device not given with --device" in err, err
        ioasid_run(f, ["--device", "0000:00:03.1"], touch + ["{path:0000:00:03.1}",
                                                           "{iommufd}"], expect=2)
        assert not os.path.exists(marker)
        ioasid_run(f, [], touch, expect=2)
        # A command that cannot run: 127, and the lease ends with ioasid-run itself.
        _, err = ioasid_run(f, ["--device", "0000:00:00.0", "--managed"],
                            [os.path.join(f.root, "missing")], expect=127)
        assert "cannot run" in err, err
        wait_for(lambda: "owner" not in group(f, 0), "the lease to end")
        ioasid_run(f, ["--socket", "/nonexistent/socket", "--device", "0000:00:00.0"], touch,
                   expect=5)
        assert not os.path.exists(marker)
        out, _ = ioasid_run(f, ["--help"], [])
        assert "{path:ADDR}" in out and "qemu-system-x86_64" in out, out


def has_cap_sys_resource():
    with open("/proc/self/status") as s:
        eff = [l for l in s if l.startswith("CapEff:")][0].split()[1]
    return bool(int(eff, 16) & (1 << 24))


def test_locked_memory():
    with fixture() as f:
        os.chmod(f.root, 0o755)
        # A stand-in for QEMU: its name is what ioasid-run goes by; it reports its limit.
        qemu = os.path.join(f.root, "qemu-system-x86_64")
        with open(qemu, "w") as q:
            q.write('#!/bin/sh\necho "$(ulimit -l) $(ulimit -H -l)"\n')
        os.chmod(qemu, 0o755)
        user = {"memlock": (8 << 20, 8 << 20)}
        dev = ["--device", "0000:00:00.0", "--managed"]
        # Too little for -m 64, said before anything is acquired or run.
        _, err = ioasid_run(f, dev, [qemu, "-m", "64"], expect=2, **user)
        assert "needs about 128 MiB of locked memory" in err and "would be 8 MiB" in err, err
        assert "--locked-memory auto" in err, err
        assert "owner" not in group(f, 0)
        _, err = ioasid_run(f, dev + ["--locked-memory", "auto"], ["/bin/true"], expect=2)
        assert "not qemu-system-*" in err, err
        _, err = ioasid_run(f, dev + ["--locked-memory", "lots"], [qemu], expect=2)
        assert "expected a size" in err, err
        # Asked for, without a rule that grants it: the broker refuses, QEMU never runs.
        f.write_policy("50-nobody.json", {"rules": [{
            "name": "nobody-all", "subjects": {"uids": [NOBODY.pw_uid]},
            "allow": ["acquire", "managed"]}]})
        assert f.call("io.ioasid.Admin.ReloadPolicy") == {"rules": 1}
        _, err = ioasid_run(f, dev + ["--locked-memory", "auto"], [qemu, "-m", "64"], expect=3,
                            user=True, **user)
        assert "PermissionDenied" in err and "no rule grants uid %d any" % NOBODY.pw_uid in err
        # With one, -m 64 plus 64 MiB is raised for QEMU, soft and hard (for another user's
        # process that takes CAP_SYS_RESOURCE, which a container may not have).
        f.write_policy("50-nobody.json", {"rules": [{
            "name": "nobody-all", "subjects": {"uids": [NOBODY.pw_uid]},
            "allow": ["acquire", "managed"], "maxLockedMemory": "1G"}]})
        assert f.call("io.ioasid.Admin.ReloadPolicy") == {"rules": 1}
        if has_cap_sys_resource():
            out, _ = ioasid_run(f, dev + ["--locked-memory", "auto"], [qemu, "-m", "64"],
                                user=True, **user)
            assert out.split() == ["131072", "131072"], out
        else:
            _, err = ioasid_run(f, dev + ["--locked-memory", "auto"], [qemu, "-m", "64"],
                                expect=3, user=True, **user)
            assert "CAP_SYS_RESOURCE" in err, err
        _, err = ioasid_run(f, dev + ["--locked-memory", "2G"], [qemu, "-m", "64"], expect=3,
                            user=True, **user)
        assert 'rule "nobody-all" allows at most 1 GiB' in err, err
        # Enough already: nothing to ask (a limit above 8 MiB takes CAP_SYS_RESOURCE to set).
        if has_cap_sys_resource():
            out, _ = ioasid_run(f, dev, [qemu, "-m", "64"], user=True,
                                memlock=(256 << 20, 256 << 20))
            assert out.split() == ["262144", "262144"], out
        # Not QEMU: not judged, and nothing asked.
        out, _ = ioasid_run(f, dev, ["/bin/sh", qemu], user=True, **user)
        assert out.split() == ["8192", "8192"], out
        wait_for(lambda: "owner" not in group(f, 0), "the lease to end")


run([test_iommufd_fds_substituted, test_legacy_fds_and_path_mode,
     test_refusals_never_run_the_command, test_locked_memory])
