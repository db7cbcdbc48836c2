#!/bin/bash
# Boots a test of the VM tier's system tier: a Debian bookworm userland (tests/vm/kernel/
# build-image.sh) with systemd as PID 1 and a real udevd, the project installed into it by
# "meson install --destdir" exactly as a package would, under the same QEMU machine as
# tests/vm/run-vm.sh. The test runs as a unit of the guest (ioasid-test.service) and talks to
# ioasidd only through the installed ioasidd.socket and ioasidd.service.
#
# Like run-vm.sh: a boot whose console goes silent before the test starts has hung (a TCG guest
# can) and is booted again, three boots at most; once the test has started nothing is retried,
# and a test that overruns its budget or goes silent fails.
#
# usage: run-system.sh BUILDDIR KERNEL IMAGE TESTS
#   KERNEL: a bzImage with its drivers built in, or an unpacked Debian linux-image package
#           (its modules go into the image, and a small initramfs mounts the root disk)
#   IMAGE:  the tree build-image.sh prints
#   TESTS:  scripts in tests/vm/system/tests (without .sh), comma-separated: one boot runs them
#           all, in that order, the devices put back between two
# Environment: IOASID_VM_BOOTS (3), IOASID_VM_APPEND (more kernel command line).
# Exit status: 0 pass, 1 fail, 3 no boot reached the test, 77 skipped.
set -euo pipefail

builddir=$(cd "$1" && pwd)
kernel=$2
image=$3
tests=$4
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../watchdog.sh"
. "$here/../machine.sh"

if [ -z "$kernel" ] || [ ! -e "$kernel" ]; then
        echo "no VM kernel${kernel:+ at $kernel}: skipping (tests/vm/kernel/README.md says how)"
        exit 77
fi
if [ -z "$image" ] || [ ! -e "$image/.complete" ]; then
        echo "no system image${image:+ at $image}: skipping (tests/vm/kernel/build-image.sh)"
        exit 77
fi
if [ "$(id -u)" -ne 0 ]; then
        # The image's files belong to root and its users; a copy must keep that.
        echo "the system tier copies a root-owned tree: skipping as uid $(id -u)"
        exit 77
fi
for tool in qemu-system-x86_64 mke2fs busybox cpio; do
        if ! command -v "$tool" >/dev/null; then
                echo "$tool is missing: skipping (tools/setup-deps installs it)"
                exit 77
        fi
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=$work/root
cp -a "$image" "$root"
rm -f "$root/.complete"

# The project, as a package installs it.
meson install -C "$builddir" --no-rebuild --quiet --destdir "$root" >"$work/install.log" 2>&1 ||
        { cat "$work/install.log"; exit 1; }
# The units are enabled as the package's presets would: the socket, not the service.
systemctl --root="$root" enable ioasidd.socket >/dev/null 2>&1
# The test's own pieces: a client, the helpers, the test, and the unit that runs it.
install -D -m 0755 "$builddir/tests/vm/vm-client" "$root/usr/local/lib/ioasid-test/vm-client"
# The bind benchmark's client, where the build has made it (the benchmark depends on it).
if [ -x "$builddir/tests/vm/bind-bench" ]; then
        install -D -m 0755 "$builddir/tests/vm/bind-bench" "$root/usr/local/lib/ioasid-test/bind-bench"
fi
install -D -m 0644 "$here/lib.sh" "$root/usr/local/lib/ioasid-test/lib.sh"
for t in ${tests//,/ }; do
        install -D -m 0644 "$here/tests/$t.sh" "$root/usr/local/lib/ioasid-test/tests/$t.sh"
done
install -D -m 0755 "$here/guest-run.sh" "$root/usr/local/lib/ioasid-test/run"
install -D -m 0644 "$here/ioasid-test.service" "$root/etc/systemd/system/ioasid-test.service"

append="console=ttyS0 root=/dev/vda rw no_timer_check intel_iommu=on panic=-1"
append+=" systemd.unit=ioasid-test.service systemd.show_status=1"
# As in run-vm.sh: QEMU's e1000 has no MSI, and the kernel will not hand out its interrupts
# unless told that is acceptable.
append+=" iommufd.allow_unsafe_interrupts=1 vfio_iommu_type1.allow_unsafe_interrupts=1"
initrd=()
if [ -f "$kernel" ]; then
        # A kernel with its drivers built in: modprobe (driverctl, systemd-modules-load) must
        # know them as built in, as from a kernel package's modules.builtin. The version is at
        # the offset the boot header's kernel_version field gives, plus 0x200.
        off=$(od -An -tu2 -j 526 -N 2 "$kernel" | tr -d ' ')
        ver=$(dd if="$kernel" bs=1 skip=$((off + 512)) count=64 status=none | cut -d' ' -f1)
        mkdir -p "$root/lib/modules/$ver"
        printf 'kernel/drivers/%s.ko\n' vfio/vfio vfio/pci/vfio-pci vfio/vfio_iommu_type1 \
                iommu/iommufd/iommufd >"$root/lib/modules/$ver/modules.builtin"
        depmod -b "$root" "$ver" 2>/dev/null
elif [ -d "$kernel" ]; then
        # Debian's kernel: every module in the image, where udev and modprobe look for them;
        # the root disk's drivers in an initramfs that mounts it and hands over to systemd.
        vmlinuz=$(find "$kernel/boot" -name 'vmlinuz-*' | head -n1)
        ver=${vmlinuz##*/vmlinuz-}
        mkdir -p "$root/lib/modules"
        cp -a "$kernel/lib/modules/$ver" "$root/lib/modules/$ver"
        depmod -b "$root" "$ver" 2>/dev/null
        ird=$work/initramfs
        mkdir -p "$ird"/{bin,dev,proc,sys,newroot}
        install -m 0755 "$(command -v busybox)" "$ird/bin/busybox"
        # ext4 checksums its metadata with crc32c, which it asks the crypto API for by name:
        # the module that provides it is loaded first, there being no modprobe to find it.
        for m in virtio_blk crc32c_generic ext4; do
                modprobe -d "$root" -S "$ver" --show-depends "$m"
        done | awk '$1 == "insmod" { print $2 }' | awk '!seen[$0]++' | while read -r ko; do
                name=$(basename "${ko%.xz}")
                case "$ko" in
                *.xz) xz -dc "$ko" >"$ird/$name" ;;
                *) cp "$ko" "$ird/$name" ;;
                esac
                echo "$name" >>"$ird/modules"
        done
        cat >"$ird/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t devtmpfs devtmpfs /dev
