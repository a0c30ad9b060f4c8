/* The IRC and SSH analyzers.
 * IRC: one event per command of interest with the exact fields (nick tracking through
 * NICK / 001 / the server's echo, JOIN lists without keys, PASS and OPER without the
 * password and with the cleartext-credentials risk, NickServ IDENTIFY redacted, topics
 * and relayed messages from the server, IRCv3 tags skipped), the same result one byte
 * at a time, over-long lines cut and counted, the novelty and non-standard-port risks,
 * and a probe that tells IRC's USER/PASS from FTP's.
 * SSH: software versions, the failure / success / unknown outcome from synthetic
 * sessions, hostile packets counted, and on Zeek's ssh_sshguess.pcap (through the
 * whole sensor) a failed login per connection from the guessing client. */
#include "core/core.h"
#include "sensor/sensor_int.h"
#include "test.h"

#include <jansson.h>
#include <netinet/in.h>
#include <pcap/pcap.h>

#define MAXEV 128
static char *g_ev[MAXEV];
static int g_nev;
static mm_sensor *g_s;
/* The sensor core keeps its own data after the mm_flow inside its flow entries and
 * may read it; a zeroed block larger than that keeps a hand-made flow safe. */
static union {
    mm_flow f;
    char pad[8192];
} g_fl;

static void emit(void *ctx, const char *json, size_t len, int64_t ts) {
    if (g_nev < MAXEV) g_ev[g_nev++] = strndup(json, len);
}

static void reset(int64_t learn_ns) {
    for (int i = 0; i < g_nev; i++) free(g_ev[i]);
    g_nev = 0;
    if (g_s) mm_sensor_free(g_s);
    mm_sensor_opts o;
    mm_sensor_opts_default(&o);
    if (learn_ns >= 0) o.learn_ns = learn_ns;
    mm_err err;
    g_s = NULL;
    if (mm_sensor_new(&g_s, &o, emit, NULL, &err) != 0) {
        printf("mm_sensor_new: %s\n", err.msg);
        exit(1);
    }
}

static mm_flow *flow(const mm_analyzer *a, uint16_t sport, bool fresh) {
    if (fresh) reset(-1);
    memset(&g_fl, 0, sizeof g_fl);
    mm_flow *f = &g_fl.f;
    f->s = g_s;
    mm_ip_parse(MM_STR("192.168.56.1"), &f->cli);
    mm_ip_parse(MM_STR("192.168.56.103"), &f->srv);
    f->cport = 55470;
    f->sport = sport;
    f->proto = IPPROTO_TCP;
    f->first_ns = f->now_ns = 1700000000LL * 1000000000LL;
    f->app = a;
    f->app_name = a->name;
    f->app_state = a->open(f);
    return f;
}

static uint64_t app_errors(void) {
    mm_sensor_stats st;
    mm_sensor_stats_get(g_s, &st);
    return st.app_errors;
}

static json_t *g_j;
static json_t *ev(int i) {
    if (i >= g_nev) return NULL;
    json_decref(g_j);
    g_j = json_loads(g_ev[i], 0, NULL);
    return g_j;
}
static const char *js(json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }
static const char *jitem(json_t *o, const char *k, size_t i) {
    return json_string_value(json_array_get(json_object_get(o, k), i));
}
static size_t jlen(json_t *o, const char *k) { return json_array_size(json_object_get(o, k)); }

