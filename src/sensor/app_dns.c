/* app_dns: DNS over UDP and TCP (RFC 1035; RFC 7766 framing, a 2-byte length before
 * each message).  One event per message, like Suricata's EVE: "dns-query" for a
 * question, "dns-answer" for a response with its answer records in parallel lists.
 *
 * Names are decompressed with pointers that must go strictly backwards from where the
 * current run of labels began, so no loop is possible, plus a jump cap and the 255-byte
 * wire-length cap of RFC 1035 §2.3.4.  A message with a bad name is counted and dropped;
 * one cut short inside its records is counted and logged with the records before the
 * cut.  Query names are kept whole, byte for byte: DNS tunnels (iodine, dnscat) put
 * 200+ bytes of binary-ish labels there and those names are the evidence. */
#include "sensor_int.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DNS_HDR 12
#define DNS_NAME_MAX 255     /* wire length, including the root label */
#define DNS_MAX_JUMPS 64     /* redundant with "backwards only", but cheap */
#define DNS_MAX_RRS 64       /* answer records put in one event */
#define DNS_TCP_BUF (2 + 65535)
#define DNS_HEX_MAX 64       /* rdata bytes shown (as hex) for types without a text form */
#define DNS_DATA_MAX 1024    /* text of one record's data */

static const uint16_t ports[] = {53, 5353, 5355, 0};

enum { NAME_OK = 0, NAME_TRUNC = -1, NAME_BAD = -2 };

/* Decode the name at *off into out (at least 256 bytes; labels joined by '.', bytes as
 * they are) and move *off past the name as it sits at *off.  m/n is the whole message,
 * which compression pointers index. */
static int dns_name(const uint8_t *m, size_t n, size_t *off, char *out, size_t *outlen) {
    size_t pos = *off, after = 0, limit = *off, wire = 0, o = 0;
    int jumps = 0;
    for (;;) {
        if (pos >= n) return NAME_TRUNC;
        uint8_t c = m[pos];
        if ((c & 0xc0) == 0xc0) {
            if (pos + 1 >= n) return NAME_TRUNC;
            size_t tgt = ((size_t)(c & 0x3f) << 8) | m[pos + 1];
            if (!jumps) after = pos + 2;
            /* Backwards from the start of the labels read since the last jump: every
             * jump lowers `limit`, so the walk ends. */
            if (tgt >= limit || ++jumps > DNS_MAX_JUMPS) return NAME_BAD;
            limit = pos = tgt;
            continue;
        }
        if (c & 0xc0) return NAME_BAD;   /* 0x40/0x80 label types: obsolete, unused */
        wire += 1u + c;
        if (wire > DNS_NAME_MAX) return NAME_BAD;
        pos++;
        if (c == 0) break;
        if (pos + c > n) return NAME_TRUNC;
        if (o) out[o++] = '.';
        memcpy(out + o, m + pos, c);    /* o + c < wire <= 255: fits */
        o += c;
        pos += c;
    }
    out[o] = 0;
    if (outlen) *outlen = o;
    *off = jumps ? after : pos;
    return NAME_OK;
}

static uint16_t be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static const char *type_name(uint16_t t, char tmp[16]) {
    switch (t) {
    case 1: return "A";
    case 2: return "NS";
    case 5: return "CNAME";
    case 6: return "SOA";
    case 10: return "NULL";
    case 12: return "PTR";
    case 13: return "HINFO";
    case 15: return "MX";
    case 16: return "TXT";
    case 28: return "AAAA";
    case 33: return "SRV";
    case 35: return "NAPTR";
    case 39: return "DNAME";
    case 41: return "OPT";
    case 43: return "DS";
    case 46: return "RRSIG";
    case 47: return "NSEC";
    case 48: return "DNSKEY";
    case 50: return "NSEC3";
    case 52: return "TLSA";
    case 64: return "SVCB";
    case 65: return "HTTPS";
    case 99: return "SPF";
    case 251: return "IXFR";
    case 252: return "AXFR";
    case 255: return "ANY";
    case 257: return "CAA";
    }
    snprintf(tmp, 16, "TYPE%u", t);
    return tmp;
}

