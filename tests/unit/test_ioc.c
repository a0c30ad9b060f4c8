/* Indicator lists: every type matches what it should and its near misses do not;
 * bad lines are counted, never fatal. */
#include "test.h"
#include "detect/detect_int.h"

static mm_ioc_set *load(const char *text, int *added, int *bad) {
    mm_ioc_set *s = mm_ioc_set_new();
    int b = 0;
    int n = mm_ioc_parse(s, "test-list", text, strlen(text), &b);
    if (added) *added = n;
    if (bad) *bad = b;
    return s;
}

static bool m(const mm_ioc_set *s, const char *v) {
    return mm_ioc_match(s, mm_str_c(v), NULL, MM_IOC_ANY, NULL);
}

static bool mt(const mm_ioc_set *s, const char *v, unsigned types) {
    return mm_ioc_match(s, mm_str_c(v), NULL, types, NULL);
}

static void plain_list_counts_good_and_bad_lines(void) {
    int added, bad;
    mm_ioc_set *s = load("# a comment\r\n"
                         "\r\n"
                         "203.0.113.7\r\n"
                         "198.51.100.0/24   # a trailing comment\n"
                         "evil.example\n"
                         "http://bad.example/dl/payload.exe\n"
                         "44d88612fea8a8f36de82e1278abb02f\n"
                         "not an indicator at all\n"
                         "999.1.1.1\n"
                         "10.0.0.0/33\n"
                         "-bad-.\n"
                         "   \n",
                         &added, &bad);
    CHECK_INT(added, 5);
    CHECK_INT(bad, 4);
    CHECK_INT(mm_ioc_count(s), 5);
    mm_ioc_set_free(s);
}

static void counters_track_loaded_and_errors(void) {
    uint64_t l0 = mm_counter_get(MM_C_IOC_LOADED), e0 = mm_counter_get(MM_C_IOC_ERRORS);
    mm_ioc_set *s = load("192.0.2.1\n192.0.2.2\nbogus line here\n", NULL, NULL);
    CHECK_INT(mm_counter_get(MM_C_IOC_LOADED) - l0, 2);
    CHECK_INT(mm_counter_get(MM_C_IOC_ERRORS) - e0, 1);
    mm_ioc_set_free(s);
}

static void duplicates_are_not_counted_twice(void) {
    int added, bad;
    mm_ioc_set *s = load("evil.example\nEVIL.example.\n*.evil.example\n10.0.0.1\n10.0.0.1/32\n", &added, &bad);
    CHECK_INT(added, 2);
    CHECK_INT(bad, 0);
    mm_ioc_set_free(s);
}

static void ip_matches_exactly(void) {
    mm_ioc_set *s = load("203.0.113.7\n2001:db8::1\n", NULL, NULL);
    CHECK(m(s, "203.0.113.7"));
    CHECK(!m(s, "203.0.113.70"));
    CHECK(!m(s, "203.0.113.6"));
    CHECK(m(s, "2001:db8::1"));
    CHECK(m(s, "2001:0db8:0:0::0001"));
    CHECK(!m(s, "2001:db8::2"));
    CHECK(m(s, "::ffff:203.0.113.7"));   /* v4-mapped */
    mm_ip ip;
    CHECK(mm_ip_parse(MM_STR("203.0.113.7"), &ip));
    mm_ioc_hit hit;
    CHECK(mm_ioc_match(s, MM_STR("203.0.113.7"), &ip, MM_IOC_IP, &hit));
    CHECK_STR(hit.indicator, "203.0.113.7");
    CHECK_STR(hit.list, "test-list");
    CHECK_INT(hit.type, MM_IOC_IP);
    /* an address is never a domain */
    CHECK(!mt(s, "203.0.113.7", MM_IOC_DOMAIN));
    mm_ioc_set_free(s);
}

