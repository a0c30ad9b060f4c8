/* The TLS analyzer: JA3 / JA3S strings and hashes (GREASE dropped) against values
 * computed independently, SNI and ALPN, the certificate's DNs, validity, SANs, serial
 * and SHA-1 (a real DER certificate made with openssl), tls.established for TLS 1.2 and
 * 1.3, handshake messages spanning records and records spanning chunks (fed one byte
 * at a time), HelloRetryRequest, the numeric-SNI risk, and hostile input (bad records,
 * oversized handshake messages, SSLv2 hellos, mutations) counted without a crash.
 * On nDPI's emotet.pcap (through the whole sensor) the JA3/JA3S/certificate values
 * match what ndpiReader printed; skipped when the corpora are absent. */
#include "test.h"

#define SH_MAXEV 64
#include "../sensor_harness.h"

static mm_flow *flow(void) {
    sh_sensor_new(NULL);
    mm_flow *f = sh_flow("10.1.2.3", 50000, "93.184.216.34", 443, IPPROTO_TCP);
    sh_app(f, &mm_app_tls, true);
    return f;
}

/* ---- building handshakes ---- */

typedef struct buf {
    uint8_t b[200000];
    size_t n;
} buf;

static void u8_(buf *m, unsigned v) { m->b[m->n++] = (uint8_t)v; }
static void u16_(buf *m, unsigned v) { u8_(m, v >> 8), u8_(m, v & 255); }
static void u24_(buf *m, size_t v) { u8_(m, (unsigned)(v >> 16)), u16_(m, (unsigned)(v & 0xffff)); }
static void raw(buf *m, const void *p, size_t n) { memcpy(m->b + m->n, p, n), m->n += n; }
static void fill(buf *m, int c, size_t n) { memset(m->b + m->n, c, n), m->n += n; }
/* Lengths are patched once the contents are written. */
static size_t open16(buf *m) { u16_(m, 0); return m->n; }
static void close16(buf *m, size_t at) {
    size_t l = m->n - at;
    m->b[at - 2] = (uint8_t)(l >> 8), m->b[at - 1] = (uint8_t)l;
}
static size_t open_hs(buf *m, unsigned type) { u8_(m, type); u24_(m, 0); return m->n; }
static void close_hs(buf *m, size_t at) {
    size_t l = m->n - at;
    m->b[at - 3] = (uint8_t)(l >> 16), m->b[at - 2] = (uint8_t)(l >> 8), m->b[at - 1] = (uint8_t)l;
}

/* ClientHello with GREASE in ciphers, extensions and groups; its JA3 string is
 * 771,4865-49195-47,0-10-11-16-43,29-23,0 */
static void client_hello(buf *m, const char *sni) {
    size_t hs = open_hs(m, 1);
    u16_(m, 0x0303);
    fill(m, 0x11, 32);
    u8_(m, 0);
    size_t c = open16(m);
    u16_(m, 0x0a0a), u16_(m, 0x1301), u16_(m, 0xc02b), u16_(m, 0x002f);
    close16(m, c);
    u8_(m, 1), u8_(m, 0);
    size_t ex = open16(m);
    u16_(m, 0x1a1a), u16_(m, 0);
    u16_(m, 0);
    size_t e = open16(m), l = open16(m);
    u8_(m, 0);
    size_t h = open16(m);
    raw(m, sni, strlen(sni));
    close16(m, h), close16(m, l), close16(m, e);
    u16_(m, 10), e = open16(m), l = open16(m);
    u16_(m, 0x2a2a), u16_(m, 29), u16_(m, 23);
    close16(m, l), close16(m, e);
    u16_(m, 11), u16_(m, 2), u8_(m, 1), u8_(m, 0);
    u16_(m, 16), e = open16(m), l = open16(m);
    u8_(m, 2), raw(m, "h2", 2), u8_(m, 8), raw(m, "http/1.1", 8);
    close16(m, l), close16(m, e);
    u16_(m, 43), u16_(m, 5), u8_(m, 4), u16_(m, 0x0304), u16_(m, 0x0303);
    close16(m, ex);
    close_hs(m, hs);
}

