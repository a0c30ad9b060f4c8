"""The command-line contract scripts rely on, and bad input through the whole
pipeline.

- `ingest --json` ends with {"summary": {...}} whose counts add up;
- `ingest --events` prints one valid JSON object per record, in ECS shape, even for
  invalid UTF-8 and NUL bytes;
- records that do not decode are counted (decode_errors), stored raw (byte-exact)
  as event.kind pipeline_error, and searchable;
- a 64 KB+ line is cut, counted, and does not stall anything;
- `alerts --json` objects carry rule.id, rule.name, level, @timestamp, tenant;
- `config check` names the line of an unknown key; a bad query is a usage error.

Prints PASS/FAIL lines.  Environment: MAMORI_BIN (default build/mamori).
"""
import json
import os
import sqlite3
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("MAMORI_BIN", os.path.join(ROOT, "build", "mamori"))
failed = 0


def check(name, ok, why=""):
    global failed
    if ok:
        print(f"PASS {name}")
    else:
        failed += 1
        print(f"FAIL {name}: {why}")


def run(*args, stdin=None):
    p = subprocess.run([BIN, *args], input=stdin, capture_output=True, timeout=120)
    return p.returncode, p.stdout, p.stderr


HDR = ('<189>date=2026-11-20 time=10:00:00 devname="FGT" devid="FG100F" eventtime=1763600400000000000 '
       'tz="+0900" logid="0000000013" type="traffic" subtype="forward" level="notice" vd="root" ')
good = HDR + 'srcip=10.0.0.1 srcport=5000 dstip=203.0.113.5 dstport=443 proto=6 action="accept" policyid=1'
ips = ('<185>date=2026-11-20 time=10:00:01 devname="FGT" devid="FG100F" tz="+0900" logid="0419016384" '
       'type="utm" subtype="ips" eventtype="signature" level="alert" vd="root" severity="critical" '
       'srcip=198.51.100.9 dstip=10.0.0.80 srcport=40000 dstport=80 proto=6 action="dropped" '
       'attack="Apache.Log4j.Error.Log.Remote.Code.Execution" service="HTTP" policyid=3')
lines = [
    good.encode(),
    ips.encode(),
    b"this is not a FortiGate record at all",                         # error
    b"<190>",                                                           # error: nothing after PRI
    (HDR + 'srcip=10.0.0.2 action="acc').encode(),                      # truncated final pair
    (HDR + 'srcip=10.0.0.3 msg="caf\xe9 \xff\xfe bytes"').encode("latin-1"),  # invalid UTF-8
    (HDR + 'srcip=10.0.0.4 msg="nul\x00inside"').encode(),              # NUL byte
    (HDR + 'srcip=10.0.0.5 msg="' + "A" * 70000 + '"').encode(),        # > 64 KB
]
N = len(lines)

with tempfile.TemporaryDirectory() as T:
    log = os.path.join(T, "bad.log")
    with open(log, "wb") as f:
        f.write(b"\n".join(lines) + b"\n")
    db = os.path.join(T, "t.db")

    rc, out, err = run("--db", db, "ingest", "--format", "fortigate", "--json", "--events", log)
    outl = out.decode("utf-8", "strict").splitlines()
    check("ingest_exit_status", rc == 0, f"status {rc}: {err[-300:]!r}")
    objs = []
    bad_json = 0
    for l in outl:
        try:
            objs.append(json.loads(l))
        except ValueError:
            bad_json += 1
    check("events_are_valid_json", bad_json == 0 and len(objs) == N + 1,
          f"{bad_json} invalid lines, {len(objs)} objects for {N} records + summary")
    summary = objs[-1].get("summary", {}) if objs else {}
    events = objs[:-1]
    check("summary_counts_add_up",
          summary.get("records") == N and summary.get("events", 0) + summary.get("decode_errors", 0) == N
          and summary.get("stored") == N,
          f"summary {summary}")
    check("decode_errors_counted", summary.get("decode_errors") == 2, f"decode_errors {summary.get('decode_errors')}")
    check("long_line_cut_and_counted", summary.get("truncated") == 1, f"truncated {summary.get('truncated')}")
    kinds = sorted(e.get("event", {}).get("kind", "") for e in events)
    check("pipeline_error_kind", kinds.count("pipeline_error") == 2, f"kinds {kinds}")
    check("every_event_has_timestamp_and_raw",
          all("@timestamp" in e and e.get("event", {}).get("original") is not None for e in events),
          "an event lacks @timestamp or event.original")
    ok_ips = [e for e in events if e.get("fortinet", {}).get("firewall", {}).get("subtype") == "ips"]
    check("ecs_shape", len(ok_ips) == 1 and ok_ips[0].get("source", {}).get("ip") == "198.51.100.9"
          and ok_ips[0].get("observer", {}).get("vendor") == "Fortinet",
          f"ips event: {ok_ips[:1]}")

    # raw bytes are stored exactly (NUL and invalid UTF-8 included)
    con = sqlite3.connect(db)
    raws = {bytes(r[0]) for r in con.execute("select raw from events")}
    con.close()
    check("raw_stored_byte_exact", lines[5] in raws and lines[6] in raws and lines[2] in raws,
          "a raw record differs from the input bytes")

    rc, out, err = run("--db", db, "search", "event.kind=pipeline_error", "--json", "--limit", "0")
    found = [json.loads(l) for l in out.decode().splitlines() if l.strip()]
    check("pipeline_errors_searchable",
          rc == 0 and len(found) == 2 and all(f.get("error", {}).get("message") for f in found),
          f"status {rc}, {len(found)} found")

    rc, out, err = run("--db", db, "alerts", "--json")
    al = [json.loads(l) for l in out.decode().splitlines() if l.strip()]
    need = lambda a: (a.get("rule", {}).get("id") and a.get("rule", {}).get("name") and a.get("level")
                      and a.get("@timestamp") and a.get("tenant"))
    check("alerts_json_shape", rc == 0 and len(al) >= 1 and all(need(a) for a in al)
          and any(a["level"] == "critical" for a in al), f"status {rc}, alerts {al[:2]}")
    check("alert_evidence", any(a.get("evidence", {}).get("source", {}).get("ip") == "198.51.100.9" for a in al),
          "no alert carries the IPS event's source.ip as evidence")

    rc, out, err = run("--db", db, "search", "source.ip=(", "--json")
    check("bad_query_is_usage_error", rc == 2 and b"bad query" in err, f"status {rc}: {err!r}")

    cfg = os.path.join(T, "bad.yaml")
    with open(cfg, "w") as f:
        f.write("tenant: town\nstore:\n  path: x.db\ninputs:\n  - name: a\n    type: syslog\n    prot: udp\n")
    rc, out, err = run("config", "check", cfg)
    check("config_check_names_line", rc == 1 and b"line 7" in err and b"prot" in err, f"status {rc}: {err!r}")

    rc, out, err = run("version")
    check("version", rc == 0 and out.startswith(b"mamori "), f"{out!r}")

    # stdin ingest, and the same database read by status
    rc, out, err = run("--db", db, "ingest", "--json", "-", stdin=good.encode() + b"\n")
    s2 = json.loads(out.decode().splitlines()[-1])["summary"] if rc == 0 else {}
    check("ingest_stdin", rc == 0 and s2.get("events") == 1, f"status {rc}, {s2}")
    rc, out, err = run("--db", db, "status", "--json")
    st = json.loads(out) if rc == 0 else {}
    check("status_sums_runs", st.get("counters", {}).get("events_stored") == N + 1
          and st.get("counters", {}).get("decode_errors") == 2, f"{st.get('counters')}")

sys.exit(1 if failed else 0)
