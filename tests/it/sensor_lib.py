#!/usr/bin/env python3
"""Helpers for the packet-sensor integration tests (sensor_conformance.py): where the
binary and the corpora are, one `mamori ingest --pcap` run split into events, alerts
and summary, nested ECS events flattened to dotted keys, classic pcap files read,
written and made from scratch (to cut, corrupt and forge captures), per-flow frame and
IP byte accounting, ground truth asked of tshark, and the YAML subset of
suricata-verify's test.yaml (for machines without PyYAML).

tests/run.sh runs every tests/it/*.py, this one too: run directly, it checks its own
helpers on data it makes (and the YAML reader against PyYAML on the corpus), so a
broken helper cannot pass for a broken sensor.

Environment: MM_CORPORA (default ../shared/corpora from the repository root),
MAMORI or MAMORI_BIN (default build/mamori), TSHARK (default tshark on PATH).
"""
import codecs
import glob
import ipaddress
import json
import os
import re
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


def ingest(pcap, alerts=True, timeout=120, extra=(), binary=None):
    """Run the sensor over one capture.  The database path is never created
    (--no-store); it only satisfies the global option."""
    r = Run()
    with tempfile.TemporaryDirectory(prefix="mm-sensor-it-") as tmp:
        cmd = [binary or BIN, "--db", os.path.join(tmp, "x.db"), "ingest", "--pcap", "--no-store", "--events", "--json"]
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


def endpoints(ev):
    return (first(ev, "source.ip"), first(ev, "source.port"), first(ev, "destination.ip"), first(ev, "destination.port"))


def alert_text(a):
    """Everything a person reads in an alert, for keyword matching."""
    rule = a.get("rule", {})
    return " ".join(str(x) for x in (rule.get("name", ""), rule.get("id", ""), a.get("alert", {}).get("reason", "")))


def alert_mentions_ip(a, ip):
    """Does the alert (its evidence, group or reason) name this address?  192.168.56.1
    must not match 192.168.56.101."""
    return re.search(r"(?<![\d.:])" + re.escape(ip) + r"(?![\d])", json.dumps(a)) is not None


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


def _csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack(">%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xffff)
    s += s >> 16
    return (~s) & 0xffff


def tcp_frame(src, dst, sp, dp, seq, ack, flags, data=b""):
    """One Ethernet/IPv4/TCP frame with valid checksums (src, dst: 4-byte sequences)."""
    tcp = struct.pack(">HHIIBBHHH", sp, dp, seq & 0xffffffff, ack & 0xffffffff, 5 << 4, flags, 65535, 0, 0) + data
    c = _csum(bytes(src) + bytes(dst) + struct.pack(">BBH", 0, 6, len(tcp)) + tcp)
    tcp = tcp[:16] + struct.pack(">H", c) + tcp[18:]
    ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 0, 0, 64, 6, 0, bytes(src), bytes(dst))
    ip = ip[:10] + struct.pack(">H", _csum(ip)) + ip[12:]
    return b"\x02\0\0\0\0\x02\x02\0\0\0\0\x01\x08\x00" + ip + tcp


def tcp_session(path, turns, sport=40000, dport=80, cli=(10, 0, 0, 1), srv=(10, 0, 0, 2), mss=1400):
    """Write a pcap of one TCP connection: handshake, turns [(0 = client / 1 = server,
    bytes)] cut into mss-sized segments, FIN both ways."""
    cs, ss, recs, t = 1000, 5000, [], [0]

    def add(f):
        t[0] += 1
        recs.append((record_header("<", 1700000000, t[0], len(f), len(f)), f))
    add(tcp_frame(cli, srv, sport, dport, cs, 0, 0x02))
    cs += 1
    add(tcp_frame(srv, cli, dport, sport, ss, cs, 0x12))
    ss += 1
    add(tcp_frame(cli, srv, sport, dport, cs, ss, 0x10))
    for d, data in turns:
        for i in range(0, len(data), mss):
            seg = data[i:i + mss]
            if d == 0:
                add(tcp_frame(cli, srv, sport, dport, cs, ss, 0x18, seg))
                cs += len(seg)
            else:
                add(tcp_frame(srv, cli, dport, sport, ss, cs, 0x18, seg))
                ss += len(seg)
    add(tcp_frame(cli, srv, sport, dport, cs, ss, 0x11))
    cs += 1
    add(tcp_frame(srv, cli, dport, sport, ss, cs, 0x11))
    ss += 1
    add(tcp_frame(cli, srv, sport, dport, cs, ss, 0x10))
    write_pcap(path, b"\xd4\xc3\xb2\xa1" + struct.pack("<HHiIII", 2, 4, 0, 0, 262144, 1), recs)


