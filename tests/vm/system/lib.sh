# Helpers for the system tier's tests, sourced by guest-run.sh (bash) inside the guest. The
# daemon is never started by hand here: only through the installed ioasidd.socket and
# ioasidd.service.
SOCK=/run/ioasid/io.ioasid.Broker

step() { echo "STEP $*"; }
ok() { echo "OK $*"; }
# Tests run in a subshell: exit ends the test, whatever loop or list it is in.
die() {
        echo "FAILED: $*"
        echo "--- systemctl status ioasidd.service ioasidd.socket"
        systemctl status --no-pager --lines=0 ioasidd.service ioasidd.socket 2>&1
        echo "--- journal of ioasidd.service"
        journalctl --no-pager -o short-monotonic -u ioasidd.service 2>&1 | tail -n 80
        exit 1
}

# wait_for SECONDS COMMAND...: polls COMMAND until it succeeds; 1 when it never did within
# SECONDS (by the clock: under TCG a poll can take longer than its sleep).
wait_for() {
        local end=$((SECONDS + $1))
        shift
        until "$@" >/dev/null 2>&1; do
                [ $SECONDS -lt $end ] || return 1
                sleep 0.2
        done
}

driver_of() {
        if [ -L "/sys/bus/pci/devices/$1/driver" ]; then
                basename "$(readlink "/sys/bus/pci/devices/$1/driver")"
        else
                echo -
        fi
}

group_of() { basename "$(readlink "/sys/bus/pci/devices/$1/iommu_group")"; }

groups_match() { vm-client "$SOCK" groups | grep -q -- "$1"; }

# Waits until "vm-client groups" shows a line matching the pattern.
wait_groups() {
        wait_for 60 groups_match "$1" || { vm-client "$SOCK" groups; die "no group like: $1"; }
}

# Starts a holder: vm-client acquiring $1 (with $2 "managed" or nothing) and keeping the fds;
# waits for its grant. HOLDER is its pid, LEASE its lease.
start_holder() {
        local out=/tmp/holder-$1.out
        vm-client "$SOCK" acquire "$1" ${2:-} >"$out" 2>&1 &
        HOLDER=$!
        wait_for 60 grep -q '^granted' "$out" || { cat "$out"; die "$1 was not granted"; }
        LEASE=$(awk '/^granted/ { print $2 }' "$out")
}

unit_property() { systemctl show -P "$2" "$1"; }

is_state() { [ "$(unit_property "$1" ActiveState)" = "$2" ]; }

# The daemon's messages in the journal since the boot, text only.
daemon_log() { journalctl --no-pager -o cat -u ioasidd.service; }

log_has() { daemon_log | grep -q -- "$1"; }

# Between two tests: no holder left, no driver override, every device of the machine's groups
# on its host driver again (the bridge back on shpchp where the kernel put it), and the daemon
# seeing it so.
reset_devices() {
        local d a
        pkill -x vm-client || true
        wait_for 30 eval '! pgrep -x vm-client' || die "holders did not exit"
        for o in $(driverctl list-overrides 2>/dev/null | awk '{ print $1 }'); do
                driverctl --nosave unset-override "$o" || true
        done
        for d in /sys/bus/pci/devices/*; do
                a=${d##*/}
                [ "$(cat "$d/driver_override")" = "(null)" ] || echo >"$d/driver_override"
                if [ "$(driver_of "$a")" = vfio-pci ]; then
                        echo "$a" >/sys/bus/pci/drivers/vfio-pci/unbind
                fi
                [ "$(driver_of "$a")" != - ] || echo "$a" >/sys/bus/pci/drivers_probe 2>/dev/null || true
        done
        wait_groups "^$(group_of 0000:00:03.0) blocked 0000:00:03.0=virtio-pci 0000:00:03.1=virtio-pci$"
        wait_groups "^$(group_of 0000:01:01.0) blocked 0000:00:04.0=[^ ]* 0000:01:01.0=e1000 0000:01:02.0=e1000$"
}
