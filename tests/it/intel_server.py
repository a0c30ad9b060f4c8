"""A small TAXII 2.1 / MISP feed / plain HTTP server for the feed-client tests
(tests/it/intel_fetch.py).  Python 3 standard library only.

    python3 tests/it/intel_server.py --serve [--user U --password P] [--port-file F]

binds 127.0.0.1 on a free port and prints "PORT <n>" (and writes it to F).  Run
without --serve (as tests/run.sh does with every tests/it/*.py) it starts itself
on a thread, checks a few of its own answers and prints PASS/FAIL lines.

What it serves (every path needs basic auth when --user is given, except
/echo-auth and /_hits):
  /taxii2/                              discovery: default + api_roots -> /api1/
  /api1/                                API root information
  /api1/collections/                    one collection per STIX file of
                                        $MM_CORPORA/intel/stix (+ threat-reports/),
                                        one "all" collection with every object, and a
                                        "write-only" one (can_read false, 403 on read)
  /api1/collections/<id>/objects/       envelope {"more","next","objects"}; each object
                                        has a date_added (one second apart, plus ms);
                                        added_after (exclusive), limit (max 1000), next;
                                        X-TAXII-Date-Added-First/Last headers.  TAXII
                                        endpoints answer 406 without a TAXII Accept.
  /misp/manifest.json, /misp/<uuid>.json  a MISP feed built from the MISP event files
                                        of $MM_CORPORA/intel/misp (served byte for byte;
                                        manifest timestamps 1700000000 + 100*i, files by name)
  /misp-missing/...                     the same, plus one manifest entry with no file
                                        (timestamp 1700000050, between the first two)
  /static/feed.txt                      ETag "v1-feed" and Last-Modified; 304 on a match
  /big                                  2 MiB of text
  /status/<code>                        that status, with a TAXII error body
  /redirect-cross/<path>                302 to http://localhost:<port>/<path> (another host)
  /redirect-same/<path>                 302 to /<path>
  /redirect-loop                        302 to itself
  /echo-auth                            {"authorization": bool, "x_api_key": bool}
  /_hits                                request counts by path (for the tests)

Fault modes, as a first path segment before any of the above ("/flaky/taxii2/"),
with an optional "-tag" to get fresh counters ("/flaky-t1/..."):
  slow          sleeps --slow-s (3) seconds before answering
  garbage       TAXII object pages asked with `next` (page 2 on) are not JSON
  garbage-all   every answer is an HTML page served as application/taxii+json
  flaky         503 the first --flaky-n (2) times a path+query is asked, then normal
  ratelimit     429 with Retry-After: 1 the first time a path+query is asked
  nonext        object pages carry "more" but no "next" (paging by added_after)
  loop          object pages always say more with the same "next"
  badenvelope   "objects" is not a list
  multiroot     discovery without "default", api_roots /api2/ (no collections) and /api1/
"""
import base64
import datetime
import glob
import hashlib
import json
import os
import sys
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CORPORA = os.environ.get("MM_CORPORA", os.path.join(ROOT, "..", "shared", "corpora"))
TAXII = "application/taxii+json;version=2.1"
BASE_TIME = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)
MODES = ("slow", "garbage-all", "garbage", "flaky", "ratelimit", "nonext", "loop", "badenvelope", "multiroot")
MAX_LIMIT = 1000
MISP_TS0 = 1700000000


def ts(i):
    t = BASE_TIME + datetime.timedelta(seconds=i, milliseconds=i % 1000)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def parse_ts(s):
    return datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))


