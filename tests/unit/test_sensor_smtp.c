/* The SMTP analyzer (src/sensor/app_smtp.c) driven directly: envelope and header
 * fields of `smtp-mail`, attachments as `mail-attachment` files with their linking
 * fields, AUTH (PLAIN, LOGIN, XOAUTH2, CRAM-MD5, NTLM; the secret never written),
 * pipelining and refused commands, BDAT, STARTTLS, client-only captures, dot
 * stuffing, Japanese subjects and file names, the probe, hostile input (long lines,
 * garbage, 64 MiB cap, gaps) — and then the corpora's pcaps through the whole
 * sensor, checked against what suricata-verify, Zeek and nDPI expect. */
#include "test.h"

#include "../sensor_harness.h"

#define NS 1000000000LL

static void setup(void) {
    mm_sensor_opts o = sh_opts();
    o.flow_events = false;
    sh_sensor_new(&o);
}

/* A flow of its own per test (heap: ASan sees any read past it). */
static mm_flow *flow_new(uint16_t sport) {
    mm_flow *f = sh_flow_init(calloc(1, sizeof(mm_flow)), sh.s, "10.0.0.1", 40000, "192.0.2.25", sport, 6);
    f->id = 7;
    f->last_ns = f->now_ns;
    sh_app(f, &mm_app_smtp, false);
    return f;
}

/* ---- driving the analyzer ---- */

#define FEED(x, f, dir, lit) mm_app_smtp.data(x, f, dir, (const uint8_t *)lit, sizeof lit - 1)

/* chunk: 0 = each step whole, k = k bytes at a time */
static void play(mm_flow *f, const sh_step *st, size_t chunk, bool close) {
    sh_app(f, &mm_app_smtp, true);
    sh_run(f, st, chunk);
    if (close) mm_app_smtp.close(f->app_state, f);
}

static const char eve_body[] =
    "From: \"Gurpartap Singh\" <gurpartap@patriots.in>\r\n"
    "To: <raj_deol2002in@yahoo.co.in>\r\n"
    "Subject: SMTP\r\n"
    "Message-ID: <000301ca4581$ef9e57f0$cedb07d0$@in>\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed;\r\n"
    "\tboundary=\"----=_NextPart_000_0004_01CA45B0.095693F0\"\r\n"
    "X-Mailer: Microsoft Office Outlook 12.0\r\n"
    "\r\n"
    "This is a multipart message in MIME format.\r\n"
    "\r\n"
    "------=_NextPart_000_0004_01CA45B0.095693F0\r\n"
    "Content-Type: text/plain;\r\n"
    "\tcharset=\"us-ascii\"\r\n"
    "\r\n"
    "Hello, see http://example.com/x and https://evil.example/login.\r\n"
    "\r\n"
    "------=_NextPart_000_0004_01CA45B0.095693F0\r\n"
    "Content-Type: text/plain;\r\n"
    "\tname=\"NEWS.txt\"\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "Content-Disposition: attachment;\r\n"
    "\tfilename=\"NEWS.txt\"\r\n"
    "\r\n"
    "SGVsbG8sIHdv\r\n"
    "cmxkIQ==\r\n"
    "\r\n"
    "------=_NextPart_000_0004_01CA45B0.095693F0--\r\n"
    "\r\n"
    ".\r\n";

static const sh_step eve_session[] = {
    SH_S("220-xc90.websitewelcome.com ESMTP Exim 4.69 #1 Mon, 05 Oct 2009 01:05:54 -0500 \r\n"
      "220-We do not authorize the use of this system to transport unsolicited, \r\n"
      "220 and/or bulk e-mail.\r\n"),
    SH_C("EHLO GP\r\n"),
    SH_S("250-xc90.websitewelcome.com Hello GP [122.162.143.157]\r\n250-SIZE 52428800\r\n250-PIPELINING\r\n"
      "250-AUTH PLAIN LOGIN\r\n250-STARTTLS\r\n250 HELP\r\n"),
    SH_C("AUTH LOGIN\r\n"),
    SH_S("334 VXNlcm5hbWU6\r\n"),
    SH_C("Z3VycGFydGFwQHBhdHJpb3RzLmlu\r\n"),
    SH_S("334 UGFzc3dvcmQ6\r\n"),
    SH_C("cHVuamFiQDEyMw==\r\n"),
    SH_S("235 Authentication succeeded\r\n"),
    SH_C("MAIL FROM: <gurpartap@patriots.in>\r\n"),
    SH_S("250 OK\r\n"),
    SH_C("RCPT TO: <raj_deol2002in@yahoo.co.in>\r\n"),
    SH_S("250 Accepted\r\n"),
    SH_C("DATA\r\n"),
    SH_S("354 Enter message, ending with \".\" on a line by itself\r\n"),
    {MM_C2S, eve_body, sizeof eve_body - 1},
    SH_S("250 OK id=1Mugho-0003Dg-Un\r\n"),
    SH_C("QUIT\r\n"),
    SH_S("221 xc90.websitewelcome.com closing connection\r\n"),
    SH_END};

