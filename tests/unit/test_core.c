/* Core: strings, JSON escaping, time, IP/CIDR, arena, event fields and nested JSON,
 * ring, configuration errors with line numbers, the search language. */
#include "core/core.h"
#include "test.h"

#include <unistd.h>

static void json_escapes_controls_and_invalid_utf8(void) {
    mm_buf b = {0};
    const char in[] = "a\"b\\c\n\x01\xff\xe3\x81\x82";  /* last 3 bytes: valid "あ" */
    mm_json_str(&b, in, sizeof in - 1);
    CHECK_STR(mm_buf_cstr(&b), "\"a\\\"b\\\\c\\n\\u0001\\u00ff\xe3\x81\x82\"");
    mm_buf_reset(&b);
    mm_json_str(&b, "\xe3\x81", 2);  /* truncated sequence */
    CHECK_STR(mm_buf_cstr(&b), "\"\\u00e3\\u0081\"");
    mm_buf_free(&b);
}

static void time_civil_and_format(void) {
    CHECK_INT(mm_time_from_civil(1970, 1, 1, 0, 0, 0), 0);
    CHECK_INT(mm_time_from_civil(2024, 2, 29, 12, 0, 0), 1709208000);
    mm_buf b = {0};
    mm_time_fmt(&b, 1724834031664506909LL);
    CHECK_STR(mm_buf_cstr(&b), "2024-08-28T08:33:51.664506909Z");
    mm_buf_reset(&b);
    mm_time_fmt(&b, 1724834032000000000LL);
    CHECK_STR(mm_buf_cstr(&b), "2024-08-28T08:33:52Z");
    mm_buf_free(&b);
    int32_t off;
    CHECK(mm_tz_parse(MM_STR("+0200"), &off) && off == 7200);
    CHECK(mm_tz_parse(MM_STR("-05:00"), &off) && off == -18000);
    CHECK(mm_tz_parse(MM_STR("JST"), &off) && off == 32400);
    CHECK(!mm_tz_parse(MM_STR("+2x00"), &off));
    int64_t ns;
    CHECK(mm_duration_parse("5m", &ns) && ns == 300000000000LL);
    CHECK(!mm_duration_parse("5 parsecs", &ns));
}

static void ip_and_cidr(void) {
    mm_ip ip;
    CHECK(mm_ip_parse(MM_STR("10.1.2.3"), &ip) && ip.af == 4);
    CHECK(!mm_ip_parse(MM_STR("10.1.2"), &ip));
    CHECK(!mm_ip_parse(MM_STR("10.1.2.256"), &ip));
    CHECK(mm_ip_parse(MM_STR("::ffff:192.0.2.1"), &ip) && ip.af == 4);
    mm_cidr c;
    CHECK(mm_cidr_parse(MM_STR("192.168.0.0/16"), &c));
    CHECK(mm_ip_parse(MM_STR("192.168.255.1"), &ip) && mm_cidr_contains(&c, &ip));
    CHECK(mm_ip_parse(MM_STR("192.169.0.1"), &ip) && !mm_cidr_contains(&c, &ip));
    CHECK(mm_cidr_parse(MM_STR("10.0.0.1/7"), &c));  /* host bits cleared */
    CHECK(mm_ip_parse(MM_STR("11.255.0.1"), &ip) && mm_cidr_contains(&c, &ip));
    CHECK(!mm_cidr_parse(MM_STR("10.0.0.0/33"), &c));
    CHECK(mm_cidr_parse(MM_STR("2001:db8::/32"), &c));
    CHECK(mm_ip_parse(MM_STR("2001:db8:1::5"), &ip) && mm_cidr_contains(&c, &ip));
    CHECK(mm_ip_parse(MM_STR("10.2.3.4"), &ip) && mm_ip_is_private(&ip));
    CHECK(mm_ip_parse(MM_STR("203.0.113.9"), &ip) && !mm_ip_is_private(&ip));
}

