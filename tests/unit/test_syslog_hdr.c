/* syslog header parsing: every header form mamori accepts, the RFC 3164 year and
 * zone rules, and hostile/truncated input (each case runs on an exact-size heap
 * copy so ASan sees any read past the slice). */
#include "core/core.h"
#include "decode/decode.h"
#include "test.h"

#define SEC 1000000000LL

/* now = 2024-03-10T12:00:00Z */
static const int64_t NOW = 1710072000LL * SEC;

static char *heap_copy(const char *s, size_t n) {
    char *p = malloc(n ? n : 1);
    memcpy(p, s, n);
    return p;
}

/* The record of the latest parse(): its slices stay valid until the next call. */
static char *g_last;
static void release(void) {
    free(g_last);
    g_last = NULL;
}

static int parse(const char *s, mm_syslog_hdr *h, int32_t tz) {
    size_t n = strlen(s);
    char *p = heap_copy(s, n);
    int rc = mm_syslog_hdr_parse((mm_str){p, (uint32_t)n}, h, tz, NOW);
    release();
    g_last = p;
    return rc;
}

static bool eq(mm_str s, const char *c) { return mm_str_eqc(s, c); }

static void bare_pri_fortigate(void) {
    mm_syslog_hdr h;
    CHECK_INT(parse("<190>date=2024-08-28 time=10:33:52 devname=\"FW\"", &h, 0), 0);
    CHECK_INT(h.pri, 190);
    CHECK_INT(h.version, 0);
    CHECK_INT(h.ts_ns, 0);
    CHECK(h.host.len == 0 && h.app.len == 0);
    CHECK(eq(h.msg, "date=2024-08-28 time=10:33:52 devname=\"FW\""));
    /* a space after the PRI, as some FortiOS builds send */
    CHECK_INT(parse("<185> date=2024-02-26 time=11:10:55", &h, 0), 0);
    CHECK_INT(h.pri, 185);
    CHECK(eq(h.msg, "date=2024-02-26 time=11:10:55"));
}

static void no_header(void) {
    mm_syslog_hdr h;
    CHECK_INT(parse("date= desc=\"x\" msg=\"y\"", &h, 0), 0);
    CHECK_INT(h.pri, -1);
    CHECK(eq(h.msg, "date= desc=\"x\" msg=\"y\""));
}

static void rfc3164_host_tag_pid(void) {
    mm_syslog_hdr h;
    CHECK_INT(parse("<34>Oct 11 22:14:15 mymachine su[123]: 'su root' failed", &h, 0), 0);
    CHECK_INT(h.pri, 34);
    CHECK(eq(h.host, "mymachine"));
    CHECK(eq(h.app, "su"));
    CHECK(eq(h.procid, "123"));
    CHECK(eq(h.msg, "'su root' failed"));
    /* Oct 11 is in the past relative to Mar 10 2024? no: it would be 7 months in the
     * future, so it is last year's */
    CHECK_INT(h.ts_ns, mm_time_from_civil(2023, 10, 11, 22, 14, 15) * SEC);
}

static void rfc3164_year_from_now(void) {
    mm_syslog_hdr h;
    CHECK_INT(parse("<13>Mar 10 11:59:00 host app: m", &h, 0), 0);
    CHECK_INT(h.ts_ns, mm_time_from_civil(2024, 3, 10, 11, 59, 0) * SEC);
    /* less than a day ahead (clock skew) stays in this year */
    CHECK_INT(parse("<13>Mar 11 06:00:00 host app: m", &h, 0), 0);
    CHECK_INT(h.ts_ns, mm_time_from_civil(2024, 3, 11, 6, 0, 0) * SEC);
    /* Dec 31 read in March: last year */
    CHECK_INT(parse("<13>Dec 31 23:59:59 host app: m", &h, 0), 0);
    CHECK_INT(h.ts_ns, mm_time_from_civil(2023, 12, 31, 23, 59, 59) * SEC);
}

static void rfc3164_tz_offset(void) {
    mm_syslog_hdr h;
    /* JST: 09:00 local is 00:00 UTC */
    CHECK_INT(parse("<13>Mar  1 09:00:00 host app: m", &h, 9 * 3600), 0);
    CHECK_INT(h.ts_ns, mm_time_from_civil(2024, 3, 1, 0, 0, 0) * SEC);
    /* space-padded and unpadded single-digit days */
    CHECK_INT(parse("<13>Mar 1 09:00:00 host app: m", &h, 9 * 3600), 0);
    CHECK_INT(h.ts_ns, mm_time_from_civil(2024, 3, 1, 0, 0, 0) * SEC);
    CHECK(eq(h.host, "host"));
}

