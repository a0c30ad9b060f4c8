"""Threat intelligence through the command line (`mamori intel ...`, `mamori hunt`),
with the corpora of ../shared/corpora/intel and tests/it/intel_server.py:

- STIX conformance: every file of intel/stix/ imported; the test prints
  imported/total per file; every record the reader gave is stored (the
  normaliser refuses none of them); apt1's CIDR ranges and actor, poisonivy's
  campaign and malware names reach the stored 5W1H;
- MISP: the attributes with to_ids are stored with their types;
- TAXII 2.1 and MISP feeds pulled with the real client give the same indicators as
  the files imported locally;
- retro-hunt: indicators added after the events were stored raise alerts marked
  retrospective, dated at the event, with the indicator's 5W1H; `hunt
  --indicator` finds the same events; live matching gives the same alert with the
  same threat object;
- expiry and warning lists stop matches; `stats` counts active and expired;
- configured feeds: refresh, "not due" within the interval, ETag 304 with
  --force, the state (last refresh, count) kept per feed, a failing feed keeps
  its indicators;
- bad input: garbage JSON is an error naming the file; bad CSV rows are counted.

Prints PASS/FAIL lines.  Environment: MAMORI_BIN (default build/mamori), MM_CORPORA.
"""
import glob
import json
import os
import re
import select
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
BIN = os.environ.get("MAMORI_BIN", os.path.join(ROOT, "build", "mamori"))
CORPORA = os.environ.get("MM_CORPORA", os.path.join(ROOT, "..", "shared", "corpora"))
DEMO = os.path.join(ROOT, "demo", "fortigate-sakura.log")
failed = 0


def check(name, ok, why=""):
    global failed
    if ok:
        print(f"PASS {name}")
    else:
        failed += 1
        print(f"FAIL {name}: {why}")


def run(db, *args, cfg=None):
    cmd = [BIN, "--db", db] + (["-c", cfg] if cfg else []) + list(args)
    p = subprocess.run(cmd, capture_output=True, timeout=300, text=True)
    return p.returncode, p.stdout, p.stderr


def jlines(text):
    return [json.loads(l) for l in text.splitlines() if l.strip().startswith("{")]


