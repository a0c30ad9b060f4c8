/* app_ftp: FTP (RFC 959, RFC 2428) — the control channel and its data connections.
 *
 * Control: one `ftp-command` event per command with its final reply (multi-line
 * replies joined; 1xx marks are preliminary), the PASS argument masked; one
 * `ftp-login` event per login attempt (after PASS/ACCT, or USER answered at once
 * with 230 or a refusal).  A PASV/EPSV reply or a PORT/EPRT command announces a
 * data connection: the sensor is told to expect it (mm_sensor_expect) with a
 * small refcounted object shared with the control state.  The transfer command
 * (RETR, STOR...) may reach the control channel after the data connection opened,
 * so the data analyzer reads that object when the first data bytes arrive, and
 * holds a bounded amount until it knows.  RETR/STOR/STOU/APPE data is a file;
 * directory listings are not.  AUTH TLS ends the analysis (what follows is TLS). */
#include "sensor_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LINE_MAX_ 4096            /* one command or reply line */
#define CMDQ_MAX 16               /* commands waiting for their replies */
#define REPLY_LINES_MAX 1000      /* lines of one multi-line reply */
#define MSG_MAX 512
#define ARG_MAX 1024
#define USER_MAX 128
#define HOLD_MAX (64 * 1024)      /* data held while the transfer command is unknown */

enum { X_NONE, X_DOWN, X_UP, X_LIST };

/* Shared by the control flow and the data connection(s) of one announcement. */
typedef struct ftp_xfer {
    int refs;
    bool passive;
    int kind;
    char cmd[8];
    char arg[ARG_MAX];
    size_t arg_n;
    char user[USER_MAX];
    size_t user_n;
} ftp_xfer;

typedef struct fcmd {
    char cmd[16];
    char arg[ARG_MAX];
    size_t arg_n;
} fcmd;

typedef struct fstate {
    char line[2][LINE_MAX_];
    size_t ln[2];
    bool skip[2];                  /* the rest of an over-long line */
    fcmd q[CMDQ_MAX];
    int qn;
    int rcode;                     /* multi-line reply in progress: its code */
    int rlines;
    char rmsg[MSG_MAX];
    size_t rmsg_n;
    bool greeted, off;
    char user[USER_MAX], puser[USER_MAX];   /* logged in; attempting */
    size_t user_n, puser_n;
    ftp_xfer *cur;                 /* the latest announced data connection */
} fstate;

/* ---------------------------------------------------------------- shared object */

static void xfer_unref(void *arg) {
    ftp_xfer *x = arg;
    if (x && --x->refs <= 0) free(x);
}

static bool is_upper_cmd(const char *c, const char *lit) { return strcmp(c, lit) == 0; }

static int kind_of(const char *cmd) {
    if (is_upper_cmd(cmd, "RETR")) return X_DOWN;
    if (is_upper_cmd(cmd, "STOR") || is_upper_cmd(cmd, "STOU") || is_upper_cmd(cmd, "APPE")) return X_UP;
    if (is_upper_cmd(cmd, "LIST") || is_upper_cmd(cmd, "NLST") || is_upper_cmd(cmd, "MLSD")) return X_LIST;
    return X_NONE;
}

static void expect_one(mm_flow *f, ftp_xfer *x, const mm_ip *cli, const mm_ip *srv, uint16_t port) {
    x->refs++;
    mm_sensor_expect(f, cli, srv, port, &mm_app_ftp_data, x, xfer_unref);
}

/* A data connection announced: passive, the client connects to srv:port; active,
 * the server connects to the client's addr:port.  NAT often makes the announced
 * address differ from the one the peers really use, so both are expected. */
static void announce(fstate *st, mm_flow *f, bool passive, const mm_ip *addr, uint16_t port) {
    if (!port) return;
    ftp_xfer *x = calloc(1, sizeof *x);
    if (!x) {
        mm_sensor_app_error(f, "ftp", "out of memory");
        return;
    }
    x->refs = 1;
    x->passive = passive;
    memcpy(x->user, st->user_n ? st->user : st->puser, st->user_n ? st->user_n : st->puser_n);
    x->user_n = st->user_n ? st->user_n : st->puser_n;
    xfer_unref(st->cur);
    st->cur = x;
    const mm_ip *peer = passive ? &f->srv : &f->cli;
    const mm_ip *other = passive ? &f->cli : &f->srv;
    bool usable = addr && addr->af == peer->af && !(addr->af == 4 && !memcmp(addr->b, "\0\0\0\0", 4));
    if (usable) expect_one(f, x, other, addr, port);
    if (!usable || !mm_ip_eq(addr, peer)) expect_one(f, x, other, peer, port);
}