static void send_(mm_flow *f, int dir, const char *s, size_t step) {
    size_t n = strlen(s);
    for (size_t i = 0; i < n; i += step)
        f->app->data(f->app_state, f, dir, (const uint8_t *)s + i, n - i < step ? n - i : step);
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
    CHECK_INT(g_nev, 10);
    json_t *e = ev(0);
    CHECK_STR(js(e, "event.action"), "irc-command");
    CHECK_STR(js(e, "event.category"), "network");
    CHECK_STR(js(e, "event.type"), "protocol");
    CHECK_STR(js(e, "irc.command"), "PASS");
    CHECK(!strstr(g_ev[0], "hunter2"));
    e = ev(1);
    CHECK_STR(js(e, "irc.command"), "NICK");
    CHECK_STR(js(e, "irc.nick"), "damn-026");
    e = ev(2);
    CHECK_STR(js(e, "irc.command"), "USER");
    CHECK_STR(js(e, "irc.user"), "ghmfeirsfnw");
    CHECK_STR(js(e, "irc.nick"), "damn-026");
    CHECK_STR(js(e, "irc.message"), "damn-026 real");
    e = ev(3);
    CHECK_STR(js(e, "irc.command"), "JOIN");
    CHECK_INT(jlen(e, "irc.channel"), 2);
    CHECK_STR(jitem(e, "irc.channel", 0), "#s01");
    CHECK_STR(jitem(e, "irc.channel", 1), "#s02");
    CHECK(!strstr(g_ev[3], "key1"));
    e = ev(4);
    CHECK_STR(js(e, "irc.command"), "PRIVMSG");
    CHECK_STR(js(e, "irc.target"), "#s01");
    CHECK_STR(jitem(e, "irc.channel", 0), "#s01");
    CHECK_STR(js(e, "irc.message"), "[DOWNLOAD]: Downloading URL: http://www.wanees.net/bbnz.exe to: bbnz.exe.");
    e = ev(5);
    CHECK_STR(js(e, "irc.target"), "NickServ");
    CHECK_STR(js(e, "irc.message"), "IDENTIFY");
    CHECK(!strstr(g_ev[5], "secretpw"));
    CHECK(!json_object_get(e, "irc.channel"));
    e = ev(6);
    CHECK_STR(js(e, "irc.command"), "NICK");
    CHECK_STR(js(e, "irc.nick"), "newnick");
    e = ev(7);
    CHECK_STR(js(e, "irc.command"), "TOPIC");
    CHECK_STR(js(e, "irc.nick"), "newnick");
    CHECK_STR(js(e, "irc.message"), ".advscan dcom135 200 3 0");
    e = ev(8);
    CHECK_STR(js(e, "irc.command"), "OPER");
    CHECK_STR(js(e, "irc.user"), "root");
    CHECK(!strstr(g_ev[8], "toor"));
    e = ev(9);
    CHECK_STR(js(e, "irc.command"), "PART");
    CHECK_STR(js(e, "irc.message"), "bye now");
    CHECK_STR(jitem(e, "irc.channel", 0), "#s02");
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
        send_(f, MM_C2S, head, steps[k]);
        check_irc_client();
        if (t_failed) return;
        CHECK(f->risks & MM_RISK_CLEARTEXT_CREDS);
        CHECK(!(f->risks & MM_RISK_NONSTD_PORT));
        send_(f, MM_C2S, q, steps[k]);
        mm_app_irc.close(f->app_state, f);
        CHECK_INT(g_nev, 11);
        CHECK_STR(js(ev(10), "irc.command"), "QUIT");
        CHECK_STR(js(ev(10), "irc.message"), "leaving");
        CHECK_INT(app_errors(), 0);
    }
}

static void irc_server_side(void) {
    mm_flow *f = flow(&mm_app_irc, 8000, true);
    send_(f, MM_C2S, "NICK damn-026\r\n", 100);
    send_(f, MM_S2C, irc_server, 3);
    mm_app_irc.close(f->app_state, f);
    CHECK_INT(g_nev, 4);
    json_t *e = ev(1);
    CHECK_STR(js(e, "irc.command"), "001");
    CHECK_STR(js(e, "irc.nick"), "damn-026x");   /* the server's word wins */
    CHECK_STR(js(e, "irc.message"), "Welcome to the devilz IRC Network");
    e = ev(2);
    CHECK_STR(js(e, "irc.command"), "332");
    CHECK_STR(js(e, "irc.nick"), "damn-026x");
    CHECK_STR(js(e, "irc.target"), "#s01");
    CHECK_STR(js(e, "irc.message"), ".download http://www.wanees.net/bbnz.exe bbnz.exe 1");
    e = ev(3);
    CHECK_STR(js(e, "irc.command"), "PRIVMSG");
    CHECK_STR(js(e, "irc.nick"), "herder");       /* the author */
    CHECK_STR(js(e, "irc.target"), "#s01");
    CHECK_STR(js(e, "irc.message"), ".ddos 10.0.0.1");
    CHECK(f->risks & MM_RISK_NONSTD_PORT);
    /* the echo of our own nick change was followed */
    f = flow(&mm_app_irc, 6667, true);
    send_(f, MM_C2S, "NICK a\r\n", 100);
    send_(f, MM_S2C, ":a!u@h NICK :b\r\n", 100);
    send_(f, MM_C2S, "QUIT\r\n", 100);
    mm_app_irc.close(f->app_state, f);
    CHECK_INT(g_nev, 2);
    CHECK_STR(js(ev(1), "irc.nick"), "b");
}