static void session_like_smtp_eve(void) {
    setup();
    mm_flow *f = flow_new(25);
    play(f, eve_session, 0, true);
    CHECK_INT(sh.ev.bad, 0);
    CHECK_INT(sh_nev(), 3);
    /* order: the auth, the attachment's file, then the mail */
    CHECK(sh_index_of("smtp-auth") < sh_index_of("mail-attachment"));
    CHECK(sh_index_of("mail-attachment") < sh_index_of("smtp-mail"));
    json_t *a = sh_find("smtp-auth", 0);
    CHECK_STR(sh_str(a, "event.category"), "authentication");
    CHECK_STR(sh_str(a, "user.name"), "gurpartap@patriots.in");
    CHECK_STR(sh_str(a, "event.outcome"), "success");
    CHECK_STR(sh_str(a, "network.protocol"), "smtp");
    CHECK(f->risks & MM_RISK_CLEARTEXT_CREDS);
    CHECK(!sh_raw_contains("punjab"));
    CHECK(!sh_raw_contains("cHVuamFiQDEyMw"));

    json_t *fe = sh_find("mail-attachment", 0);
    CHECK_STR(sh_str(fe, "event.category"), "file");
    CHECK_STR(sh_str(fe, "file.name"), "NEWS.txt");
    CHECK_INT(sh_int(fe, "file.size"), 13);
    CHECK_STR(sh_str(fe, "email.from.address"), "gurpartap@patriots.in");
    CHECK_STR(sh_item(fe, "email.to.address", 0), "raj_deol2002in@yahoo.co.in");
    CHECK_STR(sh_str(fe, "email.subject"), "SMTP");
    CHECK_STR(sh_str(fe, "smtp.mail_from"), "<gurpartap@patriots.in>");
    CHECK_STR(sh_item(fe, "smtp.rcpt_to", 0), "<raj_deol2002in@yahoo.co.in>");
    CHECK_STR(sh_str(fe, "file.hash.sha256"), "315f5bdb76d078c43b8ac0064e4a0164612b1fce77c869345bfc94c75894edd3");

    json_t *m = sh_find("smtp-mail", 0);
    CHECK_STR(sh_str(m, "event.category"), "email");
    CHECK_STR(sh_str(m, "event.type"), "info");
    CHECK_STR(sh_str(m, "smtp.helo"), "GP");
    CHECK_STR(sh_str(m, "smtp.mail_from"), "<gurpartap@patriots.in>");
    CHECK_INT(sh_len(m, "smtp.rcpt_to"), 1);
    CHECK_STR(sh_item(m, "smtp.rcpt_to", 0), "<raj_deol2002in@yahoo.co.in>");
    CHECK_STR(sh_str(m, "email.from.address"), "gurpartap@patriots.in");
    CHECK_STR(sh_item(m, "email.to.address", 0), "raj_deol2002in@yahoo.co.in");
    CHECK_STR(sh_str(m, "email.subject"), "SMTP");
    CHECK_STR(sh_str(m, "email.message_id"), "000301ca4581$ef9e57f0$cedb07d0$@in");
    CHECK_STR(sh_str(m, "email.x_mailer"), "Microsoft Office Outlook 12.0");
    CHECK_STR(sh_str(m, "email.content_type"), "multipart/mixed");
    CHECK_STR(sh_item(m, "email.attachments.file.name", 0), "NEWS.txt");
    CHECK_STR(sh_item(m, "email.attachments.file.mime_type", 0), "text/plain");
    CHECK_INT(sh_item_int(m, "email.attachments.file.size", 0), 13);
    CHECK_STR(sh_item(m, "email.attachments.file.hash.sha256", 0), sh_str(fe, "file.hash.sha256"));
    CHECK_INT(sh_len(m, "email.urls"), 2);
    CHECK_STR(sh_item(m, "email.urls", 0), "https://evil.example/login");
    CHECK_STR(sh_item(m, "email.urls", 1), "http://example.com/x");
    CHECK_STR(sh_str(m, "event.outcome"), "success");
    CHECK_INT(sh_app_errors(), 0);
    free(f);
}

/* One byte at a time gives the same events, byte for byte. */
static void session_bytewise_identical(void) {
    setup();
    mm_flow *f = flow_new(25);
    play(f, eve_session, 0, true);
    int n = sh_nev();
    json_t *whole[8];
    for (int i = 0; i < n && i < 8; i++) {
        whole[i] = json_deep_copy(sh_ev(i));
        json_object_del(whole[i], "flow.id");   /* salted per sensor */
    }
    for (size_t chunk = 1; chunk <= 7; chunk += 3) {
        setup();
        mm_flow *g = flow_new(25);
        play(g, eve_session, chunk, true);
        free(g);
        CHECK_INT(sh_nev(), n);
        for (int i = 0; i < n && i < 8; i++) {
            json_object_del(sh_ev(i), "flow.id");
            CHECK(json_equal(sh_ev(i), whole[i]));
        }
    }
    for (int i = 0; i < n && i < 8; i++) json_decref(whole[i]);
    free(f);
}

static void pipelining_and_refusals(void) {
    setup();
    mm_flow *f = flow_new(587);
    static const sh_step st[] = {
        SH_S("220 mx ESMTP\r\n"),
        SH_C("EHLO client.example\r\n"),
        SH_S("250-mx\r\n250 PIPELINING\r\n"),
        SH_C("MAIL FROM:<a@x.example> SIZE=100 BODY=8BITMIME\r\nRCPT TO:<b@y.example>\r\nRCPT TO:<nobody@y.example>\r\nDATA\r\n"),
        SH_S("250 ok\r\n250 ok\r\n550 5.1.1 no such user\r\n354 go ahead\r\n"),
        SH_C("Subject: one\r\nCc: \"Smith, J\" <js@y.example>, other@y.example\r\n\r\nbody\r\n.\r\n"),
        SH_S("250 2.0.0 queued\r\n"),
        SH_C("MAIL FROM:<spam@bad.example>\r\nRCPT TO:<u@y.example>\r\nDATA\r\n"),
        SH_S("250 ok\r\n550 5.1.1 no such user\r\n554 5.5.1 no valid recipients\r\n"),
        SH_C("QUIT\r\n"),
        SH_S("221 bye\r\n"),
        SH_END};
    play(f, st, 0, true);
    CHECK_INT(sh_count("smtp-mail"), 2);
    json_t *m = sh_find("smtp-mail", 0);
    CHECK_STR(sh_str(m, "smtp.mail_from"), "<a@x.example>");
    CHECK_INT(sh_len(m, "smtp.rcpt_to"), 2);
    CHECK_STR(sh_item(m, "smtp.rcpt_to", 1), "<nobody@y.example>");
    CHECK_STR(sh_str(m, "email.subject"), "one");
    CHECK_INT(sh_len(m, "email.cc.address"), 2);
    CHECK_STR(sh_item(m, "email.cc.address", 0), "js@y.example");
    CHECK_STR(sh_item(m, "email.cc.address", 1), "other@y.example");
    CHECK_STR(sh_str(m, "event.outcome"), "success");
    CHECK(!sh_str(m, "email.to.address"));
    /* the refused transaction: reported when the flow ends, as a failure; its
     * refused DATA did not swallow QUIT */
    json_t *r = sh_find("smtp-mail", 1);
    CHECK_STR(sh_str(r, "smtp.mail_from"), "<spam@bad.example>");
    CHECK_STR(sh_str(r, "event.outcome"), "failure");
    CHECK(!sh_str(r, "email.subject"));
    CHECK_INT(sh_app_errors(), 0);
    free(f);
}

