/* List reader (src/intel/list.c): plain lists, CSV with and without headers,
 * type columns in the spellings feeds use, MISP composite types and CSV layout,
 * abuse.ch dumps with their '#' header, free text with defanged indicators, the
 * refang and guess helpers, and bad input counted with its reason. */
#include "intel/intel.h"
#include "test.h"

#include <stdint.h>

#include "intel_collect.h"

static void run(got *g, const char *text, size_t len, const mm_list_opts *o) {
    got_free(g);
    g->rc = mm_list_read(text, len, "testlist", o, collect, g, &g->st, &g->err);
}
static void runs(got *g, const char *text, const mm_list_opts *o) { run(g, text, strlen(text), o); }

static const rec *find(const got *g, mm_ind_type t, const char *v) {
    for (int i = 0; i < g->n; i++)
        if (g->r[i].type == t && !strcmp(g->r[i].value, v)) return &g->r[i];
    return NULL;
}

static bool has_value(const got *g, const char *v) {
    for (int i = 0; i < g->n; i++)
        if (!strcmp(g->r[i].value, v)) return true;
    return false;
}

static mm_list_opts opts(void) {
    mm_list_opts o;
    memset(&o, 0, sizeof o);
    o.header = -1;
    o.confidence = -1;
    return o;
}

/* ---------------------------------------------------------------- plain lists */

static void plain_list_types_comments_and_descriptions(void) {
    got g = {0};
    runs(&g,
         "\xef\xbb\xbf# a comment\r\n"
         "// another comment\r\n"
         "\r\n"
         "203.0.113.7\r\n"
         "198.51.100.0/24   # a trailing comment, with a comma\n"
         "evil.example C2 of the spring campaign\n"
         "hxxp://bad[.]example/dl/payload.exe\n"
         "44d88612fea8a8f36de82e1278abb02f\n"
         "3395856ce81f2b7382dee72602f798b642f14140\n"
         "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f\n"
         "phish@evil.example\n"
         "[2001:db8::1]\n"
         "*.cdn.bad.test\n",
         NULL);
    CHECK_INT(g.rc, 0);
    CHECK_INT(g.n, 10);
    CHECK_INT(g.st.skipped, 0);
    CHECK_INT(g.st.objects, 10);
    CHECK_INT(g.st.imported, 10);
    CHECK(find(&g, MM_IND_IP, "203.0.113.7"));   /* after a BOM */
    const rec *r = find(&g, MM_IND_IP, "198.51.100.0/24");
    CHECK(r);
    CHECK_STR(r->desc, "a trailing comment, with a comma");
    CHECK_INT(r->conf, -1);
    CHECK_STR(r->feed, "testlist");
    r = find(&g, MM_IND_DOMAIN, "evil.example");
    CHECK(r);
    CHECK_STR(r->desc, "C2 of the spring campaign");
    CHECK(find(&g, MM_IND_URL, "http://bad.example/dl/payload.exe"));
    CHECK(find(&g, MM_IND_MD5, "44d88612fea8a8f36de82e1278abb02f"));
    CHECK(find(&g, MM_IND_SHA1, "3395856ce81f2b7382dee72602f798b642f14140"));
    CHECK(find(&g, MM_IND_SHA256, "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f"));
    CHECK(find(&g, MM_IND_EMAIL, "phish@evil.example"));
    CHECK(find(&g, MM_IND_IP, "2001:db8::1"));   /* brackets dropped */
    CHECK(find(&g, MM_IND_DOMAIN, "*.cdn.bad.test"));
    got_free(&g);
}

/* Values are not normalised by the reader: the store does that. */
static void plain_values_keep_their_case(void) {
    got g = {0};
    runs(&g, "EVIL.Example\nHTTP://Bad.Example/A\n44D88612FEA8A8F36DE82E1278ABB02F\n", NULL);
    CHECK_INT(g.n, 3);
    CHECK(find(&g, MM_IND_DOMAIN, "EVIL.Example"));
    CHECK(find(&g, MM_IND_URL, "HTTP://Bad.Example/A"));
    CHECK(find(&g, MM_IND_MD5, "44D88612FEA8A8F36DE82E1278ABB02F"));
    got_free(&g);
}