/* ServerHello: JA3S string 771,49199,16-65281 (TLS 1.2), or 771,4865,43 (1.3). */
static void server_hello(buf *m, bool tls13, bool hrr) {
    size_t hs = open_hs(m, 2);
    u16_(m, 0x0303);
    if (hrr)
        raw(m, "\xcf\x21\xad\x74\xe5\x9a\x61\x11\xbe\x1d\x8c\x02\x1e\x65\xb8\x91"
               "\xc2\xa2\x11\x16\x7a\xbb\x8c\x5e\x07\x9e\x09\xe2\xc8\xa8\x33\x9c", 32);
    else
        fill(m, 0x22, 32);
    u8_(m, 0);
    u16_(m, tls13 ? 0x1301 : 0xc02f);
    u8_(m, 0);
    size_t ex = open16(m);
    if (tls13) {
        u16_(m, 43), u16_(m, 2), u16_(m, 0x0304);
    } else {
        u16_(m, 16);
        size_t e = open16(m), l = open16(m);
        u8_(m, 2), raw(m, "h2", 2);
        close16(m, l), close16(m, e);
        u16_(m, 0xff01), u16_(m, 1), u8_(m, 0);
    }
    close16(m, ex);
    close_hs(m, hs);
}

static const char cert_hex[] =
    "308201dd30820183a00302010202041234abcd300a06082a8648ce3d040302304d310b3009060355040613024a50310e"
    "300c06035504080c05546f6b796f31143012060355040a0c0b4d616d6f726920546573743118301606035504030c0f74"
    "6573742e6578616d706c652e6a70301e170d3236313132333137323630365a170d3336313132303137323630365a304d"
    "310b3009060355040613024a50310e300c06035504080c05546f6b796f31143012060355040a0c0b4d616d6f72692054"
    "6573743118301606035504030c0f746573742e6578616d706c652e6a703059301306072a8648ce3d020106082a8648ce"
    "3d03010703420004a7752dd3efeb24c2c0d7993b9fea31963dd7b405dc807bf020f7173ac605ecf0ac63509846219540"
    "bd7449e79b72de35001cf7bf3c4f0da5decb37b015f08fb3a351304f302e0603551d1104273025820f746573742e6578"
    "616d706c652e6a70820c2a2e6578616d706c652e6a708704c0000207301d0603551d0e04160414b9c28a5b9a9e47b969"
    "b744e7f326e6bd944e7d20300a06082a8648ce3d040302034800304502202f2addcfba73fcd223695afbe25b13c67096"
    "ce66ab70292a71bc81fc6981f09b022100a60e79a152847998b9af34797d2bfa10f630bd0c94a230352dfed348450080"
    "ac"
;

static size_t unhex(const char *h, uint8_t *out) {
    size_t n = strlen(h) / 2;
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        sscanf(h + 2 * i, "%2x", &v);
        out[i] = (uint8_t)v;
    }
    return n;
}

static void certificate(buf *m) {
    static uint8_t der[2048];
    size_t n = unhex(cert_hex, der);
    size_t hs = open_hs(m, 11);
    u24_(m, n + 3 + 5);
    u24_(m, n), raw(m, der, n);
    u24_(m, 2), raw(m, "\x30\x00", 2);   /* a second "certificate": ignored */
    close_hs(m, hs);
}

/* Wrap handshake bytes in records of at most `per` bytes (messages span records). */
static void records(buf *out, unsigned type, const buf *hs, size_t per) {
    for (size_t i = 0; i < hs->n; i += per) {
        size_t k = hs->n - i < per ? hs->n - i : per;
        u8_(out, type), u16_(out, 0x0303), u16_(out, (unsigned)k);
        raw(out, hs->b + i, k);
    }
}

static buf g_c, g_sv, g_h;

static void feed(mm_flow *f, int dir, const buf *b, size_t step) {
    for (size_t i = 0; i < b->n; i += step) {
        size_t k = b->n - i < step ? b->n - i : step;
        mm_app_tls.data(f->app_state, f, dir, b->b + i, k);
    }
}

/* The client's and the server's first flights of a TLS 1.2 handshake with a
 * certificate, then CCS and Finished both ways. */
