/* FortiGate decoder: key=value parsing edge cases (escaped quotes, N/A, cut lines,
 * NUL bytes, 64 KB lines), the ECS mapping per log type, time handling, the
 * pipeline_error contract with its counters, and the routing pre-scan. */
#include "core/core.h"
#include "decode/decode.h"
#include "test.h"
#include "event_check.h"

#define SEC 1000000000LL

static mm_arena g_arena;
static mm_event g_ev;
static char *g_rec;

/* Decode rec (exact-size heap copy, so ASan catches any read past the slice). */
static mm_event *dec_n(const char *rec, size_t n, int32_t tz) {
    mm_arena_reset(&g_arena);
    free(g_rec);
    g_rec = malloc(n ? n : 1);
    memcpy(g_rec, rec, n);
    mm_event_init(&g_ev, &g_arena);
    mm_decode_opts o = {.tz_offset = tz};
    mm_decode(mm_decoder_find("fortigate"), &g_ev, (mm_str){g_rec, (uint32_t)n}, &o);
    return &g_ev;
}
static mm_event *dec(const char *rec) { return dec_n(rec, strlen(rec), 0); }

/* Field text as a C string ("" when absent). */

static const char *TRAFFIC =
    "<189>date=2020-04-23 time=12:11:51 devname=\"newfirewall\" devid=\"FGT60E\" logid=\"0000000020\" "
    "type=\"traffic\" subtype=\"forward\" level=\"notice\" vd=\"root\" eventtime=1587229911390385486 "
    "tz=\"-0500\" srcip=192.168.10.10 srcport=6000 srcintf=\"port1\" srcintfrole=\"lan\" "
    "dstip=203.0.113.9 dstport=443 dstintf=\"wan1\" dstintfrole=\"wan\" sessionid=4352 proto=6 "
    "action=\"accept\" policyid=3426 policytype=\"policy\" poluuid=\"1765de8-5a13\" "
    "policyname=\"to-internet\" service=\"HTTPS\" trandisp=\"snat\" transip=198.51.100.7 "
    "transport=60964 appcat=\"Web.Client\" duration=5462 sentbyte=438650 rcvdbyte=65446 "
    "sentpkt=723 rcvdpkt=1045 srcmac=\"b4:b5:b6:e6:db:bb\"";

static void traffic_forward(void) {
    mm_event *ev = dec(TRAFFIC);
    CHECK_INT(ev->kind, MM_KIND_EVENT);
    CHECK_STR(fs(ev, MM_F_SOURCE_IP), "192.168.10.10");
    CHECK_INT(fi(ev, MM_F_SOURCE_PORT), 6000);
    CHECK_STR(fs(ev, MM_F_DESTINATION_IP), "203.0.113.9");
    CHECK_INT(fi(ev, MM_F_SOURCE_BYTES), 438650);
    CHECK_INT(fi(ev, MM_F_DESTINATION_BYTES), 65446);
    CHECK_INT(fi(ev, MM_F_NETWORK_BYTES), 438650 + 65446);
    CHECK_INT(fi(ev, MM_F_NETWORK_PACKETS), 723 + 1045);
    CHECK_STR(fs(ev, MM_F_SOURCE_NAT_IP), "198.51.100.7");
    CHECK_INT(fi(ev, MM_F_SOURCE_NAT_PORT), 60964);
    CHECK_STR(fs(ev, MM_F_NETWORK_TRANSPORT), "tcp");
    CHECK_STR(fs(ev, MM_F_NETWORK_IANA_NUMBER), "6");
    CHECK_STR(fs(ev, MM_F_NETWORK_PROTOCOL), "https");
    CHECK_STR(fs(ev, MM_F_NETWORK_DIRECTION), "outbound");
    CHECK_STR(fs(ev, MM_F_EVENT_ACTION), "accept");
    CHECK_STR(fs(ev, MM_F_EVENT_OUTCOME), "success");
    CHECK_STR(fs(ev, MM_F_EVENT_CODE), "0000000020");
    CHECK_INT(fi(ev, MM_F_EVENT_DURATION), 5462 * SEC);
    CHECK(has_val(ev, MM_F_EVENT_CATEGORY, "network"));
    CHECK(has_val(ev, MM_F_EVENT_TYPE, "connection") && has_val(ev, MM_F_EVENT_TYPE, "end") &&
          has_val(ev, MM_F_EVENT_TYPE, "allowed"));
    CHECK_INT(nvalues(ev, MM_F_EVENT_TYPE), 3);
    CHECK_STR(fs(ev, MM_F_RULE_ID), "3426");
    CHECK_STR(fs(ev, MM_F_RULE_NAME), "to-internet");
    CHECK_STR(fs(ev, MM_F_RULE_RULESET), "policy");
    CHECK_STR(fs(ev, MM_F_RULE_UUID), "1765de8-5a13");
    CHECK_STR(fs(ev, MM_F_RULE_CATEGORY), "Web-Client");
    CHECK_STR(fs(ev, MM_F_OBSERVER_NAME), "newfirewall");
    CHECK_STR(fs(ev, MM_F_OBSERVER_SERIAL), "FGT60E");
    CHECK_STR(fs(ev, MM_F_OBSERVER_VENDOR), "Fortinet");
    CHECK_STR(fs(ev, MM_F_OBSERVER_INGRESS_IF), "port1");
    CHECK_STR(fs(ev, MM_F_OBSERVER_EGRESS_IF), "wan1");
    CHECK_STR(fs(ev, MM_F_SOURCE_MAC), "B4-B5-B6-E6-DB-BB");
    CHECK_STR(fs(ev, MM_F_LOG_LEVEL), "notice");
    CHECK_INT(fi(ev, MM_F_LOG_SYSLOG_PRIORITY), 189);
    CHECK(mm_str_eqc(ev->observer, "newfirewall"));
    CHECK_STR(ev->vendor_prefix, "fortinet.firewall");
    /* every key kept under the vendor prefix, mapped or not */
    CHECK_STR(vs(ev, "srcintfrole"), "lan");
    CHECK_STR(vs(ev, "srcip"), "192.168.10.10");
    CHECK_STR(vs(ev, "trandisp"), "snat");
    CHECK_INT(ev->nvendor, 37);
    /* times: @timestamp from date+time+tz, event.start from ns eventtime */
    CHECK_INT(ev->ts_ns, mm_time_from_civil(2020, 4, 23, 17, 11, 51) * SEC);
    CHECK_INT(fi(ev, MM_F_TIMESTAMP), ev->ts_ns);
    CHECK_INT(fi(ev, MM_F_EVENT_START), 1587229911390385486LL);
    CHECK_STR(fs(ev, MM_F_EVENT_TIMEZONE), "-0500");
}

