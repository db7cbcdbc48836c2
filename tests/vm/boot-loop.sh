#!/bin/bash
# Boots the VM tier's machine N times with one boot per try and counts the boots that never
# reached the scenario: how the guest hang of tests/vm/README.md was measured.
#
# usage: boot-loop.sh BUILDDIR KERNEL N [SMP]
set -uo pipefail
builddir=$1 kernel=$2 n=$3 smp=${4:-1}
here=$(cd "$(dirname "$0")" && pwd)
pass=0 stalled=0 failed=0
for i in $(seq 1 "$n"); do
        out=$(IOASID_VM_BOOTS=1 IOASID_VM_SMP=$smp "$here/run-vm.sh" "$builddir" "$kernel" boot legacy 2>&1)
        case $? in
        0) pass=$((pass + 1)) ;;
        3) stalled=$((stalled + 1)); echo "boot $i stalled:"; echo "$out" | sed 's/^/    /' ;;
        *) failed=$((failed + 1)); echo "boot $i failed:"; echo "$out" | tail -n 20 | sed 's/^/    /' ;;
        esac
done
echo "smp=$smp boots=$n reached=$pass stalled=$stalled failed=$failed"
