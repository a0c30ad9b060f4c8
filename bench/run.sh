#!/bin/sh
# make bench: the figures of DESIGN/issue #2, printed as "name value unit" lines.
#   1. decode + detect, one worker, no store        (bench_decode, in-process)
#   2. the same through `mamori ingest`: 1 worker, no store; then with the SQLite
#      store writing every event
#   3. syslog UDP on loopback at a fixed offered rate (default 100,000 msgs/s for
#      10 s): received vs sent, and the daemon's peak RSS
#   4-6. the SigmaHQ collection on Windows event logs (issue #3, bench_sigma): rule
#      load + compile time and memory; detection events/s on one thread over the
#      regression samples pre-decoded; EVTX end to end (read + decode + detect) in
#      MB/s beside Debian's evtxexport (libevtx-utils) exporting the same files
# Input: the FortiGate corpus (../shared/corpora/logs/fortigate/*.log) replicated
# to >= 1,000,000 lines; the SigmaHQ rules and regression .evtx files
# (../shared/corpora/sigma/).  Parts whose corpus is missing are skipped.
# BENCH_LINES, UDP_RATE, UDP_SECONDS override; BENCH_SIGMA_EVENTS (1000000),
# BENCH_EVTX_SECONDS (2), EVTXEXPORT (/usr/bin/evtxexport) for bench_sigma.
#   7-9. the packet sensor (issue #4, bench_sensor): the corpus pcaps replicated to
#      BENCH_PCAP_BYTES (default 1 GB) of packets; the sensor alone on one thread
#      (every analyzer on) in Gbit/s and packets/s, with the file-type cache and
#      without it; `mamori ingest --pcap` end to end; side by side on the same
#      file ndpiReader (libndpi-bin) and `tshark -T fields`; peak RSS with
#      BENCH_FLOWS (default 1,000,000) concurrent flows
#   10-12. threat intelligence (issue #5, bench_intel): 10M generated indicators into
#      the engine's index (load time, memory) and into the SQLite store (import,
#      then a fresh process's start-up load); match cost per event with them
#      loaded (FortiGate lines and sensor DNS events, against an empty set); a
#      retro-hunt of 100,000 new indicators over 10M stored events, and of one.
#      The store (~12 GB) goes in BENCH_INTEL_DIR (default: the work folder);
#      BENCH_INTEL_ARGS passes sizes (e.g. "--store-count 1e6 --hunt-events 1e6").
# BENCH_ONLY=sigma runs parts 4-6 only, BENCH_ONLY=fortigate parts 1-3 only,
# BENCH_ONLY=sensor parts 7-9 only, BENCH_ONLY=intel parts 10-12 only.
set -eu
cd "$(dirname "$0")/.."
ROOT=$(pwd)
CORPORA=${MM_CORPORA:-$ROOT/../shared/corpora}
LINES=${BENCH_LINES:-1000000}
RATE=${UDP_RATE:-100000}
SECS=${UDP_SECONDS:-10}
W=$(mktemp -d /tmp/mamori-bench.XXXXXX)
trap 'kill $DPID 2>/dev/null || true; rm -rf "$W"' EXIT
DPID=
ONLY=${BENCH_ONLY:-}
BUILD=${B:-build}   # the Makefile's build folder (make bench B=...)