static void event_fields_and_json(void) {
    mm_arena a;
    mm_arena_init(&a, 1024);
    mm_event ev;
    mm_event_init(&ev, &a);
    CHECK(mm_field_by_name("source.ip", 9) == MM_F_SOURCE_IP);
    CHECK(mm_field_by_name("source.i", 8) == MM_F_NONE);
    CHECK(mm_event_set(&ev, MM_F_SOURCE_IP, MM_STR("10.0.0.5")));
    CHECK(!mm_event_set(&ev, MM_F_DESTINATION_IP, MM_STR("not-an-ip")));
    CHECK(!mm_event_has(&ev, MM_F_DESTINATION_IP));
    CHECK(mm_event_set(&ev, MM_F_SOURCE_PORT, MM_STR("443")));
    CHECK_INT(mm_event_get(&ev, MM_F_SOURCE_PORT)->i, 443);
    CHECK(mm_event_add(&ev, MM_F_EVENT_CATEGORY, MM_STR("network")));
    CHECK(mm_event_add(&ev, MM_F_EVENT_CATEGORY, MM_STR("intrusion_detection")));
    CHECK(mm_event_set(&ev, MM_F_SOURCE_NAT_IP, MM_STR("198.51.100.1")));
    mm_event_set_time(&ev, MM_F_TIMESTAMP, 1724834032000000000LL);
    ev.vendor_prefix = "fortinet.firewall";
    mm_event_vendor(&ev, MM_STR("srcip"), MM_STR("10.0.0.5"));
    mm_event_vendor(&ev, MM_STR("vd"), MM_STR("root"));
    ev.raw = MM_STR("raw\x01");
    /* enough values to force the value array to grow */
    for (int i = 0; i < 40; i++) CHECK(mm_event_add(&ev, MM_F_DNS_RESOLVED_IP, MM_STR("192.0.2.1")));
    CHECK(mm_event_lookup(&ev, "fortinet.firewall.vd", 20, NULL, NULL) == 1);
    CHECK(mm_event_lookup(&ev, "dns.resolved_ip", 15, NULL, NULL) == 40);
    mm_event_unset(&ev, MM_F_DNS_RESOLVED_IP);
    mm_buf b = {0};
    mm_event_json(&ev, &b, true);
    CHECK_STR(mm_buf_cstr(&b),
              "{\"@timestamp\":\"2024-08-28T08:33:52Z\",\"event\":{\"category\":[\"network\","
              "\"intrusion_detection\"],\"kind\":\"event\",\"original\":\"raw\\u0001\"},"
              "\"fortinet\":{\"firewall\":{\"srcip\":\"10.0.0.5\",\"vd\":\"root\"}},"
              "\"source\":{\"ip\":\"10.0.0.5\",\"nat\":{\"ip\":\"198.51.100.1\"},\"port\":443}}");
    mm_buf_reset(&b);
    CHECK_INT(mm_event_json_fields(&ev, &b, mm_key_fields, mm_key_fields_n), 4);
    CHECK_STR(mm_buf_cstr(&b),
              "\"@timestamp\":\"2024-08-28T08:33:52Z\",\"event\":{\"category\":[\"network\","
              "\"intrusion_detection\"]},\"source\":{\"ip\":\"10.0.0.5\",\"port\":443}");
    mm_buf_free(&b);
    mm_arena_free(&a);
}

static void time_field_parses_iso_and_epoch(void) {
    mm_arena a;
    mm_arena_init(&a, 1024);
    mm_event ev;
    mm_event_init(&ev, &a);
    CHECK(mm_event_set(&ev, MM_F_EVENT_START, MM_STR("2024-08-28T10:33:51.664+02:00")));
    CHECK_INT(mm_event_get(&ev, MM_F_EVENT_START)->i, 1724834031664000000LL);
    CHECK(mm_event_set(&ev, MM_F_EVENT_START, MM_STR("1724834031664506909")));
    CHECK_INT(mm_event_get(&ev, MM_F_EVENT_START)->i, 1724834031664506909LL);
    CHECK(mm_event_set(&ev, MM_F_EVENT_START, MM_STR("1724834031")));
    CHECK_INT(mm_event_get(&ev, MM_F_EVENT_START)->i, 1724834031000000000LL);
    CHECK(!mm_event_set(&ev, MM_F_EVENT_START, MM_STR("2024-13-01T00:00:00Z")));
    mm_arena_free(&a);
}

