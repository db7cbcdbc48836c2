# The console watchdog of the VM tiers, sourced by run-vm.sh and system/run-system.sh.
#
# watch_console QEMU MONITOR LOG STALL_AFTER HANG_AFTER BUDGET WHAT
#   Follows LOG, the serial console of the QEMU process QEMU (MONITOR: its monitor.py), until
#   QEMU exits. Before the "VM-START" marker, STALL_AFTER s of silence mean the boot hung: it is
#   killed, status 2. After it, HANG_AFTER s of silence or BUDGET s in all mean WHAT hung: it is
#   killed, a "VM-RESULT:" line saying why is added to LOG, status 1. Status 0 when QEMU ended
#   by itself after the marker (the result is in LOG), 2 when it ended before it.
watch_console() {
        local qemu=$1 monitor=$2 log=$3 stall_after=$4 hang_after=$5 budget=$6 what=$7
        local now last=$SECONDS size seen=0 started= why

        while kill -0 "$qemu" 2>/dev/null; do
                sleep 1
                now=$SECONDS
                size=$(stat -c %s "$log" 2>/dev/null || echo 0)
                [ "$size" = "$seen" ] || { seen=$size; last=$now; }
                if [ -z "$started" ]; then
                        if grep -q '^VM-START' "$log"; then
                                started=$now
                        elif [ $((now - last)) -ge "$stall_after" ]; then
                                kill -9 "$qemu" 2>/dev/null
                                wait "$qemu" "$monitor" 2>/dev/null
                                return 2
                        fi
                        continue
                fi
                why=
                [ $((now - started)) -lt "$budget" ] || why="overran its budget of $budget s"
                [ $((now - last)) -lt "$hang_after" ] || why="was silent for $hang_after s"
                if [ -n "$why" ]; then
                        kill -9 "$qemu" 2>/dev/null
                        wait "$qemu" "$monitor" 2>/dev/null
                        echo "VM-RESULT: $what $why" >>"$log"
                        return 1
                fi
        done
        wait "$qemu" "$monitor" 2>/dev/null
        grep -q '^VM-START' "$log" || return 2
        return 0
}