static void tls12_flights(size_t per_record) {
    g_c.n = g_sv.n = g_h.n = 0;
    client_hello(&g_h, "www.example.org");
    records(&g_c, 22, &g_h, per_record);
    g_h.n = 0;
    server_hello(&g_h, false, false);
    certificate(&g_h);
    open_hs(&g_h, 14);   /* ServerHelloDone, empty */
    records(&g_sv, 22, &g_h, per_record);
}

static void finish12(buf *c, buf *s) {
    raw(c, "\x14\x03\x03\x00\x01\x01", 6);
    raw(c, "\x16\x03\x03\x00\x28", 5), fill(c, 0x5a, 40);
    raw(s, "\x14\x03\x03\x00\x01\x01", 6);
    raw(s, "\x16\x03\x03\x00\x28", 5), fill(s, 0x5b, 40);
}

static void check_tls12(json_t *e) {
    CHECK(e);
    CHECK_STR(sh_str(e, "event.action"), "tls-handshake");
    CHECK_STR(sh_str(e, "event.category"), "network");
    CHECK_STR(sh_str(e, "event.type"), "protocol");
    CHECK_STR(sh_str(e, "tls.version"), "1.2");
    CHECK_STR(sh_str(e, "tls.version_protocol"), "tls");
    CHECK_STR(sh_str(e, "tls.cipher"), "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");
    CHECK_STR(sh_str(e, "tls.client.server_name"), "www.example.org");
    CHECK_STR(sh_str(e, "tls.client.ja3_string"), "771,4865-49195-47,0-10-11-16-43,29-23,0");
    CHECK_STR(sh_str(e, "tls.client.ja3"), "e34ac42fe75b971a80c9af9a1bd5786a");
    CHECK_STR(sh_str(e, "tls.server.ja3s"), "94d15fb85410d46db5a043124cf1b7ad");
    CHECK_INT(sh_len(e, "tls.client.supported_alpn"), 2);
    CHECK_STR(sh_item(e, "tls.client.supported_alpn", 1), "http/1.1");
    CHECK_STR(sh_str(e, "tls.next_protocol"), "h2");
    CHECK_STR(sh_str(e, "tls.server.subject"), "C=JP, ST=Tokyo, O=Mamori Test, CN=test.example.jp");
    CHECK_STR(sh_str(e, "tls.server.issuer"), "C=JP, ST=Tokyo, O=Mamori Test, CN=test.example.jp");
    CHECK_STR(sh_str(e, "tls.server.x509.subject.common_name"), "test.example.jp");
    CHECK_STR(sh_str(e, "tls.server.x509.issuer.common_name"), "test.example.jp");
    CHECK_STR(sh_str(e, "tls.server.not_before"), "2026-11-23T17:26:06Z");
    CHECK_STR(sh_str(e, "tls.server.not_after"), "2036-11-20T17:26:06Z");
    CHECK_STR(sh_str(e, "tls.server.hash.sha1"), "824fa2c2bc9262befc31cc8f3538b6516b169374");
    CHECK_STR(sh_str(e, "tls.server.x509.serial_number"), "1234ABCD");
    CHECK_INT(sh_len(e, "tls.server.x509.alternative_names"), 3);
    CHECK_STR(sh_item(e, "tls.server.x509.alternative_names", 0), "test.example.jp");
    CHECK_STR(sh_item(e, "tls.server.x509.alternative_names", 1), "*.example.jp");
    CHECK_STR(sh_item(e, "tls.server.x509.alternative_names", 2), "192.0.2.7");
    CHECK_STR(sh_str(e, "tls.established"), "true");
}

