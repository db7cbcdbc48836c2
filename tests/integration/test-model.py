#!/usr/bin/python3
# The device model through the real daemon on generated trees: listings match the tree, device
# events reach ListGroups and Monitor, an overflow forces a rescan, hostile trees and uevents are
# refused or skipped with a log line, never followed.
# usage: test-model.py IOASIDD MKFAKESYS [TEST...]
import os
import sys

from ioasidtest import Fixture, Monitor, expect_error, run, wait_for

DAEMON, MKFAKESYS = sys.argv[1], sys.argv[2]


def fixture(**kw):
    return Fixture(DAEMON, MKFAKESYS, **kw)


def groups_by_number(f):
    return {g["group"]: g for g in f.call("io.ioasid.Broker.ListGroups")["groups"]}


def check_matches_tree(f):
    tree = f.tree()
    devices = {d["address"]: d for d in f.call("io.ioasid.Broker.ListDevices")["devices"]}
    assert set(devices) == set(tree), (sorted(devices), sorted(tree))
    for address, (group, driver) in tree.items():
        d = devices[address]
        assert d["group"] == group, d
        assert d.get("driver") == driver, d
    groups = groups_by_number(f)
    for number, g in groups.items():
        members = [d["address"] for d in g["devices"]]
        assert members == sorted(a for a, (n, _) in tree.items() if n == number), g
        # A group is viable exactly when none of its drivers is a host driver.
        host = [d for d in g["devices"]
                if d.get("driver") not in (None, "vfio-pci", "pci-stub", "pcieport")]
        assert g["viable"] == (not host), g
        assert len(g["reasons"]) == len(host), g
    assert set(groups) == {n for n, _ in tree.values() if n >= 0}


def test_listings_match_tree():
    with fixture() as f:
        check_matches_tree(f)
        g = f.call("io.ioasid.Broker.GetGroup", {"group": 2})["group"]
        assert g["viable"] is False and g["type"] == "DMA", g
        assert g["reasons"] == [
            "0000:00:03.0 is bound to virtio-pci; bind it to vfio-pci or unbind it"], g
        vfio = [d for d in g["devices"] if d["address"] == "0000:00:03.1"][0]
        assert vfio["driver"] == "vfio-pci" and vfio["cdev"].startswith("vfio"), vfio
        assert vfio["vendor"] == "0x1af4" and vfio["class"] == "0x020000", vfio
        assert "owner" not in g and g["dmaBlocked"] is False, g
        # Scenario 3's group: the bridge and both conventional devices, e1000 blocks it.
        g3 = f.call("io.ioasid.Broker.GetGroup", {"group": 3})["group"]
        assert [d["address"] for d in g3["devices"]] == [
            "0000:00:04.0", "0000:01:01.0", "0000:01:02.0"], g3
        assert len(g3["reasons"]) == 2 and all("e1000" in r for r in g3["reasons"]), g3

        e = expect_error("io.ioasid.Broker.NoSuchGroup", f.call, "io.ioasid.Broker.GetGroup",
                         {"group": 4242})
        assert e == {"group": 4242}, e
        e = expect_error("org.varlink.service.InvalidParameter", f.call,
                         "io.ioasid.Broker.GetGroup", {"group": "2"})
        assert e == {"parameter": "group"}, e
        expect_error("org.varlink.service.InvalidParameter", f.call,
                     "io.ioasid.Broker.GetGroup", {})
        expect_error("org.varlink.service.ExpectedMore", f.call, "io.ioasid.Broker.Monitor")
        desc = f.call("org.varlink.service.GetInterfaceDescription",
                      {"interface": "io.ioasid.Broker"})["description"]
        assert "method ListGroups() -> (groups: []Group)" in desc
        info = f.call("org.varlink.service.GetInfo")
        assert info["interfaces"] == ["org.varlink.service", "io.ioasid.Broker",
                                      "io.ioasid.Admin"], info
        f.alive()


def test_identity_domain_note():
    with fixture(create_args=["--domain-type", "identity"]) as f:
        g = f.call("io.ioasid.Broker.GetGroup", {"group": 0})["group"]
        assert g["type"] == "identity" and g["viable"] is True, g
        assert any("identity" in n and "0000:00:00.0" in n for n in g["notes"]), g


def test_bind_event():
    with fixture() as f:
        m = Monitor(f.sock)
        f.rebind("0000:00:03.0", "vfio-pci")
        seen = m.until(lambda e: e["kind"] == "driverChanged" and e.get("driver") == "vfio-pci",
                       "driverChanged to vfio-pci")
        assert seen[-1]["address"] == "0000:00:03.0" and seen[-1]["group"] == 2, seen
        # Unbind and bind may land in one batch or two; either way the old driver is named.
        assert any(e["kind"] == "driverChanged" and e.get("previousDriver") == "virtio-pci"
                   for e in seen), seen
        if not any(e["kind"] == "groupChanged" for e in seen):
            seen += m.until(lambda e: e["kind"] == "groupChanged" and e["group"] == 2,
                            "groupChanged for group 2")
        changed = [e for e in seen if e["kind"] == "groupChanged"]
        assert changed[-1]["viable"] is True and changed[-1]["reasons"] == [], seen
        g = f.call("io.ioasid.Broker.GetGroup", {"group": 2})["group"]
        assert g["viable"] is True and g["reasons"] == [], g

        # And back: a host driver makes the group unviable again, naming it.
        f.rebind("0000:00:03.1", "virtio-pci")
        seen = m.until(lambda e: e["kind"] == "groupChanged" and e["group"] == 2
                       and not e["viable"], "groupChanged to not viable")
        assert seen[-1]["reasons"] == [
            "0000:00:03.1 is bound to virtio-pci; bind it to vfio-pci or unbind it"], seen
        check_matches_tree(f)
        m.close()


