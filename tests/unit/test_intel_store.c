/* The indicator store and index: records keep their context (5W1H) and their
 * sources, duplicates from two feeds merge, expired / revoked records and
 * warning-listed values never match, the new types (JA3, e-mail, file name,
 * User-Agent) match only as what they are, and the retro-hunt finds exactly
 * the stored events a live match would have found, reading only the blocks
 * whose sketch holds a hunted term. */
#include "test.h"
#include "decode/decode.h"
#include "detect/detect_int.h"
#include "intel/intel.h"
#include "store/store.h"

#include <time.h>
#include <unistd.h>

static mm_indicator rec(mm_ind_type t, const char *v, const char *feed) {
    mm_indicator i = {.type = t, .value = v, .feed = feed, .confidence = -1};
    return i;
}

static bool hit(const mm_ioc_set *s, const char *v, unsigned types, mm_ioc_hit *h) {
    return mm_ioc_match(s, mm_str_c(v), NULL, types, h);
}

static void context_reaches_the_hit(void) {
    mm_ioc_set *s = mm_ioc_set_new();
    mm_indicator i = rec(MM_IND_DOMAIN, "C2.Evil.Example.", "circl");
    i.actor = "APT-X";
    i.campaign = "Op Sakura";
    i.malware = "PlugX";
    i.confidence = 85;
    i.tlp = "amber";
    i.action = "block at the UTM";
    CHECK_INT(mm_ioc_add(s, &i, 0, NULL), 1);
    mm_ioc_hit h;
    CHECK(hit(s, "www.c2.evil.example", MM_IOC_DOMAIN, &h));
    CHECK_STR(h.indicator, "c2.evil.example");
    CHECK(h.ctx != NULL);
    CHECK_STR(h.ctx->feed, "circl");
    CHECK_STR(h.ctx->actor, "APT-X");
    CHECK_STR(h.ctx->campaign, "Op Sakura");
    CHECK_STR(h.ctx->malware, "PlugX");
    CHECK_STR(h.ctx->tlp, "amber");
    CHECK_STR(h.ctx->action, "block at the UTM");
    CHECK_INT(h.ctx->confidence, 85);
    CHECK(!hit(s, "evil.example", MM_IOC_DOMAIN, &h));   /* the parent is not the indicator */
    mm_ioc_set_free(s);
}

static void duplicates_from_two_feeds_merge_keeping_both(void) {
    mm_ioc_set *s = mm_ioc_set_new();
    mm_indicator a = rec(MM_IND_IP, "203.0.113.9", "feed-a"), b = rec(MM_IND_IP, "203.0.113.9", "feed-b");
    a.confidence = 40;
    b.confidence = 90;
    b.actor = "TA505";
    CHECK_INT(mm_ioc_add(s, &a, 0, NULL), 1);
    CHECK_INT(mm_ioc_add(s, &b, 0, NULL), 0);
    CHECK_INT(mm_ioc_add(s, &b, 0, NULL), 0);   /* the same feed again: no third source */
    CHECK_INT(mm_ioc_count(s), 1);
    mm_ioc_hit h;
    CHECK(hit(s, "203.0.113.9", MM_IOC_IP, &h));
    /* most confident first, the other feed kept */
    CHECK_STR(h.ctx->feed, "feed-b");
    CHECK_STR(h.ctx->actor, "TA505");
    CHECK(h.ctx->also != NULL);
    CHECK_STR(h.ctx->also->feed, "feed-a");
    CHECK(h.ctx->also->also == NULL);
    mm_ioc_set_free(s);
}

static void expired_and_revoked_never_match(void) {
    mm_ioc_set *s = mm_ioc_set_new();
    int64_t now = mm_now_ns();
    mm_indicator old = rec(MM_IND_DOMAIN, "old.example", "f"), rv = rec(MM_IND_DOMAIN, "revoked.example", "f"),
                 live = rec(MM_IND_DOMAIN, "live.example", "f");
    old.valid_until = now - 1000000000LL;
    rv.revoked = true;
    live.valid_until = now + 3600LL * 1000000000LL;
    CHECK_INT(mm_ioc_add(s, &old, 0, NULL), 0);
    CHECK_INT(mm_ioc_add(s, &rv, 0, NULL), 0);
    CHECK_INT(mm_ioc_add(s, &live, 0, NULL), 1);
    CHECK(!hit(s, "old.example", MM_IOC_ANY, NULL));
    CHECK(!hit(s, "revoked.example", MM_IOC_ANY, NULL));
    CHECK(hit(s, "a.live.example", MM_IOC_ANY, NULL));
    mm_ioc_set_free(s);
}

