# Not a test: the benchmark of ioasidd's managed bind against driverctl's override of the same
# device (meson's vm-system-bind-* benchmarks boot for it alone). The device is the igb PF, on
# its host driver and alone in its group; bind-bench times each way round after round and prints
# the table (its header says how to read it). ioasid.rounds=N on the kernel command line
# (IOASID_VM_APPEND) sets the rounds; 15 take about 5 minutes.
# budget: 1200
run() {
        local addr=0000:00:05.0 rounds
        rounds=$(sed -n 's/.*ioasid\.rounds=\([0-9]*\).*/\1/p' /proc/cmdline)
        [ "$(driver_of $addr)" = igb ] || die "$addr is on $(driver_of $addr), not igb"
        [ "$(ls "/sys/bus/pci/devices/$addr/iommu_group/devices")" = "$addr" ] ||
                die "$addr is not alone in its group"
        [ "$(cat /sys/bus/pci/devices/$addr/sriov_numvfs)" = 0 ] || die "$addr has VFs"
        # What a machine's console would not do: print every driver's probe (the kernel writes to
        # the serial port in the caller's time) and forward the daemon's journal to the console.
        # Both would be paid inside the measures, the journal by ioasidd alone.
        dmesg -n 1
        mkdir -p /run/systemd/journald.conf.d
        printf '[Journal]\nForwardToConsole=no\n' >/run/systemd/journald.conf.d/zz-ioasid-bench.conf
        systemctl restart systemd-journald
        echo "INFO kernel $(uname -r), QEMU TCG, one vCPU; backend: $(ioasidctl status |
                sed -n 's/^ *[Bb]ackend: *//p')"
        bind-bench "$SOCK" "$addr" "${rounds:-15}" || die "bind-bench failed"
}
