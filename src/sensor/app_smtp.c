/* app_smtp: SMTP (RFC 5321) with ESMTP pipelining (RFC 2920), CHUNKING/BDAT
 * (RFC 3030), AUTH (RFC 4954) and STARTTLS (RFC 3207).
 *
 * Events: one `smtp-mail` per mail transaction (MAIL FROM .. end of DATA/BDAT, or
 * abandoned by RSET/a new MAIL/the end of the flow) with the envelope, the message
 * header summary, the attachments and the URLs of the body; its outcome is the
 * server's reply to the end of the data.  One `smtp-auth` per AUTH exchange (the
 * user name decoded from PLAIN/LOGIN/XOAUTH2/CRAM-MD5/NTLM, never the secret).
 * One `smtp-starttls` when the server accepts STARTTLS; from there the bytes are
 * TLS and go to the TLS analyzer (so the handshake of STARTTLS sessions is seen).
 * Every attachment is a file (`mail-attachment`) carrying the mail's linking fields.
 *
 * Replies are matched to commands through a queue, since pipelining clients send
 * several commands before the first reply.  The client side alone is enough:
 * captures that hold one direction still give the envelope and the message (the
 * outcome is then "unknown").  The message body goes through the MIME parser
 * (mime.c) as it arrives: nothing but the current line is buffered. */
#define _GNU_SOURCE
#include "sensor_int.h"
#include "mime.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CMD_LINE_MAX 8192            /* a command line (AUTH tokens can be long) */
#define REPLY_LINE_MAX 1024          /* a reply line: only its start matters */
#define PEND_MAX 64                  /* commands waiting for their replies */
#define RCPT_MAX 100                 /* recipients kept per transaction */
#define ADDR_LIST_MAX 100            /* To/Cc addresses written per event */
#define ATT_MAX 64                   /* attachments extracted per message */
#define MSG_MAX (64ull << 20)        /* message bytes parsed; the rest is skipped */
#define ARG_MAX 512                  /* HELO, MAIL FROM, RCPT TO arguments */
#define AUTH_DEC_MAX 4096            /* decoded AUTH response */

enum { Q_GREET, Q_HELO, Q_MAIL, Q_RCPT, Q_DATA, Q_END, Q_BDAT, Q_AUTH, Q_STARTTLS, Q_RSET, Q_QUIT, Q_OTHER };
enum { CM_CMD, CM_DATA, CM_BDAT, CM_TLS, CM_OFF };
enum { AU_NONE, AU_PLAIN, AU_LOGIN, AU_CRAM, AU_XOAUTH2, AU_OAUTHBEARER, AU_NTLM, AU_OTHER };

/* Problems counted once per flow each (mm_sensor_app_error). */
enum { E_CMD_LONG, E_REPLY_BAD, E_MSG_BIG, E_RCPT_MANY, E_ATT_MANY, E_BDAT_BAD, E_CMD_BAD,
       E_AUTH_BAD, E_ADDR_MANY, E_PEND, E_NOMEM, E_COUNT };
static const char *const err_text[E_COUNT] = {
    "command line over 8 KiB", "malformed reply", "message over 64 MiB, rest not parsed",
    "over 100 recipients", "over 64 attachments", "malformed BDAT size", "malformed command",
    "malformed AUTH response", "over 100 addresses in a header", "over 64 commands without reply",
    "out of memory"};

typedef struct att {
    char *name;
    char mime[96];
    uint64_t size;
    char sha256[65];
} att;

typedef struct smtp smtp;

typedef struct tx {
    smtp *s;
    char *mail_from;
    char *rcpt[RCPT_MAX];
    int nrcpt;
    int rcpt_ok, rcpt_fail;
    bool mail_fail, data_fail;
    bool data;                   /* DATA/BDAT seen */
    bool ended;                  /* the whole message arrived */
    bool capped;
    uint64_t bytes;
    mm_mime *mime;
    mm_sfile *file;              /* the attachment being received */
    att atts[ATT_MAX];
    int natt;
} tx;

typedef struct pend {
    uint8_t kind;
    tx *t;
} pend;

struct smtp {
    mm_flow *f;
    char helo[ARG_MAX];
    int cmode;
    char cl[CMD_LINE_MAX];
    size_t cll;
    bool cl_over, c_resync;
    int dot;                     /* DATA terminator scan, see data_bytes */
    uint64_t bdat_left;
    bool bdat_last;
    char rl[REPLY_LINE_MAX];
    size_t rll;
    bool rl_over, r_resync;
    char rtext[256];             /* the first line of the reply being read */
    bool rmid;                   /* inside a multi-line reply */
    pend q[PEND_MAX];
    int qh, qn;
    tx *cur;
    struct {
        bool active;
        int mech;
        char mname[24];
        char user[256];
        int lines;               /* client lines still to read as AUTH data */
        int step;
        bool cancelled;
    } au;
    bool starttls_sent;
    void *tls;
    uint32_t errs;
};

static void err(smtp *s, int e) {
    if (s->errs & (1u << e)) return;
    s->errs |= 1u << e;
    mm_sensor_app_error(s->f, "smtp", err_text[e]);
}

static inline uint8_t lc(uint8_t c) { return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c; }


