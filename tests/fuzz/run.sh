#!/bin/sh
# Run every libFuzzer target for N seconds (default 60) from its seeds.
# Crashes are written to build-fuzz/crashes/<target>/ and make the run fail.
cd "$(dirname "$0")/../.." || exit 1
secs=${1:-60}
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
fail=0
for bin in build-fuzz/fuzz_*; do
    [ -x "$bin" ] || continue
    name=${bin#build-fuzz/fuzz_}
    seeds=tests/fuzz/seeds/$name
    corpus=build-fuzz/corpus/$name
    crashes=build-fuzz/crashes/$name
    mkdir -p "$corpus" "$crashes"
    printf '%-20s ' "$name"
    if "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$crashes/" "$corpus" ${seeds:+$( [ -d "$seeds" ] && echo "$seeds")} \
        > "build-fuzz/$name.log" 2>&1; then
        runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "build-fuzz/$name.log" | grep -o '[0-9]*$')
        echo "ok ($runs runs in ${secs}s)"
    else
        echo "FAILED: see build-fuzz/$name.log and $crashes/"
        fail=1
    fi
done
exit $fail