static void multiple_messages_rset_and_failure_reason(void) {
    setup();
    mm_flow *f = flow_new(25);
    static const sh_step st[] = {
        SH_S("220 mx ESMTP\r\n"), SH_C("HELO a\r\n"), SH_S("250 hi\r\n"),
        SH_C("MAIL FROM:<first@x>\r\n"), SH_S("250 ok\r\n"), SH_C("RSET\r\n"), SH_S("250 reset\r\n"),
        SH_C("MAIL FROM:<second@x>\r\n"), SH_S("250 ok\r\n"), SH_C("RCPT TO:<r@y>\r\n"), SH_S("250 ok\r\n"),
        SH_C("DATA\r\n"), SH_S("354 go\r\n"), SH_C("Subject: two\r\n\r\nhi\r\n.\r\n"),
        SH_S("554 5.7.1 message rejected as spam\r\n"),
        SH_C("HELO b\r\n"), SH_S("250 hi\r\n"),
        SH_C("MAIL FROM:<third@x>\r\n"), SH_S("250 ok\r\n"), SH_C("RCPT TO:<r@y>\r\n"), SH_S("250 ok\r\n"),
        SH_C("DATA\r\n"), SH_S("354 go\r\n"), SH_C("Subject: three\r\n\r\nhi\r\n.\r\n"), SH_S("250 ok\r\n"),
        SH_END};
    play(f, st, 0, true);
    CHECK_INT(sh_count("smtp-mail"), 3);
    CHECK_STR(sh_str(sh_find("smtp-mail", 0), "smtp.mail_from"), "<first@x>");
    CHECK_STR(sh_str(sh_find("smtp-mail", 0), "event.outcome"), "unknown");
    json_t *two = sh_find("smtp-mail", 1);
    CHECK_STR(sh_str(two, "email.subject"), "two");
    CHECK_STR(sh_str(two, "event.outcome"), "failure");
    CHECK_STR(sh_str(two, "event.reason"), "554 5.7.1 message rejected as spam");
    CHECK_STR(sh_str(two, "smtp.helo"), "a");
    json_t *three = sh_find("smtp-mail", 2);
    CHECK_STR(sh_str(three, "email.subject"), "three");
    CHECK_STR(sh_str(three, "smtp.helo"), "b");
    CHECK_STR(sh_str(three, "event.outcome"), "success");
    free(f);
}

static void b64(const uint8_t *p, size_t n, char *out) {
    static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) | (i + 2 < n ? p[i + 2] : 0);
        out[o++] = t[v >> 18];
        out[o++] = t[(v >> 12) & 63];
        out[o++] = i + 1 < n ? t[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < n ? t[v & 63] : '=';
    }
    out[o] = 0;
}

static void auth_mechanisms(void) {
    /* PLAIN with an initial response: authzid NUL user NUL pass */
    setup();
    mm_flow *f = flow_new(587);
    static const sh_step plain[] = {
        SH_S("220 mx\r\n"), SH_C("EHLO c\r\n"), SH_S("250 AUTH PLAIN\r\n"),
        SH_C("AUTH PLAIN AGFsaWNlQGV4YW1wbGUuY29tAHMzY3JldA==\r\n"), SH_S("235 2.7.0 ok\r\n"), SH_END};
    play(f, plain, 0, true);
    CHECK_STR(sh_str(sh_find("smtp-auth", 0), "user.name"), "alice@example.com");
    CHECK_STR(sh_str(sh_find("smtp-auth", 0), "event.outcome"), "success");
    CHECK(!sh_raw_contains("s3cret"));
    CHECK(f->risks & MM_RISK_CLEARTEXT_CREDS);
    free(f);

    /* PLAIN after a 334, refused */
    setup();
    f = flow_new(587);
    static const sh_step plain2[] = {
        SH_S("220 mx\r\n"), SH_C("AUTH PLAIN\r\n"), SH_S("334 \r\n"),
        SH_C("AGJvYgB3cm9uZw==\r\n"), SH_S("535 5.7.8 Authentication credentials invalid\r\n"),
        SH_C("QUIT\r\n"), SH_S("221 bye\r\n"), SH_END};
    play(f, plain2, 0, true);
    CHECK_INT(sh_count("smtp-auth"), 1);
    CHECK_STR(sh_str(sh_find("smtp-auth", 0), "user.name"), "bob");
    CHECK_STR(sh_str(sh_find("smtp-auth", 0), "event.outcome"), "failure");
    CHECK_STR(sh_str(sh_find("smtp-auth", 0), "event.reason"), "535 5.7.8 Authentication credentials invalid");
    free(f);

    /* LOGIN with the user in the initial response; XOAUTH2; a cancelled exchange;
     * CRAM-MD5 (no cleartext secret) */
    setup();
    f = flow_new(587);
    static const sh_step more[] = {
        SH_S("220 mx\r\n"),
        SH_C("AUTH LOGIN Y2Fyb2w=\r\n"), SH_S("334 UGFzc3dvcmQ6\r\n"), SH_C("cGFzcw==\r\n"), SH_S("535 no\r\n"),
        SH_C("AUTH XOAUTH2 dXNlcj1kYXZlQGV4YW1wbGUuY29tAWF1dGg9QmVhcmVyIHlhMjkueHl6AQE=\r\n"), SH_S("235 ok\r\n"),
        SH_C("AUTH LOGIN\r\n"), SH_S("334 VXNlcm5hbWU6\r\n"), SH_C("*\r\n"), SH_S("501 cancelled\r\n"),
        SH_C("MAIL FROM:<carol@x>\r\n"), SH_S("250 ok\r\n"), SH_END};
    play(f, more, 0, true);
    CHECK_INT(sh_count("smtp-auth"), 3);
    CHECK_STR(sh_str(sh_find("smtp-auth", 0), "user.name"), "carol");
    CHECK_STR(sh_str(sh_find("smtp-auth", 0), "message"), "SMTP AUTH LOGIN");
    CHECK_STR(sh_str(sh_find("smtp-auth", 1), "user.name"), "dave@example.com");
    CHECK_STR(sh_str(sh_find("smtp-auth", 1), "event.outcome"), "success");
    CHECK(!sh_raw_contains("ya29"));
    CHECK_STR(sh_str(sh_find("smtp-auth", 2), "event.outcome"), "failure");
    CHECK(!sh_str(sh_find("smtp-auth", 2), "user.name"));
    /* the MAIL after the cancelled AUTH is a command, not AUTH data */
    CHECK_STR(sh_str(sh_find("smtp-mail", 0), "smtp.mail_from"), "<carol@x>");
    free(f);

    setup();
    f = flow_new(587);
    static const sh_step cram[] = {
        SH_S("220 mx\r\n"), SH_C("AUTH CRAM-MD5\r\n"), SH_S("334 PDQxOTI5NDIzNDEuMTI4Mjg0NzJAc291cmNlZm91ci5hbmRyZXcuY211LmVkdT4=\r\n"),
        SH_C("dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw\r\n"), SH_S("235 ok\r\n"), SH_END};
    play(f, cram, 0, true);
    CHECK_STR(sh_str(sh_find("smtp-auth", 0), "user.name"), "tim");
    CHECK(!(f->risks & MM_RISK_CLEARTEXT_CREDS));
    free(f);

    /* NTLM: the user of the AUTHENTICATE message (UTF-16LE) */
    setup();
    f = flow_new(587);
    uint8_t t3[80];
    memset(t3, 0, sizeof t3);
    memcpy(t3, "NTLMSSP", 8);
    t3[8] = 3;
    t3[36] = 10, t3[38] = 10, t3[40] = 64;   /* user: 10 bytes at 64 */
    t3[60] = 1;                              /* NEGOTIATE_UNICODE */
    const char *u = "alice";
    for (int i = 0; i < 5; i++) t3[64 + 2 * i] = (uint8_t)u[i];
    char line[200];
    b64(t3, 74, line);
    strcat(line, "\r\n");
    sh_step ntlm[] = {SH_S("220 mx\r\n"), SH_C("AUTH NTLM TlRMTVNTUAABAAAAB4IIAAAAAAAAAAAAAAAAAAAAAAA=\r\n"),
                   SH_S("334 TlRMTVNTUAACAAAAAAAAACgAAAABggAAU3J2Tm9uY2UAAAAAAAAAAA==\r\n"), SH_C(line),
                   SH_S("235 ok\r\n"), SH_END};
    play(f, ntlm, 0, true);
    CHECK_STR(sh_str(sh_find("smtp-auth", 0), "user.name"), "alice");
    CHECK_STR(sh_str(sh_find("smtp-auth", 0), "message"), "SMTP AUTH NTLM");
    free(f);

    /* client side only: PLAIN/LOGIN lines are counted without the server's 334 */
    setup();
    f = flow_new(587);
    static const sh_step oneway[] = {SH_C("EHLO c\r\n"), SH_C("AUTH LOGIN\r\n"), SH_C("ZXZl\r\n"), SH_C("cHc=\r\n"),
                                  SH_C("MAIL FROM:<eve@x>\r\n"), SH_END};
    play(f, oneway, 0, true);
    CHECK_STR(sh_str(sh_find("smtp-auth", 0), "user.name"), "eve");
    CHECK_STR(sh_str(sh_find("smtp-auth", 0), "event.outcome"), "unknown");
    CHECK_STR(sh_str(sh_find("smtp-mail", 0), "smtp.mail_from"), "<eve@x>");
    free(f);
}