static void escaped_quotes(void) {
    mm_event *ev = dec("type=\"event\" msg=\"user \\\"bob\\\" said a=b \\\\\" user=\"x y\"");
    CHECK_INT(ev->kind, MM_KIND_EVENT);
    CHECK_STR(fs(ev, MM_F_MESSAGE), "user \"bob\" said a=b \\\\");
    CHECK_STR(vs(ev, "msg"), "user \"bob\" said a=b \\\\");
    CHECK_STR(fs(ev, MM_F_SOURCE_USER_NAME), "x y");
    /* other backslash pairs are kept as sent (rawdata="...charset\=UTF-8") */
    ev = dec("type=\"utm\" rawdata=\"Content-Type=text/plain;charset\\=UTF-8\" srcip=10.0.0.1");
    CHECK_STR(vs(ev, "rawdata"), "Content-Type=text/plain;charset\\=UTF-8");
    CHECK_STR(fs(ev, MM_F_SOURCE_IP), "10.0.0.1");
}

static void not_applicable(void) {
    mm_event *ev = dec("<187>type=\"event\" subtype=\"vpn\" user=\"N/A\" group=\"N/A\" "
                       "assignip=N/A remip=203.0.113.1 reason=\"N/A\" msg=\"x\"");
    CHECK_INT(ev->kind, MM_KIND_EVENT);
    CHECK(!mm_event_has(ev, MM_F_SOURCE_USER_NAME));
    CHECK(!mm_event_has(ev, MM_F_USER_NAME));
    CHECK(!mm_event_has(ev, MM_F_SOURCE_USER_GROUP));
    CHECK(!mm_event_has(ev, MM_F_EVENT_REASON));
    CHECK_STR(vs(ev, "user"), "N/A");
    CHECK_STR(vs(ev, "assignip"), "N/A");
    /* VPN: the remote peer is the source */
    CHECK_STR(fs(ev, MM_F_SOURCE_IP), "203.0.113.1");
    CHECK(!mm_event_has(ev, MM_F_DESTINATION_IP));
}