static void plain_bad_lines_are_counted_with_reasons(void) {
    got g = {0};
    runs(&g,
         "203.0.113.7\n"
         "not an indicator at all\n"
         "999.1.1.1\n"
         "10.0.0.0/33\n"
         "-bad-.\n"
         "1.2.3.4.5\n"
         "evil.example\n",
         NULL);
    CHECK_INT(g.rc, 0);
    CHECK_INT(g.n, 2);
    CHECK_INT(g.st.objects, 7);
    CHECK_INT(g.st.skipped, 5);
    CHECK_INT(g.st.bad_value, 5);
    CHECK(strstr(g.st.last_reason, "line 6"));
    CHECK(strstr(g.st.last_reason, "not an indicator"));
    got_free(&g);
}

static void hosts_file_gives_the_host(void) {
    got g = {0};
    runs(&g,
         "# hosts blocklist\n127.0.0.1 localhost\n127.0.0.1 localhost.localdomain\n::1 ip6-localhost\n"
         "255.255.255.255 broadcasthost\n0.0.0.0 0.0.0.0\n0.0.0.0 ads.evil.example\n0.0.0.0 tracker.bad.test # tracker\n"
         "0.0.0.0 not_a_host\n",
         NULL);
    CHECK(find(&g, MM_IND_DOMAIN, "ads.evil.example"));
    const rec *r = find(&g, MM_IND_DOMAIN, "tracker.bad.test");
    CHECK(r);
    CHECK_STR(r->desc, "tracker");
    CHECK(!has_value(&g, "0.0.0.0"));
    /* the preamble is format: neither records nor refusals */
    CHECK(!has_value(&g, "127.0.0.1"));
    CHECK(!has_value(&g, "255.255.255.255"));
    CHECK(!has_value(&g, "localhost.localdomain"));
    CHECK_INT(g.n, 2);
    CHECK_INT(g.st.objects, 3);
    CHECK_INT(g.st.bad_value, 1);   /* not_a_host: one label */
    got_free(&g);
}

static void plain_forced_types(void) {
    got g = {0};
    mm_list_opts o = opts();
    o.type = MM_IND_USER_AGENT;
    o.confidence = 80;
    runs(&g, "Mozilla/4.0 (compatible; MSIE 6.0; Evil[.]Bot) # bot\nEvilAgent/1.0\n", &o);
    CHECK_INT(g.n, 2);
    /* taken as written: user agents are not refanged */
    const rec *r = find(&g, MM_IND_USER_AGENT, "Mozilla/4.0 (compatible; MSIE 6.0; Evil[.]Bot)");
    CHECK(r);
    CHECK_STR(r->desc, "bot");
    CHECK_INT(r->conf, 80);
    o.type = MM_IND_SHA256;
    runs(&g, "44d88612fea8a8f36de82e1278abb02f\n", &o);
    CHECK_INT(g.n, 0);
    CHECK_INT(g.st.bad_value, 1);
    CHECK(strstr(g.st.last_reason, "wrong length"));
    got_free(&g);
}

static void one_column_csv_header_is_skipped(void) {
    got g = {0};
    runs(&g, "url\nhttp://one.example/a\nhttp://two.example/b\n", NULL);
    CHECK_INT(g.n, 2);
    CHECK_INT(g.st.skipped, 0);
    got_free(&g);
}

/* ---------------------------------------------------------------- CSV */

static void csv_with_header_and_context_columns(void) {
    got g = {0};
    runs(&g,
         "Indicator,Type,Description,Threat Actor,Malware Family,Confidence,First Seen\n"
         "203.0.113.7,ip,\"C2 server, stage 2\",APT-X,PlugX,85,2024-03-01\n"
         "\"evil.example\",domain,\"the \"\"phish\"\" kit\",,,high,2024-03-02T10:00:00Z\n"
         "http://bad.example/x,url,dropper,,,,\n",
         NULL);
    CHECK_INT(g.rc, 0);
    CHECK_INT(g.n, 3);
    CHECK_INT(g.st.objects, 3);
    const rec *r = find(&g, MM_IND_IP, "203.0.113.7");
    CHECK(r);
    CHECK_STR(r->desc, "C2 server, stage 2");
    CHECK_STR(r->actor, "APT-X");
    CHECK_STR(r->malware, "PlugX");
    CHECK_INT(r->conf, 85);
    CHECK_INT(r->fs, 1709251200LL * 1000000000LL);
    r = find(&g, MM_IND_DOMAIN, "evil.example");
    CHECK(r);
    CHECK_STR(r->desc, "the \"phish\" kit");
    CHECK_INT(r->conf, 90);
    CHECK_INT(r->fs, 1709373600LL * 1000000000LL);
    CHECK(r->actor == NULL);
    r = find(&g, MM_IND_URL, "http://bad.example/x");
    CHECK(r);
    CHECK_INT(r->conf, -1);
    got_free(&g);
}

