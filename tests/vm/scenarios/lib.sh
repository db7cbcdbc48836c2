# Helpers for scenarios, sourced by the VM's init (busybox sh).
SOCK=/run/ioasid/io.ioasid.Broker

step() { echo "STEP $*"; }
ok() { echo "OK $*"; }
# Scenarios run in a subshell: exit ends the scenario, whatever loop or list it is in.
die() {
        echo "FAILED: $*"
        echo "--- ioasidd log"
        cat /tmp/ioasidd.log 2>/dev/null
        if [ -n "${DAEMON:-}" ]; then
                echo "--- ioasidd: $(cat /proc/"$DAEMON"/wchan 2>/dev/null || echo gone)"
                grep -E '^(State|Threads)' /proc/"$DAEMON"/status 2>/dev/null
                cat /proc/"$DAEMON"/stack 2>/dev/null
                ls -l /proc/"$DAEMON"/fd 2>/dev/null
                ls -l /run/ioasid; cat /proc/net/unix | grep ioasid
                cat /proc/"$DAEMON"/fdinfo/6 /proc/"$DAEMON"/fdinfo/12
        fi
        exit 1
}

start_daemon() {
        ioasidd --backend "$1" --socket "$SOCK" --state-dir /run/ioasid/state \
                --policy-dir /etc/ioasid/policy.d --log-level info >>/tmp/ioasidd.log 2>&1 &
        DAEMON=$!
        i=0
        while [ ! -S "$SOCK" ]; do
                i=$((i + 1))
                [ $i -lt 300 ] || die "the daemon did not start"
                sleep 0.1
        done
}

driver_of() {
        if [ -L "/sys/bus/pci/devices/$1/driver" ]; then
                basename "$(readlink "/sys/bus/pci/devices/$1/driver")"
        else
                echo -
        fi
}

# The kernel's own way: driver_override, unbind, drivers_probe.
bind_to() {
        echo "$2" >"/sys/bus/pci/devices/$1/driver_override"
        if [ -L "/sys/bus/pci/devices/$1/driver" ]; then
                echo "$1" >"/sys/bus/pci/devices/$1/driver/unbind"
        fi
        echo "$1" >/sys/bus/pci/drivers_probe 2>/dev/null || true
}

# Waits until "vm-client groups" shows a line matching the pattern.
wait_groups() {
        i=0
        until vm-client "$SOCK" groups | grep -q -- "$1"; do
                i=$((i + 1))
                [ $i -lt 100 ] || { vm-client "$SOCK" groups; die "no group like: $1"; }
                sleep 0.1
        done
}

group_of() { basename "$(readlink "/sys/bus/pci/devices/$1/iommu_group")"; }

# Starts a holder: vm-client acquiring $1 (with $2 "managed" or nothing) and keeping the fds;
# waits for its grant. HOLDER is its pid, /tmp/holder-$1.out what it printed.
start_holder() {
        out=/tmp/holder-$1.out
        vm-client "$SOCK" acquire "$1" ${2:-} >"$out" 2>&1 &
        HOLDER=$!
        i=0
        until grep -q '^granted' "$out"; do
                i=$((i + 1))
                [ $i -lt 300 ] && kill -0 $HOLDER 2>/dev/null || { cat "$out"; die "$1 was not granted"; }
                sleep 0.1
        done
}
