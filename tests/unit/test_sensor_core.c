/* The packet sensor's core: link/IP decoding (VLAN, QinQ, IPv6 extension headers,
 * fragments), the flow table (records, timeouts, the cap), TCP reassembly (order,
 * overlaps, gaps) and the Community ID, with hand-built frames. */
#include "test.h"

#include "sensor/packet.h"
#include "sensor/stream.h"

#include <sys/stat.h>
#include <unistd.h>

#define SH_MAXEV 256
#include "../sensor_harness.h"

#define NS 1000000000LL

/* ---- frame building ---- */

typedef struct frame {
    uint8_t b[2048];
    size_t n;
} frame;

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8), p[1] = (uint8_t)v; }
static void put32(uint8_t *p, uint32_t v) { put16(p, (uint16_t)(v >> 16)), put16(p + 2, (uint16_t)v); }

static void eth(frame *f, const uint16_t *vlans, int nv) {
    memset(f->b, 0, 12);
    f->b[5] = 1, f->b[11] = 2;
    f->n = 12;
    for (int i = 0; i < nv; i++) {
        put16(f->b + f->n, i == 0 && nv > 1 ? 0x88a8 : 0x8100);
        put16(f->b + f->n + 2, vlans[i]);
        f->n += 4;
    }
    put16(f->b + f->n, 0x0800);
    f->n += 2;
}

/* IPv4 header + transport; frag_off in 8-byte units, mf: more fragments */
static void ipv4(frame *f, const char *src, const char *dst, uint8_t proto, const uint8_t *l4, size_t n,
                 uint16_t id, uint16_t frag_off, int mf) {
    uint8_t *h = f->b + f->n;
    memset(h, 0, 20);
    h[0] = 0x45;
    put16(h + 2, (uint16_t)(20 + n));
    put16(h + 4, id);
    put16(h + 6, (uint16_t)((mf ? 0x2000 : 0) | frag_off));
    h[8] = 64, h[9] = proto;
    mm_ip a, b;
    mm_ip_parse(mm_str_c(src), &a);
    mm_ip_parse(mm_str_c(dst), &b);
    memcpy(h + 12, a.b, 4);
    memcpy(h + 16, b.b, 4);
    memcpy(h + 20, l4, n);
    f->n += 20 + n;
}

static size_t udp(uint8_t *o, uint16_t sp, uint16_t dp, const void *pl, size_t n) {
    put16(o, sp), put16(o + 2, dp), put16(o + 4, (uint16_t)(8 + n)), put16(o + 6, 0);
    memcpy(o + 8, pl, n);
    return 8 + n;
}

static size_t tcp(uint8_t *o, uint16_t sp, uint16_t dp, uint32_t seq, uint32_t ack, uint8_t fl, const void *pl,
                  size_t n) {
    memset(o, 0, 20);
    put16(o, sp), put16(o + 2, dp), put32(o + 4, seq), put32(o + 8, ack);
    o[12] = 5 << 4, o[13] = fl;
    put16(o + 14, 65535);
    if (n) memcpy(o + 20, pl, n);
    return 20 + n;
}

/* one TCP packet on Ethernet through the sensor */
static void tcp_pkt(mm_sensor *s, int64_t ts, const char *src, uint16_t sp, const char *dst, uint16_t dp,
                    uint32_t seq, uint32_t ack, uint8_t fl, const char *pl) {
    frame f;
    uint8_t l4[1600];
    eth(&f, NULL, 0);
    size_t n = tcp(l4, sp, dp, seq, ack, fl, pl, pl ? strlen(pl) : 0);
    ipv4(&f, src, dst, 6, l4, n, 1, 0, 0);
    mm_sensor_packet(s, 1, ts, f.b, (uint32_t)f.n, (uint32_t)f.n);
}

static mm_sensor *new_sensor(sh_events *k, mm_sensor_opts *o) {
    mm_sensor_opts d = sh_opts();
    k->on_bad = SH_BAD_SAY;
    return sh_sensor_make(o ? o : &d, sh_collect, k);
}

/* ---- tests ---- */

static void community_id_matches_the_spec_example(void) {
    sh_events k = {0};
    mm_sensor *s = new_sensor(&k, NULL);
    frame f;
    uint8_t l4[64];
    eth(&f, NULL, 0);
    ipv4(&f, "192.168.1.52", "8.8.8.8", 17, l4, udp(l4, 54585, 53, "x", 1), 7, 0, 0);
    mm_sensor_packet(s, 1, 1 * NS, f.b, (uint32_t)f.n, (uint32_t)f.n);
    mm_sensor_finish(s);
    json_t *fl = sh_find_in(&k, "flow", 0);
    CHECK(fl);
    CHECK_STR(sh_str(fl, "network.community_id"), "1:d/FP5EW3wiY1vCndhwleRRKHowQ=");
    CHECK_STR(sh_str(fl, "network.transport"), "udp");
    mm_sensor_free(s);
    sh_events_reset(&k);
}

static void qinq_vlan_id_is_the_inner_tag(void) {
    sh_events k = {0};
    mm_sensor *s = new_sensor(&k, NULL);
    frame f;
    uint8_t l4[64];
    uint16_t tags[2] = {100, 42};
    eth(&f, tags, 2);
    ipv4(&f, "10.0.0.1", "10.0.0.2", 17, l4, udp(l4, 40000, 9999, "hello", 5), 7, 0, 0);
    mm_sensor_packet(s, 1, 1 * NS, f.b, (uint32_t)f.n, (uint32_t)f.n);
    mm_sensor_finish(s);
    json_t *fl = sh_find_in(&k, "flow", 0);
    CHECK(fl);
    CHECK_INT(sh_int(fl, "network.vlan.id"), 42);
    CHECK_INT(sh_int(fl, "source.bytes"), 20 + 8 + 5);
    mm_sensor_free(s);
    sh_events_reset(&k);
}