tmp = tempfile.mkdtemp(prefix="mm_intel_cli_")
srv = None
try:
    # ---------------------------------------------------------------- STIX conformance
    db = os.path.join(tmp, "stix.db")
    files = sorted(glob.glob(os.path.join(CORPORA, "intel", "stix", "*.json")) +
                   glob.glob(os.path.join(CORPORA, "intel", "stix", "threat-reports", "*.json")))
    check("stix_corpus_present", len(files) >= 6, f"{len(files)} files")
    all_stored = True
    for f in files:
        rc, out, err = run(db, "intel", "import", "--format", "stix", "--no-hunt", f)
        m = re.search(r"(\d+) records read, (\d+) stored", out)
        refused = re.search(r"(\d+) refused", out)
        read = int(m.group(1)) if m else -1
        total = read + (int(refused.group(1)) if refused else 0)
        print(f"# stix {os.path.basename(f)}: imported {read}/{total} comparisons")
        if rc != 0 or not m or m.group(1) != m.group(2):
            all_stored = False
            print(f"# {f}: rc={rc} {out} {err}")
    check("stix_every_supported_indicator_stored", all_stored)
    rc, out, _ = run(db, "intel", "list", "--json", "--feed", "apt1.json")
    apt1 = jlines(out)
    check("stix_apt1_cidr_ranges", any(d["type"] == "ip" and "/" in d["value"] for d in apt1),
          [d["value"] for d in apt1])
    check("stix_apt1_actor_and_tool", any(d.get("actor") for d in apt1) and any(d.get("malware") for d in apt1))
    rc, out, _ = run(db, "intel", "list", "--json", "--feed", "poisonivy.json")
    pivy = jlines(out)
    check("stix_poisonivy_long_or_chains", len(pivy) >= 40, len(pivy))
    check("stix_poisonivy_campaign_and_malware",
          any(d.get("campaign") == "menuPass" for d in pivy) and all("PIVY" in (d.get("malware") or "PIVY") for d in pivy))

    # ---------------------------------------------------------------- MISP
    mdb = os.path.join(tmp, "misp.db")
    ev = os.path.join(CORPORA, "intel", "misp", "57c4445b-c548-4654-af0b-4be3950d210f.json")
    rc, out, err = run(mdb, "intel", "import", "--no-hunt", ev)
    check("misp_import", rc == 0 and "4 stored" in out and "4 not for detection" in out, out + err)
    rc, out, _ = run(mdb, "intel", "list", "--json")
    types = sorted(d["type"] for d in jlines(out))
    check("misp_to_ids_types", len(types) == 4 and all(t in ("ip", "domain", "url", "md5", "sha1", "sha256", "filename",
                                                             "email") for t in types), types)

    # ---------------------------------------------------------------- retro-hunt and live
    # the demo day is fixed (2026-11-20): the retro-hunt window must reach it whenever this runs
    wide = os.path.join(tmp, "wide.yaml")
    with open(wide, "w") as fh:
        fh.write("intel:\n  retro_hunt_days: 36500\n")
    rdb = os.path.join(tmp, "retro.db")
    rc, out, err = run(rdb, "ingest", DEMO)
    check("retro_ingest_demo", rc == 0, err[-300:])
    rc, out, err = run(rdb, "intel", "add", "ip", "185.220.101.45", "--actor", "TA542", "--malware", "Emotet",
                       "--confidence", "90", "--feed", "sakura-csirt", "--action", "isolate the PC", cfg=wide)
    m = re.search(r"(\d+) retrospective sightings", out)
    check("retro_add_hunts", rc == 0 and m and int(m.group(1)) >= 1, out + err)
    rc, out, _ = run(rdb, "alerts", "--json", "--limit", "0")
    retro = [a for a in jlines(out) if a.get("threat", {}).get("retrospective")]
    check("retro_alerts_stored", len(retro) == int(m.group(1)) if m else False, f"{len(retro)} alerts")
    ok = bool(retro) and all(a["threat"]["actor"] == "TA542" and a["threat"]["malware"] == "Emotet" and
                             a["threat"]["indicator"]["provider"] == ["sakura-csirt"] and
                             a["threat"]["indicator"]["confidence"] == 90 and
                             a["threat"]["action"] == "isolate the PC" and
                             a["@timestamp"].startswith("2026-11-20") for a in retro)
    check("retro_alerts_carry_5w1h_and_event_time", ok, retro[:1])
    rc, out, err = run(rdb, "intel", "add", "ip", "185.220.101.45", "--feed", "another-feed", cfg=wide)
    check("retro_not_repeated_for_a_known_value", rc == 0 and "retrospective" not in out, out)
    rc, out, err = run(rdb, "hunt", "--indicator", "185.220.101.45", "--since", "36500d", "--json")
    hunted = jlines(out)
    check("hunt_indicator_finds_same_events", rc == 0 and
          sorted(h["alert"]["event_id"] for h in hunted) == sorted(a["alert"]["event_id"] for a in retro),
          f"{len(hunted)} vs {len(retro)}: {err[-200:]}")
    rc, out, err = run(rdb, "hunt", "--indicator", "never-seen.example", "--since", "36500d")
    check("hunt_nothing_reads_no_block", rc == 0 and "0 sightings" in out and re.search(r"\b0 of \d+ blocks", out),
          out + err)
    # live: indicators first, then the events
    ldb = os.path.join(tmp, "live.db")
    run(ldb, "intel", "add", "ip", "185.220.101.45", "--actor", "TA542", "--malware", "Emotet", "--confidence", "90",
        "--feed", "sakura-csirt", "--action", "isolate the PC")
    rc, out, err = run(ldb, "ingest", DEMO)
    rc, out, _ = run(ldb, "alerts", "--json", "--limit", "0")
    live = [a for a in jlines(out) if "threat" in a]
    # event ids differ between stores (several workers write): compare time and evidence
    def key(a):
        return (a["@timestamp"], json.dumps(a.get("evidence", {}), sort_keys=True), a["threat"]["matched"]["atomic"])
    check("live_alerts_equal_retrospective", sorted(map(key, live)) == sorted(map(key, retro))
          and not any(a["threat"].get("retrospective") for a in live),
          f"{len(live)} live vs {len(retro)} retro")
    check("live_reason_names_5w1h", all("actor TA542" in a["alert"]["reason"] and "confidence 90" in a["alert"]["reason"]
                                         for a in live), live[:1])
    # expiry and warning lists
    rc, out, _ = run(ldb, "intel", "expire", "185.220.101.45")
    check("expire_reports_rows", rc == 0 and "1 indicator expired" in out, out)
    edb = os.path.join(tmp, "expired.db")
    shutil.copy(ldb, edb)
    rc, out, _ = run(edb, "ingest", DEMO)
    rc, out, _ = run(edb, "alerts", "--json", "--limit", "0")
    check("expired_stops_matching", len([a for a in jlines(out) if "threat" in a]) == len(live), "new alerts after expiry")
    rc, out, _ = run(ldb, "intel", "stats", "--json")
    st = json.loads(out)
    check("stats_counts_expired", st["inactive"] == 1 and st["active"] == 0, st)
    wdb = os.path.join(tmp, "warn.db")
    run(wdb, "intel", "add", "ip", "185.220.101.0/24", "--feed", "sloppy")
    run(wdb, "intel", "add", "ip", "185.220.101.45", "--warning", "--feed", "known-good")
    rc, out, _ = run(wdb, "ingest", DEMO)
    rc, out, _ = run(wdb, "alerts", "--json", "--limit", "0")
    check("warning_list_suppresses", not [a for a in jlines(out) if "threat" in a], "alerts despite the warning list")
    rc, out, _ = run(wdb, "status", "--json")
    check("warning_list_counted", '"indicator_suppressed"' in out and not re.search(r'"indicator_suppressed":\s*0\b', out),
          out[:300])

    # ---------------------------------------------------------------- feeds over HTTP
    env = dict(os.environ, MM_CORPORA=CORPORA)
    srv = subprocess.Popen([sys.executable, os.path.join(HERE, "intel_server.py"), "--serve", "--user", "alice",
                            "--password", "pw-7734"], stdout=subprocess.PIPE, env=env)
    ready, _, _ = select.select([srv.stdout], [], [], 20)
    m = re.match(rb"PORT (\d+)", srv.stdout.readline()) if ready else None
    check("intel_server_starts", bool(m))
    port = int(m.group(1)) if m else 0
    pw = os.path.join(tmp, "pw")
    with open(pw, "w") as fh:
        fh.write("pw-7734\n")
    tdb = os.path.join(tmp, "taxii.db")
    rc, out, err = run(tdb, "intel", "import", "--format", "taxii", "--user", "alice", "--password-file", pw,
                       "--feed", "taxii-all", "--collection", "all", "--no-hunt", f"http://127.0.0.1:{port}/taxii2/")
    check("taxii_pull_through_cli", rc == 0 and "stored" in out, out + err)
    check("taxii_no_secret_in_output", "pw-7734" not in out + err)
    rc, out, _ = run(tdb, "intel", "list", "--json", "--limit", "0")
    taxii_vals = {(d["type"], d["value"]) for d in jlines(out)}
    rc, out, _ = run(db, "intel", "list", "--json", "--limit", "0")
    local_vals = {(d["type"], d["value"]) for d in jlines(out)}
    check("taxii_equals_local_files", taxii_vals == local_vals,
          f"only taxii {sorted(taxii_vals - local_vals)[:5]} only local {sorted(local_vals - taxii_vals)[:5]}")
    rc, out, err = run(tdb, "intel", "import", "--format", "taxii", "--user", "alice", "--no-hunt",
                       f"http://127.0.0.1:{port}/taxii2/")
    check("taxii_bad_auth_is_an_error", rc != 0 and ("401" in err or "auth" in err.lower()), err[-300:])

    # configured feeds: a conditional HTTP list, a MISP feed and a local CSV
    csvp = os.path.join(tmp, "local.csv")
    with open(csvp, "w") as fh:
        fh.write("indicator,type,description\n91.92.109.0/24,ip-dst,bulletproof hosting\nbad row here,,\n")
    cfg = os.path.join(tmp, "mamori.yaml")
    with open(cfg, "w") as fh:
        fh.write(f"""store:
  path: {os.path.join(tmp, "feeds.db")}
intel:
  retro_hunt_days: 36500
  feeds:
    - name: static-list
      type: list
      url: http://127.0.0.1:{port}/static/feed.txt
      user: alice
      password_file: {pw}
      interval: 1h
      confidence: 60
    - name: misp-circl
      type: misp-feed
      url: http://127.0.0.1:{port}/misp/
      user: alice
      password_file: {pw}
    - name: local-csv
      type: csv
      path: {csvp}
      ttl: 7d
      actor: TA505
    - name: down
      type: stix
      url: http://127.0.0.1:{port}/status/503
      timeout: 5
""")
    fdb = os.path.join(tmp, "feeds.db")
    rc, out, err = run(fdb, "config", "check", cfg)
    check("feeds_config_valid", rc == 0, err)
    rc, out, err = run(fdb, "ingest", DEMO, cfg=cfg)
    rc, out, err = run(fdb, "intel", "refresh", cfg=cfg)
    check("refresh_reads_feeds", "static-list: 2 records read, 2 stored" in out and "local-csv:" in out
          and "misp-circl:" in out, out + err)
    check("refresh_failing_feed_reported", rc != 0 and "down" in err and "stay" in err, err[-300:])
    check("refresh_retro_hunts", "retrospective sightings" in out, out)
    rc, out, err = run(fdb, "intel", "refresh", "static-list", cfg=cfg)
    check("refresh_not_due", "not due" in out, out + err)
    rc, out, err = run(fdb, "intel", "refresh", "--force", "static-list", cfg=cfg)
    check("refresh_conditional_304", "not modified" in out, out + err)
    rc, out, _ = run(fdb, "intel", "stats", "--json", cfg=cfg)
    st = json.loads(out)
    feeds = {f["name"]: f for f in st["feeds"]}
    check("feed_state_kept", feeds.get("static-list", {}).get("last_count") == 2 and "last_refresh" in feeds["static-list"]
          and feeds.get("local-csv", {}).get("last_count") == 1 and "last_error" in feeds.get("down", {}), feeds)
    rc, out, _ = run(fdb, "intel", "show", "91.92.109.7/24", "--json", cfg=cfg)
    shown = jlines(out)
    check("csv_feed_columns_and_overrides", len(shown) == 1 and shown[0]["actor"] == "TA505" and
          shown[0]["description"] == "bulletproof hosting" and "valid_until" in shown[0], shown)

    # ---------------------------------------------------------------- bad input
    bad = os.path.join(tmp, "bad.json")
    with open(bad, "w") as fh:
        fh.write('{"type": "bundle", "objects": [ {"type": "indicator", "pattern": ')
    rc, out, err = run(db, "intel", "import", "--format", "stix", bad)
    check("garbage_json_is_an_error", rc != 0 and "bad.json" in err + out, err)
    rc, out, err = run(db, "intel", "add", "ip", "10.0.0.0/33")
    check("bad_value_refused", rc != 0 and "10.0.0.0/33" in err, err)
    rc, out, err = run(db, "intel", "add", "nonsense", "x")
    check("unknown_type_is_usage_error", rc == 2, err)
finally:
    if srv:
        srv.kill()
        srv.wait()
    shutil.rmtree(tmp, ignore_errors=True)
sys.exit(1 if failed else 0)
