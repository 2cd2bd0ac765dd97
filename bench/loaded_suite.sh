#!/bin/sh
# The whole suite from a fresh clone while two other processes keep both cores busy (issue 8: the suite must
# not depend on machine speed). Usage: bench/loaded_suite.sh [runs] — each run clones this repository's HEAD
# into a temporary folder, runs `make test` there, and appends one line to bench/results/local/loaded_suite.txt
# (bench/results/loaded_suite.txt, the tracked one, with FIREBELL_BENCH_SAVE=1).
set -u
runs=${1:-3}
repo=$(cd "$(dirname "$0")/.." && pwd)
if [ "${FIREBELL_BENCH_SAVE:-0}" != "0" ] && [ -n "${FIREBELL_BENCH_SAVE:-}" ]; then results="$repo/bench/results"; else results="$repo/bench/results/local"; fi
mkdir -p "$results"
for n in $(seq 1 "$runs"); do
    clone=$(mktemp -d /tmp/firebell-loaded-XXXXXX)
    git clone -q "$repo" "$clone" || exit 1
    python3 -c 'while True: pass' & busy1=$!
    python3 -c 'while True: pass' & busy2=$!
    start=$(date +%s)
    (cd "$clone" && make test ARGS="-q -rfE -p no:cacheprovider" > "$clone.log" 2>&1)
    rc=$?
    kill "$busy1" "$busy2"
    line="$(date -u +%FT%TZ) run $n/$runs commit $(git -C "$clone" rev-parse --short HEAD) exit $rc in $(( $(date +%s) - start )) s: $(grep -E '[0-9]+ passed' "$clone.log" | tail -1)$(grep -E '^(FAILED|ERROR) ' "$clone.log" | sed 's/^/ — /' | tr '\n' ' ')"
    echo "$line" | tee -a "$results/loaded_suite.txt"
    [ "$rc" -eq 0 ] && rm -rf "$clone" "$clone.log" || echo "kept $clone and $clone.log"
    [ "$rc" -eq 0 ] || exit "$rc"
done