static void truncated_headers_are_counted_not_analysed(void) {
    sh_events k = {0};
    mm_sensor *s = new_sensor(&k, NULL);
    frame f;
    uint8_t l4[64];
    eth(&f, NULL, 0);
    ipv4(&f, "10.0.0.1", "10.0.0.2", 6, l4, tcp(l4, 1, 2, 0, 0, 2, NULL, 0), 1, 0, 0);
    for (size_t cut = 0; cut < f.n; cut++) mm_sensor_packet(s, 1, 1 * NS, f.b, (uint32_t)cut, (uint32_t)f.n);
    uint8_t arp[60] = {0};
    arp[12] = 0x08, arp[13] = 0x06;
    mm_sensor_packet(s, 1, 1 * NS, arp, sizeof arp, sizeof arp);
    mm_sensor_stats st;
    mm_sensor_stats_get(s, &st);
    CHECK_INT(st.non_ip, 1);
    CHECK(st.decode_errors >= 30);   /* every cut inside the Ethernet, IP or TCP header */
    CHECK_INT(st.flows, 0);
    mm_sensor_free(s);
    sh_events_reset(&k);
}

static void ipv6_extension_headers_are_skipped(void) {
    sh_events k = {0};
    mm_sensor *s = new_sensor(&k, NULL);
    uint8_t p[200] = {0};
    p[12] = 0x86, p[13] = 0xdd;
    uint8_t *ip = p + 14;
    ip[0] = 0x60;
    ip[6] = 0;    /* hop-by-hop */
    ip[7] = 64;
    ip[8] = 0x20, ip[9] = 0x01, ip[23] = 1;
    ip[24] = 0x20, ip[25] = 0x01, ip[39] = 2;
    uint8_t *x = ip + 40;
    x[0] = 60, x[1] = 0;      /* hop-by-hop, 8 bytes, next: destination options */
    x[8] = 17, x[9] = 1;      /* destination options, 16 bytes, next: UDP */
    size_t ul = udp(x + 24, 5353, 7777, "abc", 3);
    put16(ip + 4, (uint16_t)(24 + ul));
    size_t n = 14 + 40 + 24 + ul;
    mm_sensor_packet(s, 1, 1 * NS, p, (uint32_t)n, (uint32_t)n);
    mm_sensor_finish(s);
    json_t *fl = sh_find_in(&k, "flow", 0);
    CHECK(fl);
    CHECK_STR(sh_str(fl, "source.ip"), "2001::1");
    CHECK_INT(sh_int(fl, "source.port"), 5353);
    CHECK_INT(sh_int(fl, "destination.port"), 7777);
    CHECK_STR(sh_str(fl, "network.type"), "ipv6");
    mm_sensor_free(s);
    sh_events_reset(&k);
}

/* A UDP datagram in three fragments, out of order, one of them twice with
 * different bytes: reassembled once, the first copy wins. */
static void fragments_reassemble_out_of_order(void) {
    uint8_t dg[8 + 40];
    char pl[40];
    for (int i = 0; i < 40; i++) pl[i] = (char)('a' + i % 26);
    size_t n = udp(dg, 1111, 2222, pl, 40);   /* 48 bytes: 16 + 16 + 16 */
    mm_pkt p;
    mm_buf scratch = {0};
    mm_frag_table *ft = mm_frag_new(1 << 20);
    uint64_t re = 0, dr = 0;
    frame f;
    eth(&f, NULL, 0), ipv4(&f, "10.1.1.1", "10.1.1.2", 17, dg + 32, 16, 9, 4, 0);
    CHECK(mm_pkt_decode(1, f.b, (uint32_t)f.n, 1, ft, &scratch, &p, &re, &dr) == MM_PKT_HELD);
    eth(&f, NULL, 0), ipv4(&f, "10.1.1.1", "10.1.1.2", 17, dg + 16, 16, 9, 2, 1);
    CHECK(mm_pkt_decode(1, f.b, (uint32_t)f.n, 2, ft, &scratch, &p, &re, &dr) == MM_PKT_HELD);
    uint8_t evil[16];
    memset(evil, 'Z', 16);
    eth(&f, NULL, 0), ipv4(&f, "10.1.1.1", "10.1.1.2", 17, evil, 16, 9, 2, 1);   /* overlap, other bytes */
    CHECK(mm_pkt_decode(1, f.b, (uint32_t)f.n, 3, ft, &scratch, &p, &re, &dr) == MM_PKT_HELD);
    eth(&f, NULL, 0), ipv4(&f, "10.1.1.1", "10.1.1.2", 17, dg, 16, 9, 0, 1);
    CHECK(mm_pkt_decode(1, f.b, (uint32_t)f.n, 4, ft, &scratch, &p, &re, &dr) == MM_PKT_OK);
    CHECK_INT(re, 1);
    CHECK_INT(p.sport, 1111);
    CHECK_INT(p.plen, 40);
    CHECK(memcmp(p.payload, pl, 40) == 0);
    CHECK_INT(n, 48);
    /* an incomplete datagram expires and is counted */
    eth(&f, NULL, 0), ipv4(&f, "10.1.1.1", "10.1.1.2", 17, dg, 16, 10, 0, 1);
    CHECK(mm_pkt_decode(1, f.b, (uint32_t)f.n, 5, ft, &scratch, &p, &re, &dr) == MM_PKT_HELD);
    mm_frag_expire(ft, 5 + 31 * NS, &dr);
    CHECK_INT(dr, 1);
    mm_frag_free(ft);
    mm_buf_free(&scratch);
}

typedef struct got {
    char b[4096];
    size_t n;
    size_t gaps;
} got;
static void got_data(void *ctx, const uint8_t *p, size_t n) {
    got *g = ctx;
    if (g->n + n <= sizeof g->b) memcpy(g->b + g->n, p, n);
    g->n += n;
}
static void got_gap(void *ctx, size_t n) { ((got *)ctx)->gaps += n; }

