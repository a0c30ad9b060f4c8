/* The IRC and SSH analyzers.
 * IRC: one event per command of interest with the exact fields (nick tracking through
 * NICK / 001 / the server's echo, JOIN lists without keys, PASS and OPER without the
 * password and with the cleartext-credentials risk, NickServ IDENTIFY redacted, topics
 * and relayed messages from the server, IRCv3 tags skipped), the same result one byte
 * at a time, over-long lines cut and counted, the novelty and non-standard-port risks,
 * and a probe that tells IRC's USER/PASS from FTP's.
 * DCC SEND (through the whole sensor): the offer makes the sensor expect its data
 * connection, which becomes a file named as offered (irc.nick the sender, irc.target
 * the receiver; the receiver's 4-byte acknowledgements left out), also when the
 * client's announced address is its NAT's, when the offer is relayed by the server
 * (cut short: truncated) and for a reverse DCC; hostile offers (bad address, port or
 * size, a 300-byte name, an unterminated quote) are counted and expect nothing; an
 * offer flood is capped; Zeek's irc-dcc-send.pcapng gives ssh.trace whole.
 * SSH: software versions, the failure / success / unknown outcome from synthetic
 * sessions, hostile packets counted, and on Zeek's ssh_sshguess.pcap (through the
 * whole sensor) a failed login per connection from the guessing client. */
#include "test.h"


#define SH_MAXEV 128
#include "../sensor_harness.h"

#include <nettle/sha2.h>

static void reset(int64_t learn_ns) {
    mm_sensor_opts o = sh_opts();
    if (learn_ns >= 0) o.learn_ns = learn_ns;
    sh_sensor_new(&o);
}

static mm_flow *flow(const mm_analyzer *a, uint16_t sport, bool fresh) {
    if (fresh) reset(-1);
    mm_flow *f = sh_flow("192.168.56.1", 55470, "192.168.56.103", sport, IPPROTO_TCP);
    sh_app(f, a, true);
    return f;
}

/* ================================================================ IRC */

static const char *irc_client =
    "PASS hunter2\r\n"
    "NICK damn-026\r\n"
    "USER ghmfeirsfnw 0 0 :damn-026 real\r\n"
    "JOIN #s01,#s02 key1,key2\r\n"
    "PRIVMSG #s01 :[DOWNLOAD]: Downloading URL: http://www.wanees.net/bbnz.exe to: bbnz.exe.\r\n"
    "PRIVMSG NickServ :IDENTIFY secretpw\r\n"
    "NICK newnick\n"   /* LF alone works too */
    "TOPIC #s01 :.advscan dcom135 200 3 0\r\n"
    "OPER root toor\r\n"
    "PART #s02 :bye now\r\n"
    "MODE newnick +i\r\n"   /* not an event */
    "QUIT :leaving\r\n";

static const char *irc_server =
    ":hunt3d.devilz.net NOTICE AUTH :*** Looking up your hostname...\r\n"   /* server noise */
    "@time=2025-07-28T20:48:31.481Z :hunt3d.devilz.net 001 damn-026x :Welcome to the devilz IRC Network\r\n"
    ":hunt3d.devilz.net 332 damn-026x #s01 :.download http://www.wanees.net/bbnz.exe bbnz.exe 1\r\n"
    ":herder!h@evil.example PRIVMSG #s01 :.ddos 10.0.0.1\r\n"
    ":damn-026x!g@host NICK :renamed\r\n"
    ":other!o@x JOIN #s01\r\n";   /* others' joins: not events */

static void check_irc_client(void) {
    CHECK_INT(sh_nev(), 10);
    json_t *e = sh_ev(0);
    CHECK_STR(sh_str(e, "event.action"), "irc-command");
    CHECK_STR(sh_str(e, "event.category"), "network");
    CHECK_STR(sh_str(e, "event.type"), "protocol");
    CHECK_STR(sh_str(e, "irc.command"), "PASS");
    CHECK(!strstr(sh_raw(0), "hunter2"));
    e = sh_ev(1);
    CHECK_STR(sh_str(e, "irc.command"), "NICK");
    CHECK_STR(sh_str(e, "irc.nick"), "damn-026");
    e = sh_ev(2);
    CHECK_STR(sh_str(e, "irc.command"), "USER");
    CHECK_STR(sh_str(e, "irc.user"), "ghmfeirsfnw");
    CHECK_STR(sh_str(e, "irc.nick"), "damn-026");
    CHECK_STR(sh_str(e, "irc.message"), "damn-026 real");
    e = sh_ev(3);
    CHECK_STR(sh_str(e, "irc.command"), "JOIN");
    CHECK_INT(sh_len(e, "irc.channel"), 2);
    CHECK_STR(sh_item(e, "irc.channel", 0), "#s01");
    CHECK_STR(sh_item(e, "irc.channel", 1), "#s02");
    CHECK(!strstr(sh_raw(3), "key1"));
    e = sh_ev(4);
    CHECK_STR(sh_str(e, "irc.command"), "PRIVMSG");
    CHECK_STR(sh_str(e, "irc.target"), "#s01");
    CHECK_STR(sh_item(e, "irc.channel", 0), "#s01");
    CHECK_STR(sh_str(e, "irc.message"), "[DOWNLOAD]: Downloading URL: http://www.wanees.net/bbnz.exe to: bbnz.exe.");
    e = sh_ev(5);
    CHECK_STR(sh_str(e, "irc.target"), "NickServ");
    CHECK_STR(sh_str(e, "irc.message"), "IDENTIFY");
    CHECK(!strstr(sh_raw(5), "secretpw"));
    CHECK(!json_object_get(e, "irc.channel"));
    e = sh_ev(6);
    CHECK_STR(sh_str(e, "irc.command"), "NICK");
    CHECK_STR(sh_str(e, "irc.nick"), "newnick");
    e = sh_ev(7);
    CHECK_STR(sh_str(e, "irc.command"), "TOPIC");
    CHECK_STR(sh_str(e, "irc.nick"), "newnick");
    CHECK_STR(sh_str(e, "irc.message"), ".advscan dcom135 200 3 0");
    e = sh_ev(8);
    CHECK_STR(sh_str(e, "irc.command"), "OPER");
    CHECK_STR(sh_str(e, "irc.user"), "root");
    CHECK(!strstr(sh_raw(8), "toor"));
    e = sh_ev(9);
    CHECK_STR(sh_str(e, "irc.command"), "PART");
    CHECK_STR(sh_str(e, "irc.message"), "bye now");
    CHECK_STR(sh_item(e, "irc.channel", 0), "#s02");
}

