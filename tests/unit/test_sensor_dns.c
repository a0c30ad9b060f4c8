/* The DNS analyzer: query and answer events with their exact field values (names
 * through compression pointers, every record type the analyzer prints, TTLs, flags,
 * resolved IPs), TCP framing whatever the chunking, tunnel-length names kept whole,
 * and hostile messages (pointer loops, forward pointers, over-long names, truncation,
 * bad TCP lengths) counted and dropped without a crash; the probe on and off the
 * standard ports. */
#include "test.h"

#define MAXEV 64
#define SH_MAXEV MAXEV
#include "../sensor_harness.h"

/* ---- a sensor whose events land in a list, a flow made by hand ---- */

static mm_flow *flow(uint8_t proto, uint16_t cport, uint16_t sport) {
    sh_sensor_new(NULL);
    mm_flow *f = sh_flow("10.1.2.3", cport, "10.9.9.9", sport, proto);
    sh_app(f, &mm_app_dns, false);
    return f;
}

/* ---- a DNS message builder ---- */

typedef struct msg {
    uint8_t b[70000];
    size_t n;
} msg;
static msg g_m;

static void u8_(msg *m, unsigned v) { m->b[m->n++] = (uint8_t)v; }
static void u16_(msg *m, unsigned v) { u8_(m, v >> 8), u8_(m, v & 255); }
static void u32_(msg *m, uint32_t v) { u16_(m, v >> 16), u16_(m, v & 0xffff); }
static void raw(msg *m, const void *p, size_t n) { memcpy(m->b + m->n, p, n), m->n += n; }
static void cstr(msg *m, const char *s) { u8_(m, (unsigned)strlen(s)), raw(m, s, strlen(s)); }
/* labels of a dotted name, ending with the root unless ptr >= 0 (then a pointer) */
static void name(msg *m, const char *s, int ptr) {
    while (*s) {
        const char *d = strchr(s, '.');
        size_t l = d ? (size_t)(d - s) : strlen(s);
        u8_(m, (unsigned)l);
        raw(m, s, l);
        s += l + (d ? 1 : 0);
    }
    if (ptr >= 0) u16_(m, 0xc000u | (unsigned)ptr);
    else u8_(m, 0);
}
static void header(msg *m, unsigned id, unsigned flags, unsigned qd, unsigned an) {
    m->n = 0;
    u16_(m, id), u16_(m, flags), u16_(m, qd), u16_(m, an), u16_(m, 0), u16_(m, 0);
}
/* an RR header; returns where rdlength sits so it can be patched */
static size_t rr(msg *m, int owner_ptr, unsigned type, uint32_t ttl) {
    u16_(m, 0xc000u | (unsigned)owner_ptr);
    u16_(m, type), u16_(m, 1), u32_(m, ttl);
    size_t at = m->n;
    u16_(m, 0);
    return at;
}
static void rdlen(msg *m, size_t at) {
    size_t l = m->n - at - 2;
    m->b[at] = (uint8_t)(l >> 8), m->b[at + 1] = (uint8_t)l;
}

static void feed(mm_flow *f, int dir, const msg *m) { mm_app_dns.data(f->app_state, f, dir, m->b, m->n); }

/* ---- tests ---- */

static void query_event(void) {
    mm_flow *f = flow(IPPROTO_UDP, 41805, 53);
    f->app_state = mm_app_dns.open(f);
    header(&g_m, 36146, 0x0120, 1, 0);   /* RD, AD */
    name(&g_m, "www.suricata-ids.org", -1);
    u16_(&g_m, 1), u16_(&g_m, 1);
    feed(f, MM_C2S, &g_m);
    mm_app_dns.close(f->app_state, f);
    CHECK_INT(sh_nev(), 1);
    json_t *e = sh_ev(0);
    CHECK(e);
    CHECK_STR(sh_str(e, "event.action"), "dns-query");
    CHECK_STR(sh_str(e, "event.category"), "network");
    CHECK_STR(sh_str(e, "event.type"), "protocol");
    CHECK_STR(sh_str(e, "dns.type"), "query");
    CHECK_STR(sh_str(e, "dns.id"), "36146");
    CHECK_STR(sh_str(e, "dns.question.name"), "www.suricata-ids.org");
    CHECK_STR(sh_str(e, "dns.question.type"), "A");
    CHECK_STR(sh_str(e, "dns.question.class"), "IN");
    CHECK_INT(sh_len(e, "dns.header_flags"), 2);
    CHECK_STR(sh_item(e, "dns.header_flags", 0), "RD");
    CHECK_STR(sh_item(e, "dns.header_flags", 1), "AD");
    CHECK(!json_object_get(e, "dns.response_code"));
    CHECK(!json_object_get(e, "dns.answers.name"));
    CHECK_INT(sh_app_errors(), 0);
}

