"""The feed clients over HTTP (src/intel/fetch.c, taxii.c, misp_feed.c) against
tests/it/intel_server.py, through the driver tests/tools/intel_pull.c:

- TAXII 2.1: every collection pulled through discovery, API root and collection
  URLs gives the records of its STIX file read locally; paging (limit=2) gives the
  same values as one page; added_after returns only newer objects and the cursor
  is the page's X-TAXII-Date-Added-Last; max_pages and a stopping callback stop;
- failures are clear errors, bounded in time, never crashes: wrong credentials
  (401, no secret in the message), a slow server (timeout), garbage on page 2 (the
  records of page 1 stay delivered), a broken envelope, a `next` loop, a missing or
  unreadable collection;
- retries: 503 twice then fine succeeds (attempts counted), retries exhausted
  fails, 404 fails at once, 429 honours Retry-After; ETag / Last-Modified give 304
  with no body; the body cap; redirects keep credentials on the same host only;
- MISP feeds: the records equal mm_misp_read on the same files; since_ts; an
  event that is missing is counted and the others are read.

Prints PASS/FAIL lines.  Environment: MM_INTEL_PULL (default build/tools/intel_pull),
MM_CORPORA.
"""
import collections
import json
import os
import re
import select
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
DRIVER = os.environ.get("MM_INTEL_PULL", os.path.join(ROOT, "build", "tools", "intel_pull"))
CORPORA = os.environ.get("MM_CORPORA", os.path.join(ROOT, "..", "shared", "corpora"))
sys.path.insert(0, HERE)
import intel_server  # noqa: E402  (the same data the server serves)

USER, PASSWORD = "alice", "s3cr3t-pw-9f2"
failed = 0
sanitizer_reports = []   # a driver built with ASan/UBSan reports here


def check(name, ok, why=""):
    global failed
    if ok:
        print(f"PASS {name}")
    else:
        failed += 1
        print(f"FAIL {name}: {why}")


# the driver talks to 127.0.0.1 directly, whatever proxy the environment names
ENV = {k: v for k, v in os.environ.items() if k.lower() not in ("http_proxy", "https_proxy", "all_proxy")}
ENV["no_proxy"] = ENV["NO_PROXY"] = "127.0.0.1,localhost"


class Run:
    def __init__(self, args, timeout=60):
        t0 = time.monotonic()
        try:
            p = subprocess.run([DRIVER, *args], capture_output=True, timeout=timeout, env=ENV)
            self.rc, out, err = p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")
        except subprocess.TimeoutExpired:
            self.rc, out, err = -999, "", f"driver did not finish in {timeout} s"
        self.elapsed = time.monotonic() - t0
        self.out, self.err = out, err
        if re.search(r"ERROR: (Address|Leak)Sanitizer|runtime error:", err):
            sanitizer_reports.append(f"{args[:2]}: {err[-400:]}")
        lines = out.splitlines()
        self.stats = {}
        self.fetch = {}
        self.records = []
        self.body = ""
        for i, ln in enumerate(lines):
            if ln.startswith("stats "):
                self.stats = dict(kv.split("=", 1) for kv in ln[6:].split() if "=" in kv)
            elif ln.startswith("fetch "):
                self.fetch = dict(kv.split("=", 1) for kv in ln[6:].split(" ") if "=" in kv)
                self.body = "\n".join(lines[i + 1:])
                break
            elif "\t" in ln:
                self.records.append(tuple(ln.split("\t")))
        m = re.search(r"^error: (.*)$", err, re.M)
        self.error = m.group(1) if m else ""

    def values(self):
        return collections.Counter((r[0], r[1]) for r in self.records)

    def full(self):   # every column but the feed name
        return collections.Counter((r[0], r[1]) + r[3:] for r in self.records)

    def why(self):
        return f"rc={self.rc} {self.elapsed:.1f}s error={self.error!r} stats={self.stats} fetch={self.fetch} {self.err[-300:]!r}"


def st(r, k):
    return int(r.stats.get(k, "-1"))


if not os.access(DRIVER, os.X_OK):
    check("intel_pull_driver_present", False,
          f"{DRIVER} is missing: build it (make build/tools/intel_pull) or set MM_INTEL_PULL")
    sys.exit(1)
if not os.path.isdir(os.path.join(CORPORA, "intel", "stix")):
    check("intel_corpus_present", False, f"no {CORPORA}/intel/stix")
    sys.exit(1)

srv = subprocess.Popen([sys.executable, os.path.join(HERE, "intel_server.py"), "--serve", "--user", USER,
                        "--password", PASSWORD, "--slow-s", "4"], stdout=subprocess.PIPE, env=ENV)
