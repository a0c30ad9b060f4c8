#!/bin/sh
# make demo: replay one day of Sakura Town's FortiGate logs through the pipeline
# (decode -> detect -> SQLite store) and print what a SOC analyst reads first.
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
echo "Try: $M --db $DB search 'event.action=deny' --json | head"
echo "     $M --db $DB alerts --json"
echo "     $M --db $DB status"
