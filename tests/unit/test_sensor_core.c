/* The packet sensor's core: link/IP decoding (VLAN, QinQ, IPv6 extension headers,
 * fragments), the flow table (records, timeouts, the cap), TCP reassembly (order,
 * overlaps, gaps) and the Community ID, with hand-built frames. */
#include "test.h"

#include "sensor/packet.h"
#include "sensor/sensor.h"
#include "sensor/stream.h"

#include <jansson.h>

#define NS 1000000000LL

/* ---- events collected from a sensor ---- */

typedef struct sinkv {
    json_t *ev[256];
    int n;
} sinkv;

static void collect(void *ctx, const char *json, size_t len, int64_t ts) {
    sinkv *s = ctx;
    json_error_t e;
    json_t *j = json_loadb(json, len, 0, &e);
    if (!j) {
        printf("FAIL invalid JSON from the sensor: %.*s\n", (int)len, json);
        return;
    }
    if (s->n < 256) s->ev[s->n++] = j;
    else json_decref(j);
}

static void sink_free(sinkv *s) {
    for (int i = 0; i < s->n; i++) json_decref(s->ev[i]);
    s->n = 0;
}

static const char *sget(json_t *j, const char *k) {
    json_t *v = json_object_get(j, k);
    return json_is_string(v) ? json_string_value(v) : NULL;
}
static long long iget(json_t *j, const char *k) {
    json_t *v = json_object_get(j, k);
    return json_is_integer(v) ? json_integer_value(v) : -1;
}

static json_t *find_action(sinkv *s, const char *action, int nth) {
    for (int i = 0; i < s->n; i++) {
        const char *a = sget(s->ev[i], "event.action");
        if (a && !strcmp(a, action) && nth-- == 0) return s->ev[i];
    }
    return NULL;
}

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

static mm_sensor *new_sensor(sinkv *k, mm_sensor_opts *o) {
    mm_sensor_opts d;
    if (!o) mm_sensor_opts_default(&d), o = &d;
    mm_sensor *s = NULL;
    mm_err err;
    if (mm_sensor_new(&s, o, collect, k, &err) != 0) printf("FAIL sensor: %s\n", err.msg);
    return s;
}

/* ---- tests ---- */

static void community_id_matches_the_spec_example(void) {
    sinkv k = {0};
    mm_sensor *s = new_sensor(&k, NULL);
    frame f;
    uint8_t l4[64];
    eth(&f, NULL, 0);
    ipv4(&f, "192.168.1.52", "8.8.8.8", 17, l4, udp(l4, 54585, 53, "x", 1), 7, 0, 0);
    mm_sensor_packet(s, 1, 1 * NS, f.b, (uint32_t)f.n, (uint32_t)f.n);
    mm_sensor_finish(s);
    json_t *fl = find_action(&k, "flow", 0);
    CHECK(fl);
    CHECK_STR(sget(fl, "network.community_id"), "1:d/FP5EW3wiY1vCndhwleRRKHowQ=");
    CHECK_STR(sget(fl, "network.transport"), "udp");
    mm_sensor_free(s);
    sink_free(&k);
}

static void qinq_vlan_id_is_the_inner_tag(void) {
    sinkv k = {0};
    mm_sensor *s = new_sensor(&k, NULL);
    frame f;
    uint8_t l4[64];
    uint16_t tags[2] = {100, 42};
    eth(&f, tags, 2);
    ipv4(&f, "10.0.0.1", "10.0.0.2", 17, l4, udp(l4, 40000, 9999, "hello", 5), 7, 0, 0);
    mm_sensor_packet(s, 1, 1 * NS, f.b, (uint32_t)f.n, (uint32_t)f.n);
    mm_sensor_finish(s);
    json_t *fl = find_action(&k, "flow", 0);
    CHECK(fl);
    CHECK_INT(iget(fl, "network.vlan.id"), 42);
    CHECK_INT(iget(fl, "source.bytes"), 20 + 8 + 5);
    mm_sensor_free(s);
    sink_free(&k);
}

static void truncated_headers_are_counted_not_analysed(void) {
    sinkv k = {0};
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
    sink_free(&k);
}

static void ipv6_extension_headers_are_skipped(void) {
    sinkv k = {0};
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
    json_t *fl = find_action(&k, "flow", 0);
    CHECK(fl);
    CHECK_STR(sget(fl, "source.ip"), "2001::1");
    CHECK_INT(iget(fl, "source.port"), 5353);
    CHECK_INT(iget(fl, "destination.port"), 7777);
    CHECK_STR(sget(fl, "network.type"), "ipv6");
    mm_sensor_free(s);
    sink_free(&k);
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
    sinkv k = {0};
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
    json_t *fl = find_action(&k, "flow", 0);
    CHECK(fl);
    CHECK_STR(sget(fl, "source.ip"), c);
    CHECK_INT(iget(fl, "destination.port"), 4444);
    CHECK_INT(iget(fl, "source.packets"), 5);
    CHECK_INT(iget(fl, "destination.packets"), 3);
    CHECK_INT(iget(fl, "source.bytes"), 5 * 40 + 4);
    CHECK_INT(iget(fl, "destination.bytes"), 3 * 40 + 5);
    CHECK_STR(sget(fl, "flow.history"), "ShADdFf");
    CHECK_STR(sget(fl, "flow.end_reason"), "closed");
    CHECK_STR(sget(fl, "network.direction"), "outbound");
    CHECK_INT(iget(fl, "event.duration"), 2 * NS + 200);
    mm_sensor_free(s);
    sink_free(&k);
}

static void idle_flows_expire_and_the_cap_evicts(void) {
    sinkv k = {0};
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
    json_t *first = find_action(&k, "flow", 0);
    CHECK(first);
    CHECK_INT(iget(first, "source.port"), 40000);   /* the least recently seen went first */
    CHECK_STR(sget(first, "flow.end_reason"), "evicted");
    mm_sensor_tick(s, 200 * NS);
    mm_sensor_stats_get(s, &st);
    CHECK_INT(st.flows_active, 0);
    json_t *last = find_action(&k, "flow", 5);
    CHECK(last);
    CHECK_STR(sget(last, "flow.end_reason"), "idle");
    mm_sensor_free(s);
    sink_free(&k);
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
    TEST_MAIN_END();
}