static void bdat_chunks(void) {
    setup();
    mm_flow *f = flow_new(25);
    static const char c1[] = "Subject: chun";               /* 13 */
    static const char c2[] = "ked\r\nTo: z@q\r\n\r\nhi http://b.example/";   /* 37 */
    char cmd1[64], cmd2[64];
    snprintf(cmd1, sizeof cmd1, "BDAT %zu\r\n", sizeof c1 - 1);
    snprintf(cmd2, sizeof cmd2, "BDAT %zu LAST\r\n", sizeof c2 - 1);
    sh_step st[] = {SH_S("220 mx\r\n"), SH_C("EHLO c\r\n"), SH_S("250 CHUNKING\r\n"), SH_C("MAIL FROM:<b@x>\r\n"),
                 SH_S("250 ok\r\n"), SH_C("RCPT TO:<z@q>\r\n"), SH_S("250 ok\r\n"), SH_C(cmd1), SH_C(c1), SH_S("250 ok\r\n"),
                 SH_C(cmd2), SH_C(c2), SH_S("250 queued\r\n"), SH_C("QUIT\r\n"), SH_END};
    play(f, st, 0, true);
    CHECK_INT(sh_count("smtp-mail"), 1);
    json_t *m = sh_find("smtp-mail", 0);
    CHECK_STR(sh_str(m, "email.subject"), "chunked");
    CHECK_STR(sh_item(m, "email.to.address", 0), "z@q");
    CHECK_STR(sh_item(m, "email.urls", 0), "http://b.example/");
    CHECK_STR(sh_str(m, "event.outcome"), "success");
    CHECK_INT(sh_app_errors(), 0);
    free(f);
    /* a malformed size is counted and the session goes on */
    setup();
    f = flow_new(25);
    static const sh_step bad[] = {SH_S("220 mx\r\n"), SH_C("BDAT x12\r\n"), SH_S("501 syntax\r\n"), SH_C("MAIL FROM:<c@x>\r\n"), SH_END};
    play(f, bad, 0, true);
    CHECK(sh_app_errors() > 0);
    CHECK_STR(sh_str(sh_find("smtp-mail", 0), "smtp.mail_from"), "<c@x>");
    free(f);
}

