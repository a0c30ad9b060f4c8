#!/usr/bin/env python3
"""Helpers for the packet-sensor integration tests (sensor_conformance.py): where the
binary and the corpora are, one `mamori ingest --pcap` run split into events, alerts
and summary, nested ECS events flattened to dotted keys, classic pcap files read and
written (to cut and corrupt them), and ground truth asked of tshark.

tests/run.sh runs every tests/it/*.py, this one too: run directly, it checks its own
helpers (pcap round trip, the rendering of raw bytes as mamori's JSON writes them,
the IRC line parser) on data it makes, so a broken helper cannot pass for a broken
sensor.

Environment: MM_CORPORA (default ../shared/corpora from the repository root),
MAMORI or MAMORI_BIN (default build/mamori), TSHARK (default tshark on PATH).
"""
import codecs
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CORPORA = os.environ.get("MM_CORPORA") or os.path.join(ROOT, "..", "shared", "corpora")
BIN = os.environ.get("MAMORI") or os.environ.get("MAMORI_BIN") or os.path.join(ROOT, "build", "mamori")
if not os.path.isabs(BIN):
    BIN = os.path.join(ROOT, BIN)
TSHARK = os.environ.get("TSHARK") or shutil.which("tshark")
VERBOSE = os.environ.get("MM_VERBOSE") == "1"


# ---------------------------------------------------------------- running mamori

class Run:
    """One `mamori ingest --pcap --no-store --events [--alerts] --json FILE`."""

    def __init__(self):
        self.rc = None
        self.events = []      # flattened (dotted keys), in output order
        self.alerts = []      # as printed (nested)
        self.summary = None   # the {"summary": {...}} object's inside
        self.stderr = ""
        self.bad_lines = []   # stdout lines that are not JSON objects
        self.seconds = 0.0


def ingest(pcap, alerts=True, timeout=120, extra=()):
    """Run the sensor over one capture.  The database path is never created
    (--no-store); it only satisfies the global option."""
    r = Run()
    with tempfile.TemporaryDirectory(prefix="mm-sensor-it-") as tmp:
        cmd = [BIN, "--db", os.path.join(tmp, "x.db"), "ingest", "--pcap", "--no-store", "--events", "--json"]
        if alerts:
            cmd.append("--alerts")
        cmd += list(extra) + [pcap]
        t0 = time.monotonic()
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
        r.seconds = time.monotonic() - t0
    r.rc = p.returncode
    r.stderr = p.stderr.decode("utf-8", "replace")
    for line in p.stdout.decode("utf-8", "replace").splitlines():
        if not line.strip():
            continue
        try:
            o = json.loads(line)
        except ValueError:
            r.bad_lines.append(line)
            continue
        if not isinstance(o, dict):
            r.bad_lines.append(line)
        elif "summary" in o and len(o) == 1:
            r.summary = o["summary"]
        elif "rule" in o and "alert" in o:
            r.alerts.append(o)
        else:
            r.events.append(flatten(o))
    return r


def flatten(d, prefix="", out=None):
    """{"dns": {"question": {"name": x}}} -> {"dns.question.name": x}; lists stay lists."""
    if out is None:
        out = {}
    for k, v in d.items():
        name = prefix + k
        if isinstance(v, dict):
            flatten(v, name + ".", out)
        else:
            out[name] = v
    return out


def values(ev, key):
    """The values of a field as a list (a scalar is a list of one, absent is [])."""
    v = ev.get(key)
    if v is None:
        return []
    return v if isinstance(v, list) else [v]


def first(ev, key, default=None):
    v = values(ev, key)
    return v[0] if v else default


def action(ev):
    return first(ev, "event.action", "") or ""


def protocol(ev):
    return first(ev, "network.protocol", "") or ""


def is_flow(ev):
    return action(ev) == "flow"


def is_file(ev):
    return "file" in values(ev, "event.category")


def app_events(events, proto):
    """Protocol transaction events: neither flow records nor file events."""
    return [e for e in events if protocol(e) == proto and not is_flow(e) and not is_file(e)]


def endpoints(ev):
    return (first(ev, "source.ip"), first(ev, "source.port"), first(ev, "destination.ip"), first(ev, "destination.port"))


def alert_text(a):
    """Everything a person reads in an alert, for keyword matching."""
    rule = a.get("rule", {})
    return " ".join(str(x) for x in (rule.get("name", ""), rule.get("id", ""), a.get("alert", {}).get("reason", "")))