static mm_stream_ctx sctx(got *g, size_t *held, uint64_t *c) {
    return (mm_stream_ctx){got_data, got_gap, g, 1000, held, 1 << 20, &c[0], &c[1], &c[2], &c[3], &c[4]};
}

static void reassembly_orders_and_dedups(void) {
    got g = {0};
    size_t held = 0;
    uint64_t c[5] = {0};
    mm_stream_ctx cx = sctx(&g, &held, c);
    mm_stream st = {0};
    mm_stream_segment(&st, &cx, 999, 0x02, NULL, 0);                          /* SYN */
    mm_stream_segment(&st, &cx, 1010, 0x10, (const uint8_t *)"KLMNO", 5);      /* early */
    mm_stream_segment(&st, &cx, 1005, 0x10, (const uint8_t *)"FGHIJ", 5);      /* early */
    mm_stream_segment(&st, &cx, 1000, 0x10, (const uint8_t *)"ABCDE", 5);      /* fills */
    mm_stream_segment(&st, &cx, 1000, 0x10, (const uint8_t *)"ABCDE", 5);      /* retransmission */
    mm_stream_segment(&st, &cx, 1013, 0x10, (const uint8_t *)"NOPQR", 5);      /* overlaps 2 bytes */
    CHECK_INT(g.n, 18);
    CHECK(memcmp(g.b, "ABCDEFGHIJKLMNOPQR", 18) == 0);
    CHECK(c[2] >= 2);   /* overlaps */
    CHECK_INT(held, 0);
    mm_stream_free(&st, &held);
}

static void conflicting_overlap_keeps_first_and_counts(void) {
    got g = {0};
    size_t held = 0;
    uint64_t c[5] = {0};
    mm_stream_ctx cx = sctx(&g, &held, c);
    mm_stream st = {0};
    mm_stream_segment(&st, &cx, 1, 0x02, NULL, 0);
    mm_stream_segment(&st, &cx, 7, 0x10, (const uint8_t *)"world", 5);
    mm_stream_segment(&st, &cx, 7, 0x10, (const uint8_t *)"WORLD", 5);   /* different bytes */
    mm_stream_segment(&st, &cx, 2, 0x10, (const uint8_t *)"hello", 5);
    CHECK_INT(g.n, 10);
    CHECK(memcmp(g.b, "helloworld", 10) == 0);
    CHECK_INT(c[3], 1);   /* mismatching overlap */
    mm_stream_free(&st, &held);
}

static void a_hole_over_the_cap_becomes_a_gap(void) {
    got g = {0};
    size_t held = 0;
    uint64_t c[5] = {0};
    mm_stream_ctx cx = sctx(&g, &held, c);   /* 1000 bytes per direction */
    mm_stream st = {0};
    mm_stream_segment(&st, &cx, 0, 0x02, NULL, 0);
    char big[600];
    memset(big, 'x', sizeof big);
    mm_stream_segment(&st, &cx, 101, 0x10, (const uint8_t *)big, 600);    /* 100 bytes lost before */
    CHECK_INT(g.n, 0);
    mm_stream_segment(&st, &cx, 701, 0x10, (const uint8_t *)big, 600);    /* over the cap */
    CHECK_INT(g.gaps, 100);
    CHECK_INT(g.n, 1200);
    CHECK_INT(c[0], 1);
    CHECK_INT(held, 0);
    /* the end of a flow skips what remains missing */
    mm_stream_segment(&st, &cx, 1401, 0x10, (const uint8_t *)"tail", 4);  /* 100 bytes lost */
    mm_stream_flush(&st, &cx);
    CHECK_INT(g.gaps, 200);
    CHECK_INT(g.n, 1204);
    mm_stream_free(&st, &held);
}

static void tcp_flow_record_counts_both_directions(void) {
    sh_events k = {0};
    mm_sensor *s = new_sensor(&k, NULL);
    const char *c = "10.2.3.4", *v = "198.51.100.7";
    tcp_pkt(s, 10 * NS, c, 50000, v, 4444, 100, 0, 0x02, NULL);
    tcp_pkt(s, 10 * NS + 1000, v, 4444, c, 50000, 900, 101, 0x12, NULL);
    tcp_pkt(s, 10 * NS + 2000, c, 50000, v, 4444, 101, 901, 0x10, NULL);
    tcp_pkt(s, 11 * NS, c, 50000, v, 4444, 101, 901, 0x18, "ping");
    tcp_pkt(s, 11 * NS + 500, v, 4444, c, 50000, 901, 105, 0x18, "pong!");
    tcp_pkt(s, 12 * NS, c, 50000, v, 4444, 105, 906, 0x11, NULL);
    tcp_pkt(s, 12 * NS + 100, v, 4444, c, 50000, 906, 106, 0x11, NULL);
    tcp_pkt(s, 12 * NS + 200, c, 50000, v, 4444, 106, 907, 0x10, NULL);
    CHECK_INT(k.n, 0);                         /* lingering for late ACKs */
    mm_sensor_tick(s, 20 * NS);
    json_t *fl = sh_find_in(&k, "flow", 0);
    CHECK(fl);
    CHECK_STR(sh_str(fl, "source.ip"), c);
    CHECK_INT(sh_int(fl, "destination.port"), 4444);
    CHECK_INT(sh_int(fl, "source.packets"), 5);
    CHECK_INT(sh_int(fl, "destination.packets"), 3);
    CHECK_INT(sh_int(fl, "source.bytes"), 5 * 40 + 4);
    CHECK_INT(sh_int(fl, "destination.bytes"), 3 * 40 + 5);
    CHECK_STR(sh_str(fl, "flow.history"), "ShADdFf");
    CHECK_STR(sh_str(fl, "flow.end_reason"), "closed");
    /* event times: the cached date text must follow the second, fractions exact */
    CHECK_STR(sh_str(fl, "event.start"), "1970-01-01T00:00:10Z");
    CHECK_STR(sh_str(fl, "event.end"), "1970-01-01T00:00:12.000000200Z");
    CHECK_STR(sh_str(fl, "@timestamp"), "1970-01-01T00:00:12.000000200Z");
    CHECK_STR(sh_str(fl, "network.direction"), "outbound");
    CHECK_INT(sh_int(fl, "event.duration"), 2 * NS + 200);
    mm_sensor_free(s);
    sh_events_reset(&k);
}

