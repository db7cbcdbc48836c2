#!/bin/bash
# Fetches Debian's stock kernel from bookworm-backports for the VM tier and unpacks it (no
# install: nothing on this machine changes), for the legacy backend: Debian builds every kernel
# with CONFIG_IOMMUFD off, and its VFIO and NIC drivers as modules.
#
# usage: stock-kernel.sh CACHEDIR     prints the directory of the unpacked package
set -euo pipefail

cache=$(mkdir -p "${1:?usage: stock-kernel.sh CACHEDIR}" && cd "$1" && pwd)
pkg=$(apt-cache depends -t bookworm-backports linux-image-amd64 2>/dev/null |
        sed -n 's/^ *Depends: \(linux-image-[0-9].*-amd64\)$/\1/p' | head -n1)
if [ -z "$pkg" ]; then
        echo "no linux-image-amd64 in bookworm-backports" >&2
        exit 1
fi
out=$cache/$pkg
if [ ! -d "$out/boot" ]; then
        work=$(mktemp -d "$cache/.fetch-XXXXXX")
        trap 'rm -rf "$work"' EXIT
        (cd "$work" && apt-get download -q "$pkg" >/dev/null 2>&1)
        dpkg-deb -x "$work"/*.deb "$work/root"
        rm -rf "$out"
        mv "$work/root" "$out"
fi
echo "$out"
