# The seed thread's scenarios under the installed, hardened unit (socket-activated, its own
# seccomp filter, a private /dev): 1 (a group with a host-driven function is refused, naming
# it; granted once clean), 2 (a second owner is refused), 3 (the bridge group taken whole,
# managed, and given back), 4 (the holder's exit ends the lease), and Revoke of a holder that
# will not let go (killed after the revoke timeout, managed drivers restored).
# budget: 420
run() {
        g2=$(group_of 0000:00:03.0)
        g3=$(group_of 0000:01:01.0)
        wait_groups "^$g2 blocked 0000:00:03.0=virtio-pci 0000:00:03.1=virtio-pci"
        ok "ListGroups shows group $g2 on virtio-pci, not viable"

        step "scenario 1: one function on vfio-pci, the other on its host driver"
        driverctl --nosave set-override 0000:00:03.1 vfio-pci
        [ "$(driver_of 0000:00:03.1)" = vfio-pci ] || die "03.1 did not bind to vfio-pci"
        wait_groups "^$g2 blocked 0000:00:03.0=virtio-pci 0000:00:03.1=vfio-pci"
        out=$(vm-client "$SOCK" refused io.ioasid.Broker.GroupNotViable 0000:00:03.1) ||
                die "not refused: $out"
        echo "$out" | grep -q "0000:00:03.0 is bound to virtio-pci" || die "reasons: $out"
        ok "refused: $out"
        driverctl --nosave set-override 0000:00:03.0 vfio-pci
        wait_groups "^$g2 viable"
        start_holder 0000:00:03.1
        holder=$HOLDER
        ok "granted and used: $(tr '\n' ' ' </tmp/holder-0000:00:03.1.out)"

        step "scenario 2: a second owner against the leased group"
        out=$(vm-client "$SOCK" refused io.ioasid.Broker.GroupBusy 0000:00:03.0) ||
                die "a second lease got the group: $out"
        ok "second owner refused: $out"

        step "scenario 4: the holder exits, the lease ends"
        kill "$holder"
        wait_groups "^$g2 viable 0000:00:03.0=vfio-pci 0000:00:03.1=vfio-pci$"
        ok "lease ended with its holder"

        step "scenario 3: the bridge group, managed"
        echo "INFO bridge 0000:00:04.0 is on $(driver_of 0000:00:04.0)"
        if [ "$(driver_of 0000:00:04.0)" != - ]; then
                # shpchp keeps the kernel's DMA domain: the group cannot be claimed.
                out=$(vm-client "$SOCK" refused io.ioasid.Broker.GroupNotViable 0000:01:01.0) ||
                        die "not refused: $out"
                ok "refused while the bridge has a driver: $out"
                echo 0000:00:04.0 >"/sys/bus/pci/devices/0000:00:04.0/driver/unbind"
        fi
        start_holder 0000:01:01.0 managed
        holder=$HOLDER
        [ "$(driver_of 0000:01:01.0)" = vfio-pci ] && [ "$(driver_of 0000:01:02.0)" = vfio-pci ] ||
                die "the group was not bound whole"
        wait_groups "^$g3 viable owner="
        ok "bridge group taken whole: $(tr '\n' ' ' </tmp/holder-0000:01:01.0.out)"
        kill "$holder"
        wait_groups "^$g3 blocked 0000:00:04.0=[^ ]* 0000:01:01.0=e1000 0000:01:02.0=e1000$"
        ok "managed drivers back on e1000"

        step "Revoke: a managed holder that does not let go is killed, its drivers restored"
        start_holder 0000:01:01.0 managed
        holder=$HOLDER lease=$LEASE
        wait_groups "^$g3 viable owner=$lease"
        vm-client "$SOCK" revoke "$lease" || die "Revoke failed"
        wait_for 60 eval '! kill -0 "$holder"' || die "the holder survived the revoke"
        wait_groups "^$g3 blocked 0000:00:04.0=[^ ]* 0000:01:01.0=e1000 0000:01:02.0=e1000$"
        log_has "AUDIT revoke lease=$lease" || die "no audit of the revoke"
        ok "revoked: the holder was killed, e1000 back: $(daemon_log | grep "revoke lease=$lease" | tail -n1)"
        is_state ioasidd.service active || die "the daemon is $(unit_property ioasidd.service ActiveState)"
        [ "$(unit_property ioasidd.service NRestarts)" = 0 ] || die "the daemon restarted"
        ok "the daemon served it all in one run (no restart, no seccomp kill)"
}