static void truncated_final_pair(void) {
    const char *r = "type=\"utm\" subtype=\"webfilter\" srcip=10.1.1.1 hostname=\"a.example\" direction=\"out";
    mm_event *ev = dec(r);
    CHECK_INT(ev->kind, MM_KIND_EVENT);
    CHECK_STR(vs(ev, "direction"), "out");
    CHECK_STR(fs(ev, MM_F_NETWORK_DIRECTION), "unknown");
    CHECK_STR(fs(ev, MM_F_URL_DOMAIN), "a.example");
    /* cut inside a key, after '=', after an escape */
    ev = dec("type=\"event\" msg=\"x\" dire");
    CHECK_INT(ev->kind, MM_KIND_EVENT);
    CHECK(vs(ev, "dire") == NULL);
    ev = dec("type=\"event\" msg=");
    CHECK_STR(vs(ev, "msg"), "");
    CHECK(!mm_event_has(ev, MM_F_MESSAGE));
    ev = dec("type=\"event\" msg=\"abc\\");
    CHECK_STR(vs(ev, "msg"), "abc\\");
    /* every prefix of a real line decodes without reading past it */
    size_t n = strlen(TRAFFIC);
    for (size_t k = 0; k <= n; k++) {
        ev = dec_n(TRAFFIC, k, 0);
        CHECK(ev->kind == MM_KIND_EVENT || ev->kind == MM_KIND_PIPELINE_ERROR);
    }
}

static void nul_bytes(void) {
    /* NUL between pairs and at the end (corpus line 43), and inside a quoted value */
    static const char r[] = "<185>type=\"event\" srcip=10.0.0.1\0dstip=10.0.0.2 msg=\"a\0b\" passedcount=9 \0";
    mm_event *ev = dec_n(r, sizeof r - 1, 0);
    CHECK_INT(ev->kind, MM_KIND_EVENT);
    CHECK_STR(fs(ev, MM_F_SOURCE_IP), "10.0.0.1");
    CHECK_STR(fs(ev, MM_F_DESTINATION_IP), "10.0.0.2");
    CHECK_STR(vs(ev, "passedcount"), "9");
    const mm_value *m = mm_event_get(ev, MM_F_MESSAGE);
    CHECK(m && m->s.len == 3 && memcmp(m->s.p, "a\0b", 3) == 0);
    CHECK_INT(ev->raw.len, sizeof r - 1);
    /* JSON output of such an event is still valid (NUL escaped) */
    mm_buf b = {0};
    mm_event_json(ev, &b, true);
    CHECK(memchr(b.p, 0, b.len) == NULL);
    mm_buf_free(&b);
}

static void line_64k(void) {
    size_t cap = MM_MAX_RECORD;
    char *r = malloc(cap);
    size_t n = 0;
    n += (size_t)snprintf(r + n, cap - n, "<190>date=2024-01-02 time=03:04:05 type=\"utm\" subtype=\"ips\" srcip=10.9.9.9 msg=\"");
    while (n < 40000) r[n++] = 'A';
    n += (size_t)snprintf(r + n, cap - n, "\" ");
    int pairs = 0;
    while (n + 32 < cap) n += (size_t)snprintf(r + n, cap - n, "k%d=v%d ", pairs, pairs), pairs++;
    while (n < cap) r[n++] = 'x'; /* cut mid-token, no newline */
    mm_event *ev = dec_n(r, n, 0);
    free(r);
    CHECK_INT(ev->kind, MM_KIND_EVENT);
    CHECK_STR(fs(ev, MM_F_SOURCE_IP), "10.9.9.9");
    CHECK_INT(mm_event_get(ev, MM_F_MESSAGE)->s.len, 40000 - (size_t)strlen("<190>date=2024-01-02 time=03:04:05 type=\"utm\" subtype=\"ips\" srcip=10.9.9.9 msg=\""));
    CHECK(vs(ev, "k0") != NULL);
    char last[32];
    snprintf(last, sizeof last, "k%d", pairs - 1);
    CHECK(vs(ev, last) != NULL);
    /* a 64 KB list value: capped, no quadratic work */
    r = malloc(cap);
    n = (size_t)snprintf(r, cap, "type=\"utm\" subtype=\"ssl\" san=\"");
    for (int i = 0; n + 16 < cap; i++) n += (size_t)snprintf(r + n, cap - n, "h%d.example;", i);
    ev = dec_n(r, n, 0);
    free(r);
    CHECK_INT(ev->kind, MM_KIND_EVENT);
    CHECK_INT(nvalues(ev, MM_F_TLS_SERVER_SAN), 64);
    /* a single 64 KB token without '=' is not a record */
    r = malloc(cap);
    memset(r, 'z', cap);
    ev = dec_n(r, cap, 0);
    free(r);
    CHECK_INT(ev->kind, MM_KIND_PIPELINE_ERROR);
}

