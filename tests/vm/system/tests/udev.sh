# The daemon's device events through the real udevd: driver changes made by driverctl (an
# override, saved the way an admin would) and by hand in sysfs, and a NIC hot-added and removed
# through QEMU's monitor, are each seen by the daemon after udevd has processed them.
# budget: 420
find_new() {
        local d
        for d in /sys/bus/pci/devices/*; do
                [ "$(cat "$d/vendor")" = 0x8086 ] && [ "$(cat "$d/device")" = 0x10d3 ] &&
                        basename "$d" && return 0
        done
        return 1
}

udev_driver() { udevadm info -q property "/sys/bus/pci/devices/$1" | sed -n 's/^DRIVER=//p'; }

run() {
        step "the daemon listens to udevd, not to the kernel"
        [ -e /run/udev/control ] || die "udevd is not running"
        vm-client "$SOCK" groups >/dev/null || die "no daemon"
        ! log_has "listening to kernel uevents" || die "the daemon did not take udevd's events"
        [ "$(udev_driver 0000:00:03.1)" = virtio-pci ] || die "udev says $(udev_driver 0000:00:03.1)"
        g2=$(group_of 0000:00:03.0)
        wait_groups "^$g2 blocked 0000:00:03.0=virtio-pci 0000:00:03.1=virtio-pci"
        ok "udevd's database and the daemon agree: 03.1 on virtio-pci"

        step "driverctl set-override 03.1 vfio-pci"
        driverctl set-override 0000:00:03.1 vfio-pci || die "driverctl failed"
        driverctl list-overrides | grep -q "0000:00:03.1 vfio-pci" ||
                die "driverctl does not list it: $(driverctl list-overrides)"
        [ "$(cat /sys/bus/pci/devices/0000:00:03.1/driver_override)" = vfio-pci ] ||
                die "no driver_override"
        wait_groups "^$g2 blocked 0000:00:03.0=virtio-pci 0000:00:03.1=vfio-pci$"
        [ "$(udev_driver 0000:00:03.1)" = vfio-pci ] || die "udev says $(udev_driver 0000:00:03.1)"
        out=$(vm-client "$SOCK" refused io.ioasid.Broker.GroupNotViable 0000:00:03.1) ||
                die "not refused: $out"
        echo "$out" | grep -q "0000:00:03.0 is bound to virtio-pci" || die "reasons: $out"
        ok "the override is seen: 03.1 on vfio-pci, its group refused because of 03.0: $out"

        step "unbind and bind by hand in sysfs"
        echo 0000:00:03.1 >/sys/bus/pci/drivers/vfio-pci/unbind
        wait_groups "^$g2 blocked 0000:00:03.0=virtio-pci 0000:00:03.1=-$"
        echo 0000:00:03.1 >/sys/bus/pci/drivers/vfio-pci/bind
        wait_groups "^$g2 blocked 0000:00:03.0=virtio-pci 0000:00:03.1=vfio-pci$"
        ok "unbind and bind seen"

        step "driverctl unset-override puts 03.1 back on virtio-pci"
        driverctl unset-override 0000:00:03.1 || die "driverctl unset failed"
        wait_groups "^$g2 blocked 0000:00:03.0=virtio-pci 0000:00:03.1=virtio-pci$"
        [ -z "$(driverctl list-overrides)" ] || die "overrides left: $(driverctl list-overrides)"
        ok "back on virtio-pci"

        step "device_add through QEMU's monitor"
        echo "HOTPLUG: device_add e1000e,id=hp1,bus=rp1,netdev=n9"
        wait_for 60 find_new || die "the hot-added NIC did not appear"
        addr=$(find_new)
        wait_groups " $addr=e1000e$"
        [ "$(udev_driver "$addr")" = e1000e ] || die "udev says $(udev_driver "$addr")"
        ok "the daemon has the hot-added $addr on e1000e (group $(group_of "$addr"))"
        start_holder "$addr" managed
        ok "acquired, managed: $(tr '\n' ' ' <"/tmp/holder-$addr.out")"
        kill "$HOLDER"
        wait_groups " $addr=e1000e$"

        step "device_del"
        echo "HOTPLUG: device_del hp1"
        wait_for 60 eval '[ ! -e "/sys/bus/pci/devices/$addr" ]' || die "the NIC was not removed"
        wait_for 60 eval '! vm-client "$SOCK" groups | grep -q " $addr="' ||
                die "the daemon still has $addr"
        ok "gone from the daemon too"
}