static void starttls_stops_parsing(void) {
    static const uint8_t hello[] = {0x16, 0x03, 0x01, 0x00, 0x05, 0x01, 0x00, 0x00, 0x01, 0x00,
                                    'M', 'A', 'I', 'L', ' ', 'F', 'R', 'O', 'M', ':', '\r', '\n'};
    setup();
    mm_flow *f = flow_new(25);
    sh_step st[] = {SH_S("220 mx.google.com ESMTP\r\n"), SH_C("EHLO xxx.example\r\n"),
                 SH_S("250-mx.google.com at your service\r\n250-STARTTLS\r\n250 CHUNKING\r\n"),
                 SH_C("STARTTLS\r\n"), SH_S("220 2.0.0 Ready to start TLS\r\n"),
                 {MM_C2S, (const char *)hello, sizeof hello}, SH_S("\x16\x03\x01\x00\x02\x02\x00\r\n550 x\r\n"),
                 SH_C("MAIL FROM:<hidden@x>\r\n"), SH_END};
    play(f, st, 0, true);
    CHECK_INT(sh_count("smtp-starttls"), 1);
    CHECK_STR(sh_str(sh_find("smtp-starttls", 0), "smtp.helo"), "xxx.example");
    CHECK_INT(sh_count("smtp-mail"), 0);   /* what follows is TLS (the TLS analyzer's) */
    free(f);
    /* refused STARTTLS: plaintext goes on */
    setup();
    f = flow_new(25);
    static const sh_step no[] = {SH_S("220 mx\r\n"), SH_C("STARTTLS\r\n"), SH_S("454 TLS not available\r\n"),
                              SH_C("MAIL FROM:<plain@x>\r\n"), SH_S("250 ok\r\n"), SH_END};
    play(f, no, 0, true);
    CHECK_INT(sh_count("smtp-starttls"), 0);
    CHECK_STR(sh_str(sh_find("smtp-mail", 0), "smtp.mail_from"), "<plain@x>");
    free(f);
    /* client side only: the ClientHello after STARTTLS is recognised */
    setup();
    f = flow_new(25);
    sh_step one[] = {SH_C("EHLO c\r\n"), SH_C("STARTTLS\r\n"), {MM_C2S, (const char *)hello, sizeof hello}, SH_END};
    play(f, one, 0, true);
    CHECK_INT(sh_count("smtp-starttls"), 1);
    free(f);
}

/* Zeek's smtp-attachment-msg.pcap holds the client side only, in lower case. */
static void client_side_only(void) {
    setup();
    mm_flow *f = flow_new(25);
    static const sh_step st[] = {
        SH_C("ehlo localhost.localdomain\r\n"), SH_C("mail FROM:<sender@example.com>\r\n"),
        SH_C("rcpt TO:<recipient@example.com>\r\n"), SH_C("data\r\n"),
        SH_C("Content-Type: multipart/mixed; boundary=\"===============6117237608014356945==\"\r\n"
          "MIME-Version: 1.0\r\nFrom: sender@example.com\r\nTo: recipient@example.com\r\nSubject: subject\r\n\r\n"
          "--===============6117237608014356945==\r\nContent-Type: text/plain; charset=\"us-ascii\"\r\n"
          "MIME-Version: 1.0\r\nContent-Transfer-Encoding: 7bit\r\n\r\nthis is the body\r\n"
          "--===============6117237608014356945==\r\nMIME-Version: 1.0\r\nContent-Transfer-Encoding: 8bit\r\n"
          "Content-Type: message/rfc822\r\nContent-Disposition: attachment; filename=\"test.msg\"\r\n\r\n"
          "From: <attachment@example.com>\r\n\r\n\r\n--===============6117237608014356945==--\r\n.\r\n"),
        SH_END};
    play(f, st, 0, true);
    CHECK_INT(sh_count("smtp-mail"), 1);
    json_t *m = sh_find("smtp-mail", 0);
    CHECK_STR(sh_str(m, "smtp.helo"), "localhost.localdomain");
    CHECK_STR(sh_str(m, "smtp.mail_from"), "<sender@example.com>");
    CHECK_STR(sh_item(m, "smtp.rcpt_to", 0), "<recipient@example.com>");
    CHECK_STR(sh_str(m, "email.from.address"), "sender@example.com");
    CHECK_STR(sh_str(m, "email.subject"), "subject");
    CHECK_STR(sh_item(m, "email.attachments.file.name", 0), "test.msg");
    CHECK_INT(sh_item_int(m, "email.attachments.file.size", 0), 34);
    CHECK_STR(sh_str(m, "event.outcome"), "unknown");
    CHECK_STR(sh_str(sh_find("mail-attachment", 0), "file.name"), "test.msg");
    free(f);
}

static void dot_stuffing_and_terminator(void) {
    setup();
    mm_flow *f = flow_new(25);
    static const sh_step st[] = {
        SH_S("220 mx\r\n"), SH_C("MAIL FROM:<d@x>\r\n"), SH_S("250 ok\r\n"), SH_C("DATA\r\n"), SH_S("354 go\r\n"),
        SH_C("Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
          "Content-Disposition: attachment; filename=dots.txt\r\n\r\n"
          "..hidden\r\n...two\r\nend\r\n--b--\r\n"
          "..\r\n"                 /* a stuffed lone dot is data, not the end */
          ".\r"),                  /* the end, split across chunks */
        SH_C("\n"), SH_S("250 ok\r\n"), SH_C("QUIT\r\n"), SH_END};
    play(f, st, 0, true);
    json_t *fe = sh_find("mail-attachment", 0);
    CHECK_STR(sh_str(fe, "file.hash.md5"), "b12134d1a1a10c0716154023340ae33f");
    CHECK_STR(sh_str(sh_find("smtp-mail", 0), "event.outcome"), "success");
    CHECK_INT(sh_count("smtp-mail"), 1);
    free(f);
}