static void rfc3164_missing_hostname(void) {
    mm_syslog_hdr h;
    CHECK_INT(parse("<13>Mar  1 09:00:00 sshd[42]: Accepted password", &h, 0), 0);
    CHECK(h.host.len == 0);
    CHECK(eq(h.app, "sshd"));
    CHECK(eq(h.procid, "42"));
    CHECK(eq(h.msg, "Accepted password"));
    /* key=value content right after the timestamp is the message, not a host */
    CHECK_INT(parse("<13>Mar  1 09:00:00 date=2024-03-01 srcip=10.0.0.1", &h, 0), 0);
    CHECK(h.host.len == 0);
    CHECK(eq(h.msg, "date=2024-03-01 srcip=10.0.0.1"));
    /* a relay's host before FortiGate content */
    CHECK_INT(parse("<13>Mar  1 09:00:00 10.0.0.254 date=2024-03-01 srcip=10.0.0.1", &h, 0), 0);
    CHECK(eq(h.host, "10.0.0.254"));
    CHECK(eq(h.msg, "date=2024-03-01 srcip=10.0.0.1"));
}

static void rfc3164_without_pri(void) {
    mm_syslog_hdr h;
    CHECK_INT(parse("Mar  1 09:00:00 fw1 app: hello", &h, 0), 0);
    CHECK_INT(h.pri, -1);
    CHECK(eq(h.host, "fw1"));
    CHECK(eq(h.msg, "hello"));
}

static void iso_timestamp_3164_style(void) {
    mm_syslog_hdr h;
    CHECK_INT(parse("<14>2024-01-05T12:00:00.250+09:00 gw kernel: up", &h, 0), 0);
    CHECK_INT(h.version, 0);
    CHECK_INT(h.ts_ns, mm_time_from_civil(2024, 1, 5, 3, 0, 0) * SEC + 250000000LL);
    CHECK(eq(h.host, "gw"));
    CHECK(eq(h.app, "kernel"));
    CHECK(eq(h.msg, "up"));
    /* no zone: the configured offset */
    CHECK_INT(parse("<14>2024-01-05 12:00:00 gw kernel: up", &h, 3600), 0);
    CHECK_INT(h.ts_ns, mm_time_from_civil(2024, 1, 5, 11, 0, 0) * SEC);
}

static void rfc5424_full(void) {
    mm_syslog_hdr h;
    CHECK_INT(parse("<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog 1234 ID47 "
                    "[exampleSDID@32473 iut=\"3\" eventSource=\"Application\"] An application event",
                    &h, 0),
              0);
    CHECK_INT(h.pri, 165);
    CHECK_INT(h.version, 1);
    CHECK_INT(h.ts_ns, mm_time_from_civil(2003, 10, 11, 22, 14, 15) * SEC + 3000000LL);
    CHECK(eq(h.host, "mymachine.example.com"));
    CHECK(eq(h.app, "evntslog"));
    CHECK(eq(h.procid, "1234"));
    CHECK(eq(h.msgid, "ID47"));
    CHECK(eq(h.msg, "An application event"));
}

static void rfc5424_nil_and_bom(void) {
    mm_syslog_hdr h;
    CHECK_INT(parse("<34>1 2003-10-11T22:14:15-07:00 - - - - - \xEF\xBB\xBFmsg=\"x\"", &h, 0), 0);
    CHECK(h.host.len == 0 && h.app.len == 0 && h.procid.len == 0 && h.msgid.len == 0);
    CHECK_INT(h.ts_ns, mm_time_from_civil(2003, 10, 12, 5, 14, 15) * SEC);
    CHECK(eq(h.msg, "msg=\"x\""));
    /* nil timestamp */
    CHECK_INT(parse("<34>1 - host app - - - body", &h, 0), 0);
    CHECK_INT(h.ts_ns, 0);
    CHECK(eq(h.host, "host"));
    CHECK(eq(h.msg, "body"));
}

static void rfc5424_structured_data(void) {
    mm_syslog_hdr h;
    /* two elements, escaped quote and bracket inside a value, no message */
    CHECK_INT(parse("<13>1 2024-01-01T00:00:00Z h a p m [a@1 x=\"q\\\"]\\]\"][b@2 y=\"2\"]", &h, 0), 0);
    CHECK_INT(h.msg.len, 0);
    CHECK_INT(parse("<13>1 2024-01-01T00:00:00Z h a p m [a@1 x=\"]\"] devname=fw", &h, 0), 0);
    CHECK(eq(h.msg, "devname=fw"));
    CHECK(eq(h.app, "a"));
}

