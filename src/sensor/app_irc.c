/* app_irc: IRC (RFC 1459 / 2812, IRCv3 message tags skipped).  Lines of up to 512
 * bytes from both sides (longer ones are cut and counted); one "irc-command" event per
 * command worth a look.
 *
 * From the client: NICK, USER, PASS, OPER, JOIN, PART, PRIVMSG, NOTICE, TOPIC, QUIT.
 * PASS and OPER carry a password: it is never written, the flow gets
 * MM_RISK_CLEARTEXT_CREDS; likewise a PRIVMSG to NickServ of IDENTIFY/REGISTER keeps
 * only the verb.  Channel keys (JOIN #chan key) are not written either.
 * From the server: the welcome (001, which says the nick the server gave), the topic
 * on join (332: botnets keep their orders there), and PRIVMSG / NOTICE / TOPIC
 * relayed from other users.
 *
 * irc.nick is the author of the command: the client's current nick (tracked through
 * NICK, 001 and the server's echo of a nick change) for what the client sends and for
 * 001/332, the sender's nick from the ":nick!user@host" prefix for relayed messages.
 * irc.message is the text exactly as sent (the JSON writer escapes control bytes such
 * as CTCP's \x01).
 *
 * DCC SEND: a PRIVMSG/NOTICE whose text is the CTCP "\x01DCC SEND name ip port
 * [size [token]]\x01", from the client or relayed by the server, offers a file on a
 * direct connection: the receiver connects to ip:port (ip as a decimal integer,
 * dotted or IPv6) and the offering side sends the bytes, the receiver answering with
 * 4-byte acknowledgements.  The sensor is told to expect that connection (from any
 * client; for our client's own offer, its own address too, as NAT makes the
 * announced one differ) with a small refcounted offer, and the `irc-dcc` analyzer
 * carves it into a file named as offered, linked to irc.nick (who sends the file)
 * and irc.target (who receives it), marked truncated when fewer bytes than offered
 * came.  A reverse ("passive") DCC offers port 0 and a token; the receiver's answer
 * with its own address, port and the token makes the offering side connect and send
 * (the data flows from that connection's client).  Malformed offers (bad address,
 * port or size, an unterminated quote, a name over 255 bytes) are counted, not
 * expected; so is a port below 1024 (no IRC client listens there, and an offer must
 * not make the next connection to a server's 443 or 53 skip its own analyzer).  An
 * IRC flow has at most 32 offers expected. */
#include "sensor_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define IRC_LINE_MAX 512      /* RFC 2812 §2.3, CR LF included */
#define IRC_PARAMS 15
#define IRC_EVENTS_MAX 5000   /* per flow: a busy channel must not flood the pipeline */
#define IRC_NICK_MAX 64
#define DCC_NAME_MAX 255
#define DCC_TARGET_MAX 128
#define DCC_OFFERS_MAX 32      /* per IRC flow: a flood of offers must not evict others' expectations */

static const uint16_t ports[] = {6660, 6661, 6662, 6663, 6664, 6665, 6666, 6667, 6668, 6669, 6697, 7000, 0};

typedef struct irc_dir {
    char line[IRC_LINE_MAX];
    size_t len;
    bool cut, in_tags, mid_line;
    bool skip;                /* after a gap: drop bytes up to the next newline */
} irc_dir;

typedef struct irc_state {
    irc_dir d[2];
    char nick[IRC_NICK_MAX + 1];
    bool recognised;
    uint32_t events;
    uint32_t dcc_offers;
} irc_state;

/* One DCC SEND offer, shared by the IRC flow's expectation(s) and the data flow. */
typedef struct dcc_offer {
    int refs;
    bool from_client;             /* the data flows from the connecting side (reverse DCC) */
    bool has_size;
    uint64_t size;
    char name[DCC_NAME_MAX + 1];
    char nick[IRC_NICK_MAX + 1];
    char target[DCC_TARGET_MAX + 1];
    size_t name_n, nick_n, target_n;
} dcc_offer;

typedef struct irc_msg {
    const char *prefix, *cmd;
    size_t prefix_len, cmd_len;
    const char *par[IRC_PARAMS];
    size_t par_len[IRC_PARAMS];
    int npar;
} irc_msg;

