#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Builds and changes a fake sysfs and /dev for ioasid's tests, laid out as the kernel lays them.

ROOT/sys (what the daemon gets as --sysfs-root) and ROOT/dev (--dev-root). The layout below is the
one seen on Linux 6.12 under QEMU q35 with an emulated Intel IOMMU; every symlink is relative and
written exactly as the kernel's sysfs writes it (up to the common ancestor, then down):

  sys/devices/pci0000:00/                         a root bus
  sys/devices/pci0000:00/0000:00:04.0/0000:01:01.0   a device behind a bridge lives in its dir
  sys/devices/.../ADDR/{vendor,device,class}      "0x8086\\n", "0x100e\\n", "0x020000\\n"
  sys/devices/.../ADDR/subsystem_{vendor,device}  "0x8086\\n", "0x0000\\n"
  sys/devices/.../ADDR/driver_override            "(null)\\n" when unset
  sys/devices/.../ADDR/uevent                     what dev_uevent() and pci_uevent() print: DRIVER=
                                                  (while bound), PCI_CLASS=%04X, PCI_ID=%04X:%04X,
                                                  PCI_SUBSYS_ID=%04X:%04X, PCI_SLOT_NAME=, MODALIAS=
                                                  (kept right on bind and unbind)
  sys/devices/.../ADDR/iommu_group -> ../../../kernel/iommu_groups/N   (one ../ per level)
  sys/devices/.../ADDR/driver      -> ../../../bus/pci/drivers/D
  sys/devices/.../ADDR/subsystem   -> ../../../bus/pci
  sys/devices/.../ADDR/vfio-dev/vfioK/{dev,uevent}   "248:K\\n", when bound to a vfio driver
                                                  on a kernel with vfio device cdevs
  sys/devices/.../PF/{sriov_totalvfs,sriov_numvfs,sriov_offset,sriov_stride,sriov_vf_device,
                      sriov_drivers_autoprobe}, PF/virtfnJ -> ../VF, VF/physfn -> ../PF
                                                  (a VF is the PF's sibling)
  sys/bus/pci/devices/ADDR -> ../../../devices/pci0000:00/ADDR
  sys/bus/pci/drivers/D/{bind,unbind,new_id,remove_id,uevent}, D/ADDR -> ../../../../devices/...
  sys/bus/pci/{drivers_probe,drivers_autoprobe,rescan}
  sys/kernel/iommu_groups/N/{type,reserved_regions}, N/devices/ADDR -> ../../../../devices/...
  sys/class/vfio-dev/vfioK -> ../../devices/.../ADDR/vfio-dev/vfioK
  dev/vfio/vfio (container), dev/iommu (iommufd kernels only), dev/vfio/N (group node, while a
  device of group N is bound to a vfio driver), dev/vfio/devices/vfioK (device cdev)

Device nodes are regular files holding "MAJOR:MINOR": only the daemon's kernel backend opens
them, and a fake tree is driven through a fake backend.

Commands change the tree the way the kernel would, and with --uevent-socket send the kernel's
uevents (one datagram each, kernel format) to the daemon's test socket:

  create [--layout seed|scale|empty] [--spec FILE] [--devices N] [--groups N] [--vfs N]
         [--kernel iommufd|legacy] [--domain-type T] [--bridge-driver D]
  spec --layout seed|scale ...      print a layout as JSON (the --spec format)
  bind ADDR DRIVER                  unbind ADDR
  add-device ADDR [--parent ADDR] [--group N] [--vendor ID] [--device ID] [--class ID]
             [--driver D] [--domain-type T]
  remove-device ADDR                (children and VFs first, as the kernel does)
  set-numvfs PF N [--driver D]      create or remove VFs (N must go through 0, as in the kernel)
  probe ADDR                        what a write to drivers_probe does: bind to driver_override
  list                              one line per device: address, group, driver

With --wait-for-close, unbinding a device from a vfio driver waits, as the kernel does, until no
process has its device node open (its cdev; on a legacy kernel, its group node): the kernel asks
the holder to let go and does not return from the write before it has, whatever signals the
writer gets.
"""

import argparse
import json
import os
import shutil
import socket
import sys
import time

VFIO_CDEV_MAJOR = 248
VFIO_DRIVERS = ("vfio-pci",)
VFIO_SUFFIXES = ("_vfio_pci", "-vfio-pci")


def is_vfio_driver(name):
    return name in VFIO_DRIVERS or any(name.endswith(s) and name != s for s in VFIO_SUFFIXES)


def parse_address(a):
    dom, bus, rest = a.split(":")
    dev, fn = rest.split(".")
    v = (int(dom, 16), int(bus, 16), int(dev, 16), int(fn, 16))
    if format_address(*v) != a or v[2] > 0x1F or v[3] > 7:
        raise ValueError(f"not a PCI address: {a}")
    return v


def format_address(dom, bus, dev, fn):
    return f"{dom:04x}:{bus:02x}:{dev:02x}.{fn:x}"


class Tree:
    def __init__(self, root, uevent_socket=None, print_uevents=False, wait_for_close=False):
        self.root = root
        self.wait_for_close = wait_for_close
        self.sys = os.path.join(root, "sys")
        self.dev = os.path.join(root, "dev")
        self.uevent_socket = uevent_socket
        self.print_uevents = print_uevents
        self.events = []
        self.seqnum = 1000
        self.cdevs_used = None
        self.building = False
        self.cdev_hint = 0

    # ---- low-level helpers ----

    def s(self, *parts):
        return os.path.join(self.sys, *parts)

    def write(self, path, text):
        with open(path, "w") as f:
            f.write(text)

    def read(self, path, default=None):
        try:
            with open(path) as f:
                return f.read().rstrip("\n")
        except FileNotFoundError:
            return default

    def link(self, target_rel, link_rel):
        """Symlink sys/link_rel -> sys/target_rel, relative, as the kernel's sysfs writes it."""
        link = self.s(link_rel)
        text = os.path.relpath(self.s(target_rel), os.path.dirname(link))
        if os.path.lexists(link):
            os.unlink(link)
        os.symlink(text, link)

    def device_path(self, addr):
        """The device's directory relative to sys, from its bus/pci/devices link."""
        link = self.s("bus", "pci", "devices", addr)
        if not os.path.islink(link):
            raise SystemExit(f"no such device: {addr}")
        return os.path.normpath(os.path.join("bus/pci/devices", os.readlink(link)))

    def driver_of(self, devpath):
        link = self.s(devpath, "driver")
        return os.path.basename(os.readlink(link)) if os.path.islink(link) else None

    def group_of(self, devpath):
        link = self.s(devpath, "iommu_group")
        return int(os.path.basename(os.readlink(link))) if os.path.islink(link) else None

    def has_cdevs(self):
        return os.path.exists(os.path.join(self.dev, "iommu"))

    def uevent(self, action, devpath, subsystem, **keys):
        if self.building:
            return
        self.seqnum += 1
        fields = [f"ACTION={action}", f"DEVPATH=/{devpath}", f"SUBSYSTEM={subsystem}"]
        fields += [f"{k}={v}" for k, v in keys.items() if v is not None]
        fields.append(f"SEQNUM={self.seqnum}")
        self.events.append(f"{action}@/{devpath}\0" + "\0".join(fields) + "\0")

    def pci_env(self, devpath, driver):
        """The variables the kernel's dev_uevent() and pci_uevent() give a PCI device, in their
        order: they make both its uevents and its uevent attribute."""
        def value(name, default):
            return int(self.read(self.s(devpath, name), default), 16)

        vendor, device = value("vendor", "0xffff"), value("device", "0xffff")
        sub_vendor, sub_device = value("subsystem_vendor", "0x0"), value("subsystem_device", "0x0")
        cls = value("class", "0x0")
        env = [("DRIVER", driver)] if driver else []
        env += [("PCI_CLASS", f"{cls:04X}"), ("PCI_ID", f"{vendor:04X}:{device:04X}"),
                ("PCI_SUBSYS_ID", f"{sub_vendor:04X}:{sub_device:04X}"),
                ("PCI_SLOT_NAME", os.path.basename(devpath)),
                ("MODALIAS", f"pci:v{vendor:08X}d{device:08X}sv{sub_vendor:08X}"
                             f"sd{sub_device:08X}bc{cls >> 16 & 0xFF:02X}"
                             f"sc{cls >> 8 & 0xFF:02X}i{cls & 0xFF:02X}")]
        return env

    def pci_uevent(self, action, devpath, driver=None, env=None):
        if self.building:
            return
        self.uevent(action, devpath, "pci", **dict(env or self.pci_env(devpath, driver)))

    def write_uevent_file(self, devpath):
        env = self.pci_env(devpath, self.driver_of(devpath))
        self.write(self.s(devpath, "uevent"), "".join(f"{k}={v}\n" for k, v in env))

    def flush_events(self):
        if self.print_uevents:
            for e in self.events:
                print(e.split("\0", 1)[0])
        if self.uevent_socket and self.events:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sk:
                for e in self.events:
                    sk.sendto(e.encode(), self.uevent_socket)
        self.events = []

    # ---- the skeleton ----

    def create_skeleton(self, kernel):
        for d in ("bus/pci/devices", "bus/pci/drivers", "devices", "kernel/iommu_groups",
                  "class/vfio-dev"):
            os.makedirs(self.s(d), exist_ok=True)
        for f, v in (("drivers_probe", ""), ("drivers_autoprobe", "1\n"), ("rescan", "")):
            self.write(self.s("bus", "pci", f), v)
        # The modules a VFIO host has loaded, bound to nothing yet.
        for driver in ("vfio-pci", "pci-stub"):
            self.ensure_driver(driver)
        os.makedirs(os.path.join(self.dev, "vfio"), exist_ok=True)
        self.write(os.path.join(self.dev, "vfio", "vfio"), "10:196\n")
        if kernel == "iommufd":
            os.makedirs(os.path.join(self.dev, "vfio", "devices"), exist_ok=True)
            self.write(os.path.join(self.dev, "iommu"), "10:123\n")

    def ensure_driver(self, name):
        d = self.s("bus", "pci", "drivers", name)
        if not os.path.isdir(d):
            os.makedirs(d)
            for f in ("bind", "unbind", "new_id", "remove_id"):
                self.write(os.path.join(d, f), "")
            self.write(os.path.join(d, "uevent"), "")

    def ensure_group(self, number, domain_type):
        g = self.s("kernel", "iommu_groups", str(number))
        if not os.path.isdir(g):
            os.makedirs(os.path.join(g, "devices"))
            self.write(os.path.join(g, "type"), domain_type + "\n")
            self.write(os.path.join(g, "reserved_regions"), "")

    def groups(self):
        return [int(n) for n in os.listdir(self.s("kernel", "iommu_groups")) if n.isdigit()]

    def next_group(self):
        return max(self.groups(), default=-1) + 1

    # ---- devices ----

    def add_device(self, addr, parent=None, group=None, vendor="0x8086", device="0x100e",
                   cls="0x020000", driver=None, domain_type="DMA", sriov=None, physfn=None,
                   base=None, subsystem=None):
        dom, bus, _, _ = parse_address(addr)
        if os.path.lexists(self.s("bus", "pci", "devices", addr)):
            raise SystemExit(f"{addr} exists")
        if base:
            pass
        elif parent:
            base = self.device_path(parent)
        else:
            base = f"devices/pci{dom:04x}:{bus:02x}"
            os.makedirs(self.s(base), exist_ok=True)
        devpath = f"{base}/{addr}"
        os.makedirs(self.s(devpath))
        self.write(self.s(devpath, "vendor"), vendor + "\n")
        self.write(self.s(devpath, "device"), device + "\n")
        self.write(self.s(devpath, "class"), cls + "\n")
        sub_vendor, sub_device = subsystem or (vendor, "0x0000")
        self.write(self.s(devpath, "subsystem_vendor"), sub_vendor + "\n")
        self.write(self.s(devpath, "subsystem_device"), sub_device + "\n")
        self.write(self.s(devpath, "driver_override"), "(null)\n")
        self.link("bus/pci", f"{devpath}/subsystem")
        if sriov:
            for k in ("totalvfs", "offset", "stride"):
                self.write(self.s(devpath, f"sriov_{k}"), f"{sriov[k]}\n")
            self.write(self.s(devpath, "sriov_numvfs"), "0\n")
            self.write(self.s(devpath, "sriov_vf_device"), sriov["vf_device"][2:] + "\n")
            self.write(self.s(devpath, "sriov_drivers_autoprobe"), "1\n")
        if physfn:
            self.link(self.device_path(physfn), f"{devpath}/physfn")
        if group is None:
            group = self.next_group()
        if group >= 0:
            self.ensure_group(group, domain_type)
            self.link(f"kernel/iommu_groups/{group}", f"{devpath}/iommu_group")
            self.link(devpath, f"kernel/iommu_groups/{group}/devices/{addr}")
        self.link(devpath, f"bus/pci/devices/{addr}")
        self.pci_uevent("add", devpath)
        if driver:
            self.bind(addr, driver, devpath=devpath, update_uevent_file=False)
        self.write_uevent_file(devpath)
        return devpath

    def remove_device(self, addr):
        devpath = self.device_path(addr)
        full = self.s(devpath)
        # The kernel removes what hangs below first: VFs, then devices behind a bridge.
        if int(self.read(os.path.join(full, "sriov_numvfs"), "0")) > 0:
            self.set_numvfs(addr, 0)
        for child in sorted(os.listdir(full), reverse=True):
            if os.path.isdir(os.path.join(full, child)) and not os.path.islink(
                    os.path.join(full, child)) and len(child) == 12 and child[4] == ":":
                self.remove_device(child)
        if self.driver_of(devpath):
            self.unbind(addr)
        env = self.pci_env(devpath, None)
        group = self.group_of(devpath)
        if group is not None:
            gdir = self.s("kernel", "iommu_groups", str(group))
            os.unlink(os.path.join(gdir, "devices", addr))
            if not os.listdir(os.path.join(gdir, "devices")):
                shutil.rmtree(gdir)
        os.unlink(self.s("bus", "pci", "devices", addr))
        shutil.rmtree(full)
        self.pci_uevent("remove", devpath, env=env)

    # ---- drivers ----

    def free_cdev_index(self):
        # The kernel hands out the lowest free index; cached, since a layout binds thousands.
        if self.cdevs_used is None:
            self.cdevs_used = {int(n[4:]) for n in os.listdir(self.s("class", "vfio-dev"))
                               if n[4:].isdigit()}
        k = self.cdev_hint
        while k in self.cdevs_used:
            k += 1
        self.cdevs_used.add(k)
        self.cdev_hint = k
        return k

    def bind(self, addr, driver, devpath=None, update_uevent_file=True):
        devpath = devpath or self.device_path(addr)
        current = self.driver_of(devpath)
        if current:
            raise SystemExit(f"{addr} is bound to {current}; unbind it first")
        self.ensure_driver(driver)
        self.link(f"bus/pci/drivers/{driver}", f"{devpath}/driver")
        self.link(devpath, f"bus/pci/drivers/{driver}/{addr}")
        if is_vfio_driver(driver):
            group = self.group_of(devpath)
            if group is not None:
                self.write(os.path.join(self.dev, "vfio", str(group)), f"vfio group {group}\n")
            if self.has_cdevs():
                k = self.free_cdev_index()
                vdir = f"{devpath}/vfio-dev/vfio{k}"
                os.makedirs(self.s(vdir))
                self.write(self.s(vdir, "dev"), f"{VFIO_CDEV_MAJOR}:{k}\n")
                self.write(self.s(vdir, "uevent"),
                           f"MAJOR={VFIO_CDEV_MAJOR}\nMINOR={k}\nDEVNAME=vfio/devices/vfio{k}\n")
                self.link(vdir, f"class/vfio-dev/vfio{k}")
                self.write(os.path.join(self.dev, "vfio", "devices", f"vfio{k}"),
                           f"{VFIO_CDEV_MAJOR}:{k}\n")
                # The cdev is made during the driver's probe, before the bind event.
                self.uevent("add", vdir, "vfio-dev", MAJOR=VFIO_CDEV_MAJOR, MINOR=k,
                            DEVNAME=f"vfio/devices/vfio{k}")
        if update_uevent_file:
            self.write_uevent_file(devpath)
        self.pci_uevent("bind", devpath, driver)

    def open_anywhere(self, nodes):
        """Whether any process has one of nodes open."""
        wanted = set()
        for node in nodes:
            try:
                st = os.stat(node)
                wanted.add((st.st_dev, st.st_ino))
            except FileNotFoundError:
                pass
        if not wanted:
            return False
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                fds = os.listdir(f"/proc/{pid}/fd")
            except OSError:
                continue
            for fd in fds:
                try:
                    st = os.stat(f"/proc/{pid}/fd/{fd}")
                except OSError:
                    continue
                if (st.st_dev, st.st_ino) in wanted:
                    return True
        return False

    def wait_until_closed(self, devpath):
        """The kernel's device-request wait: the unbind returns once the device is closed."""
        vfio = self.s(devpath, "vfio-dev")
        if os.path.isdir(vfio):
            nodes = [os.path.join(self.dev, "vfio", "devices", name) for name in os.listdir(vfio)]
        else:
            nodes = [os.path.join(self.dev, "vfio", str(self.group_of(devpath)))]
        # Bounded only so that a failed test leaves nothing behind for long.
        end = time.monotonic() + 600
        while self.open_anywhere(nodes):
            if time.monotonic() > end:
                raise SystemExit("the device was never closed")
            time.sleep(0.02)

    def unbind(self, addr):
        devpath = self.device_path(addr)
        driver = self.driver_of(devpath)
        if not driver:
            raise SystemExit(f"{addr} has no driver")
        if self.wait_for_close and is_vfio_driver(driver):
            self.wait_until_closed(devpath)
        vfio = self.s(devpath, "vfio-dev")
        if os.path.isdir(vfio):
            for name in os.listdir(vfio):
                self.uevent("remove", f"{devpath}/vfio-dev/{name}", "vfio-dev")
                os.unlink(self.s("class", "vfio-dev", name))
                if self.cdevs_used is not None:
                    self.cdevs_used.discard(int(name[4:]))
                    self.cdev_hint = min(self.cdev_hint, int(name[4:]))
                node = os.path.join(self.dev, "vfio", "devices", name)
                if os.path.exists(node):
                    os.unlink(node)
            shutil.rmtree(vfio)
        os.unlink(self.s("bus", "pci", "drivers", driver, addr))
        os.unlink(self.s(devpath, "driver"))
        group = self.group_of(devpath)
        if is_vfio_driver(driver) and group is not None:
            gdir = self.s("kernel", "iommu_groups", str(group), "devices")
            still = any(is_vfio_driver(self.driver_of(self.device_path(a)) or "")
                        for a in os.listdir(gdir))
            node = os.path.join(self.dev, "vfio", str(group))
            if not still and os.path.exists(node):
                os.unlink(node)
        self.write_uevent_file(devpath)
        self.pci_uevent("unbind", devpath)

    def probe(self, addr):
        devpath = self.device_path(addr)
        override = self.read(self.s(devpath, "driver_override"), "(null)")
        if self.driver_of(devpath) or override in ("(null)", ""):
            return
        # Only a driver the kernel has can take the device; probing reports success anyway.
        if not os.path.isdir(self.s("bus", "pci", "drivers", override)):
            return
        self.bind(addr, override)

    # ---- SR-IOV ----

    def set_numvfs(self, pf, n, driver=None):
        devpath = self.device_path(pf)
        total = self.read(self.s(devpath, "sriov_totalvfs"))
        if total is None:
            raise SystemExit(f"{pf} is not an SR-IOV PF")
        current = int(self.read(self.s(devpath, "sriov_numvfs")))
        if n > int(total):
            raise SystemExit(f"{pf} has at most {total} VFs")
        if current and n:
            raise SystemExit(f"{pf} has {current} VFs; set 0 first")
        offset = int(self.read(self.s(devpath, "sriov_offset")))
        stride = int(self.read(self.s(devpath, "sriov_stride")))
        vf_device = "0x" + self.read(self.s(devpath, "sriov_vf_device"))
        autoprobe = self.read(self.s(devpath, "sriov_drivers_autoprobe"), "1") == "1"
        dom, bus, dev, fn = parse_address(pf)
        rid = (bus << 8) | (dev << 3) | fn
        parent = os.path.dirname(devpath)
        domain_type = self.read(self.s(devpath, "iommu_group", "type"), "DMA")
        cls = self.read(self.s(devpath, "class"))
        vendor = self.read(self.s(devpath, "vendor"))
        subsystem = (self.read(self.s(devpath, "subsystem_vendor"), vendor),
                     self.read(self.s(devpath, "subsystem_device"), "0x0000"))
        if n == 0:
            for j in reversed(range(current)):
                vf = os.path.basename(os.readlink(self.s(devpath, f"virtfn{j}")))
                os.unlink(self.s(devpath, f"virtfn{j}"))
                self.remove_device(vf)
        else:
            for j in range(n):
                r = rid + offset + j * stride
                vf = format_address(dom, r >> 8, (r >> 3) & 0x1F, r & 7)
                # The kernel gives a VF the PF's parent: they are siblings in sysfs.
                self.add_device(vf, base=parent, vendor=vendor, device=vf_device, cls=cls,
                                driver=driver if autoprobe else None, domain_type=domain_type,
                                physfn=pf, subsystem=subsystem)
                self.link(self.device_path(vf), f"{devpath}/virtfn{j}")
        self.write(self.s(devpath, "sriov_numvfs"), f"{n}\n")
        self.pci_uevent("change", devpath, self.driver_of(devpath))

    # ---- whole layouts ----

    def build(self, spec):
        self.building = True
        self.create_skeleton(spec.get("kernel", "iommufd"))
        default_type = spec.get("domain_type", "DMA")
        types = {int(k): v.get("type", default_type) for k, v in spec.get("groups", {}).items()}
        # Numbered groups first, so that groups made on the way (VFs) take the next free ones.
        for d in spec["devices"]:
            if d.get("group") is not None and d["group"] not in types:
                types[d["group"]] = default_type
        for g, t in types.items():
            self.ensure_group(g, t)
        for d in spec["devices"]:
            group = d.get("group")
            sriov = d.get("sriov")
            self.add_device(d["address"], parent=d.get("parent"), group=group,
                            vendor=d.get("vendor", "0x8086"), device=d.get("device", "0x100e"),
                            cls=d.get("class", "0x020000"), driver=d.get("driver"),
                            domain_type=types.get(group, default_type), sriov=sriov,
                            subsystem=(d["subsystem_vendor"], d["subsystem_device"])
                            if "subsystem_vendor" in d else None)
            if sriov and sriov.get("numvfs"):
                self.set_numvfs(d["address"], sriov["numvfs"], sriov.get("vf_driver"))
        self.building = False

    def list(self):
        for addr in sorted(os.listdir(self.s("bus", "pci", "devices"))):
            devpath = self.device_path(addr)
            group = self.group_of(devpath)
            print(f"{addr} group={'-' if group is None else group} "
                  f"driver={self.driver_of(devpath) or '-'}")


def seed_layout(args):
    """The seed thread's scenarios on the q35 machine the VM tier boots."""
    t = args.domain_type
    dev = [
        dict(address="0000:00:00.0", group=0, vendor="0x8086", device="0x29c0",
             **{"class": "0x060000"}),
        dict(address="0000:00:01.0", group=1, vendor="0x1234", device="0x1111",
             driver="bochs-drm", **{"class": "0x030000"}),
        # Scenarios 1-2: two functions without ACS share a group.
        dict(address="0000:00:03.0", group=2, vendor="0x1af4", device="0x1041",
             driver="virtio-pci", **{"class": "0x020000"}),
        dict(address="0000:00:03.1", group=2, vendor="0x1af4", device="0x1041",
             driver="vfio-pci", **{"class": "0x020000"}),
        # Scenario 3: a PCIe-to-PCI bridge and the conventional devices behind it.
        dict(address="0000:00:04.0", group=3, vendor="0x1b36", device="0x000e",
             driver=args.bridge_driver, **{"class": "0x060400"}),
        dict(address="0000:01:01.0", parent="0000:00:04.0", group=3, vendor="0x8086",
             device="0x100e", driver="e1000", **{"class": "0x020000"}),
        dict(address="0000:01:02.0", parent="0000:00:04.0", group=3, vendor="0x8086",
             device="0x100e", driver="e1000", **{"class": "0x020000"}),
        # An SR-IOV PF; its VFs (00:15.0, 00:15.2, ...) get a group each.
        dict(address="0000:00:05.0", group=4, vendor="0x8086", device="0x10c9", driver="igb",
             sriov=dict(totalvfs=8, numvfs=args.vfs, offset=128, stride=2, vf_device="0x10ca",
                        vf_driver="igbvf"), **{"class": "0x020000"}),
        dict(address="0000:00:02.0", group=5, vendor="0x8086", device="0x10d3",
             driver="e1000e", **{"class": "0x020000"}),
        # The q35 LPC/SATA/SMBus functions: one group, all on host drivers.
        dict(address="0000:00:1f.0", group=6, vendor="0x8086", device="0x2918",
             driver="lpc_ich", **{"class": "0x060100"}),
        dict(address="0000:00:1f.2", group=6, vendor="0x8086", device="0x2922", driver="ahci",
             **{"class": "0x010601"}),
        dict(address="0000:00:1f.3", group=6, vendor="0x8086", device="0x2930",
             driver="i801_smbus", **{"class": "0x0c0500"}),
    ]
    return dict(kernel=args.kernel, domain_type=t, devices=[
        {k: v for k, v in d.items() if v is not None} for d in dev])


def scale_layout(args):
    """N devices on root buses, consecutive functions sharing a group, drivers mixed by group:
    vfio-pci, host (e1000e), none, vfio-pci with a virtio-pci sibling, pci-stub + vfio-pci."""
    n = args.devices
    groups = args.groups or max(1, n // 4)
    per = -(-n // groups)
    mixes = [("vfio-pci",), ("e1000e",), (None,), ("vfio-pci", "virtio-pci"),
             ("pci-stub", "vfio-pci")]
    devices = []
    for i in range(n):
        bus = i // 256
        addr = format_address(bus // 256, bus % 256, (i % 256) // 8, i % 8)
        g = i // per
        mix = mixes[g % len(mixes)]
        d = dict(address=addr, group=g, vendor="0x8086", device="0x10d3",
                 **{"class": "0x020000"})
        drv = mix[(i % per) % len(mix)]
        if drv:
            d["driver"] = drv
        devices.append(d)
    return dict(kernel=args.kernel, domain_type=args.domain_type, devices=devices)


def make_spec(args):
    if args.spec:
        with open(args.spec) as f:
            return json.load(f)
    if args.layout == "seed":
        return seed_layout(args)
    if args.layout == "scale":
        return scale_layout(args)
    return dict(kernel=args.kernel, devices=[])


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--root", required=True, help="holds sys/ and dev/")
    p.add_argument("--uevent-socket", help="send the kernel's uevents here")
    p.add_argument("--print-uevents", action="store_true")
    p.add_argument("--wait-for-close", action="store_true",
                   help="unbinding from vfio waits until the device node is closed")
    sub = p.add_subparsers(dest="cmd", required=True)

    for name in ("create", "spec"):
        c = sub.add_parser(name)
        c.add_argument("--layout", choices=("seed", "scale", "empty"), default="seed")
        c.add_argument("--spec", help="a JSON layout instead of a built-in one")
        c.add_argument("--devices", type=int, default=16384)
        c.add_argument("--groups", type=int, default=0)
        c.add_argument("--vfs", type=int, default=4)
        c.add_argument("--kernel", choices=("iommufd", "legacy"), default="iommufd")
        c.add_argument("--domain-type", default="DMA")
        c.add_argument("--bridge-driver", default=None)
        c.add_argument("--force", action="store_true", help="replace an existing tree")
    c = sub.add_parser("bind")
    c.add_argument("address")
    c.add_argument("driver")
    c = sub.add_parser("unbind")
    c.add_argument("address")
    c = sub.add_parser("add-device")
    c.add_argument("address")
    c.add_argument("--parent")
    c.add_argument("--group", type=int)
    c.add_argument("--vendor", default="0x8086")
    c.add_argument("--device", default="0x100e")
    c.add_argument("--class", dest="cls", default="0x020000")
    c.add_argument("--driver")
    c.add_argument("--domain-type", default="DMA")
    c = sub.add_parser("remove-device")
    c.add_argument("address")
    c = sub.add_parser("set-numvfs")
    c.add_argument("address")
    c.add_argument("count", type=int)
    c.add_argument("--driver")
    c = sub.add_parser("probe")
    c.add_argument("address")
    sub.add_parser("list")
    args = p.parse_args()

    t = Tree(args.root, args.uevent_socket, args.print_uevents, args.wait_for_close)
    if args.cmd == "spec":
        json.dump(make_spec(args), sys.stdout, indent=1)
        print()
        return
    if args.cmd == "create":
        if os.path.exists(t.sys) or os.path.exists(t.dev):
            if not args.force:
                raise SystemExit(f"{args.root} already has a tree (--force replaces it)")
            shutil.rmtree(t.sys, ignore_errors=True)
            shutil.rmtree(t.dev, ignore_errors=True)
        t.build(make_spec(args))
        return
    if not os.path.isdir(t.sys):
        raise SystemExit(f"no tree under {args.root}")
    if args.cmd == "bind":
        t.bind(args.address, args.driver)
    elif args.cmd == "unbind":
        t.unbind(args.address)
    elif args.cmd == "add-device":
        t.add_device(args.address, parent=args.parent, group=args.group, vendor=args.vendor,
                     device=args.device, cls=args.cls, driver=args.driver,
                     domain_type=args.domain_type)
    elif args.cmd == "remove-device":
        t.remove_device(args.address)
    elif args.cmd == "set-numvfs":
        t.set_numvfs(args.address, args.count, args.driver)
    elif args.cmd == "probe":
        t.probe(args.address)
    elif args.cmd == "list":
        t.list()
    t.flush_events()


if __name__ == "__main__":
    main()