echo "initramfs: loading $(/bin/busybox tr '\n' ' ' </modules)"
while read -r m; do /bin/busybox insmod "/$m"; done </modules
i=0
until [ -b /dev/vda ]; do
        i=$((i + 1)); [ $i -lt 300 ] || { echo "no /dev/vda"; exec /bin/busybox sh; }
        /bin/busybox sleep 0.1
done
/bin/busybox mount -o rw /dev/vda /newroot || { echo "cannot mount /dev/vda"; exec /bin/busybox sh; }
echo "initramfs: /dev/vda mounted, starting systemd"
/bin/busybox umount /proc
/bin/busybox mount --move /dev /newroot/dev
exec /bin/busybox switch_root /newroot /sbin/init
INIT
        chmod 0755 "$ird/init"
        (cd "$ird" && find . | cpio -o -H newc --quiet) | gzip -1 >"$work/initramfs.gz"
        initrd=(-initrd "$work/initramfs.gz")
        kernel=$vmlinuz
fi

# The disk: the tree as an ext4 file system, without mounting anything on the host.
size=$(du -sm "$root" | cut -f1)
mke2fs -q -t ext4 -L ioasid-vm -d "$root" "$work/disk.img" "$((size + size / 2 + 256))M" >/dev/null
rm -rf "$root"

# The boot's budget: the sum of its tests' ("# budget: N" in each, seconds from the start
# marker; about four times what it takes on an idle machine).
budget=0
for t in ${tests//,/ }; do
        b=$(sed -n 's/^# budget: \([0-9]*\)$/\1/p' "$here/tests/$t.sh")
        budget=$((budget + ${b:-300}))
done
# Before the test starts, systemd and the journal keep the console busy (the journal is
# forwarded to it); a minute of silence is a hung boot. After it starts, a test's longest wait
# is 60 s and then it says why it gave up: 90 s of silence is a hang.
stall_after=60
hang_after=90

log=$builddir/tests/vm/system-${tests//,/-}-$(basename "$kernel").log
mkdir -p "$(dirname "$log")"

# One boot, its console in $log. Returns 0 when the test ran to its end (passed or not), 2 when
# the guest never reached it, 1 when the test hung or overran its budget.
boot() {
        rm -f "$log" "$log.monitor"
        # run-vm.sh's machine, plus the root disk in a slot of its own (a group of its own).
        vm_machine "$work/monitor"
        qemu-system-x86_64 "${VM_MACHINE[@]}" -smp 1 \
                -drive file="$work/disk.img",format=raw,if=none,id=d0,cache=unsafe \
                -device virtio-blk-pci,drive=d0,addr=7 \
                -kernel "$kernel" "${initrd[@]}" \
                -append "$append ioasid.tests=$tests ${IOASID_VM_APPEND:-}" \
                -display none -no-reboot -serial stdio >"$log" 2>&1 &
        qemu=$!
        /usr/bin/python3 "$here/../monitor.py" "$work/monitor" "$log" "$qemu" 2>"$log.monitor" &
        monitor=$!
        watch_console "$qemu" "$monitor" "$log" "$stall_after" "$hang_after" "$budget" \
                "the test"
}

start=$SECONDS
tries=${IOASID_VM_BOOTS:-3}
for attempt in $(seq 1 "$tries"); do
        rc=0
        boot || rc=$?
        [ $rc -eq 2 ] || break
        echo "boot $attempt of $tries never reached the test (console silent for" \
                "$stall_after s); its last lines:"
        tail -n 5 "$log" | sed 's/^/    /'
        cp "$log" "$log.boot$attempt"
done
took=$((SECONDS - start))

name="$tests ($(basename "$kernel"))"
if [ $rc -eq 2 ]; then
        echo "$name: no boot of $tries reached the test"
        exit 3
fi
if [ $rc -eq 0 ] && grep -q '^VM-RESULT: PASS' "$log"; then
        echo "$name: pass in ${took} s (boot $attempt)"
        grep -E '^(VM-TEST|STEP|OK|INFO)' "$log" | tr -d '\r' || true
        # A benchmark's table.
        sed -n 's/^BENCH //p' "$log" | tr -d '\r'
        exit 0
fi
echo "$name: FAIL after ${took} s (boot $attempt):"
grep -E '^VM-TEST' "$log" || true
echo "serial console:"
cat "$log"
exit 1