static void warning_lists_suppress_and_are_counted(void) {
    mm_ioc_set *s = mm_ioc_set_new();
    mm_indicator bad = rec(MM_IND_IP, "8.8.8.0/24", "sloppy-feed"), dom = rec(MM_IND_DOMAIN, "example.com", "sloppy-feed");
    mm_indicator w1 = rec(MM_IND_IP, "8.8.8.8", "warninglist-dns"), w2 = rec(MM_IND_DOMAIN, "www.example.com", "wl");
    CHECK_INT(mm_ioc_add(s, &bad, 0, NULL), 1);
    CHECK_INT(mm_ioc_add(s, &dom, 0, NULL), 1);
    CHECK_INT(mm_ioc_add(s, &w1, MM_IOC_ADD_WARNING, NULL), 1);
    CHECK_INT(mm_ioc_add(s, &w2, MM_IOC_ADD_WARNING, NULL), 1);
    CHECK_INT(mm_ioc_count(s), 2);   /* warning entries are not indicators */
    uint64_t sup0 = mm_counter_get(MM_C_IOC_SUPPRESSED);
    CHECK(!hit(s, "8.8.8.8", MM_IOC_IP, NULL));
    CHECK(hit(s, "8.8.8.9", MM_IOC_IP, NULL));
    CHECK(!hit(s, "cdn.www.example.com", MM_IOC_DOMAIN, NULL));
    CHECK(hit(s, "mail.example.com", MM_IOC_DOMAIN, NULL));
    CHECK_INT(mm_counter_get(MM_C_IOC_SUPPRESSED) - sup0, 2);
    mm_ioc_set_free(s);
}

static void new_types_match_only_as_themselves(void) {
    mm_ioc_set *s = mm_ioc_set_new();
    mm_indicator ja3 = rec(MM_IND_JA3, "E7D705A3286E19EA42F587B344EE6865", "ja3er"),
                 em = rec(MM_IND_EMAIL, "Phisher@Bad.Example", "mail"),
                 fn = rec(MM_IND_FILENAME, "C:\\Users\\Public\\Invoice_2026.EXE", "files"),
                 ua = rec(MM_IND_USER_AGENT, "  Mozilla/4.0 (compatible; MSIE 6.0; Trident/4.0)  ", "ua");
    CHECK_INT(mm_ioc_add(s, &ja3, 0, NULL), 1);
    CHECK_INT(mm_ioc_add(s, &em, 0, NULL), 1);
    CHECK_INT(mm_ioc_add(s, &fn, 0, NULL), 1);
    CHECK_INT(mm_ioc_add(s, &ua, 0, NULL), 1);
    mm_ioc_hit h;
    CHECK(hit(s, "e7d705a3286e19ea42f587b344ee6865", MM_IOC_JA3, &h));
    CHECK_INT(h.type, MM_IOC_JA3);
    /* a JA3 is not a file hash */
    CHECK(!hit(s, "e7d705a3286e19ea42f587b344ee6865", MM_IOC_HASH, NULL));
    CHECK(hit(s, "phisher@bad.example", MM_IOC_EMAIL, &h));
    CHECK_STR(h.indicator, "phisher@bad.example");
    CHECK(!hit(s, "other@bad.example", MM_IOC_EMAIL, NULL));
    CHECK(hit(s, "invoice_2026.exe", MM_IOC_FILENAME, &h));
    CHECK(hit(s, "/tmp/x/Invoice_2026.exe", MM_IOC_FILENAME, NULL));
    CHECK(!hit(s, "invoice_2026.exe.txt", MM_IOC_FILENAME, NULL));
    CHECK(hit(s, "Mozilla/4.0 (compatible; MSIE 6.0; Trident/4.0)", MM_IOC_UA, &h));
    CHECK(!hit(s, "Mozilla/4.0 (compatible; MSIE 6.0)", MM_IOC_UA, NULL));
    /* wrong shapes are refused with a reason */
    const char *why = NULL;
    mm_indicator bad = rec(MM_IND_JA3, "not-hex", "x");
    CHECK_INT(mm_ioc_add(s, &bad, 0, &why), -1);
    CHECK(why != NULL);
    bad = rec(MM_IND_EMAIL, "no-at-sign.example", "x");
    CHECK_INT(mm_ioc_add(s, &bad, 0, &why), -1);
    bad = rec(MM_IND_IP, "10.0.0.0/33", "x");
    CHECK_INT(mm_ioc_add(s, &bad, 0, &why), -1);
    mm_ioc_set_free(s);
}

