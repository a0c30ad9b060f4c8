/* packet: frames to transport headers.  Every header is length-checked against
 * what was captured; the IP total length trims Ethernet padding.  IPv4 and IPv6
 * fragments are held (bounded bytes and datagrams, 30 s) and reassembled when the
 * datagram is complete; on overlap the fragment that arrived first wins. */
#include "packet.h"

#include <stdlib.h>
#include <string.h>

#define FRAG_MAX_DGRAMS 4096
#define FRAG_MAX_PIECES 128
#define FRAG_TIMEOUT_NS (30LL * 1000000000LL)

static inline uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t rd32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }

/* ---------------------------------------------------------------- fragments */

typedef struct piece {
    uint32_t off, len;
    uint8_t *data;
} piece;

typedef struct dgram {
    struct dgram *next;
    mm_ip src, dst;
    uint32_t id;
    uint8_t proto;
    int64_t first_ns;
    uint32_t total;          /* known once the last fragment arrived, else 0 */
    uint8_t *hdr;            /* the first fragment's IP header (offset 0) */
    uint32_t hdr_len;
    piece pieces[FRAG_MAX_PIECES];
    int npieces;
    size_t bytes;
} dgram;

struct mm_frag_table {
    dgram *list;             /* newest first */
    int n;
    size_t bytes, max_bytes;
};

mm_frag_table *mm_frag_new(size_t max_bytes) {
    mm_frag_table *t = mm_xcalloc(1, sizeof *t);
    t->max_bytes = max_bytes;
    return t;
}

static void dgram_free(mm_frag_table *t, dgram *d) {
    for (int i = 0; i < d->npieces; i++) free(d->pieces[i].data);
    free(d->hdr);
    t->bytes -= d->bytes;
    t->n--;
    free(d);
}

void mm_frag_free(mm_frag_table *t) {
    if (!t) return;
    while (t->list) {
        dgram *d = t->list;
        t->list = d->next;
        dgram_free(t, d);
    }
    free(t);
}

void mm_frag_expire(mm_frag_table *t, int64_t now_ns, uint64_t *dropped) {
    for (dgram **pp = &t->list; *pp;) {
        dgram *d = *pp;
        if (now_ns - d->first_ns > FRAG_TIMEOUT_NS) {
            *pp = d->next;
            dgram_free(t, d);
            (*dropped)++;
        } else
            pp = &d->next;
    }
}

/* Drop the oldest datagram (the list's tail). */
static void frag_evict(mm_frag_table *t, uint64_t *dropped) {
    dgram **pp = &t->list;
    if (!*pp) return;
    while ((*pp)->next) pp = &(*pp)->next;
    dgram *d = *pp;
    *pp = NULL;
    dgram_free(t, d);
    (*dropped)++;
}

static int piece_cmp(const void *a, const void *b) {
    const piece *x = a, *y = b;
    return x->off < y->off ? -1 : x->off > y->off;
}

/* Add one fragment; when the datagram is complete, write it (IP header of the
 * first fragment + payload) to out and return true. */