/* "h1,h2,h3,h4,p1,p2" somewhere in s (227 reply text, PORT argument). */
static bool parse_hostport(const char *s, size_t n, mm_ip *ip, uint16_t *port) {
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') continue;
        unsigned v[6];
        size_t j = i;
        int k = 0;
        for (; k < 6; k++) {
            unsigned x = 0;
            size_t d = 0;
            while (j < n && s[j] >= '0' && s[j] <= '9' && d < 4) x = x * 10 + (unsigned)(s[j++] - '0'), d++;
            if (!d || x > 255) break;
            v[k] = x;
            if (k < 5) {
                if (j >= n || s[j] != ',') break;
                j++;
            }
        }
        if (k == 6) {
            memset(ip, 0, sizeof *ip);
            ip->af = 4;
            for (int m = 0; m < 4; m++) ip->b[m] = (uint8_t)v[m];
            *port = (uint16_t)(v[4] << 8 | v[5]);
            return true;
        }
        while (i < n && s[i] >= '0' && s[i] <= '9') i++;
    }
    return false;
}

/* EPRT |proto|addr|port| (RFC 2428); the delimiter is the first character. */
static bool parse_eprt(const char *s, size_t n, mm_ip *ip, uint16_t *port) {
    while (n && *s == ' ') s++, n--;
    if (n < 7) return false;
    char dl = s[0];
    if (dl < 33 || dl > 126) return false;
    const char *f[4];
    size_t fl[3];
    int k = 0;
    f[0] = s + 1;
    for (size_t i = 1; i < n && k < 3; i++)
        if (s[i] == dl) {
            fl[k] = (size_t)(s + i - f[k]);
            f[++k] = s + i + 1;
        }
    if (k < 3) return false;
    char a[64];
    if (fl[1] == 0 || fl[1] >= sizeof a) return false;
    memcpy(a, f[1], fl[1]);
    a[fl[1]] = 0;
    if (!mm_ip_parse(mm_str_c(a), ip)) return false;
    unsigned p = 0;
    if (!fl[2] || fl[2] > 5) return false;
    for (size_t i = 0; i < fl[2]; i++) {
        if (f[2][i] < '0' || f[2][i] > '9') return false;
        p = p * 10 + (unsigned)(f[2][i] - '0');
    }
    if (!p || p > 65535) return false;
    *port = (uint16_t)p;
    return true;
}

/* 229 Entering Extended Passive Mode (|||port|) */
static bool parse_epsv(const char *s, size_t n, uint16_t *port) {
    const char *o = memchr(s, '(', n);
    if (!o) return false;
    size_t r = n - (size_t)(o + 1 - s);
    const char *p = o + 1;
    if (r < 5 || p[1] != p[0] || p[2] != p[0]) return false;
    unsigned v = 0;
    size_t i = 3, d = 0;
    while (i < r && p[i] >= '0' && p[i] <= '9' && d < 6) v = v * 10 + (unsigned)(p[i++] - '0'), d++;
    if (!d || i >= r || p[i] != p[0] || !v || v > 65535) return false;
    *port = (uint16_t)v;
    return true;
}

/* ---------------------------------------------------------------- events */

static void cmd_event(fstate *st, mm_flow *f, const fcmd *c, int code, const char *msg, size_t msg_n) {
    mm_sev *e = mm_sev_begin(f, "network", "protocol", "ftp-command");
    mm_sev_cstr(e, "ftp.command", c->cmd);
    if (c->arg_n) {
        if (is_upper_cmd(c->cmd, "PASS") || is_upper_cmd(c->cmd, "ACCT")) mm_sev_cstr(e, "ftp.arg", "****");
        else mm_sev_str(e, "ftp.arg", c->arg, c->arg_n);
    }
    if (code) {
        mm_sev_int(e, "ftp.reply.code", code);
        mm_sev_str(e, "ftp.reply.message", msg, msg_n);
        mm_sev_cstr(e, "event.outcome", code < 400 ? "success" : "failure");
    }
    if (st->user_n) mm_sev_str(e, "user.name", st->user, st->user_n);
    else if (st->puser_n) mm_sev_str(e, "user.name", st->puser, st->puser_n);
    mm_sev_end(e);
}

