#!/bin/sh
# make demo: one day of Sakura Town hall: the FortiGate's logs, the packet sensor's
# capture of the core switch's mirror port and the domain controller's Windows event
# logs through the pipeline (decode -> detect -> SQLite store), and what a SOC
# analyst reads first.
set -eu
cd "$(dirname "$0")/.."
M=build/mamori
DB=build/demo.db
rm -f "$DB" "$DB-wal" "$DB-shm"

echo "== mamori demo: one day of FortiGate logs from Sakura Town hall (demo/) =="
echo
$M -c demo/mamori.yaml ingest --format fortigate demo/fortigate-sakura.log
echo
echo "== alerts (mamori -c demo/mamori.yaml alerts) =="
$M -c demo/mamori.yaml alerts
echo
echo "== what else did the infected PC do? (mamori search 'source.ip=10.10.5.21 and destination.ip=185.220.101.45') =="
$M -c demo/mamori.yaml search 'source.ip=10.10.5.21 and destination.ip=185.220.101.45' --limit 5
echo
echo "== the mirror port: the sensor's view of the same day =="
echo "== (mamori -c demo/mamori.yaml ingest --pcap --alerts demo/sensor-sakura.pcap; rules: rules/network, Sigma format) =="
$M -c demo/mamori.yaml ingest --pcap --alerts demo/sensor-sakura.pcap
echo
echo "== the infected PC's web requests on the wire (mamori search 'event.action=http-request and source.ip=10.10.5.21') =="
$M -c demo/mamori.yaml search 'event.action=http-request and source.ip=10.10.5.21' --limit 10
echo
echo "== the same day on the domain controller: Security and System logs, in time order =="
echo "== (mamori -c demo/mamori.yaml replay demo/windows-dc.jsonl; rules: rules/windows, Sigma format) =="
$M -c demo/mamori.yaml replay demo/windows-dc.jsonl
echo
echo "== the PC's trail on the domain controller (mamori search 'source.ip=10.10.5.21 and event.code=4624') =="
$M -c demo/mamori.yaml search 'source.ip=10.10.5.21 and event.code=4624' --limit 5
echo
echo "== the next morning: the prefectural CSIRT shares a STIX 2.1 advisory; new indicators are hunted back =="
echo "== through the stored day (mamori -c demo/mamori.yaml intel import demo/intel/csirt-advisory-2026-11-21.json) =="
$M -c demo/mamori.yaml intel import --feed pref-csirt demo/intel/csirt-advisory-2026-11-21.json
echo
echo "== a JA3 fingerprint from a colleague, with its context (mamori intel add ja3 ... --malware ... --ttl 30d) =="
$M -c demo/mamori.yaml intel add ja3 ddf7518e13e832047187ce5ef24e2676 --malware "Cobalt Strike beacon (demo)" \
    --confidence 60 --ttl 30d --feed soc-analysts
echo
echo "== the indicator store (mamori intel stats) =="
$M -c demo/mamori.yaml intel stats
CORPORA=${MM_CORPORA:-../shared/corpora}
if [ -d "$CORPORA/sigma/rules" ]; then
    echo
    echo "== SigmaHQ's rule collection loads as it is (mamori rules check $CORPORA/sigma/rules) =="
    $M rules check "$CORPORA/sigma/rules" | grep -E "rule files|skipped  "
fi
echo
echo "Try: $M --db $DB search 'event.action=deny' --json | head"
echo "     $M --db $DB alerts --json"
echo "     $M --db $DB status"
