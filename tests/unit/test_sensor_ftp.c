/* FTP analyzer: commands paired with their final replies (multi-line, 1xx marks,
 * the greeting even when replayed after the first command), PASS masked, login
 * events (PASS/ACCT, USER answered at once) with the clear-text credentials risk,
 * AUTH TLS ending the analysis, caps on lines, pending commands and multi-line
 * replies (counted, no crash), probing, and data connections through the whole
 * sensor: passive (PASV, EPSV, a NAT'd 227 address), active (PORT, EPRT over
 * IPv6), the data connection opening before the RETR command, listings that are
 * no files; then the corpora (Zeek bruteforce and pe, nDPI ftp_failed,
 * suricata-verify active download and passive upload). */
#include "sensor/sensor_int.h"
#include "test.h"

#include <nettle/md5.h>
#include <pcap/pcap.h>

#define SEC 1000000000LL
#define SH_MAXEV 512
#include "../sensor_harness.h"

static mm_flow *setup(const mm_analyzer *a) {
    sh_sensor_new(NULL);
    mm_flow *f = sh_flow("192.168.56.1", 54017, "192.168.56.101", 21, 6);
    f->id = 3;
    sh_app(f, a, false);
    return f;
}

/* whole or one byte at a time; a microsecond per call */
static int g_onebyte;
static void feed(const mm_analyzer *a, void *st, mm_flow *f, int dir, const char *s, size_t n) {
    f->now_ns += 1000;
    sh_feed(a, st, f, dir, s, n, g_onebyte);
}
#define C(s) feed(&mm_app_ftp, st, f, MM_C2S, s, strlen(s))
#define S(s) feed(&mm_app_ftp, st, f, MM_S2C, s, strlen(s))

/* the command event whose ftp.command is cmd (k-th) */
static json_t *cmd_ev(const char *cmd, int k) {
    for (int i = 0; sh_find("ftp-command", i); i++) {
        json_t *e = sh_find("ftp-command", i);
        if (strcmp(sh_str(e, "ftp.command"), cmd) == 0 && k-- == 0) return e;
    }
    return NULL;
}

/* ------------------------------------------------------------------------ */

static void session_run(int onebyte) {
    mm_flow *f = setup(&mm_app_ftp);
    void *st = mm_app_ftp.open(f);
    g_onebyte = onebyte;
    S("220 FTP Sandbox Ready.\r\n");
    C("USER bob\r\n");
    S("331 Please specify the password.\r\n");
    CHECK_INT(sh_count("ftp-login"), 0);
    C("PASS password\r\n");
    S("230 Login successful.\r\n");
    C("TYPE I\r\n");
    S("200 Switching to Binary mode.\r\n");
    C("RETR index.html\r\n");
    S("150 Opening BINARY mode data connection for index.html (39 bytes).\r\n");
    CHECK_INT(sh_count("ftp-command"), 3);   /* RETR waits for its final reply */
    S("226 Transfer complete.\r\n");
    C("QUIT\r\n");
    S("221 Goodbye.\r\n");
    g_onebyte = 0;
    mm_app_ftp.close(st, f);
    CHECK_INT(sh_count("ftp-command"), 5);
    json_t *u = cmd_ev("USER", 0);
    CHECK_STR(sh_str(u, "ftp.arg"), "bob");
    CHECK_INT(sh_int(u, "ftp.reply.code"), 331);
    CHECK_STR(sh_str(u, "ftp.reply.message"), "Please specify the password.");
    CHECK_STR(sh_str(u, "event.category"), "network");
    CHECK_STR(sh_str(u, "source.ip"), "192.168.56.1");
    json_t *p = cmd_ev("PASS", 0);
    CHECK_STR(sh_str(p, "ftp.arg"), "****");
    CHECK_INT(sh_int(p, "ftp.reply.code"), 230);
    json_t *r = cmd_ev("RETR", 0);
    CHECK_INT(sh_int(r, "ftp.reply.code"), 226);
    CHECK_STR(sh_str(r, "user.name"), "bob");
    CHECK_STR(sh_str(r, "ftp.arg"), "index.html");
    CHECK_INT(sh_count("ftp-login"), 1);
    json_t *l = sh_find("ftp-login", 0);
    CHECK_STR(sh_str(l, "event.category"), "authentication");
    CHECK_STR(sh_str(l, "event.outcome"), "success");
    CHECK_STR(sh_str(l, "user.name"), "bob");
    CHECK(f->risks & MM_RISK_CLEARTEXT_CREDS);
    /* the password never appears in any event */
    for (int i = 0; i < sh_nev(); i++) {
        char *txt = json_dumps(sh_ev(i), 0);
        CHECK(strstr(txt, "password\"") == NULL && strstr(txt, ":\"password") == NULL);
        free(txt);
    }
    CHECK_INT(sh_app_errors(), 0);
}
static void test_session_commands_and_login(void) { session_run(0); }
static void test_session_one_byte_at_a_time(void) { session_run(1); }

