#!/bin/bash
# Builds the VM tier's kernel from Debian's linux-source-6.12 (bookworm-backports): x86_64
# defconfig + kvm_guest.config + iommufd.config, everything built in. About 13 minutes on 2
# cores. The result is cached by the hash of the fragment and RECIPE below (bump it when the
# steps change what is built), so a changed kernel builds again and an unchanged one never does.
#
# usage: build-kernel.sh CACHEDIR     prints the path of the bzImage, and nothing else on stdout
set -euo pipefail
RECIPE=1

# Everything but the result goes to stderr: callers take stdout as the path.
exec 3>&1 1>&2

here=$(cd "$(dirname "$0")" && pwd)
cache=$(mkdir -p "${1:?usage: build-kernel.sh CACHEDIR}" && cd "$1" && pwd)
key=$( (echo "recipe $RECIPE"; cat "$here/iommufd.config") | sha256sum | cut -c1-16)
out=$cache/bzImage-6.12-iommufd-$key
if [ -s "$out" ]; then
        echo "$out" >&3
        exit 0
fi

export DEBIAN_FRONTEND=noninteractive
pkgs=(bc flex bison libelf-dev libssl-dev cpio xz-utils linux-source-6.12)
installed=$(dpkg-query -W -f='${Status}\n' "${pkgs[@]}" 2>/dev/null | grep -c '^install ok installed$' || true)
if [ "$installed" -ne ${#pkgs[@]} ]; then
        apt-get install -y -q "${pkgs[@]}" >/dev/null 2>&1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
tar xf /usr/src/linux-source-6.12.tar.xz
cd linux-source-6.12
make -s defconfig
make -s kvm_guest.config
scripts/kconfig/merge_config.sh -m .config "$here/iommufd.config" >/dev/null
make -s olddefconfig
# Every line of the fragment must have survived olddefconfig: a silently dropped option is a
# kernel that tests something else.
while IFS= read -r line; do
        case "$line" in
        # Off, or not even offered (a dependency rules it out): either way not built.
        CONFIG_*=n) ! grep -q "^${line%=n}=[ym]" .config || { echo "lost: $line" >&2; exit 1; } ;;
        CONFIG_*) grep -qx "$line" .config || { echo "lost: $line" >&2; exit 1; } ;;
        esac
done <"$here/iommufd.config"
make -s -j"$(nproc)" bzImage >/dev/null
cp arch/x86/boot/bzImage "$out.tmp"
cp .config "$out.config"
mv "$out.tmp" "$out"
echo "$out" >&3
