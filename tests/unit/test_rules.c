/* Rules: every built-in FortiGate rule fires on a realistic line and stays quiet on
 * its benign neighbour; the condition grammar and modifiers behave as Sigma says;
 * bursts fire at N and not N-1, expire, and their memory stays bounded; bad rules
 * are load errors that name file and line. */
#include "test.h"
#include "decode/decode.h"
#include "detect/detect_int.h"

#include <unistd.h>

static mm_arena A;
static const mm_decoder *FGT;

/* ---------------------------------------------------------------- helpers */

static mm_detect *builtin(mm_ioc_set *ioc_text_or_null, const char *ioc_text) {
    mm_config c = {0};
    c.rules_dir = MM_HOME "/rules/fortigate";   /* the FortiGate rules these tests exercise */
    char path[] = "/tmp/mm_test_ioc_XXXXXX";
    char *files[1];
    if (ioc_text) {
        int fd = mkstemp(path);
        if (fd < 0) return NULL;
        if (write(fd, ioc_text, strlen(ioc_text)) < 0) return NULL;
        close(fd);
        files[0] = path;
        c.indicator_files = files;
        c.nindicator_files = 1;
    }
    (void)ioc_text_or_null;
    mm_err err = {{0}};
    mm_detect *d = mm_detect_load(&c, &err);
    if (ioc_text) unlink(path);
    if (!d) printf("# load: %s\n", err.msg);
    return d;
}

static mm_event *fgt_event(const char *line) {
    mm_event *ev = mm_arena_zalloc(&A, sizeof *ev);
    mm_event_init(ev, &A);
    mm_str rec = mm_arena_str(&A, line, strlen(line));
    mm_decode_opts o = {.tz_offset = 0};
    mm_decode(FGT, ev, rec, &o);
    return ev;
}

static mm_alert *run_ev(const mm_detect *d, mm_detect_state *s, mm_event *ev) {
    mm_alert *al = NULL;
    mm_detect_event(d, s, ev, &A, &al);
    return al;
}

static mm_alert *run(const mm_detect *d, mm_detect_state *s, const char *line) {
    return run_ev(d, s, fgt_event(line));
}

static const mm_alert *find(const mm_alert *al, const char *id) {
    for (; al; al = al->next)
        if (!strcmp(al->rule_id, id)) return al;
    return NULL;
}

static int count(const mm_alert *al) {
    int n = 0;
    for (; al; al = al->next) n++;
    return n;
}

/* Rules from text, for grammar tests. */
static mm_detect *mk(const char *yaml, mm_err *err) {
    mm_err e = {{0}};
    mm_detect *d = mm_detect_from_text("t.yml", yaml, strlen(yaml), NULL, err ? err : &e);
    if (!d && !err) printf("# rule: %s\n", e.msg);
    return d;
}

/* A hand-built FortiGate-like event: vendor keys plus a few ECS fields. */
static mm_event *kv_event(const char *const *kv) {
    mm_event *ev = mm_arena_zalloc(&A, sizeof *ev);
    mm_event_init(ev, &A);
    ev->vendor_prefix = "fortinet.firewall";
    for (; kv[0]; kv += 2) {
        mm_field f = mm_field_by_name(kv[0], strlen(kv[0]));
        if (f != MM_F_NONE) mm_event_add(ev, f, mm_str_c(kv[1]));
        else mm_event_vendor(ev, mm_str_c(kv[0]), mm_str_c(kv[1]));
    }
    return ev;
}

static bool hits(const mm_detect *d, const char *const *kv) {
    return run_ev(d, NULL, kv_event(kv)) != NULL;
}

#define RULE_HEAD "title: t\nid: r1\nlevel: high\ndetection:\n"

/* ---------------------------------------------------------------- built-in rules */

#define HDR "date=2024-05-14 time=10:12:01 devname=\"FGT-HQ\" devid=\"FG100F0000000001\" tz=\"+0900\" vd=\"root\" "

static const char *ID_AV_BLOCKED = "0f1ea758-b906-4af3-a319-5e926c6398b1";
static const char *ID_AV_PASSED = "21999df2-1e0a-41de-b302-5f599302665c";
static const char *ID_SANDBOX = "bffeaa8c-54dc-4afa-ae8a-893b275add20";
static const char *ID_IPS_CRIT = "125fe708-597a-42f6-ab21-9c108e12a645";
static const char *ID_IPS_HIGH = "693e4fe8-69c7-4ed7-be22-4f40654eec3c";
static const char *ID_IPS_MED = "484773f0-8796-4ff8-b298-93abef20aa5b";
static const char *ID_IPS_LOW = "d763c757-2210-4694-8181-5b384c744049";
static const char *ID_IPS_BOTNET = "620d8df6-fa05-4b71-a52a-034542a24136";
static const char *ID_APP_BOTNET = "e8da9653-6d5a-49e0-ac1d-3b896b2df613";
static const char *ID_DNS_BOTNET = "507a08dd-0af5-4211-9654-2ceb9047353f";
static const char *ID_WEB_MAL = "317fc6a6-71c4-46c0-a4e4-13224040807a";
static const char *ID_WEB_PHISH = "46043cb8-c5fb-4e32-bb5c-a7d354866447";
static const char *ID_WEB_ALLOWED = "9481c7bc-4d92-4915-9d63-635e27a74394";
static const char *ID_ADMIN_FAILED = "817c091e-d546-40af-810b-a589434a1866";
static const char *ID_ADMIN_BURST = "184aaa9f-03cd-4026-8936-eda6982bd950";
static const char *ID_ADMIN_DISABLED = "75573c58-bf38-4237-8e8d-bf7a35bac8fd";
static const char *ID_VPN_BURST = "b1ed08d4-657b-444e-b792-0f3b28163f26";
static const char *ID_IPSEC_BURST = "199921ec-3d36-4169-8410-56abbffcbee2";
static const char *ID_DENIED_IOC = "7384b086-c46d-4f6d-ac98-d054f61493b7";
static const char *ID_IOC = "f84e8768-ae83-4df0-9148-50b43959e6da";

static void builtin_rules_load(void) {
    mm_detect *d = builtin(NULL, NULL);
    CHECK(d != NULL);
    CHECK_INT(mm_detect_rule_count(d), 22);
    CHECK_INT(mm_detect_indicator_count(d), 0);
    mm_detect_free(d);
}

#define IPS(sev)                                                                                   \
    HDR "logid=\"0419016384\" type=\"utm\" subtype=\"ips\" eventtype=\"signature\" level=\"alert\" " \
        "severity=\"" sev "\" srcip=198.51.100.23 srcport=51234 dstip=192.0.2.10 dstport=443 "       \
        "srcintf=\"wan1\" dstintf=\"dmz\" sessionid=1234567 action=\"dropped\" proto=6 "               \
        "service=\"HTTPS\" policyid=12 attack=\"Apache.Log4j.Error.Log.Remote.Code.Execution\" "       \
        "attackid=51006 direction=\"incoming\" profile=\"default\" incidentserialno=123456 "          \
        "msg=\"applications3: Apache.Log4j.Error.Log.Remote.Code.Execution,\" crlevel=\"critical\""