/* Split one line (no CR LF, tags already removed).  False when there is no command. */
static bool parse(const char *p, size_t n, irc_msg *m) {
    const char *e = p + n;
    memset(m, 0, sizeof *m);
    if (p < e && *p == ':') {
        const char *sp = memchr(p, ' ', (size_t)(e - p));
        if (!sp) return false;
        m->prefix = p + 1;
        m->prefix_len = (size_t)(sp - p - 1);
        p = sp;
    }
    while (p < e && *p == ' ') p++;
    m->cmd = p;
    while (p < e && *p != ' ') p++;
    m->cmd_len = (size_t)(p - m->cmd);
    if (!m->cmd_len) return false;
    while (p < e && m->npar < IRC_PARAMS) {
        while (p < e && *p == ' ') p++;
        if (p == e) break;
        if (*p == ':' || m->npar == IRC_PARAMS - 1) {
            if (*p == ':') p++;
            m->par[m->npar] = p;
            m->par_len[m->npar++] = (size_t)(e - p);
            break;
        }
        const char *s = p;
        while (p < e && *p != ' ') p++;
        m->par[m->npar] = s;
        m->par_len[m->npar++] = (size_t)(p - s);
    }
    return true;
}

static bool cmd_is(const irc_msg *m, const char *c) {
    return m->cmd_len == strlen(c) && !strncasecmp(m->cmd, c, m->cmd_len);
}

static void set_nick(irc_state *s, const char *p, size_t n) {
    if (n > IRC_NICK_MAX) n = IRC_NICK_MAX;
    memcpy(s->nick, p, n);
    s->nick[n] = 0;
}

static bool is_channel(const char *p, size_t n) {
    return n && (*p == '#' || *p == '&' || *p == '+' || *p == '!');
}

/* irc.channel: the comma-separated list in p, channels only. */
static void channels(mm_sev *e, const char *p, size_t n) {
    bool open = false;
    while (n) {
        const char *c = memchr(p, ',', n);
        size_t k = c ? (size_t)(c - p) : n;
        if (is_channel(p, k)) {
            if (!open) mm_sev_list(e, "irc.channel");
            open = true;
            mm_sev_item(e, p, k);
        }
        if (!c) break;
        p += k + 1;
        n -= k + 1;
    }
    if (open) mm_sev_list_end(e);
}

static mm_sev *begin(irc_state *s, mm_flow *f, const irc_msg *m, const char *nick, size_t nick_len) {
    if (s->events == IRC_EVENTS_MAX) {
        mm_sensor_app_error(f, "irc", "too-many-events");
        s->events++;
    }
    if (s->events > IRC_EVENTS_MAX) return NULL;
    s->events++;
    mm_sev *e = mm_sev_begin(f, "network", "protocol", "irc-command");
    char cmd[16];
    size_t k = m->cmd_len < sizeof cmd ? m->cmd_len : sizeof cmd - 1;
    for (size_t i = 0; i < k; i++) cmd[i] = (char)toupper((unsigned char)m->cmd[i]);
    mm_sev_str(e, "irc.command", cmd, k);
    if (nick_len) mm_sev_str(e, "irc.nick", nick, nick_len);
    return e;
}

/* A message to NickServ that carries a password: keep the verb only. */
static bool nickserv_secret(const irc_msg *m) {
    if (m->npar < 2 || m->par_len[0] < 8 || strncasecmp(m->par[0], "NickServ", 8)) return false;
    const char *t = m->par[1];
    size_t n = m->par_len[1];
    return (n >= 9 && !strncasecmp(t, "IDENTIFY ", 9)) || (n >= 9 && !strncasecmp(t, "REGISTER ", 9));
}

/* ---- DCC SEND offers ---- */

static void dcc_unref(void *arg) {
    dcc_offer *o = arg;
    if (o && --o->refs <= 0) free(o);
}

/* The next space-separated word of [*p, e) (with quoted: a "quoted name" too). */
static bool dcc_word(const char **p, const char *e, const char **w, size_t *n, bool quoted) {
    const char *q = *p;
    while (q < e && *q == ' ') q++;
    if (q == e) return false;
    if (quoted && *q == '"') {
        const char *c = memchr(q + 1, '"', (size_t)(e - q - 1));
        if (!c) return false;
        *w = q + 1, *n = (size_t)(c - q - 1);
        *p = c + 1;
        return *p == e || **p == ' ';
    }
    *w = q;
    while (q < e && *q != ' ') q++;
    *n = (size_t)(q - *w);
    *p = q;
    return true;
}