static void not_fortigate(void) {
    mm_counters_reset();
    mm_event *ev = dec("GET /index.html HTTP/1.1 200 -");
    CHECK_INT(ev->kind, MM_KIND_PIPELINE_ERROR);
    CHECK(ev->error.len > 0);
    CHECK(ev->raw.len == strlen("GET /index.html HTTP/1.1 200 -"));
    CHECK_INT(mm_counter_get(MM_C_DECODE_ERRORS), 1);
    CHECK_INT(mm_counter_get(MM_C_EVENTS_DECODED), 0);
    /* keys that are not words (a URL's query) do not make a record */
    ev = dec("<13>GET /a?b=c HTTP/1.1");
    CHECK_INT(ev->kind, MM_KIND_PIPELINE_ERROR);
    CHECK_INT(mm_counter_get(MM_C_DECODE_ERRORS), 2);
    ev = dec(TRAFFIC);
    CHECK_INT(mm_counter_get(MM_C_DECODE_ERRORS), 2);
    CHECK_INT(mm_counter_get(MM_C_EVENTS_DECODED), 1);
}

static void empty_lines(void) {
    mm_counters_reset();
    static const char *blank[] = {"", " ", "\t \r", "<190>", "<190>   "};
    for (size_t i = 0; i < MM_ARRAY_LEN(blank); i++) {
        mm_event *ev = dec(blank[i]);
        CHECK_INT(ev->kind, MM_KIND_PIPELINE_ERROR);
    }
    static const char nul[] = "\0\0\n";
    CHECK_INT(dec_n(nul, 3, 0)->kind, MM_KIND_PIPELINE_ERROR);
    CHECK_INT(mm_counter_get(MM_C_DECODE_ERRORS), 6);
    CHECK_INT(mm_counter_get(MM_C_EVENTS_DECODED), 0);
}

static void tz_handling(void) {
    /* explicit zone */
    mm_event *ev = dec("date=2024-08-28 time=10:33:52 tz=\"+0900\" type=\"event\"");
    CHECK_INT(ev->ts_ns, mm_time_from_civil(2024, 8, 28, 1, 33, 52) * SEC);
    /* no zone: the configured offset */
    ev = dec_n("date=2024-08-28 time=10:33:52 type=\"event\"", 41, 9 * 3600);
    CHECK_INT(ev->ts_ns, mm_time_from_civil(2024, 8, 28, 1, 33, 52) * SEC);
    CHECK(!mm_event_has(ev, MM_F_EVENT_TIMEZONE));
    /* human forms are normalised the way Elastic does */
    ev = dec("date=2023-03-08 time=13:22:46 tz=\"UTC-5:00\" type=\"event\"");
    CHECK_STR(fs(ev, MM_F_EVENT_TIMEZONE), "-0500");
    CHECK_INT(ev->ts_ns, mm_time_from_civil(2023, 3, 8, 18, 22, 46) * SEC);
    ev = dec("date=2023-03-08 time=13:22:46 tz=\"-05:00\" type=\"event\"");
    CHECK_INT(ev->ts_ns, mm_time_from_civil(2023, 3, 8, 18, 22, 46) * SEC);
    /* a repeated tz: the last one wins, one vendor field */
    ev = dec("timestamp=1 tz=\"UTC+9:00\" date=2023-03-08 time=13:22:46 tz=\"+0100\" type=\"event\"");
    CHECK_STR(fs(ev, MM_F_EVENT_TIMEZONE), "+0100");
    CHECK_STR(vs(ev, "tz"), "+0100");
    CHECK_INT(ev->nvendor, 5);
    /* an unparsable zone: kept as text, time falls back to the configured offset */
    ev = dec("date=2023-03-08 time=13:22:46 tz=\"Mars/Olympus\" type=\"event\"");
    CHECK_STR(fs(ev, MM_F_EVENT_TIMEZONE), "Mars/Olympus");
    CHECK_INT(ev->ts_ns, mm_time_from_civil(2023, 3, 8, 13, 22, 46) * SEC);
    /* broken date: no @timestamp from it, the record still decodes */
    ev = dec("date=2023-13-08 time=25:22:46 type=\"event\" eventtime=1678299766");
    CHECK_INT(ev->kind, MM_KIND_EVENT);
    CHECK_INT(ev->ts_ns, 1678299766LL * SEC);
}