static void test_failed_login_after_pass(void) {
    mm_flow *f = setup(&mm_app_ftp);
    void *st = mm_app_ftp.open(f);
    S("220 redmint FTP server (Version 6.4/OpenBSD/Linux-ftpd-0.17) ready.\r\n");
    C("USER bro\r\n");
    S("331 Password required for bro.\r\n");
    C("PASS 1\r\n");
    S("530 Login incorrect.\r\n");
    C("QUIT\r\n");
    S("221 Goodbye.\r\n");
    mm_app_ftp.close(st, f);
    CHECK_INT(sh_count("ftp-login"), 1);
    json_t *l = sh_find("ftp-login", 0);
    CHECK_STR(sh_str(l, "event.outcome"), "failure");
    CHECK_STR(sh_str(l, "user.name"), "bro");
    CHECK_INT(sh_int(l, "ftp.reply.code"), 530);
    CHECK_STR(sh_str(l, "event.reason"), "Login incorrect.");
    CHECK(f->risks & MM_RISK_CLEARTEXT_CREDS);
}

static void test_user_refused_at_once(void) {
    mm_flow *f = setup(&mm_app_ftp);
    void *st = mm_app_ftp.open(f);
    S("220 (vsFTPd 3.0.3)\r\n");
    C("USER hello\r\n");
    S("530 This FTP server is anonymous only.\r\n");
    C("SYST\r\n");
    S("530 Please login with USER and PASS.\r\n");
    mm_app_ftp.close(st, f);
    CHECK_INT(sh_count("ftp-login"), 1);   /* SYST refused is no login attempt */
    CHECK_STR(sh_str(sh_find("ftp-login", 0), "user.name"), "hello");
    CHECK_STR(sh_str(sh_find("ftp-login", 0), "event.outcome"), "failure");
    CHECK_INT(sh_count("ftp-command"), 2);
}

static void test_user_accepted_without_password(void) {
    mm_flow *f = setup(&mm_app_ftp);
    void *st = mm_app_ftp.open(f);
    S("220 ready\r\n");
    C("USER trusted\r\n");
    S("230 Welcome.\r\n");
    C("PWD\r\n");
    S("257 \"/\"\r\n");
    mm_app_ftp.close(st, f);
    CHECK_INT(sh_count("ftp-login"), 1);
    CHECK_STR(sh_str(sh_find("ftp-login", 0), "event.outcome"), "success");
    CHECK_STR(sh_str(cmd_ev("PWD", 0), "user.name"), "trusted");
}

static void test_multiline_and_replayed_greeting(void) {
    mm_flow *f = setup(&mm_app_ftp);
    void *st = mm_app_ftp.open(f);
    /* the sensor replays held client bytes first when both sides spoke while undecided */
    C("FEAT\r\n");
    S("220-Welcome to the server\r\n220-second line\r\n220 ready\r\n");
    CHECK_INT(sh_count("ftp-command"), 0);
    S("211-Features:\r\n EPRT\r\n EPSV\r\n 211 not the end\r\n211x still not\r\n211 End\r\n");
    CHECK_INT(sh_count("ftp-command"), 1);
    json_t *e = cmd_ev("FEAT", 0);
    CHECK_INT(sh_int(e, "ftp.reply.code"), 211);
    CHECK_STR(sh_str(e, "ftp.reply.message"), "Features:");
    mm_app_ftp.close(st, f);
    CHECK_INT(sh_app_errors(), 0);
}