static void malformed(void) {
    mm_syslog_hdr h;
    const char *r = "<999>date=1";
    CHECK_INT(parse(r, &h, 0), MM_EINVAL);
    CHECK(eq(h.msg, r));
    CHECK_INT(parse("<>x", &h, 0), MM_EINVAL);
    CHECK_INT(parse("<13", &h, 0), MM_EINVAL);
    CHECK_INT(parse("<", &h, 0), MM_EINVAL);
    /* 5424 version with a broken header */
    CHECK_INT(parse("<13>1 2024-13-45T99:00:00Z h a p m - x", &h, 0), MM_EINVAL);
    CHECK_INT(parse("<13>1 2024-01-01T00:00:00Z h a p m [unterminated", &h, 0), MM_EINVAL);
    /* empty record */
    CHECK_INT(mm_syslog_hdr_parse((mm_str){NULL, 0}, &h, 0, NOW), 0);
    CHECK_INT(h.msg.len, 0);
}

/* Every prefix of every form: no crash, no read past the slice, msg inside rec. */
static void truncated_prefixes(void) {
    static const char *forms[] = {
        "<165>1 2003-10-11T22:14:15.003+09:00 host app 1234 ID47 [a@1 k=\"v\\\"]\"][b c=\"d\"] \xEF\xBB\xBFmsg",
        "<34>Oct 11 22:14:15 mymachine su[123]: 'su root' failed",
        "<14>2024-01-05T12:00:00.250+09:00 gw kernel: up",
        "<190>date=2024-08-28 time=10:33:52",
        "Mar  1 09:00:00 2024 fw1 app: hello",
    };
    for (size_t f = 0; f < MM_ARRAY_LEN(forms); f++) {
        size_t n = strlen(forms[f]);
        for (size_t k = 0; k <= n; k++) {
            char *p = heap_copy(forms[f], k);
            mm_syslog_hdr h;
            (void)mm_syslog_hdr_parse((mm_str){p, (uint32_t)k}, &h, 0, NOW);
            bool inside = h.msg.len == 0 || (h.msg.p >= p && h.msg.p + h.msg.len <= p + k);
            free(p);
            CHECK(inside);
        }
    }
}

/* mm_decode fills log.syslog.* from the header. */
static void decode_sets_syslog_fields(void) {
    mm_arena a;
    mm_arena_init(&a, 4096);
    mm_event ev;
    mm_event_init(&ev, &a);
    const char *r = "<34>Oct 11 22:14:15 fw01 fgt: devname=\"FW\" srcip=10.0.0.1";
    mm_decode(mm_decoder_find("fortigate"), &ev, mm_str_c(r), NULL);
    CHECK_INT(ev.kind, MM_KIND_EVENT);
    CHECK(mm_event_get(&ev, MM_F_LOG_SYSLOG_PRIORITY)->i == 34);
    CHECK(mm_event_get(&ev, MM_F_LOG_SYSLOG_FACILITY)->i == 4);
    CHECK(mm_event_get(&ev, MM_F_LOG_SYSLOG_SEVERITY)->i == 2);
    CHECK(mm_str_eqc(mm_event_get(&ev, MM_F_LOG_SYSLOG_HOSTNAME)->s, "fw01"));
    CHECK(mm_str_eqc(mm_event_get(&ev, MM_F_LOG_SYSLOG_APPNAME)->s, "fgt"));
    /* the device name in the record wins over the syslog host as observer */
    CHECK(mm_str_eqc(ev.observer, "FW"));
    mm_arena_free(&a);
}

int main(void) {
    TEST(bare_pri_fortigate);
    TEST(no_header);
    TEST(rfc3164_host_tag_pid);
    TEST(rfc3164_year_from_now);
    TEST(rfc3164_tz_offset);
    TEST(rfc3164_missing_hostname);
    TEST(rfc3164_without_pri);
    TEST(iso_timestamp_3164_style);
    TEST(rfc5424_full);
    TEST(rfc5424_nil_and_bom);
    TEST(rfc5424_structured_data);
    TEST(malformed);
    TEST(truncated_prefixes);
    TEST(decode_sets_syslog_fields);
    release();
    TEST_MAIN_END();
}