static const char *class_name(uint16_t c, char tmp[16]) {
    switch (c) {
    case 1: return "IN";
    case 3: return "CH";
    case 4: return "HS";
    case 254: return "NONE";
    case 255: return "ANY";
    }
    snprintf(tmp, 16, "CLASS%u", c);
    return tmp;
}

static const char *rcode_name(unsigned r, char tmp[16]) {
    static const char *const names[] = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN",
                                        "NOTIMP", "REFUSED", "YXDOMAIN", "YXRRSET",
                                        "NXRRSET", "NOTAUTH", "NOTZONE"};
    if (r < sizeof names / sizeof names[0]) return names[r];
    snprintf(tmp, 16, "RCODE%u", r);
    return tmp;
}

/* ---- message walking ---- */

typedef struct rr {
    size_t name_off;          /* where the owner name starts */
    uint16_t type;
    uint32_t ttl;
    size_t rd, rdlen;         /* rdata offset and length */
} rr;

/* One resource record at *off.  Validates every name in it (owner and the names in
 * the rdata of the types we print) so the emit pass cannot fail halfway. */
static int rr_parse(const uint8_t *m, size_t n, size_t *off, rr *r) {
    char tmp[256];
    r->name_off = *off;
    int rc = dns_name(m, n, off, tmp, NULL);
    if (rc) return rc;
    if (*off + 10 > n) return NAME_TRUNC;
    const uint8_t *p = m + *off;
    r->type = be16(p);
    r->ttl = be32(p + 4);
    r->rdlen = be16(p + 8);
    r->rd = *off + 10;
    if (r->rd + r->rdlen > n) return NAME_TRUNC;
    *off = r->rd + r->rdlen;
    size_t end = r->rd + r->rdlen, q = r->rd;
    switch (r->type) {
    case 2: case 5: case 12: case 39: case 6:   /* names first: NS CNAME PTR DNAME SOA */
        rc = dns_name(m, n, &q, tmp, NULL);
        if (!rc && q > end) rc = NAME_BAD;
        return rc;
    case 15:   /* MX */
        if (r->rdlen < 3) return NAME_BAD;
        q += 2;
        rc = dns_name(m, n, &q, tmp, NULL);
        if (!rc && q > end) rc = NAME_BAD;
        return rc;
    case 33:   /* SRV */
        if (r->rdlen < 7) return NAME_BAD;
        q += 6;
        rc = dns_name(m, n, &q, tmp, NULL);
        if (!rc && q > end) rc = NAME_BAD;
        return rc;
    }
    return NAME_OK;
}

/* The data of a validated record as text: addresses for A/AAAA, the name for
 * NS/CNAME/PTR/DNAME, the primary server (mname) for SOA as Suricata logs it,
 * "10 mail.example.com" for MX, "prio weight port target" for SRV, the joined strings
 * for TXT/SPF, and the first DNS_HEX_MAX bytes in hex for anything else. */
static size_t rr_data(const uint8_t *m, size_t n, const rr *r, char *out, size_t cap) {
    const uint8_t *d = m + r->rd;
    size_t q = r->rd, o = 0;
    char name[256];
    mm_ip ip = {0};
    switch (r->type) {
    case 1:
    case 28:
        if (r->rdlen != (r->type == 1 ? 4u : 16u)) break;
        ip.af = r->type == 1 ? 4 : 6;
        memcpy(ip.b, d, r->rdlen);
        mm_ip_fmt(&ip, out);    /* cap >= 48 */
        return strlen(out);
    case 2: case 5: case 12: case 39: case 6:
        /* SOA: the primary server (mname), as Suricata's soa.mname. */
        if (dns_name(m, n, &q, name, &o)) return 0;
        memcpy(out, name, o + 1);
        return o;
    case 15:
        if (dns_name(m, n, &(size_t){q + 2}, name, NULL)) return 0;
        o = (size_t)snprintf(out, cap, "%u %s", be16(d), name);
        return o < cap ? o : cap - 1;
    case 33:
        if (dns_name(m, n, &(size_t){q + 6}, name, NULL)) return 0;
        o = (size_t)snprintf(out, cap, "%u %u %u %s", be16(d), be16(d + 2), be16(d + 4), name);
        return o < cap ? o : cap - 1;
    case 16:
    case 99: {
        /* character-strings joined as they are: SPF and DKIM split long text at 255
         * bytes and mean it to be read back joined. */
        size_t i = 0;
        while (i < r->rdlen) {
            size_t l = d[i++];
            if (l > r->rdlen - i) l = r->rdlen - i;
            size_t take = l < cap - 1 - o ? l : cap - 1 - o;
            memcpy(out + o, d + i, take);
            o += take;
            i += l;
        }
        out[o] = 0;
        return o;
    }
    }
    size_t h = r->rdlen < DNS_HEX_MAX ? r->rdlen : DNS_HEX_MAX;
    mm_hex(out, d, h);
    return 2 * h;
}