static void test_auth_tls_stops(void) {
    mm_flow *f = setup(&mm_app_ftp);
    void *st = mm_app_ftp.open(f);
    S("220 ready\r\n");
    C("AUTH TLS\r\n");
    S("234 Proceed with negotiation.\r\n");
    feed(&mm_app_ftp, st, f, MM_C2S, "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n", 13);
    C("USER hidden\r\n");
    mm_app_ftp.close(st, f);
    CHECK_INT(sh_count("ftp-command"), 1);
    CHECK_INT(sh_app_errors(), 0);
}

static void test_pending_at_close_and_caps(void) {
    mm_flow *f = setup(&mm_app_ftp);
    void *st = mm_app_ftp.open(f);
    S("220 ready\r\n");
    C("NOOP\r\n");
    mm_app_ftp.close(st, f);
    CHECK_INT(sh_count("ftp-command"), 1);
    CHECK(!json_object_get(sh_find("ftp-command", 0), "ftp.reply.code"));

    /* more commands than the queue holds: the oldest are emitted without replies */
    f = setup(&mm_app_ftp);
    st = mm_app_ftp.open(f);
    S("220 ready\r\n");
    for (int i = 0; i < 40; i++) C("NOOP\r\n");
    CHECK(sh_app_errors() >= 1);
    CHECK_INT(sh_count("ftp-command"), 24);
    mm_app_ftp.close(st, f);
    CHECK_INT(sh_count("ftp-command"), 40);

    /* an endless line, an endless multi-line reply, garbage */
    f = setup(&mm_app_ftp);
    st = mm_app_ftp.open(f);
    S("220 ready\r\n");
    char *big = malloc(20000);
    memset(big, 'A', 20000);
    C("STOR ");
    feed(&mm_app_ftp, st, f, MM_C2S, big, 20000);
    C("\r\n");
    CHECK(sh_app_errors() >= 1);
    S("150-start\r\n");
    for (int i = 0; i < 1100; i++) S("more\r\n");
    uint64_t e0 = sh_app_errors();
    CHECK(e0 >= 2);
    S("\xff\xfe garbage\r\n");
    S("99 short\r\n");
    C("\x01\x02\r\n");
    C("TOOLONGCOMMANDNAME x\r\n");
    CHECK(sh_app_errors() > e0);
    feed(&mm_app_ftp, st, f, MM_S2C, big, 20000);
    free(big);
    mm_app_ftp.close(st, f);
    json_t *s = cmd_ev("STOR", 0);
    CHECK(s != NULL);
    CHECK(strlen(sh_str(s, "ftp.arg")) <= 1024);
}

static void test_telnet_iac_stripped(void) {
    mm_flow *f = setup(&mm_app_ftp);
    void *st = mm_app_ftp.open(f);
    S("220 ready\r\n");
    feed(&mm_app_ftp, st, f, MM_C2S, "\xff\xf4\xff\xf2" "ABOR\r\n", 10);
    S("226 ABOR successful\r\n");
    mm_app_ftp.close(st, f);
    CHECK_STR(sh_str(cmd_ev("ABOR", 0), "ftp.reply.message"), "ABOR successful");
}

static void test_probe(void) {
    mm_flow *f = setup(&mm_app_ftp);
#define P(c, s) mm_app_ftp.probe(f, (const uint8_t *)(c), strlen(c), (const uint8_t *)(s), strlen(s))
    CHECK_INT(P("", "220 (vsFTPd 3.0.3)\r\n"), MM_PROBE_YES);   /* port 21 */
    CHECK_INT(P("USER bob\r\n", "220 FTP Sandbox Ready.\r\n"), MM_PROBE_YES);
    CHECK_INT(P("USER x\r\n", ""), MM_PROBE_YES);   /* late capture on 21 */
    f->sport = 2121;
    CHECK_INT(P("", "220 FTP Sandbox Ready.\r\n"), MM_PROBE_YES);   /* says FTP */
    CHECK_INT(P("", "220 host ready\r\n"), MM_PROBE_MAYBE);
    CHECK_INT(P("USER bob\r\n", "220 host ready\r\n"), MM_PROBE_YES);
    CHECK_INT(P("EHLO me\r\n", "220 host ready\r\n"), MM_PROBE_NO);
    CHECK_INT(P("", "220 mx.example.com ESMTP ftp.example.com\r\n"), MM_PROBE_NO);
    CHECK_INT(P("GET / HTTP/1.1\r\n", ""), MM_PROBE_NO);
    CHECK_INT(P("", "SSH-2.0-OpenSSH_8\r\n"), MM_PROBE_NO);
    CHECK_INT(P("", "22"), MM_PROBE_MAYBE);
    CHECK_INT(P("\x16\x03\x01", ""), MM_PROBE_NO);
#undef P
}

