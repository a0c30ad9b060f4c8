#!/bin/sh
# File tailing end to end through the CLI: `mamori run` follows a FortiGate log while
# lines are appended in pieces; it is stopped (SIGTERM) and restarted while the file
# grows, rotated (rename + create, with a late write to the renamed file), rotated
# again while the daemon is down, and truncated.  Every line must be in the store
# exactly once.
#
# Environment: MAMORI_BIN (default build/mamori).
# Prints "PASS name" / "FAIL name: why" lines.
cd "$(dirname "$0")/../.." || exit 1
BIN=${MAMORI_BIN:-build/mamori}
[ -x "$BIN" ] || { echo "FAIL tail_resume: $BIN not built"; exit 1; }
T=$(mktemp -d /tmp/mm_tail_it.XXXXXX)
PID=
cleanup() {
    [ -n "$PID" ] && kill -KILL "$PID" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT
LOG=$T/logs/fgt.log
mkdir -p "$T/logs"

cat > "$T/mamori.yaml" <<EOF
tenant: town
workers: 3
store:
  path: $T/mamori.db
  batch_ms: 50
  retention_days: 0        # the test logs are from 2024: keep them
inputs:
  - name: fgt-file
    type: file
    paths: [$T/logs/*.log]
    follow: true
    poll_ms: 50
    format: fortigate
EOF

# lines FROM TO [FILE]: FortiGate traffic lines numbered FROM..TO-1, appended.
lines() {
    python3 - "$1" "$2" "${3:-$LOG}" <<'EOF'
import sys
a, b, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
with open(path, "a") as f:
    for n in range(a, b):
        f.write(f'date=2024-08-28 time=11:{n // 60 % 60:02d}:{n % 60:02d} devname="FGT60F" '
                f'devid="FGT60FTK22000001" logid="0000000013" type="traffic" subtype="forward" '
                f'level="notice" vd="root" srcip=10.1.{n // 250 % 250}.{n % 250 + 1} srcport=50000 '
                f'dstip=203.0.113.9 dstport=443 proto=6 action="accept" policyid=1 '
                f'service="HTTPS" sentbyte=1200 rcvdbyte=5400 msg="line-{n:06d}"\n')
EOF
}

start() {
    before=$(grep -c "running" "$T/daemon.log" 2>/dev/null)
    "$BIN" -c "$T/mamori.yaml" run 2>>"$T/daemon.log" &
    PID=$!
    i=0
    while [ "$(grep -c "running" "$T/daemon.log" 2>/dev/null)" = "${before:-0}" ]; do
        i=$((i + 1))
        if [ $i -gt 100 ] || ! kill -0 "$PID" 2>/dev/null; then
            echo "FAIL tail_start: daemon did not start: $(tail -3 "$T/daemon.log")"
            exit 1
        fi
        sleep 0.05
    done
}

stop() {
    sleep "${1:-0.6}"
    kill -TERM "$PID"
    wait "$PID"
    rc=$?
    PID=
    if [ $rc -ne 0 ]; then
        echo "FAIL tail_sigterm_exit: status $rc: $(tail -3 "$T/daemon.log")"
        exit 1
    fi
}

# every line in [0, N) exactly once: NAME N
check() {
    "$BIN" --db "$T/mamori.db" search '' --json --limit 0 > "$T/all.json" 2>"$T/search.err"
    python3 - "$1" "$2" "$T/all.json" <<'EOF'
import collections, json, re, sys
name, n, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
seen = collections.Counter()
other = 0
for l in open(path):
    l = l.strip()
    if not l:
        continue
    ev = json.loads(l)
    m = re.search(r'msg="line-(\d{6})"', ev.get("event", {}).get("original", ""))
    if m:
        seen[int(m.group(1))] += 1
    else:
        other += 1
missing = [i for i in range(n) if seen[i] == 0]
dup = [i for i in range(n) if seen[i] > 1]
extra = [i for i in seen if i >= n]
if not missing and not dup and not extra and other == 0:
    print(f"PASS {name}")
else:
    print(f"FAIL {name}: {len(missing)} missing (first {missing[:5]}), {len(dup)} repeated "
          f"(first {dup[:5]}), {len(extra)} unexpected, {other} other events")
EOF
}

# 1. lines before the start, then appended while running, one of them in two writes
lines 0 100
start
lines 100 150
printf 'date=2024-08-28 time=12:00:00 devname="FGT60F" type="traffic" subtype="forward" ' >> "$LOG"
sleep 0.3
printf 'srcip=10.9.9.9 dstip=203.0.113.9 action="accept" msg="line-000150"\n' >> "$LOG"
lines 151 200
stop
check tail_running 200

# 2. appended while stopped (the last line half written), then more after the restart
lines 200 250
printf 'date=2024-08-28 time=12:00:01 devname="FGT60F" type="traffic" ' >> "$LOG"
start
sleep 0.3
printf 'subtype="forward" srcip=10.9.9.8 action="accept" msg="line-000250"\n' >> "$LOG"
lines 251 300
stop
check tail_restart_resumes 300

# 3. rotation while running: rename, a late write to the renamed file, a new file
start
lines 300 320
sleep 0.2
mv "$LOG" "$LOG.1"
lines 320 330 "$LOG.1"
sleep 0.2
lines 330 370
stop
check tail_rotation 370

# 4. rotation while stopped: the end of the old file must still be read, once
lines 370 390
mv "$LOG" "$LOG.1"
lines 390 410
start
stop
check tail_rotation_while_stopped 410

# 5. truncation (copytruncate) while running
start
sleep 0.2
: > "$LOG"
sleep 0.3
lines 410 430
stop
check tail_truncation 430

# 6. a second file appearing in the glob, and one more restart that adds nothing
start
lines 430 450 "$T/logs/other.log"
stop
start
stop 0.3
check tail_glob_and_idle_restart 450

"$BIN" --db "$T/mamori.db" status --json > "$T/status.json" 2>/dev/null
python3 - "$T/status.json" <<'EOF'
import json, sys
c = json.load(open(sys.argv[1]))["counters"]
ok = c.get("file_lines") == 450 and c.get("file_rotations", 0) >= 3
print("PASS tail_counters" if ok else
      f"FAIL tail_counters: file_lines {c.get('file_lines')} (want 450), "
      f"file_rotations {c.get('file_rotations')} (want >= 3)")
EOF

# 7. a crash (SIGKILL) in the middle of a large backlog, then a restart: rows and
#    offsets are committed together, so nothing is lost and nothing is repeated.
count_rows() {
    python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("select count(*) from events").fetchone()[0])' "$T/mamori.db" 2>/dev/null || echo 0
}
lines 450 150450
start
sleep 0.4
kill -KILL "$PID"
wait "$PID" 2>/dev/null
PID=
at_kill=$(count_rows)
start
i=0
while [ "$(count_rows)" -lt 150450 ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
stop 0.3
echo "# SIGKILL after $at_kill of 150450 rows were stored"
check tail_sigkill_resume 150450
