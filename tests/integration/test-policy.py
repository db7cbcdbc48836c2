#!/usr/bin/python3
# Policy through the real daemon: a non-root client (the test drops to "nobody") is refused,
# then allowed after a reload; CheckPolicy explains both; a broken policy file is reported and
# the policy in force stays; SIGHUP reloads; a daemon started on a broken policy still serves.
# usage: test-policy.py IOASIDD MKFAKESYS [TEST...]
import os
import pwd
import signal
import sys

from ioasidtest import SKIP, Fixture, as_nobody, expect_error, run, wait_for

DAEMON, MKFAKESYS = sys.argv[1], sys.argv[2]

if os.geteuid() != 0:
    print("needs root: the test changes uid to act as an unprivileged client")
    sys.exit(SKIP)
NOBODY = pwd.getpwnam("nobody")

ADMIN_RULE = {"name": "nobody-admin", "subjects": {"users": ["nobody"]}, "allow": ["admin"]}
VIRTIO_RULE = {"name": "nobody-virtio", "subjects": {"uids": [NOBODY.pw_uid]},
               "devices": {"ids": ["1af4:1041"]}, "allow": ["acquire"], "maxDevices": 4}


def fixture(**kw):
    f = Fixture(DAEMON, MKFAKESYS, **kw)
    return f


def check(f, uid, address):
    return f.call("io.ioasid.Admin.CheckPolicy", {"uid": uid, "address": address})


def reload_ok(f, rules):
    assert f.call("io.ioasid.Admin.ReloadPolicy") == {"rules": rules}


def open_tree(f):
    # The client must reach the socket: the fixture's directory is root's.
    os.chmod(f.root, 0o755)


def test_refused_then_allowed_after_reload():
    with fixture() as f:
        open_tree(f)
        # Default deny: nothing for nobody, Admin included; the Broker's read side is for all.
        assert as_nobody(f, "io.ioasid.Admin.Rescan") == (
            "org.varlink.service.PermissionDenied", {})
        assert as_nobody(f, "io.ioasid.Admin.CheckPolicy",
                         {"uid": 0, "address": "0000:00:03.1"})[0] == \
            "org.varlink.service.PermissionDenied"
        err, groups = as_nobody(f, "io.ioasid.Broker.ListGroups")
        assert err is None and len(groups["groups"]) == 11, (err, groups)
        v = check(f, NOBODY.pw_uid, "0000:00:03.1")
        assert v == {"allowed": False, "reason": "no rule grants uid %d acquire on 0000:00:03.1 "
                     "(1af4:1041, class 0x020000)" % NOBODY.pw_uid}, v
        assert check(f, 0, "0000:00:03.1")["allowed"] is True

        # A rule on disk changes nothing until it is loaded.
        f.write_policy("50-nobody.json", {"rules": [ADMIN_RULE, VIRTIO_RULE]})
        assert as_nobody(f, "io.ioasid.Admin.Rescan")[0] == "org.varlink.service.PermissionDenied"
        reload_ok(f, 2)
        assert as_nobody(f, "io.ioasid.Admin.Rescan") == (None, {})
        v = check(f, NOBODY.pw_uid, "0000:00:03.1")
        assert v["allowed"] is True and v["rule"] == "nobody-virtio", v
        # Both functions are virtio: the whole group is the subject's to take.
        v = check(f, NOBODY.pw_uid, "0000:00:03.0")
        assert v["allowed"] is True, v
        v = check(f, NOBODY.pw_uid, "0000:01:01.0")
        assert v["allowed"] is False and "no rule grants" in v["reason"], v
        # Asked through the admin rule, the unprivileged admin gets the same answer.
        err, v2 = as_nobody(f, "io.ioasid.Admin.CheckPolicy",
                            {"uid": NOBODY.pw_uid, "address": "0000:00:03.1"})
        assert err is None and v2["rule"] == "nobody-virtio", (err, v2)


def test_group_member_refusal_names_device():
    narrow = dict(VIRTIO_RULE, devices={"addresses": ["0000:00:03.1"]})
    with fixture(policy={"50-nobody.json": {"rules": [narrow]}}) as f:
        v = check(f, NOBODY.pw_uid, "0000:00:03.1")
        assert v["allowed"] is False, v
        assert "0000:00:03.0" in v["reason"] and "same IOMMU group" in v["reason"], v
        # A group the rule covers whole: the e1000 pair behind the bridge (which it leaves out).
        pair = dict(VIRTIO_RULE, name="pair", devices={"ids": ["8086:100e"]})
        f.write_policy("60-pair.json", {"rules": [pair]})
        reload_ok(f, 2)
        v = check(f, NOBODY.pw_uid, "0000:01:01.0")
        assert v["allowed"] is True and v["rule"] == "pair", v