ICMP_ERRORS = {3, 4, 5, 11, 12}


def _l3(linktype, d):
    """(ethertype-ish, offset of the IP header) for a frame, or None."""
    if linktype == 1:
        if len(d) < 14:
            return None
        et, off = struct.unpack(">H", d[12:14])[0], 14
        while et in (0x8100, 0x88a8) and len(d) >= off + 4:
            et, off = struct.unpack(">H", d[off + 2:off + 4])[0], off + 4
        return et, off
    if linktype in (101, 12, 228, 229):
        return (0x0800 if d[:1] and d[0] >> 4 == 4 else 0x86dd), 0
    if linktype == 113 and len(d) >= 16:
        return struct.unpack(">H", d[14:16])[0], 16
    if linktype == 276 and len(d) >= 20:
        return struct.unpack(">H", d[0:2])[0], 20
    if linktype in (0, 108) and len(d) >= 4:
        return (0x0800 if d[4:5] and d[4] >> 4 == 4 else 0x86dd), 4
    return None


def _ip(d, off):
    """(proto, src, sport, dst, dport, ip total length, header length) or None."""
    if len(d) < off + 20:
        return None
    v = d[off] >> 4
    if v == 4:
        ihl = (d[off] & 15) * 4
        tot, proto = struct.unpack(">H", d[off + 2:off + 4])[0], d[off + 9]
        src, dst = str(ipaddress.IPv4Address(d[off + 12:off + 16])), str(ipaddress.IPv4Address(d[off + 16:off + 20]))
        frag = struct.unpack(">H", d[off + 6:off + 8])[0] & 0x1fff
        l4 = off + ihl if frag == 0 else None
    elif v == 6 and len(d) >= off + 40:
        ihl, tot, proto = 40, 40 + struct.unpack(">H", d[off + 4:off + 6])[0], d[off + 6]
        src, dst = str(ipaddress.IPv6Address(d[off + 8:off + 24])), str(ipaddress.IPv6Address(d[off + 24:off + 40]))
        l4 = off + 40
    else:
        return None
    sp = dp = None
    if proto in (6, 17) and l4 is not None and len(d) >= l4 + 4:
        sp, dp = struct.unpack(">HH", d[l4:l4 + 4])
    return proto, src, sp, dst, dp, tot, ihl


def flow_accounting(path):
    """Per flow of a classic pcap (key: (proto, frozenset of (ip, port))): for each
    sender (ip, port), [frames, frame bytes, IP bytes]; and for each address, the ICMP
    errors sent to it that quote the flow, [frames, frame bytes].  Suricata counts
    frames (link header and padding included) and attributes such ICMP errors to the
    quoted flow; mamori counts the IP bytes of the flow's own packets.  None for
    pcapng."""
    p = read_pcap(path)
    if not p:
        return None
    _, _, lt, recs = p
    acc = {}
    for _, d in recs:
        l3 = _l3(lt, d)
        if not l3 or l3[0] not in (0x0800, 0x86dd):
            continue
        ip = _ip(d, l3[1])
        if not ip:
            continue
        proto, src, sp, dst, dp, tot, ihl = ip
        if proto == 1 and len(d) > l3[1] + ihl + 8 and d[l3[1] + ihl] in ICMP_ERRORS:
            q = _ip(d, l3[1] + ihl + 8)
            if q and q[0] in (6, 17):
                key = (q[0], frozenset([(q[1], q[2]), (q[3], q[4])]))
                ent = acc.setdefault(key, {"dir": {}, "icmp_to": {}})
                t = ent["icmp_to"].setdefault(dst, [0, 0])
                t[0] += 1
                t[1] += len(d)
                continue
        key = (proto, frozenset([(src, sp), (dst, dp)]))
        ent = acc.setdefault(key, {"dir": {}, "icmp_to": {}})
        t = ent["dir"].setdefault((src, sp), [0, 0, 0])
        t[0] += 1
        t[1] += len(d)
        t[2] += tot
    return acc


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