/* Decimal digits only, at most max. */
static bool dcc_num(const char *p, size_t n, uint64_t max, uint64_t *v) {
    if (!n || n > 20) return false;
    uint64_t x = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') return false;
        unsigned d = (unsigned)(p[i] - '0');
        if (x > (max - d) / 10) return false;
        x = x * 10 + d;
    }
    *v = x;
    return true;
}

/* The address: an IPv4 address as a decimal integer (the classic form), or a
 * dotted / IPv6 literal.  The unspecified address is refused. */
static bool dcc_addr(const char *p, size_t n, mm_ip *ip) {
    uint64_t v;
    memset(ip, 0, sizeof *ip);
    if (dcc_num(p, n, 0xffffffffu, &v)) {
        ip->af = 4;
        ip->b[0] = (uint8_t)(v >> 24), ip->b[1] = (uint8_t)(v >> 16), ip->b[2] = (uint8_t)(v >> 8), ip->b[3] = (uint8_t)v;
    } else if (!n || n > 45 || !mm_ip_parse((mm_str){p, (uint32_t)n}, ip)) {
        return false;
    }
    static const uint8_t zero[16];
    return memcmp(ip->b, zero, ip->af == 4 ? 4 : 16) != 0;
}

/* A PRIVMSG/NOTICE text t from direction dir, by nick, to target: a DCC SEND offer
 * makes the sensor expect its data connection. */
static void dcc_offer_check(irc_state *s, mm_flow *f, int dir, const char *t, size_t n, const char *nick,
                            size_t nick_n, const char *target, size_t target_n) {
    if (n < 10 || t[0] != 1 || strncasecmp(t + 1, "DCC SEND ", 9)) return;
    const char *e = memchr(t + 1, 1, n - 1);
    if (!e) e = t + n;
    const char *p = t + 10, *name, *ipw, *portw, *sizew = NULL, *tok = NULL;
    size_t name_n, ip_n, port_n, size_n = 0, tok_n = 0;
    if (!dcc_word(&p, e, &name, &name_n, true) || !dcc_word(&p, e, &ipw, &ip_n, false) ||
        !dcc_word(&p, e, &portw, &port_n, false)) {
        mm_sensor_app_error(f, "irc", "dcc-short");
        return;
    }
    if (dcc_word(&p, e, &sizew, &size_n, false)) {
        if (!dcc_word(&p, e, &tok, &tok_n, false)) tok = NULL;
    } else
        sizew = NULL;
    mm_ip ip;
    uint64_t port, size = 0;
    const char *bad = NULL;
    if (!name_n || name_n > DCC_NAME_MAX) bad = "dcc-name";
    else if (!dcc_addr(ipw, ip_n, &ip)) bad = "dcc-address";
    else if (!dcc_num(portw, port_n, 65535, &port) || (port && port < 1024)) bad = "dcc-port";
    else if (sizew && !dcc_num(sizew, size_n, (uint64_t)INT64_MAX, &size)) bad = "dcc-size";
    if (bad) {
        mm_sensor_app_error(f, "irc", bad);
        return;
    }
    if (!port) return;   /* a reverse DCC offer: the receiver answers with its own port */
    if (s->dcc_offers >= DCC_OFFERS_MAX) {
        if (s->dcc_offers++ == DCC_OFFERS_MAX) mm_sensor_app_error(f, "irc", "dcc-too-many");
        return;
    }
    s->dcc_offers++;
    dcc_offer *o = calloc(1, sizeof *o);
    if (!o) {
        mm_sensor_app_error(f, "irc", "out of memory");
        return;
    }
    o->refs = 1;
    o->from_client = tok != NULL;   /* the answer to a reverse offer: its author listens */
    o->has_size = sizew != NULL, o->size = size;
    memcpy(o->name, name, name_n), o->name_n = name_n;
    if (tok) {   /* irc.nick is who sends the file, irc.target who receives it */
        const char *t0 = nick;
        size_t n0 = nick_n;
        nick = target, nick_n = target_n;
        target = t0, target_n = n0;
    }
    o->nick_n = nick_n > IRC_NICK_MAX ? IRC_NICK_MAX : nick_n;
    if (o->nick_n) memcpy(o->nick, nick, o->nick_n);
    o->target_n = target_n > DCC_TARGET_MAX ? DCC_TARGET_MAX : target_n;
    if (o->target_n) memcpy(o->target, target, o->target_n);
    o->refs++;
    mm_sensor_expect(f, NULL, &ip, (uint16_t)port, &mm_app_irc_dcc, o, dcc_unref);
    /* our client's own offer: NAT may make its real address differ from the announced one */
    if (dir == MM_C2S && !mm_ip_eq(&ip, &f->cli)) {
        o->refs++;
        mm_sensor_expect(f, NULL, &f->cli, (uint16_t)port, &mm_app_irc_dcc, o, dcc_unref);
    }
    dcc_unref(o);
}