static void irc_client_commands(void) {
    size_t steps[] = {1 << 20, 1, 5};
    for (int k = 0; k < 3; k++) {
        mm_flow *f = flow(&mm_app_irc, 6667, true);
        /* QUIT is the 11th event; keep it out of the checked list by sending it apart */
        const char *q = strstr(irc_client, "QUIT");
        char head[2048];
        memcpy(head, irc_client, (size_t)(q - irc_client));
        head[q - irc_client] = 0;
        sh_send(f, MM_C2S, head, steps[k]);
        check_irc_client();
        if (t_failed) return;
        CHECK(f->risks & MM_RISK_CLEARTEXT_CREDS);
        CHECK(!(f->risks & MM_RISK_NONSTD_PORT));
        sh_send(f, MM_C2S, q, steps[k]);
        mm_app_irc.close(f->app_state, f);
        CHECK_INT(sh_nev(), 11);
        CHECK_STR(sh_str(sh_ev(10), "irc.command"), "QUIT");
        CHECK_STR(sh_str(sh_ev(10), "irc.message"), "leaving");
        CHECK_INT(sh_app_errors(), 0);
    }
}

static void irc_server_side(void) {
    mm_flow *f = flow(&mm_app_irc, 8000, true);
    sh_send(f, MM_C2S, "NICK damn-026\r\n", 100);
    sh_send(f, MM_S2C, irc_server, 3);
    mm_app_irc.close(f->app_state, f);
    CHECK_INT(sh_nev(), 4);
    json_t *e = sh_ev(1);
    CHECK_STR(sh_str(e, "irc.command"), "001");
    CHECK_STR(sh_str(e, "irc.nick"), "damn-026x");   /* the server's word wins */
    CHECK_STR(sh_str(e, "irc.message"), "Welcome to the devilz IRC Network");
    e = sh_ev(2);
    CHECK_STR(sh_str(e, "irc.command"), "332");
    CHECK_STR(sh_str(e, "irc.nick"), "damn-026x");
    CHECK_STR(sh_str(e, "irc.target"), "#s01");
    CHECK_STR(sh_str(e, "irc.message"), ".download http://www.wanees.net/bbnz.exe bbnz.exe 1");
    e = sh_ev(3);
    CHECK_STR(sh_str(e, "irc.command"), "PRIVMSG");
    CHECK_STR(sh_str(e, "irc.nick"), "herder");       /* the author */
    CHECK_STR(sh_str(e, "irc.target"), "#s01");
    CHECK_STR(sh_str(e, "irc.message"), ".ddos 10.0.0.1");
    CHECK(f->risks & MM_RISK_NONSTD_PORT);
    /* the echo of our own nick change was followed */
    f = flow(&mm_app_irc, 6667, true);
    sh_send(f, MM_C2S, "NICK a\r\n", 100);
    sh_send(f, MM_S2C, ":a!u@h NICK :b\r\n", 100);
    sh_send(f, MM_C2S, "QUIT\r\n", 100);
    mm_app_irc.close(f->app_state, f);
    CHECK_INT(sh_nev(), 2);
    CHECK_STR(sh_str(sh_ev(1), "irc.nick"), "b");
}