static void japanese_and_executable_attachment(void) {
    setup();
    mm_flow *f = flow_new(25);
    static const sh_step st[] = {
        SH_S("220 mx\r\n"), SH_C("HELO pc01\r\n"), SH_S("250 ok\r\n"), SH_C("MAIL FROM:<soumu@city.example.lg.jp>\r\n"),
        SH_S("250 ok\r\n"), SH_C("RCPT TO:<kaikei@city.example.lg.jp>\r\n"), SH_S("250 ok\r\n"), SH_C("DATA\r\n"),
        SH_S("354 go\r\n"),
        SH_C("From: =?ISO-2022-JP?B?GyRCOzNFRBsoQg==?= <soumu@city.example.lg.jp>\r\n"
          "To: kaikei@city.example.lg.jp\r\n"
          "Subject: =?ISO-2022-JP?B?GyRCJUYlOSVIGyhC?=\r\n"
          "Content-Type: multipart/mixed; boundary=\"==b==\"\r\n\r\n"
          "--==b==\r\nContent-Type: text/plain; charset=ISO-2022-JP\r\n\r\n"
          "\x1b$B$*@$OC$K$J$C$F$*$j$^$9\x1b(B http://phish.example/jp\r\n"
          "--==b==\r\nContent-Type: application/octet-stream\r\n"
          "Content-Disposition: attachment; filename*=UTF-8''%E8%AB%8B%E6%B1%82%E6%9B%B8.pdf.exe\r\n"
          "Content-Transfer-Encoding: base64\r\n\r\n"
          "TVqQAAMAAAAEAAAA//8AALgAAAAAAAAAQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\r\n"
          "gAAAAA4fug4AtAnNIbgBTM0hVGhpcyBwcm9ncmFtIGNhbm5vdCBiZSBydW4gaW4gRE9TIG1vZGUuDQ0K\r\n"
          "JAAAAAAAAABQRQAATAEDAA==\r\n"
          "--==b==\r\nContent-Type: image/png; name=\"=?Shift_JIS?B?g2WDWINn?=.png\"\r\n"
          "Content-Disposition: inline\r\nContent-Transfer-Encoding: base64\r\n\r\n"
          "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==\r\n"
          "--==b==--\r\n.\r\n"),
        SH_S("250 ok\r\n"), SH_END};
    play(f, st, 0, true);
    json_t *m = sh_find("smtp-mail", 0);
    CHECK_STR(sh_str(m, "email.subject"), "テスト");
    CHECK_STR(sh_str(m, "email.from.address"), "soumu@city.example.lg.jp");
    CHECK_INT(sh_len(m, "email.attachments.file.name"), 2);
    CHECK_STR(sh_item(m, "email.attachments.file.name", 0), "請求書.pdf.exe");
    const char *mt = sh_item(m, "email.attachments.file.mime_type", 0);
    CHECK(mt && (!strcmp(mt, "application/x-dosexec") || !strcmp(mt, "application/vnd.microsoft.portable-executable")));
    CHECK_STR(sh_item(m, "email.attachments.file.name", 1), "テスト.png");
    CHECK_STR(sh_item(m, "email.attachments.file.mime_type", 1), "image/png");
    CHECK_STR(sh_item(m, "email.urls", 0), "http://phish.example/jp");
    CHECK(f->risks & MM_RISK_BINARY_TRANSFER);
    json_t *fe = sh_find("mail-attachment", 0);
    CHECK_STR(sh_str(fe, "file.name"), "請求書.pdf.exe");
    CHECK_STR(sh_str(fe, "file.extension"), "exe");
    CHECK_STR(sh_str(fe, "email.subject"), "テスト");
    free(f);
}

static void hostile_input_counted(void) {
    setup();
    mm_flow *f = flow_new(25);
    char *longcmd = malloc(20000);
    memset(longcmd, 'A', 19990);
    memcpy(longcmd + 19990, "\r\n", 3);
    static const uint8_t junk[] = {0x00, 0xff, 0x80, '\r', '\n', 0x01, 0x02, '\n'};
    sh_step st[] = {SH_S("220 mx\r\n"), SH_C(longcmd), {MM_C2S, (const char *)junk, sizeof junk},
                 SH_S("\x01\x02 not a reply\r\n2\r\n"), SH_C("MAIL FROM:<ok@x>\r\n"), SH_S("250 ok\r\n"), SH_END};
    play(f, st, 0, true);
    CHECK(sh_app_errors() >= 3);
    CHECK(f->risks & MM_RISK_MALFORMED);
    CHECK_STR(sh_str(sh_find("smtp-mail", 0), "smtp.mail_from"), "<ok@x>");
    free(longcmd);
    free(f);

    /* 150 recipients: 100 kept, counted */
    setup();
    f = flow_new(25);
    void *x = mm_app_smtp.open(f);
    FEED(x, f, MM_C2S, "MAIL FROM:<m@x>\r\n");
    for (int i = 0; i < 150; i++) {
        char r[64];
        int n = snprintf(r, sizeof r, "RCPT TO:<r%d@y>\r\n", i);
        mm_app_smtp.data(x, f, MM_C2S, (const uint8_t *)r, (size_t)n);
    }
    mm_app_smtp.close(x, f);
    CHECK_INT(sh_len(sh_find("smtp-mail", 0), "smtp.rcpt_to"), 100);
    CHECK(sh_app_errors() >= 1);
    free(f);

    /* a message over 64 MiB: the rest is skipped, the end is still found, the
     * attachment is marked truncated */
    setup();
    f = flow_new(25);
    x = mm_app_smtp.open(f);
    static const char head[] = "MAIL FROM:<big@x>\r\nDATA\r\nSubject: big\r\nContent-Type: multipart/mixed; boundary=q\r\n\r\n"
                               "--q\r\nContent-Disposition: attachment; filename=big.bin\r\n\r\n";
    mm_app_smtp.data(x, f, MM_C2S, (const uint8_t *)head, sizeof head - 1);
    size_t blk = 1 << 16;
    char *b = malloc(blk);
    for (size_t i = 0; i < blk; i += 64) {
        memset(b + i, 'x', 62);
        b[i + 62] = '\r', b[i + 63] = '\n';
    }
    for (int i = 0; i < 1040; i++) mm_app_smtp.data(x, f, MM_C2S, (const uint8_t *)b, blk);   /* 65 MiB */
    FEED(x, f, MM_C2S, "\r\n--q--\r\n.\r\n");
    FEED(x, f, MM_S2C, "220 mx\r\n250 ok\r\n354 go\r\n250 ok\r\n");
    mm_app_smtp.close(x, f);
    free(b);
    CHECK_INT(sh_count("smtp-mail"), 1);
    json_t *m = sh_find("smtp-mail", 0);
    CHECK_STR(sh_str(m, "email.subject"), "big");
    CHECK_STR(sh_str(m, "event.outcome"), "success");
    CHECK_STR(sh_str(sh_find("mail-attachment", 0), "file.truncated"), "true");
    CHECK(sh_app_errors() >= 1);
    free(f);
}