static bool frag_add(mm_frag_table *t, const mm_ip *src, const mm_ip *dst, uint32_t id, uint8_t proto,
                     uint32_t off, const uint8_t *data, uint32_t len, bool more, const uint8_t *hdr,
                     uint32_t hdr_len, int64_t ts_ns, mm_buf *out, uint32_t *out_hdr_len, uint64_t *dropped) {
    /* no datagram is longer than 65535 bytes: a piece beyond that is an attack
     * (ping of death) or garbage */
    if (off + len > 65535u || len == 0) { (*dropped)++; return false; }
    dgram *d = NULL, **pp;
    for (pp = &t->list; *pp; pp = &(*pp)->next)
        if ((*pp)->id == id && (*pp)->proto == proto && mm_ip_eq(&(*pp)->src, src) && mm_ip_eq(&(*pp)->dst, dst)) {
            d = *pp;
            break;
        }
    if (!d) {
        while (t->n >= FRAG_MAX_DGRAMS || (t->list && t->bytes + len > t->max_bytes)) frag_evict(t, dropped);
        d = calloc(1, sizeof *d);
        if (!d) { (*dropped)++; return false; }
        d->src = *src, d->dst = *dst, d->id = id, d->proto = proto, d->first_ns = ts_ns;
        d->next = t->list;
        t->list = d;
        t->n++;
    }
    if (d->npieces == FRAG_MAX_PIECES || t->bytes + len > t->max_bytes) {
        /* a datagram in too many pieces, or no room: give it up */
        for (pp = &t->list; *pp != d; pp = &(*pp)->next) {}
        *pp = d->next;
        dgram_free(t, d);
        (*dropped)++;
        return false;
    }
    uint8_t *copy = malloc(len);
    if (!copy) { (*dropped)++; return false; }
    memcpy(copy, data, len);
    d->pieces[d->npieces++] = (piece){off, len, copy};
    d->bytes += len;
    t->bytes += len;
    if (off == 0 && !d->hdr && hdr_len) {
        d->hdr = malloc(hdr_len);
        if (d->hdr) memcpy(d->hdr, hdr, hdr_len), d->hdr_len = hdr_len;
    }
    if (!more) d->total = off + len;
    if (!d->total || !d->hdr) return false;
    /* complete when the pieces cover [0, total) */
    piece sorted[FRAG_MAX_PIECES];
    memcpy(sorted, d->pieces, sizeof(piece) * (size_t)d->npieces);
    qsort(sorted, (size_t)d->npieces, sizeof(piece), piece_cmp);
    uint32_t covered = 0;
    for (int i = 0; i < d->npieces && sorted[i].off <= covered; i++)
        if (sorted[i].off + sorted[i].len > covered) covered = sorted[i].off + sorted[i].len;
    if (covered < d->total) return false;
    mm_buf_reset(out);
    mm_buf_put(out, d->hdr, d->hdr_len);
    /* the header is the first fragment's: later ones may be shorter (IPv4
     * options that are not copied, IPv6 headers before the fragment header) */
    *out_hdr_len = d->hdr_len;
    size_t base = out->len;
    for (uint32_t i = 0; i < d->total; i++) mm_buf_putc(out, 0);
    /* last arrival first, so that the first arrival's bytes win on overlap */
    for (int i = d->npieces - 1; i >= 0; i--) {
        const piece *pc = &d->pieces[i];
        if (pc->off >= d->total) continue;
        uint32_t l = pc->off + pc->len > d->total ? d->total - pc->off : pc->len;
        memcpy(out->p + base + pc->off, pc->data, l);
    }
    for (pp = &t->list; *pp != d; pp = &(*pp)->next) {}
    *pp = d->next;
    dgram_free(t, d);
    return true;
}

/* ---------------------------------------------------------------- layers */

int mm_icmp_counterpart(uint8_t proto, uint8_t type) {
    static const uint8_t v4[][2] = {{8, 0}, {13, 14}, {15, 16}, {10, 9}, {17, 18}};
    static const uint8_t v6[][2] = {{128, 129}, {133, 134}, {135, 136}, {130, 131}, {144, 145}};
    const uint8_t(*t)[2] = proto == 1 ? v4 : proto == 58 ? v6 : NULL;
    for (int i = 0; t && i < 5; i++) {
        if (t[i][0] == type) return t[i][1];
        if (t[i][1] == type) return t[i][0];
    }
    return -1;
}