static void irc_limits(void) {
    mm_flow *f = flow(&mm_app_irc, 6667, true);
    char big[2000];
    memcpy(big, "PRIVMSG #c :", 12);
    memset(big + 12, 'A', 1500);
    memcpy(big + 1512, "\r\nPRIVMSG #c :after\r\n", 22);
    sh_send(f, MM_C2S, big, 1 << 20);
    CHECK_INT(sh_nev(), 2);
    CHECK_INT(strlen(sh_str(sh_ev(0), "irc.message")), 512 - 12);
    CHECK_STR(sh_str(sh_ev(1), "irc.message"), "after");
    CHECK_INT(sh_app_errors(), 1);
    /* after lost bytes the broken line is dropped, the next one read */
    mm_app_irc.gap(f->app_state, f, MM_C2S, 100);
    sh_send(f, MM_C2S, "PRIVMSG #c :tail of a line\r\nJOIN #x\r\n", 1 << 20);
    CHECK_INT(sh_nev(), 3);
    CHECK_STR(sh_str(sh_ev(2), "irc.command"), "JOIN");
    /* a last line without a newline is read at close; garbage makes no event */
    sh_send(f, MM_C2S, "\x01\x02\x03 \r\n:\r\n: x\r\n\r\n   \r\nQUIT :no newline", 1 << 20);
    mm_app_irc.close(f->app_state, f);
    CHECK_INT(sh_nev(), 4);
    CHECK_STR(sh_str(sh_ev(3), "irc.message"), "no newline");
}

/* The novelty risk on the first IRC flow of a host once the host is learnt (here the
 * learning period is zero), not on its second. */
static void irc_novelty(void) {
    reset(0);
    mm_flow *f = flow(&mm_app_irc, 6667, false);
    sh_send(f, MM_C2S, "NICK x\r\n", 100);
    CHECK(f->risks & MM_RISK_NEW_IRC_HOST);
    mm_app_irc.close(f->app_state, f);
    f = flow(&mm_app_irc, 6667, false);
    sh_send(f, MM_C2S, "NICK x\r\n", 100);
    CHECK(!(f->risks & MM_RISK_NEW_IRC_HOST));
    mm_app_irc.close(f->app_state, f);
}

static int irc_probe(const char *c, const char *s) {
    mm_flow *f = flow(&mm_app_irc, 8000, true);
    int r = mm_app_irc.probe(f, (const uint8_t *)c, c ? strlen(c) : 0, (const uint8_t *)s, s ? strlen(s) : 0);
    mm_app_irc.close(f->app_state, f);
    return r;
}

static void irc_probe_tests(void) {
    CHECK_INT(irc_probe("NICK bob\r\n", NULL), MM_PROBE_YES);
    CHECK_INT(irc_probe("USER xxxxx +iw xxxxx :Xxxxxx Xxxx\r\n", NULL), MM_PROBE_YES);
    CHECK_INT(irc_probe("CAP LS 302\r\n", NULL), MM_PROBE_YES);
    CHECK_INT(irc_probe("PASS l0m3za\r\nNICK damn\r\n", NULL), MM_PROBE_YES);
    CHECK_INT(irc_probe("PASS l0m3za\r\n", NULL), MM_PROBE_MAYBE);
    CHECK_INT(irc_probe("NI", NULL), MM_PROBE_MAYBE);
    CHECK_INT(irc_probe(NULL, ":leguin.freenode.net NOTICE * :*** Looking up your hostname...\r\n"), MM_PROBE_YES);
    CHECK_INT(irc_probe(NULL, "NOTICE AUTH :*** Looking up\r\n"), MM_PROBE_YES);
    CHECK_INT(irc_probe(NULL, "@time=x :srv 001 me :hi\r\n"), MM_PROBE_YES);
    /* FTP and SMTP: a numeric greeting, USER with one parameter, PASS then PASV */
    CHECK_INT(irc_probe("USER anonymous\r\n", "220 ProFTPD ready\r\n"), MM_PROBE_NO);
    CHECK_INT(irc_probe("USER anonymous\r\n", NULL), MM_PROBE_NO);
    CHECK_INT(irc_probe("PASS x\r\nPASV\r\n", NULL), MM_PROBE_NO);
    CHECK_INT(irc_probe("NICK bob\r\n", "220 mail ESMTP\r\n"), MM_PROBE_NO);
    CHECK_INT(irc_probe("GET / HTTP/1.1\r\n", NULL), MM_PROBE_NO);
    CHECK_INT(irc_probe("NICK \x05\x06\r\n", NULL), MM_PROBE_NO);
}

/* ================================================================ SSH */

typedef struct buf {
    uint8_t b[4096];
    size_t n;
} buf;

/* One clear binary packet: length, padding length, message, payload, padding. */
static void pkt(buf *b, uint8_t msg, size_t payload) {
    size_t pad = 8 - (5 + 1 + payload) % 8 + 4;
    uint32_t len = (uint32_t)(1 + 1 + payload + pad);
    b->b[b->n++] = (uint8_t)(len >> 24), b->b[b->n++] = (uint8_t)(len >> 16);
    b->b[b->n++] = (uint8_t)(len >> 8), b->b[b->n++] = (uint8_t)len;
    b->b[b->n++] = (uint8_t)pad;
    b->b[b->n++] = msg;
    memset(b->b + b->n, 0x41, payload + pad);
    b->n += payload + pad;
}

static void chunk(mm_flow *f, int dir, size_t n) {
    static const uint8_t junk[8192];
    mm_app_ssh.data(f->app_state, f, dir, junk, n);
}

/* Versions, KEXINIT both ways, KEXDH, NEWKEYS both ways (the server's in the same
 * segment as its KEXDH reply); clear parts fed `step` bytes at a time. */