def load_data(corpora):
    """Collections: list of dicts {id, title, can_read, objects: [(date_added, obj)]}."""
    cols, merged = [], []
    files = sorted(glob.glob(os.path.join(corpora, "intel", "stix", "*.json")) +
                   glob.glob(os.path.join(corpora, "intel", "stix", "threat-reports", "*.json")))
    for f in files:
        with open(f, encoding="utf-8") as fh:
            doc = json.load(fh)
        objs = doc.get("objects") if isinstance(doc, dict) and doc.get("type") == "bundle" else [doc]
        title = os.path.splitext(os.path.basename(f))[0]
        cid = str(uuid.uuid5(uuid.NAMESPACE_URL, "mamori-test/" + title))
        cols.append({"id": cid, "title": title, "can_read": True, "file": f,
                     "objects": [(ts(i), o) for i, o in enumerate(objs)]})
        merged.extend(objs)
    cols.append({"id": str(uuid.uuid5(uuid.NAMESPACE_URL, "mamori-test/all")), "title": "all", "can_read": True,
                 "file": None, "objects": [(ts(i), o) for i, o in enumerate(merged)]})
    cols.append({"id": str(uuid.uuid5(uuid.NAMESPACE_URL, "mamori-test/write-only")), "title": "write-only",
                 "can_read": False, "file": None, "objects": []})

    events = []   # (uuid, ts, path)
    mfiles = sorted(glob.glob(os.path.join(corpora, "intel", "misp", "*.json")) +
                    glob.glob(os.path.join(corpora, "intel", "misp", "mispevent_testfiles", "*.json")))
    used = set()
    for f in mfiles:
        with open(f, encoding="utf-8") as fh:
            doc = json.load(fh)
        if not isinstance(doc, dict):
            continue
        ev = doc.get("Event") if isinstance(doc.get("Event"), dict) else doc
        if not ({"Attribute", "Object", "info"} & set(ev)):
            continue   # not a MISP event (a galaxy, a sighting, a search answer)
        u = ev.get("uuid")
        if not isinstance(u, str) or u in used:
            u = str(uuid.uuid5(uuid.NAMESPACE_URL, "mamori-test/misp/" + os.path.basename(f)))
        used.add(u)
        events.append((u, MISP_TS0 + 100 * len(events), f))
    return cols, events


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr, corpora, user=None, password=None, slow_s=3.0, flaky_n=2, verbose=False):
        super().__init__(addr, Handler)
        self.cols, self.events = load_data(corpora)
        self.user, self.password = user, password
        self.slow_s, self.flaky_n, self.verbose = slow_s, flaky_n, verbose
        self.lock = threading.Lock()
        self.hits = {}
        self.last_modified = "Mon, 01 Jan 2024 00:00:00 GMT"

    def handle_error(self, request, client_address):
        # a client that gave up (its timeout in the slow mode) is expected
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class Handler(BaseHTTPRequestHandler):
    server_version = "mamori-intel-test/1"
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        if self.server.verbose:
            sys.stderr.write("intel_server: " + fmt % args + "\n")

    # ---- answers
    def send(self, code, body=b"", ctype="application/json", headers=None):
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        elif isinstance(body, str):
            body = body.encode()
        self.send_response(code)
        if code != 304:
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if code != 304 and self.command != "HEAD":
            self.wfile.write(body)

    def error(self, code, title, headers=None):
        self.send(code, {"title": title, "http_status": str(code)}, TAXII, headers)

    def hit(self, key):
        with self.server.lock:
            self.server.hits[key] = self.server.hits.get(key, 0) + 1
            return self.server.hits[key]

    def authorized(self):
        if not self.server.user:
            return True
        want = base64.b64encode(f"{self.server.user}:{self.server.password}".encode()).decode()
        return self.headers.get("Authorization", "") == "Basic " + want

    def do_GET(self):
        try:
            self.route()
        except (BrokenPipeError, ConnectionResetError):
            pass

    def route(self):
        u = urllib.parse.urlsplit(self.path)
        path, q = u.path, urllib.parse.parse_qs(u.query)
        n = self.hit(self.path)
        segs = path.split("/")
        mode = ""
        if len(segs) > 2 and segs[1].split("-")[0] in MODES:
            mode = "garbage-all" if segs[1].startswith("garbage-all") else segs[1].split("-")[0]
            path = "/" + "/".join(segs[2:])
        self.mode_prefix = ("/" + segs[1]) if mode else ""

        if path == "/_hits":
            with self.server.lock:
                return self.send(200, dict(self.server.hits))
        if path == "/echo-auth":
            return self.send(200, {"authorization": "Authorization" in self.headers,
                                   "x_api_key": "X-Api-Key" in self.headers})
        if not self.authorized():
            return self.error(401, "authentication required", {"WWW-Authenticate": 'Basic realm="mamori-test"'})
        if mode == "slow":
            time.sleep(self.server.slow_s)
        if mode == "flaky" and n <= self.server.flaky_n:
            return self.error(503, "try again later")
        if mode == "ratelimit" and n == 1:
            return self.error(429, "too many requests", {"Retry-After": "1"})
        if mode == "garbage-all":
            return self.send(200, "<html><body>Service temporarily replaced by a cat</body></html>", TAXII)

        if path == "/static/feed.txt":
            etag = '"v1-feed"'
            inm = self.headers.get("If-None-Match")
            ims = self.headers.get("If-Modified-Since")
            hdrs = {"ETag": etag, "Last-Modified": self.server.last_modified}
            if (inm and etag in [t.strip() for t in inm.split(",")]) or (not inm and ims == self.server.last_modified):
                return self.send(304, headers=hdrs)
            return self.send(200, "198.51.100.7\nevil.example\n", "text/plain", hdrs)
        if path == "/big":
            return self.send(200, b"x" * (2 << 20), "text/plain")
        if path.startswith("/status/"):
            try:
                code = int(path.split("/")[2])
            except ValueError:
                code = 400
            return self.error(code, f"status {code} as asked")
        host = self.headers.get("Host", "127.0.0.1")
        port = self.server.server_address[1]
        if path.startswith("/redirect-cross/"):
            other = "localhost" if host.startswith("127.0.0.1") else "127.0.0.1"
            return self.send(302, "", "text/plain", {"Location": f"http://{other}:{port}/" + path[len("/redirect-cross/"):]})
        if path.startswith("/redirect-same/"):
            return self.send(302, "", "text/plain", {"Location": "/" + path[len("/redirect-same/"):]})
        if path == "/redirect-loop":
            return self.send(302, "", "text/plain", {"Location": self.mode_prefix + "/redirect-loop"})
        if path.startswith("/misp/") or path.startswith("/misp-missing/"):
            return self.misp(path)
        if path == "/taxii2/" or path.startswith("/api1/") or path.startswith("/api2/"):
            if "application/taxii+json" not in self.headers.get("Accept", ""):
                return self.error(406, "Accept must be application/taxii+json")
            return self.taxii(path, q, mode, host)
        return self.error(404, "no such path")

    # ---- MISP feed
    def misp(self, path):
        missing = path.startswith("/misp-missing/")
        name = path.split("/", 2)[2]
        events = list(self.server.events)
        ghost = str(uuid.uuid5(uuid.NAMESPACE_URL, "mamori-test/misp/ghost"))
        if missing:
            events.insert(1, (ghost, MISP_TS0 + 50, None))   # between the first two events
        if name == "manifest.json":
            man = {u: {"info": os.path.basename(f) if f else "ghost", "timestamp": str(t), "date": "2023-11-14",
                       "analysis": 2, "threat_level_id": 2, "Orgc": {"name": "test"}} for u, t, f in events}
            return self.send(200, man)
        for u, t, f in events:
            if name == u + ".json" and f:
                with open(f, "rb") as fh:
                    return self.send(200, fh.read())
        return self.send(404, {"message": "no such event"})

    # ---- TAXII 2.1
    def taxii(self, path, q, mode, host):
        base = f"http://{host}{self.mode_prefix}"
        if path == "/taxii2/" and mode == "multiroot":
            return self.send(200, {"title": "mamori test TAXII", "api_roots": [f"{base}/api2/", f"{base}/api1/"]}, TAXII)
        if path == "/api2/":
            return self.send(200, {"title": "empty API root", "versions": [TAXII]}, TAXII)
        if path == "/api2/collections/":
            return self.send(200, {}, TAXII)
        if path == "/taxii2/":
            return self.send(200, {"title": "mamori test TAXII", "default": f"{base}/api1/",
                                   "api_roots": [f"{base}/api1/"]}, TAXII)
        if path == "/api1/":
            return self.send(200, {"title": "test API root", "versions": [TAXII], "max_content_length": 104857600}, TAXII)
        if path == "/api1/collections/":
            return self.send(200, {"collections": [
                {"id": c["id"], "title": c["title"], "can_read": c["can_read"], "can_write": not c["can_read"],
                 "media_types": ["application/stix+json;version=2.1"]} for c in self.server.cols]}, TAXII)
        parts = path.split("/")   # ['', 'api1', 'collections', id, 'objects', '']
        col = next((c for c in self.server.cols if len(parts) > 3 and c["id"] == parts[3]), None)
        if col is None:
            return self.error(404, "no such collection")
        if len(parts) == 5 and parts[4] == "":
            return self.send(200, {"id": col["id"], "title": col["title"], "can_read": col["can_read"]}, TAXII)
        if len(parts) < 5 or parts[4] != "objects":
            return self.error(404, "no such path")
        if not col["can_read"]:
            return self.error(403, "this collection cannot be read")
        objs = col["objects"]
        if "added_after" in q:
            try:
                after = parse_ts(q["added_after"][0])
            except ValueError:
                return self.error(400, "added_after is not a timestamp")
            objs = [(d, o) for d, o in objs if parse_ts(d) > after]
        try:
            limit = max(1, min(MAX_LIMIT, int(q.get("limit", [str(MAX_LIMIT)])[0])))
        except ValueError:
            return self.error(400, "limit is not a number")
        off = 0
        if "next" in q:
            tok = q["next"][0]
            if not tok.startswith("p:") or not tok[2:].isdigit():
                return self.error(400, "bad next")
            off = int(tok[2:])
            if mode == "garbage":
                return self.send(200, "<html>502 Bad Gateway (upstream sent garbage)</html>", TAXII)
        page = objs[off: off + limit]
        more = off + limit < len(objs)
        if not page:
            return self.send(200, {}, TAXII)
        env = {"more": more, "objects": [o for _, o in page]}
        if more and mode != "nonext":
            env["next"] = "p:0" if mode == "loop" else f"p:{off + limit}"
        if mode == "loop":
            env["more"] = True
            env.setdefault("next", "p:0")
        if mode == "badenvelope":
            env["objects"] = {"not": "a list"}
        return self.send(200, env, TAXII, {"X-TAXII-Date-Added-First": page[0][0],
                                            "X-TAXII-Date-Added-Last": page[-1][0]})


