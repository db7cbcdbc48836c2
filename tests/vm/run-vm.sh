#!/bin/bash
# Boots a scenario of the VM tier: a busybox initramfs with ioasidd, the test client and the
# scenario, under QEMU (TCG: no KVM is needed) with an emulated Intel IOMMU and the seed
# thread's device layout. Prints the serial console when the scenario fails.
#
# A guest can hang while it boots, before the scenario begins (see tests/vm/README.md). That
# says nothing about the project, so such a boot is killed once its console has been silent
# for a while and the guest is booted again, up to three boots in all. Once the scenario has
# started, nothing is retried: a scenario that fails or overruns its budget is a failure.
#
# usage: run-vm.sh BUILDDIR KERNEL SCENARIO BACKEND
#   KERNEL: a bzImage with its drivers built in (the iommufd kernel of the VM tier), or an
#           unpacked Debian linux-image package (legacy backend only: no iommufd)
#   SCENARIO: a script in tests/vm/scenarios (without .sh); BACKEND: iommufd or legacy
# Environment (for tests of this harness and for tests/vm/boot-loop.sh):
#   IOASID_VM_BOOTS        boots to try before giving up on reaching the scenario (3)
#   IOASID_VM_SMP          guest CPUs (1)
#   IOASID_VM_STALL_BOOTS  the first N boots stall in the init before the scenario (0)
#   IOASID_VM_APPEND       more kernel command line
# Exit status: 0 pass, 1 fail, 3 no boot reached the scenario, 77 skipped (no kernel, no QEMU).
set -euo pipefail

builddir=$(cd "$1" && pwd)
kernel=$2
scenario=$3
backend=$4
here=$(cd "$(dirname "$0")" && pwd)
. "$here/watchdog.sh"
. "$here/machine.sh"

if [ -z "$kernel" ] || [ ! -e "$kernel" ]; then
        echo "no VM kernel${kernel:+ at $kernel}: skipping (tests/vm/kernel/README.md says how)"
        exit 77
fi
for tool in qemu-system-x86_64 cpio busybox; do
        if ! command -v "$tool" >/dev/null; then
                echo "$tool is missing: skipping (tools/setup-deps installs it)"
                exit 77
        fi
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=$work/root
mkdir -p "$root"/{bin,sbin,etc,proc,sys,dev,run,tmp,usr/bin,usr/sbin,lib,lib64}

# Programs with the libraries ldd names, at the same paths, the loader included.
copy_with_libs() {
        local bin=$1 dest=$2 lib
        install -D -m 0755 "$bin" "$root$dest"
        for lib in $(ldd "$bin" | grep -o '/[^ ]*' | sort -u); do
                [ -e "$root$lib" ] || install -D -m 0755 "$lib" "$root$lib"
        done
}
copy_with_libs "$builddir/daemon/ioasidd" /usr/sbin/ioasidd
copy_with_libs "$builddir/tests/vm/vm-client" /usr/bin/vm-client
install -m 0755 "$(command -v busybox)" "$root/bin/busybox"

# A directory is an unpacked Debian linux-image package: its drivers are modules, so the ones
# the machine needs go into the initramfs (decompressed, with what they depend on) and the init
# loads them.
if [ -d "$kernel" ]; then
        image=$(find "$kernel/boot" -name 'vmlinuz-*' | head -n1)
        ver=${image##*/vmlinuz-}
        moddir=$kernel/lib/modules/$ver
        [ -f "$moddir/modules.dep" ] || depmod -b "$kernel" "$ver"
        for m in vfio_pci vfio_iommu_type1 virtio_net e1000 e1000e igb igbvf; do
                modprobe -d "$kernel" -S "$ver" --show-depends "$m" | awk '$1 == "insmod" { print $2 }'
        done | sort -u | while read -r ko; do
                dest=$root/lib/modules/$ver/${ko#"$moddir"/}
                mkdir -p "$(dirname "$dest")"
                case "$ko" in
                *.xz) xz -dc "$ko" >"${dest%.xz}" ;;
                *) cp "$ko" "$dest" ;;
                esac
        done
        depmod -b "$root" "$ver"
        kernel=$image
fi
install -m 0644 "$here/scenarios/lib.sh" "$root/lib.sh"
install -m 0644 "$here/scenarios/$scenario.sh" "$root/scenario.sh"

# What a scenario needs beyond the daemon, from its "# needs:" line, so that the others boot
# from a small initramfs: "clients" (ioasidctl, ioasid-run), "qemu" (this host's QEMU with its
# libraries, and in /usr/share/qemu-vm, for -L, only the firmware a paused -nodefaults guest
# loads).
for need in $(sed -n 's/^# needs: //p' "$here/scenarios/$scenario.sh"); do
        case $need in
        clients)
                copy_with_libs "$builddir/client/ioasidctl" /usr/bin/ioasidctl
                copy_with_libs "$builddir/client/ioasid-run" /usr/bin/ioasid-run
                ;;
        qemu)
                copy_with_libs "$(command -v qemu-system-x86_64)" /usr/bin/qemu-system-x86_64
                for f in bios-256k.bin kvmvapic.bin; do
                        src=
                        for d in /usr/share/qemu /usr/share/seabios; do
                                [ -n "$src" ] || [ ! -e "$d/$f" ] || src=$d/$f
                        done
                        [ -n "$src" ] || { echo "no $f for QEMU: skipping"; exit 77; }
                        install -D -m 0644 "$(readlink -f "$src")" "$root/usr/share/qemu-vm/$f"
                done
                ;;
        *)
                echo "$scenario.sh needs \"$need\", which this harness does not know"
                exit 1
                ;;
        esac