static void csv_named_columns_in_any_order(void) {
    got g = {0};
    runs(&g, "id,first_seen,url,threat\n1,2024-01-01,http://one.example/a,emotet\n2,2024-01-02,http://two.example/b,qakbot\n",
         NULL);
    CHECK_INT(g.n, 2);
    const rec *r = find(&g, MM_IND_URL, "http://two.example/b");
    CHECK(r);
    CHECK_STR(r->desc, "qakbot");
    CHECK_STR(r->id, "2");
    got_free(&g);
}

static void csv_without_header(void) {
    got g = {0};
    runs(&g, "evil.example,domain,x\n198.51.100.1,,y\n203.0.113.9,first seen here,z\n", NULL);
    CHECK_INT(g.n, 3);
    CHECK_INT(g.st.skipped, 0);
    const rec *r = find(&g, MM_IND_IP, "198.51.100.1");
    CHECK(r);
    CHECK_STR(r->desc, "y");
    /* column 2 that names no type is not a type column */
    CHECK(find(&g, MM_IND_IP, "203.0.113.9"));
    got_free(&g);
}

static void csv_explicit_columns_and_delimiters(void) {
    got g = {0};
    mm_list_opts o = opts();
    o.delimiter = '\t';
    o.value_col = 2;
    o.desc_col = 4;
    o.header = 0;
    runs(&g, "2024-01-01\tevil.example\tx\tdesc one\n\t203.0.113.5\t\tdesc two\n", &o);
    CHECK_INT(g.n, 2);
    CHECK_STR(find(&g, MM_IND_DOMAIN, "evil.example")->desc, "desc one");
    CHECK_STR(find(&g, MM_IND_IP, "203.0.113.5")->desc, "desc two");   /* a leading empty cell stays a cell */
    o = opts();
    o.delimiter = ';';
    runs(&g, "wert;typ\nevil.example;hostname\n", &o);
    CHECK_INT(g.n, 1);
    CHECK(find(&g, MM_IND_DOMAIN, "evil.example"));
    o = opts();
    o.delimiter = '|';
    runs(&g, "indicator|type\n203.0.113.8|ip-dst\n", &o);
    CHECK(find(&g, MM_IND_IP, "203.0.113.8"));
    got_free(&g);
}