static void gap_marks_attachment_truncated(void) {
    setup();
    mm_flow *f = flow_new(25);
    void *x = mm_app_smtp.open(f);
    static const char a[] = "MAIL FROM:<g@x>\r\nDATA\r\nContent-Type: multipart/mixed; boundary=q\r\n\r\n"
                            "--q\r\nContent-Disposition: attachment; filename=g.bin\r\n\r\nabc";
    static const char b[] = "lost\r\ndef\r\n--q--\r\n.\r\nQUIT\r\n";
    mm_app_smtp.data(x, f, MM_C2S, (const uint8_t *)a, sizeof a - 1);
    mm_app_smtp.gap(x, f, MM_C2S, 500);
    mm_app_smtp.data(x, f, MM_C2S, (const uint8_t *)b, sizeof b - 1);
    /* a gap in the replies: the half line is dropped, the next one is read (the
     * verdict on the message) */
    uint64_t e0 = sh_app_errors();
    static const char r1[] = "220 mx\r\n250 ok\r\n354 go\r\n25", r2[] = "xx\r\n554 rejected\r\n";
    mm_app_smtp.data(x, f, MM_S2C, (const uint8_t *)r1, sizeof r1 - 1);
    mm_app_smtp.gap(x, f, MM_S2C, 10);
    mm_app_smtp.data(x, f, MM_S2C, (const uint8_t *)r2, sizeof r2 - 1);
    CHECK_INT(sh_app_errors(), e0);
    mm_app_smtp.close(x, f);
    CHECK_STR(sh_str(sh_find("smtp-mail", 0), "event.outcome"), "failure");
    json_t *fe = sh_find("mail-attachment", 0);
    CHECK_STR(sh_str(fe, "file.truncated"), "true");
    CHECK_INT(sh_int(fe, "file.size"), 3);
    CHECK_INT(sh_count("smtp-mail"), 1);
    /* a gap while reading commands */
    setup();
    f->s = sh.s;
    x = mm_app_smtp.open(f);
    FEED(x, f, MM_C2S, "MAIL FR");
    mm_app_smtp.gap(x, f, MM_C2S, 5);
    FEED(x, f, MM_C2S, "OM:<x@y>\r\nMAIL FROM:<z@y>\r\n");
    mm_app_smtp.close(x, f);
    CHECK_INT(sh_count("smtp-mail"), 1);
    CHECK_STR(sh_str(sh_find("smtp-mail", 0), "smtp.mail_from"), "<z@y>");
    free(f);
}

static int probe_of(uint16_t port, const char *c, const char *s) {
    mm_flow f;
    memset(&f, 0, sizeof f);
    f.sport = port;
    f.cport = 50000;
    f.proto = 6;
    return mm_app_smtp.probe(&f, (const uint8_t *)c, strlen(c), (const uint8_t *)s, strlen(s));
}

static void probe_decisions(void) {
    CHECK_INT(probe_of(25, "", "220 mx ESMTP\r\n"), MM_PROBE_YES);
    CHECK_INT(probe_of(2525, "", "220 server ready\r\n"), MM_PROBE_YES);
    CHECK_INT(probe_of(8025, "", "220 mail.example ESMTP Postfix\r\n"), MM_PROBE_YES);
    CHECK_INT(probe_of(8025, "EHLO me\r\n", "220 hi\r\n"), MM_PROBE_YES);
    CHECK_INT(probe_of(8025, "ehlo localhost\r\n", ""), MM_PROBE_YES);
    CHECK_INT(probe_of(8025, "", "220 hi\r\n"), MM_PROBE_MAYBE);
    CHECK_INT(probe_of(21, "", "220 ProFTPD Server\r\n"), MM_PROBE_MAYBE);
    CHECK_INT(probe_of(21, "USER anonymous\r\n", "220 ProFTPD Server\r\n"), MM_PROBE_NO);
    CHECK_INT(probe_of(8025, "EH", ""), MM_PROBE_MAYBE);
    CHECK_INT(probe_of(80, "GET / HTTP/1.1\r\n", ""), MM_PROBE_NO);
    CHECK_INT(probe_of(25, "GET / HTTP/1.1\r\n", ""), MM_PROBE_NO);
    CHECK_INT(probe_of(25, "MAIL FROM:<a@b>\r\n", ""), MM_PROBE_YES);
    CHECK_INT(probe_of(8080, "MAIL FROM:<a@b>\r\n", ""), MM_PROBE_NO);
    CHECK_INT(probe_of(25, "", "HTTP/1.1 200 OK\r\n"), MM_PROBE_NO);
    CHECK_INT(probe_of(25, "", "22"), MM_PROBE_MAYBE);
    CHECK_INT(probe_of(443, "\x16\x03\x01", ""), MM_PROBE_NO);
    CHECK_INT(probe_of(443, "", ""), MM_PROBE_MAYBE);
}

/* ---- the corpora, through the whole sensor ---- */

static bool run_pcap(const char *rel) {
    mm_sensor_opts o = sh_opts();
    o.flow_events = false;
    return sh_sensor_pcap(t_corpora(), rel, &o, true);
}

static void corpus_suricata_smtp_eve(void) {
    if (!run_pcap("suricata-verify/smtp-eve/input.pcap")) return;
    CHECK_INT(sh.ev.bad, 0);
    json_t *m = sh_find("smtp-mail", 0);
    CHECK(m);
    CHECK_STR(sh_str(m, "destination.ip"), "74.53.140.153");
    CHECK_INT(sh_int(m, "destination.port"), 25);
    CHECK_STR(sh_str(m, "source.ip"), "10.10.1.4");
    CHECK_INT(sh_int(m, "source.port"), 1470);
    CHECK_STR(sh_str(m, "network.protocol"), "smtp");
    CHECK_STR(sh_str(m, "smtp.helo"), "GP");
    CHECK_STR(sh_str(m, "smtp.mail_from"), "<gurpartap@patriots.in>");
    CHECK_STR(sh_item(m, "smtp.rcpt_to", 0), "<raj_deol2002in@yahoo.co.in>");
    CHECK_STR(sh_str(m, "email.from.address"), "gurpartap@patriots.in");
    CHECK_STR(sh_item(m, "email.to.address", 0), "raj_deol2002in@yahoo.co.in");
    CHECK_STR(sh_item(m, "email.attachments.file.name", 0), "NEWS.txt");
    CHECK_INT(sh_item_int(m, "email.attachments.file.size", 0), 10807);
    CHECK_STR(sh_str(m, "event.outcome"), "success");
    json_t *fe = sh_find("mail-attachment", 0);
    CHECK_STR(sh_str(fe, "file.name"), "NEWS.txt");
    CHECK_INT(sh_int(fe, "file.size"), 10807);
    CHECK(!sh_str(fe, "file.truncated"));
    CHECK_STR(sh_str(fe, "email.from.address"), "gurpartap@patriots.in");
    CHECK_STR(sh_item(fe, "smtp.rcpt_to", 0), "<raj_deol2002in@yahoo.co.in>");
    json_t *a = sh_find("smtp-auth", 0);
    CHECK_STR(sh_str(a, "user.name"), "gurpartap@patriots.in");
    CHECK_STR(sh_str(a, "event.outcome"), "success");
    CHECK(!sh_raw_contains("punjab"));
}

