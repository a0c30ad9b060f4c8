/* The "ecs" decoder: the flat scanner (slices, escapes, surrogate pairs, arrays,
 * null), its fallback to jansson for nested objects, and malformed records kept
 * as pipeline_error. */
#include "test.h"

#include "core/core.h"
#include "decode/decode.h"

static mm_arena A;

static int dec(mm_event *ev, const char *rec) {
    mm_event_init(ev, &A);
    ev->recv_ns = 1;
    mm_decode_opts o = {0};
    return mm_decode(mm_decoder_find("ecs"), ev, mm_str_c(rec), &o);
}

static const char *sval(const mm_event *ev, const char *name) {
    static char buf[512];
    mm_field f = mm_field_by_name(name, strlen(name));
    const mm_value *v = f == MM_F_NONE ? NULL : mm_event_get(ev, f);
    if (!v) return NULL;
    snprintf(buf, sizeof buf, "%.*s", (int)v->s.len, v->s.p);
    return buf;
}

static void flat_record_sets_known_fields_and_time(void) {
    mm_event ev;
    CHECK_INT(dec(&ev, "{\"@timestamp\":\"2026-11-20T01:02:03Z\",\"source.ip\":\"10.1.2.3\",\"source.port\":51000,"
                       "\"dns.question.name\":\"evil.example\",\"dns.answers.ttl\":[60,120],\"custom.key\":\"v\"}"),
              0);
    CHECK(ev.kind == MM_KIND_EVENT);
    CHECK_INT(ev.ts_ns, 1795136523LL * 1000000000LL);
    CHECK_STR(sval(&ev, "source.ip"), "10.1.2.3");
    CHECK_STR(sval(&ev, "dns.question.name"), "evil.example");
    const mm_value *t = mm_event_get(&ev, MM_F_DNS_ANSWERS_TTL);
    CHECK(t && mm_str_eqc(t->s, "60"));
    t = mm_event_next(&ev, t);
    CHECK(t && mm_str_eqc(t->s, "120"));
    const mm_str *c = mm_event_vendor_get(&ev, "custom.key");
    CHECK(c && mm_str_eqc(*c, "v"));
    mm_arena_reset(&A);
}

static void escapes_and_surrogate_pairs_become_utf8(void) {
    mm_event ev;
    CHECK_INT(dec(&ev, "{\"email.subject\":\"\\u8acb\\u6c42\\u66f8 \\ud83d\\ude00 \\\"q\\\" \\\\ \\n\","
                       "\"user.name\":\"\\udc00bad\"}"),
              0);
    CHECK_STR(sval(&ev, "email.subject"), "請求書 😀 \"q\" \\ \n");
    CHECK_STR(sval(&ev, "user.name"), "\xef\xbf\xbd" "bad");   /* a lone surrogate: U+FFFD */
    mm_arena_reset(&A);
}

static void nested_objects_fall_back_to_jansson(void) {
    mm_event ev;
    CHECK_INT(dec(&ev, "{\"source\":{\"ip\":\"192.0.2.1\"},\"url\":{\"domain\":\"x.example\"},\"flat.key\":1}"), 0);
    CHECK_STR(sval(&ev, "source.ip"), "192.0.2.1");
    CHECK_STR(sval(&ev, "url.domain"), "x.example");
    mm_arena_reset(&A);
}

static void malformed_records_are_kept_as_errors(void) {
    const char *bad[] = {"{\"a\":", "{\"a\" 1}", "[1,2]", "{\"a\":tru}", "{\"a\":\"x\"} trailing", "", "{\"a\":\"\\u12\"}"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        mm_event ev;
        int rc = dec(&ev, bad[i]);
        CHECK(rc < 0);
        CHECK(ev.kind == MM_KIND_PIPELINE_ERROR);
        CHECK(ev.raw.len == strlen(bad[i]));
        mm_arena_reset(&A);
    }
}

/* Numbers with a fraction or an exponent read the same in both paths (the flat
 * scanner and jansson): 4.43e2 is the integer 443, 0.1 stays 0.1. */