static void idle_flows_expire_and_the_cap_evicts(void) {
    sh_events k = {0};
    mm_sensor_opts o;
    mm_sensor_opts_default(&o);
    o.max_flows = 4;
    o.udp_idle_ns = 60 * NS;
    mm_sensor *s = new_sensor(&k, &o);
    frame f;
    uint8_t l4[64];
    for (int i = 0; i < 6; i++) {
        eth(&f, NULL, 0);
        ipv4(&f, "10.0.0.1", "10.0.0.9", 17, l4, udp(l4, (uint16_t)(40000 + i), 9000, "x", 1), 1, 0, 0);
        mm_sensor_packet(s, 1, (1 + i) * NS, f.b, (uint32_t)f.n, (uint32_t)f.n);
    }
    mm_sensor_stats st;
    mm_sensor_stats_get(s, &st);
    CHECK_INT(st.flows_evicted, 2);
    CHECK_INT(st.flows_active, 4);
    json_t *first = sh_find_in(&k, "flow", 0);
    CHECK(first);
    CHECK_INT(sh_int(first, "source.port"), 40000);   /* the least recently seen went first */
    CHECK_STR(sh_str(first, "flow.end_reason"), "evicted");
    mm_sensor_tick(s, 200 * NS);
    mm_sensor_stats_get(s, &st);
    CHECK_INT(st.flows_active, 0);
    json_t *last = sh_find_in(&k, "flow", 5);
    CHECK(last);
    CHECK_STR(sh_str(last, "flow.end_reason"), "idle");
    mm_sensor_free(s);
    sh_events_reset(&k);
}

/* ---- review tests: each proved a bug before its fix ---- */

/* A SYN retransmitted with another ISN (the first was lost or the stack
 * restarted): the data follows the second ISN. */
static void syn_with_a_new_isn_restarts_the_stream(void) {
    got g = {0};
    size_t held = 0;
    uint64_t c[5] = {0};
    mm_stream_ctx cx = sctx(&g, &held, c);
    mm_stream st = {0};
    mm_stream_segment(&st, &cx, 1000, 0x02, NULL, 0);
    mm_stream_segment(&st, &cx, 500000, 0x02, NULL, 0);
    mm_stream_segment(&st, &cx, 500001, 0x18, (const uint8_t *)"hello", 5);
    CHECK_INT(g.n, 5);
    CHECK(memcmp(g.b, "hello", 5) == 0);
    CHECK_INT(g.gaps, 0);
    /* once data went through, a SYN is a retransmission, not a restart */
    mm_stream_segment(&st, &cx, 9000, 0x02, NULL, 0);
    mm_stream_segment(&st, &cx, 500006, 0x18, (const uint8_t *)"world", 5);
    CHECK_INT(g.n, 10);
    mm_stream_flush(&st, &cx);
    CHECK_INT(g.gaps, 0);
    mm_stream_free(&st, &held);
}

/* An in-order segment that runs over held data: the held (first) bytes win and
 * the conflict is counted. */
static void in_order_data_over_held_bytes_keeps_the_held_ones(void) {
    got g = {0};
    size_t held = 0;
    uint64_t c[5] = {0};
    mm_stream_ctx cx = sctx(&g, &held, c);
    mm_stream st = {0};
    mm_stream_segment(&st, &cx, 0, 0x02, NULL, 0);
    mm_stream_segment(&st, &cx, 6, 0x10, (const uint8_t *)"world", 5);
    mm_stream_segment(&st, &cx, 1, 0x10, (const uint8_t *)"helloWORLD!", 11);
    CHECK_INT(g.n, 11);
    CHECK(memcmp(g.b, "helloworld!", 11) == 0);
    CHECK_INT(c[3], 1);
    CHECK_INT(held, 0);
    mm_stream_free(&st, &held);
}

/* Many tiny segments behind a hole: the number held is bounded (each costs a
 * list walk), the hole becomes a gap. */
static void tiny_segments_behind_a_hole_are_bounded(void) {
    got g = {0};
    size_t held = 0;
    uint64_t c[5] = {0};
    mm_stream_ctx cx = sctx(&g, &held, c);
    cx.flow_max = 1 << 20;
    mm_stream st = {0};
    mm_stream_segment(&st, &cx, 0, 0x02, NULL, 0);
    for (uint32_t i = 0; i < 20000; i++) mm_stream_segment(&st, &cx, 2 + i, 0x10, (const uint8_t *)"x", 1);
    CHECK(c[0] >= 1);          /* the hole at seq 1 was given up */
    CHECK(g.n >= 1000);
    CHECK(st.nseg <= 4096);
    mm_stream_flush(&st, &cx);
    CHECK_INT(g.n, 20000);
    CHECK_INT(held, 0);
    mm_stream_free(&st, &held);
}

/* Differential: a byte stream cut into random segments, sent in random order with
 * random duplicates (same bytes) and sequence numbers that wrap at 2^32, comes out
 * exactly once, in order, without gaps. */