/* Walk the answer section: validated records go to rrs (up to max).  Returns the
 * count, or -1 when a name is bad (the message is dropped). */
static int answers(mm_flow *f, const uint8_t *m, size_t n, size_t off, unsigned an, rr *rrs, int max) {
    int k = 0;
    for (unsigned i = 0; i < an; i++) {
        if (k == max) {
            mm_sensor_app_error(f, "dns", "too-many-answers");
            break;
        }
        int rc = rr_parse(m, n, &off, &rrs[k]);
        if (rc == NAME_BAD) return -1;
        if (rc == NAME_TRUNC) {
            mm_sensor_app_error(f, "dns", "truncated-record");
            break;
        }
        if (rrs[k].type == 41) continue;   /* OPT belongs to the additional section */
        k++;
    }
    return k;
}

static void dns_message(mm_flow *f, const uint8_t *m, size_t n) {
    if (n < DNS_HDR) {
        mm_sensor_app_error(f, "dns", "short-message");
        return;
    }
    uint16_t id = be16(m), flags = be16(m + 2), qd = be16(m + 4), an = be16(m + 6);
    bool qr = flags & 0x8000;
    size_t off = DNS_HDR, qlen = 0;
    char qname[256] = "", tmp[16], tmp2[16];
    uint16_t qtype = 0, qclass = 0;
    for (unsigned i = 0; i < qd; i++) {
        char name[256];
        size_t l;
        int rc = dns_name(m, n, &off, name, &l);
        if (rc == NAME_OK && off + 4 > n) rc = NAME_TRUNC;
        if (rc) {
            mm_sensor_app_error(f, "dns", rc == NAME_BAD ? "bad-name" : "truncated-question");
            return;
        }
        if (i == 0) {
            memcpy(qname, name, l + 1);
            qlen = l;
            qtype = be16(m + off);
            qclass = be16(m + off + 2) & 0x7fff;   /* mDNS: top bit = unicast response */
        }
        off += 4;
    }
    rr rrs[DNS_MAX_RRS];
    int k = 0;
    if (qr) {
        k = answers(f, m, n, off, an, rrs, DNS_MAX_RRS);
        if (k < 0) {
            mm_sensor_app_error(f, "dns", "bad-name");
            return;
        }
    }

    mm_sev *e = mm_sev_begin(f, "network", "protocol", qr ? "dns-answer" : "dns-query");
    char idbuf[8];
    snprintf(idbuf, sizeof idbuf, "%u", id);
    mm_sev_cstr(e, "dns.id", idbuf);
    mm_sev_cstr(e, "dns.type", qr ? "answer" : "query");
    if (qd) {
        mm_sev_str(e, "dns.question.name", qname, qlen);
        mm_sev_cstr(e, "dns.question.type", type_name(qtype, tmp));
        mm_sev_cstr(e, "dns.question.class", class_name(qclass, tmp2));
    }
    static const struct { uint16_t bit; const char *name; } fl[] = {
        {0x0400, "AA"}, {0x0200, "TC"}, {0x0100, "RD"}, {0x0080, "RA"}, {0x0020, "AD"}, {0x0010, "CD"}};
    if (flags & 0x07b0) {
        mm_sev_list(e, "dns.header_flags");
        for (size_t i = 0; i < sizeof fl / sizeof fl[0]; i++)
            if (flags & fl[i].bit) mm_sev_item(e, fl[i].name, strlen(fl[i].name));
        mm_sev_list_end(e);
    }
    if (qr) {
        mm_sev_cstr(e, "dns.response_code", rcode_name(flags & 15, tmp));
        if (k) {
            char buf[DNS_DATA_MAX + 64];
            size_t l;
            mm_sev_list(e, "dns.answers.name");
            for (int i = 0; i < k; i++) {
                size_t o = rrs[i].name_off;
                dns_name(m, n, &o, buf, &l);   /* validated by rr_parse */
                mm_sev_item(e, buf, l);
            }
            mm_sev_list_end(e);
            mm_sev_list(e, "dns.answers.type");
            for (int i = 0; i < k; i++) {
                const char *t = type_name(rrs[i].type, tmp);
                mm_sev_item(e, t, strlen(t));
            }
            mm_sev_list_end(e);
            mm_sev_list(e, "dns.answers.data");
            for (int i = 0; i < k; i++) {
                l = rr_data(m, n, &rrs[i], buf, DNS_DATA_MAX + 1);
                mm_sev_item(e, buf, l);
            }
            mm_sev_list_end(e);
            mm_sev_list(e, "dns.answers.ttl");
            for (int i = 0; i < k; i++) mm_sev_item_int(e, rrs[i].ttl);
            mm_sev_list_end(e);
            bool any = false;
            for (int i = 0; i < k; i++) {
                if (rrs[i].type != 1 && rrs[i].type != 28) continue;
                if (rrs[i].rdlen != (rrs[i].type == 1 ? 4u : 16u)) continue;
                if (!any) mm_sev_list(e, "dns.resolved_ip");
                any = true;
                l = rr_data(m, n, &rrs[i], buf, sizeof buf);
                mm_sev_item(e, buf, l);
            }
            if (any) mm_sev_list_end(e);
        }
    }
    mm_sev_end(e);
}