static char *dupn(smtp *s, const char *p, size_t n) {
    char *c = malloc(n + 1);
    if (!c) {
        err(s, E_NOMEM);
        return NULL;
    }
    memcpy(c, p, n);
    c[n] = 0;
    return c;
}

/* ---------------------------------------------------------------- events */

typedef struct addr_ctx {
    mm_sev *e;
    int n;
    smtp *s;
    char first[320];
} addr_ctx;

static void addr_item(void *ctx, const char *a, size_t n) {
    addr_ctx *c = ctx;
    if (c->n >= ADDR_LIST_MAX) {
        if (c->n == ADDR_LIST_MAX) err(c->s, E_ADDR_MANY);
        c->n++;
        return;
    }
    c->n++;
    mm_sev_item(c->e, a, n);
}

static void addr_first(void *ctx, const char *a, size_t n) {
    addr_ctx *c = ctx;
    if (c->n++ == 0) snprintf(c->first, sizeof c->first, "%.*s", (int)n, a);
}

static void put_addr_list(smtp *s, mm_sev *e, const char *key, const char *raw) {
    if (!raw || !mm_mime_addresses(raw, strlen(raw), NULL, NULL)) return;
    addr_ctx c = {.e = e, .s = s};
    mm_sev_list(e, key);
    mm_mime_addresses(raw, strlen(raw), addr_item, &c);
    mm_sev_list_end(e);
}

static void put_from(mm_sev *e, const char *raw) {
    if (!raw) return;
    addr_ctx c = {.e = e};
    mm_mime_addresses(raw, strlen(raw), addr_first, &c);
    if (c.first[0]) mm_sev_cstr(e, "email.from.address", c.first);
}

/* The fields a mail's events share: the envelope and the header summary. */
static void put_mail_fields(smtp *s, tx *t, mm_sev *e) {
    if (t->mime) {
        put_from(e, mm_mime_header(t->mime, MM_MIME_H_FROM));
        put_addr_list(s, e, "email.to.address", mm_mime_header(t->mime, MM_MIME_H_TO));
        put_addr_list(s, e, "email.cc.address", mm_mime_header(t->mime, MM_MIME_H_CC));
        mm_sev_cstr(e, "email.subject", mm_mime_subject(t->mime));
    }
    if (t->mail_from) mm_sev_cstr(e, "smtp.mail_from", t->mail_from);
    if (t->nrcpt) {
        mm_sev_list(e, "smtp.rcpt_to");
        for (int i = 0; i < t->nrcpt; i++) mm_sev_item(e, t->rcpt[i], strlen(t->rcpt[i]));
        mm_sev_list_end(e);
    }
}

static void tx_free(smtp *s, tx *t) {
    if (!t) return;
    for (int i = 0; i < s->qn; i++)   /* replies still due must not find it */
        if (s->q[(s->qh + i) % PEND_MAX].t == t) s->q[(s->qh + i) % PEND_MAX].t = NULL;
    if (t->file) mm_sfile_close(t->file, NULL);
    mm_mime_free(t->mime);
    free(t->mail_from);
    for (int i = 0; i < t->nrcpt; i++) free(t->rcpt[i]);
    for (int i = 0; i < t->natt; i++) free(t->atts[i].name);
    if (s->cur == t) s->cur = NULL;
    free(t);
}

/* The message is over (or given up): open parts end, their files close. */
static void tx_finish_mime(tx *t) {
    if (t->mime) mm_mime_end(t->mime);
}

static void emit_mail(smtp *s, tx *t, const char *outcome, const char *reason) {
    tx_finish_mime(t);   /* files close (and emit) before the mail event is built */
    mm_sev *e = mm_sev_begin(s->f, "email", "info", "smtp-mail");
    if (s->helo[0]) mm_sev_cstr(e, "smtp.helo", s->helo);
    put_mail_fields(s, t, e);
    if (t->mime) {
        const char *mid = mm_mime_header(t->mime, MM_MIME_H_MESSAGE_ID);
        if (mid) {
            size_t n = strlen(mid);
            while (n && (*mid == '<' || *mid == ' ' || *mid == '\t')) mid++, n--;
            while (n && (mid[n - 1] == '>' || mid[n - 1] == ' ' || mid[n - 1] == '\t')) n--;
            if (n) mm_sev_str(e, "email.message_id", mid, n);
        }
        mm_sev_cstr(e, "email.x_mailer", mm_mime_header(t->mime, MM_MIME_H_X_MAILER));
        mm_sev_cstr(e, "email.content_type", mm_mime_content_type(t->mime));
    }
    if (t->natt) {
        mm_sev_list(e, "email.attachments.file.name");
        for (int i = 0; i < t->natt; i++)
            mm_sev_item(e, t->atts[i].name ? t->atts[i].name : "", t->atts[i].name ? strlen(t->atts[i].name) : 0);
        mm_sev_list_end(e);
        mm_sev_list(e, "email.attachments.file.mime_type");
        for (int i = 0; i < t->natt; i++) mm_sev_item(e, t->atts[i].mime, strlen(t->atts[i].mime));
        mm_sev_list_end(e);
        mm_sev_list(e, "email.attachments.file.size");
        for (int i = 0; i < t->natt; i++) mm_sev_item_int(e, (int64_t)t->atts[i].size);
        mm_sev_list_end(e);
        mm_sev_list(e, "email.attachments.file.hash.sha256");
        for (int i = 0; i < t->natt; i++) mm_sev_item(e, t->atts[i].sha256, strlen(t->atts[i].sha256));
        mm_sev_list_end(e);
    }
    size_t nu = mm_mime_url_count(t->mime);
    if (nu) {
        /* most recent first, the order Suricata logs email.url in */
        mm_sev_list(e, "email.urls");
        for (size_t i = nu; i-- > 0;) {
            const char *u = mm_mime_url(t->mime, i);
            mm_sev_item(e, u, strlen(u));
        }
        mm_sev_list_end(e);
    }
    mm_sev_cstr(e, "event.outcome", outcome);
    if (reason && reason[0]) mm_sev_cstr(e, "event.reason", reason);
    mm_sev_end(e);
}