static void eventtime_precision(void) {
    struct {
        const char *v;
        int64_t ns;
    } c[] = {
        {"1587230269", 1587230269LL * SEC},
        {"1587230269052", 1587230269052LL * 1000000},
        {"1587230269052907", 1587230269052907LL * 1000},
        {"1587230269052907555", 1587230269052907555LL},
    };
    for (size_t i = 0; i < MM_ARRAY_LEN(c); i++) {
        char r[128];
        snprintf(r, sizeof r, "type=\"event\" eventtime=%s", c[i].v);
        mm_event *ev = dec(r);
        CHECK_INT(fi(ev, MM_F_EVENT_START), c[i].ns);
    }
    /* overflowing or junk values are ignored, not wrapped */
    mm_event *ev = dec("type=\"event\" eventtime=99999999999999999999");
    CHECK(!mm_event_has(ev, MM_F_EVENT_START));
    ev = dec("type=\"event\" eventtime=9223372036854776");
    CHECK(!mm_event_has(ev, MM_F_EVENT_START));
    ev = dec("type=\"event\" eventtime=12x");
    CHECK(!mm_event_has(ev, MM_F_EVENT_START));
}

static void utm_dns(void) {
    mm_event *ev = dec("<189>date=2020-04-23 time=12:17:29 type=\"utm\" subtype=\"dns\" "
                       "eventtype=\"dns-response\" srcip=192.168.2.1 dstip=8.8.8.8 dstport=53 "
                       "proto=17 profile=\"p\" xid=2234 qname=\"www.city.example.lg.jp\" qtype=\"A\" "
                       "qclass=\"IN\" ipaddr=\"192.0.2.1, 192.0.2.2, 192.0.2.1\" action=\"pass\" "
                       "catdesc=\"Web.based Email\"");
    CHECK_STR(fs(ev, MM_F_DNS_QUESTION_NAME), "www.city.example.lg.jp");
    CHECK_STR(fs(ev, MM_F_DNS_QUESTION_TYPE), "A");
    CHECK_STR(fs(ev, MM_F_DNS_QUESTION_CLASS), "IN");
    CHECK_STR(fs(ev, MM_F_DNS_ID), "2234");
    CHECK_STR(fs(ev, MM_F_DNS_QUESTION_TLD), "lg.jp");
    CHECK_STR(fs(ev, MM_F_DNS_QUESTION_REGISTERED_DOMAIN), "example.lg.jp");
    CHECK_STR(fs(ev, MM_F_DNS_QUESTION_SUBDOMAIN), "www.city");
    CHECK_INT(nvalues(ev, MM_F_DNS_RESOLVED_IP), 3);
    CHECK(mm_event_get(ev, MM_F_DNS_RESOLVED_IP)->parsed);
    CHECK_STR(fs(ev, MM_F_EVENT_ACTION), "dns-response");
    CHECK(has_val(ev, MM_F_EVENT_TYPE, "info") && has_val(ev, MM_F_EVENT_TYPE, "allowed"));
    CHECK_STR(fs(ev, MM_F_RULE_CATEGORY), "Web-based Email");
    CHECK_STR(fs(ev, MM_F_RULE_RULESET), "p");
    CHECK_STR(fs(ev, MM_F_NETWORK_TRANSPORT), "udp");
}

static void utm_webfilter_url(void) {
    mm_event *ev = dec("type=\"utm\" subtype=\"webfilter\" eventtype=\"ftgd_blk\" srcip=10.0.0.5 "
                       "dstip=93.184.216.34 dstport=443 service=\"HTTPS\" hostname=\"example.com\" "
                       "url=\"/a/b?x=1&y=2#f\" action=\"blocked\" agent=\"curl/8\" user=\"alice\" "
                       "group=\"staff\" catdesc=\"Malicious Websites\" direction=\"outgoing\"");
    CHECK_STR(fs(ev, MM_F_URL_DOMAIN), "example.com");
    CHECK_STR(fs(ev, MM_F_URL_ORIGINAL), "/a/b?x=1&y=2#f");
    CHECK_STR(fs(ev, MM_F_URL_PATH), "/a/b");
    CHECK_STR(fs(ev, MM_F_URL_QUERY), "x=1&y=2");
    CHECK_STR(fs(ev, MM_F_URL_FULL), "https://example.com/a/b?x=1&y=2#f");
    CHECK_STR(fs(ev, MM_F_USER_AGENT_ORIGINAL), "curl/8");
    CHECK_STR(fs(ev, MM_F_SOURCE_USER_NAME), "alice");
    CHECK_STR(fs(ev, MM_F_USER_NAME), "alice");
    CHECK_STR(fs(ev, MM_F_SOURCE_USER_GROUP), "staff");
    CHECK(has_val(ev, MM_F_EVENT_TYPE, "denied"));
    CHECK_STR(fs(ev, MM_F_NETWORK_DIRECTION), "outbound");
    /* absolute URL (proxy policy): scheme, domain and port from it */
    ev = dec("type=\"traffic\" subtype=\"forward\" srcip=10.0.0.5 dstip=10.0.0.6 action=\"deny\" "
             "url=\"http://user@files.example.net:8080/x.exe?dl=1\"");
    CHECK_STR(fs(ev, MM_F_URL_SCHEME), "http");
    CHECK_STR(fs(ev, MM_F_URL_DOMAIN), "files.example.net");
    CHECK_INT(fi(ev, MM_F_URL_PORT), 8080);
    CHECK_STR(fs(ev, MM_F_URL_PATH), "/x.exe");
    CHECK_STR(fs(ev, MM_F_URL_QUERY), "dl=1");
    CHECK(has_val(ev, MM_F_EVENT_TYPE, "denied") && !has_val(ev, MM_F_EVENT_TYPE, "allowed"));
    CHECK_STR(fs(ev, MM_F_NETWORK_DIRECTION), "internal");
}