static mm_flow *ssh_kex(size_t step) {
    mm_flow *f = flow(&mm_app_ssh, 22, true);
    sh_send(f, MM_C2S, "SSH-2.0-OpenSSH_6.2\r\n", step);
    sh_send(f, MM_S2C, "Welcome to host\r\nSSH-2.0-OpenSSH_6.7p1 Debian-3\r\n", step);
    buf c = {0}, s = {0};
    pkt(&c, 20, 1200);
    pkt(&c, 30, 40);
    pkt(&s, 20, 900);
    for (size_t i = 0; i < c.n; i += step)
        mm_app_ssh.data(f->app_state, f, MM_C2S, c.b + i, c.n - i < step ? c.n - i : step);
    for (size_t i = 0; i < s.n; i += step)
        mm_app_ssh.data(f->app_state, f, MM_S2C, s.b + i, s.n - i < step ? s.n - i : step);
    s.n = 0;
    pkt(&s, 31, 800);
    pkt(&s, 21, 0);
    mm_app_ssh.data(f->app_state, f, MM_S2C, s.b, s.n);
    c.n = 0;
    pkt(&c, 21, 0);
    mm_app_ssh.data(f->app_state, f, MM_C2S, c.b, c.n);
    return f;
}

static json_t *ssh_close(mm_flow *f) {
    mm_app_ssh.close(f->app_state, f);
    return sh_nev() == 1 ? sh_ev(0) : NULL;
}

/* sshguess's pattern: every server answer 56 bytes, one per client request. */
static void ssh_failure(void) {
    size_t steps[] = {1 << 20, 1};
    for (int k = 0; k < 2; k++) {
        mm_flow *f = ssh_kex(steps[k]);
        size_t cl[] = {56, 72, 376, 152, 152, 152};
        for (int i = 0; i < 6; i++) {
            chunk(f, MM_C2S, cl[i]);
            chunk(f, MM_S2C, 56);
        }
        json_t *e = ssh_close(f);
        CHECK(e);
        CHECK_STR(sh_str(e, "event.action"), "ssh-login");
        CHECK_STR(sh_str(e, "event.category"), "authentication");
        CHECK_STR(sh_str(e, "event.outcome"), "failure");
        CHECK_STR(sh_str(e, "ssh.client.software"), "OpenSSH_6.2");
        CHECK_STR(sh_str(e, "ssh.server.software"), "OpenSSH_6.7p1 Debian-3");
        CHECK_INT(json_integer_value(json_object_get(e, "ssh.auth_attempts")), 4);
        CHECK_INT(sh_app_errors(), 0);
    }
    /* keyboard-interactive: prompts and failures alternate, then a DISCONNECT */
    mm_flow *f = ssh_kex(1 << 20);
    size_t sv[] = {56, 72, 104, 72, 104, 72, 104, 72, 88};
    for (int i = 0; i < 9; i++) {
        chunk(f, MM_C2S, 80);
        chunk(f, MM_S2C, sv[i]);
    }
    json_t *e = ssh_close(f);
    CHECK(e);
    CHECK_STR(sh_str(e, "event.outcome"), "failure");
    CHECK_INT(json_integer_value(json_object_get(e, "ssh.auth_attempts")), 3);
}

static void ssh_success(void) {
    /* a failed "none", success, then channel, host keys, shell output */
    mm_flow *f = ssh_kex(1 << 20);
    size_t sv[] = {56, 56, 36, 620, 52, 100, 180, 44};
    for (int i = 0; i < 8; i++) {
        chunk(f, MM_C2S, 60);
        chunk(f, MM_S2C, sv[i]);
    }
    json_t *e = ssh_close(f);
    CHECK(e);
    CHECK_STR(sh_str(e, "event.outcome"), "success");
    CHECK_STR(sh_str(e, "event.action"), "ssh-login");
    CHECK(!json_object_get(e, "ssh.auth_attempts"));
    /* a bulk transfer decides alone */
    f = ssh_kex(1 << 20);
    for (int i = 0; i < 10; i++) chunk(f, MM_S2C, 1400);
    chunk(f, MM_C2S, 60);
    e = ssh_close(f);
    CHECK_STR(sh_str(e, "event.outcome"), "success");
    /* a pre-auth banner (big, before the first failure) is not a session */
    f = ssh_kex(1 << 20);
    size_t sv2[] = {56, 1500, 56, 56, 56};
    for (int i = 0; i < 5; i++) {
        chunk(f, MM_C2S, 100);
        chunk(f, MM_S2C, sv2[i]);
    }
    e = ssh_close(f);
    CHECK_STR(sh_str(e, "event.outcome"), "failure");
}

static void ssh_unknown(void) {
    /* versions only (a scanner) */
    mm_flow *f = flow(&mm_app_ssh, 22, true);
    sh_send(f, MM_C2S, "SSH-2.0-Go\r\n", 100);
    sh_send(f, MM_S2C, "SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.1\r\n", 100);
    json_t *e = ssh_close(f);
    CHECK(e);
    CHECK_STR(sh_str(e, "event.action"), "ssh-session");
    CHECK_STR(sh_str(e, "event.category"), "network");
    CHECK_STR(sh_str(e, "event.outcome"), "unknown");
    CHECK_STR(sh_str(e, "ssh.client.software"), "Go");
    CHECK_STR(sh_str(e, "ssh.server.software"), "OpenSSH_8.9p1 Ubuntu-3ubuntu0.1");
    /* the key exchange done, one answer only */
    f = ssh_kex(1 << 20);
    chunk(f, MM_C2S, 56);
    chunk(f, MM_S2C, 56);
    e = ssh_close(f);
    CHECK_STR(sh_str(e, "event.outcome"), "unknown");
    /* no SSH at all: no event */
    f = flow(&mm_app_ssh, 22, true);
    mm_app_ssh.close(f->app_state, f);
    CHECK_INT(sh_nev(), 0);
}