static void type_column_synonyms(void) {
    got g = {0};
    runs(&g,
         "value,type\n"
         "203.0.113.1,ip-dst\n"
         "203.0.113.2,IP-SRC\n"
         "evil.example,Hostname\n"
         "http://bad.example/a,uri\n"
         "44d88612fea8a8f36de82e1278abb02f,FileHash-MD5\n"
         "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f,sha256_hash\n"
         "3395856ce81f2b7382dee72602f798b642f14140,hash\n"
         "e7d705a3286e19ea42f587b344ee6865,ja3-fingerprint-md5\n"
         "phish@evil.example,email-src\n"
         "invoice.pdf.exe,filename\n"
         "EvilAgent/1.0 (x),user-agent\n"
         "203.0.113.3:443,ip:port\n"
         "site.example,url\n"
         "http://plain.example/,domain\n"
         "203.0.113.4,hostname\n",
         NULL);
    CHECK_INT(g.st.skipped, 0);
    CHECK_INT(g.n, 15);
    CHECK(find(&g, MM_IND_IP, "203.0.113.1"));
    CHECK(find(&g, MM_IND_IP, "203.0.113.2"));
    CHECK(find(&g, MM_IND_DOMAIN, "evil.example"));
    CHECK(find(&g, MM_IND_URL, "http://bad.example/a"));
    CHECK(find(&g, MM_IND_MD5, "44d88612fea8a8f36de82e1278abb02f"));
    CHECK(find(&g, MM_IND_SHA256, "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f"));
    CHECK(find(&g, MM_IND_SHA1, "3395856ce81f2b7382dee72602f798b642f14140"));
    CHECK(find(&g, MM_IND_JA3, "e7d705a3286e19ea42f587b344ee6865"));
    CHECK(find(&g, MM_IND_EMAIL, "phish@evil.example"));
    CHECK(find(&g, MM_IND_FILENAME, "invoice.pdf.exe"));
    CHECK(find(&g, MM_IND_USER_AGENT, "EvilAgent/1.0 (x)"));
    CHECK(find(&g, MM_IND_IP, "203.0.113.3"));            /* the port dropped */
    CHECK(find(&g, MM_IND_DOMAIN, "site.example"));       /* a URL-typed bare site */
    CHECK(find(&g, MM_IND_DOMAIN, "plain.example"));      /* a domain-typed URL without a path */
    CHECK(find(&g, MM_IND_IP, "203.0.113.4"));            /* a hostname cell holding an address */
    got_free(&g);
}

static void type_column_refusals(void) {
    got g = {0};
    runs(&g,
         "value,type\n"
         "evil2.example,md5\n"
         "http://report.example/blog,link\n"
         "HKLM\\Software\\Run,regkey\n"
         "http://x.example/a/b,domain\n"
         "/gate.php,uri\n"
         ",ip\n",
         NULL);
    CHECK_INT(g.n, 0);
    CHECK_INT(g.st.objects, 6);
    CHECK_INT(g.st.skipped, 6);
    CHECK_INT(g.st.unsupported_type, 2);
    CHECK_INT(g.st.bad_value, 4);
    CHECK(strstr(g.st.last_reason, "line 7"));
    runs(&g, "value,type\nx,regkey\n", NULL);
    CHECK(strstr(g.st.last_reason, "regkey"));
    got_free(&g);
}

static void composite_types_split(void) {
    got g = {0};
    runs(&g,
         "value,type\n"
         "evil.example|203.0.113.5,domain|ip\n"
         "invoice.exe|275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f,filename|sha256\n"
         "203.0.113.6|8443,ip-dst|port\n"
         "evil.example,domain|ip\n"
         "bad..example|203.0.113.7,domain|ip\n",
         NULL);
    CHECK(find(&g, MM_IND_DOMAIN, "evil.example"));
    CHECK(find(&g, MM_IND_IP, "203.0.113.5"));
    CHECK(find(&g, MM_IND_FILENAME, "invoice.exe"));
    CHECK(find(&g, MM_IND_SHA256, "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f"));
    CHECK(find(&g, MM_IND_IP, "203.0.113.6"));
    CHECK(!has_value(&g, "8443"));
    CHECK(find(&g, MM_IND_IP, "203.0.113.7"));   /* the good half of a half-bad pair */
    CHECK_INT(g.n, 6);
    CHECK_INT(g.st.objects, 5);
    CHECK_INT(g.st.bad_value, 2);   /* no '|', and the bad domain */
    got_free(&g);
}

static void quoted_fields(void) {
    got g = {0};
    runs(&g,
         "indicator,description\n"
         "\"203.0.113.7\",\"a, b, and \"\"c\"\"\"\n"
         "  \"evil.example\"  ,  \"spaced\"  \n"
         "\"unterminated,x\n"
         "\"bad.example\"junk,x\n"
         "\"\",empty\n",
         NULL);
    CHECK_INT(g.n, 2);
    CHECK_STR(find(&g, MM_IND_IP, "203.0.113.7")->desc, "a, b, and \"c\"");
    CHECK_STR(find(&g, MM_IND_DOMAIN, "evil.example")->desc, "spaced");
    CHECK_INT(g.st.malformed, 2);
    CHECK_INT(g.st.bad_value, 1);
    CHECK(strstr(g.st.last_reason, "empty"));
    got_free(&g);
}

/* ---------------------------------------------------------------- feeds */