static void utm_ips_virus(void) {
    mm_event *ev = dec("type=\"utm\" subtype=\"ips\" eventtype=\"signature\" severity=\"critical\" "
                       "srcip=198.51.100.20 dstip=10.0.0.8 attack=\"Apache.Log4j.Error.Log.Remote.Code.Execution\" "
                       "attackid=51006 cve=\"CVE-2021-44228,CVE-2021-45046\" action=\"dropped\" "
                       "ref=\"http://www.fortinet.com/ids/VID51006\"");
    CHECK_STR(fs(ev, MM_F_RULE_NAME), "Apache.Log4j.Error.Log.Remote.Code.Execution");
    CHECK_INT(nvalues(ev, MM_F_VULNERABILITY_ID), 2);
    CHECK(has_val(ev, MM_F_VULNERABILITY_ID, "CVE-2021-45046"));
    CHECK(has_val(ev, MM_F_EVENT_CATEGORY, "intrusion_detection"));
    CHECK(has_val(ev, MM_F_EVENT_TYPE, "denied"));
    CHECK_STR(fs(ev, MM_F_EVENT_REFERENCE), "http://www.fortinet.com/ids/VID51006");
    CHECK_STR(fs(ev, MM_F_NETWORK_DIRECTION), "inbound");
    /* no cve= key: ids named in the message count, once each */
    ev = dec("type=\"utm\" subtype=\"ips\" attack=\"X\" msg=\"web: X (cve-2023-4966, CVE-2023-4966; CVE-99-1 "
             "CVE-2024-12345678901)\"");
    CHECK_INT(nvalues(ev, MM_F_VULNERABILITY_ID), 2);
    CHECK(has_val(ev, MM_F_VULNERABILITY_ID, "CVE-2023-4966"));
    CHECK(has_val(ev, MM_F_VULNERABILITY_ID, "CVE-2024-12345678"));
    ev = dec("type=\"utm\" subtype=\"virus\" eventtype=\"infected\" srcip=10.0.0.8 dstip=203.0.113.5 "
             "filename=\"eicar.com\" virus=\"EICAR_TEST_FILE\" dtype=\"av-engine\" action=\"blocked\" "
             "analyticscksum=\"275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f\" "
             "from=\"a@example.com\" to=\"b@example.org\"");
    CHECK_STR(fs(ev, MM_F_FILE_NAME), "eicar.com");
    CHECK_STR(fs(ev, MM_F_FILE_HASH_SHA256), "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f");
    CHECK_STR(fs(ev, MM_F_THREAT_INDICATOR), "EICAR_TEST_FILE");
    CHECK(has_val(ev, MM_F_EVENT_CATEGORY, "malware"));
    CHECK_STR(fs(ev, MM_F_VULNERABILITY_CATEGORY), "av-engine");
    CHECK_STR(fs(ev, MM_F_EMAIL_FROM), "a@example.com");
    CHECK_STR(fs(ev, MM_F_EMAIL_TO), "b@example.org");
}