static void client_line(irc_state *s, mm_flow *f, const irc_msg *m) {
    const char *n0 = m->npar > 0 ? m->par[0] : NULL;
    size_t l0 = m->npar > 0 ? m->par_len[0] : 0;
    const char *n1 = m->npar > 1 ? m->par[1] : NULL;
    size_t l1 = m->npar > 1 ? m->par_len[1] : 0;
    mm_sev *e;
    if (cmd_is(m, "NICK")) {
        if (!l0) return;
        set_nick(s, n0, l0);
        if ((e = begin(s, f, m, n0, l0))) mm_sev_end(e);
    } else if (cmd_is(m, "USER")) {
        if (!(e = begin(s, f, m, s->nick, strlen(s->nick)))) return;
        mm_sev_str(e, "irc.user", n0, l0);
        if (m->npar >= 4) mm_sev_str(e, "irc.message", m->par[m->npar - 1], m->par_len[m->npar - 1]);
        mm_sev_end(e);
    } else if (cmd_is(m, "PASS") || cmd_is(m, "OPER")) {
        f->risks |= MM_RISK_CLEARTEXT_CREDS;
        if (!(e = begin(s, f, m, s->nick, strlen(s->nick)))) return;
        if (cmd_is(m, "OPER")) mm_sev_str(e, "irc.user", n0, l0);
        mm_sev_end(e);
    } else if (cmd_is(m, "JOIN") || cmd_is(m, "PART")) {
        if (!l0) return;
        if (!(e = begin(s, f, m, s->nick, strlen(s->nick)))) return;
        channels(e, n0, l0);
        if (cmd_is(m, "PART") && n1) mm_sev_str(e, "irc.message", n1, l1);
        mm_sev_end(e);
    } else if (cmd_is(m, "PRIVMSG") || cmd_is(m, "NOTICE")) {
        if (n1) dcc_offer_check(s, f, MM_C2S, n1, l1, s->nick, strlen(s->nick), n0, l0);
        if (!(e = begin(s, f, m, s->nick, strlen(s->nick)))) return;
        mm_sev_str(e, "irc.target", n0, l0);
        if (n0) channels(e, n0, l0);
        if (nickserv_secret(m)) {
            f->risks |= MM_RISK_CLEARTEXT_CREDS;
            mm_sev_str(e, "irc.message", n1, 8);
        } else if (n1) {
            mm_sev_str(e, "irc.message", n1, l1);
        }
        mm_sev_end(e);
    } else if (cmd_is(m, "TOPIC")) {
        if (!(e = begin(s, f, m, s->nick, strlen(s->nick)))) return;
        mm_sev_str(e, "irc.target", n0, l0);
        if (n0) channels(e, n0, l0);
        if (n1) mm_sev_str(e, "irc.message", n1, l1);
        mm_sev_end(e);
    } else if (cmd_is(m, "QUIT")) {
        if (!(e = begin(s, f, m, s->nick, strlen(s->nick)))) return;
        if (n0) mm_sev_str(e, "irc.message", n0, l0);
        mm_sev_end(e);
    } else if (cmd_is(m, "KICK")) {
        /* KICK #chan nick :reason: channel control, what a bot herder does to keep
         * the channel its own */
        if (!l0 || !(e = begin(s, f, m, s->nick, strlen(s->nick)))) return;
        channels(e, n0, l0);
        if (n1) mm_sev_str(e, "irc.target", n1, l1);
        if (m->npar > 2 && m->par_len[2]) mm_sev_str(e, "irc.message", m->par[2], m->par_len[2]);
        mm_sev_end(e);
    } else if (cmd_is(m, "MODE")) {
        /* MODE #chan +o nick: the channel and the modes as given (a user's own
         * modes, MODE nick +i, are noise) */
        if (!l0 || !is_channel(n0, l0) || !(e = begin(s, f, m, s->nick, strlen(s->nick)))) return;
        mm_sev_str(e, "irc.target", n0, l0);
        channels(e, n0, l0);
        if (n1) mm_sev_str(e, "irc.message", n1, l1);
        mm_sev_end(e);
    } else if (cmd_is(m, "INVITE")) {
        /* INVITE nick #chan */
        if (!l0 || !(e = begin(s, f, m, s->nick, strlen(s->nick)))) return;
        mm_sev_str(e, "irc.target", n0, l0);
        if (n1) channels(e, n1, l1);
        mm_sev_end(e);
    }
}

