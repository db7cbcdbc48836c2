# Seed scenario 5, SR-IOV: an igb PF makes 7 VFs at once; the model settles with every VF in a
# group of its own, and each VF can be acquired (managed: from igbvf to vfio-pci) and is given
# back to igbvf when its holder exits.
# budget: 300
run() {
        backend=$1
        start_daemon "$backend"
        pf=0000:00:05.0
        [ "$(driver_of $pf)" = igb ] || die "the PF is on $(driver_of $pf)"

        # vfio-pci's unbind holds the device lock until every fd of the device is closed, and
        # reading the PF's sriov_numvfs (or any device's driver_override) takes that lock: a
        # daemon reading them in its event loop hung there, and so never killed the holder.
        step "a holder keeping the PF open past its Release stalls the put-back, not the daemon"
        start_holder $pf managed
        lease=$(awk '/^granted/ { print $2 }' "/tmp/holder-$pf.out")
        vm-client "$SOCK" release "$lease" >/tmp/release.out 2>&1 &
        releaser=$!
        # vfio-pci says so once its unbind waits for the holder (which registered no request
        # channel): from then on until the revoke timeout kills the holder.
        i=0
        until dmesg | grep -q "$pf: No device request channel registered"; do
                i=$((i + 1))
                [ $i -lt 100 ] || die "vfio-pci's unbind of $pf did not wait for the holder"
                sleep 0.1
        done
        for i in 1 2 3 4; do
                timeout 5 vm-client "$SOCK" groups >/dev/null ||
                        die "the daemon stopped answering while the PF was being put back"
                sleep 0.5
        done
        wait $releaser || die "the Release failed: $(cat /tmp/release.out)"
        ! kill -0 $HOLDER 2>/dev/null || die "the holder still runs"
        [ "$(driver_of $pf)" = igb ] || die "the PF is on $(driver_of $pf)"
        ok "the daemon answered throughout; the holder was killed and the PF is back on igb"

        step "7 VFs at once"
        echo 7 >/sys/bus/pci/devices/$pf/sriov_numvfs
        vfs=$(for v in /sys/bus/pci/devices/$pf/virtfn*; do basename "$(readlink "$v")"; done)
        [ "$(echo "$vfs" | wc -w)" = 7 ] || die "the kernel made: $vfs"
        for vf in $vfs; do
                wait_groups "^$(group_of "$vf") [a-z]* $vf="
        done
        ok "the model has all 7 VFs: $(echo $vfs)"
        step "each VF acquirable"
        for vf in $vfs; do
                vm-client "$SOCK" acquire "$vf" managed >"/tmp/$vf.out" 2>&1 &
                echo $! >"/tmp/$vf.pid"
        done
        for vf in $vfs; do
                i=0
                until grep -q '^granted' "/tmp/$vf.out"; do
                        i=$((i + 1))
                        [ $i -lt 300 ] || { cat "/tmp/$vf.out"; die "$vf was not granted"; }
                        sleep 0.1
                done
                [ "$(driver_of "$vf")" = vfio-pci ] || die "$vf is on $(driver_of "$vf")"
        done
        ok "7 leases at once, one per VF group"
        for vf in $vfs; do
                kill "$(cat "/tmp/$vf.pid")"
        done
        for vf in $vfs; do
                wait_groups "^$(group_of "$vf") blocked $vf=igbvf$"
        done
        ok "every VF back on igbvf"
        kill $DAEMON
}