static void handshake_tls12(void) {
    /* whole records in one call; records of 100 bytes fed one byte at a time; tiny
     * records (every message spans several) in chunks of 7 */
    size_t per[] = {16384, 100, 9};
    size_t step[] = {1 << 20, 1, 7};
    for (int k = 0; k < 3; k++) {
        mm_flow *f = flow();
        tls12_flights(per[k]);
        feed(f, MM_C2S, &g_c, step[k]);
        feed(f, MM_S2C, &g_sv, step[k]);
        CHECK_INT(sh_nev(), 0);   /* not before the handshake is over */
        g_c.n = g_sv.n = 0;
        finish12(&g_c, &g_sv);
        feed(f, MM_C2S, &g_c, step[k]);
        CHECK_INT(sh_nev(), 0);
        feed(f, MM_S2C, &g_sv, step[k]);
        CHECK_INT(sh_nev(), 1);
        /* application data afterwards changes nothing */
        mm_app_tls.data(f->app_state, f, MM_C2S, (const uint8_t *)"\x17\x03\x03\x00\x02hi", 7);
        mm_app_tls.close(f->app_state, f);
        CHECK_INT(sh_nev(), 1);
        check_tls12(sh_ev(0));
        if (t_failed) return;
        CHECK_INT(sh_app_errors(), 0);
        CHECK(!(f->risks & MM_RISK_NUMERIC_HOST));
    }
}

static void handshake_tls13(void) {
    mm_flow *f = flow();
    g_c.n = g_sv.n = g_h.n = 0;
    client_hello(&g_h, "10.0.0.1");
    records(&g_c, 22, &g_h, 16384);
    feed(f, MM_C2S, &g_c, 1 << 20);
    CHECK(f->risks & MM_RISK_NUMERIC_HOST);
    /* a HelloRetryRequest first, then the client's second hello, then the real one */
    g_h.n = 0;
    server_hello(&g_h, true, true);
    g_sv.n = 0;
    records(&g_sv, 22, &g_h, 16384);
    feed(f, MM_S2C, &g_sv, 1 << 20);
    g_c.n = g_h.n = 0;
    client_hello(&g_h, "other.example");
    records(&g_c, 22, &g_h, 16384);
    feed(f, MM_C2S, &g_c, 1 << 20);
    g_h.n = 0;
    server_hello(&g_h, true, false);
    g_sv.n = 0;
    records(&g_sv, 22, &g_h, 16384);
    raw(&g_sv, "\x14\x03\x03\x00\x01\x01", 6);
    raw(&g_sv, "\x17\x03\x03\x00\x30", 5), fill(&g_sv, 0x33, 48);   /* sealed flight */
    feed(f, MM_S2C, &g_sv, 5);
    CHECK_INT(sh_nev(), 0);
    g_c.n = 0;
    raw(&g_c, "\x14\x03\x03\x00\x01\x01", 6);
    raw(&g_c, "\x17\x03\x03\x00\x20", 5), fill(&g_c, 0x44, 32);     /* client Finished */
    feed(f, MM_C2S, &g_c, 1 << 20);
    CHECK_INT(sh_nev(), 1);
    mm_app_tls.close(f->app_state, f);
    json_t *e = sh_ev(0);
    CHECK_STR(sh_str(e, "tls.version"), "1.3");
    CHECK_STR(sh_str(e, "tls.cipher"), "TLS_AES_128_GCM_SHA256");
    CHECK_STR(sh_str(e, "tls.client.server_name"), "10.0.0.1");   /* the first hello's */
    CHECK_STR(sh_str(e, "tls.server.ja3s"), "cce84e7a8b742462e40afb585a3e3ccc");
    CHECK_STR(sh_str(e, "tls.next_protocol"), "h2");               /* first offered */
    CHECK_STR(sh_str(e, "tls.established"), "true");
    CHECK(!json_object_get(e, "tls.server.subject"));
    CHECK_INT(sh_app_errors(), 0);
}

/* A ClientHello and nothing else: the event comes at close, not established. */
static void client_only(void) {
    mm_flow *f = flow();
    g_c.n = g_h.n = 0;
    client_hello(&g_h, "lonely.example");
    records(&g_c, 22, &g_h, 16384);
    feed(f, MM_C2S, &g_c, 1 << 20);
    CHECK_INT(sh_nev(), 0);
    mm_app_tls.close(f->app_state, f);
    CHECK_INT(sh_nev(), 1);
    json_t *e = sh_ev(0);
    CHECK_STR(sh_str(e, "tls.established"), "false");
    CHECK_STR(sh_str(e, "tls.client.ja3"), "e34ac42fe75b971a80c9af9a1bd5786a");
    CHECK(!json_object_get(e, "tls.version"));
    CHECK(!json_object_get(e, "tls.server.ja3s"));
    /* nothing recognisable at all: no event */
    f = flow();
    mm_app_tls.data(f->app_state, f, MM_C2S, (const uint8_t *)"\x17\x03\x03\x00\x01x", 6);
    mm_app_tls.close(f->app_state, f);
    CHECK_INT(sh_nev(), 0);
}

