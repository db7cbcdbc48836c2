#!/bin/bash
# The installed unit's exposure as systemd-analyze scores it offline must stay at or under the
# bound (README.md quotes it). Prints the score, and the full table when it is over.
# usage: check-security.sh UNIT BOUND
set -euo pipefail
unit=$1
bound=$2
if ! command -v systemd-analyze >/dev/null; then
        echo "no systemd-analyze: skipping"
        exit 77
fi
out=$(systemd-analyze security --offline=yes --no-pager "$unit" 2>&1) || true
score=$(echo "$out" | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
if [ -z "$score" ]; then
        echo "$out"
        echo "no score"
        exit 1
fi
echo "$(basename "$unit"): exposure $score (bound $bound)"
if awk -v s="$score" -v b="$bound" 'BEGIN { exit !(s > b) }'; then
        echo "$out"
        exit 1
fi