def test_deny_wins():
    deny = {"name": "no-nics", "subjects": {"any": True}, "devices": {"classes": ["0x0200*"]},
            "deny": ["acquire"]}
    with fixture(policy={"10-nobody.json": {"rules": [VIRTIO_RULE]},
                         "90-deny.json": {"rules": [deny]}}) as f:
        v = check(f, NOBODY.pw_uid, "0000:00:03.1")
        assert v["allowed"] is False and v["rule"] == "no-nics", v
        # Root is above policy.
        assert check(f, 0, "0000:00:03.1")["allowed"] is True


def test_groups_and_users_resolved():
    by_group = {"name": "nogroup-admin", "subjects": {"gids": [NOBODY.pw_gid]},
                "allow": ["admin"]}
    with fixture(policy={"20-g.json": {"rules": [by_group]}}) as f:
        open_tree(f)
        # The peer's primary gid, as the kernel reports it for the connection.
        assert as_nobody(f, "io.ioasid.Admin.Rescan") == (None, {})


def test_broken_policy_keeps_old():
    with fixture(policy={"50-nobody.json": {"rules": [VIRTIO_RULE]}}) as f:
        bad = {"rules": [dict(VIRTIO_RULE, name="typo", subjects={"uid": [1]})]}
        f.write_policy("70-broken.json", bad)
        e = expect_error("io.ioasid.Admin.PolicyError", f.call, "io.ioasid.Admin.ReloadPolicy")
        msg = e["message"]
        assert "70-broken.json" in msg and '"typo"' in msg and 'unknown key "uid"' in msg, msg
        assert check(f, NOBODY.pw_uid, "0000:00:03.1")["rule"] == "nobody-virtio"
        assert "70-broken.json" in f.log()

        f.write_policy("70-broken.json", "{\"rules\": [")
        e = expect_error("io.ioasid.Admin.PolicyError", f.call, "io.ioasid.Admin.ReloadPolicy")
        assert "70-broken.json" in e["message"], e

        # Writable by others: anyone could grant themselves anything.
        os.unlink(os.path.join(f.policy_dir, "70-broken.json"))
        f.write_policy("80-open.json", {"rules": []})
        os.chmod(os.path.join(f.policy_dir, "80-open.json"), 0o666)
        e = expect_error("io.ioasid.Admin.PolicyError", f.call, "io.ioasid.Admin.ReloadPolicy")
        assert "80-open.json" in e["message"], e
        os.unlink(os.path.join(f.policy_dir, "80-open.json"))

        # SIGHUP is the other way to reload.
        f.write_policy("50-nobody.json", {"rules": []})
        f.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: not check(f, NOBODY.pw_uid, "0000:00:03.1")["allowed"],
                 "the reload on SIGHUP")
        f.alive()


def test_start_on_broken_policy():
    with fixture(policy={"50-bad.json": "not json"}) as f:
        assert "50-bad.json" in f.log() and "only root" in f.log()
        assert check(f, NOBODY.pw_uid, "0000:00:03.1")["allowed"] is False
        f.write_policy("50-bad.json", {"rules": [VIRTIO_RULE]})
        reload_ok(f, 1)


def test_check_policy_parameters():
    with fixture() as f:
        for params, bad in (({"uid": -1, "address": "0000:00:03.1"}, "uid"),
                            ({"uid": 4294967295, "address": "0000:00:03.1"}, "uid"),
                            ({"uid": 1000, "address": "../../etc"}, "address"),
                            ({"uid": 1000, "address": "0000:00:03.1 "}, "address"),
                            ({"uid": "1000", "address": "0000:00:03.1"}, "uid"),
                            ({"address": "0000:00:03.1"}, "uid")):
            e = expect_error("org.varlink.service.InvalidParameter", f.call,
                             "io.ioasid.Admin.CheckPolicy", params)
            assert e == {"parameter": bad}, (params, e)
        e = expect_error("io.ioasid.Admin.NoSuchDevice", f.call, "io.ioasid.Admin.CheckPolicy",
                         {"uid": 1000, "address": "0000:7f:00.0"})
        assert e == {"address": "0000:7f:00.0"}, e
        f.alive()


run([test_refused_then_allowed_after_reload, test_group_member_refusal_names_device,
     test_deny_wins, test_groups_and_users_resolved, test_broken_policy_keeps_old,
     test_start_on_broken_policy, test_check_policy_parameters])
