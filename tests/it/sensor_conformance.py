#!/usr/bin/env python3
"""The packet sensor against the pcap corpora, through the CLI
(`mamori ingest --pcap --no-store --events --alerts --json FILE`).

1. suricata-verify ($MM_CORPORA/pcap/suricata-verify/*/test.yaml).  Every
   checks[].filter (an exact `count` of EVE records carrying the `match` values) is
   translated into a predicate over mamori's ECS events (SV_* tables below) and the
   events satisfying it are counted.  A check is "not applicable" when it is about
   something mamori does not do (Suricata signature alerts, anomaly records, SMB) or
   names a key with no ECS counterpart; keys that are Suricata bookkeeping (pcap_cnt,
   tx_id, EVE version...) are left out of the predicate and listed once at the end.
   Suricata writes src/dest in the direction of the packet that made the record
   (a DNS response comes from the server); mamori's source is the client, so the
   endpoints match in either orientation.  Suricata attaches the transaction's
   metadata (http.*, email.*, smtp.*) to fileinfo records; mamori's file event
   carries linking fields and its transaction event the rest, so for a fileinfo
   check those keys are looked up in the file event or in a transaction event of
   the same flow.  Flow bytes and packets: Suricata counts whole frames (link
   header and padding) and adds the ICMP errors that quote the flow; mamori counts
   the IP bytes of the flow's own packets; the difference is taken from the capture.
   PASS when matched/applicable >= 90 %.  Every matched check is run again with
   each of its values changed in turn, to show that no predicate is vacuous.
   Signatures of the alert-only tests that test file properties (fileext,
   filemagic, filemd5, file_data of an upload, dns.response.rrname) are re-stated
   as file/DNS checks in SV_DERIVED and reported on their own line.
2. Zeek traces: IRC commands/nicks/channels against the client's lines (tshark's TCP
   payload), the file of each DCC SEND offer carved whole from its data connection
   (size and sha256 against tshark's bytes), ssh_sshguess.pcap and
   ftp_bruteforce.pcap login failures from 192.168.56.1, and the brute-force alerts
   of rules/network/.
3. nDPI: a disguised executable (exe_download_as_png), Meterpreter stages sent over
   raw TCP (portable_executable: PE file events byte-exact against tshark, no
   non-standard-port flag, the raw-executable alert), emotet's User-Agent and dll,
   DNS tunnel query names byte-exact against the question names in the packets
   (parsed from tshark's payload), per-flow protocol against ndpiReader's .out
   (flows nDPI classified by payload, protocols mamori has analyzers for), and the
   flow-risk agreement (informational).
4. Bad input: cut and corrupted captures, and TCP sessions that start like each
   protocol and then lie (lengths that overflow, 200 KB lines, 3000 nested MIME
   parts...), never kill mamori with a signal, exit 0 or 1 naming the file, still
   print the summary, and the lies an analyzer took are counted (app_errors).  With
   a sanitizer build (build-asan/mamori, made by `make test`; MAMORI_ASAN), every
   corpus capture and bad input also runs under ASan/UBSan.

Prints one line per test and per failed check, then PASS/FAIL lines.
Environment: MM_CORPORA, MAMORI/MAMORI_BIN, TSHARK (see sensor_lib.py), MAMORI_ASAN,
MM_VERBOSE=1 for long values in full.
"""
import datetime
import glob
import hashlib
import json
import os
import random
import re
import struct
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True   # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sensor_lib as L  # noqa: E402
from sensor_lib import first, values, action, protocol, is_flow, is_file  # noqa: E402

THRESHOLD = 0.90
failures = 0


def result(name, ok, why=""):
    global failures
    if ok:
        print("PASS %s" % name)
    else:
        failures += 1
        print("FAIL %s%s" % (name, (": " + why) if why else ""))


def short(v, n=90):
    s = v if isinstance(v, str) else repr(v)
    return s if len(s) <= n or L.VERBOSE else s[:n - 3] + "..."


# ---------------------------------------------------------------- suricata-verify

