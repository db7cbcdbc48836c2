#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Runs every libFuzzer target of a -Dfuzzing=true build for a bounded time each.
#
# usage: tests/fuzz/run-fuzzers.sh BUILDDIR SECONDS
#
# Each target starts from a temporary copy of its seed corpus (tests/fuzz/corpus/NAME), so what
# it discovers never lands in the source tree. Crashes, leaks and timeouts are kept in
# BUILDDIR/fuzz-artifacts/NAME/; one that shows a real bug belongs in the seed corpus, where
# the replay test of every build keeps it fixed. Exits non-zero when any target failed.
set -u

if [ $# -ne 2 ] || ! [[ $2 =~ ^[0-9]+$ ]] || [ "$2" -eq 0 ]; then
        echo "usage: $0 BUILDDIR SECONDS" >&2
        exit 2
fi
builddir=$(cd "$1" && pwd) || exit 2
seconds=$2
srcdir=$(cd "$(dirname "$0")" && pwd)

shopt -s nullglob
targets=()
for bin in "$builddir"/tests/fuzz/fuzz-*; do
        [ -f "$bin" ] && [ -x "$bin" ] && targets+=("$bin")
done
if [ ${#targets[@]} -eq 0 ]; then
        echo "no fuzz targets in $builddir/tests/fuzz" >&2
        exit 2
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

failed=0
summary=()
for bin in "${targets[@]}"; do
        name=${bin##*/fuzz-}
        # The replay build links the same targets without libFuzzer: they take no options.
        if ! "$bin" -help=1 2>&1 | grep -q '^Usage:'; then
                echo "$bin is not a libFuzzer binary: configure the build with -Dfuzzing=true" >&2
                exit 2
        fi
        corpus=$work/$name
        artifacts=$builddir/fuzz-artifacts/$name
        mkdir -p "$corpus" "$artifacts"
        [ -d "$srcdir/corpus/$name" ] && cp -r "$srcdir/corpus/$name/." "$corpus/"
        dict=()
        [ -f "$srcdir/$name.dict" ] && dict=("-dict=$srcdir/$name.dict")
        seeds=$(find "$corpus" -type f | wc -l)

        echo "=== fuzz-$name: $seconds s from $seeds seeds"
        log=$work/$name.log
        # -timeout: one input that runs for seconds is a hang worth a report, not patience.
        "$bin" -max_total_time="$seconds" -timeout=30 -rss_limit_mb=4096 -print_final_stats=1 \
                -artifact_prefix="$artifacts/" "${dict[@]}" "$corpus" >"$log" 2>&1
        rc=$?
        grep -E '^#[0-9]+[[:space:]]+DONE|^(==[0-9]+==)?ERROR|^SUMMARY|^artifact_prefix|Test unit written|^stat::' \
                "$log" | sed 's/^/    /'
        execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
        cov=$(grep -E '^#[0-9]+[[:space:]]+(DONE|pulse|NEW|REDUCE)' "$log" | tail -n1 | sed -n 's/.*cov: \([0-9]*\).*/\1/p')
        found=$(( $(find "$corpus" -type f | wc -l) - seeds ))
        if [ $rc -ne 0 ]; then
                failed=1
                tail -n 40 "$log" | sed 's/^/    | /'
                summary+=("fuzz-$name: FAILED (exit $rc), artifacts in $artifacts")
        else
                summary+=("fuzz-$name: ok, ${execs:-?} runs, coverage ${cov:-?}, $found new inputs")
        fi
done

echo "=== summary"
printf '    %s\n' "${summary[@]}"
exit $failed
