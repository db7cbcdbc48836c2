# The clients on a real kernel. ioasidctl status, list, show, and bind/unbind, whose writes go
# through the real sysfs (bus/pci/devices/ADDR is a link there). Then ioasid-run, as uid 1000,
# starts QEMU with a vfio-pci device from the broker: the iommufd and device cdev fds (iommufd
# backend), or the group node the lease makes the user's (legacy, path mode). QEMU's guest RAM
# is pinned for DMA and charged to QEMU's own locked-memory limit, which the broker raises
# (--locked-memory auto, the policy's maxLockedMemory); QMP query-pci must show the host
# device's ids, and the lease must end when QEMU exits.
# needs: clients qemu
# budget: 60
ctl() { ioasidctl --socket "$SOCK" "$@"; }

# As uid 1000, with an ordinary user's 8 MiB of locked memory.
as_user() {
        (
                ulimit -l 8192
                su -s /bin/sh -c "$1" vmuser
        )
}

run() {
        backend=$1
        dev=0000:00:03.1
        t_start=$(cut -d. -f1 /proc/uptime)
        chmod 1777 /tmp
        printf 'root:x:0:0::/root:/bin/sh\nvmuser:x:1000:1000::/tmp:/bin/sh\n' >/etc/passwd
        printf 'root:x:0:\nvmuser:x:1000:\n' >/etc/group
        cat >/etc/ioasid/policy.d/50-vmuser.json <<POLICY
{ "rules": [ { "name": "vmuser", "subjects": { "uids": [1000] }, "allow": ["acquire"],
               "maxLockedMemory": "512M" } ] }
POLICY
        start_daemon "$backend"
        g2=$(group_of 0000:00:03.0)

        step "ioasidctl status, list, show"
        out=$(ctl status) || die "status failed: $out"
        echo "$out" | grep -q "Backend: $backend" || die "status: $out"
        ctl list --no-legend | grep -q " $dev " || die "list: $(ctl list)"
        out=$(ctl show "$dev") || die "show failed: $out"
        echo "$out" | grep -q "Driver: virtio-pci" || die "show: $out"
        ok "status names the $backend backend; list and show see $dev"

        step "ioasidctl bind and unbind through sysfs"
        ctl bind 0000:00:03.0 vfio-pci || die "bind 03.0: $(tail -n 3 /tmp/ioasidd.log)"
        ctl bind "$dev" vfio-pci || die "bind 03.1: $(tail -n 3 /tmp/ioasidd.log)"
        [ "$(driver_of "$dev")" = vfio-pci ] || die "03.1 is on $(driver_of "$dev")"
        ctl unbind 0000:00:03.0 || die "unbind failed"
        [ "$(driver_of 0000:00:03.0)" = - ] || die "03.0 is still on $(driver_of 0000:00:03.0)"
        ctl bind 0000:00:03.0 vfio-pci || die "bind 03.0 again"
        wait_groups "^$g2 viable 0000:00:03.0=vfio-pci $dev=vfio-pci$"
        ok "bound, unbound and bound again: $(ctl list --no-legend | grep " $dev " | tr -s ' ')"

        vendor=$(($(cat /sys/bus/pci/devices/$dev/vendor)))
        device=$(($(cat /sys/bus/pci/devices/$dev/device)))
        if [ "$backend" = iommufd ]; then
                mode=
                vfio="-object iommufd,id=i0,fd={iommufd} -device vfio-pci,id=hostdev0,iommufd=i0,fd={device:$dev}"
        else
                mode=--path-mode
                vfio="-device vfio-pci,id=hostdev0,host=$dev"
        fi
        qemu="qemu-system-x86_64 -L /usr/share/qemu-vm -accel tcg -nodefaults -S -display none -m 64 -qmp stdio $vfio"
        run_args="--socket $SOCK --device $dev $mode"

        step "ioasid-run refuses QEMU with too little locked memory, before anything"
        out=$(as_user "ioasid-run $run_args -- $qemu </dev/null 2>&1") && die "it ran: $out"
        echo "$out" | grep -q "needs about 128 MiB of locked memory" || die "said: $out"
        ok "$out"

        step "ioasid-run starts QEMU as uid 1000 ($backend)"
        printf '%s\n' '{"execute":"qmp_capabilities"}' '{"execute":"query-pci"}' \
                '{"execute":"quit"}' >/tmp/qmp.in
        t0=$(date +%s)
        as_user "ioasid-run $run_args --locked-memory auto -v -- $qemu </tmp/qmp.in >/tmp/qmp.out 2>/tmp/qemu.err" 2>/tmp/su.err ||
                die "ioasid-run or QEMU failed: $(cat /tmp/su.err /tmp/qemu.err /tmp/qmp.out)"
        echo "INFO QEMU ran for $(($(date +%s) - t0)) s: $(tr '\n' ' ' </tmp/qemu.err)"
        entry=$(grep -o '"qdev_id": "hostdev0", [^[]*' /tmp/qmp.out) ||
                die "query-pci has no hostdev0: $(cat /tmp/qmp.out /tmp/qemu.err)"
        echo "$entry" | grep -q "\"vendor\": $vendor[,}]" && echo "$entry" | grep -q "\"device\": $device[,}]" ||
                die "hostdev0 is not $vendor:$device: $entry"
        grep -q "AUDIT memlock .*uid=1000" /tmp/ioasidd.log || die "the broker raised no limit"
        ok "QEMU realised vfio-pci $dev ($vendor:$device): $entry"
        wait_groups "^$g2 viable 0000:00:03.0=vfio-pci $dev=vfio-pci$"
        ok "the lease ended with QEMU"
        grep -E 'AUDIT|Lease' /tmp/ioasidd.log | sed 's/^/INFO /'
        echo "INFO the scenario took $(($(cut -d. -f1 /proc/uptime) - t_start)) s"
        kill $DAEMON
}