/* A transaction that never reached the end of its data: worth an event when it
 * carried an envelope (a rejected sender or recipients is what a SOC looks for). */
static void tx_abandon(smtp *s, tx *t) {
    if (!t) return;
    if (t->mail_from || t->nrcpt || t->data) {
        const char *oc = (t->mail_fail || (t->rcpt_fail && !t->rcpt_ok) || t->data_fail) ? "failure" : "unknown";
        emit_mail(s, t, oc, NULL);
    }
    tx_free(s, t);
}

static const char *outcome_of(int code) {
    if (code >= 200 && code < 400) return "success";
    if (code >= 400) return "failure";
    return "unknown";
}

static void emit_auth(smtp *s, int code, const char *text) {
    if (!s->au.active) return;
    mm_sev *e = mm_sev_begin(s->f, "authentication", "start", "smtp-auth");
    if (s->helo[0]) mm_sev_cstr(e, "smtp.helo", s->helo);
    if (s->au.user[0]) mm_sev_cstr(e, "user.name", s->au.user);
    char msg[64];
    snprintf(msg, sizeof msg, "SMTP AUTH %s", s->au.mname);
    mm_sev_cstr(e, "message", msg);
    mm_sev_cstr(e, "event.outcome", s->au.cancelled && !code ? "failure" : outcome_of(code));
    if (code >= 400 && text && text[0]) mm_sev_cstr(e, "event.reason", text);
    mm_sev_end(e);
    memset(&s->au, 0, sizeof s->au);
}

/* ---------------------------------------------------------------- MIME callbacks */

static void part_begin(void *ctx, const mm_mime_part *p) {
    tx *t = ctx;
    smtp *s = t->s;
    if (!p->attachment || t->file) return;
    if (t->natt >= ATT_MAX) {
        err(s, E_ATT_MANY);
        return;
    }
    t->file = mm_sfile_open(s->f, MM_C2S, "mail-attachment", p->filename, p->filename_len);
    if (!t->file) return;
    att *a = &t->atts[t->natt];
    memset(a, 0, sizeof *a);
    a->name = dupn(s, p->filename, p->filename_len);
}

static void part_data(void *ctx, const mm_mime_part *p, const uint8_t *d, size_t n) {
    tx *t = ctx;
    if (t->file) mm_sfile_write(t->file, d, n);
}

static void part_gap(void *ctx, const mm_mime_part *p, size_t n) {
    tx *t = ctx;
    if (t->file) mm_sfile_gap(t->file, n);
}

static void part_end(void *ctx, const mm_mime_part *p) {
    tx *t = ctx;
    smtp *s = t->s;
    if (!t->file) return;
    mm_sfile *h = t->file;
    t->file = NULL;
    put_mail_fields(s, t, mm_sfile_fields(h));
    if (t->capped) mm_sfile_gap(h, 0);
    mm_sfile_info info;
    mm_sfile_close(h, &info);
    att *a = &t->atts[t->natt++];
    snprintf(a->mime, sizeof a->mime, "%s", info.mime[0] ? info.mime : p->type);
    a->size = info.size;
    memcpy(a->sha256, info.sha256, sizeof a->sha256);
}

static void mime_anomaly(void *ctx, const char *why) {
    tx *t = ctx;
    mm_sensor_app_error(t->s->f, "smtp", why);
}

static const mm_mime_cbs mime_cbs = {
    .part_begin = part_begin,
    .part_data = part_data,
    .part_gap = part_gap,
    .part_end = part_end,
    .anomaly = mime_anomaly,
};

/* ---------------------------------------------------------------- transactions */

static tx *tx_cur(smtp *s) {
    if (s->cur) return s->cur;
    tx *t = calloc(1, sizeof *t);
    if (!t) {
        err(s, E_NOMEM);
        return NULL;
    }
    t->s = s;
    s->cur = t;
    return t;
}

static bool tx_data_start(smtp *s, tx *t) {
    if (!t->mime) t->mime = mm_mime_new(&mime_cbs, t);
    if (!t->mime) {
        err(s, E_NOMEM);
        return false;
    }
    t->data = true;
    return true;
}