static void test_data_without_expectation(void) {
    /* a data analyzer with no shared object (not from an expectation): the data is
     * still a file, held up to the cap then written whole */
    mm_flow *f = setup(&mm_app_ftp_data);
    f->expect_arg = NULL;
    void *st = mm_app_ftp_data.open(f);
    char *buf = malloc(100000);
    for (int i = 0; i < 100000; i++) buf[i] = (char)(i * 13);
    feed(&mm_app_ftp_data, st, f, MM_S2C, buf, 100000);
    feed(&mm_app_ftp_data, st, f, MM_C2S, "ignored", 7);
    mm_app_ftp_data.close(st, f);
    json_t *fe = sh_find("file-download", 0);
    CHECK(fe != NULL);
    CHECK_INT(sh_int(fe, "file.size"), 100000);
    struct md5_ctx c;
    uint8_t d[16];
    char want[33];
    md5_init(&c);
    md5_update(&c, 100000, (const uint8_t *)buf);
    md5_digest(&c, 16, d);
    mm_hex(want, d, 16);
    CHECK_STR(sh_str(fe, "file.hash.md5"), want);
    free(buf);
}

/* ---------------------------------------------------------------- packets */

typedef struct conn {
    mm_ip a, b;                    /* a opens */
    uint16_t pa, pb;
    uint32_t seq[2];
} conn;
static int64_t g_t;

static void pkt(const conn *c, int dir, uint8_t flags, const void *data, size_t n) {
    uint8_t p[2000];
    const mm_ip *src = dir ? &c->b : &c->a, *dst = dir ? &c->a : &c->b;
    uint16_t sp = dir ? c->pb : c->pa, dp = dir ? c->pa : c->pb;
    size_t ih = src->af == 6 ? 40 : 20, len = ih + 20 + n;
    memset(p, 0, ih + 20);
    if (src->af == 6) {
        p[0] = 0x60;
        p[4] = (uint8_t)((20 + n) >> 8), p[5] = (uint8_t)(20 + n);
        p[6] = 6, p[7] = 64;
        memcpy(p + 8, src->b, 16), memcpy(p + 24, dst->b, 16);
    } else {
        p[0] = 0x45;
        p[2] = (uint8_t)(len >> 8), p[3] = (uint8_t)len;
        p[8] = 64, p[9] = 6;
        memcpy(p + 12, src->b, 4), memcpy(p + 16, dst->b, 4);
    }
    uint8_t *t = p + ih;
    t[0] = (uint8_t)(sp >> 8), t[1] = (uint8_t)sp, t[2] = (uint8_t)(dp >> 8), t[3] = (uint8_t)dp;
    uint32_t s = c->seq[dir], a = c->seq[!dir];
    t[4] = (uint8_t)(s >> 24), t[5] = (uint8_t)(s >> 16), t[6] = (uint8_t)(s >> 8), t[7] = (uint8_t)s;
    t[8] = (uint8_t)(a >> 24), t[9] = (uint8_t)(a >> 16), t[10] = (uint8_t)(a >> 8), t[11] = (uint8_t)a;
    t[12] = 0x50, t[13] = flags, t[14] = 0xff, t[15] = 0xff;
    if (n) memcpy(t + 20, data, n);
    g_t += 1000000;
    mm_sensor_packet(sh.s, 12 /* DLT_RAW */, g_t, p, (uint32_t)len, (uint32_t)len);
}
enum { FIN = 1, SYN = 2, PSH = 8, ACK = 16 };

