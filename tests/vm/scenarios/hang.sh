# A scenario that starts and then hangs: the harness must fail it once its budget is spent,
# and never boot it again (tests/vm/test-harness.sh).
# budget: 15
run() {
        step "hanging on purpose"
        while :; do sleep 1000; done
}