static void cidr_edges(void) {
    mm_ioc_set *s = load("198.51.100.0/24\n10.1.2.3/8\n2001:db8:100::/40\n0.0.0.0/0\n", NULL, NULL);
    mm_ioc_hit hit;
    CHECK(mm_ioc_match(s, MM_STR("198.51.100.0"), NULL, MM_IOC_IP, &hit));
    CHECK_STR(hit.indicator, "198.51.100.0/24");
    CHECK(mm_ioc_match(s, MM_STR("198.51.100.255"), NULL, MM_IOC_IP, &hit));
    CHECK_STR(hit.indicator, "198.51.100.0/24");   /* most specific first */
    /* host bits are masked off: 10.1.2.3/8 is 10.0.0.0/8 */
    CHECK(mm_ioc_match(s, MM_STR("10.255.255.255"), NULL, MM_IOC_IP, &hit));
    CHECK_STR(hit.indicator, "10.0.0.0/8");
    CHECK(mm_ioc_match(s, MM_STR("2001:db8:1ff:ffff::1"), NULL, MM_IOC_IP, &hit));
    CHECK_STR(hit.indicator, "2001:db8:100::/40");
    CHECK(!mm_ioc_match(s, MM_STR("2001:db8:200::1"), NULL, MM_IOC_IP, &hit));
    /* 0.0.0.0/0 catches any v4 address, never v6 */
    CHECK(mm_ioc_match(s, MM_STR("8.8.8.8"), NULL, MM_IOC_IP, &hit));
    CHECK_STR(hit.indicator, "0.0.0.0/0");
    mm_ioc_set_free(s);

    s = load("198.51.100.0/25\n", NULL, NULL);
    CHECK(m(s, "198.51.100.127"));
    CHECK(!m(s, "198.51.100.128"));
    CHECK(!m(s, "198.51.99.255"));
    mm_ioc_set_free(s);
}

static void domain_matches_subdomains_not_suffixes(void) {
    mm_ioc_set *s = load("evil.example\n*.cdn.bad.test\nTrailing.Dot.example.\n", NULL, NULL);
    CHECK(m(s, "evil.example"));
    CHECK(m(s, "a.b.evil.example"));
    CHECK(m(s, "WWW.EVIL.EXAMPLE"));
    CHECK(m(s, "www.evil.example."));
    CHECK(!m(s, "notevil.example"));
    CHECK(!m(s, "evil.example.com"));
    CHECK(!m(s, "example"));
    CHECK(!m(s, "vil.example"));
    CHECK(m(s, "x.cdn.bad.test"));
    CHECK(m(s, "cdn.bad.test"));
    CHECK(!m(s, "bad.test"));
    CHECK(m(s, "trailing.dot.example"));
    mm_ioc_hit hit;
    CHECK(mm_ioc_match(s, MM_STR("deep.a.b.evil.example"), NULL, MM_IOC_DOMAIN, &hit));
    CHECK_STR(hit.indicator, "evil.example");
    CHECK_INT(hit.type, MM_IOC_DOMAIN);
    /* restricted to hashes: a domain value finds nothing */
    CHECK(!mt(s, "evil.example", MM_IOC_HASH));
    mm_ioc_set_free(s);
}

static void url_normalisation(void) {
    mm_ioc_set *s = load("http://Bad.Example:80/dl/payload.exe\n"
                         "bad.example/gate.php?id=1\n"
                         "https://secure.bad.example:8443/login\n"
                         "hxxps://defanged[.]example/x\n",
                         NULL, NULL);
    CHECK_INT(mm_ioc_count(s), 4);
    /* scheme, host case and default port do not matter */
    CHECK(m(s, "http://bad.example/dl/payload.exe"));
    CHECK(m(s, "https://BAD.example/dl/payload.exe"));
    CHECK(m(s, "bad.example/dl/payload.exe"));
    CHECK(m(s, "https://bad.example:443/dl/payload.exe"));
    CHECK(m(s, "http://user:pw@bad.example/dl/payload.exe#frag"));
    /* an indicator without a query matches the URL with one */
    CHECK(m(s, "http://bad.example/dl/payload.exe?session=42"));
    /* but the path is exact and case-sensitive */
    CHECK(!m(s, "http://bad.example/dl/payload.exe2"));
    CHECK(!m(s, "http://bad.example/DL/payload.exe"));
    CHECK(!m(s, "http://bad.example/dl"));
    /* a query in the indicator must match */
    CHECK(m(s, "http://bad.example/gate.php?id=1"));
    CHECK(!m(s, "http://bad.example/gate.php?id=2"));
    CHECK(!m(s, "http://bad.example/gate.php"));
    /* non-default ports are part of the URL */
    CHECK(m(s, "https://secure.bad.example:8443/login"));
    CHECK(!m(s, "https://secure.bad.example/login"));
    CHECK(m(s, "http://defanged.example/x"));
    /* a URL indicator does not make its host a domain indicator */
    CHECK(!mt(s, "bad.example", MM_IOC_DOMAIN));
    CHECK(!mt(s, "http://bad.example/other", MM_IOC_ANY));
    mm_ioc_set_free(s);
}

