/* STIX 2.1: the pattern parser alone (operators, literals, AND/OR semantics,
 * refusals with their reasons, hostile input) and the bundle reader over the
 * OASIS examples (imported/total per file, 5W1H from relationships, TLP from
 * markings, course of action). */
#include "test.h"

#include "core/core.h"
#include "intel/intel.h"

/* ---------------------------------------------------------------- patterns */

typedef struct pout {
    int n;
    mm_ind_type t[64];
    char v[64][256];
} pout;

static void pcb(void *ctx, mm_ind_type t, const char *v, size_t n) {
    pout *o = ctx;
    if (o->n >= 64) return;
    o->t[o->n] = t;
    snprintf(o->v[o->n], sizeof o->v[0], "%.*s", (int)n, v);
    o->n++;
}

static const char *WHY;
static int pat(pout *o, const char *p) {
    memset(o, 0, sizeof *o);
    WHY = NULL;
    return mm_stix_pattern(p, strlen(p), pcb, o, &WHY);
}

static void pattern_equals_each_type(void) {
    pout o;
    static const struct {
        const char *p;
        mm_ind_type t;
        const char *v;
    } cases[] = {
        {"[ipv4-addr:value = '198.51.100.7']", MM_IND_IP, "198.51.100.7"},
        {"[ipv6-addr:value = '2001:db8::/32']", MM_IND_IP, "2001:db8::/32"},
        {"[domain-name:value = 'evil.example']", MM_IND_DOMAIN, "evil.example"},
        {"[url:value = 'http://evil.example/a?b=c']", MM_IND_URL, "http://evil.example/a?b=c"},
        {"[file:hashes.MD5 = 'd41d8cd98f00b204e9800998ecf8427e']", MM_IND_MD5, "d41d8cd98f00b204e9800998ecf8427e"},
        {"[file:hashes.'SHA-1' = 'da39a3ee5e6b4b0d3255bfef95601890afd80709']", MM_IND_SHA1,
         "da39a3ee5e6b4b0d3255bfef95601890afd80709"},
        {"[file:hashes.'SHA256' = 'aa']", MM_IND_SHA256, "aa"},
        {"[file:hashes.sha256 = 'bb']", MM_IND_SHA256, "bb"},
        {"[x509-certificate:hashes.'SHA-1' = 'cc']", MM_IND_SHA1, "cc"},
        {"[file:name = 'invoice.exe']", MM_IND_FILENAME, "invoice.exe"},
        {"[email-addr:value = 'a@evil.example']", MM_IND_EMAIL, "a@evil.example"},
        {"[email-message:from_ref.value = 'b@evil.example']", MM_IND_EMAIL, "b@evil.example"},
        {"[email-message:sender_ref.value = 'c@evil.example']", MM_IND_EMAIL, "c@evil.example"},
        {"[network-traffic:dst_ref.value = '203.0.113.9']", MM_IND_IP, "203.0.113.9"},
        {"[network-traffic:src_ref.value = '2001:db8::1']", MM_IND_IP, "2001:db8::1"},
        {"[network-traffic:dst_ref.value = 'c2.example']", MM_IND_DOMAIN, "c2.example"},
        {"[network-traffic:extensions.'http-request-ext'.request_header.'User-Agent' = 'EvilBot/1.0']",
         MM_IND_USER_AGENT, "EvilBot/1.0"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        CHECK_INT(pat(&o, cases[k].p), 1);
        CHECK(WHY == NULL);
        CHECK_INT(o.t[0], cases[k].t);
        CHECK_STR(o.v[0], cases[k].v);
    }
}

static void pattern_in_issubset_and_literal_regex(void) {
    pout o;
    CHECK_INT(pat(&o, "[domain-name:value IN ('a.example', 'b.example','c.example')]"), 3);
    CHECK_STR(o.v[0], "a.example");
    CHECK_STR(o.v[2], "c.example");
    CHECK_INT(pat(&o, "[ipv4-addr:value ISSUBSET '198.51.100.0/24']"), 1);
    CHECK_INT(o.t[0], MM_IND_IP);
    CHECK_STR(o.v[0], "198.51.100.0/24");
    CHECK_INT(pat(&o, "[network-traffic:dst_ref.value ISSUBSET '10.0.0.0/8']"), 1);
    CHECK_INT(o.t[0], MM_IND_IP);
    /* an anchored literal regex is that literal; anything else is a regex */
    CHECK_INT(pat(&o, "[domain-name:value MATCHES '^evil\\.example$']"), 1);
    CHECK_STR(o.v[0], "evil.example");
    CHECK_INT(pat(&o, "[domain-name:value MATCHES '^.*\\.evil\\.example$']"), -1);
    CHECK_STR(WHY, "operator MATCHES (regex)");
    CHECK_INT(pat(&o, "[file:name ISSUBSET 'x']"), -1);
    CHECK_STR(WHY, "operator ISSUBSET on a non-address path");
}

static void pattern_string_escapes_and_binary_literals(void) {
    pout o;
    CHECK_INT(pat(&o, "[file:name = 'it\\'s a \\\\ test']"), 1);
    CHECK_STR(o.v[0], "it's a \\ test");
    CHECK_INT(pat(&o, "[file:name = b64'ZXZpbC5leGU=']"), 1);   /* "evil.exe" */
    CHECK_STR(o.v[0], "evil.exe");
    CHECK_INT(pat(&o, "[file:name = h'6576696c']"), 1);
    CHECK_STR(o.v[0], "evil");
    /* on a hash path, binary literals become the hash's hex text */
    CHECK_INT(pat(&o, "[file:hashes.MD5 = h'D41D8CD98F00B204E9800998ECF8427E']"), 1);
    CHECK_STR(o.v[0], "d41d8cd98f00b204e9800998ecf8427e");
    CHECK_INT(pat(&o, "[file:hashes.MD5 = b'1B2M2Y8AsgTpgAmY7PhCfg==']"), 1);
    CHECK_STR(o.v[0], "d41d8cd98f00b204e9800998ecf8427e");
    CHECK_INT(pat(&o, "[file:name = h'abc']"), -1);
    CHECK_STR(WHY, "bad hex literal");
    CHECK_INT(pat(&o, "[file:name = b64'@@@@']"), -1);
    CHECK_STR(WHY, "bad base64 literal");
}

static void pattern_and_keeps_the_most_specific_side(void) {
    pout o;
    CHECK_INT(pat(&o, "[file:name = 'x.exe' AND file:hashes.'SHA-256' = 'aa']"), 1);
    CHECK_INT(o.t[0], MM_IND_SHA256);
    CHECK_STR(o.v[0], "aa");
    /* two hashes of one file are each that file */
    CHECK_INT(pat(&o, "[file:hashes.MD5 = 'm' AND file:name = 'n' AND file:hashes.'SHA-1' = 's']"), 2);
    CHECK_STR(o.v[0], "m");
    CHECK_STR(o.v[1], "s");
    /* an unsupported side only narrows: the address alone still covers every match */
    CHECK_INT(pat(&o, "[network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:dst_ref.value = '203.0.113.9' AND "
                      "network-traffic:dst_port = 443]"), 1);
    CHECK_STR(o.v[0], "203.0.113.9");
    CHECK(WHY == NULL);
    /* nested parentheses, AND binding tighter than OR */
    CHECK_INT(pat(&o, "[((domain-name:value = 'a.example') OR (url:value = 'http://b.example/' AND file:name = 'f')) OR "
                      "(ipv4-addr:value = '192.0.2.1')]"), 3);
    CHECK_STR(o.v[0], "a.example");
    CHECK_STR(o.v[1], "http://b.example/");
    CHECK_STR(o.v[2], "192.0.2.1");
    /* observations joined by OR */
    CHECK_INT(pat(&o, "[ipv4-addr:value = '192.0.2.1'] OR ([domain-name:value = 'x.example'])"), 2);
}

static void pattern_refusals_have_reasons(void) {
    pout o;
    static const struct {
        const char *p, *why;
    } cases[] = {
        {"[ipv4-addr:value != '192.0.2.1']", "negation (NOT / !=)"},
        {"[ipv4-addr:value NOT = '192.0.2.1']", "negation (NOT / !=)"},
        {"[file:name LIKE 'evil%']", "operator LIKE"},
        {"[file:size > 10]", "unsupported object path file:size"},
        {"[file:name > 'a']", "operator >"},
        {"[EXISTS file:name]", "operator EXISTS"},
        {"[ipv4-addr:value ISSUPERSET '192.0.2.0/24']", "operator ISSUPERSET"},
        {"[email-message:subject = 'hi']", "unsupported object path email-message:subject"},
        {"[file:hashes.'SHA-512' = 'aa']", "unsupported object path file:hashes.sha-512"},
        {"[ipv4-addr:value = '1.2.3.4'] AND [domain-name:value = 'x.example']", "observation AND"},
        {"[ipv4-addr:value = '1.2.3.4'] FOLLOWEDBY [domain-name:value = 'x.example']", "observation FOLLOWEDBY"},
        {"[ipv4-addr:value = '1.2.3.4'] WITHIN 300 SECONDS", "qualifier WITHIN"},
        {"[ipv4-addr:value = '1.2.3.4'] REPEATS 5 TIMES", "qualifier REPEATS"},
        {"[ipv4-addr:value = '1.2.3.4'] START t'2016-06-01T00:00:00Z' STOP t'2016-07-01T00:00:00Z'", "qualifier START"},
        {"[ipv4-addr:value = 1]", "non-string value"},
        {"", "empty pattern"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        if (pat(&o, cases[k].p) != -1) printf("# pattern %s\n", cases[k].p);
        CHECK_INT(pat(&o, cases[k].p), -1);
        CHECK_STR(WHY, cases[k].why);
        CHECK_INT(o.n, 0);
    }
    /* OR keeps the supported branches and says what was lost */
    CHECK_INT(pat(&o, "[domain-name:value = 'a.example' OR email-message:subject = 'x']"), 1);
    CHECK_STR(WHY, "unsupported object path email-message:subject");
    CHECK_INT(pat(&o, "[email-message:subject = 'x'] OR [url:value = 'http://u.example/']"), 1);
    CHECK_STR(o.v[0], "http://u.example/");
    CHECK_STR(WHY, "unsupported object path email-message:subject");
}

static void pattern_hostile_input(void) {
    pout o;
    const char *bad[] = {"[file:name = 'unterminated]", "[file:name = 'x'", "[file:name = 'x'] trailing",
                         "file:name = 'x'", "[file:name]", "[file:name = ]", "[:name = 'x']", "[file: = 'x']",
                         "[file:name IN ('a', ]", "[file:hashes[0 = 'a']", "[]", "[(file:name = 'a']",
                         "[file:name = 'a' OR]"};
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
        CHECK_INT(pat(&o, bad[k]), -1);
        CHECK(WHY != NULL);
        CHECK(!strncmp(WHY, "syntax: ", 8));
    }
    /* 10,000 nested parentheses: refused at the depth cap, no stack overflow */
    size_t n = 10000;
    char *p = malloc(2 * n + 64);
    size_t o_ = 0;
    p[o_++] = '[';
    for (size_t k = 0; k < n; k++) p[o_++] = '(';
    o_ += (size_t)sprintf(p + o_, "file:name = 'x'");
    for (size_t k = 0; k < n; k++) p[o_++] = ')';
    p[o_++] = ']';
    WHY = NULL;
    CHECK_INT(mm_stix_pattern(p, o_, NULL, NULL, &WHY), -1);
    CHECK_STR(WHY, "nesting too deep");
    o_ = 0;
    for (size_t k = 0; k < n; k++) p[o_++] = '(';
    p[o_++] = '[';
    CHECK_INT(mm_stix_pattern(p, o_, NULL, NULL, &WHY), -1);
    CHECK_STR(WHY, "nesting too deep");
    free(p);
    /* 64 levels is still fine */
    char q[256];
    o_ = 0;
    q[o_++] = '[';
    for (int k = 0; k < 60; k++) q[o_++] = '(';
    o_ += (size_t)sprintf(q + o_, "file:name = 'x'");
    for (int k = 0; k < 60; k++) q[o_++] = ')';
    q[o_++] = ']';
    CHECK_INT(mm_stix_pattern(q, o_, NULL, NULL, &WHY), 1);
    /* 1 MB: a long OR chain parses in one pass, every value yielded */
    size_t cap = 1 << 20;
    p = malloc(cap + 64);
    o_ = (size_t)sprintf(p, "[ipv4-addr:value = '10.0.0.0'");
    int count = 1;
    while (o_ + 40 < cap) {
        o_ += (size_t)sprintf(p + o_, " OR ipv4-addr:value = '10.%d.%d.%d'", (count >> 16) & 255, (count >> 8) & 255,
                              count & 255);
        count++;
    }
    p[o_++] = ']';
    CHECK_INT(mm_stix_pattern(p, o_, NULL, NULL, &WHY), count);
    /* 1 MB unterminated string */
    memset(p, 'a', cap);
    memcpy(p, "[file:name = '", 14);
    CHECK_INT(mm_stix_pattern(p, cap, NULL, NULL, &WHY), -1);
    CHECK(!strncmp(WHY, "syntax: unterminated string", 27));
    /* 1 MB of '(' or of '[' */
    memset(p, '(', cap);
    CHECK_INT(mm_stix_pattern(p, cap, NULL, NULL, &WHY), -1);
    CHECK_STR(WHY, "nesting too deep");
    memset(p, '[', cap);
    CHECK_INT(mm_stix_pattern(p, cap, NULL, NULL, &WHY), -1);
    CHECK_STR(WHY, "syntax: object path expected at offset 1");
    free(p);
    /* embedded NUL bytes are just bytes */
    CHECK_INT(mm_stix_pattern("[file:name = 'a\0b']", 19, pcb, &o, &WHY), 1);
}

/* ------------------------------------------------------------------ bundles */

typedef struct rec {
    mm_ind_type type;
    char value[128], id[80], actor[128], campaign[128], malware[1024], kill_chain[128], attack[128], action[160],
        description[128], tlp[16];
    int64_t first_seen, last_seen, valid_from, valid_until;
    int confidence;
    bool revoked;
} rec;

typedef struct recs {
    int n;
    rec r[128];
} recs;

static void cp(char *dst, size_t n, const char *s) {
    snprintf(dst, n, "%s", s ? s : "");
}

static int rcb(void *ctx, const mm_indicator *ind) {
    recs *R = ctx;
    if (R->n >= 128) return 1;
    rec *r = &R->r[R->n++];
    r->type = ind->type;
    cp(r->value, sizeof r->value, ind->value);
    cp(r->id, sizeof r->id, ind->id);
    cp(r->actor, sizeof r->actor, ind->actor);
    cp(r->campaign, sizeof r->campaign, ind->campaign);
    cp(r->malware, sizeof r->malware, ind->malware);
    cp(r->kill_chain, sizeof r->kill_chain, ind->kill_chain);
    cp(r->attack, sizeof r->attack, ind->attack);
    cp(r->action, sizeof r->action, ind->action);
    cp(r->description, sizeof r->description, ind->description);
    cp(r->tlp, sizeof r->tlp, ind->tlp);
    r->first_seen = ind->first_seen;
    r->last_seen = ind->last_seen;
    r->valid_from = ind->valid_from;
    r->valid_until = ind->valid_until;
    r->confidence = ind->confidence;
    r->revoked = ind->revoked;
    if (strcmp(ind->feed, "test")) return 1;
    return 0;
}

static recs R;
static mm_intel_stats ST;

static int read_text(const char *text) {
    memset(&R, 0, sizeof R);
    memset(&ST, 0, sizeof ST);
    mm_err err = {{0}};
    return mm_stix_read(text, strlen(text), "test", rcb, &R, &ST, &err);
}

/* Reads a corpus file and prints the per-file figures. */
static int read_corpus(const char *rel) {
    char path[1024];
    snprintf(path, sizeof path, "%s/intel/%s", t_corpora(), rel);
    FILE *f = fopen(path, "rb");
    if (!f) {
        printf("# stix %s: missing\n", rel);
        return -100;
    }
    static char buf[1 << 18];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    memset(&R, 0, sizeof R);
    memset(&ST, 0, sizeof ST);
    mm_err err = {{0}};
    int rc = mm_stix_read(buf, n, "test", rcb, &R, &ST, &err);
    printf("# stix %s: imported %llu records from %llu indicators (%llu refused", rel, (unsigned long long)ST.imported,
           (unsigned long long)ST.objects, (unsigned long long)ST.skipped);
    if (ST.skipped)
        printf(": unsupported_pattern %llu, unsupported_type %llu, bad_value %llu, malformed %llu; last: %s",
               (unsigned long long)ST.unsupported_pattern, (unsigned long long)ST.unsupported_type,
               (unsigned long long)ST.bad_value, (unsigned long long)ST.malformed, ST.last_reason);
    printf(")\n");
    return rc;
}

static const rec *find(const char *value) {
    for (int k = 0; k < R.n; k++)
        if (!strcmp(R.r[k].value, value)) return &R.r[k];
    return NULL;
}

#define NS(s) ((int64_t)(s) * 1000000000LL)

static void corpus_c2_ip_address(void) {
    CHECK_INT(read_corpus("stix/indicator-for-c2-ip-address.json"), 0);
    CHECK_INT(ST.objects, 1);
    CHECK_INT(ST.imported, 1);
    CHECK_INT(ST.skipped, 0);
    const rec *r = &R.r[0];
    CHECK_INT(r->type, MM_IND_IP);
    CHECK_STR(r->value, "10.0.0.0");
    CHECK_STR(r->id, "indicator--33fe3b22-0201-47cf-85d0-97c02164528d");
    CHECK_STR(r->description, "Test description C2 channel.");
    CHECK_INT(r->valid_from, NS(1399539600));
    CHECK_INT(r->first_seen, NS(1399539600));
    CHECK_INT(r->valid_until, 0);
    CHECK_INT(r->confidence, -1);
    CHECK_STR(r->malware, "");
    CHECK_STR(r->tlp, "");
}

static void corpus_indicator_to_campaign(void) {
    CHECK_INT(read_corpus("stix/indicator-to-campaign-relationship.json"), 0);
    CHECK_INT(ST.objects, 1);
    CHECK_INT(R.n, 1);
    CHECK_STR(R.r[0].value, "10.0.0.0");
    CHECK_STR(R.r[0].campaign, "Operation Omega");
    CHECK_STR(R.r[0].actor, "");
}

static void corpus_c2_with_course_of_action(void) {
    CHECK_INT(read_corpus("stix/indicators-for-C2-with-COA.json"), 0);
    CHECK_INT(ST.objects, 2);
    CHECK_INT(ST.imported, 2);
    const rec *ip = find("10.0.0.0");
    const rec *h = find("ef537f25c895bfa782526529a9b63d97aa631564d5d789c2b765448c8635fb6c");
    CHECK(ip && h);
    CHECK_INT(h->type, MM_IND_SHA256);
    CHECK_STR(ip->malware, "Poison Ivy");
    CHECK_STR(h->malware, "Poison Ivy");
    /* the course of action mitigates the malware both indicators indicate */
    CHECK_STR(ip->action, "Add TCP port 80 Filter Rule to the existing Block UDP 1434 Filter");
    CHECK_STR(h->action, "Add TCP port 80 Filter Rule to the existing Block UDP 1434 Filter");
    CHECK_INT(h->first_seen, NS(1485524993) + 997000000LL);
}

static void corpus_files_without_indicators(void) {
    CHECK_INT(read_corpus("stix/infrastructure.json"), 0);
    CHECK_INT(ST.objects, 0);
    CHECK_INT(ST.imported, 0);
    /* a single campaign object, not a bundle */
    CHECK_INT(read_corpus("stix/interop-objectmarking-test.json"), 0);
    CHECK_INT(ST.objects, 0);
    CHECK_INT(ST.skipped, 0);
}

static void corpus_malicious_email_regexes_refused(void) {
    CHECK_INT(read_corpus("stix/malicious-email-indicator-with-attachment.json"), 0);
    CHECK_INT(ST.objects, 2);
    CHECK_INT(ST.imported, 0);
    CHECK_INT(ST.skipped, 2);
    CHECK_INT(ST.unsupported_pattern, 2);
    /* the attachment name is a filename path, but its regex is not a literal */
    CHECK_STR(ST.last_reason, "indicator--2e17f6fe-3a4d-438a-911a-e509ba1b9933: operator MATCHES (regex)");
}

static void corpus_apt1_cidr_domains_hashes(void) {
    CHECK_INT(read_corpus("stix/threat-reports/apt1.json"), 0);
    CHECK_INT(ST.objects, 12);
    CHECK_INT(ST.imported, 10);
    CHECK_INT(ST.skipped, 2);
    CHECK_INT(ST.unsupported_pattern, 2);
    CHECK(strstr(ST.last_reason, "unsupported object path x509-certificate:issuer") != NULL);
    const char *cidrs[] = {"223.166.0.0/15", "58.246.0.0/15", "112.64.0.0/15", "139.226.0.0/15"};
    for (int k = 0; k < 4; k++) {
        const rec *r = find(cidrs[k]);
        CHECK(r);
        CHECK_INT(r->type, MM_IND_IP);
        CHECK_STR(r->malware, "HUC Packet Transmit Tool (HTRAN)");
        CHECK_STR(r->kill_chain, "establish-foothold");
        CHECK_STR(r->description, "Test description.");
        CHECK_INT(r->valid_from, NS(1431681136) + 432678000LL);
    }
    const char *doms[] = {"hugesoft.org", "arrowservice.net", "msnhome.org"};
    for (int k = 0; k < 3; k++) {
        const rec *r = find(doms[k]);
        CHECK(r);
        CHECK_INT(r->type, MM_IND_DOMAIN);
        CHECK_STR(r->actor, "Ugly Gorilla");
    }
    const rec *m = find("001dd76872d80801692ff942308c64e6");
    CHECK(m);
    CHECK_INT(m->type, MM_IND_MD5);
    CHECK(find("002325a0a67fded0381b5648d7fe9b8e") && find("00dbb9e1c09dbdafb360f3163ba5a3de"));
}

static void corpus_poisonivy_long_or_chains(void) {
    CHECK_INT(read_corpus("stix/threat-reports/poisonivy.json"), 0);
    CHECK_INT(ST.objects, 25);
    /* 67 comparisons; "domain autuo.xicp.net" is not a domain name */
    CHECK_INT(ST.imported, 66);
    CHECK_INT(ST.skipped, 1);
    CHECK_INT(ST.bad_value, 1);
    CHECK(strstr(ST.last_reason, "indicator--4e4c4ad7-4909-456a-b6fa-e24a6f682a40: space in a domain name") != NULL);
    /* the eleven comparisons of the longest chain */
    int n = 0;
    for (int k = 0; k < R.n; k++) n += !strcmp(R.r[k].id, "indicator--8da68996-f175-4ae0-bd74-aad4913873b8");
    CHECK_INT(n, 11);
    const rec *r = find("www.webserver.dynssl.com");
    CHECK(r);
    CHECK_STR(r->campaign, "admin@338");
    CHECK_STR(r->malware, "PIVY Variant (8010cae3e8431bb11ed6dc9acabb93b7,)");
    /* campaign --uses--> attack-pattern reaches "how" */
    CHECK_STR(r->attack, "Spear Phishing Attack Pattern used by admin@338");
    r = find("60.10.1.115");
    CHECK(r);
    CHECK_STR(r->campaign, "menuPass");
    r = find("CBricksDoc");
    CHECK(r);
    CHECK_INT(r->type, MM_IND_FILENAME);
    CHECK_STR(r->campaign, "menuPass");
    CHECK(strstr(r->malware, "PIVY Variant (b1deff736b6d12b8d98b485e20d318ea)") != NULL);
    CHECK(strstr(r->malware, "PIVY Variant (a5965b750997dbecec61358d41ac93c7)") != NULL);
    r = find("219.76.208.163");
    CHECK(r);
    CHECK_STR(r->malware, "PIVY Variant (808e21d6efa2884811fbd0adf67fda78)");
    CHECK_STR(r->campaign, "admin@338");
}

static void corpus_misp_stix_event(void) {
    CHECK_INT(read_corpus("misp/misp-stix/test_event1_stix21.json"), 0);
    CHECK_INT(ST.objects, 1);
    CHECK_INT(R.n, 1);
    CHECK_INT(R.r[0].type, MM_IND_DOMAIN);
    CHECK_STR(R.r[0].value, "circl.lu");
    CHECK_STR(R.r[0].kill_chain, "Network activity");
    CHECK_STR(R.r[0].description, "Domain test attribute");
}

/* ---------------------------------------------------------------- synthetic */

static const char *BUNDLE =
    "{\"type\":\"bundle\",\"id\":\"bundle--1\",\"objects\":["
    "{\"type\":\"marking-definition\",\"id\":\"marking-definition--local-amber\",\"definition_type\":\"tlp\","
    " \"definition\":{\"tlp\":\"amber\"}},"
    "{\"type\":\"marking-definition\",\"id\":\"marking-definition--ext-strict\",\"name\":\"TLP:AMBER+STRICT\","
    " \"extensions\":{\"extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d\":"
    "   {\"extension_type\":\"property-extension\",\"tlp_2_0\":\"amber+strict\"}}},"
    "{\"type\":\"indicator\",\"id\":\"indicator--a\",\"pattern_type\":\"stix\",\"pattern\":\"[url:value = 'http://x.example/']\","
    " \"valid_from\":\"2024-01-01T00:00:00Z\",\"valid_until\":\"2024-02-01T00:00:00Z\",\"confidence\":85,\"revoked\":true,"
    " \"object_marking_refs\":[\"marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da\",\"marking-definition--local-amber\"],"
    " \"kill_chain_phases\":[{\"kill_chain_name\":\"lockheed-martin-cyber-kill-chain\",\"phase_name\":\"delivery\"},"
    "   {\"kill_chain_name\":\"x\",\"phase_name\":\"command-and-control\"}]},"
    "{\"type\":\"indicator\",\"id\":\"indicator--b\",\"pattern\":\"[domain-name:value = 'b.example']\","
    " \"object_marking_refs\":[\"marking-definition--ext-strict\"]},"
    "{\"type\":\"indicator\",\"id\":\"indicator--c\",\"pattern_type\":\"stix\",\"pattern\":\"[ipv4-addr:value = '192.0.2.3']\","
    " \"object_marking_refs\":[\"marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9\"]},"
    "{\"type\":\"indicator\",\"id\":\"indicator--d\",\"pattern_type\":\"stix\",\"pattern\":\"[ipv4-addr:value = '192.0.2.4']\","
    " \"object_marking_refs\":[\"marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1\"]},"
    "{\"type\":\"indicator\",\"id\":\"indicator--e\",\"pattern_type\":\"sigma\",\"pattern\":\"title: x\"},"
    "{\"type\":\"indicator\",\"id\":\"indicator--f\",\"pattern_type\":\"stix\"},"
    "{\"type\":\"indicator\",\"id\":\"indicator--g\",\"pattern_type\":\"stix\","
    " \"pattern\":\"[file:hashes.MD5 = 'nothex' OR ipv4-addr:value = '999.1.1.1' OR file:hashes.MD5 = 'd41d8cd98f00b204e9800998ecf8427e']\"},"
    "{\"type\":\"threat-actor\",\"id\":\"threat-actor--1\",\"name\":\"Actor One\"},"
    "{\"type\":\"intrusion-set\",\"id\":\"intrusion-set--1\",\"name\":\"Set One\"},"
    "{\"type\":\"campaign\",\"id\":\"campaign--1\",\"name\":\"Camp One\"},"
    "{\"type\":\"attack-pattern\",\"id\":\"attack-pattern--1\",\"name\":\"Application Layer Protocol\","
    " \"external_references\":[{\"source_name\":\"capec\",\"external_id\":\"CAPEC-1\"},"
    "   {\"source_name\":\"mitre-attack\",\"external_id\":\"T1071\"}]},"
    "{\"type\":\"attack-pattern\",\"id\":\"attack-pattern--2\",\"name\":\"Ingress Tool Transfer\","
    " \"external_references\":[{\"source_name\":\"mitre-attack\",\"external_id\":\"T1105\"}]},"
    "{\"type\":\"tool\",\"id\":\"tool--1\",\"name\":\"Cobalt Strike\"},"
    "{\"type\":\"course-of-action\",\"id\":\"course-of-action--1\",\"description\":\"Block at the proxy\"},"
    "{\"type\":\"relationship\",\"id\":\"relationship--1\",\"relationship_type\":\"indicates\",\"source_ref\":\"indicator--a\",\"target_ref\":\"campaign--1\"},"
    "{\"type\":\"relationship\",\"id\":\"relationship--2\",\"relationship_type\":\"attributed-to\",\"source_ref\":\"campaign--1\",\"target_ref\":\"intrusion-set--1\"},"
    "{\"type\":\"relationship\",\"id\":\"relationship--3\",\"relationship_type\":\"indicates\",\"source_ref\":\"indicator--a\",\"target_ref\":\"attack-pattern--1\"},"
    "{\"type\":\"relationship\",\"id\":\"relationship--4\",\"relationship_type\":\"indicates\",\"source_ref\":\"indicator--a\",\"target_ref\":\"tool--1\"},"
    "{\"type\":\"relationship\",\"id\":\"relationship--5\",\"relationship_type\":\"uses\",\"source_ref\":\"tool--1\",\"target_ref\":\"attack-pattern--2\"},"
    "{\"type\":\"relationship\",\"id\":\"relationship--6\",\"relationship_type\":\"mitigates\",\"source_ref\":\"course-of-action--1\",\"target_ref\":\"indicator--a\"},"
    "{\"type\":\"relationship\",\"id\":\"relationship--7\",\"relationship_type\":\"indicates\",\"source_ref\":\"indicator--b\",\"target_ref\":\"threat-actor--1\"},"
    "{\"type\":\"relationship\",\"id\":\"relationship--8\",\"relationship_type\":\"indicates\",\"source_ref\":\"indicator--b\",\"target_ref\":\"threat-actor--missing\"},"
    "42]}";

static void bundle_resolves_5w1h_tlp_and_times(void) {
    CHECK_INT(read_text(BUNDLE), 0);
    CHECK_INT(ST.objects, 7);
    CHECK_INT(ST.imported, 5);
    const rec *a = find("http://x.example/");
    CHECK(a);
    CHECK_INT(a->type, MM_IND_URL);
    CHECK_STR(a->campaign, "Camp One");
    CHECK_STR(a->actor, "Set One");
    CHECK_STR(a->malware, "Cobalt Strike");
    CHECK_STR(a->attack, "T1071,T1105");
    CHECK_STR(a->action, "Block at the proxy");
    CHECK_STR(a->kill_chain, "delivery,command-and-control");
    CHECK_STR(a->tlp, "amber");   /* green and amber: the stricter */
    CHECK_INT(a->confidence, 85);
    CHECK(a->revoked);
    CHECK_INT(a->valid_from, NS(1704067200));
    CHECK_INT(a->valid_until, NS(1706745600));   /* past: passed on, the store decides */
    const rec *b = find("b.example");
    CHECK(b);
    CHECK_STR(b->actor, "Actor One");
    CHECK_STR(b->tlp, "amber+strict");
    CHECK(!b->revoked);
    CHECK_STR(find("192.0.2.3")->tlp, "clear");
    CHECK_STR(find("192.0.2.4")->tlp, "red");
    CHECK(find("d41d8cd98f00b204e9800998ecf8427e"));
}

static void bundle_refusals_are_counted(void) {
    CHECK_INT(read_text(BUNDLE), 0);
    CHECK_INT(ST.unsupported_type, 1);   /* pattern_type sigma */
    CHECK_INT(ST.bad_value, 2);          /* 'nothex', 999.1.1.1 */
    CHECK_INT(ST.malformed, 2);          /* no pattern; the 42 */
    CHECK_INT(ST.skipped, 5);
    read_text("{\"type\":\"bundle\",\"id\":\"b\",\"objects\":[{\"type\":\"indicator\",\"id\":\"indicator--s\","
              "\"pattern_type\":\"sigma\",\"pattern\":\"x\"}]}");
    CHECK_STR(ST.last_reason, "indicator--s: pattern_type sigma");
    read_text("{\"objects\":[{\"type\":\"indicator\",\"id\":\"indicator--p\",\"pattern_type\":\"stix\","
              "\"pattern\":\"[url:value = 'http://a.example/' OR process:name = 'x']\"}]}");
    CHECK_INT(ST.imported, 1);   /* a TAXII envelope */
    CHECK_INT(ST.unsupported_pattern, 1);
    CHECK_STR(ST.last_reason, "indicator--p: partly imported: unsupported object path process:name");
}

static void reader_accepts_single_object_and_rejects_non_stix(void) {
    CHECK_INT(read_text("{\"type\":\"indicator\",\"id\":\"indicator--1\",\"pattern\":\"[file:name = 'a.exe']\"}"), 0);
    CHECK_INT(R.n, 1);
    CHECK_STR(R.r[0].value, "a.exe");
    CHECK_INT(read_text("[{\"type\":\"indicator\",\"id\":\"indicator--1\",\"pattern\":\"[file:name = 'b.exe']\"}]"), 0);
    CHECK_STR(R.r[0].value, "b.exe");
    const char *bad[] = {"", "{", "[1,2", "{\"a\":1}", "42", "\"x\"", "{\"objects\":{}}"};
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
        CHECK(read_text(bad[k]) < 0);
        CHECK_INT(ST.malformed, 1);
    }
    mm_err err = {{0}};
    CHECK(mm_stix_read(NULL, 0, "test", rcb, &R, NULL, &err) < 0);
    /* the callback stops the reader */
    memset(&R, 0, sizeof R);
    mm_intel_stats st = {0};
    const char *two = "{\"objects\":[{\"type\":\"indicator\",\"id\":\"i1\",\"pattern\":\"[file:name = 'a' OR file:name = 'b']\"},"
                      "{\"type\":\"indicator\",\"id\":\"i2\",\"pattern\":\"[file:name = 'c']\"}]}";
    CHECK_INT(mm_stix_read(two, strlen(two), "stop", rcb, &R, &st, &err), 0);
    CHECK_INT(R.n, 1);
    CHECK_INT(st.objects, 1);
}

int main(void) {
    TEST(pattern_equals_each_type);
    TEST(pattern_in_issubset_and_literal_regex);
    TEST(pattern_string_escapes_and_binary_literals);
    TEST(pattern_and_keeps_the_most_specific_side);
    TEST(pattern_refusals_have_reasons);
    TEST(pattern_hostile_input);
    TEST(corpus_c2_ip_address);
    TEST(corpus_indicator_to_campaign);
    TEST(corpus_c2_with_course_of_action);
    TEST(corpus_files_without_indicators);
    TEST(corpus_malicious_email_regexes_refused);
    TEST(corpus_apt1_cidr_domains_hashes);
    TEST(corpus_poisonivy_long_or_chains);
    TEST(corpus_misp_stix_event);
    TEST(bundle_resolves_5w1h_tlp_and_times);
    TEST(bundle_refusals_are_counted);
    TEST(reader_accepts_single_object_and_rejects_non_stix);
    TEST_MAIN_END();
}