static void ips_attack_level_follows_severity(void) {
    mm_detect *d = builtin(NULL, NULL);
    CHECK(d);
    mm_alert *al = run(d, NULL, IPS("critical"));
    CHECK_INT(count(al), 1);
    CHECK_STR(al->rule_id, ID_IPS_CRIT);
    CHECK_STR(al->level, "critical");
    CHECK_STR(al->technique, "T1190");
    CHECK_STR(al->reason, "IPS Apache.Log4j.Error.Log.Remote.Code.Execution (critical) "
                          "198.51.100.23 -> 192.0.2.10:443, action dropped");
    CHECK_INT(al->count, 1);
    al = run(d, NULL, IPS("high"));
    CHECK(find(al, ID_IPS_HIGH) && count(al) == 1);
    CHECK_STR(al->level, "high");
    al = run(d, NULL, IPS("medium"));
    CHECK(find(al, ID_IPS_MED) && count(al) == 1);
    al = run(d, NULL, IPS("low"));
    CHECK(find(al, ID_IPS_LOW) && count(al) == 1);
    CHECK_STR(al->level, "low");
    /* informational signatures, and anomaly logs, are not alerts */
    CHECK(run(d, NULL, IPS("info")) == NULL);
    mm_detect_free(d);
}

static void ips_botnet(void) {
    mm_detect *d = builtin(NULL, NULL);
    CHECK(d);
    mm_alert *al = run(d, NULL,
                       HDR "logid=\"0422016400\" type=\"utm\" subtype=\"ips\" eventtype=\"botnet\" level=\"warning\" "
                           "severity=\"critical\" srcip=10.0.5.23 srcport=49152 dstip=198.51.100.77 dstport=8080 "
                           "action=\"dropped\" proto=6 service=\"tcp/8080\" attack=\"Zeus.Botnet\" "
                           "msg=\"Botnet C&C Communication\"");
    CHECK_INT(count(al), 1);
    CHECK_STR(al->rule_id, ID_IPS_BOTNET);
    CHECK_STR(al->technique, "T1071");
    mm_detect_free(d);
}

#define AV(evtype, action, virus, dtype)                                                            \
    HDR "logid=\"0211008192\" type=\"utm\" subtype=\"virus\" eventtype=\"" evtype "\" level=\"warning\" " \
        "policyid=1 msg=\"File is infected.\" action=\"" action "\" service=\"HTTP\" sessionid=2345 "   \
        "srcip=192.0.2.50 dstip=10.0.5.80 srcport=80 dstport=50514 srcintf=\"wan1\" dstintf=\"lan\" "   \
        "proto=6 direction=\"incoming\" filename=\"invoice.exe\" virus=\"" virus "\" dtype=\"" dtype "\" " \
        "url=\"http://files.example/invoice.exe\" profile=\"default\" agent=\"curl/7.81.0\" "           \
        "analyticscksum=\"275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f\""

static void antivirus_blocked_and_passed(void) {
    mm_detect *d = builtin(NULL, NULL);
    CHECK(d);
    mm_alert *al = run(d, NULL, AV("infected", "blocked", "W32/Agent.ABC!tr", "Virus"));
    CHECK_INT(count(al), 1);
    CHECK_STR(al->rule_id, ID_AV_BLOCKED);
    CHECK_STR(al->level, "high");
    CHECK_STR(al->technique, "T1105");
    CHECK(strstr(al->reason, "W32/Agent.ABC!tr in invoice.exe blocked") != NULL);
    al = run(d, NULL, AV("infected", "passthrough", "W32/Agent.ABC!tr", "Virus"));
    CHECK_INT(count(al), 1);
    CHECK_STR(al->rule_id, ID_AV_PASSED);
    CHECK_STR(al->level, "critical");
    al = run(d, NULL, AV("machine-learning", "blocked", "W32/AI.Pallas.Suspicious", "av-engine"));
    CHECK(find(al, ID_AV_BLOCKED));
    /* neighbour: oversize files passed unscanned are not malware */
    CHECK(run(d, NULL, AV("oversize", "passthrough", "", "")) == NULL);
    mm_detect_free(d);
}

static void sandbox_verdict(void) {
    mm_detect *d = builtin(NULL, NULL);
    CHECK(d);
    mm_alert *al = run(d, NULL, AV("infected", "blocked", "FSA/RISK_HIGH", "fortisandbox"));
    CHECK_INT(count(al), 1);
    CHECK_STR(al->rule_id, ID_SANDBOX);
    CHECK(strstr(al->reason, "sandbox verdict FSA/RISK_HIGH for invoice.exe") != NULL);
    /* a submission is not a verdict */
    CHECK(run(d, NULL,
              HDR "logid=\"0211009235\" type=\"utm\" subtype=\"virus\" eventtype=\"analytics\" level=\"information\" "
                  "msg=\"File submitted to Sandbox.\" action=\"analytics\" srcip=192.0.2.50 dstip=10.0.5.80 "
                  "filename=\"doc.pdf\" analyticssubmit=\"true\"") == NULL);
    mm_detect_free(d);
}

static void appctrl_botnet(void) {
    mm_detect *d = builtin(NULL, NULL);
    CHECK(d);
    mm_alert *al = run(d, NULL,
                       HDR "logid=\"1059028704\" type=\"utm\" subtype=\"app-ctrl\" eventtype=\"signature\" "
                           "level=\"warning\" appid=38533 srcip=10.0.5.23 dstip=198.51.100.77 srcport=50000 "
                           "dstport=443 proto=6 service=\"HTTPS\" direction=\"outgoing\" action=\"block\" "
                           "appcat=\"Botnet\" app=\"Emotet.Botnet\" msg=\"Botnet: Emotet.Botnet,\"");
    CHECK_INT(count(al), 1);
    CHECK_STR(al->rule_id, ID_APP_BOTNET);
    CHECK_STR(al->reason, "botnet application Emotet.Botnet 10.0.5.23 -> 198.51.100.77:443, action block");
    /* neighbour: the corpus's ordinary web client */
    CHECK(run(d, NULL,
              HDR "logid=\"1059028704\" type=\"utm\" subtype=\"app-ctrl\" eventtype=\"signature\" "
                  "level=\"information\" appid=40568 srcip=192.168.2.1 dstip=67.43.156.13 action=\"pass\" "
                  "appcat=\"Web.Client\" app=\"HTTPS.BROWSER\" hostname=\"elastic.co\" url=\"/\"") == NULL);
    mm_detect_free(d);
}

