#!/bin/sh
# `mamori run` refreshes the configured intelligence feeds in the background: a
# feed's indicators reach detection without a restart (the engine is reloaded
# after a refresh that added some), an event sent afterwards alerts with the
# feed's context, and events stored before the refresh are retro-hunted.
# Prints PASS/FAIL lines.  Environment: MAMORI_BIN (default build/mamori).
cd "$(dirname "$0")/../.." || exit 1
BIN=$(pwd)/${MAMORI_BIN:-build/mamori}
T=$(mktemp -d /tmp/mm_intel_run_it.XXXXXX)
PID=
trap '[ -n "$PID" ] && kill -KILL $PID 2>/dev/null; rm -rf "$T"' EXIT
cd "$T" || exit 1
PORT=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > c.yaml <<EOC
store: {path: m.db, retention_days: 0, batch_ms: 20}
intel:
  retro_hunt_days: 36500
  feeds:
    - {name: town-csirt, type: csv, path: feed.csv, interval: 1h, actor: TA577}
    - {name: broken, type: stix, path: missing.json}
inputs:
  - {name: u, type: syslog, protocol: udp, listen: "127.0.0.1:$PORT"}
EOC
send() {  # send MINUTE DST
    python3 -c "import socket,sys; socket.socket(socket.AF_INET,socket.SOCK_DGRAM).sendto(sys.argv[1].encode(),('127.0.0.1',$PORT))" \
        "<189>date=2026-11-20 time=10:$1:00 devname=\"F\" tz=\"+0900\" type=\"traffic\" subtype=\"forward\" srcip=10.0.0.1 dstip=$2 dstport=443 action=\"accept\" msg=\"m$1\""
}
wait_log() {  # wait until the daemon log has COUNT lines matching PATTERN
    i=0
    while [ "$(grep -c "$1" log)" -lt "$2" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
}
fail=0
# an event stored before the indicator is known
echo "<189>date=2026-11-20 time=10:01:00 devname=\"F\" tz=\"+0900\" type=\"traffic\" subtype=\"forward\" srcip=10.0.0.1 dstip=203.0.113.99 dstport=443 action=\"accept\" msg=\"m01\"" > old.log
"$BIN" -c c.yaml ingest --format fortigate old.log >/dev/null 2>&1
printf 'indicator,type,description\n203.0.113.99,ip-dst,stage-2 C2\n' > feed.csv
"$BIN" -c c.yaml run 2>log &
PID=$!
wait_log "running" 1
wait_log "intel feed town-csirt" 1
wait_log "intel feed broken" 1
if grep -q "intel feed broken:.*stay in use" log; then echo "PASS intel_run_failed_feed_keeps_running"
else echo "FAIL intel_run_failed_feed_keeps_running: $(grep intel log | head -3)"; fail=1; fi
if grep -q "intel feed town-csirt: 1 records, 1 new" log; then echo "PASS intel_run_feed_refreshed"
else echo "FAIL intel_run_feed_refreshed: $(grep -i intel log | tail -3)"; fail=1; fi
wait_log "reloaded" 1
wait_log "retro-hunt" 1
if grep -q "reloaded: .* 1 indicators" log; then echo "PASS intel_run_engine_reloaded"
else echo "FAIL intel_run_engine_reloaded: $(grep reload log)"; fail=1; fi
if grep -q "retro-hunt .* 1 sightings" log; then echo "PASS intel_run_retro_hunt"
else echo "FAIL intel_run_retro_hunt: $(grep retro log)"; fail=1; fi
send 02 203.0.113.99
sleep 0.5
kill -TERM $PID; wait $PID; PID=
n_live=$("$BIN" --db m.db alerts --json | grep -c '"actor":"TA577"')
n_retro=$("$BIN" --db m.db alerts --json | grep -c '"retrospective":true')
if [ "$n_live" -eq 2 ] && [ "$n_retro" -eq 1 ]; then echo "PASS intel_run_alerts_with_context"
else echo "FAIL intel_run_alerts_with_context: $n_live with the actor, $n_retro retrospective"; fail=1; fi
exit $fail