/* ---- recognition ---- */

static bool std_port(const mm_flow *f) {
    for (const uint16_t *p = ports; *p; p++)
        if (f->sport == *p || f->cport == *p) return true;
    return false;
}

/* Does m (n bytes seen of a message of `whole` bytes) look like DNS?  Off the
 * standard ports the bar is higher: one question, opcode 0, a host-name-like name. */
static int plausible(const uint8_t *m, size_t n, size_t whole, bool stdport) {
    if (whole < DNS_HDR + 5) return MM_PROBE_NO;
    if (n < DNS_HDR) return MM_PROBE_MAYBE;
    uint16_t flags = be16(m + 2), qd = be16(m + 4), an = be16(m + 6), ns = be16(m + 8),
             ar = be16(m + 10);
    bool qr = flags & 0x8000;
    unsigned opcode = (flags >> 11) & 15;
    if (qd < 1 || qd > (stdport ? 4 : 1)) return MM_PROBE_NO;
    if (!(opcode == 0 || (stdport && (opcode == 2 || opcode == 4 || opcode == 5))))
        return MM_PROBE_NO;
    if (an > 256 || ns > 256 || ar > 256) return MM_PROBE_NO;
    if (!qr && ((flags & 15) || (!stdport && (an || ns)))) return MM_PROBE_NO;
    size_t off = DNS_HDR, l;
    char name[256];
    int rc = dns_name(m, n, &off, name, &l);
    if (rc == NAME_TRUNC || (rc == NAME_OK && off + 4 > n))
        return n < whole ? MM_PROBE_MAYBE : MM_PROBE_NO;
    if (rc) return MM_PROBE_NO;
    uint16_t cls = be16(m + off + 2) & 0x7fff;
    if (cls != 1 && cls != 3 && cls != 4 && cls != 255) return MM_PROBE_NO;
    if (!stdport) {
        if (cls != 1 || l == 0) return MM_PROBE_NO;
        for (size_t i = 0; i < l; i++) {
            unsigned char c = (unsigned char)name[i];
            if (!(c == '-' || c == '_' || c == '.' || (c >= '0' && c <= '9') ||
                  ((c | 0x20) >= 'a' && (c | 0x20) <= 'z')))
                return MM_PROBE_NO;
        }
    }
    return MM_PROBE_YES;
}

