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
 * as CTCP's \x01). */
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
} irc_state;

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