static void c_open(conn *c, const char *a, uint16_t pa, const char *b, uint16_t pb) {
    memset(c, 0, sizeof *c);
    mm_ip_parse(mm_str_c(a), &c->a), mm_ip_parse(mm_str_c(b), &c->b);
    c->pa = pa, c->pb = pb;
    c->seq[0] = 1000, c->seq[1] = 5000;
    pkt(c, 0, SYN, NULL, 0);
    c->seq[0]++;
    c->seq[1] -= 0;
    pkt(c, 1, SYN | ACK, NULL, 0);
    c->seq[1]++;
    pkt(c, 0, ACK, NULL, 0);
}
static void c_send(conn *c, int dir, const void *d, size_t n) {
    const char *p = d;
    while (n) {
        size_t k = n < 1400 ? n : 1400;
        pkt(c, dir, PSH | ACK, p, k);
        c->seq[dir] += (uint32_t)k;
        p += k, n -= k;
    }
}
static void c_say(conn *c, int dir, const char *s) { c_send(c, dir, s, strlen(s)); }
static void c_close(conn *c) {
    pkt(c, 0, FIN | ACK, NULL, 0);
    c->seq[0]++;
    pkt(c, 1, FIN | ACK, NULL, 0);
    c->seq[1]++;
    pkt(c, 0, ACK, NULL, 0);
}

static void md5s(const void *p, size_t n, char out[33]) {
    struct md5_ctx c;
    uint8_t d[16];
    md5_init(&c);
    md5_update(&c, n, p);
    md5_digest(&c, 16, d);
    mm_hex(out, d, 16);
}

static void test_data_channels_through_sensor(void) {
    sh_sensor_new(NULL);
    g_t = 1700000000LL * SEC;
    conn c, d;
    c_open(&c, "10.0.0.5", 50000, "10.0.0.9", 21);
    c_say(&c, 1, "220 ProFTPD Server ready.\r\n");
    c_say(&c, 0, "USER alice\r\n");
    c_say(&c, 1, "331 Password required\r\n");
    c_say(&c, 0, "PASS secret\r\n");
    c_say(&c, 1, "230 User alice logged in\r\n");

    /* passive; the data connection opens before RETR reaches the control channel */
    char file[5000];
    for (size_t i = 0; i < sizeof file; i++) file[i] = (char)(i * 7 + 1);
    char want[33];
    md5s(file, sizeof file, want);
    c_say(&c, 0, "PASV\r\n");
    c_say(&c, 1, "227 Entering Passive Mode (10,0,0,9,156,65).\r\n");
    c_open(&d, "10.0.0.5", 50001, "10.0.0.9", 40001);
    c_say(&c, 0, "RETR pub/report.exe\r\n");
    c_say(&c, 1, "150 Opening BINARY mode data connection\r\n");
    c_send(&d, 1, file, sizeof file);
    c_close(&d);
    c_say(&c, 1, "226 Transfer complete\r\n");

    /* EPSV upload, and a 227 with a NAT'd address: the real server address is expected too */
    c_say(&c, 0, "EPSV\r\n");
    c_say(&c, 1, "229 Entering Extended Passive Mode (|||40002|)\r\n");
    c_say(&c, 0, "STOR up.txt\r\n");
    c_say(&c, 1, "150 Ok to send data.\r\n");
    c_open(&d, "10.0.0.5", 50002, "10.0.0.9", 40002);
    c_say(&d, 0, "uploaded text\n");
    c_close(&d);
    c_say(&c, 1, "226 Transfer complete.\r\n");
    c_say(&c, 0, "PASV\r\n");
    c_say(&c, 1, "227 Entering Passive Mode (192,168,1,9,156,68)\r\n");
    c_say(&c, 0, "RETR nat.bin\r\n");
    c_open(&d, "10.0.0.5", 50003, "10.0.0.9", 40004);
    c_say(&d, 1, "through NAT");
    c_close(&d);

    /* active: the server connects back; a listing is no file */
    c_say(&c, 0, "PORT 10,0,0,5,156,67\r\n");
    c_say(&c, 1, "200 PORT command successful.\r\n");
    c_say(&c, 0, "LIST\r\n");
    c_open(&d, "10.0.0.9", 20, "10.0.0.5", 40003);
    c_say(&d, 0, "-rw-r--r-- 1 ftp ftp 5000 Jan 1 report.exe\r\n");
    c_close(&d);
    c_say(&c, 1, "226 Directory send OK.\r\n");
    c_say(&c, 0, "QUIT\r\n");
    c_say(&c, 1, "221 Goodbye.\r\n");
    c_close(&c);
    mm_sensor_finish(sh.s);

    CHECK_INT(sh_count("file-download"), 2);
    CHECK_INT(sh_count("file-upload"), 1);
    json_t *fe = sh_find("file-download", 0);
    CHECK_STR(sh_str(fe, "file.name"), "report.exe");
    CHECK_INT(sh_int(fe, "file.size"), 5000);
    CHECK_STR(sh_str(fe, "file.hash.md5"), want);
    CHECK_STR(sh_str(fe, "ftp.command"), "RETR");
    CHECK_STR(sh_str(fe, "ftp.arg"), "pub/report.exe");
    CHECK_STR(sh_str(fe, "user.name"), "alice");
    CHECK_STR(sh_str(fe, "network.protocol"), "ftp-data");
    CHECK_INT(sh_int(fe, "destination.port"), 40001);
    json_t *up = sh_find("file-upload", 0);
    CHECK_STR(sh_str(up, "file.name"), "up.txt");
    CHECK_INT(sh_int(up, "file.size"), 14);
    CHECK_STR(sh_str(up, "ftp.command"), "STOR");
    json_t *nat = sh_find("file-download", 1);
    CHECK_STR(sh_str(nat, "file.name"), "nat.bin");
    CHECK_INT(sh_int(nat, "file.size"), 11);
    CHECK_INT(sh_count("ftp-login"), 1);
    CHECK_STR(sh_str(cmd_ev("PASS", 0), "ftp.arg"), "****");
}