static void msg_feed(smtp *s, const void *p, size_t n) {
    tx *t = s->cur;
    if (!t || !n) return;
    if (t->capped) {
        t->bytes += n;
        return;
    }
    if (t->bytes + n > MSG_MAX) {
        size_t keep = (size_t)(MSG_MAX - t->bytes);
        mm_mime_feed(t->mime, p, keep);
        t->bytes += n;
        t->capped = true;
        err(s, E_MSG_BIG);
        tx_finish_mime(t);   /* its files end here, marked truncated */
        return;
    }
    t->bytes += n;
    mm_mime_feed(t->mime, p, n);
}

static void pend_resolve(smtp *s, pend *e, int code, const char *text);

static void push(smtp *s, int kind, tx *t) {
    if (s->qn == PEND_MAX) {
        /* the server is silent (one-direction capture) or lagging: the oldest
         * command will never be matched */
        pend old = s->q[s->qh];
        s->qh = (s->qh + 1) % PEND_MAX;
        s->qn--;
        if (old.kind != Q_OTHER && old.kind != Q_RCPT && old.kind != Q_MAIL && old.kind != Q_HELO)
            err(s, E_PEND);
        pend_resolve(s, &old, 0, NULL);
    }
    s->q[(s->qh + s->qn) % PEND_MAX] = (pend){(uint8_t)kind, t};
    s->qn++;
}

/* End of the message data: the transaction waits for the server's verdict. */
static void msg_end(smtp *s) {
    tx *t = s->cur;
    s->cmode = CM_CMD;
    if (!t) return;
    tx_finish_mime(t);
    t->ended = true;
    s->cur = NULL;
    push(s, Q_END, t);
}

static void start_tls(smtp *s) {
    mm_sev *e = mm_sev_begin(s->f, "network", "protocol", "smtp-starttls");
    if (s->helo[0]) mm_sev_cstr(e, "smtp.helo", s->helo);
    mm_sev_cstr(e, "event.outcome", "success");
    mm_sev_end(e);
    s->cmode = CM_TLS;
    s->tls = mm_app_tls.open ? mm_app_tls.open(s->f) : NULL;
}

/* ---------------------------------------------------------------- AUTH */

static void auth_user(smtp *s, const uint8_t *p, size_t n) {
    if (n >= sizeof s->au.user) n = sizeof s->au.user - 1;
    memcpy(s->au.user, p, n);
    s->au.user[n] = 0;
}

static void secret_seen(smtp *s) {
    /* parsing stops at STARTTLS, so a secret seen here travelled in clear */
    s->f->risks |= MM_RISK_CLEARTEXT_CREDS;
}

/* NTLMSSP AUTHENTICATE (type 3): the user name is a security buffer at offset 36,
 * UTF-16LE when NEGOTIATE_UNICODE is set (flags at 60). */
static void ntlm_user(smtp *s, const uint8_t *d, size_t n) {
    if (n < 64 || memcmp(d, "NTLMSSP\0", 8) || d[8] != 3) return;
    uint16_t len = (uint16_t)(d[36] | d[37] << 8);
    uint32_t off = (uint32_t)d[40] | (uint32_t)d[41] << 8 | (uint32_t)d[42] << 16 | (uint32_t)d[43] << 24;
    uint32_t flags = (uint32_t)d[60] | (uint32_t)d[61] << 8 | (uint32_t)d[62] << 16 | (uint32_t)d[63] << 24;
    if (off > n || len > n - off) return;
    uint8_t u[256];
    size_t o = 0;
    if (flags & 1) {
        for (size_t i = 0; i + 1 < len && o + 3 < sizeof u; i += 2) {
            unsigned cp = d[off + i] | (unsigned)d[off + i + 1] << 8;
            if (cp >= 0xD800 && cp <= 0xDFFF) cp = '?';
            if (cp < 0x80) u[o++] = (uint8_t)cp;
            else if (cp < 0x800) u[o++] = (uint8_t)(0xC0 | cp >> 6), u[o++] = (uint8_t)(0x80 | (cp & 0x3F));
            else u[o++] = (uint8_t)(0xE0 | cp >> 12), u[o++] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F)),
                 u[o++] = (uint8_t)(0x80 | (cp & 0x3F));
        }
    } else {
        for (size_t i = 0; i < len && o < sizeof u - 1; i++) u[o++] = d[off + i];
    }
    auth_user(s, u, o);
}