static void ssh_hostile(void) {
    /* a packet length past the protocol's limit */
    mm_flow *f = flow(&mm_app_ssh, 22, true);
    sh_send(f, MM_C2S, "SSH-2.0-x\r\n", 100);
    mm_app_ssh.data(f->app_state, f, MM_C2S, (const uint8_t *)"\x7f\xff\xff\xff\x04\x14", 6);
    CHECK_INT(sh_app_errors(), 1);
    mm_app_ssh.close(f->app_state, f);
    /* an over-long identification line, and a server that never says SSH- */
    f = flow(&mm_app_ssh, 22, true);
    char line[600] = "SSH-2.0-";
    memset(line + 8, 'x', 400);
    strcat(line, "\r\n");
    sh_send(f, MM_C2S, line, 100);
    for (int i = 0; i < 30; i++) sh_send(f, MM_S2C, "hello\r\n", 100);
    CHECK_INT(sh_app_errors(), 2);
    json_t *e = ssh_close(f);
    CHECK(e);
    CHECK_INT(strlen(sh_str(e, "ssh.client.software")), 255 - 8);
    CHECK(!json_object_get(e, "ssh.server.software"));
    /* SSH-1.5: no binary parsing, still an event */
    f = flow(&mm_app_ssh, 22, true);
    sh_send(f, MM_C2S, "SSH-1.5-old\n\x00\x00\x00\x00\x00\x00", 100);
    e = ssh_close(f);
    CHECK_STR(sh_str(e, "ssh.client.software"), "old");
    CHECK_INT(sh_app_errors(), 0);
    /* random bytes after the versions, in every chunking */
    uint32_t seed = 99;
    for (int k = 0; k < 300; k++) {
        f = flow(&mm_app_ssh, 22, true);
        sh_send(f, MM_C2S, "SSH-2.0-a\r\n", 100);
        sh_send(f, MM_S2C, "SSH-2.0-b\r\n", 100);
        uint8_t r[512];
        for (size_t i = 0; i < sizeof r; i++) seed = seed * 1103515245u + 12345u, r[i] = (uint8_t)(seed >> 16);
        for (size_t i = 0; i < sizeof r; i += 1 + k % 17)
            mm_app_ssh.data(f->app_state, f, (int)(i & 1), r + i, sizeof r - i < 1 + k % 17u ? sizeof r - i : 1 + k % 17u);
        mm_app_ssh.gap(f->app_state, f, MM_S2C, 10);
        CHECK(ssh_close(f));
    }
}

static void ssh_probe(void) {
    mm_flow *f = flow(&mm_app_ssh, 22, true);
    CHECK_INT(mm_app_ssh.probe(f, NULL, 0, (const uint8_t *)"SSH-2.0-x\r\n", 11), MM_PROBE_YES);
    CHECK_INT(mm_app_ssh.probe(f, (const uint8_t *)"SSH-2.0-x\r\n", 11, NULL, 0), MM_PROBE_YES);
    CHECK_INT(mm_app_ssh.probe(f, (const uint8_t *)"SS", 2, NULL, 0), MM_PROBE_MAYBE);
    CHECK_INT(mm_app_ssh.probe(f, (const uint8_t *)"GET /", 5, NULL, 0), MM_PROBE_NO);
    mm_app_ssh.close(f->app_state, f);
}

/* ---- Zeek's ssh_sshguess.pcap through the whole sensor ---- */

static int g_fail_from_guesser;
static void guess_emit(void *ctx, const char *json, size_t len, int64_t ts) {
    json_t *e = json_loadb(json, len, 0, NULL);
    if (e && sh_str(e, "event.action") && !strcmp(sh_str(e, "event.action"), "ssh-login") &&
        !strcmp(sh_str(e, "event.outcome"), "failure") && !strcmp(sh_str(e, "source.ip"), "192.168.56.1") &&
        !strcmp(sh_str(e, "event.category"), "authentication"))
        g_fail_from_guesser++;
    json_decref(e);
}

static void sshguess_pcap(void) {
    char path[1024];
    snprintf(path, sizeof path, "%s/pcap/zeek/ssh_sshguess.pcap", t_corpora());
    char eb[PCAP_ERRBUF_SIZE];
    mm_sensor_opts o = sh_opts();
    mm_sensor *s;
    mm_err err;
    CHECK(mm_sensor_new(&s, &o, guess_emit, NULL, &err) == 0);
    bool opened = sh_pcap(s, path, eb);
    mm_sensor_free(s);
    if (!opened) {
        printf("SKIP sshguess_pcap: %s\n", eb);
        return;
    }
    CHECK(g_fail_from_guesser >= 10);
}

/* ================================================================ IRC DCC SEND */

/* Packets through the whole sensor (DLT_RAW), so the offer's expectation meets the
 * data connection. */
