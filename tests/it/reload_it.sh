#!/bin/sh
# SIGHUP reloads the indicator lists of a running daemon: an event to an address
# added to the list after start alerts only once the daemon has been told, and a
# broken list keeps the previous rules instead of stopping detection.
# Prints PASS/FAIL lines.  Environment: MAMORI_BIN (default build/mamori).
cd "$(dirname "$0")/../.." || exit 1
BIN=$(pwd)/${MAMORI_BIN:-build/mamori}
T=$(mktemp -d /tmp/mm_reload_it.XXXXXX)
PID=
trap '[ -n "$PID" ] && kill -KILL $PID 2>/dev/null; rm -rf "$T"' EXIT
cd "$T" || exit 1
PORT=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
echo "198.51.100.1" > ind.txt
cat > c.yaml <<EOC
store: {path: m.db, retention_days: 0, batch_ms: 20}
rules: {indicators: [ind.txt]}
inputs:
  - {name: u, type: syslog, protocol: udp, listen: "127.0.0.1:$PORT"}
EOC
send() {  # send MINUTE: a traffic line to 203.0.113.99 at 10:MINUTE
    python3 -c "import socket,sys; socket.socket(socket.AF_INET,socket.SOCK_DGRAM).sendto(sys.argv[1].encode(),('127.0.0.1',$PORT))" \
        "<189>date=2026-11-20 time=10:$1:00 devname=\"F\" tz=\"+0900\" type=\"traffic\" subtype=\"forward\" srcip=10.0.0.1 dstip=203.0.113.99 dstport=443 action=\"accept\" msg=\"m$1\""
}
wait_log() {  # wait until the daemon log has COUNT lines matching PATTERN
    i=0
    while [ "$(grep -c "$1" log)" -lt "$2" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
}
"$BIN" -c c.yaml run 2>log &
PID=$!
wait_log "running" 1
send 01
sleep 0.3
echo "203.0.113.99" >> ind.txt
kill -HUP $PID
wait_log "reloaded" 1
send 02
sleep 0.3
mv ind.txt ind.bak && mkdir ind.txt      # an unreadable list (even as root): reload fails
kill -HUP $PID
wait_log "reload failed" 1
send 03
sleep 0.3
kill -TERM $PID
wait $PID
rc=$?
PID=
[ $rc -eq 0 ] && echo "PASS reload_daemon_exit" || echo "FAIL reload_daemon_exit: status $rc"
"$BIN" -c c.yaml alerts --json > alerts.json
python3 - alerts.json <<'EOP'
import json, sys
al = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
times = sorted(a["@timestamp"] for a in al if a["rule"]["name"] == "Indicator match")
want = ["2026-11-20T01:02:00Z", "2026-11-20T01:03:00Z"]
print("PASS reload_sighup_indicators" if times[:1] == want[:1] else
      f"FAIL reload_sighup_indicators: indicator alerts at {times}, want the first at {want[0]}")
print("PASS reload_failure_keeps_rules" if times == want else
      f"FAIL reload_failure_keeps_rules: indicator alerts at {times}, want {want}")
EOP
grep -q "reload failed" log && echo "PASS reload_failure_reported" || echo "FAIL reload_failure_reported: $(tail -3 log)"