static uint32_t rnd_state = 12345;
static uint32_t rnd(void) {
    rnd_state ^= rnd_state << 13, rnd_state ^= rnd_state >> 17, rnd_state ^= rnd_state << 5;
    return rnd_state;
}
static void random_segment_orders_deliver_the_stream_once(void) {
    static uint8_t data[3000];
    for (int round = 0; round < 300; round++) {
        uint32_t len = 1 + rnd() % sizeof data;
        for (uint32_t i = 0; i < len; i++) data[i] = (uint8_t)rnd();
        struct { uint32_t off, n; } segs[600];
        int ns = 0;
        for (uint32_t off = 0; off < len && ns < 500;) {
            uint32_t n = 1 + rnd() % 200;
            if (off + n > len) n = len - off;
            segs[ns].off = off, segs[ns].n = n, ns++;
            off += n;
            if (ns == 500 && off < len) segs[ns - 1].n += len - off, off = len;
        }
        /* duplicates, some overlapping two segments */
        int nd = (int)(rnd() % 40);
        for (int i = 0; i < nd; i++) {
            uint32_t o = rnd() % len, n = 1 + rnd() % 300;
            if (o + n > len) n = len - o;
            segs[ns].off = o, segs[ns].n = n, ns++;
        }
        for (int i = ns - 1; i > 0; i--) {   /* shuffle */
            int j = (int)(rnd() % (uint32_t)(i + 1));
            __typeof__(segs[0]) t = segs[i];
            segs[i] = segs[j], segs[j] = t;
        }
        uint32_t isn = 0xffffffffu - rnd() % 4000;   /* wraps inside the stream */
        static got g;
        memset(&g, 0, sizeof g);
        size_t held = 0;
        uint64_t c[5] = {0};
        mm_stream_ctx cx = sctx(&g, &held, c);
        cx.flow_max = 1 << 20;
        mm_stream st = {0};
        mm_stream_segment(&st, &cx, isn, 0x02, NULL, 0);
        for (int i = 0; i < ns; i++)
            mm_stream_segment(&st, &cx, isn + 1 + segs[i].off, 0x10, data + segs[i].off, segs[i].n);
        if (g.n != len || memcmp(g.b, data, len) != 0 || g.gaps || held || c[3])
            printf("  round %d: len %u got %zu gaps %zu held %zu mismatch %llu\n", round, len, g.n, g.gaps, held,
                   (unsigned long long)c[3]);
        CHECK_INT(g.n, len);
        CHECK(memcmp(g.b, data, len) == 0);
        CHECK_INT(g.gaps, 0);
        CHECK_INT(held, 0);
        CHECK_INT(c[3], 0);
        mm_stream_free(&st, &held);
    }
}

/* IP options are copied into the first fragment only: the datagram's transport
 * header is after the first fragment's header, whatever the last one's length. */
static void fragment_headers_of_different_lengths(void) {
    uint8_t dg[8 + 24];
    char pl[24];
    for (int i = 0; i < 24; i++) pl[i] = (char)('A' + i);
    udp(dg, 3333, 4444, pl, 24);
    mm_pkt p;
    mm_buf scratch = {0};
    mm_frag_table *ft = mm_frag_new(1 << 20);
    uint64_t re = 0, dr = 0;
    frame f;
    /* first fragment with a 4-byte option (NOP NOP NOP EOL) */
    eth(&f, NULL, 0);
    uint8_t *h = f.b + f.n;
    memset(h, 0, 24);
    h[0] = 0x46;
    put16(h + 2, 24 + 16), put16(h + 4, 77), put16(h + 6, 0x2000);
    h[8] = 64, h[9] = 17;
    h[12] = 10, h[15] = 1, h[16] = 10, h[19] = 2;
    h[20] = 1, h[21] = 1, h[22] = 1, h[23] = 0;
    memcpy(h + 24, dg, 16);
    f.n += 24 + 16;
    CHECK(mm_pkt_decode(1, f.b, (uint32_t)f.n, 1, ft, &scratch, &p, &re, &dr) == MM_PKT_HELD);
    eth(&f, NULL, 0), ipv4(&f, "10.0.0.1", "10.0.0.2", 17, dg + 16, 16, 77, 2, 0);
    CHECK(mm_pkt_decode(1, f.b, (uint32_t)f.n, 2, ft, &scratch, &p, &re, &dr) == MM_PKT_OK);
    CHECK_INT(p.sport, 3333);
    CHECK_INT(p.dport, 4444);
    CHECK_INT(p.plen, 24);
    CHECK(memcmp(p.payload, pl, 24) == 0);
    mm_frag_free(ft);
    mm_buf_free(&scratch);
}

/* A datagram longer than 65535 bytes (ping of death) is dropped. */
static void oversized_fragments_are_dropped(void) {
    uint8_t dg[8 + 200];
    memset(dg, 'q', sizeof dg);
    udp(dg, 1, 2, dg + 8, 200);
    mm_pkt p;
    mm_buf scratch = {0};
    mm_frag_table *ft = mm_frag_new(1 << 20);
    uint64_t re = 0, dr = 0;
    frame f;
    eth(&f, NULL, 0), ipv4(&f, "10.0.0.1", "10.0.0.2", 17, dg, 16, 5, 0, 1);
    CHECK(mm_pkt_decode(1, f.b, (uint32_t)f.n, 1, ft, &scratch, &p, &re, &dr) == MM_PKT_HELD);
    eth(&f, NULL, 0), ipv4(&f, "10.0.0.1", "10.0.0.2", 17, dg, 200, 5, 8180, 0);   /* ends at 65640 */
    mm_pkt_rc rc = mm_pkt_decode(1, f.b, (uint32_t)f.n, 2, ft, &scratch, &p, &re, &dr);
    CHECK(rc != MM_PKT_OK);
    CHECK_INT(re, 0);
    CHECK(dr >= 1);
    mm_frag_free(ft);
    mm_buf_free(&scratch);
}

/* IPv6: headers after the fragment header (destination options, as RFC 8200
 * orders them) belong to the fragmentable part and are parsed after reassembly;
 * the same for an atomic fragment. */