typedef struct dconn {
    mm_ip a, b;                    /* a opens */
    uint16_t pa, pb;
    uint32_t seq[2];
} dconn;
static int64_t g_dt = SH_T0;
enum { T_FIN = 1, T_SYN = 2, T_PSH = 8, T_ACK = 16 };

static void d_pkt(const dconn *c, int dir, uint8_t flags, const void *data, size_t n) {
    uint8_t p[1600];
    const mm_ip *src = dir ? &c->b : &c->a, *dst = dir ? &c->a : &c->b;
    uint16_t sp = dir ? c->pb : c->pa, dp = dir ? c->pa : c->pb;
    size_t len = 40 + n;
    memset(p, 0, 40);
    p[0] = 0x45;
    p[2] = (uint8_t)(len >> 8), p[3] = (uint8_t)len;
    p[8] = 64, p[9] = 6;
    memcpy(p + 12, src->b, 4), memcpy(p + 16, dst->b, 4);
    uint8_t *t = p + 20;
    t[0] = (uint8_t)(sp >> 8), t[1] = (uint8_t)sp, t[2] = (uint8_t)(dp >> 8), t[3] = (uint8_t)dp;
    uint32_t s = c->seq[dir], a = c->seq[!dir];
    t[4] = (uint8_t)(s >> 24), t[5] = (uint8_t)(s >> 16), t[6] = (uint8_t)(s >> 8), t[7] = (uint8_t)s;
    t[8] = (uint8_t)(a >> 24), t[9] = (uint8_t)(a >> 16), t[10] = (uint8_t)(a >> 8), t[11] = (uint8_t)a;
    t[12] = 0x50, t[13] = flags, t[14] = 0xff, t[15] = 0xff;
    if (n) memcpy(t + 20, data, n);
    g_dt += 1000000;
    mm_sensor_packet(sh.s, 12 /* DLT_RAW */, g_dt, p, (uint32_t)len, (uint32_t)len);
}
static void d_open(dconn *c, const char *a, uint16_t pa, const char *b, uint16_t pb) {
    memset(c, 0, sizeof *c);
    mm_ip_parse(mm_str_c(a), &c->a), mm_ip_parse(mm_str_c(b), &c->b);
    c->pa = pa, c->pb = pb;
    c->seq[0] = 1000, c->seq[1] = 7000;
    d_pkt(c, 0, T_SYN, NULL, 0);
    c->seq[0]++;
    d_pkt(c, 1, T_SYN | T_ACK, NULL, 0);
    c->seq[1]++;
    d_pkt(c, 0, T_ACK, NULL, 0);
}
static void d_send(dconn *c, int dir, const void *d, size_t n) {
    const char *p = d;
    while (n) {
        size_t k = n < 1400 ? n : 1400;
        d_pkt(c, dir, T_PSH | T_ACK, p, k);
        c->seq[dir] += (uint32_t)k;
        p += k, n -= k;
    }
}
static void d_say(dconn *c, int dir, const char *s) { d_send(c, dir, s, strlen(s)); }
static void d_close(dconn *c) {
    d_pkt(c, 0, T_FIN | T_ACK, NULL, 0);
    c->seq[0]++;
    d_pkt(c, 1, T_FIN | T_ACK, NULL, 0);
    c->seq[1]++;
    d_pkt(c, 0, T_ACK, NULL, 0);
}

static void sha256s(const void *p, size_t n, char out[65]) {
    struct sha256_ctx c;
    uint8_t d[SHA256_DIGEST_SIZE];
    sha256_init(&c);
    sha256_update(&c, n, p);
    sha256_digest(&c, sizeof d, d);
    mm_hex(out, d, sizeof d);
}

/* The sender's side of a DCC transfer from dconn side `from`, with the receiver's
 * 4-byte acknowledgements (big-endian running count) coming back. */
