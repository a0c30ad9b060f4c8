"""The Sigma commands through the CLI:

- `rules check DIR --json` is one summary object {"loaded", "skipped", "reasons", ...};
  the project's own rules load with nothing skipped; SigmaHQ's load at >= 99%;
  a folder with a bad rule reports it (SKIP line, reason) and still loads the rest;
- `rules test` runs the project's rules against their fixtures and passes;
- `--rules DIR` adds a folder: `ingest --format evtx --alerts` on a SigmaHQ
  regression sample prints the alert line (time, level, title, host, reason with
  the matched fields) and `--json --alerts` prints JSON alerts with rule.id = the
  rule's own id;
- `replay` merges files by event time: a temporal_ordered chain whose steps sit in
  different files, the later file first, fires once, and nothing is counted late.

Prints PASS/FAIL lines.  Environment: MAMORI_BIN (default build/mamori), MM_CORPORA.
"""
import glob
import json
import os
import shutil
import subprocess
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("MAMORI_BIN", os.path.join(ROOT, "build", "mamori"))
CORPORA = os.environ.get("MM_CORPORA", os.path.join(ROOT, "..", "shared", "corpora"))
failed = 0


def check(name, ok, why=""):
    global failed
    if ok:
        print(f"PASS {name}")
    else:
        failed += 1
        print(f"FAIL {name}: {why}")


def run(*args):
    p = subprocess.run([BIN, *args], capture_output=True, timeout=300)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


# ---- rules check
rc, out, err = run("rules", "check", os.path.join(ROOT, "rules"), "--json")
try:
    s = json.loads(out)
except ValueError:
    s = {}
check("rules_check_json_shape", rc == 0 and {"loaded", "skipped", "reasons"} <= set(s), out[:300] + err[:300])
check("own_rules_load_clean", s.get("skipped") == 0 and s.get("loaded", 0) >= 50 and s.get("inactive") == 0,
      json.dumps({k: s.get(k) for k in ("loaded", "skipped", "inactive", "reasons")}))

sigma_rules = os.path.join(CORPORA, "sigma", "rules")
if os.path.isdir(sigma_rules):
    rc, out, err = run("rules", "check", sigma_rules, "--json")
    s = json.loads(out) if rc == 0 else {}
    total = s.get("loaded", 0) + s.get("skipped", 0)
    print(f"# SigmaHQ: {s.get('loaded')} loaded, {s.get('skipped')} skipped of {total}; reasons {s.get('reasons')}")
    check("sigmahq_loads_99_percent", total >= 3700 and s["loaded"] * 100 >= total * 99, out[:300])

with tempfile.TemporaryDirectory() as T:
    d = os.path.join(T, "r")
    os.mkdir(d)
    with open(os.path.join(d, "good.yml"), "w") as f:
        f.write("title: good\nid: good-1\nlogsource: {product: windows, service: security}\n"
                "detection:\n  s:\n    EventID: 4625\n  condition: s\n")
    with open(os.path.join(d, "bad.yml"), "w") as f:
        f.write("title: bad regex\nid: bad-1\nlogsource: {product: windows, service: security}\n"
                "detection:\n  s:\n    CommandLine|re: '(unclosed'\n  condition: s\n")
    rc, out, err = run("rules", "check", d)
    check("bad_rule_reported_rest_loaded",
          rc == 0 and "SKIP invalid regular expression: bad regex" in out and "1 rules loaded" in out
          and "1 skipped" in out, out + err)
    rc, out, err = run("rules", "check", d, "--json")
    s = json.loads(out)
    check("bad_rule_reason_counted", s["reasons"] == {"invalid regular expression": 1}
          and s["skips"][0]["file"].endswith("bad.yml"), out)

# ---- rules test
rc, out, err = run("rules", "test")
check("rules_test_fixtures_pass", rc == 0 and " 0 failed" in out and "PASS " in out, out[-600:] + err[-300:])