static void *ring_consumer(void *arg) {
    mm_ring *r = arg;
    void *p;
    intptr_t sum = 0;
    while (mm_ring_pop(r, &p, -1) == MM_OK) sum += (intptr_t)p;
    return (void *)sum;
}

static void ring_bounded_and_drains_on_close(void) {
    mm_ring r;
    CHECK(mm_ring_init(&r, 2) == MM_OK);
    CHECK(mm_ring_try_push(&r, (void *)1) == MM_OK);
    CHECK(mm_ring_try_push(&r, (void *)2) == MM_OK);
    CHECK(mm_ring_try_push(&r, (void *)3) == MM_EFULL);
    void *p;
    CHECK(mm_ring_pop(&r, &p, 0) == MM_OK && p == (void *)1);
    mm_ring_close(&r);
    CHECK(mm_ring_push(&r, (void *)4) == MM_ECLOSED);
    CHECK(mm_ring_pop(&r, &p, 0) == MM_OK && p == (void *)2);
    CHECK(mm_ring_pop(&r, &p, 0) == MM_ECLOSED);
    mm_ring_destroy(&r);
    /* producer blocks while full, consumer thread drains: nothing lost */
    CHECK(mm_ring_init(&r, 4) == MM_OK);
    pthread_t th;
    pthread_create(&th, NULL, ring_consumer, &r);
    intptr_t want = 0;
    for (intptr_t i = 1; i <= 10000; i++) {
        CHECK(mm_ring_push(&r, (void *)i) == MM_OK);
        want += i;
    }
    mm_ring_close(&r);
    void *got;
    pthread_join(th, &got);
    CHECK((intptr_t)got == want);
    mm_ring_destroy(&r);
}

static int write_tmp(char *path, const char *text) {
    strcpy(path, "/tmp/mm_cfg_XXXXXX");
    int fd = mkstemp(path);
    if (fd < 0) return -1;
    ssize_t n = write(fd, text, strlen(text));
    close(fd);
    return n == (ssize_t)strlen(text) ? 0 : -1;
}

static void config_unknown_key_names_line(void) {
    char path[64];
    CHECK(write_tmp(path, "tenant: town\nstore:\n  path: /tmp/x.db\n  retension_days: 3\n") == 0);
    mm_config c;
    mm_config_defaults(&c);
    mm_err err = {{0}};
    CHECK(mm_config_load(&c, path, &err) != 0);
    CHECK(strstr(err.msg, "line 4") != NULL);
    CHECK(strstr(err.msg, "retension_days") != NULL);
    mm_config_free(&c);
    unlink(path);
}

static void config_loads_inputs_and_sources(void) {
    char path[64];
    CHECK(write_tmp(path,
                    "tenant: town-a\ntimezone: \"+0900\"\nworkers: 3\n"
                    "inputs:\n"
                    "  - name: fgt\n    type: syslog\n    protocol: tcp\n    listen: 127.0.0.1:6514\n"
                    "    sources:\n      - match: 10.0.0.0/8\n        tenant: town-b\n        segment: lgwan\n"
                    "  - name: files\n    type: file\n    paths: [/var/log/a.log, /var/log/b.log]\n"
                    "    follow: false\n") == 0);
    mm_config c;
    mm_config_defaults(&c);
    mm_err err = {{0}};
    CHECK(mm_config_load(&c, path, &err) == 0);
    CHECK_STR(c.tenant, "town-a");
    CHECK_INT(c.tz_offset, 9 * 3600);
    CHECK_INT(c.workers, 3);
    CHECK_INT(c.ninputs, 2);
    CHECK_STR(c.inputs[0].protocol, "tcp");
    CHECK_INT(c.inputs[0].nsources, 1);
    CHECK_STR(c.inputs[0].sources[0].src.tenant, "town-b");
    CHECK_STR(c.inputs[0].sources[0].src.segment, "lgwan");
    CHECK_STR(c.inputs[1].tenant, "town-a");
    CHECK_INT(c.inputs[1].npaths, 2);
    CHECK(!c.inputs[1].follow);
    mm_config_free(&c);
    unlink(path);
}