static void normalise_gives_one_canonical_text(void) {
    char out[2048];
    int t = 0;
    CHECK(mm_ioc_normalise(0, "hxxps://WWW.Evil[.]example:443/a/%7euser/%2f?x=1#frag", 52, out, sizeof out, &t, NULL) > 0);
    CHECK_STR(out, "www.evil.example/a/~user/%2F?x=1");
    CHECK_INT(t, MM_IND_URL);
    CHECK(mm_ioc_normalise(0, "10.1.2.3/8", 10, out, sizeof out, &t, NULL) > 0);
    CHECK_STR(out, "10.0.0.0/8");
    CHECK_INT(t, MM_IND_IP);
    const char *idn = "\xe3\x81\x95\xe3\x81\x8f\xe3\x82\x89.example.";   /* さくら.example. */
    CHECK(mm_ioc_normalise(MM_IND_DOMAIN, idn, strlen(idn), out, sizeof out, &t, NULL) > 0);
    CHECK_STR(out, "xn--y8jl1n.example");
    CHECK(mm_ioc_normalise(0, "*.Evil.Example", 14, out, sizeof out, &t, NULL) > 0);
    CHECK_STR(out, "evil.example");
    CHECK_INT(t, MM_IND_DOMAIN);
    CHECK(mm_ioc_normalise(0, "Bad[@]Mail[.]example", 20, out, sizeof out, &t, NULL) < 0 ||
          strcmp(out, "bad@mail.example") == 0);
    CHECK(mm_ioc_normalise(0, "user@mail.example", 17, out, sizeof out, &t, NULL) > 0);
    CHECK_INT(t, MM_IND_EMAIL);
    const char *why = NULL;
    CHECK(mm_ioc_normalise(MM_IND_SHA256, "abc", 3, out, sizeof out, &t, &why) < 0);
    CHECK(why != NULL);
    /* an IDN event value finds the punycode indicator */
    mm_ioc_set *s = mm_ioc_set_new();
    mm_indicator i = rec(MM_IND_DOMAIN, "xn--y8jl1n.example", "f");
    CHECK_INT(mm_ioc_add(s, &i, 0, NULL), 1);
    CHECK(hit(s, "www.\xe3\x81\x95\xe3\x81\x8f\xe3\x82\x89.example", MM_IOC_DOMAIN, NULL));
    mm_ioc_set_free(s);
}

/* Every indicator's probe term is among the terms of an event it matches. */
typedef struct tl {
    uint64_t t[256];
    int n;
} tl;
static void tl_add(void *c, uint64_t h) {
    tl *l = c;
    if (l->n < 256) l->t[l->n++] = h;
}
static bool has_term(const tl *l, uint64_t h) {
    for (int i = 0; i < l->n; i++)
        if (l->t[i] == h) return true;
    return false;
}