# ---- a SigmaHQ rule through --rules, on its regression sample
case = None
for info in sorted(glob.glob(os.path.join(CORPORA, "sigma", "regression", "rules", "windows", "process_creation",
                                          "*", "info.yml"))):
    ev = glob.glob(os.path.join(os.path.dirname(info), "*.evtx"))
    if ev:
        rid = os.path.basename(ev[0])[:-5]
        hits = subprocess.run(["grep", "-rl", "^id: " + rid, sigma_rules], capture_output=True, text=True).stdout.split()
        if hits:
            case = (rid, ev[0], hits[0])
            break
if case:
    rid, evtx, rule = case
    with tempfile.TemporaryDirectory() as T:
        shutil.copy(rule, T)
        rc, out, err = run("--rules", T, "ingest", "--format", "evtx", "--alerts", "--no-store", evtx)
        title = [l for l in open(rule) if l.startswith("title:")][0][6:].strip()
        check("evtx_alert_line", rc == 0 and title in out and "host=" in out and "=" in out.split("\n")[1],
              out[:600] + err[:300])
        rc, out, err = run("--rules", T, "ingest", "--format", "evtx", "--alerts", "--json", "--no-store", evtx)
        objs = [json.loads(l) for l in out.splitlines() if l.strip()]
        alerts = [o for o in objs if "rule" in o]
        check("evtx_alert_json_rule_id", alerts and alerts[0]["rule"]["id"] == rid and alerts[0]["level"]
              and alerts[0]["alert"]["reason"] and "evidence" in alerts[0]
              and "summary" in objs[-1], out[:600])

# ---- replay: files merged by event time
with tempfile.TemporaryDirectory() as T:
    rules = os.path.join(T, "rules")
    os.mkdir(rules)
    with open(os.path.join(rules, "chain.yml"), "w") as f:
        f.write("""title: step one
name: step_one
id: s1
logsource: {product: windows, service: security}
detection:
  s:
    EventID: 4768
    PreAuthType: '0'
  condition: s
level: medium
---
title: step two
name: step_two
id: s2
logsource: {product: windows, service: security}
detection:
  s:
    EventID: 4728
  condition: s
level: medium
---
title: roast then privilege
id: chain-1
correlation:
  type: temporal_ordered
  rules: [step_one, step_two]
  group-by: [IpAddress]
  timespan: 30m
level: critical
""")

    def ev(ts, eid, data):
        return json.dumps({"@timestamp": ts, "winlog": {"event_id": eid, "channel": "Security",
                           "provider_name": "Microsoft-Windows-Security-Auditing",
                           "computer_name": "DC01.sakura.local", "event_data": data}})
    logs = os.path.join(T, "logs")
    os.mkdir(logs)
    # a.jsonl holds the second step, b.jsonl the first: only time order puts them right
    with open(os.path.join(logs, "a.jsonl"), "w") as f:
        f.write(ev("2026-11-02T01:10:00Z", 4728, {"IpAddress": "10.10.5.21", "MemberName": "CN=x"}) + "\n")
    with open(os.path.join(logs, "b.jsonl"), "w") as f:
        f.write(ev("2026-11-02T01:00:00Z", 4768, {"IpAddress": "10.10.5.21", "PreAuthType": "0",
                                                   "TargetUserName": "svc_backup"}) + "\n")
    rc, out, err = run("--rules", rules, "replay", "--no-store", "--lateness", "1h", logs)
    check("replay_chain_across_files", rc == 0 and out.count("critical roast then privilege") == 1
          and "0 out of order" in err, out + err)
    rc, out, err = run("--rules", rules, "replay", "--no-store", "--json", logs)
    alerts = [json.loads(l) for l in out.splitlines() if l.strip()]
    check("replay_json_alerts", any(a.get("rule", {}).get("id") == "chain-1" for a in alerts), out)

raise SystemExit(1 if failed else 0)
