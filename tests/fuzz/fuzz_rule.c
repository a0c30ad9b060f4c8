/* libFuzzer target: the rule loader.  The bytes are a rule file (one or more YAML
 * documents) handed to the same path as a file under rules/: split, mm_cnode_parse,
 * compile, link correlations, index.  A rule that compiles is then run over a few
 * events, so the evaluator and the burst windows see whatever the compiler
 * accepted. */
#include "detect/detect_int.h"

#include <stdlib.h>
#include <string.h>

static mm_event *event(mm_arena *a, int i) {
    mm_event *ev = mm_arena_zalloc(a, sizeof *ev);
    mm_event_init(ev, a);
    ev->vendor_prefix = "fortinet.firewall";
    ev->ts_ns = (int64_t)i * 1000000000LL;
    ev->raw = MM_STR("date=2024-05-14 type=utm subtype=ips attack=\"Evil.Attack\" srcip=10.0.0.1");
    mm_event_set(ev, MM_F_SOURCE_IP, i & 1 ? MM_STR("10.0.0.1") : MM_STR("2001:db8::5"));
    mm_event_set(ev, MM_F_DESTINATION_IP, MM_STR("203.0.113.7"));
    mm_event_set(ev, MM_F_URL_DOMAIN, MM_STR("cdn.evil.example"));
    mm_event_set(ev, MM_F_URL_PATH, MM_STR("/gate.php"));
    mm_event_add(ev, MM_F_EVENT_CATEGORY, MM_STR("network"));
    mm_event_add(ev, MM_F_EVENT_CATEGORY, MM_STR("intrusion_detection"));
    mm_event_set(ev, MM_F_USER_NAME, MM_STR("Admin"));
    mm_event_vendor(ev, MM_STR("subtype"), MM_STR("ips"));
    mm_event_vendor(ev, MM_STR("severity"), i & 2 ? MM_STR("critical") : MM_STR("low"));
    mm_event_vendor(ev, MM_STR("action"), MM_STR("login"));
    mm_event_vendor(ev, MM_STR("status"), MM_STR("failed"));
    mm_event_vendor(ev, MM_STR("crscore"), MM_STR("50"));
    return ev;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static bool quiet;
    if (!quiet) {
        mm_log_set_level(MM_LOG_ERROR);
        quiet = true;
    }
    mm_ioc_set *ioc = mm_ioc_set_new();
    int bad;
    static const char list[] = "203.0.113.0/24\nevil.example\nhttp://cdn.evil.example/gate.php\n";
    mm_ioc_parse(ioc, "fuzz-list", list, sizeof list - 1, &bad);
    mm_err err = {{0}};
    mm_detect *d = mm_detect_from_text("fuzz.yml", (const char *)data, size, ioc, &err);
    if (!d) return 0;
    mm_arena a;
    mm_arena_init(&a, 1 << 14);
    mm_detect_state *s = mm_detect_state_new();
    mm_detect_set_corr_max_keys(d, 4);
    for (int i = 0; i < 12; i++) {
        mm_alert *al = NULL;
        mm_detect_event(d, s, event(&a, i), &a, &al);
    }
    mm_detect_state_free(s);
    mm_arena_free(&a);
    mm_detect_free(d);
    return 0;
}
