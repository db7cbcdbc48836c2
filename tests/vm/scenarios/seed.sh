# The seed thread's scenarios on a real kernel: 1 (a group with a host-driven function is
# refused, naming it; granted once clean, and the fds work), 2 (a second owner is refused; a
# host driver cannot bind into the leased group), 3 (the bridge group is taken whole, managed)
# and 4 (the holder's exit ends the lease and puts drivers back).
# budget: 300
run() {
        backend=$1
        start_daemon "$backend"
        g2=$(group_of 0000:00:03.0)
        g3=$(group_of 0000:01:01.0)
        step "layout: 03.0 and 03.1 in group $g2, the bridge and both e1000s in group $g3"
        [ "$(group_of 0000:00:03.1)" = "$g2" ] || die "03.1 is not in 03.0's group"
        [ "$(group_of 0000:00:04.0)" = "$g3" ] && [ "$(group_of 0000:01:02.0)" = "$g3" ] ||
                die "the bridge group is not whole"
        wait_groups "^$g2 blocked 0000:00:03.0=virtio-pci 0000:00:03.1=virtio-pci"
        ok "ListGroups shows group $g2 on virtio-pci, not viable"

        step "scenario 1: one function on vfio-pci, the other on its host driver"
        bind_to 0000:00:03.1 vfio-pci
        [ "$(driver_of 0000:00:03.1)" = vfio-pci ] || die "03.1 did not bind to vfio-pci"
        out=$(vm-client "$SOCK" refused io.ioasid.Broker.GroupNotViable 0000:00:03.1) ||
                die "not refused: $out"
        echo "$out" | grep -q "0000:00:03.0 is bound to virtio-pci" || die "reasons: $out"
        ok "refused: $out"
        bind_to 0000:00:03.0 vfio-pci
        wait_groups "^$g2 viable"
        start_holder 0000:00:03.1
        holder=$HOLDER
        ok "granted and used: $(tr '\n' ' ' </tmp/holder-0000:00:03.1.out)"

        step "scenario 2: a second owner, and a host driver, against the leased group"
        out=$(vm-client "$SOCK" refused io.ioasid.Broker.GroupBusy 0000:00:03.0) ||
                die "a second lease got the group: $out"
        ok "second owner refused: $out"
        # 03.0 is on vfio-pci but unused: unbind it, and offer it to its host driver.
        echo virtio-pci >/sys/bus/pci/devices/0000:00:03.0/driver_override
        echo 0000:00:03.0 >/sys/bus/pci/drivers/vfio-pci/unbind
        echo 0000:00:03.0 >/sys/bus/pci/drivers_probe 2>/dev/null || true
        if [ "$backend" = iommufd ]; then
                # The group is claimed through the holder's iommufd: the kernel refuses.
                [ "$(driver_of 0000:00:03.0)" = - ] ||
                        die "the kernel let virtio-pci into the leased group"
                ok "the kernel refused a host driver in the leased group"
        else
                [ "$(driver_of 0000:00:03.0)" = - ] ||
                        die "the kernel let virtio-pci into the leased group (legacy)"
                ok "the kernel refused a host driver in the leased group (container set)"
        fi
        kill -0 $holder || die "the holder died"
        echo > /sys/bus/pci/devices/0000:00:03.0/driver_override

        step "scenario 4: the daemon killed (-9) and started again, the holder still running"
        kill -9 $DAEMON
        wait $DAEMON 2>/dev/null || true
        start_daemon "$backend"
        wait_groups "^$g2 viable owner="
        out=$(vm-client "$SOCK" refused io.ioasid.Broker.GroupBusy 0000:00:03.0) ||
                die "the restarted daemon gave the leased group away: $out"
        grep -q "restored" /tmp/ioasidd.log || die "no lease restored"
        ok "lease restored after kill -9: $out"

        step "scenario 4: the holder exits, the lease ends"
        kill $holder
        wait_groups "^$g2 viable 0000:00:03.0=- 0000:00:03.1=vfio-pci$"
        ok "lease ended with its holder"

        step "scenario 3: the bridge group, managed"
        echo "INFO bridge 0000:00:04.0 is on $(driver_of 0000:00:04.0)"
        if [ "$(driver_of 0000:00:04.0)" != - ]; then
                # shpchp keeps the kernel's DMA domain: the group cannot be claimed.
                out=$(vm-client "$SOCK" refused io.ioasid.Broker.GroupNotViable 0000:01:01.0) ||
                        die "not refused: $out"
                echo "$out" | grep -q "0000:00:04.0 is a bridge bound to" || die "reasons: $out"
                ok "refused while the bridge has a driver: $out"
                echo 0000:00:04.0 >"/sys/bus/pci/devices/0000:00:04.0/driver/unbind"
        fi
        start_holder 0000:01:01.0 managed
        holder=$HOLDER
        [ "$(driver_of 0000:01:01.0)" = vfio-pci ] && [ "$(driver_of 0000:01:02.0)" = vfio-pci ] ||
                die "the group was not bound whole"
        wait_groups "^$g3 viable owner="
        ok "bridge group taken whole: $(tr '\n' ' ' </tmp/holder-0000:01:01.0.out)"
        kill $holder
        wait_groups "^$g3 blocked 0000:00:04.0=[^ ]* 0000:01:01.0=e1000 0000:01:02.0=e1000$"
        ok "managed drivers back on e1000"
        grep -E 'AUDIT|Lease' /tmp/ioasidd.log | sed 's/^/INFO /'
        kill $DAEMON
}