def alert_ips(a):
    ev = flatten(a.get("evidence", {}) or {})
    return {str(v) for k in ("source.ip", "destination.ip", "client.ip", "server.ip", "host.ip")
            for v in values(ev, k)} | {str(v) for v in values(flatten(a), "group")}


# ---------------------------------------------------------------- mamori's JSON text

def _latin1_fallback(exc):
    # one invalid byte at a time, as mm_json_str does (it resyncs after each byte)
    return (chr(exc.object[exc.start]), exc.start + 1)


codecs.register_error("mm_latin1_fallback", _latin1_fallback)


def json_text(raw):
    """The string mamori's JSON writer gives for raw bytes: valid UTF-8 sequences as
    they are, every other byte as the Latin-1 code point of that byte."""
    return raw.decode("utf-8", "mm_latin1_fallback")


# ---------------------------------------------------------------- pcap files

PCAP_MAGICS = {b"\xd4\xc3\xb2\xa1": "<", b"\xa1\xb2\xc3\xd4": ">",
               b"\x4d\x3c\xb2\xa1": "<", b"\xa1\xb2\x3c\x4d": ">"}   # micro / nanosecond

# bytes before the IP header, by DLT (Suricata counts them in flow bytes, mamori not)
LINK_HEADER = {0: 4, 1: 14, 12: 0, 101: 0, 108: 4, 113: 16, 228: 0, 229: 0, 276: 20}


def read_pcap(path):
    """(global header bytes, byte order, linktype, [(record header bytes, data)]) of a
    classic pcap; None for pcapng or anything else.  A cut last record is dropped."""
    with open(path, "rb") as fh:
        b = fh.read()
    if len(b) < 24 or b[:4] not in PCAP_MAGICS:
        return None
    bo = PCAP_MAGICS[b[:4]]
    linktype = struct.unpack(bo + "I", b[20:24])[0] & 0x0fffffff
    recs = []
    off = 24
    while off + 16 <= len(b):
        incl = struct.unpack(bo + "I", b[off + 8:off + 12])[0]
        if off + 16 + incl > len(b):
            break
        recs.append((b[off:off + 16], b[off + 16:off + 16 + incl]))
        off += 16 + incl
    return b[:24], bo, linktype, recs


def write_pcap(path, header, records):
    with open(path, "wb") as fh:
        fh.write(header)
        for h, d in records:
            fh.write(h)
            fh.write(d)


def record_header(bo, sec, usec, incl, orig):
    return struct.pack(bo + "IIII", sec, usec, incl, orig)


def pcap_linktype(path):
    p = read_pcap(path)
    return p[2] if p else None


# ---------------------------------------------------------------- tshark

def tshark_fields(pcap, display_filter, fields, extra=()):
    """Rows of -T fields output (bytes split on tabs), or None without tshark."""
    if not TSHARK:
        return None
    cmd = [TSHARK, "-n", "-r", pcap]
    if display_filter:
        cmd += ["-Y", display_filter]
    cmd += ["-T", "fields", "-E", "separator=/t", "-E", "occurrence=f"] + list(extra)
    for f in fields:
        cmd += ["-e", f]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=120)
    rows = []
    for line in p.stdout.split(b"\n"):
        if line:
            rows.append(line.split(b"\t"))
    return rows


def tcp_streams(pcap):
    """{stream index: {"client": (ip, port), "server": (ip, port), "c2s": bytes,
    "s2c": bytes}} from tshark, payload in sequence order (retransmissions and
    overlaps skipped).  The client is the side that sent the first SYN, else the
    first sender.  None without tshark."""
    rows = tshark_fields(pcap, "tcp", ["tcp.stream", "ip.src", "ipv6.src", "tcp.srcport", "ip.dst", "ipv6.dst",
                                       "tcp.dstport", "tcp.seq", "tcp.flags.syn", "tcp.flags.ack", "tcp.payload"])
    if rows is None:
        return None
    st = {}
    for r in rows:
        r = [x.decode() for x in r] + [""] * (11 - len(r))
        sid = int(r[0])
        src = (r[1] or r[2], int(r[3]))
        dst = (r[4] or r[5], int(r[6]))
        s = st.get(sid)
        if s is None:
            syn_only = r[8] in ("1", "True") and r[9] in ("0", "False")
            synack = r[8] in ("1", "True") and r[9] in ("1", "True")
            cli, srv = (dst, src) if synack and not syn_only else (src, dst)
            s = st[sid] = {"client": cli, "server": srv, "segs": {0: [], 1: []}}
        if r[10]:
            d = 0 if src == s["client"] else 1
            s["segs"][d].append((int(r[7] or 0), bytes.fromhex(r[10].replace(":", ""))))
    for s in st.values():
        for d, name in ((0, "c2s"), (1, "s2c")):
            out = bytearray()
            nxt = None
            for seq, data in sorted(s["segs"][d], key=lambda x: x[0]):
                if nxt is not None and seq < nxt:
                    data = data[nxt - seq:]
                    seq = nxt
                out += data
                nxt = seq + len(data)
            s[name] = bytes(out)
        del s["segs"]
    return st


