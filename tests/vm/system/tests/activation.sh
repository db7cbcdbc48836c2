# The daemon as a systemd service: socket activation starts it on the first connection, it
# reports READY and a STATUS (Type=notify), "systemctl reload" reads the policy again, and
# "systemctl restart" with a live lease keeps the lease; all under the installed unit.
# budget: 400
run() {
        step "ioasidd.socket listens; nothing has started the daemon yet"
        is_state ioasidd.socket active || die "ioasidd.socket is $(unit_property ioasidd.socket ActiveState)"
        is_state ioasidd.service inactive ||
                die "the daemon runs before anyone connected: $(unit_property ioasidd.service ActiveState)"
        [ -S "$SOCK" ] || die "no socket at $SOCK"
        ok "socket listening at $SOCK, service inactive"

        step "the first connection starts the daemon, which says it is ready"
        vm-client "$SOCK" groups >/tmp/groups || die "the first call failed: $(cat /tmp/groups)"
        grep -q "0000:00:03.0=virtio-pci" /tmp/groups || die "groups: $(cat /tmp/groups)"
        is_state ioasidd.service active || die "the daemon is $(unit_property ioasidd.service ActiveState)"
        [ "$(unit_property ioasidd.service Type)" = notify ] || die "not Type=notify"
        status=$(unit_property ioasidd.service StatusText)
        [ "$status" = Serving ] || die "STATUS is '$status'"
        pid=$(unit_property ioasidd.service MainPID)
        ok "activated: pid $pid, STATUS=$status, $(wc -l </tmp/groups) groups"

        step "with no device on vfio-pci yet, the daemon still picks the kernel's backend"
        ! grep -q "=vfio-pci" /tmp/groups || die "a device is on vfio-pci already: $(cat /tmp/groups)"
        want=legacy
        [ -c /dev/iommu ] && want=iommufd
        chosen=$(daemon_log | grep -o "VFIO backend: [a-z]*" | tail -n1)
        [ "$chosen" = "VFIO backend: $want" ] ||
                die "wanted $want on $(uname -r): $(daemon_log | grep 'VFIO backend')"
        ok "$(daemon_log | grep 'VFIO backend' | tail -n1)"

        step "systemctl reload reads the policy again"
        loads=$(daemon_log | grep -c "Policy loaded")
        cp /usr/local/share/doc/ioasid/examples/10-admins.json /etc/ioasid/policy.d/
        systemctl reload ioasidd.service || die "reload failed"
        wait_for 30 eval '[ "$(daemon_log | grep -c "Policy loaded")" -gt "$loads" ]' ||
                die "no policy load after the reload"
        daemon_log | grep "Policy loaded" | tail -n1 | grep -q ": 1 rules" ||
                die "the reload did not see the new rule: $(daemon_log | grep 'Policy loaded' | tail -n1)"
        [ "$(unit_property ioasidd.service MainPID)" = "$pid" ] || die "reload restarted the daemon"
        ok "reloaded in place: $(daemon_log | grep 'Policy loaded' | tail -n1)"

        step "a lease on group 03.0/03.1, then systemctl restart"
        g2=$(group_of 0000:00:03.0)
        driverctl --nosave set-override 0000:00:03.0 vfio-pci
        driverctl --nosave set-override 0000:00:03.1 vfio-pci
        wait_groups "^$g2 viable"
        start_holder 0000:00:03.1
        holder=$HOLDER lease=$LEASE
        wait_groups "^$g2 viable owner=$lease"
        systemctl restart ioasidd.service || die "restart failed"
        is_state ioasidd.service active || die "not active after the restart"
        newpid=$(unit_property ioasidd.service MainPID)
        [ "$newpid" != "$pid" ] || die "the restart kept pid $pid"
        kill -0 "$holder" || die "the holder died with the daemon"
        wait_groups "^$g2 viable owner=$lease"
        out=$(vm-client "$SOCK" refused io.ioasid.Broker.GroupBusy 0000:00:03.0) ||
                die "the restarted daemon gave the leased group away: $out"
        log_has "Lease $lease of uid 0 (holder pid $holder) restored" || die "no lease restored"
        ok "lease $lease kept across the restart (pid $pid -> $newpid): $out"

        step "the holder exits; the restarted daemon ends its lease"
        kill "$holder"
        wait_groups "^$g2 viable 0000:00:03.0=vfio-pci 0000:00:03.1=vfio-pci$"
        ok "lease ended with its holder"

        step "systemctl stop; the socket still listens and starts it again"
        systemctl stop ioasidd.service
        is_state ioasidd.service inactive || die "still $(unit_property ioasidd.service ActiveState)"
        is_state ioasidd.socket active || die "the socket went down with the service"
        vm-client "$SOCK" groups >/dev/null || die "no answer after the stop"
        is_state ioasidd.service active || die "not activated again"
        ok "activated again: pid $(unit_property ioasidd.service MainPID)"
}
