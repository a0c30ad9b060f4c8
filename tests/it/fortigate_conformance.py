#!/usr/bin/env python3
"""FortiGate decoder conformance against Elastic's expected documents.

For each $MM_CORPORA/logs/fortigate/*.log with a <log>-expected.json beside it, run

    build/mamori --db <tmp>/t.db ingest --format fortigate --events FILE

(--events prints every decoded event as one nested-ECS JSON object per line, with
event.original = the raw record).  Output order is not guaranteed across workers, so
events are paired with expected documents by event.original; expected document i
belongs to line i of the log, and documents without a line are skipped (see the
corpus README: test-fortinet.log-expected.json is newer than its .log).

Both sides are flattened to dotted names and every expected field is compared,
except the IGNORE list below.  A line passes when all compared fields are equal.

Prints "<file>: N/M lines pass", then "PASS <file>" / "FAIL <file>: details" per
file and one line for "every line decodes (no pipeline_error)".

Environment: MM_CORPORA (default ../shared/corpora from the repository root),
MAMORI_BIN (default build/mamori), MM_VERBOSE=1 to list every mismatch.
"""
import datetime
import glob
import json
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CORPORA = os.environ.get("MM_CORPORA") or os.path.join(ROOT, "..", "shared", "corpora")
BIN = os.environ.get("MAMORI_BIN") or os.path.join(ROOT, "build", "mamori")
VERBOSE = os.environ.get("MM_VERBOSE") == "1"

# Fields of the expected documents we deliberately do not compare:
IGNORE_EXACT = {
    "ecs.version",      # Elastic's schema version stamp, not data
    "tags",             # test-runner configuration (preserve_original_event)
    "event.original",   # the pairing key itself (equal by construction)
}
IGNORE_PREFIX = (
    "related.",         # Elastic's de-duplicated pivot lists; mamori searches the
                        # source/destination/user fields directly
)
IGNORE_RE = re.compile(
    r"^(source|destination)\.(geo|as)\."  # GeoIP/ASN enrichment from MaxMind
                                          # databases, not part of the record
)

# Fields holding instants: compared as instants at millisecond precision, the
# precision of the Elasticsearch date type the expected documents were made with
# (mamori keeps eventtime's nanoseconds).
TIME_FIELDS = {"@timestamp", "event.start", "event.end", "event.created"}


def ignored(name):
    return name in IGNORE_EXACT or name.startswith(IGNORE_PREFIX) or IGNORE_RE.match(name)


def flatten(d, prefix="", out=None):
    if out is None:
        out = {}
    for k, v in d.items():
        name = prefix + k
        if isinstance(v, dict):
            flatten(v, name + ".", out)
        else:
            out[name] = v
    return out


def parse_instant(s):
    if not isinstance(s, str):
        return None
    m = re.match(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:[.,](\d+))?(Z|[+-]\d\d:?\d\d)?$", s)
    if not m:
        return None
    base = datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S")
    frac = (m.group(2) or "0")[:9].ljust(9, "0")
    tz = m.group(3) or "Z"
    off = 0
    if tz != "Z":
        t = tz.replace(":", "")
        off = (int(t[1:3]) * 3600 + int(t[3:5]) * 60) * (-1 if t[0] == "-" else 1)
    epoch = (base - datetime.datetime(1970, 1, 1)).total_seconds() - off
    ns = int(epoch) * 1_000_000_000 + int(frac)
    return ns // 1_000_000  # milliseconds


def norm_scalar(name, v):
    """Text form used for comparison.  Vendor fields (fortinet.*) are text in mamori,
    while Elastic converts a few of them to numbers (lanin, mem, auditid...): both
    compare by their decimal text.  ECS fields keep their JSON type."""
    if name.startswith("fortinet."):
        if isinstance(v, str):
            return v
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, float) and v.is_integer():
            return str(int(v))
        return str(v)
    return json.dumps(v, sort_keys=True)