def dns_qname(payload, tcp=False):
    """The raw bytes of the first question's name of a DNS message, or None (no
    question, compressed or cut name)."""
    m = payload[2:] if tcp else payload
    if len(m) < 12 or struct.unpack(">H", m[4:6])[0] == 0:
        return None
    pos, labels = 12, []
    while pos < len(m):
        n = m[pos]
        if n == 0:
            return b".".join(labels)
        if n & 0xc0:
            return None
        labels.append(m[pos + 1:pos + 1 + n])
        if pos + 1 + n > len(m):
            return None
        pos += 1 + n
    return None


# ---------------------------------------------------------------- IRC lines

def irc_parse(line):
    """(command upper-cased, [params incl. the trailing one]) of one IRC line
    (RFC 2812 with IRCv3 @tags), or None for an empty line."""
    s = line.strip("\r\n")
    if s.startswith("@"):
        s = s.partition(" ")[2]
    if s.startswith(":"):
        s = s.partition(" ")[2]
    s = s.lstrip(" ")
    if not s:
        return None
    head, sep, trailing = s.partition(" :")
    parts = head.split()
    if not parts:
        return None
    params = parts[1:] + ([trailing] if sep else [])
    return parts[0].upper(), params


# ---------------------------------------------------------------- self-check

def _self_check():
    failed = 0

    def check(name, ok, why=""):
        nonlocal failed
        print(("PASS sensor_lib: %s" % name) if ok else ("FAIL sensor_lib: %s: %s" % (name, why)))
        failed += 0 if ok else 1

    with tempfile.TemporaryDirectory() as tmp:
        p = os.path.join(tmp, "a.pcap")
        hdr = b"\xd4\xc3\xb2\xa1" + struct.pack("<HHiIII", 2, 4, 0, 0, 65535, 1)
        recs = [(record_header("<", 1, 2, 3, 3), b"abc"), (record_header("<", 1, 3, 1, 60), b"z")]
        write_pcap(p, hdr, recs)
        back = read_pcap(p)
        check("pcap write/read round trip", back is not None and back[2] == 1 and back[3] == recs, repr(back))
        with open(p, "ab") as fh:
            fh.write(record_header("<", 1, 4, 100, 100) + b"cut")
        back = read_pcap(p)
        check("a cut last record is dropped", back is not None and len(back[3]) == 2, repr(back and back[3]))
    check("json_text keeps valid UTF-8", json_text("Jäger".encode()) == "Jäger", json_text("Jäger".encode()))
    check("json_text: an invalid byte is its Latin-1 code point",
          json_text(b"J\xe4ger\xff\xc3") == "J\u00e4ger\u00ff\u00c3", repr(json_text(b"J\xe4ger\xff\xc3")))
    msg = bytes.fromhex("1234010000010000000000000377777706676f6f676c6503636f6d0000010001")
    check("dns_qname reads the question name", dns_qname(msg) == b"www.google.com", repr(dns_qname(msg)))
    check("dns_qname over TCP skips the length", dns_qname(b"\x00\x20" + msg, tcp=True) == b"www.google.com")
    check("irc_parse with tags, prefix and trailing",
          irc_parse("@time=x :nick!u@h PRIVMSG #chan :hi there\r\n") == ("PRIVMSG", ["#chan", "hi there"]),
          repr(irc_parse("@time=x :nick!u@h PRIVMSG #chan :hi there\r\n")))
    check("irc_parse plain", irc_parse("join #a,#b") == ("JOIN", ["#a,#b"]))
    return failed


if __name__ == "__main__":
    sys.exit(1 if _self_check() else 0)