/* One client response of the exchange (base64). */
static void auth_data(smtp *s, const char *l, size_t n) {
    uint8_t *d = malloc(AUTH_DEC_MAX);
    if (!d) {
        err(s, E_NOMEM);
        return;
    }
    long dn = mm_mime_b64_decode(l, n, d, AUTH_DEC_MAX, false);   /* AUTH line: tolerant of junk */
    int step = s->au.step++;
    if (dn < 0 && !(n == 1 && l[0] == '=')) {
        if (n) err(s, E_AUTH_BAD);
        free(d);
        return;
    }
    if (dn < 0) dn = 0;
    size_t m = (size_t)dn;
    switch (s->au.mech) {
    case AU_PLAIN: {
        /* authzid NUL authcid NUL passwd */
        const uint8_t *z1 = memchr(d, 0, m);
        const uint8_t *z2 = z1 ? memchr(z1 + 1, 0, m - (size_t)(z1 + 1 - d)) : NULL;
        if (!z2) {
            err(s, E_AUTH_BAD);
            break;
        }
        const uint8_t *cid = z1 + 1;
        size_t cn = (size_t)(z2 - cid);
        if (cn) auth_user(s, cid, cn);
        else auth_user(s, d, (size_t)(z1 - d));
        if (m - (size_t)(z2 + 1 - d) > 0) secret_seen(s);
        break;
    }
    case AU_LOGIN:
        if (step == 0) auth_user(s, d, m);
        else if (m) secret_seen(s);
        break;
    case AU_CRAM: {
        /* "user hexdigest": not a reusable secret */
        size_t k = m;
        while (k && d[k - 1] != ' ') k--;
        if (k) auth_user(s, d, k - 1);
        break;
    }
    case AU_XOAUTH2: {
        /* "user=U\1auth=Bearer T\1\1" */
        if (m > 5 && !memcmp(d, "user=", 5)) {
            const uint8_t *e = memchr(d + 5, 1, m - 5);
            auth_user(s, d + 5, e ? (size_t)(e - d - 5) : m - 5);
        }
        if (memmem(d, m, "auth=", 5)) secret_seen(s);
        break;
    }
    case AU_OAUTHBEARER: {
        /* gs2 header "n,a=U,\1auth=Bearer T\1\1" */
        const uint8_t *a = memmem(d, m, ",a=", 3);
        if (a) {
            const uint8_t *e = a + 3;
            while (e < d + m && *e != ',' && *e != 1) e++;
            auth_user(s, a + 3, (size_t)(e - a - 3));
        }
        if (memmem(d, m, "auth=", 5)) secret_seen(s);
        break;
    }
    case AU_NTLM:
        ntlm_user(s, d, m);
        break;
    default:
        break;
    }
    free(d);
}

static void auth_start(smtp *s, const char *a, size_t an) {
    if (s->au.active) emit_auth(s, 0, NULL);   /* a new AUTH without a verdict on the last */
    memset(&s->au, 0, sizeof s->au);
    s->au.active = true;
    size_t i = 0;
    while (i < an && a[i] != ' ') i++;
    size_t mn = i < sizeof s->au.mname ? i : sizeof s->au.mname - 1;
    for (size_t k = 0; k < mn; k++) {
        char c = a[k];
        s->au.mname[k] = (c >= 'a' && c <= 'z') ? (char)(c - 32) : (c >= 0x20 && c < 0x7f ? c : '?');
    }
    while (i < an && a[i] == ' ') i++;
    const char *ir = a + i;
    size_t irn = an - i;
    if (irn == 1 && ir[0] == '=') irn = 0;   /* an empty initial response */
    static const struct { const char *name; int mech; int lines, lines_ir; } mechs[] = {
        {"PLAIN", AU_PLAIN, 1, 0}, {"LOGIN", AU_LOGIN, 2, 1}, {"CRAM-MD5", AU_CRAM, 1, 1},
        {"XOAUTH2", AU_XOAUTH2, 1, 0}, {"OAUTHBEARER", AU_OAUTHBEARER, 1, 0},
        {"NTLM", AU_NTLM, 2, 1}, {NULL, AU_OTHER, 0, 0}};
    int k = 0;
    while (mechs[k].name && strcmp(mechs[k].name, s->au.mname)) k++;
    s->au.mech = mechs[k].mech;
    s->au.lines = irn ? mechs[k].lines_ir : mechs[k].lines;
    if (irn) auth_data(s, ir, irn);
}

static void auth_line(smtp *s, const char *l, size_t n) {
    s->au.lines--;
    if (n == 1 && l[0] == '*') {
        s->au.cancelled = true;
        s->au.lines = 0;
        return;
    }
    auth_data(s, l, n);
}

/* ---------------------------------------------------------------- replies */

static void pend_resolve(smtp *s, pend *e, int code, const char *text) {
    tx *t = e->t;
    switch (e->kind) {
    case Q_MAIL:
        if (t && code >= 400) t->mail_fail = true;
        break;
    case Q_RCPT:
        if (t && code >= 400) t->rcpt_fail++;
        else if (t && code) t->rcpt_ok++;
        break;
    case Q_DATA:
        if (t && code && code != 354) {
            t->data_fail = true;
            /* refused: the client sends no message; what follows are commands */
            if (s->cur == t && s->cmode == CM_DATA && t->bytes == 0) s->cmode = CM_CMD;
        }
        break;
    case Q_BDAT:
        if (t && code >= 400) t->data_fail = true;
        break;
    case Q_END:
        if (t) {
            emit_mail(s, t, outcome_of(code), code >= 400 ? text : NULL);
            tx_free(s, t);
        }
        break;
    case Q_AUTH:
        emit_auth(s, code, text);
        break;
    case Q_STARTTLS:
        if (code == 220) start_tls(s);
        else if (code) s->starttls_sent = false;
        break;
    default:
        break;
    }
}

static void reply(smtp *s, int code, const char *text) {
    if (s->qn == 0) return;   /* unsolicited (421 on timeout...) */
    pend *e = &s->q[s->qh];
    if (code == 334) {
        /* an AUTH challenge: the next client line is AUTH data */
        if (e->kind == Q_AUTH && s->au.active && s->au.lines <= 0) s->au.lines = 1;
        return;
    }
    pend cur = *e;
    s->qh = (s->qh + 1) % PEND_MAX;
    s->qn--;
    pend_resolve(s, &cur, code, text);
}