def test_hotplug_and_sriov_events():
    with fixture() as f:
        m = Monitor(f.sock)
        f.fakesys("add-device", "0000:00:06.0", "--group", "40", "--driver", "e1000e")
        seen = m.until(lambda e: e["kind"] == "groupAdded" and e["group"] == 40, "groupAdded")
        assert any(e["kind"] == "deviceAdded" and e["address"] == "0000:00:06.0"
                   for e in seen), seen
        f.fakesys("set-numvfs", "0000:00:05.0", "0")
        f.fakesys("set-numvfs", "0000:00:05.0", "7")
        wait_for(lambda: len(f.tree()) == len(f.call("io.ioasid.Broker.ListDevices")["devices"]),
                 "the VFs in ListDevices")
        check_matches_tree(f)
        f.fakesys("remove-device", "0000:00:06.0")
        seen = m.until(lambda e: e["kind"] == "groupRemoved" and e["group"] == 40,
                       "groupRemoved")
        assert any(e["kind"] == "deviceRemoved" and e["address"] == "0000:00:06.0"
                   and e["previousDriver"] == "e1000e" for e in seen), seen
        check_matches_tree(f)
        m.close()


def test_overflow_rescans():
    with fixture() as f:
        m = Monitor(f.sock)
        # Changes the daemon hears nothing about, as when the netlink socket overflowed...
        f.rebind("0000:00:03.0", "vfio-pci", events=False)
        f.fakesys("add-device", "0000:00:07.0", "--group", "41", "--driver", "e1000e",
                  events=False)
        f.fakesys("remove-device", "0000:00:02.0", events=False)
        assert f.call("io.ioasid.Broker.GetGroup", {"group": 2})["group"]["viable"] is False
        # ...then the overflow marker: a full rescan must bring the model up to date.
        f.send_uevent(b"@overflow")
        seen = m.until(lambda e: e["kind"] == "groupRemoved" and e["group"] == 5,
                       "the rescan's changes")
        assert seen[0]["kind"] == "rescanned", seen
        check_matches_tree(f)
        assert "events were lost" in f.log()
        # The admin's way to the same place.
        f.fakesys("unbind", "0000:00:03.1", events=False)
        f.call("io.ioasid.Admin.Rescan")
        check_matches_tree(f)
        m.close()


def test_event_burst_coalesced():
    with fixture(layout="scale", create_args=["--devices", "256", "--groups", "64"]) as f:
        check_matches_tree(f)
        m = Monitor(f.sock)
        # 64 rebinds in one burst: one batch, and the model right at the end.
        addresses = sorted(a for a, (_, driver) in f.tree().items() if driver)[:64]
        for a in addresses:
            f.fakesys("unbind", a)
        wait_for(lambda: all("driver" not in d for d in
                             f.call("io.ioasid.Broker.ListDevices")["devices"]
                             if d["address"] in addresses), "all unbinds applied")
        check_matches_tree(f)
        m.close()


