# Only the boot: the guest reaches the scenario and powers off. tests/vm/boot-loop.sh counts
# boots with it; the harness's own test stalls some of them on purpose.
# budget: 30
run() {
        ok "booted: $(uname -r), $(grep -c ^processor /proc/cpuinfo) CPU(s)"
}