/* A response using every data form, with compression everywhere it may appear. */
static void build_answer(msg *m) {
    header(m, 0xbeef, 0x8583, 1, 8);   /* QR AA RD RA, rcode NXDOMAIN (3) */
    name(m, "www.example.com", -1);    /* at 12; "example.com" at 16 */
    u16_(m, 255), u16_(m, 1);
    size_t at = rr(m, 12, 5, 3544);    /* CNAME -> web.example.com */
    name(m, "web", 16);
    rdlen(m, at);
    at = rr(m, 16, 1, 244);            /* A */
    raw(m, "\xc0\x00\x4e\x18", 4);
    rdlen(m, at);
    at = rr(m, 16, 28, 60);            /* AAAA */
    raw(m, "\x26\x07\xf8\xb0\x40\x0f\x08\x01\x00\x00\x00\x00\x00\x00\x20\x0e", 16);
    rdlen(m, at);
    at = rr(m, 16, 15, 599);           /* MX 10 mail.example.com */
    u16_(m, 10);
    name(m, "mail", 16);
    rdlen(m, at);
    at = rr(m, 16, 16, 3217);          /* TXT in two strings: read back joined */
    cstr(m, "v=spf1 includ");
    cstr(m, "e:_spf.google.com ~all");
    rdlen(m, at);
    at = rr(m, 16, 6, 300);            /* SOA: mname */
    name(m, "ns1", 16);
    name(m, "hostmaster", 16);
    for (int i = 0; i < 5; i++) u32_(m, 7);
    rdlen(m, at);
    at = rr(m, 16, 33, 30);            /* SRV 1 2 5060 sip.example.com */
    u16_(m, 1), u16_(m, 2), u16_(m, 5060);
    name(m, "sip", 16);
    rdlen(m, at);
    at = rr(m, 16, 99, 1);             /* SPF, printed like TXT */
    cstr(m, "abc");
    rdlen(m, at);
}

static void answer_event(void) {
    mm_flow *f = flow(IPPROTO_UDP, 41805, 53);
    f->app_state = mm_app_dns.open(f);
    build_answer(&g_m);
    feed(f, MM_S2C, &g_m);
    mm_app_dns.close(f->app_state, f);
    CHECK_INT(sh_nev(), 1);
    json_t *e = sh_ev(0);
    CHECK(e);
    CHECK_STR(sh_str(e, "event.action"), "dns-answer");
    CHECK_STR(sh_str(e, "dns.type"), "answer");
    CHECK_STR(sh_str(e, "dns.id"), "48879");
    CHECK_STR(sh_str(e, "dns.question.type"), "ANY");
    CHECK_STR(sh_str(e, "dns.response_code"), "NXDOMAIN");
    CHECK_INT(sh_len(e, "dns.header_flags"), 3);
    CHECK_STR(sh_item(e, "dns.header_flags", 0), "AA");
    CHECK_STR(sh_item(e, "dns.header_flags", 2), "RA");
    CHECK_INT(sh_len(e, "dns.answers.name"), 8);
    CHECK_INT(sh_len(e, "dns.answers.type"), 8);
    CHECK_INT(sh_len(e, "dns.answers.data"), 8);
    CHECK_INT(sh_len(e, "dns.answers.ttl"), 8);
    CHECK_STR(sh_item(e, "dns.answers.name", 0), "www.example.com");
    CHECK_STR(sh_item(e, "dns.answers.name", 1), "example.com");
    static const char *types[] = {"CNAME", "A", "AAAA", "MX", "TXT", "SOA", "SRV", "SPF"};
    static const char *data[] = {"web.example.com", "192.0.78.24", "2607:f8b0:400f:801::200e",
                                 "10 mail.example.com", "v=spf1 include:_spf.google.com ~all",
                                 "ns1.example.com", "1 2 5060 sip.example.com", "abc"};
    for (int i = 0; i < 8; i++) {
        CHECK_STR(sh_item(e, "dns.answers.type", i), types[i]);
        CHECK_STR(sh_item(e, "dns.answers.data", i), data[i]);
    }
    CHECK_INT(json_integer_value(json_array_get(json_object_get(e, "dns.answers.ttl"), 0)), 3544);
    CHECK_INT(json_integer_value(json_array_get(json_object_get(e, "dns.answers.ttl"), 4)), 3217);
    CHECK_INT(sh_len(e, "dns.resolved_ip"), 2);
    CHECK_STR(sh_item(e, "dns.resolved_ip", 0), "192.0.78.24");
    CHECK_STR(sh_item(e, "dns.resolved_ip", 1), "2607:f8b0:400f:801::200e");
    CHECK_INT(sh_app_errors(), 0);
}

