#!/bin/sh
# Run every test and print "N passed, N failed".
#   unit tests:  build/tests/test_*        (and build-asan/tests/test_* under ASan/UBSan)
#   integration: tests/it/*.sh, *.py       (through the CLI, build/mamori)
#   fuzz seeds:  build-fuzz/fuzz_* over tests/fuzz/seeds/<name>/ (regression inputs)
# Each test prints "PASS name" / "FAIL name: why" lines; a test program that exits
# non-zero without printing FAIL counts as one failure.
# MM_ONLY=asan runs only the sanitizer unit tests.
cd "$(dirname "$0")/.." || exit 1
ROOT=$(pwd)
export MM_CORPORA="${MM_CORPORA:-$ROOT/../shared/corpora}"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
pass=0; fail=0
LOG=$(mktemp)
trap 'rm -f "$LOG"' EXIT

run_one() {  # label, command...
    label=$1; shift
    out=$("$@" 2>&1); rc=$?
    p=$(printf '%s\n' "$out" | grep -c '^PASS ')
    f=$(printf '%s\n' "$out" | grep -c '^FAIL ')
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        f=1
        out="$out
FAIL $label: exited with status $rc"
    fi
    pass=$((pass + p)); fail=$((fail + f))
    printf '%s\n' "$out" | sed "s|^|[$label] |" | grep -v '^\[[^]]*\] $' >> "$LOG"
    printf '%-40s %3d passed, %d failed\n' "$label" "$p" "$f"
    if [ "$f" -ne 0 ]; then
        printf '%s\n' "$out" | grep -E '^(FAIL|==|    #|.*runtime error)' | head -40 | sed 's/^/    /'
    fi
}

if [ "${MM_ONLY:-}" != asan ]; then
    for t in build/tests/test_*; do
        [ -x "$t" ] || continue
        run_one "unit/$(basename "$t")" "$t"
    done
fi
for t in build-asan/tests/test_*; do
    [ -x "$t" ] || continue
    run_one "asan/$(basename "$t")" "$t"
done
if [ "${MM_ONLY:-}" != asan ]; then
    for t in tests/it/*.sh tests/it/*.py; do
        [ -f "$t" ] || continue
        case "$t" in *.py) cmd="python3" ;; *) cmd="sh" ;; esac
        run_one "it/$(basename "$t")" $cmd "$t"
    done
fi
if [ "${MM_ONLY:-}" != asan ]; then
    for f in build-fuzz/fuzz_*; do
        [ -x "$f" ] || continue
        name=${f#build-fuzz/fuzz_}
        seeds=tests/fuzz/seeds/$name
        [ -d "$seeds" ] || continue
        n=$(ls "$seeds" | wc -l)
        run_one "fuzz/$name" sh -c "'$f' -runs=0 '$seeds' >/dev/null 2>&1 && echo 'PASS fuzz_seeds_$name ($n inputs)' || { echo 'FAIL fuzz_seeds_$name: a seed crashes; run $f $seeds'; exit 1; }"
    done
fi
echo "full log: build/test.log"
mkdir -p build && cp "$LOG" build/test.log
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