static void urlhaus_comment_header(void) {
    got g = {0};
    runs(&g,
         "################################################################\n"
         "# abuse.ch URLhaus Database Dump (CSV - recent URLs only)       #\n"
         "# Last updated: 2024-05-01 10:00:00 (UTC)                       #\n"
         "#                                                               #\n"
         "# Terms Of Use: https://urlhaus.abuse.ch/api/                   #\n"
         "# For questions please contact urlhaus [at] abuse.ch            #\n"
         "################################################################\n"
         "#\n"
         "# id,dateadded,url,url_status,last_online,threat,tags,urlhaus_link,reporter\n"
         "\"2916185\",\"2024-05-01 09:59:06\",\"http://198.51.100.23:39210/i\",\"online\",\"2024-05-01 09:59:06\","
         "\"malware_download\",\"32-bit,elf,mips,Mozi\",\"https://urlhaus.abuse.ch/url/2916185/\",\"geenensp\"\n"
         "\"2916184\",\"2024-05-01 09:58:00\",\"https://evil.example/x.exe\",\"offline\",\"\",\"malware_download\","
         "\"exe\",\"https://urlhaus.abuse.ch/url/2916184/\",\"r\"\n",
         NULL);
    CHECK_INT(g.rc, 0);
    CHECK_INT(g.n, 2);
    CHECK_INT(g.st.skipped, 0);
    const rec *r = find(&g, MM_IND_URL, "http://198.51.100.23:39210/i");
    CHECK(r);
    CHECK_STR(r->id, "2916185");
    CHECK_STR(r->desc, "malware_download");
    CHECK_INT(r->fs, 1714557546LL * 1000000000LL);
    CHECK(!has_value(&g, "https://urlhaus.abuse.ch/url/2916185/"));
    got_free(&g);
}

static void threatfox_and_feodo(void) {
    got g = {0};
    runs(&g,
         "# ThreatFox IOCs: CSV\n"
         "# \"first_seen_utc\",\"ioc_id\",\"ioc_value\",\"ioc_type\",\"threat_type\",\"fk_malware\",\"malware_alias\","
         "\"malware_printable\",\"last_seen_utc\",\"confidence_level\",\"reference\",\"tags\",\"anonymous\",\"reporter\"\n"
         "\"2024-05-01 10:00:00\", \"1266567\", \"45.1.2.3:443\", \"ip:port\", \"botnet_cc\", \"win.cobalt_strike\", "
         "\"Agent.1\", \"Cobalt Strike\", \"\", \"75\", \"\", \"CobaltStrike\", \"0\", \"abuse_ch\"\n"
         "\"2024-05-01 10:01:00\", \"1266568\", \"evil.example\", \"domain\", \"payload_delivery\", \"win.qakbot\", "
         "\"\", \"QakBot\", \"\", \"100\", \"\", \"\", \"0\", \"x\"\n",
         NULL);
    CHECK_INT(g.n, 2);
    const rec *r = find(&g, MM_IND_IP, "45.1.2.3");
    CHECK(r);
    CHECK_STR(r->malware, "Cobalt Strike");
    CHECK_INT(r->conf, 75);
    CHECK_STR(r->desc, "botnet_cc");
    CHECK_STR(find(&g, MM_IND_DOMAIN, "evil.example")->malware, "QakBot");
    runs(&g,
         "# Feodo Tracker\n"
         "# first_seen_utc,dst_ip,dst_port,c2_status,last_online,malware\n"
         "\"2021-01-17 07:44:46\",\"51.178.161.32\",\"4643\",\"online\",\"2024-05-01\",\"Dridex\"\n",
         NULL);
    CHECK_INT(g.n, 1);
    r = find(&g, MM_IND_IP, "51.178.161.32");
    CHECK(r);
    CHECK_STR(r->malware, "Dridex");
    CHECK_INT(r->ls, 1714521600LL * 1000000000LL);
    got_free(&g);
}