static size_t ip6_frag(uint8_t *p, uint8_t next, uint16_t off8, int more, uint32_t id, const uint8_t *d, size_t n) {
    memset(p, 0, 14 + 48);
    p[12] = 0x86, p[13] = 0xdd;
    uint8_t *ip = p + 14;
    ip[0] = 0x60, ip[6] = 44, ip[7] = 64;
    ip[8] = 0x20, ip[9] = 0x01, ip[23] = 1;
    ip[24] = 0x20, ip[25] = 0x01, ip[39] = 2;
    put16(ip + 4, (uint16_t)(8 + n));
    uint8_t *fh = ip + 40;
    fh[0] = next;
    put16(fh + 2, (uint16_t)(off8 << 3 | (more ? 1 : 0)));
    put32(fh + 4, id);
    memcpy(fh + 8, d, n);
    return 14 + 48 + n;
}
static void ipv6_headers_after_the_fragment_header(void) {
    uint8_t body[8 + 8 + 16];   /* destination options (8) + UDP (8 + 16) */
    memset(body, 0, 8);
    body[0] = 17, body[1] = 0;
    char pl[16];
    for (int i = 0; i < 16; i++) pl[i] = (char)('a' + i);
    udp(body + 8, 5555, 6666, pl, 16);
    mm_pkt p;
    mm_buf scratch = {0};
    mm_frag_table *ft = mm_frag_new(1 << 20);
    uint64_t re = 0, dr = 0;
    uint8_t fr[200];
    size_t n = ip6_frag(fr, 60, 0, 1, 99, body, 16);
    CHECK(mm_pkt_decode(1, fr, (uint32_t)n, 1, ft, &scratch, &p, &re, &dr) == MM_PKT_HELD);
    n = ip6_frag(fr, 60, 2, 0, 99, body + 16, 16);
    CHECK(mm_pkt_decode(1, fr, (uint32_t)n, 2, ft, &scratch, &p, &re, &dr) == MM_PKT_OK);
    CHECK_INT(p.proto, 17);
    CHECK_INT(p.sport, 5555);
    CHECK_INT(p.dport, 6666);
    CHECK_INT(p.plen, 16);
    CHECK(memcmp(p.payload, pl, 16) == 0);
    n = ip6_frag(fr, 60, 0, 0, 100, body, sizeof body);   /* atomic */
    CHECK(mm_pkt_decode(1, fr, (uint32_t)n, 3, ft, &scratch, &p, &re, &dr) == MM_PKT_OK);
    CHECK_INT(p.proto, 17);
    CHECK_INT(p.sport, 5555);
    CHECK_INT(p.plen, 16);
    mm_frag_free(ft);
    mm_buf_free(&scratch);
}

/* ---- a recording analyzer, to watch dispatch from the outside ---- */

typedef struct mock_log {
    char b[8192];
    size_t n;
    int opens, closes, last_dir;
    uint8_t proto[8];
    void *arg[8];
} mock_log;
static mock_log ML;

static void ml_put(const char *p, size_t n) {
    if (ML.n + n < sizeof ML.b) memcpy(ML.b + ML.n, p, n), ML.n += n, ML.b[ML.n] = 0;
}
/* YES on port 7000 once 4 client bytes and some server bytes are seen */
static int mock_probe(const mm_flow *f, const uint8_t *c2s, size_t nc, const uint8_t *s2c, size_t ns) {
    if (f->sport != 7000) return MM_PROBE_NO;
    return nc >= 4 && ns ? MM_PROBE_YES : MM_PROBE_MAYBE;
}
static void *mock_open(mm_flow *f) {
    if (ML.opens < 8) ML.proto[ML.opens] = f->proto, ML.arg[ML.opens] = f->expect_arg;
    ML.opens++;
    ML.last_dir = -1;
    return &ML;
}
static void mock_data(void *st, mm_flow *f, int dir, const uint8_t *p, size_t n) {
    if (dir != ML.last_dir) ml_put(dir == MM_C2S ? ">" : "<", 1);
    ML.last_dir = dir;
    ml_put((const char *)p, n);
}
static void mock_close(void *st, mm_flow *f) {
    ML.closes++;
    ml_put("|", 1);
}
static const uint16_t mock_ports[] = {7000, 0};
static const mm_analyzer mock_app = {"mock", 1, 1, mock_ports, mock_probe, mock_open, mock_data, NULL, mock_close};
static const mm_analyzer mock_tcp_app = {"mocktcp", 1, 0, NULL, mock_probe, mock_open, mock_data, NULL, mock_close};
static const mm_analyzer *const mock_list[] = {&mock_app};

static mm_sensor *mock_sensor(sh_events *k) {
    memset(&ML, 0, sizeof ML);
    mm_sensor *s = new_sensor(k, NULL);
    mm_sensor_use_analyzers(s, mock_list, 1);
    return s;
}

/* Bytes held while the analyzer is undecided are replayed in arrival order. */
static void held_probe_bytes_replay_in_arrival_order(void) {
    sh_events k = {0};
    mm_sensor *s = mock_sensor(&k);
    const char *c = "10.0.0.1", *v = "10.0.0.2";
    tcp_pkt(s, 1 * NS, c, 40000, v, 7000, 100, 0, 0x02, NULL);
    tcp_pkt(s, 1 * NS + 1, v, 7000, c, 40000, 500, 101, 0x12, NULL);
    tcp_pkt(s, 1 * NS + 2, c, 40000, v, 7000, 101, 501, 0x18, "ab");
    tcp_pkt(s, 1 * NS + 3, v, 7000, c, 40000, 501, 103, 0x18, "XY");
    tcp_pkt(s, 1 * NS + 4, c, 40000, v, 7000, 103, 503, 0x18, "cd");   /* decides */
    tcp_pkt(s, 1 * NS + 5, v, 7000, c, 40000, 503, 105, 0x18, "Z");
    CHECK_INT(ML.opens, 1);
    CHECK_STR(ML.b, ">ab<XY>cd<Z");
    mm_sensor_free(s);
    sh_events_reset(&k);
}

/* A new connection on the same ports while the last one lingers after its FINs
 * is a new flow, analysed from its SYN. */