port = None
ready, _, _ = select.select([srv.stdout], [], [], 20)
if ready:
    m = re.match(rb"PORT (\d+)", srv.stdout.readline())
    port = int(m.group(1)) if m else None
if not port:
    srv.kill()
    check("intel_server_starts", False, "no PORT line in 20 s")
    sys.exit(1)

BASE = f"http://127.0.0.1:{port}"
AUTH = ["--user", USER, "--password", PASSWORD]
cols, events = intel_server.load_data(CORPORA)
stix_cols = [c for c in cols if c["file"]]
allcol = next(c for c in cols if c["title"] == "all")
wo = next(c for c in cols if c["title"] == "write-only")


def hits():
    req = urllib.request.Request(BASE + "/_hits")
    with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(req, timeout=10) as r:
        return json.loads(r.read())


def taxii(url, *args, **kw):
    return Run(["taxii", url, *AUTH, "--retries", "0", "--timeout", "20", *args], **kw)


def fetch(url, *args, auth=True, **kw):
    return Run(["fetch", url, *(AUTH if auth else []), "--timeout", "20", *args], **kw)


try:
    # ---------------------------------------------------------------- TAXII: content
    local = {c["title"]: Run(["stix", c["file"]]) for c in stix_cols}
    want_total = sum(len(r.records) for r in local.values())
    whole = taxii(BASE + "/taxii2/")
    check("taxii_discovery_pulls_every_readable_collection",
          whole.rc == 0 and len(whole.records) == 2 * want_total and st(whole, "collections") == len(stix_cols) + 1
          and st(whole, "stix_objects") == 2 * len(allcol["objects"]) and whole.stats.get("added_last") == allcol["objects"][-1][0],
          f"records {len(whole.records)} want {2 * want_total}; " + whole.why())
    print(f"# TAXII: {len(stix_cols) + 1} collections, {len(allcol['objects'])} STIX objects per copy, "
          f"{want_total} records per copy, pages {whole.stats.get('pages')}")
    h = hits()
    check("taxii_write_only_collection_never_read", not any(f"/collections/{wo['id']}/objects" in k for k in h),
          [k for k in h if wo["id"] in k])

    for c in stix_cols:
        one = taxii(BASE + "/taxii2/", "--collection", c["title"])
        paged = taxii(BASE + "/taxii2/", "--collection", c["id"], "--limit", "2")
        n = len(c["objects"])
        check(f"taxii_{c['title']}_equals_local_read", one.rc == 0 and one.full() == local[c["title"]].full()
              and st(one, "pages") == 1 and st(one, "stix_objects") == n,
              f"{len(one.records)} vs {len(local[c['title']].records)} local; " + one.why())
        check(f"taxii_{c['title']}_paged_by_2_same_values", paged.rc == 0 and paged.values() == one.values()
              and st(paged, "pages") == (n + 1) // 2 and st(paged, "stix_objects") == n, paged.why())

    allp = taxii(BASE + "/taxii2/", "--limit", "2")
    check("taxii_all_collections_paged_same_values", allp.rc == 0 and allp.values() == whole.values(), allp.why())

    # the three URL shapes (and the objects URL) reach the same collection
    ref = taxii(BASE + "/taxii2/", "--collection", "all")
    for name, url in (("api_root", BASE + "/api1/"), ("api_root_no_slash", BASE + "/api1"),
                      ("collection_url", f"{BASE}/api1/collections/{allcol['id']}/"),
                      ("objects_url", f"{BASE}/api1/collections/{allcol['id']}/objects/")):
        r = taxii(url, *(["--collection", "all"] if name.startswith("api_root") else []))
        check(f"taxii_url_shape_{name}", r.rc == 0 and r.values() == ref.values() and st(r, "collections") == 1, r.why())
    r = taxii(BASE + "/multiroot/taxii2/", "--collection", "all")
    check("taxii_discovery_without_default_named_collection", r.rc == 0 and r.values() == ref.values(), r.why())
    r = taxii(BASE + "/multiroot/taxii2/")
    check("taxii_discovery_without_default_every_root", r.rc == 0 and r.values() == whole.values(), r.why())
    r = taxii(BASE + "/multiroot/taxii2/", "--collection", "nope")
    check("taxii_discovery_without_default_missing_collection", r.rc == 1 and "no collection" in r.error, r.why())
    r = taxii(BASE + "/api1/collections/")
    check("taxii_url_shape_collections_list", r.rc == 0 and r.values() == whole.values(), r.why())

    # ---------------------------------------------------------------- TAXII: cursor
    first = taxii(BASE + "/taxii2/", "--collection", "all", "--limit", "10", "--max-pages", "1")
    cur = first.stats.get("added_last", "")
    check("taxii_max_pages_cursor_is_last_page", first.rc == 0 and st(first, "pages") == 1
          and cur == allcol["objects"][9][0], f"cursor {cur!r} want {allcol['objects'][9][0]}; " + first.why())
    rest = taxii(BASE + "/taxii2/", "--collection", "all", "--added-after", cur, "--limit", "50")
    check("taxii_added_after_only_newer", rest.rc == 0 and st(rest, "stix_objects") == len(allcol["objects"]) - 10
          and first.values() + rest.values() == ref.values() and rest.stats.get("added_last") == allcol["objects"][-1][0],
          rest.why())
    none = taxii(BASE + "/taxii2/", "--collection", "all", "--added-after", allcol["objects"][-1][0])
    check("taxii_added_after_newest_gives_nothing", none.rc == 0 and not none.records and st(none, "stix_objects") == 0
          and none.stats.get("added_last") == allcol["objects"][-1][0], none.why())
    nonext = taxii(BASE + "/nonext/taxii2/", "--collection", "all", "--limit", "7")
    check("taxii_paging_without_next_by_added_after", nonext.rc == 0 and nonext.values() == ref.values()
          and st(nonext, "pages") == -(-len(allcol["objects"]) // 7), nonext.why())
    stop = taxii(BASE + "/taxii2/", "--collection", "all", "--limit", "2", "--stop-after", "3")
    check("taxii_callback_stop_stops_fetching", stop.rc == 0 and len(stop.records) == 3 and 0 < st(stop, "pages") < 20,
          stop.why())
    # the cursor stays before the page the callback stopped in
    pg = st(stop, "pages")
    check("taxii_callback_stop_cursor", pg > 1 and stop.stats.get("added_last") == allcol["objects"][2 * (pg - 1) - 1][0],
          stop.why())

    # ---------------------------------------------------------------- TAXII: failures
    bad = Run(["taxii", BASE + "/taxii2/", "--user", USER, "--password", "wrong-pass-77", "--retries", "3"])
    check("taxii_wrong_password_clear_error", bad.rc == 1 and "401" in bad.error and "/taxii2/" in bad.error
          and "attempt)" in bad.error and "wrong-pass-77" not in bad.out + bad.err, bad.why())
    anon = Run(["taxii", BASE + "/taxii2/"])
    check("taxii_no_credentials_401", anon.rc == 1 and "401" in anon.error, anon.why())
    inurl = Run(["taxii", f"http://{USER}:{PASSWORD}@127.0.0.1:{port}/taxii2/", "--collection", "all"])
    check("taxii_credentials_in_url", inurl.rc == 0 and inurl.values() == ref.values(), inurl.why())
    inurl_bad = Run(["taxii", f"http://{USER}:wrong-pass-88@127.0.0.1:{port}/taxii2/"])
    check("taxii_credentials_in_url_not_in_error", inurl_bad.rc == 1 and "401" in inurl_bad.error
          and "wrong-pass-88" not in inurl_bad.out + inurl_bad.err and f"{USER}:" not in inurl_bad.err, inurl_bad.why())
    slow = taxii(BASE + "/slow/taxii2/", "--timeout", "1", "--retries", "1", "--backoff-ms", "50")
    check("taxii_slow_server_times_out", slow.rc == 1 and "timed out" in slow.error
          and "(2 attempts)" in slow.error and slow.elapsed < 10, slow.why())
    garb = taxii(BASE + "/garbage/taxii2/", "--collection", "all", "--limit", "2")
    check("taxii_garbage_page_is_clear_error", garb.rc == 1 and "not JSON" in garb.error and "/objects/?" in garb.error
          and "next=" in garb.error, garb.why())
    check("taxii_garbage_keeps_earlier_pages", len(garb.records) > 0 and st(garb, "pages") == 1
          and garb.stats.get("added_last") == allcol["objects"][1][0], garb.why())
    garb_all = taxii(BASE + "/garbage-all/taxii2/")
    check("taxii_garbage_discovery_is_clear_error", garb_all.rc == 1 and "not JSON" in garb_all.error
          and "/garbage-all/taxii2/" in garb_all.error and "starting" in garb_all.error, garb_all.why())
    benv = taxii(BASE + "/badenvelope/taxii2/", "--collection", "all")
    check("taxii_bad_envelope_is_clear_error", benv.rc == 1 and "not a TAXII envelope" in benv.error and not benv.records,
          benv.why())
    loop = taxii(BASE + "/loop/taxii2/", "--collection", "all", "--limit", "5", timeout=30)
    check("taxii_next_loop_is_stopped", loop.rc == 1 and "loop" in loop.error and st(loop, "pages") <= 3, loop.why())
    nocol = taxii(BASE + "/taxii2/", "--collection", "no-such-collection")
    check("taxii_unknown_collection_named", nocol.rc == 1 and "no-such-collection" in nocol.error and "poisonivy" in nocol.error,
          nocol.why())
    wor = taxii(BASE + "/taxii2/", "--collection", "write-only")
    check("taxii_unreadable_collection_refused", wor.rc == 1 and "cannot be read" in wor.error, wor.why())
    refused = Run(["taxii", "http://127.0.0.1:1/taxii2/", "--retries", "1", "--backoff-ms", "10", "--timeout", "5"])
    check("taxii_connection_refused", refused.rc == 1 and "(2 attempts)" in refused.error and refused.elapsed < 10,
          refused.why())
    flaky = taxii(BASE + "/flaky-t1/taxii2/", "--collection", "all", "--limit", "100", "--retries", "3", "--backoff-ms", "20")
    h = hits()
    fk = [k for k in h if k.startswith("/flaky-t1/")]
    check("taxii_flaky_server_retried", flaky.rc == 0 and flaky.values() == ref.values()
          and fk and all(h[k] == 3 for k in fk), flaky.why() + f" hits {[(k, h[k]) for k in fk]}")

    # ---------------------------------------------------------------- fetch
    f1 = fetch(BASE + "/static/feed.txt")
    check("fetch_200_with_validators", f1.rc == 0 and f1.fetch.get("status") == "200" and f1.fetch.get("etag") == '"v1-feed"'
          and f1.fetch.get("last_modified", "").startswith("Mon,") and "evil.example" in f1.body
          and f1.fetch.get("content_type") == "text/plain", f1.why())
    f2 = fetch(BASE + "/static/feed.txt", "--etag", '"v1-feed"')
    check("fetch_etag_304_no_body", f2.rc == 0 and f2.fetch.get("status") == "304" and f2.fetch.get("body") == "null"
          and f2.fetch.get("len") == "0", f2.why())
    f3 = fetch(BASE + "/static/feed.txt", "--last-modified", "Mon, 01 Jan 2024 00:00:00 GMT")
    check("fetch_if_modified_since_304", f3.rc == 0 and f3.fetch.get("status") == "304" and f3.fetch.get("body") == "null",
          f3.why())
    f4 = fetch(BASE + "/static/feed.txt", "--etag", '"v0-old"')
    check("fetch_stale_etag_200", f4.rc == 0 and f4.fetch.get("status") == "200", f4.why())
    f5 = fetch(BASE + "/flaky-f1/static/feed.txt", "--retries", "3", "--backoff-ms", "20")
    check("fetch_503_twice_then_ok", f5.rc == 0 and f5.fetch.get("status") == "200" and f5.fetch.get("attempts") == "3",
          f5.why())
    f6 = fetch(BASE + "/flaky-f2/static/feed.txt", "--retries", "1", "--backoff-ms", "20")
    check("fetch_retries_exhausted", f6.rc == 1 and "503" in f6.error and "(2 attempts)" in f6.error, f6.why())
    f7 = fetch(BASE + "/status/404", "--retries", "3", "--backoff-ms", "3000")
    check("fetch_404_fails_at_once", f7.rc == 1 and "404" in f7.error and f7.fetch.get("attempts") == "1" and f7.elapsed < 2.5,
          f7.why())
    f8 = fetch(BASE + "/status/500", "--retries", "2", "--backoff-ms", "20")
    check("fetch_500_retried", f8.rc == 1 and f8.fetch.get("attempts") == "3" and "HTTP 500" in f8.error, f8.why())
    f9 = fetch(BASE + "/ratelimit-f1/static/feed.txt", "--retries", "2", "--backoff-ms", "10")
    check("fetch_429_honours_retry_after", f9.rc == 0 and f9.fetch.get("attempts") == "2" and f9.elapsed >= 0.9, f9.why())
    f10 = fetch(BASE + "/big", "--max-bytes", "1000")
    check("fetch_body_cap", f10.rc == 1 and "larger than 1000 bytes" in f10.error and f10.fetch.get("attempts") == "1",
          f10.why())
    f11 = fetch(BASE + "/big")
    check("fetch_big_body_whole", f11.rc == 0 and f11.fetch.get("len") == str(2 << 20), f11.why())
    key = ["--api-key-header", "X-Api-Key: key-0123456789"]
    f12 = fetch(BASE + "/redirect-cross/echo-auth", *key)
    body = json.loads(f12.body or "{}") if f12.rc == 0 else {}
    check("fetch_cross_host_redirect_drops_credentials", f12.rc == 0 and body == {"authorization": False, "x_api_key": False},
          f12.why() + f" body {f12.body[:200]!r}")
    f13 = fetch(BASE + "/redirect-same/echo-auth", *key)
    body = json.loads(f13.body or "{}") if f13.rc == 0 else {}
    check("fetch_same_host_redirect_keeps_credentials", f13.rc == 0 and body == {"authorization": True, "x_api_key": True},
          f13.why() + f" body {f13.body[:200]!r}")
    f14 = fetch(BASE + "/redirect-loop", "--retries", "2")
    check("fetch_redirect_limit", f14.rc == 1 and "redirects" in f14.error and f14.fetch.get("attempts") == "1", f14.why())
    f15 = fetch("file:///etc/passwd")
    check("fetch_refuses_other_schemes", f15.rc == 1 and "only http" in f15.error, f15.why())
    f16 = fetch(BASE + "/static/feed.txt", "--api-key-header", "X-Api-Key: a\r\nX-Evil: 1")
    check("fetch_refuses_header_injection", f16.rc == 1 and "API key header" in f16.error and "X-Evil" not in f16.error,
          f16.why())
    f17 = fetch(f"http://{USER}:wrong-pass-99@127.0.0.1:{port}/static/feed.txt", auth=False)
    check("fetch_error_without_url_credentials", f17.rc == 1 and "401" in f17.error and "wrong-pass-99" not in f17.out + f17.err
          and f"127.0.0.1:{port}/static/feed.txt" in f17.error and "@" not in f17.error, f17.why())

    # ---------------------------------------------------------------- MISP feed
    mlocal = {u: Run(["misp", f]) for u, _, f in events}
    mwant = sum((r.values() for r in mlocal.values()), collections.Counter())
    m1 = Run(["misp-feed", BASE + "/misp/", *AUTH])
    check("misp_feed_equals_local_reads", m1.rc == 0 and m1.values() == mwant and sum(mwant.values()) > 50
          and st(m1, "objects") == sum(st(r, "objects") for r in mlocal.values())
          and m1.stats.get("newest") == str(events[-1][1]), f"{sum(m1.values().values())} vs {sum(mwant.values())}; " + m1.why())
    print(f"# MISP feed: {len(events)} events, {sum(mwant.values())} records")
    k = len(events) // 2
    since = events[k][1]
    m2 = Run(["misp-feed", BASE + "/misp/manifest.json", *AUTH, "--since", str(since)])
    want2 = sum((mlocal[u].values() for u, t, _ in events if t > since), collections.Counter())
    check("misp_feed_since_only_newer", m2.rc == 0 and m2.values() == want2 and m2.stats.get("newest") == str(events[-1][1]),
          m2.why())
    m3 = Run(["misp-feed", BASE + "/misp/", *AUTH, "--since", str(events[-1][1])])
    check("misp_feed_nothing_new", m3.rc == 0 and not m3.records and m3.stats.get("newest") == str(events[-1][1]), m3.why())
    m4 = Run(["misp-feed", BASE + "/misp-missing/", *AUTH, "--retries", "0"])
    check("misp_feed_missing_event_counted_rest_read", m4.rc == 0 and m4.values() == mwant and st(m4, "malformed") == 1
          and "404" in m4.err and m4.stats.get("newest") == str(intel_server.MISP_TS0 + 49), m4.why())
    m5 = Run(["misp-feed", BASE + "/misp/", "--user", USER, "--password", "nope-nope"])
    check("misp_feed_auth_error", m5.rc == 1 and "401" in m5.error and "manifest.json" in m5.error
          and "nope-nope" not in m5.err, m5.why())
    m6 = Run(["misp-feed", BASE + "/garbage-all/misp/", *AUTH])
    check("misp_feed_garbage_manifest", m6.rc == 1 and "manifest" in m6.error and "not JSON" in m6.error, m6.why())
    check("no_sanitizer_reports", not sanitizer_reports, "; ".join(sanitizer_reports)[:2000])
finally:
    srv.terminate()
    try:
        srv.wait(timeout=10)
    except subprocess.TimeoutExpired:
        srv.kill()

sys.exit(1 if failed else 0)