static void hostile(void) {
    /* a record type that does not exist ends the direction, counted */
    mm_flow *f = flow();
    mm_app_tls.data(f->app_state, f, MM_C2S, (const uint8_t *)"\x63\x03\x03\x00\x01x", 6);
    CHECK_INT(sh_app_errors(), 1);
    mm_app_tls.close(f->app_state, f);
    /* a handshake message declared larger than the reassembly cap is skipped and
     * counted; the ServerHello after it is still read */
    f = flow();
    g_h.n = g_sv.n = 0;
    u8_(&g_h, 11), u24_(&g_h, 100000), fill(&g_h, 0x30, 100000);
    server_hello(&g_h, false, false);
    records(&g_sv, 22, &g_h, 16384);
    feed(f, MM_S2C, &g_sv, 999);
    CHECK_INT(sh_app_errors(), 1);
    mm_app_tls.close(f->app_state, f);
    CHECK_INT(sh_nev(), 1);
    CHECK_STR(sh_str(sh_ev(0), "tls.server.ja3s"), "94d15fb85410d46db5a043124cf1b7ad");
    /* an SSLv2-compatible ClientHello: counted, not fingerprinted, the server's TLS
     * answer still read */
    f = flow();
    mm_app_tls.data(f->app_state, f, MM_C2S,
                    (const uint8_t *)"\x80\x2e\x01\x03\x01\x00\x15\x00\x00\x00\x10"
                                     "\x07\x00\xc0\x03\x00\x80\x01\x00\x80\x06\x00\x40\x04\x00\x80\x02\x00\x80"
                                     "0123456789abcdef", 48);
    CHECK_INT(sh_app_errors(), 1);
    g_h.n = g_sv.n = 0;
    server_hello(&g_h, false, false);
    records(&g_sv, 22, &g_h, 16384);
    feed(f, MM_S2C, &g_sv, 1 << 20);
    mm_app_tls.close(f->app_state, f);
    CHECK_INT(sh_nev(), 1);
    CHECK(!json_object_get(sh_ev(0), "tls.client.ja3"));
    CHECK_STR(sh_str(sh_ev(0), "tls.version"), "1.2");
    /* a ClientHello whose cipher list runs past its end */
    f = flow();
    g_h.n = g_c.n = 0;
    size_t hs = open_hs(&g_h, 1);
    u16_(&g_h, 0x0303), fill(&g_h, 0, 32), u8_(&g_h, 0), u16_(&g_h, 5000);
    close_hs(&g_h, hs);
    records(&g_c, 22, &g_h, 16384);
    feed(f, MM_C2S, &g_c, 1 << 20);
    CHECK_INT(sh_app_errors(), 1);
    mm_app_tls.close(f->app_state, f);
    CHECK_INT(sh_nev(), 0);
}

/* Mutations of a full handshake: no crash, at most one event per connection. */
static void mutations(void) {
    tls12_flights(200);
    static buf c, s;
    uint32_t seed = 7;
    for (int k = 0; k < 1500; k++) {
        mm_flow *f = flow();
        c = g_c, s = g_sv;
        for (int j = 0; j < 4; j++) {
            seed = seed * 1103515245u + 12345u;
            buf *b = (seed >> 5) & 1 ? &c : &s;
            b->b[(seed >> 9) % b->n] = (uint8_t)(seed >> 23);
        }
        feed(f, MM_C2S, &c, 1 + k % 50);
        feed(f, MM_S2C, &s, 1 + k % 70);
        mm_app_tls.close(f->app_state, f);
        CHECK(sh_nev() <= 1);
    }
}

