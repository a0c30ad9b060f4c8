#!/bin/sh
# `user:` drops root privileges once the listeners and the store are open: the
# daemon then runs as that user, owns its store files, and still stores what it
# receives.  Without root there is nothing to drop, and the daemon says so.
# Prints PASS/FAIL lines.  Environment: MAMORI_BIN (default build/mamori).
cd "$(dirname "$0")/../.." || exit 1
BIN=$(pwd)/${MAMORI_BIN:-build/mamori}
T=$(mktemp -d /tmp/mm_priv_it.XXXXXX)
chmod 755 "$T"
PID=
trap '[ -n "$PID" ] && kill -KILL $PID 2>/dev/null; rm -rf "$T"' EXIT
PORT=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$T/c.yaml" <<EOC
user: nobody
store: {path: $T/m.db, retention_days: 0, batch_ms: 20}
inputs:
  - {name: u, type: syslog, protocol: udp, listen: "127.0.0.1:$PORT"}
EOC
"$BIN" -c "$T/c.yaml" run 2>"$T/log" &
PID=$!
i=0
while ! grep -q running "$T/log" && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
uid=$(awk '/^Uid:/{print $3}' /proc/$PID/status)
python3 -c "import socket,sys; socket.socket(socket.AF_INET,socket.SOCK_DGRAM).sendto(sys.argv[1].encode(),('127.0.0.1',$PORT))" \
    '<189>date=2026-11-20 time=10:00:00 devname="F" tz="+0900" type="traffic" subtype="forward" srcip=10.0.0.1 dstip=203.0.113.9 action="deny"'
sleep 0.5
kill -TERM $PID
wait $PID
rc=$?
PID=
n=$("$BIN" --db "$T/m.db" search 'source.ip=10.0.0.1' --json 2>/dev/null | grep -c '"deny"')
if [ "$(id -u)" = 0 ]; then
    nobody=$(id -u nobody)
    [ "$uid" = "$nobody" ] && echo "PASS privdrop_runs_as_user" || echo "FAIL privdrop_runs_as_user: effective uid $uid, want $nobody"
    owner=$(stat -c %U "$T/m.db")
    [ "$owner" = nobody ] && echo "PASS privdrop_store_owned_by_user" || echo "FAIL privdrop_store_owned_by_user: owner $owner"
else
    grep -q "nothing to drop" "$T/log" && echo "PASS privdrop_not_root_says_so" || echo "FAIL privdrop_not_root_says_so: $(tail -2 "$T/log")"
fi
[ $rc -eq 0 ] && [ "$n" = 1 ] && echo "PASS privdrop_still_stores" || echo "FAIL privdrop_still_stores: exit $rc, $n events stored"
