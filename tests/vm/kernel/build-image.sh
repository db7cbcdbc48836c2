#!/bin/bash
# Builds the userland of the VM tier's system image: Debian bookworm from the archive by
# debootstrap (minbase, plus systemd as PID 1, udev, driverctl and the libraries the daemon
# links), configured to boot on a serial console without waiting for anyone. It is a directory
# tree; tests/vm/system/run-system.sh copies it, installs the project into the copy with
# "meson install --destdir" and makes the disk of each boot with "mke2fs -d" (no loop mount).
# The result is cached by the hash of this file, so a changed recipe builds again and an
# unchanged one never does. About 5 minutes (mostly the download).
#
# usage: build-image.sh CACHEDIR     prints the path of the tree, and nothing else on stdout
set -euo pipefail

# Everything but the result goes to stderr: callers take stdout as the path.
exec 3>&1 1>&2

if [ "$(id -u)" -ne 0 ]; then
        echo "build-image.sh: debootstrap needs root" >&2
        exit 1
fi

cache=$(mkdir -p "${1:?usage: build-image.sh CACHEDIR}" && cd "$1" && pwd)
key=$(sha256sum "$0" | cut -c1-16)
out=$cache/rootfs-bookworm-$key
if [ -e "$out/.complete" ]; then
        echo "$out" >&3
        exit 0
fi

# systemd and udev are the point; driverctl for overrides made the admin's way; the rest are
# what ioasidd links (libsystemd0 and libudev1 come with systemd) and what the tests use.
packages=systemd,systemd-sysv,udev,kmod,driverctl,libjson-c5,libseccomp2,procps,jq

work=$(mktemp -d "$cache/.image-XXXXXX")
trap 'rm -rf "$work"' EXIT
debootstrap --variant=minbase --include="$packages" bookworm "$work/root" \
        http://deb.debian.org/debian >"$work/debootstrap.log" 2>&1 ||
        { tail -n 30 "$work/debootstrap.log"; exit 1; }
root=$work/root

# A package cache the image never uses again: smaller disks, faster mke2fs.
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
rm -rf "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/locale/*

echo ioasid-vm >"$root/etc/hostname"
# A machine id of its own: without one the first boot would run systemd-firstboot.
tr -d - </proc/sys/kernel/random/uuid >"$root/etc/machine-id"
echo "/dev/vda / ext4 rw,noatime 0 1" >"$root/etc/fstab"
# Nothing may wait on the console or do periodic work in the middle of a test.
for unit in serial-getty@ttyS0.service getty@tty1.service systemd-firstboot.service \
        apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer \
        systemd-tmpfiles-clean.timer; do
        ln -sf /dev/null "$root/etc/systemd/system/$unit"
done
# The journal on the console too: a failed test shows what the daemon said.
mkdir -p "$root/etc/systemd/journald.conf.d"
cat >"$root/etc/systemd/journald.conf.d/ioasid-vm.conf" <<'CONF'
[Journal]
Storage=volatile
ForwardToConsole=yes
TTYPath=/dev/ttyS0
MaxLevelConsole=info
CONF

touch "$root/.complete"
rm -rf "$out"
mv "$root" "$out"
echo "$out" >&3