def serve(args):
    import argparse
    ap = argparse.ArgumentParser()
    ap.add_argument("--serve", action="store_true")
    ap.add_argument("--user")
    ap.add_argument("--password")
    ap.add_argument("--port-file")
    ap.add_argument("--slow-s", type=float, default=3.0)
    ap.add_argument("--flaky-n", type=int, default=2)
    ap.add_argument("--corpora", default=CORPORA)
    ap.add_argument("--verbose", action="store_true")
    a = ap.parse_args(args)
    srv = Server(("127.0.0.1", 0), a.corpora, a.user, a.password, a.slow_s, a.flaky_n, a.verbose)
    port = srv.server_address[1]
    if a.port_file:
        with open(a.port_file + ".tmp", "w") as f:
            f.write(f"{port}\n")
        os.replace(a.port_file + ".tmp", a.port_file)
    print(f"PORT {port}", flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


def selftest():
    """Run by tests/run.sh: the server answers as the client tests expect."""
    import urllib.request
    import urllib.error
    if not os.path.isdir(os.path.join(CORPORA, "intel", "stix")):
        print(f"FAIL intel_server_selftest: no corpus at {CORPORA}/intel")
        return 1
    srv = Server(("127.0.0.1", 0), CORPORA, "u", "p")
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    port = srv.server_address[1]
    auth = "Basic " + base64.b64encode(b"u:p").decode()
    bad = 0

    def get(path, accept=TAXII, authz=auth):
        req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Accept": accept})
        if authz:
            req.add_header("Authorization", authz)
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, dict(r.headers), r.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()

    def check(name, ok, why=""):
        nonlocal bad
        print(f"PASS {name}" if ok else f"FAIL {name}: {why}")
        bad += 0 if ok else 1

    st, _, body = get("/taxii2/")
    check("intel_server_discovery", st == 200 and json.loads(body).get("default", "").endswith("/api1/"), f"{st} {body[:100]}")
    st, _, _ = get("/taxii2/", authz=None)
    check("intel_server_401_without_auth", st == 401, str(st))
    st, _, _ = get("/taxii2/", accept="application/json")
    check("intel_server_406_without_taxii_accept", st == 406, str(st))
    allc = next(c for c in srv.cols if c["title"] == "all")
    got, nxt, pages = [], None, 0
    while pages < 1000:
        st, h, body = get(f"/api1/collections/{allc['id']}/objects/?limit=7" + (f"&next={nxt}" if nxt else ""))
        env = json.loads(body)
        got += env.get("objects", [])
        pages += 1
        if not env.get("more"):
            break
        nxt = env["next"]
    check("intel_server_paging_complete", len(got) == len(allc["objects"]) and pages == -(-len(got) // 7),
          f"{len(got)} objects in {pages} pages, want {len(allc['objects'])}")
    mid = allc["objects"][10][0]
    st, h, body = get(f"/api1/collections/{allc['id']}/objects/?added_after={urllib.parse.quote(mid)}")
    check("intel_server_added_after_exclusive", len(json.loads(body)["objects"]) == len(allc["objects"]) - 11
          and h.get("X-TAXII-Date-Added-Last") == allc["objects"][-1][0], f"{st} {h}")
    st, h, _ = get("/static/feed.txt", accept="*/*")
    req_etag = h.get("ETag")
    req = urllib.request.Request(f"http://127.0.0.1:{port}/static/feed.txt",
                                 headers={"Authorization": auth, "If-None-Match": req_etag or ""})
    try:
        urllib.request.urlopen(req, timeout=10)
        st2 = 200
    except urllib.error.HTTPError as e:
        st2 = e.code
    check("intel_server_etag_304", st == 200 and st2 == 304, f"{st} {st2}")
    st, _, body = get("/misp/manifest.json", accept="application/json")
    check("intel_server_misp_manifest", st == 200 and len(json.loads(body)) == len(srv.events) >= 5, f"{st} {len(srv.events)}")
    srv.shutdown()
    return 1 if bad else 0


if __name__ == "__main__":
    if "--serve" in sys.argv[1:]:
        serve(sys.argv[1:])
    else:
        sys.exit(selftest())