static void sketch_terms_cover_what_matches(void) {
    mm_arena a;
    mm_arena_init(&a, 4096);
    mm_event ev;
    mm_event_init(&ev, &a);
    mm_ip ip;
    CHECK(mm_ip_parse(MM_STR("198.51.100.77"), &ip));
    mm_event_set_ip(&ev, MM_F_DESTINATION_IP, &ip);
    mm_event_set(&ev, MM_F_DNS_QUESTION_NAME, MM_STR("a.b.evil.example"));
    mm_event_set(&ev, MM_F_URL_FULL, MM_STR("http://cdn.bad.example/dl/x.exe?id=7"));
    mm_event_set(&ev, MM_F_USER_AGENT_ORIGINAL, MM_STR("EvilBot/1.0"));
    mm_event_set(&ev, MM_F_TLS_JA3, MM_STR("E7D705A3286E19EA42F587B344EE6865"));
    tl l = {0};
    mm_ioc_event_terms(&ev, tl_add, &l);
    CHECK(l.n > 8);
    static const struct { int t; const char *v; } yes[] = {
        {MM_IND_IP, "198.51.100.77"},   {MM_IND_IP, "198.51.100.64/28"}, {MM_IND_IP, "198.51.0.0/20"},
        {MM_IND_IP, "198.0.0.0/12"},    {MM_IND_DOMAIN, "evil.example"}, {MM_IND_DOMAIN, "b.evil.example"},
        {MM_IND_URL, "cdn.bad.example/dl/x.exe"},                         {MM_IND_URL, "http://cdn.bad.example/dl/x.exe?id=7"},
        {MM_IND_DOMAIN, "bad.example"}, {MM_IND_USER_AGENT, "evilbot/1.0"}, {MM_IND_JA3, "e7d705a3286e19ea42f587b344ee6865"},
    };
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        uint64_t p[8];
        int n = mm_ioc_probe_terms(yes[i].t, yes[i].v, strlen(yes[i].v), p, 8);
        CHECK_INT(n, 1);
        if (!has_term(&l, p[0])) {
            printf("FAIL %s: no event term for %s\n", t_name, yes[i].v);
            t_failed = 1;
            return;
        }
    }
    uint64_t p[8];
    CHECK(mm_ioc_probe_terms(MM_IND_DOMAIN, "other.example", 13, p, 8) == 1 && !has_term(&l, p[0]));
    CHECK_INT(mm_ioc_probe_terms(MM_IND_IP, "0.0.0.0/0", 9, p, 8), -1);   /* too wide: read everything */
    mm_arena_free(&a);
}

/* ---- through the store ---- */

static char dbpath[256];

static mm_store *fresh_store(void) {
    snprintf(dbpath, sizeof dbpath, "/tmp/mm_test_intel_%d.db", (int)getpid());
    unlink(dbpath);
    char w[300];
    snprintf(w, sizeof w, "%s-wal", dbpath);
    unlink(w);
    snprintf(w, sizeof w, "%s-shm", dbpath);
    unlink(w);
    mm_store *s = NULL;
    mm_err err = {{0}};
    if (mm_store_open(&s, dbpath, &err) != 0) printf("# %s\n", err.msg);
    return s;
}

static void drop_store(mm_store *s) {
    mm_store_close(s);
    char w[300];
    unlink(dbpath);
    snprintf(w, sizeof w, "%s-wal", dbpath);
    unlink(w);
    snprintf(w, sizeof w, "%s-shm", dbpath);
    unlink(w);
}

static int count_cb(void *ctx, const mm_stored_indicator *si) {
    (void)si;
    ++*(int *)ctx;
    return 0;
}

static void store_keeps_one_row_per_feed_and_loads_merged(void) {
    mm_store *st = fresh_store();
    CHECK(st != NULL);
    int64_t now = mm_now_ns();
    mm_indicator a = rec(MM_IND_DOMAIN, "EVIL[.]example", "feed-a"), b = rec(MM_IND_NONE, "evil.example.", "feed-b");
    a.actor = "APT-X";
    CHECK_INT(mm_intel_put(st, &a, now, NULL), 1);
    CHECK_INT(mm_intel_put(st, &a, now, NULL), 0);   /* the same again: updated */
    CHECK_INT(mm_intel_put(st, &b, now, NULL), 1);
    const char *why = NULL;
    mm_indicator bad = rec(MM_IND_IP, "999.1.1.1", "feed-a");
    CHECK_INT(mm_intel_put(st, &bad, now, &why), -1);
    CHECK_INT(mm_store_indicator_count(st, true, now), 2);
    mm_indicator_filter f = {.value = "evil.example"};
    int n = 0;
    CHECK_INT(mm_store_indicators_each(st, &f, count_cb, &n), 0);
    CHECK_INT(n, 2);
    mm_ioc_set *set = mm_ioc_set_new();
    mm_err err = {{0}};
    CHECK_INT(mm_intel_load(st, set, NULL, &err), 1);
    mm_ioc_hit h;
    CHECK(hit(set, "x.evil.example", MM_IOC_DOMAIN, &h));
    CHECK(h.ctx->also != NULL);
    mm_ioc_set_free(set);
    /* expiring ends matching but keeps the rows */
    CHECK_INT(mm_store_indicator_expire(st, MM_IND_DOMAIN, "evil.example", "feed-a", now + 1), 1);
    CHECK_INT(mm_store_indicator_count(st, true, now + 2), 1);
    CHECK_INT(mm_store_indicator_count(st, false, now + 2), 2);
    set = mm_ioc_set_new();
    CHECK_INT(mm_intel_load(st, set, NULL, &err), 1);
    CHECK(hit(set, "x.evil.example", MM_IOC_DOMAIN, &h));
    CHECK(h.ctx->also == NULL);
    CHECK_STR(h.ctx->feed, "feed-b");
    mm_ioc_set_free(set);
    drop_store(st);
}