static void irc_limits(void) {
    mm_flow *f = flow(&mm_app_irc, 6667, true);
    char big[2000];
    memcpy(big, "PRIVMSG #c :", 12);
    memset(big + 12, 'A', 1500);
    memcpy(big + 1512, "\r\nPRIVMSG #c :after\r\n", 22);
    send_(f, MM_C2S, big, 1 << 20);
    CHECK_INT(g_nev, 2);
    CHECK_INT(strlen(js(ev(0), "irc.message")), 512 - 12);
    CHECK_STR(js(ev(1), "irc.message"), "after");
    CHECK_INT(app_errors(), 1);
    /* after lost bytes the broken line is dropped, the next one read */
    mm_app_irc.gap(f->app_state, f, MM_C2S, 100);
    send_(f, MM_C2S, "PRIVMSG #c :tail of a line\r\nJOIN #x\r\n", 1 << 20);
    CHECK_INT(g_nev, 3);
    CHECK_STR(js(ev(2), "irc.command"), "JOIN");
    /* a last line without a newline is read at close; garbage makes no event */
    send_(f, MM_C2S, "\x01\x02\x03 \r\n:\r\n: x\r\n\r\n   \r\nQUIT :no newline", 1 << 20);
    mm_app_irc.close(f->app_state, f);
    CHECK_INT(g_nev, 4);
    CHECK_STR(js(ev(3), "irc.message"), "no newline");
}

/* The novelty risk on the first IRC flow of a host once the host is learnt (here the
 * learning period is zero), not on its second. */
static void irc_novelty(void) {
    reset(0);
    mm_flow *f = flow(&mm_app_irc, 6667, false);
    send_(f, MM_C2S, "NICK x\r\n", 100);
    CHECK(f->risks & MM_RISK_NEW_IRC_HOST);
    mm_app_irc.close(f->app_state, f);
    f = flow(&mm_app_irc, 6667, false);
    send_(f, MM_C2S, "NICK x\r\n", 100);
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
    send_(f, MM_C2S, "SSH-2.0-OpenSSH_6.2\r\n", step);
    send_(f, MM_S2C, "Welcome to host\r\nSSH-2.0-OpenSSH_6.7p1 Debian-3\r\n", step);
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
    return g_nev == 1 ? ev(0) : NULL;
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
        CHECK_STR(js(e, "event.action"), "ssh-login");
        CHECK_STR(js(e, "event.category"), "authentication");
        CHECK_STR(js(e, "event.outcome"), "failure");
        CHECK_STR(js(e, "ssh.client.software"), "OpenSSH_6.2");
        CHECK_STR(js(e, "ssh.server.software"), "OpenSSH_6.7p1 Debian-3");
        CHECK_INT(json_integer_value(json_object_get(e, "ssh.auth_attempts")), 4);
        CHECK_INT(app_errors(), 0);
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
    CHECK_STR(js(e, "event.outcome"), "failure");
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
    CHECK_STR(js(e, "event.outcome"), "success");
    CHECK_STR(js(e, "event.action"), "ssh-login");
    CHECK(!json_object_get(e, "ssh.auth_attempts"));
    /* a bulk transfer decides alone */
    f = ssh_kex(1 << 20);
    for (int i = 0; i < 10; i++) chunk(f, MM_S2C, 1400);
    chunk(f, MM_C2S, 60);
    e = ssh_close(f);
    CHECK_STR(js(e, "event.outcome"), "success");
    /* a pre-auth banner (big, before the first failure) is not a session */
    f = ssh_kex(1 << 20);
    size_t sv2[] = {56, 1500, 56, 56, 56};
    for (int i = 0; i < 5; i++) {
        chunk(f, MM_C2S, 100);
        chunk(f, MM_S2C, sv2[i]);
    }
    e = ssh_close(f);
    CHECK_STR(js(e, "event.outcome"), "failure");
}

static void ssh_unknown(void) {
    /* versions only (a scanner) */
    mm_flow *f = flow(&mm_app_ssh, 22, true);
    send_(f, MM_C2S, "SSH-2.0-Go\r\n", 100);
    send_(f, MM_S2C, "SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.1\r\n", 100);
    json_t *e = ssh_close(f);
    CHECK(e);
    CHECK_STR(js(e, "event.action"), "ssh-session");
    CHECK_STR(js(e, "event.category"), "network");
    CHECK_STR(js(e, "event.outcome"), "unknown");
    CHECK_STR(js(e, "ssh.client.software"), "Go");
    CHECK_STR(js(e, "ssh.server.software"), "OpenSSH_8.9p1 Ubuntu-3ubuntu0.1");
    /* the key exchange done, one answer only */
    f = ssh_kex(1 << 20);
    chunk(f, MM_C2S, 56);
    chunk(f, MM_S2C, 56);
    e = ssh_close(f);
    CHECK_STR(js(e, "event.outcome"), "unknown");
    /* no SSH at all: no event */
    f = flow(&mm_app_ssh, 22, true);
    mm_app_ssh.close(f->app_state, f);
    CHECK_INT(g_nev, 0);
}