static void dcc_transfer(dconn *c, int from, const uint8_t *p, size_t n) {
    for (size_t i = 0; i < n;) {
        size_t k = n - i < 1024 ? n - i : 1024;
        d_send(c, from, p + i, k);
        i += k;
        uint8_t ack[4] = {(uint8_t)(i >> 24), (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i};
        d_send(c, !from, ack, 4);
    }
}

static void irc_dcc_send(void) {
    sh_sensor_new(NULL);
    size_t n = 5000;
    uint8_t *data = malloc(n);
    for (size_t i = 0; i < n; i++) data[i] = (uint8_t)(i * 7 + i / 251);
    char want[65];
    sha256s(data, n, want);
    dconn irc, d;
    d_open(&irc, "10.0.0.7", 59069, "10.0.0.22", 6667);
    d_say(&irc, MM_C2S, "NICK tim2\r\nUSER tim2 0 * :Tim\r\n");
    d_say(&irc, MM_S2C, ":ircd1.local 001 tim2 :Welcome\r\n");
    /* 167772167 is 10.0.0.7, the client itself */
    d_say(&irc, MM_C2S, "PRIVMSG tim1 :\x01" "DCC SEND ssh.trace 167772167 59130 5000\x01\r\n");
    json_t *e = sh_find("irc-command", 3);   /* NICK, USER, 001, then the offer */
    CHECK(e);
    CHECK_STR(sh_str(e, "irc.message"), "\x01" "DCC SEND ssh.trace 167772167 59130 5000\x01");
    CHECK_STR(sh_str(e, "irc.target"), "tim1");
    /* the receiver connects to the offered port; the offering side sends */
    d_open(&d, "10.0.0.22", 43614, "10.0.0.7", 59130);
    dcc_transfer(&d, MM_S2C, data, n);
    d_close(&d);
    e = sh_find("file-download", 0);
    CHECK(e);
    CHECK_STR(sh_str(e, "file.name"), "ssh.trace");
    CHECK_STR(sh_str(e, "file.extension"), "trace");
    CHECK_INT(sh_int(e, "file.size"), 5000);
    CHECK_STR(sh_str(e, "file.hash.sha256"), want);
    CHECK(!json_object_get(e, "file.truncated"));
    CHECK_STR(sh_str(e, "network.protocol"), "irc-dcc");
    CHECK_STR(sh_str(e, "irc.nick"), "tim2");
    CHECK_STR(sh_str(e, "irc.target"), "tim1");
    CHECK_STR(sh_str(e, "destination.ip"), "10.0.0.7");
    CHECK_INT(sh_int(e, "destination.port"), 59130);
    /* the expectation was used up: a second connection to that port is not a DCC */
    d_open(&d, "10.0.0.22", 43700, "10.0.0.7", 59130);
    d_send(&d, MM_S2C, data, 100);
    d_close(&d);
    CHECK_INT(sh_count("file-download"), 1);

    /* behind NAT: the announced address is the public one, the transfer reaches the
     * client's own; a quoted name with a space */
    d_say(&irc, MM_C2S, "PRIVMSG tim1 :\x01" "DCC SEND \"my notes.txt\" 203.0.113.9 40000 100\x01\r\n");
    d_open(&d, "10.0.0.22", 43800, "10.0.0.7", 40000);
    dcc_transfer(&d, MM_S2C, data, 100);
    d_close(&d);
    e = sh_find("file-download", 1);
    CHECK(e);
    CHECK_STR(sh_str(e, "file.name"), "my notes.txt");
    CHECK_INT(sh_int(e, "file.size"), 100);

    /* an offer relayed by the server (the client receives it), cut short */
    d_say(&irc, MM_S2C, ":tim1!u@h PRIVMSG tim2 :\x01" "DCC SEND bot.exe 10.0.0.50 6000 64\x01\r\n");
    d_open(&d, "10.0.0.7", 50001, "10.0.0.50", 6000);
    dcc_transfer(&d, MM_S2C, data, 40);
    d_close(&d);
    e = sh_find("file-download", 2);
    CHECK(e);
    CHECK_STR(sh_str(e, "file.name"), "bot.exe");
    CHECK_INT(sh_int(e, "file.size"), 40);
    CHECK_STR(sh_str(e, "file.truncated"), "true");
    CHECK_STR(sh_str(e, "irc.nick"), "tim1");
    CHECK_STR(sh_str(e, "irc.target"), "tim2");

    /* a reverse DCC: tim1 offers with port 0 and a token, our client answers with its
     * port and the token, tim1 connects and sends (client to server) */
    d_say(&irc, MM_S2C, ":tim1!u@h PRIVMSG tim2 :\x01" "DCC SEND rev.bin 10.0.0.50 0 30 77\x01\r\n");
    d_say(&irc, MM_C2S, "PRIVMSG tim1 :\x01" "DCC SEND rev.bin 167772167 40001 30 77\x01\r\n");
    d_open(&d, "10.0.0.50", 50002, "10.0.0.7", 40001);
    dcc_transfer(&d, MM_C2S, data, 30);
    d_close(&d);
    e = sh_find("file-upload", 0);
    CHECK(e);
    CHECK_STR(sh_str(e, "file.name"), "rev.bin");
    CHECK_INT(sh_int(e, "file.size"), 30);
    CHECK(!json_object_get(e, "file.truncated"));
    CHECK_STR(sh_str(e, "irc.nick"), "tim1");
    CHECK_STR(sh_str(e, "irc.target"), "tim2");
    d_close(&irc);
    mm_sensor_finish(sh.s);
    CHECK_INT(sh_app_errors(), 0);
    CHECK_INT(sh_count("file-download") + sh_count("file-upload"), 4);
    free(data);
    sh_sensor_free();
}

static void irc_dcc_hostile(void) {
    sh_sensor_new(NULL);
    dconn irc, d;
    d_open(&irc, "10.0.0.7", 59069, "10.0.0.22", 6667);
    d_say(&irc, MM_C2S, "NICK tim2\r\nUSER tim2 0 * :Tim\r\n");
    char big[400];
    snprintf(big, sizeof big, "PRIVMSG tim1 :\x01" "DCC SEND %0300d 167772167 7000 10\x01\r\n", 7);
    const char *const bad[] = {
        "PRIVMSG tim1 :\x01" "DCC SEND a 4294967296 7000 10\x01\r\n",      /* address over 32 bits */
        "PRIVMSG tim1 :\x01" "DCC SEND a 0 7000 10\x01\r\n",               /* unspecified */
        "PRIVMSG tim1 :\x01" "DCC SEND a 1.2.3 7000 10\x01\r\n",
        "PRIVMSG tim1 :\x01" "DCC SEND a :: 7000 10\x01\r\n",
        "PRIVMSG tim1 :\x01" "DCC SEND a 99999999999999999999999 7000\x01\r\n",
        "PRIVMSG tim1 :\x01" "DCC SEND a 167772167 65536 10\x01\r\n",      /* port */
        "PRIVMSG tim1 :\x01" "DCC SEND a 167772167 -1 10\x01\r\n",
        "PRIVMSG tim1 :\x01" "DCC SEND a 167772167 443 10\x01\r\n",       /* a server's port */
        "PRIVMSG tim1 :\x01" "DCC SEND a 167772167 7000 99999999999999999999\x01\r\n",   /* size */
        "PRIVMSG tim1 :\x01" "DCC SEND a 167772167 7000 12a\x01\r\n",
        "PRIVMSG tim1 :\x01" "DCC SEND \"unterminated 167772167 7000 10\x01\r\n",
        "PRIVMSG tim1 :\x01" "DCC SEND \"\" 167772167 7000 10\x01\r\n",    /* empty name */
        "PRIVMSG tim1 :\x01" "DCC SEND a 167772167\x01\r\n",               /* short */
        "PRIVMSG tim1 :\x01" "DCC SEND\x01\r\n",
        big,                                                                /* 300-byte name */
    };
    size_t nbad = sizeof bad / sizeof *bad;
    for (size_t i = 0; i < nbad; i++) d_say(&irc, MM_C2S, bad[i]);
    CHECK_INT(sh_app_errors(), nbad - 1);   /* "DCC SEND" alone is not an offer (no space after) */
    /* not offers at all: other CTCPs, DCC mid-text, a reverse offer (port 0) */
    d_say(&irc, MM_C2S, "PRIVMSG tim1 :\x01" "DCC CHAT chat 167772167 7000\x01\r\n"
                        "PRIVMSG tim1 :see \x01" "DCC SEND a 167772167 7000 10\x01\r\n"
                        "PRIVMSG tim1 :\x01" "DCC SEND a 167772167 0 10 5\x01\r\n");
    CHECK_INT(sh_app_errors(), nbad - 1);
    /* every one is still an irc-command event */
    CHECK_INT(sh_count("irc-command"), 2 + (int)nbad + 3);
    /* none was expected: a connection to port 7000 is not carved */
    uint8_t junk[300];
    memset(junk, 'x', sizeof junk);
    d_open(&d, "10.0.0.22", 43614, "10.0.0.7", 7000);
    d_send(&d, MM_S2C, junk, sizeof junk);
    d_close(&d);
    CHECK_INT(sh_count("file-download"), 0);
    /* an offer flood: at most 32 expected per IRC flow, the rest counted once */
    for (int i = 0; i < 40; i++) {
        char l[128];
        snprintf(l, sizeof l, "PRIVMSG tim1 :\x01" "DCC SEND f%d 167772167 %d 10\x01\r\n", i, 8000 + i);
        d_say(&irc, MM_C2S, l);
    }
    CHECK_INT(sh_app_errors(), nbad);
    d_open(&d, "10.0.0.22", 43615, "10.0.0.7", 8000 + 31);
    d_send(&d, MM_S2C, junk, 10);
    d_close(&d);
    d_open(&d, "10.0.0.22", 43616, "10.0.0.7", 8000 + 32);
    d_send(&d, MM_S2C, junk, 10);
    d_close(&d);
    CHECK_INT(sh_count("file-download"), 1);
    CHECK_STR(sh_str(sh_find("file-download", 0), "file.name"), "f31");
    d_close(&irc);
    mm_sensor_finish(sh.s);   /* the unmet expectations are released (ASan: no leak) */
    sh_sensor_free();
}

/* Zeek's irc-dcc-send.pcapng: tim2 offers ssh.trace (1320211 bytes) to tim1. */
static void irc_dcc_pcap(void) {
    if (!sh_sensor_pcap(t_corpora(), "zeek/irc-dcc-send.pcapng", NULL, true)) return;
    json_t *e = sh_find("file-download", 0);
    CHECK(e);
    CHECK_STR(sh_str(e, "file.name"), "ssh.trace");
    CHECK_INT(sh_int(e, "file.size"), 1320211);
    CHECK_STR(sh_str(e, "file.hash.sha256"), "566c4819a8130d65d29076930bd46dde5c2595a4a8be4a380857feb5b430ec6e");
    CHECK(!json_object_get(e, "file.truncated"));
    CHECK_STR(sh_str(e, "irc.nick"), "tim2");
    CHECK_STR(sh_str(e, "irc.target"), "tim1");
    CHECK_INT(sh_count("file-download") + sh_count("file-upload"), 1);
    CHECK_INT(sh_app_errors(), 0);
    sh_sensor_free();
}

int main(void) {
    TEST(irc_client_commands);
    TEST(irc_server_side);
    TEST(irc_limits);
    TEST(irc_novelty);
    TEST(irc_probe_tests);
    TEST(irc_dcc_send);
    TEST(irc_dcc_hostile);
    TEST(irc_dcc_pcap);
    TEST(ssh_failure);
    TEST(ssh_success);
    TEST(ssh_unknown);
    TEST(ssh_hostile);
    TEST(ssh_probe);
    TEST(sshguess_pcap);
    sh_sensor_free();
    TEST_MAIN_END();
}