static void import_counts_refusals_with_reasons(void) {
    mm_store *st = fresh_store();
    CHECK(st != NULL);
    const char *csv = "indicator,type,description\n"
                      "203.0.113.5,ip-dst,C2\n"
                      "bad.example,domain,phishing\n"
                      "300.1.1.1,ip-dst,broken\n"
                      "e7d705a3286e19ea42f587b344ee6865,ja3,Trickbot TLS\n";
    mm_import_opts o = {.feed = "csv-feed", .confidence = 70, .actor = "FIN7"};
    mm_import_stats is;
    mm_err err = {{0}};
    CHECK_INT(mm_intel_import(st, csv, strlen(csv), &o, &is, &err), 0);
    CHECK_INT(is.added, 3);
    CHECK(is.rd.skipped + is.bad_value >= 1);
    CHECK_STR(mm_intel_sniff(csv, strlen(csv)), "csv");
    CHECK_STR(mm_intel_sniff("{\"type\":\"bundle\"}", 17), "stix");
    CHECK_STR(mm_intel_sniff("{\"Event\":{}}", 12), "misp");
    CHECK_STR(mm_intel_sniff("# x\nevil.example\n", 17), "list");
    drop_store(st);
}

/* FortiGate lines stored, then indicators added: the hunt finds the events a
 * live match finds and reads only the blocks that can hold them. */
static void retro_hunt_finds_stored_sightings(void) {
    mm_store *st = fresh_store();
    CHECK(st != NULL);
    const mm_decoder *dec = mm_decoder_find("fortigate");
    CHECK(dec != NULL);
    mm_arena a;
    mm_arena_init(&a, 64 * 1024);
    mm_decode_opts dopts = {0};
    mm_source src = {"test", "default", "", "fortigate"};
    char line[512];
    int64_t now_s = (int64_t)time(NULL);
    /* 3 transactions = 3 blocks; the C2 address appears only in the second */
    for (int blk = 0; blk < 3; blk++) {
        CHECK_INT(mm_store_begin(st), 0);
        for (int i = 0; i < 50; i++) {
            mm_arena_reset(&a);
            const char *dst = (blk == 1 && i == 7) ? "185.220.101.45" : "93.184.216.34";
            snprintf(line, sizeof line,
                     "date=2026-11-20 time=10:%02d:%02d eventtime=%lld tz=\"+0900\" logid=\"0000000013\" type=\"traffic\" "
                     "subtype=\"forward\" level=\"notice\" vd=\"root\" srcip=10.1.%d.%d srcport=5%03d dstip=%s dstport=443 "
                     "action=\"accept\" proto=6 service=\"HTTPS\" sentbyte=100 rcvdbyte=200",
                     blk, i, (long long)(now_s - 3600 + blk * 60 + i), blk, i + 1, i, dst);
            mm_event ev;
            mm_event_init(&ev, &a);
            ev.src = &src;
            mm_decode(dec, &ev, mm_str_c(line), &dopts);
            CHECK_INT(mm_store_put_event(st, &ev), 0);
        }
        CHECK_INT(mm_store_commit(st), 0);
    }
    mm_arena_free(&a);
    int64_t now = mm_now_ns();
    mm_indicator c2 = rec(MM_IND_IP, "185.220.101.45", "csirt");
    c2.malware = "Emotet";
    CHECK_INT(mm_intel_put(st, &c2, now, NULL), 1);
    mm_config cfg;
    mm_config_defaults(&cfg);
    mm_hunt_stats hs;
    mm_err err = {{0}};
    mm_indicator_filter f = {.added_since_ns = now, .warning = 1};
    int rc = mm_intel_hunt(st, &cfg, &f, NULL, 0, 0, 0, true, NULL, NULL, &hs, &err);
    if (rc) printf("# %s\n", err.msg);
    CHECK_INT(rc, 0);
    CHECK_INT(hs.indicators, 1);
    CHECK_INT(hs.blocks, 3);
    CHECK_INT(hs.blocks_read, 1);
    CHECK_INT(hs.events_read, 50);
    CHECK_INT(hs.sightings, 1);
    /* nothing to find: no block is read */
    mm_indicator none = rec(MM_IND_DOMAIN, "never-seen.example", "hunt");
    CHECK_INT(mm_intel_hunt(st, &cfg, NULL, &none, 1, 0, 0, false, NULL, NULL, &hs, &err), 0);
    CHECK_INT(hs.blocks_read, 0);
    CHECK_INT(hs.sightings, 0);
    /* a /16 around the C2 still finds it (coarse term, exact match) */
    mm_indicator net = rec(MM_IND_IP, "185.220.0.0/16", "hunt");
    CHECK_INT(mm_intel_hunt(st, &cfg, NULL, &net, 1, 0, 0, false, NULL, NULL, &hs, &err), 0);
    CHECK_INT(hs.blocks_read, 1);
    CHECK_INT(hs.sightings, 1);
    mm_config_free(&cfg);
    drop_store(st);
}