static void utm_ssl(void) {
    mm_event *ev = dec("type=\"utm\" subtype=\"ssl\" eventtype=\"ssl-anomaly\" srcip=10.2.3.4 "
                       "dstip=10.3.2.1 tlsver=\"tls1.3\" sni=\"login.example.com\" "
                       "scertcname=\"*.example.com\" scertissuer=\"Example CA\" eventsubtype=\"certificate-anomaly\"");
    CHECK_STR(fs(ev, MM_F_TLS_VERSION_PROTOCOL), "tls");
    CHECK_STR(fs(ev, MM_F_TLS_VERSION), "1.3");
    CHECK_STR(fs(ev, MM_F_TLS_SERVER_NAME), "login.example.com");
    CHECK_STR(fs(ev, MM_F_DESTINATION_DOMAIN), "login.example.com");
    CHECK_STR(fs(ev, MM_F_TLS_SERVER_SUBJECT_CN), "*.example.com");
    CHECK_STR(fs(ev, MM_F_TLS_SERVER_ISSUER), "Example CA");
    CHECK_STR(fs(ev, MM_F_EVENT_REASON), "certificate-anomaly");
    ev = dec("type=\"utm\" subtype=\"ssl\" tlsver=\"ssl3\"");
    CHECK_STR(fs(ev, MM_F_TLS_VERSION), "3.0");
}

static void event_user_and_login(void) {
    mm_event *ev = dec("<189>type=\"event\" subtype=\"user\" logdesc=\"FSSO logon authentication status\" "
                       "srcip=10.10.10.10 user=\"bob\" action=\"FSSO-logon\" msg=\"FSSO-logon event\"");
    CHECK(has_val(ev, MM_F_EVENT_CATEGORY, "authentication"));
    CHECK(has_val(ev, MM_F_EVENT_TYPE, "start"));
    CHECK_STR(fs(ev, MM_F_EVENT_OUTCOME), "success");
    CHECK_STR(fs(ev, MM_F_RULE_DESCRIPTION), "FSSO logon authentication status");
    CHECK_STR(fs(ev, MM_F_SOURCE_USER_NAME), "bob");
    ev = dec("<185>type=\"event\" subtype=\"system\" logid=\"0100032002\" user=\"admin\" "
             "srcip=192.168.0.10 dstip=10.1.1.1 action=\"login\" status=\"failed\" "
             "msg=\"Administrator admin login failed from ssh(192.168.0.10) because of invalid password\"");
    CHECK_STR(fs(ev, MM_F_EVENT_ACTION), "login");
    CHECK_STR(fs(ev, MM_F_EVENT_OUTCOME), "failure");
    CHECK_STR(fs(ev, MM_F_USER_NAME), "admin");
    CHECK_STR(fs(ev, MM_F_USER_ROLES), "Administrator");
    CHECK_STR(fs(ev, MM_F_SOURCE_IP), "192.168.0.10");
    CHECK(has_val(ev, MM_F_EVENT_CATEGORY, "authentication"));
    ev = dec("<185>date=2023-12-13 time=03:33:34 tz=\"+0200\" devname=fw device_id=FMG1 "
             "log_id=0001010014 type=event subtype=system pri=alert user=\"philipp\" "
             "msg=\"Login from ssh: Failed for philipp from 192.168.0.10 port 38654\"");
    CHECK_STR(fs(ev, MM_F_EVENT_OUTCOME), "failure");
    CHECK_STR(fs(ev, MM_F_SOURCE_IP), "192.168.0.10");
    CHECK_INT(fi(ev, MM_F_SOURCE_PORT), 38654);
    CHECK_STR(fs(ev, MM_F_LOG_LEVEL), "alert");
    CHECK_STR(fs(ev, MM_F_EVENT_ID), "0001010014");
    CHECK_STR(fs(ev, MM_F_OBSERVER_SERIAL), "FMG1");
    /* a truncated login message is left alone */
    ev = dec("type=event msg=\"Administrator x login failed from ssh(1.2.3.4\"");
    CHECK_INT(ev->kind, MM_KIND_EVENT);
    CHECK(!mm_event_has(ev, MM_F_USER_ROLES));
    ev = dec("type=event msg=\"Login from ssh: Failed for x from\"");
    CHECK_INT(ev->kind, MM_KIND_EVENT);
}

static void event_config_change(void) {
    mm_event *ev = dec("type=\"event\" subtype=\"system\" logdesc=\"Object attribute configured\" "
                       "user=\"admin\" ui=\"GUI(10.0.0.9)\" action=\"Edit\" cfgpath=\"firewall.policy\" "
                       "cfgobj=\"12\" msg=\"Edit firewall.policy 12\"");
    CHECK(has_val(ev, MM_F_EVENT_CATEGORY, "configuration"));
    CHECK(has_val(ev, MM_F_EVENT_TYPE, "change"));
    CHECK_STR(fs(ev, MM_F_EVENT_ACTION), "Edit");
}