static void numbers_read_alike_in_both_paths(void) {
    const char *recs[] = {"{\"source.port\":4.43e2,\"x.r\":0.1,\"x.e\":1E5}",
                          "{\"source.port\":4.43e2,\"x.r\":0.1,\"x.e\":1E5,\"n\":{\"k\":1}}"};
    for (int i = 0; i < 2; i++) {
        mm_event ev;
        CHECK_INT(dec(&ev, recs[i]), 0);
        const mm_value *v = mm_event_get(&ev, MM_F_SOURCE_PORT);
        CHECK(v && v->parsed);
        CHECK_INT(v->i, 443);
        const mm_str *r = mm_event_vendor_get(&ev, "x.r");
        CHECK(r && mm_str_eqc(*r, "0.1"));
        r = mm_event_vendor_get(&ev, "x.e");
        CHECK(r && mm_str_eqc(*r, "100000"));
        mm_arena_reset(&A);
    }
}

/* A key given twice: the last value counts, in both paths, for scalars, lists
 * and vendor keys alike (what jansson does). */
static void duplicate_keys_keep_the_last_value(void) {
    const char *recs[] = {"{\"dns.resolved_ip\":[\"1.1.1.1\"],\"dns.resolved_ip\":[\"2.2.2.2\"],\"x.y\":\"a\",\"x.y\":\"b\","
                          "\"user.name\":\"u1\",\"user.name\":\"u2\"}",
                          "{\"dns.resolved_ip\":[\"1.1.1.1\"],\"dns.resolved_ip\":[\"2.2.2.2\"],\"x.y\":\"a\",\"x.y\":\"b\","
                          "\"user.name\":\"u1\",\"user.name\":\"u2\",\"n\":{\"k\":1}}"};
    for (int i = 0; i < 2; i++) {
        mm_event ev;
        CHECK_INT(dec(&ev, recs[i]), 0);
        const mm_value *v = mm_event_get(&ev, MM_F_DNS_RESOLVED_IP);
        CHECK(v && mm_str_eqc(v->s, "2.2.2.2"));
        CHECK(mm_event_next(&ev, v) == NULL);
        const mm_str *y = mm_event_vendor_get(&ev, "x.y");
        CHECK(y && mm_str_eqc(*y, "b"));
        CHECK_STR(sval(&ev, "user.name"), "u2");
        mm_arena_reset(&A);
    }
}

/* The flat scanner takes only JSON: a bare token must be a number, true, false
 * or null, and a string holds no raw control character. */
static void the_flat_scanner_rejects_what_json_rejects(void) {
    const char *bad[] = {"{\"a\":1\"b\":2}", "{\"a\":12abc}", "{\"a\":-}", "{\"a\":01}", "{\"a\":1.}",
                         "{\"a\":\"x\ty\"}", "{\"a\":\"\\x\"}", "{\"a\":[1 2]}"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        mm_event ev;
        int rc = dec(&ev, bad[i]);
        if (rc >= 0) printf("  accepted: %s\n", bad[i]);
        CHECK(rc < 0);
        CHECK(ev.kind == MM_KIND_PIPELINE_ERROR);
        mm_arena_reset(&A);
    }
    mm_event ev;
    CHECK_INT(dec(&ev, "{\"a\":-0.5e-3,\"b\":0,\"c\":[true,false,null,-1]}"), 0);
    mm_arena_reset(&A);
}

int main(void) {
    mm_arena_init(&A, 1 << 16);
    TEST(flat_record_sets_known_fields_and_time);
    TEST(escapes_and_surrogate_pairs_become_utf8);
    TEST(nested_objects_fall_back_to_jansson);
    TEST(malformed_records_are_kept_as_errors);
    TEST(numbers_read_alike_in_both_paths);
    TEST(duplicate_keys_keep_the_last_value);
    TEST(the_flat_scanner_rejects_what_json_rejects);
    mm_arena_free(&A);
    TEST_MAIN_END();
}
