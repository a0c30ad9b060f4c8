#!/bin/sh
# Syslog end to end through the CLI: `mamori run` with a UDP and a TCP listener on
# loopback, FortiGate records sent the ways FortiGate sends them (UDP datagrams;
# TCP with RFC 6587 octet counting and with newline framing; bare <PRI> and RFC
# 5424 headers) mixed with hostile frames, then SIGTERM.  The alerts and the events
# must be in the store, tagged by sender, and the garbage counted, not fatal.
#
# Environment: MAMORI_BIN (default build/mamori).
# Prints "PASS name" / "FAIL name: why" lines.
cd "$(dirname "$0")/../.." || exit 1
BIN=${MAMORI_BIN:-build/mamori}
[ -x "$BIN" ] || { echo "FAIL syslog_it: $BIN not built"; exit 1; }
T=$(mktemp -d /tmp/mm_syslog_it.XXXXXX)
PID=
cleanup() {
    [ -n "$PID" ] && kill -KILL "$PID" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT

# A port free for both UDP and TCP on 127.0.0.1.
PORT=$(python3 - <<'EOF'
import socket
for _ in range(100):
    t = socket.socket(); t.bind(("127.0.0.1", 0)); p = t.getsockname()[1]
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        u.bind(("127.0.0.1", p))
    except OSError:
        continue
    finally:
        t.close(); u.close()
    print(p); break
EOF
)
[ -n "$PORT" ] || { echo "FAIL syslog_it: no free port"; exit 1; }

cat > "$T/mamori.yaml" <<EOF
tenant: town
workers: 2
store:
  path: $T/mamori.db
  batch_ms: 50
  retention_days: 0        # the test logs are from 2024: keep them
inputs:
  - name: fgt-udp
    type: syslog
    protocol: udp
    listen: 127.0.0.1:$PORT
    format: fortigate
    rcvbuf: 8388608
    sources:
      - match: 192.0.2.0/24
        tenant: elsewhere
      - match: 127.0.0.0/8
        tenant: lo-town
        segment: lgwan
  - name: fgt-tcp
    type: syslog
    protocol: tcp
    listen: 127.0.0.1:$PORT
    format: fortigate
    segment: internet
    max_connections: 8
EOF

"$BIN" -c "$T/mamori.yaml" run 2>"$T/daemon.log" &
PID=$!
i=0
while ! grep -q "running" "$T/daemon.log" 2>/dev/null; do
    i=$((i + 1))
    if [ $i -gt 100 ] || ! kill -0 "$PID" 2>/dev/null; then
        echo "FAIL syslog_start: daemon did not start: $(tail -3 "$T/daemon.log")"
        exit 1
    fi
    sleep 0.05
done
echo "PASS syslog_start"

python3 - "$PORT" <<'EOF'
import socket, sys, time
port = int(sys.argv[1])
dev = 'devname="FGT60F" devid="FGT60FTK22000001" vd="root"'
def ips(src, attack, sev="critical", t="10:15:02"):
    return (f'date=2024-08-28 time={t} {dev} eventtime=1724807702000000000 tz="+0900" '
            f'logid="0419016384" type="utm" subtype="ips" eventtype="signature" level="alert" '
            f'severity="{sev}" srcip={src} srcport=40123 srcintf="wan1" dstip=10.0.1.15 '
            f'dstport=443 dstintf="dmz" sessionid=7351 proto=6 action="dropped" '
            f'service="HTTPS" policyid=7 attack="{attack}" attackid=51006 profile="default" '
            f'ref="http://www.fortinet.com/ids/VID51006" incidentserialno=184549381 '
            f'msg="web_misc: {attack}, "').encode()
def virus(src, name):
    return (f'date=2024-08-28 time=10:16:40 {dev} eventtime=1724807800000000000 tz="+0900" '
            f'logid="0211008192" type="utm" subtype="virus" eventtype="infected" '
            f'level="warning" policyid=12 msg="File is infected." action="blocked" '
            f'service="HTTP" sessionid=12345 srcip={src} dstip=203.0.113.80 srcport=51514 '
            f'dstport=80 srcintf="lan" dstintf="wan1" proto=6 direction="incoming" '
            f'filename="invoice.exe" quarskip="File-was-not-quarantined" virus="{name}" '
            f'dtype="Virus" virusid=8172399 url="http://203.0.113.80/dl/invoice.exe" '
            f'profile="default" agent="Mozilla/5.0"').encode()

u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
dst = ("127.0.0.1", port)
# FortiGate's default: a bare <PRI> then the key=value record
u.sendto(b"<185>" + ips("198.51.100.23", "Apache.Log4j.Error.Log.Remote.Code.Execution"), dst)
u.sendto(b"<188>" + virus("10.0.1.20", "W32/Agent.ABC!tr") + b"\n", dst)
# hostile datagrams: empty, only terminators, binary, invalid UTF-8, NULs, 60 KB
for g in [b"", b"\n\r\x00", bytes(range(256)), b"<13>\xff\xfe\xc3( caf\xe9",
          b"<13>a\x00b\x00c", b"<14>" + b"A" * 60000]:
    u.sendto(g, dst)

t = socket.create_connection(dst)
m1 = b"<189>1 2024-08-28T10:17:00+09:00 FGT60F - - - - " + ips(
    "198.51.100.77", "MS.Exchange.Server.ProxyShell.Remote.Code.Execution", t="10:17:00")
frame = str(len(m1)).encode() + b" " + m1
t.sendall(frame[:3]); time.sleep(0.05); t.sendall(frame[3:])     # split inside the count
t.sendall(b"<188>" + virus("10.0.1.21", "JS/Miner.BP!tr") + b"\r\n")  # newline framing
# hostile frames: bad count, NULs, a 70 KB line, an oversize octet count
t.sendall(b"0 zero count\n\x00\x00\n<13>ok after nul\x00")
t.sendall(b"<14>" + b"B" * 70000 + b"\n")
t.sendall(b"70000 <14>" + b"C" * 69996 + b"4 <1>x")   # skipped by its count
t.sendall(b"<13>last line without newline")
t.close()
# a second connection that just dies mid-frame
t2 = socket.create_connection(dst)
t2.sendall(b"500 <13>cut short")
t2.close()
EOF
[ $? -eq 0 ] && echo "PASS syslog_send" || echo "FAIL syslog_send: sender failed"

sleep 1
kill -TERM "$PID"
wait "$PID"
rc=$?
PID=
[ $rc -eq 0 ] && echo "PASS syslog_sigterm_exit" || echo "FAIL syslog_sigterm_exit: status $rc: $(tail -3 "$T/daemon.log")"

"$BIN" --db "$T/mamori.db" alerts --json > "$T/alerts.json" 2>"$T/alerts.err"
"$BIN" --db "$T/mamori.db" search 'source.ip=198.51.100.23' --json --limit 0 > "$T/s1.json" 2>"$T/s1.err"
"$BIN" --db "$T/mamori.db" search 'source.ip=198.51.100.77' --json --limit 0 > "$T/s2.json" 2>"$T/s2.err"
"$BIN" --db "$T/mamori.db" search '' --json --limit 0 > "$T/all.json" 2>"$T/all.err"
"$BIN" --db "$T/mamori.db" status --json > "$T/status.json" 2>"$T/status.err"

python3 - "$T" <<'EOF'
import json, sys
d = sys.argv[1]
def lines(name):
    out = []
    with open(f"{d}/{name}") as f:
        for l in f:
            l = l.strip()
            if l:
                out.append(json.loads(l))
    return out
def get(o, path):
    for k in path.split("."):
        if not isinstance(o, dict) or k not in o:
            return None
        o = o[k]
    return o
def check(name, ok, why):
    print(f"PASS {name}" if ok else f"FAIL {name}: {why}")

try:
    alerts = lines("alerts.json")
except Exception as e:
    alerts = []
    print(f"FAIL syslog_alerts_json: {e}")
def has_alert(level, src, word):
    return any(a.get("level") == level and get(a, "evidence.source.ip") == src and
               word in json.dumps(a) for a in alerts)
check("syslog_udp_ips_alert", has_alert("critical", "198.51.100.23", "Log4j"),
      f"no critical IPS alert for 198.51.100.23 in {len(alerts)} alerts")
check("syslog_tcp_octet_counted_rfc5424_ips_alert",
      has_alert("critical", "198.51.100.77", "ProxyShell"),
      "no critical IPS alert for 198.51.100.77")
check("syslog_udp_virus_alert", has_alert("high", "10.0.1.20", "W32/Agent.ABC!tr"),
      "no antivirus alert for 10.0.1.20")
check("syslog_tcp_newline_virus_alert", has_alert("high", "10.0.1.21", "JS/Miner.BP!tr"),
      "no antivirus alert for 10.0.1.21")

s1 = lines("s1.json")
check("syslog_search_udp_event", len(s1) == 1 and get(s1[0], "mamori.tenant") == "lo-town"
      and get(s1[0], "mamori.input") == "fgt-udp",
      f"{len(s1)} events, tenant {get(s1[0], 'mamori.tenant') if s1 else None}")
s2 = lines("s2.json")
check("syslog_search_tcp_event", len(s2) == 1 and get(s2[0], "mamori.tenant") == "town"
      and get(s2[0], "mamori.input") == "fgt-tcp" and get(s2[0], "observer.name") == "FGT60F",
      f"{len(s2)} events: {json.dumps(s2)[:300]}")

allev = lines("all.json")
udp = [e for e in allev if get(e, "mamori.input") == "fgt-udp"]
tcp = [e for e in allev if get(e, "mamori.input") == "fgt-tcp"]
# UDP: 2 records + 5 non-empty hostile datagrams (the empty and the terminator-only
# ones are frame errors).  TCP: 2 records, "0 zero count", "<13>ok after nul", the cut
# 70 KB line, the cut oversize counted frame, "<1>x", the last line, "<13>cut short".
check("syslog_udp_record_count", len(udp) == 6, f"{len(udp)} udp events, want 6")
check("syslog_tcp_record_count", len(tcp) == 9, f"{len(tcp)} tcp events, want 9")
longest = max((len(get(e, "event.original") or "") for e in allev), default=0)
check("syslog_oversize_cut", longest <= 65536, f"longest event.original {longest}")
check("syslog_all_tagged", all(get(e, "mamori.tenant") == "lo-town" for e in udp) and
      all(get(e, "mamori.segment") == "internet" for e in tcp),
      "a record lacks its sender's tenant/segment")

try:
    st = json.load(open(f"{d}/status.json"))["counters"]
except Exception as e:
    st = {}
    print(f"FAIL syslog_status_json: {e}")
check("syslog_counters", st.get("syslog_udp_received") == 8 and st.get("syslog_tcp_connections") == 2
      and st.get("syslog_tcp_received") == 9 and st.get("syslog_frame_errors", 0) >= 5
      and st.get("lines_truncated", 0) >= 2 and st.get("syslog_udp_queue_drops") == 0,
      json.dumps({k: v for k, v in st.items() if k.startswith(("syslog", "lines"))}))
EOF

# Kernel drops: the daemon is frozen while a burst overflows a small receive buffer;
# afterwards every datagram is either received or counted as a kernel drop.
sed -e 's/rcvbuf: 8388608/rcvbuf: 262144/' -e "s|$T/mamori.db|$T/drops.db|" \
    "$T/mamori.yaml" > "$T/drops.yaml"
"$BIN" -c "$T/drops.yaml" run 2>"$T/daemon2.log" &
PID=$!
i=0
while ! grep -q "running" "$T/daemon2.log" 2>/dev/null; do
    i=$((i + 1))
    [ $i -gt 100 ] && break
    sleep 0.05
done
kill -STOP "$PID"
python3 - "$PORT" <<'EOF2'
import socket, sys
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
m = (b'<189>date=2024-08-28 time=10:00:00 devname="FGT60F" type="traffic" subtype="forward" '
     b'srcip=10.0.0.1 dstip=203.0.113.9 action="accept" ' + b"x" * 300)
for _ in range(20000):
    u.sendto(m, ("127.0.0.1", int(sys.argv[1])))
EOF2
kill -CONT "$PID"
sleep 1
kill -TERM "$PID"
wait "$PID"
PID=
"$BIN" --db "$T/drops.db" status --json > "$T/status2.json" 2>/dev/null
python3 - "$T/status2.json" <<'EOF2'
import json, sys
c = json.load(open(sys.argv[1]))["counters"]
rx, kd = c.get("syslog_udp_received", 0), c.get("syslog_udp_kernel_drops", 0)
ok = kd > 0 and rx + kd == 20000 and c.get("events_stored") == rx
print("PASS syslog_udp_kernel_drops_counted" if ok else
      f"FAIL syslog_udp_kernel_drops_counted: received {rx} + kernel drops {kd} != 20000 "
      f"(stored {c.get('events_stored')})")
EOF2