done

cat >"$root/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /run/ioasid /tmp /etc/ioasid/policy.d
backend=$(sed -n 's/.*ioasid.backend=\([a-z]*\).*/\1/p' /proc/cmdline)
# The harness's own test: a boot that never reaches the scenario, silently.
if grep -q ioasid.stall /proc/cmdline; then
        while :; do sleep 1000; done
fi
if [ -d /lib/modules ]; then
        for m in vfio_pci vfio_iommu_type1 virtio_net e1000 e1000e igb igbvf; do modprobe "$m"; done
fi
echo "VM-START backend=$backend kernel=$(uname -r)"
. /lib.sh
. /scenario.sh
if ( set -e; run "$backend" ); then echo "VM-RESULT: PASS"; else echo "VM-RESULT: FAIL"; fi
sync
poweroff -f
INIT
chmod 0755 "$root/init"
(cd "$root" && find . | cpio -o -H newc --quiet) | gzip -1 >"$work/initramfs.gz"

# QEMU's e1000 has no MSI: the kernel counts its interrupts as not isolated and refuses to hand
# it to user space (EPERM from VFIO_DEVICE_BIND_IOMMUFD, or VFIO_SET_IOMMU) unless told that is
# acceptable. Scenario 3 needs them; on real hardware it is the admin's call.
unsafe="iommufd.allow_unsafe_interrupts=1 vfio_iommu_type1.allow_unsafe_interrupts=1"
# Under TCG the kernel's check that the timer interrupt arrives through the remapped IO-APIC
# sometimes gives up on a loaded host and panics (tests/vm/README.md); KVM guests skip that
# check for the same reason.
timer=no_timer_check

# A scenario's budget: "# budget: N" in its file, in seconds of the guest's run after the start
# marker; about three times what it takes with both of the host's cores busy.
budget=$(sed -n 's/^# budget: \([0-9]*\)$/\1/p' "$here/scenarios/$scenario.sh")
budget=${budget:-120}
# Before the start marker: the longest silence seen in a good boot is a few seconds, even with
# the other core busy; a boot whose console says nothing for this long has hung. After it, a
# scenario's longest wait is 30 s (then it says why it gave up): a silence of 45 s is a hang.
stall_after=30
hang_after=45

log=$builddir/tests/vm/$scenario-$backend-$(basename "$kernel").log
mkdir -p "$(dirname "$log")"

# QEMU's e1000 has no MSI: the kernel counts its interrupts as not isolated and refuses to hand
# it to user space (EPERM from VFIO_DEVICE_BIND_IOMMUFD, or VFIO_SET_IOMMU) unless told that is
# acceptable. Scenario 3 needs them; on real hardware it is the admin's call.
unsafe="iommufd.allow_unsafe_interrupts=1 vfio_iommu_type1.allow_unsafe_interrupts=1"
# Under TCG the kernel's check that the timer interrupt arrives through the remapped IO-APIC
# sometimes gives up on a loaded host and panics (tests/vm/README.md); KVM guests skip that
# check for the same reason.
timer=no_timer_check

# One boot, its console in $log. Returns 0 when the scenario ran to its end (passed or not),
# 2 when the guest never reached the scenario, 1 when the scenario hung or overran its budget.
boot() {
        local extra=$1
        rm -f "$log" "$log.monitor"
        # The seed thread's machine (machine.sh).
        vm_machine "$work/monitor"
        # One vCPU: with two, a halted vCPU sometimes misses its timer wakeup under TCG and
        # the boot stalls (tests/vm/README.md).
        qemu-system-x86_64 "${VM_MACHINE[@]}" -smp "${IOASID_VM_SMP:-1}" \
                -kernel "$kernel" -initrd "$work/initramfs.gz" \
                -append "console=ttyS0 intel_iommu=on panic=-1 ioasid.backend=$backend $unsafe $timer $extra ${IOASID_VM_APPEND:-}" \
                -display none -no-reboot -serial stdio >"$log" 2>&1 &
        qemu=$!
        /usr/bin/python3 "$here/monitor.py" "$work/monitor" "$log" "$qemu" 2>"$log.monitor" &
        monitor=$!
        watch_console "$qemu" "$monitor" "$log" "$stall_after" "$hang_after" "$budget" \
                "the scenario"
}

start=$SECONDS
tries=${IOASID_VM_BOOTS:-3}
for attempt in $(seq 1 "$tries"); do
        extra=
        [ "$attempt" -gt "${IOASID_VM_STALL_BOOTS:-0}" ] || extra=ioasid.stall
        rc=0
        boot "$extra" || rc=$?
        [ $rc -eq 2 ] || break
        echo "boot $attempt of $tries never reached the scenario (console silent for" \
                "$stall_after s); its last lines:"
        tail -n 5 "$log" | sed 's/^/    /'
        cp "$log" "$log.boot$attempt"
done
took=$((SECONDS - start))

if [ $rc -eq 2 ]; then
        echo "$scenario on $backend ($(basename "$kernel")): no boot of $tries reached the scenario"
        exit 3
fi
if [ $rc -eq 0 ] && grep -q '^VM-RESULT: PASS' "$log"; then
        echo "$scenario on $backend ($(basename "$kernel")): pass in ${took} s (boot $attempt)"
        grep -E '^(STEP|OK|INFO)' "$log" || true
        exit 0
fi
echo "$scenario on $backend ($(basename "$kernel")): FAIL after ${took} s (boot $attempt);" \
        "serial console:"
cat "$log"
exit 1