static void ssh_hostile(void) {
    /* a packet length past the protocol's limit */
    mm_flow *f = flow(&mm_app_ssh, 22, true);
    send_(f, MM_C2S, "SSH-2.0-x\r\n", 100);
    mm_app_ssh.data(f->app_state, f, MM_C2S, (const uint8_t *)"\x7f\xff\xff\xff\x04\x14", 6);
    CHECK_INT(app_errors(), 1);
    mm_app_ssh.close(f->app_state, f);
    /* an over-long identification line, and a server that never says SSH- */
    f = flow(&mm_app_ssh, 22, true);
    char line[600] = "SSH-2.0-";
    memset(line + 8, 'x', 400);
    strcat(line, "\r\n");
    send_(f, MM_C2S, line, 100);
    for (int i = 0; i < 30; i++) send_(f, MM_S2C, "hello\r\n", 100);
    CHECK_INT(app_errors(), 2);
    json_t *e = ssh_close(f);
    CHECK(e);
    CHECK_INT(strlen(js(e, "ssh.client.software")), 255 - 8);
    CHECK(!json_object_get(e, "ssh.server.software"));
    /* SSH-1.5: no binary parsing, still an event */
    f = flow(&mm_app_ssh, 22, true);
    send_(f, MM_C2S, "SSH-1.5-old\n\x00\x00\x00\x00\x00\x00", 100);
    e = ssh_close(f);
    CHECK_STR(js(e, "ssh.client.software"), "old");
    CHECK_INT(app_errors(), 0);
    /* random bytes after the versions, in every chunking */
    uint32_t seed = 99;
    for (int k = 0; k < 300; k++) {
        f = flow(&mm_app_ssh, 22, true);
        send_(f, MM_C2S, "SSH-2.0-a\r\n", 100);
        send_(f, MM_S2C, "SSH-2.0-b\r\n", 100);
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
    if (e && js(e, "event.action") && !strcmp(js(e, "event.action"), "ssh-login") &&
        !strcmp(js(e, "event.outcome"), "failure") && !strcmp(js(e, "source.ip"), "192.168.56.1") &&
        !strcmp(js(e, "event.category"), "authentication"))
        g_fail_from_guesser++;
    json_decref(e);
}

static void sshguess_pcap(void) {
    char path[1024];
    snprintf(path, sizeof path, "%s/pcap/zeek/ssh_sshguess.pcap", t_corpora());
    char eb[PCAP_ERRBUF_SIZE];
    pcap_t *p = pcap_open_offline(path, eb);
    if (!p) {
        printf("SKIP sshguess_pcap: %s\n", eb);
        return;
    }
    mm_sensor_opts o;
    mm_sensor_opts_default(&o);
    mm_sensor *s;
    mm_err err;
    CHECK(mm_sensor_new(&s, &o, guess_emit, NULL, &err) == 0);
    struct pcap_pkthdr *h;
    const u_char *d;
    int lt = pcap_datalink(p);
    while (pcap_next_ex(p, &h, &d) == 1)
        mm_sensor_packet(s, lt, (int64_t)h->ts.tv_sec * 1000000000LL + h->ts.tv_usec * 1000LL, d,
                         h->caplen, h->len);
    mm_sensor_finish(s);
    mm_sensor_free(s);
    pcap_close(p);
    CHECK(g_fail_from_guesser >= 10);
}

int main(void) {
    TEST(irc_client_commands);
    TEST(irc_server_side);
    TEST(irc_limits);
    TEST(irc_novelty);
    TEST(irc_probe_tests);
    TEST(ssh_failure);
    TEST(ssh_success);
    TEST(ssh_unknown);
    TEST(ssh_hostile);
    TEST(ssh_probe);
    TEST(sshguess_pcap);
    reset(-1);
    mm_sensor_free(g_s);
    json_decref(g_j);
    TEST_MAIN_END();
}