static mm_pkt_rc transport(const uint8_t *p, uint32_t n, uint8_t proto, mm_pkt *o) {
    o->proto = proto;
    o->payload = p, o->plen = n;
    if (proto == 6) {
        if (n < 20) return MM_PKT_BAD;
        uint32_t off = (uint32_t)(p[12] >> 4) * 4;
        if (off < 20 || off > n) return MM_PKT_BAD;
        o->sport = rd16(p), o->dport = rd16(p + 2);
        o->seq = rd32(p + 4), o->ack = rd32(p + 8);
        o->tcp_flags = p[13];
        o->payload = p + off, o->plen = n - off;
    } else if (proto == 17) {
        if (n < 8) return MM_PKT_BAD;
        o->sport = rd16(p), o->dport = rd16(p + 2);
        uint32_t ul = rd16(p + 4);
        if (ul >= 8 && ul <= n) n = ul;   /* trims padding; a short length field is tolerated */
        o->payload = p + 8, o->plen = n - 8;
    } else if (proto == 1 || proto == 58) {
        if (n < 4) return MM_PKT_BAD;
        /* as the Community ID spec keys ICMP: the type, and the type of the answer
         * (so that an echo and its reply are one flow) or else the code */
        int cp = mm_icmp_counterpart(proto, p[0]);
        o->sport = p[0], o->dport = cp >= 0 ? (uint16_t)cp : p[1];
    }
    return MM_PKT_OK;
}

static mm_pkt_rc ipv4(const uint8_t *p, uint32_t n, int64_t ts, mm_frag_table *ft, mm_buf *scratch, mm_pkt *o,
                      uint64_t *reasm, uint64_t *dropped) {
    if (n < 20 || (p[0] >> 4) != 4) return MM_PKT_BAD;
    uint32_t hl = (uint32_t)(p[0] & 15) * 4, tl = rd16(p + 2);
    if (hl < 20 || hl > n) return MM_PKT_BAD;
    if (tl < hl) tl = n;              /* TSO captures carry 0: trust what was captured */
    if (tl > n) tl = n;               /* truncated capture: analyse what is there */
    o->src.af = o->dst.af = 4;
    memcpy(o->src.b, p + 12, 4);
    memcpy(o->dst.b, p + 16, 4);
    o->ip_len = tl;
    uint16_t fo = rd16(p + 6);
    uint32_t off = (uint32_t)(fo & 0x1fff) * 8;
    bool more = fo & 0x2000;
    if (off || more) {
        if (!ft) return MM_PKT_BAD;
        uint32_t fhl = 0;
        if (!frag_add(ft, &o->src, &o->dst, rd16(p + 4), p[9], off, p + hl, tl - hl, more, p, hl, ts, scratch,
                      &fhl, dropped))
            return MM_PKT_HELD;
        (*reasm)++;
        o->ip_len = (uint32_t)scratch->len;
        return transport((const uint8_t *)scratch->p + fhl, (uint32_t)scratch->len - fhl, p[9], o);
    }
    return transport(p + hl, tl - hl, p[9], o);
}