def norm(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def norm_addr(v):
    """An address as written in a header or an SMTP command -> the bare address."""
    s = str(v).strip()
    m = re.search(r"<([^<>]*)>", s)
    return (m.group(1) if m else s).strip().lower()


def norm_mime(v):
    return str(v).split(";")[0].strip().lower()


def norm_ci(v):
    return str(v).lower()


def parse_time_us(s):
    """EVE "2017-06-08T15:45:58.525601+0000" or ECS "...Z" -> microseconds."""
    s = str(s).strip().replace("Z", "+0000")
    m = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?([+-]\d\d:?\d\d)", s)
    if not m:
        return None
    t = datetime.datetime.strptime(m.group(1) + m.group(3).replace(":", ""), "%Y-%m-%dT%H:%M:%S%z")
    frac = (m.group(2) or "0")[:6].ljust(6, "0")
    return int(t.timestamp()) * 1000000 + int(frac)


class Pred:
    """One translated key: desc says what is required, show(ev) what mamori has."""

    def __init__(self, desc, fn, fields):
        self.desc, self.fn, self.fields = desc, fn, fields

    def __call__(self, ev):
        try:
            return bool(self.fn(ev))
        except (TypeError, ValueError, IndexError):
            return False

    def show(self, ev):
        return ", ".join("%s=%s" % (f, short(ev.get(f), 60)) for f in self.fields)


def p_eq(field, want, nf=norm, desc=None):
    w = nf(want)
    return Pred(desc or "%s == %s" % (field, short(w)), lambda ev: any(nf(a) == w for a in values(ev, field)), [field])


def p_at(field, i, want, nf=norm):
    w = nf(want)

    def fn(ev):
        v = values(ev, field)
        return len(v) > i and nf(v[i]) == w
    return Pred("%s[%d] == %s" % (field, i, short(w)), fn, [field])


def p_contains(field, want):
    w = str(want).lower()
    return Pred("%s contains %s (case-insensitive)" % (field, short(w)),
                lambda ev: any(w in str(a).lower() for a in values(ev, field)), [field])


def p_grouped(rtype, i, want):
    w = norm(want)

    def fn(ev):
        data = [d for d, t in zip(values(ev, "dns.answers.data"), values(ev, "dns.answers.type")) if t == rtype]
        return len(data) > i and norm(data[i]) == w
    return Pred("%s answer #%d data == %s" % (rtype, i, short(w)), fn, ["dns.answers.type", "dns.answers.data"])


DNS_FLAG_BITS = [(0x0400, "AA"), (0x0200, "TC"), (0x0100, "RD"), (0x0080, "RA"), (0x0020, "AD"), (0x0010, "CD")]


def p_dns_flags(hexval):
    bits = int(str(hexval), 16)
    want = {n for b, n in DNS_FLAG_BITS if bits & b}
    typ = "answer" if bits & 0x8000 else "query"
    return Pred("dns.header_flags == %s and dns.type == %s (flags %s)" % (sorted(want), typ, hexval),
                lambda ev: set(values(ev, "dns.header_flags")) == want and first(ev, "dns.type") == typ,
                ["dns.header_flags", "dns.type"])


def p_flag(name, on):
    return Pred("%s %s dns.header_flags" % (name, "in" if on else "not in"),
                lambda ev: (name in values(ev, "dns.header_flags")) == bool(on), ["dns.header_flags"])


def p_truncated(want_trunc):
    return Pred("file.truncated %s" % ("== true" if want_trunc else "absent/false"),
                lambda ev: (norm(first(ev, "file.truncated", "false")) == "true") == want_trunc, ["file.truncated"])


def p_time(field, want):
    w = parse_time_us(want)
    return Pred("%s == %s" % (field, want), lambda ev: parse_time_us(first(ev, field)) == w, [field])


def p_age(want):
    def fn(ev):
        s, e = parse_time_us(first(ev, "event.start")), parse_time_us(first(ev, "event.end"))
        return e // 1000000 - s // 1000000 == int(want)
    return Pred("whole seconds from event.start to event.end == %s" % want, fn, ["event.start", "event.end"])


def flow_adjust(acc, match, key):
    """Suricata's flow.{bytes,pkts}_to{server,client} -> what mamori's source/destination
    counts must be: without link headers and frame padding, and without the ICMP errors
    quoting the flow that Suricata adds to it.  (value, why) or (None, why)."""
    cli = (str(match.get("src_ip")), match.get("src_port"))
    srv = (str(match.get("dest_ip")), match.get("dest_port"))
    proto = {"TCP": 6, "UDP": 17}.get(str(match.get("proto", "")).upper())
    if acc is None or proto is None or None in cli or None in srv:
        return None, "%s: capture or flow not accountable" % key
    ent = acc.get((proto, frozenset([cli, srv])))
    if ent is None:
        return None, "%s: flow not in the capture" % key
    sender, receiver = (cli, srv) if key.endswith("toserver") else (srv, cli)
    frames, fbytes, ipbytes = ent["dir"].get(sender, [0, 0, 0])
    icmp_n, icmp_b = ent["icmp_to"].get(receiver[0], [0, 0])
    want = int(match[key])
    if key.startswith("flow.pkts"):
        return want - icmp_n, "minus %d ICMP errors" % icmp_n
    return want - (fbytes - ipbytes) - icmp_b, "minus %d link/padding bytes and %d ICMP error bytes" % (
        fbytes - ipbytes, icmp_b)


# Suricata bookkeeping left out of the predicates: (pattern, why)
SV_IGNORED = [
    (r"pcap_cnt|tx_id|flow_id|timestamp|in_iface|.*\.tx_id", "Suricata's packet/transaction numbering"),
    (r"dns\.version", "EVE DNS format version"),
    (r"fileinfo\.(stored|file_id|sid)", "Suricata file-store bookkeeping"),
    (r"email\.status", "Suricata MIME parser state"),
    (r"flow\.alerted", "set by Suricata signatures"),
    (r"flow\.(reason|state)|tcp\..*", "Suricata TCP state-machine names (mamori: flow.history, flow.end_reason)"),
]

# keys that make a check not applicable: (pattern, why)
SV_NA = [
    (r"alert\..*|files\[.*", "Suricata signature alert (mamori does not run Suricata rules)"),
    (r"anomaly\..*", "Suricata anomaly records"),
    (r"dns\.(authorities|additionals)\[.*|dns\.queries\[[1-9]\d*\]\..*", "DNS records mamori does not log"),
]
SV_NA_EVENT_TYPES = {"alert": "Suricata signature alert (mamori does not run Suricata rules)",
                     "anomaly": "Suricata anomaly records", "drop": "IPS drops", "stats": "engine stats",
                     "netflow": "netflow records", "smb": "no SMB analyzer", "files": "alert file list"}

# event_type -> the events that stand for its records
SV_SELECT = {
    "dns": lambda ev: action(ev).startswith("dns-"),
    "http": lambda ev: protocol(ev) == "http" and not is_flow(ev) and not is_file(ev),
    "fileinfo": is_file,
    "smtp": lambda ev: action(ev) == "smtp-mail",
    "ftp": lambda ev: protocol(ev) == "ftp" and not is_flow(ev) and not is_file(ev),
    "ftp_data": lambda ev: is_file(ev) and (protocol(ev) == "ftp-data" or bool(first(ev, "ftp.command"))),
    "flow": is_flow,
    "irc": lambda ev: action(ev).startswith("irc-"),
    "tls": lambda ev: protocol(ev) == "tls" and not is_flow(ev) and not is_file(ev),
    "ssh": lambda ev: protocol(ev) == "ssh" and not is_flow(ev),
}

SV_SIMPLE = {   # EVE key -> (ECS field, normaliser)
    "dns.id": ("dns.id", norm), "dns.rrname": ("dns.question.name", norm),
    "dns.rrtype": ("dns.question.type", norm), "dns.rcode": ("dns.response_code", norm),
    "http.hostname": ("url.domain", norm_ci), "http.url": ("url.original", norm),
    "http.http_user_agent": ("user_agent.original", norm), "http.http_content_type": ("http.response.mime_type", norm_mime),
    "http.http_method": ("http.request.method", norm), "http.status": ("http.response.status_code", norm),
    "http.length": ("http.response.body.bytes", norm), "http.http_refer": ("http.request.referrer", norm),
    "http.http_port": ("url.port", norm),
    "fileinfo.filename": ("file.name", norm), "fileinfo.size": ("file.size", norm),
    "fileinfo.md5": ("file.hash.md5", norm_ci), "fileinfo.sha1": ("file.hash.sha1", norm_ci),
    "fileinfo.sha256": ("file.hash.sha256", norm_ci), "fileinfo.mimetype": ("file.mime_type", norm_mime),
    "email.from": ("email.from.address", norm_addr), "email.subject": ("email.subject", norm),
    "email.message_id": ("email.message_id", norm_addr), "email.x_mailer": ("email.x_mailer", norm),
    "smtp.helo": ("smtp.helo", norm_ci), "smtp.mail_from": ("smtp.mail_from", norm_addr),
    "ftp.command": ("ftp.command", norm_ci), "ftp.command_data": ("ftp.arg", norm),
    "ftp.reply_code": ("ftp.reply.code", norm),
    "ftp_data.command": ("ftp.command", norm_ci), "ftp_data.filename": ("file.name", norm),
    "app_proto": ("network.protocol", norm_ci), "proto": ("network.transport", norm_ci),
    "community_id": ("network.community_id", norm),
    "irc.command": ("irc.command", norm_ci), "tls.sni": ("tls.client.server_name", norm_ci),
    "tls.version": ("tls.version", norm), "tls.ja3.hash": ("tls.client.ja3", norm_ci),
    "ssh.client.software_version": ("ssh.client.software", norm), "ssh.server.software_version": ("ssh.server.software", norm),
}
SV_INDEXED = {  # EVE list key -> (ECS list field, normaliser)
    "email.to": ("email.to.address", norm_addr), "email.cc": ("email.cc.address", norm_addr),
    "email.attachment": ("email.attachments.file.name", norm), "email.url": ("email.urls", norm),
    "smtp.rcpt_to": ("smtp.rcpt_to", norm_addr),
}
DNS_ANSWER_FIELDS = {"rdata": "dns.answers.data", "rrname": "dns.answers.name", "rrtype": "dns.answers.type",
                     "ttl": "dns.answers.ttl"}


def sv_translate(key, val, acc, match):
    """-> ("pred", Pred) | ("ignore", why) | ("na", why)"""
    for pat, why in SV_IGNORED:
        if re.fullmatch(pat, key):
            return "ignore", why
    for pat, why in SV_NA:
        if re.fullmatch(pat, key):
            return "na", why
    if key in SV_SIMPLE:
        field, nf = SV_SIMPLE[key]
        return "pred", p_eq(field, val, nf)
    m = re.fullmatch(r"([a-z_]+\.[a-z_]+)\[(\d+)\]", key)
    if m and m.group(1) in SV_INDEXED:
        field, nf = SV_INDEXED[m.group(1)]
        return "pred", p_at(field, int(m.group(2)), val, nf)
    if key == "dns.type":
        v = {"request": "query", "query": "query", "response": "answer", "answer": "answer"}.get(str(val))
        return ("pred", p_eq("dns.type", v)) if v else ("na", "dns.type %s" % val)
    m = re.fullmatch(r"dns\.queries\[0\]\.(rrname|rrtype)", key)
    if m:
        return "pred", p_eq("dns.question.name" if m.group(1) == "rrname" else "dns.question.type", val)
    m = re.fullmatch(r"dns\.answers\[(\d+)\]\.(rdata|rrname|rrtype|ttl)", key)
    if m:
        return "pred", p_at(DNS_ANSWER_FIELDS[m.group(2)], int(m.group(1)), val)
    m = re.fullmatch(r"dns\.grouped\.([A-Z0-9]+)\[(\d+)\]", key)
    if m:
        return "pred", p_grouped(m.group(1), int(m.group(2)), val)
    if key == "dns.flags":
        return "pred", p_dns_flags(val)
    if key == "dns.qr":
        return "pred", p_eq("dns.type", "answer" if val else "query")
    m = re.fullmatch(r"dns\.(aa|tc|rd|ra|ad|cd|z)", key)
    if m:
        if m.group(1) == "z":
            return "na", "DNS Z bit"
        return "pred", p_flag(m.group(1).upper(), val)
    if key == "http.protocol":
        return "pred", p_eq("http.version", str(val).replace("HTTP/", ""))
    if key == "fileinfo.magic":
        return "pred", p_contains("file.magic", val)
    if key == "fileinfo.state":
        if val in ("CLOSED", "TRUNCATED"):
            return "pred", p_truncated(val == "TRUNCATED")
        return "na", "fileinfo.state %s" % val
    if key == "fileinfo.gaps":
        return "pred", p_truncated(bool(val))
    if key in ("flow.start", "flow.end"):
        return "pred", p_time("event." + key[5:], val)
    if key == "flow.age":
        return "pred", p_age(val)
    m = re.fullmatch(r"flow\.(bytes|pkts)_to(server|client)", key)
    if m:
        side = "source" if m.group(2) == "server" else "destination"
        want, why = flow_adjust(acc, match, key)
        if want is None:
            return "na", why
        field = side + (".bytes" if m.group(1) == "bytes" else ".packets")
        return "pred", p_eq(field, want, desc="%s == %d (EVE %s %s, %s)" % (field, want, key, val, why))
    return "na", "unmapped key %s" % key


def sv_endpoints(match):
    want = [match.get(k) for k in ("src_ip", "src_port", "dest_ip", "dest_port")]
    if all(w is None for w in want):
        return None
    w = [None if x is None else str(x) for x in want]

    def fn(ev):
        s = [None if x is None else str(x) for x in L.endpoints(ev)]
        fwd = all(a is None or a == b for a, b in zip(w, s))
        rev = all(a is None or a == b for a, b in zip(w, [s[2], s[3], s[0], s[1]]))
        return fwd or rev
    return Pred("endpoints %s:%s <-> %s:%s (either orientation)" % tuple(x or "*" for x in w), fn,
                ["source.ip", "source.port", "destination.ip", "destination.port"])


def same_flow_lookup(pred, by_flow):
    """For fileinfo checks: the key may sit on the file event or on a transaction event
    of the same flow."""
    def fn(ev):
        if pred(ev):
            return True
        return any(pred(o) for o in by_flow.get(first(ev, "flow.id"), ()))
    return Pred(pred.desc + " (file event or its flow's transaction)", fn, pred.fields)


def sv_check(match, events, acc, ignored_seen):
    """-> (None, na_why) or (preds, None).  preds[0] selects the event type."""
    etype = match.get("event_type")
    if etype is None:
        for k in match:
            head = re.split(r"[.\[]", k)[0]
            if head in SV_SELECT or head in SV_NA_EVENT_TYPES or head in ("email", "alert"):
                etype = {"email": "smtp"}.get(head, head)
                break
    if etype in SV_NA_EVENT_TYPES:
        return None, SV_NA_EVENT_TYPES[etype]
    if etype not in SV_SELECT:
        return None, "event_type %s" % etype
    preds = [Pred("event_type %s" % etype, SV_SELECT[etype], ["event.action", "network.protocol"])]
    by_flow = {}
    if etype == "fileinfo":
        for e in events:
            if not is_file(e) and not is_flow(e):
                by_flow.setdefault(first(e, "flow.id"), []).append(e)
    ep = sv_endpoints(match)
    if ep:
        preds.append(ep)
    for k, v in match.items():
        if k in ("event_type", "src_ip", "src_port", "dest_ip", "dest_port"):
            continue
        kind, x = sv_translate(k, v, acc, match)
        if kind == "ignore":
            ignored_seen.setdefault(k, x)
        elif kind == "na":
            return None, x
        else:
            if etype == "fileinfo" and not k.startswith("fileinfo.") and k not in ("proto", "app_proto"):
                x = same_flow_lookup(x, by_flow)
            preds.append(x)
    return preds, None


def mutate(key, v):
    if isinstance(v, bool):
        return not v
    if isinstance(v, int):
        return v + 1
    if key == "dns.flags":
        return "%04x" % (int(str(v), 16) ^ 0x0100)
    if key == "proto":
        return "UDP" if str(v).upper() == "TCP" else "TCP"
    if re.fullmatch(r"\d{4}-\d\d-\d\dT.*", str(v)):
        return str(v).replace(".", ".9", 1)
    if "@" in str(v):
        return str(v).replace("@", "x@", 1)   # addresses are compared without their <> and names
    return str(v) + "-x"


def toothless(match, want, events, acc):
    """The keys of a matched check whose value can change without breaking the match:
    a predicate that does not test anything."""
    weak = []
    for k, v in match.items():
        if k == "event_type" or any(re.fullmatch(pat, k) for pat, _ in SV_IGNORED):
            continue
        m2 = dict(match)
        m2[k] = mutate(k, v)
        preds, why = sv_check(m2, events, acc, {})
        if preds is None:
            continue
        if len(preds) == len(sv_check(match, events, acc, {})[0]) and \
                sum(1 for e in events if all(p(e) for p in preds)) == want:
            weak.append(k)
    return weak


def describe_miss(preds, events):
    """The selected event closest to the check, and what it lacks."""
    cands = [e for e in events if preds[0](e)]
    if not cands:
        return "no %s event at all" % preds[0].desc.replace("event_type ", "")
    best = max(cands, key=lambda e: sum(p(e) for p in preds))
    miss = [p for p in preds if not p(best)]
    return "closest %s (%s): %s" % (action(best), first(best, "flow.id"),
                                    "; ".join("want %s, have %s" % (p.desc, p.show(best)) for p in miss))


def sv_stats(stats, summary):
    """The `stats:` check on decoder counters -> the sensor summary."""
    m = {"decoder.pkts": "packets", "decoder.bytes": "bytes", "decoder.invalid": "packet_errors"}
    bad = []
    for k, v in stats.items():
        if k not in m:
            return None, "unmapped stats key %s" % k
        got = (summary or {}).get(m[k])
        if got != v:
            bad.append("%s want %s, summary.%s=%s" % (k, v, m[k], got))
    return bad, None


# Signatures of alert-only tests that test file or DNS properties, re-stated over
# mamori's events: test -> [(what, predicate, count)]
EICAR_MD5 = "44d88612fea8a8f36de82e1278abb02f"


def _md5_list(test):
    p = os.path.join(L.CORPORA, "pcap", "suricata-verify", test, "target.md5")
    try:
        with open(p) as fh:
            return {ln.strip().lower() for ln in fh if ln.strip()}
    except OSError:
        return set()


def _ext(ev):
    return str(first(ev, "file.extension", "")).lower()


SV_DERIVED = {
    "fileext-01": [
        ("sids 1-3: a file with extension pdf (any case)", lambda ev: is_file(ev) and _ext(ev) == "pdf", 1),
        ("sids 7-9 stay silent: no file with another extension", lambda ev: is_file(ev) and _ext(ev) != "pdf", 0),
    ],
    "filemagic-01": [
        ("sids 1-3, 7-9: file.magic says PDF, version 1.5",
         lambda ev: is_file(ev) and "pdf" in str(first(ev, "file.magic", "")).lower()
         and "version 1.5" in str(first(ev, "file.magic", "")).lower(), 1),
        ("sids 4-6 (negated): no file.magic says version 1.6",
         lambda ev: is_file(ev) and "version 1.6" in str(first(ev, "file.magic", "")).lower(), 0),
    ],
    "filemd5": [("filemd5: a file whose md5 is in target.md5",
                 lambda ev: is_file(ev) and str(first(ev, "file.hash.md5", "")).lower() in _md5_list("filemd5"), 1)],
    "smtp-attachment-md5": [("filemd5: an attachment whose md5 is in target.md5",
                             lambda ev: is_file(ev) and str(first(ev, "file.hash.md5", "")).lower()
                             in _md5_list("smtp-attachment-md5"), 1)],
    "http-post-file": [("file_data to_server: the uploaded EICAR file (md5 %s)" % EICAR_MD5,
                        lambda ev: is_file(ev) and str(first(ev, "file.hash.md5", "")).lower() == EICAR_MD5, 1)],
    "dns_dns-response-mx": [("dns.response.rrname: an answer whose MX data names aspmx.l.google.com",
                             lambda ev: first(ev, "dns.type") == "answer" and any(
                                 "aspmx.l.google.com" in str(d) for d, t in
                                 zip(values(ev, "dns.answers.data"), values(ev, "dns.answers.type")) if t == "MX"), 1)],
}


def suricata_verify():
    root = os.path.join(L.CORPORA, "pcap", "suricata-verify")
    tests = sorted(d for d in glob.glob(os.path.join(root, "*")) if os.path.isfile(os.path.join(d, "test.yaml")))
    if not tests:
        result("suricata-verify", False, "no tests under %s" % root)
        return
    print("== suricata-verify (%d tests)" % len(tests))
    tot_m = tot_a = tot_na = 0
    der_m = der_n = 0
    ignored_seen = {}
    table = []
    teeth = [0, 0]   # matched checks tried with each value changed, keys that did not bite
    for d in tests:
        name = os.path.basename(d)
        with open(os.path.join(d, "test.yaml")) as fh:
            spec = L.yaml_load(fh.read()) or {}
        pcap = os.path.join(d, "input.pcap")
        run = L.ingest(pcap)
        acc = L.flow_accounting(pcap)
        ev = run.events
        m = a = na = 0
        lines = []
        nas = {}   # why not applicable -> the checks
        for c in spec.get("checks") or []:
            if "stats" in c:
                bad, why = sv_stats(c["stats"], run.summary)
                if why:
                    na += 1
                    nas.setdefault(why, []).append("stats")
                    continue
                a += 1
                if not bad:
                    m += 1
                else:
                    lines.append("  FAIL stats %s: %s" % (short(c["stats"]), "; ".join(bad)))
                continue
            flt = c.get("filter")
            if not flt:
                continue
            match = flt.get("match") or {}
            want = flt.get("count")
            preds, why = sv_check(match, ev, acc, ignored_seen)
            if preds is None:
                na += 1
                nas.setdefault(why, []).append(short(",".join("%s=%s" % kv for kv in match.items()
                                                             if kv[0] != "event_type" or len(match) == 1), 60))
                continue
            a += 1
            got = sum(1 for e in ev if all(p(e) for p in preds))
            if want is None or got == want:
                m += 1
                if want:
                    teeth[0] += 1
                    weak = toothless(match, want, ev, acc)
                    teeth[1] += len(weak)
                    if weak:
                        lines.append("  weak: the check still matches with %s changed" % ", ".join(weak))
                continue
            what = "; ".join(p.desc for p in preds)
            lines.append("  FAIL count %s, mamori %d: %s" % (want, got, short(what, 400)))
            if got < (want or 0):
                lines.append("       %s" % short(describe_miss(preds, ev), 600))
        # the one test that ships the whole expected EVE output
        exp = os.path.join(d, "expected", "eve.json")
        if os.path.isfile(exp):
            with open(exp) as fh:
                for i, line in enumerate(fh):
                    if not line.strip():
                        continue
                    rec = L.flatten(json.loads(line))
                    preds, why = sv_check(rec, ev, acc, ignored_seen)
                    if preds is None:
                        na += 1
                        nas.setdefault(why, []).append("expected/eve.json[%d]" % i)
                        continue
                    a += 1
                    got = sum(1 for e in ev if all(p(e) for p in preds))
                    if got == 1:
                        m += 1
                    else:
                        lines.append("  FAIL expected/eve.json[%d] (%s), mamori %d: %s" %
                                     (i, rec.get("event_type"), got, short(describe_miss(preds, ev), 600)))
        dm = dn = 0
        for what, fn, cnt in SV_DERIVED.get(name, []):
            dn += 1
            got = sum(1 for e in ev if fn(e))
            if got == cnt:
                dm += 1
            else:
                files = [("%s %s %s %s" % (first(e, "file.name"), first(e, "file.extension"), first(e, "file.hash.md5"),
                                           short(first(e, "file.magic"), 50))) for e in ev if is_file(e)]
                lines.append("  FAIL derived: %s: want %d, mamori %d (file events: %s)" %
                             (what, cnt, got, short("; ".join(files) or "none", 300)))
        der_m += dm
        der_n += dn
        crash = run.rc not in (0,)
        print("suricata-verify %s: matched %d/%d applicable checks (%d not applicable)%s%s" %
              (name, m, a, na, (", derived %d/%d" % (dm, dn)) if dn else "",
               (" [mamori exit %s: %s]" % (run.rc, short(run.stderr.strip(), 120))) if crash else ""))
        for ln in lines:
            print(ln)
        for why, what in nas.items():
            print("  n/a %d: %s (%s)" % (len(what), why, short("; ".join(what), 110)))
        table.append((name, m, a, na))
        tot_m += m
        tot_a += a
        tot_na += na
    if ignored_seen:
        print("  (left out of every predicate: %s)" % "; ".join(
            "%s: %s" % (", ".join(sorted(k for k in ignored_seen if ignored_seen[k] == why)), why)
            for why in sorted(set(ignored_seen.values()))))
    print("  (each of the %d matched checks with count > 0 was re-run with every mapped value changed, one at a "
          "time: %s)" % (teeth[0], "every change broke the match" if not teeth[1] else
                         "%d changes did not, see 'weak' above" % teeth[1]))
    pct = 100.0 * tot_m / tot_a if tot_a else 0.0
    print("suricata-verify total: matched %d/%d applicable checks = %.1f%% (%d not applicable)" %
          (tot_m, tot_a, pct, tot_na))
    result("suricata-verify conformance >= 90%% (%d/%d = %.1f%%)" % (tot_m, tot_a, pct),
           tot_a > 0 and tot_m >= THRESHOLD * tot_a)
    dpct = 100.0 * der_m / der_n if der_n else 0.0
    result("suricata-verify signature-derived file/DNS checks >= 90%% (%d/%d = %.1f%%)" % (der_m, der_n, dpct),
           der_n > 0 and der_m >= THRESHOLD * der_n)


# ---------------------------------------------------------------- rules

def network_rules_mention(words):
    """Which rule files under rules/network/ mention any of the words (case-insensitive)."""
    hits = []
    for p in sorted(glob.glob(os.path.join(L.ROOT, "rules", "network", "**", "*.yml"), recursive=True)):
        try:
            with open(p, encoding="utf-8", errors="replace") as fh:
                t = fh.read().lower()
        except OSError:
            continue
        if any(w.lower() in t for w in words):
            hits.append(os.path.relpath(p, L.ROOT))
    return hits


def check_alert(name, run, ip, keywords, rule_words, what, must=None):
    """An alert naming ip whose rule name or reason matches one of keywords (and
    contains `must`, when given)."""
    kw = re.compile("|".join(keywords), re.I)
    about_ip = [a for a in run.alerts if L.alert_mentions_ip(a, ip)]
    hits = [a for a in about_ip if kw.search(L.alert_text(a)) and (must is None or must in L.alert_text(a))]
    if hits:
        result("%s: %s alert for %s (%s)" % (name, what, ip, hits[0]["rule"].get("name")), True)
        return
    rules = network_rules_mention(rule_words)
    if not os.path.isdir(os.path.join(L.ROOT, "rules", "network")):
        why = "missing rule: rules/network/ does not exist yet"
    elif not rules:
        why = "missing rule: no rule in rules/network/ mentions %s" % " / ".join(rule_words)
    else:
        why = "no such alert from %s (alerts naming %s: %s)" % (
            ", ".join(rules), ip, ", ".join(sorted({a["rule"].get("name", "?") for a in about_ip})) or "none")
    result("%s: %s alert for %s" % (name, what, ip), False, why)


# ---------------------------------------------------------------- Zeek traces

IRC_CORE = {"NICK", "USER", "JOIN", "PART", "PRIVMSG", "NOTICE", "QUIT", "TOPIC", "KICK", "INVITE", "OPER"}


def zeek_irc(path):
    name = os.path.basename(path)
    streams = L.tcp_streams(path)
    if streams is None:
        result("zeek %s" % name, False, "tshark not installed (scripts/deps.sh)")
        return
    cmds, nicks, users, chans, targets = set(), set(), set(), set(), set()
    ncmd = 0
    for s in streams.values():
        text = s["c2s"].decode("utf-8", "replace")
        if not re.match(r"(@\S+ )?(:\S+ )?(CAP|NICK|USER|PASS)\b", text, re.I):
            continue   # DCC data and chat connections: not the IRC control stream
        for line in text.split("\n"):
            pr = L.irc_parse(line)
            if not pr:
                continue
            cmd, params = pr
            ncmd += 1
            cmds.add(cmd)
            if cmd == "NICK" and params:
                nicks.add(params[0])
            elif cmd == "USER" and params:
                users.add(params[0])
            elif cmd == "JOIN" and params and params[0] not in ("", "0"):
                chans.update(c for c in params[0].split(",") if c)
            elif cmd in ("PRIVMSG", "NOTICE") and params:
                targets.update(t for t in params[0].split(",") if t)
    run = L.ingest(path)
    irc = [e for e in run.events if action(e).startswith("irc-")]
    got_cmds = {str(c).upper() for e in irc for c in values(e, "irc.command")}
    got_nicks = {str(x) for e in irc for x in values(e, "irc.nick")}
    got_users = {str(x) for e in irc for x in values(e, "irc.user")}
    got_chans = {str(x) for e in irc for x in values(e, "irc.channel")}
    got_targets = {str(x) for e in irc for x in values(e, "irc.target")} | got_chans
    core = cmds & IRC_CORE
    print("zeek %s: %d client commands (%s); mamori %d irc events, commands %s" %
          (name, ncmd, " ".join(sorted(cmds)), len(irc), " ".join(sorted(got_cmds)) or "none"))
    print("  commands seen: %d/%d (all), %d/%d (%s)" % (len(cmds & got_cmds), len(cmds), len(core & got_cmds),
                                                         len(core), " ".join(sorted(core))))
    miss = sorted(core - got_cmds)
    result("zeek %s: IRC commands %s each logged" % (name, " ".join(sorted(core))), not miss,
           "missing irc.command %s" % " ".join(miss))
    for label, want, got in (("NICK", nicks, got_nicks), ("USER", users, got_users), ("JOIN channel", chans, got_chans),
                             ("PRIVMSG/NOTICE target", targets, got_targets)):
        if not want:
            continue
        miss = sorted(want - got)
        result("zeek %s: %s %s in irc events" % (name, label, " ".join(sorted(want))), not miss,
               "missing %s; mamori has %s" % (" ".join(miss), short(sorted(got), 120)))
    # DCC SEND: the offer names the file, the listener's address (a decimal integer)
    # and port, and the size; the offering side sends the bytes on that connection
    dcc = re.findall(r"DCC SEND (\S+) (\d+) (\d+) (\d+)", "".join(s["c2s"].decode("latin-1") for s in streams.values()))
    for fname, addr, port, size in dcc:
        ip = ".".join(str(int(addr) >> k & 255) for k in (24, 16, 8, 0))
        data = [s["s2c"] for s in streams.values() if s["server"] == (ip, int(port))]
        truth = hashlib.sha256(data[0]).hexdigest() if data else None
        files = [e for e in run.events if is_file(e) and first(e, "file.name") == fname]
        print("zeek %s: DCC SEND %s (%s bytes) from %s:%s; tshark %s bytes on that connection; mamori file events %s" %
              (name, fname, size, ip, port, len(data[0]) if data else "no",
               [(first(e, "file.size"), first(e, "file.truncated"), protocol(e), first(e, "irc.nick")) for e in files]
               or "none"))
        ok = [e for e in files if first(e, "file.size") == int(size) and not first(e, "file.truncated")
              and first(e, "file.hash.sha256") == truth and protocol(e) == "irc-dcc"]
        result("zeek %s: DCC SEND %s carved whole (%s bytes, sha256 as on the wire)" % (name, fname, size),
               len(ok) == 1, "file events %s" % short([(first(e, "file.size"), first(e, "file.hash.sha256"))
                                                        for e in files], 200))


def zeek_logins(path, proto, truth_filter, minimum, notice):
    name = os.path.basename(path)
    ip = "192.168.56.1"
    truth = L.tshark_fields(path, truth_filter, ["frame.number"]) if truth_filter else None
    ntruth = len(truth) if truth is not None else None
    run = L.ingest(path)
    act = proto + "-login"
    logins = [e for e in run.events if action(e) == act]
    fails = [e for e in logins if first(e, "event.outcome") == "failure" and first(e, "source.ip") == ip]
    other = {}
    for e in logins:
        k = "%s/%s" % (first(e, "event.outcome"), first(e, "source.ip"))
        other[k] = other.get(k, 0) + 1
    print("zeek %s: %s events by outcome/source %s; tshark: %s; Zeek: %s" %
          (name, act, other or "none", ("%d failed attempts" % ntruth) if ntruth is not None
           else "n/a (encrypted)", notice))
    if proto == "ftp" and ntruth is not None:
        result("zeek %s: one failed ftp-login from %s per 530 reply (%d)" % (name, ip, ntruth),
               len(fails) == ntruth and ntruth >= minimum, "mamori %d" % len(fails))
    else:
        result("zeek %s: >= %d failed %s events from %s" % (name, minimum, act, ip), len(fails) >= minimum,
               "mamori %d" % len(fails))
    check_alert("zeek %s" % name, run, ip, [r"brute", r"guess", r"spray"],
                [act, "outcome: failure"], "%s brute-force" % proto.upper())


def zeek_traces():
    root = os.path.join(L.CORPORA, "pcap", "zeek")
    if not os.path.isdir(root):
        result("zeek traces", False, "no corpus under %s" % root)
        return
    print("== Zeek traces")
    for f in ("irc-basic.pcap", "irc-more-commands.pcap", "irc-dcc-send.pcapng"):
        zeek_irc(os.path.join(root, f))
    zeek_logins(os.path.join(root, "ssh_sshguess.pcap"), "ssh", None, 10,
                "192.168.56.1 appears to be guessing SSH passwords (seen in 10 connections)")
    zeek_logins(os.path.join(root, "ftp_bruteforce.pcap"), "ftp", "ftp.response.code == 530", 20,
                "192.168.56.1 had 20 failed logins on 1 FTP server in 0m37s")


# ---------------------------------------------------------------- nDPI

EXE_MIME = re.compile(r"application/(x-dosexec|x-msdownload|x-msdos-program|vnd\.microsoft\.portable-executable|"
                      r"x-executable|x-sharedlib|x-pie-executable|x-mach-binary|x-elf)", re.I)

NDPI_TO_MAMORI = {"DNS": "dns", "HTTP": "http", "TLS": "tls", "SMTP": "smtp", "FTP_CONTROL": "ftp",
                  "FTP_DATA": "ftp-data", "IRC": "irc", "SSH": "ssh"}
NDPI_RISKS = {"Known Proto on Non Std Port": "known_proto_non_std_port",
              "HTTP/TLS/QUIC Numeric Hostname/SNI": "numeric_host",
              "Binary App Transfer": "binary_transfer",
              "Clear-Text Credentials": "cleartext_credentials"}

FLOW_RE = re.compile(r"^\s*\d+\s+(TCP|UDP)\s+(\[[0-9a-fA-F:.]+\]|[0-9.]+):(\d+)\s+(?:<->|->)\s+"
                     r"(\[[0-9a-fA-F:.]+\]|[0-9.]+):(\d+)\s+(.*)$")


def ndpi_flows(out_path):
    flows = []
    with open(out_path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            m = FLOW_RE.match(line)
            if not m:
                continue
            rest = m.group(6)
            pm = re.search(r"\[proto: [\d.]+/([^\]]+)\]", rest)
            cm = re.search(r"\[Confidence: ([^\]]+)\]", rest)
            rm = re.search(r"\[Risk: ([^\]]*)\]", rest)
            name = pm.group(1).split(".")[0] if pm else "Unknown"
            a = (m.group(2).strip("[]"), int(m.group(3)))
            b = (m.group(4).strip("[]"), int(m.group(5)))
            if name == "SMTPS":   # STARTTLS on a mail port is an SMTP session that turned to TLS
                name = "SMTP" if {a[1], b[1]} & {25, 587} else "TLS"
            risks = set(re.findall(r"\*\* (.*?) \*\*", rm.group(1))) if rm else set()
            flows.append({"transport": m.group(1).lower(), "a": a, "b": b, "proto": name,
                          "conf": cm.group(1) if cm else "", "risks": risks, "line": line.strip()})
    return flows


def ndpi_class_and_risks(pcap, out_path, run, tally):
    mflows = {}
    for e in run.events:
        if not is_flow(e):
            continue
        s, sp, d, dp = L.endpoints(e)
        key = (first(e, "network.transport"), frozenset([(str(s), sp), (str(d), dp)]))
        ent = mflows.setdefault(key, {"protos": set(), "risks": set()})
        if protocol(e):
            ent["protos"].add(protocol(e))
        ent["risks"].update(values(e, "flow.risk"))
    name = os.path.basename(pcap)
    ok = n = 0
    bad = []
    for fl in ndpi_flows(out_path):
        key = (fl["transport"], frozenset([fl["a"], fl["b"]]))
        mf = mflows.get(key)
        want = NDPI_TO_MAMORI.get(fl["proto"])
        if fl["conf"].startswith("DPI") and want:
            n += 1
            if mf and want in mf["protos"]:
                ok += 1
            else:
                bad.append("%s %s:%d <-> %s:%d nDPI %s, mamori %s" % (
                    fl["transport"], fl["a"][0], fl["a"][1], fl["b"][0], fl["b"][1], fl["proto"],
                    ("no flow record" if mf is None else (" ".join(sorted(mf["protos"])) or "unclassified"))))
        elif fl["conf"].startswith("DPI") and fl["proto"] != "Unknown" and mf and mf["protos"]:
            tally["foreign"].append("%s %s:%d <-> %s:%d nDPI %s, mamori %s" % (
                name, fl["a"][0], fl["a"][1], fl["b"][0], fl["b"][1], fl["proto"], " ".join(sorted(mf["protos"]))))
        if mf is not None:
            for nr, mr in NDPI_RISKS.items():
                a, b = nr in fl["risks"], mr in mf["risks"]
                t = tally["risk"].setdefault(mr, [0, 0, 0])
                if a and b:
                    t[0] += 1
                elif a:
                    t[1] += 1
                    tally["risk_only_ndpi"].append("%s %s %s:%d <-> %s:%d (%s)" % (mr, name, fl["a"][0], fl["a"][1],
                                                                                   fl["b"][0], fl["b"][1], fl["proto"]))
                elif b:
                    t[2] += 1
                    tally["risk_only_mamori"].append("%s %s %s:%d <-> %s:%d (%s)" % (
                        mr, name, fl["a"][0], fl["a"][1], fl["b"][0], fl["b"][1], fl["proto"]))
    tally["ok"] += ok
    tally["n"] += n
    if n:
        print("ndpi %s: protocol matched %d/%d flows" % (name, ok, n))
        for b in bad:
            print("  %s" % b)


def fffd_runs(s):
    # tshark and Python replace invalid UTF-8 with U+FFFD at different granularities
    return re.sub("\ufffd+", "\ufffd", s)


def ndpi_dns_names(pcap, run):
    name = os.path.basename(pcap)
    rows = L.tshark_fields(pcap, "dns", ["udp.payload", "tcp.payload", "dns.qry.name"])
    if rows is None:
        result("ndpi %s: DNS query names intact" % name, False, "tshark not installed (scripts/deps.sh)")
        return
    truth = set()
    unparsed = 0
    for r in rows:
        r = r + [b""] * (3 - len(r))
        raw = None
        if r[0]:
            raw = L.dns_qname(bytes.fromhex(r[0].decode().replace(":", "")))
        elif r[1]:
            raw = L.dns_qname(bytes.fromhex(r[1].decode().replace(":", "")), tcp=True)
        if raw is None:
            unparsed += 1
            continue
        # the payload parse must agree with tshark's dissector (which shows bad UTF-8 as U+FFFD)
        if fffd_runs(raw.decode("utf-8", "replace")) != fffd_runs(r[2].decode("utf-8", "replace")):
            unparsed += 1
            continue
        truth.add(L.json_text(raw))
    got = {str(x) for e in run.events if action(e).startswith("dns-") for x in values(e, "dns.question.name")}
    miss = sorted(truth - got)
    extra = sorted(got - truth)
    longest = max((len(x) for x in truth), default=0)
    print("ndpi %s: %d distinct query names in the packets (longest %d chars, %d unparsed); mamori %d; "
          "missing %d, extra %d" % (name, len(truth), longest, unparsed, len(got), len(miss), len(extra)))
    for x in miss[:5]:
        near = [g for g in got if g[:12] == x[:12]]
        print("  missing %r%s" % (short(x, 120), (" (mamori: %r)" % short(near[0], 120)) if near else ""))
    result("ndpi %s: every DNS query name reaches dns.question.name byte-exact (%d names)" % (name, len(truth)),
           truth and not miss and not extra,
           "%d missing, %d extra" % (len(miss), len(extra)))


def ndpi():
    root = os.path.join(L.CORPORA, "pcap", "ndpi")
    pcaps = sorted(glob.glob(os.path.join(root, "pcap", "*")))
    if not pcaps:
        result("ndpi", False, "no corpus under %s" % root)
        return
    print("== nDPI")
    runs = {os.path.basename(p): L.ingest(p) for p in pcaps}

    # a PE served as a PNG
    r = runs.get("exe_download_as_png.pcap")
    if r:
        files = [e for e in r.events if is_file(e)]
        hit = [e for e in files if EXE_MIME.search(str(first(e, "file.mime_type", "")))
               and (str(first(e, "file.extension", "")).lower() == "png" or str(first(e, "file.name", "")).lower().endswith(".png"))]
        print("ndpi exe_download_as_png.pcap: file events %s" % (
            [(first(e, "file.name"), first(e, "file.extension"), first(e, "file.mime_type")) for e in files] or "none"))
        result("ndpi exe_download_as_png.pcap: tablone.png is typed as an executable by content", bool(hit))
        check_alert("ndpi exe_download_as_png.pcap", r, "10.9.25.101",
                    [r"extension", r"mismatch", r"disguis", r"masquerad", r"misleading"],
                    ["file.extension", "mime_type"], "misleading-extension", must="tablone.png")

    # a PE pushed down a raw TCP connection: a Meterpreter stage (4-byte length, then
    # the DLL) on 4444, and again on TCP 53; nothing but the stage on the wire
    r = runs.get("portable_executable.pcap")
    if r:
        path = os.path.join(root, "pcap", "portable_executable.pcap")
        streams = L.tcp_streams(path) or {}
        truth = {}
        for st in streams.values():
            if len(st["s2c"]) > 4 and st["s2c"][4:6] == b"MZ":
                truth[st["server"][1]] = (hashlib.sha256(st["s2c"][4:]).hexdigest(), len(st["s2c"]) - 4,
                                          struct.unpack("<I", st["s2c"][:4])[0])
        files = [e for e in r.events if is_file(e)]
        print("ndpi portable_executable.pcap: tshark: stages %s; mamori file events %s" % (
            sorted((p, n, decl) for p, (_, n, decl) in truth.items()),
            [(protocol(e), first(e, "destination.port"), first(e, "file.size"), first(e, "file.truncated"),
              first(e, "file.mime_type")) for e in files] or "none"))
        pe = [e for e in files if protocol(e) == "raw-file" and EXE_MIME.search(str(first(e, "file.mime_type", "")))
              and first(e, "destination.port") in truth
              and (first(e, "file.hash.sha256"), first(e, "file.size")) == truth[first(e, "destination.port")][:2]]
        result("ndpi portable_executable.pcap: each stage sent over raw TCP is a file event typed as a PE, "
               "bytes as on the wire (%d of %d)" % (len(pe), len(truth)), truth and len(pe) == len(truth))
        off = [e for e in r.events if is_flow(e) and "known_proto_non_std_port" in values(e, "flow.risk")]
        result("ndpi portable_executable.pcap: raw-file flows are not a known protocol on a non-standard port",
               not off, "%d flows flagged" % len(off))
        check_alert("ndpi portable_executable.pcap", r, "172.16.99.201", [r"raw TCP"], ["raw-file"],
                    "executable over raw TCP", must="4444")

    r = runs.get("emotet.pcap")
    if r:
        ua = "vBKbaQgjyvRRbcgfvlsc"
        uas = [e for e in r.events if first(e, "user_agent.original") == ua and protocol(e) == "http"
               and not is_file(e)]
        result("ndpi emotet.pcap: http event with user_agent.original %s" % ua, bool(uas),
               "user agents seen: %s" % short(sorted({str(first(e, "user_agent.original")) for e in r.events
                                                      if first(e, "user_agent.original")}), 200))
        files = [e for e in r.events if is_file(e)]
        dll = [e for e in files if str(first(e, "file.name", "")).lower().endswith(".dll")
               and EXE_MIME.search(str(first(e, "file.mime_type", "")))]
        print("ndpi emotet.pcap: file events %s" % short(
            [(first(e, "file.name"), first(e, "file.mime_type"), first(e, "file.size")) for e in files] or "none", 400))
        result("ndpi emotet.pcap: the downloaded dlls are file events typed as executables (%d of 2)" % len(dll),
               len(dll) >= 1)
        check_alert("ndpi emotet.pcap", r, "10.4.25.101", [r"user.?agent", r"\bUA\b"],
                    ["user_agent.original"], "abnormal User-Agent", must=ua)

    for f in ("dns-tunnel-iodine.pcap", "dns_exfiltration.pcap"):
        if f in runs:
            ndpi_dns_names(os.path.join(root, "pcap", f), runs[f])

    tally = {"ok": 0, "n": 0, "risk": {}, "risk_only_ndpi": [], "risk_only_mamori": [], "foreign": []}
    for p in pcaps:
        out = os.path.join(root, "result", os.path.basename(p) + ".out")
        if os.path.isfile(out):
            ndpi_class_and_risks(p, out, runs[os.path.basename(p)], tally)
    for x in tally["foreign"]:
        print("  (informational) nDPI names another protocol: %s" % x)
    pct = 100.0 * tally["ok"] / tally["n"] if tally["n"] else 0.0
    print("ndpi total: protocol matched %d/%d flows = %.1f%% (flows nDPI classified by payload as DNS, HTTP, TLS, "
          "SMTP, FTP, IRC, SSH)" % (tally["ok"], tally["n"], pct))
    result("ndpi per-flow protocol agreement >= 90%% (%d/%d = %.1f%%)" % (tally["ok"], tally["n"], pct),
           tally["n"] > 0 and tally["ok"] >= THRESHOLD * tally["n"])
    for mr, (both, on, om) in sorted(tally["risk"].items()):
        print("ndpi flow risk %s (informational): both %d, only nDPI %d, only mamori %d" % (mr, both, on, om))
    for x in tally["risk_only_ndpi"][:10]:
        print("  only nDPI: %s" % x)
    for x in tally["risk_only_mamori"][:10]:
        print("  only mamori: %s" % x)
    slow = max(runs.items(), key=lambda kv: kv[1].seconds)
    print("ndpi: slowest capture %s %.2fs" % (slow[0], slow[1].seconds))


# ---------------------------------------------------------------- bad input

def hostile_sessions(add_session):
    """TCP conversations that start like each protocol and then lie: lengths that
    overflow, lines without end, nesting without end, values out of range."""
    rnd = random.Random(99)
    junk = bytes(rnd.getrandbits(8) for _ in range(6000))
    big_line = b"A" * 200000
    add_session("HTTP: Content-Length of 30 digits, chunk size 16 hex digits", 80, [
        (0, b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n"),
        (1, b"HTTP/1.1 200 OK\r\nContent-Length: 999999999999999999999999999999\r\n\r\n" + junk),
        (0, b"POST /b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFF\r\nabc\r\n"
            b"-1\r\n\r\n" + junk)], "http")
    add_session("HTTP: 200 KB header line, 10000 headers", 80, [
        (0, b"GET /" + big_line + b" HTTP/1.1\r\n" + b"X-A: b\r\n" * 10000 + b"\r\n"),
        (1, b"HTTP/1.1 206 Partial\r\nContent-Range: bytes 18446744073709551615-0/1\r\n"
            b"Content-Length: 5\r\n\r\nhello")], "http")
    nest = b"".join(b"--b%d\r\nContent-Type: multipart/mixed; boundary=b%d\r\n\r\n" % (i, i + 1) for i in range(3000))
    add_session("SMTP: 3000 nested multiparts, bad base64, 200 KB line", 25, [
        (1, b"220 x\r\n"), (0, b"EHLO a\r\n"), (1, b"250 ok\r\n"), (0, b"MAIL FROM:<a@b>\r\n"), (1, b"250 ok\r\n"),
        (0, b"RCPT TO:<c@d>\r\n"), (1, b"250 ok\r\n"), (0, b"DATA\r\n"), (1, b"354 go\r\n"),
        (0, b"Content-Type: multipart/mixed; boundary=b0\r\n\r\n" + nest +
            b"Content-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename*0=a; filename*99999=b\r\n\r\n"
            b"====!!!!" + big_line + b"\r\n.\r\n"),
        (1, b"250 ok\r\n"), (0, b"AUTH PLAIN " + b"=" * 5000 + b"\r\n"), (1, b"535 no\r\n")], "smtp")
    add_session("SMTP: BDAT with a 20-digit size", 25, [
        (1, b"220 x\r\n"), (0, b"EHLO a\r\n"), (1, b"250-CHUNKING\r\n250 ok\r\n"),
        (0, b"MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nBDAT 99999999999999999999 LAST\r\n" + junk)], "smtp")
    add_session("FTP: PASV/PORT out of range, 200 KB reply", 21, [
        (1, b"220 x\r\n"), (0, b"USER a\r\n"), (1, b"331 p\r\n"), (0, b"PASS b\r\n"), (1, b"230 ok\r\n"),
        (0, b"PASV\r\n"), (1, b"227 Entering Passive Mode (999,999,999,999,999,999)\r\n"),
        (0, b"PORT 1,2,3,4,5\r\nEPRT |9|::1|99999|\r\n"), (1, b"229 Entering (|||-1|)\r\n"),
        (0, b"RETR a\r\n"), (1, b"150-" + big_line + b"\r\n")], "ftp")
    add_session("IRC: 200 KB line, DCC SEND with overflowing numbers", 6667, [
        (0, b"NICK a\r\nUSER a 0 * :a\r\nJOIN " + b"#c," * 20000 + b"\r\n"),
        (0, b"PRIVMSG b :\x01DCC SEND f 99999999999999999999 99999 99999999999999999999\x01\r\n"),
        (1, b":s 001 a :" + big_line + b"\r\n")], "irc")
    add_session("SSH: 200 KB banner, packet length 0xffffffff", 22, [
        (1, b"SSH-2.0-" + big_line + b"\r\n"), (0, b"SSH-2.0-x\r\n\xff\xff\xff\xff" + junk)], "ssh")
    hello = (b"\x03\x03" + b"\x11" * 32 + b"\x20" + b"\x22" * 32 + b"\xff\xfe\x13\x01" + b"\x01\x00" +
             b"\xff\xf0\x00\x00\xff\x00")            # cipher suites and extensions longer than the message
    hello = hello.ljust(300, b"\x00")
    add_session("TLS: ClientHello whose inner lengths overflow", 443, [
        (0, b"\x16\x03\x01" + struct.pack(">H", len(hello) + 4) + b"\x01" + struct.pack(">I", len(hello))[1:] + hello),
        (1, b"\x16\x03\x03\x00\x05\x02\xff\xff\xff\x00" + junk[:500])], "tls")
    loop = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\xc0\x0c\x00\x01\x00\x01"
    good = bytes.fromhex("abcd0100000100000000000003777777076578616d706c6503636f6d0000010001")
    add_session("DNS over TCP: a query, then a compression loop and a zero length", 53, [
        (0, struct.pack(">H", len(good)) + good + struct.pack(">H", len(loop)) + loop + b"\x00\x00" + junk[:100])],
        "dns")
    add_session("random bytes to every analyzer port", 80, [(0, junk), (1, junk[::-1])])
    for port in (25, 21, 6667, 22, 443, 53):
        add_session("random bytes on port %d" % port, port, [(1, junk[:3000]), (0, junk[3000:])])


def make_bad_cases(tmp):
    """-> [(label, path)], plus the label of the mid-capture cut."""
    src = os.path.join(L.CORPORA, "pcap", "suricata-verify", "smtp-eve", "input.pcap")
    with open(src, "rb") as fh:
        data = fh.read()
    hdr, bo, linktype, recs = L.read_pcap(src)
    rnd = random.Random(1234)
    cases = []

    def path_of(label):
        return os.path.join(tmp, "%02d_%s.pcap" % (len(cases), re.sub(r"[^a-z0-9]+", "_", label.lower())[:40]))

    def add(label, blob):
        p = path_of(label)
        with open(p, "wb") as fh:
            fh.write(blob)
        cases.append((label, p, None))

    def add_session(label, port, turns, proto=None):
        p = path_of(label)
        L.tcp_session(p, turns, dport=port)
        cases.append((label, p, proto))

    for cut in (0, 3, 23, 24, 30, 24 + 16 + 20, len(data) // 3, len(data) // 2, len(data) - 1):
        add("cut at %d of %d bytes" % (cut, len(data)), data[:cut])
    add("not a capture", b"hello, this is not a pcap file\n" * 10)
    # packet bytes replaced by noise, record headers kept
    add("random packet bytes", hdr + b"".join(h + bytes(rnd.getrandbits(8) for _ in range(len(d))) for h, d in recs))
    # corpus packets with bits flipped past the Ethernet header
    out = []
    for h, d in recs:
        d = bytearray(d)
        for _ in range(max(1, len(d) // 20)):
            d[rnd.randrange(14, len(d)) if len(d) > 14 else 0] ^= 1 << rnd.randrange(8)
        out.append((h, bytes(d)))
    add("bit-flipped packets", hdr + b"".join(h + d for h, d in out))
    # random lengths (0..1600) under each link type the sensor decodes
    for lt in (1, 101, 113, 276, 0):
        out = []
        for i in range(300):
            n = rnd.choice([0, 1, 13, 14, 20, 40, 60, rnd.randrange(0, 1600)])
            out.append((L.record_header(bo, 1000 + i, 0, n, n), bytes(rnd.getrandbits(8) for _ in range(n))))
        add("random packets, linktype %d" % lt, hdr[:20] + struct.pack(bo + "I", lt) + b"".join(h + d for h, d in out))
    add("record of 0xfffffff0 bytes", hdr + recs[0][0][:8] + struct.pack(bo + "II", 0xfffffff0, 0xfffffff0) + recs[0][1])
    add("caplen > wirelen", hdr + recs[0][0][:8] + struct.pack(bo + "II", len(recs[0][1]), 10) + recs[0][1])
    # IPv4 headers lying about their lengths (IHL, total length) over a real TCP packet
    lies = []
    for ihl, tot in ((15, None), (5, 0xffff), (5, 10), (0, None)):
        x = bytearray(recs[5][1])
        x[14] = (x[14] & 0xf0) | ihl
        if tot is not None:
            x[16:18] = struct.pack(">H", tot)
        lies.append((recs[5][0], bytes(x)))
    add("lying IPv4 header lengths", hdr + b"".join(h + d for h, d in lies))
    hostile_sessions(add_session)
    return cases, "cut at %d " % (len(data) // 2)


def bad_input(cases, mid_cut):
    print("== bad input (%d captures)" % len(cases))
    for label, p, proto in cases:
        try:
            r = L.ingest(p, alerts=True, timeout=60)
            # without --json the summary goes to stderr as text
            with tempfile.TemporaryDirectory() as t2:
                q = subprocess.run([L.BIN, "--db", os.path.join(t2, "x.db"), "ingest", "--pcap", "--no-store",
                                    "--events", p], stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        except subprocess.TimeoutExpired:
            result("bad input: %s" % label, False, "did not finish in 60 s")
            continue
        err = q.stderr.decode("utf-8", "replace")
        why = []
        for rc, what in ((r.rc, "--json"), (q.returncode, "text")):
            if rc < 0 or rc > 1:
                why.append("%s run exit %d%s" % (what, rc, " (signal %d)" % -rc if rc < 0 else ""))
        if q.returncode == 1 and os.path.basename(p) not in err:
            why.append("exit 1 without naming the file: %s" % short(err.strip(), 120))
        if not re.search(r"^sensor: \d+ packets", err, re.M) or not re.search(r"^ingested ", err, re.M):
            why.append("no summary on stderr")
        if r.summary is None:
            why.append("no {\"summary\"} with --json")
        if r.bad_lines:
            why.append("%d stdout lines are not JSON" % len(r.bad_lines))
        if proto:
            # hostile data a known analyzer took: it must be counted, not silently dropped
            got = sorted({protocol(e) for e in r.events if is_flow(e)})
            if got != [proto]:
                why.append("flow classified %s, not %s" % (got or "none", proto))
            if not (r.summary or {}).get("app_errors"):
                why.append("malformed %s data not counted (summary app_errors 0)" % proto)
        result("bad input: %s (exit %d, %s packets, %d events, %s app errors)" % (
            label, q.returncode, (r.summary or {}).get("packets"), len(r.events), (r.summary or {}).get("app_errors")),
            not why, "; ".join(why))
    # what was read before a cut is analysed: the DNS exchange at the start survives
    cut = [c[1] for c in cases if c[0].startswith(mid_cut)][0]
    r = L.ingest(cut, alerts=False)
    dns = [e for e in r.events if action(e).startswith("dns-")]
    result("bad input: a capture cut in the middle still gives the events before the cut (%d dns)" % len(dns),
           len(dns) == 2)


def asan_pass(cases):
    """Every corpus capture and every bad input through the sanitizer build
    (build-asan/mamori, made by `make test`; MAMORI_ASAN overrides)."""
    binary = os.environ.get("MAMORI_ASAN") or os.path.join(L.ROOT, "build-asan", "mamori")
    if not os.path.isabs(binary):
        binary = os.path.join(L.ROOT, binary)
    if not os.access(binary, os.X_OK):
        print("(sanitizer pass skipped: no %s; `make test` builds it)" % binary)
        return
    os.environ.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
    os.environ.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
    pcaps = sorted(glob.glob(os.path.join(L.CORPORA, "pcap", "suricata-verify", "*", "input.pcap")) +
                   glob.glob(os.path.join(L.CORPORA, "pcap", "zeek", "*.pcap*")) +
                   glob.glob(os.path.join(L.CORPORA, "pcap", "ndpi", "pcap", "*")))
    t0 = time.monotonic()
    bad = []
    for p in pcaps + [c[1] for c in cases]:
        try:
            r = L.ingest(p, alerts=True, timeout=300, binary=binary)
        except subprocess.TimeoutExpired:
            bad.append("%s: did not finish in 300 s" % os.path.basename(p))
            continue
        rep = re.search(r"(ERROR: \w+Sanitizer.*|runtime error:.*)", r.stderr)
        if r.rc < 0 or r.rc > 1 or rep:
            bad.append("%s: exit %d %s" % (os.path.relpath(p, L.CORPORA) if p.startswith(L.CORPORA) else
                                           os.path.basename(p), r.rc,
                                           rep.group(1)[:200] if rep else short(r.stderr.strip().split("\n")[0], 120)))
    print("sanitizer pass: %d captures through %s in %.1fs" % (len(pcaps) + len(cases),
                                                             os.path.relpath(binary, L.ROOT), time.monotonic() - t0))
    for b in bad:
        print("  %s" % b)
    result("no sanitizer report over %d corpus and bad-input captures" % (len(pcaps) + len(cases)), not bad,
           "%d captures: %s" % (len(bad), "; ".join(bad[:3])))


# ---------------------------------------------------------------- main

def main():
    t0 = time.monotonic()
    if not os.access(L.BIN, os.X_OK):
        print("FAIL sensor_conformance: %s not built" % L.BIN)
        return 1
    if not os.path.isdir(os.path.join(L.CORPORA, "pcap")):
        print("FAIL sensor_conformance: no corpus under %s" % L.CORPORA)
        return 1
    if not L.TSHARK:
        print("FAIL sensor_conformance: tshark not installed (scripts/deps.sh installs it); "
              "IRC and DNS truth need it")
    suricata_verify()
    zeek_traces()
    ndpi()
    with tempfile.TemporaryDirectory(prefix="mm-sensor-bad-") as tmp:
        cases, mid_cut = make_bad_cases(tmp)
        bad_input(cases, mid_cut)
        asan_pass(cases)
    print("sensor_conformance: %.1fs" % (time.monotonic() - t0))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