static void reply_line(smtp *s, const char *l, size_t n) {
    if (n < 3 || l[0] < '1' || l[0] > '5' || l[1] < '0' || l[1] > '9' || l[2] < '0' || l[2] > '9' ||
        (n > 3 && l[3] != ' ' && l[3] != '-')) {
        err(s, E_REPLY_BAD);
        return;
    }
    int code = (l[0] - '0') * 100 + (l[1] - '0') * 10 + (l[2] - '0');
    if (!s->rmid) snprintf(s->rtext, sizeof s->rtext, "%.*s", (int)n, l);
    if (n > 3 && l[3] == '-') {
        s->rmid = true;
        return;
    }
    s->rmid = false;
    reply(s, code, s->rtext);
}

static void s2c_bytes(smtp *s, const uint8_t *p, size_t n) {
    while (n > 0 && s->cmode != CM_TLS && s->cmode != CM_OFF) {
        const uint8_t *nl = memchr(p, '\n', n);
        size_t seg = nl ? (size_t)(nl - p) : n;
        if (s->r_resync) {   /* after a gap: the rest of a line we only half have */
            if (!nl) return;
            s->r_resync = false;
            n -= seg + 1;
            p = nl + 1;
            continue;
        } else {
            size_t take = seg;
            if (take > sizeof s->rl - s->rll) take = sizeof s->rl - s->rll;
            memcpy(s->rl + s->rll, p, take);   /* the tail of a long line is dropped */
            s->rll += take;
        }
        if (!nl) return;
        size_t ln = s->rll;
        if (ln && s->rl[ln - 1] == '\r') ln--;
        s->rll = 0;
        n -= seg + 1;
        p = nl + 1;
        reply_line(s, s->rl, ln);
    }
    if (n > 0 && s->cmode == CM_TLS && s->tls) mm_app_tls.data(s->tls, s->f, MM_S2C, p, n);
}

/* ---------------------------------------------------------------- commands */

/* The argument of MAIL FROM:/RCPT TO: up to the first blank (ESMTP parameters
 * such as SIZE= follow it), as Suricata logs it. */
static size_t path_arg(const char *a, size_t n, const char **out) {
    size_t i = 0;
    while (i < n && a[i] == ' ') i++;
    size_t st = i;
    while (i < n && a[i] != ' ') i++;
    *out = a + st;
    return i - st > ARG_MAX - 1 ? ARG_MAX - 1 : i - st;
}

static void cmd_line(smtp *s, char *l, size_t n) {
    if (n && l[n - 1] == '\r') n--;
    if (s->au.active && s->au.lines > 0) {
        auth_line(s, l, n);
        return;
    }
    size_t v = 0;
    while (v < n && l[v] != ' ' && l[v] != ':') v++;
    const char *arg = l + v;
    size_t an = n - v;
    while (an && *arg == ' ') arg++, an--;
    if (mm_ieq(l, v, "HELO") || mm_ieq(l, v, "EHLO")) {
        size_t k = 0;
        while (k < an && arg[k] != ' ') k++;
        if (k >= sizeof s->helo) k = sizeof s->helo - 1;
        memcpy(s->helo, arg, k);
        s->helo[k] = 0;
        push(s, Q_HELO, NULL);
    } else if (mm_ieq(l, v, "MAIL") && mm_iprefix((const uint8_t *)arg, an, "FROM:")) {
        if (s->cur) tx_abandon(s, s->cur);
        tx *t = tx_cur(s);
        if (t) {
            const char *pa;
            size_t pn = path_arg(arg + 5, an - 5, &pa);
            t->mail_from = dupn(s, pa, pn);
        }
        push(s, Q_MAIL, t);
    } else if (mm_ieq(l, v, "RCPT") && mm_iprefix((const uint8_t *)arg, an, "TO:")) {
        tx *t = tx_cur(s);
        if (t && t->nrcpt < RCPT_MAX) {
            const char *pa;
            size_t pn = path_arg(arg + 3, an - 3, &pa);
            t->rcpt[t->nrcpt] = dupn(s, pa, pn);
            if (t->rcpt[t->nrcpt]) t->nrcpt++;
        } else if (t) {
            err(s, E_RCPT_MANY);
        }
        push(s, Q_RCPT, t);
    } else if (mm_ieq(l, v, "DATA") && an == 0) {
        tx *t = tx_cur(s);
        push(s, Q_DATA, t);
        if (t && tx_data_start(s, t)) {
            s->cmode = CM_DATA;
            s->dot = 1;
        }
    } else if (mm_ieq(l, v, "BDAT")) {
        uint64_t sz = 0;
        size_t k = 0;
        while (k < an && arg[k] >= '0' && arg[k] <= '9' && sz < (1ull << 60)) sz = sz * 10 + (uint64_t)(arg[k++] - '0');
        bool ok = k > 0 && (k == an || arg[k] == ' ');
        bool last = false;
        if (ok && k < an) {
            const char *r = arg + k;
            size_t rn = an - k;
            while (rn && *r == ' ') r++, rn--;
            while (rn && r[rn - 1] == ' ') rn--;
            if (mm_ieq(r, rn, "LAST")) last = true;
            else if (rn) ok = false;
        }
        tx *t = ok ? tx_cur(s) : NULL;
        if (!ok || !t || !tx_data_start(s, t)) {
            if (!ok) err(s, E_BDAT_BAD);
            push(s, Q_OTHER, NULL);
            return;
        }
        s->bdat_left = sz;
        s->bdat_last = last;
        if (!last) push(s, Q_BDAT, t);   /* BDAT LAST is answered with the verdict: Q_END */
        if (sz) s->cmode = CM_BDAT;
        else if (last) msg_end(s);
    } else if (mm_ieq(l, v, "AUTH")) {
        push(s, Q_AUTH, NULL);
        auth_start(s, arg, an);
    } else if (mm_ieq(l, v, "STARTTLS")) {
        s->starttls_sent = true;
        push(s, Q_STARTTLS, NULL);
    } else if (mm_ieq(l, v, "RSET")) {
        if (s->cur) tx_abandon(s, s->cur);
        push(s, Q_RSET, NULL);
    } else if (mm_ieq(l, v, "QUIT")) {
        push(s, Q_QUIT, NULL);
    } else {
        bool word = v >= 3 && v <= 12;
        for (size_t k = 0; k < v && word; k++) {
            uint8_t c = lc((uint8_t)l[k]);
            if (c < 'a' || c > 'z') word = false;
        }
        if (word) push(s, Q_OTHER, NULL);
        else if (n) err(s, E_CMD_BAD);
    }
}

