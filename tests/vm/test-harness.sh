#!/bin/bash
# The VM harness itself: a boot that stalls before the scenario is killed and booted again,
# and says so; a scenario that starts and then hangs fails within its budget and is never
# booted again.
#
# usage: test-harness.sh BUILDDIR KERNEL
set -uo pipefail
builddir=$1 kernel=$2
here=$(cd "$(dirname "$0")" && pwd)
fail=0
check() { # DESCRIPTION COMMAND...
        local what=$1
        shift
        if "$@"; then echo "ok: $what"; else echo "not ok: $what"; fail=1; fi
}

out=$(IOASID_VM_STALL_BOOTS=1 "$here/run-vm.sh" "$builddir" "$kernel" boot legacy 2>&1)
rc=$?
[ $rc -ne 77 ] || { echo "$out"; exit 77; }
echo "$out" | sed 's/^/    /'
check "a boot stalled before the scenario is retried, and passes" [ $rc -eq 0 ]
check "the retry is reported" grep -q '^boot 1 of 3 never reached the scenario' <<<"$out"
check "the second boot ran the scenario" grep -q 'pass in .* (boot 2)' <<<"$out"

out=$(IOASID_VM_BOOTS=1 IOASID_VM_STALL_BOOTS=1 "$here/run-vm.sh" "$builddir" "$kernel" boot \
        legacy 2>&1)
rc=$?
echo "$out" | sed 's/^/    /'
check "when no boot reaches the scenario, the status says so (3)" [ $rc -eq 3 ]

out=$("$here/run-vm.sh" "$builddir" "$kernel" hang legacy 2>&1)
rc=$?
echo "$out" | tail -n 5 | sed 's/^/    /'
check "a scenario that hangs after its start fails" [ $rc -eq 1 ]
check "it is failed by its budget" grep -q 'overran its budget of 15 s' <<<"$out"
check "it is never booted again" bash -c '! grep -q "never reached the scenario" <<<"$1"' _ "$out"
exit $fail