static void duplicate_keys_and_odd_tokens(void) {
    mm_event *ev = dec("type=\"event\" srcip=10.0.0.1 srcip=10.0.0.2 bare-token \"quoted junk\" =x "
                       "k.e.y=1 a/b=2 ok=3");
    CHECK_STR(fs(ev, MM_F_SOURCE_IP), "10.0.0.2");
    CHECK_STR(vs(ev, "srcip"), "10.0.0.2");
    CHECK(vs(ev, "k.e.y") == NULL);
    CHECK(vs(ev, "a/b") == NULL);
    CHECK_STR(vs(ev, "ok"), "3");
    CHECK_INT(ev->nvendor, 3);
    /* a bad typed value leaves the field unset but keeps the vendor text */
    ev = dec("type=\"traffic\" srcip=999.1.1.1 srcport=http");
    CHECK(!mm_event_has(ev, MM_F_SOURCE_IP));
    CHECK(!mm_event_has(ev, MM_F_SOURCE_PORT));
    CHECK_STR(vs(ev, "srcip"), "999.1.1.1");
}

static void syslog_wrapped(void) {
    mm_event *ev = dec("<134>1 2024-08-28T08:33:52Z fw-relay fortigate - - - date=2024-08-28 "
                       "time=10:33:52 tz=\"+0200\" devname=\"FW\" type=\"traffic\" srcip=10.0.0.1");
    CHECK_INT(ev->kind, MM_KIND_EVENT);
    CHECK_STR(fs(ev, MM_F_LOG_SYSLOG_HOSTNAME), "fw-relay");
    CHECK_STR(fs(ev, MM_F_OBSERVER_NAME), "FW");
    CHECK_STR(fs(ev, MM_F_SOURCE_IP), "10.0.0.1");
    CHECK_INT(ev->ts_ns, mm_time_from_civil(2024, 8, 28, 8, 33, 52) * SEC);
    /* no devname: the syslog host names the observer */
    ev = dec("<134>Aug 28 10:33:52 fw2 date=2024-08-28 time=10:33:52 type=\"traffic\"");
    CHECK_STR(fs(ev, MM_F_OBSERVER_NAME), "fw2");
}

static void entity_prescan(void) {
    const mm_decoder *d = mm_decoder_find("fortigate");
    CHECK(d && d->entity);
    mm_str e = d->entity(mm_str_c(TRAFFIC));
    CHECK(mm_str_eqc(e, "192.168.10.10"));
    e = d->entity(mm_str_c("msg=\"fake srcip=1.1.1.1\" srcip=\"10.0.0.9\""));
    CHECK(mm_str_eqc(e, "10.0.0.9"));
    e = d->entity(mm_str_c("dstip=1.2.3.4 xsrcip=5.5.5.5"));
    CHECK_INT(e.len, 0);
    e = d->entity(mm_str_c("msg=\"unterminated srcip=1.1.1.1"));
    CHECK_INT(e.len, 0);
    e = d->entity((mm_str){NULL, 0});
    CHECK_INT(e.len, 0);
    e = d->entity(mm_str_c("srcip="));
    CHECK_INT(e.len, 0);
}

static void decoder_table(void) {
    CHECK(mm_decoder_find("fortigate") != NULL);
    CHECK(mm_decoder_find("nope") == NULL);
    CHECK(mm_decoder_find(NULL) == NULL);
    const char *const *names = mm_decoder_names();
    bool found = false;
    for (int i = 0; names[i]; i++)
        if (strcmp(names[i], "fortigate") == 0) found = true;
    CHECK(found);
    /* no decoder: still a pipeline_error event, never a crash */
    mm_event ev;
    mm_arena_reset(&g_arena);
    mm_event_init(&ev, &g_arena);
    CHECK(mm_decode(NULL, &ev, mm_str_c("a=b"), NULL) < 0);
    CHECK_INT(ev.kind, MM_KIND_PIPELINE_ERROR);
}

int main(void) {
    mm_arena_init(&g_arena, 1 << 16);
    TEST(traffic_forward);
    TEST(escaped_quotes);
    TEST(not_applicable);
    TEST(truncated_final_pair);
    TEST(nul_bytes);
    TEST(line_64k);
    TEST(not_fortigate);
    TEST(empty_lines);
    TEST(tz_handling);
    TEST(eventtime_precision);
    TEST(utm_dns);
    TEST(utm_webfilter_url);
    TEST(utm_ips_virus);
    TEST(utm_ssl);
    TEST(event_user_and_login);
    TEST(event_config_change);
    TEST(duplicate_keys_and_odd_tokens);
    TEST(syslog_wrapped);
    TEST(entity_prescan);
    TEST(decoder_table);
    free(g_rec);
    mm_arena_free(&g_arena);
    TEST_MAIN_END();
}
