# Seed scenario 5, hotplug: a NIC added through the QEMU monitor shows up in the model (and can
# be acquired, managed), and disappears from it again when removed.
# budget: 180
find_new() {
        for d in /sys/bus/pci/devices/*; do
                [ "$(cat "$d/vendor")" = 0x8086 ] && [ "$(cat "$d/device")" = 0x10d3 ] &&
                        basename "$d" && return 0
        done
        return 1
}

run() {
        backend=$1
        start_daemon "$backend"
        step "device_add"
        echo "HOTPLUG: device_add e1000e,id=hp1,bus=rp1,netdev=n9"
        i=0
        until addr=$(find_new); do
                i=$((i + 1))
                [ $i -lt 300 ] || die "the hot-added NIC did not appear"
                sleep 0.1
        done
        wait_groups " $addr=e1000e"
        ok "the model has the hot-added $addr on e1000e (group $(group_of "$addr"))"
        start_holder "$addr" managed
        ok "acquired: $(tr '\n' ' ' <"/tmp/holder-$addr.out")"
        kill $HOLDER
        wait_groups " $addr=e1000e$"
        step "device_del"
        echo "HOTPLUG: device_del hp1"
        i=0
        while [ -e "/sys/bus/pci/devices/$addr" ]; do
                i=$((i + 1))
                [ $i -lt 300 ] || die "the NIC was not removed"
                sleep 0.1
        done
        i=0
        while vm-client "$SOCK" groups | grep -q " $addr="; do
                i=$((i + 1))
                [ $i -lt 100 ] || die "the model still has $addr"
                sleep 0.1
        done
        ok "gone from the model too"
        kill $DAEMON
}