/* Over TCP, two length-prefixed messages arrive in any chunking: whole, one byte at
 * a time, or split inside the length prefix. */
static void tcp_framing(void) {
    static msg stream;
    build_answer(&g_m);
    stream.n = 0;
    for (int k = 0; k < 2; k++) {
        u16_(&stream, (unsigned)g_m.n);
        raw(&stream, g_m.b, g_m.n);
    }
    size_t steps[] = {stream.n, 1, 2, 7, 300};
    for (size_t s = 0; s < sizeof steps / sizeof steps[0]; s++) {
        mm_flow *f = flow(IPPROTO_TCP, 40000, 53);
        f->app_state = mm_app_dns.open(f);
        for (size_t i = 0; i < stream.n; i += steps[s]) {
            size_t k = stream.n - i < steps[s] ? stream.n - i : steps[s];
            mm_app_dns.data(f->app_state, f, MM_S2C, stream.b + i, k);
        }
        mm_app_dns.close(f->app_state, f);
        CHECK_INT(sh_nev(), 2);
        CHECK_STR(sh_item(sh_ev(1), "dns.answers.data", 3), "10 mail.example.com");
        CHECK_INT(sh_app_errors(), 0);
    }
    /* a message cut short by the end of the connection is counted */
    mm_flow *f = flow(IPPROTO_TCP, 40000, 53);
    f->app_state = mm_app_dns.open(f);
    mm_app_dns.data(f->app_state, f, MM_S2C, stream.b, 40);
    mm_app_dns.close(f->app_state, f);
    CHECK_INT(sh_nev(), 0);
    CHECK_INT(sh_app_errors(), 1);
    /* a length below a header's size ends the direction, counted */
    f = flow(IPPROTO_TCP, 40000, 53);
    f->app_state = mm_app_dns.open(f);
    mm_app_dns.data(f->app_state, f, MM_C2S, (const uint8_t *)"\x00\x05hello\x00\x05hello", 14);
    mm_app_dns.close(f->app_state, f);
    CHECK_INT(sh_nev(), 0);
    CHECK_INT(sh_app_errors(), 1);
}

/* iodine-style: a 253-character name, kept byte for byte. */
static void tunnel_name_kept(void) {
    mm_flow *f = flow(IPPROTO_UDP, 44639, 53);
    f->app_state = mm_app_dns.open(f);
    char want[300] = "";
    header(&g_m, 1, 0x0100, 1, 0);
    static const int lens[] = {63, 63, 63, 50};   /* wire length 255, the most allowed */
    for (int l = 0; l < 4; l++) {
        u8_(&g_m, (unsigned)lens[l]);
        for (int i = 0; i < lens[l]; i++) {
            char c = (char)('a' + (l * 7 + i) % 26);
            g_m.b[g_m.n++] = (uint8_t)c;
            want[strlen(want)] = c;
        }
        strcat(want, ".");
    }
    name(&g_m, "pirate.sea", -1);
    strcat(want, "pirate.sea");
    u16_(&g_m, 10), u16_(&g_m, 1);
    feed(f, MM_C2S, &g_m);
    mm_app_dns.close(f->app_state, f);
    CHECK_INT(sh_nev(), 1);
    CHECK_INT(strlen(want), 253);
    CHECK_STR(sh_str(sh_ev(0), "dns.question.name"), want);
    CHECK_STR(sh_str(sh_ev(0), "dns.question.type"), "NULL");
}