def equal(name, want, got):
    if name in TIME_FIELDS:
        a, b = parse_instant(want), parse_instant(got)
        return a is not None and a == b
    # arrays vs single values: a one-element array equals its element; multi-valued
    # fields compare as multisets (the order of event.type values carries no meaning)
    w = want if isinstance(want, list) else [want]
    g = got if isinstance(got, list) else [got]
    return sorted(norm_scalar(name, x) for x in w) == sorted(norm_scalar(name, x) for x in g)


def read_lines(path):
    with open(path, "rb") as f:
        data = f.read()
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return [ln.decode("utf-8", "surrogateescape") for ln in lines]


def strip_ctl(s):
    return re.sub(r"[\x00-\x1f\x7f]+$", "", s)


def run_ingest(log, tmp):
    cmd = [BIN, "--db", os.path.join(tmp, "t.db"), "ingest", "--format", "fortigate", "--events", log]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
    events = []
    for raw in p.stdout.split(b"\n"):
        raw = raw.strip()
        if not raw.startswith(b"{"):
            continue  # summary lines
        try:
            events.append(json.loads(raw.decode("utf-8", "surrogateescape")))
        except ValueError:
            pass
    return p.returncode, events, p.stderr.decode("utf-8", "replace")


def main():
    logs = sorted(glob.glob(os.path.join(CORPORA, "logs", "fortigate", "*.log")))
    logs = [lg for lg in logs if os.path.exists(lg + "-expected.json")]
    if not logs:
        print("FAIL fortigate_conformance: no corpus under %s" % CORPORA)
        return 1
    if not os.access(BIN, os.X_OK):
        print("FAIL fortigate_conformance: %s not built" % BIN)
        return 1
    failed = 0
    errors_total = []
    with tempfile.TemporaryDirectory() as tmp:
        for log in logs:
            name = os.path.basename(log)
            lines = read_lines(log)
            with open(log + "-expected.json", encoding="utf-8") as f:
                expected = json.load(f)["expected"]
            rc, events, err = run_ingest(log, tmp)
            by_orig = {}
            for ev in events:
                fl = flatten(ev)
                by_orig.setdefault(fl.get("event.original"), []).append(fl)
                if fl.get("event.kind") == "pipeline_error":
                    errors_total.append("%s: %s" % (name, str(fl.get("error.message"))[:80]))
            n = min(len(lines), len(expected))
            passed = 0
            problems = []
            for i in range(n):
                want = flatten(expected[i])
                orig = want.get("event.original", lines[i])
                cands = by_orig.get(orig) or by_orig.get(lines[i])
                if not cands:  # a framing difference such as a trailing NUL or CR
                    key = strip_ctl(orig)
                    for k, v in by_orig.items():
                        if isinstance(k, str) and strip_ctl(k) == key and v:
                            cands = v
                            break
                if not cands:
                    problems.append("line %d: no event" % (i + 1))
                    continue
                got = cands.pop(0)
                bad = []
                for fname, wv in sorted(want.items()):
                    if ignored(fname):
                        continue
                    if fname not in got:
                        bad.append("%s missing (want %s)" % (fname, json.dumps(wv)[:60]))
                    elif not equal(fname, wv, got[fname]):
                        bad.append("%s = %s, want %s" % (fname, json.dumps(got[fname])[:60],
                                                          json.dumps(wv)[:60]))
                if bad:
                    problems.append("line %d: %s" % (i + 1, "; ".join(bad)))
                else:
                    passed += 1
            print("%s: %d/%d lines pass" % (name, passed, n))
            if passed == n and rc == 0:
                print("PASS %s" % name)
            else:
                failed += 1
                detail = problems if VERBOSE else problems[:5]
                more = "" if VERBOSE or len(problems) <= 5 else " (+%d more)" % (len(problems) - 5)
                if rc != 0:
                    detail = ["exit status %d: %s" % (rc, err.strip()[-200:])] + detail
                print("FAIL %s: %s%s" % (name, " | ".join(detail), more))
    if errors_total:
        failed += 1
        print("FAIL every line decodes (no pipeline_error): %d errors: %s"
              % (len(errors_total), "; ".join(errors_total[:3])))
    else:
        print("PASS every line decodes (no pipeline_error)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