static void misp_csv_layout(void) {
    got g = {0};
    runs(&g,
         "uuid,event_id,category,type,value,comment,to_ids,date,object_relation,attribute_tag,object_uuid,object_name,"
         "object_meta_category\n"
         "5c1b0a2e-0000-4000-8000-000000000001,12,Network activity,domain|ip,evil.example|203.0.113.5,C2 pair,1,"
         "1546300800,,\"tlp:amber,misp-galaxy:threat-actor=\"\"X\"\"\",,,\n"
         "5c1b0a2e-0000-4000-8000-000000000002,12,Network activity,url,hxxp://evil[.]example/gate,,1,1546300800,,,,,\n"
         "5c1b0a2e-0000-4000-8000-000000000003,12,External analysis,link,https://blog.example/post,,0,1546300800,,,,,\n"
         "5c1b0a2e-0000-4000-8000-000000000004,12,Payload delivery,sha256,"
         "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f,,True,1546300800,,tlp:white,,,\n"
         "5c1b0a2e-0000-4000-8000-000000000005,12,Other,text,some note,,0,1546300800,,,,,\n",
         NULL);
    CHECK_INT(g.n, 4);
    CHECK_INT(g.st.objects, 5);
    CHECK_INT(g.st.not_for_detection, 2);
    CHECK_INT(g.st.skipped, 0);
    const rec *r = find(&g, MM_IND_IP, "203.0.113.5");
    CHECK(r);
    CHECK_STR(r->id, "5c1b0a2e-0000-4000-8000-000000000001");
    CHECK_STR(r->desc, "C2 pair");
    CHECK_STR(r->tlp, "amber");
    CHECK_INT(r->fs, 1546300800LL * 1000000000LL);
    CHECK(find(&g, MM_IND_DOMAIN, "evil.example"));
    CHECK(find(&g, MM_IND_URL, "http://evil.example/gate"));
    CHECK_STR(find(&g, MM_IND_SHA256, "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f")->tlp, "clear");
    got_free(&g);
}

/* ---------------------------------------------------------------- free text */

static void freetext_report(void) {
    got g = {0};
    mm_list_opts o = opts();
    o.freetext = true;
    o.confidence = 50;
    runs(&g,
         "Summary: the actor sent phishing mail from attacker[@]evil-mail[.]example with report.pdf and\n"
         "invoice.docx attached (see hxxps://dl.evil[.]example/a/b.php?id=1). The payload (Node.js v1.2.3.4.5)\n"
         "beacons to 203.0.113[.]45:8080 and [198.51.100.7], resolves c2.bad-domain[.]com, and drops a file\n"
         "with SHA256: 275A021BBFB6489E54D471899F7DB9D1663FC695EC2FE2A2C4538AABF651FD0F and md5=44d88612fea8a8f36de82e1278abb02f.\n"
         "Again: c2.bad-domain[.]com, e.g. the same host. Version 2.0.1 of config.json and setup.exe too.\n"
         "攻撃者はevil-jp[.]example経由で通信した。\n"
         "Mr.Smith wrote [the advisory](hxxps://advisory.example/x) about it.\n",
         &o);
    CHECK_INT(g.rc, 0);
    CHECK(find(&g, MM_IND_EMAIL, "attacker@evil-mail.example"));
    CHECK(find(&g, MM_IND_URL, "https://dl.evil.example/a/b.php?id=1"));
    CHECK(find(&g, MM_IND_IP, "203.0.113.45"));
    CHECK(find(&g, MM_IND_IP, "198.51.100.7"));
    CHECK(find(&g, MM_IND_DOMAIN, "c2.bad-domain.com"));
    CHECK(find(&g, MM_IND_SHA256, "275A021BBFB6489E54D471899F7DB9D1663FC695EC2FE2A2C4538AABF651FD0F"));
    CHECK(find(&g, MM_IND_MD5, "44d88612fea8a8f36de82e1278abb02f"));
    CHECK(find(&g, MM_IND_DOMAIN, "evil-jp.example"));
    CHECK(find(&g, MM_IND_URL, "https://advisory.example/x"));   /* inside a markdown link */
    /* prose is not indicators */
    CHECK(!has_value(&g, "report.pdf"));
    CHECK(!has_value(&g, "invoice.docx"));
    CHECK(!has_value(&g, "Node.js"));
    CHECK(!has_value(&g, "1.2.3.4.5"));
    CHECK(!has_value(&g, "1.2.3.4"));
    CHECK(!has_value(&g, "2.0.1"));
    CHECK(!has_value(&g, "config.json"));
    CHECK(!has_value(&g, "setup.exe"));
    CHECK(!has_value(&g, "e.g"));
    CHECK(!has_value(&g, "Mr.Smith"));
    CHECK_INT(g.n, 9);   /* c2.bad-domain.com once */
    CHECK_INT(g.st.objects, 9);
    CHECK_INT(g.st.skipped, 0);
    CHECK_INT(g.r[0].conf, 50);
    got_free(&g);
}