static void url_matches_host_and_path_given_apart(void) {
    mm_ioc_set *s = load("http://bad.example/gate.php\nhttp://odd.example:8080/x\n", NULL, NULL);
    mm_ioc_hit hit;
    mm_str none = {NULL, 0};
    CHECK(mm_ioc_match_url_parts(s, MM_STR("bad.example"), none, MM_STR("/gate.php"), none, &hit));
    CHECK_STR(hit.indicator, "bad.example/gate.php");
    CHECK(mm_ioc_match_url_parts(s, MM_STR("BAD.example"), none, MM_STR("/gate.php?x=1"), none, &hit));
    CHECK(mm_ioc_match_url_parts(s, MM_STR("bad.example"), none, MM_STR("/gate.php"), MM_STR("a=b"), &hit));
    CHECK(!mm_ioc_match_url_parts(s, MM_STR("bad.example"), none, MM_STR("/"), none, &hit));
    CHECK(mm_ioc_match_url_parts(s, MM_STR("odd.example"), MM_STR("8080"), MM_STR("/x"), none, &hit));
    CHECK(!mm_ioc_match_url_parts(s, MM_STR("odd.example"), none, MM_STR("/x"), none, &hit));
    mm_ioc_set_free(s);
}

/* A URL indicator must not be evaded by padding the query string past the lookup
 * key limit, and a huge value still gets its host checked. */
static void long_urls_still_match(void) {
    mm_ioc_set *s = load("http://bad.example/s/abc/invoice.doc\nworse.example\n", NULL, NULL);
    char big[6000];
    int n = snprintf(big, sizeof big, "http://bad.example/s/abc/invoice.doc?pad=");
    memset(big + n, 'x', sizeof big - (size_t)n - 1);
    big[sizeof big - 1] = 0;
    CHECK(m(s, big));
    mm_ioc_hit hit;
    mm_str none = {NULL, 0};
    CHECK(mm_ioc_match_url_parts(s, MM_STR("bad.example"), none, MM_STR("/s/abc/invoice.doc"),
                                 (mm_str){big + 40, 5000}, &hit));
    n = snprintf(big, sizeof big, "http://a.worse.example/");
    memset(big + n, 'y', sizeof big - (size_t)n - 1);   /* a path past the limit, no query */
    CHECK(m(s, big));
    CHECK(!m(s, "http://good.example/s/abc/invoice.doc?x=1"));
    memset(big, 'h', sizeof big);   /* a host longer than any key: no match, no overflow */
    CHECK(!mm_ioc_match_url_parts(s, (mm_str){big, 5000}, none, MM_STR("/x"), none, &hit));
    mm_ioc_set_free(s);
}