static void corpus_suricata_attachment_md5(void) {
    if (!run_pcap("suricata-verify/smtp-attachment-md5/input.pcap")) return;
    json_t *fe = sh_find("mail-attachment", 0);
    CHECK(fe);
    CHECK_STR(sh_str(fe, "file.name"), "EICAR-Test-File");
    CHECK_STR(sh_str(fe, "file.hash.md5"), "44d88612fea8a8f36de82e1278abb02f");
    json_t *m = sh_find("smtp-mail", 0);
    CHECK_STR(sh_str(m, "email.from.address"), "gavin.shrubbery@gmail.com");
    CHECK_STR(sh_item(m, "email.to.address", 0), "172.16.92.2@linuxbox");
    CHECK_STR(sh_str(m, "email.subject"), "This is a test email");
}

static void corpus_suricata_urls(void) {
    if (!run_pcap("suricata-verify/smtp-extract-url-schemes/input.pcap")) return;
    json_t *m = sh_find("smtp-mail", 0);
    CHECK(m);
    CHECK_INT(sh_len(m, "email.urls"), 4);
    CHECK_STR(sh_item(m, "email.urls", 0), "ftp://172.42.48.124");
    CHECK_STR(sh_item(m, "email.urls", 1), "https://facebook.com");
    CHECK_STR(sh_item(m, "email.urls", 2), "http://test-site.org/blah/123/");
    CHECK_STR(sh_item(m, "email.urls", 3), "http://google.com");
    if (!run_pcap("suricata-verify/smtp-url-base64/input.pcap")) return;
    m = sh_find("smtp-mail", 0);
    CHECK(m);
    CHECK_STR(sh_item(m, "email.urls", 0), "http://codashop-free01.duckdns.org/");
    CHECK_STR(sh_str(m, "smtp.helo"), "client.mydomain.com");
    CHECK_STR(sh_str(m, "email.message_id"), "63f2666aa88643e7a165c7a507422e84@lalala.com");
}

static void corpus_zeek(void) {
    if (!run_pcap("zeek/smtp.pcap")) return;
    CHECK_INT(sh_count("smtp-mail"), 2);
    json_t *m = NULL;
    for (int i = 0; i < 2; i++)
        if (!strcmp(sh_str(sh_find("smtp-mail", i), "source.ip"), "192.168.133.100")) m = sh_find("smtp-mail", i);
    CHECK(m);
    CHECK_STR(sh_str(m, "smtp.helo"), "[192.168.133.100]");
    CHECK_INT(sh_len(m, "smtp.rcpt_to"), 3);
    CHECK_STR(sh_item(m, "smtp.rcpt_to", 2), "<davis_mark1@outlook.com>");
    CHECK_INT(sh_len(m, "email.cc.address"), 2);
    CHECK_STR(sh_item(m, "email.cc.address", 1), "davis_mark1@outlook.com");
    CHECK_STR(sh_item(m, "email.to.address", 0), "ericlim220@yahoo.com");
    CHECK_STR(sh_str(m, "email.subject"), "Re: Bro SMTP CC Header");
    CHECK_STR(sh_str(m, "email.x_mailer"), "Apple Mail (2.2102)");
    CHECK_STR(sh_str(m, "email.message_id"), "A6202DF2-8E58-4E41-BE0B-C8D3989A4AEE@example.com");
    CHECK_STR(sh_str(m, "email.content_type"), "text/plain");
    CHECK_STR(sh_str(m, "event.outcome"), "success");

    if (!run_pcap("zeek/smtp-attachment-msg.pcap")) return;
    m = sh_find("smtp-mail", 0);
    CHECK(m);
    CHECK_STR(sh_item(m, "email.attachments.file.name", 0), "test.msg");
    CHECK_STR(sh_str(m, "event.outcome"), "unknown");
}

static void corpus_ndpi(void) {
    if (!run_pcap("ndpi/pcap/smtp.pcap")) return;
    json_t *m = sh_find("smtp-mail", 0);
    CHECK(m);
    CHECK_STR(sh_str(m, "smtp.helo"), "delta.peach.mil");
    CHECK_STR(sh_str(m, "smtp.mail_from"), "<coreys@delta.peach.mil>");
    CHECK_INT(sh_len(m, "smtp.rcpt_to"), 30);
    CHECK_INT(sh_len(m, "email.to.address"), 100);   /* the To header is longer: cut */
    CHECK_STR(sh_str(m, "email.subject"), "Take into The would, for");
    CHECK_STR(sh_str(m, "event.outcome"), "success");

    if (!run_pcap("ndpi/pcap/smtp-starttls.pcap")) return;
    CHECK_INT(sh_count("smtp-starttls"), 2);
    CHECK_INT(sh_count("smtp-mail"), 0);
    CHECK_STR(sh_str(sh_find("smtp-starttls", 0), "smtp.helo"), "xxxxxxxxxxxxx.xxx.com");
}

int main(void) {
    TEST(session_like_smtp_eve);
    TEST(session_bytewise_identical);
    TEST(pipelining_and_refusals);
    TEST(multiple_messages_rset_and_failure_reason);
    TEST(auth_mechanisms);
    TEST(bdat_chunks);
    TEST(starttls_stops_parsing);
    TEST(client_side_only);
    TEST(dot_stuffing_and_terminator);
    TEST(japanese_and_executable_attachment);
    TEST(hostile_input_counted);
    TEST(gap_marks_attachment_truncated);
    TEST(probe_decisions);
    TEST(corpus_suricata_smtp_eve);
    TEST(corpus_suricata_attachment_md5);
    TEST(corpus_suricata_urls);
    TEST(corpus_zeek);
    TEST(corpus_ndpi);
    sh_sensor_free();
    TEST_MAIN_END();
}