static int probe_one(const mm_flow *f, const uint8_t *p, size_t n, bool sp) {
    if (f->proto != IPPROTO_TCP) return plausible(p, n, n, sp);
    if (n < 2) return MM_PROBE_MAYBE;
    size_t whole = be16(p);
    return plausible(p + 2, n - 2 < whole ? n - 2 : whole, whole, sp);
}

static int probe(const mm_flow *f, const uint8_t *c2s, size_t nc, const uint8_t *s2c, size_t ns) {
    bool sp = std_port(f);
    int a = nc ? probe_one(f, c2s, nc, sp) : -1;
    if (a == MM_PROBE_YES) return a;
    int b = ns ? probe_one(f, s2c, ns, sp) : -1;
    if (b == MM_PROBE_YES) return b;
    /* NO once every side that spoke said no; an empty side has not said anything. */
    if (a != MM_PROBE_MAYBE && b != MM_PROBE_MAYBE && (nc || ns)) return MM_PROBE_NO;
    return MM_PROBE_MAYBE;
}

/* ---- per-flow state: TCP framing only ---- */

typedef struct dns_dir {
    uint8_t *buf;          /* DNS_TCP_BUF bytes once a message spans chunks */
    size_t len;
    bool dead;
} dns_dir;

typedef struct dns_state {
    dns_dir d[2];
} dns_state;

static void *open_(mm_flow *f) { return calloc(1, sizeof(dns_state)); }

static void tcp_data(dns_dir *d, mm_flow *f, const uint8_t *p, size_t n) {
    while (n && !d->dead) {
        if (d->len == 0 && n >= 2 && n >= 2u + be16(p)) {   /* whole message in hand */
            size_t l = be16(p);
            if (l < DNS_HDR) goto bad;
            dns_message(f, p + 2, l);
            p += 2 + l;
            n -= 2 + l;
            continue;
        }
        if (!d->buf && !(d->buf = malloc(DNS_TCP_BUF))) {
            mm_sensor_app_error(f, "dns", "out-of-memory");
            d->dead = true;
            return;
        }
        size_t need = d->len < 2 ? 2 - d->len : 2u + be16(d->buf) - d->len;
        size_t take = n < need ? n : need;
        memcpy(d->buf + d->len, p, take);
        d->len += take;
        p += take;
        n -= take;
        if (d->len < 2) continue;
        size_t l = be16(d->buf);
        if (l < DNS_HDR) goto bad;
        if (d->len == 2 + l) {
            dns_message(f, d->buf + 2, l);
            d->len = 0;
        }
    }
    return;
bad:
    mm_sensor_app_error(f, "dns", "bad-tcp-length");
    d->dead = true;
}

static void data(void *st, mm_flow *f, int dir, const uint8_t *p, size_t n) {
    dns_state *s = st;
    if (f->proto == IPPROTO_TCP) tcp_data(&s->d[dir & 1], f, p, n);
    else dns_message(f, p, n);
}

/* Capture loss inside a TCP stream: the length prefixes are lost with it. */
static void gap(void *st, mm_flow *f, int dir, size_t n) {
    dns_state *s = st;
    s->d[dir & 1].dead = true;
}

static void close_(void *st, mm_flow *f) {
    dns_state *s = st;
    if (!s) return;
    if (f->proto == IPPROTO_TCP)
        for (int i = 0; i < 2; i++)
            if (s->d[i].len && !s->d[i].dead) mm_sensor_app_error(f, "dns", "truncated-message");
    free(s->d[0].buf);
    free(s->d[1].buf);
    free(s);
}

const mm_analyzer mm_app_dns = {"dns", 1, 1, ports, probe, open_, data, gap, close_};