static void login_event(fstate *st, mm_flow *f, bool ok, int code, const char *msg, size_t msg_n) {
    f->risks |= MM_RISK_CLEARTEXT_CREDS;
    mm_sev *e = mm_sev_begin(f, "authentication", "start", "ftp-login");
    if (st->puser_n) mm_sev_str(e, "user.name", st->puser, st->puser_n);
    mm_sev_cstr(e, "event.outcome", ok ? "success" : "failure");
    mm_sev_int(e, "ftp.reply.code", code);
    mm_sev_str(e, "ftp.reply.message", msg, msg_n);
    if (!ok) mm_sev_str(e, "event.reason", msg, msg_n);
    mm_sev_end(e);
    if (ok) {
        memcpy(st->user, st->puser, st->puser_n);
        st->user_n = st->puser_n;
    }
}

static void q_pop(fstate *st) {
    memmove(st->q, st->q + 1, (size_t)(st->qn - 1) * sizeof st->q[0]);
    st->qn--;
}

/* A complete (final or preliminary) reply. */
static void reply(fstate *st, mm_flow *f, int code, const char *msg, size_t msg_n) {
    if (!st->greeted) {
        st->greeted = true;
        /* the greeting; held bytes may be replayed after the client's first command */
        if (code == 220 || code == 120 || code == 421) return;
    }
    if (!st->qn || code < 200) return;   /* unsolicited, or a preliminary mark */
    fcmd c = st->q[0];
    q_pop(st);
    cmd_event(st, f, &c, code, msg, msg_n);

    if (is_upper_cmd(c.cmd, "USER")) {
        if (code == 230) login_event(st, f, true, code, msg, msg_n);
        else if (code >= 400) login_event(st, f, false, code, msg, msg_n);
    } else if (is_upper_cmd(c.cmd, "PASS") || is_upper_cmd(c.cmd, "ACCT")) {
        if (code == 230 || code == 202) login_event(st, f, true, code, msg, msg_n);
        else if (code >= 400) login_event(st, f, false, code, msg, msg_n);
    } else if (is_upper_cmd(c.cmd, "PASV") && code == 227) {
        mm_ip ip;
        uint16_t port;
        if (parse_hostport(msg, msg_n, &ip, &port)) announce(st, f, true, &ip, port);
        else mm_sensor_app_error(f, "ftp", "bad 227 reply");
    } else if (is_upper_cmd(c.cmd, "EPSV") && code == 229) {
        uint16_t port;
        if (parse_epsv(msg, msg_n, &port)) announce(st, f, true, NULL, port);
        else mm_sensor_app_error(f, "ftp", "bad 229 reply");
    } else if (is_upper_cmd(c.cmd, "PORT") && code >= 200 && code < 300) {
        mm_ip ip;
        uint16_t port;
        if (parse_hostport(c.arg, c.arg_n, &ip, &port)) announce(st, f, false, &ip, port);
        else mm_sensor_app_error(f, "ftp", "bad PORT argument");
    } else if (is_upper_cmd(c.cmd, "EPRT") && code >= 200 && code < 300) {
        mm_ip ip;
        uint16_t port;
        if (parse_eprt(c.arg, c.arg_n, &ip, &port)) announce(st, f, false, &ip, port);
        else mm_sensor_app_error(f, "ftp", "bad EPRT argument");
    } else if (is_upper_cmd(c.cmd, "AUTH") && code == 234) {
        st->off = true;   /* TLS from here on */
    } else if (is_upper_cmd(c.cmd, "REIN") && code < 400) {
        st->user_n = st->puser_n = 0;
    }
}

/* ---------------------------------------------------------------- lines */

/* Telnet commands (IAC ...) may sit in the control stream, around ABOR. */
static size_t strip_telnet(char *s, size_t n) {
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c != 0xff) {
            s[o++] = s[i];
            continue;
        }
        if (i + 1 < n && (unsigned char)s[i + 1] == 0xff) s[o++] = s[++i];
        else if (i + 1 < n && (unsigned char)s[i + 1] >= 0xfb && (unsigned char)s[i + 1] <= 0xfe) i += 2;
        else i += 1;
    }
    return o;
}