static void url_host_is_checked_against_domains_and_addresses(void) {
    mm_ioc_set *s = load("evil.example\n203.0.113.9\n", NULL, NULL);
    mm_ioc_hit hit;
    CHECK(mm_ioc_match(s, MM_STR("https://cdn.evil.example/a.js"), NULL, MM_IOC_ANY, &hit));
    CHECK_STR(hit.indicator, "evil.example");
    CHECK(mm_ioc_match(s, MM_STR("http://203.0.113.9:8080/x"), NULL, MM_IOC_ANY, &hit));
    CHECK_STR(hit.indicator, "203.0.113.9");
    CHECK(!mm_ioc_match(s, MM_STR("https://notevil.example/a.js"), NULL, MM_IOC_ANY, &hit));
    /* url-only lookups do not use the host */
    CHECK(!mm_ioc_match(s, MM_STR("https://cdn.evil.example/a.js"), NULL, MM_IOC_URL, &hit));
    /* a bare path is not a URL */
    CHECK(!m(s, "/evil.example/x"));
    mm_ioc_set_free(s);
}

static void hashes_by_length_any_case(void) {
    mm_ioc_set *s = load("44D88612FEA8A8F36DE82E1278ABB02F\n"
                         "3395856ce81f2b7382dee72602f798b642f14140\n"
                         "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f\n",
                         NULL, NULL);
    mm_ioc_hit hit;
    CHECK(mm_ioc_match(s, MM_STR("44d88612fea8a8f36de82e1278abb02f"), NULL, MM_IOC_ANY, &hit));
    CHECK_INT(hit.type, MM_IOC_MD5);
    CHECK_STR(hit.indicator, "44d88612fea8a8f36de82e1278abb02f");
    CHECK(mm_ioc_match(s, MM_STR("3395856CE81F2B7382DEE72602F798B642F14140"), NULL, MM_IOC_ANY, &hit));
    CHECK_INT(hit.type, MM_IOC_SHA1);
    CHECK(m(s, "275A021BBFB6489E54D471899F7DB9D1663FC695EC2FE2A2C4538AABF651FD0F"));
    /* one digit off, or a prefix, is a miss */
    CHECK(!m(s, "44d88612fea8a8f36de82e1278abb02e"));
    CHECK(!m(s, "44d88612fea8a8f36de82e1278abb0"));
    CHECK(!m(s, "275a021bbfb6489e54d471899f7db9d1"));
    /* a type filter applies per hash kind */
    CHECK(!mt(s, "44d88612fea8a8f36de82e1278abb02f", MM_IOC_SHA256));
    CHECK(mt(s, "44d88612fea8a8f36de82e1278abb02f", MM_IOC_HASH));
    mm_ioc_set_free(s);
}

static void csv_with_header_type_and_description(void) {
    int added, bad;
    mm_ioc_set *s = load("indicator,type,description\n"
                         "203.0.113.7,ip,\"C2 server, stage 2\"\n"
                         "\"evil.example\",domain,phishing kit\n"
                         "http://bad.example/x,url,dropper\n"
                         "evil2.example,md5,wrong type\n"
                         "\"unterminated,domain,x\n"
                         ",ip,empty\n",
                         &added, &bad);
    CHECK_INT(added, 3);
    CHECK_INT(bad, 3);
    mm_ioc_hit hit;
    CHECK(mm_ioc_match(s, MM_STR("203.0.113.7"), NULL, MM_IOC_IP, &hit));
    CHECK_STR(hit.desc, "C2 server, stage 2");
    CHECK(mm_ioc_match(s, MM_STR("x.evil.example"), NULL, MM_IOC_DOMAIN, &hit));
    CHECK_STR(hit.desc, "phishing kit");
    mm_ioc_set_free(s);
}

static void csv_named_columns(void) {
    int added, bad;
    mm_ioc_set *s = load("id,first_seen,url,threat\n"
                         "1,2024-01-01,http://one.example/a,emotet\n"
                         "2,2024-01-02,http://two.example/b,qakbot\n",
                         &added, &bad);
    CHECK_INT(added, 2);
    CHECK_INT(bad, 0);
    mm_ioc_hit hit;
    CHECK(mm_ioc_match(s, MM_STR("https://two.example/b"), NULL, MM_IOC_URL, &hit));
    CHECK_STR(hit.desc, "qakbot");
    mm_ioc_set_free(s);
}