static void dns_botnet(void) {
    mm_detect *d = builtin(NULL, NULL);
    CHECK(d);
    mm_alert *al = run(d, NULL,
                       HDR "logid=\"1501054601\" type=\"utm\" subtype=\"dns\" eventtype=\"dns-response\" "
                           "level=\"warning\" policyid=26 srcip=10.0.5.23 srcport=53430 dstip=10.0.0.53 "
                           "dstport=53 proto=17 profile=\"default\" xid=2234 qname=\"c2.bad.example\" qtype=\"A\" "
                           "qtypeval=1 qclass=\"IN\" msg=\"Domain was blocked because it is in the botnet "
                           "database\" action=\"block\" botnetdomain=\"c2.bad.example\"");
    CHECK_INT(count(al), 1);
    CHECK_STR(al->rule_id, ID_DNS_BOTNET);
    CHECK_STR(al->technique, "T1071.004");
    CHECK_STR(al->reason, "botnet C&C lookup c2.bad.example by 10.0.5.23, action block");
    CHECK(run(d, NULL,
              HDR "logid=\"1501054802\" type=\"utm\" subtype=\"dns\" eventtype=\"dns-response\" level=\"notice\" "
                  "srcip=192.168.2.1 dstip=67.43.156.13 qname=\"elastic.example.com\" qtype=\"A\" "
                  "ipaddr=\"67.43.156.13\" msg=\"Domain is monitored\" action=\"pass\" cat=23 "
                  "catdesc=\"Web-based Email\"") == NULL);
    mm_detect_free(d);
}

#define WEB(evtype, action, cat, catdesc)                                                              \
    HDR "logid=\"0316013056\" type=\"utm\" subtype=\"webfilter\" eventtype=\"" evtype "\" level=\"warning\" " \
        "policyid=100602 sessionid=1234 user=\"sato\" srcip=192.168.2.1 srcport=61930 dstip=203.0.113.80 " \
        "dstport=443 proto=6 service=\"HTTPS\" hostname=\"login-update.example\" profile=\"default\" "      \
        "action=\"" action "\" reqtype=\"direct\" url=\"/verify\" direction=\"outgoing\" "                 \
        "msg=\"URL belongs to a category\" method=\"domain\" cat=" cat " catdesc=\"" catdesc "\""

static void webfilter_categories(void) {
    mm_detect *d = builtin(NULL, NULL);
    CHECK(d);
    mm_alert *al = run(d, NULL, WEB("ftgd_blk", "blocked", "26", "Malicious Websites"));
    CHECK_INT(count(al), 1);
    CHECK_STR(al->rule_id, ID_WEB_MAL);
    CHECK_STR(al->level, "medium");
    CHECK_STR(al->technique, "T1189");
    CHECK_STR(al->reason, "blocked Malicious Websites site login-update.example for 192.168.2.1 (sato)");
    al = run(d, NULL, WEB("ftgd_blk", "blocked", "61", "Phishing"));
    CHECK_INT(count(al), 1);
    CHECK_STR(al->rule_id, ID_WEB_PHISH);
    CHECK_STR(al->technique, "T1566.002");
    al = run(d, NULL, WEB("ftgd_allow", "passthrough", "26", "Malicious Websites"));
    CHECK_INT(count(al), 1);
    CHECK_STR(al->rule_id, ID_WEB_ALLOWED);
    CHECK_STR(al->level, "high");
    /* neighbours: a blocked harmless category; an allowed ordinary one */
    CHECK(run(d, NULL, WEB("ftgd_blk", "blocked", "76", "Internet Telephony")) == NULL);
    CHECK(run(d, NULL, WEB("ftgd_allow", "passthrough", "23", "Web-based Email")) == NULL);
    mm_detect_free(d);
}

static char *fmt_line(const char *tmpl, int minute, int second, const char *ip) {
    char *b = mm_arena_alloc(&A, 2048);
    snprintf(b, 2048, tmpl, minute, second, ip);
    return b;
}

#define ADMIN_FAIL                                                                                    \
    "date=2024-05-14 time=10:%02d:%02d devname=\"FGT-HQ\" devid=\"FG100F0000000001\" tz=\"+0900\" "    \
    "logid=\"0100032002\" type=\"event\" subtype=\"system\" level=\"alert\" vd=\"root\" "              \
    "logdesc=\"Admin login failed\" sn=\"0\" user=\"admin\" ui=\"https(%3$s)\" method=\"https\" "      \
    "srcip=%3$s dstip=192.0.2.1 action=\"login\" status=\"failed\" reason=\"passwd_invalid\" "        \
    "msg=\"Administrator admin login failed from https(%3$s) because of invalid password\""

static void admin_login_burst_fires_at_five_not_four(void) {
    mm_detect *d = builtin(NULL, NULL);
    CHECK(d);
    mm_detect_state *s = mm_detect_state_new();
    /* four failures from one source, a fifth from another: nothing */
    for (int i = 0; i < 4; i++) CHECK(run(d, s, fmt_line(ADMIN_FAIL, 0, i * 10, "203.0.113.7")) == NULL);
    CHECK(run(d, s, fmt_line(ADMIN_FAIL, 0, 45, "203.0.113.8")) == NULL);
    /* the fifth from the first source, within five minutes */
    mm_alert *al = run(d, s, fmt_line(ADMIN_FAIL, 4, 0, "203.0.113.7"));
    CHECK_INT(count(al), 1);
    CHECK_STR(al->rule_id, ID_ADMIN_BURST);
    CHECK_STR(al->level, "high");
    CHECK_STR(al->technique, "T1110");
    CHECK_INT(al->count, 5);
    CHECK_STR(al->reason, "5 failed admin logins from 203.0.113.7 within 5m (last user admin, via https)");
    /* once per window: more failures right after do not repeat the alert */
    for (int i = 0; i < 6; i++) CHECK(run(d, s, fmt_line(ADMIN_FAIL, 4, 10 + i, "203.0.113.7")) == NULL);
    /* the base rule never alerts on its own */
    CHECK(find(run(d, s, fmt_line(ADMIN_FAIL, 4, 30, "203.0.113.9")), ID_ADMIN_FAILED) == NULL);
    mm_detect_state_free(s);
    mm_detect_free(d);
}

static void admin_login_burst_window_expires(void) {
    mm_detect *d = builtin(NULL, NULL);
    CHECK(d);
    mm_detect_state *s = mm_detect_state_new();
    /* five failures 100 s apart: the first has left the window when the fifth comes */
    for (int i = 0; i < 5; i++)
        CHECK(run(d, s, fmt_line(ADMIN_FAIL, i * 100 / 60, (i * 100) % 60, "198.51.100.4")) == NULL);
    /* one more at the same second makes five within five minutes */
    mm_alert *al = run(d, s, fmt_line(ADMIN_FAIL, 6, 40, "198.51.100.4"));
    CHECK(find(al, ID_ADMIN_BURST));
    mm_detect_state_free(s);
    mm_detect_free(d);
}