static void command_line(fstate *st, mm_flow *f, char *s, size_t n) {
    n = strip_telnet(s, n);
    size_t i = 0;
    while (i < n && s[i] == ' ') i++;
    if (i == n) return;
    size_t cs = i;
    while (i < n && ((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z'))) i++;
    size_t cl = i - cs;
    if (!cl || cl >= sizeof st->q[0].cmd || (i < n && s[i] != ' ')) {
        mm_sensor_app_error(f, "ftp", "bad command");
        return;
    }
    if (st->qn == CMDQ_MAX) {   /* a server that never answers: the oldest goes without reply */
        mm_sensor_app_error(f, "ftp", "commands without replies over cap");
        fcmd old = st->q[0];
        q_pop(st);
        cmd_event(st, f, &old, 0, NULL, 0);
    }
    fcmd *c = &st->q[st->qn++];
    for (size_t k = 0; k < cl; k++) {
        char ch = s[cs + k];
        c->cmd[k] = ch >= 'a' && ch <= 'z' ? (char)(ch - 32) : ch;
    }
    c->cmd[cl] = 0;
    if (i < n) i++;   /* one space separates the argument */
    size_t an = n - i;
    if (an > ARG_MAX) {
        mm_sensor_app_error(f, "ftp", "argument over cap");
        an = ARG_MAX;
    }
    memcpy(c->arg, s + i, an);
    c->arg_n = an;

    if (is_upper_cmd(c->cmd, "USER")) {
        st->puser_n = an < USER_MAX ? an : USER_MAX;
        memcpy(st->puser, c->arg, st->puser_n);
    } else if (is_upper_cmd(c->cmd, "PASS")) {
        f->risks |= MM_RISK_CLEARTEXT_CREDS;
    }
    int k = kind_of(c->cmd);
    if (k != X_NONE && st->cur && st->cur->kind == X_NONE) {
        ftp_xfer *x = st->cur;
        x->kind = k;
        snprintf(x->cmd, sizeof x->cmd, "%s", c->cmd);
        memcpy(x->arg, c->arg, c->arg_n);
        x->arg_n = c->arg_n;
        size_t un = st->user_n ? st->user_n : st->puser_n;
        memcpy(x->user, st->user_n ? st->user : st->puser, un);
        x->user_n = un;
    }
}

static void reply_line(fstate *st, mm_flow *f, const char *s, size_t n) {
    bool digits = n >= 3 && s[0] >= '1' && s[0] <= '5' && s[1] >= '0' && s[1] <= '9' && s[2] >= '0' && s[2] <= '9';
    int code = digits ? (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0') : 0;
    if (st->rcode) {   /* inside a multi-line reply: only "<code> " ends it */
        if (code == st->rcode && (n == 3 || s[3] == ' ')) {
            st->rcode = 0;
            reply(st, f, code, st->rmsg, st->rmsg_n);
        } else if (++st->rlines > REPLY_LINES_MAX) {
            mm_sensor_app_error(f, "ftp", "multi-line reply over cap");
            int c = st->rcode;
            st->rcode = 0;
            reply(st, f, c, st->rmsg, st->rmsg_n);
        }
        return;
    }
    if (!digits || (n > 3 && s[3] != ' ' && s[3] != '-')) {
        mm_sensor_app_error(f, "ftp", "bad reply line");
        return;
    }
    const char *m = n > 4 ? s + 4 : s + n;
    size_t mn = n > 4 ? n - 4 : 0;
    while (mn && (m[mn - 1] == ' ' || m[mn - 1] == '\t')) mn--;
    while (mn && (*m == ' ' || *m == '\t')) m++, mn--;
    st->rmsg_n = mn < MSG_MAX ? mn : MSG_MAX;
    memcpy(st->rmsg, m, st->rmsg_n);
    if (n > 3 && s[3] == '-') {
        st->rcode = code;
        st->rlines = 0;
        return;
    }
    reply(st, f, code, st->rmsg, st->rmsg_n);
}

/* ---------------------------------------------------------------- control analyzer */

static const char *const client_first[] = {"USER", "AUTH", "FEAT", "SYST", "OPTS", "HOST", "CLNT", "PASV",
                                           "EPSV", "TYPE", "PWD", "LIST", "NOOP", "ACCT", NULL};

static int probe(const mm_flow *f, const uint8_t *c2s, size_t nc, const uint8_t *s2c, size_t ns) {
    bool port21 = f->sport == 21 || f->cport == 21;
    /* the server's greeting */
    int banner = 0;   /* 0 unknown yet, -1 not an FTP-like reply, 2xx code */
    bool says_ftp = false, says_smtp = false;
    if (ns) {
        size_t k = ns < 4 ? ns : 4;
        for (size_t i = 0; i < k; i++) {
            bool ok = i < 3 ? (s2c[i] >= '0' && s2c[i] <= '9') : (s2c[i] == ' ' || s2c[i] == '-');
            if (!ok) banner = -1;
        }
        if (!banner && ns >= 4) banner = (s2c[0] - '0') * 100 + (s2c[1] - '0') * 10 + (s2c[2] - '0');
        size_t e = 0;
        while (e < ns && e < 512 && s2c[e] != '\n') e++;
        for (size_t i = 0; i + 3 <= e; i++) {
            char a = (char)(s2c[i] | 0x20), b = (char)(s2c[i + 1] | 0x20), c = (char)(s2c[i + 2] | 0x20);
            if (a == 'f' && b == 't' && c == 'p') says_ftp = true;
            if (i + 4 <= e && a == 's' && b == 'm' && c == 't' && (s2c[i + 3] | 0x20) == 'p') says_smtp = true;
        }
    }
    /* the client's first command */
    int cmd = 0;   /* 0 unknown yet, -1 not FTP, 1 a first command of FTP */
    if (nc) {
        size_t i = 0;
        while (i < nc && i < 5 && ((c2s[i] >= 'A' && c2s[i] <= 'Z') || (c2s[i] >= 'a' && c2s[i] <= 'z'))) i++;
        if (i < nc && (c2s[i] == ' ' || c2s[i] == '\r' || c2s[i] == '\n')) {
            cmd = -1;
            char t[6];
            for (size_t j = 0; j < i; j++) t[j] = (char)(c2s[j] & ~0x20);
            t[i] = 0;
            for (int j = 0; client_first[j]; j++)
                if (strcmp(t, client_first[j]) == 0) cmd = 1;
        } else if (i < nc || i >= 5)
            cmd = -1;
    }
    if (banner < 0 || cmd < 0) return MM_PROBE_NO;
    if (banner == 220 && says_smtp) return MM_PROBE_NO;
    if (banner == 220 && (says_ftp || port21 || cmd == 1)) return MM_PROBE_YES;
    if (banner && banner != 220 && port21) return MM_PROBE_YES;   /* 421, 120: still FTP */
    if (!ns && cmd == 1 && port21) return MM_PROBE_YES;           /* capture started late */
    if (banner == 220 || (!ns && (cmd == 1 || (port21 && cmd == 0))) || (banner == 0 && ns < 4)) return MM_PROBE_MAYBE;
    return MM_PROBE_NO;
}

static void *open_(mm_flow *f) {
    fstate *st = calloc(1, sizeof *st);
    if (!st) mm_sensor_app_error(f, "ftp", "out of memory");
    return st;
}

static void data(void *vst, mm_flow *f, int dir, const uint8_t *p, size_t n) {
    fstate *st = vst;
    for (size_t i = 0; i < n && !st->off; i++) {
        char c = (char)p[i];
        if (c != '\n') {
            if (st->ln[dir] < LINE_MAX_) st->line[dir][st->ln[dir]++] = c;
            else if (!st->skip[dir]) {
                mm_sensor_app_error(f, "ftp", "line over cap");
                st->skip[dir] = true;
            }
            continue;
        }
        size_t ln = st->ln[dir];
        if (ln && st->line[dir][ln - 1] == '\r') ln--;
        st->ln[dir] = 0;
        st->skip[dir] = false;
        if (dir == MM_C2S) command_line(st, f, st->line[dir], ln);
        else reply_line(st, f, st->line[dir], ln);
    }
}

static void gap(void *vst, mm_flow *f, int dir, size_t n) {
    fstate *st = vst;
    /* the lost bytes may hold commands or replies: pairing cannot be trusted */
    mm_sensor_app_error(f, "ftp", "gap in the control channel");
    st->off = true;
}

static void close_(void *vst, mm_flow *f) {
    fstate *st = vst;
    if (!st) return;
    if (st->rcode && !st->off) reply(st, f, st->rcode, st->rmsg, st->rmsg_n);
    while (st->qn) {
        fcmd c = st->q[0];
        q_pop(st);
        cmd_event(st, f, &c, 0, NULL, 0);
    }
    xfer_unref(st->cur);
    free(st);
}

static const uint16_t ports[] = {21, 0};
const mm_analyzer mm_app_ftp = {"ftp", 1, 0, ports, probe, open_, data, gap, close_};

/* ---------------------------------------------------------------- data connections */

typedef struct fdata {
    ftp_xfer *x;
    mm_sfile *file;
    int state;                     /* 0 undecided, 1 file, 2 not a file */
    int fdir;                      /* the direction that carries the data */
    uint8_t *hold;
    size_t nhold;
    bool gapped;
} fdata;

static int data_probe(const mm_flow *f, const uint8_t *c2s, size_t nc, const uint8_t *s2c, size_t ns) {
    return MM_PROBE_NO;   /* only ever chosen by an expectation */
}

static void *data_open(mm_flow *f) {
    fdata *d = calloc(1, sizeof *d);
    if (!d) {
        mm_sensor_app_error(f, "ftp-data", "out of memory");
        xfer_unref(f->expect_arg);
        f->expect_arg = NULL;
        return NULL;
    }
    d->x = f->expect_arg;
    f->expect_arg = NULL;
    d->fdir = -1;
    return d;
}

static void data_decide(fdata *d, mm_flow *f, bool force) {
    ftp_xfer *x = d->x;
    int kind = x ? x->kind : X_NONE;
    if (kind == X_NONE && !force) return;
    if (kind == X_LIST) {
        d->state = 2;
    } else {
        const char *action;
        if (kind == X_DOWN) action = "file-download";
        else if (kind == X_UP) action = "file-upload";
        else {
            /* no command seen: who sends tells (passive: the server is this flow's
             * server; active: it is this flow's client) */
            bool passive = !x || x->passive;
            bool from_server = (d->fdir == MM_S2C) == passive;
            action = from_server ? "file-download" : "file-upload";
        }
        const char *name = NULL;
        size_t nn = 0;
        if (x && x->arg_n) {
            name = x->arg, nn = x->arg_n;
            for (size_t i = nn; i > 0; i--)
                if (x->arg[i - 1] == '/' || x->arg[i - 1] == '\\') {
                    name = x->arg + i, nn = x->arg_n - i;
                    break;
                }
        }
        d->file = mm_sfile_open(f, d->fdir < 0 ? MM_S2C : d->fdir, action, name, nn);
        d->state = d->file ? 1 : 2;
        if (d->file && x) {
            mm_sev *e = mm_sfile_fields(d->file);
            if (x->cmd[0]) mm_sev_cstr(e, "ftp.command", x->cmd);
            if (x->arg_n) mm_sev_str(e, "ftp.arg", x->arg, x->arg_n);
            if (x->user_n) mm_sev_str(e, "user.name", x->user, x->user_n);
        }
        if (d->file && d->gapped) mm_sfile_gap(d->file, 0);
        if (d->file && d->nhold) mm_sfile_write(d->file, d->hold, d->nhold);
    }
    free(d->hold);
    d->hold = NULL;
    d->nhold = 0;
}

static void data_data(void *vst, mm_flow *f, int dir, const uint8_t *p, size_t n) {
    fdata *d = vst;
    if (d->state == 2 || !n) return;
    if (d->fdir < 0) d->fdir = dir;
    if (dir != d->fdir) return;   /* FTP data flows one way */
    if (d->state == 0) {
        data_decide(d, f, false);
        if (d->state == 0) {
            if (d->nhold + n <= HOLD_MAX) {
                uint8_t *nh = realloc(d->hold, d->nhold + n);
                if (nh) {
                    d->hold = nh;
                    memcpy(d->hold + d->nhold, p, n);
                    d->nhold += n;
                    return;
                }
            }
            data_decide(d, f, true);   /* cannot wait longer */
        }
    }
    if (d->state == 1) mm_sfile_write(d->file, p, n);
}

static void data_gap(void *vst, mm_flow *f, int dir, size_t n) {
    fdata *d = vst;
    if (d->file) mm_sfile_gap(d->file, n);
    else d->gapped = true;
}

static void data_close(void *vst, mm_flow *f) {
    fdata *d = vst;
    if (!d) return;
    if (d->state == 0 && d->nhold) data_decide(d, f, true);
    if (d->file) mm_sfile_close(d->file, NULL);
    free(d->hold);
    xfer_unref(d->x);
    free(d);
}

static const uint16_t data_ports[] = {0};
const mm_analyzer mm_app_ftp_data = {"ftp-data", 1, 0, data_ports, data_probe, data_open, data_data, data_gap, data_close};