static void test_eprt_ipv6_active(void) {
    sh_sensor_new(NULL);
    g_t = 1700000000LL * SEC;
    conn c, d;
    c_open(&c, "2001:db8::5", 50000, "2001:db8::9", 21);
    c_say(&c, 1, "220 ready\r\n");
    c_say(&c, 0, "USER anonymous\r\n");
    c_say(&c, 1, "331 ok\r\n");
    c_say(&c, 0, "PASS guest@\r\n");
    c_say(&c, 1, "230 ok\r\n");
    c_say(&c, 0, "EPRT |2|2001:db8::5|40004|\r\n");
    c_say(&c, 1, "200 EPRT command successful.\r\n");
    c_say(&c, 0, "RETR a/b/c.zip\r\n");
    c_say(&c, 1, "150 go\r\n");
    c_open(&d, "2001:db8::9", 20, "2001:db8::5", 40004);
    c_say(&d, 0, "PK\x03\x04zipdata");
    c_close(&d);
    c_say(&c, 1, "226 done\r\n");
    c_close(&c);
    mm_sensor_finish(sh.s);
    json_t *fe = sh_find("file-download", 0);
    CHECK(fe != NULL);
    CHECK_STR(sh_str(fe, "file.name"), "c.zip");
    CHECK_INT(sh_int(fe, "file.size"), 11);
    CHECK_STR(sh_str(fe, "source.ip"), "2001:db8::9");   /* active: the server opened it */
    CHECK_STR(sh_str(fe, "user.name"), "anonymous");
    CHECK_STR(sh_str(sh_find("ftp-command", 0), "network.protocol"), "ftp");
}

/* ---------------------------------------------------------------- corpora */

static bool run_pcap(const char *rel) { return sh_sensor_pcap(t_corpora(), rel, NULL, false); }

static void test_corpus_zeek_bruteforce(void) {
    if (!run_pcap("zeek/ftp_bruteforce.pcap")) return;
    int failed = 0;
    for (int k = 0; sh_find("ftp-login", k); k++) {
        json_t *e = sh_find("ftp-login", k);
        if (strcmp(sh_str(e, "event.outcome"), "failure") == 0 && strcmp(sh_str(e, "source.ip"), "192.168.56.1") == 0 &&
            strcmp(sh_str(e, "user.name"), "bro") == 0)
            failed++;
    }
    CHECK_INT(failed, 30);   /* Zeek's notice fires at its threshold of 20 */
    CHECK_INT(sh_count("ftp-login"), 30);
    /* Zeek's ftp.log: one QUIT / 221 Goodbye. per connection */
    int quits = 0;
    for (int k = 0; cmd_ev("QUIT", k); k++)
        if (sh_int(cmd_ev("QUIT", k), "ftp.reply.code") == 221 && strcmp(sh_str(cmd_ev("QUIT", k), "ftp.reply.message"), "Goodbye.") == 0)
            quits++;
    CHECK_INT(quits, 30);
}