static void hostile_names(void) {
    /* pointer to itself */
    mm_flow *f = flow(IPPROTO_UDP, 1000, 53);
    f->app_state = mm_app_dns.open(f);
    header(&g_m, 1, 0, 1, 0);
    u16_(&g_m, 0xc00c), u16_(&g_m, 1), u16_(&g_m, 1);
    feed(f, MM_C2S, &g_m);
    CHECK_INT(sh_nev(), 0);
    CHECK_INT(sh_app_errors(), 1);
    /* a loop between two pointers in the answers: the message is dropped */
    build_answer(&g_m);
    size_t at = rr(&g_m, 12, 5, 1);
    u16_(&g_m, 0xc000u | (unsigned)(g_m.n + 2));   /* forward ... */
    u16_(&g_m, 0xc000u | (unsigned)(g_m.n - 2));   /* ... and back */
    rdlen(&g_m, at);
    g_m.b[7] = 9;
    feed(f, MM_S2C, &g_m);
    CHECK_INT(sh_nev(), 0);
    CHECK_INT(sh_app_errors(), 2);
    /* a name over 255 bytes */
    header(&g_m, 1, 0, 1, 0);
    for (int i = 0; i < 5; i++) {
        u8_(&g_m, 60);
        memset(g_m.b + g_m.n, 'x', 60);
        g_m.n += 60;
    }
    u8_(&g_m, 0), u16_(&g_m, 1), u16_(&g_m, 1);
    feed(f, MM_C2S, &g_m);
    CHECK_INT(sh_nev(), 0);
    CHECK_INT(sh_app_errors(), 3);
    /* the old 0x40/0x80 label types */
    header(&g_m, 1, 0, 1, 0);
    u8_(&g_m, 0x41), u8_(&g_m, 0), u16_(&g_m, 1), u16_(&g_m, 1);
    feed(f, MM_C2S, &g_m);
    CHECK_INT(sh_app_errors(), 4);
    /* too short for a header */
    mm_app_dns.data(f->app_state, f, MM_C2S, (const uint8_t *)"\x01\x02\x03", 3);
    CHECK_INT(sh_app_errors(), 5);
    CHECK_INT(sh_nev(), 0);
    mm_app_dns.close(f->app_state, f);
}

/* Cut inside the answers: counted, and the records before the cut are logged. */
static void truncated_answers(void) {
    mm_flow *f = flow(IPPROTO_UDP, 1000, 53);
    f->app_state = mm_app_dns.open(f);
    build_answer(&g_m);
    msg *m = &g_m;
    /* keep the CNAME and the A record only */
    size_t off = 12 + 17 + 4;
    for (int i = 0; i < 2; i++) off += 12 + (size_t)(m->b[off + 10] << 8 | m->b[off + 11]);
    m->n = off + 5;
    feed(f, MM_S2C, m);
    mm_app_dns.close(f->app_state, f);
    CHECK_INT(sh_nev(), 1);
    CHECK_INT(sh_app_errors(), 1);
    json_t *e = sh_ev(0);
    CHECK_INT(sh_len(e, "dns.answers.type"), 2);
    CHECK_STR(sh_item(e, "dns.answers.type", 1), "A");
    CHECK_STR(sh_item(e, "dns.resolved_ip", 0), "192.0.78.24");
}

/* A response with more records than one event carries: the rest are counted. */
static void many_answers(void) {
    mm_flow *f = flow(IPPROTO_UDP, 1000, 53);
    f->app_state = mm_app_dns.open(f);
    header(&g_m, 7, 0x8180, 1, 100);
    name(&g_m, "big.example", -1);
    u16_(&g_m, 1), u16_(&g_m, 1);
    for (int i = 0; i < 100; i++) {
        size_t at = rr(&g_m, 12, 1, 5);
        u8_(&g_m, 10), u8_(&g_m, 0), u8_(&g_m, 0), u8_(&g_m, (unsigned)i);
        rdlen(&g_m, at);
    }
    feed(f, MM_S2C, &g_m);
    mm_app_dns.close(f->app_state, f);
    CHECK_INT(sh_nev(), 1);
    CHECK_INT(sh_len(sh_ev(0), "dns.answers.data"), 64);
    CHECK_STR(sh_item(sh_ev(0), "dns.answers.data", 63), "10.0.0.63");
    CHECK_INT(sh_app_errors(), 1);
}

static void unknown_type_hex(void) {
    mm_flow *f = flow(IPPROTO_UDP, 1000, 53);
    f->app_state = mm_app_dns.open(f);
    header(&g_m, 7, 0x8180, 1, 1);
    name(&g_m, "x.example", -1);
    u16_(&g_m, 4242), u16_(&g_m, 3);
    size_t at = rr(&g_m, 12, 4242, 5);
    raw(&g_m, "\xde\xad\xbe\xef", 4);
    rdlen(&g_m, at);
    feed(f, MM_S2C, &g_m);
    mm_app_dns.close(f->app_state, f);
    CHECK_INT(sh_nev(), 1);
    CHECK_STR(sh_str(sh_ev(0), "dns.question.type"), "TYPE4242");
    CHECK_STR(sh_str(sh_ev(0), "dns.question.class"), "CH");
    CHECK_STR(sh_item(sh_ev(0), "dns.answers.type", 0), "TYPE4242");
    CHECK_STR(sh_item(sh_ev(0), "dns.answers.data", 0), "deadbeef");
    CHECK(!json_object_get(sh_ev(0), "dns.resolved_ip"));
}