static void probe(void) {
    mm_flow *f = flow();
    tls12_flights(16384);
    CHECK_INT(mm_app_tls.probe(f, g_c.b, g_c.n, NULL, 0), MM_PROBE_YES);
    CHECK_INT(mm_app_tls.probe(f, g_c.b, 2, NULL, 0), MM_PROBE_MAYBE);
    CHECK_INT(mm_app_tls.probe(f, NULL, 0, g_sv.b, g_sv.n), MM_PROBE_YES);
    CHECK_INT(mm_app_tls.probe(f, (const uint8_t *)"GET / HTTP/1.1\r\n", 16, NULL, 0), MM_PROBE_NO);
    CHECK_INT(mm_app_tls.probe(f, (const uint8_t *)"\x16\x03\x05\x00\x10\x01", 6, NULL, 0), MM_PROBE_NO);
    CHECK_INT(mm_app_tls.probe(f, (const uint8_t *)"\x16\x03\x01\x00\x10\x02", 6, NULL, 0), MM_PROBE_NO);
    CHECK_INT(mm_app_tls.probe(f, (const uint8_t *)"\x80\x2e\x01\x03\x01", 5, NULL, 0), MM_PROBE_NO);
    mm_app_tls.close(f->app_state, f);
}

/* ---- nDPI's emotet.pcap through the whole sensor ---- */

static char *g_pcap_ev[256];
static int g_pcap_n;
static void pcap_emit(void *ctx, const char *json, size_t len, int64_t ts) {
    if (g_pcap_n < 256) g_pcap_ev[g_pcap_n++] = strndup(json, len);
}

static void emotet_pcap(void) {
    char path[1024];
    snprintf(path, sizeof path, "%s/pcap/ndpi/pcap/emotet.pcap", t_corpora());
    char eb[PCAP_ERRBUF_SIZE];
    mm_sensor_opts o = sh_opts();
    mm_sensor *s;
    mm_err err;
    CHECK(mm_sensor_new(&s, &o, pcap_emit, NULL, &err) == 0);
    bool opened = sh_pcap(s, path, eb);
    mm_sensor_free(s);
    if (!opened) {
        printf("SKIP emotet_pcap: %s\n", eb);
        return;
    }
    int found = 0;
    for (int i = 0; i < g_pcap_n; i++) {
        json_t *e = json_loads(g_pcap_ev[i], 0, NULL);
        if (e && sh_str(e, "event.action") && !strcmp(sh_str(e, "event.action"), "tls-handshake") &&
            json_integer_value(json_object_get(e, "source.port")) == 49803) {
            found++;
            const char *want[][2] = {
                {"tls.client.ja3", "51c64c77e60f3980eea90869b68c58a8"},
                {"tls.server.ja3s", "ec74a5c51106f0419184d0dd08fb05bc"},
                {"tls.server.subject", "C=GB, ST=London, L=London, O=Global Security, OU=IT Department, CN=example.com"},
                {"tls.server.issuer", "C=GB, ST=London, L=London, O=Global Security, OU=IT Department, CN=example.com"},
                {"tls.server.hash.sha1", "43a23973ac4d2c157bd64e32ea2211b797651a93"},
                {"tls.server.not_before", "2022-04-21T10:08:46Z"},
                {"tls.server.not_after", "2023-04-21T10:08:46Z"},
                {"tls.cipher", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"},
                {"tls.version", "1.2"},
                {"network.protocol", "tls"},
                {"tls.established", "true"},
            };
            for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
                const char *got = sh_str(e, want[k][0]);
                if (!got || strcmp(got, want[k][1])) {
                    printf("FAIL emotet_pcap: %s = %s, want %s\n", want[k][0], got ? got : "(none)", want[k][1]);
                    t_failed = 1;
                }
            }
        }
        json_decref(e);
        free(g_pcap_ev[i]);
    }
    CHECK_INT(found, 1);
}

int main(void) {
    TEST(handshake_tls12);
    TEST(handshake_tls13);
    TEST(client_only);
    TEST(hostile);
    TEST(mutations);
    TEST(probe);
    TEST(emotet_pcap);
    sh_sensor_free();
    TEST_MAIN_END();
}