def test_hostile_tree():
    with fixture() as f:
        sys_root = os.path.join(f.root, "sys")
        devices = os.path.join(sys_root, "bus/pci/devices")
        outside = os.path.join(f.root, "outside")
        os.makedirs(os.path.join(outside, "devices"))
        for name in ("vendor", "device", "class"):
            with open(os.path.join(outside, name), "w") as fh:
                fh.write("0x1234\n")
        # A device entry that leads out of the sysfs root, absolutely and relatively.
        os.symlink(outside, os.path.join(devices, "0000:00:0a.0"))
        os.symlink("../../../../outside", os.path.join(devices, "0000:00:0b.0"))
        # Names that are not PCI addresses.
        os.mkdir(os.path.join(devices, "..0000:00:0c.0"))
        os.mkdir(os.path.join(devices, "0000:00:0d.0 "))
        # A real-looking device whose group link leaves the root. (A scan takes a device's group
        # from the group that lists it, and reads its own link when none does.)
        f.fakesys("add-device", "0000:00:0e.0", "--group", "42", "--driver", "e1000e",
                  events=False)
        group_link = os.path.join(devices, "0000:00:0e.0", "iommu_group")
        os.unlink(group_link)
        os.symlink(os.path.join(outside, "devices"), group_link)
        os.unlink(os.path.join(sys_root, "kernel/iommu_groups/42/devices/0000:00:0e.0"))
        # A device whose ids went missing, and a group member entry escaping the root.
        f.fakesys("add-device", "0000:00:0f.0", "--group", "43", events=False)
        os.unlink(os.path.join(devices, "0000:00:0f.0", "vendor"))
        os.symlink("/etc", os.path.join(sys_root, "kernel/iommu_groups/2/devices/0000:00:10.0"))

        f.call("io.ioasid.Admin.Rescan")
        listed = {d["address"]: d for d in f.call("io.ioasid.Broker.ListDevices")["devices"]}
        for bad in ("0000:00:0a.0", "0000:00:0b.0", "..0000:00:0c.0", "0000:00:0d.0 "):
            assert bad not in listed, listed[bad]
        # Never followed out: the escaping group link gives no group, and is logged.
        assert listed.get("0000:00:0e.0", {}).get("group", -1) != 42
        g2 = f.call("io.ioasid.Broker.GetGroup", {"group": 2})["group"]
        assert "0000:00:10.0" not in [d["address"] for d in g2["devices"]], g2
        assert g2["viable"] is False
        log = f.log()
        assert "0000:00:0a.0" in log and "0000:00:0e.0" in log, log

        # Uevents that name paths instead of devices change nothing and are not fatal.
        for payload in (b"bind@/devices/pci0000:00/../../etc\0ACTION=bind\0SUBSYSTEM=pci\0"
                        b"PCI_SLOT_NAME=../../etc\0DRIVER=vfio-pci\0",
                        b"add@/x\0ACTION=add\0SUBSYSTEM=pci\0PCI_SLOT_NAME=0000:00:03.0/..\0",
                        b"\0\0\0", b"garbage", os.urandom(3000)):
            f.send_uevent(payload)
        f.fakesys("unbind", "0000:00:03.0")
        f.fakesys("bind", "0000:00:03.0", "vfio-pci")
        wait_for(lambda: f.call("io.ioasid.Broker.GetGroup", {"group": 2})
                 ["group"]["devices"][0].get("driver") == "vfio-pci", "the real event")
        f.alive()


def test_listings_follow_changes():
    """Listings and GetGroup are assembled from descriptions cached per device and group: with
    every description cached just before it, each kind of change must show in the next listing,
    and the three views must agree."""
    def views(f):
        groups = groups_by_number(f)
        devices = {d["address"]: d for d in f.call("io.ioasid.Broker.ListDevices")["devices"]}
        for number, g in groups.items():
            one = f.call("io.ioasid.Broker.GetGroup", {"group": number})["group"]
            assert one == g, (one, g)
            for d in g["devices"]:
                assert devices[d["address"]] == d, (d, devices[d["address"]])
        return groups, devices

    with fixture() as f:
        m = Monitor(f.sock)
        views(f)
        f.rebind("0000:00:03.0", "vfio-pci")
        # Not the group turning viable: the unbind alone does that, and the bind may still be
        # on its way, changing the model between the three views.
        m.until(lambda e: e["kind"] == "driverChanged" and e["address"] == "0000:00:03.0"
                and e.get("driver") == "vfio-pci", "0000:00:03.0 on vfio-pci")
        groups, devices = views(f)
        assert devices["0000:00:03.0"]["driver"] == "vfio-pci", devices["0000:00:03.0"]
        assert groups[2]["viable"] is True and groups[2]["reasons"] == [], groups[2]
        check_matches_tree(f)

        # An owner shows on the group and each of its devices, and goes with the lease.
        c = f.client()
        reply = c.call("io.ioasid.Broker.Acquire", {"devices": ["0000:00:03.1"]})
        fds = c.take_fds()
        owner = {"uid": 0, "pid": os.getpid(), "lease": reply["lease"]}
        groups, devices = views(f)
        assert groups[2]["owner"] == owner, groups[2]
        assert all(d["owner"] == owner for d in groups[2]["devices"]), groups[2]
        assert "owner" not in groups[3], groups[3]
        assert c.call("io.ioasid.Broker.Release", {"lease": reply["lease"]}) == {}
        for fd in fds:
            os.close(fd)
        m.until(lambda e: e["kind"] == "leaseReleased", "leaseReleased")
        groups, devices = views(f)
        assert "owner" not in groups[2], groups[2]
        assert not any("owner" in d for d in devices.values()), devices

        # A device removed leaves both listings and its group.
        f.fakesys("remove-device", "0000:00:03.1")
        wait_for(lambda: "0000:00:03.1" not in
                 {d["address"] for d in f.call("io.ioasid.Broker.ListDevices")["devices"]},
                 "0000:00:03.1 gone from ListDevices")
        groups, devices = views(f)
        assert [d["address"] for d in groups[2]["devices"]] == ["0000:00:03.0"], groups[2]
        check_matches_tree(f)
        c.close()
        m.close()


def test_missing_roots():
    with fixture(layout="empty") as f:
        assert f.call("io.ioasid.Broker.ListGroups")["groups"] == []
        assert f.call("io.ioasid.Broker.ListDevices")["devices"] == []


run([test_listings_match_tree, test_identity_domain_note, test_bind_event,
     test_hotplug_and_sriov_events, test_overflow_rescans, test_event_burst_coalesced,
     test_hostile_tree, test_listings_follow_changes, test_missing_roots])