static void test_corpus_ndpi_ftp_failed(void) {
    if (!run_pcap("ndpi/pcap/ftp_failed.pcap")) return;
    CHECK_INT(sh_count("ftp-login"), 1);
    CHECK_STR(sh_str(sh_find("ftp-login", 0), "user.name"), "hello");
    CHECK_STR(sh_str(sh_find("ftp-login", 0), "event.outcome"), "failure");
    CHECK_STR(sh_str(sh_find("ftp-login", 0), "network.type"), "ipv6");
}

static void test_corpus_download_active(void) {
    if (!run_pcap("suricata-verify/ftp_ftp-download-active/input.pcap")) return;
    CHECK_INT(sh_count("file-download"), 1);   /* the two NLST listings are no files */
    CHECK_INT(sh_count("file-upload"), 0);
    json_t *fe = sh_find("file-download", 0);
    CHECK_STR(sh_str(fe, "file.name"), "index.html");
    CHECK_STR(sh_str(fe, "ftp.command"), "RETR");
    CHECK_STR(sh_str(fe, "source.ip"), "172.23.0.2");
    CHECK_STR(sh_str(fe, "destination.ip"), "172.23.0.3");
    CHECK_STR(sh_str(fe, "network.protocol"), "ftp-data");
    CHECK_STR(sh_str(fe, "user.name"), "bob");
    CHECK_INT(sh_int(fe, "file.size"), 39);
    json_t *u = cmd_ev("USER", 0);
    CHECK_STR(sh_str(u, "source.ip"), "172.23.0.3");
    CHECK_STR(sh_str(u, "destination.ip"), "172.23.0.2");
}

static void test_corpus_upload_passive(void) {
    if (!run_pcap("suricata-verify/ftp_ftp-upload-passive/input.pcap")) return;
    CHECK_INT(sh_count("file-upload"), 1);
    CHECK_INT(sh_count("file-download"), 0);
    json_t *fe = sh_find("file-upload", 0);
    CHECK_STR(sh_str(fe, "file.name"), "index.html");
    CHECK_STR(sh_str(fe, "ftp.command"), "STOR");
    CHECK_STR(sh_str(fe, "source.ip"), "172.23.0.3");
    CHECK_STR(sh_str(fe, "destination.ip"), "172.23.0.2");
    CHECK_STR(sh_str(fe, "user.name"), "alice");
}

static void test_corpus_zeek_pe(void) {
    if (!run_pcap("zeek/pe_pe.pcap")) return;
    static const struct {
        const char *name;
        long long size;
    } want[] = {{"MSVIDEO.DLL", 126912}, {"NOTEPAD.EXE", 68608}, {"VMwareXferlogs.exe", 43568}, {"test1.bin", 131080}};
    CHECK_INT(sh_count("file-download"), 4);
    for (int i = 0; i < 4; i++) {
        bool found = false;
        for (int k = 0; sh_find("file-download", k); k++) {
            json_t *fe = sh_find("file-download", k);
            if (strcmp(sh_str(fe, "file.name"), want[i].name) == 0) {
                CHECK_INT(sh_int(fe, "file.size"), want[i].size);
                CHECK_STR(sh_str(fe, "user.name"), "anonymous");
                found = true;
            }
        }
        CHECK(found);
    }
}

int main(void) {
    sh.ev.on_bad = SH_BAD_ABORT;   /* an event that is not JSON */
    TEST(test_session_commands_and_login);
    TEST(test_session_one_byte_at_a_time);
    TEST(test_failed_login_after_pass);
    TEST(test_user_refused_at_once);
    TEST(test_user_accepted_without_password);
    TEST(test_multiline_and_replayed_greeting);
    TEST(test_auth_tls_stops);
    TEST(test_pending_at_close_and_caps);
    TEST(test_telnet_iac_stripped);
    TEST(test_probe);
    TEST(test_data_without_expectation);
    TEST(test_data_channels_through_sensor);
    TEST(test_eprt_ipv6_active);
    TEST(test_corpus_zeek_bruteforce);
    TEST(test_corpus_ndpi_ftp_failed);
    TEST(test_corpus_download_active);
    TEST(test_corpus_upload_passive);
    TEST(test_corpus_zeek_pe);
    sh_sensor_free();
    TEST_MAIN_END();
}