static void freetext_stops_when_asked(void) {
    got g = {0};
    g.stop_after = 2;
    mm_list_opts o = opts();
    o.freetext = true;
    runs(&g, "a.example b.example c.example d.example\n", &o);
    CHECK_INT(g.n, 2);
    CHECK_INT(g.rc, 0);
    g.stop_after = 0;
    got_free(&g);
}

/* ---------------------------------------------------------------- helpers */

static void refang_cases(void) {
    char out[128];
    size_t n;
    n = mm_intel_refang("hxxp://evil[.]example/x", 23, out, sizeof out);
    CHECK_STR(out, "http://evil.example/x");
    CHECK_INT(n, 21);
    mm_intel_refang("hXXps[:]//a(.)b{.}c[dot]d", 25, out, sizeof out);
    CHECK_STR(out, "https://a.b.c.d");
    mm_intel_refang("user[at]evil[.]example", 22, out, sizeof out);
    CHECK_STR(out, "user@evil.example");
    mm_intel_refang("user[@]evil(.)example", 21, out, sizeof out);
    CHECK_STR(out, "user@evil.example");
    mm_intel_refang("fxp://files[.]example", 21, out, sizeof out);
    CHECK_STR(out, "ftp://files.example");
    mm_intel_refang("[::1]", 5, out, sizeof out);
    CHECK_STR(out, "[::1]");
    mm_intel_refang("thxxp://x", 9, out, sizeof out);   /* inside a word: not a scheme */
    CHECK_STR(out, "thxxp://x");
    /* bounded by cap, always terminated */
    n = mm_intel_refang("hxxp://evil[.]example", 21, out, 8);
    CHECK(n < 8);
    CHECK_INT(strlen(out), n);
    CHECK_STR(out, "http://");
    CHECK_INT(mm_intel_refang("abc", 3, out, 1), 0);
    CHECK_STR(out, "");
}

static void guess_type_cases(void) {
#define G(s) mm_intel_guess_type(s, strlen(s))
    CHECK_INT(G("203.0.113.7"), MM_IND_IP);
    CHECK_INT(G("10.0.0.0/8"), MM_IND_IP);
    CHECK_INT(G("2001:db8::1"), MM_IND_IP);
    CHECK_INT(G("[::1]"), MM_IND_IP);
    CHECK_INT(G("203.0.113[.]7"), MM_IND_IP);
    CHECK_INT(G("44d88612fea8a8f36de82e1278abb02f"), MM_IND_MD5);
    CHECK_INT(G("3395856ce81f2b7382dee72602f798b642f14140"), MM_IND_SHA1);
    CHECK_INT(G("275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f"), MM_IND_SHA256);
    CHECK_INT(G("http://evil.example"), MM_IND_URL);
    CHECK_INT(G("hxxps://evil[.]example/a"), MM_IND_URL);
    CHECK_INT(G("evil.example/gate.php"), MM_IND_URL);
    CHECK_INT(G("a@evil.example"), MM_IND_EMAIL);
    CHECK_INT(G("a[at]evil[.]example"), MM_IND_EMAIL);
    CHECK_INT(G("evil.example"), MM_IND_DOMAIN);
    CHECK_INT(G("  evil.example.  "), MM_IND_DOMAIN);
    CHECK_INT(G("44d88612fea8a8f36de82e1278abb02"), MM_IND_NONE);   /* 31 hex digits, no dot */
    CHECK_INT(G("999.1.1.1"), MM_IND_NONE);
    CHECK_INT(G("10.0.0.0/33"), MM_IND_NONE);
    CHECK_INT(G("1.2.3.4.5"), MM_IND_NONE);
    CHECK_INT(G("localhost"), MM_IND_NONE);
    CHECK_INT(G("/just/a/path"), MM_IND_NONE);
    CHECK_INT(G("two words.example"), MM_IND_NONE);
    CHECK_INT(G(""), MM_IND_NONE);
    CHECK_INT(mm_intel_guess_type(NULL, 5), MM_IND_NONE);
#undef G
}

