# The audit trail in the journal: a grant, a refusal, a managed bind, a revoke and the end of a
# lease are each one structured entry with its MESSAGE_ID and IOASID_* fields, found by
# journalctl MESSAGE_ID=... and read back with journalctl -o json. The catalog installed with
# the package explains them.
# budget: 300
GRANT=420c50e4ec274e69a3991a54062474fa
RELEASE=cb7a7acd688b456e89830a396e2866b7
REVOKE=d46705511bfa42d4b719de4c69b5cc57
BIND=76947af0b0014e74bbfd633f66c24982
REFUSE=dd62c30c2e384926a48233afb8f06ee1

# entry ID [FIELD=VALUE...]: the last journal entry of ioasidd.service with that MESSAGE_ID and
# every FIELD=VALUE given, as JSON; 1 when there is none.
entry() {
        local id=$1 cond=true kv json
        shift
        for kv in "$@"; do
                cond+=" and .${kv%%=*} == \"${kv#*=}\""
        done
        json=$(journalctl --no-pager -o json -u ioasidd.service MESSAGE_ID="$id" |
                jq -c "select($cond)" | tail -n1)
        [ -n "$json" ] && echo "$json"
}

expect_entry() {
        wait_for 30 entry "$@" || {
                journalctl --no-pager -o json -u ioasidd.service MESSAGE_ID="$1" | tail -n3
                die "no entry $*"
        }
}

run() {
        g3=$(group_of 0000:01:01.0)
        vm-client "$SOCK" groups >/dev/null || die "no daemon"
        [ "$(driver_of 0000:00:04.0)" = - ] ||
                echo 0000:00:04.0 >"/sys/bus/pci/devices/0000:00:04.0/driver/unbind"

        step "a managed grant: a bind entry and a grant entry"
        start_holder 0000:01:01.0 managed
        holder=$HOLDER lease=$LEASE
        expect_entry $BIND IOASID_EVENT=bind IOASID_LEASE="$lease" IOASID_DRIVER=vfio-pci \
                IOASID_GROUP="$g3" IOASID_UID=0
        expect_entry $GRANT IOASID_EVENT=grant IOASID_LEASE="$lease" IOASID_DEVICE=0000:01:01.0 \
                IOASID_UID=0 IOASID_PID="$holder" PRIORITY=6
        ok "$(entry $GRANT | jq -r .MESSAGE)"

        step "a refusal"
        vm-client "$SOCK" refused io.ioasid.Broker.GroupBusy 0000:01:02.0 >/dev/null ||
                die "not refused"
        expect_entry $REFUSE IOASID_EVENT=refuse IOASID_ERROR=io.ioasid.Broker.GroupBusy IOASID_UID=0
        ok "$(entry $REFUSE | jq -r .MESSAGE)"

        step "a revoke, and the end of the lease"
        vm-client "$SOCK" revoke "$lease" || die "Revoke failed"
        expect_entry $REVOKE IOASID_EVENT=revoke IOASID_LEASE="$lease" IOASID_BY_UID=0 \
                IOASID_PID="$holder"
        expect_entry $RELEASE IOASID_EVENT=release IOASID_LEASE="$lease" IOASID_UID=0
        ok "$(entry $RELEASE | jq -r .MESSAGE)"
        n=$(journalctl --no-pager -o json -u ioasidd.service IOASID_LEASE="$lease" | wc -l)
        [ "$n" -ge 4 ] || die "only $n entries name lease $lease"
        ok "journalctl IOASID_LEASE=$lease finds $n entries"

        step "the catalog explains them"
        journalctl --update-catalog || die "the catalog does not build"
        journalctl --no-pager -x -u ioasidd.service MESSAGE_ID=$GRANT | grep -q "ioasidd handed" ||
                die "no catalog text for grants"
        ok "journalctl -x shows the catalog's text"
}