static void config_rejects_bad_types_and_syntax(void) {
    const char *bad[] = {"workers: many\n", "inputs:\n  - name: x\n    type: carrier-pigeon\n",
                         "store: [1, 2]\n", "tenant: [unclosed\n", "a: &x 1\nb: *x\n",
                         "tenant: a\ntenant: b\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char path[64];
        CHECK(write_tmp(path, bad[i]) == 0);
        mm_config c;
        mm_config_defaults(&c);
        mm_err err = {{0}};
        int rc = mm_config_load(&c, path, &err);
        mm_config_free(&c);
        unlink(path);
        CHECK(rc != 0);
        CHECK(strstr(err.msg, "line ") != NULL);
    }
}

static void query_language(void) {
    mm_arena a;
    mm_arena_init(&a, 1024);
    mm_event ev;
    mm_event_init(&ev, &a);
    mm_event_set(&ev, MM_F_SOURCE_IP, MM_STR("10.0.0.5"));
    mm_event_set(&ev, MM_F_EVENT_ACTION, MM_STR("deny"));
    mm_event_set(&ev, MM_F_SOURCE_BYTES, MM_STR("1500"));
    mm_event_set(&ev, MM_F_URL_DOMAIN, MM_STR("www.Example.com"));
    ev.tenant = MM_STR("town-a");
    ev.raw = MM_STR("<189>date=2024 action=deny msg=\"login failed\"");
    struct { const char *q; bool want; } cases[] = {
        {"source.ip=10.0.0.5 and event.action=deny", true},
        {"source.ip=10.0.0.5 event.action=accept", false},
        {"source.ip=10.0.0.0/24", true},
        {"source.ip!=10.0.0.0/24", false},
        {"event.action=DENY", true},
        {"url.domain=*.example.com", true},
        {"url.domain=example.com", false},
        {"source.bytes>=1500 and source.bytes<1501", true},
        {"source.bytes>1500", false},
        {"not (event.action=accept or tenant=town-b)", true},
        {"tenant=town-a", true},
        {"\"login failed\"", true},
        {"url.domain~EXAMPLE", true},
        {"destination.ip=1.2.3.4", false},
        {"destination.ip!=1.2.3.4", false},
        {"", true},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        mm_err err = {{0}};
        mm_query *q = mm_query_parse(cases[i].q, &err);
        CHECK(q != NULL);
        bool got = mm_query_match(q, &ev);
        mm_query_free(q);
        if (got != cases[i].want) {
            printf("FAIL %s: query '%s' gave %d\n", t_name, cases[i].q, got);
            t_failed = 1;
            return;
        }
    }
    mm_err err = {{0}};
    mm_query *q = mm_query_parse("source.ip=10.0.0.05 and (x=1 or y=2)", &err);
    CHECK(q && mm_query_required(q, "source.ip") == NULL);  /* 10.0.0.05 is not an IP */
    mm_query_free(q);
    q = mm_query_parse("event.action=deny and source.ip=::ffff:10.0.0.5", &err);
    CHECK(q);
    CHECK_STR(mm_query_required(q, "source.ip"), "10.0.0.5");
    mm_query_free(q);
    CHECK(mm_query_parse("source.ip=(", &err) == NULL);
    CHECK(mm_query_parse("(a=1", &err) == NULL);
    CHECK(mm_query_parse("a>b", &err) == NULL);
    CHECK(mm_glob_match("a*c?e", 5, "ABxxCdE", 7));
    CHECK(!mm_glob_match("a*c", 3, "abd", 3));
    mm_arena_free(&a);
}

int main(void) {
    TEST(json_escapes_controls_and_invalid_utf8);
    TEST(time_civil_and_format);
    TEST(ip_and_cidr);
    TEST(event_fields_and_json);
    TEST(time_field_parses_iso_and_epoch);
    TEST(ring_bounded_and_drains_on_close);
    TEST(config_unknown_key_names_line);
    TEST(config_loads_inputs_and_sources);
    TEST(config_rejects_bad_types_and_syntax);
    TEST(query_language);
    TEST_MAIN_END();
}