static size_t cmd_bytes(smtp *s, const uint8_t *p, size_t n) {
    /* a TLS record where a command should be, after STARTTLS: the server's 220 was
     * not seen (one direction captured) */
    if (s->cll == 0 && !s->c_resync && s->starttls_sent && p[0] == 0x16) {
        start_tls(s);
        return 0;
    }
    const uint8_t *nl = memchr(p, '\n', n);
    size_t seg = nl ? (size_t)(nl - p) : n;
    if (s->c_resync) {
        if (nl) s->c_resync = false;
        return nl ? seg + 1 : n;
    }
    size_t take = seg;
    if (take > sizeof s->cl - s->cll) {
        take = sizeof s->cl - s->cll;
        s->cl_over = true;
    }
    memcpy(s->cl + s->cll, p, take);
    s->cll += take;
    if (!nl) return n;
    size_t ln = s->cll;
    bool over = s->cl_over;
    s->cll = 0;
    s->cl_over = false;
    if (over) err(s, E_CMD_LONG);
    else cmd_line(s, s->cl, ln);
    return seg + 1;
}

/* DATA: lines until "." alone; a leading dot of other lines is stuffing (removed).
 * dot: 0 inside a line, 1 at a line start, 2 after a line-start '.', 3 after ".\r". */
static size_t data_bytes(smtp *s, const uint8_t *p, size_t n) {
    size_t i = 0;
    while (i < n) {
        switch (s->dot) {
        case 0: {
            const uint8_t *nl = memchr(p + i, '\n', n - i);
            size_t e = nl ? (size_t)(nl - p) + 1 : n;
            msg_feed(s, p + i, e - i);
            i = e;
            if (nl) s->dot = 1;
            break;
        }
        case 1:
            if (p[i] == '.') s->dot = 2, i++;
            else s->dot = 0;
            break;
        case 2:
            if (p[i] == '\r') s->dot = 3, i++;
            else if (p[i] == '\n') {
                msg_end(s);
                return i + 1;
            } else s->dot = 0;
            break;
        default:
            if (p[i] == '\n') {
                msg_end(s);
                return i + 1;
            }
            msg_feed(s, "\r", 1);
            s->dot = 0;
        }
    }
    return n;
}

static size_t bdat_bytes(smtp *s, const uint8_t *p, size_t n) {
    size_t take = s->bdat_left < n ? (size_t)s->bdat_left : n;
    msg_feed(s, p, take);
    s->bdat_left -= take;
    if (s->bdat_left == 0) {
        if (s->bdat_last) msg_end(s);
        else s->cmode = CM_CMD;
    }
    return take;
}

static void c2s_bytes(smtp *s, const uint8_t *p, size_t n) {
    while (n > 0) {
        size_t used;
        switch (s->cmode) {
        case CM_CMD: used = cmd_bytes(s, p, n); break;
        case CM_DATA: used = data_bytes(s, p, n); break;
        case CM_BDAT: used = bdat_bytes(s, p, n); break;
        case CM_TLS:
            if (s->tls) mm_app_tls.data(s->tls, s->f, MM_C2S, p, n);
            return;
        default: return;
        }
        p += used;
        n -= used;
    }
}

/* ---------------------------------------------------------------- analyzer */

static bool smtp_port(uint16_t p) { return p == 25 || p == 587 || p == 2525; }

/* 1: starts with the word (case-insensitive) followed by a blank or line end;
 * 0: cannot be; -1: too short to tell. */
static int starts_word(const uint8_t *p, size_t n, const char *w) {
    size_t wn = strlen(w);
    for (size_t i = 0; i < wn; i++) {
        if (i >= n) return -1;
        if (lc(p[i]) != lc((uint8_t)w[i])) return 0;
    }
    if (n == wn) return -1;
    return (p[wn] == ' ' || p[wn] == '\r' || p[wn] == '\n') ? 1 : 0;
}