static void probe(void) {
    mm_flow *f = flow(IPPROTO_UDP, 41805, 53);
    header(&g_m, 1, 0x0100, 1, 0);
    name(&g_m, "www.example.com", -1);
    u16_(&g_m, 1), u16_(&g_m, 1);
    CHECK_INT(mm_app_dns.probe(f, g_m.b, g_m.n, NULL, 0), MM_PROBE_YES);
    CHECK_INT(mm_app_dns.probe(f, (const uint8_t *)"GET / HTTP/1.1\r\n\r\n", 18, NULL, 0), MM_PROBE_NO);
    /* off port 53: the same query passes, a name of odd bytes does not */
    f->sport = 40000;
    CHECK_INT(mm_app_dns.probe(f, g_m.b, g_m.n, NULL, 0), MM_PROBE_YES);
    g_m.b[13] = 0xff;
    CHECK_INT(mm_app_dns.probe(f, g_m.b, g_m.n, NULL, 0), MM_PROBE_NO);
    g_m.b[13] = 'w';
    g_m.b[5] = 3;   /* three questions: only on the DNS ports */
    CHECK_INT(mm_app_dns.probe(f, g_m.b, g_m.n, NULL, 0), MM_PROBE_NO);
    f->sport = 53;
    CHECK_INT(mm_app_dns.probe(f, g_m.b, g_m.n, NULL, 0), MM_PROBE_YES);
    g_m.b[5] = 1;
    /* TCP: wait for the rest, then decide */
    f->proto = IPPROTO_TCP;
    static msg t;
    t.n = 0;
    u16_(&t, (unsigned)g_m.n);
    raw(&t, g_m.b, g_m.n);
    CHECK_INT(mm_app_dns.probe(f, t.b, 1, NULL, 0), MM_PROBE_MAYBE);
    CHECK_INT(mm_app_dns.probe(f, t.b, 10, NULL, 0), MM_PROBE_MAYBE);
    CHECK_INT(mm_app_dns.probe(f, t.b, 20, NULL, 0), MM_PROBE_MAYBE);
    CHECK_INT(mm_app_dns.probe(f, t.b, t.n, NULL, 0), MM_PROBE_YES);
    CHECK_INT(mm_app_dns.probe(f, (const uint8_t *)"\x00\x03xyz", 5, NULL, 0), MM_PROBE_NO);
    /* a response seen first (the query was lost) */
    f->proto = IPPROTO_UDP;
    build_answer(&g_m);
    CHECK_INT(mm_app_dns.probe(f, NULL, 0, g_m.b, g_m.n), MM_PROBE_YES);
}

/* Every prefix of a valid response and a few thousand byte flips: no crash, and
 * never more than one event per message. */
static void garbage(void) {
    mm_flow *f = flow(IPPROTO_UDP, 1000, 53);
    f->app_state = mm_app_dns.open(f);
    build_answer(&g_m);
    static msg c;
    for (size_t n = 0; n <= g_m.n; n++) mm_app_dns.data(f->app_state, f, MM_S2C, g_m.b, n);
    CHECK(sh_nev() <= MAXEV);
    uint32_t seed = 12345;
    int before = sh_nev();
    for (int k = 0; k < 3000; k++) {
        c = g_m;
        for (int j = 0; j < 3; j++) {
            seed = seed * 1103515245u + 12345u;
            c.b[(seed >> 8) % c.n] = (uint8_t)(seed >> 20);
        }
        int n0 = sh_nev();
        mm_app_dns.data(f->app_state, f, MM_S2C, c.b, c.n);
        CHECK(sh_nev() - n0 <= 1 || sh_nev() == MAXEV);
    }
    (void)before;
    mm_app_dns.close(f->app_state, f);
}

int main(void) {
    TEST(query_event);
    TEST(answer_event);
    TEST(tcp_framing);
    TEST(tunnel_name_kept);
    TEST(hostile_names);
    TEST(truncated_answers);
    TEST(many_answers);
    TEST(unknown_type_hex);
    TEST(probe);
    TEST(garbage);
    sh_sensor_free();
    TEST_MAIN_END();
}