static mm_pkt_rc ipv6(const uint8_t *p, uint32_t n, int64_t ts, mm_frag_table *ft, mm_buf *scratch, mm_pkt *o,
                      uint64_t *reasm, uint64_t *dropped) {
    if (n < 40 || (p[0] >> 4) != 6) return MM_PKT_BAD;
    uint32_t pl = rd16(p + 4);
    uint32_t end = 40 + pl;
    if (pl == 0 || end > n) end = n;  /* jumbograms and truncated captures */
    o->src.af = o->dst.af = 6;
    memcpy(o->src.b, p + 8, 16);
    memcpy(o->dst.b, p + 24, 16);
    o->ip_len = end;
    uint8_t nh = p[6];
    uint32_t off = 40;
    bool reassembled = false;
    /* Headers after a fragment header belong to the fragmentable part (RFC 8200
     * §4.5): the walk goes on in the reassembled datagram (or past an atomic
     * fragment's header). */
    for (int i = 0; i < 10; i++) {
        if (nh == 0 || nh == 43 || nh == 60) {
            if (off + 8 > end) return MM_PKT_BAD;
            uint32_t l = ((uint32_t)p[off + 1] + 1) * 8;
            nh = p[off];
            off += l;
            if (off > end) return MM_PKT_BAD;
        } else if (nh == 51) {   /* AH: length in 4-byte units minus 2 */
            if (off + 8 > end) return MM_PKT_BAD;
            uint32_t l = ((uint32_t)p[off + 1] + 2) * 4;
            nh = p[off];
            off += l;
            if (off > end) return MM_PKT_BAD;
        } else if (nh == 44) {
            if (off + 8 > end) return MM_PKT_BAD;
            uint8_t next = p[off];
            uint16_t fo = rd16(p + off + 2);
            uint32_t foff = (uint32_t)(fo >> 3) * 8;
            bool more = fo & 1;
            uint32_t id = rd32(p + off + 4);
            uint32_t data = off + 8;
            if (foff == 0 && !more) {   /* an atomic fragment */
                nh = next, off = data;
                continue;
            }
            if (reassembled || !ft) return MM_PKT_BAD;   /* a fragment inside a fragment */
            /* the unfragmentable part (up to this header) is kept as "IP header" */
            uint32_t fhl = 0;
            if (!frag_add(ft, &o->src, &o->dst, id, next, foff, p + data, end - data, more, p, off, ts, scratch,
                          &fhl, dropped))
                return MM_PKT_HELD;
            (*reasm)++;
            reassembled = true;
            p = (const uint8_t *)scratch->p;
            end = (uint32_t)scratch->len;
            o->ip_len = end;
            off = fhl, nh = next;
        } else
            break;
    }
    return transport(p + off, end - off, nh, o);
}

mm_pkt_rc mm_pkt_decode(int linktype, const uint8_t *p, uint32_t n, int64_t ts_ns, mm_frag_table *ft,
                        mm_buf *scratch, mm_pkt *o, uint64_t *reasm, uint64_t *dropped) {
    memset(o, 0, sizeof *o);
    uint32_t off = 0;
    uint16_t et = 0;
    switch (linktype) {
    case 1:   /* EN10MB */
        if (n < 14) return MM_PKT_BAD;
        et = rd16(p + 12);
        off = 14;
        break;
    case 113: /* LINUX_SLL */
        if (n < 16) return MM_PKT_BAD;
        et = rd16(p + 14);
        off = 16;
        break;
    case 276: /* LINUX_SLL2 */
        if (n < 20) return MM_PKT_BAD;
        et = rd16(p);
        off = 20;
        break;
    case 0:   /* NULL: host-order family */
    case 108: /* LOOP: network-order family */
    {
        if (n < 4) return MM_PKT_BAD;
        uint32_t fam = linktype == 108 ? rd32(p) : (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
        if (linktype == 0 && fam > 0xffff) fam = rd32(p);
        off = 4;
        if (fam == 2) et = 0x0800;
        else if (fam == 24 || fam == 28 || fam == 30 || fam == 10) et = 0x86dd;
        else return MM_PKT_NON_IP;
        break;
    }
    case 12: case 14: case 101: /* RAW */
    case 228: case 229:         /* IPV4, IPV6 */
        if (n < 1) return MM_PKT_BAD;
        et = (p[0] >> 4) == 6 ? 0x86dd : 0x0800;
        break;
    default:
        return MM_PKT_NON_IP;
    }
    /* VLAN tags (802.1Q, 802.1ad QinQ, and the old 0x9100) */
    for (int i = 0; i < 4 && (et == 0x8100 || et == 0x88a8 || et == 0x9100); i++) {
        if (off + 4 > n) return MM_PKT_BAD;
        o->vlan = rd16(p + off) & 0x0fff;
        et = rd16(p + off + 2);
        off += 4;
    }
    mm_pkt_rc rc;
    if (et == 0x0800) rc = ipv4(p + off, n - off, ts_ns, ft, scratch, o, reasm, dropped);
    else if (et == 0x86dd) rc = ipv6(p + off, n - off, ts_ns, ft, scratch, o, reasm, dropped);
    else return MM_PKT_NON_IP;
    if (rc == MM_PKT_HELD) o->fragment_held = true;
    return rc;
}