static void csv_without_header(void) {
    int added, bad;
    mm_ioc_set *s = load("evil.example,domain,x\n198.51.100.1,,y\n", &added, &bad);
    CHECK_INT(added, 2);
    CHECK_INT(bad, 0);
    CHECK(m(s, "198.51.100.1"));
    mm_ioc_set_free(s);
}

static void url_typed_bare_host_is_a_domain(void) {
    mm_ioc_set *s = load("value,type\nsite.example,url\n", NULL, NULL);
    CHECK(m(s, "www.site.example"));
    mm_ioc_set_free(s);
}

static void list_names_label_hits(void) {
    mm_ioc_set *s = mm_ioc_set_new();
    int bad;
    mm_ioc_parse(s, "feed-a.txt", "1.1.1.1\n", 8, &bad);
    mm_ioc_parse(s, "feed-b.txt", "2.2.2.2\n", 8, &bad);
    mm_ioc_hit hit;
    CHECK(mm_ioc_match(s, MM_STR("2.2.2.2"), NULL, MM_IOC_ANY, &hit));
    CHECK_STR(hit.list, "feed-b.txt");
    CHECK(mm_ioc_match(s, MM_STR("1.1.1.1"), NULL, MM_IOC_ANY, &hit));
    CHECK_STR(hit.list, "feed-a.txt");
    mm_ioc_set_free(s);
}

static void hostile_input_does_not_crash(void) {
    mm_ioc_set *s = mm_ioc_set_new();
    int bad;
    /* NUL bytes, a huge line, lone quotes, control bytes, no final newline */
    static char big[300000];
    memset(big, 'a', sizeof big);
    big[1000] = '\n';
    big[2000] = '"';
    big[3000] = 0;
    big[70000] = '\n';
    mm_ioc_parse(s, "big", big, sizeof big, &bad);
    CHECK(bad > 0);
    const char odd[] = "\xef\xbb\xbf" "1.2.3.4\n[::1]\n[\n]\n::\n/\n//\n.\n..\n*.\nhttp://\nhttp://[::1\nhttp://a:99999/\n"
                       "a,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,\n\"\"\n";
    mm_ioc_parse(s, "odd", odd, sizeof odd - 1, &bad);
    CHECK(m(s, "1.2.3.4"));    /* after a BOM */
    CHECK(m(s, "::1"));
    CHECK(!m(s, ""));
    CHECK(!m(s, "http://"));
    mm_ioc_parse(s, NULL, NULL, 0, &bad);
    CHECK_INT(bad, 0);
    mm_ioc_set_free(s);
}

static void many_indicators_grow_the_table(void) {
    mm_buf b = {0};
    for (int i = 0; i < 20000; i++) mm_buf_printf(&b, "host%d.example\n10.%d.%d.0/24\n", i, i / 256, i % 256);
    int added, bad;
    mm_ioc_set *s = load(mm_buf_cstr(&b), &added, &bad);
    CHECK_INT(added, 40000);
    CHECK_INT(bad, 0);
    CHECK(m(s, "www.host19999.example"));
    CHECK(m(s, "10.78.31.200"));
    CHECK(!m(s, "host20000.example"));
    CHECK(!m(s, "11.0.0.1"));
    mm_ioc_set_free(s);
    mm_buf_free(&b);
}

int main(void) {
    TEST(plain_list_counts_good_and_bad_lines);
    TEST(counters_track_loaded_and_errors);
    TEST(duplicates_are_not_counted_twice);
    TEST(ip_matches_exactly);
    TEST(cidr_edges);
    TEST(domain_matches_subdomains_not_suffixes);
    TEST(url_normalisation);
    TEST(url_matches_host_and_path_given_apart);
    TEST(long_urls_still_match);
    TEST(url_host_is_checked_against_domains_and_addresses);
    TEST(hashes_by_length_any_case);
    TEST(csv_with_header_type_and_description);
    TEST(csv_named_columns);
    TEST(csv_without_header);
    TEST(url_typed_bare_host_is_a_domain);
    TEST(list_names_label_hits);
    TEST(hostile_input_does_not_crash);
    TEST(many_indicators_grow_the_table);
    TEST_MAIN_END();
}