/* ---------------------------------------------------------------- hostile input */

static void binary_and_hostile_input(void) {
    got g = {0};
    static const char bin[] = "203.0.113.7\n\0\x01\x02garbage";
    run(&g, bin, sizeof bin - 1, NULL);
    CHECK(g.rc < 0);
    CHECK(strstr(g.err.msg, "binary"));
    CHECK_INT(g.n, 0);
    /* an over-long line is counted and skipped; the rest is read */
    size_t big = 70000;
    char *t = malloc(big + 64);
    memcpy(t, "203.0.113.1\n", 12);
    memset(t + 12, 'a', big);
    memcpy(t + 12 + big, "\n203.0.113.2\n", 13);
    run(&g, t, 12 + big + 13, NULL);
    CHECK_INT(g.rc, 0);
    CHECK_INT(g.n, 2);
    CHECK_INT(g.st.malformed, 1);
    CHECK(strstr(g.st.last_reason, "line 2"));
    CHECK(strstr(g.st.last_reason, "longer"));
    /* a NUL after the probed prefix: that line only */
    memset(t, 'b', 5000);
    memcpy(t, "203.0.113.3\n", 12);
    t[4999] = '\n';
    memcpy(t + 5000, "x\0y\n203.0.113.4\n", 16);
    run(&g, t, 5016, NULL);
    CHECK_INT(g.rc, 0);
    CHECK(find(&g, MM_IND_IP, "203.0.113.4"));
    CHECK_INT(g.st.malformed, 1);
    free(t);
    /* empty text, NULL text, bad options */
    run(&g, "", 0, NULL);
    CHECK_INT(g.rc, 0);
    CHECK_INT(g.n, 0);
    run(&g, NULL, 0, NULL);
    CHECK_INT(g.rc, 0);
    mm_list_opts o = opts();
    o.value_col = -3;
    runs(&g, "x\n", &o);
    CHECK(g.rc < 0);
    o = opts();
    o.delimiter = '"';
    runs(&g, "x\n", &o);
    CHECK(g.rc < 0);
    /* odd lines never crash */
    const char odd[] = "[\n]\n::\n/\n.\n..\n*.\nhttp://\nhttp://[::1\n\"\n\"\"\n,,,,\n|\nhxxp\n[.]\n(\n";
    runs(&g, odd, NULL);
    CHECK_INT(g.rc, 0);
    CHECK_INT(g.st.imported, (uint64_t)g.n);
    got_free(&g);
}

static void callback_can_stop(void) {
    got g = {0};
    g.stop_after = 1;
    runs(&g, "203.0.113.1\n203.0.113.2\n203.0.113.3\n", NULL);
    CHECK_INT(g.n, 1);
    CHECK_INT(g.rc, 0);
    g.stop_after = 0;
    got_free(&g);
}

int main(void) {
    TEST(plain_list_types_comments_and_descriptions);
    TEST(plain_values_keep_their_case);
    TEST(plain_bad_lines_are_counted_with_reasons);
    TEST(hosts_file_gives_the_host);
    TEST(plain_forced_types);
    TEST(one_column_csv_header_is_skipped);
    TEST(csv_with_header_and_context_columns);
    TEST(csv_named_columns_in_any_order);
    TEST(csv_without_header);
    TEST(csv_explicit_columns_and_delimiters);
    TEST(type_column_synonyms);
    TEST(type_column_refusals);
    TEST(composite_types_split);
    TEST(quoted_fields);
    TEST(urlhaus_comment_header);
    TEST(threatfox_and_feodo);
    TEST(misp_csv_layout);
    TEST(freetext_report);
    TEST(freetext_stops_when_asked);
    TEST(refang_cases);
    TEST(guess_type_cases);
    TEST(binary_and_hostile_input);
    TEST(callback_can_stop);
    TEST_MAIN_END();
}