static void a_new_syn_on_a_closing_flow_starts_a_new_flow(void) {
    sh_events k = {0};
    mm_sensor *s = mock_sensor(&k);
    const char *c = "10.0.0.1", *v = "10.0.0.2";
    tcp_pkt(s, 1 * NS, c, 40000, v, 7000, 100, 0, 0x02, NULL);
    tcp_pkt(s, 1 * NS + 1, v, 7000, c, 40000, 500, 101, 0x12, NULL);
    tcp_pkt(s, 1 * NS + 2, c, 40000, v, 7000, 101, 501, 0x18, "one1");
    tcp_pkt(s, 1 * NS + 3, v, 7000, c, 40000, 501, 105, 0x18, "two2");
    tcp_pkt(s, 1 * NS + 4, c, 40000, v, 7000, 105, 505, 0x11, NULL);
    tcp_pkt(s, 1 * NS + 5, v, 7000, c, 40000, 505, 106, 0x11, NULL);
    CHECK_INT(ML.closes, 1);
    tcp_pkt(s, 1 * NS + 100000, c, 40000, v, 7000, 90000, 0, 0x02, NULL);
    tcp_pkt(s, 1 * NS + 100001, v, 7000, c, 40000, 70000, 90001, 0x12, NULL);
    tcp_pkt(s, 1 * NS + 100002, c, 40000, v, 7000, 90001, 70001, 0x18, "thr3");
    tcp_pkt(s, 1 * NS + 100003, v, 7000, c, 40000, 70001, 90005, 0x18, "fou4");
    mm_sensor_finish(s);
    CHECK_INT(ML.opens, 2);
    CHECK_STR(ML.b, ">one1<two2|>thr3<fou4|");
    CHECK(sh_find_in(&k, "flow", 1) != NULL);
    CHECK_STR(sh_str(sh_find_in(&k, "flow", 0), "flow.end_reason"), "closed");
    mm_sensor_free(s);
    sh_events_reset(&k);
    /* a refused connection retried with its own SYN stays one flow */
    s = mock_sensor(&k);
    tcp_pkt(s, 1 * NS, c, 40001, v, 7000, 100, 0, 0x02, NULL);
    tcp_pkt(s, 1 * NS + 1, v, 7000, c, 40001, 0, 101, 0x14, NULL);
    tcp_pkt(s, 1 * NS + 2, c, 40001, v, 7000, 100, 0, 0x02, NULL);
    tcp_pkt(s, 1 * NS + 3, v, 7000, c, 40001, 0, 101, 0x14, NULL);
    mm_sensor_finish(s);
    CHECK_INT(k.n, 1);
    CHECK_STR(sh_str(k.ev[0], "flow.end_reason"), "reset");
    mm_sensor_free(s);
    sh_events_reset(&k);
}

static int released;
static void count_release(void *a) { released++; }

/* An expectation for a TCP analyzer is not consumed by a UDP flow to the same
 * address and port. */
static void expectations_match_the_transport(void) {
    sh_events k = {0};
    mm_sensor *s = mock_sensor(&k);
    released = 0;
    mm_flow ctl = {0};
    ctl.s = s, ctl.now_ns = 1 * NS;
    mm_ip srv;
    mm_ip_parse(mm_str_c("10.9.9.9"), &srv);
    static int token;
    mm_sensor_expect(&ctl, NULL, &srv, 6000, &mock_tcp_app, &token, count_release);
    frame f;
    uint8_t l4[64];
    eth(&f, NULL, 0);
    ipv4(&f, "10.1.1.1", "10.9.9.9", 17, l4, udp(l4, 5000, 6000, "udp!", 4), 1, 0, 0);
    mm_sensor_packet(s, 1, 2 * NS, f.b, (uint32_t)f.n, (uint32_t)f.n);
    tcp_pkt(s, 3 * NS, "10.1.1.1", 5001, "10.9.9.9", 6000, 1, 0, 0x02, NULL);
    tcp_pkt(s, 3 * NS + 1, "10.1.1.1", 5001, "10.9.9.9", 6000, 2, 0, 0x18, "data");
    mm_sensor_finish(s);
    CHECK_INT(ML.opens, 1);
    CHECK_INT(ML.proto[0], 6);
    CHECK(ML.arg[0] == &token);
    CHECK_STR(ML.b, ">data|");
    CHECK_INT(released, 0);
    mm_sensor_free(s);
    sh_events_reset(&k);
}

/* The event writer keeps its output valid JSON when an analyzer writes a member
 * while a list is open, or leaves a list open in a file's linking fields. */
static void event_writer_output_stays_valid_json(void) {
    sh_events k = {0};
    mm_sensor *s = new_sensor(&k, NULL);
    mm_flow f = {0};
    f.s = s, f.now_ns = 5 * NS, f.proto = 17, f.cport = 1, f.sport = 2;
    mm_ip_parse(mm_str_c("10.0.0.1"), &f.cli);
    mm_ip_parse(mm_str_c("10.0.0.2"), &f.srv);
    mm_sev *e = mm_sev_begin(&f, "network", "protocol", "dns-query");
    mm_sev_list(e, "dns.answers.name");
    mm_sev_item(e, "a.example", 9);
    mm_sev_cstr(e, "dns.question.name", "q.example");   /* list still open */
    mm_sev_int(e, "dns.id", 7);
    mm_sev_end(e);
    CHECK_INT(k.n, 1);
    CHECK_STR(sh_str(k.ev[0], "dns.question.name"), "q.example");
    CHECK_INT(sh_int(k.ev[0], "dns.id"), 7);
    CHECK(json_array_size(json_object_get(k.ev[0], "dns.answers.name")) == 1);
    mm_sfile *h = mm_sfile_open(&f, MM_S2C, "file-download", "a.txt", 5);
    CHECK(h);
    mm_sev *m = mm_sfile_fields(h);
    mm_sev_list(m, "email.to.address");
    mm_sev_item(m, "x@example.org", 13);   /* no list_end */
    mm_sfile_write(h, "hello", 5);
    mm_sfile_close(h, NULL);
    CHECK_INT(k.n, 2);
    CHECK(json_array_size(json_object_get(k.ev[1], "email.to.address")) == 1);
    CHECK_INT(sh_int(k.ev[1], "file.size"), 5);
    mm_sensor_free(s);
    sh_events_reset(&k);
}