static void admin_login_disabled(void) {
    mm_detect *d = builtin(NULL, NULL);
    CHECK(d);
    mm_alert *al = run(d, NULL,
                       HDR "logid=\"0100032021\" type=\"event\" subtype=\"system\" level=\"alert\" "
                           "logdesc=\"Admin login disabled\" user=\"admin\" ui=\"https(203.0.113.7)\" "
                           "srcip=203.0.113.7 action=\"login\" status=\"failed\" reason=\"exceed_limit\" "
                           "msg=\"Login disabled from IP 203.0.113.7 for 60 seconds because of 3 bad attempts\"");
    CHECK(find(al, ID_ADMIN_DISABLED));
    CHECK_INT(count(al), 1);
    /* neighbour: a successful admin login */
    CHECK(run(d, NULL,
              HDR "logid=\"0100032001\" type=\"event\" subtype=\"system\" level=\"information\" "
                  "logdesc=\"Admin login successful\" user=\"admin\" ui=\"https(192.0.2.5)\" srcip=192.0.2.5 "
                  "action=\"login\" status=\"success\" msg=\"Administrator admin logged in successfully from "
                  "https(192.0.2.5)\"") == NULL);
    mm_detect_free(d);
}

#define VPN_FAIL                                                                                      \
    "date=2024-05-14 time=11:%02d:%02d devname=\"FGT-HQ\" devid=\"FG100F0000000001\" tz=\"+0900\" "    \
    "logid=\"0101039426\" type=\"event\" subtype=\"vpn\" level=\"alert\" vd=\"root\" "                 \
    "logdesc=\"SSL VPN login fail\" action=\"ssl-login-fail\" tunneltype=\"ssl-web\" tunnelid=0 "      \
    "remip=%3$s user=\"tanaka\" group=\"N/A\" dst_host=\"N/A\" "                                       \
    "reason=\"sslvpn_login_permission_denied\" msg=\"SSL user failed to logged in\""

static void vpn_login_burst(void) {
    mm_detect *d = builtin(NULL, NULL);
    CHECK(d);
    mm_detect_state *s = mm_detect_state_new();
    for (int i = 0; i < 4; i++) CHECK(run(d, s, fmt_line(VPN_FAIL, 1, i, "203.0.113.66")) == NULL);
    mm_alert *al = run(d, s, fmt_line(VPN_FAIL, 1, 30, "203.0.113.66"));
    CHECK_INT(count(al), 1);
    CHECK_STR(al->rule_id, ID_VPN_BURST);
    CHECK_STR(al->reason, "5 failed SSL VPN logins from 203.0.113.66 within 5m (last user tanaka, "
                          "sslvpn_login_permission_denied)");
    /* neighbour: new SSL connections are not failures */
    for (int i = 0; i < 10; i++)
        CHECK(run(d, s,
                  HDR "logid=\"0101039943\" type=\"event\" subtype=\"vpn\" level=\"information\" "
                      "logdesc=\"SSL VPN new connection\" action=\"ssl-new-con\" tunneltype=\"ssl\" "
                      "remip=67.43.156.13 user=\"N/A\" msg=\"SSL new connection\"") == NULL);
    mm_detect_state_free(s);
    mm_detect_free(d);
}

#define IPSEC_ERR                                                                                     \
    "date=2024-05-14 time=12:%02d:%02d devname=\"FGT-HQ\" devid=\"FG100F0000000001\" tz=\"+0900\" "    \
    "logid=\"0101037124\" type=\"event\" subtype=\"vpn\" level=\"error\" vd=\"root\" "                 \
    "logdesc=\"IPsec phase 1 error\" msg=\"IPsec phase 1 error\" action=\"negotiate\" remip=%3$s "     \
    "locip=192.0.2.1 remport=500 locport=500 outintf=\"wan1\" status=\"negotiate_error\" "             \
    "reason=\"peer SA proposal not match local policy\""

static void ipsec_negotiation_burst_at_ten(void) {
    mm_detect *d = builtin(NULL, NULL);
    CHECK(d);
    mm_detect_state *s = mm_detect_state_new();
    for (int i = 0; i < 9; i++) CHECK(run(d, s, fmt_line(IPSEC_ERR, 0, i, "198.51.100.200")) == NULL);
    mm_alert *al = run(d, s, fmt_line(IPSEC_ERR, 0, 9, "198.51.100.200"));
    CHECK(find(al, ID_IPSEC_BURST));
    CHECK_STR(al->level, "low");
    CHECK_INT(al->count, 10);
    mm_detect_state_free(s);
    mm_detect_free(d);
}

#define TRAFFIC(action, dst)                                                                          \
    HDR "logid=\"0000000013\" type=\"traffic\" subtype=\"forward\" level=\"notice\" srcip=10.10.10.10 " \
        "srcport=60899 srcintf=\"lan\" dstip=" dst " dstport=443 dstintf=\"wan1\" sessionid=155313 "       \
        "proto=6 action=\"" action "\" policyid=7 service=\"HTTPS\" duration=0 sentbyte=0 rcvdbyte=0"

static void traffic_and_indicators(void) {
    mm_detect *d = builtin(NULL, "# demo list\n67.43.156.0/24\nevil.example\n"
                                 "http://bad.example/gate.php\n"
                                 "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f\n");
    CHECK(d);
    CHECK_INT(mm_detect_indicator_count(d), 4);
    uint64_t m0 = mm_counter_get(MM_C_IOC_MATCHES);
    /* denied traffic to a listed network: the denied-traffic rule only */
    mm_alert *al = run(d, NULL, TRAFFIC("deny", "67.43.156.13"));
    CHECK_INT(count(al), 1);
    CHECK_STR(al->rule_id, ID_DENIED_IOC);
    CHECK_STR(al->level, "medium");
    CHECK(strstr(al->reason, "destination.ip 67.43.156.13 matches ip indicator 67.43.156.0/24 (list mm_test_ioc_") != NULL);
    CHECK_INT(mm_counter_get(MM_C_IOC_MATCHES) - m0, 1);
    /* allowed traffic to it: the generic indicator rule */
    al = run(d, NULL, TRAFFIC("accept", "67.43.156.13"));
    CHECK_INT(count(al), 1);
    CHECK_STR(al->rule_id, ID_IOC);
    CHECK_STR(al->level, "high");
    /* near miss: the next network */
    CHECK(run(d, NULL, TRAFFIC("deny", "67.43.157.13")) == NULL);
    CHECK(run(d, NULL, TRAFFIC("accept", "67.43.157.13")) == NULL);
    /* a domain indicator in a DNS query (subdomain), and in a web request */
    al = run(d, NULL,
             HDR "logid=\"1500054000\" type=\"utm\" subtype=\"dns\" eventtype=\"dns-query\" level=\"information\" "
                 "srcip=192.168.2.1 dstip=192.168.2.254 qname=\"cdn.EVIL.example\" qtype=\"A\"");
    CHECK(find(al, ID_IOC));
    CHECK(strstr(find(al, ID_IOC)->reason, "dns.question.name cdn.EVIL.example matches domain indicator evil.example") != NULL);
    CHECK(run(d, NULL,
              HDR "logid=\"1500054000\" type=\"utm\" subtype=\"dns\" eventtype=\"dns-query\" "
                  "srcip=192.168.2.1 dstip=192.168.2.254 qname=\"notevil.example\" qtype=\"A\"") == NULL);
    /* a URL given as hostname + url (FortiGate's way) */
    al = run(d, NULL, WEB("ftgd_allow", "passthrough", "23", "Web-based Email"));
    CHECK(al == NULL);
    al = run(d, NULL,
             HDR "logid=\"0317013312\" type=\"utm\" subtype=\"webfilter\" eventtype=\"ftgd_allow\" level=\"notice\" "
                 "srcip=192.168.2.1 dstip=198.51.100.1 hostname=\"bad.example\" action=\"passthrough\" "
                 "url=\"/gate.php?id=7\" cat=52 catdesc=\"Information Technology\"");
    CHECK(find(al, ID_IOC));
    /* a file hash from the antivirus log */
    al = run(d, NULL, AV("infected", "blocked", "W32/Agent.ABC!tr", "Virus"));
    CHECK(find(al, ID_AV_BLOCKED));
    CHECK(find(al, ID_IOC));
    mm_detect_free(d);
}