static void server_line(irc_state *s, mm_flow *f, const irc_msg *m) {
    /* the author: "nick!user@host", or a server name */
    const char *src = m->prefix;
    size_t src_len = 0;
    bool user = false;
    if (src) {
        const char *bang = memchr(src, '!', m->prefix_len);
        user = bang != NULL;
        src_len = bang ? (size_t)(bang - src) : m->prefix_len;
    }
    mm_sev *e;
    if (cmd_is(m, "001") && m->npar >= 1) {
        set_nick(s, m->par[0], m->par_len[0]);
        if (!(e = begin(s, f, m, s->nick, strlen(s->nick)))) return;
        if (m->npar >= 2) mm_sev_str(e, "irc.message", m->par[m->npar - 1], m->par_len[m->npar - 1]);
        mm_sev_end(e);
    } else if (cmd_is(m, "332") && m->npar >= 3) {
        if (!(e = begin(s, f, m, s->nick, strlen(s->nick)))) return;
        mm_sev_str(e, "irc.target", m->par[1], m->par_len[1]);
        channels(e, m->par[1], m->par_len[1]);
        mm_sev_str(e, "irc.message", m->par[2], m->par_len[2]);
        mm_sev_end(e);
    } else if (cmd_is(m, "NICK") && user && m->npar >= 1) {
        if (src_len == strlen(s->nick) && !strncasecmp(src, s->nick, src_len))
            set_nick(s, m->par[0], m->par_len[0]);
    } else if (user && (cmd_is(m, "PRIVMSG") || cmd_is(m, "NOTICE") || cmd_is(m, "TOPIC")) &&
               m->npar >= 1) {
        if (m->npar >= 2 && !cmd_is(m, "TOPIC"))
            dcc_offer_check(s, f, MM_S2C, m->par[1], m->par_len[1], src, src_len, m->par[0], m->par_len[0]);
        if (!(e = begin(s, f, m, src, src_len))) return;
        mm_sev_str(e, "irc.target", m->par[0], m->par_len[0]);
        channels(e, m->par[0], m->par_len[0]);
        if (m->npar >= 2) mm_sev_str(e, "irc.message", m->par[1], m->par_len[1]);
        mm_sev_end(e);
    }
}

static void line(irc_state *s, mm_flow *f, int dir, const char *p, size_t n) {
    while (n && (p[n - 1] == '\r' || p[n - 1] == '\n')) n--;
    irc_msg m;
    if (!n || !parse(p, n, &m)) return;
    if (!s->recognised) {
        s->recognised = true;
        if (mm_sensor_novel(f, "irc", "irc", 3, 3)) f->risks |= MM_RISK_NEW_IRC_HOST;
        bool std = false;
        for (const uint16_t *q = ports; *q; q++) std |= *q == f->sport;
        if (!std) f->risks |= MM_RISK_NONSTD_PORT;
    }
    if (dir == MM_C2S) client_line(s, f, &m);
    else server_line(s, f, &m);
}

static void data(void *st, mm_flow *f, int dir, const uint8_t *p, size_t n) {
    irc_state *s = st;
    dir &= 1;
    irc_dir *d = &s->d[dir];
    for (size_t i = 0; i < n; i++) {
        char c = (char)p[i];
        if (c == '\n') {
            if (!d->in_tags && !d->skip) line(s, f, dir, d->line, d->len);
            d->len = 0;
            d->cut = d->in_tags = d->mid_line = d->skip = false;
            continue;
        }
        if (d->skip) continue;
        if (!d->mid_line) {            /* the first byte of a line */
            d->mid_line = true;
            if (c == '@') {            /* IRCv3 tags run to the first space */
                d->in_tags = true;
                continue;
            }
        }
        if (d->in_tags) {
            if (c == ' ') d->in_tags = false;
            continue;
        }
        if (d->len < IRC_LINE_MAX) {
            d->line[d->len++] = c;
        } else if (!d->cut) {
            d->cut = true;
            mm_sensor_app_error(f, "irc", "line-too-long");
        }
    }
}