/* The quarantine counts the bytes it stores: a file cut at file_max takes
 * file_max bytes of the cap, not its whole size. */
static void quarantine_counts_stored_bytes(void) {
    char dir[] = "/tmp/h7qXXXXXX";
    CHECK(mkdtemp(dir));
    sh_events k = {0};
    mm_sensor_opts o;
    mm_sensor_opts_default(&o);
    o.quarantine_dir = dir;
    o.file_max = 100;
    o.quarantine_max = 500;
    mm_sensor *s = new_sensor(&k, &o);
    CHECK(s);
    mm_flow f = {0};
    f.s = s, f.now_ns = 5 * NS, f.proto = 6, f.id = 1;
    mm_ip_parse(mm_str_c("10.0.0.1"), &f.cli);
    mm_ip_parse(mm_str_c("10.0.0.2"), &f.srv);
    char big[1000];
    char paths[3][512];
    for (int i = 0; i < 3; i++) {
        memset(big, 'a' + i, sizeof big);
        mm_sfile *h = mm_sfile_open(&f, MM_S2C, "file-download", "big.bin", 7);
        mm_sfile_write(h, big, sizeof big);
        mm_sfile_info info;
        mm_sfile_close(h, &info);
        CHECK(info.truncated);
        CHECK_INT(info.size, 1000);
        CHECK(info.path[0]);
        snprintf(paths[i], sizeof paths[i], "%s", info.path);
        struct stat st;
        CHECK(stat(info.path, &st) == 0);
        CHECK_INT(st.st_size, 100);
    }
    mm_sensor_free(s);
    sh_events_reset(&k);
    /* cleanup */
    for (int i = 0; i < 3; i++) {
        unlink(paths[i]);
        char *sl = strrchr(paths[i], '/');
        if (sl) *sl = 0, rmdir(paths[i]);
    }
    char t[600];
    snprintf(t, sizeof t, "%s/tmp", dir);
    rmdir(t);
    rmdir(dir);
}

/* ICMP: an echo and its reply are one flow, and the Community ID takes the type
 * and its counterpart (or the code, for one-way messages) as ports, as in the
 * spec's baseline. */
static void icmp_echo_is_one_flow_with_the_spec_community_id(void) {
    sh_events k = {0};
    mm_sensor *s = new_sensor(&k, NULL);
    frame f;
    uint8_t l4[16] = {8, 0, 0, 0, 0, 1, 0, 1};
    eth(&f, NULL, 0), ipv4(&f, "192.168.0.89", "192.168.0.1", 1, l4, 8, 1, 0, 0);
    mm_sensor_packet(s, 1, 1 * NS, f.b, (uint32_t)f.n, (uint32_t)f.n);
    l4[0] = 0;
    eth(&f, NULL, 0), ipv4(&f, "192.168.0.1", "192.168.0.89", 1, l4, 8, 2, 0, 0);
    mm_sensor_packet(s, 1, 1 * NS + 1000, f.b, (uint32_t)f.n, (uint32_t)f.n);
    l4[0] = 11;   /* time exceeded: one-way */
    eth(&f, NULL, 0), ipv4(&f, "10.0.0.1", "10.0.0.2", 1, l4, 8, 3, 0, 0);
    mm_sensor_packet(s, 1, 1 * NS + 2000, f.b, (uint32_t)f.n, (uint32_t)f.n);
    mm_sensor_finish(s);
    CHECK_INT(k.n, 2);
    json_t *a = sh_find_in(&k, "flow", 0), *b = sh_find_in(&k, "flow", 1);
    if (!strcmp(sh_str(a, "source.ip"), "10.0.0.1")) { json_t *t = a; a = b; b = t; }
    CHECK_STR(sh_str(a, "network.community_id"), "1:X0snYXpgwiv9TZtqg64sgzUn6Dk=");
    CHECK_INT(sh_int(a, "source.packets"), 1);
    CHECK_INT(sh_int(a, "destination.packets"), 1);
    CHECK_STR(sh_str(b, "network.community_id"), "1:YHxtAirCG//0OzkcVAukqKQN9xM=");
    mm_sensor_free(s);
    sh_events_reset(&k);
}

int main(void) {
    TEST(community_id_matches_the_spec_example);
    TEST(qinq_vlan_id_is_the_inner_tag);
    TEST(truncated_headers_are_counted_not_analysed);
    TEST(ipv6_extension_headers_are_skipped);
    TEST(fragments_reassemble_out_of_order);
    TEST(reassembly_orders_and_dedups);
    TEST(conflicting_overlap_keeps_first_and_counts);
    TEST(a_hole_over_the_cap_becomes_a_gap);
    TEST(tcp_flow_record_counts_both_directions);
    TEST(idle_flows_expire_and_the_cap_evicts);
    TEST(syn_with_a_new_isn_restarts_the_stream);
    TEST(in_order_data_over_held_bytes_keeps_the_held_ones);
    TEST(tiny_segments_behind_a_hole_are_bounded);
    TEST(random_segment_orders_deliver_the_stream_once);
    TEST(fragment_headers_of_different_lengths);
    TEST(oversized_fragments_are_dropped);
    TEST(ipv6_headers_after_the_fragment_header);
    TEST(held_probe_bytes_replay_in_arrival_order);
    TEST(a_new_syn_on_a_closing_flow_starts_a_new_flow);
    TEST(expectations_match_the_transport);
    TEST(event_writer_output_stays_valid_json);
    TEST(quarantine_counts_stored_bytes);
    TEST(icmp_echo_is_one_flow_with_the_spec_community_id);
    TEST_MAIN_END();
}