static int probe(const mm_flow *f, const uint8_t *c2s, size_t nc, const uint8_t *s2c, size_t ns) {
    bool port = smtp_port(f->sport);
    int helo = 0;
    if (nc) {
        int a = starts_word(c2s, nc, "EHLO"), b = starts_word(c2s, nc, "HELO");
        helo = (a == 1 || b == 1) ? 1 : (a == -1 || b == -1) ? -1 : 0;
        if (helo == 1) return MM_PROBE_YES;   /* no other protocol opens with it */
    }
    if (ns) {
        /* a reply: three digits then ' ' or '-' */
        for (size_t i = 0; i < 4 && i < ns; i++) {
            bool ok = i < 3 ? (s2c[i] >= '0' && s2c[i] <= '9') : (s2c[i] == ' ' || s2c[i] == '-');
            if (!ok) return MM_PROBE_NO;
        }
        if (ns < 4) return MM_PROBE_MAYBE;
        if (s2c[0] != '2' && s2c[0] != '4' && s2c[0] != '5') return MM_PROBE_NO;
        /* FTP greets with 220 as well: the banner's words or the port decide, or
         * the client's first command */
        size_t ln = 0;
        while (ln < ns && s2c[ln] != '\n') ln++;
        bool smtp_word = false;
        for (size_t i = 0; i + 4 <= ln; i++)
            if (mm_iprefix(s2c + i, ln - i, "SMTP")) smtp_word = true;
        if (smtp_word || (port && s2c[0] == '2')) return MM_PROBE_YES;
        if (nc == 0 || helo == -1) return MM_PROBE_MAYBE;
        return MM_PROBE_NO;
    }
    if (nc == 0) return MM_PROBE_MAYBE;
    if (helo == -1) return MM_PROBE_MAYBE;
    if (port) {
        /* picked up mid-session on an SMTP port */
        static const char *const verbs[] = {"MAIL", "RCPT", "STARTTLS", "AUTH", "QUIT", "RSET", "NOOP", "DATA", "BDAT", NULL};
        for (int i = 0; verbs[i]; i++) {
            int r = starts_word(c2s, nc, verbs[i]);
            if (r == 1) return MM_PROBE_YES;
            if (r == -1) return MM_PROBE_MAYBE;
        }
    }
    return MM_PROBE_NO;
}

static void *open_(mm_flow *f) {
    smtp *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->f = f;
    s->cmode = CM_CMD;
    push(s, Q_GREET, NULL);
    return s;
}

static void data(void *st, mm_flow *f, int dir, const uint8_t *p, size_t n) {
    smtp *s = st;
    if (!s || !n) return;
    s->f = f;
    if (dir == MM_C2S) c2s_bytes(s, p, n);
    else if (s->cmode == CM_TLS) {
        if (s->tls) mm_app_tls.data(s->tls, f, MM_S2C, p, n);
    } else if (s->cmode != CM_OFF) s2c_bytes(s, p, n);
}

static void gap(void *st, mm_flow *f, int dir, size_t n) {
    smtp *s = st;
    if (!s) return;
    s->f = f;
    if (s->cmode == CM_TLS) {
        if (s->tls && mm_app_tls.gap) mm_app_tls.gap(s->tls, f, dir, n);
        return;
    }
    if (dir == MM_S2C) {
        s->rll = 0;
        s->r_resync = true;
        s->rmid = false;
        return;
    }
    tx *t = s->cur;
    switch (s->cmode) {
    case CM_DATA:
        if (t) {
            t->bytes += n;
            if (!t->capped) mm_mime_gap(t->mime, n);
        }
        s->dot = 0;
        break;
    case CM_BDAT:
        if (t && !t->capped) mm_mime_gap(t->mime, n);
        if (t) t->bytes += n;
        if (n < s->bdat_left) {
            s->bdat_left -= n;
        } else {
            /* the chunk ended inside the hole: the stream resumes mid-command */
            bool more = n > s->bdat_left;
            s->bdat_left = 0;
            if (s->bdat_last) msg_end(s);
            else s->cmode = CM_CMD;
            if (more) s->c_resync = true;
        }
        break;
    case CM_CMD:
        s->cll = 0;
        s->cl_over = false;
        s->c_resync = true;
        break;
    default:
        break;
    }
}

static void close_(void *st, mm_flow *f) {
    smtp *s = st;
    if (!s) return;
    s->f = f;
    while (s->qn > 0) {   /* commands the server never answered (in our capture) */
        pend e = s->q[s->qh];
        s->qh = (s->qh + 1) % PEND_MAX;
        s->qn--;
        pend_resolve(s, &e, 0, NULL);
    }
    /* a message cut by the end of the flow still reports what arrived */
    if (s->cur) tx_abandon(s, s->cur);
    if (s->au.active) emit_auth(s, 0, NULL);
    if (s->tls) mm_app_tls.close(s->tls, f);
    free(s);
}

static const uint16_t ports[] = {25, 587, 2525, 0};
const mm_analyzer mm_app_smtp = {"smtp", 1, 0, ports, probe, open_, data, gap, close_};