# ---------------------------------------------------------------- YAML (subset)

def _scalar(s):
    s = s.strip()
    if not s:
        return None
    if s[0] == "'" and s.endswith("'") and len(s) >= 2:
        return s[1:-1].replace("''", "'")
    if s[0] == '"' and s.endswith('"') and len(s) >= 2:
        return bytes(s[1:-1], "utf-8").decode("unicode_escape")
    if s[0] == "[" and s.endswith("]"):
        return [_scalar(x) for x in s[1:-1].split(",") if x.strip()]
    if re.fullmatch(r"-?\d+", s):
        return int(s)
    if s in ("true", "True"):
        return True
    if s in ("false", "False"):
        return False
    if s in ("null", "~"):
        return None
    return s


def _strip_comment(line):
    q = None
    for i, c in enumerate(line):
        if q:
            if c == q:
                q = None
        elif c in "'\"":
            q = c
        elif c == "#" and (i == 0 or line[i - 1] in " \t"):
            return line[:i]
    return line


def yaml_load(text, force_own=False):
    """The block-style YAML of suricata-verify's test.yaml (mappings, lists, quoted and
    plain scalars, flow lists); PyYAML is used when it is installed."""
    if not force_own:
        try:
            import yaml
            return yaml.safe_load(text)
        except ImportError:
            pass
    lines = []
    for raw in text.splitlines():
        ln = _strip_comment(raw).rstrip()
        if ln.strip() and not ln.lstrip().startswith("%") and ln.strip() != "---":
            lines.append((len(ln) - len(ln.lstrip(" ")), ln.strip()))
    pos = [0]

    def block(ind):
        if pos[0] >= len(lines):
            return None
        if lines[pos[0]][1].startswith("- ") or lines[pos[0]][1] == "-":
            out = []
            while pos[0] < len(lines) and lines[pos[0]][0] == ind and lines[pos[0]][1][:1] == "-":
                body = lines[pos[0]][1][1:].lstrip()
                if not body:
                    pos[0] += 1
                    out.append(block(lines[pos[0]][0]) if pos[0] < len(lines) and lines[pos[0]][0] > ind else None)
                elif re.match(r"^[^'\"\[][^:]*:( |$)", body):
                    # "- key: v" opens a mapping whose keys sit at the body's column
                    col = ind + (len(lines[pos[0]][1]) - len(body))
                    lines[pos[0]] = (col, body)
                    out.append(block(col))
                else:
                    pos[0] += 1
                    out.append(_scalar(body))
            return out
        out = {}
        while pos[0] < len(lines) and lines[pos[0]][0] == ind and lines[pos[0]][1][:1] != "-":
            key, _, rest = lines[pos[0]][1].partition(":")
            pos[0] += 1
            if rest.strip():
                out[key.strip()] = _scalar(rest)
            elif pos[0] < len(lines) and (lines[pos[0]][0] > ind or
                                          (lines[pos[0]][0] == ind and lines[pos[0]][1][:1] == "-")):
                out[key.strip()] = block(lines[pos[0]][0])
            else:
                out[key.strip()] = None
        return out

    return block(lines[0][0]) if lines else None


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
    with tempfile.TemporaryDirectory() as tmp:
        p = os.path.join(tmp, "c.pcap")
        tcp_session(p, [(0, b"GET / HTTP/1.0\r\n\r\n"), (1, b"x" * 3000)], mss=1000)
        acc = flow_accounting(p)
    ent = (acc or {}).get((6, frozenset([("10.0.0.1", 40000), ("10.0.0.2", 80)])))
    check("tcp_session: handshake, 3 server segments, FINs",
          ent is not None and ent["dir"][("10.0.0.2", 80)][:1] == [5] and ent["dir"][("10.0.0.2", 80)][2] == 3000 + 5 * 40
          and ent["dir"][("10.0.0.1", 40000)][0] == 5, repr(ent))
    check("alert_mentions_ip is word-bounded",
          alert_mentions_ip({"group": "192.168.56.1"}, "192.168.56.1")
          and not alert_mentions_ip({"group": "192.168.56.101"}, "192.168.56.1"))

    # flow accounting: a padded 60-byte Ethernet frame carrying a 28-byte IPv4/UDP
    # packet, and an ICMP error quoting it sent back to its sender
    def eth(ip):
        return b"\x00" * 12 + b"\x08\x00" + ip

    def ipv4(proto, src, dst, payload):
        return struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 0, 0, 64, proto, 0,
                           bytes(src), bytes(dst)) + payload
    udp = ipv4(17, [10, 0, 0, 1], [10, 0, 0, 2], struct.pack(">HHHH", 1111, 53, 8, 0))
    icmp = ipv4(1, [10, 0, 0, 9], [10, 0, 0, 1], b"\x03\x04\x00\x00\x00\x00\x05\xdc" + udp)
    f1, f2 = eth(udp).ljust(60, b"\x00"), eth(icmp)
    with tempfile.TemporaryDirectory() as tmp:
        p = os.path.join(tmp, "b.pcap")
        hdr = b"\xd4\xc3\xb2\xa1" + struct.pack("<HHiIII", 2, 4, 0, 0, 65535, 1)
        write_pcap(p, hdr, [(record_header("<", 1, 0, len(f), len(f)), f) for f in (f1, f2)])
        acc = flow_accounting(p)
    ent = (acc or {}).get((17, frozenset([("10.0.0.1", 1111), ("10.0.0.2", 53)])))
    check("flow_accounting: frame vs IP bytes, ICMP error attributed to the quoted flow",
          ent == {"dir": {("10.0.0.1", 1111): [1, 60, 28]}, "icmp_to": {"10.0.0.1": [1, len(f2)]}}, repr(acc))

    # the YAML subset parser agrees with PyYAML on the corpus (when both are there)
    try:
        import yaml
    except ImportError:
        yaml = None
    tests = sorted(glob.glob(os.path.join(CORPORA, "pcap", "suricata-verify", "*", "test.yaml")))
    if yaml and tests:
        bad = []
        for t in tests:
            with open(t) as fh:
                text = fh.read()
            if yaml_load(text, force_own=True) != yaml.safe_load(text):
                bad.append(os.path.basename(os.path.dirname(t)))
        check("yaml_load (own parser) == PyYAML on %d test.yaml" % len(tests), not bad, " ".join(bad))
    sample = "checks:\n- filter:\n    count: 1\n    match:\n      dns.flags: '8180'\n      x: 81a0 # c\n" \
             "      email.from: '\"A\" <a@b>'\n- stats:\n    n: 3\n"
    want = {"checks": [{"filter": {"count": 1, "match": {"dns.flags": "8180", "x": "81a0",
                                                           "email.from": '"A" <a@b>'}}}, {"stats": {"n": 3}}]}
    got = yaml_load(sample, force_own=True)
    check("yaml_load (own parser) on a sample", got == want, repr(got))
    return failed


if __name__ == "__main__":
    sys.exit(1 if _self_check() else 0)