/* Lost bytes: the line in progress is incomplete, drop it. */
static void gap(void *st, mm_flow *f, int dir, size_t n) {
    irc_state *s = st;
    irc_dir *d = &s->d[dir & 1];
    d->len = 0;
    d->skip = true;
}

/* ---- recognition ---- */

static bool starts(const uint8_t *p, size_t n, const char *w) {
    size_t k = strlen(w);
    return n >= k && !strncasecmp((const char *)p, w, k);
}
/* The first k bytes of p are a prefix of w (more bytes needed to tell). */
static bool partial(const uint8_t *p, size_t n, const char *w) {
    return n < strlen(w) && !strncasecmp((const char *)p, w, n);
}

static bool texty(const uint8_t *p, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (p[i] < 0x20 && p[i] != '\r' && p[i] != '\t' && p[i] != 1 && p[i] != 2 && p[i] != 3 &&
            p[i] != 0x0f && p[i] != 0x16 && p[i] != 0x1d && p[i] != 0x1f)
            return false;
    return true;
}

/* "USER name mode unused :real name": IRC has four parameters, FTP's USER one. */
static int user_line(const uint8_t *p, size_t n, bool complete) {
    int words = 0;
    bool in = false;
    for (size_t i = 5; i < n; i++) {
        if (p[i] == ':' && !in && words == 3) return MM_PROBE_YES;
        if (p[i] == ' ') in = false;
        else if (!in) in = true, words++;
    }
    if (words >= 4) return MM_PROBE_YES;
    return complete || n >= 200 ? MM_PROBE_NO : MM_PROBE_MAYBE;
}

static int client_probe(const uint8_t *p, size_t n, int depth) {
    const uint8_t *nl = memchr(p, '\n', n);
    size_t l = nl ? (size_t)(nl - p) : n;
    if (!texty(p, l)) return MM_PROBE_NO;
    static const char *const sure[] = {"NICK ", "JOIN ", "CAP LS", "CAP REQ "};
    for (size_t i = 0; i < sizeof sure / sizeof sure[0]; i++) {
        if (starts(p, l, sure[i])) return MM_PROBE_YES;
        if (!nl && partial(p, l, sure[i])) return MM_PROBE_MAYBE;
    }
    if (starts(p, l, "USER ")) return user_line(p, l, nl != NULL);
    if (!nl && partial(p, l, "USER ")) return MM_PROBE_MAYBE;
    /* PASS is FTP's too: IRC follows it with NICK or USER. */
    if (starts(p, l, "PASS ") && depth == 0) {
        if (!nl || (size_t)(nl - p) + 1 == n) return MM_PROBE_MAYBE;
        return client_probe(nl + 1, n - (size_t)(nl - p) - 1, 1);
    }
    if (!nl && depth == 0 && partial(p, l, "PASS ")) return MM_PROBE_MAYBE;
    return MM_PROBE_NO;
}

static int server_probe(const uint8_t *p, size_t n) {
    if (n && p[0] == '@') {   /* IRCv3 tags */
        const uint8_t *sp = memchr(p, ' ', n);
        if (!sp) return n < 512 ? MM_PROBE_MAYBE : MM_PROBE_NO;
        n -= (size_t)(sp - p) + 1;
        p = sp + 1;
    }
    const uint8_t *nl = memchr(p, '\n', n);
    size_t l = nl ? (size_t)(nl - p) : n;
    if (!texty(p, l)) return MM_PROBE_NO;
    if (starts(p, l, "NOTICE AUTH") || starts(p, l, "PING :")) return MM_PROBE_YES;
    if (!nl && (partial(p, l, "NOTICE AUTH") || partial(p, l, "PING :"))) return MM_PROBE_MAYBE;
    if (!l || p[0] != ':') return MM_PROBE_NO;
    const uint8_t *sp = memchr(p, ' ', l);
    if (!sp) return nl || l >= 256 ? MM_PROBE_NO : MM_PROBE_MAYBE;
    const uint8_t *c = sp + 1;
    size_t rest = l - (size_t)(c - p);
    static const char *const cmds[] = {"NOTICE ", "001 ", "020 ", "PRIVMSG "};
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        if (starts(c, rest, cmds[i])) return MM_PROBE_YES;
        if (!nl && partial(c, rest, cmds[i])) return MM_PROBE_MAYBE;
    }
    return MM_PROBE_NO;
}