static void urls_are_redacted_for_logs_and_state(void) {
    char o[256];
    CHECK_STR(mm_intel_redact_url("https://u:p@host.example/a?auth-key=SECRET&x=1#f", o, sizeof o),
              "https://host.example/a?auth-key=*&x=*#f");
    CHECK_STR(mm_intel_redact_url("http://h/x", o, sizeof o), "http://h/x");
    CHECK_STR(mm_intel_redact_url("/etc/mamori/feed.csv", o, sizeof o), "/etc/mamori/feed.csv");
    CHECK(strstr(mm_intel_redact_url("https://a:SECRET@h/?k=SECRET", o, 16), "SECRET") == NULL);
}

/* A warning-listed domain suppresses domain hits under it, not a URL indicator
 * on one of its sites. */
static void warning_domain_does_not_hide_url_indicators(void) {
    mm_ioc_set *s = mm_ioc_set_new();
    mm_indicator url = rec(MM_IND_URL, "https://docs.google.com/document/d/EVIL", "phish"),
                 wl = rec(MM_IND_DOMAIN, "google.com", "known-good"), dom = rec(MM_IND_DOMAIN, "google.com", "sloppy");
    CHECK_INT(mm_ioc_add(s, &url, 0, NULL), 1);
    CHECK_INT(mm_ioc_add(s, &dom, 0, NULL), 1);
    CHECK_INT(mm_ioc_add(s, &wl, MM_IOC_ADD_WARNING, NULL), 1);
    mm_ioc_hit h;
    CHECK(hit(s, "https://docs.google.com/document/d/EVIL", MM_IOC_URL | MM_IOC_DOMAIN | MM_IOC_IP, &h));
    CHECK_INT(h.type, MM_IOC_URL);
    CHECK(!hit(s, "https://docs.google.com/other", MM_IOC_URL | MM_IOC_DOMAIN | MM_IOC_IP, NULL));
    CHECK(!hit(s, "mail.google.com", MM_IOC_DOMAIN, NULL));
    mm_ioc_set_free(s);
}

int main(void) {
    TEST(urls_are_redacted_for_logs_and_state);
    TEST(warning_domain_does_not_hide_url_indicators);
    TEST(context_reaches_the_hit);
    TEST(duplicates_from_two_feeds_merge_keeping_both);
    TEST(expired_and_revoked_never_match);
    TEST(warning_lists_suppress_and_are_counted);
    TEST(new_types_match_only_as_themselves);
    TEST(normalise_gives_one_canonical_text);
    TEST(sketch_terms_cover_what_matches);
    TEST(store_keeps_one_row_per_feed_and_loads_merged);
    TEST(import_counts_refusals_with_reasons);
    TEST(retro_hunt_finds_stored_sightings);
    TEST_MAIN_END();
}