fortigate_benches() {
cat "$CORPORA"/logs/fortigate/*.log | tr -d '\000' | grep -v '^$' > "$W/base.log"
n=$(wc -l < "$W/base.log")
reps=$(( (LINES + n - 1) / n ))
i=0
: > "$W/big.log"
while [ $i -lt "$reps" ]; do cat "$W/base.log"; i=$((i + 1)); done > "$W/big.log"
echo "bench_input_lines $(wc -l < "$W/big.log") lines"
echo "bench_input_bytes $(wc -c < "$W/big.log") bytes"
echo "bench_cpu_cores $(nproc) cores"

echo "# 1. decode + detect, one worker, no store (in-process)"
"$BUILD"/bench/bench_decode "$W/big.log" demo/indicators.txt
echo "# 1b. the same on the demo day (more threats, bursts, indicator hits) replicated to ~1M lines"
dn=$(wc -l < demo/fortigate-sakura.log)
i=0
while [ $i -lt $(( (LINES + dn - 1) / dn )) ]; do cat demo/fortigate-sakura.log; i=$((i + 1)); done > "$W/demo.log"
"$BUILD"/bench/bench_decode "$W/demo.log" demo/indicators.txt | sed 's/^decode_detect/demo_decode_detect/'
rm -f "$W/demo.log"

summary() {  # prints events/s from an ingest --json summary
    python3 -c 'import json,sys
d=[json.loads(l) for l in sys.stdin if l.startswith("{\"summary")][-1]["summary"]
print("%s %.0f events/s" % (sys.argv[1], d["records"]/d["seconds"]))
print("%s_events %d events" % (sys.argv[1], d["events"]))
print("%s_decode_errors %d errors" % (sys.argv[1], d["decode_errors"]))
print("%s_alerts %d alerts" % (sys.argv[1], d["alerts"]))' "$1"
}

echo "# 2. mamori ingest (file -> worker -> writer threads)"
"$BUILD"/mamori ingest --workers 1 --no-store --json "$W/big.log" | summary ingest_1worker_nostore
"$BUILD"/mamori --db "$W/b.db" ingest --workers 1 --json "$W/big.log" | summary ingest_1worker_sqlite
echo "ingest_sqlite_db_bytes $(cat "$W"/b.db* | wc -c) bytes"
rm -f "$W"/b.db*
"$BUILD"/mamori --db "$W/b.db" ingest --json "$W/big.log" | summary ingest_allworkers_sqlite
rm -f "$W"/b.db*

echo "# 3. syslog UDP at ${RATE} msgs/s for ${SECS}s"
PORT=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$W/udp.yaml" <<EOC
store: {path: $W/udp.db}
inputs:
  - {name: udp, type: syslog, protocol: udp, listen: "127.0.0.1:$PORT", format: fortigate}
EOC
"$BUILD"/mamori -c "$W/udp.yaml" run 2> "$W/daemon.log" &
DPID=$!
sleep 1
"$BUILD"/bench/bench_udp_send 127.0.0.1 "$PORT" "$RATE" "$SECS" "$W/base.log" | tee "$W/send.out"
sleep 2
rss=$(grep VmHWM /proc/$DPID/status | awk '{print $2}')
kill -TERM $DPID
wait $DPID || true
DPID=
sent=$(awk '/^udp_sent/{print $2}' "$W/send.out")
"$BUILD"/mamori -c "$W/udp.yaml" status --json > "$W/status.json"
python3 - "$W/status.json" "$sent" "$rss" <<'EOP'
import json, sys
c = json.load(open(sys.argv[1]))["counters"]
sent = int(sys.argv[2]); rss = int(sys.argv[3])
print("udp_received %d msgs" % c["syslog_udp_received"])
print("udp_stored %d events" % c["events_stored"])
print("udp_lost %d msgs" % (sent - c["syslog_udp_received"]))
print("udp_loss %.4f %%" % (100.0 * (sent - c["syslog_udp_received"]) / max(sent, 1)))
print("udp_kernel_drops %d msgs" % c["syslog_udp_kernel_drops"])
print("udp_queue_drops %d msgs" % c["queue_drops"])
print("udp_daemon_peak_rss %.1f MiB" % (rss / 1024.0))
EOP
}

sensor_benches() {
PB=${BENCH_PCAP_BYTES:-1000000000}
echo "# 7. the packet sensor on the corpus pcaps replicated to $PB bytes"
python3 bench/gen_pcap_mix.py "$W/mix.pcap" "$PB" "$CORPORA"/pcap/zeek/*.pcap "$CORPORA"/pcap/ndpi/pcap/*.pcap \
    "$CORPORA"/pcap/suricata-verify/*/input.pcap
"$BUILD"/bench/bench_sensor "$W/mix.pcap"
"$BUILD"/bench/bench_sensor --no-type-cache "$W/mix.pcap"
echo "# 8. side by side on the same file (wall clock, one process each)"
secs() {  # label, command...: prints "<label>_seconds" and Gbit/s from the mix size
    label=$1; shift
    t0=$(date +%s.%N)
    "$@" > /dev/null 2> "$W/err.txt" || { echo "# $label failed: $(tail -1 "$W/err.txt")"; return; }
    t1=$(date +%s.%N)
    python3 -c 'import sys
b=int(sys.argv[2]); s=float(sys.argv[4])-float(sys.argv[3])
print("%s_seconds %.2f s" % (sys.argv[1], s)); print("%s_throughput %.2f Gbit/s" % (sys.argv[1], b*8/s/1e9))' \
        "$label" "$(stat -c %s "$W/mix.pcap")" "$t0" "$t1"
}
secs mamori_ingest_pcap "$BUILD"/mamori --db "$W/p.db" ingest --pcap --no-store --workers 1 "$W/mix.pcap"
if command -v ndpiReader > /dev/null; then
    secs ndpireader ndpiReader -q -i "$W/mix.pcap"
else
    echo "# ndpiReader not installed (libndpi-bin): skipped"
fi
if command -v tshark > /dev/null; then
    secs tshark_fields tshark -r "$W/mix.pcap" -T fields -e frame.number -e ip.src -e ip.dst -e tcp.stream \
        -e dns.qry.name -e http.host -e http.request.uri -e http.user_agent \
        -e tls.handshake.extensions_server_name -e smtp.req.command -e ftp.request.command -e irc.request
else
    echo "# tshark not installed: skipped"
fi
rm -f "$W/mix.pcap"
echo "# 9. memory with ${BENCH_FLOWS:-1000000} concurrent flows"
"$BUILD"/bench/bench_sensor --flows "${BENCH_FLOWS:-1000000}"
}

intel_benches() {
echo "# 10-12. threat intelligence (bench_intel)"
# shellcheck disable=SC2086
"$BUILD"/bench/bench_intel --dir "${BENCH_INTEL_DIR:-$W}" ${BENCH_INTEL_ARGS:-}
}

if [ "$ONLY" = intel ]; then
    intel_benches
    exit 0
fi
if [ "$ONLY" = sensor ]; then
    if [ -d "$CORPORA/pcap" ]; then sensor_benches; else echo "# no pcap corpus at $CORPORA/pcap"; fi
    exit 0
fi
if [ "$ONLY" != sigma ]; then
    if ls "$CORPORA"/logs/fortigate/*.log > /dev/null 2>&1; then
        fortigate_benches
    else
        echo "# no FortiGate corpus at $CORPORA/logs/fortigate: parts 1-3 skipped"
    fi
fi
if [ "$ONLY" != fortigate ]; then
    if [ -d "$CORPORA/sigma/rules" ]; then
        "$BUILD"/bench/bench_sigma "$CORPORA"
    else
        echo "# no SigmaHQ corpus at $CORPORA/sigma: parts 4-6 skipped"
    fi
fi
if [ "$ONLY" != fortigate ] && [ "$ONLY" != sigma ]; then
    if [ -d "$CORPORA/pcap" ]; then
        sensor_benches
    else
        echo "# no pcap corpus at $CORPORA/pcap: parts 7-9 skipped"
    fi
fi
if [ -z "$ONLY" ]; then
    intel_benches
fi
