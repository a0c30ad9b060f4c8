#!/usr/bin/env python3
"""Replicate the corpus captures into one large pcap for `make bench` (issue #4).

Usage: gen_pcap_mix.py OUT.pcap MIN_BYTES FILE.pcap...

Every Ethernet pcap given is appended again and again until the output holds at
least MIN_BYTES of packet data.  Each replica shifts the IPv4 addresses (second
octet + replica number) so its flows are new flows, and its timestamps continue
after the previous packet, so time only moves forward as on a real link.  pcapng
and non-Ethernet files are skipped (ndpiReader and tshark read the same output)."""
import struct
import sys


def read_pcap(path):
    d = open(path, 'rb').read()
    if len(d) < 24:
        return None
    magic = d[:4]
    if magic == b'\xd4\xc3\xb2\xa1':
        e, nano = '<', False
    elif magic == b'\x4d\x3c\xb2\xa1':
        e, nano = '<', True
    elif magic == b'\xa1\xb2\xc3\xd4':
        e, nano = '>', False
    else:
        return None
    if struct.unpack(e + 'I', d[20:24])[0] != 1:
        return None
    pkts, off = [], 24
    while off + 16 <= len(d):
        s, frac, cl, wl = struct.unpack(e + 'IIII', d[off:off + 16])
        off += 16
        if off + cl > len(d):
            break
        us = frac // 1000 if nano else frac
        pkts.append((s * 1000000 + us, d[off:off + cl], wl))
        off += cl
    return pkts


def shift_ipv4(frame, k):
    # Ethernet (+ up to two VLAN tags) then IPv4: bump the second octet of both
    # addresses; checksums are left as they are (none of the readers checks them)
    off, et = 12, frame[12:14]
    while et in (b'\x81\x00', b'\x88\xa8') and off + 6 <= len(frame):
        off += 4
        et = frame[off:off + 2]
    ip = off + 2
    if et != b'\x08\x00' or len(frame) < ip + 20:
        return frame
    b = bytearray(frame)
    b[ip + 13] = (b[ip + 13] + k) & 0xff
    b[ip + 17] = (b[ip + 17] + k) & 0xff
    return bytes(b)


def main():
    out, need, files = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    caps = [p for p in (read_pcap(f) for f in files) if p]
    if not caps:
        sys.exit('gen_pcap_mix: no Ethernet pcap among the inputs')
    total, t, k, npk = 0, 1700000000 * 1000000, 0, 0
    with open(out, 'wb') as o:
        o.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 262144, 1))
        while total < need:
            k += 1
            for pk in caps:
                t0 = pk[0][0]
                for ts, data, wl in pk:
                    dt = ts - t0
                    if dt < 0 or dt > 3600 * 1000000:
                        dt = 0
                    tt = t + dt
                    data = shift_ipv4(data, k)
                    o.write(struct.pack('<IIII', tt // 1000000, tt % 1000000, len(data), wl))
                    o.write(data)
                    total += len(data)
                    npk += 1
                t = tt + 1000000
    print('bench_pcap_mix_bytes %d bytes' % total)
    print('bench_pcap_mix_packets %d packets' % npk)
    print('bench_pcap_mix_replicas %d' % k)


if __name__ == '__main__':
    main()