static int probe(const mm_flow *f, const uint8_t *c2s, size_t nc, const uint8_t *s2c, size_t ns) {
    /* A numeric greeting ("220 ...") is FTP or SMTP, whatever the client says next. */
    if (ns >= 4 && isdigit(s2c[0]) && isdigit(s2c[1]) && isdigit(s2c[2]) && (s2c[3] == ' ' || s2c[3] == '-'))
        return MM_PROBE_NO;
    int a = nc ? client_probe(c2s, nc, 0) : -1;
    if (a == MM_PROBE_YES) return a;
    int b = ns ? server_probe(s2c, ns) : -1;
    if (b == MM_PROBE_YES) return b;
    if (a != MM_PROBE_MAYBE && b != MM_PROBE_MAYBE && (nc || ns)) return MM_PROBE_NO;
    return MM_PROBE_MAYBE;
}

static void *open_(mm_flow *f) { return calloc(1, sizeof(irc_state)); }

static void close_(void *st, mm_flow *f) {
    irc_state *s = st;
    if (!s) return;
    /* a last line without its newline still counts */
    for (int dir = 0; dir < 2; dir++)
        if (s->d[dir].len && !s->d[dir].in_tags && !s->d[dir].skip) line(s, f, dir, s->d[dir].line, s->d[dir].len);
    free(s);
}

const mm_analyzer mm_app_irc = {"irc", 1, 0, ports, probe, open_, data, gap, close_};

/* ---- DCC SEND data connections (only ever chosen by an expectation) ---- */

typedef struct dcc_data {
    dcc_offer *o;
    mm_sfile *file;
    int fdir;                     /* the direction that carries the file */
    uint64_t seen;                /* bytes of it, delivered or lost */
} dcc_data;

static int dcc_probe(const mm_flow *f, const uint8_t *c2s, size_t nc, const uint8_t *s2c, size_t ns) {
    return MM_PROBE_NO;
}

static void *dcc_open(mm_flow *f) {
    dcc_offer *o = f->expect_arg;
    f->expect_arg = NULL;
    dcc_data *d = calloc(1, sizeof *d);
    if (!d) {
        mm_sensor_app_error(f, "irc-dcc", "out of memory");
        dcc_unref(o);
        return NULL;
    }
    d->o = o;
    d->fdir = o && o->from_client ? MM_C2S : MM_S2C;
    return d;
}

static bool dcc_file(dcc_data *d, mm_flow *f) {
    if (d->file) return true;
    dcc_offer *o = d->o;
    d->file = mm_sfile_open(f, d->fdir, d->fdir == MM_S2C ? "file-download" : "file-upload", o ? o->name : NULL,
                            o ? o->name_n : 0);
    if (!d->file) return false;
    mm_sev *e = mm_sfile_fields(d->file);
    mm_sev_cstr(e, "irc.command", "DCC SEND");
    if (o && o->nick_n) mm_sev_str(e, "irc.nick", o->nick, o->nick_n);
    if (o && o->target_n) mm_sev_str(e, "irc.target", o->target, o->target_n);
    return true;
}

static void dcc_data_(void *st, mm_flow *f, int dir, const uint8_t *p, size_t n) {
    dcc_data *d = st;
    if (dir != d->fdir || !n) return;   /* the receiver's 4-byte acknowledgements */
    if (!dcc_file(d, f)) return;
    d->seen += n;
    mm_sfile_write(d->file, p, n);
}

static void dcc_gap(void *st, mm_flow *f, int dir, size_t n) {
    dcc_data *d = st;
    if (dir != d->fdir || !dcc_file(d, f)) return;
    d->seen += n;
    mm_sfile_gap(d->file, n);
}

static void dcc_close(void *st, mm_flow *f) {
    dcc_data *d = st;
    if (!d) return;
    if (d->file) {
        if (d->o && d->o->has_size && d->seen < d->o->size) mm_sfile_gap(d->file, 0);   /* cut short */
        mm_sfile_close(d->file, NULL);
    }
    dcc_unref(d->o);
    free(d);
}

static const uint16_t dcc_ports[] = {0};
const mm_analyzer mm_app_irc_dcc = {"irc-dcc", 1, 0, dcc_ports, dcc_probe, dcc_open, dcc_data_, dcc_gap, dcc_close};