static void corpus_lines_raise_nothing_unexpected(void) {
    /* Elastic's FortiGate samples hold no attack: only the two admin failures
     * (below the burst threshold) come near a rule. */
    mm_detect *d = builtin(NULL, NULL);
    CHECK(d);
    mm_detect_state *s = mm_detect_state_new();
    const char *files[] = {"/logs/fortigate/test-fortinet.log", "/logs/fortigate/test-fortinet-7-2.log"};
    int lines = 0, alerts = 0;
    for (size_t f = 0; f < 2; f++) {
        char path[1024];
        snprintf(path, sizeof path, "%s%s", t_corpora(), files[f]);
        FILE *fp = fopen(path, "rb");
        if (!fp) continue;
        static char line[70000];
        while (fgets(line, sizeof line, fp)) {
            size_t n = strlen(line);
            while (n && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = 0;
            alerts += count(run(d, s, line));
            lines++;
        }
        fclose(fp);
    }
    CHECK_INT(alerts, 0);
    printf("# corpus lines %d\n", lines);
    mm_detect_state_free(s);
    mm_detect_free(d);
}

/* ---------------------------------------------------------------- grammar */

static void condition_and_or_not_parens(void) {
    mm_detect *d = mk(RULE_HEAD "  a:\n    fortinet.firewall.x: 1\n  b:\n    fortinet.firewall.y: 1\n"
                                "  c:\n    fortinet.firewall.z: 1\n"
                                "  condition: a and not (b or c)\n",
                      NULL);
    CHECK(d);
    CHECK(hits(d, (const char *[]){"x", "1", NULL}));
    CHECK(!hits(d, (const char *[]){"x", "1", "y", "1", NULL}));
    CHECK(!hits(d, (const char *[]){"x", "1", "z", "1", NULL}));
    CHECK(!hits(d, (const char *[]){"y", "1", NULL}));
    mm_detect_free(d);

    /* precedence: not > and > or */
    d = mk(RULE_HEAD "  a:\n    fortinet.firewall.x: 1\n  b:\n    fortinet.firewall.y: 1\n"
                     "  c:\n    fortinet.firewall.z: 1\n"
                     "  condition: a or b and not c\n",
           NULL);
    CHECK(d);
    CHECK(hits(d, (const char *[]){"x", "1", "z", "1", NULL}));   /* a or (b and not c) */
    CHECK(hits(d, (const char *[]){"y", "1", NULL}));
    CHECK(!hits(d, (const char *[]){"y", "1", "z", "1", NULL}));
    mm_detect_free(d);

    d = mk(RULE_HEAD "  a:\n    fortinet.firewall.x: 1\n  b:\n    fortinet.firewall.y: 1\n"
                     "  condition: not not a and ((b))\n",
           NULL);
    CHECK(d);
    CHECK(hits(d, (const char *[]){"x", "1", "y", "1", NULL}));
    CHECK(!hits(d, (const char *[]){"x", "1", NULL}));
    mm_detect_free(d);
}

static void condition_of_patterns(void) {
    const char *sels = "  sel_a:\n    fortinet.firewall.x: 1\n  sel_b:\n    fortinet.firewall.y: 1\n"
                       "  _aux:\n    fortinet.firewall.z: 1\n";
    char buf[1024];
    snprintf(buf, sizeof buf, RULE_HEAD "%s  condition: 1 of sel_*\n", sels);
    mm_detect *d = mk(buf, NULL);
    CHECK(d);
    CHECK(hits(d, (const char *[]){"y", "1", NULL}));
    CHECK(!hits(d, (const char *[]){"z", "1", NULL}));
    mm_detect_free(d);

    snprintf(buf, sizeof buf, RULE_HEAD "%s  condition: all of sel_*\n", sels);
    d = mk(buf, NULL);
    CHECK(d);
    CHECK(!hits(d, (const char *[]){"y", "1", NULL}));
    CHECK(hits(d, (const char *[]){"x", "1", "y", "1", NULL}));
    mm_detect_free(d);

    /* them leaves out identifiers starting with '_' */
    snprintf(buf, sizeof buf, RULE_HEAD "%s  condition: all of them\n", sels);
    d = mk(buf, NULL);
    CHECK(d);
    CHECK(hits(d, (const char *[]){"x", "1", "y", "1", NULL}));
    mm_detect_free(d);
    snprintf(buf, sizeof buf, RULE_HEAD "%s  condition: 1 of them\n", sels);
    d = mk(buf, NULL);
    CHECK(d);
    CHECK(!hits(d, (const char *[]){"z", "1", NULL}));
    CHECK(hits(d, (const char *[]){"x", "1", NULL}));
    mm_detect_free(d);

    /* a list of conditions means any of them; N of counts */
    snprintf(buf, sizeof buf, RULE_HEAD "%s  condition:\n    - sel_a and _aux\n    - 2 of sel_*\n", sels);
    d = mk(buf, NULL);
    CHECK(d);
    CHECK(hits(d, (const char *[]){"x", "1", "z", "1", NULL}));
    CHECK(hits(d, (const char *[]){"x", "1", "y", "1", NULL}));
    CHECK(!hits(d, (const char *[]){"x", "1", NULL}));
    mm_detect_free(d);
}

static void modifiers_and_wildcards(void) {
    mm_detect *d = mk(RULE_HEAD
                      "  s:\n"
                      "    fortinet.firewall.msg|contains: Sandbox\n"
                      "    fortinet.firewall.file|endswith: [.exe, .dll]\n"
                      "    fortinet.firewall.user|startswith: ADM\n"
                      "    fortinet.firewall.path: 'C:\\Windows\\\\*\\cmd?.exe'\n"
                      "    fortinet.firewall.lit: 'a\\*b'\n"
                      "  condition: s\n",
                      NULL);
    CHECK(d);
    const char *good[] = {"msg", "file submitted to SANDBOX", "file", "X.EXE", "user", "admin1",
                          "path", "c:\\windows\\system32\\cmd1.exe", "lit", "A*B", NULL};
    CHECK(hits(d, good));
    const char *bad1[] = {"msg", "file submitted to SANDBOX", "file", "X.EXE", "user", "admin1",
                          "path", "c:\\windows\\system32\\cmd.exe", "lit", "A*B", NULL};
    CHECK(!hits(d, bad1));   /* ? needs one character */
    const char *bad2[] = {"msg", "file submitted to SANDBOX", "file", "X.EXE", "user", "admin1",
                          "path", "c:\\windows\\system32\\cmd1.exe", "lit", "AxB", NULL};
    CHECK(!hits(d, bad2));   /* escaped star is literal */
    mm_detect_free(d);

    d = mk(RULE_HEAD
           "  s:\n"
           "    fortinet.firewall.msg|contains|all: [alpha, beta]\n"
           "    fortinet.firewall.severity|neq: [low, info]\n"
           "    fortinet.firewall.crscore|gte: 30\n"
           "    source.ip|cidr: [10.0.0.0/8, 192.168.0.0/16]\n"
           "    fortinet.firewall.cased|cased: Abc\n"
           "    fortinet.firewall.quarskip|exists: false\n"
           "    fortinet.firewall.nullfield: null\n"
           "  condition: s\n",
           NULL);
    CHECK(d);
    const char *ok[] = {"msg", "beta then ALPHA", "severity", "high", "crscore", "30",
                        "source.ip", "10.2.3.4", "cased", "Abc", NULL};
    CHECK(hits(d, ok));
    const char *c1[] = {"msg", "beta only", "severity", "high", "crscore", "30", "source.ip", "10.2.3.4",
                        "cased", "Abc", NULL};
    CHECK(!hits(d, c1));
    const char *c2[] = {"msg", "alpha beta", "severity", "LOW", "crscore", "30", "source.ip", "10.2.3.4",
                        "cased", "Abc", NULL};
    CHECK(!hits(d, c2));
    const char *c3[] = {"msg", "alpha beta", "severity", "high", "crscore", "29", "source.ip", "10.2.3.4",
                        "cased", "Abc", NULL};
    CHECK(!hits(d, c3));
    const char *c4[] = {"msg", "alpha beta", "severity", "high", "crscore", "31", "source.ip", "172.16.0.1",
                        "cased", "Abc", NULL};
    CHECK(!hits(d, c4));
    const char *c5[] = {"msg", "alpha beta", "severity", "high", "crscore", "31", "source.ip", "192.168.9.9",
                        "cased", "abc", NULL};
    CHECK(!hits(d, c5));
    const char *c6[] = {"msg", "alpha beta", "severity", "high", "crscore", "31", "source.ip", "192.168.9.9",
                        "cased", "Abc", "quarskip", "x", NULL};
    CHECK(!hits(d, c6));
    const char *c7[] = {"msg", "alpha beta", "severity", "high", "crscore", "31", "source.ip", "192.168.9.9",
                        "cased", "Abc", "nullfield", "", NULL};
    CHECK(!hits(d, c7));
    const char *c8[] = {"msg", "alpha beta", "crscore", "31", "source.ip", "192.168.9.9", "cased", "Abc", NULL};
    CHECK(!hits(d, c8));     /* neq needs the field */
    mm_detect_free(d);
}

static void missing_fields_never_match(void) {
    mm_detect *d = mk(RULE_HEAD "  s:\n    source.ip|cidr: 0.0.0.0/0\n    fortinet.firewall.n|lt: 5\n"
                                "  condition: s\n",
                      NULL);
    CHECK(d);
    CHECK(!hits(d, (const char *[]){"n", "1", NULL}));
    CHECK(!hits(d, (const char *[]){"source.ip", "1.2.3.4", NULL}));
    CHECK(hits(d, (const char *[]){"source.ip", "1.2.3.4", "n", "1", NULL}));
    CHECK(!hits(d, (const char *[]){"source.ip", "1.2.3.4", "n", "one", NULL}));
    /* events without a vendor prefix have no vendor fields */
    mm_event *ev = kv_event((const char *[]){"source.ip", "1.2.3.4", "n", "1", NULL});
    ev->vendor_prefix = NULL;
    CHECK(run_ev(d, NULL, ev) == NULL);
    mm_detect_free(d);
}

static void multi_valued_fields_and_index(void) {
    /* event.category is multi-valued: the anchor index must see every value */
    mm_detect *d = mk(RULE_HEAD "  s:\n    event.category: authentication\n    event.outcome: failure\n"
                                "  condition: s\n",
                      NULL);
    CHECK(d);
    CHECK(hits(d, (const char *[]){"event.category", "network", "event.category", "Authentication",
                                   "event.outcome", "failure", NULL}));
    CHECK(!hits(d, (const char *[]){"event.category", "network", "event.outcome", "failure", NULL}));
    mm_detect_free(d);
}

static void keywords_search_the_raw_record(void) {
    mm_detect *d = mk(RULE_HEAD "  keywords:\n    - mimikatz\n    - 'sekurlsa::*pass'\n  condition: keywords\n", NULL);
    CHECK(d);
    mm_event *ev = kv_event((const char *[]){NULL});
    ev->raw = MM_STR("process MimiKatz.exe started");
    CHECK(run_ev(d, NULL, ev) != NULL);
    ev->raw = MM_STR("cmd sekurlsa::logonpasswords");
    CHECK(run_ev(d, NULL, ev) != NULL);
    ev->raw = MM_STR("nothing to see");
    CHECK(run_ev(d, NULL, ev) == NULL);
    mm_detect_free(d);
}

static void logsource_product_filters_events(void) {
    mm_detect *d = mk("title: t\nid: r1\nlogsource:\n  product: fortigate\ndetection:\n"
                      "  s:\n    source.ip: 10.0.0.1\n  condition: s\n",
                      NULL);
    CHECK(d);
    mm_event *ev = kv_event((const char *[]){"source.ip", "10.0.0.1", NULL});
    CHECK(run_ev(d, NULL, ev) != NULL);
    ev->vendor_prefix = "panw.panos";
    CHECK(run_ev(d, NULL, ev) == NULL);
    mm_detect_free(d);
}

static void alert_fields_and_default_reason(void) {
    mm_detect *d = mk("title: Odd thing\nid: 11111111-2222-3333-4444-555555555555\nlevel: low\n"
                      "tags: [attack.defense_evasion, attack.t1562.001, attack.t1000]\n"
                      "detection:\n  s:\n    fortinet.firewall.x: 1\n  condition: s\n",
                      NULL);
    CHECK(d);
    mm_event *ev = kv_event((const char *[]){"x", "1", "source.ip", "10.9.8.7", "user.name", "bob\nsmith", NULL});
    ev->ts_ns = 1234;
    mm_alert *al = run_ev(d, NULL, ev);
    CHECK(al);
    CHECK_STR(al->rule_id, "11111111-2222-3333-4444-555555555555");
    CHECK_STR(al->rule_name, "Odd thing");
    CHECK_STR(al->level, "low");
    CHECK_STR(al->technique, "T1562.001");
    CHECK_STR(al->reason, "Odd thing source 10.9.8.7 user bob?smith");
    CHECK_INT(al->ts_ns, 1234);
    CHECK(al->ev == ev);
    mm_detect_free(d);
}

/* ---------------------------------------------------------------- bursts */

static const char *BURST =
    "title: base\nname: base_rule\ndetection:\n  s:\n    fortinet.firewall.action: fail\n  condition: s\n"
    "---\n"
    "title: burst\nid: burst-1\nlevel: high\ntags: [attack.t1110]\n"
    "correlation:\n  type: event_count\n  rules: [base_rule]\n  group-by: [source.ip]\n"
    "  timespan: 1m\n  condition:\n    gte: 3\n";

static mm_alert *burst_ev(mm_detect *d, mm_detect_state *s, const char *ip, int64_t sec) {
    mm_event *ev = kv_event((const char *[]){"action", "fail", "source.ip", ip, NULL});
    ev->ts_ns = sec * 1000000000LL;
    return run_ev(d, s, ev);
}

static void burst_threshold_and_window(void) {
    mm_detect *d = mk(BURST, NULL);
    CHECK(d);
    CHECK_INT(mm_detect_rule_count(d), 2);
    mm_detect_state *s = mm_detect_state_new();
    CHECK(burst_ev(d, s, "10.0.0.1", 0) == NULL);
    CHECK(burst_ev(d, s, "10.0.0.1", 30) == NULL);
    mm_alert *al = burst_ev(d, s, "10.0.0.1", 60);   /* exactly one timespan: still inside */
    CHECK(al);
    CHECK_STR(al->rule_id, "burst-1");
    CHECK_INT(al->count, 3);
    CHECK_STR(al->reason, "3 events of burst from 10.0.0.1 within 1m");
    /* quiet for one timespan after an alert */
    CHECK(burst_ev(d, s, "10.0.0.1", 61) == NULL);
    CHECK(burst_ev(d, s, "10.0.0.1", 62) == NULL);
    CHECK(burst_ev(d, s, "10.0.0.1", 63) == NULL);
    /* afterwards a new window fires again */
    CHECK(burst_ev(d, s, "10.0.0.1", 121) != NULL);
    /* expiry: two, then a gap longer than the span, then one more */
    CHECK(burst_ev(d, s, "10.0.0.2", 0) == NULL);
    CHECK(burst_ev(d, s, "10.0.0.2", 10) == NULL);
    CHECK(burst_ev(d, s, "10.0.0.2", 71) == NULL);
    CHECK(burst_ev(d, s, "10.0.0.2", 72) == NULL);   /* 0 and 10 expired: two in the window */
    CHECK(burst_ev(d, s, "10.0.0.2", 73) != NULL);
    mm_detect_state_free(s);
    mm_detect_free(d);
}

static void burst_out_of_order_and_no_state(void) {
    mm_detect *d = mk(BURST, NULL);
    CHECK(d);
    mm_detect_state *s = mm_detect_state_new();
    CHECK(burst_ev(d, s, "10.0.0.3", 100) == NULL);
    CHECK(burst_ev(d, s, "10.0.0.3", 39) == NULL);   /* older than the span before 100 */
    CHECK(burst_ev(d, s, "10.0.0.3", 90) == NULL);
    CHECK(burst_ev(d, s, "10.0.0.3", 95) != NULL);
    mm_detect_state_free(s);
    /* without a state there are no bursts, and no crash */
    for (int i = 0; i < 10; i++) CHECK(burst_ev(d, NULL, "10.0.0.3", i) == NULL);
    mm_detect_free(d);
}

static void burst_keys_are_bounded(void) {
    mm_detect *d = mk(BURST, NULL);
    CHECK(d);
    mm_detect_state *s = mm_detect_state_new();
    mm_detect_set_corr_max_keys(d, 100);
    char ip[32];
    for (int i = 0; i < 1000; i++) {
        snprintf(ip, sizeof ip, "10.1.%d.%d", i / 250, i % 250);
        CHECK(burst_ev(d, s, ip, i) == NULL);
    }
    uint64_t tracked, evicted;
    mm_detect_corr_stats(d, &tracked, &evicted);
    /* the bound holds for all shards together (each may pass it by one group) */
    CHECK(tracked >= 90 && tracked <= 100 + 64);
    CHECK_INT(tracked + evicted, 1000);
    /* the most recent groups survived and still count */
    CHECK(burst_ev(d, s, "10.1.3.249", 1000) == NULL);
    CHECK(burst_ev(d, s, "10.1.3.249", 1001) != NULL);
    /* an evicted group starts afresh */
    CHECK(burst_ev(d, s, "10.1.0.0", 1002) == NULL);
    CHECK(burst_ev(d, s, "10.1.0.0", 1003) == NULL);
    CHECK(burst_ev(d, s, "10.1.0.0", 1004) != NULL);
    mm_detect_corr_stats(d, &tracked, &evicted);
    CHECK(tracked <= 100 + 64);
    mm_detect_state_free(s);
    mm_detect_free(d);
}

static void burst_windows_survive_a_reload(void) {
    mm_detect *d = mk(BURST, NULL);
    CHECK(d);
    mm_detect_state *s = mm_detect_state_new();
    CHECK(burst_ev(d, s, "10.0.0.7", 0) == NULL);
    CHECK(burst_ev(d, s, "10.0.0.7", 10) == NULL);
    /* SIGHUP: the rules loaded again, with a new rule in front (indexes shift) */
    char buf[4096];
    snprintf(buf, sizeof buf, "title: new first\nid: first\ndetection:\n  s:\n    a.b: 1\n  condition: s\n---\n%s", BURST);
    mm_detect *d2 = mk(buf, NULL);
    CHECK(d2);
    mm_detect_keep_windows(d2, d);
    mm_detect_free(d);
    CHECK(burst_ev(d2, s, "10.0.0.7", 20) != NULL);   /* the third event, counted across the reload */
    mm_detect_state_free(s);
    mm_detect_free(d2);
}

static void burst_generate_keeps_base_alerts(void) {
    char buf[2048];
    snprintf(buf, sizeof buf, "%sgenerate: true\n", BURST);
    mm_detect *d = mk(buf, NULL);
    CHECK(d);
    mm_detect_state *s = mm_detect_state_new();
    mm_alert *al = burst_ev(d, s, "10.0.0.9", 0);
    CHECK(al && !strcmp(al->rule_id, "base_rule"));
    burst_ev(d, s, "10.0.0.9", 1);
    al = burst_ev(d, s, "10.0.0.9", 2);
    CHECK_INT(count(al), 2);
    CHECK(find(al, "burst-1"));
    CHECK_STR(find(al, "burst-1")->level, "high");
    mm_detect_state_free(s);
    mm_detect_free(d);
}

/* ---------------------------------------------------------------- errors */

static void expect_error(const char *yaml, const char *want) {
    mm_err err = {{0}};
    mm_detect *d = mk(yaml, &err);
    if (d) {
        mm_detect_free(d);
        printf("# accepted: %s\n", yaml);
    }
    if (!strstr(err.msg, want)) printf("# got error '%s', want '%s'\n", err.msg, want);
    t_failed |= d != NULL || !strstr(err.msg, want);
}

static void bad_rules_are_errors_naming_file_and_line(void) {
    expect_error(RULE_HEAD "  s:\n    fortinet.firewall.x|re: 'a(b'\n  condition: s\n",
                 "t.yml:6: regular expression 'a(b' at offset 3");
    expect_error(RULE_HEAD "  s:\n    fortinet.firewall.x|bogus: 1\n  condition: s\n",
                 "t.yml:6: unknown modifier 'bogus'");
    expect_error(RULE_HEAD "  s:\n    source.iip: 1\n  condition: s\n", "t.yml:6: unknown field 'source.iip'");
    expect_error(RULE_HEAD "  s:\n    fortinet.firewall.x: 1\n  condition: s and t\n",
                 "t.yml:7: condition: unknown selection 't'");
    expect_error(RULE_HEAD "  s:\n    fortinet.firewall.x: 1\n  condition: (s\n", "missing ')'");
    expect_error(RULE_HEAD "  s:\n    fortinet.firewall.x: 1\n  condition: s | count() > 5\n", "aggregations");
    expect_error(RULE_HEAD "  s:\n    fortinet.firewall.x: 1\n  condition: 1 of x*\n", "matches no selection");
    expect_error(RULE_HEAD "  s:\n    fortinet.firewall.x|gt: abc\n  condition: s\n", "not an integer");
    expect_error(RULE_HEAD "  s:\n    fortinet.firewall.x|cidr: 10.0.0.0/40\n  condition: s\n", "not a CIDR");
    expect_error(RULE_HEAD "  s:\n    fortinet.firewall.x|ioc: planet\n  condition: s\n", "ioc type 'planet'");
    expect_error("title: t\nlevel: severe\ndetection:\n  s:\n    a.b: 1\n  condition: s\n",
                 "t.yml:2: level must be");
    expect_error("id: x\ndetection:\n  s:\n    a.b: 1\n  condition: s\n", "t.yml:1: rule has no title");
    expect_error("title: t\ndetection:\n  s:\n    a.b: 1\n", "detection has no condition");
    expect_error("title: t\ndetection:\n  s:\n    a.b: [x: 1]\n  condition: s\n", "must hold plain values");
    expect_error("title: t\ncorrelation:\n  type: value_percentile\n  rules: [x]\n  timespan: 1m\n"
                 "  condition: {gte: 2}\n",
                 "unsupported correlation type 'value_percentile'");
    expect_error("title: t\ncorrelation:\n  type: event_count\n  rules: [nope]\n  timespan: 1m\n"
                 "  condition: {gte: 2}\n",
                 "refers to unknown rule 'nope'");
    expect_error("title: t\ncorrelation:\n  type: event_count\n  rules: [x]\n  timespan: soon\n"
                 "  condition: {gte: 2}\n",
                 "t.yml:5: timespan 'soon'");
    expect_error("title: t\ncorrelation:\n  type: event_count\n  rules: [x]\n  timespan: 1m\n"
                 "  condition: {lt: 2}\n",
                 "correlation conditions lt/lte/eq/neq");
    expect_error("title: a\nid: same\ndetection:\n  s:\n    a.b: 1\n  condition: s\n---\n"
                 "title: b\nid: same\ndetection:\n  s:\n    a.b: 1\n  condition: s\n",
                 "t.yml:8: duplicate rule id same");
    /* a YAML error in the second document names the file's line */
    expect_error("title: a\ndetection:\n  s:\n    a.b: 1\n  condition: s\n---\ntitle: [oops\n",
                 "line 8");
    expect_error("just a string\n", "a rule must be a YAML map");
}

static void load_errors(void) {
    mm_config c = {0};
    c.rules_dir = "/nonexistent/mamori/rules";
    mm_err err = {{0}};
    CHECK(mm_detect_load(&c, &err) == NULL);
    CHECK(strstr(err.msg, "/nonexistent/mamori/rules") != NULL);
    char *files[] = {"/nonexistent/list.txt"};
    c.rules_dir = NULL;
    c.indicator_files = files;
    c.nindicator_files = 1;
    CHECK(mm_detect_load(&c, &err) == NULL);
    CHECK(strstr(err.msg, "/nonexistent/list.txt") != NULL);
    /* no rules directory configured: an empty engine */
    c.nindicator_files = 0;
    mm_detect *d = mm_detect_load(&c, &err);
    CHECK(d);
    CHECK_INT(mm_detect_rule_count(d), 0);
    mm_alert *al = NULL;
    CHECK_INT(mm_detect_event(d, NULL, kv_event((const char *[]){NULL}), &A, &al), 0);
    mm_detect_free(d);
}

int main(void) {
    mm_arena_init(&A, 1 << 16);
    mm_log_set_level(MM_LOG_ERROR);
    FGT = mm_decoder_find("fortigate");
    if (!FGT) {
        printf("FAIL setup: no fortigate decoder\n");
        return 1;
    }
    TEST(builtin_rules_load);
    TEST(ips_attack_level_follows_severity);
    TEST(ips_botnet);
    TEST(antivirus_blocked_and_passed);
    TEST(sandbox_verdict);
    TEST(appctrl_botnet);
    TEST(dns_botnet);
    TEST(webfilter_categories);
    TEST(admin_login_burst_fires_at_five_not_four);
    TEST(admin_login_burst_window_expires);
    TEST(admin_login_disabled);
    TEST(vpn_login_burst);
    TEST(ipsec_negotiation_burst_at_ten);
    TEST(traffic_and_indicators);
    TEST(corpus_lines_raise_nothing_unexpected);
    TEST(condition_and_or_not_parens);
    TEST(condition_of_patterns);
    TEST(modifiers_and_wildcards);
    TEST(missing_fields_never_match);
    TEST(multi_valued_fields_and_index);
    TEST(keywords_search_the_raw_record);
    TEST(logsource_product_filters_events);
    TEST(alert_fields_and_default_reason);
    TEST(burst_threshold_and_window);
    TEST(burst_out_of_order_and_no_state);
    TEST(burst_keys_are_bounded);
    TEST(burst_windows_survive_a_reload);
    TEST(burst_generate_keeps_base_alerts);
    TEST(bad_rules_are_errors_naming_file_and_line);
    TEST(load_errors);
    mm_arena_free(&A);
    TEST_MAIN_END();
}
